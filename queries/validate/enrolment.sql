-- Validation of the `enrolment` extract (data-contract.md, "Input: enrolment").
--
-- Input:  raw_enrolment (contract columns + _row), persons (accepted persons),
--         code_municipalities.
-- Output: every input row's `_row` with its `reason` (NULL = accepted; otherwise the
--         first rule broken, in the order of the CASEs below: the row's own rules,
--         then the rules across rows and extracts).
-- Keys carried by more than one row (all rows counted, whatever else they break),
-- found by hash aggregation and joined back.
{% import "macros.sql" as m %}
WITH own AS (
  SELECT e.person_id, e.school_year, e._row,
    CASE
      -- A value the file sent that its column cannot hold (an unsigned 64-bit
      -- integer above i64::MAX, a Date64 beyond 32-bit days): read as NULL, so it
      -- comes before missing_value; the quarantine keeps the value as text.
      WHEN e._out_of_range IS NOT NULL
        THEN 'value_out_of_range'
      WHEN {{ m.any_null("e", ["person_id", "school_year", "grade", "institution_id",
                              "institution_municipality", "school_type", "class_type"]) }}
        THEN 'missing_value'
      WHEN {{ m.invalid_person_id("e.person_id") }}
        THEN 'invalid_person_id'
      -- A school year the derivations can compute with (docs/validation.md).
      WHEN e.school_year NOT BETWEEN 1900 AND 2200
        THEN 'school_year_out_of_range'
      WHEN e.grade NOT BETWEEN 0 AND 10
        THEN 'grade_out_of_range'
      WHEN NOT (e.institution_id ~ '^[0-9]{6}$')
        THEN 'invalid_institution_id'
      WHEN m.municipality_code IS NULL
        THEN 'unknown_municipality'
      WHEN {{ m.not_accepted("e.school_type", ["folkeskole", "fri_grundskole", "efterskole",
                                               "specialskole", "dagbehandling", "intern_skole"]) }}
        THEN 'unknown_school_type'
      WHEN {{ m.not_accepted("e.class_type", ["almen", "specialklasse"]) }}
        THEN 'unknown_class_type'
    END AS reason
  FROM raw_enrolment e
  LEFT JOIN code_municipalities m ON e.institution_municipality = m.municipality_code
),
-- Keys carried by more than one row: `candidates`, then `dup` (key columns, n).
{{ m.duplicate_keys("raw_enrolment", ["person_id", "school_year"]) }}
SELECT
  o._row,
  CASE
    WHEN o.reason IS NOT NULL
      THEN o.reason
    -- (person_id, school_year) is unique: every row carrying a duplicated key is rejected.
    WHEN dup.n IS NOT NULL
      THEN 'duplicate_key'
    WHEN a.person_id IS NULL
      THEN 'orphan_person'
  END AS reason
-- (dup first: DataFusion builds a join's hash table from its left side when it
-- cannot tell the sizes apart, and dup is the small side.)
FROM dup
RIGHT JOIN own o ON dup.person_id = o.person_id AND dup.school_year = o.school_year
LEFT JOIN persons a ON o.person_id = a.person_id
