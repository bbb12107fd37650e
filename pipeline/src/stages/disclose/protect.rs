//! Protection (methodology.md, "Protection"): primary cells are withheld, then further
//! (secondary) cells until every target's range is at least k wide.
//!
//! Targets are taken one at a time in a fixed order. A target whose range is certified k
//! wide by moves over withheld counts alone ([`super::moves`]) needs nothing. Otherwise
//! the cheapest move that would certify it is allowed: the published counts it changes
//! are withheld, with every cell that publishes them. The cost of a cell is
//! [`super::rules::cost`] (Danmark only when nothing else protects; finer placements
//! before coarser; `alle` before the groups a reader compares, `oevrige` last; smaller
//! denominators first). Withholding only ever widens ranges, so a target certified once
//! stays certified: one pass over the targets protects them all. Deterministic: the same
//! cells give the same choices.

use super::moves::{Certificate, Evaluated, Moves, pack, window_end};
use super::ranges::EPS;
use super::rules::{cost, counts_of, primary};
use super::system::Model;
use super::targets::{Form, Target, targets};
use super::{Cell, Why};
use crate::codes::Codes;
use crate::error::{Error, Result};

/// How protection went, for the log and the manifest.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Stats {
    /// Counts (and differences) that must keep a range k wide.
    pub targets: usize,
    /// Of those, certified without withholding anything more.
    pub certified_as_found: usize,
    /// Moves allowed by withholding published counts.
    pub moves_opened: usize,
}

/// Marks the primary cells of `cells` (true counts) at threshold k.
pub fn mark_primary(cells: &mut [Cell], k: i64) -> Result<()> {
    cells.iter_mut().try_for_each(|c| mark_one(c, k))
}

/// Marks one cell primary (withheld, with its reasons) or not. The reasons a revision
/// gave it (`changed_*`, set by the caller) are kept.
fn mark_one(c: &mut Cell, k: i64) -> Result<()> {
    let den = c.denominator.ok_or_else(|| {
        Error::Internal(format!(
            "disclosure control: a cell without denominator ({} {})",
            c.indicator, c.period
        ))
    })?;
    let mut reasons = primary(&c.indicator, c.numerator, den, k);
    if let Some(Why::Primary(given)) = &c.why {
        reasons.extend(given.iter().copied().filter(|r| r.is_change()));
    }
    c.why = (!reasons.is_empty()).then_some(Why::Primary(reasons));
    c.suppressed = c.why.is_some();
    Ok(())
}

/// Which cells are withheld and what the attacker then knows, updated cell by cell.
struct State<'m> {
    model: &'m Model,
    withheld: Vec<bool>,
    /// Per variable: published by a fixed cell (an earlier release), so never withheld.
    frozen: Vec<bool>,
    /// Per variable: the cells still publishing it.
    open: Vec<u32>,
    known: Vec<Option<f64>>,
    costs: Vec<u64>,
}

/// What [`State::withhold`] changed, to take it back.
#[derive(Default)]
struct Undo {
    cells: Vec<usize>,
    vars: Vec<(u32, f64)>,
}

impl<'m> State<'m> {
    /// The state before secondary withholding: the primary cells withheld; the counts
    /// a fixed published cell publishes frozen.
    fn new(model: &'m Model, cells: &[Cell], fixed: &[bool]) -> Result<State<'m>> {
        let withheld: Vec<bool> = cells.iter().map(|c| c.suppressed).collect();
        let known = model.knowledge(cells, &withheld)?.value;
        let open: Vec<u32> = (0..model.vars())
            .map(|v| {
                model
                    .var_cells
                    .get(v)
                    .iter()
                    .filter(|c| !withheld[**c as usize])
                    .count() as u32
            })
            .collect();
        let mut frozen = vec![false; model.vars()];
        for (c, cell) in cells.iter().enumerate() {
            if fixed[c] && !cell.suppressed {
                for v in model.cell_vars[c].published() {
                    frozen[v as usize] = true;
                }
            }
        }
        let costs = cells
            .iter()
            .map(|c| {
                cost(
                    c.geo_code,
                    &c.group,
                    &c.placement,
                    c.denominator.unwrap_or(0),
                )
            })
            .collect();
        Ok(State {
            model,
            withheld,
            open,
            known,
            frozen,
            costs,
        })
    }

    /// The published counts of every cell that is not fixed and not withheld (those
    /// not frozen), sorted, once each.
    fn all_new_published(&self, cells: &[Cell], fixed: &[bool]) -> Vec<u32> {
        let mut vars: Vec<u32> = cells
            .iter()
            .enumerate()
            .filter(|(c, cell)| !fixed[*c] && !self.withheld[*c] && !cell.suppressed)
            .flat_map(|(c, _)| self.model.cell_vars[c].published())
            .filter(|v| !self.frozen[*v as usize])
            .collect();
        vars.sort_unstable();
        vars.dedup();
        vars
    }
}

impl State<'_> {
    /// What withholding a published count costs: the cells that still publish it.
    fn freeing_cost(&self, var: u32) -> u64 {
        self.model
            .var_cells
            .get(var as usize)
            .iter()
            .filter(|c| !self.withheld[**c as usize])
            .map(|c| self.costs[*c as usize])
            .fold(0u64, u64::saturating_add)
    }

    /// Withholds every cell that publishes one of `vars`.
    fn withhold(&mut self, vars: &[u32]) -> Undo {
        let mut undo = Undo::default();
        for v in vars {
            for c in self.model.var_cells.get(*v as usize) {
                let c = *c as usize;
                if self.withheld[c] {
                    continue;
                }
                self.withheld[c] = true;
                undo.cells.push(c);
                for var in self.model.cell_vars[c].published() {
                    self.open[var as usize] -= 1;
                    if self.open[var as usize] == 0
                        && let Some(x) = self.known[var as usize].take()
                    {
                        undo.vars.push((var, x));
                    }
                }
            }
        }
        undo
    }

    fn undo(&mut self, undo: Undo) {
        for c in undo.cells {
            self.withheld[c] = false;
            for var in self.model.cell_vars[c].published() {
                self.open[var as usize] += 1;
            }
        }
        for (v, x) in undo.vars {
            self.known[v as usize] = Some(x);
        }
    }
}

/// Withholds cells of `cells` (true counts) in place: primary, then secondary until
/// every target's range is at least k wide.
///
/// The attacker's system falls apart into independent parts: one per population (the
/// 9th-grade cohort, the persons of 17, of 18, of 25: no relation links two of them) and
/// per fixed three-year window (a year is related to other years only through its
/// window; windows never overlap). Each part is protected on its own, the parts on
/// `threads` threads; the pattern is the same whatever the number of threads, because no
/// choice in one part can see another.
pub fn protect(cells: &mut [Cell], k: i64, codes: &Codes, threads: usize) -> Result<Stats> {
    let fixed = vec![false; cells.len()];
    protect_with(cells, &fixed, k, codes, threads)
}

/// [`protect`] with some cells *fixed*: cells of periods published in an earlier release
/// (methodology.md, "Releases"), whose `suppressed` and `why` are as released and are
/// never changed. They are facts of the attacker's system, and their targets must stay
/// k wide, but only the other cells may be withheld to keep them so. A part without a
/// cell that is not fixed was protected (and audited) when it was released and is left
/// as it is. When no move certifies a target without withholding a fixed published cell,
/// every cell of the part that is not fixed is withheld (which leaves the attacker what
/// the earlier release left them); if even that does not certify it, the run fails.
pub fn protect_with(
    cells: &mut [Cell],
    fixed: &[bool],
    k: i64,
    codes: &Codes,
    threads: usize,
) -> Result<Stats> {
    if fixed.len() != cells.len() {
        return Err(Error::Internal(
            "disclosure control: fixed flags and cells differ in length".into(),
        ));
    }
    for (c, f) in cells.iter_mut().zip(fixed) {
        if !*f {
            mark_one(c, k)?;
        }
    }
    let parts: Vec<Vec<usize>> = parts(cells)?
        .into_iter()
        .filter(|p| p.iter().any(|i| !fixed[*i]))
        .collect();
    let threads = threads.clamp(1, 16).min(parts.len().max(1));
    if parts.len() == 1 && parts[0].len() == cells.len() {
        return protect_part(cells, fixed, k, codes, threads);
    }
    let out = protect_parts(cells, fixed, &parts, k, codes, threads)?;
    let mut stats = Stats::default();
    for (idx, done) in parts.iter().zip(out) {
        let Some((part, s)) = done else {
            return Err(Error::Internal(
                "disclosure control: a part was not protected".into(),
            ));
        };
        stats.targets += s.targets;
        stats.certified_as_found += s.certified_as_found;
        stats.moves_opened += s.moves_opened;
        for (i, c) in idx.iter().zip(part) {
            cells[*i].suppressed = c.suppressed;
            cells[*i].why = c.why;
        }
    }
    tracing::info!(
        parts = parts.len(),
        targets = stats.targets,
        certified_as_found = stats.certified_as_found,
        moves_opened = stats.moves_opened,
        withheld = cells.iter().filter(|c| c.suppressed).count(),
        "disclosure control done"
    );
    Ok(stats)
}

/// A part's cells as protected, and its statistics.
type PartDone = (Vec<Cell>, Stats);

/// Protects each of `parts` (cell positions) on its own, on `threads` threads, the
/// largest first so that the threads finish together. Returns each part's cells and
/// statistics in the parts' order; the first failing part in that order decides the
/// error, whatever the threads.
fn protect_parts(
    cells: &[Cell],
    fixed: &[bool],
    parts: &[Vec<usize>],
    k: i64,
    codes: &Codes,
    threads: usize,
) -> Result<Vec<Option<PartDone>>> {
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(parts[*i].len()));
    /// One part's cells and which of them are fixed.
    type Job = (Vec<Cell>, Vec<bool>);
    let jobs: Vec<std::sync::Mutex<Option<Job>>> = parts
        .iter()
        .map(|idx| {
            let job: Job = (
                idx.iter().map(|i| cells[*i].clone()).collect(),
                idx.iter().map(|i| fixed[*i]).collect(),
            );
            std::sync::Mutex::new(Some(job))
        })
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    type Done = (usize, Result<(Vec<Cell>, Stats)>);
    let work = || -> Vec<Done> {
        let mut done = Vec::new();
        loop {
            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&i) = order.get(n) else {
                return done;
            };
            let taken = jobs[i].lock().ok().and_then(|mut j| j.take());
            let Some((mut part, part_fixed)) = taken else {
                done.push((
                    i,
                    Err(Error::Internal(
                        "disclosure control: a part taken twice".into(),
                    )),
                ));
                continue;
            };
            let stats = protect_part(&mut part, &part_fixed, k, codes, 1);
            done.push((i, stats.map(|s| (part, s))));
        }
    };
    let results: Vec<Done> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
        let mut all = Vec::new();
        for h in handles {
            match h.join() {
                Ok(done) => all.extend(done),
                Err(_) => all.push((
                    usize::MAX,
                    Err(Error::Internal(
                        "disclosure control: a worker failed".into(),
                    )),
                )),
            }
        }
        all
    });
    let mut out: Vec<Option<PartDone>> = (0..parts.len()).map(|_| None).collect();
    let mut failed: Vec<(usize, Error)> = Vec::new();
    for (i, r) in results {
        match r {
            Ok(x) if i < out.len() => out[i] = Some(x),
            Ok(_) => {}
            Err(e) => failed.push((i, e)),
        }
    }
    failed.sort_by_key(|f| f.0);
    match failed.into_iter().next() {
        Some((_, e)) => Err(e),
        None => Ok(out),
    }
}

/// The independent parts of the attacker's system: cell positions grouped by population
/// and three-year window, in the order of their first cell.
fn parts(cells: &[Cell]) -> Result<Vec<Vec<usize>>> {
    let mut index: std::collections::HashMap<(super::rules::Kind, i32), usize> =
        std::collections::HashMap::new();
    let mut parts: Vec<Vec<usize>> = Vec::new();
    for (i, c) in cells.iter().enumerate() {
        let counts = counts_of(&c.indicator).ok_or_else(|| {
            Error::Internal(format!(
                "disclosure control: unknown indicator {}",
                c.indicator
            ))
        })?;
        let window = if c.years == 3 {
            c.year
        } else {
            window_end(c.year)
        };
        let n = *index.entry((counts.presence, window)).or_insert_with(|| {
            parts.push(Vec::new());
            parts.len() - 1
        });
        parts[n].push(i);
    }
    Ok(parts)
}

/// Protects one independent part (primary cells already marked; `fixed` cells as
/// released).
fn protect_part(
    cells: &mut [Cell],
    fixed: &[bool],
    k: i64,
    codes: &Codes,
    threads: usize,
) -> Result<Stats> {
    let mut clock = Clock::default();
    let started = std::time::Instant::now();
    let model = Model::new(cells, codes)?;
    let truth = model.truth(cells)?;
    let targets = targets(&model, cells, &truth, k);
    let moves = Moves::new(&model, codes, &truth);
    let mut state = State::new(&model, cells, fixed)?;
    clock.setup = started.elapsed().as_secs_f64();
    let mut stats = Stats {
        targets: targets.len(),
        ..Stats::default()
    };
    let need = k as f64 - EPS;
    // A certificate found once can be lost to a better-looking move found later (the
    // search is greedy), so the pass repeats over what is not certified at its end.
    let mut todo: Vec<usize> = (0..targets.len()).collect();
    let mut fell_back = false;
    for pass in 0..5 {
        for &i in &todo {
            let t = &targets[i];
            let mut width = timed(&mut clock.certify, || {
                moves.certify(t.form, &state.known, need)
            });
            if pass == 0 && width.total() >= need {
                stats.certified_as_found += 1;
            }
            let mut attempts = 0;
            while width.total() < need {
                attempts += 1;
                let chosen = match attempts > 50 {
                    true => None,
                    false => timed(&mut clock.choose, || {
                        choose(&moves, t, &mut state, &width, need)
                    }),
                };
                let vars = match chosen {
                    Some(vars) => vars,
                    None if fixed.iter().any(|f| *f) && !fell_back => {
                        // Back to what the earlier release left the attacker: every
                        // cell of this part that is not fixed is withheld.
                        fell_back = true;
                        tracing::debug!(
                            target = %describe_target(&model, t),
                            "disclosure control: no move without a released cell; every new cell of this part is withheld"
                        );
                        state.all_new_published(cells, fixed)
                    }
                    None => return Err(cannot(&model, cells, t, width)),
                };
                tracing::trace!(
                    target = %describe_target(&model, t),
                    width = width.total(),
                    withheld = %vars.iter().map(|v| model.describe(*v)).collect::<Vec<_>>().join("; "),
                    "disclosure control: a move opened"
                );
                state.withhold(&vars);
                stats.moves_opened += 1;
                width = timed(&mut clock.certify, || {
                    moves.certify(t.form, &state.known, need)
                });
            }
        }
        // A certificate found once can be lost to a better-looking move found later (the
        // search is greedy): every target is certified again under the final pattern,
        // exactly as the audit will.
        let all: Vec<usize> = (0..targets.len()).collect();
        todo = timed(&mut clock.recheck, || {
            uncertified(&moves, &targets, &all, &state.known, need, threads)
        });
        tracing::debug!(pass, uncertified = todo.len(), "disclosure control pass");
        if todo.is_empty() {
            break;
        }
    }
    if let Some(i) = todo.first() {
        let width = moves.certify(targets[*i].form, &state.known, need);
        return Err(cannot(&model, cells, &targets[*i], width));
    }
    for ((c, w), f) in cells.iter_mut().zip(&state.withheld).zip(fixed) {
        if *f {
            continue;
        }
        if *w && c.why.is_none() {
            c.why = Some(Why::Secondary);
        }
        c.suppressed = *w;
    }
    clock.log(&stats, state.withheld.iter().filter(|w| **w).count());
    Ok(stats)
}

/// Runs `f`, adding its seconds to `slot`.
fn timed<T>(slot: &mut f64, f: impl FnOnce() -> T) -> T {
    let started = std::time::Instant::now();
    let out = f();
    *slot += started.elapsed().as_secs_f64();
    out
}

/// Where a part's time went, for the debug log (docs/performance.md): building the
/// model, certifying targets as they come, choosing what to withhold, certifying all
/// again at a pass's end.
#[derive(Default)]
struct Clock {
    setup: f64,
    certify: f64,
    choose: f64,
    recheck: f64,
}

impl Clock {
    /// The debug line of a part done.
    fn log(&self, stats: &Stats, withheld: usize) {
        tracing::debug!(
            targets = stats.targets,
            certified_as_found = stats.certified_as_found,
            moves_opened = stats.moves_opened,
            withheld,
            setup_seconds = format!("{:.2}", self.setup),
            certify_seconds = format!("{:.2}", self.certify),
            choose_seconds = format!("{:.2}", self.choose),
            recheck_seconds = format!("{:.2}", self.recheck),
            "disclosure control: a part done"
        );
    }
}

/// The targets among `which` that moves over withheld counts do not certify k wide,
/// certified on `threads` threads.
pub fn uncertified(
    moves: &Moves,
    targets: &[Target],
    which: &[usize],
    known: &[Option<f64>],
    need: f64,
    threads: usize,
) -> Vec<usize> {
    let threads = threads.clamp(1, 16);
    let chunk = which.len().div_ceil(threads).max(1);
    let check = |part: &[usize]| -> Vec<usize> {
        part.iter()
            .copied()
            .filter(|i| moves.certify(targets[*i].form, known, need).total() < need)
            .collect()
    };
    let mut out: Vec<usize> = std::thread::scope(|s| {
        let handles: Vec<_> = which
            .chunks(chunk)
            .map(|part| (part, s.spawn(move || check(part))))
            .collect();
        handles
            .into_iter()
            // A worker that failed is done again here: never counted as certified.
            .flat_map(|(part, h)| h.join().unwrap_or_else(|_| check(part)))
            .collect()
    });
    out.sort_unstable();
    out
}

/// How many of the cheapest sets of published counts are tried out per step.
const LOOK_AHEAD: usize = 16;

/// The published counts to withhold next for a target. Every move that would widen it
/// needs a set of published counts withheld; for each such set (the cheapest first),
/// the width it would give is worked out: withholding it allows every move whose
/// published counts it covers (withholding a cell also hides its other count, which
/// may allow more), packed with the moves allowed already. The set with the lowest cost
/// per unit of width gained (up to what is missing) wins: one published count withheld
/// often allows many moves at once, which no single move shows.
fn choose(
    moves: &Moves,
    t: &Target,
    state: &mut State,
    certificate: &Certificate,
    need: f64,
) -> Option<Vec<u32>> {
    let have = certificate.total();
    let missing = need - have;
    let options = moves.options(t.form, &state.known);
    let allowed: Vec<&Evaluated> = options.iter().filter(|o| o.published.is_empty()).collect();
    let mut sets: Vec<(u64, Vec<u32>)> = Vec::new();
    let mut seen: std::collections::HashSet<&[u32]> = std::collections::HashSet::new();
    for o in &options {
        if o.published.is_empty()
            || o.width.total() <= EPS
            || o.published.iter().any(|v| state.frozen[*v as usize])
        {
            continue;
        }
        if seen.insert(&o.published) {
            let cost = o
                .published
                .iter()
                .map(|v| state.freeing_cost(*v))
                .fold(0u64, u64::saturating_add);
            sets.push((cost, o.published.clone()));
        }
    }
    sets.sort();
    // Danmark's group figures (the headline) only when nothing else widens the target.
    let headline = |v: &u32| {
        let (geo, _, placement) = state.model.place_of(*v);
        *geo == 0 && placement == "alle"
    };
    let mut order: Vec<usize> = (0..sets.len())
        .filter(|i| !sets[*i].1.iter().any(headline))
        .collect();
    let ordinary = order.len();
    order.extend((0..sets.len()).filter(|i| sets[*i].1.iter().any(headline)));
    let mut best: Option<(f64, f64, usize)> = None;
    for (n, i) in order.into_iter().enumerate() {
        // The cheapest few are tried; more only while none widens the target.
        if best.is_some() && (n >= LOOK_AHEAD || n >= ordinary) {
            break;
        }
        let (cost, set) = (&sets[i].0, &sets[i].1);
        let undo = state.withhold(set);
        let hidden: Vec<u32> = {
            let mut h: Vec<u32> = undo.vars.iter().map(|(v, _)| *v).collect();
            h.sort_unstable();
            h
        };
        state.undo(undo);
        let usable = allowed.iter().copied().chain(
            options
                .iter()
                .filter(|o| !o.published.is_empty())
                .filter(|o| o.published.iter().all(|v| hidden.binary_search(v).is_ok())),
        );
        let after = pack(certificate.clone(), usable).total();
        let gained = after - have;
        if gained <= EPS {
            continue;
        }
        let per_unit = *cost as f64 / gained.min(missing);
        if best.is_none_or(|(p, g, _)| per_unit < p || (per_unit == p && gained > g)) {
            best = Some((per_unit, gained, i));
        }
    }
    let chosen = best.map(|(_, _, i)| std::mem::take(&mut sets[i].1))?;
    if chosen.iter().any(headline) {
        tracing::debug!(
            target = %describe_target(state.model, t),
            counts = %chosen.iter().map(|v| state.model.describe(*v)).collect::<Vec<_>>().join("; "),
            "disclosure control: nothing but Danmark's group figures widens this target"
        );
    }
    Some(chosen)
}

fn cannot(model: &Model, cells: &[Cell], t: &Target, width: Certificate) -> Error {
    Error::Internal(format!(
        "disclosure control cannot widen the range of {} (cell {:?}) beyond {:.2}: no move over the breakdowns reaches k",
        describe_target(model, t),
        cells[t.cell as usize].key(),
        width.total()
    ))
}

/// A target in words: the form's counts.
pub fn describe_target(model: &Model, t: &Target) -> String {
    match t.form {
        Form::One(v) => model.describe(v),
        Form::Diff(a, b) => format!("{} − {}", model.describe(a), model.describe(b)),
    }
}
