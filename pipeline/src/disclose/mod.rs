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

/// The cells' counts as variables of linear systems, interned: a variable is a (count
/// kind, period) *system* and a place, numbered `system * places + place`. Systems and
/// places are numbered in sorted order, so comparing numbers compares (kind, period,
/// geo_code, group, placement), which is what makes choices deterministic.
struct Model {
    places: usize,
    /// The relations of [`relations`] over place numbers.
    rels: Vec<Vec<(usize, i64)>>,
    /// For each place, the relations it appears in.
    place_rels: Vec<Vec<usize>>,
    systems: usize,
    /// For each cell: its denominator's and numerator's variable.
    cell_vars: Vec<[Option<usize>; 2]>,
    /// For each variable: the cells that carry it (publish it when not suppressed).
    var_cells: Vec<Vec<usize>>,
    /// Variables known to be zero: a computed indicator has no cell at that place.
    zero: Vec<bool>,
}

impl Model {
    fn new(cells: &[Cell], codes: &Codes) -> Model {
        let (structure_places, structure_rels) = relations(codes);
        let mut place_set: BTreeSet<Place> = structure_places.iter().cloned().collect();
        let mut system_set: BTreeSet<(&'static str, &str)> = BTreeSet::new();
        for c in cells {
            if let Some((num, den)) = counts_of(&c.indicator) {
                place_set.insert(c.place());
                for kind in [Some(den), num].into_iter().flatten() {
                    system_set.insert((kind, c.period.as_str()));
                }
            }
        }
        let place_ids: BTreeMap<&Place, usize> =
            place_set.iter().enumerate().map(|(i, p)| (p, i)).collect();
        let system_ids: BTreeMap<(&str, &str), usize> = system_set
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, i))
            .collect();
        let places = place_set.len();
        let rels: Vec<Vec<(usize, i64)>> = structure_rels
            .iter()
            .map(|rel| rel.iter().map(|(p, c)| (place_ids[p], *c)).collect())
            .collect();
        let mut place_rels = vec![Vec::new(); places];
        for (r, rel) in rels.iter().enumerate() {
            for &(p, _) in rel {
                place_rels[p].push(r);
            }
        }
        let systems = system_set.len();
        let vars = systems * places;
        let mut var_cells = vec![Vec::new(); vars];
        let mut cell_vars = Vec::with_capacity(cells.len());
        // Which (indicator, period) has a cell at which place.
        let mut present: BTreeMap<(&str, &str), Vec<bool>> = BTreeMap::new();
        for (i, c) in cells.iter().enumerate() {
            let Some((num, den)) = counts_of(&c.indicator) else {
                cell_vars.push([None, None]);
                continue;
            };
            let place = place_ids[&c.place()];
            present
                .entry((c.indicator.as_str(), c.period.as_str()))
                .or_insert_with(|| vec![false; places])[place] = true;
            let var = |kind: Option<&'static str>| {
                kind.map(|k| system_ids[&(k, c.period.as_str())] * places + place)
            };
            let pair = [var(Some(den)), var(num)];
            for v in pair.into_iter().flatten() {
                var_cells[v].push(i);
            }
            cell_vars.push(pair);
        }
        // Absent cells: a computed indicator without a cell at a place has no population
        // there, so its counts are zero.
        let mut zero = vec![false; vars];
        for ((indicator, period), here) in &present {
            let Some((num, den)) = counts_of(indicator) else {
                continue;
            };
            for kind in [Some(den), num].into_iter().flatten() {
                let base = system_ids[&(kind, *period)] * places;
                for (p, _) in here.iter().enumerate().filter(|(_, h)| !**h) {
                    zero[base + p] = true;
                }
            }
        }
        Model {
            places,
            rels,
            place_rels,
            systems,
            cell_vars,
            var_cells,
            zero,
        }
    }
}

/// What the attacker knows: published counts, zeros, and what the relations fix.
struct Solved {
    /// Per variable: its published value, with how many cells publish it.
    published: Vec<Option<(i64, usize)>>,
    /// Per variable: withheld (carried by cells, none of which publishes it, not zero).
    unknown: Vec<bool>,
    /// Per variable: the value the attacker has (published, zero or fixed).
    value: Vec<Option<i64>>,
    /// The `unknown` pattern each system was last solved with.
    solved_with: Vec<Option<Vec<bool>>>,
}

impl Solved {
    fn new(model: &Model) -> Solved {
        let vars = model.systems * model.places;
        Solved {
            published: vec![None; vars],
            unknown: vec![false; vars],
            value: vec![None; vars],
            solved_with: vec![None; model.systems],
        }
    }

    /// Reads what the cells publish. Systems whose withheld counts did not change keep
    /// what was fixed in them.
    fn observe(&mut self, model: &Model, cells: &[Cell]) {
        self.published.iter_mut().for_each(|p| *p = None);
        for (c, vars) in cells.iter().zip(&model.cell_vars) {
            if c.suppression.is_some() {
                continue;
            }
            for (v, value) in vars.iter().zip([c.denominator, c.numerator]) {
                if let (Some(v), Some(value)) = (v, value) {
                    let n = self.published[*v].map_or(0, |(_, n)| n);
                    self.published[*v] = Some((value, n + 1));
                }
            }
        }
        for v in 0..self.unknown.len() {
            self.unknown[v] =
                self.published[v].is_none() && !model.zero[v] && !model.var_cells[v].is_empty();
        }
    }

    /// Solves every system whose withheld counts changed since it was last solved.
    fn solve(&mut self, model: &Model) {
        let n = model.places;
        for s in 0..model.systems {
            let range = s * n..(s + 1) * n;
            if self.solved_with[s].as_deref() == Some(&self.unknown[range.clone()]) {
                continue;
            }
            let known = |v: usize| match self.published[v] {
                Some((x, _)) => x,
                None => 0,
            };
            let mut index = vec![usize::MAX; n];
            let mut unknown = Vec::new();
            for (p, slot) in index.iter_mut().enumerate() {
                if self.unknown[s * n + p] {
                    *slot = unknown.len();
                    unknown.push(p);
                }
            }
            let mut equations = Vec::new();
            for rel in &model.rels {
                let terms: Vec<(usize, i64)> = rel
                    .iter()
                    .filter(|(p, _)| index[*p] != usize::MAX)
                    .map(|(p, c)| (index[*p], *c))
                    .collect();
                if terms.is_empty() {
                    continue;
                }
                let rhs = -rel
                    .iter()
                    .filter(|(p, _)| index[*p] == usize::MAX)
                    .map(|(p, c)| c * known(s * n + p))
                    .sum::<i64>();
                equations.push(linear::Equation { terms, rhs });
            }
            let fixed = linear::fixed(unknown.len(), &equations);
            for p in 0..n {
                let v = s * n + p;
                self.value[v] = if self.unknown[v] {
                    fixed[index[p]]
                } else {
                    Some(known(v))
                };
            }
            self.solved_with[s] = Some(self.unknown[range].to_vec());
        }
    }

    /// The relations of a variable's system, as variables.
    fn members<'a>(
        &self,
        model: &'a Model,
        var: usize,
        rel: usize,
    ) -> impl Iterator<Item = usize> + 'a {
        let base = var - var % model.places;
        model.rels[rel].iter().map(move |(p, _)| base + p)
    }

    /// The cheapest of some published counts: smallest value, then fewest cells, then
    /// order.
    fn cheapest(&self, vars: impl Iterator<Item = usize>) -> Option<usize> {
        vars.filter_map(|v| self.published[v].map(|(x, n)| (x, n, v)))
            .min()
            .map(|(_, _, v)| v)
    }
}

/// The attack: every withheld cell whose denominator is fixed below k, whose numerator
/// is fixed in 1..k-1, or whose numerator and denominator are both fixed with a
/// difference in 1..k-1. Works on the published view (counts of suppressed cells
/// unknown).
pub fn attack(published: &[Cell], k: i64, codes: &Codes) -> Vec<Exposure> {
    let model = Model::new(published, codes);
    let mut solved = Solved::new(&model);
    solved.observe(&model, published);
    solved.solve(&model);
    exposures(published, k, &model, &solved)
        .into_iter()
        .map(|(_, e)| e)
        .collect()
}

/// Exposed cells, with the index of each.
fn exposures(published: &[Cell], k: i64, model: &Model, solved: &Solved) -> Vec<(usize, Exposure)> {
    let mut out = Vec::new();
    for (i, c) in published.iter().enumerate() {
        if c.suppression.is_none() {
            continue;
        }
        let [den, num] = model.cell_vars[i];
        let Some(den) = den else { continue };
        let d = solved.value[den];
        let n = num.and_then(|v| solved.value[v]);
        let exposure = |count: &str, value: i64| Exposure {
            indicator: c.indicator.clone(),
            period: c.period.clone(),
            geo_code: c.geo_code,
            group: c.group.clone(),
            placement: c.placement.clone(),
            count: count.to_string(),
            value,
        };
        let found = if let Some(d) = d.filter(|d| (1..k).contains(d)) {
            exposure("denominator", d)
        } else if let Some(n) = n.filter(|n| (1..k).contains(n)) {
            exposure("numerator", n)
        } else if let (Some(n), Some(d)) = (n, d)
            && (1..k).contains(&(d - n))
        {
            exposure("complement", d - n)
        } else {
            continue;
        };
        out.push((i, found));
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
    let model = Model::new(cells, codes);
    let mut solved = Solved::new(&model);
    // Hides a published count: every cell publishing it becomes a secondary suppression.
    let hide = |cells: &mut [Cell], var: usize| {
        for &i in &model.var_cells[var] {
            if cells[i].suppression.is_none() {
                cells[i].suppression = Some(Suppression::Secondary);
            }
        }
    };
    let n = model.places;
    for round in 0..100_000 {
        solved.observe(&model, cells);
        tracing::debug!(
            round,
            withheld = cells.iter().filter(|c| c.suppression.is_some()).count(),
            "disclosure round"
        );
        // 1. The simple rule: a relation with exactly one withheld count gets a second
        //    one, the smallest published count of the relation.
        let mut hidden = vec![false; solved.unknown.len()];
        let mut any = false;
        for s in 0..model.systems {
            for rel in &model.rels {
                let members = || rel.iter().map(|(p, _)| s * n + p);
                if members().filter(|v| solved.unknown[*v]).count() == 1
                    && !members().any(|m| hidden[m])
                    && let Some(var) = solved.cheapest(members())
                {
                    hide(cells, var);
                    hidden[var] = true;
                    any = true;
                }
            }
        }
        if any {
            continue;
        }
        // 2. The proof: what the attack still fixes below k.
        solved.solve(&model);
        let found = exposures(cells, k, &model, &solved);
        if found.is_empty() {
            tracing::info!(rounds = round + 1, "disclosure control converged");
            return Ok(());
        }
        for (i, e) in &found {
            let [den, num] = model.cell_vars[*i];
            let targets: Vec<usize> = match e.count.as_str() {
                "denominator" => vec![den],
                "numerator" => vec![num],
                _ => vec![num, den],
            }
            .into_iter()
            .flatten()
            .collect();
            if targets.iter().any(|t| hidden[*t]) {
                continue;
            }
            // A count published by another indicator is hidden there.
            let choice = solved.cheapest(targets.iter().copied()).or_else(|| {
                // Otherwise the smallest published count that pins it: breadth-first
                // through the withheld counts it is related to.
                let mut seen: BTreeSet<usize> = targets.iter().copied().collect();
                let mut queue: std::collections::VecDeque<usize> =
                    targets.iter().copied().collect();
                let mut reached = Vec::new();
                while let Some(u) = queue.pop_front() {
                    for &rel in &model.place_rels[u % n] {
                        for other in solved.members(&model, u, rel) {
                            if seen.insert(other) {
                                if solved.unknown[other] {
                                    queue.push_back(other);
                                } else if !hidden[other] {
                                    reached.push(other);
                                }
                            }
                        }
                    }
                }
                solved.cheapest(reached.into_iter())
            });
            if let Some(var) = choice {
                hide(cells, var);
                hidden[var] = true;
                any = true;
            }
        }
        if !any {
            return Err(Error::Internal(format!(
                "disclosure control cannot protect {} exposed cells (first: {:?})",
                found.len(),
                found.first().map(|(_, e)| e)
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
