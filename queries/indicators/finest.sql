-- finest: one row per indicator at the finest level, from fp9_finest and age_finest:
-- (numerator, denominator) for shares, (sum, sum of squares, n) for the mean, and the
-- population that decides whether the cell exists (data-contract.md: for
-- fp9_min2_dan_mat_takers and fp9_grade_mean the 9th-grade cohort, not their own
-- denominators, so that a missing row never says that nobody sat the exams).
-- queries/indicators/cells.sql rolls these up to every cell.
--
-- One branch per [[indicator]] of queries/indicators.toml, which names each
-- indicator's finest table, the rows of it (an age, or for transition_15m the school
-- years whose transitions can be seen yet) and the columns behind its numerator,
-- denominator and presence. `kind` is how its periods are labelled.
--
-- (fp9_finest, age_finest and finest are tables of their own, not CTEs, because
-- DataFusion inlines a CTE at every reference: as CTEs of cells.sql the cohorts were
-- aggregated again for every indicator and geography level.)
{% for i in registry.indicators -%}
{% if not loop.first %}UNION ALL
{% endif -%}
SELECT '{{ i.id }}' AS indicator, '{{ i.period }}' AS kind, year, municipality_code, region_code, "group", placement_type, placement_group,
       {{ i.numerator or "CAST(NULL AS BIGINT)" }} AS numerator, {{ i.denominator }} AS denominator,
       {{ i.sum or "CAST(NULL AS BIGINT)" }} AS value_sum, {{ i.squares or "CAST(NULL AS BIGINT)" }} AS value_sumsq,
       {{ i.presence }} AS population
FROM {{ i.table }}{% if i.filter %} WHERE {{ i.filter }}{% endif %}
{% endfor -%}
