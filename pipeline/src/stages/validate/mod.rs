//! Validation: runs `queries/validate/<extract>.sql` over an ingested extract, keeps
//! the rejected rows, registers the accepted ones, and accounts for every row.
//!
//! Invariant (checked here, an internal error if broken): for every extract,
//! rows read = rows accepted + rows rejected.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::common::ScalarValue;
use datafusion::prelude::SessionContext;
use serde::Serialize;
use tracing::info;

use crate::contract::{Extract, REASON, ROW_ORDINAL};
use crate::error::{Error, Result};
use crate::stages::ingest::scan::ExtractTable;
use crate::stages::ingest::{Ingested, ingested_schema};

/// The validation query of an extract (queries/validate/), rendered
/// ([`crate::engine::sql`]).
pub fn query(extract: Extract) -> Result<String> {
    let source = match extract {
        Extract::Persons => include_str!("../../../../queries/validate/persons.sql"),
        Extract::Residence => include_str!("../../../../queries/validate/residence.sql"),
        Extract::Enrolment => include_str!("../../../../queries/validate/enrolment.sql"),
        Extract::Exams => include_str!("../../../../queries/validate/exams.sql"),
        Extract::Measures => include_str!("../../../../queries/validate/measures.sql"),
        Extract::YouthEducation => include_str!("../../../../queries/validate/youth_education.sql"),
    };
    crate::engine::sql::render(&format!("queries/validate/{}.sql", extract.name()), source)
}

/// Row accounting of one extract, as recorded in the manifest.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rows_rejected: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
}

impl Counts {
    pub fn rejected_share(&self) -> f64 {
        if self.rows_read == 0 {
            0.0
        } else {
            self.rows_rejected as f64 / self.rows_read as f64
        }
    }

    /// Reasons, most frequent first (ties by name).
    pub fn top_reasons(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<_> = self
            .rejected_by_reason
            .iter()
            .map(|(r, n)| (r.as_str(), *n))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }
}

/// An extract after validation.
#[derive(Debug)]
pub struct Validated {
    pub extract: Extract,
    /// The rejected rows, in input order: contract columns, `_row`, `_out_of_range`
    /// and `reason`.
    pub rejected: RecordBatch,
    pub counts: Counts,
}

/// Validates one extract. The accepted rows are registered in `ctx` as the table named
/// after the extract (contract columns only, decoded on each scan); persons must be
/// validated first.
pub async fn validate(
    ctx: &SessionContext,
    ingested: Ingested,
    extract_date: NaiveDate,
    partitions: usize,
) -> Result<Validated> {
    let extract = ingested.extract;
    let name = extract.name();
    let raw = format!("raw_{name}");
    let rows_read = ingested.rows_read;
    register_table(
        ctx,
        &raw,
        ExtractTable::raw(extract, Arc::clone(&ingested.data), partitions),
    )?;
    let (ordinals, reasons) = rejects(ctx, extract, extract_date).await?;
    ctx.deregister_table(&raw)
        .map_err(|e| Error::internal(&raw, e))?;
    // Every rejected row once, and a row of this extract: else the query lost or
    // repeated rows, and rows read = accepted + rejected would not hold.
    let distinct = ordinals.windows(2).all(|w| w[0] < w[1]);
    let inside = ordinals.iter().all(|o| {
        ingested
            .files
            .first()
            .is_some_and(|f| *o >= f.first_row && *o < f.first_row + rows_read as i64)
    });
    if !distinct || !inside {
        return Err(Error::Internal(format!(
            "{name}: row accounting broken: {} rejected rows of {rows_read} read, ordinals distinct {distinct}, inside the extract {inside}",
            ordinals.len()
        )));
    }
    let rejected = rejected_rows(ctx, &ingested, &ordinals, reasons, partitions).await?;
    let counts = count(name, rows_read, &rejected)?;
    register_table(
        ctx,
        name,
        ExtractTable::accepted(extract, ingested.data, ordinals, partitions),
    )?;
    info!(
        extract = name,
        rows_read = counts.rows_read,
        rows_accepted = counts.rows_accepted,
        rows_rejected = counts.rows_rejected,
        "validated"
    );
    Ok(Validated {
        extract,
        rejected,
        counts,
    })
}

/// Runs the extract's validation query over `raw_<extract>`: the rejected rows'
/// ordinals, in input order, and their reasons. Only those leave the query; the
/// accepted rows stay in the files' bytes and are decoded again by each later scan.
async fn rejects(
    ctx: &SessionContext,
    extract: Extract,
    extract_date: NaiveDate,
) -> Result<(Vec<i64>, Vec<Option<String>>)> {
    let name = extract.name();
    let sql_error = |e: datafusion::error::DataFusionError| {
        Error::query(format!("queries/validate/{name}.sql"), e)
    };
    let validation = query(extract)?;
    let rejects_query = format!(
        "SELECT {ROW_ORDINAL}, {REASON} FROM (\n{validation}\n) validated WHERE {REASON} IS NOT NULL ORDER BY {ROW_ORDINAL}"
    );
    let df = ctx.sql(&rejects_query).await.map_err(sql_error)?;
    let df = if validation.contains("$extract_date") {
        df.with_param_values(vec![(
            "extract_date",
            ScalarValue::Date32(Some(crate::dates::to_days(extract_date))),
        )])
        .map_err(sql_error)?
    } else {
        df
    };
    let mut ordinals: Vec<i64> = Vec::new();
    let mut reasons: Vec<Option<String>> = Vec::new();
    for batch in crate::engine::session::collect(df, name)
        .await
        .map_err(sql_error)?
    {
        ordinals.extend(batch.column(0).as_primitive::<Int64Type>().values());
        reasons.extend(
            batch
                .column(1)
                .as_string::<i32>()
                .iter()
                .map(|r| r.map(str::to_string)),
        );
    }
    Ok((ordinals, reasons))
}

/// The row accounting of an extract: rows read, accepted and rejected, by reason.
fn count(name: &str, rows_read: u64, rejected: &RecordBatch) -> Result<Counts> {
    let mut counts = Counts {
        rows_read,
        rows_rejected: rejected.num_rows() as u64,
        ..Counts::default()
    };
    let reasons = rejected
        .column(
            rejected
                .schema()
                .index_of(REASON)
                .map_err(|e| Error::internal(name, e))?,
        )
        .as_string::<i32>();
    for reason in reasons.iter() {
        let reason = reason
            .ok_or_else(|| Error::Internal(format!("{name}: a rejected row without a reason")))?;
        *counts
            .rejected_by_reason
            .entry(reason.to_string())
            .or_default() += 1;
    }
    counts.rows_accepted = rows_read
        .checked_sub(counts.rows_rejected)
        .ok_or_else(|| Error::Internal(format!("{name}: more rows rejected than read")))?;
    Ok(counts)
}

/// The rejected rows in full (contract columns, `_row`, `_out_of_range`, `reason`), in
/// input order,
/// read back from the files: `ordinals` sorted, with their `reasons`.
async fn rejected_rows(
    ctx: &SessionContext,
    ingested: &Ingested,
    ordinals: &[i64],
    reasons: Vec<Option<String>>,
    partitions: usize,
) -> Result<RecordBatch> {
    let extract = ingested.extract;
    let name = extract.name();
    let mut fields: Vec<Field> = ingested_schema(extract)
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(REASON, DataType::Utf8, true));
    let schema = Arc::new(Schema::new(fields));
    if ordinals.is_empty() {
        return Ok(RecordBatch::new_empty(schema));
    }
    let table = format!("rejected_{name}");
    register_table(
        ctx,
        &table,
        ExtractTable::only(
            extract,
            Arc::clone(&ingested.data),
            ordinals.to_vec(),
            partitions,
        ),
    )?;
    let batches = ctx
        .sql(&format!("SELECT * FROM {table} ORDER BY {ROW_ORDINAL}"))
        .await
        .map_err(|e| Error::query(&table, e))?
        .collect()
        .await
        .map_err(|e| Error::query(&table, e))?;
    ctx.deregister_table(&table)
        .map_err(|e| Error::internal(&table, e))?;
    let rows = concat_batches(&ingested_schema(extract), &batches)
        .map_err(|e| Error::internal(name, e))?;
    let read_back = rows
        .column(extract.columns().len())
        .as_primitive::<Int64Type>()
        .values();
    if read_back.as_ref() != ordinals {
        return Err(Error::Internal(format!(
            "{name}: {} rejected rows, {} read back",
            ordinals.len(),
            read_back.len()
        )));
    }
    let mut columns = rows.columns().to_vec();
    columns.push(Arc::new(StringArray::from(reasons)));
    RecordBatch::try_new(schema, columns).map_err(|e| Error::internal(name, e))
}

/// Registers `table` as `name`, replacing an existing table of that name.
fn register_table(ctx: &SessionContext, name: &str, table: ExtractTable) -> Result<()> {
    ctx.deregister_table(name)
        .map_err(|e| Error::internal(name, e))?;
    ctx.register_table(name, Arc::new(table))
        .map_err(|e| Error::internal(name, e))?;
    Ok(())
}
