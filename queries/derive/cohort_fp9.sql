-- cohort_fp9: one row per 9th-grade pupil per school year.
--
-- Implements methodology.md:
--   "Extract date and which periods are computed" (school year Y needs 31 July Y+1 <=
--   the extract date; transition_15m also 1 October Y+2),
--   "Who is in which group" (window W, the deciding measure),
--   "Which municipality a person counts for",
--   "School-year indicators" (population, bound exams, averages, the flags).
--
-- Tables: enrolment, exams, measures, residence, youth_education (accepted rows);
--   params(extract_date, school_year_window) and
--   bound_exams(school_year, exam_code, subject, weight) from the configuration;
--   code_municipalities, code_placements, code_programmes.
WITH
-- Population of school year Y: every enrolment row with school_year = Y and grade = 9.
pupils AS (
  SELECT e.person_id, e.school_year, e.institution_municipality, e.school_type, e.class_type
  FROM enrolment e CROSS JOIN params
  WHERE e.grade = 9
    AND make_date(e.school_year + 1, 7, 31) <= params.extract_date
),
-- Window W (configurable): the school year 1 August Y - 31 July Y+1; the status on
-- 31 December Y; or the five school years up to 31 July Y+1.
windows AS (
  SELECT y.school_year,
    CASE params.school_year_window
      WHEN 'december_31' THEN make_date(y.school_year, 12, 31)
      WHEN 'five_years' THEN make_date(y.school_year - 4, 8, 1)
      ELSE make_date(y.school_year, 8, 1)
    END AS window_start,
    CASE params.school_year_window
      WHEN 'december_31' THEN make_date(y.school_year, 12, 31)
      ELSE make_date(y.school_year + 1, 7, 31)
    END AS window_end
  FROM (SELECT DISTINCT school_year FROM pupils) y CROSS JOIN params
),
-- Measures overlapping W (start <= end of W, and no end or end >= start of W). The
-- deciding measure ranks first: a placement before a preventive measure (anbragt wins),
-- then the latest start_date, then a null end_date, then the latest end_date, then the
-- smallest measure_id.
ranked AS (
  SELECT p.person_id, p.school_year, m.measure_id, m.kind, m.placement_code,
    m.acting_municipality,
    row_number() OVER (
      PARTITION BY p.person_id, p.school_year
      ORDER BY CASE m.kind WHEN 'anbringelse' THEN 0 ELSE 1 END,
               m.start_date DESC,
               CASE WHEN m.end_date IS NULL THEN 0 ELSE 1 END,
               m.end_date DESC,
               m.measure_id
    ) AS rank
  FROM pupils p
  JOIN windows w ON w.school_year = p.school_year
  JOIN measures m ON m.person_id = p.person_id
  WHERE m.start_date <= w.window_end
    AND (m.end_date IS NULL OR m.end_date >= w.window_start)
),
deciding AS (
  SELECT * FROM ranked WHERE rank = 1
),
-- Residence on the reference date, 5 September Y.
residence_ref AS (
  SELECT p.person_id, p.school_year, r.municipality_code
  FROM pupils p
  JOIN residence r ON r.person_id = p.person_id
  WHERE r.valid_from <= make_date(p.school_year, 9, 5)
    AND (r.valid_to IS NULL OR r.valid_to >= make_date(p.school_year, 9, 5))
),
-- Bound exams sat (with a grade) at the 9th-grade leaving exam of school year Y.
-- Exams of grade level 10, or of another school year, do not count.
sat AS (
  SELECT p.person_id, p.school_year, b.subject, b.weight, x.grade
  FROM pupils p
  JOIN exams x ON x.person_id = p.person_id
             AND x.school_year = p.school_year
             AND x.grade_level = 9
  JOIN bound_exams b ON b.school_year = x.school_year AND b.exam_code = x.exam_code
  WHERE x.grade IS NOT NULL
),
sat_summary AS (
  SELECT person_id, school_year,
    sum(CASE WHEN subject = 'danish' THEN 1 ELSE 0 END) AS n_danish_sat,
    sum(CASE WHEN subject = 'mathematics' THEN 1 ELSE 0 END) AS n_maths_sat,
    count(*) AS n_bound_sat,
    -- Weighted means (weights from the configuration, default 1); nothing is rounded.
    sum(CASE WHEN subject = 'danish' THEN weight * grade END)
      / sum(CASE WHEN subject = 'danish' THEN weight END) AS danish_mean,
    sum(CASE WHEN subject = 'mathematics' THEN weight * grade END)
      / sum(CASE WHEN subject = 'mathematics' THEN weight END) AS maths_mean,
    -- Each pupil's plain mean over the bound exams sat.
    avg(CAST(grade AS DOUBLE)) AS bound_mean
  FROM sat
  GROUP BY person_id, school_year
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
  SELECT DISTINCT p.person_id, p.school_year
  FROM pupils p
  JOIN youth_education y ON y.person_id = p.person_id
  JOIN code_programmes c ON c.programme = y.programme AND c.counts_as_youth_education
  WHERE (y.start_date <= make_date(p.school_year + 2, 10, 1)
         AND (y.end_date IS NULL OR y.end_date >= make_date(p.school_year + 2, 10, 1)))
     OR (y.outcome = 'fuldfoert' AND y.end_date <= make_date(p.school_year + 2, 10, 1))
),
flags AS (
  SELECT
    p.person_id,
    p.school_year,
    CASE d.kind
      WHEN 'anbringelse' THEN 'anbragt'
      WHEN 'forebyggende' THEN 'forebyggende'
      ELSE 'oevrige'
    END AS "group",
    d.measure_id AS deciding_measure_id,
    CASE WHEN d.kind = 'anbringelse' THEN d.placement_code END AS placement_code,
    -- udsat: the handlekommune of the deciding measure; oevrige: residence on
    -- 5 September Y, else the school's municipality.
    coalesce(d.acting_municipality, r.municipality_code, p.institution_municipality)
      AS municipality_code,
    CASE
      WHEN d.person_id IS NOT NULL THEN 'handlekommune'
      WHEN r.person_id IS NOT NULL THEN 'residence'
      ELSE 'school'
    END AS municipality_source,
    p.school_type,
    p.class_type,
    coalesce(s.n_danish_sat, 0) AS n_danish_sat,
    coalesce(s.n_maths_sat, 0) AS n_maths_sat,
    coalesce(s.n_bound_sat, 0) AS n_bound_sat,
    s.danish_mean,
    s.maths_mean,
    s.bound_mean,
    coalesce(s.n_danish_sat, 0) = q.n_danish AND coalesce(s.n_maths_sat, 0) = q.n_maths
      AS sat_danish_maths,
    coalesce(s.n_bound_sat, 0) = q.n_bound AS sat_all_bound,
    CASE
      WHEN make_date(p.school_year + 2, 10, 1) <= params.extract_date
        THEN t.person_id IS NOT NULL
    END AS transition_15m,
    p.school_type IN ('folkeskole', 'fri_grundskole', 'efterskole') AND p.class_type = 'almen'
      AS school_offer_almen
  FROM pupils p
  CROSS JOIN params
  JOIN required q ON q.school_year = p.school_year
  LEFT JOIN deciding d ON d.person_id = p.person_id AND d.school_year = p.school_year
  LEFT JOIN residence_ref r ON r.person_id = p.person_id AND r.school_year = p.school_year
  LEFT JOIN sat_summary s ON s.person_id = p.person_id AND s.school_year = p.school_year
  LEFT JOIN transition t ON t.person_id = p.person_id AND t.school_year = p.school_year
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
  f.sat_danish_maths,
  f.sat_danish_maths AND f.danish_mean >= 2.0 AND f.maths_mean >= 2.0 AS min2_dan_mat,
  f.sat_all_bound AND f.bound_mean >= 2.0 AS fp9_passed,
  f.transition_15m,
  f.school_offer_almen
FROM flags f
JOIN code_municipalities m ON m.municipality_code = f.municipality_code
LEFT JOIN code_placements pc ON pc.placement_code = f.placement_code
