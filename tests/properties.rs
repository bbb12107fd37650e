//! Properties of the published cells on generated data (scale 0.05, with bad rows):
//! the hierarchies add up, and values lie in their ranges.

use std::collections::{BTreeMap, BTreeSet};

use skolegang::codes::Codes;
use skolegang::error::ExitCode;
use skolegang::fixtures;
use skolegang_tests::{Cell, computed_cells_allowing_rejects, fixture_options, read_cells, run_on};

/// (indicator, period, geo_level, geo_code, group, placement)
type Key = (String, String, String, i32, String, String);

/// (indicator, years, year, (geo_code, group, placement))
type YearKey = (String, i32, i32, (i32, String, String));

/// What adds up in a cell: numerator, denominator, and for means the sum of values.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Counts {
    numerator: i64,
    denominator: i64,
    sum: f64,
}

impl std::ops::Add for Counts {
    type Output = Counts;
    fn add(self, o: Counts) -> Counts {
        Counts {
            numerator: self.numerator + o.numerator,
            denominator: self.denominator + o.denominator,
            sum: self.sum + o.sum,
        }
    }
}

fn assert_same(a: Counts, b: Counts, what: &str) {
    assert_eq!(
        (a.numerator, a.denominator),
        (b.numerator, b.denominator),
        "{what}"
    );
    assert!(
        (a.sum - b.sum).abs() <= 1e-6 * a.sum.abs().max(1.0),
        "{what}: {} != {}",
        a.sum,
        b.sum
    );
}

#[test]
fn hierarchies_add_up_and_values_are_in_range() {
    let input = tempfile::tempdir().expect("tempdir");
    fixtures::generate(input.path(), &fixture_options(0.05, 5, 2)).expect("generate");
    let cfg = input.path().join("limit.toml");
    std::fs::write(&cfg, "max_rejected_share = 0.05\n").expect("write");
    let out = tempfile::tempdir().expect("tempdir");
    assert_eq!(
        run_on(
            input.path(),
            out.path(),
            &[
                "--config",
                cfg.to_str().expect("utf8"),
                "--extract-date",
                "2026-11-01"
            ]
        ),
        ExitCode::Success
    );
    let published = read_cells(&out.path().join("current"));
    let mut config = std::fs::read_to_string(&cfg).expect("cfg");
    config.push_str("extract_date = \"2026-11-01\"\n");
    let cfg_with_date = input.path().join("with-date.toml");
    std::fs::write(&cfg_with_date, config).expect("write");
    let cells = computed_cells_allowing_rejects(input.path(), &cfg_with_date);
    // Published cells are the computed ones, or withheld entirely.
    assert_eq!(published.len(), cells.len());
    for (p, c) in published.iter().zip(&cells) {
        assert_eq!(
            (&p.indicator, &p.period, p.geo_code, &p.group, &p.placement),
            (&c.indicator, &c.period, c.geo_code, &c.group, &c.placement)
        );
        if c.denominator == Some(0) {
            assert!(
                p.suppressed,
                "a row without persons is always withheld: {p:?}"
            );
        }
        if p.suppressed {
            assert!(
                p.numerator.is_none()
                    && p.denominator.is_none()
                    && p.value.is_none()
                    && p.ci_low.is_none()
                    && p.ci_high.is_none(),
                "{p:?}"
            );
        } else {
            assert_eq!(
                (p.numerator, p.denominator, p.value, p.ci_low, p.ci_high),
                (c.numerator, c.denominator, c.value, c.ci_low, c.ci_high)
            );
        }
    }

    let mut map: BTreeMap<Key, Counts> = BTreeMap::new();
    let mut by_year: BTreeMap<YearKey, Counts> = BTreeMap::new();
    for c in &cells {
        check_ranges(c);
        let den = c.denominator.expect("unsuppressed");
        let counts = Counts {
            numerator: c.numerator.unwrap_or(0),
            denominator: den,
            sum: if c.indicator == "fp9_grade_mean" {
                c.value.map_or(0.0, |v| v * den as f64)
            } else {
                0.0
            },
        };
        let key = (
            c.indicator.clone(),
            c.period.clone(),
            c.geo_level.clone(),
            c.geo_code,
            c.group.clone(),
            c.placement.clone(),
        );
        assert!(map.insert(key, counts).is_none(), "one row per cell: {c:?}");
        let place = (c.geo_code, c.group.clone(), c.placement.clone());
        by_year.insert((c.indicator.clone(), c.years, c.year, place), counts);
    }
    // Three-year windows: a window is the sum of its three school or age years.
    let mut windows = 0;
    for ((ind, years, year, place), &counts) in &by_year {
        if *years == 3 {
            let sum = (year - 2..=*year).fold(Counts::default(), |s, y| {
                s + by_year
                    .get(&(ind.clone(), 1, y, place.clone()))
                    .copied()
                    .unwrap_or_default()
            });
            assert_same(
                counts,
                sum,
                &format!("window = its three years {ind} {year} {place:?}"),
            );
            windows += 1;
        }
    }
    assert!(windows > 100, "{windows} windows checked");
    let get = |k: &Key| map.get(k).copied().unwrap_or_default();
    let indicators: BTreeSet<&str> = cells.iter().map(|c| c.indicator.as_str()).collect();
    assert_eq!(
        indicators,
        skolegang::registry::registry()
            .expect("registry")
            .ids()
            .collect(),
        "every indicator is published"
    );

    let codes = Codes::embedded().expect("codes");
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
    let mut checks = 0;
    for (key, &counts) in &map {
        let (ind, period, level, code, group, placement) = key.clone();
        let k = |level: &str, code: i32, group: &str, placement: &str| {
            (
                ind.clone(),
                period.clone(),
                level.to_string(),
                code,
                group.to_string(),
                placement.to_string(),
            )
        };
        // Geography: land = sum of regions; region = sum of its kommuner.
        if level == "land" {
            let regions: BTreeSet<i64> =
                codes.municipalities.iter().map(|m| m.region_code).collect();
            let sum = regions.iter().fold(Counts::default(), |s, r| {
                s + get(&k("region", *r as i32, &group, &placement))
            });
            assert_same(counts, sum, &format!("land = sum of regions {key:?}"));
            checks += 1;
        }
        if level == "region" {
            let sum = codes
                .municipalities
                .iter()
                .filter(|m| m.region_code == code as i64)
                .fold(Counts::default(), |s, m| {
                    s + get(&k("kommune", m.code as i32, &group, &placement))
                });
            assert_same(counts, sum, &format!("region = sum of kommuner {key:?}"));
            checks += 1;
        }
        // Groups: alle = udsat + oevrige; udsat = anbragt + forebyggende.
        if placement == "alle" && group == "alle" {
            let sum =
                get(&k(&level, code, "udsat", "alle")) + get(&k(&level, code, "oevrige", "alle"));
            assert_same(counts, sum, &format!("alle = udsat + oevrige {key:?}"));
            checks += 1;
        }
        if placement == "alle" && group == "udsat" {
            let sum = get(&k(&level, code, "anbragt", "alle"))
                + get(&k(&level, code, "forebyggende", "alle"));
            assert_same(
                counts,
                sum,
                &format!("udsat = anbragt + forebyggende {key:?}"),
            );
            checks += 1;
        }
        // Placements: anbragt/alle = sum of placement groups = sum of placement types.
        if placement == "alle" && group == "anbragt" {
            let by_group = groups.iter().fold(Counts::default(), |s, g| {
                s + get(&k(&level, code, "anbragt", g))
            });
            let by_type = types.iter().fold(Counts::default(), |s, t| {
                s + get(&k(&level, code, "anbragt", t))
            });
            assert_same(
                counts,
                by_group,
                &format!("anbragt = sum of placement groups {key:?}"),
            );
            assert_same(
                counts,
                by_type,
                &format!("anbragt = sum of placement types {key:?}"),
            );
            checks += 1;
        }
        if group != "anbragt" {
            assert_eq!(
                placement, "alle",
                "only anbragt is broken down by placement: {key:?}"
            );
        }
    }
    assert!(checks > 1000, "{checks} relations checked");
    the_attackers_relations_are_the_sql_roll_ups(&cells, &map, codes);
}

/// Disclosure control and the audit know the breakdowns only through
/// `disclose::system::relations`; the SQL makes them in `cells.sql`. The two must
/// describe the same tables: every place a cell is published at is one of the
/// attacker's places (a level added in SQL alone would leave protection blind to it),
/// every geography and breakdown of the attacker's is published, and every one of the
/// attacker's relations holds on the SQL's counts, for every indicator and period.
fn the_attackers_relations_are_the_sql_roll_ups(
    cells: &[Cell],
    map: &BTreeMap<Key, Counts>,
    codes: &Codes,
) {
    use skolegang::stages::disclose::system::{Place, relations};
    let (places, rels) = relations(codes);
    let attackers: BTreeSet<Place> = places.into_iter().collect();
    let published: BTreeSet<Place> = cells
        .iter()
        .map(|c| (c.geo_code, c.group.clone(), c.placement.clone()))
        .collect();
    assert_eq!(
        published.difference(&attackers).collect::<Vec<_>>(),
        Vec::<&Place>::new(),
        "places the SQL publishes that the attacker's relations do not know"
    );
    // A kommune without persons in a breakdown has no cell there (the attacker counts
    // it 0); but every geography and every (group, placement) of the attacker's is
    // published somewhere.
    let geos = |p: &BTreeSet<Place>| p.iter().map(|x| x.0).collect::<BTreeSet<_>>();
    let breakdowns = |p: &BTreeSet<Place>| {
        p.iter()
            .map(|x| (x.1.clone(), x.2.clone()))
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(geos(&attackers), geos(&published), "geographies");
    assert_eq!(breakdowns(&attackers), breakdowns(&published), "breakdowns");
    // Per indicator and period, the counts by place (absent = 0).
    let mut tables: BTreeMap<(String, String), BTreeMap<Place, Counts>> = BTreeMap::new();
    for ((ind, period, _, code, group, placement), counts) in map {
        tables
            .entry((ind.clone(), period.clone()))
            .or_default()
            .insert((*code, group.clone(), placement.clone()), *counts);
    }
    let mut checked = 0;
    for ((ind, period), table) in &tables {
        for rel in &rels {
            let (mut n, mut d, mut sum, mut size) = (0i64, 0i64, 0f64, 0f64);
            for (place, coef) in rel {
                let c = table.get(place).copied().unwrap_or_default();
                let f = i64::from(*coef);
                n += f * c.numerator;
                d += f * c.denominator;
                sum += f as f64 * c.sum;
                size += c.sum.abs();
            }
            assert!(
                n == 0 && d == 0 && sum.abs() <= 1e-9 * size.max(1.0),
                "{ind} {period}: the relation {rel:?} leaves {n}, {d}, {sum}"
            );
            checked += 1;
        }
    }
    assert!(checked > 10_000, "{checked} relations checked");
}

fn check_ranges(c: &Cell) {
    let den = c.denominator.expect("denominator");
    assert!(den >= 0, "{c:?}");
    if den == 0 {
        // Only the takers share and the mean have rows wherever the 9th-grade cohort
        // exists, their own denominator 0 included; such a row has no value.
        assert!(
            matches!(
                c.indicator.as_str(),
                "fp9_min2_dan_mat_takers" | "fp9_grade_mean"
            ),
            "only cells with a population exist: {c:?}"
        );
        assert!(
            c.value.is_none() && c.ci_low.is_none() && c.ci_high.is_none(),
            "{c:?}"
        );
        return;
    }
    let v = c.value.expect("value");
    if c.indicator == "fp9_grade_mean" {
        assert!((-3.0..=12.0).contains(&v), "{c:?}");
        assert!(c.numerator.is_none());
        match (c.ci_low, c.ci_high) {
            (Some(lo), Some(hi)) => assert!(den >= 2 && lo <= v && v <= hi, "{c:?}"),
            (None, None) => assert!(den < 2, "{c:?}"),
            _ => panic!("half an interval: {c:?}"),
        }
    } else {
        let n = c.numerator.expect("numerator");
        assert!((0.0..=1.0).contains(&v) && (0..=den).contains(&n), "{c:?}");
        assert!((v - n as f64 / den as f64).abs() < 1e-12, "{c:?}");
        let (lo, hi) = (c.ci_low.expect("ci_low"), c.ci_high.expect("ci_high"));
        assert!(
            0.0 <= lo && lo <= v + 1e-12 && v <= hi + 1e-12 && hi <= 1.0 + 1e-12,
            "{c:?}"
        );
    }
}

/// The extract date decides which periods are computed, and a three-year window exists
/// only where all three of its years are computed for that indicator. transition_15m
/// lags a year behind the exams, so one extract year in three cut its window in half:
/// at 2027-11-01 the exams of 2026/2027 are in, but the transitions of 2026/2027 can be
/// seen only from 1 October 2028; the window 2024/2025–2026/2027 exists for
/// fp9_participation and not for transition_15m (a run once failed on it).
#[test]
fn windows_are_made_of_three_computed_years_at_every_extract_date() {
    // (extract date, last school year of fp9_participation, of transition_15m)
    for (date, last_exam, last_transition) in [
        ("2026-11-01", 2025, 2024),
        ("2027-11-01", 2026, 2025),
        ("2028-11-01", 2027, 2026),
    ] {
        let input = tempfile::tempdir().expect("tempdir");
        let options = skolegang::fixtures::Options {
            extract_date: skolegang::config::parse_date(date).expect("date"),
            ..fixture_options(0.003, 11, 0)
        };
        fixtures::generate(input.path(), &options).expect("generate");
        let out = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            run_on(input.path(), out.path(), &["--extract-date", date]),
            ExitCode::Success,
            "run at {date}"
        );
        let cells = read_cells(&out.path().join("current"));
        let years = |indicator: &str, years: i32| -> BTreeSet<i32> {
            cells
                .iter()
                .filter(|c| c.indicator == indicator && c.years == years)
                .map(|c| c.year)
                .collect()
        };
        for indicator in ["fp9_participation", "transition_15m"] {
            let yearly = years(indicator, 1);
            let last = if indicator == "transition_15m" {
                last_transition
            } else {
                last_exam
            };
            assert_eq!(yearly.last(), Some(&last), "{indicator} at {date}");
            for end in years(indicator, 3) {
                assert_eq!(end.rem_euclid(3), 1, "{indicator} window ending {end}");
                assert!(
                    (end - 2..=end).all(|y| yearly.contains(&y)),
                    "{indicator} at {date}: the window ending {end} has a year not computed"
                );
            }
        }
        // 2027-11-01: the window ending 2026 for the exams, not for the transitions.
        if date == "2027-11-01" {
            assert!(years("fp9_participation", 3).contains(&2026));
            assert!(!years("transition_15m", 3).contains(&2026));
        }
    }
}
