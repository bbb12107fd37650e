//! `skolegang audit`: the attacker's tool, on the files as written. The ranges come from
//! `published/` alone (the indicator files, with the threshold k from their footers);
//! which withheld counts are small, and so must keep a range k wide, comes from the
//! statistician's record (`disclosure/cells.parquet` beside `published/`). It also
//! recomputes the ranking from the published cells and compares it with
//! `published/rankings`.

use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;

use super::{Cell, Exposure, attack, batch::cells_from_batch, record};
use crate::codes::Codes;
use crate::error::{Error, Result};
use crate::storage::runs::K_METADATA;
use crate::storage::store::Root;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub k: i64,
    pub cells: usize,
    pub suppressed: usize,
    pub exposures: Vec<Exposure>,
    /// Published ranks that do not recompute from the published cells.
    pub rankings: Vec<String>,
    pub seconds: f64,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.exposures.is_empty() && self.rankings.is_empty()
    }
}

async fn read_file(root: &Root, path: &object_store::path::Path) -> Result<bytes::Bytes> {
    let rel = root.relative(path);
    root.store
        .get(path)
        .await
        .map_err(|e| Error::io(&rel, e))?
        .bytes()
        .await
        .map_err(|e| Error::io(&rel, e))
}

/// The Parquet files under `<root>/<prefix>/`, sorted.
async fn list(root: &Root, prefix: &str) -> Result<Vec<object_store::path::Path>> {
    let mut files: Vec<_> = root
        .store
        .list(Some(&root.child(prefix)))
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| Error::io(format!("listing {prefix}"), e))?
        .into_iter()
        .map(|m| m.location)
        .filter(|p| p.as_ref().ends_with(".parquet"))
        .collect();
    files.sort();
    Ok(files)
}

/// What the attacker reads: the published cells, the threshold k recorded in the
/// files' footers, and the files' batches with the `indicator` column added.
pub struct Published {
    pub cells: Vec<Cell>,
    pub k: Option<i64>,
    pub batches: Vec<datafusion::arrow::array::RecordBatch>,
}

/// `batch` with an `indicator` column in front (the value of its hive folder).
pub fn with_indicator(
    batch: &datafusion::arrow::array::RecordBatch,
    indicator: &str,
) -> Result<datafusion::arrow::array::RecordBatch> {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let mut fields = vec![std::sync::Arc::new(Field::new(
        "indicator",
        DataType::Utf8,
        false,
    ))];
    fields.extend(batch.schema().fields().iter().cloned());
    let mut columns: Vec<datafusion::arrow::array::ArrayRef> = vec![std::sync::Arc::new(
        datafusion::arrow::array::StringArray::from(vec![indicator; batch.num_rows()]),
    )];
    columns.extend(batch.columns().iter().cloned());
    datafusion::arrow::array::RecordBatch::try_new(
        std::sync::Arc::new(Schema::new(fields)),
        columns,
    )
    .map_err(|e| Error::internal("adding the indicator column", e))
}

/// Reads the cells under `<root>/<published>/indicators/indicator=<id>/*.parquet` as the
/// attacker sees them, with the threshold k recorded in their footers.
pub async fn read_published(root: &Root, published: &str) -> Result<Published> {
    let files = list(root, &format!("{published}/indicators")).await?;
    if files.is_empty() {
        return Err(Error::InputRejected(format!(
            "no indicator files under {}/{published}/indicators",
            root.display
        )));
    }
    let mut cells = Vec::new();
    let mut batches = Vec::new();
    let mut k: Option<i64> = None;
    for path in files {
        let rel = root.relative(&path);
        let indicator = rel
            .split('/')
            .find_map(|p| p.strip_prefix("indicator="))
            .ok_or_else(|| {
                Error::InputRejected(format!("{rel}: not below an indicator=<id> folder"))
            })?
            .to_string();
        let bytes = read_file(root, &path).await?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .map_err(|e| Error::InputRejected(format!("{rel}: unreadable Parquet file: {e}")))?;
        let file_k = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| {
                kv.iter()
                    .find(|x| x.key == K_METADATA)
                    .and_then(|x| x.value.clone())
            })
            .and_then(|v| v.parse::<i64>().ok());
        if let (Some(a), Some(b)) = (k, file_k)
            && a != b
        {
            return Err(Error::InputRejected(format!(
                "{rel}: k = {b}, other files say {a}"
            )));
        }
        k = k.or(file_k);
        let reader = builder
            .build()
            .map_err(|e| Error::InputRejected(format!("{rel}: {e}")))?;
        for batch in reader {
            let batch = batch.map_err(|e| Error::InputRejected(format!("{rel}: {e}")))?;
            cells.extend(cells_from_batch(&batch, &rel, Some(&indicator))?);
            batches.push(with_indicator(&batch, &indicator)?);
        }
    }
    Ok(Published {
        cells: cells.iter().map(Cell::published).collect(),
        k,
        batches,
    })
}

/// Reads a whole Parquet file as one batch.
async fn read_batch(
    root: &Root,
    rel: &str,
) -> Result<Option<datafusion::arrow::array::RecordBatch>> {
    Ok(read_batch_and_footer(root, rel).await?.map(|(b, _)| b))
}

/// A run's private file `rel`: under the private root, or (a run made before there was
/// one) in the run folder under the output.
async fn read_private(
    root: &Root,
    rel: &str,
) -> Result<Option<datafusion::arrow::array::RecordBatch>> {
    Ok(read_private_and_footer(root, rel).await?.map(|(b, _)| b))
}

/// [`read_private`] with the file's footer metadata ([`read_batch_and_footer`]).
pub async fn read_private_and_footer(
    root: &Root,
    rel: &str,
) -> Result<Option<(datafusion::arrow::array::RecordBatch, Vec<(String, String)>)>> {
    match read_batch_and_footer(root.private_root(), rel).await? {
        None if root.private.is_some() => read_batch_and_footer(root, rel).await,
        found => Ok(found),
    }
}

/// Reads a whole Parquet file as one batch, with its footer's key-value metadata
/// (`None` when the file does not exist).
pub async fn read_batch_and_footer(
    root: &Root,
    rel: &str,
) -> Result<Option<(datafusion::arrow::array::RecordBatch, Vec<(String, String)>)>> {
    let path = root.child(rel);
    let bytes = match root.store.get(&path).await {
        Ok(r) => r.bytes().await.map_err(|e| Error::io(rel, e))?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(Error::io(rel, e)),
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| Error::InputRejected(format!("{rel}: unreadable Parquet file: {e}")))?;
    let schema = std::sync::Arc::clone(builder.schema());
    let footer: Vec<(String, String)> = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|x| (x.key.clone(), x.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let reader = builder
        .build()
        .map_err(|e| Error::InputRejected(format!("{rel}: unreadable Parquet file: {e}")))?;
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::InputRejected(format!("{rel}: {e}")))?;
    datafusion::arrow::compute::concat_batches(&schema, &batches)
        .map(|b| Some((b, footer)))
        .map_err(|e| Error::internal(rel, e))
}

/// Audits the run folder `run`, read together with the earlier release `against` (a
/// run folder under the same root) when given: every period both publish is one the
/// attacker holds twice. Periods published identically add nothing; where a cell's
/// counts differ between the two (a revision), each count that changed by 1..k−1 is a
/// count of persons and must keep a range at least k wide in `run` (so the change, new
/// minus old, is at least that wide: the two releases share no relation for a revised
/// period). A published cell with such a change fails the audit.
pub async fn audit_against(
    root: &Root,
    run: &str,
    against: Option<&str>,
    k: Option<i64>,
    threads: usize,
) -> Result<Report> {
    let started = std::time::Instant::now();
    let published = format!("{run}/published");
    let Published {
        cells,
        k: file_k,
        batches,
    } = read_published(root, &published).await?;
    let k = k.or(file_k).ok_or_else(|| {
        Error::Config(format!(
            "the files do not record k ({K_METADATA}); pass --k"
        ))
    })?;
    let record_rel = format!("{run}/{}", record::PATH);
    let record_batch = read_private(root, &record_rel).await?.ok_or_else(|| {
        Error::InputRejected(format!(
            "{record_rel}: the statistician's record is missing; the audit needs it to know which withheld counts are small"
        ))
    })?;
    let mut truth = record::cells(&record_batch, &record_rel)?;
    if let Some(old_run) = against {
        let old_rel = format!("{old_run}/{}", record::PATH);
        let old_batch = read_private(root, &old_rel).await?.ok_or_else(|| {
            Error::InputRejected(format!(
                "{old_rel}: the earlier release's record is missing; the audit needs its counts to measure the changes"
            ))
        })?;
        let old = record::cells(&old_batch, &old_rel)?;
        let periods: std::collections::BTreeSet<(String, String)> = old
            .iter()
            .map(|c| (c.indicator.clone(), c.period.clone()))
            .collect();
        crate::stages::disclose::release::mark_changes(
            &mut truth,
            &crate::stages::disclose::release::counts_by_cell(&old),
            |c| periods.contains(&(c.indicator.clone(), c.period.clone())),
            k,
        );
    }
    let codes = Codes::embedded()?;
    let exposures = attack(&cells, &truth, k, codes, threads)?;
    let rankings = check_rankings(root, &published, &batches).await?;
    Ok(Report {
        k,
        cells: cells.len(),
        suppressed: cells.iter().filter(|c| c.suppressed).count(),
        exposures,
        rankings,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Recomputes the ranking from the published cells and lists every row of
/// `published/rankings` that differs.
async fn check_rankings(
    root: &Root,
    published: &str,
    batches: &[datafusion::arrow::array::RecordBatch],
) -> Result<Vec<String>> {
    let rel = format!("{published}/rankings/part-0.parquet");
    let Some(written) = read_batch(root, &rel).await? else {
        return Ok(vec![format!("{rel}: missing")]);
    };
    let recomputed = crate::stages::rankings::rank(batches).await?;
    Ok(crate::stages::rankings::differences(&written, &recomputed))
}

/// Audits `runs/<run_id>` under an output root, with the earlier release
/// `runs/<against>` when given ([`audit_against`]).
pub async fn audit_run(
    root: &Root,
    run_id: &str,
    against: Option<&str>,
    k: Option<i64>,
) -> Result<Report> {
    let against = against.map(|a| format!("runs/{a}"));
    audit_against(
        root,
        &format!("runs/{run_id}"),
        against.as_deref(),
        k,
        threads(),
    )
    .await
}

/// Audits the run `current` points to (with `against` as in [`audit_run`]).
pub async fn audit_current(
    root: &Root,
    against: Option<&str>,
    k: Option<i64>,
) -> Result<(String, Report)> {
    let run = crate::storage::runs::current_run(root)
        .await?
        .ok_or_else(|| {
            Error::InputRejected(format!("{}: no `current` run to audit", root.display))
        })?;
    let report = audit_run(root, &run, against, k).await?;
    Ok((run, report))
}

fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}
