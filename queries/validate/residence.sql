-- Validation of the `residence` extract (data-contract.md, "Input: residence").
--
-- Input:  raw_residence (contract columns + _row), persons (the accepted persons),
--         code_municipalities (codes/municipalities.csv).
-- Output: every input row's `_row` with its `reason` (NULL = accepted; otherwise the
--         first rule broken, in the order of the CASEs below: the row's own rules,
--         then the rules across rows and extracts).
-- Parameter: $extract_date.
--
-- Overlap: two periods of the same person overlap when each starts on or before the
-- other ends (valid_to is inclusive; NULL = still living there). A period is rejected
-- when any other period of the person overlaps it. Only well-formed periods (person_id
-- and valid_from set, valid_to NULL or >= valid_from) take part in the overlap check.
-- (A self-join on person_id: people have a handful of periods each, so the pairs are
-- few, and a hash join beats a sort for window functions by far.)
{% import "macros.sql" as m %}
WITH own AS (
  SELECT n.person_id, n._row,
    CASE
      -- A value the file sent that its column cannot hold (an unsigned 64-bit
      -- integer above i64::MAX, a Date64 beyond 32-bit days): read as NULL, so it
      -- comes before missing_value; the quarantine keeps the value as text.
      WHEN n._out_of_range IS NOT NULL
        THEN 'value_out_of_range'
      WHEN {{ m.any_null("n", ["person_id", "municipality_code", "valid_from"]) }}
        THEN 'missing_value'
      WHEN {{ m.invalid_person_id("n.person_id") }}
        THEN 'invalid_person_id'
      WHEN m.municipality_code IS NULL
        THEN 'unknown_municipality'
      WHEN n.valid_to < n.valid_from
        THEN 'end_before_start'
      WHEN n.valid_from > $extract_date OR n.valid_to > $extract_date
        THEN 'future_date'
    END AS reason
  FROM raw_residence n
  LEFT JOIN code_municipalities m ON n.municipality_code = m.municipality_code
),
periods AS (
  SELECT person_id, valid_from, coalesce(valid_to, DATE '9999-12-31') AS valid_until, _row
  FROM raw_residence
  WHERE person_id IS NOT NULL AND valid_from IS NOT NULL
    AND (valid_to IS NULL OR valid_to >= valid_from)
),
overlapping AS (
  SELECT DISTINCT a._row
  FROM periods a
  JOIN periods b ON a.person_id = b.person_id AND a._row <> b._row
  WHERE a.valid_from <= b.valid_until AND b.valid_from <= a.valid_until
)
SELECT
  w._row,
  CASE
    WHEN w.reason IS NOT NULL
      THEN w.reason
    WHEN o._row IS NOT NULL
      THEN 'overlapping_period'
    WHEN a.person_id IS NULL
      THEN 'orphan_person'
  END AS reason
-- (overlapping first: DataFusion builds a join's hash table from its left side when it
-- cannot tell the sizes apart, and overlapping is the small side.)
FROM overlapping o
RIGHT JOIN own w ON o._row = w._row
LEFT JOIN persons a ON w.person_id = a.person_id
