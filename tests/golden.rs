//! The golden dataset (fixtures/golden/): hand-built persons and hand-computed cells.
//! Every cell a case names must equal methodology.md's definition.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use skolegang::error::ExitCode;
use skolegang_tests::{Cell, computed_cells, parse_rows, read_cells, run_on, write_rows};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/golden");

#[derive(Debug, Clone, PartialEq)]
struct Expected {
    numerator: Option<i64>,
    denominator: i64,
    value: f64,
    ci: Option<Option<(f64, f64)>>,
}

type CellKey = (String, String, String, String); // indicator, period, group, placement

struct Block {
    config: String,
    kommune: i32,
    indicators: BTreeSet<String>,
    cells: BTreeMap<CellKey, Expected>,
}

fn parse_expected(text: &str) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if let Some(rest) = line.strip_prefix('[') {
            let (config, rest) = rest.split_once(']').expect("[config]");
            let kommune = rest
                .trim()
                .strip_prefix("kommune ")
                .expect("kommune <code>")
                .trim()
                .parse()
                .expect("code");
            blocks.push(Block {
                config: config.to_string(),
                kommune,
                indicators: BTreeSet::new(),
                cells: BTreeMap::new(),
            });
            continue;
        }
        let block = blocks.last_mut().expect("a block header first");
        let words: Vec<&str> = line.split_whitespace().collect();
        block.indicators.insert(words[0].to_string());
        if words.get(1) == Some(&"none") {
            continue;
        }
        let (group, placement) = words[2].split_once('/').expect("group/placement");
        let (numerator, denominator, value, rest) = if words[3] == "mean" {
            let v: f64 = words[4].parse().expect("mean");
            assert_eq!(words[5], "n");
            (None, words[6].parse().expect("n"), v, &words[7..])
        } else {
            let (n, d) = words[3].split_once('/').expect("n/d");
            let (n, d): (i64, i64) = (n.parse().expect("n"), d.parse().expect("d"));
            (Some(n), d, n as f64 / d as f64, &words[4..])
        };
        let ci = match rest {
            [] => None,
            ["ci", "none"] => Some(None),
            ["ci", lo, hi] => Some(Some((lo.parse().expect("lo"), hi.parse().expect("hi")))),
            other => panic!("cannot read {other:?} in `{line}`"),
        };
        let key = (
            words[0].to_string(),
            words[1].to_string(),
            group.to_string(),
            placement.to_string(),
        );
        block.cells.insert(
            key,
            Expected {
                numerator,
                denominator,
                value,
                ci,
            },
        );
    }
    blocks
}

/// The golden cells as computed (before disclosure control: every golden cell is small).
fn golden_cells(config: &str, input: &Path) -> Vec<Cell> {
    computed_cells(input, Path::new(&format!("{GOLDEN}/config-{config}.toml")))
}

#[test]
fn every_golden_cell_equals_the_methodology() {
    let input = tempfile::tempdir().expect("tempdir");
    write_rows(
        input.path(),
        &parse_rows(&std::fs::read_to_string(format!("{GOLDEN}/input.txt")).expect("input.txt")),
    );
    let blocks = parse_expected(
        &std::fs::read_to_string(format!("{GOLDEN}/expected.txt")).expect("expected.txt"),
    );
    assert!(blocks.len() >= 14);
    let configs: BTreeSet<String> = blocks.iter().map(|b| b.config.clone()).collect();
    let mut checked = 0;
    for config in configs {
        let cells = golden_cells(&config, input.path());
        for block in blocks.iter().filter(|b| b.config == config) {
            let here: BTreeMap<CellKey, &Cell> = cells
                .iter()
                // Yearly cells with persons in their denominator; the three-year windows
                // and the empty takers/mean rows are checked by the tests below.
                .filter(|c| {
                    c.geo_level == "kommune"
                        && c.geo_code == block.kommune
                        && block.indicators.contains(&c.indicator)
                        && c.years == 1
                        && c.denominator != Some(0)
                })
                .map(|c| {
                    (
                        (
                            c.indicator.clone(),
                            c.period.clone(),
                            c.group.clone(),
                            c.placement.clone(),
                        ),
                        c,
                    )
                })
                .collect();
            let got_keys: BTreeSet<_> = here.keys().cloned().collect();
            let want_keys: BTreeSet<_> = block.cells.keys().cloned().collect();
            assert_eq!(
                got_keys, want_keys,
                "[{config}] kommune {}: the set of cells",
                block.kommune
            );
            for (key, want) in &block.cells {
                let got = here[key];
                let ctx = format!("[{config}] kommune {} {key:?}", block.kommune);
                assert_eq!(got.numerator, want.numerator, "{ctx}: numerator");
                assert_eq!(
                    got.denominator,
                    Some(want.denominator),
                    "{ctx}: denominator"
                );
                let v = got.value.expect("value");
                assert!(
                    (v - want.value).abs() < 1e-9,
                    "{ctx}: value {v} != {}",
                    want.value
                );
                assert!(!got.suppressed, "{ctx}");
                match want.ci {
                    None => {}
                    Some(None) => assert!(
                        got.ci_low.is_none() && got.ci_high.is_none(),
                        "{ctx}: no interval"
                    ),
                    Some(Some((lo, hi))) => {
                        let (glo, ghi) =
                            (got.ci_low.expect("ci_low"), got.ci_high.expect("ci_high"));
                        assert!(
                            (glo - lo).abs() < 1e-6 && (ghi - hi).abs() < 1e-6,
                            "{ctx}: ci [{glo}, {ghi}] != [{lo}, {hi}]"
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 79, "{checked} cells checked");
}

#[test]
fn golden_geo_names_and_periods_follow_the_contract() {
    let input = tempfile::tempdir().expect("tempdir");
    write_rows(
        input.path(),
        &parse_rows(&std::fs::read_to_string(format!("{GOLDEN}/input.txt")).expect("input.txt")),
    );
    // Through the CLI: what is published, suppressed or not, keeps its names and order.
    let out = tempfile::tempdir().expect("tempdir");
    let cfg = format!("{GOLDEN}/config-default.toml");
    assert_eq!(
        run_on(input.path(), out.path(), &["--config", &cfg]),
        ExitCode::Success
    );
    let cells = read_cells(&out.path().join("current"));
    let land = cells
        .iter()
        .find(|c| c.geo_level == "land")
        .expect("a land cell");
    assert_eq!((land.geo_code, land.geo_name.as_str()), (0, "Danmark"));
    let region = cells
        .iter()
        .find(|c| c.geo_level == "region" && c.geo_code == 1084)
        .expect("Hovedstaden");
    assert_eq!(region.geo_name, "Region Hovedstaden");
    let k = cells
        .iter()
        .find(|c| c.geo_level == "kommune" && c.geo_code == 147)
        .expect("147");
    assert_eq!(k.geo_name, "Frederiksberg");
    for c in &cells {
        let age = matches!(
            c.indicator.as_str(),
            "youth_edu_18" | "youth_edu_completed_25" | "no_fp9_by_17"
        );
        let label = |y: i32| {
            if age {
                y.to_string()
            } else {
                format!("{}/{}", y, y + 1)
            }
        };
        match c.years {
            1 => assert_eq!(c.period, label(c.year), "{c:?}"),
            // A three-year window: first–last with an en dash; year is the last year.
            3 => assert_eq!(
                c.period,
                format!("{}\u{2013}{}", label(c.year - 2), label(c.year)),
                "{c:?}"
            ),
            other => panic!("years = {other}: {c:?}"),
        }
        // Extract date 2025-10-15: school years up to 2024/2025, age years up to 2025.
        assert!(
            c.year <= 2025 && !(c.period.contains('/') && c.year > 2024),
            "{c:?}"
        );
    }
    // Cells come in a deterministic order: sorted as published.
    let order: Vec<_> = cells
        .iter()
        .map(|c| (c.indicator.clone(), c.years, c.year))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
}
