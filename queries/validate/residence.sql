-- Validation of the `residence` extract (data-contract.md, "Input: residence").
--
-- Input:  raw_residence (contract columns + _row), persons (the accepted persons),
--         code_municipalities (codes/municipalities.csv).
-- Output: every input row with `reason` (NULL = accepted; otherwise the first rule
--         broken, in the order of the CASE below).
-- Parameter: $extract_date.
--
-- Overlap: a period overlaps another period of the same person when one starts on or
-- before the other ends (valid_to is inclusive; NULL = still living there). Sorted by
-- valid_from, period i overlaps an earlier one exactly when the latest end among the
-- earlier periods is >= its start, and a later one exactly when the next period starts
-- on or before its end. Only well-formed periods (person_id and valid_from set,
-- valid_to NULL or >= valid_from) take part in the overlap check.
WITH periods AS (
  SELECT
    r.*,
    (r.person_id IS NOT NULL AND r.valid_from IS NOT NULL
      AND (r.valid_to IS NULL OR r.valid_to >= r.valid_from)) AS is_period
  FROM raw_residence r
),
neighbours AS (
  SELECT
    periods.*,
    max(coalesce(valid_to, DATE '9999-12-31')) OVER (
      PARTITION BY person_id, is_period ORDER BY valid_from, _row
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS latest_earlier_end,
    lead(valid_from) OVER (
      PARTITION BY person_id, is_period ORDER BY valid_from, _row) AS next_start
  FROM periods
)
SELECT
  n.person_id, n.municipality_code, n.valid_from, n.valid_to, n._row,
  CASE
    WHEN n.person_id IS NULL OR n.municipality_code IS NULL OR n.valid_from IS NULL
      THEN 'missing_value'
    WHEN length(n.person_id) = 0 OR length(n.person_id) > 64
      THEN 'invalid_person_id'
    WHEN m.municipality_code IS NULL
      THEN 'unknown_municipality'
    WHEN n.valid_to < n.valid_from
      THEN 'end_before_start'
    WHEN n.valid_from > $extract_date OR n.valid_to > $extract_date
      THEN 'future_date'
    WHEN n.latest_earlier_end >= n.valid_from
      OR n.next_start <= coalesce(n.valid_to, DATE '9999-12-31')
      THEN 'overlapping_period'
    WHEN a.person_id IS NULL
      THEN 'orphan_person'
  END AS reason
FROM neighbours n
LEFT JOIN code_municipalities m ON n.municipality_code = m.municipality_code
LEFT JOIN persons a ON n.person_id = a.person_id
