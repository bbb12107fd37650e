//! Ingest: list each extract's Parquet files, fetch them, check their schemas against
//! the contract, and decode them into canonical Arrow batches on demand.
//!
//! Every file is fetched once by ingest (and once before, on a changed night, by the
//! fingerprint, `run::fingerprint`); its bytes give the size and sha256 for the manifest
//! and, held in memory (compressed, as stored), the rows of every later scan
//! ([`scan`]). Schema problems are fatal and name the file and the column.

pub mod damaged;
pub mod narrow;
pub mod scan;

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, RecordBatch, RecordBatchOptions, StringArray, new_null_array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::ScalarValue;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder, RowSelection,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::{debug, info_span};

use crate::contract::{Column, Extract, Kind, OUT_OF_RANGE, ROW_ORDINAL, schema_with};
use crate::error::{Error, Result};
use crate::storage::store::Root;
use narrow::{can_misfit, narrow};

/// Rows per Arrow batch when decoding.
const BATCH_ROWS: usize = 64 * 1024;

/// One input file, as recorded in the manifest.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InputFile {
    /// Relative to the input root, e.g. `exams/school_year=2023/part-0.parquet`.
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub rows: u64,
    /// The run-wide ordinal of the file's first row (not in the manifest).
    #[serde(skip)]
    pub first_row: i64,
}

/// One extract as ingested: its files checked, hashed and held for decoding.
#[derive(Debug)]
pub struct Ingested {
    pub extract: Extract,
    pub files: Vec<InputFile>,
    pub data: Arc<Vec<FileData>>,
    pub rows_read: u64,
}

/// The file and 0-based row position of a run-wide ordinal, given an extract's files
/// in ingest order.
pub fn locate(files: &[InputFile], ordinal: i64) -> Option<(&str, i64)> {
    let i = files.partition_point(|f| f.first_row <= ordinal);
    let f = files.get(i.checked_sub(1)?)?;
    (ordinal - f.first_row < f.rows as i64).then(|| (f.path.as_str(), ordinal - f.first_row))
}

/// The schema of ingested batches: contract columns plus `_row`.
pub fn ingested_schema(extract: Extract) -> SchemaRef {
    schema_with(
        extract,
        &[
            Field::new(ROW_ORDINAL, DataType::Int64, false),
            Field::new(OUT_OF_RANGE, DataType::Utf8, true),
        ],
    )
}

/// Lists the `*.parquet` files of one extract, sorted by path. Hidden and
/// underscore-prefixed files (`_SUCCESS`, `.crc`) are not data.
pub async fn list_files(root: &Root, extract: Extract) -> Result<Vec<(Path, u64)>> {
    if let Some(dir) = &root.local {
        check_local_tree(&dir.join(extract.name()), extract.name())?;
    }
    let folder = root.child(extract.name());
    let listed: Vec<_> = match root.store.list(Some(&folder)).try_collect().await {
        Ok(v) => v,
        Err(object_store::Error::NotFound { .. }) => vec![],
        Err(e) => return Err(Error::io(format!("listing {}/", extract.name()), e)),
    };
    let mut files: Vec<(Path, u64)> = listed
        .into_iter()
        .filter(|m| {
            let name = m.location.filename().unwrap_or_default();
            is_data_file(name)
        })
        .map(|m| (m.location, m.size))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::InputRejected(format!(
            "{}/: extract folder is missing or holds no .parquet files (under {})",
            extract.name(),
            root.display
        )));
    }
    Ok(files)
}

/// A data file: `*.parquet` (any case), not hidden or underscore-prefixed (`_SUCCESS`,
/// `.crc`).
fn is_data_file(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".parquet")
        && !name.starts_with('.')
        && !name.starts_with('_')
}

/// On a local disk, every entry under an extract folder must be readable: a broken
/// symbolic link (a share that is not mounted) or an unreadable file or folder would
/// otherwise be skipped by the listing, and its rows silently lost. Hidden and
/// underscore-prefixed entries are not data and are not checked.
fn check_local_tree(dir: &std::path::Path, extract: &str) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir.symlink_metadata().is_err() => {
            return Ok(());
        }
        Err(e) => {
            return Err(Error::InputRejected(format!(
                "{}: unreadable folder of extract {extract}: {e}",
                dir.display()
            )));
        }
    };
    for entry in entries {
        let entry = entry.map_err(|e| {
            Error::InputRejected(format!("{}: unreadable folder: {e}", dir.display()))
        })?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let path = entry.path();
        let meta = std::fs::metadata(&path).map_err(|e| {
            let what = if path
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink())
            {
                "a broken symbolic link"
            } else {
                "unreadable"
            };
            Error::InputRejected(format!(
                "{}: {what} in extract {extract} ({e}); its rows would be lost",
                path.display()
            ))
        })?;
        if meta.is_dir() {
            check_local_tree(&path, extract)?;
        } else if is_data_file(&name) {
            std::fs::File::open(&path).map_err(|e| {
                Error::InputRejected(format!("{}: unreadable file: {e}", path.display()))
            })?;
        }
    }
    Ok(())
}

/// One input file's bytes; an unreadable file rejects the input, naming the file.
pub async fn fetch(root: &Root, path: &Path) -> Result<bytes::Bytes> {
    let unreadable = |e: object_store::Error| {
        Error::InputRejected(format!("{}: unreadable file: {e}", root.relative(path)))
    };
    root.store
        .get(path)
        .await
        .map_err(unreadable)?
        .bytes()
        .await
        .map_err(unreadable)
}

/// Hive partition values (`key=value` folders) between the extract folder and the file.
fn hive_values(relative: &str) -> BTreeMap<String, Option<String>> {
    let parts: Vec<&str> = relative.split('/').collect();
    let folders = parts.get(1..parts.len().saturating_sub(1)).unwrap_or(&[]);
    folders
        .iter()
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            let v = (v != "__HIVE_DEFAULT_PARTITION__").then(|| v.to_string());
            (k.to_string(), v)
        })
        .collect()
}

fn hive_scalar(
    file: &str,
    column: &str,
    kind: Kind,
    value: &Option<String>,
) -> Result<ScalarValue> {
    let bad = |rule: &str| Error::Schema {
        file: file.to_string(),
        column: column.to_string(),
        rule: format!(
            "hive partition value `{}` {rule}",
            value.as_deref().unwrap_or("")
        ),
    };
    Ok(match (kind, value) {
        (Kind::Int, None) => ScalarValue::Int64(None),
        (Kind::Str, None) => ScalarValue::Utf8(None),
        (Kind::Date, None) => ScalarValue::Date32(None),
        (Kind::Int, Some(v)) => {
            ScalarValue::Int64(Some(v.parse().map_err(|_| bad(Kind::Int.rule()))?))
        }
        (Kind::Str, Some(v)) => ScalarValue::Utf8(Some(v.clone())),
        (Kind::Date, Some(v)) => {
            let d = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| bad("must be a date YYYY-MM-DD"))?;
            ScalarValue::Date32(Some(crate::dates::to_days(d)))
        }
    })
}

/// Where a contract column comes from in one file.
#[derive(Debug, Clone)]
enum Source {
    /// The file's column at this index.
    File(usize),
    /// A hive partition value, the same on every row.
    Hive(ScalarValue),
    /// The file's column at this index, which must hold its hive folder's value on
    /// every row (a file that contradicts its folder is rejected).
    Both(usize, ScalarValue),
}

impl Source {
    fn file_column(&self) -> Option<usize> {
        match self {
            Source::File(i) | Source::Both(i, _) => Some(*i),
            Source::Hive(_) => None,
        }
    }
}

/// One input file, held for decoding: the bytes that were hashed for the manifest
/// (so every scan decodes exactly what was fingerprinted), its Parquet metadata, where
/// each contract column comes from, and the run-wide ordinal of each row group's first
/// row.
#[derive(Debug)]
pub struct FileData {
    pub relative: String,
    bytes: bytes::Bytes,
    metadata: ArrowReaderMetadata,
    sources: Vec<Source>,
    /// Per row group: its first row's run-wide ordinal and its row count.
    pub row_groups: Vec<(i64, usize)>,
    /// The run-wide ordinal after the file's last row: the next file's first (checked
    /// for overflow when the footer was read).
    pub end_row: i64,
}

impl FileData {
    /// Checks one file's schema against the contract and reads its footer. Nothing is
    /// decoded yet; `first_row` is the run-wide ordinal of the file's first row.
    pub(crate) fn inspect(
        extract: Extract,
        relative: &str,
        bytes: bytes::Bytes,
        first_row: i64,
    ) -> Result<FileData> {
        let unreadable = |e: &dyn std::fmt::Display| {
            Error::InputRejected(format!("{relative}: unreadable Parquet file: {e}"))
        };
        let metadata = ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::default())
            .map_err(|e| unreadable(&e))?;
        let file_schema = Arc::clone(metadata.schema());
        let hive = hive_values(relative);
        let mut sources = Vec::new();
        for c in extract.columns() {
            let schema_error = |rule: String| Error::Schema {
                file: relative.to_string(),
                column: c.name.to_string(),
                rule,
            };
            let mut found = file_schema
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, f)| f.name() == c.name);
            let in_file = found.next();
            if found.next().is_some() {
                return Err(schema_error(
                    "appears more than once in the file".to_string(),
                ));
            }
            let source = match (in_file, hive.get(c.name)) {
                (Some((i, field)), folder) => {
                    let t = field.data_type();
                    if !c.kind.accepts(t) {
                        return Err(schema_error(format!("has type {t}; {}", c.kind.rule())));
                    }
                    match folder {
                        Some(v) => Source::Both(i, hive_scalar(relative, c.name, c.kind, v)?),
                        None => Source::File(i),
                    }
                }
                (None, Some(v)) => Source::Hive(hive_scalar(relative, c.name, c.kind, v)?),
                (None, None) => {
                    return Err(schema_error("required column is missing".to_string()));
                }
            };
            sources.push(source);
        }
        // The footer's row counts are checked against each other here, and against the
        // rows actually decoded when the file is read (scan.rs): a footer that claims
        // more (or fewer) rows than the file holds rejects the file.
        let mut next = first_row;
        let mut row_groups = Vec::new();
        let mut total: i64 = 0;
        let read: Vec<usize> = sources.iter().filter_map(Source::file_column).collect();
        let parquet_schema = metadata.parquet_schema();
        for (g, rg) in metadata.metadata().row_groups().iter().enumerate() {
            let n = usize::try_from(rg.num_rows()).map_err(|e| unreadable(&e))?;
            // Each flat column chunk read holds one value (or null) per row.
            for (leaf, chunk) in rg.columns().iter().enumerate() {
                let flat = chunk.column_descr().max_rep_level() == 0;
                let root = parquet_schema.get_column_root_idx(leaf);
                if flat && read.contains(&root) && chunk.num_values() != rg.num_rows() {
                    return Err(Error::InputRejected(format!(
                        "{relative}: row group {g}: column `{}` holds {} values for {} rows; the file is damaged",
                        chunk.column_path().string(),
                        chunk.num_values(),
                        rg.num_rows()
                    )));
                }
            }
            row_groups.push((next, n));
            total = total.checked_add(rg.num_rows()).ok_or_else(|| {
                Error::InputRejected(format!("{relative}: the footer's row counts overflow"))
            })?;
            next = next.checked_add(rg.num_rows()).ok_or_else(|| {
                Error::InputRejected(format!(
                    "{relative}: the row counts of the extract's files overflow"
                ))
            })?;
        }
        let claimed = metadata.metadata().file_metadata().num_rows();
        if claimed != total {
            return Err(Error::InputRejected(format!(
                "{relative}: the footer says {claimed} rows but its row groups hold {total}; the file is damaged"
            )));
        }
        Ok(FileData {
            relative: relative.to_string(),
            bytes,
            metadata,
            sources,
            row_groups,
            end_row: next,
        })
    }

    pub fn rows(&self) -> u64 {
        self.row_groups.iter().map(|(_, n)| *n as u64).sum()
    }

    /// Decodes row group `row_group`, batch by batch, as the contract columns
    /// `columns` (indices into the extract's columns, in the order given) in canonical
    /// types. Only those columns are decoded — and, with `out_of_range`, also every
    /// column that can hold a value that does not fit ([`narrow`]), so that a
    /// last column, `_out_of_range`, can name them. Batches keep the row group's row
    /// order, so the i-th row is the ordinal `row_groups[row_group].0 + i` — or, when
    /// `only` is given (sorted run-wide ordinals inside the row group), only those rows
    /// are decoded and the i-th row is `only[i]`.
    pub fn decode(
        &self,
        extract: Extract,
        row_group: usize,
        columns: &[usize],
        only: Option<&[i64]>,
        out_of_range: bool,
    ) -> Result<Decoder> {
        let relative = self.relative.clone();
        let file_schema = Arc::clone(self.metadata.schema());
        let all = extract.columns();
        let contract = |c: usize| {
            all.get(c)
                .copied()
                .ok_or_else(|| Error::Internal(format!("{relative}: no contract column {c}")))
        };
        // The columns to decode: those asked for, then (with `out_of_range`) those that
        // can misfit, which are only watched.
        let mut wanted: Vec<(usize, bool)> = columns.iter().map(|c| (*c, true)).collect();
        if out_of_range {
            for (c, source) in self.sources.iter().enumerate() {
                let misfits = source
                    .file_column()
                    .is_some_and(|i| can_misfit(file_schema.field(i).data_type()));
                if misfits && !columns.contains(&c) {
                    wanted.push((c, false));
                }
            }
        }
        let mut roots: Vec<usize> = wanted
            .iter()
            .filter_map(|(c, _)| self.sources.get(*c).and_then(Source::file_column))
            .collect();
        roots.sort_unstable();
        roots.dedup();
        let mask = ProjectionMask::roots(self.metadata.parquet_schema(), roots.iter().copied());
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
            self.bytes.clone(),
            self.metadata.clone(),
        )
        .with_projection(mask)
        .with_row_groups(vec![row_group])
        .with_batch_size(BATCH_ROWS);
        if let (Some(only), Some((first, rows))) = (only, self.row_groups.get(row_group)) {
            let ranges = only.iter().map(|o| {
                let i = (o - first) as usize;
                i..i + 1
            });
            builder =
                builder.with_row_selection(RowSelection::from_consecutive_ranges(ranges, *rows));
        }
        let reader = builder.build().map_err(|e| {
            Error::InputRejected(format!("{relative}: unreadable Parquet file: {e}"))
        })?;
        let mut outputs = Vec::with_capacity(wanted.len());
        for (c, output) in wanted {
            let column = contract(c)?;
            // Projected batches keep file order; the column's index among them.
            let position = |i: &usize| {
                roots.binary_search(i).map_err(|_| {
                    Error::Internal(format!("{relative}: projection lost `{}`", column.name))
                })
            };
            let source = match &self.sources[c] {
                Source::File(i) => Source::File(position(i)?),
                Source::Both(i, v) => Source::Both(position(i)?, v.clone()),
                hive => hive.clone(),
            };
            outputs.push(Output {
                column,
                source,
                output,
            });
        }
        let mut fields: Vec<Field> = outputs
            .iter()
            .filter(|o| o.output)
            .map(|o| Field::new(o.column.name, o.column.kind.canonical(), true))
            .collect();
        if out_of_range {
            fields.push(Field::new(OUT_OF_RANGE, DataType::Utf8, true));
        }
        Ok(Decoder {
            reader,
            relative,
            outputs,
            out_of_range,
            schema: Arc::new(Schema::new(fields)),
        })
    }
}

/// A contract column being decoded: where it comes from and whether it is in the
/// decoded batch (or only watched for values that do not fit).
struct Output {
    column: Column,
    source: Source,
    output: bool,
}

/// The batches of one row group, decoded ([`FileData::decode`]).
pub struct Decoder {
    reader: ParquetRecordBatchReader,
    relative: String,
    outputs: Vec<Output>,
    out_of_range: bool,
    schema: SchemaRef,
}

impl Decoder {
    fn convert(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let relative = self.relative.as_str();
        let n = batch.num_rows();
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(self.outputs.len() + 1);
        let mut misfits: Vec<Vec<String>> = Vec::new();
        for o in &self.outputs {
            let column = o.column;
            let array = match &o.source {
                Source::File(pos) | Source::Both(pos, _) => {
                    let narrowed =
                        narrow(batch.column(*pos), column.kind).map_err(|e| Error::Schema {
                            file: relative.to_string(),
                            column: column.name.to_string(),
                            rule: format!("cannot be read as {}: {e}", column.kind.canonical()),
                        })?;
                    for (row, value) in narrowed.misfits {
                        if misfits.is_empty() {
                            misfits = vec![Vec::new(); n];
                        }
                        if let Some(m) = misfits.get_mut(row) {
                            m.push(format!("{}={value}", column.name));
                        }
                    }
                    if let Source::Both(_, folder) = &o.source {
                        agrees_with_folder(relative, column, &narrowed.array, folder)?;
                    }
                    narrowed.array
                }
                Source::Hive(v) if v.is_null() => new_null_array(&column.kind.canonical(), n),
                Source::Hive(v) => v
                    .to_array_of_size(n)
                    .map_err(|e| Error::internal(relative, e))?,
            };
            if o.output {
                cols.push(array);
            }
        }
        if self.out_of_range {
            let text: StringArray = if misfits.is_empty() {
                StringArray::new_null(n)
            } else {
                misfits
                    .iter()
                    .map(|m| (!m.is_empty()).then(|| m.join("; ")))
                    .collect()
            };
            cols.push(Arc::new(text));
        }
        RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            cols,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )
        .map_err(|e| Error::internal(relative, e))
    }
}

/// A file column that is also a hive folder (`school_year=2023/`) must hold the
/// folder's value on every row; a file that contradicts its folder is rejected (the
/// row's position is named, not its value).
fn agrees_with_folder(
    relative: &str,
    column: Column,
    values: &ArrayRef,
    folder: &ScalarValue,
) -> Result<()> {
    let expected = folder
        .to_array_of_size(values.len())
        .map_err(|e| Error::internal(relative, e))?;
    let differs = datafusion::arrow::compute::kernels::cmp::distinct(values, &expected)
        .map_err(|e| Error::internal(relative, e))?;
    if differs.true_count() == 0 {
        return Ok(());
    }
    Err(Error::Schema {
        file: relative.to_string(),
        column: column.name.to_string(),
        rule: format!(
            "contradicts its hive folder `{}={folder}`: the file's own column holds other values",
            column.name
        ),
    })
}

impl Iterator for Decoder {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = match damaged::guarded(&self.relative, || self.reader.next()) {
            Ok(b) => b?,
            Err(e) => return Some(Err(e)),
        };
        Some(
            batch
                .map_err(|e| {
                    Error::InputRejected(format!("{}: unreadable Parquet file: {e}", self.relative))
                })
                .and_then(|b| self.convert(b)),
        )
    }
}

/// Reads one extract: lists and fetches every file (several at a time), hashes it and
/// checks its schema and footer, in path order, numbering the rows from
/// `first_ordinal` on. The rows are decoded later, by each scan of the extract's
/// tables ([`scan`]).
pub async fn ingest(
    root: &Root,
    extract: Extract,
    first_ordinal: i64,
    parallel: usize,
) -> Result<Ingested> {
    let span = info_span!("ingest", extract = extract.name());
    let _enter = span.enter();
    let files = list_files(root, extract).await?;
    let fetched: Vec<(String, u64, String, bytes::Bytes)> = futures::stream::iter(files)
        .map(|(path, size)| {
            let root = root.clone();
            async move {
                let relative = root.relative(&path);
                let bytes = fetch(&root, &path).await?;
                let rel = relative.clone();
                tokio::task::spawn_blocking(move || {
                    let sha256 = hex::encode(Sha256::digest(&bytes));
                    Ok::<_, Error>((rel, size, sha256, bytes))
                })
                .await
                .map_err(|e| Error::internal(&relative, e))?
            }
        })
        .buffered(parallel.max(1))
        .try_collect()
        .await?;

    let mut next = first_ordinal;
    let mut files = Vec::with_capacity(fetched.len());
    let mut data = Vec::with_capacity(fetched.len());
    for (relative, size, sha256, bytes) in fetched {
        let file = damaged::guarded(&relative, || {
            FileData::inspect(extract, &relative, bytes, next)
        })??;
        let rows = file.rows();
        debug!(file = %relative, rows, "read");
        files.push(InputFile {
            path: relative,
            size,
            sha256,
            rows,
            first_row: next,
        });
        next = file.end_row;
        data.push(file);
    }
    Ok(Ingested {
        extract,
        files,
        data: Arc::new(data),
        rows_read: (next - first_ordinal) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_folders_give_partition_values() {
        let h =
            hive_values("exams/school_year=2023/grade_level=__HIVE_DEFAULT_PARTITION__/p.parquet");
        assert_eq!(h["school_year"], Some("2023".to_string()));
        assert_eq!(h["grade_level"], None);
        assert!(hive_values("exams/p.parquet").is_empty());
    }

    #[test]
    fn kinds_accept_any_integer_width_and_string_encoding() {
        assert!(Kind::Int.accepts(&DataType::Int8));
        assert!(Kind::Int.accepts(&DataType::UInt32));
        assert!(!Kind::Int.accepts(&DataType::Float64));
        assert!(Kind::Str.accepts(&DataType::LargeUtf8));
        assert!(Kind::Str.accepts(&DataType::Utf8View));
        assert!(!Kind::Str.accepts(&DataType::Int64));
        assert!(Kind::Date.accepts(&DataType::Date32));
        assert!(!Kind::Date.accepts(&DataType::Utf8));
    }
}
