-- published/rankings: the three-year municipality ranking.
--
-- Implements methodology.md, "Three-year municipality ranking": for each kommune and
-- each three-year window ending with school year Y, pooled over the three cohorts
-- (sum of numerators over sum of denominators; for the mean, the mean over all pupils
-- of the three cohorts), group alle: fp9_participation, fp9_grade_mean and
-- transition_15m, higher is better for all three. A window is ranked only when all
-- three measures exist for all three school years. Each measure is ranked 1 (best) to
-- 98, ties sharing the lowest rank; mean_rank is the mean of the three ranks;
-- bottom15_all is true when on each of the three measures fewer than 15 kommuner have
-- a strictly worse value. Computed from the unsuppressed cohort (cohort_fp9); only
-- ranks are published. A kommune with no pupils in a window has no ranks (NULL).
--
-- Tables: cohort_fp9, params(mean_scale), code_municipalities.
WITH
-- School years in which all three measures exist.
years AS (
  SELECT school_year
  FROM cohort_fp9
  GROUP BY school_year
  HAVING count(transition_15m) > 0 AND count(bound_grade_sum) > 0
),
windows AS (
  SELECT y.school_year AS end_year
  FROM years y
  WHERE y.school_year - 1 IN (SELECT school_year FROM years)
    AND y.school_year - 2 IN (SELECT school_year FROM years)
),
-- Pooled over the window's three cohorts. A pupil's mean is carried exactly as
-- mean x mean_scale (an integer), as in queries/indicators/cells.sql.
pooled AS (
  SELECT w.end_year, c.municipality_code,
    CAST(sum(CASE WHEN c.sat_danish_maths THEN 1 ELSE 0 END) AS DOUBLE) / count(*)
      AS participation,
    CAST(sum(CASE WHEN c.n_bound_sat > 0
                  THEN c.bound_grade_sum * params.mean_scale / c.n_bound_sat END) AS DOUBLE)
      / count(c.bound_grade_sum) AS grade_mean_scaled,
    CAST(sum(CASE WHEN c.transition_15m THEN 1 ELSE 0 END) AS DOUBLE)
      / count(c.transition_15m) AS transition
  FROM windows w
  CROSS JOIN params
  JOIN cohort_fp9 c ON c.school_year BETWEEN w.end_year - 2 AND w.end_year
  GROUP BY w.end_year, c.municipality_code
),
ranked AS (
  SELECT p.*,
    rank() OVER (PARTITION BY end_year, participation IS NULL ORDER BY participation DESC) AS r1,
    rank() OVER (PARTITION BY end_year, grade_mean_scaled IS NULL ORDER BY grade_mean_scaled DESC) AS r2,
    rank() OVER (PARTITION BY end_year, transition IS NULL ORDER BY transition DESC) AS r3,
    -- How many kommuner are strictly worse: the rank from the bottom, minus one.
    rank() OVER (PARTITION BY end_year, participation IS NULL ORDER BY participation ASC) - 1 AS worse1,
    rank() OVER (PARTITION BY end_year, grade_mean_scaled IS NULL ORDER BY grade_mean_scaled ASC) - 1 AS worse2,
    rank() OVER (PARTITION BY end_year, transition IS NULL ORDER BY transition ASC) - 1 AS worse3
  FROM pooled p
)
SELECT
  CAST(w.end_year AS INT) AS period_end_year,
  CAST(w.end_year - 2 AS VARCHAR) || '/' || CAST(w.end_year - 1 AS VARCHAR) || '-'
    || CAST(w.end_year AS VARCHAR) || '/' || CAST(w.end_year + 1 AS VARCHAR) AS "window",
  CAST(m.municipality_code AS INT) AS geo_code,
  m.municipality_name AS geo_name,
  CAST(CASE WHEN r.participation IS NOT NULL THEN r.r1 END AS INT) AS rank_participation,
  CAST(CASE WHEN r.grade_mean_scaled IS NOT NULL THEN r.r2 END AS INT) AS rank_grade_mean,
  CAST(CASE WHEN r.transition IS NOT NULL THEN r.r3 END AS INT) AS rank_transition,
  (CASE WHEN r.participation IS NOT NULL THEN r.r1 END
   + CASE WHEN r.grade_mean_scaled IS NOT NULL THEN r.r2 END
   + CASE WHEN r.transition IS NOT NULL THEN r.r3 END) / 3.0 AS mean_rank,
  coalesce(r.worse1 < 15 AND r.worse2 < 15 AND r.worse3 < 15
           AND r.participation IS NOT NULL AND r.grade_mean_scaled IS NOT NULL
           AND r.transition IS NOT NULL, false) AS bottom15_all
FROM windows w
CROSS JOIN code_municipalities m
LEFT JOIN ranked r ON r.end_year = w.end_year AND r.municipality_code = m.municipality_code
ORDER BY period_end_year, geo_code
