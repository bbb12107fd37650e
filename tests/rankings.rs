//! The three-year kommune ranking on hand tables (methodology.md, "Three-year
//! municipality ranking"): pooling, ties sharing the lowest rank, mean rank, bottom 15.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, BooleanArray, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int32Type, Schema};
use skolegang::codes::Codes;
use skolegang::config::Config;
use skolegang::indicators;
use skolegang_tests::block_on;

/// One pupil: school year, kommune, sat all Danish/maths, bound exams sat, grade sum,
/// transition.
type Pupil = (i64, i64, bool, i64, Option<i64>, Option<bool>);

/// A kommune's row: rank_participation, rank_grade_mean, rank_transition, mean_rank,
/// bottom15_all.
type Ranks = (Option<i32>, Option<i32>, Option<i32>, Option<f64>, bool);

/// Ranks per kommune: (rank_participation, rank_grade_mean, rank_transition, mean_rank,
/// bottom15_all) for the window ending in 2023.
fn rank(pupils: &[Pupil]) -> std::collections::BTreeMap<i32, Ranks> {
    let codes = Codes::embedded().expect("codes");
    let ctx = skolegang::session::new_context(2, &codes, &skolegang::session::Memory::default())
        .expect("ctx");
    let config = Config::default();
    indicators::register_params(
        &ctx,
        &config,
        skolegang::config::parse_date("2026-11-01").expect("date"),
    )
    .expect("params");
    let schema = Arc::new(Schema::new(vec![
        Field::new("school_year", DataType::Int64, false),
        Field::new("municipality_code", DataType::Int64, false),
        Field::new("sat_danish_maths", DataType::Boolean, false),
        Field::new("n_bound_sat", DataType::Int64, false),
        Field::new("bound_grade_sum", DataType::Int64, true),
        Field::new("transition_15m", DataType::Boolean, true),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(pupils.iter().map(|p| p.0).collect::<Int64Array>()),
            Arc::new(pupils.iter().map(|p| p.1).collect::<Int64Array>()),
            Arc::new(pupils.iter().map(|p| Some(p.2)).collect::<BooleanArray>()),
            Arc::new(pupils.iter().map(|p| p.3).collect::<Int64Array>()),
            Arc::new(pupils.iter().map(|p| p.4).collect::<Int64Array>()),
            Arc::new(pupils.iter().map(|p| p.5).collect::<BooleanArray>()),
        ],
    )
    .expect("batch");
    skolegang::session::register_batches(&ctx, "cohort_fp9", schema, vec![batch], 1)
        .expect("register");
    let r = block_on(indicators::rankings(&ctx)).expect("rankings");
    let s = r.schema();
    let c = |n: &str| Arc::clone(r.column(s.index_of(n).expect(n)));
    let (end, code, r1, r2, r3, mean, b15) = (
        c("period_end_year"),
        c("geo_code"),
        c("rank_participation"),
        c("rank_grade_mean"),
        c("rank_transition"),
        c("mean_rank"),
        c("bottom15_all"),
    );
    let window = c("window");
    let opt = |a: &Arc<dyn Array>, i: usize| {
        (!a.is_null(i)).then(|| a.as_primitive::<Int32Type>().value(i))
    };
    let mut out = std::collections::BTreeMap::new();
    for i in 0..r.num_rows() {
        assert_eq!(
            end.as_primitive::<Int32Type>().value(i),
            2023,
            "one window: 2021-2023"
        );
        assert_eq!(window.as_string::<i32>().value(i), "2021/2022-2023/2024");
        let m = (!mean.is_null(i)).then(|| mean.as_primitive::<Float64Type>().value(i));
        out.insert(
            code.as_primitive::<Int32Type>().value(i),
            (
                opt(&r1, i),
                opt(&r2, i),
                opt(&r3, i),
                m,
                b15.as_boolean().value(i),
            ),
        );
    }
    assert_eq!(out.len(), 98, "one row per kommune");
    out
}

/// kommune, sat per year, mean grade per year (None: no bound exam), transition per year.
type Row = (i64, [bool; 3], [Option<i64>; 3], [bool; 3]);

#[test]
fn pooled_ranks_with_ties_sharing_the_lowest_rank() {
    let mut pupils: Vec<Pupil> = Vec::new();
    let table: [Row; 4] = [
        (
            101,
            [true, true, false],
            [Some(7), Some(7), Some(4)],
            [true, true, true],
        ),
        (
            147,
            [true, true, false],
            [Some(10), Some(10), Some(10)],
            [true, false, true],
        ),
        (
            151,
            [true, true, true],
            [Some(2), Some(2), Some(2)],
            [false, false, false],
        ),
        (
            153,
            [false, false, false],
            [Some(12), None, None],
            [true, true, true],
        ),
    ];
    for (k, sat, grade, tr) in table {
        for (y, year) in (2021..=2023).enumerate() {
            let (n, sum) = match grade[y] {
                Some(g) => (2, Some(2 * g)), // two exams, both at the grade
                None => (0, None),
            };
            pupils.push((year, k, sat[y], n, sum, Some(tr[y])));
        }
    }
    let r = rank(&pupils);
    // participation 101 2/3, 147 2/3, 151 1, 153 0; grade 101 6, 147 10, 151 2, 153 12;
    // transition 101 1, 147 2/3, 151 0, 153 1.
    assert_eq!(r[&101], (Some(2), Some(3), Some(1), Some(2.0), true));
    assert_eq!(r[&147].0, Some(2));
    assert_eq!(r[&147].1, Some(2));
    assert_eq!(r[&147].2, Some(3));
    assert!((r[&147].3.expect("mean") - 7.0 / 3.0).abs() < 1e-12);
    assert_eq!(r[&151], (Some(1), Some(4), Some(4), Some(3.0), true));
    assert_eq!(r[&153], (Some(4), Some(1), Some(1), Some(2.0), true));
    // Kommuner without pupils are not ranked.
    assert_eq!(r[&157], (None, None, None, None, false));
}

#[test]
fn bottom15_all_means_fewer_than_15_strictly_worse_on_every_measure() {
    let codes = Codes::embedded().expect("codes");
    let kommuner: Vec<i64> = codes
        .municipalities
        .iter()
        .take(20)
        .map(|m| m.code)
        .collect();
    let mut pupils: Vec<Pupil> = Vec::new();
    // Kommune i (0..20): 20 pupils a year, i of them sat and went on, each pupil's mean i.
    for (i, k) in kommuner.iter().enumerate() {
        for year in 2021..=2023 {
            for p in 0..20 {
                pupils.push((year, *k, p < i, 1, Some(i as i64), Some(p < i)));
            }
        }
    }
    let r = rank(&pupils);
    for (i, k) in kommuner.iter().enumerate() {
        let rank = 20 - i as i32;
        assert_eq!(
            r[&(*k as i32)],
            (
                Some(rank),
                Some(rank),
                Some(rank),
                Some(rank as f64),
                i < 15
            ),
            "kommune {k}"
        );
    }
}
