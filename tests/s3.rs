//! Object stores for real: input and output on `s3://`, against moto's S3-compatible
//! server started on loopback (tests/requirements.lock; `make venv` installs it and
//! `make test` names its Python in SKOLEGANG_PYTHON). Credentials reach skolegang only
//! through the environment.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use skolegang::cli::SAMPLE_INPUT;
use skolegang_tests::block_on;

const BUCKET: &str = "skolegang";

/// moto's server on a free loopback port, stopped on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    /// None (the test skipped) without the venv, outside `make test`.
    fn start() -> Option<Moto> {
        let python = skolegang_tests::python()?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting moto with {python}: {e}"));
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // A bucket: the one thing object_store cannot make.
        let made = Command::new(&python)
            .args([
                "-c",
                "import sys, boto3; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
                 aws_access_key_id='test', aws_secret_access_key='test').create_bucket(Bucket=sys.argv[2])",
                &moto.endpoint,
                BUCKET,
            ])
            .status()
            .expect("python");
        assert!(made.success(), "creating the bucket");
        Some(moto)
    }

    /// The variables skolegang reads its credentials and endpoint from.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// The test's own client, configured explicitly (not from the environment).
    fn store(&self) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_bucket_name(BUCKET)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()
            .expect("client")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(store: &AmazonS3, key: &str) -> Option<Bytes> {
    block_on(async {
        match store.get(&ObjectPath::from(key)).await {
            Ok(r) => Some(r.bytes().await.expect("body")),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("get {key}: {e}"),
        }
    })
}

fn skolegang(moto: &Moto, args: &[&str]) -> Output {
    skolegang_with_fault(moto, args, None)
}

fn skolegang_with_fault(moto: &Moto, args: &[&str], fault: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skolegang-under-test"));
    cmd.args(args).env_remove(skolegang::faults::VAR);
    if let Some(f) = fault {
        cmd.env(skolegang::faults::VAR, f);
    }
    // Nothing of the test machine's own AWS set-up may leak in.
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(moto.env());
    cmd.output().expect("start skolegang-under-test")
}

/// path → sha256 of the outputs the run's manifest lists, each checked against the
/// object's bytes in the store.
fn verified_outputs(store: &AmazonS3, run_id: &str) -> Vec<(String, String)> {
    let manifest: serde_json::Value = serde_json::from_slice(
        &get(store, &format!("out/runs/{run_id}/manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["status"], "success");
    let mut out = Vec::new();
    for f in manifest["outputs"].as_array().expect("outputs") {
        let path = f["path"].as_str().expect("path");
        // The private folders live under their own root, `<output>-private`
        // (docs/security.md): never under the output researchers may read.
        let private = ["disclosure/", "quarantine/", "restricted/"]
            .iter()
            .any(|p| path.starts_with(p));
        let (home, away) = if private {
            ("out-private", "out")
        } else {
            ("out", "out-private")
        };
        assert!(
            get(store, &format!("{away}/runs/{run_id}/{path}")).is_none(),
            "{path} under {away}/"
        );
        let bytes = get(store, &format!("{home}/runs/{run_id}/{path}")).expect("listed object");
        let sha = hex::encode(Sha256::digest(&bytes));
        assert_eq!(sha, f["sha256"].as_str().expect("sha"), "{path}");
        out.push((path.to_string(), sha));
    }
    out.sort();
    out
}

#[test]
fn a_run_reads_and_writes_s3_and_switches_current_as_an_object() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let store = moto.store();
    // The committed sample, uploaded as the input.
    let sample = Path::new(SAMPLE_INPUT);
    let files: Vec<_> = skolegang_tests::walk(sample)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    block_on(async {
        for f in &files {
            let rel = f
                .strip_prefix(sample)
                .expect("inside")
                .to_str()
                .expect("utf8");
            store
                .put(
                    &ObjectPath::from(format!("input/{rel}")),
                    PutPayload::from(std::fs::read(f).expect("read")),
                )
                .await
                .expect("upload");
        }
    });
    let date = skolegang::fixtures::DEFAULT_EXTRACT_DATE;
    let args = |extra: &[&'static str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "--quiet",
            "run",
            "--no-pdf",
            "--input",
            "s3://skolegang/input",
            "--output",
            "s3://skolegang/out",
            "--extract-date",
            date,
        ]
        .map(String::from)
        .to_vec();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run = |extra: &[&'static str]| {
        let a = args(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let done = skolegang(&moto, &a);
        assert!(
            done.status.success(),
            "{:?}: {}",
            done.status,
            String::from_utf8_lossy(&done.stderr)
        );
        done
    };

    run(&[]);
    let current = |s: &AmazonS3| {
        String::from_utf8(get(s, "out/current").expect("a `current` object").to_vec())
            .expect("utf8")
    };
    let first = current(&store);
    let outputs = verified_outputs(&store, &first);
    assert!(
        outputs
            .iter()
            .any(|(p, _)| p.starts_with("published/indicators/"))
    );
    assert!(
        outputs
            .iter()
            .any(|(p, _)| p.starts_with("published/bundles/"))
    );
    assert!(
        get(&store, "out/run.lock").is_none(),
        "the lock is released"
    );

    // The same bytes as a run on a local disk.
    let local = tempfile::tempdir().expect("tempdir");
    let local_root = local.path().join("out");
    assert_eq!(
        skolegang_tests::cli(&[
            "run",
            "--no-pdf",
            "--output",
            local_root.to_str().expect("utf8")
        ]),
        skolegang::error::ExitCode::Success
    );
    let local_outputs: Vec<(String, String)> =
        skolegang_tests::current_output_checksums(&local_root)
            .into_iter()
            .collect();
    assert_eq!(outputs, local_outputs);

    // `skolegang query` reads the current run from the store.
    let published_rows: u64 = {
        let m: serde_json::Value = serde_json::from_slice(
            &get(&store, &format!("out/runs/{first}/manifest.json")).expect("manifest"),
        )
        .expect("json");
        m["outputs"]
            .as_array()
            .expect("outputs")
            .iter()
            .filter(|f| {
                f["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("published/indicators/"))
            })
            .map(|f| f["rows"].as_u64().expect("rows"))
            .sum()
    };
    let counted = skolegang(
        &moto,
        &[
            "--quiet",
            "query",
            "--output",
            "s3://skolegang/out",
            "--format",
            "csv",
            "SELECT count(*) AS n FROM indicators",
        ],
    );
    assert!(
        counted.status.success(),
        "{}",
        String::from_utf8_lossy(&counted.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&counted.stdout),
        format!("n\n{published_rows}\n")
    );

    // Unchanged input: no new run, `current` stays.
    let done = run(&[]);
    assert!(
        String::from_utf8_lossy(&done.stdout).is_empty(),
        "--quiet prints nothing"
    );
    assert_eq!(current(&store), first);

    // --force: a second complete run, `current` switched to it, the first kept.
    run(&["--force"]);
    let second = current(&store);
    assert_ne!(second, first);
    assert!(second > first, "run ids sort by time");
    assert_eq!(verified_outputs(&store, &second), outputs);
    // ... which republished every period of the first release from the store, frozen.
    let release: serde_json::Value = serde_json::from_slice::<serde_json::Value>(
        &get(&store, &format!("out/runs/{second}/manifest.json")).expect("manifest"),
    )
    .expect("json")["release"]
        .clone();
    assert_eq!(release["frozen_from"].as_str(), Some(first.as_str()));
    assert!(release["frozen_periods"].as_u64() > Some(0), "{release}");
    assert_eq!(release["new_periods"].as_array().map(Vec::len), Some(0));
    assert_eq!(release["drift"].as_array().map(Vec::len), Some(0));
    assert!(get(&store, &format!("out/runs/{first}/manifest.json")).is_some());

    // The lock is an object created only if absent: a live holder refuses the run (exit
    // 4); a holder whose process is gone is taken over.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("hostname")
        .trim()
        .to_string();
    let lock = |pid: u32| {
        let body =
            serde_json::json!({"pid": pid, "host": host, "started_at": "2026-11-23T01:00:00Z"});
        block_on(store.put(
            &ObjectPath::from("out/run.lock"),
            PutPayload::from(body.to_string().into_bytes()),
        ))
        .expect("lock");
    };
    lock(std::process::id());
    let a = args(&["--force"]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let refused = skolegang(&moto, &a);
    assert_eq!(
        refused.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(current(&store), second);
    lock(u32::MAX - 7);
    run(&["--force"]);
    assert_ne!(current(&store), second);
    assert!(get(&store, "out/run.lock").is_none());

    // Killed while writing the reports: `current` stays; the next run deletes the
    // incomplete run's objects.
    let before = current(&store);
    let killed = skolegang_with_fault(&moto, &a, Some("kill@bundles"));
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&killed.status),
        Some(9)
    );
    assert_eq!(current(&store), before);
    let incomplete = |s: &AmazonS3| -> Vec<String> {
        use futures::TryStreamExt;
        let keys: Vec<String> = block_on(
            s.list(Some(&ObjectPath::from("out/runs")))
                .map_ok(|m| m.location.to_string())
                .try_collect::<Vec<String>>(),
        )
        .expect("list");
        let mut runs: Vec<String> = keys
            .iter()
            .filter_map(|k| k.strip_prefix("out/runs/")?.split('/').next())
            .map(str::to_string)
            .collect();
        runs.sort();
        runs.dedup();
        runs.retain(|r| !keys.contains(&format!("out/runs/{r}/manifest.json")));
        runs
    };
    assert_eq!(incomplete(&store).len(), 1);
    run(&["--force"]);
    assert_eq!(incomplete(&store), Vec::<String>::new());
    verified_outputs(&store, &current(&store));
    // The private root holds no run the output does not (the killed run's private
    // folders went with it).
    let runs_under = |prefix: &str| -> std::collections::BTreeSet<String> {
        use futures::TryStreamExt;
        let keys: Vec<String> = block_on(
            store
                .list(Some(&ObjectPath::from(format!("{prefix}/runs"))))
                .map_ok(|m| m.location.to_string())
                .try_collect::<Vec<String>>(),
        )
        .expect("list");
        keys.iter()
            .filter_map(|k| {
                k.strip_prefix(&format!("{prefix}/runs/"))?
                    .split('/')
                    .next()
            })
            .map(str::to_string)
            .collect()
    };
    let private_runs = runs_under("out-private");
    assert!(!private_runs.is_empty());
    assert!(
        private_runs.is_subset(&runs_under("out")),
        "{private_runs:?}"
    );

    // The audit and a restricted-free query find the private record where it is.
    let audited = skolegang(&moto, &["--quiet", "audit", "s3://skolegang/out"]);
    assert!(
        audited.status.success(),
        "{}",
        String::from_utf8_lossy(&audited.stderr)
    );
    // A private root inside the output is refused.
    let inside = skolegang(
        &moto,
        &[
            "--quiet",
            "audit",
            "s3://skolegang/out",
            "--private-output",
            "s3://skolegang/out/private",
        ],
    );
    assert_eq!(inside.status.code(), Some(2));
}
