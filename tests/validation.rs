//! Every row rule, as data: tests/cases/validation.txt.

use std::collections::BTreeMap;

use skolegang::contract::Extract;
/// The reason a row must be rejected for; None when it must be accepted.
type Expected = Option<String>;

use skolegang_tests::{TextRow, batch, parse_cases, validate, write_parquet};

use skolegang_tests::reasons_by_row;

#[test]
fn every_row_rule_quarantines_exactly_the_offending_rows() {
    let text = include_str!("cases/validation.txt");
    let (base, cases) = parse_cases(text);
    assert!(
        cases.len() >= 50,
        "the case file holds {} cases",
        cases.len()
    );
    let mut reasons_seen = std::collections::BTreeSet::new();
    for (name, rows) in &cases {
        let dir = tempfile::tempdir().expect("tempdir");
        // Rows per extract, base first; remember each row's expected reason by position.
        let mut per_extract: BTreeMap<Extract, Vec<(TextRow, Expected)>> = BTreeMap::new();
        for (e, values, reason) in base.iter().chain(rows) {
            per_extract
                .entry(*e)
                .or_default()
                .push((values.clone(), reason.clone()));
        }
        for (e, rows) in &per_extract {
            let values: Vec<_> = rows.iter().map(|r| r.0.clone()).collect();
            write_parquet(
                dir.path(),
                &format!("{}/part-0.parquet", e.name()),
                &batch(*e, &values),
            );
        }
        let checked = validate(dir.path().to_str().expect("utf8"), "2026-11-01")
            .unwrap_or_else(|e| panic!("case `{name}`: {e}"));
        for x in &checked.extracts {
            let e = x.validated.extract;
            let expected: Vec<Option<String>> =
                per_extract[&e].iter().map(|r| r.1.clone()).collect();
            let got = reasons_by_row(x, expected.len());
            assert_eq!(got, expected, "case `{name}`, extract {}", e.name());
            // Counts: read = accepted + rejected, and the reasons tally.
            let c = &x.validated.counts;
            assert_eq!(c.rows_read, expected.len() as u64, "case `{name}`");
            assert_eq!(
                c.rows_read,
                c.rows_accepted + c.rows_rejected,
                "case `{name}`"
            );
            let mut tally: BTreeMap<String, u64> = BTreeMap::new();
            for r in expected.iter().flatten() {
                *tally.entry(r.clone()).or_default() += 1;
                reasons_seen.insert(r.clone());
            }
            assert_eq!(
                c.rejected_by_reason,
                tally,
                "case `{name}`, extract {}",
                e.name()
            );
        }
    }
    // The documented reason codes are all exercised.
    let documented = include_str!("../docs/validation.md");
    for code in reasons_seen.iter() {
        assert!(
            documented.contains(&format!("`{code}`")),
            "{code} is not documented in docs/validation.md"
        );
    }
    assert_eq!(
        reasons_seen.len(),
        26,
        "reasons exercised: {reasons_seen:?}"
    );
}

/// The derivations run on the most extreme school years validation accepts (1900 and
/// 2200), so that `validate` and `run` agree: what validation accepts, the run computes.
#[test]
fn the_run_computes_with_the_most_extreme_accepted_school_years() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rows = skolegang_tests::parse_rows(
        "persons: b1 | 2010-03-14 | K
residence: b1 | 101 | 2010-03-14 | NULL
enrolment: b1 | 1900 | 9 | 101001 | 101 | folkeskole | almen
exams: b1 | 1900 | 9 | 110 | 7 | NULL
measures: b1 | m-b1 | forebyggende | BL § 32, stk. 1, nr. 3 | NULL | 2020-01-01 | 2021-01-01 | 101
youth_education: b1 | stx | 2026-08-03 | NULL | igang",
    );
    // And an ordinary pupil, so that there are cells to publish.
    rows.extend(skolegang_tests::parse_rows(
        "persons: b3 | 2010-03-14 | K
residence: b3 | 101 | 2010-03-14 | NULL
enrolment: b3 | 2025 | 9 | 101001 | 101 | folkeskole | almen
exams: b3 | 2025 | 9 | 110 | 7 | NULL",
    ));
    rows.extend(skolegang_tests::parse_rows(
        "persons: b2 | 2010-03-14 | M
residence: b2 | 101 | 2010-03-14 | NULL
enrolment: b2 | 2200 | 9 | 101001 | 101 | folkeskole | almen
exams: b2 | 2200 | 9 | 110 | 7 | NULL",
    ));
    skolegang_tests::write_rows(dir.path(), &rows);
    let input = dir.path().to_str().expect("utf8");
    let checked = skolegang_tests::validate(input, "2026-11-01").expect("valid input");
    let rejected: u64 = checked
        .extracts
        .iter()
        .map(|x| x.validated.counts.rows_rejected)
        .sum();
    assert_eq!(rejected, 0, "every row is accepted");
    let out = tempfile::tempdir().expect("tempdir");
    let code = skolegang_tests::cli(&[
        "run",
        "--no-pdf",
        "--input",
        input,
        "--extract-date",
        "2026-11-01",
        "--output",
        out.path().join("out").to_str().expect("utf8"),
    ]);
    assert_eq!(code, skolegang::error::ExitCode::Success);
}
