-- Validation of the `youth_education` extract (data-contract.md,
-- "Input: youth_education").
--
-- Input:  raw_youth_education (contract columns + _row), persons (accepted persons),
--         code_programmes (codes/youth_education_programmes.csv).
-- Output: every input row's `_row` with its `reason` (NULL = accepted; otherwise the
--         first rule broken, in the order of the CASEs below: the row's own rules,
--         then the orphan check).
-- Parameter: $extract_date.
{% import "macros.sql" as m %}
WITH own AS (
  SELECT y.person_id, y._row,
    CASE
      -- A value the file sent that its column cannot hold (an unsigned 64-bit
      -- integer above i64::MAX, a Date64 beyond 32-bit days): read as NULL, so it
      -- comes before missing_value; the quarantine keeps the value as text.
      WHEN y._out_of_range IS NOT NULL
        THEN 'value_out_of_range'
      WHEN {{ m.any_null("y", ["person_id", "programme", "start_date", "outcome"]) }}
        THEN 'missing_value'
      WHEN {{ m.invalid_person_id("y.person_id") }}
        THEN 'invalid_person_id'
      WHEN p.programme IS NULL
        THEN 'unknown_programme'
      WHEN {{ m.not_accepted("y.outcome", ["igang", "fuldfoert", "afbrudt"]) }}
        THEN 'unknown_outcome'
      WHEN y.end_date < y.start_date
        THEN 'end_before_start'
      -- `igang` exactly when end_date is NULL; otherwise fuldfoert or afbrudt.
      WHEN (y.outcome = 'igang') <> (y.end_date IS NULL)
        THEN 'outcome_end_date_mismatch'
      WHEN y.start_date > $extract_date OR y.end_date > $extract_date
        THEN 'future_date'
    END AS reason
  FROM raw_youth_education y
  LEFT JOIN code_programmes p ON y.programme = p.programme
)
SELECT
  o._row,
  CASE
    WHEN o.reason IS NOT NULL
      THEN o.reason
    WHEN a.person_id IS NULL
      THEN 'orphan_person'
  END AS reason
FROM own o
LEFT JOIN persons a ON o.person_id = a.person_id
