//! Certificates of width: explicit feasible moves of the attacker's system.
//!
//! Every count is a sum of counts at the finest level (kommune × anbragt placement type,
//! forebyggende, oevrige; one school year or age year). A change of finest counts
//! changes every count above them by the same amount, so it keeps every hierarchy and
//! every three-year window equation by construction. A *move* changes a few finest
//! cells by ±t: one cell alone (every count above it moves), two cells in opposite
//! directions (a *diagonal*: only the counts above one and not the other move), or the
//! four corners of a rectangle (two kommuner × two finest places: the counts of the two
//! kommuner's differing placements move, nothing above them), each optionally against
//! the same cells in another year of the same three-year window (the window stays). It
//! moves a set of count kinds together (its profile). A move is allowed when every
//! count it changes is withheld (unknown to the attacker) and, at each finest cell it
//! touches, the counts stay within their bounds and nesting (the kinds outside the
//! profile kept as they are); then nesting, bounds and existence hold everywhere,
//! because every count above is a sum of finest counts.
//!
//! So the true counts plus t times a move is a real solution of the attacker's system
//! for every t in [−down, up]: a target's range is at least as wide as what the moves
//! that raise it and those that lower it add up to (moves that touch no common finest
//! cell add). That is a certificate the linear programme can only confirm (its range can
//! be wider, never narrower). Protection ([`super::protect`]) uses the same moves the
//! other way: for a target without a certificate k wide, the cheapest move that would
//! certify it tells which published counts to withhold (the hypercube method of
//! τ-Argus, on the product of the trees and the linked tables).

use std::collections::HashMap;

use super::rules::Kind;
use super::system::Model;
use super::targets::Form;
use crate::codes::Codes;
use crate::registry::MAX_POPULATION_COUNTS as W;

/// The geography and placement trees over the model's places.
#[derive(Debug)]
pub struct Trees {
    n_combo: usize,
    /// [geo × n_combo + combo] → place index.
    place: Vec<u32>,
    geo_of: Vec<u16>,
    combo_of: Vec<u8>,
    /// Per geo: itself and its ancestors up to Danmark.
    geo_up: Vec<Vec<u16>>,
    /// Per combo: itself and its ancestors up to `alle`.
    combo_up: Vec<Vec<u8>>,
    /// Per geo: the kommuner under it.
    kommuner_under: Vec<Vec<u16>>,
    /// Per combo: the finest places under it.
    leaves_under: Vec<Vec<u8>>,
    region_of: Vec<u16>,
}

impl Trees {
    pub fn new(model: &Model, codes: &Codes) -> Trees {
        let mut geos: Vec<i32> = model.places.iter().map(|p| p.0).collect();
        geos.dedup();
        let mut combos: Vec<(String, String)> = Vec::new();
        for p in &model.places {
            let c = (p.1.clone(), p.2.clone());
            if !combos.contains(&c) {
                combos.push(c);
            }
        }
        let geo_index: HashMap<i32, u16> = geos
            .iter()
            .enumerate()
            .map(|(i, g)| (*g, i as u16))
            .collect();
        let combo_index: HashMap<(String, String), u8> = combos
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i as u8))
            .collect();
        let n_combo = combos.len();
        let mut place = vec![u32::MAX; geos.len() * n_combo];
        let mut geo_of = Vec::with_capacity(model.places.len());
        let mut combo_of = Vec::with_capacity(model.places.len());
        for (i, p) in model.places.iter().enumerate() {
            let g = geo_index[&p.0];
            let c = combo_index[&(p.1.clone(), p.2.clone())];
            place[g as usize * n_combo + c as usize] = i as u32;
            geo_of.push(g);
            combo_of.push(c);
        }
        let (geo_up, kommuner_under, region_of) = geo_tree(&geos, &geo_index, codes);
        let (combo_up, leaves_under) = combo_tree(&combos, &combo_index, codes);
        Trees {
            n_combo,
            place,
            geo_of,
            combo_of,
            geo_up,
            combo_up,
            kommuner_under,
            leaves_under,
            region_of,
        }
    }

    fn place(&self, geo: u16, combo: u8) -> u32 {
        self.place[geo as usize * self.n_combo + combo as usize]
    }
}

/// Geography: Danmark (0) → regions → kommuner. Per geo: itself and its ancestors,
/// the kommuner under it, and (for a kommune) its region.
#[allow(clippy::type_complexity)]
fn geo_tree(
    geos: &[i32],
    geo_index: &HashMap<i32, u16>,
    codes: &Codes,
) -> (Vec<Vec<u16>>, Vec<Vec<u16>>, Vec<u16>) {
    let mut geo_parent: Vec<Option<u16>> = vec![None; geos.len()];
    for m in &codes.municipalities {
        if let (Some(k), Some(r)) = (
            geo_index.get(&(m.code as i32)),
            geo_index.get(&(m.region_code as i32)),
        ) {
            geo_parent[*k as usize] = Some(*r);
            geo_parent[*r as usize] = geo_index.get(&0).copied();
        }
    }
    let up = |parent: &[Option<u16>], mut x: u16| {
        let mut out = vec![x];
        while let Some(p) = parent[x as usize] {
            out.push(p);
            x = p;
        }
        out
    };
    let geo_up: Vec<Vec<u16>> = (0..geos.len() as u16).map(|g| up(&geo_parent, g)).collect();
    let is_kommune: Vec<bool> = geos.iter().map(|g| *g > 0 && *g < 1000).collect();
    let mut kommuner_under = vec![Vec::new(); geos.len()];
    let mut region_of = vec![u16::MAX; geos.len()];
    for (g, chain) in geo_up.iter().enumerate() {
        if is_kommune[g] {
            for a in chain {
                kommuner_under[*a as usize].push(g as u16);
            }
            if chain.len() > 1 {
                region_of[g] = chain[1];
            }
        }
    }
    (geo_up, kommuner_under, region_of)
}

/// Placements: alle → udsat, oevrige; udsat → anbragt, forebyggende; anbragt →
/// placement groups; each group → its types. Per combo: itself and its ancestors, and
/// the finest places under it.
fn combo_tree(
    combos: &[(String, String)],
    combo_index: &HashMap<(String, String), u8>,
    codes: &Codes,
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let n_combo = combos.len();
    let mut combo_parent: Vec<Option<u8>> = vec![None; n_combo];
    let find = |g: &str, p: &str| combo_index.get(&(g.to_string(), p.to_string())).copied();
    for (i, (group, placement)) in combos.iter().enumerate() {
        combo_parent[i] = match (group.as_str(), placement.as_str()) {
            ("alle", "alle") => None,
            ("udsat", "alle") | ("oevrige", "alle") => find("alle", "alle"),
            ("anbragt", "alle") | ("forebyggende", "alle") => find("udsat", "alle"),
            ("anbragt", p) => {
                let group_of = codes
                    .placements
                    .iter()
                    .find(|c| c.placement_type == p || c.placement_group == p);
                match group_of {
                    Some(c) if c.placement_group != p => find("anbragt", &c.placement_group),
                    _ => find("anbragt", "alle"),
                }
            }
            _ => None,
        };
    }
    let combo_up: Vec<Vec<u8>> = (0..n_combo)
        .map(|c| {
            let mut out = vec![c as u8];
            let mut x = c;
            while let Some(p) = combo_parent[x] {
                out.push(p);
                x = p as usize;
            }
            out
        })
        .collect();
    let has_child: Vec<bool> = (0..n_combo)
        .map(|c| combo_parent.contains(&Some(c as u8)))
        .collect();
    let mut leaves_under = vec![Vec::new(); n_combo];
    for (c, chain) in combo_up.iter().enumerate() {
        if !has_child[c] {
            for a in chain {
                leaves_under[*a as usize].push(c as u8);
            }
        }
    }
    (combo_up, leaves_under)
}

/// A target's certified range around the true counts: it can rise by `up` and fall by
/// `down`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Width {
    pub up: f64,
    pub down: f64,
}

impl Width {
    pub fn total(&self) -> f64 {
        self.up + self.down
    }
}

/// How a move touches a finest cell: which cell, the change per unit of the move for
/// each kind of the population, and the cell's true values and lower bounds (so that
/// moves can be added up at a shared cell, each within what the cell still allows).
#[derive(Debug, Clone)]
pub struct Touch {
    year: i32,
    place: u32,
    /// The population's nesting pairs (positions in its kinds).
    pairs: &'static [(usize, usize)],
    change: [f64; W],
    value: [f64; W],
    lower: [f64; W],
    present: u8,
}

/// The changes made so far at the finest cells a certificate's moves touch.
#[derive(Debug, Clone, Default)]
struct Cells {
    cells: Vec<((i32, u32), [f64; W])>,
}

impl Cells {
    fn delta(&self, key: (i32, u32)) -> [f64; W] {
        self.cells
            .iter()
            .find(|c| c.0 == key)
            .map_or([0.0; W], |c| c.1)
    }

    /// How much of a move (up to `t` units) the cells still allow.
    fn room(&self, touches: &[Touch], t: f64) -> f64 {
        let mut room = t;
        for touch in touches {
            let d = self.delta((touch.year, touch.place));
            let at = |i: usize| touch.value[i] + d[i];
            for i in 0..W {
                if touch.present & (1 << i) != 0 && touch.change[i] < 0.0 {
                    room = room.min((at(i) - touch.lower[i]) / -touch.change[i]);
                }
            }
            for &(b, s) in touch.pairs {
                if touch.present & (1 << b) == 0 || touch.present & (1 << s) == 0 {
                    continue;
                }
                let rise = touch.change[s] - touch.change[b];
                if rise > 0.0 {
                    room = room.min((at(b) - at(s)) / rise);
                }
            }
        }
        room.max(0.0)
    }

    fn apply(&mut self, touches: &[Touch], t: f64) {
        for touch in touches {
            let key = (touch.year, touch.place);
            let at = match self.cells.iter().position(|c| c.0 == key) {
                Some(i) => i,
                None => {
                    self.cells.push((key, [0.0; W]));
                    self.cells.len() - 1
                }
            };
            for i in 0..W {
                self.cells[at].1[i] += t * touch.change[i];
            }
        }
    }
}

/// A certificate built from several moves: the up-moves taken together are one real
/// solution (each finest cell keeps its bounds and nesting under the sum of their
/// changes, and every count above is a sum), and so are the down-moves; a move is
/// taken as far as the cells it shares with earlier ones still allow.
#[derive(Debug, Clone, Default)]
pub struct Certificate {
    pub up: f64,
    pub down: f64,
    up_cells: Cells,
    down_cells: Cells,
}

impl Certificate {
    pub fn total(&self) -> f64 {
        self.up + self.down
    }

    pub fn width(&self) -> Width {
        Width {
            up: self.up,
            down: self.down,
        }
    }

    /// The totals (up, down) if a move were added.
    pub fn with(&self, width: Width, up: &[Touch], down: &[Touch]) -> (f64, f64) {
        (
            self.up + self.up_cells.room(up, width.up),
            self.down + self.down_cells.room(down, width.down),
        )
    }

    /// Adds a move, as far as the cells allow.
    pub fn add(&mut self, width: Width, up: &[Touch], down: &[Touch]) {
        if width.up > 0.0 {
            let t = self.up_cells.room(up, width.up);
            self.up_cells.apply(up, t);
            self.up += t;
        }
        if width.down > 0.0 {
            let t = self.down_cells.room(down, width.down);
            self.down_cells.apply(down, t);
            self.down += t;
        }
    }
}

/// Where the moves found go: into a list of allowed moves, or into a list of every move
/// with the published counts it changes.
enum Sink<'s> {
    Allowed(&'s mut Vec<Evaluated>),
    Options(&'s mut Vec<Evaluated>),
}

impl Sink<'_> {
    /// Records a move found; `published` lists the published counts it changes.
    fn push(&mut self, width: Width, touches: Vec<Touch>, published: impl FnOnce() -> Vec<u32>) {
        match self {
            Sink::Allowed(out) => out.push(Evaluated {
                published: Vec::new(),
                width,
                touches,
            }),
            Sink::Options(out) => out.push(Evaluated {
                published: published(),
                width,
                touches,
            }),
        }
    }
}

/// What each kind of a target's population can take part in, for one move.
#[derive(Default)]
struct KindUses {
    /// No count of the kind that the move changes is absent.
    usable: [bool; W],
    /// No count of the kind that the move changes is published.
    movable: [bool; W],
    /// The kind's coefficient on the target.
    coef: [f64; W],
    /// The published counts of the kind that the move changes.
    costs: [Vec<u32>; W],
}

impl KindUses {
    /// The published counts a move with `profile` changes, sorted, once each.
    fn published(&self, profile: u8) -> Vec<u32> {
        let mut list: Vec<u32> = (0..W)
            .filter(|i| profile & (1 << i) != 0)
            .flat_map(|i| self.costs[i].iter().copied())
            .collect();
        list.sort_unstable();
        list.dedup();
        list
    }
}

/// The kinds nested above and below kind `req` (through kinds `ok` allows), as masks.
fn nested_around(pairs: &[(usize, usize)], req: usize, ok: &dyn Fn(usize) -> bool) -> [u8; 2] {
    let mut masks = [0u8; 2];
    for (mask, up) in masks.iter_mut().zip([true, false]) {
        let mut frontier: u8 = 1 << req;
        while frontier != 0 {
            let mut next = 0u8;
            for &(bi, si) in pairs {
                let (from, to) = if up { (si, bi) } else { (bi, si) };
                if frontier & (1 << from) != 0 && ok(to) {
                    next |= 1 << to;
                }
            }
            next &= !*mask;
            *mask |= next;
            frontier = next;
        }
    }
    masks
}

/// The finest cells a move touches: (year, place, sign), and per cell and kind of the
/// population its (true value, lower bound).
struct Leaves {
    kinds: usize,
    cells: Small<(i32, u32, f64), 8>,
    values: [[Option<(f64, f64)>; W]; 8],
}

impl Leaves {
    /// How far a move of the kinds in `profile` can go in direction `dir` before a
    /// count falls below its bound or a nesting pair is broken.
    fn capacity(&self, pairs: &[(usize, usize)], profile: u8, dir: f64) -> f64 {
        let mut cap = f64::INFINITY;
        for (li, &(_, _, sigma)) in self.cells.as_slice().iter().enumerate() {
            let sign = dir * sigma;
            let vals = &self.values[li];
            let mut here = f64::INFINITY;
            if sign < 0.0 {
                for (i, v) in vals.iter().enumerate().take(self.kinds) {
                    if profile & (1 << i) != 0
                        && let Some((x, lower)) = v
                    {
                        here = here.min(x - lower);
                    }
                }
            }
            for &(bi, si) in pairs {
                let (in_big, in_small) = (profile & (1 << bi) != 0, profile & (1 << si) != 0);
                if in_big == in_small {
                    continue;
                }
                // small − big rises when small rises alone or big falls alone.
                let rises = if in_small { sign > 0.0 } else { sign < 0.0 };
                if rises && let (Some((b, _)), Some((s, _))) = (vals[bi], vals[si]) {
                    here = here.min(b - s);
                }
            }
            cap = cap.min(here);
        }
        cap.max(0.0)
    }

    /// The widest profile in direction `dir` that contains `req`: the best of the kind
    /// alone, with the kinds nested above it, below it, or both; then kinds `ok`
    /// allows added greedily while one widens it. Returns (profile, capacity).
    fn best_profile(
        &self,
        pairs: &[(usize, usize)],
        req: usize,
        [above, below]: [u8; 2],
        dir: f64,
        ok: &dyn Fn(usize) -> bool,
    ) -> (u8, f64) {
        let base: u8 = 1 << req;
        let (mut profile, mut cap) = [base, base | above, base | below, base | above | below]
            .into_iter()
            .map(|p| (p, self.capacity(pairs, p, dir)))
            .fold((base, f64::NEG_INFINITY), |best, x| {
                if x.1 > best.1 + EPSILON { x } else { best }
            });
        loop {
            let mut improved: Option<(usize, f64)> = None;
            for i in 0..self.kinds {
                if !ok(i) || profile & (1 << i) != 0 {
                    continue;
                }
                let c = self.capacity(pairs, profile | (1 << i), dir);
                if c > cap + EPSILON && improved.is_none_or(|(_, b)| c > b) {
                    improved = Some((i, c));
                }
            }
            match improved {
                Some((i, c)) => {
                    profile |= 1 << i;
                    cap = c;
                }
                None => return (profile, cap),
            }
        }
    }

    /// How a move of `profile` in direction `dir` touches each cell, per unit.
    fn touches(&self, pairs: &'static [(usize, usize)], profile: u8, dir: f64) -> Vec<Touch> {
        self.cells
            .as_slice()
            .iter()
            .enumerate()
            .map(|(li, &(y, place, sigma))| {
                let mut t = Touch {
                    year: y,
                    place,
                    pairs,
                    change: [0.0; W],
                    value: [0.0; W],
                    lower: [0.0; W],
                    present: 0,
                };
                for (i, value) in self.values[li].iter().enumerate().take(self.kinds) {
                    if profile & (1 << i) != 0 {
                        t.change[i] = dir * sigma;
                    }
                    if let Some((x, lower)) = *value {
                        t.value[i] = x;
                        t.lower[i] = lower;
                        t.present |= 1 << i;
                    }
                }
                t
            })
            .collect()
    }
}

/// One move: the finest cells it changes, (year, kommune, finest place, sign).
#[derive(Debug, Clone)]
struct Move {
    cells: Small<(i32, u16, u8, f64), 8>,
}

/// A move, evaluated: what it costs to allow (the published counts it changes), and how
/// far it moves the target up and down.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// Published counts the move changes (to be withheld for it to be allowed).
    pub published: Vec<u32>,
    pub width: Width,
    /// How it touches the finest cells, per unit of width (the target's direction).
    pub touches: Vec<Touch>,
}

impl Evaluated {
    /// (up touches, down touches): a move widens one way only.
    pub fn sides(&self) -> (&[Touch], &[Touch]) {
        if self.width.up > 0.0 {
            (&self.touches, &[])
        } else {
            (&[], &self.touches)
        }
    }
}

/// The moves of one model under the true counts.
pub struct Moves<'a> {
    model: &'a Model,
    trees: Trees,
    truth: &'a [Option<f64>],
    /// [kind][year − first year] → yearly system; [kind][year − first year] → window
    /// system ending that year.
    yearly: Vec<Vec<Option<usize>>>,
    windows: Vec<Vec<Option<usize>>>,
    first_year: i32,
}

/// A small list without allocation; `full` when a push did not fit (the caller must
/// then not trust it).
#[derive(Debug, Clone)]
struct Small<T: Copy, const N: usize> {
    items: [T; N],
    len: usize,
    full: bool,
}

impl<T: Copy + Default, const N: usize> Small<T, N> {
    fn new() -> Self {
        Small {
            items: [T::default(); N],
            len: 0,
            full: false,
        }
    }
    fn push(&mut self, x: T) {
        if self.len < N {
            self.items[self.len] = x;
            self.len += 1;
        } else {
            self.full = true;
        }
    }
    fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }
}

impl<T: Copy + Default + PartialEq, const N: usize> Small<T, N> {
    /// Pushes `x` unless it is there already.
    fn push_new(&mut self, x: T) {
        if !self.as_slice().contains(&x) {
            self.push(x);
        }
    }
    /// The position of `x` (0 when absent).
    fn slot(&self, x: T) -> usize {
        self.as_slice().iter().position(|a| *a == x).unwrap_or(0)
    }
}

/// What a move from a finest cell is made against: partner kommuner, partner finest
/// places, and each partner kommune's richest cell of the same group.
struct Partners<'a> {
    geo: &'a Small<u16, 10>,
    leaf: &'a Small<u8, 8>,
    richest: &'a Small<(u16, u8), 10>,
}

/// Calls `f` with each move pattern from the finest cell (`l`, `c`) in year `y` (and,
/// when `time` is some other year of its window, against the same cells there): the
/// cell alone (everything above it moves: wide when allowed), diagonals with another
/// kommune (at `c`, then at its richest cell of the group), another finest place, or
/// both, and rectangles of two kommuner × two finest places. Returns true when `f`
/// said stop.
fn each_pattern(
    (y, time): (i32, Option<i32>),
    (l, c): (u16, u8),
    partners: &Partners,
    f: &mut dyn FnMut(&Move) -> bool,
) -> bool {
    let mut emit = |cells: &[(u16, u8, f64)]| {
        let mut m = Move {
            cells: Small::new(),
        };
        for &(l, c, s) in cells {
            m.cells.push((y, l, c, s));
        }
        if let Some(y2) = time {
            for &(l, c, s) in cells {
                m.cells.push((y2, l, c, -s));
            }
        }
        f(&m)
    };
    let (geo, leaf) = (partners.geo.as_slice(), partners.leaf.as_slice());
    emit(&[(l, c, 1.0)])
        || geo.iter().any(|&l2| emit(&[(l, c, 1.0), (l2, c, -1.0)]))
        || partners
            .richest
            .as_slice()
            .iter()
            .any(|&(l2, c2)| emit(&[(l, c, 1.0), (l2, c2, -1.0)]))
        || leaf.iter().any(|&c2| emit(&[(l, c, 1.0), (l, c2, -1.0)]))
        || geo.iter().any(|&l2| {
            leaf.iter()
                .any(|&c2| emit(&[(l, c, 1.0), (l, c2, -1.0), (l2, c, -1.0), (l2, c2, 1.0)]))
        })
        || leaf
            .iter()
            .any(|&c2| geo.iter().any(|&l2| emit(&[(l, c, 1.0), (l2, c2, -1.0)])))
}

/// The distance between two places of the placement tree, given each with its
/// ancestors (itself first): the steps from both up to their lowest common ancestor.
fn tree_distance(up_a: &[u8], up_b: &[u8]) -> usize {
    up_b.iter()
        .position(|x| up_a.contains(x))
        .and_then(|db| Some(db + up_a.iter().position(|x| *x == up_b[db])?))
        .unwrap_or(usize::MAX)
}

/// The counts a move changes: (years, year, geo, combo, coefficient).
type Changed = Vec<(u8, i32, u16, u8, f64)>;

/// More changed counts than this and a move is not tracked.
const MAX_CHANGED: usize = 256;

/// Buffers [`Moves::evaluate`] reuses from one move to the next (a target's search
/// evaluates thousands): the changed counts, and the grid they are summed in (zeroed
/// where used, after use).
struct Scratch {
    changed: Changed,
    grid: Box<[[[f64; 16]; 8]; 2]>,
}

impl Default for Scratch {
    fn default() -> Scratch {
        Scratch {
            changed: Vec::with_capacity(MAX_CHANGED),
            grid: Box::new([[[0.0; 16]; 8]; 2]),
        }
    }
}

/// Keeps the N largest (value, code) pairs, largest first (ties: smaller code first).
fn keep_largest<const N: usize>(list: &mut Small<(f64, u16), N>, x: (f64, u16)) {
    let better = |a: &(f64, u16), b: &(f64, u16)| a.0 > b.0 || (a.0 == b.0 && a.1 < b.1);
    let mut at = list.len;
    while at > 0 && better(&x, &list.items[at - 1]) {
        at -= 1;
    }
    if at >= N {
        return;
    }
    let end = (list.len + 1).min(N);
    let mut i = end - 1;
    while i > at {
        list.items[i] = list.items[i - 1];
        i -= 1;
    }
    list.items[at] = x;
    list.len = end;
}

/// The last year of the fixed three-year window that holds year `y` (methodology.md,
/// "Three-year figures": windows end in years Y ≡ 1 mod 3).
pub fn window_end(y: i32) -> i32 {
    y + (1 - y).rem_euclid(3)
}

impl<'a> Moves<'a> {
    pub fn new(model: &'a Model, codes: &Codes, truth: &'a [Option<f64>]) -> Moves<'a> {
        let first_year = model.systems.iter().map(|s| s.2 - 2).min().unwrap_or(0);
        let last_year = model.systems.iter().map(|s| s.2).max().unwrap_or(0);
        let span = (last_year - first_year + 1).max(0) as usize;
        let mut yearly = vec![vec![None; span]; Kind::all().len()];
        let mut windows = vec![vec![None; span]; Kind::all().len()];
        for (i, (kind, years, year)) in model.systems.iter().enumerate() {
            let k = kind.index();
            let y = (year - first_year) as usize;
            if *years == 1 {
                yearly[k][y] = Some(i);
            } else {
                windows[k][y] = Some(i);
            }
        }
        Moves {
            model,
            trees: Trees::new(model, codes),
            truth,
            yearly,
            windows,
            first_year,
        }
    }

    fn system(&self, kind: Kind, years: u8, year: i32) -> Option<usize> {
        let k = kind.index();
        let y = usize::try_from(year - self.first_year).ok()?;
        let table = if years == 1 {
            &self.yearly
        } else {
            &self.windows
        };
        *table.get(k)?.get(y)?
    }

    fn var(&self, kind: Kind, years: u8, year: i32, place: u32) -> Option<u32> {
        let s = self.system(kind, years, year)?;
        Some(self.model.var(s, place as usize))
    }

    /// Evaluates a move's geometry for the target `form`. The profile (which count
    /// kinds move) is chosen per direction, greedily: the target's own kind, then
    /// whichever other kind of the population widens the move most, while any does.
    /// With `options` none, only kinds whose changed counts are all withheld take part
    /// (a certificate); otherwise every kind may, and each option found is pushed with
    /// the published counts it changes.
    fn evaluate(
        &self,
        form: Form,
        m: &Move,
        known: &[Option<f64>],
        sink: &mut Sink,
        scratch: &mut Scratch,
    ) {
        if !self.changed_counts(m, scratch) {
            return;
        }
        let changed = &scratch.changed;
        let target = match form {
            Form::One(a) => (a, u32::MAX),
            Form::Diff(a, b) => (a, b),
        };
        let kind = self.model.system_of(target.0).0;
        let kinds = kind.population();
        let pairs = kind.nesting();
        let collect = matches!(sink, Sink::Options(_));
        let variants = self.variants(form, kinds);
        let first_year = m.cells.as_slice().first().map_or(0, |c| c.0);
        if !collect {
            // A certificate takes only moves whose counts are all withheld: when the
            // kind carrying the target cannot move, the move gives nothing (checked
            // first, before the other kinds and the cells are looked at).
            let carries = |&(req, _): &(usize, Option<usize>)| {
                self.kind_use(kinds[req], target, first_year, changed, known, None)
                    .is_some_and(|coef| coef.abs() >= 0.5)
            };
            if !variants.as_slice().iter().any(carries) {
                return;
            }
        }
        let uses = self.kind_uses(kinds, target, first_year, changed, known, collect);
        let leaves = self.leaves(m, kinds);
        for &(req, forbid) in variants.as_slice() {
            if !uses.usable[req] || uses.coef[req].abs() < 0.5 {
                continue;
            }
            for only_movable in [true, false] {
                if (only_movable && !uses.movable[req]) || (!only_movable && !collect) {
                    continue;
                }
                let ok = |i: usize| {
                    Some(i) != forbid
                        && if only_movable {
                            uses.movable[i]
                        } else {
                            uses.usable[i]
                        }
                };
                let around = nested_around(pairs, req, &ok);
                for dir in [1.0f64, -1.0] {
                    let (profile, cap) = leaves.best_profile(pairs, req, around, dir, &ok);
                    if cap <= 0.0 {
                        continue;
                    }
                    // Which way the target goes when the move goes `dir`.
                    let width = if (uses.coef[req] > 0.0) == (dir > 0.0) {
                        Width { up: cap, down: 0.0 }
                    } else {
                        Width { up: 0.0, down: cap }
                    };
                    let touches = leaves.touches(pairs, profile, dir);
                    sink.push(width, touches, || uses.published(profile));
                }
            }
        }
    }

    /// The counts a move changes: (years, year, geo, combo, coefficient), each finest
    /// cell's ancestors, with what cancels left out; the windows follow their years.
    /// Written to `scratch.changed`; false when the move is too large to be tracked.
    fn changed_counts(&self, m: &Move, scratch: &mut Scratch) -> bool {
        let t = &self.trees;
        let mut years_seen: Small<i32, 2> = Small::new();
        let mut geos_seen: Small<u16, 8> = Small::new();
        let mut combos_seen: Small<u8, 16> = Small::new();
        for &(y, l, c, _) in m.cells.as_slice() {
            years_seen.push_new(y);
            t.geo_up[l as usize]
                .iter()
                .for_each(|g| geos_seen.push_new(*g));
            t.combo_up[c as usize]
                .iter()
                .for_each(|q| combos_seen.push_new(*q));
        }
        let grid = &mut scratch.grid;
        for &(y, l, c, sign) in m.cells.as_slice() {
            let ys = years_seen.slot(y);
            let mut qs: Small<usize, 16> = Small::new();
            t.combo_up[c as usize]
                .iter()
                .for_each(|q| qs.push(combos_seen.slot(*q)));
            for &g in &t.geo_up[l as usize] {
                let row = &mut grid[ys][geos_seen.slot(g)];
                for &q in qs.as_slice() {
                    row[q] += sign;
                }
            }
        }
        // Windows: the sum of their years' changes (two years of one window cancel).
        let merged = &mut scratch.changed;
        merged.clear();
        let two_years = years_seen.len == 2;
        for (ys, &y) in years_seen.as_slice().iter().enumerate() {
            for (gs, &g) in geos_seen.as_slice().iter().enumerate() {
                for (qs, &q) in combos_seen.as_slice().iter().enumerate() {
                    let c = grid[ys][gs][qs];
                    if c.abs() > 0.5 {
                        merged.push((1, y, g, q, c));
                    }
                    if ys == 0 {
                        let w = if two_years { c + grid[1][gs][qs] } else { c };
                        if w.abs() > 0.5 {
                            merged.push((3, window_end(y), g, q, w));
                        }
                    }
                }
            }
        }
        for plane in grid.iter_mut().take(years_seen.len) {
            for row in plane.iter_mut().take(geos_seen.len) {
                row[..combos_seen.len].fill(0.0);
            }
        }
        let full = geos_seen.full || combos_seen.full || years_seen.full;
        !full && merged.len() <= MAX_CHANGED
    }

    /// Per kind of the population: usable (no absent count changes), movable (no
    /// published count changes), its coefficient on the target (a, b: the target is
    /// a − b), the published counts it changes (only when `collect`).
    fn kind_uses(
        &self,
        kinds: &[Kind],
        target: (u32, u32),
        first_year: i32,
        changed: &[(u8, i32, u16, u8, f64)],
        known: &[Option<f64>],
        collect: bool,
    ) -> KindUses {
        let mut uses = KindUses::default();
        for (i, &kind) in kinds.iter().enumerate() {
            let mut costs = Vec::new();
            let costs_out = collect.then_some(&mut costs);
            if let Some(coef) = self.kind_use(kind, target, first_year, changed, known, costs_out) {
                uses.usable[i] = true;
                uses.movable[i] = costs.is_empty();
                uses.coef[i] = coef;
                uses.costs[i] = costs;
            }
        }
        uses
    }

    /// One kind's use in a move ([`Moves::kind_uses`]): none when it is not usable (a
    /// count it changes is absent, or, without `costs`, published); otherwise its
    /// coefficient on the target, the published counts it changes pushed to `costs`.
    fn kind_use(
        &self,
        kind: Kind,
        (fa, fb): (u32, u32),
        first_year: i32,
        changed: &[(u8, i32, u16, u8, f64)],
        known: &[Option<f64>],
        mut costs: Option<&mut Vec<u32>>,
    ) -> Option<f64> {
        self.system(kind, 1, first_year)?;
        let mut coef = 0.0;
        for &(years, year, g, q, c) in changed {
            let Some(s) = self.system(kind, years, year) else {
                continue;
            };
            let place = self.trees.place(g, q);
            if place == u32::MAX {
                return None;
            }
            let v = self.model.var(s, place as usize);
            if !self.model.carried[v as usize] {
                return None;
            }
            if known[v as usize].is_some() {
                costs.as_mut()?.push(v);
            }
            if v == fa {
                coef += c;
            } else if v == fb {
                coef -= c;
            }
        }
        Some(coef)
    }

    /// The finest cells a move touches, with each kind's true value and lower bound
    /// there.
    fn leaves(&self, m: &Move, kinds: &'static [Kind]) -> Leaves {
        let mut leaves = Leaves {
            kinds: kinds.len(),
            cells: Small::new(),
            values: [[None; W]; 8],
        };
        for &(y, l, c, sign) in m.cells.as_slice() {
            leaves.cells.push((y, self.trees.place(l, c), sign));
        }
        for (li, &(y, place, _)) in leaves.cells.as_slice().iter().enumerate() {
            for (i, &kind) in kinds.iter().enumerate() {
                if let Some(v) = self.var(kind, 1, y, place)
                    && let Some(x) = self.truth[v as usize]
                {
                    leaves.values[li][i] = Some((x, self.model.lower[v as usize].max(0.0)));
                }
            }
        }
        leaves
    }

    /// Which kind carries the target: (required, forbidden). A difference is carried
    /// by one side or the other, never both.
    fn variants(&self, form: Form, kinds: &[Kind]) -> Small<(usize, Option<usize>), 2> {
        let mut variants = Small::new();
        let index = |v: u32| kinds.iter().position(|k| *k == self.model.system_of(v).0);
        match form {
            Form::One(a) => {
                if let Some(i) = index(a) {
                    variants.push((i, None));
                }
            }
            Form::Diff(a, b) => {
                if let (Some(i), Some(j)) = (index(a), index(b)) {
                    variants.push((i, Some(j)));
                    variants.push((j, Some(i)));
                }
            }
        }
        variants
    }

    /// Calls `f` with every move worth trying for a target, in a fixed order, until `f`
    /// says stop: from each of the largest finest cells under the target, the diagonals
    /// and rectangles with the nearest partners (kommuner of the same region first,
    /// sibling placements first), in its own year and against the other years of its
    /// window, and the cell alone.
    fn each_candidate(&self, form: Form, known: &[Option<f64>], f: &mut dyn FnMut(&Move) -> bool) {
        let v = form.vars().next().unwrap_or(0);
        let (kind, years, year) = self.model.system_of(v);
        let place = v as usize % self.model.places.len();
        let t = &self.trees;
        let (g, q) = (t.geo_of[place], t.combo_of[place]);
        let start_years = if years == 3 {
            year - 2..=year
        } else {
            year..=year
        };
        for y in start_years {
            let times = self.other_years(kind, years, y);
            for (_, l, c) in self.start_cells(kind, y, g, q) {
                let geo = self.partner_kommuner(kind, y, (l, c), g, known);
                let leaf = self.partner_places(c, q);
                let richest = self.richest_cells(kind, y, c, &geo);
                let partners = Partners {
                    geo: &geo,
                    leaf: &leaf,
                    richest: &richest,
                };
                for &time in times.as_slice() {
                    if each_pattern((y, time), (l, c), &partners, f) {
                        return;
                    }
                }
            }
        }
    }

    /// The truth of kind `kind`'s finest cell (year, kommune, finest place); 0 when it
    /// has none.
    fn finest_value(&self, kind: Kind, y: i32, l: u16, c: u8) -> f64 {
        self.var(kind, 1, y, self.trees.place(l, c))
            .and_then(|v| self.truth[v as usize])
            .unwrap_or(0.0)
    }

    /// Where moves start: the largest existing finest cells under (geo `g`, combo `q`)
    /// in year `y`, as (value, kommune, finest place).
    fn start_cells(&self, kind: Kind, y: i32, g: u16, q: u8) -> Vec<(f64, u16, u8)> {
        let t = &self.trees;
        let inside = &t.kommuner_under[g as usize];
        let mut cells: Vec<(f64, u16, u8)> = Vec::new();
        for &l in inside {
            for &c in &t.leaves_under[q as usize] {
                let exists = self
                    .var(kind, 1, y, t.place(l, c))
                    .is_some_and(|v| self.model.carried[v as usize]);
                if exists {
                    cells.push((self.finest_value(kind, y, l, c), l, c));
                }
            }
        }
        cells.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        cells.truncate(if inside.len() > 1 { 8 } else { 3 });
        cells
    }

    /// The year a move's pattern is taken against: none, then each other year of the
    /// yearly cell's three-year window (the window then stays as it is).
    fn other_years(&self, kind: Kind, years: u8, y: i32) -> Small<Option<i32>, 3> {
        let mut times: Small<Option<i32>, 3> = Small::new();
        times.push(None);
        if years == 1 && self.system(kind, 3, window_end(y)).is_some() {
            let end = window_end(y);
            (end - 2..=end)
                .filter(|x| *x != y)
                .for_each(|x| times.push(Some(x)));
        }
        times
    }

    /// Kommuner outside the target's own area (geo `g`) to move against, for the
    /// finest cell (`l`, `c`): the same region first, then two of other regions. Those
    /// whose cell is withheld already come first (largest first), so that a move costs
    /// nothing where it can; then the largest of the region (most room), which are not
    /// taken first so that not every small kommune's move runs through the big ones.
    fn partner_kommuner(
        &self,
        kind: Kind,
        y: i32,
        (l, c): (u16, u8),
        g: u16,
        known: &[Option<f64>],
    ) -> Small<u16, 10> {
        let t = &self.trees;
        let inside = &t.kommuner_under[g as usize];
        let region = t.region_of[l as usize];
        let land = t.geo_up[l as usize].last().copied().unwrap_or(0);
        let mut near_withheld: Small<(f64, u16), 5> = Small::new();
        let mut near: Small<(f64, u16), 3> = Small::new();
        let mut far: Small<(f64, u16), 2> = Small::new();
        for &o in &t.kommuner_under[land as usize] {
            if inside.contains(&o) {
                continue;
            }
            let x = self.finest_value(kind, y, o, c);
            if t.region_of[o as usize] == region {
                let withheld = self
                    .var(kind, 1, y, t.place(o, c))
                    .is_some_and(|v| known[v as usize].is_none());
                if withheld {
                    keep_largest(&mut near_withheld, (x, o));
                }
                keep_largest(&mut near, (x, o));
            } else {
                keep_largest(&mut far, (x, o));
            }
        }
        let mut geo: Small<u16, 10> = Small::new();
        near_withheld
            .as_slice()
            .iter()
            .chain(near.as_slice())
            .chain(far.as_slice())
            .for_each(|k| geo.push_new(k.1));
        geo
    }

    /// For each partner kommune, its largest finest cell in the same group as `c` (the
    /// placement subtree below udsat: all anbragt types for an anbragt type) other than
    /// `c`: a diagonal against it moves the partner's group total where the partner has
    /// the most room, when its cell at `c` itself has none.
    fn richest_cells(
        &self,
        kind: Kind,
        y: i32,
        c: u8,
        geo: &Small<u16, 10>,
    ) -> Small<(u16, u8), 10> {
        let t = &self.trees;
        let chain = &t.combo_up[c as usize];
        let top = chain
            .get(chain.len().saturating_sub(3))
            .copied()
            .unwrap_or(c);
        let mut out: Small<(u16, u8), 10> = Small::new();
        for &l2 in geo.as_slice() {
            let best = t.leaves_under[top as usize]
                .iter()
                .filter(|x| **x != c)
                .map(|x| (self.finest_value(kind, y, l2, *x), *x))
                .filter(|(v, _)| *v > 0.0)
                .fold(None, |best: Option<(f64, u8)>, x| match best {
                    Some(b) if b.0 >= x.0 => Some(b),
                    _ => Some(x),
                });
            if let Some((_, c2)) = best {
                out.push((l2, c2));
            }
        }
        out
    }

    /// Finest places outside the target's placement `q` to move against, for the
    /// finest place `c`: the nearest in the placement tree first (the fewest counts
    /// between the two and their lowest common ancestor, which a diagonal changes), at
    /// most eight.
    fn partner_places(&self, c: u8, q: u8) -> Small<u8, 8> {
        let t = &self.trees;
        let inside_leaves = &t.leaves_under[q as usize];
        let root = t.combo_up[c as usize].last().copied().unwrap_or(0);
        let mut others: Vec<(usize, u8)> = t.leaves_under[root as usize]
            .iter()
            .filter(|x| !inside_leaves.contains(x))
            .map(|x| {
                let distance = tree_distance(&t.combo_up[c as usize], &t.combo_up[*x as usize]);
                (distance, *x)
            })
            .collect();
        others.sort();
        let mut leaf: Small<u8, 8> = Small::new();
        others.iter().take(8).for_each(|x| leaf.push(x.1));
        leaf
    }

    /// The width certified for a target by allowed moves alone (every count they change
    /// withheld): the best up-range plus the best down-range; stops at `enough`.
    pub fn certify(&self, form: Form, known: &[Option<f64>], enough: f64) -> Certificate {
        // One pass: moves are added as they are found (stopping once the width is
        // enough), and kept, so that if the greedy order fell short they can be packed
        // again, the widest first.
        let mut certificate = Certificate::default();
        let mut found: Vec<Evaluated> = Vec::new();
        let mut scratch = Scratch::default();
        self.each_candidate(form, known, &mut |m| {
            let before = found.len();
            self.evaluate(form, m, known, &mut Sink::Allowed(&mut found), &mut scratch);
            for e in &found[before..] {
                let (up, down) = e.sides();
                certificate.add(e.width, up, down);
            }
            certificate.total() >= enough
        });
        if certificate.total() >= enough {
            return certificate;
        }
        pack(certificate, &found)
    }

    /// Every move for a target, with the published counts it would need withheld (none
    /// for a move allowed already).
    pub fn options(&self, form: Form, known: &[Option<f64>]) -> Vec<Evaluated> {
        let mut out = Vec::new();
        let mut scratch = Scratch::default();
        self.each_candidate(form, known, &mut |m| {
            self.evaluate(form, m, known, &mut Sink::Options(&mut out), &mut scratch);
            false
        });
        out
    }
}

const EPSILON: f64 = 1e-9;

/// The better of `certificate` and what the moves `found` give when taken the widest
/// first, from scratch and on top of `certificate`.
pub fn pack<'e>(
    mut certificate: Certificate,
    found: impl IntoIterator<Item = &'e Evaluated>,
) -> Certificate {
    let mut order: Vec<&Evaluated> = found.into_iter().collect();
    order.sort_by(|a, b| (b.width.up + b.width.down).total_cmp(&(a.width.up + a.width.down)));
    let mut packed = Certificate::default();
    for e in &order {
        let (up, down) = e.sides();
        packed.add(e.width, up, down);
        certificate.add(e.width, up, down);
    }
    if packed.total() > certificate.total() {
        packed
    } else {
        certificate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_are_near_by_the_steps_to_their_common_ancestor_from_both_sides() {
        // alle 0 → udsat 1, oevrige 2; udsat → anbragt 3, forebyggende 4; anbragt →
        // institution 5, familiepleje 6; institution → eget 7, doegn 8; familiepleje →
        // pleje 9.
        let eget = [7, 5, 3, 1, 0];
        let doegn = [8, 5, 3, 1, 0];
        let pleje = [9, 6, 3, 1, 0];
        let forebyggende = [4, 1, 0];
        let oevrige = [2, 0];
        assert_eq!(tree_distance(&eget, &doegn), 2);
        assert_eq!(tree_distance(&eget, &pleje), 4);
        assert_eq!(tree_distance(&eget, &forebyggende), 4);
        assert_eq!(tree_distance(&eget, &oevrige), 5);
        // Symmetric, and a sibling nearer than anything outside the group.
        assert_eq!(tree_distance(&doegn, &eget), 2);
        assert_eq!(tree_distance(&[7], &[8]), usize::MAX);
    }
}
