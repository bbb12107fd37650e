//! Between the indicator cells as Arrow (the contract's columns) and [`Cell`]s.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::nullif;
use datafusion::arrow::datatypes::{Int32Type, Int64Type};

use super::{Cell, Suppression};
use crate::error::{Error, Result};

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    let i = batch
        .schema()
        .index_of(name)
        .map_err(|_| Error::Internal(format!("indicator cells have no column `{name}`")))?;
    Ok(batch.column(i))
}

/// Reads cells from a batch with the contract's columns. `indicator` may be given
/// instead of a column (files of a hive partition).
pub fn cells_from_batch(batch: &RecordBatch, indicator: Option<&str>) -> Result<Vec<Cell>> {
    let ind = match indicator {
        Some(_) => None,
        None => Some(column(batch, "indicator")?.as_string::<i32>().clone()),
    };
    let period = column(batch, "period")?.as_string::<i32>().clone();
    let geo = column(batch, "geo_code")?
        .as_primitive::<Int32Type>()
        .clone();
    let group = column(batch, "group")?.as_string::<i32>().clone();
    let placement = column(batch, "placement")?.as_string::<i32>().clone();
    let num = column(batch, "numerator")?
        .as_primitive::<Int64Type>()
        .clone();
    let den = column(batch, "denominator")?
        .as_primitive::<Int64Type>()
        .clone();
    let suppression = column(batch, "suppression")?.as_string::<i32>().clone();
    let opt =
        |a: &datafusion::arrow::array::Int64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
    (0..batch.num_rows())
        .map(|i| {
            let suppression = match (!suppression.is_null(i)).then(|| suppression.value(i)) {
                None => None,
                Some("primary") => Some(Suppression::Primary),
                Some("secondary") => Some(Suppression::Secondary),
                Some(other) => {
                    return Err(Error::InputRejected(format!(
                        "unknown suppression `{other}`"
                    )));
                }
            };
            Ok(Cell {
                indicator: match (&ind, indicator) {
                    (Some(a), _) => a.value(i).to_string(),
                    (None, Some(x)) => x.to_string(),
                    (None, None) => String::new(),
                },
                period: period.value(i).to_string(),
                geo_code: geo.value(i),
                group: group.value(i).to_string(),
                placement: placement.value(i).to_string(),
                numerator: opt(&num, i),
                denominator: opt(&den, i),
                suppression,
            })
        })
        .collect()
}

/// The batch with each suppressed cell withheld: numerator, denominator, value and
/// interval null, `suppressed` true, `suppression` primary or secondary.
pub fn apply(batch: &RecordBatch, cells: &[Cell]) -> Result<RecordBatch> {
    if cells.len() != batch.num_rows() {
        return Err(Error::Internal("cells and batch differ in length".into()));
    }
    let mask: BooleanArray = cells
        .iter()
        .map(|c| Some(c.suppression.is_some()))
        .collect();
    let schema = batch.schema();
    let columns = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, col)| -> Result<ArrayRef> {
            Ok(match f.name().as_str() {
                "numerator" | "denominator" | "value" | "ci_low" | "ci_high" => {
                    nullif(col, &mask).map_err(|e| Error::internal(f.name(), e))?
                }
                "suppressed" => Arc::new(mask.clone()),
                "suppression" => Arc::new(
                    cells
                        .iter()
                        .map(|c| c.suppression.map(Suppression::as_str))
                        .collect::<StringArray>(),
                ),
                _ => Arc::clone(col),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(schema, columns).map_err(|e| Error::internal("suppressed cells", e))
}
