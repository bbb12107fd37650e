//! `skolegang query`: DataFusion SQL over the run `current` points to, for researchers.
//! Tables: `indicators` (published/indicators, hive-partitioned: `indicator` comes from
//! the folder names), `rankings`, and with `--restricted` `cohort_fp9`, `cohort_age` and `rankings_unsuppressed`.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::error::{Error, Result};
use crate::storage::store::Root;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable table.
    Table,
    /// A header line and rows, comma-separated (RFC 4180).
    Csv,
    /// One JSON object per row, one per line.
    Json,
    /// A Parquet file (needs --to).
    Parquet,
}

/// The tables of a run: name, folder below the run, partition columns.
const TABLES: &[(&str, &str, bool)] = &[
    ("indicators", "published/indicators", false),
    ("rankings", "published/rankings", false),
    ("cohort_fp9", "restricted/cohort_fp9", true),
    ("cohort_age", "restricted/cohort_age", true),
    ("rankings_unsuppressed", "restricted/rankings", true),
];

/// A session with the tables of the run `current` points to under `root`.
pub async fn context(root: &Root, restricted: bool) -> Result<(String, SessionContext)> {
    let run = crate::storage::runs::current_run(root)
        .await?
        .ok_or_else(|| Error::Config(format!("{}: no `current` run to query", root.display)))?;
    // Strings as Utf8, the type the files store and the data dictionary names (not
    // DataFusion's default Utf8View).
    let config = datafusion::prelude::SessionConfig::new().set_bool(
        "datafusion.execution.parquet.schema_force_view_types",
        false,
    );
    let ctx = SessionContext::new_with_config(config);
    root.register(&ctx);
    for (name, folder, is_restricted) in TABLES {
        if *is_restricted && !restricted {
            continue;
        }
        let path = root.child(&format!("runs/{run}/{folder}"));
        let url = match &root.local {
            Some(_) => format!("/{}/", path.as_ref()),
            None => format!("{}{}/", root.store_url, path.as_ref()),
        };
        let mut options = ParquetReadOptions::default();
        if *name == "indicators" {
            options = options.table_partition_cols(vec![("indicator".to_string(), DataType::Utf8)]);
        }
        ctx.register_parquet(*name, &url, options)
            .await
            .map_err(|e| {
                let hint = if *is_restricted {
                    " (the run has no restricted/ folder: it was not run with --restricted)"
                } else {
                    ""
                };
                Error::Config(format!("{name}: {url}: {e}{hint}"))
            })?;
    }
    Ok((run, ctx))
}

/// Runs `sql`; on an error, the message lists the tables and their columns.
pub async fn run(ctx: &SessionContext, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let result = async {
        let df = ctx.sql(sql).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        Ok::<_, datafusion::error::DataFusionError>((schema, batches))
    }
    .await;
    match result {
        Ok(r) => Ok(r),
        Err(e) => Err(Error::Config(format!(
            "{e}\n\navailable tables:\n{}",
            describe_tables(ctx).await
        ))),
    }
}

async fn describe_tables(ctx: &SessionContext) -> String {
    let mut out = String::new();
    for (name, _, _) in TABLES {
        if let Ok(table) = ctx.table(*name).await {
            let columns: Vec<String> = table
                .schema()
                .fields()
                .iter()
                .map(|f| format!("{} {}", f.name(), f.data_type()))
                .collect();
            out.push_str(&format!("  {name}({})\n", columns.join(", ")));
        }
    }
    out
}

/// The result in `format`, as bytes for stdout or a file.
pub fn render(format: Format, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match format {
        Format::Table => {
            let text = datafusion::arrow::util::pretty::pretty_format_batches(batches)
                .map_err(|e| Error::internal("formatting the result", e))?;
            out.extend_from_slice(format!("{text}\n").as_bytes());
        }
        Format::Csv => {
            let mut w = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            if batches.is_empty() {
                w.write(&RecordBatch::new_empty(Arc::clone(schema)))
                    .map_err(|e| Error::internal("writing CSV", e))?;
            }
            for b in batches {
                w.write(b).map_err(|e| Error::internal("writing CSV", e))?;
            }
        }
        Format::Json => {
            let mut w = datafusion::arrow::json::LineDelimitedWriter::new(&mut out);
            for b in batches {
                w.write(b).map_err(|e| Error::internal("writing JSON", e))?;
            }
            w.finish().map_err(|e| Error::internal("writing JSON", e))?;
        }
        Format::Parquet => {
            out = crate::storage::runs::parquet_bytes(Arc::clone(schema), batches)
                .map_err(|e| Error::internal("writing Parquet", e))?;
        }
    }
    Ok(out)
}
