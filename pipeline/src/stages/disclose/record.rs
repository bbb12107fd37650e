//! The statistician's record, `disclosure/cells.parquet` in the run folder (private like
//! `quarantine/`): every cell with its true counts, whether it is withheld, and why
//! (`primary` with its reasons, or `secondary`). Nothing in it is published; the audit
//! reads it to know which withheld counts are small, and later releases read the true
//! counts of a period as it was released.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::rules::Reason;
use super::{Cell, Why, batch::cells_from_batch};
use crate::error::{Error, Result};

/// Relative to the run folder.
pub const PATH: &str = "disclosure/cells.parquet";

/// The record's columns taken from the computed cells, in order; then `suppressed`,
/// `withheld` and `reasons`.
const FROM_CELLS: [&str; 13] = [
    "indicator",
    "period",
    "year",
    "years",
    "geo_level",
    "geo_code",
    "geo_name",
    "group",
    "placement",
    "numerator",
    "denominator",
    "grade_sum",
    "value",
];

/// The record's schema, given the computed cells' schema.
pub fn schema(computed: &SchemaRef) -> Result<SchemaRef> {
    let mut fields: Vec<Field> = FROM_CELLS
        .iter()
        .map(|n| {
            computed
                .field_with_name(n)
                .map(|f| f.as_ref().clone())
                .map_err(|e| Error::internal(format!("the record's column {n}"), e))
        })
        .collect::<Result<_>>()?;
    fields.push(Field::new("suppressed", DataType::Boolean, false));
    fields.push(Field::new("withheld", DataType::Utf8, true));
    fields.push(Field::new("reasons", DataType::Utf8, true));
    Ok(Arc::new(Schema::new(fields)))
}

/// The record of the computed cells (true counts) and their protection.
pub fn batch(computed: &RecordBatch, cells: &[Cell]) -> Result<RecordBatch> {
    let schema = schema(&computed.schema())?;
    let mut columns: Vec<ArrayRef> = FROM_CELLS
        .iter()
        .map(|n| {
            computed
                .column_by_name(n)
                .cloned()
                .ok_or_else(|| Error::Internal(format!("computed cells have no {n}")))
        })
        .collect::<Result<_>>()?;
    columns.push(Arc::new(
        cells
            .iter()
            .map(|c| Some(c.suppressed))
            .collect::<BooleanArray>(),
    ));
    columns.push(Arc::new(
        cells
            .iter()
            .map(|c| match c.why {
                Some(Why::Primary(_)) => Some("primary"),
                Some(Why::Secondary) => Some("secondary"),
                None => None,
            })
            .collect::<StringArray>(),
    ));
    columns.push(Arc::new(
        cells
            .iter()
            .map(|c| match &c.why {
                Some(Why::Primary(r)) => {
                    Some(r.iter().map(|r| r.name()).collect::<Vec<_>>().join(","))
                }
                _ => None,
            })
            .collect::<StringArray>(),
    ));
    RecordBatch::try_new(schema, columns).map_err(|e| Error::internal("the disclosure record", e))
}

/// Cells (true counts and why) from a record batch; `file` names it in errors.
pub fn cells(batch: &RecordBatch, file: &str) -> Result<Vec<Cell>> {
    let mut cells = cells_from_batch(batch, file, None)?;
    let col = |n: &str| -> Result<&StringArray> {
        batch
            .column_by_name(n)
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or_else(|| Error::InputRejected(format!("{file}: no string column `{n}`")))
    };
    let (withheld, reasons) = (col("withheld")?, col("reasons")?);
    for (i, c) in cells.iter_mut().enumerate() {
        c.why = match (!withheld.is_null(i)).then(|| withheld.value(i)) {
            None => None,
            Some("secondary") => Some(Why::Secondary),
            Some("primary") => {
                let list = if reasons.is_null(i) {
                    ""
                } else {
                    reasons.value(i)
                };
                let parsed = list
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        Reason::parse(s).ok_or_else(|| {
                            Error::InputRejected(format!("{file}: row {i}: unknown reason `{s}`"))
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Some(Why::Primary(parsed))
            }
            Some(other) => {
                return Err(Error::InputRejected(format!(
                    "{file}: row {i}: `withheld` is `{other}`, expected primary or secondary"
                )));
            }
        };
    }
    Ok(cells)
}
