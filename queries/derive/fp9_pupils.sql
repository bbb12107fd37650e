-- fp9_pupils: the 9th-grade cohorts and each pupil's group window W.
--
-- Implements methodology.md:
--   "School-year indicators" (population of school year Y: every enrolment row with
--   school_year = Y and grade = 9),
--   "Extract date and which periods are computed" (Y needs 31 July Y+1 <= extract date),
--   "Who is in which group" (window W for school-year indicators, configurable).
--
-- Tables: enrolment (accepted rows); params(extract_date, school_year_window).
SELECT
  e.person_id,
  e.school_year,
  e.institution_municipality,
  e.school_type,
  e.class_type,
  -- W: the school year 1 August Y - 31 July Y+1 (default); the status on 31 December Y;
  -- or the five school years up to 31 July Y+1.
  CASE params.school_year_window
    WHEN 'december_31' THEN make_date(e.school_year, 12, 31)
    WHEN 'five_years' THEN make_date(e.school_year - 4, 8, 1)
    ELSE make_date(e.school_year, 8, 1)
  END AS window_start,
  CASE params.school_year_window
    WHEN 'december_31' THEN make_date(e.school_year, 12, 31)
    ELSE make_date(e.school_year + 1, 7, 31)
  END AS window_end
FROM enrolment e
CROSS JOIN params
WHERE e.grade = 9
  AND make_date(e.school_year + 1, 7, 31) <= params.extract_date
