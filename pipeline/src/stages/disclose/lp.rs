//! One linear programme for HiGHS (the `highs` crate, which builds HiGHS from source):
//! columns with lower bounds, rows `lo ≤ Σ a·x ≤ hi`, and a sequence of objectives
//! solved one after the other from the previous basis (only the costs change, so each
//! solve starts where the last one ended).

use highs::{Col, HighsModelStatus, Model, RowProblem, Sense};

use crate::error::{Error, Result};

/// The outcome of one optimisation.
#[derive(Debug, Clone)]
pub enum Optimum {
    /// The optimal value and the solution (one value per column).
    Bounded { value: f64, x: Vec<f64> },
    /// The objective is unbounded in this direction.
    Unbounded,
}

/// A linear programme kept between solves.
pub struct Lp {
    model: Option<Model>,
    cols: Vec<Col>,
    /// The columns with a non-zero cost now.
    costed: Vec<usize>,
    pub solves: usize,
}

/// A row of an [`Lp`]: terms over column indices, and its bounds.
#[derive(Debug, Clone)]
pub struct LpRow {
    pub terms: Vec<(usize, f64)>,
    pub lo: f64,
    pub hi: f64,
}

impl Lp {
    /// Columns `x_j ≥ lower[j]` (−∞ allowed), no upper bounds; the rows as given.
    pub fn new(lower: &[f64], rows: &[LpRow]) -> Lp {
        let mut problem = RowProblem::default();
        let cols: Vec<Col> = lower
            .iter()
            .map(|l| {
                if l.is_finite() {
                    problem.add_column(0.0, *l..)
                } else {
                    problem.add_column::<f64, _>(0.0, ..)
                }
            })
            .collect();
        for row in rows {
            let terms: Vec<(Col, f64)> = row.terms.iter().map(|(j, a)| (cols[*j], *a)).collect();
            match (row.lo.is_finite(), row.hi.is_finite()) {
                (true, true) => problem.add_row(row.lo..=row.hi, terms),
                (true, false) => problem.add_row(row.lo.., terms),
                (false, true) => problem.add_row(..=row.hi, terms),
                (false, false) => problem.add_row::<f64, _, _, _>(.., terms),
            }
        }
        let mut model = Model::new(problem);
        model.make_quiet();
        model.set_option("threads", 1);
        model.set_option("presolve", "off");
        Lp {
            model: Some(model),
            cols,
            costed: Vec::new(),
            solves: 0,
        }
    }

    /// Optimises `Σ c·x` over the columns (maximising or minimising).
    pub fn optimise(&mut self, objective: &[(usize, f64)], maximise: bool) -> Result<Optimum> {
        let mut model = self
            .model
            .take()
            .ok_or_else(|| Error::Internal("a linear programme was lost after an error".into()))?;
        for j in self.costed.drain(..) {
            model.change_column_cost(self.cols[j], 0.0);
        }
        for (j, c) in objective {
            model.change_column_cost(self.cols[*j], *c);
            self.costed.push(*j);
        }
        model.set_sense(if maximise {
            Sense::Maximise
        } else {
            Sense::Minimise
        });
        let solved = model
            .try_solve()
            .map_err(|e| Error::Internal(format!("HiGHS failed: {e:?}")))?;
        self.solves += 1;
        let status = solved.status();
        let out = match status {
            HighsModelStatus::Optimal => {
                let solution = solved.get_solution();
                Optimum::Bounded {
                    value: objective
                        .iter()
                        .map(|(j, c)| c * solution.columns()[*j])
                        .sum(),
                    x: solution.columns().to_vec(),
                }
            }
            HighsModelStatus::Unbounded | HighsModelStatus::UnboundedOrInfeasible => {
                Optimum::Unbounded
            }
            other => {
                return Err(Error::Internal(format!(
                    "HiGHS: the attacker's system has no solution ({other:?}): the published counts contradict the rules"
                )));
            }
        };
        self.model = Some(solved.into());
        Ok(out)
    }
}
