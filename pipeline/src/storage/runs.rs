//! Writing a run's files and switching `current` (data-contract.md, "Outputs").
//!
//! A run writes everything below `runs/<run-id>/` and only then switches `current`:
//! on a local disk a new symlink renamed over the old one; on an object store an
//! object named `current` holding the run id, written last. Readers going through
//! `current` see a complete run, never a mixture.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use object_store::{ObjectStoreExt, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::storage::store::Root;

/// One file a run wrote, as recorded in the manifest.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OutputFile {
    /// Relative to the run folder, e.g. `quarantine/exams/part-0.parquet`.
    pub path: String,
    pub size: u64,
    pub sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// A new run id: UTC time to the millisecond (so ids sort by time) and a random suffix
/// (so two runs in the same millisecond differ), e.g. `20261122T213748.123Z-4f1a`.
pub fn new_run_id(now: DateTime<Utc>) -> String {
    format!(
        "{}-{:04x}",
        now.format("%Y%m%dT%H%M%S%.3fZ"),
        rand::random::<u16>()
    )
}

/// The version of the output tables' schemas (data-contract.md, "Outputs"); changes
/// only with a CHANGELOG entry.
pub const SCHEMA_VERSION: &str = "2";
/// The version of the indicator definitions implemented (methodology.md and the
/// choices in docs/methodology-choices.md); changes only with a CHANGELOG entry. The
/// configurable choices of a run are in `skolegang.configuration`.
pub const METHODOLOGY_VERSION: &str = "2";

/// The key-value metadata in the footer of every Parquet file a run writes, so that a
/// file says what it is without the manifest beside it. The data version stands where
/// a run id would: it names the data and configuration the file was computed from and
/// keeps reruns byte-identical (the run's manifest maps run id and data version).
pub fn file_metadata(
    data_version: &str,
    extract_date: chrono::NaiveDate,
    k: i64,
    config: &serde_json::Value,
) -> Vec<(&'static str, String)> {
    vec![
        ("skolegang.schema_version", SCHEMA_VERSION.to_string()),
        ("skolegang.data_version", data_version.to_string()),
        ("skolegang.extract_date", extract_date.to_string()),
        (
            "skolegang.methodology_version",
            METHODOLOGY_VERSION.to_string(),
        ),
        (K_METADATA, k.to_string()),
        ("skolegang.version", env!("CARGO_PKG_VERSION").to_string()),
        ("skolegang.configuration", config.to_string()),
    ]
}

/// The footer key of the disclosure k a file was protected with (the audit reads it).
pub const K_METADATA: &str = "skolegang.disclosure_k";

/// The folder of one run under an output root.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub root: Root,
    pub run_id: String,
    /// Written into the footer of every Parquet file ([`file_metadata`]).
    pub metadata: Vec<(&'static str, String)>,
}

impl RunDir {
    pub fn new(root: Root, run_id: String, metadata: Vec<(&'static str, String)>) -> Self {
        RunDir {
            root,
            run_id,
            metadata,
        }
    }

    /// `runs/<run-id>/<relative>` below the output root, or below the private root for
    /// a private folder's file.
    pub fn path(&self, relative: &str) -> object_store::path::Path {
        self.root_of(relative)
            .child(&format!("runs/{}/{relative}", self.run_id))
    }

    /// The root `relative` is written below: the private root for a private folder.
    pub fn root_of(&self, relative: &str) -> &Root {
        if is_private(relative) {
            self.root.private_root()
        } else {
            &self.root
        }
    }

    /// Writes `bytes` to `relative` inside the run folder.
    pub async fn put(
        &self,
        relative: &str,
        bytes: Vec<u8>,
        rows: Option<u64>,
    ) -> Result<OutputFile> {
        let size = bytes.len() as u64;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let path = self.path(relative);
        if let Some(e) = crate::faults::write_error(relative) {
            return Err(Error::io(
                format!("writing {}", self.root_of(relative).relative(&path)),
                e,
            ));
        }
        let private = is_private(relative);
        let root = self.root_of(relative);
        let local_file = match &root.local {
            Some(dir) => {
                // Every folder gets its mode on purpose before a file is written in it
                // (docs/security.md): the run folder and the public folders 0755,
                // person-level and record folders 0700.
                let own_private_root = self.root.private.is_some() && private;
                let mode = if own_private_root {
                    0o700
                } else {
                    PUBLIC_DIR_MODE
                };
                let run = run_folder(dir, &self.run_id, mode)
                    .map_err(|e| Error::io(format!("creating runs/{}", self.run_id), e))?;
                let file = run.join(relative);
                let made = if private {
                    file.parent().map_or(Ok(()), private_dirs)
                } else {
                    public_dirs(&run, relative)
                };
                made.map_err(|e| {
                    Error::io(
                        format!("creating the folders of runs/{}/{relative}", self.run_id),
                        e,
                    )
                })?;
                Some(file)
            }
            None => None,
        };
        root.store
            .put(&path, PutPayload::from(Bytes::from(bytes)))
            .await
            .map_err(|e| Error::io(format!("writing {}", root.relative(&path)), e))?;
        if let Some(file) = &local_file {
            set_mode(file, if private { 0o600 } else { 0o644 })
                .map_err(|e| Error::io(format!("setting the mode of {}", file.display()), e))?;
        }
        Ok(OutputFile {
            path: relative.to_string(),
            size,
            sha256,
            rows,
        })
    }

    /// Writes Parquet with the run's footer metadata.
    pub async fn put_parquet(
        &self,
        relative: &str,
        schema: SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<OutputFile> {
        let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
        let bytes = parquet_bytes_with(schema, batches, &self.metadata)
            .map_err(|e| Error::internal(relative, e))?;
        self.put(relative, bytes, Some(rows)).await
    }

    /// Points `current` at this run, atomically.
    pub async fn switch_current(&self) -> Result<()> {
        match &self.root.local {
            Some(dir) => {
                let target = format!("runs/{}", self.run_id);
                let tmp = dir.join(format!(".current-{}", self.run_id));
                let link = dir.join("current");
                let _ = std::fs::remove_file(&tmp);
                symlink(&target, &tmp)
                    .map_err(|e| Error::io(format!("creating {}", tmp.display()), e))?;
                crate::faults::point(crate::stage::Stage::Switch);
                std::fs::rename(&tmp, &link)
                    .map_err(|e| Error::io(format!("switching {}", link.display()), e))?;
                Ok(())
            }
            None => {
                let path = self.root.child("current");
                crate::faults::point(crate::stage::Stage::Switch);
                self.root
                    .store
                    .put(&path, PutPayload::from(Bytes::from(self.run_id.clone())))
                    .await
                    .map_err(|e| Error::io("writing current", e))?;
                Ok(())
            }
        }
    }
}

/// The private folders of a run: person-level files (`restricted/`, `quarantine/`) and
/// the statistician's disclosure record (`disclosure/`, every cell's true counts). On a
/// local disk their folders are 0700 and the files 0600.
pub const PRIVATE_FOLDERS: [&str; 3] = ["restricted", "quarantine", "disclosure"];

pub fn is_private(relative: &str) -> bool {
    PRIVATE_FOLDERS.iter().any(|f| {
        relative
            .strip_prefix(f)
            .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// The mode of a run folder and its public folders: readable by everyone who may read
/// `published/` (docs/security.md).
pub const PUBLIC_DIR_MODE: u32 = 0o755;

/// Creates `path` as a folder with `mode` (set explicitly, whatever the umask) unless
/// it is one already; a link or file there is an error, never followed.
#[cfg(unix)]
fn make_dir(path: &std::path::Path, mode: u32) -> std::io::Result<bool> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(mode).create(path) {
        Ok(()) => set_mode(path, mode).map(|()| true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if std::fs::symlink_metadata(path)?.is_dir() {
                Ok(false)
            } else {
                Err(std::io::Error::other(format!(
                    "{} exists and is not a folder (a link or a file is never followed)",
                    path.display()
                )))
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn make_dir(path: &std::path::Path, _mode: u32) -> std::io::Result<bool> {
    std::fs::create_dir_all(path).map(|()| true)
}

/// A folder that is ours (a run folder, a folder inside one, the spill folder): created
/// with `mode`, or set to `mode` if it is a folder already; a link there is an error.
fn own_dir(path: &std::path::Path, mode: u32) -> std::io::Result<()> {
    if !make_dir(path, mode)? {
        set_mode(path, mode)?;
    }
    Ok(())
}

/// A local root (the output, or a private root of its own) if it is missing: its
/// parents as the umask makes them, the root itself `mode`; an existing root keeps the
/// mode its owner gave it.
pub fn output_root(root: &std::path::Path, mode: u32) -> std::io::Result<()> {
    if root.exists() {
        return Ok(());
    }
    if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    make_dir(root, mode).map(|_| ())
}

/// `<root>/runs/<run_id>`, created `mode` with `runs/` and the root itself where they
/// are missing (an existing root or `runs/` keeps the mode its owner gave it): 0755 under
/// the output, 0700 under a private root of its own.
pub fn run_folder(
    root: &std::path::Path,
    run_id: &str,
    mode: u32,
) -> std::io::Result<std::path::PathBuf> {
    output_root(root, mode)?;
    let runs = root.join("runs");
    make_dir(&runs, mode)?;
    let run = runs.join(run_id);
    own_dir(&run, mode)?;
    Ok(run)
}

/// A private working folder (the spill folder under a local output): created 0700,
/// or set 0700 if it is a folder already; a link there is an error.
pub fn private_folder(path: &std::path::Path) -> std::io::Result<()> {
    own_dir(path, 0o700)
}

/// The folders of public file `relative` below the run folder `run`, each created (or
/// set) 0755.
fn public_dirs(run: &std::path::Path, relative: &str) -> std::io::Result<()> {
    let mut dir = run.to_path_buf();
    let parts: Vec<&str> = relative.split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        dir.push(part);
        own_dir(&dir, PUBLIC_DIR_MODE)?;
    }
    Ok(())
}

/// Creates `dir` with mode 0700, and sets 0700 on it and its parents up to the private
/// top folder (`restricted`, `quarantine` or `disclosure`).
#[cfg(unix)]
fn private_dirs(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mut d = Some(dir);
    while let Some(p) = d {
        set_mode(p, 0o700)?;
        if p.file_name()
            .is_some_and(|n| PRIVATE_FOLDERS.iter().any(|f| n == *f))
        {
            break;
        }
        d = p.parent();
    }
    Ok(())
}

#[cfg(not(unix))]
fn private_dirs(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn set_mode(path: &std::path::Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &std::path::Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn symlink(target: &str, link: &std::path::Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &str, _link: &std::path::Path) -> std::io::Result<()> {
    Err(std::io::Error::other("symlinks need a Unix system"))
}

/// The run `current` points to, if any.
pub async fn current_run(root: &Root) -> Result<Option<String>> {
    match &root.local {
        Some(dir) => match std::fs::read_link(dir.join("current")) {
            Ok(target) => Ok(target.file_name().map(|n| n.to_string_lossy().into_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Err(Error::Config(format!(
                "{}/current is a {} where Skolegang keeps a symbolic link to the current run (runs/<run-id>); move it away (or make it such a link) and run again",
                dir.display(),
                if dir.join("current").is_dir() {
                    "folder"
                } else {
                    "file"
                }
            ))),
            Err(e) => Err(Error::io("reading current", e)),
        },
        None => match root.store.get(&root.child("current")).await {
            Ok(r) => {
                let b = r
                    .bytes()
                    .await
                    .map_err(|e| Error::io("reading current", e))?;
                let id = String::from_utf8_lossy(&b).trim().to_string();
                // A run id: what new_run_id makes (digits, `T`, `.`, `Z`, `-`, hex).
                let plausible = !id.is_empty()
                    && id.len() <= 64
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
                if !plausible {
                    return Err(Error::Config(format!(
                        "{}/current does not hold a run id (it should name a folder under runs/); fix or remove it and run again",
                        root.display
                    )));
                }
                Ok(Some(id))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::io("reading current", e)),
        },
    }
}

/// Parquet bytes with deterministic content: zstd, no timestamps.
pub fn parquet_bytes(
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    parquet_bytes_with(schema, batches, &[])
}

/// Parquet bytes with key-value metadata in the footer.
pub fn parquet_bytes_with(
    schema: SchemaRef,
    batches: &[RecordBatch],
    metadata: &[(&str, String)],
) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let kv: Vec<parquet::file::metadata::KeyValue> = metadata
        .iter()
        .map(|(k, v)| parquet::file::metadata::KeyValue::new(k.to_string(), v.clone()))
        .collect();
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_key_value_metadata((!kv.is_empty()).then_some(kv))
        .build();
    let mut buf = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buf, Arc::clone(&schema), Some(props))?;
    for b in batches {
        writer.write(b)?;
    }
    writer.close()?;
    Ok(buf)
}

/// The run `current` points to and its manifest's `data_version`, if there is one.
pub async fn current_data_version(root: &Root) -> Result<Option<(String, String)>> {
    let Some(run_id) = current_run(root).await? else {
        return Ok(None);
    };
    let path = root.child(&format!("runs/{run_id}/manifest.json"));
    let bytes = match root.store.get(&path).await {
        Ok(r) => r
            .bytes()
            .await
            .map_err(|e| Error::io(format!("reading runs/{run_id}/manifest.json"), e))?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(Error::io(format!("reading runs/{run_id}/manifest.json"), e)),
    };
    let manifest: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::io(format!("reading runs/{run_id}/manifest.json"), e))?;
    Ok(manifest["data_version"]
        .as_str()
        .map(|v| (run_id.clone(), v.to_string())))
}

/// Whether `name` is a run id as [`new_run_id`] makes them
/// (`YYYYMMDDTHHMMSS.mmmZ-xxxx`). Only such names under `runs/` are ever deleted.
pub fn is_run_id(name: &str) -> bool {
    let b = name.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() == 25
        && digits(0..8)
        && b[8] == b'T'
        && digits(9..15)
        && b[15] == b'.'
        && digits(16..19)
        && b[19] == b'Z'
        && b[20] == b'-'
        && b[21..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// The run folders under `runs/`: per run id, whether it holds `manifest.json` (a
/// complete run). On a local disk only real folders count: an entry is judged by its
/// own metadata, never through a link, so a symbolic link, a file or a folder whose
/// name is not a run id is not a run and is never touched. On an object store, the
/// objects under `runs/<run-id>/`.
async fn run_folders(root: &Root) -> Result<std::collections::BTreeMap<String, bool>> {
    let mut out = std::collections::BTreeMap::new();
    if let Some(dir) = &root.local {
        let runs = dir.join("runs");
        let entries = match std::fs::read_dir(&runs) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io(format!("listing {}", runs.display()), e)),
        };
        for e in entries {
            let e = e.map_err(|e| Error::io(format!("listing {}", runs.display()), e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let real_dir = std::fs::symlink_metadata(e.path()).is_ok_and(|m| m.is_dir());
            if !real_dir || !is_run_id(&name) {
                continue;
            }
            let manifest = std::fs::symlink_metadata(e.path().join("manifest.json"))
                .is_ok_and(|m| m.is_file());
            out.insert(name, manifest);
        }
        return Ok(out);
    }
    use futures::TryStreamExt;
    let listed: Vec<object_store::ObjectMeta> = root
        .store
        .list(Some(&root.child("runs")))
        .try_collect()
        .await
        .map_err(|e| Error::io("listing runs/", e))?;
    for m in listed {
        let rel = root.relative(&m.location);
        let Some((id, rest)) = rel.strip_prefix("runs/").and_then(|r| r.split_once('/')) else {
            continue;
        };
        if !is_run_id(id) {
            continue;
        }
        *out.entry(id.to_string()).or_insert(false) |= rest == "manifest.json";
    }
    Ok(out)
}

/// Deletes the run folders `ids` (run ids of [`run_folders`]). On a local disk each is
/// checked again to be a real folder, not a link, and removed with everything in it
/// (links inside are removed, never followed); on an object store its objects are
/// deleted. `mark` names a fault point passed after each run.
async fn delete_runs(root: &Root, ids: &[String], mark: Option<crate::stage::Stage>) -> Result<()> {
    for id in ids {
        if !is_run_id(id) {
            continue;
        }
        match &root.local {
            Some(dir) => {
                let path = dir.join("runs").join(id);
                let real_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
                if real_dir {
                    std::fs::remove_dir_all(&path)
                        .map_err(|e| Error::io(format!("deleting runs/{id}"), e))?;
                }
            }
            None => {
                use futures::TryStreamExt;
                let prefix = root.child(&format!("runs/{id}"));
                let objects: Vec<object_store::ObjectMeta> = root
                    .store
                    .list(Some(&prefix))
                    .try_collect()
                    .await
                    .map_err(|e| Error::io(format!("listing runs/{id}"), e))?;
                for m in objects {
                    root.store.delete(&m.location).await.map_err(|e| {
                        Error::io(format!("deleting {}", root.relative(&m.location)), e)
                    })?;
                }
            }
        }
        if let Some(point) = mark {
            crate::faults::point(point);
        }
    }
    Ok(())
}

/// Deletes all but the newest `keep` run folders, never the one `current` points to.
/// Run ids sort by time, so the newest are the last in name order. Returns the ids
/// deleted.
pub async fn prune_runs(root: &Root, keep: usize) -> Result<Vec<String>> {
    let folders = run_folders(root).await?;
    let current = current_run(root).await?;
    let old: Vec<String> = folders
        .keys()
        .rev()
        .skip(keep.max(1))
        .filter(|id| Some(*id) != current.as_ref())
        .cloned()
        .collect();
    delete_runs(root, &old, Some(crate::stage::Stage::Prune)).await?;
    if let Some(private) = &root.private {
        // The private folders of the runs pruned, and of runs no longer kept at all.
        let kept: Vec<&String> = folders.keys().filter(|id| !old.contains(id)).collect();
        let gone: Vec<String> = run_folders(private)
            .await?
            .into_keys()
            .filter(|id| !kept.contains(&id) && Some(id) != current.as_ref())
            .collect();
        delete_runs(private, &gone, None).await?;
    }
    Ok(old)
}

/// The leftovers of runs that were killed or failed to write: run folders without a
/// `manifest.json` (the manifest is the last file a run writes before the switch), and
/// on a local disk the temporary `.current-<run-id>` links of an interrupted switch.
/// Never the run `current` points to, and never anything that is not a run folder
/// ([`run_folders`]). Call it holding the run lock (no run is writing). Returns the run
/// ids deleted.
pub async fn clean_debris(root: &Root) -> Result<Vec<String>> {
    let folders = run_folders(root).await?;
    let current = current_run(root).await?;
    let (complete, incomplete): (Vec<_>, Vec<_>) = folders.into_iter().partition(|(_, c)| *c);
    let complete: Vec<String> = complete.into_iter().map(|(id, _)| id).collect();
    let debris: Vec<String> = incomplete
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| Some(id) != current.as_ref())
        .collect();
    delete_runs(root, &debris, None).await?;
    if let Some(private) = &root.private {
        // Private folders of runs that have no complete run under the output: debris.
        let orphans: Vec<String> = run_folders(private)
            .await?
            .into_keys()
            .filter(|id| !complete.contains(id) && Some(id) != current.as_ref())
            .collect();
        delete_runs(private, &orphans, None).await?;
    }
    if let Some(Ok(entries)) = root.local.as_ref().map(std::fs::read_dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            // Only the links a switch makes: `.current-<run-id>`, a symbolic link.
            let ours = name.strip_prefix(".current-").is_some_and(is_run_id)
                && std::fs::symlink_metadata(e.path()).is_ok_and(|m| m.file_type().is_symlink());
            if ours {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(debris)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_what_new_run_id_makes() {
        let id = new_run_id(chrono::Utc::now());
        assert!(is_run_id(&id), "{id}");
        assert!(is_run_id("20261122T213748.123Z-4f1a"));
        for other in [
            "",
            "r1",
            "20261122T213748.123Z-4F1A",
            "20261122T213748.123Z-4f1",
            "20261122T213748.123Z-4f1a/..",
            "../20261122T213748.123Z",
            "2026112xT213748.123Z-4f1a",
            "notes",
        ] {
            assert!(!is_run_id(other), "{other}");
        }
    }
}
