{% import "macros.sql" as m %}
{%- set ranked = registry.indicators | selectattr("rank") | list %}
-- published/rankings: the three-year municipality ranking, from cells.
--
-- Implements methodology.md (version 2), "Three-year municipality ranking": for each
-- kommune and each rolling three-year window ending with school year Y, pooled over the
-- three yearly `alle` cells of the kommune (sum of numerators over sum of denominators;
-- for the mean, sum of value x denominator over sum of denominators), for
-- fp9_participation, fp9_grade_mean and transition_15m; higher is better for all three.
-- A kommune is ranked on a measure in a window only when its three yearly alle cells of
-- that measure exist and are published (not withheld), so the ranking is a function of
-- published numbers and reveals nothing they do not. Ranks run 1 (best) .. N over the N
-- kommuner ranked on that measure in that window, ties sharing the lowest rank. A window
-- appears when at least one kommune is ranked on all three measures; every kommune has
-- a row (ranks null where not ranked). mean_rank and bottom15_all only when all three
-- ranks exist; bottom15_all: on each measure fewer than 15 ranked kommuner are strictly
-- worse.
--
-- The ranked measures and their column names (rank_<name>, ranked_<name>) are the
-- indicators with `rank` in queries/indicators.toml, in that order.
--
-- Reads `cells` (published/indicators with the indicator column; for
-- restricted/rankings the same cells unsuppressed) and code_municipalities. The three
-- terms of a pooled value are added in year order, so that a researcher who recomputes
-- the ranking from the published cells in double precision gets the same ties.
WITH
measure_cells AS (
  SELECT indicator, year, geo_level, geo_code, numerator, denominator, value, suppressed
  FROM cells
  WHERE years = 1 AND "group" = 'alle' AND placement = 'alle'
    AND indicator IN ({% for x in ranked %}'{{ x.id }}'{{ ", " if not loop.last }}{% endfor %})
),
-- School years in which all three measures were computed (each has a Danmark cell).
school_years AS (
  SELECT year FROM measure_cells WHERE geo_level = 'land'
  GROUP BY year HAVING count(DISTINCT indicator) = {{ ranked | length }}
),
windows AS (
  SELECT y.year AS end_year FROM school_years y
  WHERE y.year - 1 IN (SELECT year FROM school_years)
    AND y.year - 2 IN (SELECT year FROM school_years)
),
yearly AS (
  SELECT w.end_year, c.indicator, c.geo_code, c.year - w.end_year + 2 AS slot,
    CASE WHEN c.suppressed THEN NULL
         WHEN {{ m.is_mean("c.indicator") }} THEN c.value * CAST(c.denominator AS DOUBLE)
         ELSE CAST(c.numerator AS DOUBLE) END AS term,
    CASE WHEN c.suppressed THEN NULL ELSE c.denominator END AS den
  FROM windows w
  JOIN measure_cells c ON c.year BETWEEN w.end_year - 2 AND w.end_year
  WHERE c.geo_level = 'kommune'
),
pooled AS (
  SELECT end_year, indicator, geo_code,
    count(term) AS published,
    max(CASE WHEN slot = 0 THEN term END) AS t0,
    max(CASE WHEN slot = 1 THEN term END) AS t1,
    max(CASE WHEN slot = 2 THEN term END) AS t2,
    sum(den) AS den
  FROM yearly
  GROUP BY end_year, indicator, geo_code
),
ranked AS (
  SELECT end_year, indicator, geo_code,
    rank() OVER (PARTITION BY end_year, indicator ORDER BY ((t0 + t1) + t2) / CAST(den AS DOUBLE) DESC) AS r,
    rank() OVER (PARTITION BY end_year, indicator ORDER BY ((t0 + t1) + t2) / CAST(den AS DOUBLE) ASC) - 1 AS worse
  FROM pooled
  WHERE published = 3 AND den > 0
),
counted AS (
  SELECT w.end_year,
{%- for x in ranked %}
    sum(CASE WHEN r.indicator = '{{ x.id }}' THEN 1 ELSE 0 END) AS n_{{ x.rank }}{{ "," if not loop.last }}
{%- endfor %}
  FROM windows w LEFT JOIN ranked r ON r.end_year = w.end_year
  GROUP BY w.end_year
),
wide AS (
  SELECT w.end_year, m.municipality_code, m.municipality_name,
{%- for x in ranked %}
    max(CASE WHEN r.indicator = '{{ x.id }}' THEN r.r END) AS r_{{ x.rank }},
    max(CASE WHEN r.indicator = '{{ x.id }}' THEN r.worse END) AS w_{{ x.rank }}{{ "," if not loop.last }}
{%- endfor %}
  FROM windows w
  CROSS JOIN code_municipalities m
  LEFT JOIN ranked r ON r.end_year = w.end_year AND r.geo_code = m.municipality_code
  GROUP BY w.end_year, m.municipality_code, m.municipality_name
),
shown AS (
  SELECT end_year FROM wide
  WHERE {% for x in ranked %}r_{{ x.rank }} IS NOT NULL{{ " AND " if not loop.last }}{% endfor %}
  GROUP BY end_year
)
SELECT
  CAST(x.end_year - 2 AS VARCHAR) || '/' || CAST(x.end_year - 1 AS VARCHAR) || '–'
    || CAST(x.end_year AS VARCHAR) || '/' || CAST(x.end_year + 1 AS VARCHAR) AS "window",
  CAST(x.end_year AS INT) AS year,
  CAST(x.municipality_code AS INT) AS municipality_code,
  x.municipality_name,
{%- set all_ranked %}{% for x in ranked %}x.r_{{ x.rank }} IS NOT NULL{{ " AND " if not loop.last }}{% endfor %}{% endset %}
{%- for x in ranked %}
  CAST(x.r_{{ x.rank }} AS INT) AS rank_{{ x.rank }},
{%- endfor %}
{%- for x in ranked %}
  CAST(n.n_{{ x.rank }} AS INT) AS ranked_{{ x.rank }},
{%- endfor %}
  CASE WHEN {{ all_ranked }}
       THEN CAST({% for x in ranked %}x.r_{{ x.rank }}{{ " + " if not loop.last }}{% endfor %} AS DOUBLE) / {{ ranked | length }}.0 END AS mean_rank,
  CASE WHEN {{ all_ranked }}
       THEN {% for x in ranked %}x.w_{{ x.rank }} < 15{{ " AND " if not loop.last }}{% endfor %} END AS bottom15_all
FROM wide x
JOIN shown s ON s.end_year = x.end_year
JOIN counted n ON n.end_year = x.end_year
ORDER BY year, municipality_code
