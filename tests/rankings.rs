//! The three-year kommune ranking on hand tables of cells (methodology.md version 2,
//! "Three-year municipality ranking"): pooling over the three yearly `alle` cells, ties
//! sharing the lowest rank, N per measure, mean rank, bottom 15, and the ranking as a
//! function of published cells only (a withheld kommune is not ranked and moves nobody).

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{Float64Type, Int32Type};
use skolegang::codes::Codes;
use skolegang::error::ExitCode;
use skolegang::stages::indicators::published_schema;
use skolegang::stages::rankings;
use skolegang_tests::{block_on, read_indicators, read_parquet, sample_run};

/// A yearly `alle` cell: indicator, school year, geo code, numerator (the grade sum for
/// the mean), denominator, withheld.
type Yearly = (&'static str, i32, i32, f64, i64, bool);

/// Published cells (the contract's columns with `indicator`) from yearly alle cells;
/// Danmark cells for each indicator and year are added (the ranking reads which school
/// years are complete from them).
fn cells(rows: &[Yearly]) -> RecordBatch {
    let mut all: Vec<Yearly> = rows.to_vec();
    let mut seen = std::collections::BTreeSet::new();
    for (ind, year, ..) in rows {
        if seen.insert((*ind, *year)) {
            all.push((ind, *year, 0, 1.0, 1, false));
        }
    }
    let n = all.len();
    let s = |f: &dyn Fn(&Yearly) -> String| {
        Arc::new(all.iter().map(f).map(Some).collect::<StringArray>())
    };
    let mean = |r: &Yearly| r.0 == "fp9_grade_mean";
    let schema = published_schema();
    let columns: Vec<Arc<dyn Array>> = vec![
        s(&|r| r.0.to_string()),
        s(&|r| format!("{}/{}", r.1, r.1 + 1)),
        Arc::new(all.iter().map(|r| r.1).collect::<Int32Array>()),
        s(&|r| if r.2 == 0 { "land" } else { "kommune" }.to_string()),
        Arc::new(all.iter().map(|r| r.2).collect::<Int32Array>()),
        s(&|r| format!("geo {}", r.2)),
        s(&|_| "alle".to_string()),
        s(&|_| "alle".to_string()),
        Arc::new(
            all.iter()
                .map(|r| (!r.5 && !mean(r)).then_some(r.3 as i64))
                .collect::<Int64Array>(),
        ),
        Arc::new(
            all.iter()
                .map(|r| (!r.5).then_some(r.4))
                .collect::<Int64Array>(),
        ),
        Arc::new(
            all.iter()
                .map(|r| (!r.5).then_some(r.3 / r.4 as f64))
                .collect::<Float64Array>(),
        ),
        Arc::new(Float64Array::from(vec![None::<f64>; n])),
        Arc::new(Float64Array::from(vec![None::<f64>; n])),
        Arc::new(Int32Array::from(vec![1; n])),
        Arc::new(all.iter().map(|r| Some(r.5)).collect::<BooleanArray>()),
    ];
    RecordBatch::try_new(schema, columns).expect("cells")
}

/// A kommune's row: rank_participation, rank_grade_mean, rank_transition, mean_rank,
/// bottom15_all.
type Ranks = (
    Option<i32>,
    Option<i32>,
    Option<i32>,
    Option<f64>,
    Option<bool>,
);

/// The ranking's rows by kommune for its one window (2021/2022–2023/2024), and N per
/// measure.
fn rank(rows: &[Yearly]) -> (BTreeMap<i32, Ranks>, (i32, i32, i32)) {
    let r = block_on(rankings::rank(&[cells(rows)])).expect("rankings");
    assert_eq!(r.schema(), rankings::schema());
    let c = |n: &str| Arc::clone(r.column_by_name(n).expect(n));
    let opt = |a: &Arc<dyn Array>, i: usize| {
        (!a.is_null(i)).then(|| a.as_primitive::<Int32Type>().value(i))
    };
    let (window, year, code) = (c("window"), c("year"), c("municipality_code"));
    let (r1, r2, r3, mean, b15) = (
        c("rank_participation"),
        c("rank_grade_mean"),
        c("rank_transition"),
        c("mean_rank"),
        c("bottom15_all"),
    );
    let (n1, n2, n3) = (
        c("ranked_participation"),
        c("ranked_grade_mean"),
        c("ranked_transition"),
    );
    let mut out = BTreeMap::new();
    let mut ns = None;
    for i in 0..r.num_rows() {
        assert_eq!(
            window.as_string::<i32>().value(i),
            "2021/2022\u{2013}2023/2024"
        );
        assert_eq!(year.as_primitive::<Int32Type>().value(i), 2023);
        let n = (
            n1.as_primitive::<Int32Type>().value(i),
            n2.as_primitive::<Int32Type>().value(i),
            n3.as_primitive::<Int32Type>().value(i),
        );
        assert!(
            ns.is_none() || ns == Some(n),
            "one N per measure and window"
        );
        ns = Some(n);
        out.insert(
            code.as_primitive::<Int32Type>().value(i),
            (
                opt(&r1, i),
                opt(&r2, i),
                opt(&r3, i),
                (!mean.is_null(i)).then(|| mean.as_primitive::<Float64Type>().value(i)),
                (!b15.is_null(i)).then(|| b15.as_boolean().value(i)),
            ),
        );
    }
    assert_eq!(out.len(), 98, "one row per kommune");
    (out, ns.expect("a window"))
}

/// Yearly cells of one kommune over 2021..2023: participation (x of n), mean grade
/// (grade sum over graded), transition (x of n).
fn kommune(
    code: i32,
    part: [(i64, i64); 3],
    grade: [(f64, i64); 3],
    tr: [(i64, i64); 3],
) -> Vec<Yearly> {
    let mut out = Vec::new();
    for (y, year) in (2021..=2023).enumerate() {
        out.push((
            "fp9_participation",
            year,
            code,
            part[y].0 as f64,
            part[y].1,
            false,
        ));
        out.push(("fp9_grade_mean", year, code, grade[y].0, grade[y].1, false));
        out.push(("transition_15m", year, code, tr[y].0 as f64, tr[y].1, false));
    }
    out
}

#[test]
fn pooled_ranks_with_ties_sharing_the_lowest_rank() {
    let mut rows = Vec::new();
    // Pooled: participation 101 20/30, 147 40/60, 151 30/30, 153 0/30;
    // grade 101 6, 147 10, 151 2, 153 12; transition 101 1, 147 2/3, 151 0, 153 1.
    rows.extend(kommune(
        101,
        [(10, 10), (10, 10), (0, 10)],
        [(70.0, 10), (70.0, 10), (40.0, 10)],
        [(10, 10), (10, 10), (10, 10)],
    ));
    rows.extend(kommune(
        147,
        [(20, 20), (20, 20), (0, 20)],
        [(200.0, 20), (200.0, 20), (200.0, 20)],
        [(20, 20), (0, 20), (20, 20)],
    ));
    rows.extend(kommune(
        151,
        [(10, 10), (10, 10), (10, 10)],
        [(20.0, 10), (20.0, 10), (20.0, 10)],
        [(0, 10), (0, 10), (0, 10)],
    ));
    rows.extend(kommune(
        153,
        [(0, 10), (0, 10), (0, 10)],
        [(120.0, 10), (60.0, 5), (36.0, 3)],
        [(10, 10), (10, 10), (10, 10)],
    ));
    let (r, n) = rank(&rows);
    assert_eq!(n, (4, 4, 4));
    assert_eq!(r[&101], (Some(2), Some(3), Some(1), Some(2.0), Some(true)));
    assert_eq!(
        (r[&147].0, r[&147].1, r[&147].2),
        (Some(2), Some(2), Some(3))
    );
    assert!((r[&147].3.expect("mean") - 7.0 / 3.0).abs() < 1e-12);
    assert_eq!(r[&151], (Some(1), Some(4), Some(4), Some(3.0), Some(true)));
    assert_eq!(r[&153], (Some(4), Some(1), Some(1), Some(2.0), Some(true)));
    // Kommuner without cells are not ranked, and say nothing.
    assert_eq!(r[&157], (None, None, None, None, None));
}

#[test]
fn bottom15_all_means_fewer_than_15_strictly_worse_on_every_measure() {
    let codes = Codes::embedded().expect("codes");
    let kommuner: Vec<i32> = codes
        .municipalities
        .iter()
        .take(20)
        .map(|m| m.code as i32)
        .collect();
    let mut rows = Vec::new();
    // Kommune i (0..20): i of 20 a year sat and went on, mean grade i.
    for (i, k) in kommuner.iter().enumerate() {
        let i64_ = i as i64;
        rows.extend(kommune(
            *k,
            [(i64_, 20); 3],
            [(20.0 * i as f64, 20); 3],
            [(i64_, 20); 3],
        ));
    }
    let (r, n) = rank(&rows);
    assert_eq!(n, (20, 20, 20));
    for (i, k) in kommuner.iter().enumerate() {
        let rank = 20 - i as i32;
        assert_eq!(
            r[k],
            (
                Some(rank),
                Some(rank),
                Some(rank),
                Some(rank as f64),
                Some(i < 15)
            ),
            "kommune {k}"
        );
    }
}

#[test]
fn a_withheld_kommune_is_not_ranked_and_moves_nobody() {
    let codes = Codes::embedded().expect("codes");
    let kommuner: Vec<i32> = codes
        .municipalities
        .iter()
        .take(6)
        .map(|m| m.code as i32)
        .collect();
    let build = |withheld: Option<(i32, &'static str, i32)>, drop: Option<i32>| {
        let mut rows = Vec::new();
        for (i, k) in kommuner.iter().enumerate() {
            if Some(*k) == drop {
                continue;
            }
            // Kommune i: a value that puts it i-th from the bottom.
            let x = 10 + i as i64;
            rows.extend(kommune(
                *k,
                [(x, 20); 3],
                [(x as f64 * 20.0 / 3.0, 20); 3],
                [(x, 20); 3],
            ));
        }
        if let Some((k, ind, year)) = withheld {
            for r in rows.iter_mut() {
                if r.2 == k && r.0 == ind && r.1 == year {
                    r.5 = true;
                }
            }
        }
        rank(&rows)
    };
    // The best kommune (the last) has one yearly participation cell withheld.
    let best = kommuner[5];
    let (with, n) = build(Some((best, "fp9_participation", 2022)), None);
    let (without, n_without) = build(None, Some(best));
    assert_eq!(n, (5, 6, 6));
    assert_eq!(n_without, (5, 5, 5));
    let b = with[&best];
    assert_eq!((b.0, b.1, b.2), (None, Some(1), Some(1)));
    assert_eq!(
        (b.3, b.4),
        (None, None),
        "no mean rank unless ranked on all three"
    );
    for k in &kommuner[..5] {
        assert_eq!(with[k].0, without[k].0, "participation rank of {k}");
    }
}

/// On the sample: every published rank recomputes from the published cells, and the
/// restricted ranking (from every cell, with --restricted) is not in published/.
#[test]
fn the_published_ranking_recomputes_from_published_cells() {
    let out = tempfile::tempdir().expect("tempdir");
    assert_eq!(sample_run(out.path(), &[]), ExitCode::Success);
    let run = out.path().join("current");
    let written = read_parquet(&run.join("published/rankings"));
    assert_eq!(written.schema().fields(), rankings::schema().fields());
    let published: Vec<RecordBatch> = read_indicators(&run)
        .iter()
        .map(|(indicator, b)| {
            skolegang::stages::disclose::audit::with_indicator(b, indicator).expect("indicator")
        })
        .collect();
    let recomputed = block_on(rankings::rank(&published)).expect("rank");
    assert_eq!(
        rankings::differences(&written, &recomputed),
        Vec::<String>::new()
    );
    assert!(!run.join("restricted").exists());
}
