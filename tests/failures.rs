//! A nightly batch that survives being killed, a full disk and a small memory budget:
//! `current` always names a complete run whose files match its manifest, and the next
//! run cleans up what an interrupted one left behind.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};
use skolegang::error::ExitCode;
use skolegang::faults;
use skolegang_tests::{current_output_checksums, sample_run};

const SIGKILL: i32 = 9;

/// The CLI in a process of its own (tests/under_test.rs).
fn skolegang(args: &[&str], fault: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skolegang-under-test"));
    cmd.args(args).env_remove(faults::VAR);
    if let Some(f) = fault {
        cmd.env(faults::VAR, f);
    }
    cmd.output().expect("start skolegang-under-test")
}

fn current(root: &Path) -> Option<String> {
    std::fs::read_link(root.join("current"))
        .ok()
        .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
}

fn sha256_file(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("read")))
}

/// Every file the run's manifest lists exists with its size and sha256; the run has no
/// other files under published/. Returns the number of files checked.
fn assert_matches_manifest(root: &Path, run_id: &str) -> usize {
    let dir = root.join("runs").join(run_id);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["status"], "success", "{run_id}");
    let outputs = manifest["outputs"].as_array().expect("outputs");
    for f in outputs {
        let path = dir.join(f["path"].as_str().expect("path"));
        assert_eq!(
            std::fs::metadata(&path).expect("listed file exists").len(),
            f["size"].as_u64().expect("size"),
            "{}",
            path.display()
        );
        assert_eq!(
            sha256_file(&path),
            f["sha256"].as_str().expect("sha"),
            "{}",
            path.display()
        );
    }
    let listed: std::collections::BTreeSet<PathBuf> = outputs
        .iter()
        .map(|f| dir.join(f["path"].as_str().expect("path")))
        .collect();
    for f in skolegang_tests::walk(&dir.join("published")) {
        assert!(listed.contains(&f), "unlisted file {}", f.display());
    }
    outputs.len()
}

/// Run folders without a manifest, temporary links, the lock and the spill folder.
fn debris(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root).expect("root").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(".current-") || name == "run.lock" || name == ".spill" {
            out.push(name);
        }
    }
    if let Ok(runs) = std::fs::read_dir(root.join("runs")) {
        for e in runs.flatten() {
            if !e.path().join("manifest.json").exists() {
                out.push(format!("runs/{}", e.file_name().to_string_lossy()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn killed_at_every_marked_point_current_keeps_a_complete_run_and_the_next_run_cleans_up() {
    let out = tempfile::tempdir().expect("tempdir");
    let root = out.path().join("out");
    let root_str = root.to_str().expect("utf8");
    assert_eq!(sample_run(&root, &[]), ExitCode::Success);
    let mut complete = current(&root).expect("current after the first run");
    assert!(assert_matches_manifest(&root, &complete) > 0);

    let mut earlier_debris: Vec<String> = Vec::new();
    for point in faults::POINTS {
        let point = &point.name();
        // Pruning only happens with more runs than kept: keep one for that point.
        let keep = if *point == "prune" { "1" } else { "100" };
        let args = [
            "--quiet",
            "run",
            "--no-pdf",
            "--force",
            "--keep-runs",
            keep,
            "--output",
            root_str,
        ];
        let done = skolegang(&args, Some(&format!("kill@{point}")));
        assert_eq!(
            done.status.signal(),
            Some(SIGKILL),
            "the run was to be killed at `{point}`; it ended with {:?}: {}",
            done.status,
            String::from_utf8_lossy(&done.stderr)
        );
        let now = current(&root).expect("current survives");
        if *point == "prune" {
            // Killed after the switch: `current` is the new, complete run.
            assert_ne!(now, complete, "the switch happened before pruning");
            complete = now;
        } else {
            assert_eq!(now, complete, "killed at `{point}`: current must not move");
        }
        assert_matches_manifest(&root, &complete);

        // This run found the debris of the one killed before it and deleted it.
        let left = debris(&root);
        for d in &earlier_debris {
            if d.starts_with("runs/") || d.starts_with(".current-") {
                assert!(!left.contains(d), "`{d}` survived the next run");
            }
        }
        assert!(left.contains(&"run.lock".to_string()), "{point}: {left:?}");
        let incomplete = left.iter().filter(|d| d.starts_with("runs/")).count();
        let expected = match *point {
            // Before the run folder exists, and after the manifest completes it.
            "ingest_validate" | "manifest" | "switch" | "prune" => 0,
            _ => 1,
        };
        assert_eq!(incomplete, expected, "{point}: {left:?}");
        if *point == "switch" {
            assert!(left.iter().any(|d| d.starts_with(".current-")), "{left:?}");
        }
        earlier_debris = left;
    }

    // The next run takes over the stale lock, deletes the debris and succeeds.
    assert_eq!(sample_run(&root, &["--force"]), ExitCode::Success);
    let now = current(&root).expect("current");
    assert_ne!(now, complete);
    assert_matches_manifest(&root, &now);
    assert_eq!(debris(&root), Vec::<String>::new());
}

/// A tmpfs of `bytes` mounted at `dir` for the life of the value (needs root and
/// CAP_SYS_ADMIN; `None` where mounting is not allowed).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, bytes: u64) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn du(dir: &Path) -> u64 {
    skolegang_tests::walk(dir)
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .map(|m| m.len().div_ceil(4096) * 4096)
                .unwrap_or(0)
        })
        .sum()
}

/// A run that cannot write fails with exit 3, leaves no half-written run, releases the
/// lock, and the previous publication stays current and intact.
fn assert_failed_cleanly(root: &Path, before: &str, done: &Output) {
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(
        done.status.code(),
        Some(ExitCode::Internal as i32),
        "{stderr}"
    );
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert_eq!(current(root).as_deref(), Some(before));
    assert_matches_manifest(root, before);
    assert_eq!(debris(root), Vec::<String>::new());
}

#[test]
fn a_full_output_disk_fails_cleanly_and_keeps_the_previous_publication() {
    let out = tempfile::tempdir().expect("tempdir");
    let args = |root: &Path| -> Vec<String> {
        let root = root.to_str().expect("utf8");
        ["--quiet", "run", "--no-pdf", "--force", "--output", root]
            .map(String::from)
            .to_vec()
    };

    // An injected write error (works everywhere): the reports fail to write.
    let root = out.path().join("injected");
    assert_eq!(sample_run(&root, &[]), ExitCode::Success);
    let before = current(&root).expect("current");
    let a = args(&root);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let done = skolegang(&a, Some("enospc@published/reports"));
    assert_failed_cleanly(&root, &before, &done);

    // A real full disk, where the test may mount one: a tmpfs with room for one run
    // and a half.
    let size = du(&root.join("runs").join(&before));
    let disk = out.path().join("tmpfs");
    match Tmpfs::mount(&disk, size * 3 / 2) {
        None => eprintln!("tmpfs not mountable here: the full disk was injected only"),
        Some(_mounted) => {
            let root = disk.join("out");
            let a = args(&root);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let first = skolegang(&a, None);
            assert!(
                first.status.success(),
                "{}",
                String::from_utf8_lossy(&first.stderr)
            );
            let before = current(&root).expect("current");
            let done = skolegang(&a, None);
            assert_failed_cleanly(&root, &before, &done);
        }
    }
}

#[test]
fn a_small_memory_limit_gives_the_same_bytes_and_a_too_small_one_fails_clearly() {
    let out = tempfile::tempdir().expect("tempdir");
    let plain = out.path().join("plain");
    assert_eq!(sample_run(&plain, &[]), ExitCode::Success);

    let small = out.path().join("small");
    let spill = out.path().join("spill");
    let spill_str = spill.to_str().expect("utf8");
    assert_eq!(
        sample_run(&small, &["--memory-limit", "64M", "--spill-dir", spill_str]),
        ExitCode::Success
    );
    assert_eq!(
        current_output_checksums(&small),
        current_output_checksums(&plain)
    );
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(small.join("current/manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["resources"]["memory_limit_bytes"], 64u64 << 20);
    assert_eq!(manifest["resources"]["spill_dir"], spill_str);
    // The default spill folder under the output root is gone after the run.
    assert!(!plain.join(".spill").exists());

    // Below the stated minimum (64M): refused before anything runs, exit 2 naming the
    // flag, `current` unchanged, no debris.
    let before = current(&small);
    let done = skolegang(
        &[
            "--quiet",
            "run",
            "--no-pdf",
            "--force",
            "--memory-limit",
            "8M",
            "--output",
            small.to_str().expect("utf8"),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(ExitCode::Usage as i32), "{stderr}");
    assert!(stderr.contains("--memory-limit"), "{stderr}");
    assert!(stderr.contains("64M"), "{stderr}");
    assert_eq!(current(&small), before);
    assert_eq!(debris(&small), Vec::<String>::new());

    assert_eq!(
        sample_run(&small, &["--memory-limit", "lots"]),
        ExitCode::Usage
    );
}

/// SIGTERM (a scheduler stopping the job) or SIGINT ends the run like a failure: exit 3,
/// the failed summary line, the lock released, the unfinished folder removed, `current`
/// where it was.
#[test]
fn sigterm_ends_the_run_like_a_failure_and_leaves_nothing_behind() {
    let out = tempfile::tempdir().expect("tempdir");
    let root = out.path().join("out");
    let root_str = root.to_str().expect("utf8");
    assert_eq!(sample_run(&root, &[]), ExitCode::Success);
    let before = current(&root);
    for point in ["indicators", "publish", "reports"] {
        let done = skolegang(
            &[
                "--log-format",
                "json",
                "run",
                "--no-pdf",
                "--force",
                "--output",
                root_str,
            ],
            Some(&format!("term@{point}")),
        );
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert_eq!(
            done.status.code(),
            Some(ExitCode::Internal as i32),
            "{point}: {stderr}"
        );
        assert!(
            stderr.contains("interrupted by SIGTERM"),
            "{point}: {stderr}"
        );
        assert!(
            stderr.contains("\"status\":\"failed\""),
            "{point}: no failed summary line: {stderr}"
        );
        assert_eq!(current(&root), before, "{point}: current moved");
        assert_eq!(debris(&root), Vec::<String>::new(), "{point}");
    }
}
