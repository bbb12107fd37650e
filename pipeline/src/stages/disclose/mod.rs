//! Disclosure control (methodology.md version 2, "Disclosure control"): interval
//! protection against an attacker who knows every published count, the rules, that
//! counts are ≥ 0, which cells exist, how indicators nest and how the tables add up.
//!
//! - [`rules`]: which counts a cell publishes, the nesting, the primary rule, costs;
//! - [`system`]: the attacker's linear system over all counts;
//! - [`targets`]: what must keep a range k wide;
//! - [`moves`]: certificates of width, explicit real solutions of the system around
//!   the true counts;
//! - [`ranges`] with [`lp`]: the attacker's exact ranges by linear programming (HiGHS),
//!   for what no move certifies;
//! - [`protect`]: primary, then secondary suppression until every range is k wide;
//! - [`audit`]: `skolegang audit`, the same attack on the files as written;
//! - [`batch`]: cells to and from Arrow; [`record`]: `disclosure/cells.parquet`.

pub mod audit;
pub mod batch;
pub mod lp;
pub mod moves;
pub mod protect;
pub mod ranges;
pub mod record;
pub mod release;
pub mod rules;
pub mod system;
pub mod targets;

use std::collections::BTreeMap;

use serde::Serialize;

pub use protect::{Stats, mark_primary, protect, protect_with};
pub use rules::Reason;

use crate::codes::Codes;
use crate::error::{Error, Result};

/// Why a cell is withheld (the statistician's record; never published).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// By the threshold rule, for these reasons.
    Primary(Vec<Reason>),
    /// So that no primary count or small nested difference can be narrowed below k.
    Secondary,
}

/// One indicator cell, as far as disclosure control is concerned. In the attacker's view
/// ([`Cell::published`]) a withheld cell has no counts and no `why`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub indicator: String,
    pub period: String,
    /// 1 for a yearly cell, 3 for a three-year window.
    pub years: u8,
    /// The period's (last) year.
    pub year: i32,
    pub geo_code: i32,
    pub group: String,
    pub placement: String,
    pub numerator: Option<i64>,
    pub denominator: Option<i64>,
    /// A mean cell's sum of the pupils' mean grades (value × denominator).
    pub grade_sum: Option<f64>,
    pub suppressed: bool,
    pub why: Option<Why>,
}

/// A cell's key: indicator, years, year, geo_code, group, placement.
pub type Key<'a> = (&'a str, u8, i32, i32, &'a str, &'a str);

impl Cell {
    pub fn place(&self) -> system::Place {
        (self.geo_code, self.group.clone(), self.placement.clone())
    }

    pub fn key(&self) -> Key<'_> {
        (
            &self.indicator,
            self.years,
            self.year,
            self.geo_code,
            &self.group,
            &self.placement,
        )
    }

    /// The attacker's view: counts hidden when withheld, and never why.
    pub fn published(&self) -> Cell {
        let mut c = self.clone();
        if c.suppressed {
            c.numerator = None;
            c.denominator = None;
            c.grade_sum = None;
        }
        c.why = None;
        c
    }
}

/// A target whose range is narrower than k.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exposure {
    pub indicator: String,
    pub period: String,
    pub geo_code: i32,
    pub group: String,
    pub placement: String,
    /// The count (or difference of counts) that can be narrowed, e.g. `numerator`,
    /// `complement`, `participants − passed`.
    pub count: String,
    /// Why it must not be: a primary reason or a nested pair.
    pub rule: targets::What,
    /// The attacker's exact range [min, max] (rounded to 6 decimals), when the linear
    /// programme was solved; none when its component was too large (no certificate of
    /// width k was found, and the exact range was not computed).
    pub range: Option<(f64, f64)>,
}

/// The attack on published cells: the ranges of every target (the counts that made a
/// withheld cell primary, and small nested differences, as the statistician's `record`
/// says) over all real solutions of the attacker's system built from `published` alone.
/// Returns every target narrower than k, and every cell the record calls primary that
/// is published.
pub fn attack(
    published: &[Cell],
    record: &[Cell],
    k: i64,
    codes: &Codes,
    threads: usize,
) -> Result<Vec<Exposure>> {
    let (truth_cells, mut out) = match_record(published, record)?;
    let view: Vec<Cell> = published.iter().map(Cell::published).collect();
    let model = system::Model::new(&view, codes)?;
    let known = model.knowledge(&view, &vec![false; view.len()])?;
    let truth = model.truth(&truth_cells)?;
    check_truth(&model, &truth)?;
    let targets = targets::targets(&model, &truth_cells, &truth, k);
    // Certificates first (explicit real solutions k apart); the rest by the exact
    // linear programme.
    let moves = moves::Moves::new(&model, codes, &truth);
    let need = k as f64 - ranges::EPS;
    let all: Vec<usize> = (0..targets.len()).collect();
    let open: Vec<targets::Target> =
        protect::uncertified(&moves, &targets, &all, &known.value, need, threads)
            .into_iter()
            .map(|i| targets[i].clone())
            .collect();
    let checked = ranges::Check {
        model: &model,
        known: &known,
        targets: &open,
        k: k as f64,
        hint: Some(&truth),
        threads,
        max_vars: ranges::MAX_EXACT_VARS,
    }
    .run()?;
    for f in checked.failing {
        let t = &open[f.target];
        out.push(exposure(&published[t.cell as usize], t, f.range));
    }
    Ok(out)
}

/// The record's cell for each published cell (the true counts), checked to belong to
/// the published files; and an exposure for every published cell the record calls
/// primary.
fn match_record(published: &[Cell], record: &[Cell]) -> Result<(Vec<Cell>, Vec<Exposure>)> {
    // Borrowed keys in a hash map: the audit's serial part (docs/performance.md).
    let by_key: std::collections::HashMap<Key, &Cell> =
        record.iter().map(|c| (c.key(), c)).collect();
    if by_key.len() != published.len() {
        return Err(Error::InputRejected(format!(
            "the record has {} cells, the published files {}",
            by_key.len(),
            published.len()
        )));
    }
    let mut truth_cells = Vec::with_capacity(published.len());
    let mut out = Vec::new();
    for p in published {
        let r = by_key.get(&p.key()).ok_or_else(|| {
            Error::InputRejected(format!(
                "the record has no cell {} {} geo {} {}/{}",
                p.indicator, p.period, p.geo_code, p.group, p.placement
            ))
        })?;
        if p.suppressed != r.suppressed
            || (!p.suppressed && (p.numerator != r.numerator || p.denominator != r.denominator))
        {
            return Err(Error::InputRejected(format!(
                "the record does not belong to these files: {} {} geo {} {}/{} differs",
                p.indicator, p.period, p.geo_code, p.group, p.placement
            )));
        }
        if !p.suppressed
            && let Some(Why::Primary(reasons)) = &r.why
        {
            out.push(Exposure {
                indicator: p.indicator.clone(),
                period: p.period.clone(),
                geo_code: p.geo_code,
                group: p.group.clone(),
                placement: p.placement.clone(),
                count: "cell".into(),
                rule: targets::What::Primary {
                    reason: reasons.first().copied().unwrap_or(Reason::SmallDenominator),
                },
                range: None,
            });
        }
        truth_cells.push((*r).clone());
    }
    Ok((truth_cells, out))
}

/// A target of cell `c` whose range (`range`, if computed) is narrower than k.
fn exposure(c: &Cell, t: &targets::Target, range: Option<(f64, f64)>) -> Exposure {
    let count = match t.what {
        targets::What::Nested { larger, smaller } => {
            format!("{} − {}", larger.name(), smaller.name())
        }
        targets::What::Primary { reason } => match reason.protects() {
            rules::Protected::Denominator => "denominator".into(),
            rules::Protected::Numerator => "numerator".into(),
            rules::Protected::Complement => "complement".into(),
        },
    };
    let round = |x: f64| (x * 1e6).round() / 1e6;
    Exposure {
        indicator: c.indicator.clone(),
        period: c.period.clone(),
        geo_code: c.geo_code,
        group: c.group.clone(),
        placement: c.placement.clone(),
        count,
        rule: t.what,
        range: range.map(|(a, b)| (round(a), round(b))),
    }
}

/// The record's true counts must satisfy every row of the attacker's system (they are
/// the certificates' starting point): else the record does not belong to the files.
fn check_truth(model: &system::Model, truth: &[Option<f64>]) -> Result<()> {
    for r in 0..model.rows.len() {
        let mut sum = 0.0;
        let mut scale = 1.0f64;
        for (v, a) in model.rows.get(r) {
            let x = truth[*v as usize].unwrap_or(0.0);
            sum += a * x;
            scale = scale.max((a * x).abs());
        }
        let tol = 1e-6 * scale;
        if sum < model.row_lo[r] - tol || sum > model.row_hi[r] + tol {
            let names: Vec<String> = model
                .rows
                .get(r)
                .iter()
                .take(4)
                .map(|(v, _)| model.describe(*v))
                .collect();
            return Err(Error::InputRejected(format!(
                "the record's true counts break a relation of the tables ({}, ...): it does not belong to these files",
                names.join(", ")
            )));
        }
    }
    Ok(())
}

/// Disclosure figures for the manifest (methodology.md asks for information loss to be
/// measured).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub k: i64,
    pub cells: u64,
    /// Per indicator: cells withheld (primary + secondary).
    pub withheld: BTreeMap<String, u64>,
    pub primary: BTreeMap<String, u64>,
    pub secondary: BTreeMap<String, u64>,
    /// Per indicator: of Danmark's persons (land, alle, yearly cells), the share counted
    /// in a kommune cell (alle) that is published.
    pub visible_at_kommune: BTreeMap<String, f64>,
    /// Kommune × indicator × period where udsat is withheld but oevrige published.
    pub udsat_withheld_oevrige_published: u64,
    /// How protection went.
    pub protection: Option<Stats>,
}

pub fn summary(cells: &[Cell], k: i64, protection: Option<Stats>) -> Summary {
    let mut s = Summary {
        k,
        cells: cells.len() as u64,
        withheld: BTreeMap::new(),
        primary: BTreeMap::new(),
        secondary: BTreeMap::new(),
        visible_at_kommune: BTreeMap::new(),
        udsat_withheld_oevrige_published: 0,
        protection,
    };
    let mut land: BTreeMap<String, i64> = BTreeMap::new();
    let mut visible: BTreeMap<String, i64> = BTreeMap::new();
    // (indicator, years, year, geo) → (udsat withheld, oevrige published)
    let mut pairs: BTreeMap<(&str, u8, i32, i32), (bool, bool)> = BTreeMap::new();
    for c in cells {
        for map in [&mut s.withheld, &mut s.primary, &mut s.secondary] {
            map.entry(c.indicator.clone()).or_default();
        }
        if c.suppressed {
            *s.withheld.entry(c.indicator.clone()).or_default() += 1;
        }
        match c.why {
            Some(Why::Primary(_)) => *s.primary.entry(c.indicator.clone()).or_default() += 1,
            Some(Why::Secondary) => *s.secondary.entry(c.indicator.clone()).or_default() += 1,
            None => {}
        }
        let kommune = c.geo_code > 0 && c.geo_code < 1000;
        if c.placement == "alle" && kommune {
            let e = pairs
                .entry((c.indicator.as_str(), c.years, c.year, c.geo_code))
                .or_default();
            match c.group.as_str() {
                "udsat" => e.0 = c.suppressed,
                "oevrige" => e.1 = !c.suppressed,
                _ => {}
            }
        }
        if c.group == "alle" && c.placement == "alle" && c.years == 1 {
            let den = c.denominator.unwrap_or(0);
            if c.geo_code == 0 {
                *land.entry(c.indicator.clone()).or_default() += den;
            } else if kommune && !c.suppressed {
                *visible.entry(c.indicator.clone()).or_default() += den;
            }
        }
    }
    s.udsat_withheld_oevrige_published = pairs.values().filter(|(u, o)| *u && *o).count() as u64;
    for (ind, total) in land {
        let v = visible.get(&ind).copied().unwrap_or(0);
        s.visible_at_kommune.insert(
            ind,
            if total > 0 {
                v as f64 / total as f64
            } else {
                1.0
            },
        );
    }
    s
}
