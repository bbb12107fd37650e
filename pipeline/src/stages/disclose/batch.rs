//! Between indicator cells as Arrow and [`Cell`]s.
//!
//! The computed cells (queries/indicators/cells.sql) have the contract's columns plus
//! `grade_sum` (a mean cell's Σ of pupil means), which is never published: [`apply`]
//! makes the published batch (counts, value and interval null where withheld,
//! `suppressed` set, `grade_sum` dropped).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::nullif;
use datafusion::arrow::datatypes::{Float64Type, Int32Type, Int64Type};

use super::Cell;
use crate::error::{Error, Result};

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    let i = batch
        .schema()
        .index_of(name)
        .map_err(|_| Error::InputRejected(format!("indicator cells have no column `{name}`")))?;
    Ok(batch.column(i))
}

fn strings<'a>(
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a datafusion::arrow::array::StringArray> {
    column(batch, name)?
        .as_string_opt::<i32>()
        .ok_or_else(|| Error::InputRejected(format!("indicator column `{name}` is not a string")))
}

fn primitive<'a, T: datafusion::arrow::datatypes::ArrowPrimitiveType>(
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a datafusion::arrow::array::PrimitiveArray<T>> {
    column(batch, name)?.as_primitive_opt::<T>().ok_or_else(|| {
        Error::InputRejected(format!("indicator column `{name}` is not {}", T::DATA_TYPE))
    })
}

/// Reads cells from a batch with the contract's columns (and `grade_sum` where present:
/// the computed cells; otherwise a published mean cell's grade sum is value ×
/// denominator). `indicator` may be given instead of a column (files of a hive
/// partition).
pub fn cells_from_batch(batch: &RecordBatch, indicator: Option<&str>) -> Result<Vec<Cell>> {
    let ind = match indicator {
        Some(_) => None,
        None => Some(strings(batch, "indicator")?),
    };
    let period = strings(batch, "period")?;
    let year = primitive::<Int32Type>(batch, "year")?;
    let years = primitive::<Int32Type>(batch, "years")?;
    let geo = primitive::<Int32Type>(batch, "geo_code")?;
    let group = strings(batch, "group")?;
    let placement = strings(batch, "placement")?;
    let num = primitive::<Int64Type>(batch, "numerator")?;
    let den = primitive::<Int64Type>(batch, "denominator")?;
    let value = primitive::<Float64Type>(batch, "value")?;
    let suppressed = column(batch, "suppressed")?
        .as_boolean_opt()
        .ok_or_else(|| {
            Error::InputRejected("indicator column `suppressed` is not boolean".into())
        })?;
    let grade_sum = match batch.schema().index_of("grade_sum") {
        Ok(i) => Some(
            batch
                .column(i)
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(|| Error::Internal("grade_sum is not a double".into()))?,
        ),
        Err(_) => None,
    };
    let opt =
        |a: &datafusion::arrow::array::Int64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
    (0..batch.num_rows())
        .map(|i| {
            let indicator = match (ind, indicator) {
                (Some(a), _) => a.value(i).to_string(),
                (None, Some(x)) => x.to_string(),
                (None, None) => String::new(),
            };
            let years = years.value(i);
            let years = u8::try_from(years)
                .ok()
                .filter(|y| *y == 1 || *y == 3)
                .ok_or_else(|| {
                    Error::InputRejected(format!(
                        "{indicator} {}: years = {years}, expected 1 or 3",
                        period.value(i)
                    ))
                })?;
            let denominator = opt(den, i);
            let mean = super::rules::counts_of(&indicator).is_some_and(|c| c.mean);
            let grade_sum = match grade_sum {
                Some(g) if mean && !g.is_null(i) => Some(g.value(i)),
                Some(_) => None,
                None if mean && !value.is_null(i) => denominator.map(|d| value.value(i) * d as f64),
                None => None,
            };
            Ok(Cell {
                indicator,
                period: period.value(i).to_string(),
                years,
                year: year.value(i),
                geo_code: geo.value(i),
                group: group.value(i).to_string(),
                placement: placement.value(i).to_string(),
                numerator: opt(num, i),
                denominator,
                grade_sum,
                suppressed: suppressed.value(i),
                why: None,
            })
        })
        .collect()
}

/// The published batch: each withheld cell with numerator, denominator, value and
/// interval null and `suppressed` true; only the columns of `schema` (the contract's).
pub fn apply(
    batch: &RecordBatch,
    cells: &[Cell],
    schema: &datafusion::arrow::datatypes::SchemaRef,
) -> Result<RecordBatch> {
    if cells.len() != batch.num_rows() {
        return Err(Error::Internal("cells and batch differ in length".into()));
    }
    let mask: BooleanArray = cells.iter().map(|c| Some(c.suppressed)).collect();
    let columns = schema
        .fields()
        .iter()
        .map(|f| -> Result<ArrayRef> {
            let col = column(batch, f.name())?;
            Ok(match f.name().as_str() {
                "numerator" | "denominator" | "value" | "ci_low" | "ci_high" => {
                    nullif(col, &mask).map_err(|e| Error::internal(f.name(), e))?
                }
                "suppressed" => Arc::new(mask.clone()),
                _ => Arc::clone(col),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns)
        .map_err(|e| Error::internal("withheld cells", e))
}
