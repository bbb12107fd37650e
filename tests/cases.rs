//! Behaviour written as data, one test per case (as DataFusion's sqllogictest files):
//! every case of tests/cases/validation.txt and every `[config] kommune` block of
//! fixtures/golden/expected.txt is a test of its own, reported on its own, and can be
//! run alone:
//!
//! ```text
//! cargo test -p skolegang-tests --test cases -- 'measures: end before start'
//! cargo test -p skolegang-tests --test cases -- --list
//! ```
//!
//! A test binary of its own (libtest-mimic, no standard harness), so that the case
//! files decide the tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};
use skolegang::contract::Extract;
use skolegang_tests::{
    CaseRow, Cell, TextRow, batch, computed_cells, parse_cases, parse_rows, reasons_by_row,
    validate, write_parquet, write_rows,
};

const VALIDATION: &str = include_str!("cases/validation.txt");
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/golden");

fn main() {
    let args = Arguments::from_args();
    let mut trials = validation_trials();
    trials.extend(golden_trials());
    libtest_mimic::run(&args, trials).exit();
}

// ---- validation: tests/cases/validation.txt ----

/// One test per case, and one that the case file covers every documented reason code.
fn validation_trials() -> Vec<Trial> {
    let (base, cases) = parse_cases(VALIDATION);
    assert!(
        cases.len() >= 50,
        "the case file holds {} cases",
        cases.len()
    );
    let mut trials: Vec<Trial> = cases
        .into_iter()
        .map(|(name, rows)| {
            let base = base.clone();
            Trial::test(format!("validation: {name}"), move || {
                validation_case(&name, &base, &rows)
            })
        })
        .collect();
    trials.push(Trial::test(
        "validation: every documented reason code has a case",
        documented_reasons_have_cases,
    ));
    trials
}

/// Runs one case: the [base] rows and the case's rows, one file per extract; every row
/// must get exactly its expected reason (None = accepted), and the counts must tally.
fn validation_case(name: &str, base: &[CaseRow], rows: &[CaseRow]) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    // Rows per extract, base first; each row's expected reason by position.
    let mut per_extract: BTreeMap<Extract, Vec<(TextRow, Option<String>)>> = BTreeMap::new();
    for (e, values, reason) in base.iter().chain(rows) {
        per_extract
            .entry(*e)
            .or_default()
            .push((values.clone(), reason.clone()));
    }
    for (e, rows) in &per_extract {
        let values: Vec<_> = rows.iter().map(|r| r.0.clone()).collect();
        write_parquet(
            dir.path(),
            &format!("{}/part-0.parquet", e.name()),
            &batch(*e, &values),
        );
    }
    let checked = validate(dir.path().to_str().ok_or("utf8")?, "2026-11-01")
        .map_err(|e| format!("case `{name}`: {e}"))?;
    for x in &checked.extracts {
        let e = x.validated.extract;
        let expected: Vec<Option<String>> = per_extract[&e].iter().map(|r| r.1.clone()).collect();
        let got = reasons_by_row(x, expected.len());
        if got != expected {
            return Err(format!("{}: reasons {got:?}, expected {expected:?}", e.name()).into());
        }
        // Counts: read = accepted + rejected, and the reasons tally.
        let c = &x.validated.counts;
        let mut tally: BTreeMap<String, u64> = BTreeMap::new();
        for r in expected.iter().flatten() {
            *tally.entry(r.clone()).or_default() += 1;
        }
        if c.rows_read != expected.len() as u64
            || c.rows_read != c.rows_accepted + c.rows_rejected
            || c.rejected_by_reason != tally
        {
            return Err(format!("{}: counts {c:?}, expected reasons {tally:?}", e.name()).into());
        }
    }
    Ok(())
}

/// The reason codes documented in docs/validation.md's "Reason codes" tables are
/// exactly those the case file expects — plus `value_out_of_range`, which no text case
/// can write (an unsigned integer above 2^63 − 1: tests/ingest.rs).
fn documented_reasons_have_cases() -> Result<(), Failed> {
    let (base, cases) = parse_cases(VALIDATION);
    let expected: BTreeSet<String> = base
        .iter()
        .chain(cases.iter().flat_map(|(_, rows)| rows))
        .filter_map(|(_, _, reason)| reason.clone())
        .chain(["value_out_of_range".to_string()])
        .collect();
    let docs = include_str!("../docs/validation.md");
    let section = skolegang_tests::doc_section(docs, "Reason codes")
        .ok_or("docs/validation.md has no section `## Reason codes`")?;
    let documented: BTreeSet<String> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once("` |").map(|(code, _)| code.to_string()))
        .collect();
    if documented != expected {
        return Err(format!(
            "documented but without a case: {:?}; with a case but not documented: {:?}",
            documented.difference(&expected).collect::<Vec<_>>(),
            expected.difference(&documented).collect::<Vec<_>>()
        )
        .into());
    }
    Ok(())
}

// ---- golden: fixtures/golden/ ----

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

/// One test per `[config] kommune` block, and one that the blocks are all there.
fn golden_trials() -> Vec<Trial> {
    let text = std::fs::read_to_string(format!("{GOLDEN}/expected.txt")).expect("expected.txt");
    let blocks = parse_expected(&text);
    let cells: usize = blocks.iter().map(|b| b.cells.len()).sum();
    let count = blocks.len();
    let mut trials: Vec<Trial> = blocks
        .into_iter()
        .map(|block| {
            Trial::test(
                format!("golden: [{}] kommune {}", block.config, block.kommune),
                move || golden_block(&block),
            )
        })
        .collect();
    trials.push(Trial::test(
        "golden: expected.txt holds every block",
        move || {
            if count >= 14 && cells >= 79 {
                Ok(())
            } else {
                Err(format!("{count} blocks, {cells} cells").into())
            }
        },
    ));
    trials
}

/// Every yearly cell of the block's kommune and indicators with persons in its
/// denominator equals the hand-computed one, and no other such cell exists (the
/// three-year windows and the empty takers/mean rows are checked by tests/golden.rs and
/// tests/disclose.rs).
fn golden_block(block: &Block) -> Result<(), Failed> {
    let input = tempfile::tempdir()?;
    write_rows(
        input.path(),
        &parse_rows(&std::fs::read_to_string(format!("{GOLDEN}/input.txt"))?),
    );
    let cells = golden_cells(&block.config, input.path());
    let config = &block.config;
    let here: BTreeMap<CellKey, &Cell> = cells
        .iter()
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
    if got_keys != want_keys {
        return Err(format!(
            "[{config}] kommune {}: cells not expected {:?}; expected but missing {:?}",
            block.kommune,
            got_keys.difference(&want_keys).collect::<Vec<_>>(),
            want_keys.difference(&got_keys).collect::<Vec<_>>()
        )
        .into());
    }
    for (key, want) in &block.cells {
        let got = here[key];
        let ctx = format!("[{config}] kommune {} {key:?}", block.kommune);
        let value = got.value.ok_or(format!("{ctx}: no value"))?;
        let same_interval = match want.ci {
            None => true,
            Some(None) => got.ci_low.is_none() && got.ci_high.is_none(),
            Some(Some((lo, hi))) => match (got.ci_low, got.ci_high) {
                (Some(glo), Some(ghi)) => (glo - lo).abs() < 1e-6 && (ghi - hi).abs() < 1e-6,
                _ => false,
            },
        };
        if got.numerator != want.numerator
            || got.denominator != Some(want.denominator)
            || (value - want.value).abs() >= 1e-9
            || got.suppressed
            || !same_interval
        {
            return Err(format!("{ctx}: got {got:?}, expected {want:?}").into());
        }
    }
    Ok(())
}
