//! Indicators: the person-level cohorts (queries/derive/) and the indicator cells
//! (queries/indicators/cells.sql), written as `published/indicators/indicator=<id>/`.
//!
//! Rust only registers the configuration as tables (`params`, `bound_exams`), runs the
//! SQL, fixes the output types to the contract and writes the files.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch,
    StringArray,
};
use datafusion::arrow::compute::{
    SortColumn, SortOptions, cast, concat_batches, filter_record_batch, lexsort_to_indices,
    take_record_batch,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::prelude::SessionContext;

use crate::config::Config;
use crate::engine::session::register_batches;
use crate::error::{Error, Result};
use crate::storage::runs::{OutputFile, RunDir};

/// The derivations, in order; each result is registered under its name for the next.
pub const DERIVATIONS: [(&str, &str); 6] = [
    (
        "fp9_pupils",
        include_str!("../../../../queries/derive/fp9_pupils.sql"),
    ),
    (
        "age_population",
        include_str!("../../../../queries/derive/age_population.sql"),
    ),
    (
        "deciding_measure",
        include_str!("../../../../queries/derive/deciding_measure.sql"),
    ),
    (
        "fp9_context",
        include_str!("../../../../queries/derive/fp9_context.sql"),
    ),
    (
        "cohort_fp9",
        include_str!("../../../../queries/derive/cohort_fp9.sql"),
    ),
    (
        "cohort_age",
        include_str!("../../../../queries/derive/cohort_age.sql"),
    ),
];
/// The person-level cohorts (also an output, `restricted/<name>/`) and the columns
/// they are sorted by there; the key of a row, so the order is total. The derivations
/// leave them unordered: the aggregations do not need an order, and the sort is only
/// paid for when `--restricted` writes them.
pub const COHORTS: [(&str, &[&str]); 2] = [
    ("cohort_fp9", &["school_year", "person_id"]),
    ("cohort_age", &["year", "age", "person_id"]),
];

/// The accepted extracts and the intermediate derivations each derivation is the last
/// to read: dropped from the session right after it, so that memory goes down as the
/// derivations go on (at ten times national scale `cohort_fp9` no longer runs beside
/// `fp9_pupils`, nor `cohort_age` beside `fp9_context`). A query that reads a dropped
/// table fails loudly ("table not found"); a test checks that no later query reads one.
pub const LAST_READ_BY: [(&str, &[&str]); 6] = [
    ("fp9_pupils", &["enrolment"]),
    ("age_population", &["persons"]),
    ("deciding_measure", &["measures"]),
    ("fp9_context", &["residence", "fp9_pupils"]),
    ("cohort_fp9", &["fp9_context"]),
    (
        "cohort_age",
        &[
            "exams",
            "youth_education",
            "age_population",
            "deciding_measure",
        ],
    ),
];

/// The counts at the finest level, in order, each registered under its name for the
/// next and for cells.sql.
pub const AGGREGATIONS: [(&str, &str); 3] = [
    (
        "fp9_finest",
        include_str!("../../../../queries/indicators/fp9_finest.sql"),
    ),
    (
        "age_finest",
        include_str!("../../../../queries/indicators/age_finest.sql"),
    ),
    (
        "finest",
        include_str!("../../../../queries/indicators/finest.sql"),
    ),
];
pub const CELLS_SQL: &str = include_str!("../../../../queries/indicators/cells.sql");

/// The columns and types of `published/indicators` (data-contract.md, schema version 2),
/// with the `indicator` column that the files keep in their folder name.
pub fn published_schema() -> SchemaRef {
    let f = |n: &str, t: DataType, nullable: bool| Field::new(n, t, nullable);
    Arc::new(Schema::new(vec![
        f("indicator", DataType::Utf8, false),
        f("period", DataType::Utf8, false),
        f("year", DataType::Int32, false),
        f("geo_level", DataType::Utf8, false),
        f("geo_code", DataType::Int32, false),
        f("geo_name", DataType::Utf8, false),
        f("group", DataType::Utf8, false),
        f("placement", DataType::Utf8, false),
        f("numerator", DataType::Int64, true),
        f("denominator", DataType::Int64, true),
        f("value", DataType::Float64, true),
        f("ci_low", DataType::Float64, true),
        f("ci_high", DataType::Float64, true),
        f("years", DataType::Int32, false),
        f("suppressed", DataType::Boolean, false),
    ]))
}

/// The computed cells: the published columns and `grade_sum` (a mean cell's sum of
/// pupil means, for disclosure control; never published).
pub fn cells_schema() -> SchemaRef {
    let mut fields: Vec<Field> = published_schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("grade_sum", DataType::Float64, true));
    Arc::new(Schema::new(fields))
}

/// Registers the configuration as tables for the SQL:
/// `params(extract_date, school_year_window)` and
/// `bound_exams(school_year, exam_code, subject, weight)`, the bound-exam list of every
/// school year from 1950 to the extract year.
pub fn register_params(
    ctx: &SessionContext,
    config: &Config,
    extract_date: NaiveDate,
) -> Result<()> {
    let window = serde_json::to_value(config.groups.school_year_window)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or_else(|| Error::Internal("school_year_window has no name".into()))?;
    // The most bound exams a pupil can sit in any year: a pupil's mean times the least
    // common multiple of 1..=that is an integer, so means add up exactly.
    let most_exams = config
        .exams
        .bound
        .iter()
        .map(|b| b.danish.len() + b.mathematics.len() + b.other.len())
        .max()
        .unwrap_or(1);
    let mean_scale = (1..=most_exams as i64).fold(1i64, |l, n| l / gcd(l, n) * n);
    let params = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("extract_date", DataType::Date32, false),
            Field::new("school_year_window", DataType::Utf8, false),
            Field::new("mean_scale", DataType::Int64, false),
        ])),
        vec![
            Arc::new(Date32Array::from(vec![crate::dates::to_days(extract_date)])),
            Arc::new(StringArray::from(vec![window])),
            Arc::new(Int64Array::from(vec![mean_scale])),
        ],
    )
    .map_err(|e| Error::internal("params", e))?;
    register_batches(ctx, "params", params.schema(), vec![params], 1)?;

    let (mut years, mut codes, mut subjects, mut weights) = (vec![], vec![], vec![], vec![]);
    for y in 1950..=extract_date.year() + 1 {
        let Some(b) = config.bound_exams_for(y) else {
            continue;
        };
        let lists = [
            ("danish", &b.danish),
            ("mathematics", &b.mathematics),
            ("other", &b.other),
        ];
        for (subject, list) in lists {
            for code in list.iter() {
                years.push(i64::from(y));
                codes.push(*code);
                subjects.push(subject);
                weights.push(b.weights.get(&code.to_string()).copied().unwrap_or(1.0));
            }
        }
    }
    let bound = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("school_year", DataType::Int64, false),
            Field::new("exam_code", DataType::Int64, false),
            Field::new("subject", DataType::Utf8, false),
            Field::new("weight", DataType::Float64, false),
        ])),
        vec![
            Arc::new(Int64Array::from(years)),
            Arc::new(Int64Array::from(codes)),
            Arc::new(StringArray::from(subjects)),
            Arc::new(Float64Array::from(weights)),
        ],
    )
    .map_err(|e| Error::internal("bound_exams", e))?;
    register_batches(ctx, "bound_exams", bound.schema(), vec![bound], 1)
}

/// Greatest common divisor, for the least common multiple of the exam counts.
fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

async fn sql(
    ctx: &SessionContext,
    name: &str,
    query: &str,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let start = std::time::Instant::now();
    let df = ctx.sql(query).await.map_err(|e| Error::query(name, e))?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = crate::engine::session::collect(df, name)
        .await
        .map_err(|e| Error::query(name, e))?;
    tracing::debug!(
        query = name,
        seconds = format!("{:.3}", start.elapsed().as_secs_f64()),
        rows = batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        "query finished"
    );
    Ok((schema, batches))
}

/// Runs a query and returns its result as one batch of exactly `schema`.
async fn query_as(
    ctx: &SessionContext,
    name: &str,
    query: &str,
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    let (result_schema, batches) = sql(ctx, name, query).await?;
    let all = concat_batches(&result_schema, &batches).map_err(|e| Error::internal(name, e))?;
    conform(&all, schema, name)
}

/// A query result: its schema and batches.
#[derive(Debug, Clone)]
pub struct Rows {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl Rows {
    /// All rows as one batch.
    pub fn concat(&self, name: &str) -> Result<RecordBatch> {
        concat_batches(&self.schema, &self.batches).map_err(|e| Error::internal(name, e))
    }

    /// All rows as one batch, sorted ascending by the columns `keys` (nulls last, as
    /// SQL's `ORDER BY`).
    pub fn sorted(&self, name: &str, keys: &[&str]) -> Result<RecordBatch> {
        sort_batch(&self.concat(name)?, name, keys)
    }
}

/// `all` sorted ascending by the columns `keys` (nulls last, as SQL's `ORDER BY`).
pub fn sort_batch(all: &RecordBatch, name: &str, keys: &[&str]) -> Result<RecordBatch> {
    {
        let columns = keys
            .iter()
            .map(|key| {
                let values = all
                    .column_by_name(key)
                    .ok_or_else(|| Error::Internal(format!("{name} has no column {key}")))?;
                Ok(SortColumn {
                    values: Arc::clone(values),
                    options: Some(SortOptions {
                        descending: false,
                        nulls_first: false,
                    }),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let order = lexsort_to_indices(&columns, None).map_err(|e| Error::internal(name, e))?;
        take_record_batch(all, &order).map_err(|e| Error::internal(name, e))
    }
}

/// The outputs of the indicator stage.
#[derive(Debug)]
pub struct Computed {
    /// The person-level cohorts in the order of [`COHORTS`], unordered, as the queries
    /// made them: the same buffers the session's tables held, not a copy.
    pub cohorts: Vec<Rows>,
    /// All cells, in the contract's types and order, with `grade_sum`
    /// ([`cells_schema`]), before disclosure control.
    pub cells: RecordBatch,
}

/// Derives the cohorts, registers them as `cohort_fp9` and `cohort_age`, and computes
/// every cell. Needs the accepted extracts and the code tables in `ctx`.
pub async fn compute(
    ctx: &SessionContext,
    config: &Config,
    extract_date: NaiveDate,
    partitions: usize,
) -> Result<Computed> {
    register_params(ctx, config, extract_date)?;
    let mut cohorts = std::collections::BTreeMap::new();
    for (name, query) in DERIVATIONS {
        let file = format!("queries/derive/{name}.sql");
        let query = crate::engine::sql::render(&file, query)?;
        let (schema, batches) = sql(ctx, &file, &query).await?;
        // The person-level cohorts are also an output (restricted/); the other
        // derivations are only inputs of the next query.
        if COHORTS.iter().any(|(cohort, _)| *cohort == name) {
            cohorts.insert(
                name,
                Rows {
                    schema: Arc::clone(&schema),
                    batches: batches.clone(),
                },
            );
        }
        register_batches(ctx, name, schema, batches, partitions)?;
        for (_, tables) in LAST_READ_BY.iter().filter(|(last, _)| *last == name) {
            for table in *tables {
                ctx.deregister_table(*table)
                    .map_err(|e| Error::internal(table, e))?;
            }
        }
        // The query's operators and the extracts it read last are freed: their pages go
        // back now, not at the end of the stage (docs/performance.md).
        crate::sys::trim_free_memory();
    }
    for (name, query) in AGGREGATIONS {
        let file = format!("queries/indicators/{name}.sql");
        let query = crate::engine::sql::render(&file, query)?;
        let (schema, batches) = sql(ctx, &file, &query).await?;
        register_batches(ctx, name, schema, batches, partitions)?;
    }
    let cells = query_as(
        ctx,
        "queries/indicators/cells.sql",
        &crate::engine::sql::render("queries/indicators/cells.sql", CELLS_SQL)?,
        &cells_schema(),
    )
    .await?;
    // Nothing after this stage reads the session's derived tables: free them (the
    // cohorts stay alive in `Computed`).
    for (name, _) in DERIVATIONS.iter().chain(AGGREGATIONS.iter()) {
        ctx.deregister_table(*name)
            .map_err(|e| Error::internal(name, e))?;
    }
    let mut take = |name: &str| {
        cohorts
            .remove(name)
            .ok_or_else(|| Error::Internal(format!("{name} was not derived")))
    };
    Ok(Computed {
        cohorts: COHORTS
            .iter()
            .map(|(name, _)| take(name))
            .collect::<Result<_>>()?,
        cells,
    })
}

/// Casts a query result to exactly the given schema (names, order, types); `name`
/// names the query in errors.
fn conform(batch: &RecordBatch, schema: &SchemaRef, name: &str) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let i = batch
                .schema()
                .index_of(f.name())
                .map_err(|e| Error::internal(name, e))?;
            cast(batch.column(i), f.data_type())
                .map_err(|e| Error::internal(format!("{name}: {}", f.name()), e))
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| Error::internal(name, e))
}

/// Writes `published/indicators/indicator=<id>/part-0.parquet` for every indicator with
/// cells, with the run's footer metadata (the threshold k among it, which the audit
/// reads). The `indicator` column lives in the folder name (hive partitioning), as
/// DataFusion, DuckDB, Polars and pyarrow expect.
pub async fn write_cells(dir: &RunDir, cells: &RecordBatch) -> Result<Vec<OutputFile>> {
    let ids = cells.column(0).as_string::<i32>();
    let keep: Vec<usize> = (1..cells.num_columns()).collect();
    let mut outputs = Vec::new();
    for id in crate::registry::registry()?.ids() {
        let mask: BooleanArray = ids.iter().map(|v| Some(v == Some(id))).collect();
        let part = filter_record_batch(cells, &mask).map_err(|e| Error::internal(id, e))?;
        if part.num_rows() == 0 {
            continue;
        }
        let part = part.project(&keep).map_err(|e| Error::internal(id, e))?;
        let rel = format!("published/indicators/indicator={id}/part-0.parquet");
        outputs.push(dir.put_parquet(&rel, part.schema(), &[part]).await?);
    }
    Ok(outputs)
}

/// Danmark's headline figures for the latest period of each indicator, as printed at
/// the end of `run`.
pub fn headline(cells: &RecordBatch) -> String {
    let col = |n: &str| {
        cells
            .schema()
            .index_of(n)
            .ok()
            .map(|i| Arc::clone(cells.column(i)))
    };
    let (
        Some(ind),
        Some(period),
        Some(year),
        Some(level),
        Some(group),
        Some(placement),
        Some(value),
    ) = (
        col("indicator"),
        col("period"),
        col("year"),
        col("geo_level"),
        col("group"),
        col("placement"),
        col("value"),
    )
    else {
        return String::new();
    };
    let (ind, period, level, group, placement) = (
        ind.as_string::<i32>().clone(),
        period.as_string::<i32>().clone(),
        level.as_string::<i32>().clone(),
        group.as_string::<i32>().clone(),
        placement.as_string::<i32>().clone(),
    );
    let year = year
        .as_primitive::<datafusion::arrow::datatypes::Int32Type>()
        .clone();
    let value = value
        .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
        .clone();
    let rows = [
        ("fp9_participation", "sat all Danish and maths exams"),
        ("fp9_min2_dan_mat", "at least 2 in Danish and maths"),
        ("youth_edu_18", "in or through a youth education at 18"),
    ];
    let mut out = String::from("Danmark, latest period       udsat  anbragt  oevrige\n");
    for (id, label) in rows {
        let latest = (0..cells.num_rows())
            .filter(|&i| ind.value(i) == id)
            .map(|i| year.value(i))
            .max();
        let Some(latest) = latest else { continue };
        let mut figures = Vec::new();
        let mut shown_period = String::new();
        for g in ["udsat", "anbragt", "oevrige"] {
            let v = (0..cells.num_rows()).find(|&i| {
                ind.value(i) == id
                    && year.value(i) == latest
                    && level.value(i) == "land"
                    && group.value(i) == g
                    && placement.value(i) == "alle"
            });
            if let Some(i) = v {
                shown_period = period.value(i).to_string();
            }
            figures.push(match v {
                Some(i) if !value.is_null(i) => format!("{:>6.1} %", 100.0 * value.value(i)),
                _ => format!("{:>8}", "-"),
            });
        }
        out.push_str(&format!(
            "  {label:<38} {shown_period:<9} {}\n",
            figures.join(" ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int32Array;

    /// A query's SQL as DataFusion reads it (macros expanded), without comments and
    /// string literals (`'residence'` is a value, not the table).
    fn code_of(file: &str, sql: &str) -> String {
        let rendered = crate::engine::sql::render(file, sql).expect("renders");
        let mut in_string = false;
        rendered
            .lines()
            .map(|l| l.split("--").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n")
            .chars()
            .filter(|c| {
                if *c == '\'' {
                    in_string = !in_string;
                }
                !in_string && *c != '\''
            })
            .collect()
    }

    /// Whether `code` reads `table`: the table's name right after FROM or JOIN (the
    /// queries list no tables with commas).
    fn names(code: &str, table: &str) -> bool {
        let words: Vec<&str> = code
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        words.windows(2).any(|w| {
            (w[0].eq_ignore_ascii_case("from") || w[0].eq_ignore_ascii_case("join"))
                && w[1] == table
        })
    }

    #[test]
    fn a_table_is_dropped_only_after_the_last_query_that_reads_it() {
        let order: Vec<(String, String)> = DERIVATIONS
            .iter()
            .map(|(n, q)| {
                (
                    n.to_string(),
                    code_of(&format!("queries/derive/{n}.sql"), q),
                )
            })
            .chain(AGGREGATIONS.iter().map(|(n, q)| {
                (
                    n.to_string(),
                    code_of(&format!("queries/indicators/{n}.sql"), q),
                )
            }))
            .chain([(
                "cells".to_string(),
                code_of("queries/indicators/cells.sql", CELLS_SQL),
            )])
            .collect();
        for (last, tables) in LAST_READ_BY {
            let at = order
                .iter()
                .position(|(n, _)| n == last)
                .expect("a derivation");
            for table in tables {
                assert!(names(&order[at].1, table), "{last} does not read {table}");
                for (later, code) in &order[at + 1..] {
                    assert!(
                        !names(code, table),
                        "{table} is dropped after {last} but {later} reads it"
                    );
                }
            }
        }
        // And the hand-made case the rule is about: cohort_age reads neither of the
        // 9th-grade tables dropped before it.
        assert!(!names(&order[5].1, "fp9_pupils") && !names(&order[5].1, "fp9_context"));
        assert!(names("SELECT * FROM fp9_pupils p", "fp9_pupils"));
        assert!(names("a LEFT JOIN\n  persons p ON", "persons"));
        assert!(!names("FROM fp9_pupils_x", "fp9_pupils"));
        assert!(!names("count(*) AS persons FROM cohort_age", "persons"));
    }

    #[test]
    fn cohorts_are_sorted_by_their_key_across_batches() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("person_id", DataType::Utf8, false),
            Field::new("year", DataType::Int32, false),
            Field::new("age", DataType::Int32, false),
        ]));
        let batch = |ids: Vec<&str>, years: Vec<i32>, ages: Vec<i32>| {
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(StringArray::from(ids)) as ArrayRef,
                    Arc::new(Int32Array::from(years)),
                    Arc::new(Int32Array::from(ages)),
                ],
            )
        };
        let rows = Rows {
            schema: Arc::clone(&schema),
            batches: vec![
                batch(vec!["b", "a"], vec![2020, 2021], vec![18, 17]).expect("batch"),
                batch(
                    vec!["a", "c", "a"],
                    vec![2020, 2020, 2020],
                    vec![18, 17, 17],
                )
                .expect("batch"),
            ],
        };
        // By (year, age, person_id): 2020/17: a, c; 2020/18: a, b; 2021/17: a.
        let sorted = rows
            .sorted("cohort_age", &["year", "age", "person_id"])
            .expect("sorted");
        let ids: Vec<_> = sorted
            .column(0)
            .as_string::<i32>()
            .iter()
            .flatten()
            .collect();
        let years: Vec<_> = sorted
            .column(1)
            .as_primitive::<datafusion::arrow::datatypes::Int32Type>()
            .values()
            .to_vec();
        let ages: Vec<_> = sorted
            .column(2)
            .as_primitive::<datafusion::arrow::datatypes::Int32Type>()
            .values()
            .to_vec();
        assert_eq!(ids, ["a", "c", "a", "b", "a"]);
        assert_eq!(years, [2020, 2020, 2020, 2020, 2021]);
        assert_eq!(ages, [17, 17, 18, 18, 17]);
        let unknown = rows.sorted("cohort_age", &["school_year"]);
        assert!(matches!(unknown, Err(Error::Internal(m)) if m.contains("school_year")));
    }
}
