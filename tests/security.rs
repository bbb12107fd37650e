//! Security by design (docs/security.md): the nightly run deletes only its own run
//! folders and never through a link, every folder and file has its mode on purpose
//! whatever the umask, and another user reads `published/` and nothing private.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use skolegang::error::ExitCode;
use skolegang_tests::{PROJECT_KEY, cli, project_key};

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_link_a_foreign_folder_and_a_foreign_file_under_runs_survive_runs_and_pruning() {
    let out = tempfile::tempdir().expect("tempdir");
    let root = out.path().join("out");
    let root_str = root.to_str().expect("utf8");
    let run = || {
        cli(&[
            "run",
            "--no-pdf",
            "--force",
            "--keep-runs",
            "1",
            "--output",
            root_str,
        ])
    };
    assert_eq!(run(), ExitCode::Success);
    let runs = root.join("runs");
    // A link named like an (old, incomplete) run, pointing at someone's folder.
    let victim = out.path().join("someone-else");
    std::fs::create_dir(&victim).expect("victim");
    std::fs::write(victim.join("precious.txt"), "keep me").expect("precious");
    std::os::unix::fs::symlink(&victim, runs.join("00000000T000000.000Z-dead")).expect("link");
    // A folder and a file that are not runs.
    std::fs::create_dir(runs.join("notes")).expect("notes");
    std::fs::write(runs.join("notes/a.txt"), "a").expect("a");
    std::fs::write(runs.join("README"), "r").expect("readme");
    // A link to a file, named like a run's temporary `current` link.
    std::fs::write(out.path().join("file.txt"), "f").expect("file");
    std::os::unix::fs::symlink(
        out.path().join("file.txt"),
        root.join(".current-00000000T000000.000Z-dead"),
    )
    .expect("link");
    // Real debris: an incomplete run folder of ours (no manifest).
    let debris = runs.join("20200101T000000.000Z-beef");
    std::fs::create_dir(&debris).expect("debris");
    std::fs::write(debris.join("partial"), "x").expect("partial");

    // Two more runs: debris cleaning, then pruning down to one run.
    assert_eq!(run(), ExitCode::Success);
    assert_eq!(run(), ExitCode::Success);

    assert_eq!(
        std::fs::read_to_string(victim.join("precious.txt")).expect("precious survives"),
        "keep me"
    );
    assert!(
        std::fs::symlink_metadata(runs.join("00000000T000000.000Z-dead"))
            .expect("the link is left alone")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(runs.join("notes/a.txt")).expect("notes"),
        "a"
    );
    assert_eq!(
        std::fs::read_to_string(runs.join("README")).expect("readme"),
        "r"
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("file.txt")).expect("file"),
        "f"
    );
    assert!(!debris.exists(), "our own debris is cleaned");
    let real_runs: Vec<String> = std::fs::read_dir(&runs)
        .expect("runs")
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| skolegang::storage::runs::is_run_id(n))
        .collect();
    assert_eq!(real_runs.len(), 1, "pruned to --keep-runs 1: {real_runs:?}");
}

/// A restricted run on the sample by the real binary in a process of its own, with
/// umask 077 (a scheduler's account often has one), so that no mode comes from the
/// umask by accident.
fn restricted_run_under_umask(root: &Path, key: &str) {
    let bin = env!("CARGO_BIN_EXE_skolegang-under-test");
    let status = Command::new("sh")
        .arg("-c")
        .arg("umask 077 && exec \"$0\" \"$@\"")
        .arg(bin)
        .args([
            "--quiet",
            "run",
            "--no-pdf",
            "--restricted",
            "--project-key-file",
            key,
        ])
        .arg("--output")
        .arg(root)
        .status()
        .expect("start skolegang-under-test");
    assert!(status.success(), "{status:?}");
}

#[test]
fn every_folder_and_file_has_its_mode_by_design_whatever_the_umask() {
    let out = tempfile::tempdir().expect("tempdir");
    let key = project_key(out.path(), "a.key", PROJECT_KEY);
    let root = out.path().join("out");
    restricted_run_under_umask(&root, &key);
    let run = root.join("current");
    let run = root.join(std::fs::read_link(&run).expect("current"));
    assert_eq!(mode(&root.join("runs")), 0o755);
    assert_eq!(mode(&run), 0o755);
    let mut checked = (0, 0);
    let mut stack = vec![run.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            let rel = p
                .strip_prefix(&run)
                .expect("inside")
                .to_string_lossy()
                .into_owned();
            let private = ["restricted", "quarantine", "disclosure"]
                .iter()
                .any(|f| rel == *f || rel.starts_with(&format!("{f}/")));
            let meta = std::fs::symlink_metadata(&p).expect("meta");
            assert!(!meta.file_type().is_symlink(), "{rel}: a link in a run");
            let want = match (meta.is_dir(), private) {
                (true, true) => 0o700,
                (true, false) => 0o755,
                (false, true) => 0o600,
                (false, false) => 0o644,
            };
            assert_eq!(mode(&p), want, "{rel}");
            if meta.is_dir() {
                stack.push(p);
            }
            if private {
                checked.0 += 1
            } else {
                checked.1 += 1
            }
        }
    }
    assert!(checked.0 > 5 && checked.1 > 20, "{checked:?}");
    for f in ["restricted", "quarantine", "disclosure", "published"] {
        assert!(run.join(f).is_dir(), "{f}");
    }
}

#[test]
fn another_user_reads_published_and_nothing_private() {
    let euid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(1);
    if euid != 0 {
        eprintln!("skipped: switching to another user needs root (CI runs as root)");
        return;
    }
    let out = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(out.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let key = project_key(out.path(), "a.key", PROJECT_KEY);
    let root = out.path().join("out");
    restricted_run_under_umask(&root, &key);
    // The binary where the other user can run it.
    let bin = out.path().join("skolegang");
    std::fs::copy(env!("CARGO_BIN_EXE_skolegang-under-test"), &bin).expect("copy");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let nobody = |program: &Path, args: &[&str]| {
        Command::new(program)
            .args(args)
            .uid(65534)
            .gid(65534)
            .env_clear()
            .current_dir("/")
            .output()
            .expect("start as nobody")
    };
    let root_str = root.to_str().expect("utf8");
    let q = nobody(
        &bin,
        &[
            "--quiet",
            "query",
            "--output",
            root_str,
            "--format",
            "csv",
            "SELECT count(*) AS n FROM indicators",
        ],
    );
    assert!(q.status.success(), "{}", String::from_utf8_lossy(&q.stderr));
    assert!(String::from_utf8_lossy(&q.stdout).starts_with("n\n"));
    let r = nobody(
        &bin,
        &[
            "--quiet",
            "query",
            "--output",
            root_str,
            "--restricted",
            "SELECT count(*) FROM cohort_fp9",
        ],
    );
    assert!(!r.status.success(), "nobody read restricted/");
    let run = root.join(std::fs::read_link(root.join("current")).expect("current"));
    for private in [
        "disclosure/cells.parquet",
        "quarantine",
        "restricted/cohort_fp9",
    ] {
        let target = run.join(private);
        assert!(target.exists(), "{private}");
        let tool = if target.is_dir() {
            "/bin/ls"
        } else {
            "/bin/cat"
        };
        let read = nobody(Path::new(tool), &[target.to_str().expect("utf8")]);
        assert!(!read.status.success(), "nobody read {private}");
    }
    let manifest = nobody(
        Path::new("/bin/cat"),
        &[run.join("manifest.json").to_str().expect("utf8")],
    );
    assert!(manifest.status.success(), "the manifest is public");
}

#[test]
fn a_private_root_takes_the_private_folders_out_of_the_run_folder() {
    let out = tempfile::tempdir().expect("tempdir");
    let key = project_key(out.path(), "a.key", PROJECT_KEY);
    let root = out.path().join("out");
    let private = out.path().join("private");
    let (root_s, private_s) = (
        root.to_str().expect("utf8"),
        private.to_str().expect("utf8"),
    );
    let args = [
        "run",
        "--no-pdf",
        "--restricted",
        "--project-key-file",
        key.as_str(),
        "--output",
        root_s,
        "--private-output",
        private_s,
    ];
    // A release made before the private root (its record in its run folder) is the
    // earlier release of the first run with one: its periods are frozen from it.
    assert_eq!(cli(&args[..7]), ExitCode::Success);
    let before = std::fs::read_link(root.join("current")).expect("current");
    let mut forced = args.to_vec();
    forced.push("--force");
    assert_eq!(cli(&forced), ExitCode::Success);
    let id = std::fs::read_link(root.join("current")).expect("current");
    assert_ne!(id, before);
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join(&id).join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    let before_id = before
        .file_name()
        .expect("id")
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        manifest["release"]["frozen_from"].as_str(),
        Some(before_id.as_str())
    );
    let run = root.join(&id);
    let kept = private.join(&id);
    for f in ["disclosure", "quarantine", "restricted"] {
        assert!(!run.join(f).exists(), "{f} in the run folder");
        assert!(kept.join(f).is_dir(), "{f} under the private root");
        assert_eq!(mode(&kept.join(f)), 0o700, "{f}");
    }
    assert!(run.join("published").is_dir());
    // The audit and a restricted query find the private folders there.
    assert_eq!(
        cli(&["audit", root_s, "--private-output", private_s]),
        ExitCode::Success
    );
    let q = Command::new(env!("CARGO_BIN_EXE_skolegang-under-test"))
        .args([
            "--quiet",
            "query",
            "--output",
            root_s,
            "--private-output",
            private_s,
        ])
        .args([
            "--restricted",
            "--format",
            "csv",
            "SELECT count(*) > 0 AS any FROM cohort_fp9",
        ])
        .output()
        .expect("query");
    assert!(q.status.success(), "{}", String::from_utf8_lossy(&q.stderr));
    assert_eq!(String::from_utf8_lossy(&q.stdout), "any\ntrue\n");
    // A second forced run keeping one run prunes the first run's private folders too.
    let mut again = args.to_vec();
    again.extend(["--force", "--keep-runs", "1"]);
    assert_eq!(cli(&again), ExitCode::Success);
    assert!(!kept.exists(), "the pruned run's private folders are gone");
    // A private root inside the output is refused.
    let inside = root.join("private");
    assert_eq!(
        cli(&[
            "audit",
            root_s,
            "--private-output",
            inside.to_str().expect("utf8")
        ]),
        ExitCode::Usage
    );
}
