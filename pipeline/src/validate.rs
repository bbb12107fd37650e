//! Validation: runs `queries/validate/<extract>.sql` over an ingested extract, splits
//! the rows into accepted and rejected, and accounts for every row.
//!
//! Invariant (checked here, an internal error if broken): for every extract,
//! rows read = rows accepted + rows rejected.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::{concat_batches, filter_record_batch, is_not_null, is_null};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::common::ScalarValue;
use datafusion::prelude::SessionContext;
use serde::Serialize;
use tracing::info;

use crate::contract::{Extract, REASON, ROW_ORDINAL};
use crate::error::{Error, Result};
use crate::ingest::Ingested;
use crate::session::register_batches;

/// The validation query of an extract (queries/validate/).
pub fn query(extract: Extract) -> &'static str {
    match extract {
        Extract::Persons => include_str!("../../queries/validate/persons.sql"),
        Extract::Residence => include_str!("../../queries/validate/residence.sql"),
        Extract::Enrolment => include_str!("../../queries/validate/enrolment.sql"),
        Extract::Exams => include_str!("../../queries/validate/exams.sql"),
        Extract::Measures => include_str!("../../queries/validate/measures.sql"),
        Extract::YouthEducation => include_str!("../../queries/validate/youth_education.sql"),
    }
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
    /// The rejected rows, in input order: contract columns, `_row` and `reason`.
    pub rejected: RecordBatch,
    pub counts: Counts,
}

/// Validates one extract. The accepted rows are registered in `ctx` as the table named
/// after the extract (contract columns only); persons must be validated first.
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
    // The ingested batches: the contract columns and `_row`, in input order. The
    // table registered for the query shares their buffers.
    let raw_batches = ingested.batches.clone();
    let mut rejected_fields: Vec<Field> = ingested
        .schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    rejected_fields.push(Field::new(REASON, DataType::Utf8, true));
    let rejected_schema = Arc::new(Schema::new(rejected_fields));
    register_batches(
        ctx,
        &raw,
        Arc::clone(&ingested.schema),
        ingested.batches,
        partitions,
    )?;

    let sql_error = |e: datafusion::error::DataFusionError| {
        Error::query(format!("queries/validate/{name}.sql"), e)
    };
    // Only the rejected rows' positions and reasons leave the query; the rows themselves
    // are split out of the ingested batches, so an accepted batch is kept as read (no
    // copy) and the query never materialises the extract a second time.
    let rejects_query = format!(
        "SELECT {ROW_ORDINAL}, {REASON} FROM (\n{}\n) validated WHERE {REASON} IS NOT NULL",
        query(extract)
    );
    let df = ctx.sql(&rejects_query).await.map_err(sql_error)?;
    let df = if query(extract).contains("$extract_date") {
        df.with_param_values(vec![(
            "extract_date",
            ScalarValue::Date32(Some(crate::dates::to_days(extract_date))),
        )])
        .map_err(sql_error)?
    } else {
        df
    };
    let reasons: HashMap<i64, String> = {
        let mut reasons = HashMap::new();
        for batch in df.collect().await.map_err(sql_error)? {
            let rows = batch.column(0).as_primitive::<Int64Type>();
            let why = batch.column(1).as_string::<i32>();
            for (row, reason) in rows.values().iter().zip(why.iter()) {
                let reason = reason.ok_or_else(|| {
                    Error::Internal(format!("{name}: a rejected row without a reason"))
                })?;
                reasons.insert(*row, reason.to_string());
            }
        }
        reasons
    };
    ctx.deregister_table(&raw)
        .map_err(|e| Error::internal(&raw, e))?;

    let contract_idx: Vec<usize> = extract
        .columns()
        .iter()
        .map(|c| ingested.schema.index_of(c.name))
        .collect::<Result<_, _>>()
        .map_err(|e| Error::internal(name, e))?;
    let order_idx = ingested
        .schema
        .index_of(ROW_ORDINAL)
        .map_err(|e| Error::internal(name, e))?;
    let mut counts = Counts {
        rows_read,
        ..Counts::default()
    };
    for reason in reasons.values() {
        *counts.rejected_by_reason.entry(reason.clone()).or_default() += 1;
    }
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    for batch in raw_batches {
        let rows = batch.column(order_idx).as_primitive::<Int64Type>();
        let why: StringArray = rows.values().iter().map(|r| reasons.get(r)).collect();
        let n_bad = why.len() - why.null_count();
        let good = if n_bad == 0 {
            batch.clone()
        } else {
            let ok = is_null(&why).map_err(|e| Error::internal(name, e))?;
            let bad = is_not_null(&why).map_err(|e| Error::internal(name, e))?;
            let mut columns = batch.columns().to_vec();
            columns.push(Arc::new(why));
            let with_reason = RecordBatch::try_new(Arc::clone(&rejected_schema), columns)
                .map_err(|e| Error::internal(name, e))?;
            rejected.push(
                filter_record_batch(&with_reason, &bad).map_err(|e| Error::internal(name, e))?,
            );
            filter_record_batch(&batch, &ok).map_err(|e| Error::internal(name, e))?
        };
        counts.rows_accepted += good.num_rows() as u64;
        counts.rows_rejected += n_bad as u64;
        if good.num_rows() > 0 {
            accepted.push(
                good.project(&contract_idx)
                    .map_err(|e| Error::internal(name, e))?,
            );
        }
    }
    if counts.rows_read != counts.rows_accepted + counts.rows_rejected
        || counts.rows_rejected != reasons.len() as u64
    {
        return Err(Error::Internal(format!(
            "{name}: row accounting broken: read {} != accepted {} + rejected {} ({} reasons)",
            counts.rows_read,
            counts.rows_accepted,
            counts.rows_rejected,
            reasons.len()
        )));
    }

    // In input order (the batches are), as the quarantine lists them.
    let rejected =
        concat_batches(&rejected_schema, &rejected).map_err(|e| Error::internal(name, e))?;

    let schema = extract.schema();
    register_batches(ctx, name, schema, accepted, partitions)?;
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
