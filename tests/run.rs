//! `skolegang run` and `skolegang validate` through the CLI: outputs, manifest, exit codes.

use std::path::Path;

use self::sha2_free::sha256_hex;
use skolegang::error::ExitCode;
use skolegang::fixtures;
use skolegang_tests::{PROJECT_KEY, cli, fixture_options, quarantine, restricted_run, run_on};

mod sha2_free {
    /// sha256 via the manifest's own algorithm, recomputed independently with the
    /// `sha256sum` tool when present; otherwise skipped by the caller.
    pub fn sha256_hex(path: &std::path::Path) -> Option<String> {
        let out = std::process::Command::new("sha256sum")
            .arg(path)
            .output()
            .ok()?;
        String::from_utf8(out.stdout)
            .ok()?
            .split_whitespace()
            .next()
            .map(str::to_string)
    }
}

fn manifest(run_dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run_dir.join("manifest.json")).expect("manifest"))
        .expect("json")
}

#[test]
fn run_on_the_sample_writes_a_complete_run_and_switches_current() {
    let out = tempfile::tempdir().expect("tempdir");
    let root = out.path().join("out");
    assert_eq!(
        cli(&["run", "--no-pdf", "--output", root.to_str().expect("utf8")]),
        ExitCode::Success
    );
    let current = std::fs::read_link(root.join("current")).expect("current is a symlink");
    assert!(
        current.starts_with("runs"),
        "relative link into runs/: {}",
        current.display()
    );
    let run_dir = root.join("current");
    let m = manifest(&run_dir);
    assert_eq!(m["status"], "success");
    assert!(
        m["peak_rss_bytes"].as_u64().is_some_and(|b| b > 10 << 20),
        "peak memory is recorded"
    );
    assert!(m["data_version"].as_str().is_some_and(|v| v.len() == 16));
    assert_eq!(m["extract_date"], fixtures::DEFAULT_EXTRACT_DATE);
    assert_eq!(m["config"]["disclosure"]["k"], 5);
    assert_eq!(
        current.file_name().and_then(|n| n.to_str()),
        m["run_id"].as_str()
    );
    // Accounting per extract, and the files' rows add up.
    for (name, x) in m["inputs"].as_object().expect("inputs") {
        let n = |k: &str| x[k].as_u64().unwrap_or_else(|| panic!("{name}.{k}"));
        assert_eq!(
            n("rows_read"),
            n("rows_accepted") + n("rows_rejected"),
            "{name}"
        );
        let by_reason: u64 = x["rejected_by_reason"]
            .as_object()
            .expect("reasons")
            .values()
            .filter_map(|v| v.as_u64())
            .sum();
        assert_eq!(by_reason, n("rows_rejected"), "{name}");
        let files = x["files"].as_array().expect("files");
        assert!(!files.is_empty());
        assert_eq!(
            files.iter().filter_map(|f| f["rows"].as_u64()).sum::<u64>(),
            n("rows_read"),
            "{name}"
        );
        assert!(
            files
                .iter()
                .all(|f| f["sha256"].as_str().is_some_and(|s| s.len() == 64))
        );
    }
    assert_eq!(m["inputs"].as_object().expect("inputs").len(), 6);
    // Every output is listed with the checksum of what is on disk.
    let outputs = m["outputs"].as_array().expect("outputs");
    let count = |prefix: &str| {
        outputs
            .iter()
            .filter(|o| o["path"].as_str().is_some_and(|p| p.starts_with(prefix)))
            .count()
    };
    assert_eq!(count("quarantine/"), 6, "one quarantine file per extract");
    assert_eq!(
        count("published/indicators/indicator="),
        10,
        "one file per indicator"
    );
    assert_eq!(count("published/rankings/"), 1, "the ranking");
    assert_eq!(
        count("disclosure/"),
        1,
        "the statistician's record of why cells are withheld"
    );
    assert_eq!(
        count("published/reports/"),
        98 * 4 + 1,
        "per kommune rapport.html, indikatorer.csv/.parquet, manifest.json (no PDF with --no-pdf); index.html"
    );
    assert_eq!(count("published/bundles/"), 98, "one zip per kommune");
    assert_eq!(
        outputs.len(),
        18 + 98 * 5 + 1,
        "nothing else, and no restricted/ without --restricted"
    );
    assert!(!run_dir.join("restricted").exists());
    for o in outputs {
        let path = run_dir.join(o["path"].as_str().expect("path"));
        assert_eq!(
            std::fs::metadata(&path).expect("exists").len(),
            o["size"].as_u64().expect("size")
        );
        if let Some(sum) = sha256_hex(&path) {
            assert_eq!(
                Some(sum.as_str()),
                o["sha256"].as_str(),
                "{}",
                path.display()
            );
        }
    }
    // The sample has one planted bad row per rule: the quarantine holds them.
    let q = quarantine(&run_dir);
    assert!(q.iter().any(|r| r.3 == "grade_not_on_scale"));
    assert!(q.iter().all(|r| !r.1.is_empty()));
    // Stage timings are recorded.
    assert!(m["stage_seconds"].as_array().is_some_and(|s| s.len() >= 2));
}

#[test]
fn over_the_reject_limit_exits_1_keeps_the_quarantine_and_does_not_switch() {
    let input = tempfile::tempdir().expect("tempdir");
    fixtures::generate(input.path(), &fixture_options(0.005, 11, 3)).expect("generate");
    let out = tempfile::tempdir().expect("tempdir");
    let code = run_on(input.path(), out.path(), &["--extract-date", "2026-11-01"]);
    assert_eq!(code, ExitCode::InputRejected);
    assert!(
        std::fs::symlink_metadata(out.path().join("current")).is_err(),
        "current not switched"
    );
    let runs: Vec<_> = std::fs::read_dir(out.path().join("runs"))
        .expect("runs")
        .flatten()
        .collect();
    assert_eq!(runs.len(), 1);
    let m = manifest(&runs[0].path());
    assert_eq!(m["status"], "rejected");
    assert!(
        !quarantine(&runs[0].path()).is_empty(),
        "quarantine kept for inspection"
    );
    // validate agrees: exit 1.
    assert_eq!(
        cli(&[
            "validate",
            "--input",
            input.path().to_str().expect("utf8"),
            "--extract-date",
            "2026-11-01"
        ]),
        ExitCode::InputRejected
    );
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("bad.toml");
    let out = dir.path().join("out");
    let out = out.to_str().expect("utf8");
    for bad in ["[disclosure]\nk = 12\n", "colour = \"blue\"\n"] {
        std::fs::write(&cfg, bad).expect("write");
        let args = [
            "run",
            "--output",
            out,
            "--config",
            cfg.to_str().expect("utf8"),
        ];
        assert_eq!(cli(&args), ExitCode::Usage, "{bad}");
    }
    assert_eq!(
        cli(&["run", "--output", out, "--extract-date", "2026-02-30"]),
        ExitCode::Usage
    );
    assert_eq!(cli(&["run", "--no-such-flag"]), ExitCode::Usage);
    // A real input needs an extract date.
    assert_eq!(
        cli(&["validate", "--input", dir.path().to_str().expect("utf8")]),
        ExitCode::Usage
    );
    assert!(!Path::new(out).exists());
}

#[test]
fn validate_accepts_the_sample_and_writes_nothing() {
    // A copy of the sample in a folder of its own: after `validate`, the folder holds
    // exactly the same files with the same bytes (nothing written beside the input, no
    // output root, no lock, no spill).
    let dir = tempfile::tempdir().expect("tempdir");
    let sample = Path::new(skolegang::cli::SAMPLE_INPUT);
    let input = dir.path().join("input");
    for f in skolegang_tests::walk(sample) {
        let dest = input.join(f.strip_prefix(sample).expect("inside"));
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&f, &dest).expect("copy");
    }
    let tree = || -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
        skolegang_tests::walk(dir.path())
            .into_iter()
            .map(|f| {
                let bytes = std::fs::read(&f).expect("read");
                (f, bytes)
            })
            .collect()
    };
    // Folders too (an empty output root or spill folder has no files).
    fn folders(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            if e.path().is_dir() {
                out.push(e.path());
                folders(&e.path(), out);
            }
        }
    }
    let all_folders = || {
        let mut v = Vec::new();
        folders(dir.path(), &mut v);
        v.sort();
        v
    };
    let before = tree();
    let folders_before = all_folders();
    assert!(before.len() > 6, "the sample was copied");
    assert_eq!(
        cli(&[
            "validate",
            "--input",
            input.to_str().expect("utf8"),
            "--extract-date",
            skolegang::fixtures::DEFAULT_EXTRACT_DATE,
        ]),
        ExitCode::Success
    );
    assert_eq!(tree(), before, "validate wrote nothing");
    assert_eq!(all_folders(), folders_before, "validate made no folder");
    // The sample itself, by default.
    assert_eq!(cli(&["validate"]), ExitCode::Success);
}

#[test]
fn restricted_cohorts_are_written_only_when_asked_and_never_published() {
    let out = tempfile::tempdir().expect("tempdir");
    let key = skolegang_tests::project_key(out.path(), "project.key", PROJECT_KEY);
    assert_eq!(
        restricted_run(&out.path().join("out"), &key),
        ExitCode::Success
    );
    let run_dir = out.path().join("out/current");
    let fp9 = skolegang_tests::read_parquet(&run_dir.join("restricted/cohort_fp9"));
    let age = skolegang_tests::read_parquet(&run_dir.join("restricted/cohort_age"));
    assert!(fp9.num_rows() > 1000 && age.num_rows() > 1000);
    assert!(fp9.schema().index_of("person_id").is_ok());
    // No published file has a person_id column or any person-level row, and no
    // report, CSV or manifest mentions a person_id.
    let ids = skolegang_tests::sample_person_ids();
    for file in skolegang_tests::walk(&run_dir.join("published")) {
        let name = file.display().to_string();
        if name.ends_with(".parquet") {
            let b = skolegang_tests::read_parquet(&file);
            assert!(b.schema().index_of("person_id").is_err(), "{name}");
        } else if !name.ends_with(".zip") && !name.ends_with(".pdf") {
            let text = std::fs::read_to_string(&file).expect("text");
            let leaked = text
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-')
                .find(|token| ids.contains(*token));
            assert_eq!(leaked, None, "{name}");
        }
    }
    let cells = skolegang_tests::read_cells(&run_dir);
    assert!(
        cells
            .iter()
            .all(|c| c.suppressed || c.denominator.is_some_and(|d| d > 0))
    );
    // Every pupil of the cohort is counted once in Danmark's yearly cells (the true
    // counts, from the private disclosure record: on a 1 % sample Danmark is small).
    let record = skolegang::stages::disclose::record::cells(
        &skolegang_tests::read_parquet(&run_dir.join("disclosure/cells.parquet")),
        "disclosure/cells.parquet",
    )
    .expect("the record");
    assert_eq!(record.len(), cells.len());
    let land_total: i64 = record
        .iter()
        .filter(|c| {
            c.indicator == "school_offer_almen"
                && c.geo_code == 0
                && c.group == "alle"
                && c.placement == "alle"
                && c.years == 1
        })
        .filter_map(|c| c.denominator)
        .sum();
    assert_eq!(land_total as usize, fp9.num_rows());
}

/// Every file under `published/` and `quarantine/` of a run, relative path → bytes.
fn run_files(run_dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    ["published", "quarantine"]
        .iter()
        .flat_map(|d| skolegang_tests::walk(&run_dir.join(d)))
        .map(|f| {
            let rel = f
                .strip_prefix(run_dir)
                .expect("inside")
                .display()
                .to_string();
            (rel, std::fs::read(&f).expect("read"))
        })
        .collect()
}

#[test]
fn reruns_and_thread_counts_give_byte_identical_outputs() {
    let out = tempfile::tempdir().expect("tempdir");
    let mut runs = Vec::new();
    for threads in ["2", "2", "1"] {
        let root = out.path().join(format!("out-{}", runs.len()));
        let root_str = root.to_str().expect("utf8");
        assert_eq!(
            cli(&[
                "run",
                "--no-pdf",
                "--output",
                root_str,
                "--threads",
                threads
            ]),
            ExitCode::Success
        );
        runs.push(run_files(&root.join("current")));
    }
    assert!(runs[0].len() >= 16, "{:?}", runs[0].keys());
    for (i, other) in runs.iter().enumerate().skip(1) {
        assert_eq!(
            runs[0].keys().collect::<Vec<_>>(),
            other.keys().collect::<Vec<_>>()
        );
        for (path, bytes) in &runs[0] {
            assert!(other[path] == *bytes, "run {i}: {path} differs");
        }
    }
}

#[test]
fn the_audit_passes_on_a_run_and_catches_a_stricter_threshold() {
    let out = tempfile::tempdir().expect("tempdir");
    let root = out.path().to_str().expect("utf8");
    assert_eq!(
        cli(&["run", "--no-pdf", "--output", root]),
        ExitCode::Success
    );
    assert_eq!(cli(&["audit", root]), ExitCode::Success);
    // Cells protected with k = 5 leave counts of 5..9 recoverable: k = 10 finds them.
    assert_eq!(cli(&["audit", root, "--k", "10"]), ExitCode::InputRejected);
    let m = manifest(&out.path().join("current"));
    assert_eq!(m["disclosure"]["k"], 5);
    let primary: u64 = m["disclosure"]["primary"]
        .as_object()
        .expect("primary")
        .values()
        .filter_map(|v| v.as_u64())
        .sum();
    let secondary: u64 = m["disclosure"]["secondary"]
        .as_object()
        .expect("secondary")
        .values()
        .filter_map(|v| v.as_u64())
        .sum();
    assert!(primary > 0 && secondary > 0, "{primary} {secondary}");
    let visible = m["disclosure"]["visible_at_kommune"]["fp9_participation"]
        .as_f64()
        .expect("share");
    assert!((0.0..=1.0).contains(&visible));
    assert!(
        m["stage_seconds"]
            .as_array()
            .expect("stages")
            .iter()
            .any(|s| s[0] == "audit")
    );
}

fn runs_in(root: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(root.join("runs"))
        .expect("runs/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn an_unchanged_input_makes_no_new_run_and_force_republishes_the_same_bytes() {
    let out = tempfile::tempdir().expect("tempdir");
    let root = out.path().join("out");
    let root_str = root.to_str().expect("utf8");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--no-pdf", "--output", root_str];
        args.extend_from_slice(extra);
        cli(&args)
    };
    assert_eq!(run(&[]), ExitCode::Success);
    let first = runs_in(&root);
    let published = run_files(&root.join("current"));
    // Same files, same configuration: exit 0, no new run, current unchanged.
    assert_eq!(run(&[]), ExitCode::Success);
    assert_eq!(runs_in(&root), first);
    // A changed configuration is a change.
    let cfg = out.path().join("k6.toml");
    std::fs::write(&cfg, "[disclosure]\nk = 6\n").expect("config");
    assert_eq!(
        run(&["--config", cfg.to_str().expect("utf8")]),
        ExitCode::Success
    );
    assert_eq!(runs_in(&root).len(), 2);
    // --force runs anyway; back on the default configuration every published file
    // equals the first run's, byte for byte.
    assert_eq!(run(&["--force"]), ExitCode::Success);
    assert_eq!(runs_in(&root).len(), 3);
    let again = run_files(&root.join("current"));
    assert_eq!(
        published.keys().collect::<Vec<_>>(),
        again.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &published {
        if path.starts_with("published/") {
            assert!(again[path] == *bytes, "{path} differs after --force");
        }
    }
    assert!(!root.join("run.lock").exists(), "the lock is released");
}

#[test]
fn only_the_newest_runs_are_kept() {
    let out = tempfile::tempdir().expect("tempdir");
    let root = out.path().join("out");
    let root_str = root.to_str().expect("utf8");
    for _ in 0..3 {
        assert_eq!(
            cli(&[
                "run",
                "--no-pdf",
                "--force",
                "--keep-runs",
                "2",
                "--output",
                root_str
            ]),
            ExitCode::Success
        );
    }
    let runs = runs_in(&root);
    assert_eq!(runs.len(), 2, "{runs:?}");
    let current = std::fs::read_link(root.join("current")).expect("current");
    assert!(current.ends_with(runs.last().expect("newest")));
}

#[test]
fn a_second_run_is_refused_while_one_holds_the_lock_and_a_stale_lock_is_taken_over() {
    let out = tempfile::tempdir().expect("tempdir");
    let root = out.path().join("out");
    std::fs::create_dir_all(&root).expect("root");
    let root_str = root.to_str().expect("utf8");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("hostname")
        .trim()
        .to_string();
    let lock = |pid: u32| {
        serde_json::json!({"pid": pid, "host": host, "started_at": "2026-11-22T01:00:00Z"})
            .to_string()
    };
    // A live process (this one) holds it: refused with exit 4, nothing written.
    std::fs::write(root.join("run.lock"), lock(std::process::id())).expect("lock");
    assert_eq!(
        cli(&["run", "--no-pdf", "--output", root_str]),
        ExitCode::Busy
    );
    assert!(!root.join("runs").exists());
    assert!(
        root.join("run.lock").exists(),
        "someone else's lock is left alone"
    );
    // Its process is gone: the lock is stale, taken over, and released at the end.
    std::fs::write(root.join("run.lock"), lock(u32::MAX - 7)).expect("lock");
    assert_eq!(
        cli(&["run", "--no-pdf", "--output", root_str]),
        ExitCode::Success
    );
    assert!(!root.join("run.lock").exists());
    // Its pid is alive but belongs to a process that started at another time (in a
    // container every run is pid 1; after a kill -9 the next night's run has the same
    // pid): stale too, taken over.
    let reused = serde_json::json!({
        "pid": std::process::id(),
        "host": host,
        "started_at": "2026-11-22T01:00:00Z",
        "process_start": 1
    });
    std::fs::write(root.join("run.lock"), reused.to_string()).expect("lock");
    assert_eq!(
        cli(&["run", "--no-pdf", "--force", "--output", root_str]),
        ExitCode::Success
    );
    assert!(!root.join("run.lock").exists());
}

#[test]
fn every_parquet_file_carries_its_versions_data_version_extract_date_and_k() {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let out = tempfile::tempdir().expect("tempdir");
    let root = out.path().join("out");
    let key = skolegang_tests::project_key(out.path(), "project.key", PROJECT_KEY);
    assert_eq!(restricted_run(&root, &key), ExitCode::Success);
    let run_dir = root.join("current");
    let m = manifest(&run_dir);
    let files: Vec<_> = skolegang_tests::walk(&run_dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    // indicators (10), rankings, 98 report files, 6 quarantine, the disclosure record,
    // 2 restricted cohorts and the restricted ranking.
    assert!(files.len() >= 117, "{} Parquet files", files.len());
    for f in &files {
        let bytes = bytes::Bytes::from(std::fs::read(f).expect("read"));
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).expect("parquet");
        let kv: std::collections::BTreeMap<String, String> = reader
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .expect("key-value metadata")
            .iter()
            .filter_map(|kv| Some((kv.key.clone(), kv.value.clone()?)))
            .collect();
        let get = |k: &str| {
            kv.get(k)
                .unwrap_or_else(|| panic!("{}: no {k}", f.display()))
                .as_str()
        };
        assert_eq!(get("skolegang.schema_version"), "2");
        assert_eq!(get("skolegang.methodology_version"), "2");
        assert_eq!(get("skolegang.data_version"), m["data_version"]);
        assert_eq!(get("skolegang.extract_date"), m["extract_date"]);
        assert_eq!(get("skolegang.version"), m["skolegang_version"]);
        assert_eq!(get("skolegang.disclosure_k"), "5");
        let config: serde_json::Value =
            serde_json::from_str(get("skolegang.configuration")).expect("json");
        assert_eq!(config, m["config"]);
        // No run id and no clock: reruns stay byte-identical.
        assert!(
            !kv.values()
                .any(|v| v.contains(m["run_id"].as_str().expect("id")))
        );
    }
}

#[test]
fn flags_out_of_bounds_and_an_output_inside_the_input_are_refused() {
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("out");
    let out_str = out.to_str().expect("utf8");
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let too_many = (4 * cores + 1).to_string();
    for extra in [
        vec!["--threads", too_many.as_str()],
        vec!["--threads", "0"],
        vec!["--memory-limit", "1M"],
    ] {
        let mut args = vec!["run", "--no-pdf", "--output", out_str];
        args.extend(extra.iter().copied());
        assert_eq!(cli(&args), ExitCode::Usage, "{extra:?}");
        assert!(!out.exists(), "{extra:?}: nothing written");
    }
    // An output inside the input (the next night would read it as extracts), the same
    // folder, or the input inside the output.
    let input = work.path().join("input");
    std::fs::create_dir_all(&input).expect("input");
    for output in [input.join("out"), input.clone(), work.path().to_path_buf()] {
        let code = run_on(&input, &output, &["--extract-date", "2026-11-01"]);
        assert_eq!(code, ExitCode::Usage, "{}", output.display());
    }
}

#[test]
fn a_current_that_is_not_a_link_is_named_clearly() {
    for make in ["folder", "file"] {
        let work = tempfile::tempdir().expect("tempdir");
        let out = work.path().join("out");
        std::fs::create_dir_all(&out).expect("out");
        if make == "folder" {
            std::fs::create_dir_all(out.join("current")).expect("folder");
        } else {
            std::fs::write(out.join("current"), "20261101T010000.000Z-abcd").expect("file");
        }
        let root =
            skolegang::storage::store::Root::parse(out.to_str().expect("utf8")).expect("root");
        let err = skolegang_tests::block_on(skolegang::storage::runs::current_run(&root))
            .expect_err("not a link");
        let msg = err.to_string();
        assert!(msg.contains(&format!("current is a {make}")), "{msg}");
        assert_eq!(err.exit_code(), ExitCode::Usage, "{msg}");
        // And the run says so, instead of an OS error number.
        let code = cli(&["run", "--no-pdf", "--output", out.to_str().expect("utf8")]);
        assert_eq!(code, ExitCode::Usage, "{make}");
    }
}

#[test]
fn a_run_with_nothing_to_publish_says_so_and_keeps_its_quarantine() {
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("out");
    let cfg = work.path().join("all.toml");
    std::fs::write(&cfg, "max_rejected_share = 1.0\n").expect("config");
    // An extract date before every period: every dated row is rejected, no cell exists.
    let code = cli(&[
        "run",
        "--no-pdf",
        "--output",
        out.to_str().expect("utf8"),
        "--extract-date",
        "2000-01-01",
        "--config",
        cfg.to_str().expect("utf8"),
    ]);
    assert_eq!(code, ExitCode::InputRejected);
    assert!(!out.join("current").exists(), "nothing switched");
    let runs: Vec<_> = std::fs::read_dir(out.join("runs"))
        .expect("runs")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(runs.len(), 1);
    assert!(
        runs[0].join("quarantine").is_dir(),
        "the quarantine is kept"
    );
    let m = manifest(&runs[0]);
    assert_eq!(m["status"], "rejected");
}

/// The exit codes are one list: `ExitCode`, the README's table and `--help` agree.
#[test]
fn readme_help_and_code_name_the_same_exit_codes() {
    // Exhaustive: a new variant does not compile until it is listed here.
    let number = |e: ExitCode| match e {
        ExitCode::Success => 0,
        ExitCode::InputRejected => 1,
        ExitCode::Usage => 2,
        ExitCode::Internal => 3,
        ExitCode::Busy => 4,
    };
    let codes: Vec<i32> = [
        ExitCode::Success,
        ExitCode::InputRejected,
        ExitCode::Usage,
        ExitCode::Internal,
        ExitCode::Busy,
    ]
    .into_iter()
    .map(|e| {
        assert_eq!(e as i32, number(e));
        number(e)
    })
    .collect();
    let readme = include_str!("../README.md");
    let table: Vec<i32> = skolegang_tests::doc_section(readme, "Exit codes")
        .expect("README has `## Exit codes`")
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split_once(" |").and_then(|(n, _)| n.parse().ok()))
        .collect();
    assert_eq!(table, codes, "README's exit code table");
    // Words as printed, whatever the terminal width wrapped.
    let help = <skolegang::cli::Cli as clap::CommandFactory>::command()
        .render_long_help()
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let line = help
        .split_once("Exit codes:")
        .map(|(_, rest)| rest)
        .expect("--help lists the exit codes");
    for code in codes {
        assert!(
            line.contains(&format!(" {code} ")),
            "--help names exit code {code}"
        );
    }
}

/// Every flag of `run` (and the global ones) is explained in the README, which is where
/// a statistician setting up the nightly job looks: one source (clap) for the flags, a
/// test that the README names each.
#[test]
fn the_readme_names_every_flag_of_run() {
    let cli = <skolegang::cli::Cli as clap::CommandFactory>::command();
    let run = cli.find_subcommand("run").expect("run");
    let readme = include_str!("../README.md");
    let missing: Vec<String> = cli
        .get_arguments()
        .chain(run.get_arguments())
        .filter_map(|a| a.get_long())
        .filter(|long| !["help", "version"].contains(long))
        .map(|long| format!("--{long}"))
        .filter(|flag| !readme.contains(flag.as_str()))
        .collect();
    assert_eq!(
        missing,
        Vec::<String>::new(),
        "flags the README does not name"
    );
}

#[test]
fn ci_runs_exactly_the_readmes_test_command_and_both_commands_set_themselves_up() {
    let readme = include_str!("../README.md");
    let section =
        skolegang_tests::doc_section(readme, "Two commands on a fresh machine").expect("section");
    let block = section
        .split("```sh")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block");
    let commands: Vec<&str> = block
        .lines()
        .filter_map(|l| l.split('#').next())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(commands, ["make run", "make test"]);
    // CI's only build-and-test step is the README's test command.
    let ci = include_str!("../.ci/run");
    let steps: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('#')
                && !l.starts_with("echo")
                && !l.starts_with("set ")
                && !l.starts_with("cd ")
                && !l.starts_with("export ")
                && !l.starts_with("command -v cargo")
                && !l.ends_with("--version")
                && !l.ends_with("--version || true")
        })
        .collect();
    assert_eq!(steps, ["make test"], "{ci}");
    // Both make targets install their system packages first.
    let makefile = include_str!("../Makefile");
    assert!(makefile.contains("\nrun: prerequisites-run "), "make run");
    assert!(
        makefile.contains("\ntest: prerequisites-test "),
        "make test"
    );
}
