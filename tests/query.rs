//! `skolegang query`: SQL over the current run, as a researcher runs it.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use skolegang::error::ExitCode;
use skolegang_tests::{PROJECT_KEY, project_key, read_cells, restricted_run};

/// One restricted run on the sample, shared by the tests here.
fn sample_run() -> &'static Path {
    static RUN: OnceLock<tempfile::TempDir> = OnceLock::new();
    RUN.get_or_init(|| {
        let out = tempfile::tempdir().expect("tempdir");
        let key = project_key(out.path(), "a.key", PROJECT_KEY);
        let root = out.path().join("out");
        assert_eq!(restricted_run(&root, &key), ExitCode::Success);
        out
    })
    .path()
}

fn query(args: &[&str]) -> Output {
    let root = sample_run().join("out");
    Command::new(env!("CARGO_BIN_EXE_skolegang-under-test"))
        .args(["--quiet", "query", "--output"])
        .arg(&root)
        .args(args)
        .output()
        .expect("start skolegang-under-test")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).expect("utf8")
}

#[test]
fn csv_is_a_header_and_rows_and_agrees_with_the_published_files() {
    let cells = read_cells(&sample_run().join("out/current"));
    let out = stdout(&query(&[
        "--format",
        "csv",
        "SELECT count(*) AS n FROM indicators",
    ]));
    assert_eq!(out, format!("n\n{}\n", cells.len()));

    let out = stdout(&query(&[
        "--format",
        "csv",
        "SELECT indicator, period, numerator, denominator FROM indicators \
         WHERE geo_level = 'land' AND \"group\" = 'alle' AND placement = 'alle' \
         ORDER BY indicator, period",
    ]));
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("indicator,period,numerator,denominator"));
    let rows: Vec<&str> = lines.collect();
    let mut expected: Vec<String> = cells
        .iter()
        .filter(|c| c.geo_level == "land" && c.group == "alle" && c.placement == "alle")
        .map(|c| {
            format!(
                "{},{},{},{}",
                c.indicator,
                c.period,
                c.numerator.map(|n| n.to_string()).unwrap_or_default(),
                c.denominator.map(|n| n.to_string()).unwrap_or_default()
            )
        })
        .collect();
    expected.sort();
    assert!(expected.len() > 50);
    assert_eq!(rows, expected);
}

#[test]
fn formats_table_json_and_parquet() {
    let table = stdout(&query(&["SELECT count(*) AS n FROM rankings"]));
    assert!(table.contains("| n "), "{table}");
    let json = stdout(&query(&[
        "--format",
        "json",
        "SELECT DISTINCT geo_code, geo_name FROM indicators WHERE geo_level = 'kommune' ORDER BY geo_code LIMIT 2",
    ]));
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["geo_code"], 101);
    assert_eq!(rows[0]["geo_name"], "København");

    let file = sample_run().join("result.parquet");
    let out = stdout(&query(&[
        "--format",
        "parquet",
        "--to",
        file.to_str().expect("utf8"),
        "SELECT * FROM indicators WHERE geo_level = 'land'",
    ]));
    assert!(out.is_empty(), "nothing on stdout with --to");
    let b = skolegang_tests::read_parquet(&file);
    let land = read_cells(&sample_run().join("out/current"))
        .iter()
        .filter(|c| c.geo_level == "land")
        .count();
    assert_eq!(b.num_rows(), land);
    assert!(!query(&["--format", "parquet", "SELECT 1"]).status.success());
}

#[test]
fn errors_show_the_sql_error_and_the_tables_and_restricted_tables_need_the_flag() {
    let bad = query(&["SELECT no_such_column FROM indicators"]);
    assert_eq!(bad.status.code(), Some(ExitCode::Usage as i32));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("no_such_column"), "{err}");
    assert!(
        err.contains("indicators(") && err.contains("rankings("),
        "{err}"
    );
    assert!(err.contains("suppressed Boolean"), "{err}");

    let hidden = query(&["SELECT count(*) FROM cohort_fp9"]);
    assert_eq!(hidden.status.code(), Some(ExitCode::Usage as i32));
    let shown = stdout(&query(&[
        "--restricted",
        "--format",
        "csv",
        "SELECT count(DISTINCT length(person_id)) AS lengths FROM cohort_fp9",
    ]));
    assert_eq!(shown, "lengths\n1\n");
}
