//! The rules of methodology.md, "Disclosure control", in one place: which counts a cell
//! publishes, how counts nest, when a cell is primary, which nested differences are
//! sensitive, and what withholding a cell costs.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Serialize;

use crate::registry::{self, Measure};

/// What a variable of the attacker's system counts: a [[count]] of the registry
/// (queries/indicators.toml), by its position there. Every cell publishes one or two
/// counts (and a mean cell its grade sum); cells that publish the same kind at the same
/// place and period publish the same count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kind(u8);

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The registry's counts as kinds, the persons counted in each population and the
/// nesting, worked out once.
struct Kinds {
    all: Vec<Kind>,
    /// For each kind, the person counts of its population, in registry order.
    population: Vec<Vec<Kind>>,
    nested: Vec<(Kind, Kind)>,
    /// For each kind, the nesting pairs of its population as (larger, smaller)
    /// positions in [`Kind::population`].
    nesting: Vec<Vec<(usize, usize)>>,
    /// Each indicator's counts, by id.
    counts: HashMap<&'static str, Counts>,
}

static KINDS: LazyLock<Kinds> = LazyLock::new(|| {
    let r = registry::checked();
    let kind = |name: &str| r.count_position(name).map(|i| Kind(i as u8));
    let all: Vec<Kind> = (0..r.counts.len()).map(|i| Kind(i as u8)).collect();
    let population: Vec<Vec<Kind>> = r
        .counts
        .iter()
        .map(|c| {
            r.counts
                .iter()
                .enumerate()
                .filter(|(_, d)| d.population == c.population && d.sum_of.is_none())
                .map(|(i, _)| Kind(i as u8))
                .collect()
        })
        .collect();
    let nested: Vec<(Kind, Kind)> = r
        .counts
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some((kind(c.within.as_deref()?)?, Kind(i as u8))))
        .collect();
    let nesting = population
        .iter()
        .map(|kinds: &Vec<Kind>| {
            nested
                .iter()
                .filter_map(|(big, small)| {
                    Some((
                        kinds.iter().position(|k| k == big)?,
                        kinds.iter().position(|k| k == small)?,
                    ))
                })
                .collect()
        })
        .collect();
    let counts = r
        .indicators
        .iter()
        .filter_map(|i| {
            let denominator = kind(&i.denominator)?;
            let counts = Counts {
                numerator: i.numerator.as_deref().and_then(kind),
                denominator,
                grade_sum: i.sum.as_deref().and_then(kind),
                presence: match &i.presence {
                    Some(p) => kind(p)?,
                    None => denominator,
                },
                mean: i.measure == Measure::Mean,
            };
            Some((i.id.as_str(), counts))
        })
        .collect();
    Kinds {
        all,
        population,
        nested,
        nesting,
        counts,
    }
});

impl Kind {
    /// Every kind, in the registry's order.
    pub fn all() -> &'static [Kind] {
        &KINDS.all
    }

    /// The kind of the registry's count `name`.
    pub fn named(name: &str) -> Option<Kind> {
        registry::checked()
            .count_position(name)
            .map(|i| Kind(i as u8))
    }

    /// Its position in [`Kind::all`].
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    fn count(self) -> &'static registry::Count {
        &registry::checked().counts[self.index()]
    }

    pub fn name(self) -> &'static str {
        &self.count().name
    }

    /// A count of persons (every kind but a grade sum).
    pub fn is_count(self) -> bool {
        self.count().sum_of.is_none()
    }

    /// A grade sum: the kind whose persons' means it adds up, and the bounds of one
    /// mean.
    pub fn grade_sum_of(self) -> Option<(Kind, f64, f64)> {
        let c = self.count();
        let of = Kind::named(c.sum_of.as_deref()?)?;
        Some((of, c.min? as f64, c.max? as f64))
    }

    /// The person counts of this kind's population (a grade sum: of the persons it
    /// adds up), in registry order.
    pub fn population(self) -> &'static [Kind] {
        &KINDS.population[self.index()]
    }

    /// The nesting pairs of its population, as (larger, smaller) positions in
    /// [`Kind::population`].
    pub fn nesting(self) -> &'static [(usize, usize)] {
        &KINDS.nesting[self.index()]
    }
}

/// The counts behind an indicator's cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub numerator: Option<Kind>,
    pub denominator: Kind,
    /// The grade sum of a mean cell.
    pub grade_sum: Option<Kind>,
    /// The population that decides whether the cell exists (data-contract.md: the
    /// 9th-grade cohort for the two sub-population indicators).
    pub presence: Kind,
    /// A mean, not a share.
    pub mean: bool,
}

/// The counts an indicator publishes (methodology.md, "What must not be learned"), from
/// the registry (which checks that every count an indicator names exists).
pub fn counts_of(indicator: &str) -> Option<Counts> {
    KINDS.counts.get(indicator).copied()
}

/// The nesting of methodology.md, as (larger, smaller) pairs of one population, place
/// and period (the registry's `within`): cohort ⊇ graded ⊇ participants ⊇ min2,
/// participants ⊇ passed, cohort ⊇ transition, cohort ⊇ almen; an age population ⊇ its
/// numerator.
pub fn nested() -> &'static [(Kind, Kind)] {
    &KINDS.nested
}

/// Every pair (a, b) with a ⊇ b, directly or through other counts: the differences
/// a − b that are counts of persons.
pub fn nested_pairs() -> Vec<(Kind, Kind)> {
    let mut pairs: Vec<(Kind, Kind)> = nested().to_vec();
    loop {
        let mut added = false;
        for i in 0..pairs.len() {
            for j in 0..pairs.len() {
                let (a, b) = pairs[i];
                let (c, d) = pairs[j];
                if b == c && !pairs.contains(&(a, d)) {
                    pairs.push((a, d));
                    added = true;
                }
            }
        }
        if !added {
            break;
        }
    }
    pairs.sort();
    pairs
}

/// Why a cell is primary (a cell can have several reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A share's denominator is in 1..k−1.
    SmallDenominator,
    /// A share's numerator is in 1..k−1.
    SmallNumerator,
    /// A share's complement (denominator − numerator) is in 1..k−1.
    SmallComplement,
    /// Group disclosure: 0 % or 100 % of a denominator in 1..2k−1.
    AllOrNone,
    /// A mean cell, or `fp9_min2_dan_mat_takers`: the denominator is below k, zero
    /// included.
    DenominatorBelowK,
    /// A revision (methodology.md, "Releases"): the denominator changed by 1..k−1 from
    /// the release it replaces (the change is a count of persons).
    ChangedDenominator,
    /// A revision: the numerator changed by 1..k−1.
    ChangedNumerator,
    /// A revision: the complement changed by 1..k−1.
    ChangedComplement,
}

impl Reason {
    pub const ALL: [Reason; 8] = [
        Reason::SmallDenominator,
        Reason::SmallNumerator,
        Reason::SmallComplement,
        Reason::AllOrNone,
        Reason::DenominatorBelowK,
        Reason::ChangedDenominator,
        Reason::ChangedNumerator,
        Reason::ChangedComplement,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Reason::SmallDenominator => "small_denominator",
            Reason::SmallNumerator => "small_numerator",
            Reason::SmallComplement => "small_complement",
            Reason::AllOrNone => "all_or_none",
            Reason::DenominatorBelowK => "denominator_below_k",
            Reason::ChangedDenominator => "changed_denominator",
            Reason::ChangedNumerator => "changed_numerator",
            Reason::ChangedComplement => "changed_complement",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.name() == s)
    }

    /// The count that must not be learned: which of the cell's counts.
    pub fn protects(self) -> Protected {
        match self {
            Reason::SmallDenominator | Reason::DenominatorBelowK | Reason::ChangedDenominator => {
                Protected::Denominator
            }
            Reason::SmallNumerator | Reason::AllOrNone | Reason::ChangedNumerator => {
                Protected::Numerator
            }
            Reason::SmallComplement | Reason::ChangedComplement => Protected::Complement,
        }
    }

    /// A reason that comes from a revision, not from the threshold rule.
    pub fn is_change(self) -> bool {
        matches!(
            self,
            Reason::ChangedDenominator | Reason::ChangedNumerator | Reason::ChangedComplement
        )
    }
}

/// A cell's count (or difference of counts) that a reason protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protected {
    Denominator,
    Numerator,
    /// denominator − numerator.
    Complement,
}

/// The primary rule of methodology.md: every reason that makes the cell of `indicator`
/// with these counts primary at threshold k (empty: not primary).
pub fn primary(indicator: &str, numerator: Option<i64>, denominator: i64, k: i64) -> Vec<Reason> {
    let mut out = Vec::new();
    let small = |x: i64| (1..k).contains(&x);
    // A sub-population indicator: its cells exist by another count than their
    // denominator (fp9_min2_dan_mat_takers, fp9_grade_mean).
    let sub_population = counts_of(indicator).is_some_and(|c| c.presence != c.denominator);
    if sub_population {
        if denominator < k {
            out.push(Reason::DenominatorBelowK);
        }
    } else if small(denominator) {
        out.push(Reason::SmallDenominator);
    }
    if let Some(x) = numerator {
        if small(x) {
            out.push(Reason::SmallNumerator);
        }
        if small(denominator - x) {
            out.push(Reason::SmallComplement);
        }
        if (1..2 * k).contains(&denominator) && (x == 0 || x == denominator) {
            out.push(Reason::AllOrNone);
        }
    }
    out
}

/// A nested difference a − b is sensitive when it is small (1..k−1).
pub fn sensitive_difference(a: i64, b: i64, k: i64) -> bool {
    (1..k).contains(&(a - b))
}

/// What withholding a cell costs (methodology.md, "Protection"): the persons whose
/// figure is lost (the denominator), weighted by what the partnership compares: finer
/// placements weigh least, then `alle` and the placement groups, then forebyggende and
/// anbragt, udsat, and `oevrige` most (a reader comparing udsat with øvrige loses nothing
/// when `alle` goes); a Danmark cell weighs 2¹⁶ times more (only when nothing else
/// protects), and Danmark's group figures 2⁸ times more again (the headline). Withholding
/// a count costs the sum over the cells that still publish it.
pub fn cost(geo_code: i32, group: &str, placement: &str, denominator: i64) -> u64 {
    let weight: u64 = match (group, placement) {
        ("anbragt", "alle") => 6,
        ("anbragt", p) if is_placement_group(p) => 3,
        ("anbragt", _) => 2,
        ("alle", _) => 3,
        ("forebyggende", _) => 6,
        ("udsat", _) => 8,
        _ => 16,
    };
    let level: u64 = match (geo_code, placement) {
        (0, "alle") => 1 << 24,
        (0, _) => 1 << 16,
        _ => 1,
    };
    (denominator.clamp(0, 1 << 30) as u64 + 1) * weight * level
}

/// The placement groups of codes/placement_codes.csv (`uoplyst` is a group and a type;
/// as a cell it is counted with the groups).
fn is_placement_group(p: &str) -> bool {
    matches!(p, "familiepleje" | "institution" | "anden" | "uoplyst")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_follows_the_methodology() {
        let k = 5;
        let r = |ind: &str, x: Option<i64>, n: i64| primary(ind, x, n, k);
        use Reason::*;
        assert_eq!(r("fp9_passed", Some(2), 40), vec![SmallNumerator]);
        assert_eq!(r("fp9_passed", Some(38), 40), vec![SmallComplement]);
        assert_eq!(r("fp9_passed", Some(20), 40), vec![]);
        // A denominator of 3: small, and 1 and 2 are small too.
        assert_eq!(
            r("fp9_passed", Some(1), 3),
            vec![SmallDenominator, SmallNumerator, SmallComplement]
        );
        // Group disclosure: 0 % or 100 % below 2k.
        assert_eq!(r("fp9_passed", Some(0), 7), vec![AllOrNone]);
        assert_eq!(r("fp9_passed", Some(9), 9), vec![AllOrNone]);
        assert_eq!(r("fp9_passed", Some(0), 10), vec![]);
        assert_eq!(r("fp9_passed", Some(10), 10), vec![]);
        // Any share with a denominator below 2k is primary.
        for n in 1..10 {
            for x in 0..=n {
                assert!(!r("youth_edu_18", Some(x), n).is_empty(), "{x}/{n}");
            }
        }
        // The sub-populations: below k, zero included.
        assert_eq!(
            r("fp9_min2_dan_mat_takers", Some(0), 0),
            vec![DenominatorBelowK]
        );
        assert_eq!(r("fp9_grade_mean", None, 0), vec![DenominatorBelowK]);
        assert_eq!(r("fp9_grade_mean", None, 4), vec![DenominatorBelowK]);
        assert_eq!(r("fp9_grade_mean", None, 5), vec![]);
    }

    #[test]
    fn nesting_is_closed_transitively() {
        let pairs = nested_pairs();
        let k = |name: &str| Kind::named(name).expect(name);
        let (cohort, graded, participants) = (k("cohort"), k("graded"), k("participants"));
        let (min2, passed, transition, almen) =
            (k("min2"), k("passed"), k("transition"), k("almen"));
        for p in [
            (cohort, participants),
            (cohort, min2),
            (cohort, passed),
            (graded, min2),
            (graded, passed),
            (participants, passed),
        ] {
            assert!(pairs.contains(&p), "{p:?}");
        }
        assert!(!pairs.contains(&(min2, passed)));
        assert!(!pairs.contains(&(transition, almen)));
        assert_eq!(pairs.len(), 14);
    }

    #[test]
    fn cost_prefers_alle_to_oevrige_and_fine_placements_and_keeps_danmark() {
        assert!(cost(101, "alle", "alle", 500) < cost(101, "oevrige", "alle", 480));
        assert!(cost(101, "anbragt", "plejefamilie", 9) < cost(101, "anbragt", "familiepleje", 9));
        assert!(cost(101, "anbragt", "familiepleje", 9) < cost(101, "anbragt", "alle", 9));
        assert!(cost(101, "udsat", "alle", 40) < cost(101, "udsat", "alle", 41));
        // Size counts: a small group cell before a large type cell.
        assert!(cost(147, "anbragt", "familiepleje", 5) < cost(101, "anbragt", "plejefamilie", 43));
        assert!(cost(1084, "oevrige", "alle", 100_000) < cost(0, "anbragt", "uoplyst", 30));
        assert!(cost(0, "anbragt", "plejefamilie", 500) < cost(0, "udsat", "alle", 10));
    }
}
