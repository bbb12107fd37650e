//! Disclosure control (methodology.md, "Disclosure control"): primary suppression, then
//! secondary suppression proved by the attacker's own method.
//!
//! Every published cell reveals one or two *counts*: its numerator and its denominator.
//! Counts are shared between indicators (the 9th-grade cohort is the denominator of
//! five of them, and so on: [`counts_of`]), so a count published by any indicator is
//! known everywhere. Counts of one kind and period are additive along three
//! hierarchies (geography, groups, placements: [`relations`]), which gives a linear
//! system per (count, period). Absent cells are known zeros (only cells with a
//! population exist).
//!
//! [`attack`] solves those systems exactly ([`linear`]) and reports every withheld small
//! count it can fix. [`protect`] suppresses primary cells, then repeatedly runs the
//! attack and hides one more count next to each exposed one (the smallest), until the
//! attack finds nothing. The same [`attack`] is `skolegang audit`, run on the files.

pub mod audit;
pub mod batch;
pub mod linear;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::codes::Codes;
use crate::error::{Error, Result};
use linear::Equation;

/// The Parquet footer key holding the threshold k the cells were protected with.
pub const K_METADATA: &str = "skolegang.disclosure_k";

/// Why a cell is withheld.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Suppression {
    Primary,
    Secondary,
}

impl Suppression {
    pub fn as_str(self) -> &'static str {
        match self {
            Suppression::Primary => "primary",
            Suppression::Secondary => "secondary",
        }
    }
}

/// One indicator cell, as far as disclosure control is concerned. In the attacker's
/// view (`published`), the counts of a suppressed cell are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub indicator: String,
    pub period: String,
    pub geo_code: i32,
    pub group: String,
    pub placement: String,
    pub numerator: Option<i64>,
    pub denominator: Option<i64>,
    pub suppression: Option<Suppression>,
}

impl Cell {
    fn place(&self) -> Place {
        (self.geo_code, self.group.clone(), self.placement.clone())
    }

    /// The attacker's view of the cell: counts hidden when suppressed.
    pub fn published(&self) -> Cell {
        let mut c = self.clone();
        if c.suppression.is_some() {
            c.numerator = None;
            c.denominator = None;
        }
        c
    }
}

/// The counts behind an indicator's numerator and denominator. Indicators that name the
/// same count share it: e.g. the cohort is the denominator of five indicators.
pub fn counts_of(indicator: &str) -> Option<(Option<&'static str>, &'static str)> {
    Some(match indicator {
        "fp9_participation" => (Some("participants"), "cohort"),
        "fp9_min2_dan_mat" => (Some("min2"), "cohort"),
        "fp9_min2_dan_mat_takers" => (Some("min2"), "participants"),
        "fp9_passed" => (Some("passed"), "cohort"),
        "fp9_grade_mean" => (None, "graded"),
        "transition_15m" => (Some("transition"), "cohort"),
        "school_offer_almen" => (Some("almen"), "cohort"),
        "youth_edu_18" => (Some("youth_edu_18"), "persons_18"),
        "youth_edu_completed_25" => (Some("completed_25"), "persons_25"),
        "no_fp9_by_17" => (Some("no_fp9_17"), "persons_17"),
        _ => return None,
    })
}

/// A cell's place: geo_code (0 Danmark, 1081..1085 regions, kommune codes), group,
/// placement. Codes of the three levels never collide.
type Place = (i32, String, String);
/// A count variable: count kind, period, place.
type Var = (&'static str, String, Place);

/// The additive relations between places, each a list of (place, coefficient) summing
/// to zero: land = sum of regions, region = sum of its kommuner (for every group and
/// placement); alle = udsat + oevrige, udsat = anbragt + forebyggende; anbragt/alle =
/// sum of placement groups = sum of placement types, and each placement group = the sum
/// of its types in the public code list (for every geography).
pub fn relations(codes: &Codes) -> (Vec<Place>, Vec<Vec<(Place, i64)>>) {
    let groups: BTreeSet<&str> = codes
        .placements
        .iter()
        .map(|p| p.placement_group.as_str())
        .collect();
    let types: BTreeSet<&str> = codes
        .placements
        .iter()
        .map(|p| p.placement_type.as_str())
        .collect();
    let mut combos: Vec<(String, String)> = ["alle", "udsat", "anbragt", "forebyggende", "oevrige"]
        .iter()
        .map(|g| (g.to_string(), "alle".to_string()))
        .collect();
    for p in groups
        .iter()
        .chain(types.iter().filter(|t| !groups.contains(*t)))
    {
        combos.push(("anbragt".to_string(), p.to_string()));
    }
    let regions: BTreeSet<i64> = codes.municipalities.iter().map(|m| m.region_code).collect();
    let mut geos: Vec<i32> = vec![0];
    geos.extend(regions.iter().map(|r| *r as i32));
    geos.extend(codes.municipalities.iter().map(|m| m.code as i32));
    let place =
        |g: i32, group: &str, placement: &str| (g, group.to_string(), placement.to_string());

    let mut rels = Vec::new();
    for (group, placement) in &combos {
        let mut land = vec![(place(0, group, placement), 1)];
        for r in &regions {
            land.push((place(*r as i32, group, placement), -1));
            let mut region = vec![(place(*r as i32, group, placement), 1)];
            for m in codes.municipalities.iter().filter(|m| m.region_code == *r) {
                region.push((place(m.code as i32, group, placement), -1));
            }
            rels.push(region);
        }
        rels.push(land);
    }
    for g in &geos {
        rels.push(vec![
            (place(*g, "alle", "alle"), 1),
            (place(*g, "udsat", "alle"), -1),
            (place(*g, "oevrige", "alle"), -1),
        ]);
        rels.push(vec![
            (place(*g, "udsat", "alle"), 1),
            (place(*g, "anbragt", "alle"), -1),
            (place(*g, "forebyggende", "alle"), -1),
        ]);
        let mut by_group = vec![(place(*g, "anbragt", "alle"), 1)];
        by_group.extend(groups.iter().map(|p| (place(*g, "anbragt", p), -1)));
        rels.push(by_group);
        let mut by_type = vec![(place(*g, "anbragt", "alle"), 1)];
        by_type.extend(types.iter().map(|p| (place(*g, "anbragt", p), -1)));
        rels.push(by_type);
        // The code list is public: each placement group is the sum of its own types.
        for group in groups.iter().filter(|gr| !types.contains(*gr)) {
            let mut nested = vec![(place(*g, "anbragt", group), 1)];
            let members: BTreeSet<&str> = codes
                .placements
                .iter()
                .filter(|p| p.placement_group == *group)
                .map(|p| p.placement_type.as_str())
                .collect();
            nested.extend(members.iter().map(|t| (place(*g, "anbragt", t), -1)));
            rels.push(nested);
        }
    }
    let places = geos
        .iter()
        .flat_map(|g| {
            combos
                .iter()
                .map(move |(gr, pl)| (*g, gr.clone(), pl.clone()))
        })
        .collect();
    (places, rels)
}

/// A withheld count the attack can fix below the threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exposure {
    pub indicator: String,
    pub period: String,
    pub geo_code: i32,
    pub group: String,
    pub placement: String,
    /// `denominator`, `numerator` or `complement`.
    pub count: String,
    pub value: i64,
}

/// What the attacker knows after solving: every count's value where it is fixed.
struct Solved {
    values: BTreeMap<Var, i64>,
    /// Published counts (not zeros from absent cells), with the cells revealing them.
    revealed: BTreeMap<Var, Vec<usize>>,
    /// Unknown counts, and the relations (as lists of variables) they appear in.
    unknown_relations: BTreeMap<Var, Vec<Vec<Var>>>,
    /// Every relation with at least one unknown count, and how many it has.
    open_relations: Vec<(Vec<Var>, usize)>,
}

/// The places and relations of [`relations`], built once per protection or attack.
type Structure = (Vec<Place>, Vec<Vec<(Place, i64)>>);

fn solve(cells: &[Cell], structure: &Structure) -> Solved {
    let (places, rels) = structure;
    // What is published, and what exists but is withheld.
    let mut values: BTreeMap<Var, i64> = BTreeMap::new();
    let mut revealed: BTreeMap<Var, Vec<usize>> = BTreeMap::new();
    let mut withheld: BTreeSet<Var> = BTreeSet::new();
    let mut present: BTreeSet<(String, String, Place)> = BTreeSet::new();
    let mut systems: BTreeSet<(&'static str, String)> = BTreeSet::new();
    let mut indicator_periods: BTreeSet<(String, String)> = BTreeSet::new();
    for (i, c) in cells.iter().enumerate() {
        let Some((num, den)) = counts_of(&c.indicator) else {
            continue;
        };
        present.insert((c.indicator.clone(), c.period.clone(), c.place()));
        indicator_periods.insert((c.indicator.clone(), c.period.clone()));
        for (kind, value) in [(Some(den), c.denominator), (num, c.numerator)] {
            let Some(kind) = kind else { continue };
            let var = (kind, c.period.clone(), c.place());
            systems.insert((kind, c.period.clone()));
            match value {
                Some(v) => {
                    values.insert(var.clone(), v);
                    revealed.entry(var).or_default().push(i);
                }
                None => {
                    withheld.insert(var);
                }
            }
        }
    }
    // Absent cells: a computed indicator without a cell at a place has no population
    // there, so its counts are zero.
    for (indicator, period) in &indicator_periods {
        let Some((num, den)) = counts_of(indicator) else {
            continue;
        };
        for p in places {
            if !present.contains(&(indicator.clone(), period.clone(), p.clone())) {
                for kind in [Some(den), num].into_iter().flatten() {
                    values.entry((kind, period.clone(), p.clone())).or_insert(0);
                }
            }
        }
    }
    let unknown: Vec<Var> = withheld
        .into_iter()
        .filter(|v| !values.contains_key(v))
        .collect();
    let index: BTreeMap<&Var, usize> = unknown.iter().enumerate().map(|(i, v)| (v, i)).collect();
    let mut equations = Vec::new();
    let mut unknown_relations: BTreeMap<Var, Vec<Vec<Var>>> = BTreeMap::new();
    let mut open_relations = Vec::new();
    for (kind, period) in &systems {
        for rel in rels {
            let vars: Vec<(Var, i64)> = rel
                .iter()
                .map(|(p, c)| ((*kind, period.clone(), p.clone()), *c))
                .collect();
            let terms: Vec<(usize, i64)> = vars
                .iter()
                .filter_map(|(v, c)| index.get(v).map(|i| (*i, *c)))
                .collect();
            if terms.is_empty() {
                continue;
            }
            let rhs = -vars
                .iter()
                .map(|(v, c)| c * values.get(v).copied().unwrap_or(0))
                .sum::<i64>();
            let members: Vec<Var> = vars.iter().map(|(v, _)| v.clone()).collect();
            for (v, _) in vars.iter().filter(|(v, _)| index.contains_key(v)) {
                unknown_relations
                    .entry(v.clone())
                    .or_default()
                    .push(members.clone());
            }
            open_relations.push((members, terms.len()));
            equations.push(Equation { terms, rhs });
        }
    }
    for (i, v) in linear::fixed(unknown.len(), &equations)
        .into_iter()
        .enumerate()
    {
        if let Some(v) = v {
            values.insert(unknown[i].clone(), v);
        }
    }
    for v in &unknown {
        if !values.contains_key(v) {
            unknown_relations.entry(v.clone()).or_default();
        }
    }
    Solved {
        values,
        revealed,
        unknown_relations,
        open_relations,
    }
}

/// The attack: every withheld cell whose denominator is fixed below k, whose numerator
/// is fixed in 1..k-1, or whose numerator and denominator are both fixed with a
/// difference in 1..k-1. Works on the published view (counts of suppressed cells
/// unknown).
pub fn attack(published: &[Cell], k: i64, codes: &Codes) -> Vec<Exposure> {
    exposures(published, k, &solve(published, &relations(codes)))
}

fn exposures(published: &[Cell], k: i64, solved: &Solved) -> Vec<Exposure> {
    let mut out = Vec::new();
    for c in published.iter().filter(|c| c.suppression.is_some()) {
        let Some((num, den)) = counts_of(&c.indicator) else {
            continue;
        };
        let get = |kind: Option<&'static str>| {
            kind.and_then(|k| {
                solved
                    .values
                    .get(&(k, c.period.clone(), c.place()))
                    .copied()
            })
        };
        let (n, d) = (get(num), get(Some(den)));
        let exposure = |count: &str, value: i64| Exposure {
            indicator: c.indicator.clone(),
            period: c.period.clone(),
            geo_code: c.geo_code,
            group: c.group.clone(),
            placement: c.placement.clone(),
            count: count.to_string(),
            value,
        };
        if let Some(d) = d.filter(|d| (1..k).contains(d)) {
            out.push(exposure("denominator", d));
        } else if let Some(n) = n.filter(|n| (1..k).contains(n)) {
            out.push(exposure("numerator", n));
        } else if let (Some(n), Some(d)) = (n, d)
            && (1..k).contains(&(d - n))
        {
            out.push(exposure("complement", d - n));
        }
    }
    out
}

/// Primary suppression (methodology.md): a share cell with denominator < k, or
/// 0 < numerator < k, or 0 < denominator - numerator < k; a mean cell with
/// denominator < k.
pub fn is_primary(numerator: Option<i64>, denominator: i64, k: i64) -> bool {
    let small = |x: i64| 0 < x && x < k;
    denominator < k || numerator.is_some_and(|n| small(n) || small(denominator - n))
}

/// Suppresses `cells` in place: primary, then secondary until the attack finds nothing.
/// Deterministic: cells are considered in their (sorted) order and ties are broken by
/// the variables' order.
pub fn protect(cells: &mut [Cell], k: i64, codes: &Codes, secondary: bool) -> Result<()> {
    for c in cells.iter_mut() {
        let den = c
            .denominator
            .ok_or_else(|| Error::Internal("a cell without denominator".into()))?;
        c.suppression = is_primary(c.numerator, den, k).then_some(Suppression::Primary);
    }
    if !secondary {
        return Ok(());
    }
    // Hides a published count: every cell revealing it becomes a secondary suppression.
    fn hide(cells: &mut [Cell], solved: &Solved, var: &Var) {
        for &i in solved.revealed.get(var).into_iter().flatten() {
            if cells[i].suppression.is_none() {
                cells[i].suppression = Some(Suppression::Secondary);
            }
        }
    }
    // The cheapest of some published counts: smallest value, then fewest cells, then order.
    fn cheapest<'a>(solved: &Solved, vars: impl Iterator<Item = &'a Var>) -> Option<Var> {
        vars.filter_map(|v| {
            solved.revealed.get(v).map(|cells| {
                (
                    solved.values.get(v).copied().unwrap_or(0),
                    cells.len(),
                    v.clone(),
                )
            })
        })
        .min()
        .map(|(_, _, v)| v)
    }
    let structure = relations(codes);
    for round in 0..100_000 {
        let view: Vec<Cell> = cells.iter().map(Cell::published).collect();
        let solved = solve(&view, &structure);
        tracing::debug!(
            round,
            withheld = view.iter().filter(|c| c.suppression.is_some()).count(),
            "disclosure round"
        );
        // 1. The simple rule: a relation with exactly one withheld count gets a second
        //    one, the smallest published count of the relation.
        let mut hidden: BTreeSet<Var> = BTreeSet::new();
        for (members, unknowns) in &solved.open_relations {
            if *unknowns == 1
                && !members.iter().any(|m| hidden.contains(m))
                && let Some(var) = cheapest(&solved, members.iter())
            {
                hide(cells, &solved, &var);
                hidden.insert(var);
            }
        }
        if !hidden.is_empty() {
            continue;
        }
        // 2. The proof: what the attack still fixes below k.
        let found = exposures(&view, k, &solved);
        if found.is_empty() {
            tracing::info!(rounds = round + 1, "disclosure control converged");
            return Ok(());
        }
        for e in &found {
            let (num, den) =
                counts_of(&e.indicator).ok_or_else(|| Error::Internal(e.indicator.clone()))?;
            let place = (e.geo_code, e.group.clone(), e.placement.clone());
            let targets: Vec<Var> = match e.count.as_str() {
                "denominator" => vec![den],
                "numerator" => num.into_iter().collect(),
                _ => num.into_iter().chain([den]).collect(),
            }
            .into_iter()
            .map(|kind| (kind, e.period.clone(), place.clone()))
            .collect();
            if targets.iter().any(|t| hidden.contains(t)) {
                continue;
            }
            // A count published by another indicator is hidden there.
            let choice = cheapest(&solved, targets.iter()).or_else(|| {
                // Otherwise the smallest published count that pins it: breadth-first
                // through the withheld counts it is related to.
                let mut seen: BTreeSet<Var> = targets.iter().cloned().collect();
                let mut queue: std::collections::VecDeque<Var> = targets.iter().cloned().collect();
                let mut reached = Vec::new();
                while let Some(u) = queue.pop_front() {
                    for rel in solved.unknown_relations.get(&u).into_iter().flatten() {
                        for other in rel {
                            if seen.insert(other.clone()) {
                                if solved.unknown_relations.contains_key(other) {
                                    queue.push_back(other.clone());
                                } else if !hidden.contains(other) {
                                    reached.push(other.clone());
                                }
                            }
                        }
                    }
                }
                cheapest(&solved, reached.iter())
            });
            if let Some(var) = choice {
                hide(cells, &solved, &var);
                hidden.insert(var);
            }
        }
        if hidden.is_empty() {
            return Err(Error::Internal(format!(
                "disclosure control cannot protect {} exposed cells (first: {:?})",
                found.len(),
                found.first()
            )));
        }
    }
    Err(Error::Internal(
        "disclosure control did not converge".into(),
    ))
}

/// Disclosure figures for the manifest.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub k: i64,
    pub cells: u64,
    pub primary: BTreeMap<String, u64>,
    pub secondary: BTreeMap<String, u64>,
    /// Per indicator: of Danmark's persons (land, alle, all periods), the share counted
    /// in a kommune cell (alle) that is published.
    pub visible_at_kommune: BTreeMap<String, f64>,
}

pub fn summary(cells: &[Cell], k: i64) -> Summary {
    let mut s = Summary {
        k,
        cells: cells.len() as u64,
        primary: BTreeMap::new(),
        secondary: BTreeMap::new(),
        visible_at_kommune: BTreeMap::new(),
    };
    let mut land: BTreeMap<String, i64> = BTreeMap::new();
    let mut visible: BTreeMap<String, i64> = BTreeMap::new();
    for c in cells {
        s.primary.entry(c.indicator.clone()).or_default();
        s.secondary.entry(c.indicator.clone()).or_default();
        match c.suppression {
            Some(Suppression::Primary) => *s.primary.entry(c.indicator.clone()).or_default() += 1,
            Some(Suppression::Secondary) => {
                *s.secondary.entry(c.indicator.clone()).or_default() += 1
            }
            None => {}
        }
        if c.group == "alle" && c.placement == "alle" {
            let den = c.denominator.unwrap_or(0);
            if c.geo_code == 0 {
                *land.entry(c.indicator.clone()).or_default() += den;
            } else if c.geo_code < 1000 && c.suppression.is_none() {
                *visible.entry(c.indicator.clone()).or_default() += den;
            }
        }
    }
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
