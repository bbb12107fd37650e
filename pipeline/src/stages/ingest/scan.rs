//! Scan: an ingested extract as a DataFusion table that decodes its Parquet bytes on
//! every scan — only the columns the query reads — and leaves out rejected rows.
//!
//! Two tables are made from one extract: `raw_<extract>` (every row, with the run-wide
//! ordinal `_row` and the values that do not fit, `_out_of_range` ([`super::narrow`]))
//! for its validation query, and `<extract>` (the accepted rows, the contract columns
//! only) for the validations and derivations that read it after.
//! Nothing is held decoded between queries: the memory an extract takes is its files'
//! compressed bytes, and what the query's operators keep (they count against the
//! memory pool and spill). See docs/performance.md.
//!
//! Each row group is one unit of work; units are dealt to the partitions in turn. The
//! scan reports its exact row count (and an estimated size) so that DataFusion builds
//! hash tables on the smaller side of a join.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, RecordBatchOptions,
};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning,
    PlanProperties, ReplaceChildrenOptions, SendableRecordBatchStream, Statistics, StatisticsArgs,
};

use super::{Decoder, FileData, ingested_schema};
use crate::contract::Extract;
use crate::error::Error;

/// The bytes per row DataFusion is told a string column takes (ids and codes are
/// short); only used to pick a join's build side.
const STRING_WIDTH: usize = 24;

/// Which rows of the extract a table holds, by run-wide ordinal (sorted).
#[derive(Debug, Clone)]
enum Selection {
    All,
    Except(Arc<Vec<i64>>),
    Only(Arc<Vec<i64>>),
}

impl Selection {
    /// The part of the ordinals that falls in `first..first + n`.
    fn within(ordinals: &[i64], first: i64, n: usize) -> &[i64] {
        let lo = ordinals.partition_point(|r| *r < first);
        let hi = ordinals.partition_point(|r| *r < first + n as i64);
        &ordinals[lo..hi]
    }
}

/// One extract's rows as a table.
#[derive(Debug, Clone)]
pub struct ExtractTable {
    extract: Extract,
    files: Arc<Vec<FileData>>,
    /// `_row` and `_out_of_range` as the last columns.
    with_row: bool,
    selection: Selection,
    schema: SchemaRef,
    partitions: usize,
}

impl ExtractTable {
    fn new(
        extract: Extract,
        files: Arc<Vec<FileData>>,
        selection: Selection,
        partitions: usize,
    ) -> Self {
        // Every table but the accepted rows carries `_row`.
        let with_row = !matches!(selection, Selection::Except(_));
        ExtractTable {
            extract,
            files,
            with_row,
            selection,
            schema: if with_row {
                ingested_schema(extract)
            } else {
                extract.schema()
            },
            partitions,
        }
    }

    /// Every row, with `_row`: what the extract's validation query reads.
    pub fn raw(extract: Extract, files: Arc<Vec<FileData>>, partitions: usize) -> Self {
        Self::new(extract, files, Selection::All, partitions)
    }

    /// Only the rows whose ordinals are in `rows`, with `_row`: the rejected rows,
    /// read back for the quarantine. Row groups without one are not read, and only
    /// those rows are decoded.
    pub fn only(
        extract: Extract,
        files: Arc<Vec<FileData>>,
        mut rows: Vec<i64>,
        partitions: usize,
    ) -> Self {
        rows.sort_unstable();
        Self::new(extract, files, Selection::Only(Arc::new(rows)), partitions)
    }

    /// The rows whose ordinals are not in `rejected`, contract columns only.
    pub fn accepted(
        extract: Extract,
        files: Arc<Vec<FileData>>,
        mut rejected: Vec<i64>,
        partitions: usize,
    ) -> Self {
        rejected.sort_unstable();
        Self::new(
            extract,
            files,
            Selection::Except(Arc::new(rejected)),
            partitions,
        )
    }

    /// The rows in `first..first + n` that the table holds.
    fn count_within(&self, first: i64, n: usize) -> usize {
        match &self.selection {
            Selection::All => n,
            Selection::Except(out) => n - Selection::within(out, first, n).len(),
            Selection::Only(rows) => Selection::within(rows, first, n).len(),
        }
    }

    fn rows(&self) -> usize {
        self.files
            .iter()
            .flat_map(|f| &f.row_groups)
            .map(|(first, n)| self.count_within(*first, *n))
            .fold(0usize, usize::saturating_add)
    }
}

#[async_trait]
impl TableProvider for ExtractTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let all: Vec<usize> = (0..self.schema.fields().len()).collect();
        let projection = projection.unwrap_or(&all);
        Ok(Arc::new(ExtractScan::new(self.clone(), projection)?))
    }
}

/// What one output column of a scan is.
#[derive(Debug, Clone, Copy)]
enum Output {
    /// The i-th decoded contract column.
    Decoded(usize),
    /// The run-wide ordinal.
    Row,
    /// The row's values that do not fit their columns, as text (`_out_of_range`).
    OutOfRange,
}

/// The physical scan of an [`ExtractTable`].
#[derive(Debug)]
pub struct ExtractScan {
    table: ExtractTable,
    /// Contract columns to decode (indices into the extract's columns).
    decode: Vec<usize>,
    outputs: Vec<Output>,
    schema: SchemaRef,
    /// Per partition: (file, row group) units, in order.
    units: Vec<Vec<(usize, usize)>>,
    properties: Arc<PlanProperties>,
}

impl ExtractScan {
    fn new(table: ExtractTable, projection: &[usize]) -> DfResult<Self> {
        let contract = table.extract.columns().len();
        let mut decode = Vec::new();
        let mut outputs = Vec::new();
        for &i in projection {
            if i < contract {
                outputs.push(Output::Decoded(decode.len()));
                decode.push(i);
            } else if i == contract && table.with_row {
                outputs.push(Output::Row);
            } else if i == contract + 1 && table.with_row {
                outputs.push(Output::OutOfRange);
            } else {
                return Err(DataFusionError::Internal(format!(
                    "{}: no column {i} to scan",
                    table.extract.name()
                )));
            }
        }
        let schema = Arc::new(table.schema.project(projection)?);
        let all_units: Vec<(usize, usize)> = table
            .files
            .iter()
            .enumerate()
            .flat_map(|(f, file)| (0..file.row_groups.len()).map(move |rg| (f, rg)))
            .filter(|(f, rg)| {
                let (first, n) = table.files[*f].row_groups[*rg];
                table.count_within(first, n) > 0
            })
            .collect();
        let n = table.partitions.clamp(1, all_units.len().max(1));
        let mut units = vec![Vec::new(); n];
        for (i, unit) in all_units.into_iter().enumerate() {
            units[i % n].push(unit);
        }
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(n),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(ExtractScan {
            table,
            decode,
            outputs,
            schema,
            units,
            properties,
        })
    }

    /// An estimate of the scanned bytes (rows times the width of the columns read).
    fn byte_size(&self, rows: usize) -> usize {
        let width: usize = self
            .schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8 => STRING_WIDTH,
                DataType::Date32 => 4,
                _ => 8,
            })
            .sum();
        rows.saturating_mul(width.max(1))
    }
}

impl DisplayAs for ExtractScan {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let names: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        write!(
            f,
            "ExtractScan: {}{} [{}]",
            if self.table.with_row { "raw_" } else { "" },
            self.table.extract.name(),
            names.join(", ")
        )
    }
}

impl ExecutionPlan for ExtractScan {
    fn name(&self) -> &str {
        "ExtractScan"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let units = self.units.get(partition).cloned().ok_or_else(|| {
            DataFusionError::Internal(format!("ExtractScan: no partition {partition}"))
        })?;
        let batches = Batches {
            table: self.table.clone(),
            decode: self.decode.clone(),
            outputs: self.outputs.clone(),
            schema: Arc::clone(&self.schema),
            units: units.into_iter(),
            current: None,
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            futures::stream::iter(batches),
        )))
    }

    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> DfResult<Arc<Statistics>> {
        let mut stats = Statistics::new_unknown(&self.schema);
        let rows = match args.partition() {
            None => Precision::Exact(self.table.rows()),
            Some(p) => {
                let rows: usize = self
                    .units
                    .get(p)
                    .map(|units| {
                        units
                            .iter()
                            .map(|(f, rg)| {
                                let (first, n) = self.table.files[*f].row_groups[*rg];
                                self.table.count_within(first, n)
                            })
                            .fold(0usize, usize::saturating_add)
                    })
                    .unwrap_or(0);
                Precision::Inexact(rows)
            }
        };
        stats.total_byte_size = rows.map(|r| self.byte_size(r)).to_inexact();
        stats.num_rows = rows;
        Ok(Arc::new(stats))
    }
}

/// The batches of one partition: its units decoded in turn, the selection applied.
struct Batches {
    table: ExtractTable,
    decode: Vec<usize>,
    outputs: Vec<Output>,
    schema: SchemaRef,
    units: std::vec::IntoIter<(usize, usize)>,
    /// The unit being decoded, and where its next row is: the ordinal of the next
    /// decoded row, or (with `Selection::Only`) its index among the unit's ordinals.
    current: Option<(Decoder, Cursor)>,
}

enum Cursor {
    /// The next row's ordinal, and which (file, row group) is decoded: the rows decoded
    /// must be the rows its footer claims.
    Next(i64, usize, usize),
    Only(Vec<i64>, usize),
}

impl Batches {
    fn finish(&self, decoded: RecordBatch, rows: ArrayRef) -> Result<Option<RecordBatch>, Error> {
        let n = decoded.num_rows();
        let name = self.table.extract.name();
        let columns: Vec<ArrayRef> = self
            .outputs
            .iter()
            .map(|o| match o {
                Output::Decoded(i) => Arc::clone(decoded.column(*i)),
                Output::Row => Arc::clone(&rows),
                Output::OutOfRange => Arc::clone(decoded.column(self.decode.len())),
            })
            .collect();
        let batch = RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )
        .map_err(|e| Error::internal(name, e))?;
        let Selection::Except(rejected) = &self.table.selection else {
            return Ok((n > 0).then_some(batch));
        };
        let ordinals = rows.as_primitive::<Int64Type>().values();
        let Some(first) = ordinals.first() else {
            return Ok(None);
        };
        let out = Selection::within(rejected, *first, n);
        if out.is_empty() {
            return Ok(Some(batch));
        }
        let mut keep = vec![true; n];
        for r in out {
            keep[(r - first) as usize] = false;
        }
        let kept = filter_record_batch(&batch, &BooleanArray::from(keep))
            .map_err(|e| Error::internal(name, e))?;
        Ok((kept.num_rows() > 0).then_some(kept))
    }

    fn step(&mut self) -> Result<Option<RecordBatch>, Error> {
        loop {
            if self.current.is_none() {
                let Some((f, rg)) = self.units.next() else {
                    return Ok(None);
                };
                let file = &self.table.files[f];
                let (first, n) = file.row_groups[rg];
                let (only, cursor) = match &self.table.selection {
                    Selection::Only(rows) => {
                        let only = Selection::within(rows, first, n).to_vec();
                        (Some(only.clone()), Cursor::Only(only, 0))
                    }
                    _ => (None, Cursor::Next(first, f, rg)),
                };
                let decoder = super::damaged::guarded(&file.relative, || {
                    let out_of_range = self.outputs.iter().any(|o| matches!(o, Output::OutOfRange));
                    file.decode(
                        self.table.extract,
                        rg,
                        &self.decode,
                        only.as_deref(),
                        out_of_range,
                    )
                })??;
                self.current = Some((decoder, cursor));
            }
            let Some((decoder, cursor)) = self.current.as_mut() else {
                continue;
            };
            match decoder.next() {
                None => {
                    if let Cursor::Next(next, f, rg) = cursor {
                        let file = &self.table.files[*f];
                        let (first, n) = file.row_groups[*rg];
                        let decoded = *next - first;
                        if decoded != n as i64 {
                            let file = &file.relative;
                            return Err(Error::InputRejected(format!(
                                "{file}: row group {rg}: the footer says {n} rows, {decoded} were decoded; the file is damaged"
                            )));
                        }
                    }
                    self.current = None
                }
                Some(decoded) => {
                    let decoded = decoded?;
                    let n = decoded.num_rows();
                    let rows: ArrayRef = match cursor {
                        Cursor::Next(next, ..) => {
                            let first = *next;
                            *next += n as i64;
                            Arc::new(Int64Array::from_iter_values(first..first + n as i64))
                        }
                        Cursor::Only(only, at) => {
                            let slice = only.get(*at..*at + n).ok_or_else(|| {
                                Error::Internal(format!(
                                    "{}: more rows decoded than selected",
                                    self.table.extract.name()
                                ))
                            })?;
                            *at += n;
                            Arc::new(Int64Array::from(slice.to_vec()))
                        }
                    };
                    if let Some(batch) = self.finish(decoded, rows)? {
                        return Ok(Some(batch));
                    }
                }
            }
        }
    }
}

impl Iterator for Batches {
    type Item = DfResult<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.step() {
            Ok(batch) => batch.map(Ok),
            Err(e) => {
                // Stop after an error.
                self.units = Vec::new().into_iter();
                self.current = None;
                Some(Err(DataFusionError::External(Box::new(e))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Date32Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::prelude::SessionContext;
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    /// A persons file with these ids (birth date day 0, sex "K"), two rows per row
    /// group; without the `sex` column when `with_sex` is false.
    fn persons_file(ids: &[&str], with_sex: bool) -> bytes::Bytes {
        let mut fields = vec![
            Field::new("person_id", DataType::Utf8, true),
            Field::new("birth_date", DataType::Date32, true),
        ];
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(ids.to_vec())),
            Arc::new(Date32Array::from(vec![0; ids.len()])),
        ];
        if with_sex {
            fields.push(Field::new("sex", DataType::Utf8, true));
            columns.push(Arc::new(StringArray::from(vec!["K"; ids.len()])));
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(2))
            .build();
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        bytes::Bytes::from(out)
    }

    /// Two files: a, b, c, d, e (ordinals 100-104, three row groups) and, in a hive
    /// folder giving `sex`, f, g, h (105-107, two row groups).
    fn files() -> Arc<Vec<FileData>> {
        let one = FileData::inspect(
            Extract::Persons,
            "persons/part-0.parquet",
            persons_file(&["a", "b", "c", "d", "e"], true),
            100,
        )
        .unwrap();
        let two = FileData::inspect(
            Extract::Persons,
            "persons/sex=M/part-1.parquet",
            persons_file(&["f", "g", "h"], false),
            105,
        )
        .unwrap();
        assert_eq!(one.row_groups, vec![(100, 2), (102, 2), (104, 1)]);
        assert_eq!(two.row_groups, vec![(105, 2), (107, 1)]);
        Arc::new(vec![one, two])
    }

    async fn strings(ctx: &SessionContext, sql: &str) -> Vec<String> {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        batches
            .iter()
            .flat_map(|b| {
                let c = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8).unwrap();
                let c = c.as_string::<i32>();
                (0..b.num_rows())
                    .map(|i| c.value(i).to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[tokio::test]
    async fn the_raw_table_numbers_every_row_across_files_and_row_groups() {
        let ctx = SessionContext::new();
        let raw = ExtractTable::raw(Extract::Persons, files(), 2);
        ctx.register_table("raw_persons", Arc::new(raw)).unwrap();
        // Columns in another order than the table's, and `sex` from the hive folder.
        let rows = strings(
            &ctx,
            "SELECT concat(CAST(_row AS VARCHAR), sex, person_id) FROM raw_persons ORDER BY _row",
        )
        .await;
        assert_eq!(
            rows,
            [
                "100Ka", "101Kb", "102Kc", "103Kd", "104Ke", "105Mf", "106Mg", "107Mh"
            ]
        );
        let batches = ctx
            .sql("SELECT max(_row) - min(_row) FROM raw_persons")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(batches[0].column(0).as_primitive::<Int64Type>().value(0), 7);
    }

    #[tokio::test]
    async fn the_accepted_table_leaves_out_exactly_the_rejected_rows() {
        let ctx = SessionContext::new();
        // b (101), e (104, alone in its row group) and g (106) are rejected.
        let table = ExtractTable::accepted(Extract::Persons, files(), vec![106, 101, 104], 3);
        assert_eq!(table.rows(), 5);
        assert_eq!(table.schema().fields().len(), 3, "no _row");
        ctx.register_table("persons", Arc::new(table)).unwrap();
        let ids = strings(&ctx, "SELECT person_id FROM persons ORDER BY person_id").await;
        assert_eq!(ids, ["a", "c", "d", "f", "h"]);
        // No column read at all (count(*)) still counts the accepted rows.
        let batches = ctx
            .sql("SELECT count(*) FROM persons")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(batches[0].column(0).as_primitive::<Int64Type>().value(0), 5);
    }

    #[test]
    fn the_scan_reports_its_exact_row_count() {
        let table = ExtractTable::accepted(Extract::Persons, files(), vec![101], 2);
        let scan = ExtractScan::new(table, &[0]).unwrap();
        let stats = scan
            .statistics_from_inputs(&[], &StatisticsArgs::new())
            .unwrap();
        assert_eq!(stats.num_rows, Precision::Exact(7));
        assert_eq!(stats.total_byte_size, Precision::Inexact(7 * STRING_WIDTH));
        // Five row groups dealt to two partitions in turn.
        assert_eq!(
            scan.units,
            vec![vec![(0, 0), (0, 2), (1, 1)], vec![(0, 1), (1, 0)]]
        );
    }
}
