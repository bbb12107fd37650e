-- age_finest: the age cohorts' counts at the finest level (age x year x municipality
-- x group x placement type), from cohort_age (queries/derive/).
--
-- Implements methodology.md "Age indicators".
SELECT age, year, municipality_code, region_code, "group", placement_type, placement_group,
  count(*) AS persons,
  sum(CASE WHEN youth_edu_enrolled_or_completed THEN 1 ELSE 0 END) AS in_youth_edu,
  sum(CASE WHEN youth_edu_completed THEN 1 ELSE 0 END) AS completed,
  sum(CASE WHEN no_fp9 THEN 1 ELSE 0 END) AS no_fp9
FROM cohort_age
GROUP BY 1, 2, 3, 4, 5, 6, 7
