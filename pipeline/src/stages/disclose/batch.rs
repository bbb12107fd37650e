//! Between indicator cells as Arrow and [`Cell`]s.
//!
//! The computed cells (queries/indicators/cells.sql) have the contract's columns plus
//! `grade_sum` (a mean cell's Σ of pupil means), which is never published: [`apply`]
//! makes the published batch (counts, value and interval null where withheld,
//! `suppressed` set, `grade_sum` dropped).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::nullif;
use datafusion::arrow::datatypes::Float64Type;

use super::Cell;
use crate::cells::Columns;
use crate::error::{Error, Result};

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    let i = batch
        .schema()
        .index_of(name)
        .map_err(|_| Error::InputRejected(format!("indicator cells have no column `{name}`")))?;
    Ok(batch.column(i))
}

/// Reads cells from a batch with the contract's columns (crate::cells), and `grade_sum`
/// where present: the computed cells and the record; otherwise a published mean cell's
/// grade sum is value × denominator. `indicator` may be given instead of a column
/// (files of a hive partition); `what` names the batch in errors.
pub fn cells_from_batch(
    batch: &RecordBatch,
    what: &str,
    indicator: Option<&str>,
) -> Result<Vec<Cell>> {
    let columns = Columns::of(batch, what, indicator)?;
    let grade_sum = match batch.column_by_name("grade_sum") {
        Some(c) => Some(c.as_primitive_opt::<Float64Type>().ok_or_else(|| {
            Error::InputRejected(format!("{what}: column `grade_sum` is not Float64"))
        })?),
        None => None,
    };
    columns
        .rows()
        .enumerate()
        .map(|(i, r)| {
            let years = u8::try_from(r.years)
                .ok()
                .filter(|y| *y == 1 || *y == 3)
                .ok_or_else(|| {
                    Error::InputRejected(format!(
                        "{what}: row {i} ({} {}): years = {}, expected 1 or 3",
                        r.indicator, r.period, r.years
                    ))
                })?;
            let mean = super::rules::counts_of(r.indicator).is_some_and(|c| c.mean);
            let grade_sum = match grade_sum {
                Some(g) if mean && !g.is_null(i) => Some(g.value(i)),
                Some(_) => None,
                None if mean => r.value.zip(r.denominator).map(|(v, d)| v * d as f64),
                None => None,
            };
            Ok(Cell {
                indicator: r.indicator.to_string(),
                period: r.period.to_string(),
                years,
                year: r.year,
                geo_code: r.geo_code,
                group: r.group.to_string(),
                placement: r.placement.to_string(),
                numerator: r.numerator,
                denominator: r.denominator,
                grade_sum,
                suppressed: r.suppressed,
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
