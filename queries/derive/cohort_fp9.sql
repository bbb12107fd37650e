-- cohort_fp9: one row per 9th-grade pupil per school year.
--
-- Implements methodology.md:
--   "Extract date and which periods are computed" (transition_15m for Y needs
--   1 October Y+2 <= the extract date),
--   "School-year indicators" (bound exams, averages, the flags).
-- The population comes from fp9_pupils.sql; its group, deciding measure and
-- municipality from fp9_context.sql.
--
-- Tables: fp9_context; exams, youth_education (accepted rows); params(extract_date);
--   bound_exams(school_year, exam_code, subject, weight) from the configuration;
--   code_municipalities, code_placements, code_programmes.
-- The rows come unordered (the aggregations do not need an order); restricted/ holds
-- them sorted by (school_year, person_id), see indicators::COHORTS.
{% import "macros.sql" as m %}
WITH
pupils AS (
  SELECT * FROM fp9_context
),
-- Bound exams sat (with a grade) at the 9th-grade leaving exam of school year Y.
-- Exams of grade level 10, or of another school year, do not count.
sat AS (
  SELECT p.pupil_row, b.subject, b.weight, x.grade
  FROM pupils p
  JOIN exams x ON x.person_id = p.person_id
             AND x.school_year = p.school_year
             AND x.grade_level = 9
  JOIN bound_exams b ON b.school_year = x.school_year AND b.exam_code = x.exam_code
  WHERE x.grade IS NOT NULL
),
sat_summary AS (
  SELECT pupil_row,
    sum(CASE WHEN subject = 'danish' THEN 1 ELSE 0 END) AS n_danish_sat,
    sum(CASE WHEN subject = 'mathematics' THEN 1 ELSE 0 END) AS n_maths_sat,
    count(*) AS n_bound_sat,
    -- Weighted means (weights from the configuration, default 1); nothing is rounded.
    sum(CASE WHEN subject = 'danish' THEN weight * grade END)
      / sum(CASE WHEN subject = 'danish' THEN weight END) AS danish_mean,
    sum(CASE WHEN subject = 'mathematics' THEN weight * grade END)
      / sum(CASE WHEN subject = 'mathematics' THEN weight END) AS maths_mean,
    -- Each pupil's plain mean over the bound exams sat, and its exact parts.
    avg(CAST(grade AS DOUBLE)) AS bound_mean,
    sum(grade) AS bound_grade_sum
  FROM sat
  GROUP BY pupil_row
),
required AS (
  SELECT school_year,
    sum(CASE WHEN subject = 'danish' THEN 1 ELSE 0 END) AS n_danish,
    sum(CASE WHEN subject = 'mathematics' THEN 1 ELSE 0 END) AS n_maths,
    count(*) AS n_bound
  FROM bound_exams
  GROUP BY school_year
),
-- Enrolled in (active on d) or completed (fuldfoert, end_date <= d) a youth education
-- on d = 1 October Y+2.
transition AS (
  SELECT DISTINCT p.pupil_row
  FROM pupils p
  JOIN youth_education y ON y.person_id = p.person_id
  JOIN code_programmes c ON c.programme = y.programme AND c.counts_as_youth_education
  WHERE {{ m.in_or_completed_youth_education("y", "make_date(p.school_year + 2, 10, 1)") }}
),
flags AS (
  SELECT
    p.person_id,
    p.school_year,
    p."group",
    p.deciding_measure_id,
    p.placement_code,
    p.municipality_code,
    p.municipality_source,
    p.school_type,
    p.class_type,
    coalesce(s.n_danish_sat, 0) AS n_danish_sat,
    coalesce(s.n_maths_sat, 0) AS n_maths_sat,
    coalesce(s.n_bound_sat, 0) AS n_bound_sat,
    s.danish_mean,
    s.maths_mean,
    s.bound_mean,
    s.bound_grade_sum,
    coalesce(s.n_danish_sat, 0) = q.n_danish AND coalesce(s.n_maths_sat, 0) = q.n_maths
      AS sat_danish_maths,
    coalesce(s.n_bound_sat, 0) = q.n_bound AS sat_all_bound,
    CASE
      WHEN make_date(p.school_year + 2, 10, 1) <= params.extract_date
        THEN t.pupil_row IS NOT NULL
    END AS transition_15m,
    p.school_type IN ('folkeskole', 'fri_grundskole', 'efterskole') AND p.class_type = 'almen'
      AS school_offer_almen
  FROM pupils p
  CROSS JOIN params
  JOIN required q ON q.school_year = p.school_year
  LEFT JOIN sat_summary s ON s.pupil_row = p.pupil_row
  LEFT JOIN transition t ON t.pupil_row = p.pupil_row
)
SELECT
  f.person_id,
  f.school_year,
  f."group",
  f.deciding_measure_id,
  f.placement_code,
  pc.placement_type,
  pc.placement_group,
  f.municipality_code,
  m.region_code,
  f.municipality_source,
  f.school_type,
  f.class_type,
  f.n_danish_sat,
  f.n_maths_sat,
  f.n_bound_sat,
  f.danish_mean,
  f.maths_mean,
  f.bound_mean,
  f.bound_grade_sum,
  f.sat_danish_maths,
  f.sat_danish_maths AND f.danish_mean >= 2.0 AND f.maths_mean >= 2.0 AS min2_dan_mat,
  f.sat_all_bound AND f.bound_mean >= 2.0 AS fp9_passed,
  f.transition_15m,
  f.school_offer_almen
FROM flags f
JOIN code_municipalities m ON m.municipality_code = f.municipality_code
LEFT JOIN code_placements pc ON pc.placement_code = f.placement_code
