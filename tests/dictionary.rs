//! The data dictionary (`skolegang describe`, docs/data-dictionary.md) is current and
//! covers every column of every Parquet file a run writes, with the stored types.

use std::path::{Path, PathBuf};

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use skolegang::dictionary::{TABLES, Table, markdown};
use skolegang::error::ExitCode;
use skolegang_tests::{PROJECT_KEY, project_key, restricted_run, walk};

#[test]
fn the_committed_data_dictionary_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/data-dictionary.md");
    let committed = std::fs::read_to_string(&path).expect("docs/data-dictionary.md");
    assert!(
        committed == markdown(),
        "docs/data-dictionary.md is out of date: run `make dictionary`"
    );
}

/// (name, Arrow type) of every column stored in a Parquet file.
fn stored_columns(file: &Path) -> Vec<(String, String)> {
    let bytes = bytes::Bytes::from(std::fs::read(file).expect("read"));
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).expect("parquet");
    reader
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().to_string()))
        .collect()
}

fn described(table: &Table) -> Vec<(String, String)> {
    table
        .columns
        .iter()
        .map(|c| (c.name.to_string(), c.arrow_type.to_string()))
        .collect()
}

fn parquet_under(dir: &Path) -> Vec<PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect()
}

#[test]
fn describe_covers_every_column_of_every_output_with_its_stored_type() {
    let out = tempfile::tempdir().expect("tempdir");
    let root = out.path().join("out");
    let key = project_key(out.path(), "project.key", PROJECT_KEY);
    assert_eq!(restricted_run(&root, &key), ExitCode::Success);
    let run = root.join("current");
    let table = |name: &str| {
        TABLES
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no table {name} in the dictionary"))
    };
    let mut checked = 0;
    for (name, folder) in [
        ("indicators", "published/indicators"),
        ("rankings", "published/rankings"),
        ("report_indikatorer", "published/reports"),
        ("cohort_fp9", "restricted/cohort_fp9"),
        ("cohort_age", "restricted/cohort_age"),
        ("restricted_rankings", "restricted/rankings"),
        ("disclosure_record", "disclosure"),
    ] {
        let files = parquet_under(&run.join(folder));
        assert!(!files.is_empty(), "{folder}");
        for f in files {
            let mut stored = stored_columns(&f);
            if name == "indicators" {
                // Hive partitioning: the indicator is the folder name.
                assert!(f.to_string_lossy().contains("indicator="));
                stored.insert(0, ("indicator".into(), "Utf8".into()));
            }
            assert_eq!(described(table(name)), stored, "{}", f.display());
            checked += 1;
        }
    }
    // Quarantine: the extract's contract columns, then the three described here.
    let quarantine = described(table("quarantine"));
    for extract in skolegang::contract::Extract::ALL {
        let f = run.join(format!("quarantine/{}/part-0.parquet", extract.name()));
        let stored = stored_columns(&f);
        let contract: Vec<&str> = extract.columns().iter().map(|c| c.name).collect();
        let names: Vec<&str> = stored.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names[..contract.len()], contract[..], "{}", f.display());
        assert_eq!(stored[contract.len()..], quarantine[1..], "{}", f.display());
        checked += 1;
    }
    assert!(checked > 100, "{checked} files checked");
}
