//! Releases (methodology.md, "Disclosure control" → "Releases"): a period published once
//! is republished exactly as it was; the current data's drift from it is reported, never
//! published; only new periods are computed and protected.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use datafusion::arrow::array::{AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::util::display::array_value_to_string;

use skolegang::error::ExitCode;
use skolegang_tests::{cli, read_indicators, read_parquet, run_on, walk, write_parquet};

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

/// Deletes one row of a Parquet input file, the one `pick` names.
fn delete_row(file: &Path, pick: impl Fn(&RecordBatch) -> usize) {
    let b = read_parquet(file);
    let row = pick(&b);
    let keep: BooleanArray = (0..b.num_rows()).map(|i| Some(i != row)).collect();
    let kept: RecordBatch = filter_record_batch(&b, &keep).expect("filter");
    let dir = file.parent().expect("dir");
    let name = file.file_name().and_then(|n| n.to_str()).expect("name");
    write_parquet(dir, name, &kept);
}

/// Deletes the first `anbringelse` measure of `file` (a late correction in the register:
/// one placed child's placement is no longer there).
fn delete_one_placement(file: &Path) {
    delete_row(file, |b| {
        let kind = b.column_by_name("kind").expect("kind").as_string::<i32>();
        (0..b.num_rows())
            .find(|i| kind.value(*i) == "anbringelse")
            .expect("a placement")
    });
}

/// A work folder with a copy of the committed sample as input, and a configuration that
/// allows the rows an earlier extract date rejects (dated after it).
fn scenario() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let work = tempfile::tempdir().expect("tempdir");
    let input = work.path().join("input");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sample"),
        &input,
    );
    let config = work.path().join("lenient.toml");
    std::fs::write(&config, "max_rejected_share = 0.5\n").expect("config");
    let config = config.to_str().expect("utf8").to_string();
    (work, input, config)
}

/// The run folder `current` points to.
fn current_run(out: &Path) -> std::path::PathBuf {
    out.join(std::fs::read_link(out.join("current")).expect("current"))
}

#[test]
fn released_periods_are_frozen_drift_is_reported_and_new_periods_are_protected() {
    let (work, input, config) = scenario();
    let config = config.as_str();
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

    // A revision of the drifted periods, on purpose: republished from the current data,
    // protected jointly with the release it replaces. No count published in both
    // releases changed by 1..k−1 (k = 5): such a change would count persons.
    let drifted: BTreeSet<String> = drift
        .iter()
        .map(|d| d["period"].as_str().expect("period").to_string())
        .filter(|p| p.len() == 9 || p.len() == 4)
        .collect();
    let mut args = vec!["--extract-date", "2026-11-01", "--config", config];
    for p in &drifted {
        args.extend(["--revise", p.as_str()]);
    }
    assert_eq!(
        run_on(&input, &out, &args),
        ExitCode::Success,
        "the joint audit passes"
    );
    let revised_run = current_run(&out);
    let revised_rows = rows(&revised_run);
    let m = manifest(&revised_run);
    let revised: BTreeSet<String> = m["release"]["revised"]
        .as_array()
        .expect("revised")
        .iter()
        .map(|r| r["period"].as_str().expect("period").to_string())
        .collect();
    for p in &drifted {
        assert!(revised.contains(p), "{p} not revised: {}", m["release"]);
    }
    let counts = |rows: &[String]| -> BTreeMap<String, (String, String)> {
        rows.iter()
            .map(|r| {
                let f: Vec<&str> = r.split('|').collect();
                // period|year|geo_level|geo_code|geo_name|group|placement|numerator|denominator|...
                (f[..7].join("|"), (f[7].to_string(), f[8].to_string()))
            })
            .collect()
    };
    for (key, before) in &now {
        let after = revised_rows.get(key).expect("still published");
        if !revised.contains(&key.1) {
            assert_eq!(after, before, "{key:?} is not revised and changed");
            continue;
        }
        let (before, after) = (counts(before), counts(after));
        for (cell, (num, den)) in &before {
            let Some((num2, den2)) = after.get(cell) else {
                continue;
            };
            for (a, b) in [(num, num2), (den, den2)] {
                if let (Ok(a), Ok(b)) = (a.parse::<i64>(), b.parse::<i64>()) {
                    assert!(
                        !(1..5).contains(&(a - b).abs()),
                        "{key:?} {cell}: {a} → {b} published in both releases"
                    );
                }
            }
        }
    }

    // The private record keeps every cell as released, frozen ones included.
    let record = read_parquet(&second.join("disclosure/cells.parquet"));
    assert_eq!(
        record.num_rows(),
        now.values().map(Vec::len).sum::<usize>(),
        "one record row per published row"
    );
}

/// Deletes the first row of a persons file (a person withdrawn from the register: every
/// count that held them moves by one).
fn delete_one_person(file: &Path) {
    delete_row(file, |_| 0);
}

fn run_id(run_dir: &Path) -> String {
    run_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("run id")
        .to_string()
}

#[test]
fn audit_against_catches_a_naive_revision_and_passes_a_protected_one() {
    let (work, input, config) = scenario();
    let args = ["--extract-date", "2026-11-01", "--config", config.as_str()];
    let out = work.path().join("out");
    assert_eq!(run_on(&input, &out, &args), ExitCode::Success);
    let first = run_id(&current_run(&out));

    delete_one_person(&input.join("persons/part-2008.parquet"));
    // Frozen: the next night republishes the release and reports the drift.
    assert_eq!(run_on(&input, &out, &args), ExitCode::Success);
    let frozen = current_run(&out);
    let audit = |run: &str| {
        cli(&[
            "audit",
            out.to_str().expect("utf8"),
            "--run",
            run,
            "--against",
            &first,
        ])
    };
    assert_eq!(audit(&run_id(&frozen)), ExitCode::Success);
    let drifted: BTreeSet<String> = manifest(&frozen)["release"]["drift"]
        .as_array()
        .expect("drift")
        .iter()
        .map(|d| d["period"].as_str().expect("period").to_string())
        .filter(|p| !p.contains('\u{2013}'))
        .collect();
    assert!(!drifted.is_empty());

    // A naive revision: the same periods computed afresh and published as they come
    // (a run into an empty output, its folder put beside the first release). Read
    // together with the first release, published counts that moved by one person give
    // that person away.
    let naive_out = work.path().join("naive");
    assert_eq!(run_on(&input, &naive_out, &args), ExitCode::Success);
    let naive = current_run(&naive_out);
    copy_dir(&naive, &out.join("runs").join(run_id(&naive)));
    assert_eq!(audit(&run_id(&naive)), ExitCode::InputRejected);

    // The revision `run --revise` makes passes the same joint audit.
    let mut revise: Vec<&str> = args.to_vec();
    for p in &drifted {
        revise.extend(["--revise", p.as_str()]);
    }
    assert_eq!(run_on(&input, &out, &revise), ExitCode::Success);
    let revised = current_run(&out);
    assert_eq!(audit(&run_id(&revised)), ExitCode::Success);
    // The reports say which figures were revised.
    let report =
        std::fs::read_to_string(revised.join("published/reports/101-koebenhavn/rapport.html"))
            .expect("report");
    for p in &drifted {
        assert!(report.contains(p.as_str()), "{p} not named in the report");
    }
    assert!(report.contains("»revideret«"), "no word of the revision");
}

#[test]
fn a_changed_disclosure_configuration_revises_every_period_jointly() {
    let (work, input, _) = scenario();
    let out = work.path().join("out");
    let args = ["--extract-date", "2026-11-01"];
    assert_eq!(run_on(&input, &out, &args), ExitCode::Success);
    let first = current_run(&out);
    let released: BTreeSet<String> = rows(&first).into_keys().map(|(_, p)| p).collect();
    let k6 = work.path().join("k6.toml");
    std::fs::write(&k6, "[disclosure]\nk = 6\n").expect("config");
    let mut with_k6 = args.to_vec();
    with_k6.extend(["--config", k6.to_str().expect("utf8")]);
    assert_eq!(run_on(&input, &out, &with_k6), ExitCode::Success);
    let second = current_run(&out);
    let release = manifest(&second)["release"].clone();
    assert!(
        release["revised_because"]
            .as_str()
            .is_some_and(|w| w.contains("disclosure")),
        "{release}"
    );
    assert_eq!(release["frozen_periods"], 0);
    let revised: BTreeSet<String> = release["revised"]
        .as_array()
        .expect("revised")
        .iter()
        .map(|r| r["period"].as_str().expect("period").to_string())
        .collect();
    assert_eq!(revised, released, "every released period is revised");
    assert_eq!(
        cli(&[
            "audit",
            out.to_str().expect("utf8"),
            "--against",
            &run_id(&first),
        ]),
        ExitCode::Success
    );
}

#[test]
fn a_revision_can_be_configured_and_an_unknown_period_is_refused() {
    let (work, input, _) = scenario();
    let out = work.path().join("out");
    let args = ["--extract-date", "2026-11-01"];
    assert_eq!(run_on(&input, &out, &args), ExitCode::Success);
    let mut unknown = args.to_vec();
    unknown.extend(["--revise", "1999/2000"]);
    assert_eq!(run_on(&input, &out, &unknown), ExitCode::Usage);

    let cfg = work.path().join("revise.toml");
    std::fs::write(&cfg, "revise = [\"2020/2021\"]\n").expect("config");
    let mut configured = args.to_vec();
    configured.extend(["--config", cfg.to_str().expect("utf8")]);
    assert_eq!(run_on(&input, &out, &configured), ExitCode::Success);
    let release = manifest(&current_run(&out))["release"].clone();
    let revised: Vec<&str> = release["revised"]
        .as_array()
        .expect("revised")
        .iter()
        .filter_map(|r| r["period"].as_str())
        .collect();
    // The school year and the window that holds it; nothing changed in the data.
    assert_eq!(revised, ["2018/2019–2020/2021", "2020/2021"], "{release}");
    assert!(
        release["revised"]
            .as_array()
            .expect("revised")
            .iter()
            .all(|r| r["cells_changed"] == 0)
    );
}
