-- fp9_context: who each 9th-grade pupil is for the indicators — group, deciding
-- measure and the municipality the pupil counts for — one row per pupil per school
-- year. (Split from cohort_fp9.sql so that each query holds fewer hash tables at once:
-- at ten times national scale the two together did not fit in 4 GB; see
-- docs/performance.md.)
--
-- Implements methodology.md:
--   "Who is in which group" (via deciding_measure.sql),
--   "Which municipality a person counts for" (udsat: the handlekommune of the deciding
--   measure; oevrige: the residence on 5 September Y, else the school's municipality).
--
-- Tables: fp9_pupils, deciding_measure; residence (accepted rows).
{% import "macros.sql" as m %}
WITH
pupils AS (
  SELECT * FROM fp9_pupils
),
deciding AS (
  SELECT * FROM deciding_measure WHERE population = 'fp9'
),
-- Residence on the reference date, 5 September Y.
residence_ref AS (
  SELECT p.person_id, p.school_year, r.municipality_code
  FROM pupils p
  JOIN residence r ON r.person_id = p.person_id
  WHERE {{ m.active_on("r.valid_from", "r.valid_to", "make_date(p.school_year, 9, 5)") }}
)
SELECT
  p.person_id,
  p.school_year,
  -- An integer key of the row (one per pupil per school year), so that cohort_fp9.sql
  -- groups and joins the pupils' exams by an integer instead of (person_id,
  -- school_year). Which number a row gets is arbitrary; no output carries it.
  row_number() OVER () AS pupil_row,
  coalesce(d."group", 'oevrige') AS "group",
  d.measure_id AS deciding_measure_id,
  d.placement_code,
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
  p.class_type
FROM pupils p
LEFT JOIN deciding d ON d.person_id = p.person_id AND d.year = p.school_year
LEFT JOIN residence_ref r ON r.person_id = p.person_id AND r.school_year = p.school_year
