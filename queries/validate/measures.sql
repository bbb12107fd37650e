-- Validation of the `measures` extract (data-contract.md, "Input: measures").
--
-- Input:  raw_measures (contract columns + _row), persons (accepted persons),
--         code_placements (codes/placement_codes.csv), code_municipalities.
-- Output: every input row's `_row` with its `reason` (NULL = accepted; otherwise the
--         first rule broken, in the order of the CASEs below: the row's own rules,
--         then the rules across rows and extracts).
-- Parameter: $extract_date.
-- legal_basis is free text: kept, not interpreted, and may be NULL.
-- Keys carried by more than one row (all rows counted, whatever else they break),
-- found by hash aggregation and joined back.
{% import "macros.sql" as m %}
WITH own AS (
  SELECT s.person_id, s.measure_id, s._row,
    CASE
      -- A value the file sent that its column cannot hold (an unsigned 64-bit
      -- integer above i64::MAX, a Date64 beyond 32-bit days): read as NULL, so it
      -- comes before missing_value; the quarantine keeps the value as text.
      WHEN s._out_of_range IS NOT NULL
        THEN 'value_out_of_range'
      WHEN {{ m.any_null("s", ["person_id", "measure_id", "kind", "start_date",
                              "acting_municipality"]) }}
        THEN 'missing_value'
      WHEN {{ m.invalid_person_id("s.person_id") }}
        THEN 'invalid_person_id'
      WHEN {{ m.not_accepted("s.kind", ["anbringelse", "forebyggende"]) }}
        THEN 'unknown_kind'
      WHEN s.placement_code IS NOT NULL AND pc.placement_code IS NULL
        THEN 'unknown_placement_code'
      WHEN m.municipality_code IS NULL
        THEN 'unknown_municipality'
      -- Contradictions after the code lists (docs/validation.md, "Which reason wins").
      WHEN s.kind = 'anbringelse' AND s.placement_code IS NULL
        THEN 'placement_code_missing'
      WHEN s.kind = 'forebyggende' AND s.placement_code IS NOT NULL
        THEN 'placement_code_not_allowed'
      WHEN s.end_date < s.start_date
        THEN 'end_before_start'
      WHEN s.start_date > $extract_date OR s.end_date > $extract_date
        THEN 'future_date'
    END AS reason
  FROM raw_measures s
  LEFT JOIN code_placements pc ON s.placement_code = pc.placement_code
  LEFT JOIN code_municipalities m ON s.acting_municipality = m.municipality_code
),
-- Keys carried by more than one row: `candidates`, then `dup` (key columns, n).
{{ m.duplicate_keys("raw_measures", ["measure_id"]) }}
SELECT
  o._row,
  CASE
    WHEN o.reason IS NOT NULL
      THEN o.reason
    -- measure_id is unique: every row carrying a duplicated id is rejected.
    WHEN dup.n IS NOT NULL
      THEN 'duplicate_key'
    WHEN a.person_id IS NULL
      THEN 'orphan_person'
  END AS reason
-- (dup first: DataFusion builds a join's hash table from its left side when it
-- cannot tell the sizes apart, and dup is the small side.)
FROM dup
RIGHT JOIN own o ON dup.measure_id = o.measure_id
LEFT JOIN persons a ON o.person_id = a.person_id
