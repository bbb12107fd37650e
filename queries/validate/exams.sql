-- Validation of the `exams` extract (data-contract.md, "Input: exams").
--
-- Input:  raw_exams (contract columns + _row), persons (accepted persons),
--         code_exceptions (codes/exam_exception_codes.csv).
-- Output: every input row's `_row` with its `reason` (NULL = accepted; otherwise the
--         first rule broken, in the order of the CASEs below: the row's own rules,
--         then the rules across rows and extracts).
-- Exam codes outside codes/exam_codes.csv are accepted (the indicators ignore them).
-- Keys carried by more than one row (all rows counted, whatever else they break),
-- found by hash aggregation and joined back.
{% import "macros.sql" as m %}
WITH own AS (
  SELECT x.person_id, x.school_year, x.grade_level, x.exam_code, x._row,
    CASE
      -- A value the file sent that its column cannot hold (an unsigned 64-bit
      -- integer above i64::MAX, a Date64 beyond 32-bit days): read as NULL, so it
      -- comes before missing_value; the quarantine keeps the value as text.
      WHEN x._out_of_range IS NOT NULL
        THEN 'value_out_of_range'
      WHEN {{ m.any_null("x", ["person_id", "school_year", "grade_level", "exam_code"]) }}
        THEN 'missing_value'
      WHEN {{ m.invalid_person_id("x.person_id") }}
        THEN 'invalid_person_id'
      -- A school year the derivations can compute with (docs/validation.md).
      WHEN x.school_year NOT BETWEEN 1900 AND 2200
        THEN 'school_year_out_of_range'
      WHEN {{ m.not_accepted("x.grade_level", [9, 10]) }}
        THEN 'invalid_grade_level'
      WHEN {{ m.not_accepted("x.grade", [-3, 0, 2, 4, 7, 10, 12]) }}
        THEN 'grade_not_on_scale'
      WHEN x.exception_code IS NOT NULL AND c.exception_code IS NULL
        THEN 'unknown_exception_code'
      -- Exactly one of grade and exception_code is set.
      WHEN x.grade IS NOT NULL AND x.exception_code IS NOT NULL
        THEN 'grade_and_exception_both_set'
      WHEN x.grade IS NULL AND x.exception_code IS NULL
        THEN 'grade_and_exception_both_missing'
    END AS reason
  FROM raw_exams x
  LEFT JOIN code_exceptions c ON x.exception_code = c.exception_code
),
-- Keys carried by more than one row: `candidates`, then `dup` (key columns, n).
{{ m.duplicate_keys("raw_exams", ["person_id", "school_year", "grade_level", "exam_code"]) }}
SELECT
  o._row,
  CASE
    WHEN o.reason IS NOT NULL
      THEN o.reason
    WHEN dup.n IS NOT NULL
      THEN 'duplicate_key'
    WHEN a.person_id IS NULL
      THEN 'orphan_person'
  END AS reason
-- (dup first: DataFusion builds a join's hash table from its left side when it
-- cannot tell the sizes apart, and dup is the small side.)
FROM dup
RIGHT JOIN own o ON dup.person_id = o.person_id AND dup.school_year = o.school_year
                 AND dup.grade_level = o.grade_level AND dup.exam_code = o.exam_code
LEFT JOIN persons a ON o.person_id = a.person_id
