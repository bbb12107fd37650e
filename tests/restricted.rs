//! The restricted tier: person-level cohorts for approved projects, with per-project
//! pseudonyms (HMAC-SHA256 of the register ids under the project's key), private file
//! modes, and refused without a key.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use skolegang::error::ExitCode;
use skolegang_tests::{cli, project_key, read_parquet, restricted_run, sample_person_ids, walk};

const KEY_A: &str = "project A: 0123456789abcdef0123456789abcdef";
const KEY_B: &str = "project B: fedcba9876543210fedcba9876543210";

/// The values of `column` in both restricted cohorts.
fn ids(root: &Path, column: &str) -> BTreeSet<String> {
    ["cohort_fp9", "cohort_age"]
        .iter()
        .flat_map(|t| {
            let b = read_parquet(&root.join("current/restricted").join(t));
            let c = b.column_by_name(column).expect("column").clone();
            c.as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn pseudonyms_are_stable_per_key_disjoint_across_keys_and_hide_every_register_id() {
    let out = tempfile::tempdir().expect("tempdir");
    let key_a = project_key(out.path(), "a.key", KEY_A);
    let key_b = project_key(out.path(), "b.key", KEY_B);
    let (a1, a2, b) = (
        out.path().join("a1"),
        out.path().join("a2"),
        out.path().join("b"),
    );
    assert_eq!(restricted_run(&a1, &key_a), ExitCode::Success);
    assert_eq!(restricted_run(&a2, &key_a), ExitCode::Success);
    assert_eq!(restricted_run(&b, &key_b), ExitCode::Success);

    let persons = sample_person_ids();
    let pa = ids(&a1, "person_id");
    assert!(pa.len() > 1000);
    // HMAC-SHA256 in lower-case hex, the documented function of the original id.
    assert!(pa.iter().all(|p| {
        p.len() == 64
            && p.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    }));
    let key = skolegang::pseudonym::ProjectKey::from_bytes(KEY_A.as_bytes()).expect("key");
    let expected: BTreeSet<String> = persons.iter().map(|id| key.pseudonym(id)).collect();
    assert!(
        pa.is_subset(&expected),
        "every pseudonym is HMAC(key A, a person_id)"
    );
    // No original id anywhere in the restricted files' id columns.
    assert!(pa.is_disjoint(&persons));
    // Same key, same pseudonyms (a second run); another key, none in common.
    assert_eq!(ids(&a2, "person_id"), pa);
    assert!(ids(&b, "person_id").is_disjoint(&pa));
    // The deciding measure's id is pseudonymised too: it would link projects as well.
    let ma = ids(&a1, "deciding_measure_id");
    assert!(!ma.is_empty());
    assert!(ma.iter().all(|m| m.len() == 64));
    assert!(ids(&b, "deciding_measure_id").is_disjoint(&ma));
    // The cohorts are written sorted by their key, the *pseudonymised* person_id last,
    // so two runs write the same bytes, and the row order says nothing about the
    // register ids: under another key the same persons come in another order.
    for (t, keys) in [
        ("cohort_fp9", &["school_year"][..]),
        ("cohort_age", &["year", "age"]),
    ] {
        let order = |root: &Path| -> Vec<(Vec<i64>, String)> {
            let rows = read_parquet(&root.join("current/restricted").join(t));
            let columns: Vec<Vec<i64>> = keys
                .iter()
                .map(|k| {
                    let c = cast(rows.column_by_name(k).expect("key"), &DataType::Int64)
                        .expect("integer key");
                    c.as_primitive::<Int64Type>().values().to_vec()
                })
                .collect();
            let ids = rows.column_by_name("person_id").expect("person_id");
            let ids = ids.as_string::<i32>();
            (0..rows.num_rows())
                .map(|i| {
                    (
                        columns.iter().map(|c| c[i]).collect(),
                        ids.value(i).to_string(),
                    )
                })
                .collect()
        };
        let (rows_a, rows_b) = (order(&a1), order(&b));
        assert!(
            rows_a.windows(2).all(|w| w[0] <= w[1]),
            "{t}: not sorted by pseudonym"
        );
        assert!(
            rows_b.windows(2).all(|w| w[0] <= w[1]),
            "{t}: not sorted by pseudonym"
        );
        // Which original person is in row i: the original order is not kept.
        let original = |rows: &[(Vec<i64>, String)], key: &skolegang::pseudonym::ProjectKey| {
            let back: std::collections::HashMap<String, &String> =
                persons.iter().map(|p| (key.pseudonym(p), p)).collect();
            rows.iter()
                .map(|(_, p)| back[p].clone())
                .collect::<Vec<String>>()
        };
        let key_b = skolegang::pseudonym::ProjectKey::from_bytes(KEY_B.as_bytes()).expect("key");
        let (orig_a, orig_b) = (original(&rows_a, &key), original(&rows_b, &key_b));
        assert_eq!(orig_a.len(), orig_b.len());
        assert_ne!(
            orig_a, orig_b,
            "{t}: two projects' files line up row by row"
        );
        let mut sorted = orig_a.clone();
        sorted.sort();
        assert_ne!(orig_a, sorted, "{t}: rows follow the register ids");
        let file = |root: &Path| {
            std::fs::read(
                root.join("current/restricted")
                    .join(t)
                    .join("part-0.parquet"),
            )
            .expect("read")
        };
        assert!(file(&a1) == file(&a2), "{t} differs between two runs");
        let rows = read_parquet(&a1.join("current/restricted").join(t));
        let columns: Vec<Vec<i64>> = keys
            .iter()
            .map(|k| {
                let c = rows.column_by_name(k).expect("key column");
                let c = cast(c, &DataType::Int64).expect("integer key");
                c.as_primitive::<Int64Type>().values().to_vec()
            })
            .collect();
        let key = |i: usize| columns.iter().map(|c| c[i]).collect::<Vec<_>>();
        assert!(rows.num_rows() > 1000);
        assert!(
            (1..rows.num_rows()).all(|i| key(i - 1) <= key(i)),
            "{t} is not sorted by {keys:?}"
        );
    }
    // And no original person_id is written in the restricted files' bytes at all.
    for f in walk(&a1.join("current/restricted")) {
        let bytes = std::fs::read(&f).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        let sample: Vec<&String> = persons.iter().filter(|p| p.len() >= 6).take(200).collect();
        assert!(
            sample.iter().all(|p| !text.contains(p.as_str())),
            "{}",
            f.display()
        );
    }
}

#[test]
fn person_level_files_are_private_on_a_local_disk() {
    let out = tempfile::tempdir().expect("tempdir");
    let key = project_key(out.path(), "a.key", KEY_A);
    let root = out.path().join("out");
    assert_eq!(restricted_run(&root, &key), ExitCode::Success);
    let run = root.join("current");
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    for top in ["restricted", "quarantine"] {
        let dir = run.join(top);
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        let files = walk(&dir);
        assert!(!files.is_empty());
        for f in files {
            assert_eq!(mode(&f), 0o600, "{}", f.display());
            assert_eq!(mode(f.parent().expect("folder")), 0o700, "{}", f.display());
        }
    }
}

#[test]
fn restricted_is_refused_without_a_usable_key() {
    let out = tempfile::tempdir().expect("tempdir");
    let root = out.path().join("out");
    let root_str = root.to_str().expect("utf8");
    assert_eq!(
        cli(&["run", "--no-pdf", "--restricted", "--output", root_str]),
        ExitCode::Usage
    );
    let short = project_key(out.path(), "short.key", "too short");
    assert_eq!(restricted_run(&root, &short), ExitCode::Usage);
    // 32 bytes, but 32 × `a`: fewer than 8 distinct byte values.
    let weak = project_key(out.path(), "weak.key", &"a".repeat(32));
    assert_eq!(restricted_run(&root, &weak), ExitCode::Usage);
    // 32 hand-typed hex digits: keygen's keys have 64.
    let typed = project_key(out.path(), "typed.key", "0123456789abcdef0123456789abcdef");
    assert_eq!(restricted_run(&root, &typed), ExitCode::Usage);
    // A good key that others can read is refused, as ssh refuses such a key.
    let open = project_key(out.path(), "open.key", KEY_A);
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert_eq!(restricted_run(&root, &open), ExitCode::Usage);
    // `skolegang keygen` writes a usable key with mode 0600, and never overwrites one.
    let made = out.path().join("made.key");
    let made_str = made.to_str().expect("utf8");
    assert_eq!(cli(&["keygen", made_str]), ExitCode::Success);
    let mode = std::fs::metadata(&made).expect("key").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let first = std::fs::read(&made).expect("read");
    assert_ne!(cli(&["keygen", made_str]), ExitCode::Success);
    assert_eq!(
        std::fs::read(&made).expect("read"),
        first,
        "not overwritten"
    );
    assert!(skolegang::pseudonym::ProjectKey::load(&made).is_ok());
    let missing = out.path().join("no.key");
    assert_eq!(
        restricted_run(&root, missing.to_str().expect("utf8")),
        ExitCode::Usage
    );
    let key = project_key(out.path(), "a.key", KEY_A);
    assert_eq!(
        cli(&[
            "run",
            "--no-pdf",
            "--project-key-file",
            &key,
            "--output",
            root_str
        ]),
        ExitCode::Usage,
        "a key without --restricted is a mistake, not ignored"
    );
    assert!(!root.exists(), "nothing written");
}
