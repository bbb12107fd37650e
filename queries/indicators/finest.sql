-- finest: one row per indicator at the finest level, from fp9_finest and age_finest:
-- (numerator, denominator) for shares, (sum, sum of squares, n) for the mean, and the
-- population that decides whether the cell exists (data-contract.md: for
-- fp9_min2_dan_mat_takers and fp9_grade_mean the 9th-grade cohort, not their own
-- denominators, so that a missing row never says that nobody sat the exams).
-- queries/indicators/cells.sql rolls these up to every cell.
--
-- (fp9_finest, age_finest and finest are tables of their own, not CTEs, because
-- DataFusion inlines a CTE at every reference: as CTEs of cells.sql the cohorts were
-- aggregated again for every indicator and geography level.)
SELECT 'fp9_participation' AS indicator, 'school_year' AS kind, year, municipality_code, region_code, "group", placement_type, placement_group,
       participants AS numerator, cohort AS denominator, CAST(NULL AS BIGINT) AS value_sum, CAST(NULL AS BIGINT) AS value_sumsq,
       cohort AS population
FROM fp9_finest
UNION ALL
SELECT 'fp9_min2_dan_mat', 'school_year', year, municipality_code, region_code, "group", placement_type, placement_group,
       min2, cohort, NULL, NULL, cohort AS population
FROM fp9_finest
UNION ALL
SELECT 'fp9_min2_dan_mat_takers', 'school_year', year, municipality_code, region_code, "group", placement_type, placement_group,
       min2, participants, NULL, NULL, cohort
FROM fp9_finest
UNION ALL
SELECT 'fp9_passed', 'school_year', year, municipality_code, region_code, "group", placement_type, placement_group,
       passed, cohort, NULL, NULL, cohort AS population
FROM fp9_finest
UNION ALL
SELECT 'fp9_grade_mean', 'school_year', year, municipality_code, region_code, "group", placement_type, placement_group,
       NULL, graded, grade_sum, grade_sumsq, cohort
FROM fp9_finest
UNION ALL
SELECT 'transition_15m', 'school_year', year, municipality_code, region_code, "group", placement_type, placement_group,
       transition, transition_known, NULL, NULL, transition_known AS population
FROM fp9_finest
-- Only the school years whose transitions can be seen yet (methodology.md, "Extract
-- date and which periods are computed"): an empty year is not a computed one, and a
-- three-year window needs all three (queries/indicators/cells.sql).
WHERE transition_known > 0
UNION ALL
SELECT 'school_offer_almen', 'school_year', year, municipality_code, region_code, "group", placement_type, placement_group,
       almen, cohort, NULL, NULL, cohort AS population
FROM fp9_finest
UNION ALL
SELECT 'youth_edu_18', 'age', year, municipality_code, region_code, "group", placement_type, placement_group,
       in_youth_edu, persons, NULL, NULL, persons AS population
FROM age_finest WHERE age = 18
UNION ALL
SELECT 'youth_edu_completed_25', 'age', year, municipality_code, region_code, "group", placement_type, placement_group,
       completed, persons, NULL, NULL, persons AS population
FROM age_finest WHERE age = 25
UNION ALL
SELECT 'no_fp9_by_17', 'age', year, municipality_code, region_code, "group", placement_type, placement_group,
       no_fp9, persons, NULL, NULL, persons AS population
FROM age_finest WHERE age = 17
