//! Which unknowns of a linear system are fixed: Gauss-Jordan elimination over the prime
//! field GF(2^61 - 1), one connected component at a time.
//!
//! The relations between published counts have small integer coefficients (+1, -1), so
//! elimination modulo a 61-bit prime gives the same row space as over the rationals
//! except with negligible probability, and stays exact (no floating point). An unknown
//! is fixed exactly when the reduced row-echelon form has a row whose only non-zero
//! entry is that unknown's column; its value is that row's right-hand side.

/// The prime 2^61 - 1.
const P: u64 = (1 << 61) - 1;

fn reduce(x: i64) -> u64 {
    (x.rem_euclid(P as i64)) as u64
}

fn mul(a: u64, b: u64) -> u64 {
    // Mersenne reduction: 2^61 = 1 (mod P), so x = hi * 2^61 + lo = hi + lo.
    let x = a as u128 * b as u128;
    let folded = (x as u64 & P) + (x >> 61) as u64;
    if folded >= P { folded - P } else { folded }
}

fn sub(a: u64, b: u64) -> u64 {
    if a >= b { a - b } else { a + P - b }
}

fn inverse(a: u64) -> u64 {
    // Fermat: a^(P-2).
    let (mut base, mut exp, mut acc) = (a, P - 2, 1u64);
    while exp > 0 {
        if exp & 1 == 1 {
            acc = mul(acc, base);
        }
        base = mul(base, base);
        exp >>= 1;
    }
    acc
}

/// Counts are far below P/2: map a field element back to a signed integer.
fn signed(x: u64) -> i64 {
    if x > P / 2 {
        x as i64 - P as i64
    } else {
        x as i64
    }
}

/// One relation: the sum of coefficient x unknown equals `rhs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equation {
    pub terms: Vec<(usize, i64)>,
    pub rhs: i64,
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// An equation over the field, its terms merged by unknown and without zeros.
struct Row {
    terms: Vec<(usize, u64)>,
    rhs: u64,
}

/// For each of `unknowns` variables, its value when the equations fix it.
///
/// First an exact reduction: an equation left with one unknown fixes it, and its value
/// is substituted into the other equations, until no such equation remains. What is
/// left is solved by Gauss-Jordan elimination per connected component.
pub fn fixed(unknowns: usize, equations: &[Equation]) -> Vec<Option<i64>> {
    let mut out: Vec<Option<u64>> = vec![None; unknowns];
    let mut rows: Vec<Row> = equations
        .iter()
        .map(|eq| {
            let mut terms: Vec<(usize, u64)> = Vec::with_capacity(eq.terms.len());
            let mut sorted = eq.terms.clone();
            sorted.sort_unstable_by_key(|t| t.0);
            for (v, c) in sorted {
                match terms.last_mut() {
                    Some((last, acc)) if *last == v => *acc = (*acc + reduce(c)) % P,
                    _ => terms.push((v, reduce(c))),
                }
            }
            terms.retain(|t| t.1 != 0);
            Row {
                terms,
                rhs: reduce(eq.rhs),
            }
        })
        .collect();

    // 1. Equations with a single unknown, propagated.
    let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); unknowns];
    for (r, row) in rows.iter().enumerate() {
        for &(v, _) in &row.terms {
            rows_of[v].push(r);
        }
    }
    let mut queue: Vec<usize> = (0..rows.len())
        .filter(|&r| rows[r].terms.len() == 1)
        .collect();
    while let Some(r) = queue.pop() {
        let [(v, c)] = rows[r].terms[..] else {
            continue;
        };
        let value = mul(rows[r].rhs, inverse(c));
        out[v] = Some(value);
        for &other in &rows_of[v] {
            let row = &mut rows[other];
            if let Some(i) = row.terms.iter().position(|t| t.0 == v) {
                let (_, c) = row.terms.remove(i);
                row.rhs = sub(row.rhs, mul(c, value));
                if row.terms.len() == 1 {
                    queue.push(other);
                }
            }
        }
    }
    rows.retain(|row| !row.terms.is_empty());

    // 2. Connected components of what is left: unknowns that share an equation.
    let mut parent: Vec<usize> = (0..unknowns).collect();
    for row in &rows {
        let first = row.terms[0].0;
        for &(v, _) in &row.terms[1..] {
            let (a, b) = (find(&mut parent, first), find(&mut parent, v));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut component_rows: Vec<Vec<usize>> = vec![Vec::new(); unknowns];
    for (r, row) in rows.iter().enumerate() {
        let root = find(&mut parent, row.terms[0].0);
        component_rows[root].push(r);
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); unknowns];
    for (v, value) in out.iter().enumerate() {
        if value.is_none() {
            let root = find(&mut parent, v);
            members[root].push(v);
        }
    }
    let mut column = vec![usize::MAX; unknowns];
    for root in 0..unknowns {
        let eqs = &component_rows[root];
        if eqs.is_empty() {
            continue;
        }
        let vars = &members[root];
        for (i, &v) in vars.iter().enumerate() {
            column[v] = i;
        }
        let width = vars.len();
        // Dense rows: coefficients then the right-hand side.
        let mut dense: Vec<Vec<u64>> = eqs
            .iter()
            .map(|&r| {
                let mut row = vec![0u64; width + 1];
                for &(v, c) in &rows[r].terms {
                    row[column[v]] = c;
                }
                row[width] = rows[r].rhs;
                row
            })
            .collect();
        // Gauss-Jordan to reduced row-echelon form. A pivot row is applied through its
        // non-zero entries only: the relations are sparse.
        let mut pivot_row = 0;
        let mut pivots = Vec::new();
        let mut nonzero = Vec::with_capacity(width + 1);
        for col in 0..width {
            let Some(r) = (pivot_row..dense.len()).find(|&r| dense[r][col] != 0) else {
                continue;
            };
            dense.swap(pivot_row, r);
            let inv = inverse(dense[pivot_row][col]);
            nonzero.clear();
            for (j, x) in dense[pivot_row].iter_mut().enumerate() {
                if *x != 0 {
                    *x = mul(*x, inv);
                    nonzero.push(j);
                }
            }
            let (before, rest) = dense.split_at_mut(pivot_row);
            let (pivot, after) = rest.split_first_mut().expect("pivot row in range");
            for row in before.iter_mut().chain(after.iter_mut()) {
                let f = row[col];
                if f != 0 {
                    for &j in &nonzero {
                        row[j] = sub(row[j], mul(f, pivot[j]));
                    }
                }
            }
            pivots.push((pivot_row, col));
            pivot_row += 1;
            if pivot_row == dense.len() {
                break;
            }
        }
        for (r, col) in pivots {
            let alone = dense[r][..width]
                .iter()
                .enumerate()
                .all(|(j, x)| j == col || *x == 0);
            if alone {
                out[vars[col]] = Some(dense[r][width]);
            }
        }
    }
    out.into_iter().map(|v| v.map(signed)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(terms: &[(usize, i64)], rhs: i64) -> Equation {
        Equation {
            terms: terms.to_vec(),
            rhs,
        }
    }

    #[test]
    fn one_unknown_in_a_relation_is_fixed() {
        // x0 = 10 - 7
        assert_eq!(fixed(1, &[eq(&[(0, 1)], 3)]), vec![Some(3)]);
    }

    #[test]
    fn two_unknowns_in_one_relation_are_not() {
        // x0 + x1 = 5
        assert_eq!(fixed(2, &[eq(&[(0, 1), (1, 1)], 5)]), vec![None, None]);
    }

    #[test]
    fn a_combination_of_relations_fixes_what_none_does_alone() {
        // Rows: x0 + x1 = 5, x2 + x3 = 7; columns: x0 + x2 = 4, x1 + x3 = 8.
        // Rank 3 of 4: nothing is fixed.
        let square = [
            eq(&[(0, 1), (1, 1)], 5),
            eq(&[(2, 1), (3, 1)], 7),
            eq(&[(0, 1), (2, 1)], 4),
            eq(&[(1, 1), (3, 1)], 8),
        ];
        assert_eq!(fixed(4, &square), vec![None; 4]);
        // A total over another cut, x0 + x3 = 5, fixes all four: x = (1, 4, 3, 4).
        let mut more = square.to_vec();
        more[0].rhs = 5;
        more[1].rhs = 7;
        more.push(eq(&[(0, 1), (3, 1)], 5));
        assert_eq!(fixed(4, &more), vec![Some(1), Some(4), Some(3), Some(4)]);
    }

    #[test]
    fn differences_and_negative_values_come_back_signed() {
        // x0 - x1 = -2, x1 = 5 -> x0 = 3
        assert_eq!(
            fixed(2, &[eq(&[(0, 1), (1, -1)], -2), eq(&[(1, 1)], 5)]),
            vec![Some(3), Some(5)]
        );
        assert_eq!(signed(reduce(-7)), -7);
    }

    /// An independent solver: exact rational Gauss-Jordan (i128 fractions) for small
    /// systems. x_u is fixed exactly when some reduced row is zero outside column u.
    fn fixed_rational(n: usize, eqs: &[Equation]) -> Vec<Option<i64>> {
        fn gcd(a: i128, b: i128) -> i128 {
            if b == 0 { a.abs() } else { gcd(b, a % b) }
        }
        #[derive(Clone, Copy)]
        struct Q(i128, i128);
        impl Q {
            fn norm(self) -> Q {
                let g = gcd(self.0, self.1).max(1) * self.1.signum();
                Q(self.0 / g, self.1 / g)
            }
            fn sub(self, o: Q) -> Q {
                Q(self.0 * o.1 - o.0 * self.1, self.1 * o.1).norm()
            }
            fn mul(self, o: Q) -> Q {
                Q(self.0 * o.0, self.1 * o.1).norm()
            }
            fn div(self, o: Q) -> Q {
                Q(self.0 * o.1, self.1 * o.0).norm()
            }
        }
        let mut rows: Vec<Vec<Q>> = eqs
            .iter()
            .map(|e| {
                let mut r = vec![Q(0, 1); n + 1];
                for &(v, c) in &e.terms {
                    r[v] = Q(r[v].0 + c as i128, 1);
                }
                r[n] = Q(e.rhs as i128, 1);
                r
            })
            .collect();
        let mut pr = 0;
        let mut pivots = vec![];
        for col in 0..n {
            let Some(r) = (pr..rows.len()).find(|&r| rows[r][col].0 != 0) else {
                continue;
            };
            rows.swap(pr, r);
            let p = rows[pr][col];
            for x in rows[pr].iter_mut() {
                *x = x.div(p);
            }
            let pivot = rows[pr].clone();
            for (i, row) in rows.iter_mut().enumerate() {
                if i != pr && row[col].0 != 0 {
                    let f = row[col];
                    for (x, q) in row.iter_mut().zip(&pivot) {
                        *x = x.sub(f.mul(*q));
                    }
                }
            }
            pivots.push((pr, col));
            pr += 1;
        }
        let mut out = vec![None; n];
        for (r, col) in pivots {
            if rows[r][..n]
                .iter()
                .enumerate()
                .all(|(j, x)| j == col || x.0 == 0)
            {
                let v = rows[r][n];
                assert_eq!(v.1, 1, "fixed counts are integers");
                out[col] = Some(v.0 as i64);
            }
        }
        out
    }

    proptest::proptest! {
        /// Random consistent systems with coefficients in -1..=1 (as the relations have):
        /// the modular solver fixes exactly what exact rational elimination fixes.
        #[test]
        fn agrees_with_exact_rational_elimination(
            values in proptest::collection::vec(-20i64..50, 1..7),
            shape in proptest::collection::vec(proptest::collection::vec(-1i64..=1, 7), 0..8),
        ) {
            let n = values.len();
            let eqs: Vec<Equation> = shape
                .iter()
                .map(|coefs| {
                    let terms: Vec<(usize, i64)> =
                        (0..n).filter(|&j| coefs[j] != 0).map(|j| (j, coefs[j])).collect();
                    let rhs = terms.iter().map(|&(j, c)| c * values[j]).sum();
                    Equation { terms, rhs }
                })
                .filter(|e| !e.terms.is_empty())
                .collect();
            let got = fixed(n, &eqs);
            proptest::prop_assert_eq!(&got, &fixed_rational(n, &eqs));
            for (j, v) in got.iter().enumerate() {
                if let Some(v) = v {
                    proptest::prop_assert_eq!(*v, values[j], "a fixed count has its true value");
                }
            }
        }
    }
}
