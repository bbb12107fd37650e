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
        let model = self.model;
        let unknown = |v: u32| self.known.value[v as usize].is_none();
        let n = model.vars();
        let mut uf = UnionFind((0..n as u32).collect());
        let mut active = Vec::new();
        for r in 0..model.rows.len() {
            let mut first = None;
            for (v, _) in model.rows.get(r) {
                if unknown(*v) {
                    match first {
                        None => first = Some(*v),
                        Some(f) => uf.union(f, *v),
                    }
                }
            }
            if first.is_some() {
                active.push(r as u32);
            }
        }
        let mut out = Checked::default();
        for t in self.targets {
            if let Form::Diff(a, b) = t.form
                && unknown(a)
                && unknown(b)
            {
                uf.union(a, b);
            }
        }
        // Components that hold a target.
        let mut by_root: BTreeMap<u32, Component> = BTreeMap::new();
        for (i, t) in self.targets.iter().enumerate() {
            match t.form.vars().find(|v| unknown(*v)) {
                Some(v) => {
                    let root = uf.find(v);
                    by_root
                        .entry(root)
                        .or_insert_with(|| Component {
                            vars: Vec::new(),
                            rows: Vec::new(),
                            targets: Vec::new(),
                        })
                        .targets
                        .push(i);
                }
                None => {
                    // Every count of the form is published: its range is a point.
                    let value = t.form.eval(|v| self.known.value[v as usize]).unwrap_or(0.0);
                    out.failing.push(Finding {
                        target: i,
                        range: Some((value, value)),
                    });
                }
            }
        }
        for v in 0..n as u32 {
            if unknown(v) && model.carried[v as usize] {
                let root = uf.find(v);
                if let Some(c) = by_root.get_mut(&root) {
                    c.vars.push(v);
                }
            }
        }
        for r in active {
            let first = model
                .rows
                .get(r as usize)
                .iter()
                .find(|(v, _)| unknown(*v))
                .map(|(v, _)| *v);
            if let Some(v) = first {
                let root = uf.find(v);
                if let Some(c) = by_root.get_mut(&root) {
                    c.rows.push(r);
                }
            }
        }
        let components: Vec<Component> = by_root.into_values().collect();
        out.components = components.len();
        // Largest first, so that the threads finish together.
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
        for slot in results {
            let r = slot
                .into_inner()
                .map_err(|_| Error::Internal("a disclosure worker panicked".into()))?
                .ok_or_else(|| Error::Internal("a component was not checked".into()))?;
            let (failing, lps) = r?;
            out.lps += lps;
            out.failing.extend(failing);
        }
        out.failing.sort_by_key(|f| f.target);
        Ok(out)
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
        let rows: Vec<LpRow> = c
            .rows
            .iter()
            .map(|r| {
                let r = *r as usize;
                let mut constant = 0.0;
                let mut terms = Vec::new();
                for (v, a) in model.rows.get(r) {
                    match self.known.value[*v as usize] {
                        Some(x) => constant += a * x,
                        None => terms.push((local[v], *a)),
                    }
                }
                LpRow {
                    terms,
                    lo: model.row_lo[r] - constant,
                    hi: model.row_hi[r] - constant,
                }
            })
            .collect();
        let lower: Vec<f64> = c.vars.iter().map(|v| model.lower[*v as usize]).collect();
        // The targets' forms over the columns, with their known part as a constant.
        let forms: Vec<(Vec<(usize, f64)>, f64)> = c
            .targets
            .iter()
            .map(|t| {
                let mut constant = 0.0;
                let mut terms = Vec::new();
                for (v, a) in self.targets[*t].form.terms() {
                    match self.known.value[v as usize] {
                        Some(x) => constant += a * x,
                        None => terms.push((local[&v], a)),
                    }
                }
                (terms, constant)
            })
            .collect();
        let mut lo = vec![f64::INFINITY; forms.len()];
        let mut hi = vec![f64::NEG_INFINITY; forms.len()];
        let observe = |x: &dyn Fn(usize) -> f64, lo: &mut [f64], hi: &mut [f64]| {
            for (i, (terms, constant)) in forms.iter().enumerate() {
                let q: f64 = constant + terms.iter().map(|(j, a)| a * x(*j)).sum::<f64>();
                lo[i] = lo[i].min(q);
                hi[i] = hi[i].max(q);
            }
        };
        if let Some(hint) = self.hint
            && c.vars.iter().all(|v| hint[*v as usize].is_some())
        {
            observe(
                &|j| hint[c.vars[j] as usize].unwrap_or(0.0),
                &mut lo,
                &mut hi,
            );
        }
        let k = self.k - EPS;
        let done = |i: usize, lo: &[f64], hi: &[f64]| hi[i] - lo[i] >= k;
        let mut lp = Lp::new(&lower, &rows);
        // Objectives over many targets at once: all up, all down, and two random mixes.
        for round in 0..4u64 {
            let open: Vec<usize> = (0..forms.len()).filter(|i| !done(*i, &lo, &hi)).collect();
            if open.is_empty() {
                break;
            }
            let mut objective: BTreeMap<usize, f64> = BTreeMap::new();
            for i in open {
                let sign = match round {
                    0 => 1.0,
                    1 => -1.0,
                    _ => {
                        if mix(i as u64, round) {
                            1.0
                        } else {
                            -1.0
                        }
                    }
                };
                for (j, a) in &forms[i].0 {
                    *objective.entry(*j).or_default() += sign * a;
                }
            }
            let objective: Vec<(usize, f64)> = objective.into_iter().collect();
            if let Optimum::Bounded { x, .. } = lp.optimise(&objective, true)? {
                observe(&|j| x[j], &mut lo, &mut hi);
            }
        }
        // One by one.
        let mut failing = Vec::new();
        for i in 0..forms.len() {
            if done(i, &lo, &hi) {
                continue;
            }
            let (terms, constant) = &forms[i];
            // The exact maximum, then (if the range is still narrow) the minimum; every
            // optimum is one more feasible point for every target.
            let mut extreme = |maximise: bool, lo: &mut [f64], hi: &mut [f64]| -> Result<f64> {
                Ok(match lp.optimise(terms, maximise)? {
                    Optimum::Bounded { value, x } => {
                        observe(&|j| x[j], lo, hi);
                        constant + value
                    }
                    Optimum::Unbounded if maximise => f64::INFINITY,
                    Optimum::Unbounded => f64::NEG_INFINITY,
                })
            };
            let max = extreme(true, &mut lo, &mut hi)?;
            hi[i] = hi[i].max(max);
            if done(i, &lo, &hi) {
                continue;
            }
            let min = extreme(false, &mut lo, &mut hi)?;
            lo[i] = lo[i].min(min);
            if done(i, &lo, &hi) {
                continue;
            }
            failing.push(Finding {
                target: c.targets[i],
                range: Some((min, max)),
            });
        }
        Ok((failing, lp.solves))
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
