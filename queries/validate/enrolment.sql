-- Validation of the `enrolment` extract (data-contract.md, "Input: enrolment").
--
-- Input:  raw_enrolment (contract columns + _row), persons (accepted persons),
--         code_municipalities.
-- Output: every input row with `reason` (NULL = accepted; otherwise the first rule
--         broken, in the order of the CASE below).
-- Keys carried by more than one row (all rows counted, whatever else they break),
-- found by one hash aggregation and joined back.
WITH dup AS (
  SELECT person_id, school_year, count(*) AS n
  FROM raw_enrolment
  GROUP BY person_id, school_year
  HAVING count(*) > 1
)
SELECT
  e.person_id, e.school_year, e.grade, e.institution_id, e.institution_municipality,
  e.school_type, e.class_type, e._row,
  CASE
    WHEN e.person_id IS NULL OR e.school_year IS NULL OR e.grade IS NULL
      OR e.institution_id IS NULL OR e.institution_municipality IS NULL
      OR e.school_type IS NULL OR e.class_type IS NULL
      THEN 'missing_value'
    WHEN length(e.person_id) = 0 OR length(e.person_id) > 64
      THEN 'invalid_person_id'
    WHEN e.grade NOT BETWEEN 0 AND 10
      THEN 'grade_out_of_range'
    WHEN NOT (e.institution_id ~ '^[0-9]{6}$')
      THEN 'invalid_institution_id'
    WHEN m.municipality_code IS NULL
      THEN 'unknown_municipality'
    WHEN e.school_type NOT IN ('folkeskole', 'fri_grundskole', 'efterskole',
                               'specialskole', 'dagbehandling', 'intern_skole')
      THEN 'unknown_school_type'
    WHEN e.class_type NOT IN ('almen', 'specialklasse')
      THEN 'unknown_class_type'
    -- (person_id, school_year) is unique: every row carrying a duplicated key is rejected.
    WHEN dup.n IS NOT NULL
      THEN 'duplicate_key'
    WHEN a.person_id IS NULL
      THEN 'orphan_person'
  END AS reason
FROM raw_enrolment e
LEFT JOIN dup ON dup.person_id = e.person_id AND dup.school_year = e.school_year
LEFT JOIN code_municipalities m ON e.institution_municipality = m.municipality_code
LEFT JOIN persons a ON e.person_id = a.person_id
