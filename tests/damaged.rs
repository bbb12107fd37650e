//! Damaged Parquet files: the 15 byte-mutated files that made 0.1.0 panic
//! inside arrow/parquet (`tests/regressions/corrupt-parquet/`, copied from the shared
//! regressions with their README). Each must be an input error that names the file
//! (exit 1), in `validate` and in `run`, with no panic text and nothing left behind.

use std::path::{Path, PathBuf};

use skolegang::error::ExitCode;
use skolegang::fixtures;

/// The base the files were mutated from: scale 0.001, seed 3, extract date 2025-07-31.
fn base(dir: &Path) {
    let opts = fixtures::Options {
        extract_date: skolegang::config::parse_date("2025-07-31").expect("date"),
        ..skolegang_tests::fixture_options(0.001, 3, 0)
    };
    fixtures::generate(dir, &opts).expect("generate");
}

/// The first Parquet file (sorted) of an extract folder, relative to the input.
fn first_file(input: &Path, extract: &str) -> String {
    let mut files: Vec<PathBuf> = skolegang_tests::walk(&input.join(extract))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    let first = files.first().expect("a file");
    first
        .strip_prefix(input)
        .expect("inside")
        .to_str()
        .expect("utf8")
        .to_string()
}

#[test]
fn every_damaged_file_is_an_input_error_naming_it() {
    let work = tempfile::tempdir().expect("tempdir");
    let clean = work.path().join("base");
    base(&clean);
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions/corrupt-parquet");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&cases)
        .expect("regressions")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 15);
    for (i, case) in files.iter().enumerate() {
        let name = case.file_stem().and_then(|n| n.to_str()).expect("name");
        let extract = name.rsplit_once('_').map(|(e, _)| e).expect("extract_n");
        let input = work.path().join(format!("input-{i}"));
        for f in skolegang_tests::walk(&clean) {
            let dest = input.join(f.strip_prefix(&clean).expect("inside"));
            std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
            std::fs::copy(&f, &dest).expect("copy");
        }
        let target = first_file(&input, extract);
        std::fs::copy(case, input.join(&target)).expect("replace");
        let err = skolegang_tests::validate(input.to_str().expect("utf8"), "2025-07-31")
            .expect_err("a damaged file is an error");
        assert_eq!(err.exit_code(), ExitCode::InputRejected, "{name}: {err}");
        assert!(err.to_string().contains(&target), "{name}: {err}");
        // The whole run: exit 1, nothing written.
        let out = work.path().join(format!("out-{i}"));
        let code = skolegang_tests::run_on(&input, &out, &["--extract-date", "2025-07-31"]);
        assert_eq!(code, ExitCode::InputRejected, "{name}");
        assert!(!out.exists(), "{name}: nothing is left behind");
    }
}

/// An input file: its path relative to the input, and its bytes.
type File = (String, Vec<u8>);

/// Every Parquet file of the base fixture (scale 0.001, seed 3), per extract.
/// Generated once per test process.
fn fixture_files() -> &'static Vec<Vec<File>> {
    static FILES: std::sync::OnceLock<Vec<Vec<File>>> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        base(dir.path());
        skolegang::contract::Extract::ALL
            .iter()
            .map(|e| {
                let mut files: Vec<File> = skolegang_tests::walk(&dir.path().join(e.name()))
                    .into_iter()
                    .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
                    .map(|p| {
                        let relative = p
                            .strip_prefix(dir.path())
                            .expect("inside")
                            .to_str()
                            .expect("utf8")
                            .to_string();
                        (relative, std::fs::read(&p).expect("read"))
                    })
                    .collect();
                files.sort();
                files
            })
            .collect()
    })
}

/// The fuzz run of one extract: `SKOLEGANG_FUZZ_CASES` mutations (8 in `make test`;
/// before a release, `make fuzz` runs 10,000 of each extract). Each takes one file of
/// the extract from the base fixture, sets one to three runs of 1–4 bytes to a value,
/// and validates it beside the one-row base of the other extracts: validation must
/// end with the input read or with an input error naming the file (exit 1) — never a
/// panic, another exit code, or an error that does not say which file.
fn fuzz(extract: skolegang::contract::Extract) {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let cases = std::env::var("SKOLEGANG_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let index = skolegang::contract::Extract::ALL
        .iter()
        .position(|e| *e == extract)
        .expect("an extract");
    let files = &fixture_files()[index];
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let tally = std::cell::RefCell::new(std::collections::BTreeMap::<&str, u32>::new());
    let strategy = (
        0..files.len(),
        proptest::collection::vec((any::<u32>(), 1usize..5, any::<u8>()), 1..4),
    );
    let result = runner.run(&strategy, |(pick, runs)| {
        let work = tempfile::tempdir().expect("tempdir");
        skolegang_tests::write_base(work.path());
        std::fs::remove_file(work.path().join(extract.name()).join("part-0.parquet")).expect("rm");
        let (relative, bytes) = &files[pick];
        let mut bytes = bytes.clone();
        for (at, len, value) in &runs {
            let start = *at as usize % bytes.len();
            let end = (start + len).min(bytes.len());
            bytes[start..end].fill(*value);
        }
        let target = work.path().join(relative);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::write(&target, &bytes).expect("write");
        match skolegang_tests::validate(work.path().to_str().expect("utf8"), "2025-07-31") {
            Ok(_) => *tally.borrow_mut().entry("read").or_default() += 1,
            Err(e) => {
                prop_assert_eq!(e.exit_code(), ExitCode::InputRejected, "{}", e);
                prop_assert!(e.to_string().contains(relative.as_str()), "{}", e);
                *tally
                    .borrow_mut()
                    .entry("input error naming the file")
                    .or_default() += 1;
            }
        }
        Ok(())
    });
    eprintln!(
        "fuzz {}: {cases} mutations: {:?}",
        extract.name(),
        tally.borrow()
    );
    if let Err(e) = result {
        panic!("fuzz {}: {e}", extract.name());
    }
}

#[test]
fn mutated_persons_files_never_panic() {
    fuzz(skolegang::contract::Extract::Persons);
}

#[test]
fn mutated_residence_files_never_panic() {
    fuzz(skolegang::contract::Extract::Residence);
}

#[test]
fn mutated_enrolment_files_never_panic() {
    fuzz(skolegang::contract::Extract::Enrolment);
}

#[test]
fn mutated_exams_files_never_panic() {
    fuzz(skolegang::contract::Extract::Exams);
}

#[test]
fn mutated_measures_files_never_panic() {
    fuzz(skolegang::contract::Extract::Measures);
}

#[test]
fn mutated_youth_education_files_never_panic() {
    fuzz(skolegang::contract::Extract::YouthEducation);
}
