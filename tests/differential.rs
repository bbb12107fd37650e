//! A differential test: the analyst's DuckDB version of the ten indicators
//! (bench/duckdb_indicators.py, the yardstick of `make bench`) and Skolegang compute
//! the same numerator and denominator for every yearly cell of a generated national
//! population (scale 0.02), and the same value for every cell Skolegang publishes.
//! Two implementations written apart, in two engines: a rule one of them gets wrong
//! shows up here as a cell that differs.

use std::collections::BTreeMap;
use std::path::Path;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use skolegang::error::ExitCode;
use skolegang_tests::{fixture_options, read_cells, read_parquet, run_on};

/// (indicator, period, geo_code, group, placement)
type Key = (String, String, i64, String, String);

/// (numerator, denominator, value)
type Counts = (Option<i64>, Option<i64>, Option<f64>);

fn column(b: &RecordBatch, name: &str, to: &DataType) -> ArrayRef {
    let c = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"));
    cast(c, to).expect("cast")
}

/// The cells of a batch: key → (numerator, denominator, value if the batch has one).
fn cells(b: &RecordBatch, yearly_only: bool) -> BTreeMap<Key, Counts> {
    let s = |n: &str| column(b, n, &DataType::Utf8);
    let i = |n: &str| column(b, n, &DataType::Int64);
    let (ind, period, group, placement) = (s("indicator"), s("period"), s("group"), s("placement"));
    let (geo, num, den) = (i("geo_code"), i("numerator"), i("denominator"));
    let years = b.column_by_name("years").map(|_| i("years"));
    let value = b
        .column_by_name("value")
        .map(|_| column(b, "value", &DataType::Float64));
    let opt_i =
        |a: &ArrayRef, r: usize| (!a.is_null(r)).then(|| a.as_primitive::<Int64Type>().value(r));
    (0..b.num_rows())
        .filter(|r| !yearly_only || years.as_ref().is_none_or(|y| opt_i(y, *r) == Some(1)))
        .map(|r| {
            let text = |a: &ArrayRef| a.as_string::<i32>().value(r).to_string();
            (
                (
                    text(&ind),
                    text(&period),
                    opt_i(&geo, r).expect("geo_code"),
                    text(&group),
                    text(&placement),
                ),
                (
                    opt_i(&num, r),
                    opt_i(&den, r),
                    value.as_ref().and_then(|v| {
                        (!v.is_null(r)).then(|| v.as_primitive::<Float64Type>().value(r))
                    }),
                ),
            )
        })
        .collect()
}

#[test]
fn duckdb_and_skolegang_compute_the_same_cells() {
    let Some(python) = skolegang_tests::python() else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let input = work.path().join("input");
    let opts = skolegang::fixtures::Options {
        extract_date: skolegang::config::parse_date("2026-11-01").expect("date"),
        ..fixture_options(0.02, 4, 0)
    };
    skolegang::fixtures::generate(&input, &opts).expect("generate");
    let out = work.path().join("out");
    assert_eq!(
        run_on(&input, &out, &["--extract-date", "2026-11-01"]),
        ExitCode::Success
    );
    let duck_file = work.path().join("duckdb-cells.parquet");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let done = std::process::Command::new(&python)
        .arg(root.join("bench/duckdb_indicators.py"))
        .arg(&input)
        .arg("2026-11-01")
        .arg(root.join("pipeline/codes"))
        .arg("--cells")
        .arg(&duck_file)
        .output()
        .expect("python");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );

    let duck = cells(&read_parquet(&duck_file), false);
    // Skolegang's true counts: the private record, every cell before withholding.
    let record = cells(
        &read_parquet(&out.join("current/disclosure/cells.parquet")),
        true,
    );
    let published: BTreeMap<Key, f64> = read_cells(&out.join("current"))
        .into_iter()
        .filter(|c| c.years == 1)
        .filter_map(|c| {
            let key = (
                c.indicator,
                c.period,
                i64::from(c.geo_code),
                c.group,
                c.placement,
            );
            c.value.map(|v| (key, v))
        })
        .collect();
    // The same cells: Skolegang also keeps rows without persons (takers share and mean
    // wherever a 9th-grade cohort exists), which DuckDB's aggregation cannot make.
    let with_persons: BTreeMap<&Key, _> = record
        .iter()
        .filter(|(_, (_, den, _))| den.is_some_and(|d| d > 0))
        .collect();
    assert_eq!(
        with_persons.keys().copied().collect::<Vec<_>>(),
        duck.keys().collect::<Vec<_>>(),
        "the cells with persons"
    );
    let mut values = 0;
    for (key, (num, den, _)) in &with_persons {
        let (dnum, dden, dvalue) = duck[*key];
        assert_eq!((*num, *den), (dnum, dden), "{key:?}");
        if let Some(v) = published.get(*key) {
            let d = dvalue.expect("DuckDB's value");
            assert!((v - d).abs() < 1e-9, "{key:?}: {v} vs {d}");
            values += 1;
        }
    }
    assert!(duck.len() > 10_000, "{} cells compared", duck.len());
    assert!(values > 1_000, "{values} published values compared");
}
