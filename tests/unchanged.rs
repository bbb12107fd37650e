//! The published numbers of the committed sample do not move: a fingerprint of every
//! published table's content (decoded rows, not file bytes, so a new footer or version
//! does not count) is committed in tests/snapshots/sample-published.sha256. A
//! performance change must leave it alone; a change meant to alter published numbers
//! updates it on purpose (the failure message prints the new value) and says why in
//! the CHANGELOG.

use std::path::Path;

use datafusion::arrow::csv::WriterBuilder;
use sha2::{Digest, Sha256};
use skolegang::error::ExitCode;
use skolegang_tests::{read_parquet, sample_run, walk};

#[test]
fn the_samples_published_tables_are_unchanged() {
    let out = tempfile::tempdir().expect("tempdir");
    let root = out.path().join("out");
    assert_eq!(sample_run(&root, &[]), ExitCode::Success);
    let run = root.join("current");
    let mut files: Vec<_> = walk(&run.join("published"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    let mut hash = Sha256::new();
    for f in &files {
        let rel = f.strip_prefix(&run).expect("inside").display().to_string();
        hash.update(rel.as_bytes());
        let mut csv = Vec::new();
        let mut w = WriterBuilder::new().with_header(true).build(&mut csv);
        w.write(&read_parquet(f)).expect("csv");
        drop(w);
        hash.update(&csv);
    }
    let now = hex::encode(hash.finalize());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots/sample-published.sha256");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(files.len() > 100, "{} files", files.len());
    assert_eq!(
        committed.trim(),
        now,
        "the sample's published tables changed; if that is intended, write {now} into {}",
        path.display()
    );
}
