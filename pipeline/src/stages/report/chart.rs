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

/// One line: a value per x label, `None` where the value is withheld or absent (the
/// line is broken there, never drawn through zero).
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub color: &'static str,
    pub dashed: bool,
    pub points: Vec<Option<f64>>,
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

    /// The chart in words: every series with its values, `–` where withheld.
    pub fn description(&self) -> String {
        let mut out = String::new();
        for s in &self.series {
            let values: Vec<String> = self
                .x_labels
                .iter()
                .zip(&s.points)
                .map(|(x, v)| {
                    let shown = v.map_or_else(|| "–".to_string(), |v| self.scale.label(v));
                    format!("{x}: {shown}")
                })
                .collect();
            let _ = write!(out, "{}: {}. ", s.label, values.join(", "));
        }
        out.trim_end().to_string()
    }

    pub fn svg(&self) -> String {
        let legend_rows = self.series.len().div_ceil(2);
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
        // Grid and y axis labels.
        for t in self.scale.ticks() {
            let y = self.y(t);
            let _ = write!(
                s,
                r##"<line x1="{LEFT:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#d9d9d9" stroke-width="1"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" fill="#333">{}</text>"##,
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
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="#333">{}</text>"##,
                self.x(i),
                base + 16.0,
                escape(label)
            );
        }
        // Lines, broken at missing values, and a dot on every value.
        for series in &self.series {
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
                    s,
                    r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5"{dash}/>"#,
                    pts.join(" "),
                    series.color
                );
            }
            for (x, y) in segments.iter().flatten() {
                let fill = if series.dashed { "#fff" } else { series.color };
                let _ = write!(
                    s,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{fill}" stroke="{}" stroke-width="1.5"/>"#,
                    series.color
                );
            }
        }
        // Legend, two entries a row.
        for (i, series) in self.series.iter().enumerate() {
            let x = LEFT + (i % 2) as f64 * 290.0;
            let y = base + AXIS_LABELS + LEGEND_ROW * (i / 2) as f64;
            let dash = if series.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="2.5"{dash}/><text x="{:.1}" y="{:.1}" font-size="12" fill="#1a1a1a">{}</text>"##,
                x + 28.0,
                series.color,
                x + 36.0,
                y + 4.0,
                escape(&series.label)
            );
        }
        s.push_str("</svg>");
        s
    }
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
                points,
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
        assert_eq!(svg.matches("<circle").count(), 2);
        assert_eq!(
            c.description(),
            "Kommune, udsatte: 2021/2022: 40,0 %, 2022/2023: –, 2023/2024: 50,0 %."
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
