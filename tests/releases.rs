//! Releases (methodology.md, "Disclosure control" → "Releases"): a period published once
//! is republished exactly as it was; the current data's drift from it is reported, never
//! published; only new periods are computed and protected.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use datafusion::arrow::array::{AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::util::display::array_value_to_string;

use skolegang::error::ExitCode;
use skolegang_tests::{read_indicators, read_parquet, run_on, walk, write_parquet};

/// Every published row of a run, as text, by (indicator, period).
fn rows(run_dir: &Path) -> BTreeMap<(String, String), Vec<String>> {
    let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (indicator, b) in read_indicators(run_dir) {
        let period = b
            .column_by_name("period")
            .expect("period")
            .as_string::<i32>()
            .clone();
        for i in 0..b.num_rows() {
            let row: Vec<String> = b
                .columns()
                .iter()
                .map(|c| array_value_to_string(c, i).expect("value"))
                .collect();
            out.entry((indicator.clone(), period.value(i).to_string()))
                .or_default()
                .push(row.join("|"));
        }
    }
    out
}

fn manifest(run_dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run_dir.join("manifest.json")).expect("manifest"))
        .expect("json")
}

fn copy_dir(from: &Path, to: &Path) {
    for f in walk(from) {
        let rel = f.strip_prefix(from).expect("inside");
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&f, &dest).expect("copy");
    }
}

/// Deletes the first `anbringelse` measure of `file` (a late correction in the register:
/// one placed child's placement is no longer there).
fn delete_one_placement(file: &Path) {
    let b = read_parquet(file);
    let kind = b.column_by_name("kind").expect("kind").as_string::<i32>();
    let first = (0..b.num_rows())
        .find(|i| kind.value(*i) == "anbringelse")
        .expect("a placement");
    let keep: BooleanArray = (0..b.num_rows()).map(|i| Some(i != first)).collect();
    let kept: RecordBatch = filter_record_batch(&b, &keep).expect("filter");
    let dir = file.parent().expect("dir");
    let name = file.file_name().and_then(|n| n.to_str()).expect("name");
    write_parquet(dir, name, &kept);
}

/// The run folder `current` points to.
fn current_run(out: &Path) -> std::path::PathBuf {
    out.join(std::fs::read_link(out.join("current")).expect("current"))
}

#[test]
fn released_periods_are_frozen_drift_is_reported_and_new_periods_are_protected() {
    let work = tempfile::tempdir().expect("tempdir");
    let input = work.path().join("input");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sample"),
        &input,
    );
    // An earlier extract date rejects the rows dated after it; allow them.
    let config = work.path().join("lenient.toml");
    std::fs::write(&config, "max_rejected_share = 0.5\n").expect("config");
    let config = config.to_str().expect("utf8");
    let out = work.path().join("out");

    // The first release: a year earlier.
    assert_eq!(
        run_on(
            &input,
            &out,
            &["--extract-date", "2025-11-01", "--config", config]
        ),
        ExitCode::Success
    );
    let first = current_run(&out);
    let released = rows(&first);
    let m = manifest(&first);
    assert!(m["release"]["frozen_from"].is_null(), "{}", m["release"]);
    assert_eq!(m["release"]["frozen_periods"], 0);

    // A late correction, and a year later.
    delete_one_placement(&input.join("measures/part-2008.parquet"));
    assert_eq!(
        run_on(
            &input,
            &out,
            &["--extract-date", "2026-11-01", "--config", config]
        ),
        ExitCode::Success,
        "the joint audit passes"
    );
    let second = current_run(&out);
    assert_ne!(first, second);
    let now = rows(&second);

    // Every period of the first release is republished row for row.
    for (key, rows) in &released {
        assert_eq!(now.get(key), Some(rows), "{key:?} changed");
    }
    // New periods are there.
    let new: BTreeSet<&(String, String)> =
        now.keys().filter(|k| !released.contains_key(*k)).collect();
    assert!(
        new.iter().any(|(_, p)| p == "2025/2026"),
        "no new school year: {new:?}"
    );

    // The drift is reported per indicator and period, with counts, and not published.
    let m = manifest(&second);
    let release = &m["release"];
    assert_eq!(
        release["frozen_from"].as_str(),
        first.file_name().and_then(|n| n.to_str())
    );
    assert_eq!(
        release["frozen_periods"].as_u64(),
        Some(released.len() as u64)
    );
    let drift = release["drift"].as_array().expect("drift");
    assert!(!drift.is_empty(), "the deleted placement moved nothing?");
    for d in drift {
        let key = (
            d["indicator"].as_str().expect("indicator").to_string(),
            d["period"].as_str().expect("period").to_string(),
        );
        assert!(
            released.contains_key(&key),
            "drift in an unreleased {key:?}"
        );
        assert!(d["cells"].as_u64().expect("cells") > 0);
    }
    let new_periods: BTreeSet<String> = release["new_periods"]
        .as_array()
        .expect("new periods")
        .iter()
        .map(|p| p.as_str().expect("period").to_string())
        .collect();
    for (_, p) in &new {
        assert!(new_periods.contains(p), "{p} not listed as new");
    }
    // What could not agree with the released data waits for a revision: not published.
    for p in release["postponed"].as_array().expect("postponed") {
        let (indicator, period) = p
            .as_str()
            .and_then(|s| s.split_once(' '))
            .expect("indicator period");
        assert!(
            !now.contains_key(&(indicator.to_string(), period.to_string())),
            "{p} published"
        );
    }

    // The next night on the same input: nothing new, the same rows.
    assert_eq!(
        run_on(
            &input,
            &out,
            &[
                "--extract-date",
                "2026-11-01",
                "--config",
                config,
                "--force"
            ]
        ),
        ExitCode::Success
    );
    let third = current_run(&out);
    assert_eq!(rows(&third), now);
    let m = manifest(&third);
    assert_eq!(
        m["release"]["new_periods"].as_array().map(Vec::len),
        Some(0)
    );

    // The private record keeps every cell as released, frozen ones included.
    let record = read_parquet(&second.join("disclosure/cells.parquet"));
    assert_eq!(
        record.num_rows(),
        now.values().map(Vec::len).sum::<usize>(),
        "one record row per published row"
    );
}
