//! Line charts as inline SVG, written by hand: a few hundred bytes of markup per chart,
//! deterministic to the byte (fixed decimals, no ids from counters or clocks), with a
//! `<title>` and a `<desc>` that say in words what the chart shows.

use std::fmt::Write;

use super::format::{self, escape};

/// What the y axis shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Shares, drawn 0–100 %.
    Percent,
    /// Mean grades, drawn 0–12.
    Grade,
}

impl Scale {
    fn max(self) -> f64 {
        match self {
            Scale::Percent => 1.0,
            Scale::Grade => 12.0,
        }
    }

    fn ticks(self) -> Vec<f64> {
        match self {
            Scale::Percent => (0..=5).map(|i| i as f64 * 0.2).collect(),
            Scale::Grade => (0..=6).map(|i| i as f64 * 2.0).collect(),
        }
    }

    pub fn label(self, v: f64) -> String {
        match self {
            Scale::Percent => format::percent(v),
            Scale::Grade => format::grade(v),
        }
    }

    fn tick_label(self, v: f64) -> String {
        match self {
            Scale::Percent => format!("{} %", (v * 100.0).round() as i64),
            Scale::Grade => format!("{}", v.round() as i64),
        }
    }
}

/// The shape of a series' points, so that series stay apart in greyscale print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Square,
    Diamond,
    Triangle,
}

/// One line: a value per x label, `None` where the value is withheld or absent (the
/// line is broken there, never drawn through zero), and optionally its 95 % interval
/// per x label (`band`, drawn as a light area behind the line).
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub color: &'static str,
    pub dashed: bool,
    pub marker: Marker,
    pub points: Vec<Option<f64>>,
    pub band: Vec<Option<(f64, f64)>>,
}

impl Series {
    fn has_values(&self) -> bool {
        self.points.iter().any(Option::is_some)
    }
}

#[derive(Debug, Clone)]
pub struct LineChart {
    pub title: String,
    pub x_labels: Vec<String>,
    pub series: Vec<Series>,
    pub scale: Scale,
}

const WIDTH: f64 = 640.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 34.0;
const TOP: f64 = 14.0;
const PLOT_HEIGHT: f64 = 200.0;
const AXIS_LABELS: f64 = 28.0;
const LEGEND_ROW: f64 = 20.0;
/// The width of a legend column (two a row), its key (line and marker) and the gap
/// kept before the next column.
const LEGEND_COLUMN: f64 = 290.0;
const LEGEND_KEY: f64 = 36.0;
const LEGEND_GAP: f64 = 12.0;
/// A generous average glyph width at the legend's font size (15): wide enough for
/// DejaVu Sans, the widest of the fonts the reports fall back to.
const LEGEND_GLYPH: f64 = 8.6;

/// How wide a legend label is drawn, at most.
fn label_width(label: &str) -> f64 {
    label.chars().count() as f64 * LEGEND_GLYPH
}

/// Two legend entries a row when every label fits its column, else one, so that a long
/// label ("Danmark, med forebyggende foranstaltninger") never runs into its neighbour.
fn legend_columns(drawn: &[&Series]) -> usize {
    let fits = drawn
        .iter()
        .all(|s| LEGEND_KEY + label_width(&s.label) + LEGEND_GAP <= LEGEND_COLUMN);
    if fits { 2 } else { 1 }
}

impl LineChart {
    fn x(&self, i: usize) -> f64 {
        let n = self.x_labels.len();
        if n <= 1 {
            LEFT + (WIDTH - LEFT - RIGHT) / 2.0
        } else {
            LEFT + (WIDTH - LEFT - RIGHT) * i as f64 / (n - 1) as f64
        }
    }

    fn y(&self, v: f64) -> f64 {
        TOP + PLOT_HEIGHT * (1.0 - (v / self.scale.max()).clamp(0.0, 1.0))
    }

    /// The chart in words: every series with its values, "diskretioneret" where withheld.
    pub fn description(&self) -> String {
        let mut out = String::new();
        for s in &self.series {
            let values: Vec<String> = self
                .x_labels
                .iter()
                .zip(&s.points)
                .map(|(x, v)| {
                    let shown =
                        v.map_or_else(|| "diskretioneret".to_string(), |v| self.scale.label(v));
                    format!("{x}: {shown}")
                })
                .collect();
            let _ = write!(out, "{}: {}. ", s.label, values.join(", "));
        }
        out.trim_end().to_string()
    }

    pub fn svg(&self) -> String {
        // A series without a single value has no line, so no legend entry either.
        let drawn: Vec<&Series> = self.series.iter().filter(|s| s.has_values()).collect();
        let columns = legend_columns(&drawn);
        let legend_rows = drawn.len().div_ceil(columns);
        let height = TOP + PLOT_HEIGHT + AXIS_LABELS + LEGEND_ROW * legend_rows as f64 + 6.0;
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:.0} {height:.0}" role="img">"#
        );
        let _ = write!(
            s,
            "<title>{}</title><desc>{}</desc>",
            escape(&self.title),
            escape(&self.description())
        );
        self.axes(&mut s);
        let base = TOP + PLOT_HEIGHT;
        // Interval bands, behind every line.
        for series in &drawn {
            self.band(&mut s, series);
        }
        for series in &drawn {
            self.line(&mut s, series);
        }
        // Legend, two entries a row where every label fits its column, else one.
        for (i, series) in drawn.iter().enumerate() {
            let x = LEFT + (i % columns) as f64 * LEGEND_COLUMN;
            let y = base + AXIS_LABELS + LEGEND_ROW * (i / columns) as f64;
            let dash = if series.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="2.5"{dash}/><text x="{:.1}" y="{:.1}" font-size="15" fill="#1a1a1a">{}</text>"##,
                x + 28.0,
                series.color,
                x + LEGEND_KEY,
                y + 5.0,
                escape(&series.label)
            );
            marker(&mut s, series, x + 14.0, y);
        }
        s.push_str("</svg>");
        s
    }

    /// The grid with the y axis labels, and the x axis labels (at most about eight).
    fn axes(&self, s: &mut String) {
        for t in self.scale.ticks() {
            let y = self.y(t);
            let _ = write!(
                *s,
                r##"<line x1="{LEFT:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#d9d9d9" stroke-width="1"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="14" fill="#333">{}</text>"##,
                WIDTH - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                escape(&self.scale.tick_label(t))
            );
        }
        // X axis labels.
        let base = TOP + PLOT_HEIGHT;
        // At most about eight labels fit: thin them out, always keeping the latest.
        let n = self.x_labels.len();
        let step = n.div_ceil(8).max(1);
        for (i, label) in self.x_labels.iter().enumerate() {
            if !(n - 1 - i).is_multiple_of(step) {
                continue;
            }
            let _ = write!(
                *s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13" fill="#333">{}</text>"##,
                self.x(i),
                base + 19.0,
                escape(label)
            );
        }
    }

    /// One series' line, broken at missing values, with a marker on every value.
    fn line(&self, s: &mut String, series: &Series) {
        let dash = if series.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let mut segment: Vec<(f64, f64)> = Vec::new();
        let mut segments = Vec::new();
        for (i, v) in series.points.iter().enumerate() {
            match v {
                Some(v) => segment.push((self.x(i), self.y(*v))),
                None => segments.push(std::mem::take(&mut segment)),
            }
        }
        segments.push(segment);
        for seg in segments.iter().filter(|seg| seg.len() > 1) {
            let pts: Vec<String> = seg.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = write!(
                *s,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5"{dash}/>"#,
                pts.join(" "),
                series.color
            );
        }
        for (x, y) in segments.iter().flatten() {
            marker(s, series, *x, *y);
        }
    }

    /// The series' interval as a light area, broken where an interval is missing.
    fn band(&self, s: &mut String, series: &Series) {
        let mut runs: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new()];
        for (i, b) in series.band.iter().enumerate() {
            match b {
                Some((low, high)) => {
                    if let Some(run) = runs.last_mut() {
                        run.push((self.x(i), self.y(*low), self.y(*high)));
                    }
                }
                None => runs.push(Vec::new()),
            }
        }
        for run in runs.iter().filter(|r| r.len() > 1) {
            let upper = run.iter().map(|(x, _, hi)| format!("{x:.1},{hi:.1}"));
            let lower = run.iter().rev().map(|(x, lo, _)| format!("{x:.1},{lo:.1}"));
            let pts: Vec<String> = upper.chain(lower).collect();
            let _ = write!(
                s,
                r#"<polygon points="{}" fill="{}" fill-opacity="0.15" stroke="none"/>"#,
                pts.join(" "),
                series.color
            );
        }
    }
}

/// A point's marker: filled for a solid line, white inside for a dashed one.
fn marker(s: &mut String, series: &Series, x: f64, y: f64) {
    let fill = if series.dashed { "#fff" } else { series.color };
    let stroke = series.color;
    let _ = match series.marker {
        Marker::Circle => write!(
            s,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>"#
        ),
        Marker::Square => write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="7.5" height="7.5" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>"#,
            x - 3.75,
            y - 3.75
        ),
        Marker::Diamond => write!(
            s,
            r#"<polygon points="{x:.1},{:.1} {:.1},{y:.1} {x:.1},{:.1} {:.1},{y:.1}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>"#,
            y - 5.0,
            x + 5.0,
            y + 5.0,
            x - 5.0
        ),
        Marker::Triangle => write!(
            s,
            r#"<polygon points="{x:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>"#,
            y - 5.0,
            x + 5.0,
            y + 4.0,
            x - 5.0,
            y + 4.0
        ),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(points: Vec<Option<f64>>) -> LineChart {
        LineChart {
            title: "Mindst 2 i dansk & matematik".into(),
            x_labels: vec!["2021/2022".into(), "2022/2023".into(), "2023/2024".into()],
            series: vec![Series {
                label: "Kommune, udsatte".into(),
                color: "#D55E00",
                dashed: false,
                marker: Marker::Circle,
                points,
                band: Vec::new(),
            }],
            scale: Scale::Percent,
        }
    }

    #[test]
    fn values_map_onto_the_plot_area() {
        // 0 % is the bottom (14 + 200), 100 % the top (14), 50 % halfway (114); the
        // three years spread from x = 52 to x = 606.
        let svg = chart(vec![Some(0.0), Some(0.5), Some(1.0)]).svg();
        assert!(
            svg.contains(r#"points="52.0,214.0 329.0,114.0 606.0,14.0""#),
            "{svg}"
        );
    }

    #[test]
    fn a_withheld_value_breaks_the_line_and_is_said_in_words() {
        let c = chart(vec![Some(0.4), None, Some(0.5)]);
        let svg = c.svg();
        assert!(
            !svg.contains("<polyline"),
            "no segment has two points: {svg}"
        );
        // Two points and the legend's marker.
        assert_eq!(svg.matches("<circle").count(), 3);
        assert_eq!(
            c.description(),
            "Kommune, udsatte: 2021/2022: 40,0 %, 2022/2023: diskretioneret, 2023/2024: 50,0 %."
        );
    }

    #[test]
    fn a_long_legend_label_gets_a_row_of_its_own() {
        let series = |label: &str| Series {
            label: label.into(),
            color: "#0072B2",
            dashed: false,
            marker: Marker::Square,
            points: vec![Some(0.5), Some(0.5), Some(0.5)],
            band: Vec::new(),
        };
        let mut c = chart(vec![Some(0.4), Some(0.5), Some(0.6)]);
        c.series.push(series("Danmark, øvrige"));
        // Short labels: two a row, the second column at x = 52 + 290 (its text at + 36).
        let svg = c.svg();
        assert!(svg.contains(r#"<text x="378.0" y="247.0""#), "{svg}");
        // "Danmark, med forebyggende foranstaltninger" (42 characters, about 361 px at
        // font size 15) would run into a neighbour 290 px to its right: one a row.
        c.series
            .insert(1, series("Danmark, med forebyggende foranstaltninger"));
        let svg = c.svg();
        assert!(!svg.contains(r#"<text x="378.0""#), "{svg}");
        for y in ["247.0", "267.0", "287.0"] {
            assert!(
                svg.contains(&format!(r#"<text x="88.0" y="{y}""#)),
                "{y}: {svg}"
            );
        }
        // The chart grows by the extra legend rows (14 + 200 + 28 + 3 × 20 + 6).
        assert!(svg.contains(r#"viewBox="0 0 640 308""#), "{svg}");
    }

    #[test]
    fn a_series_without_values_has_no_legend_entry() {
        let mut c = chart(vec![Some(0.4), Some(0.5), Some(0.6)]);
        c.series.push(Series {
            label: "Kommune, øvrige".into(),
            color: "#0072B2",
            dashed: false,
            marker: Marker::Square,
            points: vec![None, None, None],
            band: Vec::new(),
        });
        let svg = c.svg();
        assert!(svg.contains(">Kommune, udsatte</text>"));
        assert!(!svg.contains(">Kommune, øvrige</text>"), "{svg}");
        // It is still said in words.
        assert!(
            c.description()
                .contains("Kommune, øvrige: 2021/2022: diskretioneret")
        );
    }

    #[test]
    fn the_interval_is_a_band_behind_the_line() {
        // 20–60 % and 30–70 % at x = 52 and 329: the upper edge left to right, then the
        // lower edge back (y: 100 % at 14, 0 % at 214).
        let mut c = chart(vec![Some(0.4), Some(0.5), None]);
        c.series[0].band = vec![Some((0.2, 0.6)), Some((0.3, 0.7)), None];
        let svg = c.svg();
        assert!(
            svg.contains(
                r##"<polygon points="52.0,94.0 329.0,74.0 329.0,154.0 52.0,174.0" fill="#D55E00" fill-opacity="0.15""##
            ),
            "{svg}"
        );
    }

    #[test]
    fn long_series_label_every_other_year_ending_with_the_latest() {
        let mut c = chart(vec![Some(0.5); 10]);
        c.x_labels = (2015..2025).map(|y| format!("{y}/{}", y + 1)).collect();
        let svg = c.svg();
        assert!(svg.contains(">2024/2025</text>") && svg.contains(">2022/2023</text>"));
        assert!(!svg.contains(">2023/2024</text>"), "{svg}");
    }

    #[test]
    fn text_is_escaped_and_output_is_deterministic() {
        let c = chart(vec![Some(0.1), Some(0.2), None]);
        let svg = c.svg();
        assert!(svg.contains("<title>Mindst 2 i dansk &amp; matematik</title>"));
        assert_eq!(svg, c.svg());
    }
}
