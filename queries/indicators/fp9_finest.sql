-- fp9_finest: the 9th-grade cohort's counts at the finest level (school year x
-- municipality x group x placement type), from cohort_fp9 (queries/derive/).
--
-- Implements methodology.md "School-year indicators". So that every run gives the
-- same bits whatever the order of addition, a pupil's mean is carried as the exact
-- integer mean x params.mean_scale (the least common multiple of 1..the number of
-- bound exams, 840 for eight); only the final cell value (cells.sql) is a
-- floating-point number.
WITH
scaled AS (
  SELECT c.*,
    CASE WHEN c.n_bound_sat > 0
      THEN c.bound_grade_sum * params.mean_scale / c.n_bound_sat
    END AS scaled_mean
  FROM cohort_fp9 c CROSS JOIN params
)
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
