//! The quarantine stage: every rejected row of an extract, with its reason and source
//! position, in `quarantine/<extract>/part-0.parquet` (docs/validation.md).

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, SchemaRef};

use super::{Checked, ExtractResult};
use crate::contract::{
    Extract, ORIGINAL_VALUES, OUT_OF_RANGE, REASON, ROW_ORDINAL, SOURCE_FILE, SOURCE_ROW,
    schema_with,
};
use crate::error::{Error, Result};
use crate::stage::Stage;
use crate::stages::ingest;
use crate::storage::runs::{OutputFile, RunDir};

/// The quarantine schema of an extract: contract columns, `reason`, `source_file`,
/// `source_row` (0-based position in the source file), `original_values` (the values
/// the contract columns could not hold, as text; NULL when all fit).
pub fn quarantine_schema(extract: Extract) -> SchemaRef {
    schema_with(
        extract,
        &[
            Field::new(REASON, DataType::Utf8, false),
            Field::new(SOURCE_FILE, DataType::Utf8, false),
            Field::new(SOURCE_ROW, DataType::Int64, false),
            Field::new(ORIGINAL_VALUES, DataType::Utf8, true),
        ],
    )
}

/// The quarantine rows of one extract, in input order.
pub fn quarantine_batch(x: &ExtractResult) -> Result<RecordBatch> {
    let extract = x.extract();
    let r = &x.validated.rejected;
    let schema = r.schema();
    let col = |name: &str| -> Result<Arc<dyn Array>> {
        Ok(Arc::clone(
            r.column(
                schema
                    .index_of(name)
                    .map_err(|e| Error::internal(extract.name(), e))?,
            ),
        ))
    };
    let ordinals = col(ROW_ORDINAL)?;
    let ordinals = ordinals.as_primitive::<Int64Type>();
    let mut files = Vec::with_capacity(r.num_rows());
    let mut rows = Vec::with_capacity(r.num_rows());
    for o in ordinals.values().iter() {
        let (file, row) = ingest::locate(&x.files, *o).ok_or_else(|| {
            Error::Internal(format!(
                "{}: row ordinal {o} outside its files",
                extract.name()
            ))
        })?;
        files.push(file.to_string());
        rows.push(row);
    }
    let mut cols = extract
        .columns()
        .iter()
        .map(|c| col(c.name))
        .collect::<Result<Vec<_>>>()?;
    cols.push(col(REASON)?);
    cols.push(Arc::new(StringArray::from(files)));
    cols.push(Arc::new(Int64Array::from(rows)));
    cols.push(col(OUT_OF_RANGE)?);
    RecordBatch::try_new(quarantine_schema(extract), cols)
        .map_err(|e| Error::internal(extract.name(), e))
}

/// Writes the quarantine of every extract into the run folder.
pub async fn write(dir: &RunDir, checked: &Checked) -> Result<Vec<OutputFile>> {
    let mut outputs = Vec::new();
    for x in &checked.extracts {
        let batch = quarantine_batch(x)?;
        let rel = format!("quarantine/{}/part-0.parquet", x.extract().name());
        outputs.push(dir.put_parquet(&rel, batch.schema(), &[batch]).await?);
        crate::faults::point(Stage::Quarantine);
    }
    Ok(outputs)
}
