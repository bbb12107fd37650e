-- deciding_measure: the group and the deciding measure of every person in every
-- population, for the school-year and the age indicators alike.
--
-- Implements methodology.md, "Who is in which group":
--   1. anbragt when any measure of kind anbringelse overlaps W;
--   2. otherwise forebyggende when any measure of kind forebyggende overlaps W;
--   3. otherwise oevrige (no row here).
-- The deciding measure is, among the measures of the winning kind that overlap W, the
-- one with the latest start_date (ties: a null end_date first, then the latest end_date,
-- then the smallest measure_id). A measure overlaps W = [a, b] when
-- start_date <= b and (end_date is null or end_date >= a).
--
-- Tables: measures (accepted rows); fp9_pupils and age_population (the windows).
WITH windows AS (
  SELECT person_id, 'fp9' AS population, school_year AS year, 0 AS age,
         window_start, window_end
  FROM fp9_pupils
  UNION ALL
  SELECT person_id, 'age', year, age, window_start, window_end
  FROM age_population
),
ranked AS (
  SELECT w.person_id, w.population, w.year, w.age,
    m.measure_id, m.kind, m.placement_code, m.acting_municipality,
    row_number() OVER (
      PARTITION BY w.person_id, w.population, w.year, w.age
      ORDER BY CASE m.kind WHEN 'anbringelse' THEN 0 ELSE 1 END,
               m.start_date DESC,
               CASE WHEN m.end_date IS NULL THEN 0 ELSE 1 END,
               m.end_date DESC,
               m.measure_id
    ) AS rank
  FROM windows w
  JOIN measures m ON m.person_id = w.person_id
  WHERE m.start_date <= w.window_end
    AND (m.end_date IS NULL OR m.end_date >= w.window_start)
)
SELECT
  person_id, population, year, age, measure_id, kind,
  CASE kind WHEN 'anbringelse' THEN 'anbragt' ELSE 'forebyggende' END AS "group",
  CASE WHEN kind = 'anbringelse' THEN placement_code END AS placement_code,
  acting_municipality
FROM ranked
WHERE rank = 1
