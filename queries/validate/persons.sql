-- Validation of the `persons` extract (data-contract.md, "Input: persons").
--
-- Input:  raw_persons — the contract columns plus _row (the run-wide row ordinal)
--         and _out_of_range (values that do not fit their column, as text).
-- Output: every input row's `_row` with its `reason`: NULL when the row is accepted,
--         otherwise the first rule it breaks, in the order of the CASEs below
--         (docs/validation.md): first the row's own rules (`own`), then the rules
--         across rows.
-- Parameter: $extract_date (methodology.md, "Extract date").
-- Keys carried by more than one row (all rows counted, whatever else they break),
-- found by hash aggregation and joined back.
{% import "macros.sql" as m %}
WITH own AS (
  SELECT p.person_id, p._row,
    CASE
      -- A value the file sent that its column cannot hold (an unsigned 64-bit
      -- integer above i64::MAX, a Date64 beyond 32-bit days): read as NULL, so it
      -- comes before missing_value; the quarantine keeps the value as text.
      WHEN p._out_of_range IS NOT NULL
        THEN 'value_out_of_range'
      WHEN {{ m.any_null("p", ["person_id", "birth_date", "sex"]) }}
        THEN 'missing_value'
      WHEN {{ m.invalid_person_id("p.person_id") }}
        THEN 'invalid_person_id'
      WHEN {{ m.not_accepted("p.sex", ["M", "K"]) }}
        THEN 'invalid_sex'
      WHEN p.birth_date > $extract_date
        THEN 'future_date'
    END AS reason
  FROM raw_persons p
),
-- Keys carried by more than one row: `candidates`, then `dup` (key columns, n).
{{ m.duplicate_keys("raw_persons", ["person_id"]) }}
SELECT
  o._row,
  CASE
    WHEN o.reason IS NOT NULL
      THEN o.reason
    -- person_id is unique: every row carrying a duplicated id is rejected.
    WHEN dup.n IS NOT NULL
      THEN 'duplicate_key'
  END AS reason
-- (dup first: DataFusion builds a join's hash table from its left side when it
-- cannot tell the sizes apart, and dup is the small side.)
FROM dup
RIGHT JOIN own o ON dup.person_id = o.person_id
