//! Validation: runs `queries/validate/<extract>.sql` over an ingested extract, splits
//! the rows into accepted and rejected, and accounts for every row.
//!
//! Invariant (checked here, an internal error if broken): for every extract,
//! rows read = rows accepted + rows rejected.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::{
    concat_batches, filter_record_batch, is_not_null, is_null, sort_to_indices, take_record_batch,
};
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
    let df = ctx.sql(query(extract)).await.map_err(sql_error)?;
    let df = if query(extract).contains("$extract_date") {
        df.with_param_values(vec![(
            "extract_date",
            ScalarValue::Date32(Some(crate::dates::to_days(extract_date))),
        )])
        .map_err(sql_error)?
    } else {
        df
    };
    let result_schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await.map_err(sql_error)?;
    ctx.deregister_table(&raw)
        .map_err(|e| Error::internal(&raw, e))?;

    let reason_idx = result_schema
        .index_of(REASON)
        .map_err(|e| Error::internal(name, e))?;
    let contract_idx: Vec<usize> = extract
        .columns()
        .iter()
        .map(|c| result_schema.index_of(c.name))
        .collect::<Result<_, _>>()
        .map_err(|e| Error::internal(name, e))?;

    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    let mut counts = Counts {
        rows_read,
        ..Counts::default()
    };
    for batch in batches {
        let reason = batch.column(reason_idx);
        let ok = is_null(reason).map_err(|e| Error::internal(name, e))?;
        let bad = is_not_null(reason).map_err(|e| Error::internal(name, e))?;
        let good = filter_record_batch(&batch, &ok).map_err(|e| Error::internal(name, e))?;
        counts.rows_accepted += good.num_rows() as u64;
        if good.num_rows() > 0 {
            accepted.push(
                good.project(&contract_idx)
                    .map_err(|e| Error::internal(name, e))?,
            );
        }
        let bad = filter_record_batch(&batch, &bad).map_err(|e| Error::internal(name, e))?;
        if bad.num_rows() > 0 {
            let reasons = bad.column(reason_idx).as_string::<i32>();
            for r in reasons.iter().flatten() {
                *counts.rejected_by_reason.entry(r.to_string()).or_default() += 1;
            }
            counts.rows_rejected += bad.num_rows() as u64;
            rejected.push(bad);
        }
    }
    if counts.rows_read != counts.rows_accepted + counts.rows_rejected {
        return Err(Error::Internal(format!(
            "{name}: row accounting broken: read {} != accepted {} + rejected {}",
            counts.rows_read, counts.rows_accepted, counts.rows_rejected
        )));
    }

    let rejected =
        concat_batches(&result_schema, &rejected).map_err(|e| Error::internal(name, e))?;
    let order_idx = result_schema
        .index_of(ROW_ORDINAL)
        .map_err(|e| Error::internal(name, e))?;
    let order = sort_to_indices(rejected.column(order_idx), None, None)
        .map_err(|e| Error::internal(name, e))?;
    let rejected = take_record_batch(&rejected, &order).map_err(|e| Error::internal(name, e))?;

    let schema = extract.schema();
    register_batches(ctx, name, schema, accepted, partitions)?;
    info!(
        extract = name,
        rows_read = counts.rows_read,
        rows_accepted = counts.rows_accepted,
        rows_rejected = counts.rows_rejected,
        "validated"
    );
    debug_assert!(rejected.column(reason_idx).null_count() == 0);
    Ok(Validated {
        extract,
        rejected,
        counts,
    })
}
