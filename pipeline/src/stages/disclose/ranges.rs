//! The attacker's ranges (methodology.md, "The attacker"): for every target, is the
//! range [min, max] of its form over all real solutions of the system at least k wide?
//!
//! The system falls apart into connected components (withheld counts linked by rows);
//! each component with a target is one linear programme ([`super::lp`], HiGHS). A range
//! is at least k wide as soon as two feasible points are k apart in the target's form,
//! so every solution HiGHS returns is a certificate for every target of its component:
//! a few solutions with objectives over many targets at once settle most of them, and
//! only the rest are maximised (and, if need be, minimised) one by one. A target whose
//! exact maximum and minimum are less than k apart fails, with its range.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::lp::{Lp, LpRow, Optimum};
use super::system::{Knowledge, Model};
use super::targets::{Form, Target};
use crate::error::{Error, Result};

/// Tolerance of a range's width (the solver's feasibility tolerance is far below it).
pub const EPS: f64 = 1e-5;

/// Components with more withheld counts than this are not solved exactly: simplex on
/// tens of thousands of linked counts takes seconds per solve. Their targets are
/// reported without an exact range.
pub const MAX_EXACT_VARS: usize = 4000;

/// A target whose range is narrower than k.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Index into the targets.
    pub target: usize,
    /// The exact range [min, max]; none when the component was too large to solve.
    pub range: Option<(f64, f64)>,
}

/// The outcome of a check.
#[derive(Debug, Default)]
pub struct Checked {
    pub failing: Vec<Finding>,
    pub components: usize,
    pub lps: usize,
}

/// What to check.
pub struct Check<'a> {
    pub model: &'a Model,
    pub known: &'a Knowledge,
    pub targets: &'a [Target],
    pub k: f64,
    /// A point known to satisfy the system (the true counts), to start the certificates.
    pub hint: Option<&'a [Option<f64>]>,
    pub threads: usize,
    /// Larger components are not solved (their targets fail without a range).
    pub max_vars: usize,
}

/// A component's failing targets and the number of linear programmes solved.
type ComponentResult = Result<(Vec<Finding>, usize)>;

struct UnionFind(Vec<u32>);

impl UnionFind {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            let up = self.0[self.0[x as usize] as usize];
            self.0[x as usize] = up;
            x = up;
        }
        x
    }
    fn union(&mut self, a: u32, b: u32) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            self.0[hi as usize] = lo;
        }
    }
}

/// One component: its withheld counts, rows and targets.
struct Component {
    vars: Vec<u32>,
    rows: Vec<u32>,
    targets: Vec<usize>,
}

impl Check<'_> {
    pub fn run(&self) -> Result<Checked> {
        let mut out = Checked::default();
        let components = self.components(&mut out.failing);
        out.components = components.len();
        for r in self.check_components(&components)? {
            let (failing, lps) = r?;
            out.lps += lps;
            out.failing.extend(failing);
        }
        out.failing.sort_by_key(|f| f.target);
        Ok(out)
    }

    fn unknown(&self, v: u32) -> bool {
        self.known.value[v as usize].is_none()
    }

    /// The connected components (withheld counts linked by rows, and the two sides of a
    /// difference) that hold a target, in the order of their smallest count. A target
    /// whose counts are all published fails at once, into `failing`: its range is a
    /// point.
    fn components(&self, failing: &mut Vec<Finding>) -> Vec<Component> {
        let model = self.model;
        let n = model.vars();
        let mut uf = UnionFind((0..n as u32).collect());
        let mut active = Vec::new();
        for r in 0..model.rows.len() {
            let mut first = None;
            for (v, _) in model.rows.get(r) {
                if self.unknown(*v) {
                    match first {
                        None => first = Some(*v),
                        Some(f) => uf.union(f, *v),
                    }
                }
            }
            if let Some(f) = first {
                active.push((r as u32, f));
            }
        }
        for t in self.targets {
            if let Form::Diff(a, b) = t.form
                && self.unknown(a)
                && self.unknown(b)
            {
                uf.union(a, b);
            }
        }
        let mut by_root: BTreeMap<u32, Component> = BTreeMap::new();
        for (i, t) in self.targets.iter().enumerate() {
            match t.form.vars().find(|v| self.unknown(*v)) {
                Some(v) => by_root
                    .entry(uf.find(v))
                    .or_insert_with(|| Component {
                        vars: Vec::new(),
                        rows: Vec::new(),
                        targets: Vec::new(),
                    })
                    .targets
                    .push(i),
                None => {
                    let value = t.form.eval(|v| self.known.value[v as usize]).unwrap_or(0.0);
                    failing.push(Finding {
                        target: i,
                        range: Some((value, value)),
                    });
                }
            }
        }
        for v in 0..n as u32 {
            if self.unknown(v)
                && model.carried[v as usize]
                && let Some(c) = by_root.get_mut(&uf.find(v))
            {
                c.vars.push(v);
            }
        }
        for (r, first) in active {
            if let Some(c) = by_root.get_mut(&uf.find(first)) {
                c.rows.push(r);
            }
        }
        by_root.into_values().collect()
    }

    /// Checks every component on the threads, the largest first so that the threads
    /// finish together; results in the components' order.
    fn check_components(&self, components: &[Component]) -> Result<Vec<ComponentResult>> {
        let mut order: Vec<usize> = (0..components.len()).collect();
        order.sort_by_key(|i| std::cmp::Reverse(components[*i].vars.len()));
        let next = AtomicUsize::new(0);
        let results: Vec<Mutex<Option<ComponentResult>>> =
            (0..components.len()).map(|_| Mutex::new(None)).collect();
        std::thread::scope(|s| {
            for _ in 0..self.threads.max(1) {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&c) = order.get(i) else { break };
                        let r = self.component(&components[c]);
                        if let Ok(mut slot) = results[c].lock() {
                            *slot = Some(r);
                        }
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .map_err(|_| Error::Internal("a disclosure worker panicked".into()))?
                    .ok_or_else(|| Error::Internal("a component was not checked".into()))
            })
            .collect()
    }

    /// Certifies the targets of one component; returns the failing ones and the number
    /// of linear programmes solved.
    fn component(&self, c: &Component) -> Result<(Vec<Finding>, usize)> {
        let model = self.model;
        if c.vars.len() > self.max_vars {
            let failing = c
                .targets
                .iter()
                .map(|t| Finding {
                    target: *t,
                    range: None,
                })
                .collect();
            return Ok((failing, 0));
        }
        let local: std::collections::HashMap<u32, usize> =
            c.vars.iter().enumerate().map(|(j, v)| (*v, j)).collect();
        // A row or form over the component's columns, its known part as a constant.
        let over_columns = |terms: &mut dyn Iterator<Item = (u32, f64)>| {
            let mut constant = 0.0;
            let mut local_terms = Vec::new();
            for (v, a) in terms {
                match self.known.value[v as usize] {
                    Some(x) => constant += a * x,
                    None => local_terms.push((local[&v], a)),
                }
            }
            (local_terms, constant)
        };
        let rows: Vec<LpRow> = c
            .rows
            .iter()
            .map(|r| {
                let r = *r as usize;
                let (terms, constant) = over_columns(&mut model.rows.get(r).iter().copied());
                LpRow {
                    terms,
                    lo: model.row_lo[r] - constant,
                    hi: model.row_hi[r] - constant,
                }
            })
            .collect();
        let lower: Vec<f64> = c.vars.iter().map(|v| model.lower[*v as usize]).collect();
        let forms: Vec<(Vec<(usize, f64)>, f64)> = c
            .targets
            .iter()
            .map(|t| over_columns(&mut self.targets[*t].form.terms().into_iter()))
            .collect();
        let mut seen = Seen {
            forms: &forms,
            lo: vec![f64::INFINITY; forms.len()],
            hi: vec![f64::NEG_INFINITY; forms.len()],
            k: self.k - EPS,
        };
        if let Some(hint) = self.hint
            && c.vars.iter().all(|v| hint[*v as usize].is_some())
        {
            seen.observe(&|j| hint[c.vars[j] as usize].unwrap_or(0.0));
        }
        let mut lp = Lp::new(&lower, &rows);
        seen.mixed_rounds(&mut lp)?;
        let mut failing = Vec::new();
        for i in 0..forms.len() {
            if let Some(range) = seen.exact(&mut lp, i)? {
                failing.push(Finding {
                    target: c.targets[i],
                    range: Some(range),
                });
            }
        }
        Ok((failing, lp.solves))
    }
}

/// The targets' forms over a component's columns (terms, constant) and the range of
/// each seen so far in the feasible points found.
struct Seen<'f> {
    forms: &'f [(Vec<(usize, f64)>, f64)],
    lo: Vec<f64>,
    hi: Vec<f64>,
    k: f64,
}

impl Seen<'_> {
    /// Every feasible point widens every target's seen range.
    fn observe(&mut self, x: &dyn Fn(usize) -> f64) {
        for (i, (terms, constant)) in self.forms.iter().enumerate() {
            let q: f64 = constant + terms.iter().map(|(j, a)| a * x(*j)).sum::<f64>();
            self.lo[i] = self.lo[i].min(q);
            self.hi[i] = self.hi[i].max(q);
        }
    }

    fn done(&self, i: usize) -> bool {
        self.hi[i] - self.lo[i] >= self.k
    }

    /// Objectives over many targets at once: all up, all down, and two random mixes.
    fn mixed_rounds(&mut self, lp: &mut Lp) -> Result<()> {
        for round in 0..4u64 {
            let open: Vec<usize> = (0..self.forms.len()).filter(|i| !self.done(*i)).collect();
            if open.is_empty() {
                break;
            }
            let mut objective: BTreeMap<usize, f64> = BTreeMap::new();
            for i in open {
                let sign = match round {
                    0 => 1.0,
                    1 => -1.0,
                    _ if mix(i as u64, round) => 1.0,
                    _ => -1.0,
                };
                for (j, a) in &self.forms[i].0 {
                    *objective.entry(*j).or_default() += sign * a;
                }
            }
            let objective: Vec<(usize, f64)> = objective.into_iter().collect();
            if let Optimum::Bounded { x, .. } = lp.optimise(&objective, true)? {
                self.observe(&|j| x[j]);
            }
        }
        Ok(())
    }

    /// The exact maximum, then (if the range is still narrow) the minimum of target
    /// `i`; every optimum is one more feasible point for every target. Returns the
    /// exact range when it is narrower than k.
    fn exact(&mut self, lp: &mut Lp, i: usize) -> Result<Option<(f64, f64)>> {
        if self.done(i) {
            return Ok(None);
        }
        let max = self.extreme(lp, i, true)?;
        self.hi[i] = self.hi[i].max(max);
        if self.done(i) {
            return Ok(None);
        }
        let min = self.extreme(lp, i, false)?;
        self.lo[i] = self.lo[i].min(min);
        if self.done(i) {
            return Ok(None);
        }
        Ok(Some((min, max)))
    }

    fn extreme(&mut self, lp: &mut Lp, i: usize, maximise: bool) -> Result<f64> {
        let (terms, constant) = &self.forms[i];
        Ok(match lp.optimise(terms, maximise)? {
            Optimum::Bounded { value, x } => {
                self.observe(&|j| x[j]);
                constant + value
            }
            Optimum::Unbounded if maximise => f64::INFINITY,
            Optimum::Unbounded => f64::NEG_INFINITY,
        })
    }
}

/// A deterministic coin for target `i` in round `round`.
fn mix(i: u64, round: u64) -> bool {
    let mut z = i
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(round.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z ^= z >> 31;
    z = z.wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 29;
    z & 1 == 1
}
