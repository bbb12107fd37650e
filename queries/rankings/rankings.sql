-- published/rankings: the three-year municipality ranking, from cells.
--
-- Implements methodology.md (version 2), "Three-year municipality ranking": for each
-- kommune and each rolling three-year window ending with school year Y, pooled over the
-- three yearly `alle` cells of the kommune (sum of numerators over sum of denominators;
-- for the mean, sum of value x denominator over sum of denominators), for
-- fp9_participation, fp9_grade_mean and transition_15m; higher is better for all three.
-- A kommune is ranked on a measure in a window only when its three yearly alle cells of
-- that measure exist and are published (not withheld), so the ranking is a function of
-- published numbers and reveals nothing they do not. Ranks run 1 (best) .. N over the N
-- kommuner ranked on that measure in that window, ties sharing the lowest rank. A window
-- appears when at least one kommune is ranked on all three measures; every kommune has
-- a row (ranks null where not ranked). mean_rank and bottom15_all only when all three
-- ranks exist; bottom15_all: on each measure fewer than 15 ranked kommuner are strictly
-- worse.
--
-- Reads `cells` (published/indicators with the indicator column; for
-- restricted/rankings the same cells unsuppressed) and code_municipalities. The three
-- terms of a pooled value are added in year order, so that a researcher who recomputes
-- the ranking from the published cells in double precision gets the same ties.
WITH
measure_cells AS (
  SELECT indicator, year, geo_level, geo_code, numerator, denominator, value, suppressed
  FROM cells
  WHERE years = 1 AND "group" = 'alle' AND placement = 'alle'
    AND indicator IN ('fp9_participation', 'fp9_grade_mean', 'transition_15m')
),
-- School years in which all three measures were computed (each has a Danmark cell).
school_years AS (
  SELECT year FROM measure_cells WHERE geo_level = 'land'
  GROUP BY year HAVING count(DISTINCT indicator) = 3
),
windows AS (
  SELECT y.year AS end_year FROM school_years y
  WHERE y.year - 1 IN (SELECT year FROM school_years)
    AND y.year - 2 IN (SELECT year FROM school_years)
),
yearly AS (
  SELECT w.end_year, c.indicator, c.geo_code, c.year - w.end_year + 2 AS slot,
    CASE WHEN c.suppressed THEN NULL
         WHEN c.indicator = 'fp9_grade_mean' THEN c.value * CAST(c.denominator AS DOUBLE)
         ELSE CAST(c.numerator AS DOUBLE) END AS term,
    CASE WHEN c.suppressed THEN NULL ELSE c.denominator END AS den
  FROM windows w
  JOIN measure_cells c ON c.year BETWEEN w.end_year - 2 AND w.end_year
  WHERE c.geo_level = 'kommune'
),
pooled AS (
  SELECT end_year, indicator, geo_code,
    count(term) AS published,
    max(CASE WHEN slot = 0 THEN term END) AS t0,
    max(CASE WHEN slot = 1 THEN term END) AS t1,
    max(CASE WHEN slot = 2 THEN term END) AS t2,
    sum(den) AS den
  FROM yearly
  GROUP BY end_year, indicator, geo_code
),
ranked AS (
  SELECT end_year, indicator, geo_code,
    rank() OVER (PARTITION BY end_year, indicator ORDER BY ((t0 + t1) + t2) / CAST(den AS DOUBLE) DESC) AS r,
    rank() OVER (PARTITION BY end_year, indicator ORDER BY ((t0 + t1) + t2) / CAST(den AS DOUBLE) ASC) - 1 AS worse
  FROM pooled
  WHERE published = 3 AND den > 0
),
counted AS (
  SELECT w.end_year,
    sum(CASE WHEN r.indicator = 'fp9_participation' THEN 1 ELSE 0 END) AS n1,
    sum(CASE WHEN r.indicator = 'fp9_grade_mean' THEN 1 ELSE 0 END) AS n2,
    sum(CASE WHEN r.indicator = 'transition_15m' THEN 1 ELSE 0 END) AS n3
  FROM windows w LEFT JOIN ranked r ON r.end_year = w.end_year
  GROUP BY w.end_year
),
wide AS (
  SELECT w.end_year, m.municipality_code, m.municipality_name,
    max(CASE WHEN r.indicator = 'fp9_participation' THEN r.r END) AS r1,
    max(CASE WHEN r.indicator = 'fp9_grade_mean' THEN r.r END) AS r2,
    max(CASE WHEN r.indicator = 'transition_15m' THEN r.r END) AS r3,
    max(CASE WHEN r.indicator = 'fp9_participation' THEN r.worse END) AS w1,
    max(CASE WHEN r.indicator = 'fp9_grade_mean' THEN r.worse END) AS w2,
    max(CASE WHEN r.indicator = 'transition_15m' THEN r.worse END) AS w3
  FROM windows w
  CROSS JOIN code_municipalities m
  LEFT JOIN ranked r ON r.end_year = w.end_year AND r.geo_code = m.municipality_code
  GROUP BY w.end_year, m.municipality_code, m.municipality_name
),
shown AS (
  SELECT end_year FROM wide
  WHERE r1 IS NOT NULL AND r2 IS NOT NULL AND r3 IS NOT NULL
  GROUP BY end_year
)
SELECT
  CAST(x.end_year - 2 AS VARCHAR) || '/' || CAST(x.end_year - 1 AS VARCHAR) || '–'
    || CAST(x.end_year AS VARCHAR) || '/' || CAST(x.end_year + 1 AS VARCHAR) AS "window",
  CAST(x.end_year AS INT) AS year,
  CAST(x.municipality_code AS INT) AS municipality_code,
  x.municipality_name,
  CAST(x.r1 AS INT) AS rank_participation,
  CAST(x.r2 AS INT) AS rank_grade_mean,
  CAST(x.r3 AS INT) AS rank_transition,
  CAST(n.n1 AS INT) AS ranked_participation,
  CAST(n.n2 AS INT) AS ranked_grade_mean,
  CAST(n.n3 AS INT) AS ranked_transition,
  CASE WHEN x.r1 IS NOT NULL AND x.r2 IS NOT NULL AND x.r3 IS NOT NULL
       THEN CAST(x.r1 + x.r2 + x.r3 AS DOUBLE) / 3.0 END AS mean_rank,
  CASE WHEN x.r1 IS NOT NULL AND x.r2 IS NOT NULL AND x.r3 IS NOT NULL
       THEN x.w1 < 15 AND x.w2 < 15 AND x.w3 < 15 END AS bottom15_all
FROM wide x
JOIN shown s ON s.end_year = x.end_year
JOIN counted n ON n.end_year = x.end_year
ORDER BY year, municipality_code
