-- Validation of the `exams` extract (data-contract.md, "Input: exams").
--
-- Input:  raw_exams (contract columns + _row), persons (accepted persons),
--         code_exceptions (codes/exam_exception_codes.csv).
-- Output: every input row with `reason` (NULL = accepted; otherwise the first rule
--         broken, in the order of the CASE below).
-- Exam codes outside codes/exam_codes.csv are accepted (the indicators ignore them).
SELECT
  x.person_id, x.school_year, x.grade_level, x.exam_code, x.grade, x.exception_code, x._row,
  CASE
    WHEN x.person_id IS NULL OR x.school_year IS NULL OR x.grade_level IS NULL
      OR x.exam_code IS NULL
      THEN 'missing_value'
    WHEN length(x.person_id) = 0 OR length(x.person_id) > 64
      THEN 'invalid_person_id'
    WHEN x.grade_level NOT IN (9, 10)
      THEN 'invalid_grade_level'
    WHEN x.grade NOT IN (-3, 0, 2, 4, 7, 10, 12)
      THEN 'grade_not_on_scale'
    WHEN x.exception_code IS NOT NULL AND c.exception_code IS NULL
      THEN 'unknown_exception_code'
    -- Exactly one of grade and exception_code is set.
    WHEN x.grade IS NOT NULL AND x.exception_code IS NOT NULL
      THEN 'grade_and_exception_both_set'
    WHEN x.grade IS NULL AND x.exception_code IS NULL
      THEN 'grade_and_exception_both_missing'
    WHEN count(*) OVER (PARTITION BY x.person_id, x.school_year, x.grade_level, x.exam_code) > 1
      THEN 'duplicate_key'
    WHEN a.person_id IS NULL
      THEN 'orphan_person'
  END AS reason
FROM raw_exams x
LEFT JOIN code_exceptions c ON x.exception_code = c.exception_code
LEFT JOIN persons a ON x.person_id = a.person_id
