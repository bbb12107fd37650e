//! The attacker's system (methodology.md, "The attacker"): every count of every cell as a
//! variable, and every linear relation and inequality the attacker knows between them.
//!
//! A variable is a (count kind, period, place): the cells that publish the same kind at
//! the same place and period publish the same count ([`super::rules::counts_of`]).
//! What does not depend on which cells are withheld is built once ([`Model`]): which
//! variables exist, the rows, which cells carry which variable. What the attacker holds
//! under one pattern of withheld cells is a [`Knowledge`].
//!
//! The rows, each `lo ≤ Σ a·x ≤ hi`:
//! - the hierarchies, per kind and period: Danmark = Σ regions, region = Σ its kommuner;
//!   alle = udsat + oevrige, udsat = anbragt + forebyggende, anbragt = Σ placement groups
//!   = Σ placement types, each group = Σ its types (the code list is public);
//! - a three-year window = Σ its three years, per kind and place;
//! - the nesting, per period and place (min2 ≤ participants ≤ graded ≤ cohort, ...);
//! - a grade sum lies between −3 and 12 times its denominator.
//!
//! Bounds: every count ≥ 0; a variable no cell carries, in a kind and period that has
//! cells, is an absent cell: 0; the population that decides a cell's existence is ≥ 1
//! where the cell exists.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::Cell;
use super::rules::{Kind, counts_of, nested};
use crate::codes::Codes;
use crate::error::{Error, Result};

/// A cell's place: geo_code (0 Danmark, 1081..1085 regions, kommune codes), group,
/// placement.
pub type Place = (i32, String, String);

/// A kind in one period: (kind, years (1 or 3), the period's last year).
pub type SystemKey = (Kind, u8, i32);

/// The places of the breakdowns and the additive relations between them, from the code
/// lists: each relation a list of (place, coefficient) summing to zero.
pub fn relations(codes: &Codes) -> (Vec<Place>, Vec<Vec<(Place, i8)>>) {
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

/// Compressed rows: the items of row `i` are `items[start[i]..start[i + 1]]`.
#[derive(Debug, Clone, Default)]
pub struct Lists<T> {
    pub start: Vec<usize>,
    pub items: Vec<T>,
}

impl<T: Clone> Lists<T> {
    fn from_pairs(n: usize, pairs: impl Iterator<Item = (usize, T)> + Clone) -> Lists<T> {
        let mut count = vec![0usize; n + 1];
        for (i, _) in pairs.clone() {
            count[i + 1] += 1;
        }
        for i in 0..n {
            count[i + 1] += count[i];
        }
        let mut fill = count.clone();
        let mut items: Vec<Option<T>> = vec![None; count[n]];
        for (i, t) in pairs {
            items[fill[i]] = Some(t);
            fill[i] += 1;
        }
        Lists {
            start: count,
            items: items.into_iter().flatten().collect(),
        }
    }

    pub fn get(&self, i: usize) -> &[T] {
        &self.items[self.start[i]..self.start[i + 1]]
    }

    pub fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The attacker's rows as they are found: `lo ≤ Σ a·x ≤ hi`.
struct RowsBuilder {
    terms: Vec<(u32, f64)>,
    start: Vec<usize>,
    lo: Vec<f64>,
    hi: Vec<f64>,
}

impl RowsBuilder {
    fn new() -> RowsBuilder {
        RowsBuilder {
            terms: Vec::new(),
            start: vec![0],
            lo: Vec::new(),
            hi: Vec::new(),
        }
    }

    /// Adds a row unless none of its variables is carried (it then holds between
    /// zeros).
    fn push(&mut self, row: &[(u32, f64)], lo: f64, hi: f64, carried: &[bool]) {
        if row.iter().any(|(v, _)| carried[*v as usize]) {
            self.terms.extend_from_slice(row);
            self.start.push(self.terms.len());
            self.lo.push(lo);
            self.hi.push(hi);
        }
    }
}

/// The systems (count kind, years, last year) the cells' counts are in, sorted.
fn systems_of(cells: &[Cell]) -> Result<Vec<SystemKey>> {
    let mut system_set: BTreeSet<SystemKey> = BTreeSet::new();
    for c in cells {
        let counts = counts_of(&c.indicator).ok_or_else(|| {
            Error::Internal(format!(
                "disclosure control: unknown indicator {}",
                c.indicator
            ))
        })?;
        for kind in [
            counts.numerator,
            Some(counts.denominator),
            counts.grade_sum,
            Some(counts.presence),
        ]
        .into_iter()
        .flatten()
        {
            system_set.insert((kind, c.years, c.year));
        }
    }
    Ok(system_set.into_iter().collect())
}

/// The variables of one cell: numerator, denominator, grade sum, and the population that
/// decides its existence.
#[derive(Debug, Clone, Copy, Default)]
pub struct CellVars {
    pub numerator: Option<u32>,
    pub denominator: Option<u32>,
    pub grade_sum: Option<u32>,
    pub presence: Option<u32>,
}

impl CellVars {
    /// The variables the cell publishes when it is not withheld.
    pub fn published(&self) -> impl Iterator<Item = u32> {
        [self.numerator, self.denominator, self.grade_sum]
            .into_iter()
            .flatten()
    }
}

/// What does not depend on which cells are withheld.
#[derive(Debug)]
pub struct Model {
    pub places: Vec<Place>,
    pub systems: Vec<SystemKey>,
    /// Per variable: some cell carries it. A variable of an existing system that no cell
    /// carries is an absent cell's count: 0.
    pub carried: Vec<bool>,
    /// Per variable: its lower bound (0, or 1 for a population whose cell exists; the
    /// grade sum: −∞, bounded by its rows).
    pub lower: Vec<f64>,
    /// Rows `lo ≤ Σ a·x ≤ hi` with at least one carried variable.
    pub rows: Lists<(u32, f64)>,
    pub row_lo: Vec<f64>,
    pub row_hi: Vec<f64>,
    /// Per variable: the rows it is in.
    pub var_rows: Lists<u32>,
    pub cell_vars: Vec<CellVars>,
    /// Per variable: the cells that publish it when not withheld.
    pub var_cells: Lists<u32>,
}

impl Model {
    pub fn vars(&self) -> usize {
        self.carried.len()
    }

    pub fn var(&self, system: usize, place: usize) -> u32 {
        (system * self.places.len() + place) as u32
    }

    pub fn system_of(&self, var: u32) -> SystemKey {
        self.systems[var as usize / self.places.len()]
    }

    pub fn place_of(&self, var: u32) -> &Place {
        &self.places[var as usize % self.places.len()]
    }

    /// The variable of `kind` at the same period and place as `var`, if that system
    /// exists.
    fn sibling(&self, index: &HashMap<SystemKey, usize>, var: u32, kind: Kind) -> Option<u32> {
        let (_, years, year) = self.system_of(var);
        let s = *index.get(&(kind, years, year))?;
        Some(self.var(s, var as usize % self.places.len()))
    }

    /// Builds the model of `cells` (their counts may be hidden: only keys and
    /// indicators matter here).
    pub fn new(cells: &[Cell], codes: &Codes) -> Result<Model> {
        let (places, structure_rels) = relations(codes);
        let place_ids: HashMap<&Place, usize> =
            places.iter().enumerate().map(|(i, p)| (p, i)).collect();
        let systems = systems_of(cells)?;
        let index: HashMap<SystemKey, usize> =
            systems.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        let vars = systems.len() * places.len();
        let mut model = Model {
            places: places.clone(),
            systems,
            carried: vec![false; vars],
            lower: vec![0.0; vars],
            rows: Lists::default(),
            row_lo: Vec::new(),
            row_hi: Vec::new(),
            var_rows: Lists::default(),
            cell_vars: Vec::with_capacity(cells.len()),
            var_cells: Lists::default(),
        };
        model.attach(cells, &place_ids, &index)?;
        // Rows: only those with a carried variable (the others hold between zeros).
        let rels: Vec<Vec<(usize, f64)>> = structure_rels
            .iter()
            .map(|rel| {
                rel.iter()
                    .map(|(p, c)| (place_ids[p], f64::from(*c)))
                    .collect()
            })
            .collect();
        let mut rows = RowsBuilder::new();
        model.hierarchy_rows(&rels, &mut rows);
        model.window_rows(&index, &mut rows)?;
        model.nesting_rows(&index, &mut rows);
        model.set_rows(rows);
        Ok(model)
    }

    /// Gives each cell its variables and marks what is carried (published by some
    /// cell) and each variable's lower bound.
    fn attach(
        &mut self,
        cells: &[Cell],
        place_ids: &HashMap<&Place, usize>,
        index: &HashMap<SystemKey, usize>,
    ) -> Result<()> {
        let mut var_cell_pairs = Vec::new();
        for (i, c) in cells.iter().enumerate() {
            let counts = counts_of(&c.indicator)
                .ok_or_else(|| Error::Internal(format!("unknown indicator {}", c.indicator)))?;
            let place = *place_ids.get(&c.place()).ok_or_else(|| {
                Error::InputRejected(format!(
                    "{} {}: no such place in the breakdowns: {:?}",
                    c.indicator,
                    c.period,
                    c.place()
                ))
            })?;
            let var = |kind: Kind| self.var(index[&(kind, c.years, c.year)], place);
            let vars = CellVars {
                numerator: counts.numerator.map(var),
                denominator: Some(var(counts.denominator)),
                grade_sum: counts.grade_sum.map(var),
                presence: Some(var(counts.presence)),
            };
            for v in vars.published() {
                var_cell_pairs.push((v as usize, i as u32));
            }
            self.cell_vars.push(vars);
        }
        for (v, _) in &var_cell_pairs {
            self.carried[*v] = true;
        }
        for vars in &self.cell_vars {
            if let Some(p) = vars.presence {
                self.lower[p as usize] = 1.0;
                // A population exists only where some cell carries it; an existing cell
                // whose population no cell publishes would be a broken table.
                self.carried[p as usize] = true;
            }
        }
        let n_places = self.places.len();
        for (s, (kind, _, _)) in self.systems.iter().enumerate() {
            if !kind.is_count() {
                for p in 0..n_places {
                    self.lower[s * n_places + p] = f64::NEG_INFINITY;
                }
            }
        }
        self.var_cells = Lists::from_pairs(self.vars(), var_cell_pairs.into_iter());
        Ok(())
    }

    /// The breakdowns' equations (a total = the sum of its parts) in every system.
    fn hierarchy_rows(&self, rels: &[Vec<(usize, f64)>], rows: &mut RowsBuilder) {
        let mut row = Vec::new();
        for s in 0..self.systems.len() {
            for rel in rels {
                row.clear();
                row.extend(rel.iter().map(|(p, c)| (self.var(s, *p), *c)));
                rows.push(&row, 0.0, 0.0, &self.carried);
            }
        }
    }

    /// Three-year windows: window = Σ its three years.
    fn window_rows(&self, index: &HashMap<SystemKey, usize>, rows: &mut RowsBuilder) -> Result<()> {
        let mut row = Vec::new();
        for (s, (kind, years, year)) in self.systems.iter().enumerate() {
            if *years != 3 {
                continue;
            }
            let parts: Option<Vec<usize>> = (0..3)
                .map(|d| index.get(&(*kind, 1, year - d)).copied())
                .collect();
            let Some(parts) = parts else {
                return Err(Error::Internal(format!(
                    "disclosure control: the window ending {year} of {} has no yearly cells",
                    kind.name()
                )));
            };
            for p in 0..self.places.len() {
                row.clear();
                row.push((self.var(s, p), 1.0));
                row.extend(parts.iter().map(|y| (self.var(*y, p), -1.0)));
                rows.push(&row, 0.0, 0.0, &self.carried);
            }
        }
        Ok(())
    }

    /// Nesting: smaller − larger ≤ 0; a grade sum between its bounds (the registry's
    /// min and max) times the persons it sums.
    fn nesting_rows(&self, index: &HashMap<SystemKey, usize>, rows: &mut RowsBuilder) {
        for (s, (kind, _, _)) in self.systems.iter().enumerate() {
            for p in 0..self.places.len() {
                let v = self.var(s, p);
                for &(big, small) in nested() {
                    if small != *kind {
                        continue;
                    }
                    if let Some(b) = self.sibling(index, v, big) {
                        rows.push(
                            &[(v, 1.0), (b, -1.0)],
                            f64::NEG_INFINITY,
                            0.0,
                            &self.carried,
                        );
                    }
                }
                if let Some((of, min, max)) = kind.grade_sum_of()
                    && let Some(g) = self.sibling(index, v, of)
                {
                    rows.push(
                        &[(v, 1.0), (g, -max)],
                        f64::NEG_INFINITY,
                        0.0,
                        &self.carried,
                    );
                    rows.push(&[(v, 1.0), (g, -min)], 0.0, f64::INFINITY, &self.carried);
                }
            }
        }
    }

    fn set_rows(&mut self, built: RowsBuilder) {
        let n_rows = built.lo.len();
        self.rows = Lists {
            start: built.start,
            items: built.terms,
        };
        self.row_lo = built.lo;
        self.row_hi = built.hi;
        let rows = &self.rows;
        self.var_rows = Lists::from_pairs(
            self.vars(),
            (0..n_rows).flat_map(|r| {
                rows.get(r)
                    .iter()
                    .map(move |(v, _)| (*v as usize, r as u32))
            }),
        );
    }

    /// The values the attacker holds when the cells marked in `withheld` are withheld:
    /// each variable's published value, or 0 for an absent cell; `None` for a withheld
    /// count. Two cells publishing one count with different values are an error.
    pub fn knowledge(&self, cells: &[Cell], withheld: &[bool]) -> Result<Knowledge> {
        let mut value: Vec<Option<f64>> = self
            .carried
            .iter()
            .map(|c| if *c { None } else { Some(0.0) })
            .collect();
        for (i, c) in cells.iter().enumerate() {
            if withheld[i] {
                continue;
            }
            let vars = &self.cell_vars[i];
            let pairs = [
                (vars.numerator, c.numerator.map(|x| x as f64)),
                (vars.denominator, c.denominator.map(|x| x as f64)),
                (vars.grade_sum, c.grade_sum),
            ];
            for (var, x) in pairs {
                let (Some(var), Some(x)) = (var, x) else {
                    continue;
                };
                match value[var as usize] {
                    Some(y) if (y - x).abs() > 1e-6 * (1.0 + x.abs()) => {
                        return Err(Error::InputRejected(format!(
                            "published cells disagree on one count: {} {} {:?} publishes {x}, another cell {y}",
                            c.indicator,
                            c.period,
                            c.place()
                        )));
                    }
                    _ => value[var as usize] = Some(x),
                }
            }
        }
        Ok(Knowledge { value })
    }

    /// The true value of every variable, from cells with all their counts.
    pub fn truth(&self, cells: &[Cell]) -> Result<Vec<Option<f64>>> {
        let none = vec![false; cells.len()];
        Ok(self.knowledge(cells, &none)?.value)
    }

    /// Readable name of a variable, for messages: `kind period place`.
    pub fn describe(&self, var: u32) -> String {
        let (kind, years, year) = self.system_of(var);
        let (geo, group, placement) = self.place_of(var);
        format!(
            "{} {}{} geo {geo} {group}/{placement}",
            kind.name(),
            year,
            if years == 3 { " (3 years)" } else { "" }
        )
    }

    /// Systems by key, for tests and reports.
    pub fn system_index(&self) -> BTreeMap<SystemKey, usize> {
        self.systems
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, i))
            .collect()
    }
}

/// What the attacker holds under one pattern of withheld cells.
#[derive(Debug, Clone)]
pub struct Knowledge {
    /// Per variable: the known value (published, or 0 when absent), or `None`.
    pub value: Vec<Option<f64>>,
}

impl Knowledge {
    pub fn unknown(&self, var: u32) -> bool {
        self.value[var as usize].is_none()
    }
}
