//! Disclosure control: hand cases for each hierarchy and for shared counts, and
//! properties on random small tables (the attack finds nothing after protection, and
//! finds the lone primary cells without secondary suppression), for k = 3, 5 and 10.

use std::collections::BTreeMap;

use proptest::prelude::*;
use skolegang::codes::Codes;
use skolegang::disclose::{Cell, Suppression, attack, protect};

const P: &str = "2024/2025";

fn cell(indicator: &str, geo: i32, group: &str, placement: &str, num: i64, den: i64) -> Cell {
    Cell {
        indicator: indicator.into(),
        period: P.into(),
        geo_code: geo,
        group: group.into(),
        placement: placement.into(),
        numerator: Some(num),
        denominator: Some(den),
        suppression: None,
    }
}

/// Cells of one indicator from kommune-level counts (all `oevrige`, region 1084), rolled
/// up to region 1084 and Danmark, for groups alle and oevrige.
fn geography(indicator: &str, kommuner: &[(i32, i64, i64)]) -> Vec<Cell> {
    let (n, d) = kommuner.iter().fold((0, 0), |(n, d), k| (n + k.1, d + k.2));
    let mut out = Vec::new();
    for group in ["alle", "oevrige"] {
        out.push(cell(indicator, 0, group, "alle", n, d));
        out.push(cell(indicator, 1084, group, "alle", n, d));
        for (code, num, den) in kommuner {
            out.push(cell(indicator, *code, group, "alle", *num, *den));
        }
    }
    out
}

fn status(cells: &[Cell], geo: i32, group: &str, placement: &str) -> Option<Suppression> {
    cells
        .iter()
        .find(|c| c.geo_code == geo && c.group == group && c.placement == placement)
        .map(|c| c.suppression)
        .unwrap_or_else(|| panic!("no cell {geo} {group}/{placement}"))
}

fn published(cells: &[Cell]) -> Vec<Cell> {
    cells.iter().map(Cell::published).collect()
}

#[test]
fn a_small_kommune_cell_forces_a_second_kommune_and_the_region_holds() {
    let codes = Codes::embedded().expect("codes");
    // 147 has 2 of 20: a small numerator. Region 1084 = 101 + 147 + 151.
    let mut cells = geography(
        "school_offer_almen",
        &[(101, 50, 100), (147, 2, 20), (151, 30, 60)],
    );
    // Without secondary suppression the attack recovers 147's numerator from the region.
    let mut primary_only = cells.clone();
    protect(&mut primary_only, 5, &codes, false).expect("protect");
    let found = attack(&published(&primary_only), 5, &codes);
    assert!(
        found
            .iter()
            .any(|e| e.geo_code == 147 && e.count == "numerator" && e.value == 2),
        "{found:?}"
    );

    protect(&mut cells, 5, &codes, true).expect("protect");
    assert_eq!(
        status(&cells, 147, "alle", "alle"),
        Some(Suppression::Primary)
    );
    // The smallest other kommune of the relation is withheld with it.
    assert_eq!(
        status(&cells, 151, "alle", "alle"),
        Some(Suppression::Secondary)
    );
    assert_eq!(status(&cells, 101, "alle", "alle"), None);
    assert_eq!(status(&cells, 1084, "alle", "alle"), None);
    assert_eq!(status(&cells, 0, "alle", "alle"), None);
    assert!(attack(&published(&cells), 5, &codes).is_empty());
}

/// Anbragte in one kommune (101), with region and Danmark equal to it.
fn placements() -> Vec<Cell> {
    let mut out = Vec::new();
    let rows = [
        ("alle", "alle", 126, 160),
        ("oevrige", "alle", 100, 120),
        ("udsat", "alle", 26, 40),
        ("anbragt", "alle", 26, 40),
        ("anbragt", "familiepleje", 16, 25),
        ("anbragt", "netvaerkspleje", 1, 3),
        ("anbragt", "plejefamilie", 15, 22),
        ("anbragt", "institution", 10, 15),
        ("anbragt", "doegninstitution", 10, 15),
    ];
    for geo in [0, 1084, 101] {
        for (g, p, n, d) in rows {
            out.push(cell("school_offer_almen", geo, g, p, n, d));
        }
    }
    out
}

#[test]
fn a_small_placement_type_forces_another_type_of_its_group() {
    let codes = Codes::embedded().expect("codes");
    let mut cells = placements();
    protect(&mut cells, 5, &codes, true).expect("protect");
    for geo in [0, 1084, 101] {
        assert_eq!(
            status(&cells, geo, "anbragt", "netvaerkspleje"),
            Some(Suppression::Primary)
        );
        // familiepleje = netvaerkspleje + plejefamilie: the sibling type goes too.
        assert_eq!(
            status(&cells, geo, "anbragt", "plejefamilie"),
            Some(Suppression::Secondary)
        );
        assert_eq!(status(&cells, geo, "anbragt", "alle"), None);
    }
    assert!(attack(&published(&cells), 5, &codes).is_empty());
}

#[test]
fn a_small_group_cell_forces_its_complement_in_the_group_relations() {
    let codes = Codes::embedded().expect("codes");
    // Kommune 101: 3 anbragte (small), 10 forebyggende, 50 oevrige. Region = Danmark = 101.
    let mut cells = Vec::new();
    for geo in [0, 1084, 101] {
        for (g, n, d) in [
            ("alle", 38, 63),
            ("udsat", 6, 13),
            ("anbragt", 1, 3),
            ("forebyggende", 5, 10),
            ("oevrige", 32, 50),
        ] {
            cells.push(cell("fp9_participation", geo, g, "alle", n, d));
        }
    }
    protect(&mut cells, 5, &codes, true).expect("protect");
    for geo in [0, 1084, 101] {
        assert_eq!(
            status(&cells, geo, "anbragt", "alle"),
            Some(Suppression::Primary)
        );
        // udsat = anbragt + forebyggende: the smaller of udsat and forebyggende goes too.
        assert_eq!(
            status(&cells, geo, "forebyggende", "alle"),
            Some(Suppression::Secondary)
        );
    }
    assert!(attack(&published(&cells), 5, &codes).is_empty());
}

#[test]
fn a_count_shared_by_indicators_is_withheld_wherever_it_is_published() {
    let codes = Codes::embedded().expect("codes");
    // Kommune 101 (= region = Danmark): 98 of 100 sat all exams, so the participation cell
    // is withheld for its small complement (2). Its cohort is published by
    // school_offer_almen and its participants (98) by fp9_min2_dan_mat_takers: together
    // they give the complement away, so the takers cell is withheld as well.
    let mut cells = Vec::new();
    for geo in [0, 1084, 101] {
        for g in ["alle", "oevrige"] {
            cells.push(cell("fp9_participation", geo, g, "alle", 98, 100));
            cells.push(cell("school_offer_almen", geo, g, "alle", 60, 100));
            cells.push(cell("fp9_min2_dan_mat_takers", geo, g, "alle", 70, 98));
            cells.push(cell("fp9_min2_dan_mat", geo, g, "alle", 70, 100));
        }
    }
    let mut primary_only = cells.clone();
    protect(&mut primary_only, 5, &codes, false).expect("protect");
    let found = attack(&published(&primary_only), 5, &codes);
    assert!(
        found
            .iter()
            .any(|e| e.indicator == "fp9_participation" && e.count == "complement" && e.value == 2),
        "{found:?}"
    );

    protect(&mut cells, 5, &codes, true).expect("protect");
    let of = |ind: &str| {
        cells
            .iter()
            .filter(|c| c.indicator == ind)
            .map(|c| c.suppression)
            .collect::<Vec<_>>()
    };
    assert!(
        of("fp9_participation")
            .iter()
            .all(|s| *s == Some(Suppression::Primary))
    );
    assert!(
        of("fp9_min2_dan_mat_takers")
            .iter()
            .all(|s| *s == Some(Suppression::Secondary))
    );
    assert!(
        of("school_offer_almen").iter().all(|s| s.is_none()),
        "the cohort itself may stay"
    );
    assert!(attack(&published(&cells), 5, &codes).is_empty());
}

#[test]
fn a_small_numerator_in_min2_is_withheld_in_takers_too() {
    let codes = Codes::embedded().expect("codes");
    let mut cells = Vec::new();
    for geo in [0, 1084, 101] {
        cells.push(cell("fp9_min2_dan_mat", geo, "alle", "alle", 3, 40));
        cells.push(cell("fp9_min2_dan_mat_takers", geo, "alle", "alle", 3, 20));
    }
    protect(&mut cells, 5, &codes, true).expect("protect");
    assert!(
        cells
            .iter()
            .all(|c| c.suppression == Some(Suppression::Primary)),
        "{cells:?}"
    );
    assert!(attack(&published(&cells), 5, &codes).is_empty());
}

/// Random kommune-level counts (kommuner of region 1084 and 1085), for groups anbragt
/// (by placement type), forebyggende and oevrige, rolled up through every hierarchy.
fn random_table(counts: &[(i64, i64)]) -> Vec<Cell> {
    let codes = Codes::embedded().expect("codes");
    let kommuner = [101, 147, 151, 153, 751, 707];
    let types = [
        "netvaerkspleje",
        "plejefamilie",
        "doegninstitution",
        "opholdssted",
        "uoplyst",
    ];
    let group_of = |t: &str| {
        codes
            .placements
            .iter()
            .find(|p| p.placement_type == t)
            .map(|p| p.placement_group.clone())
            .expect("type")
    };
    let region_of = |k: i32| {
        codes
            .municipalities
            .iter()
            .find(|m| m.code == k as i64)
            .map(|m| m.region_code as i32)
            .expect("kommune")
    };
    // (geo, group, placement) -> (num, den)
    let mut sums: BTreeMap<(i32, String, String), (i64, i64)> = BTreeMap::new();
    let mut add = |geo: i32, g: &str, p: &str, n: i64, d: i64| {
        let e = sums.entry((geo, g.to_string(), p.to_string())).or_default();
        e.0 += n;
        e.1 += d;
    };
    let mut it = counts.iter().cycle();
    for k in kommuner {
        let mut leaf = |g: &str, p: Option<&str>| {
            let &(a, b) = it.next().expect("cycle");
            let (n, d) = (a.min(b), a.max(b));
            if d == 0 {
                return;
            }
            for geo in [k, region_of(k), 0] {
                add(geo, "alle", "alle", n, d);
                if g == "oevrige" {
                    add(geo, "oevrige", "alle", n, d);
                } else {
                    add(geo, "udsat", "alle", n, d);
                    add(geo, g, "alle", n, d);
                }
                if let Some(t) = p {
                    add(geo, "anbragt", t, n, d);
                    let grp = group_of(t);
                    if grp != t {
                        add(geo, "anbragt", &grp, n, d);
                    }
                }
            }
        };
        for t in types {
            leaf("anbragt", Some(t));
        }
        leaf("forebyggende", None);
        leaf("oevrige", None);
    }
    sums.into_iter()
        .map(|((geo, g, p), (n, d))| cell("school_offer_almen", geo, &g, &p, n, d))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn after_protection_the_attack_recovers_nothing(
        counts in proptest::collection::vec((0i64..12, 0i64..40), 8..30),
        k in prop_oneof![Just(3i64), Just(5), Just(10)],
    ) {
        let codes = Codes::embedded().expect("codes");
        let table = random_table(&counts);
        let mut cells = table.clone();
        protect(&mut cells, k, &codes, true).expect("protect");
        prop_assert!(attack(&published(&cells), k, &codes).is_empty());
        // Deterministic: the same input gives the same pattern.
        let mut again = table.clone();
        protect(&mut again, k, &codes, true).expect("protect");
        prop_assert_eq!(&cells, &again);

        // Primary only: every primary cell that is the only withheld cell of its
        // kommune's group relation (alle = udsat + oevrige) with a small count exposed.
        let mut primary_only = table;
        protect(&mut primary_only, k, &codes, false).expect("protect");
        let found = attack(&published(&primary_only), k, &codes);
        for geo in [0, 1084, 1085, 101, 147, 151, 153, 751, 707] {
            let get = |g: &str| primary_only.iter().find(|c| c.geo_code == geo && c.group == g && c.placement == "alle");
            let withheld: Vec<&Cell> = ["alle", "udsat", "oevrige"].iter().filter_map(|g| get(g)).filter(|c| c.suppression.is_some()).collect();
            let present = ["alle", "udsat", "oevrige"].iter().filter(|g| get(g).is_some()).count();
            if present == 3 && withheld.len() == 1 {
                let c = withheld[0];
                let den = c.denominator.expect("den");
                if den < k {
                    prop_assert!(found.iter().any(|e| e.geo_code == geo && e.group == c.group && e.placement == "alle"), "lone primary {c:?} not found in {found:?}");
                }
            }
        }
        // A stricter threshold: every cell primary at k is withheld at 10, and what is
        // safe at 10 is safe at k (the exposures at k are a subset of those at 10). The
        // total withheld is not monotone in k: secondary choices differ (a case is in
        // disclose.proptest-regressions).
        if k == 3 {
            let mut strict = random_table(&counts);
            protect(&mut strict, 10, &codes, true).expect("protect");
            for (loose, tight) in cells.iter().zip(&strict) {
                if loose.suppression == Some(Suppression::Primary) {
                    prop_assert!(tight.suppression.is_some(), "{tight:?}");
                }
            }
            prop_assert!(attack(&published(&strict), k, &codes).is_empty());
        }
    }
}
