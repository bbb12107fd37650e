-- cohort_age: one row per person per age cohort (ages 17, 18 and 25 on 1 October T).
--
-- Implements methodology.md:
--   "Calendar" (age in whole years; a 29 February birthday is 1 March in other years),
--   "Extract date and which periods are computed" (age year T needs 1 October T <= the
--   extract date),
--   "Age indicators" (population, group window, the three flags),
--   "Who is in which group" (the deciding measure) and
--   "Which municipality a person counts for" (persons not resident on 1 October T are
--   left out).
--
-- Tables: persons, residence, exams, measures, youth_education (accepted rows);
--   params(extract_date); bound_exams(school_year, exam_code, subject, weight);
--   code_municipalities, code_placements, code_programmes.
WITH
-- A person is A years old on 1 October of year(birth) + A, or of the year after when
-- born after 1 October. (1 October is never a 29 February birthday, so the 1 March rule
-- does not move anyone here.)
candidates AS (
  SELECT p.person_id, p.birth_date, a.age,
    CAST(date_part('year', p.birth_date) AS BIGINT) + a.age
      + CASE
          WHEN date_part('month', p.birth_date) > 10
            OR (date_part('month', p.birth_date) = 10 AND date_part('day', p.birth_date) > 1)
          THEN 1 ELSE 0
        END AS year
  FROM persons p
  CROSS JOIN (VALUES (17), (18), (25)) AS a(age)
),
-- Population of year T at age A: resident on 1 October T.
population AS (
  SELECT c.person_id, c.birth_date, c.age, c.year,
    make_date(c.year, 10, 1) AS ref_date,
    r.municipality_code AS residence_municipality,
    -- The day before the 18th birthday: the birthday is the (day - 1)-th day after the
    -- 1st of the birth month, so 29 February falls on 1 March in a year without one.
    CAST(
      CAST(make_date(CAST(date_part('year', c.birth_date) AS BIGINT) + 18,
                     CAST(date_part('month', c.birth_date) AS BIGINT), 1) AS INT)
      + CAST(date_part('day', c.birth_date) AS INT) - 2
    AS DATE) AS day_before_18
  FROM candidates c
  CROSS JOIN params
  JOIN residence r ON r.person_id = c.person_id
  WHERE make_date(c.year, 10, 1) <= params.extract_date
    AND r.valid_from <= make_date(c.year, 10, 1)
    AND (r.valid_to IS NULL OR r.valid_to >= make_date(c.year, 10, 1))
),
-- Group window: from birth to the earlier of 1 October T and the day before the 18th
-- birthday. The deciding measure ranks first, as for the school-year indicators.
ranked AS (
  SELECT p.person_id, p.age, p.year, m.measure_id, m.kind, m.placement_code,
    m.acting_municipality,
    row_number() OVER (
      PARTITION BY p.person_id, p.age, p.year
      ORDER BY CASE m.kind WHEN 'anbringelse' THEN 0 ELSE 1 END,
               m.start_date DESC,
               CASE WHEN m.end_date IS NULL THEN 0 ELSE 1 END,
               m.end_date DESC,
               m.measure_id
    ) AS rank
  FROM population p
  JOIN measures m ON m.person_id = p.person_id
  WHERE m.start_date <= least(p.ref_date, p.day_before_18)
    AND (m.end_date IS NULL OR m.end_date >= p.birth_date)
),
deciding AS (
  SELECT * FROM ranked WHERE rank = 1
),
-- Youth education on 1 October T: enrolled (active) or completed (fuldfoert by then).
youth AS (
  SELECT p.person_id, p.age, p.year,
    max(CASE WHEN y.outcome = 'fuldfoert' AND y.end_date <= p.ref_date THEN 1 ELSE 0 END)
      AS completed,
    max(CASE WHEN y.start_date <= p.ref_date
              AND (y.end_date IS NULL OR y.end_date >= p.ref_date) THEN 1 ELSE 0 END)
      AS enrolled
  FROM population p
  JOIN youth_education y ON y.person_id = p.person_id
  JOIN code_programmes c ON c.programme = y.programme AND c.counts_as_youth_education
  GROUP BY p.person_id, p.age, p.year
),
-- A bound Danish or mathematics exam sat (any grade level); an exam of school year S
-- counts as sat by 1 October S+1.
fp9_sat AS (
  SELECT DISTINCT p.person_id, p.age, p.year
  FROM population p
  JOIN exams x ON x.person_id = p.person_id
  JOIN bound_exams b ON b.school_year = x.school_year
                    AND b.exam_code = x.exam_code
                    AND b.subject IN ('danish', 'mathematics')
  WHERE x.grade IS NOT NULL
    AND make_date(x.school_year + 1, 10, 1) <= p.ref_date
)
SELECT
  p.person_id,
  p.age,
  p.year,
  CASE d.kind
    WHEN 'anbringelse' THEN 'anbragt'
    WHEN 'forebyggende' THEN 'forebyggende'
    ELSE 'oevrige'
  END AS "group",
  d.measure_id AS deciding_measure_id,
  CASE WHEN d.kind = 'anbringelse' THEN d.placement_code END AS placement_code,
  pc.placement_type,
  pc.placement_group,
  coalesce(d.acting_municipality, p.residence_municipality) AS municipality_code,
  m.region_code,
  CASE WHEN d.person_id IS NOT NULL THEN 'handlekommune' ELSE 'residence' END
    AS municipality_source,
  coalesce(y.enrolled, 0) = 1 OR coalesce(y.completed, 0) = 1 AS youth_edu_enrolled_or_completed,
  coalesce(y.completed, 0) = 1 AS youth_edu_completed,
  s.person_id IS NULL AS no_fp9
FROM population p
LEFT JOIN deciding d ON d.person_id = p.person_id AND d.age = p.age AND d.year = p.year
LEFT JOIN youth y ON y.person_id = p.person_id AND y.age = p.age AND y.year = p.year
LEFT JOIN fp9_sat s ON s.person_id = p.person_id AND s.age = p.age AND s.year = p.year
JOIN code_municipalities m
  ON m.municipality_code = coalesce(d.acting_municipality, p.residence_municipality)
LEFT JOIN code_placements pc
  ON pc.placement_code = CASE WHEN d.kind = 'anbringelse' THEN d.placement_code END
