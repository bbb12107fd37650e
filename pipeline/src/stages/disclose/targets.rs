//! What must not be learned (methodology.md, "The requirement"): for every withheld
//! primary cell, each count that made it primary; for every nested pair whose difference
//! is small, the difference. Each is a [`Target`]: a linear form over the attacker's
//! variables whose range must be at least k wide.

use std::collections::BTreeMap;

use serde::Serialize;

use super::rules::{Kind, Protected, Reason, nested_pairs, sensitive_difference};
use super::system::Model;
use super::{Cell, Why};

/// A count (one variable) or the difference of two (a − b).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Form {
    One(u32),
    Diff(u32, u32),
}

impl Form {
    pub fn vars(&self) -> impl Iterator<Item = u32> {
        match *self {
            Form::One(a) => [Some(a), None],
            Form::Diff(a, b) => [Some(a), Some(b)],
        }
        .into_iter()
        .flatten()
    }

    /// The form's terms: (variable, coefficient).
    pub fn terms(&self) -> Vec<(u32, f64)> {
        match *self {
            Form::One(a) => vec![(a, 1.0)],
            Form::Diff(a, b) => vec![(a, 1.0), (b, -1.0)],
        }
    }

    /// The form's value at a point where every variable has a value.
    pub fn eval(&self, x: impl Fn(u32) -> Option<f64>) -> Option<f64> {
        self.terms()
            .into_iter()
            .map(|(v, c)| x(v).map(|x| c * x))
            .sum()
    }
}

/// Why a form must keep a range k wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum What {
    /// A count that made a withheld cell primary.
    Primary { reason: Reason },
    /// A small difference of two nested counts (larger, smaller).
    Nested { larger: Kind, smaller: Kind },
}

/// A form whose range must be at least k wide, with the cell it belongs to (the first
/// such cell, for messages).
#[derive(Debug, Clone)]
pub struct Target {
    pub form: Form,
    pub cell: u32,
    pub what: What,
}

/// Every target of `cells` (with their true counts and why each withheld cell was
/// withheld), one per distinct form, in a deterministic order.
pub fn targets(model: &Model, cells: &[Cell], truth: &[Option<f64>], k: i64) -> Vec<Target> {
    let mut by_form: BTreeMap<Form, Target> = BTreeMap::new();
    for (i, c) in cells.iter().enumerate() {
        let Some(Why::Primary(reasons)) = &c.why else {
            continue;
        };
        let vars = &model.cell_vars[i];
        for reason in reasons {
            let form = match (reason.protects(), vars.numerator, vars.denominator) {
                (Protected::Denominator, _, Some(d)) => Form::One(d),
                (Protected::Numerator, Some(n), _) => Form::One(n),
                (Protected::Complement, Some(n), Some(d)) => Form::Diff(d, n),
                _ => continue,
            };
            by_form.entry(form).or_insert(Target {
                form,
                cell: i as u32,
                what: What::Primary { reason: *reason },
            });
        }
    }
    // Nested pairs: per period and place, every pair of existing counts a ⊇ b whose true
    // difference is small.
    let index = model.system_index();
    let places = model.places.len();
    let first_cell = |v: u32| model.var_cells.get(v as usize).first().copied();
    for (larger, smaller) in nested_pairs() {
        for (&(kind, years, year), &s) in &index {
            if kind != smaller {
                continue;
            }
            let Some(&big) = index.get(&(larger, years, year)) else {
                continue;
            };
            for p in 0..places {
                let (a, b) = (model.var(big, p), model.var(s, p));
                if !model.carried[a as usize] || !model.carried[b as usize] {
                    continue;
                }
                let (Some(x), Some(y)) = (truth[a as usize], truth[b as usize]) else {
                    continue;
                };
                if !sensitive_difference(x.round() as i64, y.round() as i64, k) {
                    continue;
                }
                let Some(cell) = first_cell(a).or_else(|| first_cell(b)) else {
                    continue;
                };
                let form = Form::Diff(a, b);
                by_form.entry(form).or_insert(Target {
                    form,
                    cell,
                    what: What::Nested { larger, smaller },
                });
            }
        }
    }
    by_form.into_values().collect()
}
