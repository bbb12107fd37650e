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

/// Every file below `dir` (links not followed) with its bytes' sha256 and its mode.
fn tree(dir: &Path) -> Vec<(String, String, u32)> {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let meta = std::fs::symlink_metadata(e.path()).expect("metadata");
            let name = e.path().display().to_string();
            if meta.is_dir() {
                stack.push(e.path());
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(e.path()).expect("link");
                out.push((name, target.display().to_string(), 0));
            } else {
                let bytes = std::fs::read(e.path()).expect("read");
                let sum = hex::encode(Sha256::digest(&bytes));
                out.push((name, sum, meta.permissions().mode()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn writes_are_refused_and_nothing_changes_anywhere() {
    let root = sample_run().join("out");
    let before = tree(&root);
    let scratch = tempfile::tempdir().expect("tempdir");
    let copy_to = scratch.path().join("copied.csv");
    let copy_to = copy_to.to_str().expect("utf8");
    let statements = [
        "INSERT INTO indicators SELECT * FROM indicators LIMIT 1".to_string(),
        format!("COPY (SELECT 1 AS x) TO '{copy_to}'"),
        format!("EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '{copy_to}'"),
        format!("COPY indicators TO '{copy_to}'"),
        "CREATE TABLE t AS SELECT 1 AS x".to_string(),
        "CREATE VIEW v AS SELECT 1 AS x".to_string(),
        format!("CREATE EXTERNAL TABLE e STORED AS CSV LOCATION '{copy_to}'"),
        "SET datafusion.execution.batch_size = 1".to_string(),
        "DROP TABLE indicators".to_string(),
    ];
    for sql in &statements {
        let o = query(&["--format", "csv", sql]);
        assert_eq!(o.status.code(), Some(ExitCode::Usage as i32), "{sql}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("skolegang query is read-only"), "{sql}: {err}");
        assert!(o.stdout.is_empty(), "{sql}");
    }
    assert!(
        std::fs::read_dir(scratch.path())
            .expect("read_dir")
            .next()
            .is_none(),
        "COPY wrote a file"
    );
    assert_eq!(before, tree(&root), "the output root changed");
    // Reading still works after the refusals (nothing was dropped).
    let n = stdout(&query(&[
        "--format",
        "csv",
        "SELECT count(*) AS n FROM rankings",
    ]));
    assert!(n.starts_with("n\n"), "{n}");
}

#[test]
fn a_query_is_stopped_by_its_time_and_spill_limits() {
    let started = std::time::Instant::now();
    let o = query(&[
        "--timeout",
        "1",
        "--format",
        "csv",
        "SELECT sum(a.value * b.value) AS s FROM range(0, 1000000) a, range(0, 1000000) b",
    ]);
    assert_eq!(o.status.code(), Some(ExitCode::Usage as i32));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("more than 1 s") && err.contains("--timeout"),
        "{err}"
    );
    // Stopped at the limit, not when the cross join ends (hours).
    assert!(started.elapsed() < std::time::Duration::from_secs(60));

    let o = query(&[
        "--memory-limit",
        "64M",
        "--spill-limit",
        "1M",
        "--format",
        "csv",
        "SELECT value FROM range(0, 20000000) ORDER BY value DESC",
    ]);
    assert_eq!(o.status.code(), Some(ExitCode::Usage as i32));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--spill-limit"), "{err}");

    // A table is laid out whole, so it has a row limit; CSV streams.
    let o = query(&["SELECT value FROM range(0, 20000)"]);
    assert_eq!(o.status.code(), Some(ExitCode::Usage as i32));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--format csv"));
    let csv = stdout(&query(&[
        "--format",
        "csv",
        "SELECT value FROM range(0, 20000)",
    ]));
    assert_eq!(csv.lines().count(), 20_001);
}

#[test]
fn to_writes_a_new_private_file_and_never_through_a_link() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("result.csv");
    let path = file.to_str().expect("utf8");
    assert!(stdout(&query(&["--format", "csv", "--to", path, "SELECT 1 AS x"])).is_empty());
    assert_eq!(std::fs::read_to_string(&file).expect("result"), "x\n1\n");
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a result may be person-level (--restricted)");

    // An existing file is not overwritten.
    let again = query(&["--format", "csv", "--to", path, "SELECT 2 AS x"]);
    assert_eq!(again.status.code(), Some(ExitCode::Usage as i32));
    assert_eq!(std::fs::read_to_string(&file).expect("result"), "x\n1\n");

    // A link is not followed: its target is neither created nor written.
    let target = dir.path().join("target.csv");
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let through = query(&[
        "--format",
        "csv",
        "--to",
        link.to_str().expect("utf8"),
        "SELECT 3 AS x",
    ]);
    assert_eq!(through.status.code(), Some(ExitCode::Usage as i32));
    assert!(!target.exists());

    // A failed query leaves no half-written file.
    let failed = dir.path().join("failed.csv");
    let o = query(&[
        "--format",
        "csv",
        "--to",
        failed.to_str().expect("utf8"),
        "SELECT no_such_column FROM indicators",
    ]);
    assert_eq!(o.status.code(), Some(ExitCode::Usage as i32));
    assert!(!failed.exists());
}
