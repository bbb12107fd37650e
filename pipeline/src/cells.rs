//! The one typed boundary between indicator cells as Arrow and Rust: the columns of
//! data-contract.md's `published/indicators` (and the computed cells and the private
//! record, which share them), checked once per batch by name and type, then read row by
//! row as a [`Row`]. Disclosure control, the audit, releases, the reports and their CSV
//! all read cells through it, so a missing or mistyped column is one error naming the
//! file and the column, never a panic.

use datafusion::arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int32Array, Int64Array, PrimitiveArray,
    RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{ArrowPrimitiveType, Float64Type, Int32Type, Int64Type};

use crate::error::{Error, Result};

/// The typed columns of one batch of cells.
pub struct Columns<'a> {
    rows: usize,
    /// `None`: the batch is one hive partition, its indicator given by the folder.
    indicator: Option<&'a StringArray>,
    given_indicator: &'a str,
    period: &'a StringArray,
    year: &'a Int32Array,
    years: &'a Int32Array,
    geo_code: &'a Int32Array,
    group: &'a StringArray,
    placement: &'a StringArray,
    numerator: &'a Int64Array,
    denominator: &'a Int64Array,
    value: &'a Float64Array,
    suppressed: &'a BooleanArray,
    // Not in every batch: the private record has no interval columns.
    geo_level: Option<&'a StringArray>,
    geo_name: Option<&'a StringArray>,
    ci_low: Option<&'a Float64Array>,
    ci_high: Option<&'a Float64Array>,
}

/// One cell as read: the contract's columns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row<'a> {
    pub indicator: &'a str,
    pub period: &'a str,
    pub year: i32,
    /// 1 for a yearly cell, 3 for a three-year window.
    pub years: i32,
    /// `land`, `region` or `kommune` ("" where the batch has no such column).
    pub geo_level: &'a str,
    pub geo_code: i32,
    /// "" where the batch has no such column.
    pub geo_name: &'a str,
    pub group: &'a str,
    pub placement: &'a str,
    pub numerator: Option<i64>,
    pub denominator: Option<i64>,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub suppressed: bool,
}

fn missing(what: &str, name: &str) -> Error {
    Error::InputRejected(format!(
        "{what}: no column `{name}` (data-contract.md, Outputs)"
    ))
}

fn mistyped(what: &str, name: &str, expected: &str) -> Error {
    Error::InputRejected(format!(
        "{what}: column `{name}` is not {expected} (data-contract.md, Outputs)"
    ))
}

fn optional_string<'a>(
    b: &'a RecordBatch,
    what: &str,
    name: &str,
) -> Result<Option<&'a StringArray>> {
    b.column_by_name(name)
        .map(|c| {
            c.as_string_opt::<i32>()
                .ok_or_else(|| mistyped(what, name, "Utf8"))
        })
        .transpose()
}

fn optional_primitive<'a, T: ArrowPrimitiveType>(
    b: &'a RecordBatch,
    what: &str,
    name: &str,
) -> Result<Option<&'a PrimitiveArray<T>>> {
    b.column_by_name(name)
        .map(|c| {
            c.as_primitive_opt::<T>()
                .ok_or_else(|| mistyped(what, name, &T::DATA_TYPE.to_string()))
        })
        .transpose()
}

/// The column `name` of `batch` (named `what` in errors) as Utf8.
pub fn string<'a>(b: &'a RecordBatch, what: &str, name: &str) -> Result<&'a StringArray> {
    optional_string(b, what, name)?.ok_or_else(|| missing(what, name))
}

/// The column `name` of `batch` (named `what` in errors) as `T`.
pub fn primitive<'a, T: ArrowPrimitiveType>(
    b: &'a RecordBatch,
    what: &str,
    name: &str,
) -> Result<&'a PrimitiveArray<T>> {
    optional_primitive::<T>(b, what, name)?.ok_or_else(|| missing(what, name))
}

/// The column `name` of `batch` (named `what` in errors) as Boolean.
pub fn boolean<'a>(b: &'a RecordBatch, what: &str, name: &str) -> Result<&'a BooleanArray> {
    b.column_by_name(name)
        .ok_or_else(|| missing(what, name))?
        .as_boolean_opt()
        .ok_or_else(|| mistyped(what, name, "Boolean"))
}

impl<'a> Columns<'a> {
    /// The columns of `batch`; `what` names it in errors (a file, or "the computed
    /// cells"). `indicator` is given for a batch without the column (one hive
    /// partition, `indicator=<id>`).
    pub fn of(batch: &'a RecordBatch, what: &str, indicator: Option<&'a str>) -> Result<Self> {
        let s = |n| string(batch, what, n);
        let i = |n| primitive::<Int32Type>(batch, what, n);
        let n = |n| primitive::<Int64Type>(batch, what, n);
        let indicator_column = match indicator {
            Some(_) => None,
            None => Some(s("indicator")?),
        };
        Ok(Columns {
            rows: batch.num_rows(),
            indicator: indicator_column,
            given_indicator: indicator.unwrap_or(""),
            period: s("period")?,
            year: i("year")?,
            years: i("years")?,
            geo_code: i("geo_code")?,
            group: s("group")?,
            placement: s("placement")?,
            numerator: n("numerator")?,
            denominator: n("denominator")?,
            value: primitive::<Float64Type>(batch, what, "value")?,
            suppressed: boolean(batch, what, "suppressed")?,
            geo_level: optional_string(batch, what, "geo_level")?,
            geo_name: optional_string(batch, what, "geo_name")?,
            ci_low: optional_primitive::<Float64Type>(batch, what, "ci_low")?,
            ci_high: optional_primitive::<Float64Type>(batch, what, "ci_high")?,
        })
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Row `i` (< [`Columns::len`]).
    pub fn row(&self, i: usize) -> Row<'a> {
        fn text(a: &StringArray, i: usize) -> &str {
            if a.is_null(i) { "" } else { a.value(i) }
        }
        fn opt<T: Copy>(a: &impl Array, i: usize, v: impl Fn(usize) -> T) -> Option<T> {
            (!a.is_null(i)).then(|| v(i))
        }
        let double = |a: Option<&Float64Array>| a.and_then(|a| opt(a, i, |i| a.value(i)));
        Row {
            indicator: self.indicator.map_or(self.given_indicator, |a| text(a, i)),
            period: text(self.period, i),
            year: self.year.value(i),
            years: self.years.value(i),
            geo_level: self.geo_level.map_or("", |a| text(a, i)),
            geo_code: self.geo_code.value(i),
            geo_name: self.geo_name.map_or("", |a| text(a, i)),
            group: text(self.group, i),
            placement: text(self.placement, i),
            numerator: opt(self.numerator, i, |i| self.numerator.value(i)),
            denominator: opt(self.denominator, i, |i| self.denominator.value(i)),
            value: opt(self.value, i, |i| self.value.value(i)),
            ci_low: double(self.ci_low),
            ci_high: double(self.ci_high),
            suppressed: !self.suppressed.is_null(i) && self.suppressed.value(i),
        }
    }

    /// Every row, in order.
    pub fn rows(&self) -> impl Iterator<Item = Row<'a>> + '_ {
        (0..self.rows).map(|i| self.row(i))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, RecordBatch};

    use super::*;

    fn batch(with_ci: bool, year_type_wrong: bool) -> RecordBatch {
        let mut cols: Vec<(&str, ArrayRef)> = vec![
            (
                "indicator",
                Arc::new(StringArray::from(vec!["fp9_passed", "fp9_passed"])),
            ),
            ("period", Arc::new(StringArray::from(vec!["2024/2025"; 2]))),
            (
                "year",
                if year_type_wrong {
                    Arc::new(Int64Array::from(vec![2024, 2024]))
                } else {
                    Arc::new(Int32Array::from(vec![2024, 2024]))
                },
            ),
            ("years", Arc::new(Int32Array::from(vec![1, 1]))),
            ("geo_level", Arc::new(StringArray::from(vec!["kommune"; 2]))),
            ("geo_code", Arc::new(Int32Array::from(vec![101, 147]))),
            ("group", Arc::new(StringArray::from(vec!["alle"; 2]))),
            ("placement", Arc::new(StringArray::from(vec!["alle"; 2]))),
            ("numerator", Arc::new(Int64Array::from(vec![Some(3), None]))),
            (
                "denominator",
                Arc::new(Int64Array::from(vec![Some(4), None])),
            ),
            (
                "value",
                Arc::new(Float64Array::from(vec![Some(0.75), None])),
            ),
            (
                "suppressed",
                Arc::new(BooleanArray::from(vec![false, true])),
            ),
        ];
        if with_ci {
            cols.push((
                "ci_low",
                Arc::new(Float64Array::from(vec![Some(0.3), None])),
            ));
        }
        RecordBatch::try_from_iter(cols).expect("batch")
    }

    #[test]
    fn a_row_reads_every_column_and_nulls_as_none() {
        let b = batch(true, false);
        let c = Columns::of(&b, "test.parquet", None).expect("columns");
        assert_eq!(c.len(), 2);
        let r = c.row(0);
        assert_eq!(
            (r.indicator, r.period, r.year, r.geo_code, r.geo_level),
            ("fp9_passed", "2024/2025", 2024, 101, "kommune")
        );
        assert_eq!(
            (r.numerator, r.denominator, r.value),
            (Some(3), Some(4), Some(0.75))
        );
        assert_eq!((r.ci_low, r.ci_high, r.geo_name), (Some(0.3), None, ""));
        let w = c.row(1);
        assert!(w.suppressed);
        assert_eq!((w.numerator, w.denominator, w.value), (None, None, None));
    }

    #[test]
    fn a_given_indicator_stands_for_a_missing_column() {
        let b = batch(false, false);
        let b = b
            .project(&(1..b.num_columns()).collect::<Vec<_>>())
            .expect("project");
        let c = Columns::of(
            &b,
            "indicator=fp9_passed/part-0.parquet",
            Some("fp9_passed"),
        )
        .expect("columns");
        assert_eq!(c.row(1).indicator, "fp9_passed");
        assert!(Columns::of(&b, "x.parquet", None).is_err());
    }

    #[test]
    fn a_missing_or_mistyped_column_names_the_file_and_the_column() {
        let b = batch(false, true);
        let e = Columns::of(&b, "cells.parquet", None)
            .err()
            .expect("refused")
            .to_string();
        assert!(
            e.contains("cells.parquet") && e.contains("`year`") && e.contains("Int32"),
            "{e}"
        );
        let b = batch(false, false);
        let b = b.project(&[0, 1, 2, 3]).expect("project");
        let e = Columns::of(&b, "cells.parquet", None)
            .err()
            .expect("refused")
            .to_string();
        assert!(e.contains("no column `geo_code`"), "{e}");
    }
}
