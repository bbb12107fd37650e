-- cohort_age: one row per person per age cohort (ages 17, 18 and 25 on 1 October T).
--
-- Implements methodology.md:
--   "Age indicators" (the three flags),
--   "Which municipality a person counts for" (udsat: the handlekommune of the deciding
--   measure; oevrige: the residence on 1 October T).
-- The population and its windows come from age_population.sql, the groups from
-- deciding_measure.sql.
--
-- Tables: age_population, deciding_measure; exams, youth_education (accepted rows);
--   bound_exams(school_year, exam_code, subject, weight); code_municipalities,
--   code_placements, code_programmes.
-- The rows come unordered (the aggregations do not need an order); restricted/ holds
-- them sorted by (year, age, person_id), see indicators::COHORTS.
{% import "macros.sql" as m %}
WITH
population AS (
  SELECT * FROM age_population
),
deciding AS (
  SELECT * FROM deciding_measure WHERE population = 'age'
),
-- Youth education on 1 October T: enrolled (active) or completed (fuldfoert by then).
youth AS (
  SELECT p.pop_row,
    max(CASE WHEN y.outcome = 'fuldfoert' AND y.end_date <= p.ref_date THEN 1 ELSE 0 END)
      AS completed,
    max(CASE WHEN {{ m.active_on("y.start_date", "y.end_date", "p.ref_date") }} THEN 1 ELSE 0 END)
      AS enrolled
  FROM population p
  JOIN youth_education y ON y.person_id = p.person_id
  JOIN code_programmes c ON c.programme = y.programme AND c.counts_as_youth_education
  GROUP BY p.pop_row
),
-- The first school year in which a person sat a bound Danish or mathematics exam (any
-- grade level). An exam of school year S counts as sat by 1 October S+1, so a person
-- has sat one by the reference date exactly when the first one has.
fp9_first AS (
  SELECT x.person_id, min(x.school_year) AS first_year
  FROM exams x
  JOIN bound_exams b ON b.school_year = x.school_year
                    AND b.exam_code = x.exam_code
                    AND b.subject IN ('danish', 'mathematics')
  WHERE x.grade IS NOT NULL
  GROUP BY x.person_id
)
SELECT
  p.person_id,
  p.age,
  p.year,
  coalesce(d."group", 'oevrige') AS "group",
  d.measure_id AS deciding_measure_id,
  d.placement_code,
  pc.placement_type,
  pc.placement_group,
  coalesce(d.acting_municipality, p.residence_municipality) AS municipality_code,
  m.region_code,
  CASE WHEN d.person_id IS NOT NULL THEN 'handlekommune' ELSE 'residence' END
    AS municipality_source,
  coalesce(y.enrolled, 0) = 1 OR coalesce(y.completed, 0) = 1 AS youth_edu_enrolled_or_completed,
  coalesce(y.completed, 0) = 1 AS youth_edu_completed,
  s.person_id IS NULL OR make_date(s.first_year + 1, 10, 1) > p.ref_date AS no_fp9
FROM population p
LEFT JOIN deciding d ON d.person_id = p.person_id AND d.age = p.age AND d.year = p.year
LEFT JOIN youth y ON y.pop_row = p.pop_row
LEFT JOIN fp9_first s ON s.person_id = p.person_id
JOIN code_municipalities m
  ON m.municipality_code = coalesce(d.acting_municipality, p.residence_municipality)
LEFT JOIN code_placements pc ON pc.placement_code = d.placement_code
