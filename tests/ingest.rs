//! Ingest: schemas, fatal errors, several files, hive partitions, file:// URLs.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Int32Array, LargeStringArray, RecordBatch, StringViewArray, UInt8Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use skolegang::contract::Extract;
use skolegang::error::{Error, ExitCode};
use skolegang_tests::{batch, cli, split_row, validate, write_base, write_parquet};

fn expect_fatal(dir: &std::path::Path, file: &str, column: Option<&str>) {
    let err = validate(dir.to_str().expect("utf8"), "2026-11-01").expect_err("a fatal input error");
    let msg = err.to_string();
    assert_eq!(err.exit_code(), ExitCode::InputRejected, "{msg}");
    assert!(msg.contains(file), "message names the file {file}: {msg}");
    if let Some(c) = column {
        assert!(
            msg.contains(&format!("`{c}`")),
            "message names the column {c}: {msg}"
        );
    }
    // Through the CLI: exit 1 and nothing written under the output root.
    let out = tempfile::tempdir().expect("tempdir");
    let out_root = out.path().join("out");
    let code = cli(&[
        "run",
        "--input",
        dir.to_str().expect("utf8"),
        "--output",
        out_root.to_str().expect("utf8"),
        "--extract-date",
        "2026-11-01",
    ]);
    assert_eq!(code, ExitCode::InputRejected);
    assert!(
        !out_root.exists(),
        "nothing may be published after a fatal error"
    );
}

fn without_column(b: &RecordBatch, name: &str) -> RecordBatch {
    let keep: Vec<usize> = (0..b.num_columns())
        .filter(|i| b.schema().field(*i).name() != name)
        .collect();
    b.project(&keep).expect("project")
}

fn replace_column(b: &RecordBatch, name: &str, array: ArrayRef) -> RecordBatch {
    let schema = b.schema();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if f.name() == name {
                Field::new(name, array.data_type().clone(), true)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .zip(b.columns())
        .map(|(f, c)| {
            if f.name() == name {
                Arc::clone(&array)
            } else {
                Arc::clone(c)
            }
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).expect("batch")
}

fn rows(extract: Extract, text: &[&str]) -> RecordBatch {
    batch(
        extract,
        &text.iter().map(|t| split_row(t)).collect::<Vec<_>>(),
    )
}

#[test]
fn a_missing_column_is_fatal_and_names_file_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let b = rows(Extract::Persons, &["p | 2010-01-01 | K"]);
    write_parquet(
        dir.path(),
        "persons/part-0.parquet",
        &without_column(&b, "sex"),
    );
    expect_fatal(dir.path(), "persons/part-0.parquet", Some("sex"));
}

#[test]
fn a_wrong_type_is_fatal_and_names_file_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let b = rows(Extract::Exams, &["b1 | 2025 | 9 | 110 | 7 | NULL"]);
    let as_text = cast(b.column(4), &DataType::Utf8).expect("cast");
    write_parquet(
        dir.path(),
        "exams/part-1.parquet",
        &replace_column(&b, "grade", as_text),
    );
    expect_fatal(dir.path(), "exams/part-1.parquet", Some("grade"));
    // A date column stored as a string is also a type error.
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let b = rows(Extract::Persons, &["p | 2010-01-01 | K"]);
    let as_text: ArrayRef = Arc::new(datafusion::arrow::array::StringArray::from(vec![
        "2010-01-01",
    ]));
    write_parquet(
        dir.path(),
        "persons/part-0.parquet",
        &replace_column(&b, "birth_date", as_text),
    );
    expect_fatal(dir.path(), "persons/part-0.parquet", Some("birth_date"));
}

#[test]
fn an_unreadable_file_is_fatal_and_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    std::fs::write(
        dir.path().join("measures/part-9.parquet"),
        b"PAR1 this is not parquet",
    )
    .expect("write");
    expect_fatal(dir.path(), "measures/part-9.parquet", None);
    // A truncated file: a real Parquet file cut in half.
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let full = std::fs::read(dir.path().join("enrolment/part-0.parquet")).expect("read");
    std::fs::write(
        dir.path().join("enrolment/part-0.parquet"),
        &full[..full.len() / 2],
    )
    .expect("write");
    expect_fatal(dir.path(), "enrolment/part-0.parquet", None);
}

#[test]
fn a_broken_symlink_is_fatal_and_an_upper_case_extension_is_read() {
    // A `*.parquet` link to a share that is not mounted: its rows would be lost.
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    std::os::unix::fs::symlink(
        "/nonexistent/share/part-7.parquet",
        dir.path().join("exams/part-7.parquet"),
    )
    .expect("symlink");
    expect_fatal(dir.path(), "exams/part-7.parquet", None);
    // A folder link likewise.
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    std::os::unix::fs::symlink(
        "/nonexistent/share",
        dir.path().join("exams/school_year=2030"),
    )
    .expect("symlink");
    expect_fatal(dir.path(), "exams/school_year=2030", None);

    // `.PARQUET` is a Parquet file too: its rows are read, not skipped.
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let before = validate(dir.path().to_str().expect("utf8"), "2026-11-01").expect("valid");
    let copy = dir.path().join("exams/PART-1.PARQUET");
    std::fs::copy(dir.path().join("exams/part-0.parquet"), &copy).expect("copy");
    let exams_rows = before
        .extracts
        .iter()
        .find(|x| x.extract() == Extract::Exams)
        .map(|x| x.validated.counts.rows_read)
        .expect("exams");
    let after = validate(dir.path().to_str().expect("utf8"), "2026-11-01").expect("valid");
    assert_eq!(
        after.total(|c| c.rows_read),
        before.total(|c| c.rows_read) + exams_rows
    );
}

/// `file` with a rewritten footer claiming `factor` times the rows of each row group,
/// and as many values in each column chunk (a footer that agrees with itself): the data
/// pages are left as they are.
fn lie_about_rows(file: &std::path::Path, factor: i64) {
    rewrite_footer(file, |rg| {
        let columns = rg
            .columns()
            .iter()
            .map(|c| {
                let n = c.num_values() * factor;
                c.clone()
                    .into_builder()
                    .set_num_values(n)
                    .build()
                    .expect("chunk")
            })
            .collect();
        rg.clone()
            .into_builder()
            .set_num_rows(rg.num_rows() * factor)
            .set_column_metadata(columns)
            .build()
            .expect("row group")
    });
}

#[test]
fn a_footer_that_claims_other_rows_than_the_file_holds_is_fatal() {
    // The row groups claim ten times the rows their pages hold (the writer makes the
    // file's total agree with them).
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    lie_about_rows(&dir.path().join("persons/part-0.parquet"), 10);
    expect_fatal(dir.path(), "persons/part-0.parquet", None);
    // A claim near 2^62 rows.
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    lie_about_rows(&dir.path().join("persons/part-0.parquet"), 1 << 61);
    expect_fatal(dir.path(), "persons/part-0.parquet", None);
    // Two files of 2^62 rows each: their run-wide row ordinals would overflow.
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let persons = dir.path().join("persons");
    std::fs::copy(
        persons.join("part-0.parquet"),
        persons.join("part-1.parquet"),
    )
    .expect("copy");
    for f in ["part-0.parquet", "part-1.parquet"] {
        lie_about_rows(&persons.join(f), 1 << 62);
    }
    expect_fatal(dir.path(), "persons/part-1.parquet", None);
}

#[test]
fn an_input_that_is_a_file_or_a_symlink_loop_is_an_input_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("extracts.parquet");
    std::fs::write(&file, b"not a folder").expect("write");
    let a = dir.path().join("a");
    std::os::unix::fs::symlink(dir.path().join("b"), &a).expect("symlink");
    std::os::unix::fs::symlink(&a, dir.path().join("b")).expect("symlink");
    for input in [&file, &a] {
        let err = validate(input.to_str().expect("utf8"), "2026-11-01").expect_err("fatal");
        assert_eq!(err.exit_code(), ExitCode::InputRejected, "{err}");
        assert!(
            err.to_string().contains(input.to_str().expect("utf8")),
            "{err}"
        );
    }
}

#[test]
fn a_missing_or_empty_extract_folder_is_fatal_and_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    std::fs::remove_dir_all(dir.path().join("youth_education")).expect("rm");
    expect_fatal(dir.path(), "youth_education/", None);
    std::fs::create_dir_all(dir.path().join("youth_education")).expect("mkdir");
    expect_fatal(dir.path(), "youth_education/", None);
}

#[test]
fn integers_of_any_width_and_every_string_encoding_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let b = rows(
        Extract::Persons,
        &["b1 | 2010-03-14 | K", "p2 | 2011-01-01 | M"],
    );
    let large: ArrayRef = Arc::new(LargeStringArray::from(vec!["b1", "p2"]));
    let view: ArrayRef = Arc::new(StringViewArray::from(vec!["K", "M"]));
    let b = replace_column(&replace_column(&b, "person_id", large), "sex", view);
    write_parquet(dir.path(), "persons/part-0.parquet", &b);
    let e = rows(Extract::Exams, &["b1 | 2025 | 9 | 110 | 7 | NULL"]);
    let e = replace_column(&e, "school_year", Arc::new(Int32Array::from(vec![2025])));
    let e = replace_column(&e, "grade_level", Arc::new(UInt8Array::from(vec![9u8])));
    write_parquet(dir.path(), "exams/part-0.parquet", &e);
    let checked = validate(dir.path().to_str().expect("utf8"), "2026-11-01").expect("valid input");
    for x in &checked.extracts {
        assert_eq!(
            x.validated.counts.rows_rejected,
            0,
            "{}",
            x.validated.extract.name()
        );
    }
    assert_eq!(checked.extracts[0].validated.counts.rows_accepted, 2);

    // A date written from Arrow's Date64 (stored in Parquet as DATE) is a date.
    let b = rows(
        Extract::Persons,
        &["b1 | 2010-03-14 | K", "p2 | 2011-01-01 | M"],
    );
    let days = cast(
        b.column_by_name("birth_date").expect("birth_date"),
        &DataType::Date64,
    )
    .expect("date64");
    let b = replace_column(&b, "birth_date", days);
    write_parquet(dir.path(), "persons/part-0.parquet", &b);
    let checked = validate(dir.path().to_str().expect("utf8"), "2026-11-01").expect("valid input");
    assert_eq!(checked.extracts[0].validated.counts.rows_accepted, 2);
    assert_eq!(checked.extracts[0].validated.counts.rows_rejected, 0);
}

#[test]
fn several_files_hive_partitions_and_file_urls() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    // exams in three files: the base file, and two hive partitions whose files leave the
    // partition column out (as Spark writes them); one sets it in the file as well.
    let part = rows(
        Extract::Exams,
        &[
            "b1 | 2024 | 9 | 140 | 4 | NULL",
            "b1 | 2024 | 9 | 150 | 2 | NULL",
        ],
    );
    write_parquet(
        dir.path(),
        "exams/school_year=2024/part-0.parquet",
        &without_column(&part, "school_year"),
    );
    let part = rows(Extract::Exams, &["b1 | 2023 | 10 | 110 | 12 | NULL"]);
    write_parquet(
        dir.path(),
        "exams/school_year=2023/grade_level=10/part-0.parquet",
        &without_column(&without_column(&part, "school_year"), "grade_level"),
    );
    let part = rows(Extract::Exams, &["b1 | 2022 | 9 | 110 | 12 | NULL"]);
    write_parquet(dir.path(), "exams/school_year=2022/part-0.parquet", &part);
    // Files that are not data are skipped.
    std::fs::write(dir.path().join("exams/_SUCCESS"), b"").expect("write");
    let url = format!("file://{}", dir.path().display());
    let checked = validate(&url, "2026-11-01").expect("valid input");
    let exams = &checked.extracts[3];
    assert_eq!(exams.files.len(), 4);
    assert_eq!(exams.validated.counts.rows_read, 5);
    assert_eq!(exams.validated.counts.rows_rejected, 0);
    let years = datafusion::arrow::util::pretty::pretty_format_batches(
        &skolegang_tests::block_on(async {
            checked
                .ctx
                .sql("SELECT school_year, grade_level, count(*) AS n FROM exams GROUP BY 1, 2 ORDER BY 1, 2")
                .await
                .expect("sql")
                .collect()
                .await
                .expect("collect")
        }),
    )
    .expect("format")
    .to_string();
    for line in [
        "| 2022        | 9           | 1 |",
        "| 2023        | 10          | 1 |",
        "| 2024        | 9           | 2 |",
        "| 2025        | 9           | 1 |",
    ] {
        assert!(years.contains(line), "{line} in\n{years}");
    }
}

#[test]
fn a_bad_hive_partition_value_is_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let part = rows(Extract::Exams, &["b1 | 2024 | 9 | 140 | 4 | NULL"]);
    write_parquet(
        dir.path(),
        "exams/school_year=twenty/part-0.parquet",
        &without_column(&part, "school_year"),
    );
    let err = validate(dir.path().to_str().expect("utf8"), "2026-11-01").expect_err("fatal");
    assert!(
        matches!(err, Error::Schema { ref column, .. } if column == "school_year"),
        "{err}"
    );
}

/// `file` with its footer rewritten by `change` (row group by row group); the data pages
/// are left as they are.
fn rewrite_footer(
    file: &std::path::Path,
    change: impl Fn(
        &parquet::file::metadata::RowGroupMetaData,
    ) -> parquet::file::metadata::RowGroupMetaData,
) {
    use parquet::file::metadata::{
        FileMetaData, ParquetMetaData, ParquetMetaDataReader, ParquetMetaDataWriter,
    };
    let bytes = bytes::Bytes::from(std::fs::read(file).expect("read"));
    let meta = ParquetMetaDataReader::new()
        .parse_and_finish(&bytes)
        .expect("footer");
    let n = bytes.len();
    let footer_len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().expect("4 bytes")) as usize;
    let mut out = bytes[..n - 8 - footer_len].to_vec();
    let fm = meta.file_metadata();
    let row_groups: Vec<_> = meta.row_groups().iter().map(&change).collect();
    let total: i64 = row_groups.iter().map(|rg| rg.num_rows()).sum();
    let changed = ParquetMetaData::new(
        FileMetaData::new(
            fm.version(),
            total,
            fm.created_by().map(str::to_string),
            fm.key_value_metadata().cloned(),
            fm.schema_descr_ptr(),
            fm.column_orders().cloned(),
        ),
        row_groups,
    );
    ParquetMetaDataWriter::new(&mut out, &changed)
        .finish()
        .expect("write footer");
    std::fs::write(file, out).expect("write");
}

#[test]
fn a_column_chunk_whose_value_count_disagrees_with_its_rows_is_fatal() {
    // The footer's `sex` chunk claims one value more than the row group has rows.
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    rewrite_footer(&dir.path().join("persons/part-0.parquet"), |rg| {
        let columns = rg
            .columns()
            .iter()
            .map(|c| {
                if c.column_path().string() == "sex" {
                    let n = c.num_values() + 1;
                    c.clone()
                        .into_builder()
                        .set_num_values(n)
                        .build()
                        .expect("chunk")
                } else {
                    c.clone()
                }
            })
            .collect();
        rg.clone()
            .into_builder()
            .set_column_metadata(columns)
            .build()
            .expect("row group")
    });
    let err = validate(dir.path().to_str().expect("utf8"), "2026-11-01").expect_err("fatal");
    assert_eq!(err.exit_code(), ExitCode::InputRejected, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("persons/part-0.parquet")
            && msg.contains("`sex`")
            && msg.contains("2 values for 1 rows"),
        "{msg}"
    );
    expect_fatal(dir.path(), "persons/part-0.parquet", Some("sex"));
}

#[test]
fn a_page_whose_checksum_does_not_match_is_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let with_crc = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("regressions/page-crc/persons.parquet");
    let target = dir.path().join("persons/part-0.parquet");
    std::fs::copy(&with_crc, &target).expect("copy");
    // As written: the checksums hold and the person is read.
    let checked = validate(dir.path().to_str().expect("utf8"), "2026-11-01").expect("valid");
    assert_eq!(checked.extracts[0].validated.counts.rows_accepted, 1);
    // `K` changed to `M` inside the `sex` data page (length 1, then the byte).
    let mut bytes = std::fs::read(&target).expect("read");
    let at = bytes
        .windows(5)
        .position(|w| w == b"\x01\x00\x00\x00K")
        .expect("the plain-encoded value");
    bytes[at + 4] = b'M';
    std::fs::write(&target, &bytes).expect("write");
    let err = validate(dir.path().to_str().expect("utf8"), "2026-11-01").expect_err("fatal");
    assert_eq!(err.exit_code(), ExitCode::InputRejected, "{err}");
    assert!(err.to_string().contains("CRC"), "{err}");
    expect_fatal(dir.path(), "persons/part-0.parquet", None);
}

#[test]
fn a_column_that_appears_twice_is_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let b = rows(Extract::Persons, &["b1 | 2010-03-14 | K"]);
    let mut fields: Vec<Field> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("sex", DataType::Utf8, true));
    let mut cols = b.columns().to_vec();
    cols.push(Arc::new(datafusion::arrow::array::StringArray::from(vec![
        "M",
    ])));
    let twice = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).expect("batch");
    write_parquet(dir.path(), "persons/part-0.parquet", &twice);
    expect_fatal(dir.path(), "persons/part-0.parquet", Some("sex"));
}

#[test]
fn a_file_column_that_contradicts_its_hive_folder_is_fatal() {
    // school_year=2024/ holding a file whose own school_year says 2023.
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let part = rows(Extract::Exams, &["b1 | 2023 | 9 | 140 | 4 | NULL"]);
    write_parquet(dir.path(), "exams/school_year=2024/part-0.parquet", &part);
    expect_fatal(
        dir.path(),
        "exams/school_year=2024/part-0.parquet",
        Some("school_year"),
    );
    // Agreeing with the folder is fine.
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    write_parquet(dir.path(), "exams/school_year=2023/part-0.parquet", &part);
    let checked = validate(dir.path().to_str().expect("utf8"), "2026-11-01").expect("valid");
    let exams = checked
        .extracts
        .iter()
        .find(|x| x.extract() == Extract::Exams)
        .expect("exams");
    assert_eq!(exams.validated.counts.rows_accepted, 2);
}

#[test]
fn values_that_do_not_fit_their_column_are_rejected_and_kept_as_sent() {
    use datafusion::arrow::array::{Array, AsArray, Date64Array, UInt64Array};
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    // An exam with a grade and an exception code of 2^64 − 1: not an exam without an
    // exception code.
    let e = rows(
        Extract::Exams,
        &[
            "b1 | 2025 | 9 | 110 | 7 | NULL",
            "b1 | 2025 | 9 | 120 | 7 | NULL",
        ],
    );
    let code: ArrayRef = Arc::new(UInt64Array::from(vec![None, Some(u64::MAX)]));
    write_parquet(
        dir.path(),
        "exams/part-0.parquet",
        &replace_column(&e, "exception_code", code),
    );
    // A preventive measure with placement code 2^64 − 5.
    let m = rows(
        Extract::Measures,
        &[
            "b1 | m-b1 | forebyggende | BL § 32, stk. 1, nr. 3 | NULL | 2020-01-01 | 2021-01-01 | 101",
            "b1 | m-b2 | forebyggende | BL § 32, stk. 1, nr. 3 | NULL | 2021-02-01 | 2021-03-01 | 101",
        ],
    );
    let code: ArrayRef = Arc::new(UInt64Array::from(vec![None, Some(u64::MAX - 4)]));
    write_parquet(
        dir.path(),
        "measures/part-0.parquet",
        &replace_column(&m, "placement_code", code),
    );
    // A person born on a Date64 beyond 32-bit days.
    let p = rows(
        Extract::Persons,
        &["b1 | 2010-03-14 | K", "p2 | 2011-01-01 | M"],
    );
    let born: ArrayRef = Arc::new(Date64Array::from(vec![
        Some(14_682 * 86_400_000),
        Some(i64::MAX),
    ]));
    write_parquet(
        dir.path(),
        "persons/part-0.parquet",
        &replace_column(&p, "birth_date", born),
    );

    let checked = validate(dir.path().to_str().expect("utf8"), "2026-11-01").expect("read");
    let expected = [
        (
            Extract::Persons,
            "birth_date=9223372036854775807 ms (Date64)",
        ),
        (Extract::Exams, "exception_code=18446744073709551615"),
        (Extract::Measures, "placement_code=18446744073709551611"),
    ];
    for (extract, original) in expected {
        let x = checked
            .extracts
            .iter()
            .find(|x| x.extract() == extract)
            .expect("extract");
        assert_eq!(
            skolegang_tests::reasons_by_row(x, 2),
            vec![None, Some("value_out_of_range".to_string())],
            "{}",
            extract.name()
        );
        let q = skolegang::run::quarantine_batch(x).expect("quarantine");
        let values = q
            .column_by_name("original_values")
            .expect("original_values")
            .as_string::<i32>();
        assert_eq!(values.len(), 1);
        assert_eq!(values.value(0), original, "{}", extract.name());
    }

    // `run` agrees with `validate`: the same rows rejected (over the reject limit here),
    // and the quarantine in the run folder keeps the values as sent.
    let out = tempfile::tempdir().expect("tempdir");
    let root = out.path().join("out");
    let code = skolegang_tests::run_on(dir.path(), &root, &["--extract-date", "2026-11-01"]);
    assert_eq!(code, ExitCode::InputRejected);
    let runs: Vec<_> = std::fs::read_dir(root.join("runs"))
        .expect("runs")
        .flatten()
        .collect();
    assert_eq!(runs.len(), 1);
    let exams = skolegang_tests::read_parquet(&runs[0].path().join("quarantine/exams"));
    let values = exams
        .column_by_name("original_values")
        .expect("column")
        .as_string::<i32>();
    assert_eq!(values.value(0), "exception_code=18446744073709551615");
    let reasons = exams
        .column_by_name("reason")
        .expect("reason")
        .as_string::<i32>();
    assert_eq!(reasons.value(0), "value_out_of_range");
}

#[test]
fn an_unreadable_folder_is_fatal_and_named() {
    // Root reads any folder; the binary is then run without the capabilities that let
    // it (as a scheduler's service account would be).
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    write_base(dir.path());
    let part = rows(Extract::Exams, &["b1 | 2024 | 9 | 140 | 4 | NULL"]);
    write_parquet(dir.path(), "exams/school_year=2024/part-0.parquet", &part);
    let locked = dir.path().join("exams/school_year=2024");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let binary = env!("CARGO_BIN_EXE_skolegang-under-test");
    let args = [
        "validate",
        "--input",
        dir.path().to_str().expect("utf8"),
        "--extract-date",
        "2026-11-01",
    ];
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let out = if is_root {
        std::process::Command::new("setpriv")
            .args([
                "--bounding-set=-dac_override,-dac_read_search",
                "--inh-caps=-all",
                binary,
            ])
            .args(args)
            .output()
    } else {
        std::process::Command::new(binary).args(args).output()
    }
    .expect("start");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("exams/school_year=2024"), "{stderr}");
    assert!(stderr.contains("unreadable"), "{stderr}");
}
