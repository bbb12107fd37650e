-- Indicator cells: every indicator x period x geography x group x placement that has a
-- population, with numerator, denominator, value and 95 % interval.
--
-- Implements methodology.md "School-year indicators" and "Age indicators" (the ten
-- ids), "Breakdowns" and "Uncertainty". The person-level flags come from cohort_fp9
-- and cohort_age (queries/derive/).
--
-- Aggregation happens once, at the finest level (year x municipality x group x
-- placement type); regions, Danmark, udsat, alle and the placement groups are sums of
-- those counts. A mean cell carries the sum and the sum of squares of the pupils'
-- means, so it rolls up the same way. So that every run gives the same bits whatever
-- the order of addition, a pupil's mean is carried as the exact integer
-- mean x params.mean_scale (the least common multiple of 1..the number of bound exams,
-- 840 for eight), and only the final cell value is a floating-point number.
WITH
scaled AS (
  SELECT c.*,
    CASE WHEN c.n_bound_sat > 0
      THEN c.bound_grade_sum * params.mean_scale / c.n_bound_sat
    END AS scaled_mean
  FROM cohort_fp9 c CROSS JOIN params
),
fp9_finest AS (
  SELECT school_year AS year, municipality_code, region_code, "group",
    placement_type, placement_group,
    count(*) AS cohort,
    sum(CASE WHEN sat_danish_maths THEN 1 ELSE 0 END) AS participants,
    sum(CASE WHEN min2_dan_mat THEN 1 ELSE 0 END) AS min2,
    sum(CASE WHEN fp9_passed THEN 1 ELSE 0 END) AS passed,
    sum(CASE WHEN school_offer_almen THEN 1 ELSE 0 END) AS almen,
    count(transition_15m) AS transition_known,
    sum(CASE WHEN transition_15m THEN 1 ELSE 0 END) AS transition,
    count(scaled_mean) AS graded,
    sum(scaled_mean) AS grade_sum,
    sum(scaled_mean * scaled_mean) AS grade_sumsq
  FROM scaled
  GROUP BY 1, 2, 3, 4, 5, 6
),
age_finest AS (
  SELECT age, year, municipality_code, region_code, "group", placement_type, placement_group,
    count(*) AS persons,
    sum(CASE WHEN youth_edu_enrolled_or_completed THEN 1 ELSE 0 END) AS in_youth_edu,
    sum(CASE WHEN youth_edu_completed THEN 1 ELSE 0 END) AS completed,
    sum(CASE WHEN no_fp9 THEN 1 ELSE 0 END) AS no_fp9
  FROM cohort_age
  GROUP BY 1, 2, 3, 4, 5, 6, 7
),
-- One row per indicator at the finest level: (numerator, denominator) for shares,
-- (sum, sum of squares, n) for the mean.
finest AS (
  SELECT 'fp9_participation' AS indicator, 'school_year' AS kind, year, municipality_code, region_code, "group", placement_type, placement_group,
         participants AS numerator, cohort AS denominator, CAST(NULL AS BIGINT) AS value_sum, CAST(NULL AS BIGINT) AS value_sumsq
  FROM fp9_finest
  UNION ALL
  SELECT 'fp9_min2_dan_mat', 'school_year', year, municipality_code, region_code, "group", placement_type, placement_group,
         min2, cohort, NULL, NULL
  FROM fp9_finest
  UNION ALL
  SELECT 'fp9_min2_dan_mat_takers', 'school_year', year, municipality_code, region_code, "group", placement_type, placement_group,
         min2, participants, NULL, NULL
  FROM fp9_finest
  UNION ALL
  SELECT 'fp9_passed', 'school_year', year, municipality_code, region_code, "group", placement_type, placement_group,
         passed, cohort, NULL, NULL
  FROM fp9_finest
  UNION ALL
  SELECT 'fp9_grade_mean', 'school_year', year, municipality_code, region_code, "group", placement_type, placement_group,
         NULL, graded, grade_sum, grade_sumsq
  FROM fp9_finest
  UNION ALL
  SELECT 'transition_15m', 'school_year', year, municipality_code, region_code, "group", placement_type, placement_group,
         transition, transition_known, NULL, NULL
  FROM fp9_finest
  UNION ALL
  SELECT 'school_offer_almen', 'school_year', year, municipality_code, region_code, "group", placement_type, placement_group,
         almen, cohort, NULL, NULL
  FROM fp9_finest
  UNION ALL
  SELECT 'youth_edu_18', 'age', year, municipality_code, region_code, "group", placement_type, placement_group,
         in_youth_edu, persons, NULL, NULL
  FROM age_finest WHERE age = 18
  UNION ALL
  SELECT 'youth_edu_completed_25', 'age', year, municipality_code, region_code, "group", placement_type, placement_group,
         completed, persons, NULL, NULL
  FROM age_finest WHERE age = 25
  UNION ALL
  SELECT 'no_fp9_by_17', 'age', year, municipality_code, region_code, "group", placement_type, placement_group,
         no_fp9, persons, NULL, NULL
  FROM age_finest WHERE age = 17
),
-- Geography: each finest row counts for its kommune, its region and Danmark (code 0).
geo AS (
  SELECT f.*, 'kommune' AS geo_level, municipality_code AS geo_code FROM finest f
  UNION ALL
  SELECT f.*, 'region' AS geo_level, region_code AS geo_code FROM finest f
  UNION ALL
  SELECT f.*, 'land' AS geo_level, 0 AS geo_code FROM finest f
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
  SELECT indicator, kind, year, geo_level, geo_code, cell_group, placement,
    sum(numerator) AS numerator,
    sum(denominator) AS denominator,
    sum(value_sum) AS value_sum,
    sum(value_sumsq) AS value_sumsq
  FROM placements
  GROUP BY 1, 2, 3, 4, 5, 6, 7
  HAVING sum(denominator) > 0
),
-- Shares: Wilson score interval, z = 1.959964. Means: mean +- z * s / sqrt(n), with the
-- sample standard deviation s; no interval when n < 2.
valued AS (
  SELECT c.*,
    CASE WHEN indicator = 'fp9_grade_mean'
      THEN CAST(value_sum AS DOUBLE) / (CAST(params.mean_scale AS DOUBLE) * denominator)
      ELSE CAST(numerator AS DOUBLE) / denominator
    END AS value,
    -- n * sum(x^2) - (sum x)^2, exactly, in units of mean_scale^2.
    CASE WHEN indicator = 'fp9_grade_mean' THEN
      CAST(denominator AS DECIMAL(38, 0)) * CAST(value_sumsq AS DECIMAL(38, 0))
        - CAST(value_sum AS DECIMAL(38, 0)) * CAST(value_sum AS DECIMAL(38, 0))
    END AS spread,
    CAST(params.mean_scale AS DOUBLE) AS mean_scale,
    1.959964 AS z
  FROM cells c CROSS JOIN params
),
intervals AS (
  SELECT v.*,
    CASE WHEN indicator = 'fp9_grade_mean' THEN
      -- s^2 = (n * sum(x^2) - (sum x)^2) / (n (n - 1)); half width z * s / sqrt(n).
      CASE WHEN denominator >= 2 THEN
        z * sqrt(CAST(spread AS DOUBLE) / (CAST(denominator AS DOUBLE) * (denominator - 1)))
          / mean_scale / sqrt(CAST(denominator AS DOUBLE))
      END
    END AS mean_half_width,
    CASE WHEN indicator <> 'fp9_grade_mean' THEN
      (value + z * z / (2.0 * denominator)) / (1.0 + z * z / denominator)
    END AS wilson_centre,
    CASE WHEN indicator <> 'fp9_grade_mean' THEN
      z * sqrt(value * (1.0 - value) / denominator + z * z / (4.0 * denominator * denominator))
        / (1.0 + z * z / denominator)
    END AS wilson_half_width
  FROM valued v
),
computed AS (
  SELECT
    indicator,
    CASE WHEN kind = 'school_year'
      THEN CAST(year AS VARCHAR) || '/' || CAST(year + 1 AS VARCHAR)
      ELSE CAST(year AS VARCHAR)
    END AS period,
    CAST(year AS INT) AS year,
    geo_level,
    CAST(geo_code AS INT) AS geo_code,
    cell_group AS "group",
    placement,
    CASE WHEN indicator = 'fp9_grade_mean' THEN NULL ELSE CAST(numerator AS BIGINT) END
      AS numerator,
    CAST(denominator AS BIGINT) AS denominator,
    value,
    -- Wilson bounds lie in [0, 1]; clamping removes floating-point dust at p = 0 or 1.
    CASE WHEN indicator = 'fp9_grade_mean' THEN value - mean_half_width
         ELSE greatest(0.0, wilson_centre - wilson_half_width) END AS ci_low,
    CASE WHEN indicator = 'fp9_grade_mean' THEN value + mean_half_width
         ELSE least(1.0, wilson_centre + wilson_half_width) END AS ci_high
  FROM intervals
),
regions AS (
  SELECT DISTINCT region_code, region_name FROM code_municipalities
)
-- Contract columns (data-contract.md, "published/indicators"), in a fixed order.
-- suppressed/suppression are set by the disclosure stage.
SELECT
  c.indicator, c.period, c.year, c.geo_level, c.geo_code,
  CASE c.geo_level
    WHEN 'land' THEN 'Danmark'
    WHEN 'region' THEN r.region_name
    ELSE m.municipality_name
  END AS geo_name,
  c."group", c.placement, c.numerator, c.denominator, c.value, c.ci_low, c.ci_high,
  false AS suppressed,
  CAST(NULL AS VARCHAR) AS suppression
FROM computed c
LEFT JOIN code_municipalities m ON c.geo_level = 'kommune' AND m.municipality_code = c.geo_code
LEFT JOIN regions r ON c.geo_level = 'region' AND r.region_code = c.geo_code
ORDER BY
  c.indicator,
  c.year,
  CASE c.geo_level WHEN 'land' THEN 0 WHEN 'region' THEN 1 ELSE 2 END,
  c.geo_code,
  CASE c."group" WHEN 'alle' THEN 0 WHEN 'udsat' THEN 1 WHEN 'anbragt' THEN 2
                 WHEN 'forebyggende' THEN 3 ELSE 4 END,
  c.placement <> 'alle',
  c.placement
