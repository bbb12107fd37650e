//! The golden dataset (fixtures/golden/) through the CLI: names, periods and order of
//! what is published. Every hand-computed cell is its own test in tests/cases.rs.

use skolegang::error::ExitCode;
use skolegang_tests::{parse_rows, read_cells, run_on, write_rows};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/golden");

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
