-- age_population: the age cohorts (ages 17, 18 and 25 on 1 October T) and each
-- person's group window.
--
-- Implements methodology.md:
--   "Calendar" (age in whole years; a 29 February birthday is 1 March in other years),
--   "Extract date and which periods are computed" (age year T needs 1 October T <= the
--   extract date),
--   "Age indicators" (population: resident on 1 October T; group window from birth to
--   the earlier of 1 October T and the day before the 18th birthday).
--
-- Tables: persons, residence (accepted rows); params(extract_date).
{% import "macros.sql" as m %}
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
        END AS year,
    -- The day before the 18th birthday. The birthday is the (day - 1)-th day after the
    -- 1st of the birth month, so 29 February falls on 1 March in a year without one,
    -- and the day before it is 28 February.
    CAST(
      CAST(make_date(CAST(date_part('year', p.birth_date) AS BIGINT) + 18,
                     CAST(date_part('month', p.birth_date) AS BIGINT), 1) AS INT)
      + CAST(date_part('day', p.birth_date) AS INT) - 2
    AS DATE) AS day_before_18
  FROM persons p
  CROSS JOIN (VALUES (17), (18), (25)) AS a(age)
)
-- Population of year T at age A: resident on 1 October T (the reference date).
SELECT
  c.person_id,
  c.birth_date,
  c.age,
  c.year,
  -- An integer key of the row (one per person per age cohort), so that cohort_age.sql
  -- groups and joins youth education by an integer instead of (person_id, age, year).
  -- Which number a row gets is arbitrary; no output carries it.
  row_number() OVER () AS pop_row,
  make_date(c.year, 10, 1) AS ref_date,
  r.municipality_code AS residence_municipality,
  -- Group window: from birth to the earlier of 1 October T and the day before the
  -- 18th birthday (ever in a measure as a child, as far as known on 1 October T).
  c.birth_date AS window_start,
  least(make_date(c.year, 10, 1), c.day_before_18) AS window_end
FROM candidates c
CROSS JOIN params
JOIN residence r ON r.person_id = c.person_id
WHERE make_date(c.year, 10, 1) <= params.extract_date
  AND {{ m.active_on("r.valid_from", "r.valid_to", "make_date(c.year, 10, 1)") }}
