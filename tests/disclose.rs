//! Disclosure control v2 (methodology.md, "Disclosure control"): one hand case per attack
//! class of the attacker the specification describes (bounds, existence, nesting, group
//! disclosure, absent cells), each shown to expose a withheld count under a pattern that
//! the equations alone leave open, and to be safe after protection; the audit's ranges
//! against an exact rational reference (Fourier–Motzkin elimination) on random small
//! tables; and properties on random tables (after protection the attack finds nothing;
//! with primary suppression alone it finds what it should).

use std::collections::{BTreeMap, HashMap, HashSet};

use proptest::prelude::*;
use skolegang::codes::Codes;
use skolegang::stages::disclose::rules::{Reason, primary};
use skolegang::stages::disclose::system::Model;
use skolegang::stages::disclose::targets::{Form, Target, What};
use skolegang::stages::disclose::{
    Cell, Exposure, Why, attack, mark_primary, protect, protect_with, ranges,
};

/// A finest count: kommune, `anbragt` placement type / `forebyggende` / `oevrige`,
/// numerator (none for a mean), denominator, grade sum (a mean only).
#[derive(Debug, Clone, Copy)]
struct Leaf {
    kommune: i32,
    fine: &'static str,
    num: Option<i64>,
    den: i64,
    grade_sum: Option<f64>,
}

fn share(kommune: i32, fine: &'static str, num: i64, den: i64) -> Leaf {
    Leaf {
        kommune,
        fine,
        num: Some(num),
        den,
        grade_sum: None,
    }
}

fn is_type(fine: &str) -> bool {
    !matches!(fine, "forebyggende" | "oevrige")
}

/// Every cell of one indicator and period from its finest counts, rolled up through
/// every hierarchy of the methodology (kommune → region → Danmark; placement types →
/// placement groups → anbragt → udsat → alle; forebyggende → udsat; oevrige → alle).
/// Cells without persons are absent, as in the published tables.
fn table(indicator: &str, period: &str, years: u8, year: i32, leaves: &[Leaf]) -> Vec<Cell> {
    let codes = Codes::embedded().expect("codes");
    let region_of = |k: i32| {
        codes
            .municipalities
            .iter()
            .find(|m| m.code == k as i64)
            .map(|m| m.region_code as i32)
            .expect("kommune")
    };
    let group_of = |t: &str| {
        codes
            .placements
            .iter()
            .find(|p| p.placement_type == t)
            .map(|p| p.placement_group.clone())
            .expect("placement type")
    };
    type Sum = (Option<i64>, i64, Option<f64>);
    let mut sums: BTreeMap<(i32, String, String), Sum> = BTreeMap::new();
    for l in leaves {
        let mut places: Vec<(String, String)> = vec![("alle".into(), "alle".into())];
        if l.fine == "oevrige" {
            places.push(("oevrige".into(), "alle".into()));
        } else {
            places.push(("udsat".into(), "alle".into()));
            if is_type(l.fine) {
                places.push(("anbragt".into(), "alle".into()));
                places.push(("anbragt".into(), l.fine.into()));
                let g = group_of(l.fine);
                if g != l.fine {
                    places.push(("anbragt".into(), g));
                }
            } else {
                places.push((l.fine.into(), "alle".into()));
            }
        }
        for geo in [l.kommune, region_of(l.kommune), 0] {
            for (g, p) in &places {
                let e = sums.entry((geo, g.clone(), p.clone())).or_insert((
                    l.num.map(|_| 0),
                    0,
                    l.grade_sum.map(|_| 0.0),
                ));
                e.0 = e.0.zip(l.num).map(|(a, b)| a + b);
                e.1 += l.den;
                e.2 = e.2.zip(l.grade_sum).map(|(a, b)| a + b);
            }
        }
    }
    sums.into_iter()
        .filter(|(_, (_, den, _))| *den > 0)
        .map(|((geo, group, placement), (num, den, gs))| Cell {
            indicator: indicator.into(),
            period: period.into(),
            years,
            year,
            geo_code: geo,
            group,
            placement,
            numerator: num,
            denominator: Some(den),
            grade_sum: gs,
            suppressed: false,
            why: None,
        })
        .collect()
}

fn find<'a>(cells: &'a mut [Cell], geo: i32, group: &str, placement: &str) -> &'a mut Cell {
    cells
        .iter_mut()
        .find(|c| c.geo_code == geo && c.group == group && c.placement == placement)
        .unwrap_or_else(|| panic!("no cell {geo} {group}/{placement}"))
}

/// Withholds the named cells as secondary (those not primary already).
fn also_withhold(cells: &mut [Cell], which: &[(i32, &str, &str)]) {
    for (geo, group, placement) in which {
        let c = find(cells, *geo, group, placement);
        if !c.suppressed {
            c.suppressed = true;
            c.why = Some(Why::Secondary);
        }
    }
}

/// The audit's attack on the cells as they would be published.
fn exposures(cells: &[Cell], k: i64) -> Vec<Exposure> {
    let codes = Codes::embedded().expect("codes");
    let published: Vec<Cell> = cells.iter().map(Cell::published).collect();
    attack(&published, cells, k, codes, 1).expect("attack")
}

fn exposure<'a>(found: &'a [Exposure], geo: i32, group: &str, placement: &str) -> &'a Exposure {
    found
        .iter()
        .find(|e| e.geo_code == geo && e.group == group && e.placement == placement)
        .unwrap_or_else(|| panic!("no exposure at {geo} {group}/{placement} in {found:#?}"))
}

fn protected(mut cells: Vec<Cell>, k: i64) -> Vec<Cell> {
    let codes = Codes::embedded().expect("codes");
    protect(&mut cells, k, codes, 1).expect("protect");
    cells
}

/// Bounds (the Frederikshavn arithmetic). Nordjylland's øvrige numerator is 90;
/// the nine published kommuner sum to 88; Frederikshavn (2, primary) and Læsø are
/// withheld in øvrige, udsat and forebyggende. The equations leave one degree of
/// freedom, but Læsø publishes alle 0/28, so (counts ≥ 0) Læsø's øvrige and
/// forebyggende are 0, and Frederikshavn's withheld øvrige numerator is exactly 2.
#[test]
fn bounds_pin_frederikshavn() {
    let others = [773, 787, 810, 820, 840, 846, 849, 851, 860];
    let mut leaves = vec![
        share(813, "oevrige", 2, 400),
        share(813, "forebyggende", 12, 40),
        share(825, "oevrige", 0, 20),
        share(825, "forebyggende", 0, 8),
    ];
    for (i, k) in others.iter().enumerate() {
        let num = if i == 0 { 8 } else { 10 }; // 8 + 8 × 10 = 88
        leaves.push(share(*k, "oevrige", num, 300));
        leaves.push(share(*k, "forebyggende", 15, 50));
    }
    let cells = table("no_fp9_by_17", "2022", 1, 2022, &leaves);
    let region = cells
        .iter()
        .find(|c| c.geo_code == 1081 && c.group == "oevrige")
        .expect("Nordjylland øvrige");
    assert_eq!(region.numerator, Some(90));
    let laeso = cells
        .iter()
        .find(|c| c.geo_code == 825 && c.group == "alle")
        .expect("Læsø alle");
    assert_eq!((laeso.numerator, laeso.denominator), (Some(0), Some(28)));

    let k = 5;
    let mut v1 = cells.clone();
    mark_primary(&mut v1, k).expect("primary");
    assert_eq!(
        find(&mut v1, 813, "oevrige", "alle").why,
        Some(Why::Primary(vec![Reason::SmallNumerator]))
    );
    also_withhold(
        &mut v1,
        &[
            (813, "oevrige", "alle"),
            (813, "udsat", "alle"),
            (813, "forebyggende", "alle"),
            (825, "oevrige", "alle"),
            (825, "udsat", "alle"),
            (825, "forebyggende", "alle"),
        ],
    );
    let found = exposures(&v1, k);
    let e = exposure(&found, 813, "oevrige", "alle");
    assert_eq!(e.count, "numerator");
    assert_eq!(e.range, Some((2.0, 2.0)));

    let safe = protected(cells, k);
    assert!(exposures(&safe, k).is_empty());
    assert!(
        safe.iter()
            .find(|c| c.geo_code == 813 && c.group == "oevrige")
            .expect("cell")
            .suppressed
    );
}

/// Existence (the Tårnby case, with v2's numbers): anbragt n = 15, familiepleje
/// 12, and three placement groups that exist but are withheld: each row means at least
/// one pupil, so each holds exactly one.
#[test]
fn existence_pins_three_withheld_groups_of_one() {
    let leaves = vec![
        share(185, "plejefamilie", 6, 12),
        share(185, "doegninstitution", 1, 1),
        share(185, "eget_vaerelse", 0, 1),
        share(185, "uoplyst", 1, 1),
        share(185, "forebyggende", 20, 30),
        share(185, "oevrige", 300, 350),
        share(155, "plejefamilie", 10, 20),
        share(155, "doegninstitution", 6, 12),
        share(155, "eget_vaerelse", 6, 12),
        share(155, "uoplyst", 6, 12),
        share(155, "forebyggende", 20, 30),
        share(155, "oevrige", 200, 250),
    ];
    let cells = table("fp9_participation", "2011/2012", 1, 2011, &leaves);
    let k = 5;
    let mut v1 = cells.clone();
    mark_primary(&mut v1, k).expect("primary");
    // Dragør's groups go too, or the region would give Tårnby's away by subtraction.
    also_withhold(
        &mut v1,
        &[
            (155, "anbragt", "institution"),
            (155, "anbragt", "doegninstitution"),
            (155, "anbragt", "anden"),
            (155, "anbragt", "eget_vaerelse"),
            (155, "anbragt", "uoplyst"),
        ],
    );
    for p in ["institution", "anden", "uoplyst"] {
        assert!(find(&mut v1, 185, "anbragt", p).suppressed, "{p}");
    }
    assert!(!find(&mut v1, 185, "anbragt", "alle").suppressed);
    assert!(!find(&mut v1, 185, "anbragt", "familiepleje").suppressed);
    let found = exposures(&v1, k);
    for p in ["institution", "anden", "uoplyst"] {
        let e = found
            .iter()
            .find(|e| e.geo_code == 185 && e.placement == p && e.count == "denominator")
            .unwrap_or_else(|| panic!("{p} in {found:#?}"));
        assert_eq!(e.range, Some((1.0, 1.0)), "{p}");
    }
    assert!(exposures(&protected(cells, k), k).is_empty());
}

/// Nesting: 9 participants and 8 passed, both published (neither cell is primary):
/// one pupil sat the exams and failed. The difference must keep a range k wide.
#[test]
fn a_small_nested_difference_is_protected() {
    let mut cells = Vec::new();
    for (indicator, f147, f101, o147, o101) in [
        ("fp9_participation", 9, 50, 300, 400),
        ("fp9_passed", 8, 30, 250, 380),
    ] {
        cells.extend(table(
            indicator,
            "2023/2024",
            1,
            2023,
            &[
                share(147, "forebyggende", f147, 20),
                share(101, "forebyggende", f101, 80),
                share(147, "oevrige", o147, 400),
                share(101, "oevrige", o101, 500),
            ],
        ));
    }
    let k = 5;
    let mut v1 = cells.clone();
    mark_primary(&mut v1, k).expect("primary");
    assert!(v1.iter().all(|c| !c.suppressed), "no primary cell");
    let found = exposures(&v1, k);
    let e = exposure(&found, 147, "forebyggende", "alle");
    assert_eq!(e.count, "participants − passed");
    assert_eq!(e.range, Some((1.0, 1.0)));
    let safe = protected(cells, k);
    assert!(exposures(&safe, k).is_empty());
    assert!(safe.iter().any(|c| c.suppressed && c.geo_code == 147));
}

/// Group disclosure: 0 % of a group of 7 says something about every one of them. The
/// v2 rule makes it primary (a share is published only from a denominator of 2k).
#[test]
fn zero_of_seven_is_primary_and_protected() {
    assert_eq!(
        primary("youth_edu_18", Some(0), 7, 5),
        vec![Reason::AllOrNone]
    );
    assert_eq!(
        primary("youth_edu_18", Some(7), 7, 5),
        vec![Reason::AllOrNone]
    );
    assert!(primary("youth_edu_18", Some(0), 10, 5).is_empty());
    let leaves = vec![
        share(147, "plejefamilie", 0, 7),
        share(147, "doegninstitution", 6, 12),
        share(147, "forebyggende", 20, 40),
        share(147, "oevrige", 300, 350),
        share(101, "plejefamilie", 9, 20),
        share(101, "doegninstitution", 8, 15),
        share(101, "forebyggende", 30, 60),
        share(101, "oevrige", 500, 600),
    ];
    let cells = table("youth_edu_18", "2022", 1, 2022, &leaves);
    let k = 5;
    // Published as v1 did (0/7 was not small then): the audit reports a primary cell.
    let found = {
        let mut record = cells.clone();
        mark_primary(&mut record, k).expect("primary");
        for c in record.iter_mut() {
            c.suppressed = false;
        }
        exposures(&record, k)
    };
    assert!(
        found.iter().any(|e| e.geo_code == 147
            && e.placement == "plejefamilie"
            && e.rule
                == What::Primary {
                    reason: Reason::AllOrNone
                }),
        "{found:#?}"
    );
    let safe = protected(cells, k);
    assert!(
        safe.iter()
            .find(|c| c.geo_code == 147 && c.placement == "plejefamilie")
            .expect("cell")
            .suppressed
    );
    assert!(exposures(&safe, k).is_empty());
}

/// An absent cell means 0: of Region Sjælland's 17 kommuner only Greve and Køge have
/// a forebyggende row, so the region's forebyggende numerator is Greve's plus Køge's,
/// and Greve's withheld 3 is the region's 33 less Køge's published 30.
#[test]
fn an_absent_cell_counts_zero() {
    let leaves = vec![
        share(253, "forebyggende", 3, 12),
        share(253, "oevrige", 300, 350),
        share(259, "forebyggende", 30, 60),
        share(259, "oevrige", 280, 330),
        share(265, "oevrige", 200, 250),
    ];
    let cells = table("fp9_participation", "2023/2024", 1, 2023, &leaves);
    assert!(
        !cells
            .iter()
            .any(|c| c.geo_code == 265 && c.group == "forebyggende")
    );
    let k = 5;
    let mut v1 = cells.clone();
    mark_primary(&mut v1, k).expect("primary");
    assert!(find(&mut v1, 253, "forebyggende", "alle").suppressed);
    assert!(find(&mut v1, 253, "udsat", "alle").suppressed);
    also_withhold(&mut v1, &[(253, "alle", "alle")]);
    let found = exposures(&v1, k);
    let e = exposure(&found, 253, "forebyggende", "alle");
    assert_eq!(e.count, "numerator");
    assert_eq!(e.range, Some((3.0, 3.0)));
    assert!(exposures(&protected(cells, k), k).is_empty());
}

/// A three-year window is one more relation: its published window and two published
/// years give the withheld third year away.
#[test]
fn a_window_is_the_sum_of_its_years() {
    let k = 5;
    let leaves = |n: i64| {
        vec![
            share(147, "forebyggende", n, 30),
            share(147, "oevrige", 300, 400),
            share(101, "forebyggende", 30, 60),
            share(101, "oevrige", 500, 600),
        ]
    };
    let mut cells = Vec::new();
    let mut v1 = Vec::new();
    for (year, period, n) in [
        (2021, "2021/2022", 7),
        (2022, "2022/2023", 9),
        (2023, "2023/2024", 2),
    ] {
        let mut yearly = table("school_offer_almen", period, 1, year, &leaves(n));
        cells.extend(yearly.iter().cloned());
        mark_primary(&mut yearly, k).expect("primary");
        if year == 2023 {
            // 147's forebyggende (2 of 30) and udsat are primary; what v1 added so
            // that no equation of 2023/2024 alone gives them away:
            also_withhold(
                &mut yearly,
                &[
                    (147, "alle", "alle"),
                    (101, "udsat", "alle"),
                    (101, "forebyggende", "alle"),
                    (101, "alle", "alle"),
                ],
            );
        } else {
            assert!(yearly.iter().all(|c| !c.suppressed));
        }
        v1.extend(yearly);
    }
    let window = table(
        "school_offer_almen",
        "2021/2022\u{2013}2023/2024",
        3,
        2023,
        &[
            share(147, "forebyggende", 18, 90),
            share(147, "oevrige", 900, 1200),
            share(101, "forebyggende", 90, 180),
            share(101, "oevrige", 1500, 1800),
        ],
    );
    cells.extend(window.iter().cloned());
    // The window was published in full.
    v1.extend(window);
    let found = exposures(&v1, k);
    let e = found
        .iter()
        .find(|e| e.geo_code == 147 && e.group == "forebyggende" && e.period == "2023/2024")
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(e.count, "numerator");
    assert_eq!(e.range, Some((2.0, 2.0)));
    assert!(exposures(&protected(cells, k), k).is_empty());
}

// ---------------------------------------------------------------------------------
// The audit's ranges against an exact rational reference.

/// An exact rational (i128), enough for the small systems below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Q(i128, i128);

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 { a.abs() } else { gcd(b, a % b) }
}

impl Q {
    fn new(n: i128, d: i128) -> Q {
        assert!(d != 0, "division by zero");
        let g = gcd(n, d).max(1);
        let s = if d < 0 { -1 } else { 1 };
        Q(s * n / g, s * d / g)
    }
    fn int(n: i128) -> Q {
        Q(n, 1)
    }
    fn from_f64(x: f64) -> Q {
        // Counts and grade sums of these tables are multiples of 1/4.
        let q = (x * 4.0).round();
        assert!((q / 4.0 - x).abs() < 1e-9, "{x} is not a multiple of 1/4");
        Q::new(q as i128, 4)
    }
    fn add(self, o: Q) -> Q {
        Q::new(
            self.0.checked_mul(o.1).expect("overflow") + o.0.checked_mul(self.1).expect("overflow"),
            self.1.checked_mul(o.1).expect("overflow"),
        )
    }
    fn mul(self, o: Q) -> Q {
        Q::new(
            self.0.checked_mul(o.0).expect("overflow"),
            self.1.checked_mul(o.1).expect("overflow"),
        )
    }
    fn neg(self) -> Q {
        Q(-self.0, self.1)
    }
    fn div(self, o: Q) -> Q {
        Q::new(
            self.0.checked_mul(o.1).expect("overflow"),
            self.1.checked_mul(o.0).expect("overflow"),
        )
    }
    fn is_zero(self) -> bool {
        self.0 == 0
    }
    fn sign(self) -> i128 {
        self.0.signum()
    }
    fn to_f64(self) -> f64 {
        self.0 as f64 / self.1 as f64
    }
}

/// `Σ a_j x_j ≤ b` over n variables.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Ineq {
    a: Vec<Q>,
    b: Q,
}

impl Ineq {
    /// Scaled so that the first non-zero coefficient is ±1 (for de-duplication).
    fn normal(mut self) -> Ineq {
        if let Some(p) = self.a.iter().find(|q| !q.is_zero()).copied() {
            let s = Q::new(p.1, p.0.abs());
            self.a = self.a.iter().map(|q| q.mul(s)).collect();
            self.b = self.b.mul(s);
        }
        self
    }
}

/// The exact range [min, max] of variable `t` over the polyhedron: the equalities are
/// solved for one variable each and substituted (exact Gaussian elimination), then the
/// maximum and minimum of `t` over the remaining inequalities are found by a dense
/// two-phase simplex in exact rationals with Bland's rule (no cycling). `None` for an
/// unbounded side.
fn exact_range(
    n: usize,
    t: usize,
    mut eqs: Vec<Ineq>,
    mut ineqs: Vec<Ineq>,
) -> (Option<Q>, Option<Q>) {
    // t itself is kept as a variable; the others are substituted away where possible.
    while let Some(eq) = eqs.pop() {
        let pivot = (0..n)
            .filter(|j| *j != t)
            .find(|j| !eq.a[*j].is_zero())
            .or_else(|| (!eq.a[t].is_zero()).then_some(t));
        let Some(j) = pivot else {
            assert!(eq.b.is_zero(), "infeasible equality");
            continue;
        };
        if j == t {
            // The equality fixes t.
            let v = eq.b.div(eq.a[t]);
            return (Some(v), Some(v));
        }
        let substitute = |row: &Ineq| -> Ineq {
            let f = row.a[j].div(eq.a[j]);
            Ineq {
                a: row
                    .a
                    .iter()
                    .zip(&eq.a)
                    .map(|(x, y)| x.add(f.mul(*y).neg()))
                    .collect(),
                b: row.b.add(f.mul(eq.b).neg()),
            }
        };
        eqs = eqs.iter().map(substitute).collect();
        ineqs = ineqs.iter().map(substitute).collect();
    }
    let rows: Vec<Ineq> = ineqs
        .into_iter()
        .map(Ineq::normal)
        .collect::<HashSet<_>>()
        .into_iter()
        .filter(|r| {
            if r.a.iter().all(|q| q.is_zero()) {
                assert!(r.b.sign() >= 0, "infeasible");
                false
            } else {
                true
            }
        })
        .collect();
    let live: Vec<usize> = (0..n)
        .filter(|j| *j == t || rows.iter().any(|r| !r.a[*j].is_zero()))
        .collect();
    let max = simplex_max(&rows, &live, t, Q::int(1));
    let min = simplex_max(&rows, &live, t, Q::int(-1)).map(Q::neg);
    (min, max)
}

/// max `sign · x_t` subject to `rows` (Σ a_j x_j ≤ b) over the free variables `live`;
/// `None` when unbounded. Each free variable is split into x⁺ − x⁻; every row gets a
/// slack and an artificial variable.
fn simplex_max(rows: &[Ineq], live: &[usize], t: usize, sign: Q) -> Option<Q> {
    let m = rows.len();
    let nv = 2 * live.len();
    // Columns: x⁺/x⁻ pairs, m slacks, m artificials, then the right-hand side.
    let cols = nv + 2 * m;
    let zero = Q::int(0);
    let mut tab: Vec<Vec<Q>> = Vec::with_capacity(m);
    let mut basis: Vec<usize> = Vec::with_capacity(m);
    for (i, r) in rows.iter().enumerate() {
        let mut row = vec![zero; cols + 1];
        let flip = r.b.sign() < 0;
        let s = if flip { Q::int(-1) } else { Q::int(1) };
        for (k, j) in live.iter().enumerate() {
            row[2 * k] = r.a[*j].mul(s);
            row[2 * k + 1] = r.a[*j].mul(s).neg();
        }
        row[nv + i] = s;
        row[nv + m + i] = Q::int(1);
        row[cols] = r.b.mul(s);
        tab.push(row);
        basis.push(nv + m + i);
    }
    // Phase 1: maximise −Σ artificials.
    let mut phase1 = vec![zero; cols];
    for c in phase1.iter_mut().skip(nv + m) {
        *c = Q::int(-1);
    }
    let allowed_all = |_: usize| true;
    let bounded = run_simplex(&mut tab, &mut basis, &phase1, cols, &allowed_all);
    assert!(bounded, "phase 1 is bounded");
    let infeasibility = basis
        .iter()
        .zip(&tab)
        .filter(|(b, _)| **b >= nv + m)
        .fold(zero, |acc, (_, row)| acc.add(row[cols]));
    assert!(infeasibility.is_zero(), "the system has no solution");
    // Artificials left in the basis at 0 are pivoted out where a real column allows.
    for i in 0..m {
        if basis[i] >= nv + m
            && let Some(j) = (0..nv + m).find(|j| !tab[i][*j].is_zero())
        {
            pivot(&mut tab, &mut basis, i, j, cols);
        }
    }
    // Phase 2: the objective, artificials barred from entering.
    let k = live.iter().position(|j| *j == t).expect("t is live");
    let mut objective = vec![zero; cols];
    objective[2 * k] = sign;
    objective[2 * k + 1] = sign.neg();
    let no_artificials = |j: usize| j < nv + m;
    if !run_simplex(&mut tab, &mut basis, &objective, cols, &no_artificials) {
        return None;
    }
    Some(
        basis
            .iter()
            .zip(&tab)
            .fold(zero, |acc, (b, row)| acc.add(objective[*b].mul(row[cols]))),
    )
}

fn pivot(tab: &mut [Vec<Q>], basis: &mut [usize], r: usize, c: usize, cols: usize) {
    let p = tab[r][c];
    for x in tab[r].iter_mut() {
        *x = x.div(p);
    }
    let pivot_row = tab[r].clone();
    for (i, row) in tab.iter_mut().enumerate() {
        if i == r || row[c].is_zero() {
            continue;
        }
        let f = row[c];
        for j in 0..=cols {
            if !pivot_row[j].is_zero() {
                row[j] = row[j].add(f.mul(pivot_row[j]).neg());
            }
        }
    }
    basis[r] = c;
}

/// Maximises `objective` from the current basic feasible solution (Bland's rule);
/// false when unbounded.
fn run_simplex(
    tab: &mut [Vec<Q>],
    basis: &mut [usize],
    objective: &[Q],
    cols: usize,
    allowed: &dyn Fn(usize) -> bool,
) -> bool {
    loop {
        // Reduced cost of column j: c_j − Σ c_B(i) · tab[i][j].
        let entering = (0..cols).filter(|j| allowed(*j)).find(|j| {
            let z = basis
                .iter()
                .zip(tab.iter())
                .fold(Q::int(0), |acc, (b, row)| {
                    acc.add(objective[*b].mul(row[*j]))
                });
            objective[*j].add(z.neg()).sign() > 0
        });
        let Some(j) = entering else {
            return true;
        };
        let mut best: Option<(Q, usize, usize)> = None;
        for (i, row) in tab.iter().enumerate() {
            if row[j].sign() > 0 {
                let ratio = row[cols].div(row[j]);
                let better = match best {
                    None => true,
                    Some((r, _, b)) => {
                        let d = ratio.add(r.neg()).sign();
                        d < 0 || (d == 0 && basis[i] < b)
                    }
                };
                if better {
                    best = Some((ratio, i, basis[i]));
                }
            }
        }
        let Some((_, r, _)) = best else {
            return false;
        };
        pivot(tab, basis, r, j, cols);
    }
}

/// The reference range of `form` under the model's system with the knowns substituted.
fn reference_range(model: &Model, known: &[Option<f64>], form: &Form) -> (f64, f64) {
    let unknown: Vec<u32> = (0..model.vars() as u32)
        .filter(|v| known[*v as usize].is_none())
        .collect();
    let local: HashMap<u32, usize> = unknown.iter().enumerate().map(|(j, v)| (*v, j)).collect();
    let n = unknown.len() + 1;
    let t = unknown.len();
    let mut eqs = Vec::new();
    let mut ineqs = Vec::new();
    for r in 0..model.rows.len() {
        let mut a = vec![Q::int(0); n];
        let mut constant = Q::int(0);
        let mut any = false;
        for (v, c) in model.rows.get(r) {
            let c = Q::from_f64(*c);
            match known[*v as usize] {
                Some(x) => constant = constant.add(c.mul(Q::from_f64(x))),
                None => {
                    any = true;
                    a[local[v]] = a[local[v]].add(c);
                }
            }
        }
        if !any {
            continue;
        }
        let (lo, hi) = (model.row_lo[r], model.row_hi[r]);
        if lo.is_finite() && hi.is_finite() && lo == hi {
            eqs.push(Ineq {
                a,
                b: Q::from_f64(lo).add(constant.neg()),
            });
            continue;
        }
        if hi.is_finite() {
            ineqs.push(Ineq {
                a: a.clone(),
                b: Q::from_f64(hi).add(constant.neg()),
            });
        }
        if lo.is_finite() {
            ineqs.push(Ineq {
                a: a.iter().map(|q| q.neg()).collect(),
                b: Q::from_f64(lo).add(constant.neg()).neg(),
            });
        }
    }
    for (j, v) in unknown.iter().enumerate() {
        let l = model.lower[*v as usize];
        if l.is_finite() {
            let mut a = vec![Q::int(0); n];
            a[j] = Q::int(-1);
            ineqs.push(Ineq {
                a,
                b: Q::from_f64(l).neg(),
            });
        }
    }
    // t = form.
    let mut a = vec![Q::int(0); n];
    a[t] = Q::int(1);
    let mut b = Q::int(0);
    for (v, c) in form.terms() {
        let c = Q::from_f64(c);
        match known[v as usize] {
            Some(x) => b = b.add(c.mul(Q::from_f64(x))),
            None => a[local[&v]] = a[local[&v]].add(c.neg()),
        }
    }
    eqs.push(Ineq { a, b });
    let (lo, hi) = exact_range(n, t, eqs, ineqs);
    (
        lo.map_or(f64::NEG_INFINITY, Q::to_f64),
        hi.map_or(f64::INFINITY, Q::to_f64),
    )
}

/// A small random table: two kommuner of Region Hovedstaden, school_offer_almen and
/// fp9_grade_mean (cohort, almen, graded, grade sum), one year.
fn small_table(leaves: &[(i64, i64, i64, i64)]) -> Vec<Cell> {
    let fines = [
        "plejefamilie",
        "doegninstitution",
        "forebyggende",
        "oevrige",
    ];
    let mut almen = Vec::new();
    let mut mean = Vec::new();
    for (i, (a, b, c, g)) in leaves.iter().enumerate() {
        let kommune = if i % 2 == 0 { 101 } else { 147 };
        let fine = fines[(i / 2) % fines.len()];
        let cohort = (*a).max(*b).max(1);
        let n_almen = (*b).min(cohort);
        let graded = (*c).min(cohort);
        almen.push(share(kommune, fine, n_almen, cohort));
        mean.push(Leaf {
            kommune,
            fine,
            num: None,
            den: graded,
            // A mean of g/4 per pupil: a multiple of 1/4 between −3 and 12.
            grade_sum: Some(graded as f64 * (*g as f64 / 4.0)),
        });
    }
    let mut cells = table("school_offer_almen", "2023/2024", 1, 2023, &almen);
    // The mean's rows exist wherever the cohort does (its graded count may be 0).
    let mut mean_cells = table("fp9_grade_mean", "2023/2024", 1, 2023, &mean);
    let with_cohort: HashSet<(i32, String, String)> = cells
        .iter()
        .map(|c| (c.geo_code, c.group.clone(), c.placement.clone()))
        .collect();
    let mut zero_graded: Vec<Cell> = cells
        .iter()
        .filter(|c| {
            !mean_cells.iter().any(|m| {
                m.geo_code == c.geo_code && m.group == c.group && m.placement == c.placement
            })
        })
        .map(|c| Cell {
            indicator: "fp9_grade_mean".into(),
            numerator: None,
            denominator: Some(0),
            grade_sum: Some(0.0),
            ..c.clone()
        })
        .collect();
    mean_cells
        .retain(|m| with_cohort.contains(&(m.geo_code, m.group.clone(), m.placement.clone())));
    cells.append(&mut mean_cells);
    cells.append(&mut zero_graded);
    cells
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The LP audit (HiGHS) gives the exact range of every withheld count and every
    /// nested difference, as the rational reference does.
    #[test]
    fn lp_ranges_equal_the_exact_rational_reference(
        leaves in proptest::collection::vec((0i64..15, 0i64..15, 0i64..15, -12i64..48), 4..9),
        withhold in proptest::collection::vec(proptest::bool::weighted(0.6), 120),
    ) {
        let codes = Codes::embedded().expect("codes");
        let cells = small_table(&leaves);
        let model = Model::new(&cells, codes).expect("model");
        let withheld: Vec<bool> = (0..cells.len()).map(|i| withhold[i % withhold.len()]).collect();
        let known = model.knowledge(&cells, &withheld).expect("knowledge");
        let mut forms: Vec<Form> = (0..model.vars() as u32)
            .filter(|v| known.value[*v as usize].is_none())
            .map(Form::One)
            .collect();
        // Every tenth unknown count, and differences of a few pairs (the reference is
        // slow).
        let unknown: Vec<Form> = forms.iter().copied().step_by(forms.len().div_ceil(10).max(1)).collect();
        forms = unknown.clone();
        for (a, b) in unknown.iter().zip(unknown.iter().skip(1)) {
            if let (Form::One(a), Form::One(b)) = (a, b) {
                forms.push(Form::Diff(*a, *b));
            }
        }
        prop_assume!(!forms.is_empty());
        let targets: Vec<Target> = forms
            .iter()
            .map(|f| Target { form: *f, cell: 0, what: What::Primary { reason: Reason::SmallDenominator } })
            .collect();
        let checked = ranges::Check {
            model: &model,
            known: &known,
            targets: &targets,
            // So wide that every target fails and reports its exact range.
            k: 1e9,
            hint: None,
                threads: 1,
                max_vars: ranges::MAX_EXACT_VARS,
        }
        .run()
        .expect("check");
        let lp: HashMap<usize, (f64, f64)> = checked
            .failing
            .iter()
            .map(|f| (f.target, f.range.expect("a range")))
            .collect();
        let reference: Vec<(f64, f64)> = targets
            .iter()
            .map(|t| reference_range(&model, &known.value, &t.form))
            .collect();
        for (i, t) in targets.iter().enumerate() {
            let (rlo, rhi) = reference[i];
            match lp.get(&i) {
                Some(&(lo, hi)) => prop_assert!(
                    (lo - rlo).abs() < 1e-6 && (hi - rhi).abs() < 1e-6,
                    "{:?}: LP [{lo}, {hi}], reference [{rlo}, {rhi}]",
                    t.form
                ),
                // Not failing at k = 10⁹: the range is unbounded.
                None => prop_assert!(rhi - rlo > 1e9, "{:?}: reference [{rlo}, {rhi}]", t.form),
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// Properties on random tables.

/// Random counts for the kommuner of regions 1084 and 1085, groups anbragt (by placement
/// type), forebyggende and oevrige, for three school years and their window.
fn random_table(counts: &[(i64, i64)]) -> Vec<Cell> {
    let kommuner = [101, 147, 151, 153, 259, 253];
    let fines = [
        "netvaerkspleje",
        "plejefamilie",
        "doegninstitution",
        "opholdssted",
        "uoplyst",
        "forebyggende",
        "oevrige",
    ];
    let mut it = counts.iter().cycle();
    let mut window: Vec<Leaf> = Vec::new();
    let mut cells = Vec::new();
    for (year, period) in [
        (2021, "2021/2022"),
        (2022, "2022/2023"),
        (2023, "2023/2024"),
    ] {
        let mut leaves = Vec::new();
        for k in kommuner {
            for fine in fines {
                let &(a, b) = it.next().expect("cycle");
                let (n, d) = (a.min(b), a.max(b));
                if d > 0 {
                    leaves.push(share(k, fine, n, d));
                }
            }
        }
        window.extend(leaves.iter().copied());
        cells.extend(table("school_offer_almen", period, 1, year, &leaves));
    }
    cells.extend(table(
        "school_offer_almen",
        "2021/2022\u{2013}2023/2024",
        3,
        2023,
        &window,
    ));
    cells
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn after_protection_the_attack_finds_nothing(
        counts in proptest::collection::vec((0i64..12, 0i64..40), 8..40),
        k in prop_oneof![Just(5i64), Just(7), Just(10)],
    ) {
        let codes = Codes::embedded().expect("codes");
        let table = random_table(&counts);
        let mut cells = table.clone();
        protect(&mut cells, k, codes, 2).expect("protect");
        let found = exposures(&cells, k);
        prop_assert!(found.is_empty(), "{found:#?}");
        // Deterministic: the same input gives the same pattern, whatever the threads.
        let mut again = table.clone();
        protect(&mut again, k, codes, 1).expect("protect");
        prop_assert_eq!(&cells, &again);
        // Every primary cell is withheld, and withheld cells say why.
        for c in &cells {
            prop_assert_eq!(c.suppressed, c.why.is_some(), "{:?}", c);
            let reasons = primary(&c.indicator, c.numerator, c.denominator.expect("den"), k);
            if !reasons.is_empty() {
                prop_assert_eq!(c.why.clone(), Some(Why::Primary(reasons)));
            }
        }

        // Primary suppression alone: a primary cell that is the only withheld cell of
        // its place's relation alle = udsat + oevrige is given away by subtraction.
        let mut primary_only = table;
        mark_primary(&mut primary_only, k).expect("primary");
        let found = exposures(&primary_only, k);
        let lone = |c: &Cell| {
            let get = |g: &str| primary_only.iter().find(|x| {
                x.geo_code == c.geo_code && x.group == g && x.placement == "alle"
                    && x.years == c.years && x.year == c.year
            });
            let trio: Vec<&Cell> = ["alle", "udsat", "oevrige"].iter().filter_map(|g| get(g)).collect();
            trio.len() == 3 && trio.iter().filter(|x| x.suppressed).count() == 1
        };
        for c in primary_only.iter().filter(|c| c.suppressed && c.placement == "alle" && ["alle", "udsat", "oevrige"].contains(&c.group.as_str())) {
            if lone(c) {
                prop_assert!(
                    found.iter().any(|e| e.geo_code == c.geo_code && e.group == c.group && e.period == c.period && e.placement == "alle"),
                    "lone primary {:?} not found", c
                );
            }
        }
    }

    /// The system falls apart into independent parts, one per population and three-year
    /// window: protecting the whole gives exactly the pattern of protecting each part
    /// alone (so protecting the parts in parallel changes nothing).
    #[test]
    fn populations_and_windows_are_protected_independently(
        counts in proptest::collection::vec((0i64..12, 0i64..40), 8..30),
        k in prop_oneof![Just(5i64), Just(7)],
    ) {
        let codes = Codes::embedded().expect("codes");
        let school = random_table(&counts);
        // The same counts as the next window (2024/2025–2026/2027) ...
        let later: Vec<Cell> = school
            .iter()
            .cloned()
            .map(|mut c| {
                c.year += 3;
                c.period = format!("later {}", c.period);
                c
            })
            .collect();
        // ... and as another population (the persons of 18), reversed so that the parts'
        // cells interleave with nothing in common but the order.
        let age: Vec<Cell> = school
            .iter()
            .rev()
            .cloned()
            .map(|mut c| {
                c.indicator = "youth_edu_18".into();
                c
            })
            .collect();
        let alone = |part: &[Cell]| {
            let mut cells = part.to_vec();
            protect(&mut cells, k, codes, 1).expect("protect");
            cells
        };
        let mut expected = alone(&school);
        expected.extend(alone(&later));
        expected.extend(alone(&age));
        let mut together: Vec<Cell> = school.iter().chain(&later).chain(&age).cloned().collect();
        protect(&mut together, k, codes, 2).expect("protect");
        prop_assert_eq!(together, expected);
    }


    /// Releases: cells released earlier are fixed facts. A later year and its window are
    /// protected around them: the released cells keep their pattern exactly, and the
    /// attack on everything together (the union of the two releases) finds nothing.
    #[test]
    fn released_cells_stay_as_released_and_new_ones_are_protected_around_them(
        counts in proptest::collection::vec((0i64..12, 0i64..40), 8..30),
        k in prop_oneof![Just(5i64), Just(7)],
    ) {
        let codes = Codes::embedded().expect("codes");
        let table = random_table(&counts);
        let (mut released, new): (Vec<Cell>, Vec<Cell>) =
            table.into_iter().partition(|c| c.years == 1 && c.year < 2023);
        protect(&mut released, k, codes, 1).expect("the first release");
        let mut together: Vec<Cell> = released.iter().cloned().chain(new).collect();
        let fixed: Vec<bool> = (0..together.len()).map(|i| i < released.len()).collect();
        protect_with(&mut together, &fixed, k, codes, 2).expect("the second release");
        prop_assert_eq!(&together[..released.len()], &released[..]);
        let found = exposures(&together, k);
        prop_assert!(found.is_empty(), "{found:#?}");
        // The new year's primary cells are withheld.
        for c in &together[released.len()..] {
            let reasons = primary(&c.indicator, c.numerator, c.denominator.expect("den"), k);
            prop_assert!(reasons.is_empty() || c.suppressed, "{:?}", c);
        }
    }

}
