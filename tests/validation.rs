//! Validation and the run agree: the most extreme accepted values are computed. Every
//! row rule of tests/cases/validation.txt is its own test in tests/cases.rs.

use skolegang::contract::Extract;
use skolegang_tests::{TextRow, parse_cases};

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
    accepted_and_computed(input);
}

/// The derivations run on the most extreme values validation accepts in every column —
/// the oldest dates Parquet can hold (day −2^31, some 5.9 million years ago), school
/// years 1900 and 2200, grades and levels at both ends, a 64-character person_id of
/// two-byte letters (a 9th-grader in 2025 too), measures and educations ending on the
/// extract date — so that
/// `validate` and `run` agree: what validation accepts, the run computes.
#[test]
fn the_run_computes_with_the_most_extreme_accepted_values_of_every_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (base, _) = parse_cases(include_str!("cases/validation.txt"));
    let mut rows: Vec<(Extract, TextRow)> = base.into_iter().map(|(e, r, _)| (e, r)).collect();
    let id = "ø".repeat(64);
    let oldest = format!("days:{}", i32::MIN);
    let extreme = format!(
        "persons: {id} | {oldest} | M
residence: {id} | 101 | {oldest} | 2026-10-31
residence: {id} | 860 | 2026-11-01 | NULL
enrolment: {id} | 1900 | 0 | 000000 | 101 | folkeskole | almen
enrolment: {id} | 2200 | 10 | 999999 | 860 | efterskole | specialklasse
enrolment: {id} | 2025 | 9 | 101001 | 101 | folkeskole | almen
exams: {id} | 1900 | 9 | 110 | -3 | NULL
exams: {id} | 2200 | 10 | 999 | 12 | NULL
measures: {id} | m-oldest | anbringelse | BL § 52 | 99 | {oldest} | 2026-11-01 | 101
measures: {id} | m-newest | forebyggende | NULL | NULL | 2026-11-01 | NULL | 860
youth_education: {id} | stx | {oldest} | 2026-11-01 | fuldfoert
youth_education: {id} | eux | 2026-11-01 | NULL | igang"
    );
    rows.extend(skolegang_tests::parse_rows(&extreme));
    skolegang_tests::write_rows(dir.path(), &rows);
    let input = dir.path().to_str().expect("utf8");
    accepted_and_computed(input);
}

/// `validate` accepts every row of `input`, and `run` computes and publishes from it.
fn accepted_and_computed(input: &str) {
    let checked = skolegang_tests::validate(input, "2026-11-01").expect("valid input");
    for x in &checked.extracts {
        assert_eq!(
            x.validated.counts.rows_rejected,
            0,
            "{}: {:?}",
            x.extract().name(),
            x.validated.counts.rejected_by_reason
        );
    }
    let out = tempfile::tempdir().expect("tempdir");
    let code = skolegang_tests::run_on(
        std::path::Path::new(input),
        &out.path().join("out"),
        &["--extract-date", "2026-11-01"],
    );
    assert_eq!(code, skolegang::error::ExitCode::Success);
}
