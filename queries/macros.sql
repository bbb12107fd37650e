{#- Macros shared by the queries: each rule written once, as dbt does. A query
    imports them with an import tag naming "macros.sql" as m, and calls them as
    m.duplicate_keys(...), m.any_null(...), m.active_on(...), ...
    Skolegang renders every query with minijinja before DataFusion reads it
    (pipeline/src/engine/sql.rs); what a call expands to is in tests there. #}

{#- The rows of `table` whose key (the columns `keys`) occurs more than once, as two
    CTEs: `candidates` and `dup` (the key columns and their count `n`). In two steps,
    because grouping a hundred million keys themselves does not fit in memory at
    national scale: first an integer hash of each key (a hash that occurs once is a
    key that occurs once), then the exact keys of the rows whose hash occurs more
    than once. #}
{% macro duplicate_keys(table, keys) -%}
candidates AS (
  SELECT key_hash({{ keys | join(", ") }}) AS h
  FROM {{ table }}
  GROUP BY key_hash({{ keys | join(", ") }})
  HAVING count(*) > 1
),
dup AS (
  SELECT {% for k in keys %}r.{{ k }}, {% endfor %}count(*) AS n
  FROM candidates c
  JOIN {{ table }} r ON key_hash({% for k in keys %}r.{{ k }}{{ ", " if not loop.last }}{% endfor %}) = c.h
  GROUP BY {% for k in keys %}r.{{ k }}{{ ", " if not loop.last }}{% endfor %}
  HAVING count(*) > 1
)
{%- endmacro %}

{#- Some column of `cols` of the row `alias` is NULL (docs/validation.md,
    missing_value: the contract's required columns). #}
{% macro any_null(alias, cols) -%}
{% for c in cols %}{{ alias }}.{{ c }} IS NULL{{ " OR " if not loop.last }}{% endfor %}
{%- endmacro %}

{#- A person_id that is not 1..64 characters long (docs/validation.md,
    invalid_person_id). #}
{% macro invalid_person_id(col) -%}
length({{ col }}) = 0 OR length({{ col }}) > 64
{%- endmacro %}

{#- `expr` is not one of `values` (a code the contract does not list); strings are
    quoted, numbers are not. #}
{% macro not_accepted(expr, values) -%}
{{ expr }} NOT IN ({% for v in values %}{% if v is string %}'{{ v }}'{% else %}{{ v }}{% endif %}{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}

{#- A period from `start` to `end` (both days included; `end` NULL = still open) is
    active on `day`. #}
{% macro active_on(start, end, day) -%}
{{ start }} <= {{ day }} AND ({{ end }} IS NULL OR {{ end }} >= {{ day }})
{%- endmacro %}

{#- A youth education `y` (a row of youth_education) counts on `day` when the person
    is enrolled in it that day, or completed it by then (methodology.md, "Youth
    education"). #}
{% macro in_or_completed_youth_education(y, day) -%}
(({{ active_on(y ~ ".start_date", y ~ ".end_date", day) }})
  OR ({{ y }}.outcome = 'fuldfoert' AND {{ y }}.end_date <= {{ day }}))
{%- endmacro %}

{#- The indicators that are means (queries/indicators.toml, measure = "mean"): true
    when `indicator` (a column of indicator ids) is one of them. #}
{% macro is_mean(indicator) -%}
{{ indicator }} IN ({% for i in registry.indicators if i.measure == "mean" %}'{{ i.id }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}
