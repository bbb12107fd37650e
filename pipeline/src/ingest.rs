//! Ingest: list each extract's Parquet files, check their schemas against the
//! contract, and read them into canonical Arrow batches.
//!
//! Every file is fetched once; its bytes give the size and sha256 for the manifest
//! and the rows. Schema problems are fatal and name the file and the column.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, new_null_array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, SchemaRef};
use datafusion::common::ScalarValue;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::{debug, info_span};

use crate::contract::{Extract, Kind, ROW_ORDINAL, schema_with};
use crate::error::{Error, Result};
use crate::store::Root;

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

/// One extract read into memory: the contract columns in canonical types plus the
/// run-wide row ordinal `_row`.
#[derive(Debug)]
pub struct Ingested {
    pub extract: Extract,
    pub files: Vec<InputFile>,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
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
    schema_with(extract, &[Field::new(ROW_ORDINAL, DataType::Int64, false)])
}

/// Lists the `*.parquet` files of one extract, sorted by path. Hidden and
/// underscore-prefixed files (`_SUCCESS`, `.crc`) are not data.
pub async fn list_files(root: &Root, extract: Extract) -> Result<Vec<(Path, u64)>> {
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
            name.ends_with(".parquet") && !name.starts_with('.') && !name.starts_with('_')
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
enum Source {
    File(usize),
    Hive(ScalarValue),
}

/// Checks one file's schema and decodes it to canonical batches (without `_row`).
fn decode(extract: Extract, relative: &str, bytes: bytes::Bytes) -> Result<Vec<RecordBatch>> {
    let unreadable = |e: &dyn std::fmt::Display| {
        Error::InputRejected(format!("{relative}: unreadable Parquet file: {e}"))
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| unreadable(&e))?;
    let file_schema = Arc::clone(builder.schema());
    let hive = hive_values(relative);
    let mut sources = Vec::new();
    for c in extract.columns() {
        let source = match file_schema.index_of(c.name) {
            Ok(i) => {
                let t = file_schema.field(i).data_type();
                if !c.kind.accepts(t) {
                    return Err(Error::Schema {
                        file: relative.to_string(),
                        column: c.name.to_string(),
                        rule: format!("has type {t}; {}", c.kind.rule()),
                    });
                }
                Source::File(i)
            }
            Err(_) => match hive.get(c.name) {
                Some(v) => Source::Hive(hive_scalar(relative, c.name, c.kind, v)?),
                None => {
                    return Err(Error::Schema {
                        file: relative.to_string(),
                        column: c.name.to_string(),
                        rule: "required column is missing".to_string(),
                    });
                }
            },
        };
        sources.push(source);
    }
    let mut roots: Vec<usize> = sources
        .iter()
        .filter_map(|s| match s {
            Source::File(i) => Some(*i),
            Source::Hive(_) => None,
        })
        .collect();
    roots.sort_unstable();
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| unreadable(&e))?;
    let out_schema = extract.schema();
    let mut batches = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| unreadable(&e))?;
        let n = batch.num_rows();
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(sources.len());
        for (c, s) in extract.columns().iter().zip(&sources) {
            let array = match s {
                Source::File(i) => {
                    // Projected batches keep file order; find the column's new index.
                    let pos = roots.binary_search(i).map_err(|_| {
                        Error::Internal(format!("{relative}: projection lost `{}`", c.name))
                    })?;
                    cast(batch.column(pos), &c.kind.canonical()).map_err(|e| Error::Schema {
                        file: relative.to_string(),
                        column: c.name.to_string(),
                        rule: format!("cannot be read as {}: {e}", c.kind.canonical()),
                    })?
                }
                Source::Hive(v) if v.is_null() => new_null_array(&c.kind.canonical(), n),
                Source::Hive(v) => v
                    .to_array_of_size(n)
                    .map_err(|e| Error::internal(relative, e))?,
            };
            cols.push(array);
        }
        batches.push(
            RecordBatch::try_new(Arc::clone(&out_schema), cols)
                .map_err(|e| Error::internal(relative, e))?,
        );
    }
    Ok(batches)
}

/// Reads one extract: lists, fetches, checks and decodes every file (several at a time,
/// results in path order), then numbers the rows from `first_ordinal` on.
pub async fn ingest(
    root: &Root,
    extract: Extract,
    first_ordinal: i64,
    parallel: usize,
) -> Result<Ingested> {
    let span = info_span!("ingest", extract = extract.name());
    let _enter = span.enter();
    let files = list_files(root, extract).await?;
    let decoded: Vec<(InputFile, Vec<RecordBatch>)> = futures::stream::iter(files)
        .map(|(path, size)| {
            let root = root.clone();
            async move {
                let relative = root.relative(&path);
                let bytes = fetch(&root, &path).await?;
                let rel = relative.clone();
                tokio::task::spawn_blocking(move || {
                    let sha256 = hex::encode(Sha256::digest(&bytes));
                    let batches = decode(extract, &rel, bytes)?;
                    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
                    let file = InputFile {
                        path: rel,
                        size,
                        sha256,
                        rows,
                        first_row: 0,
                    };
                    Ok::<_, Error>((file, batches))
                })
                .await
                .map_err(|e| Error::internal(&relative, e))?
            }
        })
        .buffered(parallel.max(1))
        .try_collect()
        .await?;

    let schema = ingested_schema(extract);
    let mut next = first_ordinal;
    let mut files = Vec::with_capacity(decoded.len());
    let mut batches = Vec::new();
    for (mut file, file_batches) in decoded {
        file.first_row = next;
        for b in file_batches {
            let n = b.num_rows() as i64;
            let mut cols = b.columns().to_vec();
            cols.push(Arc::new(Int64Array::from_iter_values(next..next + n)));
            next += n;
            batches.push(
                RecordBatch::try_new(Arc::clone(&schema), cols)
                    .map_err(|e| Error::internal(&file.path, e))?,
            );
        }
        debug!(file = %file.path, rows = file.rows, "read");
        files.push(file);
    }
    Ok(Ingested {
        extract,
        files,
        schema,
        batches,
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
