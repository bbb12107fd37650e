"""The ten indicators of methodology.md in DuckDB, written the way an analyst would:
filter to the populations, aggregate once at the finest level (kommune x group x
placement), roll up to regions and Danmark. No validation and no disclosure control:
the bench input is clean, and this is the yardstick for the indicator computation.

Usage: python bench/duckdb_indicators.py INPUT EXTRACT_DATE CODES_DIR [--threads N]
                                         [--cells FILE]
Prints one JSON line: seconds, rows, and Danmark's `alle` value of every indicator and
period, so that the bench can check the numbers agree with Skolegang's. `--cells FILE`
also writes every cell (indicator, period, geo_code, group, placement, numerator,
denominator, value) as Parquet: the differential test (tests/differential.rs) compares them
with Skolegang's.
"""

import json
import sys
import time

import duckdb

SQL = r"""
CREATE TEMP TABLE kommune AS
  SELECT municipality_code, region_code FROM read_csv_auto('{codes}/municipalities.csv');
CREATE TEMP TABLE placement AS
  SELECT placement_code, placement_type, placement_group
  FROM read_csv_auto('{codes}/placement_codes.csv');
CREATE TEMP TABLE programme AS
  SELECT programme FROM read_csv_auto('{codes}/youth_education_programmes.csv')
  WHERE counts_as_youth_education;

-- The 9th-grade cohorts whose school year has ended; window = the school year.
CREATE TEMP TABLE pupils AS
  SELECT person_id, school_year AS y, institution_municipality AS school_kommune,
    school_type IN ('folkeskole', 'fri_grundskole', 'efterskole') AND class_type = 'almen' AS almen,
    make_date(school_year, 8, 1) AS w0, make_date(school_year + 1, 7, 31) AS w1
  FROM read_parquet('{input}/enrolment/**/*.parquet', hive_partitioning = true)
  WHERE grade = 9 AND make_date(school_year + 1, 7, 31) <= DATE '{date}';

-- The age cohorts (17, 18, 25 on 1 October T), resident on that day.
CREATE TEMP TABLE ages AS
  WITH c AS (
    SELECT person_id, birth_date, a.age,
      year(birth_date) + a.age + CASE WHEN strftime(birth_date, '%m%d') > '1001' THEN 1 ELSE 0 END AS t,
      make_date(year(birth_date) + 18, month(birth_date), 1) + CAST(day(birth_date) - 2 AS INTEGER) AS before18
    FROM read_parquet('{input}/persons/**/*.parquet', hive_partitioning = true),
         (VALUES (17), (18), (25)) a(age)
  )
  SELECT c.person_id, c.age, c.t AS y, make_date(c.t, 10, 1) AS ref, r.municipality_code AS home,
    c.birth_date AS w0, least(make_date(c.t, 10, 1), c.before18) AS w1
  FROM c JOIN read_parquet('{input}/residence/**/*.parquet', hive_partitioning = true) r
    ON r.person_id = c.person_id
   AND r.valid_from <= make_date(c.t, 10, 1)
   AND (r.valid_to IS NULL OR r.valid_to >= make_date(c.t, 10, 1))
  WHERE make_date(c.t, 10, 1) <= DATE '{date}';

CREATE TEMP TABLE measures AS
  SELECT * FROM read_parquet('{input}/measures/**/*.parquet', hive_partitioning = true);

-- The deciding measure per person and window: anbringelse first, then the latest start.
CREATE TEMP TABLE deciding AS
  WITH w AS (
    SELECT person_id, 'fp9' AS pop, y, 0 AS age, w0, w1 FROM pupils
    UNION ALL SELECT person_id, 'age', y, age, w0, w1 FROM ages
  )
  SELECT w.person_id, w.pop, w.y, w.age,
    arg_min(struct_pack(kind := m.kind, code := m.placement_code, kommune := m.acting_municipality),
            (CASE m.kind WHEN 'anbringelse' THEN 0 ELSE 1 END, -epoch(m.start_date),
             CASE WHEN m.end_date IS NULL THEN 0 ELSE 1 END,
             -coalesce(epoch(m.end_date), 0), m.measure_id)) AS d
  FROM w JOIN measures m ON m.person_id = w.person_id
   AND m.start_date <= w.w1 AND (m.end_date IS NULL OR m.end_date >= w.w0)
  GROUP BY ALL;

CREATE TEMP TABLE exams AS
  SELECT person_id, school_year, grade_level, exam_code, grade,
    CASE WHEN exam_code IN (110, 140, 150, 120) THEN 'dan'
         WHEN exam_code IN (220, 210) THEN 'mat' ELSE 'other' END AS subject
  FROM read_parquet('{input}/exams/**/*.parquet', hive_partitioning = true)
  WHERE exam_code IN (110, 140, 150, 120, 220, 210, 410, 570) AND grade IS NOT NULL;

CREATE TEMP TABLE youth AS
  SELECT y.person_id, y.start_date, y.end_date, y.outcome
  FROM read_parquet('{input}/youth_education/**/*.parquet', hive_partitioning = true) y
  SEMI JOIN programme p ON p.programme = y.programme;

CREATE TEMP TABLE residence AS
  SELECT * FROM read_parquet('{input}/residence/**/*.parquet', hive_partitioning = true);

-- One row per pupil with the flags.
CREATE TEMP TABLE fp9 AS
  WITH s AS (
    SELECT p.person_id, p.y,
      count(*) FILTER (subject = 'dan') AS nd, count(*) FILTER (subject = 'mat') AS nm,
      count(*) AS nb, avg(grade) FILTER (subject = 'dan') AS md,
      avg(grade) FILTER (subject = 'mat') AS mm, avg(grade) AS mb
    FROM pupils p JOIN exams x ON x.person_id = p.person_id AND x.school_year = p.y
     AND x.grade_level = 9
    GROUP BY ALL
  ), t AS (
    SELECT DISTINCT p.person_id, p.y FROM pupils p JOIN youth u ON u.person_id = p.person_id
    WHERE (u.start_date <= make_date(p.y + 2, 10, 1)
           AND (u.end_date IS NULL OR u.end_date >= make_date(p.y + 2, 10, 1)))
       OR (u.outcome = 'fuldfoert' AND u.end_date <= make_date(p.y + 2, 10, 1))
  ), r AS (
    SELECT p.person_id, p.y, any_value(r.municipality_code) AS home
    FROM pupils p JOIN residence r ON r.person_id = p.person_id
     AND r.valid_from <= make_date(p.y, 9, 5)
     AND (r.valid_to IS NULL OR r.valid_to >= make_date(p.y, 9, 5))
    GROUP BY ALL
  )
  SELECT p.y, d.d.kind AS kind, d.d.code AS code,
    coalesce(d.d.kommune, r.home, p.school_kommune) AS kommune,
    coalesce(s.nd, 0) = 4 AND coalesce(s.nm, 0) = 2 AS took6,
    coalesce(s.nd, 0) = 4 AND coalesce(s.nm, 0) = 2 AND s.md >= 2 AND s.mm >= 2 AS min2,
    coalesce(s.nb, 0) = 8 AND s.mb >= 2 AS passed,
    s.mb AS mean,
    CASE WHEN make_date(p.y + 2, 10, 1) <= DATE '{date}' THEN t.person_id IS NOT NULL END AS trans,
    p.almen
  FROM pupils p
  LEFT JOIN deciding d ON d.person_id = p.person_id AND d.pop = 'fp9' AND d.y = p.y
  LEFT JOIN s ON s.person_id = p.person_id AND s.y = p.y
  LEFT JOIN t ON t.person_id = p.person_id AND t.y = p.y
  LEFT JOIN r ON r.person_id = p.person_id AND r.y = p.y;

CREATE TEMP TABLE agec AS
  WITH u AS (
    SELECT a.person_id, a.age, a.y,
      bool_or(u.outcome = 'fuldfoert' AND u.end_date <= a.ref) AS completed,
      bool_or(u.start_date <= a.ref AND (u.end_date IS NULL OR u.end_date >= a.ref)) AS enrolled
    FROM ages a JOIN youth u ON u.person_id = a.person_id GROUP BY ALL
  ), x AS (
    SELECT DISTINCT a.person_id, a.age, a.y FROM ages a JOIN exams x ON x.person_id = a.person_id
    WHERE x.subject IN ('dan', 'mat') AND make_date(x.school_year + 1, 10, 1) <= a.ref
  )
  SELECT a.y, a.age, d.d.kind AS kind, d.d.code AS code, coalesce(d.d.kommune, a.home) AS kommune,
    coalesce(u.enrolled OR u.completed, false) AS edu, coalesce(u.completed, false) AS done,
    x.person_id IS NULL AS no_fp9
  FROM ages a
  LEFT JOIN deciding d ON d.person_id = a.person_id AND d.pop = 'age' AND d.y = a.y AND d.age = a.age
  LEFT JOIN u ON u.person_id = a.person_id AND u.age = a.age AND u.y = a.y
  LEFT JOIN x ON x.person_id = a.person_id AND x.age = a.age AND x.y = a.y;

-- The finest level: indicator x period x kommune x group x placement code.
CREATE TEMP TABLE finest AS
  WITH f AS (
    SELECT y || '/' || (y + 1) AS period, kind, code, kommune, i.*
    FROM fp9, LATERAL (VALUES
      ('fp9_participation', took6::INT, 1, NULL::DOUBLE),
      ('fp9_min2_dan_mat', min2::INT, 1, NULL),
      ('fp9_min2_dan_mat_takers', CASE WHEN took6 THEN min2::INT END, took6::INT, NULL),
      ('fp9_passed', passed::INT, 1, NULL),
      ('fp9_grade_mean', NULL, (mean IS NOT NULL)::INT, mean),
      ('transition_15m', trans::INT, (trans IS NOT NULL)::INT, NULL),
      ('school_offer_almen', almen::INT, 1, NULL)) i(indicator, num, den, grade)
    UNION ALL
    SELECT y::VARCHAR, kind, code, kommune, i.*
    FROM agec, LATERAL (VALUES
      ('youth_edu_18', CASE WHEN age = 18 THEN edu::INT END, (age = 18)::INT, NULL::DOUBLE),
      ('youth_edu_completed_25', CASE WHEN age = 25 THEN done::INT END, (age = 25)::INT, NULL),
      ('no_fp9_by_17', CASE WHEN age = 17 THEN no_fp9::INT END, (age = 17)::INT, NULL)) i(indicator, num, den, grade)
  )
  SELECT indicator, period, kommune,
    CASE kind WHEN 'anbringelse' THEN 'anbragt' WHEN 'forebyggende' THEN 'forebyggende' ELSE 'oevrige' END AS grp,
    code, sum(num) AS num, sum(den) AS den, sum(grade) AS gsum, sum(grade * grade) AS gsq
  FROM f WHERE den = 1 GROUP BY ALL;

-- Roll up: geography (kommune, region, land) x group (+ udsat, alle) x placement.
CREATE TEMP TABLE cells AS
  WITH g AS (
    SELECT f.*, k.region_code,
      unnest(CASE grp WHEN 'oevrige' THEN ['oevrige', 'alle']
                      ELSE [grp, 'udsat', 'alle'] END) AS g
    FROM finest f JOIN kommune k ON k.municipality_code = f.kommune
  ), p AS (
    SELECT g.*, unnest(CASE WHEN g.g = 'anbragt'
        THEN ['alle', coalesce(pl.placement_group, 'uoplyst'), coalesce(pl.placement_type, 'uoplyst')]
        ELSE ['alle'] END) AS placement
    FROM g LEFT JOIN placement pl ON pl.placement_code = g.code
  ), d AS (
    -- `uoplyst` is both a group and a type: one row.
    SELECT DISTINCT ON (indicator, period, kommune, grp, code, g, placement) * FROM p
  )
  SELECT indicator, period,
    CASE WHEN GROUPING(region_code) = 1 THEN 'land'
         WHEN GROUPING(kommune) = 1 THEN 'region' ELSE 'kommune' END AS geo_level,
    coalesce(kommune, region_code, 0) AS geo_code, g AS "group", placement,
    sum(num) AS numerator, sum(den) AS denominator,
    CASE WHEN indicator = 'fp9_grade_mean' THEN sum(gsum) / sum(den) ELSE sum(num) / sum(den) END AS value
  FROM d
  GROUP BY GROUPING SETS ((indicator, period, g, placement),
                          (indicator, period, g, placement, region_code),
                          (indicator, period, g, placement, region_code, kommune));
"""


def main() -> None:
    args = sys.argv[1:]
    threads = None
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i : i + 2]
    cells_file = None
    if "--cells" in args:
        i = args.index("--cells")
        cells_file = args[i + 1]
        del args[i : i + 2]
    input_dir, date, codes = args
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {threads}")
    start = time.perf_counter()
    con.execute(SQL.format(input=input_dir, date=date, codes=codes))
    rows = con.execute("SELECT count(*) FROM cells").fetchone()[0]
    seconds = time.perf_counter() - start
    land = con.execute(
        "SELECT indicator, period, value FROM cells "
        "WHERE geo_level = 'land' AND \"group\" = 'alle' AND placement = 'alle' "
        "ORDER BY indicator, period"
    ).fetchall()
    if cells_file:
        con.execute(
            "COPY (SELECT indicator, period, geo_code::INTEGER AS geo_code, \"group\", "
            "placement, numerator::BIGINT AS numerator, denominator::BIGINT AS denominator, "
            "value::DOUBLE AS value "
            f"FROM cells ORDER BY ALL) TO '{cells_file}' (FORMAT parquet)"
        )
    print(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "cells": rows,
                "land_alle": {f"{i} {p}": v for i, p, v in land},
            }
        )
    )


if __name__ == "__main__":
    main()
