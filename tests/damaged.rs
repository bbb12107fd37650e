//! Damaged Parquet files (issue 17): the 15 byte-mutated files that made 0.1.0 panic
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
        let code = skolegang_tests::cli(&[
            "run",
            "--no-pdf",
            "--input",
            input.to_str().expect("utf8"),
            "--extract-date",
            "2025-07-31",
            "--output",
            out.to_str().expect("utf8"),
        ]);
        assert_eq!(code, ExitCode::InputRejected, "{name}");
        assert!(!out.exists(), "{name}: nothing is left behind");
    }
}

proptest::proptest! {
    // A bounded fuzz run in `make test`; before a release, run it long:
    // `PROPTEST_CASES=10000 cargo test -p skolegang-tests --test e2e damaged::mutated`.
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]

    /// Any few bytes of any extract file changed: validation ends with the input read
    /// or with an input error naming the file, never with a panic or another exit.
    #[test]
    fn mutated_files_never_panic(
        extract in 0usize..6,
        flips in proptest::collection::vec((proptest::prelude::any::<u32>(), proptest::prelude::any::<u8>()), 1..6),
    ) {
        let work = tempfile::tempdir().expect("tempdir");
        skolegang_tests::write_base(work.path());
        let name = skolegang::contract::Extract::ALL[extract].name();
        let file = work.path().join(name).join("part-0.parquet");
        let mut bytes = std::fs::read(&file).expect("read");
        for (at, value) in &flips {
            let i = *at as usize % bytes.len();
            bytes[i] = *value;
        }
        std::fs::write(&file, &bytes).expect("write");
        match skolegang_tests::validate(work.path().to_str().expect("utf8"), "2026-11-01") {
            Ok(_) => {}
            Err(e) => {
                proptest::prop_assert_eq!(e.exit_code(), ExitCode::InputRejected, "{}", e);
                proptest::prop_assert!(e.to_string().contains(name), "{}", e);
            }
        }
    }
}
