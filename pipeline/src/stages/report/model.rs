//! What the reports show, read from the published (disclosure-controlled) cells and
//! the ranking: plain serialisable structures the templates lay out. No number here
//! comes from anywhere but `published/`.

use std::collections::{BTreeMap, HashMap};

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::datatypes::{Float64Type, Int32Type};
use serde::Serialize;

use super::chart::{LineChart, Marker, Scale, Series};
use super::texts::{self, GROUPS};
use crate::cells::{self, Columns};
use crate::codes::{Codes, Municipality, slug};
use crate::error::Result;

/// One published cell, as far as a report is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Figure {
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub denominator: Option<i64>,
    pub suppressed: bool,
}

/// (indicator, years, year, geo_code, group, placement).
type Key = (String, i32, i32, i32, String, String);

fn key(indicator: &str, years: i32, year: i32, geo: i32, group: &str, placement: &str) -> Key {
    (
        indicator.to_string(),
        years,
        year,
        geo,
        group.to_string(),
        placement.to_string(),
    )
}

/// The published cells, looked up by (indicator, years, year, geo_code, group,
/// placement).
pub struct Published {
    cells: HashMap<Key, Figure>,
    /// Per (indicator, years): its periods, by (last) year.
    periods: BTreeMap<(String, i32), BTreeMap<i32, String>>,
    /// Periods this release revised (methodology.md, "Releases"): marked "revideret".
    revised: std::collections::BTreeSet<String>,
}

impl Published {
    pub fn from_batch(batch: &RecordBatch) -> Result<Published> {
        let columns = Columns::of(batch, "the published cells", None)?;
        let mut published = Published::empty();
        for r in columns.rows() {
            let figure = Figure {
                value: r.value,
                low: r.ci_low,
                high: r.ci_high,
                denominator: r.denominator,
                suppressed: r.suppressed,
            };
            let key = (
                r.indicator,
                r.years,
                r.year,
                r.geo_code,
                r.group,
                r.placement,
            );
            published.add(key, r.period, figure);
        }
        Ok(published)
    }

    pub fn empty() -> Published {
        Published {
            cells: HashMap::new(),
            periods: BTreeMap::new(),
            revised: Default::default(),
        }
    }

    /// Adds one cell: (indicator, years, year, geo_code, group, placement), its period
    /// label and figure.
    pub fn add(
        &mut self,
        (indicator, years, year, geo, group, placement): (&str, i32, i32, i32, &str, &str),
        period: &str,
        figure: Figure,
    ) {
        self.periods
            .entry((indicator.to_string(), years))
            .or_default()
            .entry(year)
            .or_insert_with(|| period.to_string());
        self.cells
            .insert(key(indicator, years, year, geo, group, placement), figure);
    }

    /// Marks the periods this release revised: their titles say "revideret".
    pub fn mark_revised(&mut self, periods: &[String]) {
        self.revised.extend(periods.iter().cloned());
    }

    /// A yearly cell.
    pub fn get(
        &self,
        indicator: &str,
        year: i32,
        geo: i32,
        group: &str,
        placement: &str,
    ) -> Option<&Figure> {
        self.get_years(indicator, 1, year, geo, group, placement)
    }

    /// A yearly (`years` 1) or three-year (`years` 3, `year` its last) cell.
    pub fn get_years(
        &self,
        indicator: &str,
        years: i32,
        year: i32,
        geo: i32,
        group: &str,
        placement: &str,
    ) -> Option<&Figure> {
        self.cells
            .get(&key(indicator, years, year, geo, group, placement))
    }

    /// The latest (year, period) of an indicator's yearly figures, the period as a
    /// title ("2021/2022 (revideret)" when this release revised it).
    pub fn latest(&self, indicator: &str) -> Option<(i32, String)> {
        self.latest_of(indicator, 1)
    }

    /// The latest (last year, period) of an indicator's yearly (`years` 1) or
    /// three-year (`years` 3) figures, marked "(revideret)" when revised.
    pub fn latest_of(&self, indicator: &str, years: i32) -> Option<(i32, String)> {
        self.periods_of(indicator, years).pop()
    }

    /// Every (last year, period) of an indicator's yearly figures, unmarked (the
    /// charts' year labels).
    pub fn years(&self, indicator: &str) -> Vec<(i32, String)> {
        self.raw_periods(indicator, 1)
            .map(|(y, p)| (y, p.clone()))
            .collect()
    }

    /// Every (last year, period) of an indicator's figures over `years` years, oldest
    /// first, marked "(revideret)" when revised.
    pub fn periods_of(&self, indicator: &str, years: i32) -> Vec<(i32, String)> {
        self.raw_periods(indicator, years)
            .map(|(y, p)| {
                if self.revised.contains(p) {
                    (y, format!("{p} (revideret)"))
                } else {
                    (y, p.clone())
                }
            })
            .collect()
    }

    fn raw_periods(&self, indicator: &str, years: i32) -> impl Iterator<Item = (i32, &String)> {
        self.periods
            .get(&(indicator.to_string(), years))
            .into_iter()
            .flat_map(|m| m.iter().map(|(y, p)| (*y, p)))
    }
}

/// A figure as shown: `value` (with its interval), `withheld` (shown as "..") or `none`
/// (no such persons; no cell exists).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Shown {
    pub state: &'static str,
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub n: Option<i64>,
}

impl Shown {
    pub fn of(f: Option<&Figure>) -> Shown {
        match f {
            None => Shown::state("none"),
            Some(f) if f.suppressed || f.value.is_none() => Shown::state("withheld"),
            Some(f) => Shown {
                state: "value",
                value: f.value,
                low: f.low,
                high: f.high,
                n: f.denominator,
            },
        }
    }

    fn state(state: &'static str) -> Shown {
        Shown {
            state,
            value: None,
            low: None,
            high: None,
            n: None,
        }
    }

    /// The gap a − b (percentage points for shares): withheld when either is.
    pub fn gap(a: &Shown, b: &Shown) -> Shown {
        match (a.value, b.value) {
            (Some(x), Some(y)) => Shown {
                state: "value",
                value: Some(x - y),
                low: None,
                high: None,
                n: None,
            },
            _ if a.withheld() || b.withheld() => Shown::state("withheld"),
            _ => Shown::state("none"),
        }
    }

    pub fn withheld(&self) -> bool {
        self.state == "withheld"
    }
}

/// An area a table compares: kommune, region or Danmark.
#[derive(Debug, Clone, Serialize)]
pub struct Area {
    pub code: i32,
    pub name: String,
}

/// One indicator in its latest period, groups down, areas across.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub id: &'static str,
    pub title: &'static str,
    pub period: String,
    pub share: bool,
    pub areas: Vec<String>,
    pub rows: Vec<Row>,
    /// Udsatte minus øvrige, per area (shares only).
    pub gap: Option<Vec<Shown>>,
    /// A lower figure is the better one: the gap's sign is explained under the table.
    pub lower_is_better: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub label: String,
    pub colour: &'static str,
    pub cells: Vec<Shown>,
}

pub fn table(p: &Published, indicator: &'static str, areas: &[Area]) -> Option<Table> {
    let text = texts::indicator(indicator)?;
    let (year, period) = p.latest(indicator)?;
    let rows: Vec<Row> = GROUPS
        .iter()
        .map(|(g, name, colour)| Row {
            label: name.to_string(),
            colour,
            cells: areas
                .iter()
                .map(|a| Shown::of(p.get(indicator, year, a.code, g, "alle")))
                .collect(),
        })
        .collect();
    let gap = text.share.then(|| {
        (0..areas.len())
            .map(|j| Shown::gap(&rows[0].cells[j], &rows[3].cells[j]))
            .collect()
    });
    Some(Table {
        id: indicator,
        title: text.title,
        period: period.to_string(),
        share: text.share,
        areas: areas.iter().map(|a| a.name.clone()).collect(),
        rows,
        gap,
        lower_is_better: text.lower_is_better,
    })
}

/// A chart with the numbers behind it.
#[derive(Debug, Clone, Serialize)]
pub struct ChartView {
    pub title: String,
    pub svg: String,
    pub share: bool,
    /// A sentence under the chart when its first line (the area's udsatte) has no
    /// published value at all.
    pub note: Option<String>,
    pub x: Vec<String>,
    pub series: Vec<SeriesView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeriesView {
    pub label: String,
    pub values: Vec<Shown>,
}

/// One line per (area, group) over every published period of an indicator. The first
/// area is drawn solid, the others dashed.
pub fn trend(
    p: &Published,
    indicator: &'static str,
    lines: &[(&Area, &str)],
    first_geo: i32,
) -> Option<ChartView> {
    let text = texts::indicator(indicator)?;
    let years = p.years(indicator);
    if years.is_empty() {
        return None;
    }
    let mut series = Vec::new();
    let mut views = Vec::new();
    for (area, group) in lines {
        let values: Vec<Shown> = years
            .iter()
            .map(|(y, _)| Shown::of(p.get(indicator, *y, area.code, group, "alle")))
            .collect();
        let label = format!("{}, {}", area.name, texts::group_name(group).to_lowercase());
        // The interval band for the first area's udsatte: the line a reader must not
        // read noise into.
        let band = if area.code == first_geo && *group == "udsat" {
            values.iter().map(|s| s.low.zip(s.high)).collect()
        } else {
            Vec::new()
        };
        series.push(Series {
            label: label.clone(),
            color: texts::group_colour(group),
            dashed: area.code != first_geo,
            marker: marker_of(group),
            points: values.iter().map(|s| s.value).collect(),
            band,
        });
        views.push(SeriesView { label, values });
    }
    let chart = LineChart {
        title: text.title.to_string(),
        x_labels: years.iter().map(|(_, p)| p.clone()).collect(),
        series,
        scale: if text.share {
            Scale::Percent
        } else {
            Scale::Grade
        },
    };
    // Said in words when the line a reader looks for is not there.
    let note = views
        .first()
        .zip(lines.first())
        .filter(|(v, _)| v.values.iter().all(|s| s.value.is_none()))
        .map(|(_, (area, group))| {
            format!(
                "Tallene for de {} i {} er diskretioneret eller findes ikke i nogen af årene, så linjen mangler i figuren.",
                texts::group_name(group).to_lowercase(),
                area.name
            )
        });
    Some(ChartView {
        title: text.title.to_string(),
        svg: chart.svg(),
        share: text.share,
        x: chart.x_labels.clone(),
        series: views,
        note,
    })
}

/// Each group's point marker (greyscale print tells the groups apart by it).
fn marker_of(group: &str) -> Marker {
    match group {
        "oevrige" => Marker::Square,
        "anbragt" => Marker::Triangle,
        "forebyggende" => Marker::Diamond,
        _ => Marker::Circle,
    }
}

/// Anbragte by placement group and type, for some indicators in their latest period.
#[derive(Debug, Clone, Serialize)]
pub struct PlacementTable {
    pub columns: Vec<PlacementColumn>,
    pub rows: Vec<PlacementRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlacementColumn {
    pub title: &'static str,
    pub period: String,
    pub share: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlacementRow {
    pub label: String,
    /// 0: all anbragte, 1: a placement group, 2: a placement type within it.
    pub level: u8,
    /// Per column: kommune, then Danmark.
    pub cells: Vec<[Shown; 2]>,
}

/// Placement groups in code-list order, each with its types (a group that is also a
/// type, `uoplyst`, has none).
pub fn placement_tree(codes: &Codes) -> Vec<(String, Vec<String>)> {
    let mut tree: Vec<(String, Vec<String>)> = Vec::new();
    for p in &codes.placements {
        let i = match tree.iter().position(|(g, _)| *g == p.placement_group) {
            Some(i) => i,
            None => {
                tree.push((p.placement_group.clone(), Vec::new()));
                tree.len() - 1
            }
        };
        if p.placement_type != p.placement_group && !tree[i].1.contains(&p.placement_type) {
            tree[i].1.push(p.placement_type.clone());
        }
    }
    tree
}

pub fn placement_table(
    p: &Published,
    codes: &Codes,
    indicators: &[&'static str],
    geo: i32,
) -> PlacementTable {
    let latest: Vec<(&'static str, i32, String)> = indicators
        .iter()
        .filter_map(|id| p.latest(id).map(|(y, per)| (*id, y, per.to_string())))
        .collect();
    let row = |placement: &str, level: u8| PlacementRow {
        label: texts::placement_name(placement),
        level,
        cells: latest
            .iter()
            .map(|(id, y, _)| {
                [
                    Shown::of(p.get(id, *y, geo, "anbragt", placement)),
                    Shown::of(p.get(id, *y, 0, "anbragt", placement)),
                ]
            })
            .collect(),
    };
    let mut rows = vec![row("alle", 0)];
    for (group, types) in placement_tree(codes) {
        rows.push(row(&group, 1));
        rows.extend(types.iter().map(|t| row(t, 2)));
    }
    PlacementTable {
        columns: latest
            .iter()
            .filter_map(|(id, _, per)| {
                texts::indicator(id).map(|t| PlacementColumn {
                    title: t.title,
                    period: per.clone(),
                    share: t.share,
                })
            })
            .collect(),
        rows,
    }
}

/// One row of the three-year ranking.
#[derive(Debug, Clone, Serialize)]
pub struct Rank {
    pub period_end_year: i32,
    pub window: String,
    pub geo_code: i32,
    pub name: String,
    /// The name's Danish sort key (the sortable table's `data-value`).
    pub sort_key: String,
    pub folder: String,
    pub participation: Option<i32>,
    pub grade_mean: Option<i32>,
    pub transition: Option<i32>,
    pub mean_rank: Option<f64>,
    pub bottom15: bool,
}

pub fn ranks(batch: &RecordBatch, codes: &Codes) -> Result<Vec<Rank>> {
    const WHAT: &str = "the published ranking";
    let int = |n: &str| cells::primitive::<Int32Type>(batch, WHAT, n);
    let end = int("year")?;
    let window = cells::string(batch, WHAT, "window")?;
    let geo = int("municipality_code")?;
    let name = cells::string(batch, WHAT, "municipality_name")?;
    let (part, grade, trans) = (
        int("rank_participation")?,
        int("rank_grade_mean")?,
        int("rank_transition")?,
    );
    let mean = cells::primitive::<Float64Type>(batch, WHAT, "mean_rank")?;
    let bottom = cells::boolean(batch, WHAT, "bottom15_all")?;
    let opt =
        |a: &datafusion::arrow::array::Int32Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
    let mut out: Vec<Rank> = (0..batch.num_rows())
        .map(|i| Rank {
            period_end_year: end.value(i),
            window: window.value(i).to_string(),
            geo_code: geo.value(i),
            name: name.value(i).to_string(),
            sort_key: crate::codes::danish_sort_key(name.value(i)),
            folder: codes
                .municipalities
                .iter()
                .find(|m| m.code == i64::from(geo.value(i)))
                .map(folder)
                .unwrap_or_default(),
            participation: opt(part, i),
            grade_mean: opt(grade, i),
            transition: opt(trans, i),
            mean_rank: (!mean.is_null(i)).then(|| mean.value(i)),
            bottom15: !bottom.is_null(i) && bottom.value(i),
        })
        .collect();
    out.sort_by_key(|r| (r.period_end_year, r.geo_code));
    Ok(out)
}

/// A kommune's report folder name: `<code>-<slug>` (data-contract.md).
pub fn folder(m: &Municipality) -> String {
    format!("{}-{}", m.code, slug(&m.name))
}
