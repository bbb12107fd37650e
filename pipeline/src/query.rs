//! `skolegang query`: DataFusion SQL over the run `current` points to, for researchers.
//! Tables: `indicators` (published/indicators, hive-partitioned: `indicator` comes from
//! the folder names), `rankings`, and with `--restricted` `cohort_fp9`, `cohort_age` and `rankings_unsuppressed`.
//!
//! The tool is read-only and bounded (docs/security.md): statements are planned with
//! DDL, DML (INSERT, COPY, also under EXPLAIN ANALYZE) and session statements (SET, …)
//! refused, the tables are registered behind a provider that cannot be written, the
//! operators share a memory pool with a limit and a capped spill folder, the query has a
//! time limit, and its result is streamed to the output batch by batch.

use std::io::Write;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{ParquetReadOptions, SQLOptions, SessionContext};
use futures::StreamExt;

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

/// What one query may use.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of memory for the operators (DataFusion's pool).
    pub memory: u64,
    /// Bytes of spill files at most.
    pub spill: u64,
    /// Seconds the query may run.
    pub seconds: u64,
    /// Rows a `table` result may have (it is laid out whole; CSV, JSON and Parquet are
    /// streamed and unlimited).
    pub table_rows: usize,
}

/// The default time limit in seconds (`--timeout`).
pub const DEFAULT_SECONDS: u64 = 600;
/// The most rows a `table` result lays out.
pub const TABLE_ROWS: usize = 10_000;

/// The tables of a run: name, folder below the run, partition columns.
const TABLES: &[(&str, &str, bool)] = &[
    ("indicators", "published/indicators", false),
    ("rankings", "published/rankings", false),
    ("cohort_fp9", "restricted/cohort_fp9", true),
    ("cohort_age", "restricted/cohort_age", true),
    ("rankings_unsuppressed", "restricted/rankings", true),
];

/// A table that can be read and never written: scans and filter pushdown go to the
/// table inside; `insert_into` is not offered (DataFusion's default refuses it).
#[derive(Debug)]
struct ReadOnly(Arc<dyn TableProvider>);

#[async_trait]
impl TableProvider for ReadOnly {
    fn schema(&self) -> SchemaRef {
        self.0.schema()
    }

    fn table_type(&self) -> TableType {
        self.0.table_type()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        self.0.scan(state, projection, filters, limit).await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        self.0.supports_filters_pushdown(filters)
    }
}

/// A session with the tables of the run `current` points to under `root`, read-only
/// and within `limits`.
pub async fn context(
    root: &Root,
    restricted: bool,
    limits: &Limits,
) -> Result<(String, SessionContext)> {
    let run = crate::storage::runs::current_run(root)
        .await?
        .ok_or_else(|| Error::Config(format!("{}: no `current` run to query", root.display)))?;
    // Strings as Utf8, the type the files store and the data dictionary names (not
    // DataFusion's default Utf8View).
    let config = datafusion::prelude::SessionConfig::new().set_bool(
        "datafusion.execution.parquet.schema_force_view_types",
        false,
    );
    let pool = TrackConsumersPool::new(
        GreedyMemoryPool::new(usize::try_from(limits.memory).unwrap_or(usize::MAX)),
        std::num::NonZeroUsize::MIN.saturating_add(4),
    );
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool))
        .with_disk_manager_builder(
            DiskManagerBuilder::default()
                .with_mode(DiskManagerMode::OsTmpDirectory)
                .with_max_temp_directory_size(limits.spill),
        )
        .build_arc()
        .map_err(|e| Error::Config(format!("memory or spill limit: {e}")))?;
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    root.register(&ctx);
    if restricted {
        root.private_root().register(&ctx);
    }
    for (name, folder, is_restricted) in TABLES {
        if *is_restricted && !restricted {
            continue;
        }
        let home = if *is_restricted {
            root.private_root()
        } else {
            root
        };
        let path = home.child(&format!("runs/{run}/{folder}"));
        let url = match &home.local {
            Some(_) => format!("/{}/", path.as_ref()),
            None => format!("{}{}/", home.store_url, path.as_ref()),
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
        // The listing table could be inserted into: it is put behind [`ReadOnly`].
        let provider = ctx
            .deregister_table(*name)
            .map_err(|e| Error::internal(name, e))?
            .ok_or_else(|| Error::internal(name, "the table was not registered"))?;
        ctx.register_table(*name, Arc::new(ReadOnly(provider)))
            .map_err(|e| Error::Config(format!("{name}: {e}")))?;
    }
    Ok((run, ctx))
}

/// What the query tool plans: queries only. DDL (CREATE, DROP), DML (INSERT, UPDATE,
/// DELETE, COPY, also inside EXPLAIN ANALYZE) and statements (SET, PREPARE, …) are
/// refused before anything runs.
pub fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Where a result goes, batch by batch.
pub type Sink<'a> = &'a mut (dyn Write + Send);

/// Runs `sql` read-only within `limits` and writes its result in `format` to `out` as
/// the batches come. On an error, the message lists the tables and their columns.
pub async fn run(
    ctx: &SessionContext,
    sql: &str,
    format: Format,
    limits: &Limits,
    out: Sink<'_>,
) -> Result<()> {
    let seconds = limits.seconds;
    let work = async {
        let df = ctx
            .sql_with_options(sql, read_only())
            .await
            .map_err(refused_or_sql)?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let stream = df.execute_stream().await.map_err(QueryError::Sql)?;
        write(format, schema, stream, limits.table_rows, out).await
    };
    // The clock runs on a thread of its own: operators busy on every worker thread
    // would hold back the runtime's timers.
    let (stop, stopped) = futures::channel::oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(seconds));
        let _ = stop.send(());
    });
    let result = match futures::future::select(std::pin::pin!(work), stopped).await {
        futures::future::Either::Left((r, _)) => r,
        futures::future::Either::Right(_) => Err(QueryError::Limit(format!(
            "the query ran for more than {seconds} s and was stopped (--timeout)"
        ))),
    };
    match result {
        Ok(()) => Ok(()),
        Err(QueryError::Sql(e)) => Err(Error::Config(format!(
            "{}\n\navailable tables:\n{}",
            limit_hint(&e),
            describe_tables(ctx).await
        ))),
        Err(QueryError::Limit(m)) => Err(Error::Config(m)),
        Err(QueryError::Output(e)) => Err(e),
    }
}

enum QueryError {
    Sql(datafusion::error::DataFusionError),
    Limit(String),
    Output(Error),
}

/// A plan the read-only options refuse, said as such; any other error as it is.
fn refused_or_sql(e: datafusion::error::DataFusionError) -> QueryError {
    let text = e.to_string();
    if [
        "DDL not supported",
        "DML not supported",
        "Statement not supported",
    ]
    .iter()
    .any(|m| text.contains(m))
    {
        QueryError::Limit(format!(
            "skolegang query is read-only: only queries (SELECT, WITH, VALUES, EXPLAIN, DESCRIBE) run; refused: {text}"
        ))
    } else {
        QueryError::Sql(e)
    }
}

/// A memory or spill error with the flag that raises the limit.
fn limit_hint(e: &datafusion::error::DataFusionError) -> String {
    let text = e.to_string();
    if text.contains("Resources exhausted") || text.contains("Failed to allocate") {
        format!("{text}\n(the query needs more memory than --memory-limit allows)")
    } else if text.contains("max_temp_directory_size") || text.contains("spill") {
        format!("{text}\n(the query spilled more than --spill-limit allows)")
    } else {
        text
    }
}

/// Writes the stream's batches in `format` as they come.
async fn write(
    format: Format,
    schema: SchemaRef,
    mut stream: datafusion::physical_plan::SendableRecordBatchStream,
    table_rows: usize,
    out: Sink<'_>,
) -> std::result::Result<(), QueryError> {
    let output = |what: &str, e: &dyn std::fmt::Display| {
        QueryError::Output(Error::internal(format!("writing {what}"), e.to_string()))
    };
    match format {
        Format::Table => {
            let mut batches = Vec::new();
            let mut rows = 0;
            while let Some(b) = stream.next().await {
                let b = b.map_err(QueryError::Sql)?;
                rows += b.num_rows();
                if rows > table_rows {
                    return Err(QueryError::Limit(format!(
                        "the result has more than {table_rows} rows, too many for a table: use --format csv, json or parquet (streamed), or LIMIT"
                    )));
                }
                batches.push(b);
            }
            let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                .map_err(|e| output("the table", &e))?;
            writeln!(out, "{text}").map_err(|e| output("the table", &e))?;
        }
        Format::Csv => {
            let mut w = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            let mut any = false;
            while let Some(b) = stream.next().await {
                let b = b.map_err(QueryError::Sql)?;
                w.write(&b).map_err(|e| output("CSV", &e))?;
                any = true;
            }
            if !any {
                w.write(&RecordBatch::new_empty(Arc::clone(&schema)))
                    .map_err(|e| output("CSV", &e))?;
            }
        }
        Format::Json => {
            let mut w = datafusion::arrow::json::LineDelimitedWriter::new(&mut *out);
            while let Some(b) = stream.next().await {
                let b = b.map_err(QueryError::Sql)?;
                w.write(&b).map_err(|e| output("JSON", &e))?;
            }
            w.finish().map_err(|e| output("JSON", &e))?;
        }
        Format::Parquet => {
            let props = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::ZSTD(
                    parquet::basic::ZstdLevel::try_new(3).map_err(|e| output("Parquet", &e))?,
                ))
                .build();
            let mut w =
                parquet::arrow::ArrowWriter::try_new(&mut *out, Arc::clone(&schema), Some(props))
                    .map_err(|e| output("Parquet", &e))?;
            while let Some(b) = stream.next().await {
                let b = b.map_err(QueryError::Sql)?;
                w.write(&b).map_err(|e| output("Parquet", &e))?;
            }
            w.close().map_err(|e| output("Parquet", &e))?;
        }
    }
    out.flush().map_err(|e| output("the result", &e))?;
    Ok(())
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

/// Creates `path` for a result: a new file (an existing one, or a link, is never
/// followed or overwritten), mode 0600, since a `--restricted` result is person-level.
pub fn create_result_file(path: &std::path::Path) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Config(format!(
                "--to {}: the file exists (or is a link); the query tool writes only new files",
                path.display()
            ))
        } else {
            Error::io(format!("creating {}", path.display()), e)
        }
    })
}
