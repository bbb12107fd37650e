//! Releases (methodology.md, "Disclosure control" → "Releases"): a period published once
//! is republished exactly as it was.
//!
//! A run reads the release that `current` points to: its published cells (the rows as
//! written) and its private record (`disclosure/cells.parquet`: every cell's counts as
//! released, withheld ones included, and why each was withheld). Every period of that
//! release is *frozen*: its rows are copied forward unchanged, whatever the extracts now
//! say, and its cells enter disclosure control as fixed facts of the attacker
//! ([`crate::stages::disclose::protect_with`]). Only periods the release did not have are
//! computed and protected. Where the current data differ from a frozen period, the
//! difference is counted (the *drift*: manifest, log) and never published.
//!
//! New cells must agree with what was released: a new three-year window over frozen years
//! is the sum of its years *as released* ("window = Σ its years" holds for the attacker
//! too), and a new indicator of a frozen period shares its counts (the cohort) with the
//! released ones. Where that released data drifted, the new cells computed from current
//! data would differ from it by the persons who changed, so they are not published at all
//! (*postponed*, until a revision, `run --revise`, republishes the drifted period).
//!
//! Freezing holds within one methodology and schema version; a release made under another
//! starts a new series that republishes every period, and says why. A release made under
//! another disclosure-relevant configuration (`disclosure`, `exams`, `groups`) is revised
//! whole: every period is a revision, protected jointly with it.
//!
//! A revision (`run --revise PERIOD`) republishes released periods from current data;
//! every count that changed by 1..k−1 from the release it replaces is withheld and kept
//! k wide ([`mark_changes`]), so the two releases read together do not reveal who
//! changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{
    SortColumn, concat_batches, filter_record_batch, lexsort_to_indices, take_record_batch,
};
use datafusion::arrow::datatypes::SchemaRef;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::stages::disclose::rules::{Kind, Reason, counts_of};
use crate::stages::disclose::{Cell, Why, audit, batch, record};
use crate::storage::runs::{METHODOLOGY_VERSION, SCHEMA_VERSION};
use crate::storage::store::Root;

/// The configuration sections that change which cells exist or are withheld.
const DISCLOSURE_RELEVANT: [&str; 3] = ["disclosure", "exams", "groups"];

/// The release `current` points to.
pub struct Previous {
    pub run_id: String,
    /// Its published cells (the published schema, `indicator` included).
    pub published: RecordBatch,
    /// Its private record.
    pub record: RecordBatch,
    /// Why every period of it is revised (the disclosure-relevant configuration
    /// changed), if so.
    pub revise_all: Option<String>,
}

/// What a run did with the releases before it (the manifest's `release`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// The run whose periods were republished unchanged (none: the first release of a
    /// series).
    pub frozen_from: Option<String>,
    /// Why a new series started although `current` held a release.
    pub new_series: Option<String>,
    /// Indicator × period frozen (republished as released).
    pub frozen_periods: usize,
    /// The periods computed for the first time (each period label once).
    pub new_periods: Vec<String>,
    /// Per frozen indicator × period whose current data differ: how many cells.
    pub drift: Vec<Drift>,
    /// Periods republished from current data on purpose (`--revise`), each with the
    /// release it replaces and how the joint protection accepted it.
    pub revised: Vec<Revision>,
    /// Why every period was revised, when the disclosure-relevant configuration changed
    /// (none: only what `--revise` named).
    pub revised_because: Option<String>,
    /// New indicator × period not published because released data they must agree with
    /// drifted: a window over a drifted released year, or a period whose counts are
    /// shared with a drifted released one (`indicator period`). They wait for a revision.
    pub postponed: Vec<String>,
}

/// One revised period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revision {
    pub period: String,
    /// The run whose release of the period this one replaces.
    pub replaces: String,
    /// Cells (over the period's indicators) whose counts differ from that release.
    pub cells_changed: usize,
    /// Of those, cells with a count that changed by 1..k−1: withheld, and the change's
    /// range kept at least k wide by protection and audit (reasons `changed_*` in the
    /// record).
    pub small_changes_withheld: usize,
    /// Why the audit accepted the revision, in words.
    pub accepted: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    pub indicator: String,
    pub period: String,
    /// Cells whose counts differ, appear or disappear.
    pub cells: usize,
}

impl Summary {
    /// Cells that differ, over every frozen period.
    pub fn drift_cells(&self) -> usize {
        self.drift.iter().map(|d| d.cells).sum()
    }
}

/// Drift per period: (period, cells, the indicators with their cells).
fn drift_by_period(summary: &Summary) -> Vec<(String, usize, String)> {
    let mut by: BTreeMap<&str, Vec<&Drift>> = BTreeMap::new();
    for d in &summary.drift {
        by.entry(d.period.as_str()).or_default().push(d);
    }
    by.into_iter()
        .map(|(period, ds)| {
            let cells = ds.iter().map(|d| d.cells).sum();
            let which = ds
                .iter()
                .map(|d| format!("{} {}", d.indicator, d.cells))
                .collect::<Vec<_>>()
                .join(", ");
            (period.to_string(), cells, which)
        })
        .collect()
}

impl Summary {
    /// One line for the run's summary: what was frozen, what is new, where the data
    /// drifted (the periods, largest first).
    pub fn line(&self) -> String {
        let mut line = match (&self.frozen_from, &self.new_series) {
            (Some(run), _) => format!(
                "release: {} indicator periods frozen as released in run {run}; {} new periods",
                self.frozen_periods,
                self.new_periods.len()
            ),
            (None, Some(why)) => format!("release: a new series ({why})"),
            (None, None) => "release: the first release".to_string(),
        };
        let mut periods = drift_by_period(self);
        if !periods.is_empty() {
            periods.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let shown: Vec<String> = periods
                .iter()
                .take(5)
                .map(|(p, n, _)| format!("{p} {n}"))
                .collect();
            line.push_str(&format!(
                "; the current data moved {} cells in {} periods (not published: {}{})",
                self.drift_cells(),
                periods.len(),
                shown.join(", "),
                if periods.len() > 5 { ", …" } else { "" }
            ));
        }
        if let Some(why) = &self.revised_because {
            line.push_str(&format!("; {why}"));
        }
        if !self.revised.is_empty() {
            let changed: usize = self.revised.iter().map(|r| r.cells_changed).sum();
            let small: usize = self.revised.iter().map(|r| r.small_changes_withheld).sum();
            let shown: Vec<String> = self
                .revised
                .iter()
                .filter(|r| r.cells_changed > 0)
                .take(5)
                .map(|r| format!("{} {}", r.period, r.cells_changed))
                .collect();
            line.push_str(&format!(
                "; revised {} periods: {changed} cells changed ({}), {small} withheld for small changes",
                self.revised.len(),
                if shown.is_empty() {
                    "none".to_string()
                } else {
                    shown.join(", ")
                }
            ));
        }
        if !self.postponed.is_empty() {
            line.push_str(&format!(
                "; {} new indicator periods wait for a revision",
                self.postponed.len()
            ));
        }
        line
    }
}

/// Says in the log what was frozen, what is new and where the data drifted (a line per
/// drifted period).
pub fn log(summary: &Summary) {
    if let Some(why) = &summary.new_series {
        tracing::warn!("release: a new series starts: {why}");
    }
    if let Some(why) = &summary.revised_because {
        tracing::warn!("release: {why}");
    }
    for (period, cells, indicators) in drift_by_period(summary) {
        tracing::info!(
            period = %period,
            cells,
            indicators = %indicators,
            "release: the current data differ from the released period (kept as released; `run --revise PERIOD` republishes it)"
        );
    }
    for r in &summary.revised {
        tracing::info!(
            period = %r.period,
            replaces = %r.replaces,
            cells_changed = r.cells_changed,
            small_changes_withheld = r.small_changes_withheld,
            "release: period revised from current data, protected jointly with the release it replaces"
        );
    }
    for p in &summary.postponed {
        tracing::warn!(cells = %p, "release: not published: a new period that must agree with drifted released data");
    }
    tracing::info!(
        frozen_from = summary.frozen_from.as_deref().unwrap_or("none"),
        frozen_periods = summary.frozen_periods,
        new_periods = summary.new_periods.len(),
        drifted_periods = summary.drift.len(),
        drifted_cells = summary.drift_cells(),
        "release: frozen periods republished as released"
    );
}

/// Reads the release `current` points to, if it can be frozen to. Returns the release,
/// or why a new series starts (none when there is no release at all).
pub async fn previous(
    output: &Root,
    config: &serde_json::Value,
) -> Result<(Option<Previous>, Option<String>)> {
    let Some(run_id) = crate::storage::runs::current_run(output).await? else {
        return Ok((None, None));
    };
    let run = format!("runs/{run_id}");
    let record_rel = format!("{run}/{}", record::PATH);
    let Some((record, footer)) = audit::read_private_and_footer(output, &record_rel).await? else {
        return Ok((
            None,
            Some(format!(
                "{run} has no disclosure record (it was made before releases were frozen)"
            )),
        ));
    };
    let footer_value = |key: &str| {
        footer
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    for (key, ours) in [
        ("skolegang.methodology_version", METHODOLOGY_VERSION),
        ("skolegang.schema_version", SCHEMA_VERSION),
    ] {
        let theirs = footer_value(key);
        if theirs != ours {
            return Ok((
                None,
                Some(format!(
                    "{run} was made under {key} {theirs}, this run uses {ours}: a new series republishes every period"
                )),
            ));
        }
    }
    let theirs: serde_json::Value = serde_json::from_str(&footer_value("skolegang.configuration"))
        .map_err(|e| {
            Error::InputRejected(format!("{record_rel}: the footer's configuration: {e}"))
        })?;
    let changed: Vec<&str> = DISCLOSURE_RELEVANT
        .into_iter()
        .filter(|s| theirs.get(s) != config.get(s))
        .collect();
    // A changed disclosure-relevant configuration revises every period, jointly with
    // the release (methodology.md, "Releases").
    let revise_all = (!changed.is_empty()).then(|| {
        format!(
            "the configuration's {} differ from {run}'s: every period is revised",
            changed.join(", ")
        )
    });
    let published = audit::read_published(output, &format!("{run}/published")).await?;
    let schema = crate::stages::indicators::published_schema();
    let parts = published
        .batches
        .iter()
        .map(|b| conform(b, &schema, &run))
        .collect::<Result<Vec<_>>>()?;
    let published = concat_batches(&schema, &parts).map_err(|e| Error::internal(&run, e))?;
    Ok((
        Some(Previous {
            run_id,
            published,
            record,
            revise_all,
        }),
        None,
    ))
}

/// `batch` with the columns of `schema`, in its order and types.
fn conform(batch: &RecordBatch, schema: &SchemaRef, what: &str) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| -> Result<ArrayRef> {
            let col = batch
                .column_by_name(f.name())
                .ok_or_else(|| Error::InputRejected(format!("{what}: no column `{}`", f.name())))?;
            if col.data_type() == f.data_type() {
                Ok(Arc::clone(col))
            } else {
                datafusion::arrow::compute::cast(col, f.data_type()).map_err(|e| {
                    Error::InputRejected(format!("{what}: column `{}`: {e}", f.name()))
                })
            }
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns)
        .map_err(|e| Error::InputRejected(format!("{what}: {e}")))
}

/// What disclosure control protects, with the frozen cells first.
pub struct Plan {
    /// The frozen cells (as released) followed by the new ones (true counts).
    pub cells: Vec<Cell>,
    /// Which of `cells` are fixed.
    pub fixed: Vec<bool>,
    /// How many of `cells` are frozen (the first ones).
    pub frozen: usize,
    /// Indicator × period of the release republished from current data (`--revise`).
    pub revised: BTreeSet<(String, String)>,
    /// The computed rows of the new periods (the computed cells' schema).
    pub new_rows: RecordBatch,
    pub summary: Summary,
}

pub type CellKey = (String, String, i32, String, String);
/// A cell's counts: numerator, denominator, grade sum (its bits).
pub type Counts = (Option<i64>, Option<i64>, Option<u64>);

fn key_of(c: &Cell) -> CellKey {
    (
        c.indicator.clone(),
        c.period.clone(),
        c.geo_code,
        c.group.clone(),
        c.placement.clone(),
    )
}

/// Splits the computed cells into frozen periods (taken from `previous` as released) and
/// new ones, and measures the drift.
pub fn plan(
    computed: &RecordBatch,
    previous: Option<&Previous>,
    new_series: Option<String>,
    revise: &[String],
    k: i64,
) -> Result<Plan> {
    let Some(prev) = previous else {
        return first_plan(computed, new_series, revise);
    };
    let record_rel = format!("runs/{}/{}", prev.run_id, record::PATH);
    let released_all = record::cells(&prev.record, &record_rel)?;
    let every: Vec<String>;
    let revise = match &prev.revise_all {
        Some(_) => {
            let labels: BTreeSet<&str> = released_all.iter().map(|c| c.period.as_str()).collect();
            every = labels.into_iter().map(str::to_string).collect();
            &every[..]
        }
        None => revise,
    };
    let revised = revised_pairs(&released_all, revise)?;
    let is_revised = |c: &Cell| revised.contains(&(c.indicator.clone(), c.period.clone()));
    // The cells as released in the periods being revised (what each change is measured
    // against), and the rest, frozen.
    let (replaced, released): (Vec<Cell>, Vec<Cell>) =
        released_all.into_iter().partition(|c| is_revised(c));
    let replaced = counts_by_cell(&replaced);
    let frozen_periods: BTreeSet<(String, String)> = released
        .iter()
        .map(|c| (c.indicator.clone(), c.period.clone()))
        .collect();
    let current = batch::cells_from_batch(computed, "the computed cells", None)?;
    let is_new: Vec<bool> = current
        .iter()
        .map(|c| !frozen_periods.contains(&(c.indicator.clone(), c.period.clone())))
        .collect();
    let drift = drift_of(&current, &is_new, &released);
    let (keep, postponed) = postpone(&current, &is_new, &released, &drift);
    let mask: BooleanArray = keep.iter().map(|n| Some(*n)).collect();
    let new_rows =
        filter_record_batch(computed, &mask).map_err(|e| Error::internal("new periods", e))?;
    let mut new_cells: Vec<Cell> = current
        .into_iter()
        .zip(&keep)
        .filter(|(_, n)| **n)
        .map(|(c, _)| c)
        .collect();
    // A revision: every count that changed by 1..k−1 from the release it replaces is a
    // count of persons whose change must keep a range k wide (its cell is withheld, the
    // count a target of protection and audit).
    let revisions = mark_changes(&mut new_cells, &replaced, is_revised, k);
    let mut fixed = vec![true; released.len()];
    fixed.extend(std::iter::repeat_n(false, new_cells.len()));
    let new_periods: BTreeSet<String> = new_cells
        .iter()
        .filter(|c| !is_revised(c))
        .map(|c| c.period.clone())
        .collect();
    let frozen = released.len();
    let mut cells = released;
    cells.extend(new_cells);
    let summary = Summary {
        revised: revision_notes(revisions, &prev.run_id, k),
        frozen_from: Some(prev.run_id.clone()),
        new_series: None,
        revised_because: prev.revise_all.clone(),
        frozen_periods: frozen_periods.len(),
        new_periods: new_periods.into_iter().collect(),
        drift: drift
            .into_iter()
            .map(|((indicator, period), cells)| Drift {
                indicator,
                period,
                cells,
            })
            .collect(),
        postponed: postponed.into_iter().collect(),
    };
    Ok(Plan {
        cells,
        fixed,
        frozen,
        revised,
        new_rows,
        summary,
    })
}

/// The plan when nothing was released before: every computed cell is new.
fn first_plan(
    computed: &RecordBatch,
    new_series: Option<String>,
    revise: &[String],
) -> Result<Plan> {
    if let Some(p) = revise.first() {
        return Err(Error::Config(format!(
            "--revise {p}: there is no release to revise (`current` holds none that can be frozen to{})",
            new_series.map(|w| format!(": {w}")).unwrap_or_default()
        )));
    }
    let cells = batch::cells_from_batch(computed, "the computed cells", None)?;
    let new_periods: BTreeSet<String> = cells.iter().map(|c| c.period.clone()).collect();
    Ok(Plan {
        fixed: vec![false; cells.len()],
        cells,
        frozen: 0,
        revised: BTreeSet::new(),
        new_rows: computed.clone(),
        summary: Summary {
            new_series,
            new_periods: new_periods.into_iter().collect(),
            ..Summary::default()
        },
    })
}

/// Drift: per indicator × period, how many of the frozen periods' cells as released
/// (`released`) differ from the current data (`current`, those not `is_new`), or are
/// gone from it.
fn drift_of(
    current: &[Cell],
    is_new: &[bool],
    released: &[Cell],
) -> BTreeMap<(String, String), usize> {
    let mut as_released = counts_by_cell(released);
    let mut drift: BTreeMap<(String, String), usize> = BTreeMap::new();
    for c in current
        .iter()
        .zip(is_new)
        .filter(|(_, n)| !**n)
        .map(|(c, _)| c)
    {
        let same = as_released
            .remove(&key_of(c))
            .is_some_and(|r| same_counts(r, counts_of_cell(c)));
        if !same {
            *drift
                .entry((c.indicator.clone(), c.period.clone()))
                .or_default() += 1;
        }
    }
    // Cells released that the current data no longer have.
    for (indicator, period, ..) in as_released.into_keys() {
        *drift.entry((indicator, period)).or_default() += 1;
    }
    drift
}

/// Which of the current cells are published as new (`keep`), and the indicator ×
/// periods postponed. A new cell must agree with what was released: a window is the
/// sum of its years as released, and a count shared with a frozen cell is the released
/// count. Where the released data drifted, the new cell would show the difference: its
/// indicator × period is postponed (not published at all, so no row claims anything).
/// Indicators of one population share counts (the cohort is the denominator of five),
/// so drift and freezing are per population and period.
fn postpone(
    current: &[Cell],
    is_new: &[bool],
    released: &[Cell],
    drift: &BTreeMap<(String, String), usize>,
) -> (Vec<bool>, BTreeSet<String>) {
    let drifted: BTreeSet<(Option<Kind>, u8, i32)> = released
        .iter()
        .filter(|c| drift.contains_key(&(c.indicator.clone(), c.period.clone())))
        .map(|c| (population(c), c.years, c.year))
        .collect();
    let frozen_population: BTreeSet<(Option<Kind>, u8, i32)> = released
        .iter()
        .map(|c| (population(c), c.years, c.year))
        .collect();
    let over_drift = |c: &Cell| {
        let pop = population(c);
        let period = (pop, c.years, c.year);
        (c.years == 3 && (c.year - 2..=c.year).any(|y| drifted.contains(&(pop, 1, y))))
            || (frozen_population.contains(&period) && drifted.contains(&period))
    };
    let mut postponed: BTreeSet<String> = BTreeSet::new();
    let keep: Vec<bool> = current
        .iter()
        .zip(is_new)
        .map(|(c, n)| {
            if *n && over_drift(c) {
                postponed.insert(format!("{} {}", c.indicator, c.period));
                false
            } else {
                *n
            }
        })
        .collect();
    (keep, postponed)
}

/// The manifest's note per revised period: (cells changed, small changes withheld).
fn revision_notes(
    revisions: BTreeMap<String, (usize, usize)>,
    replaces: &str,
    k: i64,
) -> Vec<Revision> {
    revisions
        .into_iter()
        .map(|(period, (changed, small))| Revision {
            period,
            replaces: replaces.to_string(),
            cells_changed: changed,
            small_changes_withheld: small,
            accepted: format!(
                "every count that changed by 1..{} persons from the replaced release ({small} cells) is withheld and its range in this release is at least {k} wide (audited); the replaced release shares no relation with a revised period, so each change's range is at least as wide",
                k - 1
            ),
        })
        .collect()
}

/// Marks the cells of a revision (those `in_revision` says) whose counts changed by
/// 1..k−1 from the release they replace (`replaced`: counts by cell; a cell absent
/// there had none): primary with the reasons `changed_*`, so that their changed counts
/// are targets. Returns per period (cells changed, cells marked).
pub fn mark_changes(
    cells: &mut [Cell],
    replaced: &HashMap<CellKey, Counts>,
    in_revision: impl Fn(&Cell) -> bool,
    k: i64,
) -> BTreeMap<String, (usize, usize)> {
    let mut revisions: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for c in cells.iter_mut().filter(|c| in_revision(c)) {
        let (num, den, _) = counts_of_cell(c);
        let old = replaced.get(&key_of(c)).copied();
        let (old_num, old_den, _) = old.unwrap_or((num.map(|_| 0), Some(0), None));
        let small = |d: i64| (1..k).contains(&d.abs());
        let d_den = den.unwrap_or(0) - old_den.unwrap_or(0);
        let d_num = num.zip(old_num).map_or(0, |(a, b)| a - b);
        let mut reasons = Vec::new();
        if small(d_den) {
            reasons.push(Reason::ChangedDenominator);
        }
        if small(d_num) {
            reasons.push(Reason::ChangedNumerator);
        }
        if num.is_some() && small(d_den - d_num) {
            reasons.push(Reason::ChangedComplement);
        }
        let entry = revisions.entry(c.period.clone()).or_default();
        if d_den != 0 || d_num != 0 || old.is_none() {
            entry.0 += 1;
        }
        if !reasons.is_empty() {
            entry.1 += 1;
            let mut all = match c.why.take() {
                Some(Why::Primary(r)) => r,
                _ => Vec::new(),
            };
            all.extend(reasons);
            c.why = Some(Why::Primary(all));
        }
    }
    revisions
}

/// Counts by cell, for [`mark_changes`].
pub fn counts_by_cell(cells: &[Cell]) -> HashMap<CellKey, Counts> {
    cells
        .iter()
        .map(|c| (key_of(c), counts_of_cell(c)))
        .collect()
}

/// The population a cell counts (indicators of one population share counts).
fn population(c: &Cell) -> Option<Kind> {
    counts_of(&c.indicator).map(|k| k.presence)
}

fn counts_of_cell(c: &Cell) -> Counts {
    (c.numerator, c.denominator, c.grade_sum.map(f64::to_bits))
}

/// The released indicator × periods a revision of the period labels `revise` republishes:
/// every indicator of those periods, and the released three-year windows of the same
/// population that hold a revised year (a window is the sum of its years).
fn revised_pairs(released: &[Cell], revise: &[String]) -> Result<BTreeSet<(String, String)>> {
    let labels: BTreeSet<&str> = released.iter().map(|c| c.period.as_str()).collect();
    if let Some(unknown) = revise.iter().find(|p| !labels.contains(p.as_str())) {
        return Err(Error::Config(format!(
            "--revise {unknown}: the current release has no period of that name (periods look like 2021/2022, 2021, 2021/2022–2023/2024)"
        )));
    }
    let wanted: BTreeSet<&str> = revise.iter().map(String::as_str).collect();
    let years: BTreeSet<(Option<Kind>, i32)> = released
        .iter()
        .filter(|c| c.years == 1 && wanted.contains(c.period.as_str()))
        .map(|c| (population(c), c.year))
        .collect();
    Ok(released
        .iter()
        .filter(|c| {
            wanted.contains(c.period.as_str())
                || (c.years == 3
                    && (c.year - 2..=c.year).any(|y| years.contains(&(population(c), y))))
        })
        .map(|c| (c.indicator.clone(), c.period.clone()))
        .collect())
}

fn same_counts(a: Counts, b: Counts) -> bool {
    let grade = |x: Option<u64>| x.map(f64::from_bits);
    a.0 == b.0
        && a.1 == b.1
        && match (grade(a.2), grade(b.2)) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * x.abs().max(1.0),
            (x, y) => x.is_none() && y.is_none(),
        }
}

/// The published cells and the record of this run: the frozen rows as released, then
/// the new ones as protected, in the computed cells' order (indicator, years, year, then
/// each period's own order).
pub fn assemble(plan: &Plan, previous: Option<&Previous>) -> Result<(RecordBatch, RecordBatch)> {
    let new_cells = &plan.cells[plan.frozen..];
    let published_schema = crate::stages::indicators::published_schema();
    let published = batch::apply(&plan.new_rows, new_cells, &published_schema)?;
    let record = record::batch(&plan.new_rows, new_cells)?;
    let Some(prev) = previous else {
        return Ok((published, record));
    };
    let frozen_published = without(&prev.published, &plan.revised)?;
    let published = concat_batches(&published_schema, &[frozen_published, published])
        .map_err(|e| Error::internal("frozen and new cells", e))?;
    let record_schema = record.schema();
    let released = without(
        &conform(&prev.record, &record_schema, &prev.run_id)?,
        &plan.revised,
    )?;
    let record = concat_batches(&record_schema, &[released, record])
        .map_err(|e| Error::internal("frozen and new records", e))?;
    Ok((in_order(&published)?, in_order(&record)?))
}

/// `batch` without the rows of the indicator × periods `drop`.
fn without(batch: &RecordBatch, drop: &BTreeSet<(String, String)>) -> Result<RecordBatch> {
    if drop.is_empty() {
        return Ok(batch.clone());
    }
    let strings = |n: &str| crate::cells::string(batch, "the released cells", n);
    let (indicator, period) = (strings("indicator")?, strings("period")?);
    let keep: BooleanArray = (0..batch.num_rows())
        .map(|i| {
            Some(!drop.contains(&(indicator.value(i).to_string(), period.value(i).to_string())))
        })
        .collect();
    filter_record_batch(batch, &keep).map_err(|e| Error::internal("revised periods", e))
}

/// `batch` sorted by indicator, years and year, each period's rows in their order.
fn in_order(batch: &RecordBatch) -> Result<RecordBatch> {
    let col = |n: &str| -> Result<ArrayRef> {
        batch
            .column_by_name(n)
            .cloned()
            .ok_or_else(|| Error::Internal(format!("cells have no column {n}")))
    };
    let position: ArrayRef = Arc::new(UInt32Array::from_iter_values(0..batch.num_rows() as u32));
    let columns = [col("indicator")?, col("years")?, col("year")?, position];
    let sort: Vec<SortColumn> = columns
        .into_iter()
        .map(|values| SortColumn {
            values,
            options: None,
        })
        .collect();
    let indices =
        lexsort_to_indices(&sort, None).map_err(|e| Error::internal("sorting cells", e))?;
    take_record_batch(batch, &indices).map_err(|e| Error::internal("sorting cells", e))
}
