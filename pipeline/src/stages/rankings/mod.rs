//! The three-year kommune ranking (queries/rankings/rankings.sql), computed from cells:
//! the published ranking from the published cells, and the restricted one
//! (`restricted/rankings/`, with `--restricted`) from the same cells unsuppressed.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;

use crate::codes::Codes;
use crate::error::{Error, Result};

pub const SQL: &str = include_str!("../../../../queries/rankings/rankings.sql");

/// The columns and types of `published/rankings` (data-contract.md).
pub fn schema() -> SchemaRef {
    let f = |n: &str, t: DataType, nullable: bool| Field::new(n, t, nullable);
    Arc::new(Schema::new(vec![
        f("window", DataType::Utf8, false),
        f("year", DataType::Int32, false),
        f("municipality_code", DataType::Int32, false),
        f("municipality_name", DataType::Utf8, false),
        f("rank_participation", DataType::Int32, true),
        f("rank_grade_mean", DataType::Int32, true),
        f("rank_transition", DataType::Int32, true),
        f("ranked_participation", DataType::Int32, false),
        f("ranked_grade_mean", DataType::Int32, false),
        f("ranked_transition", DataType::Int32, false),
        f("mean_rank", DataType::Float64, true),
        f("bottom15_all", DataType::Boolean, true),
    ]))
}

/// The ranking of `cells` (batches with the indicator cells' columns, the `indicator`
/// column included; withheld cells have `suppressed` true).
pub async fn rank(cells: &[RecordBatch]) -> Result<RecordBatch> {
    let codes = Codes::embedded()?;
    let ctx = SessionContext::new();
    for (name, batch) in codes.tables()? {
        if name == "code_municipalities" {
            crate::engine::session::register_batches(&ctx, name, batch.schema(), vec![batch], 1)?;
        }
    }
    let cells_schema = cells
        .first()
        .map(|b| b.schema())
        .ok_or_else(|| Error::Internal("no cells to rank".into()))?;
    crate::engine::session::register_batches(&ctx, "cells", cells_schema, cells.to_vec(), 1)?;
    let name = "queries/rankings/rankings.sql";
    let query = crate::engine::sql::render("queries/rankings/rankings.sql", SQL)?;
    let df = ctx.sql(&query).await.map_err(|e| Error::query(name, e))?;
    let result_schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await.map_err(|e| Error::query(name, e))?;
    let all = concat_batches(&result_schema, &batches).map_err(|e| Error::internal(name, e))?;
    let target = schema();
    let columns = target
        .fields()
        .iter()
        .map(|f| {
            let col = all
                .column_by_name(f.name())
                .ok_or_else(|| Error::Internal(format!("{name} has no column {}", f.name())))?;
            cast(col, f.data_type()).map_err(|e| Error::internal(f.name(), e))
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    RecordBatch::try_new(target, columns).map_err(|e| Error::internal(name, e))
}

/// The rows of `written` that differ from `recomputed` (both sorted by window and
/// municipality), as readable lines; empty when they agree.
pub fn differences(written: &RecordBatch, recomputed: &RecordBatch) -> Vec<String> {
    let mut out = Vec::new();
    if written.num_rows() != recomputed.num_rows() {
        out.push(format!(
            "published/rankings has {} rows, the published cells give {}",
            written.num_rows(),
            recomputed.num_rows()
        ));
    }
    let options = FormatOptions::default().with_null("null");
    let render = |b: &RecordBatch, row: usize| -> String {
        schema()
            .fields()
            .iter()
            .map(|f| match b.column_by_name(f.name()) {
                Some(c) => match ArrayFormatter::try_new(c.as_ref(), &options) {
                    Ok(fmt) if row < c.len() => format!("{}={}", f.name(), fmt.value(row)),
                    _ => format!("{}=?", f.name()),
                },
                None => format!("{}=missing", f.name()),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    for row in 0..written.num_rows().min(recomputed.num_rows()) {
        let (a, b) = (render(written, row), render(recomputed, row));
        if a != b {
            out.push(format!("published: {a}\n    recomputed: {b}"));
        }
    }
    out
}
