//! `skolegang audit`: the attacker's tool. It reads nothing but the published indicator
//! files, rebuilds the relations between their counts, solves them (the same
//! [`super::attack`] that disclosure control proves itself with) and reports every
//! withheld small count it can fix.

use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;

use super::{Cell, Exposure, K_METADATA, attack, batch::cells_from_batch};
use crate::codes::Codes;
use crate::error::{Error, Result};
use crate::store::Root;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub k: i64,
    pub cells: usize,
    pub suppressed: usize,
    pub exposures: Vec<Exposure>,
}

/// Reads the cells under `<root>/<published>/indicators/indicator=<id>/*.parquet`, with the
/// threshold k recorded in their footers.
pub async fn read_published(root: &Root, published: &str) -> Result<(Vec<Cell>, Option<i64>)> {
    let prefix = root.child(&format!("{published}/indicators"));
    let mut files: Vec<_> = root
        .store
        .list(Some(&prefix))
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| Error::io(format!("listing {published}/indicators"), e))?
        .into_iter()
        .map(|m| m.location)
        .filter(|p| p.as_ref().ends_with(".parquet"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::InputRejected(format!(
            "no indicator files under {}/{published}/indicators",
            root.display
        )));
    }
    let mut cells = Vec::new();
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
        let bytes = root
            .store
            .get(&path)
            .await
            .map_err(|e| Error::io(&rel, e))?
            .bytes()
            .await
            .map_err(|e| Error::io(&rel, e))?;
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
            cells.extend(cells_from_batch(&batch, Some(&indicator))?);
        }
    }
    Ok((cells.iter().map(Cell::published).collect(), k))
}

/// Audits the published folder `published` (relative to `root`).
pub async fn audit_published(root: &Root, published: &str, k: Option<i64>) -> Result<Report> {
    let (cells, file_k) = read_published(root, published).await?;
    let k = k.or(file_k).ok_or_else(|| {
        Error::Config(format!(
            "the files do not record k ({K_METADATA}); pass --k"
        ))
    })?;
    let codes = Codes::embedded()?;
    let exposures = attack(&cells, k, &codes);
    Ok(Report {
        k,
        cells: cells.len(),
        suppressed: cells.iter().filter(|c| c.suppression.is_some()).count(),
        exposures,
    })
}

/// Audits `runs/<run_id>/published` under an output root.
pub async fn audit_run(root: &Root, run_id: &str, k: Option<i64>) -> Result<Report> {
    audit_published(root, &format!("runs/{run_id}/published"), k).await
}

/// Audits the run `current` points to.
pub async fn audit_current(root: &Root, k: Option<i64>) -> Result<(String, Report)> {
    let run = crate::publish::current_run(root).await?.ok_or_else(|| {
        Error::InputRejected(format!("{}: no `current` run to audit", root.display))
    })?;
    let report = audit_run(root, &run, k).await?;
    Ok((run, report))
}
