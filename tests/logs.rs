//! What a scheduler reads: `--log-format json` lines on stderr, every stage's start and
//! end with rows and seconds, a final one-line summary, and nothing person-level.

use std::process::Command;

use datafusion::arrow::array::AsArray;
use skolegang::cli::SAMPLE_INPUT;

#[test]
fn json_logs_time_every_stage_end_with_one_summary_line_and_name_no_person() {
    let out = tempfile::tempdir().expect("tempdir");
    let root = out.path().join("out");
    let done = Command::new(env!("CARGO_BIN_EXE_skolegang-under-test"))
        .args(["--log-format", "json", "run", "--no-pdf", "--output"])
        .arg(&root)
        .env_remove("RUST_LOG")
        .env_remove(skolegang::faults::VAR)
        .output()
        .expect("start skolegang-under-test");
    assert!(done.status.success());
    let stderr = String::from_utf8(done.stderr).expect("utf8");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let finished = |stage: &str| {
        lines
            .iter()
            .find(|l| l["fields"]["message"] == "stage finished" && l["fields"]["stage"] == stage)
            .unwrap_or_else(|| panic!("no `stage finished` line for {stage}"))
    };
    for stage in [
        "ingest_validate",
        "quarantine",
        "indicators",
        "disclose",
        "rankings",
        "publish",
        "audit",
        "reports",
        "pdf",
        "bundles",
    ] {
        assert!(
            lines.iter().any(|l| l["fields"]["message"] == "stage started"
                && l["fields"]["stage"] == stage),
            "{stage} started"
        );
        let f = finished(stage);
        assert_eq!(f["level"], "INFO");
        let secs: f64 = f["fields"]["seconds"]
            .as_str()
            .expect("seconds")
            .parse()
            .expect("a number");
        assert!(secs >= 0.0);
    }
    // Rows where a stage makes rows; equal to the manifest's counts.
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("current/manifest.json")).expect("manifest"),
    )
    .expect("json");
    let read: u64 = manifest["inputs"]
        .as_object()
        .expect("inputs")
        .values()
        .map(|x| x["rows_read"].as_u64().expect("rows_read"))
        .sum();
    assert_eq!(finished("ingest_validate")["fields"]["rows"], read);
    assert!(
        finished("disclose")["fields"]["rows"]
            .as_u64()
            .expect("rows")
            > 0
    );

    let last = lines.last().expect("a last line");
    assert_eq!(last["fields"]["summary"], true, "{last}");
    assert_eq!(last["fields"]["status"], "success");
    assert_eq!(last["fields"]["exit_code"], 0);
    assert_eq!(last["fields"]["run_id"], manifest["run_id"]);
    assert_eq!(last["fields"]["rows_read"], read);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["fields"]["summary"] == true)
            .count(),
        1
    );

    // No person_id of the input appears anywhere in the log.
    let persons =
        skolegang_tests::read_parquet(&std::path::Path::new(SAMPLE_INPUT).join("persons"));
    let ids = persons
        .column_by_name("person_id")
        .expect("person_id")
        .as_string::<i32>();
    let mut checked = 0;
    for id in ids.iter().flatten().filter(|id| id.len() >= 6) {
        assert!(!stderr.contains(id), "a person_id reached the log");
        checked += 1;
    }
    assert!(checked > 1000, "{checked} ids checked");
}

#[test]
fn a_failed_run_logs_the_error_and_then_a_failed_summary() {
    let out = tempfile::tempdir().expect("tempdir");
    let done = Command::new(env!("CARGO_BIN_EXE_skolegang-under-test"))
        .args([
            "--log-format",
            "json",
            "run",
            "--no-pdf",
            "--extract-date",
            "2026-10-01",
        ])
        .arg("--input")
        .arg(out.path().join("no-such-folder"))
        .arg("--output")
        .arg(out.path().join("out"))
        .env_remove("RUST_LOG")
        .output()
        .expect("start skolegang-under-test");
    assert_eq!(done.status.code(), Some(1));
    let stderr = String::from_utf8(done.stderr).expect("utf8");
    let json: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let error = json
        .iter()
        .position(|l| l["level"] == "ERROR")
        .expect("an error line");
    assert!(
        json[error]["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("persons")),
        "the error names the missing extract: {}",
        json[error]
    );
    let last = json.last().expect("last");
    assert!(error < json.len() - 1);
    assert_eq!(last["fields"]["status"], "failed");
    assert_eq!(last["fields"]["exit_code"], 1);
}
