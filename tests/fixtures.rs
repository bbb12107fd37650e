//! The synthetic generator: determinism, planted bad rows, and row accounting.

use std::collections::BTreeSet;

use proptest::prelude::*;
use skolegang::error::ExitCode;
use skolegang::fixtures::{self, PlantedFile};
use skolegang_tests::{fixture_options, quarantine, run_on, validate, walk};

#[test]
fn the_same_seed_gives_byte_identical_fixtures() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let c = tempfile::tempdir().expect("tempdir");
    fixtures::generate(a.path(), &fixture_options(0.003, 7, 2)).expect("generate");
    fixtures::generate(b.path(), &fixture_options(0.003, 7, 2)).expect("generate");
    fixtures::generate(c.path(), &fixture_options(0.003, 8, 2)).expect("generate");
    let files_a = walk(a.path());
    let files_b = walk(b.path());
    assert!(
        files_a.len() > 50,
        "several files per extract: {}",
        files_a.len()
    );
    assert_eq!(files_a.len(), files_b.len());
    for (fa, fb) in files_a.iter().zip(&files_b) {
        assert_eq!(
            fa.strip_prefix(a.path()).ok(),
            fb.strip_prefix(b.path()).ok()
        );
        assert!(
            std::fs::read(fa).ok() == std::fs::read(fb).ok(),
            "{} differs",
            fa.display()
        );
    }
    let persons =
        |d: &std::path::Path| std::fs::read(d.join("persons/part-2000.parquet")).expect("read");
    assert_ne!(
        persons(a.path()),
        persons(c.path()),
        "another seed gives other data"
    );
}

#[test]
fn bad_rows_5_quarantines_exactly_what_was_planted_and_its_orphans() {
    let input = tempfile::tempdir().expect("tempdir");
    let summary = fixtures::generate(input.path(), &fixture_options(0.01, 3, 5)).expect("generate");
    let planted: PlantedFile = serde_json::from_slice(
        &std::fs::read(input.path().join("planted.json")).expect("planted.json"),
    )
    .expect("json");
    assert_eq!(planted.rejected, summary.planted);
    // Every reason of every extract is planted 5 times (twice that for rules about two rows).
    let reasons: BTreeSet<_> = planted
        .rejected
        .iter()
        .map(|p| (p.extract.clone(), p.reason.clone()))
        .collect();
    assert_eq!(reasons.len(), 5 + 7 + 9 + 9 + 11 + 8, "{reasons:?}");
    assert!(
        planted
            .rejected
            .iter()
            .filter(|p| p.reason == "orphan_person")
            .count()
            > 6 * 5,
        "persons' rows orphaned too"
    );

    // The planted measures exceed the default 1 % limit at this scale: allow 5 %.
    let cfg = input.path().join("limit.toml");
    std::fs::write(&cfg, "max_rejected_share = 0.05\n").expect("write");
    let out = tempfile::tempdir().expect("tempdir");
    let code = run_on(
        input.path(),
        out.path(),
        &[
            "--config",
            cfg.to_str().expect("utf8"),
            "--extract-date",
            "2026-11-01",
        ],
    );
    assert_eq!(code, ExitCode::Success);
    let got = quarantine(&out.path().join("current"));
    let want: BTreeSet<_> = planted
        .rejected
        .iter()
        .map(|p| {
            (
                p.extract.clone(),
                p.source_file.clone(),
                p.source_row,
                p.reason.clone(),
            )
        })
        .collect();
    let missing: Vec<_> = want.difference(&got).take(5).collect();
    let extra: Vec<_> = got.difference(&want).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, unexpected {extra:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    /// For random plantings, every row is accounted for: read = accepted + rejected,
    /// read = rows written, rejected = rows planted.
    #[test]
    fn every_row_is_accounted_for(seed in 0u64..1000, bad_rows in 0usize..4) {
        let dir = tempfile::tempdir().expect("tempdir");
        let summary = fixtures::generate(dir.path(), &fixture_options(0.002, seed, bad_rows)).expect("generate");
        let checked = validate(dir.path().to_str().expect("utf8"), fixtures::DEFAULT_EXTRACT_DATE).expect("validate");
        let mut rejected = 0;
        for x in &checked.extracts {
            let c = &x.validated.counts;
            let name = x.validated.extract.name();
            prop_assert_eq!(c.rows_read, c.rows_accepted + c.rows_rejected);
            prop_assert_eq!(c.rows_read, summary.rows[name]);
            prop_assert_eq!(c.rows_read, x.files.iter().map(|f| f.rows).sum::<u64>());
            prop_assert_eq!(c.rows_rejected, c.rejected_by_reason.values().sum::<u64>());
            rejected += c.rows_rejected;
        }
        prop_assert_eq!(rejected, summary.planted.len() as u64);
    }
}
