{% import "macros.sql" as m %}
-- Indicator cells: every indicator x period x geography x group x placement that has a
-- population, yearly and for the fixed three-year windows, with numerator, denominator,
-- value and 95 % interval.
--
-- Implements methodology.md "School-year indicators" and "Age indicators" (the ten
-- ids), "Breakdowns", "Uncertainty" and "Three-year figures". The person-level flags
-- come from cohort_fp9 and cohort_age (queries/derive/).
--
-- Aggregation happens once, at the finest level (year x municipality x group x
-- placement type); regions, Danmark, udsat, alle, the placement groups and the
-- three-year windows are sums of those counts. A mean cell carries the sum and the sum
-- of squares of the pupils' means, so it rolls up the same way. So that every run gives
-- the same bits whatever the order of addition, a pupil's mean is carried as the exact
-- integer mean x params.mean_scale (the least common multiple of 1..the number of bound
-- exams, 840 for eight), and only the final cell value is a floating-point number.
-- The finest counts are the table `finest` (queries/indicators/finest.sql).
--
-- Which indicators are means, and what each one counts, is in the registry
-- (queries/indicators.toml); m.is_mean (queries/macros.sql) reads it.
--
-- A cell exists when its population is not empty: for fp9_min2_dan_mat_takers and
-- fp9_grade_mean the 9th-grade cohort (their own denominators may be 0; such a cell has
-- no value and is always withheld). Besides the contract's columns the result has
-- `grade_sum` (a mean cell's sum of pupil means), which disclosure control uses and
-- which is never published.
WITH
-- The years each indicator is computed for (it has cells in them).
computed_years AS (
  SELECT DISTINCT indicator, year FROM finest
),
-- Three-year windows: Y-2, Y-1 and Y with Y = 1 (mod 3), once all three years are
-- computed for the indicator ("Three-year figures").
windows AS (
  SELECT c.indicator, c.year AS end_year
  FROM computed_years c
  JOIN computed_years c1 ON c1.indicator = c.indicator AND c1.year = c.year - 1
  JOIN computed_years c2 ON c2.indicator = c.indicator AND c2.year = c.year - 2
  WHERE ((c.year % 3) + 3) % 3 = 1
),
-- Every finest row as a yearly count (years = 1), and again within its window
-- (years = 3, year = the window's last year).
pooled AS (
  SELECT f.indicator, f.kind, f.year, 1 AS years, f.municipality_code, f.region_code,
    f."group", f.placement_type, f.placement_group,
    f.numerator, f.denominator, f.value_sum, f.value_sumsq, f.population
  FROM finest f
  UNION ALL
  SELECT f.indicator, f.kind, w.end_year AS year, 3 AS years, f.municipality_code,
    f.region_code, f."group", f.placement_type, f.placement_group,
    f.numerator, f.denominator, f.value_sum, f.value_sumsq, f.population
  FROM finest f
  JOIN windows w ON w.indicator = f.indicator AND f.year BETWEEN w.end_year - 2 AND w.end_year
),
-- Geography: each row counts for its kommune, its region and Danmark (code 0).
geo AS (
  SELECT f.*, 'kommune' AS geo_level, municipality_code AS geo_code FROM pooled f
  UNION ALL
  SELECT f.*, 'region' AS geo_level, region_code AS geo_code FROM pooled f
  UNION ALL
  SELECT f.*, 'land' AS geo_level, 0 AS geo_code FROM pooled f
),
-- Groups: anbragt, forebyggende and oevrige as they are; udsat = anbragt + forebyggende;
-- alle = everyone.
groups AS (
  SELECT g.*, "group" AS cell_group FROM geo g
  UNION ALL
  SELECT g.*, 'udsat' AS cell_group FROM geo g WHERE "group" IN ('anbragt', 'forebyggende')
  UNION ALL
  SELECT g.*, 'alle' AS cell_group FROM geo g
),
-- Placements: `alle` for every group; for anbragt also each placement_group and each
-- placement_type (`uoplyst` is both a group and a type: one row).
placements AS (
  SELECT g.*, 'alle' AS placement FROM groups g
  UNION ALL
  SELECT g.*, placement_group AS placement FROM groups g WHERE cell_group = 'anbragt'
  UNION ALL
  SELECT g.*, placement_type AS placement FROM groups g
  WHERE cell_group = 'anbragt' AND placement_type <> placement_group
),
cells AS (
  SELECT indicator, kind, year, years, geo_level, geo_code, cell_group, placement,
    sum(numerator) AS numerator,
    sum(denominator) AS denominator,
    sum(value_sum) AS value_sum,
    sum(value_sumsq) AS value_sumsq
  FROM placements
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
  HAVING sum(population) > 0
),
-- Shares: Wilson score interval, z = 1.959964. Means: mean +- z * s / sqrt(n), with the
-- sample standard deviation s; no interval when n < 2.
valued AS (
  SELECT c.*,
    CASE WHEN denominator = 0 THEN NULL
      WHEN {{ m.is_mean("indicator") }}
      THEN CAST(value_sum AS DOUBLE) / (CAST(params.mean_scale AS DOUBLE) * denominator)
      ELSE CAST(numerator AS DOUBLE) / denominator
    END AS value,
    -- n * sum(x^2) - (sum x)^2, exactly, in units of mean_scale^2.
    CASE WHEN {{ m.is_mean("indicator") }} THEN
      CAST(denominator AS DECIMAL(38, 0)) * CAST(value_sumsq AS DECIMAL(38, 0))
        - CAST(value_sum AS DECIMAL(38, 0)) * CAST(value_sum AS DECIMAL(38, 0))
    END AS spread,
    CAST(params.mean_scale AS DOUBLE) AS mean_scale,
    1.959964 AS z
  FROM cells c CROSS JOIN params
),
intervals AS (
  SELECT v.*,
    CASE WHEN {{ m.is_mean("indicator") }} THEN
      -- s^2 = (n * sum(x^2) - (sum x)^2) / (n (n - 1)); half width z * s / sqrt(n).
      CASE WHEN denominator >= 2 THEN
        z * sqrt(CAST(spread AS DOUBLE) / (CAST(denominator AS DOUBLE) * (denominator - 1)))
          / mean_scale / sqrt(CAST(denominator AS DOUBLE))
      END
    END AS mean_half_width,
    CASE WHEN NOT ({{ m.is_mean("indicator") }}) AND denominator > 0 THEN
      (value + z * z / (2.0 * denominator)) / (1.0 + z * z / denominator)
    END AS wilson_centre,
    CASE WHEN NOT ({{ m.is_mean("indicator") }}) AND denominator > 0 THEN
      z * sqrt(value * (1.0 - value) / denominator + z * z / (4.0 * denominator * denominator))
        / (1.0 + z * z / denominator)
    END AS wilson_half_width
  FROM valued v
),
computed AS (
  SELECT
    indicator,
    -- A window's period names its first and last period, with an en dash.
    CASE
      WHEN kind = 'school_year' AND years = 1
        THEN CAST(year AS VARCHAR) || '/' || CAST(year + 1 AS VARCHAR)
      WHEN kind = 'school_year'
        THEN CAST(year - 2 AS VARCHAR) || '/' || CAST(year - 1 AS VARCHAR) || '–'
          || CAST(year AS VARCHAR) || '/' || CAST(year + 1 AS VARCHAR)
      WHEN years = 1 THEN CAST(year AS VARCHAR)
      ELSE CAST(year - 2 AS VARCHAR) || '–' || CAST(year AS VARCHAR)
    END AS period,
    CAST(year AS INT) AS year,
    CAST(years AS INT) AS years,
    geo_level,
    CAST(geo_code AS INT) AS geo_code,
    cell_group AS "group",
    placement,
    CASE WHEN {{ m.is_mean("indicator") }} THEN NULL ELSE CAST(numerator AS BIGINT) END
      AS numerator,
    CAST(denominator AS BIGINT) AS denominator,
    value,
    -- Wilson bounds lie in [0, 1]; clamping removes floating-point dust at p = 0 or 1.
    -- No interval without persons (greatest/least would turn NULL into the bound).
    CASE WHEN {{ m.is_mean("indicator") }} THEN value - mean_half_width
         WHEN wilson_centre IS NULL THEN NULL
         ELSE greatest(0.0, wilson_centre - wilson_half_width) END AS ci_low,
    CASE WHEN {{ m.is_mean("indicator") }} THEN value + mean_half_width
         WHEN wilson_centre IS NULL THEN NULL
         ELSE least(1.0, wilson_centre + wilson_half_width) END AS ci_high,
    CASE WHEN {{ m.is_mean("indicator") }}
      THEN coalesce(CAST(value_sum AS DOUBLE), 0.0) / mean_scale END AS grade_sum
  FROM intervals
),
regions AS (
  SELECT DISTINCT region_code, region_name FROM code_municipalities
)
-- Contract columns (data-contract.md, "published/indicators"), in a fixed order, and
-- grade_sum. `suppressed` is set by the disclosure stage.
SELECT
  c.indicator, c.period, c.year, c.geo_level, c.geo_code,
  CASE c.geo_level
    WHEN 'land' THEN 'Danmark'
    WHEN 'region' THEN r.region_name
    ELSE m.municipality_name
  END AS geo_name,
  c."group", c.placement, c.numerator, c.denominator, c.value, c.ci_low, c.ci_high,
  c.years,
  false AS suppressed,
  c.grade_sum
FROM computed c
LEFT JOIN code_municipalities m ON c.geo_level = 'kommune' AND m.municipality_code = c.geo_code
LEFT JOIN regions r ON c.geo_level = 'region' AND r.region_code = c.geo_code
ORDER BY
  c.indicator,
  c.years,
  c.year,
  CASE c.geo_level WHEN 'land' THEN 0 WHEN 'region' THEN 1 ELSE 2 END,
  c.geo_code,
  CASE c."group" WHEN 'alle' THEN 0 WHEN 'udsat' THEN 1 WHEN 'anbragt' THEN 2
                 WHEN 'forebyggende' THEN 3 ELSE 4 END,
  c.placement <> 'alle',
  c.placement
