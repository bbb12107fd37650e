//! The overview's choropleth: the 98 kommuner as inline SVG (no script needed to see
//! it), each coloured by its udsatte's published figure for one key indicator, withheld
//! kommuner hatched, each shape a link to the kommune's report with an accessible name.
//!
//! The boundaries are the project's copy of the DAGI kommune boundaries
//! (`report-templates/geo/`, attribution printed under the map), projected once:
//! longitude scaled by cos 56° (equirectangular around Denmark's middle latitude),
//! rounded to whole units of the drawing (≈ 0.28 km), Bornholm moved into an inset in
//! the top right corner. Which figure colours the map, and its classes, are chosen by
//! the rules in docs/reports.md ("The overview's map").

use std::sync::OnceLock;

use serde::Serialize;
use serde_json::Value;

use super::format::{self, escape};
use super::model::{Published, Shown};
use super::texts;
use crate::codes::Codes;
use crate::error::{Error, Result};

const GEOJSON: &str = include_str!("../../../../report-templates/geo/kommuner.geojson");

/// Drawing units per degree of latitude.
const SCALE: f64 = 400.0;
/// Degrees of longitude are cos 56° as long as degrees of latitude.
const LON_FACTOR: f64 = 0.559_192_903_470_746_9;
const MARGIN: f64 = 10.0;
/// Bornholm (400), drawn in the inset.
const BORNHOLM: i64 = 400;

/// The fills of the classes, light (low) to dark (high): ColorBrewer's 5-class "Blues",
/// read in greyscale as a lightness scale too.
pub const PALETTE: [&str; 5] = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"];
/// No such persons in the kommune (no cell).
const NOBODY_FILL: &str = "#d9d9d9";
const HATCH_ID: &str = "kort-diskretioneret";

/// The map as the overview shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MapView {
    /// E.g. "Unge i gang med en ungdomsuddannelse som 18-årige, udsatte, 2026".
    pub title: String,
    pub svg: String,
    pub legend: Vec<LegendEntry>,
    /// How many kommuner have a published figure.
    pub published: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct LegendEntry {
    pub label: String,
    /// A fill colour, or `None` for the hatch of withheld figures.
    pub fill: Option<String>,
}

/// One kommune's outline: its code and SVG path in drawing units.
struct Outline {
    code: i64,
    path: String,
}

struct Drawing {
    width: i64,
    height: i64,
    /// The inset's frame: x, y, width, height.
    inset: (i64, i64, i64, i64),
    outlines: Vec<Outline>,
}

/// (code, polygons → rings → (lon, lat)).
type Shape = (i64, Vec<Vec<Vec<(f64, f64)>>>);

fn parse(geojson: &str) -> Result<Vec<Shape>> {
    let bad =
        |what: &str| Error::Internal(format!("report-templates/geo/kommuner.geojson: {what}"));
    let doc: Value = serde_json::from_str(geojson).map_err(|e| bad(&e.to_string()))?;
    let features = doc["features"]
        .as_array()
        .ok_or_else(|| bad("no features"))?;
    let point = |p: &Value| -> Option<(f64, f64)> { Some((p[0].as_f64()?, p[1].as_f64()?)) };
    let ring = |r: &Value| -> Option<Vec<(f64, f64)>> {
        r.as_array()?.iter().map(point).collect::<Option<Vec<_>>>()
    };
    let polygon = |p: &Value| -> Option<Vec<Vec<(f64, f64)>>> {
        p.as_array()?.iter().map(ring).collect::<Option<Vec<_>>>()
    };
    features
        .iter()
        .map(|f| {
            let code = f["properties"]["municipality_code"]
                .as_i64()
                .ok_or_else(|| bad("a feature without municipality_code"))?;
            let g = &f["geometry"];
            let polygons = match g["type"].as_str() {
                Some("Polygon") => polygon(&g["coordinates"]).map(|p| vec![p]),
                Some("MultiPolygon") => g["coordinates"]
                    .as_array()
                    .and_then(|ps| ps.iter().map(polygon).collect::<Option<Vec<_>>>()),
                _ => None,
            }
            .ok_or_else(|| bad(&format!("kommune {code}: not a (Multi)Polygon")))?;
            Ok((code, polygons))
        })
        .collect()
}

/// (min lon, min lat, max lon, max lat) of `shapes`.
fn bounds<'a>(shapes: impl Iterator<Item = &'a Shape>) -> (f64, f64, f64, f64) {
    let mut b = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (lon, lat) in shapes.flat_map(|s| s.1.iter()).flatten().flatten().copied() {
        b = (b.0.min(lon), b.1.min(lat), b.2.max(lon), b.3.max(lat));
    }
    b
}

/// An SVG path of `polygons`, each point mapped by `at` to whole drawing units: rings
/// start absolute and go on in relative steps; points that round onto the one before
/// are dropped, and so are rings left with fewer than three points.
fn path(polygons: &[Vec<Vec<(f64, f64)>>], at: impl Fn(f64, f64) -> (i64, i64)) -> String {
    let mut d = String::new();
    for ring in polygons.iter().flatten() {
        let mut points: Vec<(i64, i64)> = Vec::new();
        for &(lon, lat) in ring {
            let p = at(lon, lat);
            if points.last() != Some(&p) {
                points.push(p);
            }
        }
        if points.len() > 1 && points.first() == points.last() {
            points.pop();
        }
        if points.len() < 3 {
            continue;
        }
        let (x0, y0) = points[0];
        d.push_str(&format!("M{x0} {y0}"));
        let mut prev = (x0, y0);
        for &(x, y) in &points[1..] {
            d.push_str(&format!("l{} {}", x - prev.0, y - prev.1));
            prev = (x, y);
        }
        d.push('z');
    }
    d
}

fn project(shapes: &[Shape]) -> Drawing {
    let (min_lon, min_lat, max_lon, max_lat) = bounds(shapes.iter().filter(|s| s.0 != BORNHOLM));
    let x = move |lon: f64, min: f64| ((lon - min) * LON_FACTOR * SCALE).round() as i64;
    let y = move |lat: f64, max: f64| ((max - lat) * SCALE).round() as i64;
    let m = MARGIN as i64;
    let width = x(max_lon, min_lon) + 2 * m;
    let height = y(min_lat, max_lat) + 2 * m;
    let (b_min_lon, b_min_lat, b_max_lon, b_max_lat) =
        bounds(shapes.iter().filter(|s| s.0 == BORNHOLM));
    let (b_w, b_h) = (x(b_max_lon, b_min_lon), y(b_min_lat, b_max_lat));
    // The inset: Bornholm with a margin, its frame's top right at the drawing's.
    let inset = (width - m - b_w - 2 * m, m, b_w + 2 * m, b_h + 2 * m);
    let outlines = shapes
        .iter()
        .map(|(code, polygons)| {
            let path = if *code == BORNHOLM {
                path(polygons, |lon, lat| {
                    (
                        inset.0 + m + x(lon, b_min_lon),
                        inset.1 + m + y(lat, b_max_lat),
                    )
                })
            } else {
                path(polygons, |lon, lat| {
                    (m + x(lon, min_lon), m + y(lat, max_lat))
                })
            };
            Outline { code: *code, path }
        })
        .collect();
    Drawing {
        width,
        height,
        inset,
        outlines,
    }
}

fn drawing() -> Result<&'static Drawing> {
    static DRAWING: OnceLock<std::result::Result<Drawing, String>> = OnceLock::new();
    DRAWING
        .get_or_init(|| {
            parse(GEOJSON)
                .map(|s| project(&s))
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Internal(e.clone()))
}

/// The figure a map shows: (indicator, years, last year, period).
type Choice = (&'static str, i32, i32, String);

/// The key indicator and period whose udsatte figures are published for the most
/// kommuner: each key indicator's latest yearly and latest three-year period; on a tie
/// the earlier key indicator, and the yearly before the three-year figure. When no
/// kommune's figure is published, the first key indicator's latest yearly period (every
/// kommune hatched says just that).
fn choose(p: &Published, codes: &Codes, key: &[&'static str]) -> Option<Choice> {
    let mut best: Option<(Choice, usize)> = key.iter().find_map(|id| {
        p.latest_of(id, 1)
            .map(|(year, period)| ((*id, 1, year, period), 0))
    });
    for id in key {
        for years in [1, 3] {
            let Some((year, period)) = p.latest_of(id, years) else {
                continue;
            };
            let count = codes
                .municipalities
                .iter()
                .filter(|m| {
                    Shown::of(p.get_years(id, years, year, m.code as i32, "udsat", "alle")).state
                        == "value"
                })
                .count();
            if best.as_ref().is_none_or(|(_, c)| count > *c) {
                best = Some(((id, years, year, period), count));
            }
        }
    }
    best.map(|(choice, _)| choice)
}

/// Up to five classes of `values`: the boundaries are the quintiles rounded to whole
/// percent (shares) or tenths of a grade, duplicates dropped. A value `v` is in class
/// `i` = the number of boundaries `≤ v`.
pub fn breaks(values: &[f64], share: bool) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    if sorted.len() < 2 {
        return Vec::new();
    }
    let unit = if share { 100.0 } else { 10.0 };
    let mut out: Vec<f64> = Vec::new();
    for q in 1..5 {
        // The q-th quintile, nearest rank.
        let at = (q * sorted.len()).div_ceil(5).saturating_sub(1);
        let b = (sorted[at] * unit).round() / unit;
        if b > sorted[0] && b <= sorted[sorted.len() - 1] && out.last() != Some(&b) {
            out.push(b);
        }
    }
    out
}

fn class_of(v: f64, breaks: &[f64]) -> usize {
    breaks.iter().filter(|b| **b <= v).count()
}

/// The classes' labels: "under 40 %", "40 til under 45 %", …, "55 % og derover".
pub fn class_labels(breaks: &[f64], share: bool) -> Vec<String> {
    let show = |v: f64| format::figure_whole(v, share);
    let bare = |v: f64| show(v).trim_end_matches(" %").to_string();
    let Some((first, last)) = breaks.first().zip(breaks.last()) else {
        return vec!["alle".to_string()];
    };
    let mut labels = vec![format!("under {}", show(*first))];
    for w in breaks.windows(2) {
        let unit = if share { " %" } else { "" };
        labels.push(format!("{} til under {}{unit}", bare(w[0]), bare(w[1])));
    }
    labels.push(format!("{} og derover", show(*last)));
    labels
}

/// The palette's colours for `n` classes, spread over the whole scale.
fn fills(n: usize) -> Vec<&'static str> {
    match n {
        0 | 1 => vec![PALETTE[3]],
        2 => vec![PALETTE[1], PALETTE[3]],
        3 => vec![PALETTE[0], PALETTE[2], PALETTE[4]],
        4 => vec![PALETTE[0], PALETTE[1], PALETTE[3], PALETTE[4]],
        _ => PALETTE.to_vec(),
    }
}

/// The map's SVG: the hatch pattern, Bornholm's inset frame and the kommune `shapes`.
fn svg(drawing: &Drawing, title: &str, shapes: &str) -> String {
    let (ix, iy, iw, ih) = drawing.inset;
    format!(
        "<svg class=\"map\" viewBox=\"0 0 {w} {h}\" role=\"group\" aria-label=\"Kort: {t}\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <defs><pattern id=\"{HATCH_ID}\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"8\" height=\"8\" fill=\"#ffffff\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"#767676\" stroke-width=\"3\"/></pattern></defs>\n\
         <rect x=\"{ix}\" y=\"{iy}\" width=\"{iw}\" height=\"{ih}\" fill=\"none\" stroke=\"#767676\" stroke-width=\"1.5\" aria-hidden=\"true\"/>\n\
         <g stroke=\"#4d4d4d\" stroke-width=\"1\" stroke-linejoin=\"round\">\n{shapes}</g>\n</svg>",
        w = drawing.width,
        h = drawing.height,
        t = escape(title),
    )
}

/// The legend: the classes (only when some kommune is in one), the hatch, and "ingen
/// udsatte" when some kommune has no cell.
fn legend(classes: Vec<String>, fills: &[&str], nobody: bool) -> Vec<LegendEntry> {
    let mut legend: Vec<LegendEntry> = classes
        .into_iter()
        .zip(fills.iter())
        .map(|(label, fill)| LegendEntry {
            label,
            fill: Some(fill.to_string()),
        })
        .collect();
    legend.push(LegendEntry {
        label: "diskretioneret (..)".to_string(),
        fill: None,
    });
    if nobody {
        legend.push(LegendEntry {
            label: "ingen udsatte".to_string(),
            fill: Some(NOBODY_FILL.to_string()),
        });
    }
    legend
}

/// The overview's map, or `None` when no key indicator has a period.
pub fn choropleth(p: &Published, codes: &Codes, key: &[&'static str]) -> Result<Option<MapView>> {
    let Some((id, years, year, period)) = choose(p, codes, key) else {
        return Ok(None);
    };
    let Some(text) = texts::indicator(id) else {
        return Ok(None);
    };
    let shown = |code: i64| Shown::of(p.get_years(id, years, year, code as i32, "udsat", "alle"));
    let values: Vec<f64> = codes
        .municipalities
        .iter()
        .filter_map(|m| shown(m.code).value)
        .collect();
    let breaks = breaks(&values, text.share);
    let fills = fills(breaks.len() + 1);
    let drawing = drawing()?;
    let show = |v: f64| format::figure(v, text.share);
    let mut shapes = String::new();
    let mut nobody = false;
    for outline in &drawing.outlines {
        let Some(m) = codes.municipalities.iter().find(|m| m.code == outline.code) else {
            continue;
        };
        let s = shown(m.code);
        let (fill, said) = match (s.state, s.value) {
            ("value", Some(v)) => {
                let ci = match (s.low, s.high) {
                    (Some(l), Some(h)) => format!(" (95 %-interval {}–{})", show(l), show(h)),
                    _ => String::new(),
                };
                let fill = fills
                    .get(class_of(v, &breaks))
                    .copied()
                    .unwrap_or(PALETTE[4]);
                (fill.to_string(), format!("{}{ci}", show(v)))
            }
            ("withheld", _) => (format!("url(#{HATCH_ID})"), "diskretioneret".to_string()),
            _ => {
                nobody = true;
                (NOBODY_FILL.to_string(), "ingen udsatte".to_string())
            }
        };
        let name = escape(&format!("{}: {said}", m.official_name()));
        shapes.push_str(&format!(
            "<a href=\"{}/rapport.html\" aria-label=\"{name}\"><title>{name}</title><path class=\"kommune\" data-code=\"{}\" fill=\"{fill}\" d=\"{}\"/></a>\n",
            super::model::folder(m),
            m.code,
            outline.path
        ));
    }
    let group = texts::group_name("udsat").to_lowercase();
    let title = format!(
        "{}, {group}, {}",
        text.title,
        super::message::period_noun(&period, years)
    );
    let svg = svg(drawing, &title, &shapes);
    // Classes only when some kommune is in one.
    let classes = if values.is_empty() {
        Vec::new()
    } else {
        class_labels(&breaks, text.share)
    };
    Ok(Some(MapView {
        title,
        svg,
        legend: legend(classes, &fills, nobody),
        published: values.len(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::report::model::Figure;

    fn figure(value: f64) -> Figure {
        Figure {
            value: Some(value),
            low: Some(value - 0.05),
            high: Some(value + 0.05),
            denominator: Some(40),
            suppressed: false,
        }
    }

    #[test]
    fn kommuner_are_coloured_by_class_hatched_when_withheld_and_named_for_screen_readers() {
        let codes = Codes::embedded().expect("codes");
        let mut p = Published::empty();
        let id = "youth_edu_18";
        // Herning (657) low, Aarhus (751) high, København (101) withheld; the rest have
        // no cell ("ingen").
        p.add((id, 1, 2026, 657, "udsat", "alle"), "2026", figure(0.40));
        p.add((id, 1, 2026, 751, "udsat", "alle"), "2026", figure(0.60));
        let mut withheld = figure(0.5);
        withheld.suppressed = true;
        p.add((id, 1, 2026, 101, "udsat", "alle"), "2026", withheld);
        let map = choropleth(&p, codes, &["fp9_participation", id])
            .expect("drawn")
            .expect("a map");
        assert_eq!(map.published, 2);
        assert_eq!(
            map.title,
            "18-årige i gang med eller færdige med en ungdomsuddannelse, udsatte, 2026"
        );
        // Two values: one boundary (the upper value), two classes.
        let shape = |code: i64| {
            let at = map
                .svg
                .find(&format!("data-code=\"{code}\""))
                .expect("a shape");
            let start = map.svg[..at].rfind("<a ").expect("its link");
            map.svg[start..at].to_string()
        };
        assert!(
            shape(657)
                .contains("aria-label=\"Herning Kommune: 40,0 % (95 %-interval 35,0 %–45,0 %)\"")
        );
        assert!(shape(751).contains("href=\"751-aarhus/rapport.html\""));
        assert!(
            map.svg
                .contains(&format!("data-code=\"657\" fill=\"{}\"", PALETTE[1]))
        );
        assert!(
            map.svg
                .contains(&format!("data-code=\"751\" fill=\"{}\"", PALETTE[3]))
        );
        assert!(shape(101).contains("Københavns Kommune: diskretioneret"));
        assert!(
            map.svg
                .contains(&format!("data-code=\"101\" fill=\"url(#{HATCH_ID})\""))
        );
        assert!(shape(461).contains("Odense Kommune: ingen udsatte"));
        assert_eq!(map.svg.matches("<path class=\"kommune\"").count(), 98);
        let labels: Vec<&str> = map.legend.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "under 60 %",
                "60 % og derover",
                "diskretioneret (..)",
                "ingen udsatte"
            ]
        );
    }

    #[test]
    fn with_nothing_published_every_kommune_is_hatched() {
        let codes = Codes::embedded().expect("codes");
        let mut p = Published::empty();
        let mut withheld = figure(0.5);
        withheld.suppressed = true;
        p.add(
            ("fp9_participation", 1, 2025, 657, "udsat", "alle"),
            "2025/2026",
            withheld,
        );
        let map = choropleth(&p, codes, &["fp9_participation"])
            .expect("drawn")
            .expect("a map");
        assert_eq!(map.published, 0);
        assert!(
            map.title.ends_with("udsatte, skoleåret 2025/2026"),
            "{}",
            map.title
        );
        assert_eq!(map.svg.matches("<path class=\"kommune\"").count(), 98);
        // No colour class without a kommune in it.
        let labels: Vec<&str> = map.legend.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(labels, ["diskretioneret (..)", "ingen udsatte"]);
    }

    #[test]
    fn quintile_breaks_are_rounded_and_classes_count_the_breaks_below() {
        // Ten shares: quintiles (nearest rank) are the 2nd, 4th, 6th and 8th values.
        let v = [
            0.30, 0.331, 0.35, 0.404, 0.42, 0.449, 0.50, 0.551, 0.60, 0.70,
        ];
        let b = breaks(&v, true);
        assert_eq!(b, [0.33, 0.40, 0.45, 0.55]);
        assert_eq!(class_of(0.30, &b), 0);
        assert_eq!(class_of(0.33, &b), 1);
        assert_eq!(class_of(0.449, &b), 2);
        assert_eq!(class_of(0.70, &b), 4);
        assert_eq!(
            class_labels(&b, true),
            [
                "under 33 %",
                "33 til under 40 %",
                "40 til under 45 %",
                "45 til under 55 %",
                "55 % og derover"
            ]
        );
    }

    #[test]
    fn equal_values_give_fewer_classes_and_one_value_none() {
        assert!(breaks(&[0.5, 0.5, 0.5, 0.5, 0.6], true).is_empty());
        assert!(breaks(&[0.5], true).is_empty());
        assert_eq!(class_labels(&[], true), ["alle"]);
        assert_eq!(fills(2), [PALETTE[1], PALETTE[3]]);
        // Grades in tenths.
        assert_eq!(breaks(&[6.04, 6.96, 7.0, 7.44, 8.0], false), [7.0, 7.4]);
    }

    #[test]
    fn paths_are_whole_units_relative_and_drop_what_rounds_away() {
        let square = vec![vec![vec![
            (0.0, 0.0),
            (2.0, 0.0),
            (2.1, 0.0),
            (2.0, 2.0),
            (0.0, 2.0),
            (0.0, 0.0),
        ]]];
        let d = path(&square, |x, y| (x.round() as i64, y.round() as i64));
        assert_eq!(d, "M0 0l2 0l0 2l-2 0z");
        let speck = vec![vec![vec![(0.0, 0.0), (0.1, 0.0), (0.0, 0.1), (0.0, 0.0)]]];
        assert_eq!(
            path(&speck, |x, y| (x.round() as i64, y.round() as i64)),
            ""
        );
    }

    #[test]
    fn all_98_kommuner_are_drawn_inside_the_drawing_with_bornholm_in_the_inset() {
        let d = drawing().expect("the embedded boundaries");
        assert_eq!(d.outlines.len(), 98);
        assert!(d.outlines.iter().all(|o| o.path.starts_with('M')));
        // Every absolute and relative step stays inside the view box.
        for o in &d.outlines {
            for sub in o.path.split('z').filter(|s| !s.is_empty()) {
                let mut steps = sub.split('l');
                let start = steps.next().expect("M").trim_start_matches('M');
                let xy = |s: &str| -> (i64, i64) {
                    let (a, b) = s.split_once(' ').expect("x y");
                    (a.parse().expect("x"), b.parse().expect("y"))
                };
                let mut at = xy(start);
                for s in steps {
                    let (dx, dy) = xy(s);
                    at = (at.0 + dx, at.1 + dy);
                    assert!((0..=d.width).contains(&at.0) && (0..=d.height).contains(&at.1));
                    if o.code == BORNHOLM {
                        let (ix, iy, iw, ih) = d.inset;
                        assert!((ix..=ix + iw).contains(&at.0) && (iy..=iy + ih).contains(&at.1));
                    }
                }
            }
        }
        // Denmark is taller than wide at this projection (≈ 290 × 370 km).
        assert!(
            d.height > d.width && d.width > 900,
            "{} × {}",
            d.width,
            d.height
        );
    }
}
