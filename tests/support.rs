//! Helpers shared by the end-to-end tests: building extracts from text rows, running
//! the pipeline in-process, and reading outputs back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{Field, Int64Type, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use skolegang::contract::{Extract, Kind};
use skolegang::error::ExitCode;
use skolegang::run::{self, Checked, Settings};
use skolegang::storage::store::Root;

/// A text row: values in contract order; `NULL` is a null, `""` an empty string.
pub type TextRow = Vec<String>;

/// Splits `a | b | c` into values.
pub fn split_row(text: &str) -> TextRow {
    text.split('|').map(|v| v.trim().to_string()).collect()
}

fn str_value(v: &str) -> Option<String> {
    match v {
        "NULL" => None,
        "\"\"" => Some(String::new()),
        v => Some(v.to_string()),
    }
}

/// Builds a batch of `extract`'s contract columns from text rows.
pub fn batch(extract: Extract, rows: &[TextRow]) -> RecordBatch {
    let cols = extract.columns();
    let arrays: Vec<ArrayRef> = cols
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let values = rows.iter().map(|r| {
                let v = r
                    .get(k)
                    .unwrap_or_else(|| panic!("{}: row {r:?} is too short", extract.name()));
                str_value(v)
            });
            match c.kind {
                Kind::Str => Arc::new(values.collect::<StringArray>()) as ArrayRef,
                Kind::Int => Arc::new(
                    values
                        .map(|v| {
                            v.map(|v| {
                                v.parse::<i64>()
                                    .unwrap_or_else(|_| panic!("not an integer: {v}"))
                            })
                        })
                        .collect::<Int64Array>(),
                ),
                Kind::Date => Arc::new(
                    values
                        .map(|v| {
                            // `days:N` is day N since 1970-01-01, for dates chrono cannot
                            // write (Date32 reaches some 5.8 million years back).
                            v.map(|v| match v.strip_prefix("days:") {
                                Some(n) => n.parse::<i32>().expect("days"),
                                None => skolegang::dates::to_days(
                                    skolegang::config::parse_date(&v).expect("a date"),
                                ),
                            })
                        })
                        .collect::<Date32Array>(),
                ),
            }
        })
        .collect();
    let schema = Schema::new(
        cols.iter()
            .zip(&arrays)
            .map(|(c, a)| Field::new(c.name, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(Arc::new(schema), arrays).expect("batch")
}

/// Writes a batch as one Parquet file at `dir/relative`.
pub fn write_parquet(dir: &Path, relative: &str, batch: &RecordBatch) {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let bytes =
        skolegang::storage::runs::parquet_bytes(batch.schema(), std::slice::from_ref(batch))
            .expect("encode");
    std::fs::write(path, bytes).expect("write");
}

/// Reads every Parquet file below `path` (sorted) into one batch.
pub fn read_parquet(path: &Path) -> RecordBatch {
    let mut files: Vec<PathBuf> = walk(path)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    let mut batches = Vec::new();
    for f in &files {
        let bytes = bytes::Bytes::from(std::fs::read(f).expect("read"));
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .expect("parquet")
            .build()
            .expect("reader");
        batches.extend(reader.map(|b| b.expect("batch")));
    }
    let schema = match batches.first() {
        Some(b) => b.schema(),
        // A file without rows (e.g. a ranking with no window yet): its schema.
        None => {
            let f = files.first().expect("at least one file");
            let bytes = bytes::Bytes::from(std::fs::read(f).expect("read"));
            Arc::clone(
                ParquetRecordBatchReaderBuilder::try_new(bytes)
                    .expect("parquet")
                    .schema(),
            )
        }
    };
    concat_batches(&schema, &batches).expect("concat")
}

/// Every file below `dir`.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    } else if dir.is_file() {
        out.push(dir.to_path_buf());
    }
    out.sort();
    out
}

pub fn settings(input: &str, extract_date: &str) -> Settings {
    let mut config = skolegang::config::Config::default();
    let extract_date = skolegang::config::parse_date(extract_date).expect("date");
    config.extract_date = Some(extract_date);
    Settings {
        input: Root::parse(input).expect("input"),
        config,
        extract_date,
        threads: 2,
        restricted: None,
        pdf: false,
        force: false,
        keep_runs: 7,
        revise: Vec::new(),
        memory: skolegang::engine::session::Memory::default(),
    }
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// The text of a Markdown document's section `## heading`, up to the next `## `.
pub fn doc_section<'a>(doc: &'a str, heading: &str) -> Option<&'a str> {
    doc.split_once(&format!("## {heading}"))
        .and_then(|(_, rest)| rest.split("\n## ").next())
}

/// A test that needs something outside a Rust toolchain (Chromium, the Python venv
/// that `make test` makes): under `make test` (which sets `SKOLEGANG_ALL_TESTS`) its
/// absence fails the test; under a plain `cargo test` the test prints why it is skipped
/// and returns.
pub fn needs<T>(what: &str, found: Option<T>) -> Option<T> {
    if found.is_none() {
        if std::env::var_os("SKOLEGANG_ALL_TESTS").is_some() {
            panic!("this test needs {what}, and `make test` runs every test");
        }
        eprintln!("skipped: this test needs {what} (`make test` provides it)");
    }
    found
}

/// The Python of the tests' venv (DuckDB, Polars, pyarrow, moto), named by
/// `SKOLEGANG_PYTHON` (`make test` sets it); see [`needs`].
pub fn python() -> Option<String> {
    needs(
        "the Python venv named by SKOLEGANG_PYTHON (tests/requirements.lock)",
        std::env::var("SKOLEGANG_PYTHON").ok(),
    )
}

/// Ingests and validates `input` in-process (with the binary's panic hook, so that a
/// damaged file's caught panic stays out of the test output as it does out of stderr).
pub fn validate(input: &str, extract_date: &str) -> skolegang::error::Result<Checked> {
    skolegang::stages::ingest::damaged::install_panic_hook();
    block_on(run::ingest_and_validate(&settings(input, extract_date)))
}

/// Runs the CLI in-process with these arguments (without the program name).
pub fn cli(args: &[&str]) -> ExitCode {
    let mut all = vec!["skolegang", "--quiet"];
    all.extend_from_slice(args);
    skolegang::cli::main_with(all)
}

/// `skolegang run --no-pdf --input INPUT --output OUT` plus `extra` arguments, in-process.
pub fn run_on(input: &Path, out: &Path, extra: &[&str]) -> ExitCode {
    let (input, out) = (input.to_str().expect("utf8"), out.to_str().expect("utf8"));
    // PDFs are tested once, in reports.rs; elsewhere they would only cost time.
    let mut args = vec!["run", "--no-pdf", "--input", input, "--output", out];
    args.extend_from_slice(extra);
    cli(&args)
}

/// Generator options at the default extract date.
pub fn fixture_options(scale: f64, seed: u64, bad_rows: usize) -> skolegang::fixtures::Options {
    skolegang::fixtures::Options {
        scale,
        seed,
        bad_rows,
        extract_date: skolegang::config::parse_date(skolegang::fixtures::DEFAULT_EXTRACT_DATE)
            .expect("date"),
    }
}

/// The quarantine of a run folder as (extract, source_file, source_row, reason).
pub fn quarantine(run_dir: &Path) -> BTreeSet<(String, String, i64, String)> {
    let mut out = BTreeSet::new();
    for e in Extract::ALL {
        let b = read_parquet(&run_dir.join("quarantine").join(e.name()));
        let s = b.schema();
        let col = |n: &str| b.column(s.index_of(n).expect(n)).clone();
        let files = col("source_file");
        let rows = col("source_row");
        let reasons = col("reason");
        for i in 0..b.num_rows() {
            out.insert((
                e.name().to_string(),
                files.as_string::<i32>().value(i).to_string(),
                rows.as_primitive::<Int64Type>().value(i),
                reasons.as_string::<i32>().value(i).to_string(),
            ));
        }
        assert_eq!(reasons.null_count(), 0);
    }
    out
}

/// One row of a validation case: extract, values, expected reason (None = accepted).
pub type CaseRow = (Extract, TextRow, Option<String>);

/// Parses tests/cases/validation.txt: the [base] rows and the named cases.
pub fn parse_cases(text: &str) -> (Vec<CaseRow>, Vec<(String, Vec<CaseRow>)>) {
    let mut base = Vec::new();
    let mut cases: Vec<(String, Vec<CaseRow>)> = Vec::new();
    let mut in_base = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_base = name == "base";
            if !in_base {
                cases.push((name.to_string(), Vec::new()));
            }
            continue;
        }
        let (extract, rest) = line.split_once(':').expect("`extract: values`");
        let extract = Extract::from_name(extract.trim())
            .unwrap_or_else(|| panic!("unknown extract in `{line}`"));
        let (values, reason) = match rest.split_once("=>") {
            Some((v, r)) => (v, Some(r.trim().to_string())),
            None => (rest, None),
        };
        let row = (extract, split_row(values), reason);
        if in_base {
            base.push(row);
        } else {
            cases.last_mut().expect("a [case] header first").1.push(row);
        }
    }
    (base, cases)
}

/// Writes the [base] rows of the case file (one valid person, one row per extract),
/// one file per extract at `<extract>/part-0.parquet`.
pub fn write_base(dir: &Path) {
    let (base, _) = parse_cases(include_str!("cases/validation.txt"));
    let rows: Vec<(Extract, TextRow)> = base.into_iter().map(|(e, row, _)| (e, row)).collect();
    write_rows(dir, &rows);
}

/// The rejection reason of each source row of a single-file extract (None = accepted).
pub fn reasons_by_row(x: &run::ExtractResult, rows: usize) -> Vec<Option<String>> {
    let mut got = vec![None; rows];
    let r = &x.validated.rejected;
    let s = r.schema();
    let ord = r
        .column(s.index_of("_row").expect("_row"))
        .as_primitive::<Int64Type>()
        .clone();
    let reason = r
        .column(s.index_of("reason").expect("reason"))
        .as_string::<i32>()
        .clone();
    let first = x.files.first().map(|f| f.first_row).unwrap_or(0);
    for i in 0..r.num_rows() {
        got[(ord.value(i) - first) as usize] = Some(reason.value(i).to_string());
    }
    got
}

/// Parses `extract: v | v | ...` lines (comments and blank lines skipped).
pub fn parse_rows(text: &str) -> Vec<(Extract, TextRow)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (extract, rest) = line.split_once(':').expect("`extract: values`");
            let e = Extract::from_name(extract.trim())
                .unwrap_or_else(|| panic!("unknown extract in `{line}`"));
            (e, split_row(rest))
        })
        .collect()
}

/// Writes rows as one file per extract, `<extract>/part-0.parquet`.
pub fn write_rows(dir: &Path, rows: &[(Extract, TextRow)]) {
    for e in Extract::ALL {
        let mine: Vec<TextRow> = rows
            .iter()
            .filter(|r| r.0 == e)
            .map(|r| r.1.clone())
            .collect();
        write_parquet(
            dir,
            &format!("{}/part-0.parquet", e.name()),
            &batch(e, &mine),
        );
    }
}

/// One published indicator cell, read back from `published/indicators`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub indicator: String,
    pub period: String,
    pub year: i32,
    pub geo_level: String,
    pub geo_code: i32,
    pub geo_name: String,
    pub group: String,
    pub placement: String,
    pub numerator: Option<i64>,
    pub denominator: Option<i64>,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// 1 for a yearly cell, 3 for a three-year window.
    pub years: i32,
    pub suppressed: bool,
}

/// Cells from a batch of the contract's columns; `indicator` when the batch has no
/// indicator column (a hive partition's file).
pub fn cells_of(b: &RecordBatch, indicator: Option<&str>) -> Vec<Cell> {
    use datafusion::arrow::datatypes::{Float64Type, Int32Type};
    let s = b.schema();
    let c = |n: &str| {
        b.column(s.index_of(n).unwrap_or_else(|_| panic!("column {n}")))
            .clone()
    };
    let ind = indicator.is_none().then(|| c("indicator"));
    let (period, year, level, code, gname, group, placement) = (
        c("period"),
        c("year"),
        c("geo_level"),
        c("geo_code"),
        c("geo_name"),
        c("group"),
        c("placement"),
    );
    let (num, den, val, lo, hi, yrs, sup) = (
        c("numerator"),
        c("denominator"),
        c("value"),
        c("ci_low"),
        c("ci_high"),
        c("years"),
        c("suppressed"),
    );
    let opt_i =
        |a: &ArrayRef, i: usize| (!a.is_null(i)).then(|| a.as_primitive::<Int64Type>().value(i));
    let opt_f =
        |a: &ArrayRef, i: usize| (!a.is_null(i)).then(|| a.as_primitive::<Float64Type>().value(i));
    (0..b.num_rows())
        .map(|i| Cell {
            indicator: match (&ind, indicator) {
                (Some(a), _) => a.as_string::<i32>().value(i).to_string(),
                (None, x) => x.unwrap_or_default().to_string(),
            },
            period: period.as_string::<i32>().value(i).to_string(),
            year: year.as_primitive::<Int32Type>().value(i),
            geo_level: level.as_string::<i32>().value(i).to_string(),
            geo_code: code.as_primitive::<Int32Type>().value(i),
            geo_name: gname.as_string::<i32>().value(i).to_string(),
            group: group.as_string::<i32>().value(i).to_string(),
            placement: placement.as_string::<i32>().value(i).to_string(),
            numerator: opt_i(&num, i),
            denominator: opt_i(&den, i),
            value: opt_f(&val, i),
            ci_low: opt_f(&lo, i),
            ci_high: opt_f(&hi, i),
            years: yrs.as_primitive::<Int32Type>().value(i),
            suppressed: sup.as_boolean().value(i),
        })
        .collect()
}

/// Reads every `published/indicators/indicator=<id>/*.parquet` of a run folder, taking
/// the indicator from the folder name as a hive reader would.
pub fn read_cells(run_dir: &Path) -> Vec<Cell> {
    read_indicators(run_dir)
        .iter()
        .flat_map(|(indicator, b)| cells_of(b, Some(indicator)))
        .collect()
}

/// Every `published/indicators/indicator=<id>/` of a run folder as (id, its rows), in
/// folder order.
pub fn read_indicators(run_dir: &Path) -> Vec<(String, RecordBatch)> {
    let root = run_dir.join("published/indicators");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("indicators")
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs.iter()
        .map(|dir| {
            let name = dir.file_name().and_then(|n| n.to_str()).expect("name");
            let indicator = name.strip_prefix("indicator=").expect("hive folder");
            let b = read_parquet(dir);
            assert!(
                b.schema().index_of("indicator").is_err(),
                "the partition column lives in the path"
            );
            (indicator.to_string(), b)
        })
        .collect()
}

/// The indicator cells as computed, before disclosure control, for `input` under the
/// configuration file `config` (in-process).
pub fn computed_cells(input: &Path, config: &Path) -> Vec<Cell> {
    computed(input, config, false)
}

/// As [`computed_cells`], for inputs with planted bad rows.
pub fn computed_cells_allowing_rejects(input: &Path, config: &Path) -> Vec<Cell> {
    computed(input, config, true)
}

fn computed(input: &Path, config: &Path, allow_rejects: bool) -> Vec<Cell> {
    let config = skolegang::config::Config::load(config).expect("config");
    let extract_date = config
        .extract_date
        .expect("extract_date in the configuration");
    let settings = Settings {
        config,
        ..settings(input.to_str().expect("utf8"), &extract_date.to_string())
    };
    block_on(async {
        let checked = run::ingest_and_validate(&settings)
            .await
            .expect("valid input");
        for x in checked.extracts.iter().filter(|_| !allow_rejects) {
            assert_eq!(
                x.validated.counts.rows_rejected, 0,
                "{:?}",
                x.validated.counts
            );
        }
        let computed =
            skolegang::stages::indicators::compute(&checked.ctx, &settings.config, extract_date, 2)
                .await
                .expect("indicators");
        cells_of(&computed.cells, None)
    })
}

/// path → sha256 of every output listed in `<root>/current/manifest.json`, in path order.
pub fn current_output_checksums(root: &Path) -> BTreeMap<String, String> {
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("current/manifest.json")).expect("manifest"),
    )
    .expect("json");
    manifest["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_string(),
                f["sha256"].as_str().expect("sha").to_string(),
            )
        })
        .collect()
}

/// `skolegang run --no-pdf --output ROOT` on the committed sample plus `extra`
/// arguments, in-process.
pub fn sample_run(root: &Path, extra: &[&str]) -> ExitCode {
    let mut args = vec!["run", "--no-pdf", "--output", root.to_str().expect("utf8")];
    args.extend_from_slice(extra);
    cli(&args)
}

/// A project key for tests that need one but no particular one.
pub const PROJECT_KEY: &str = "a-project-key-of-32-bytes-length";

/// [`sample_run`] with `--restricted --project-key-file KEY_FILE`.
pub fn restricted_run(root: &Path, key_file: &str) -> ExitCode {
    sample_run(root, &["--restricted", "--project-key-file", key_file])
}

/// Writes a project key file (a line of text) with mode 0600 into `dir` and returns its
/// path as a string.
pub fn project_key(dir: &Path, name: &str, key: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("{key}\n")).expect("key file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path.to_str().expect("utf8").to_string()
}

/// The person_ids of the committed sample's persons extract.
pub fn sample_person_ids() -> BTreeSet<String> {
    use datafusion::arrow::array::AsArray;
    let persons = read_parquet(&Path::new(skolegang::cli::SAMPLE_INPUT).join("persons"));
    persons
        .column_by_name("person_id")
        .expect("person_id")
        .as_string::<i32>()
        .iter()
        .flatten()
        .map(str::to_string)
        .collect()
}
