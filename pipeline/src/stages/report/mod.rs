//! Report bundles: for each of the 98 kommuner a folder
//! `published/reports/<code>-<slug>/` with `rapport.html`, `rapport.pdf`,
//! `indikatorer.csv`, `indikatorer.parquet` and `manifest.json`, the folder zipped to
//! `published/bundles/<code>-<slug>.zip`, and the national overview
//! `published/reports/index.html`.
//!
//! Everything is built from the published, disclosure-controlled cells and the ranking
//! ([`model`]); the layout is minijinja templates in `report-templates/` ([`templates`]);
//! charts are SVG ([`chart`]); PDFs are printed by headless Chromium ([`pdf`]).

pub mod bundle;
pub mod chart;
pub mod csv;
pub mod format;
pub mod map;
pub mod message;
pub mod model;
pub mod pdf;
pub mod templates;
pub mod texts;

use chrono::NaiveDate;
use datafusion::arrow::array::{BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::Int32Type;
use serde::Serialize;

use crate::codes::Codes;
use crate::error::{Error, Result};
use model::{Area, ChartView, PlacementTable, Published, Rank, Shown, Table};

/// The key indicators of "Nøgletal" and "Udvikling" (queries/indicators.toml,
/// `[report] key`).
pub fn key_indicators() -> Vec<&'static str> {
    texts::section(|r| &r.key)
}

/// What the reports say about the run ("Om tallene").
#[derive(Debug, Clone, Serialize)]
pub struct Basis {
    /// The run's data version (manifest.rs, `data_version`), not its run id: the same
    /// data gives the same reports, byte for byte.
    pub data_version: String,
    #[serde(skip)]
    pub extract_date: NaiveDate,
    /// The extract date in Danish, e.g. "1. november 2026".
    pub extract_date_da: String,
    pub rows_used: u64,
    pub rows_rejected: u64,
    pub k: i64,
    /// The footer metadata of the run's Parquet files, for `indikatorer.parquet`.
    #[serde(skip)]
    pub parquet_metadata: Vec<(&'static str, String)>,
    /// The periods this release revised (`run --revise`), marked "revideret".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revised_periods: Vec<String>,
    /// Who publishes the reports, a contact and the publication date in Danish
    /// (configuration `[report]`).
    pub sender: String,
    pub contact: Option<String>,
    pub publication_date_da: Option<String>,
}

impl Basis {
    pub fn new(
        data_version: &str,
        extract_date: NaiveDate,
        used: u64,
        rejected: u64,
        k: i64,
    ) -> Self {
        Basis {
            data_version: data_version.to_string(),
            extract_date,
            extract_date_da: format::date(extract_date),
            rows_used: used,
            rows_rejected: rejected,
            k,
            parquet_metadata: Vec::new(),
            revised_periods: Vec::new(),
            sender: crate::config::Report::default().sender,
            contact: None,
            publication_date_da: None,
        }
    }

    /// The sender, contact and publication date of the configuration's `[report]`.
    pub fn published_by(mut self, report: &crate::config::Report) -> Self {
        self.sender = report.sender.clone();
        self.contact = report.contact.clone();
        self.publication_date_da = report.publication_date.map(format::date);
        self
    }

    /// The line every PDF page's footer carries: extract date and data version.
    pub fn footer_note(&self) -> String {
        format!(
            "Registerudtræk af {} · dataversion {}",
            self.extract_date_da, self.data_version
        )
    }
}

#[derive(Debug, Clone, Serialize)]
struct Definition {
    title: &'static str,
    text: &'static str,
}

fn definitions() -> Vec<Definition> {
    texts::indicators()
        .map(|t| Definition {
            title: t.title,
            text: t.definition,
        })
        .collect()
}

/// Everything `rapport.html` shows for one kommune.
#[derive(Debug, Clone, Serialize)]
pub struct KommunePage {
    code: i64,
    name: String,
    region: String,
    folder: String,
    basis: Basis,
    key: Vec<Table>,
    trends: Vec<ChartView>,
    placement: PlacementTable,
    grades: Vec<Table>,
    youth: Vec<Table>,
    school: Vec<Table>,
    ranks: Vec<Rank>,
    definitions: Vec<Definition>,
    /// Page 1's message: a few sentences per key indicator.
    headlines: Vec<message::Headline>,
    /// "Datagrundlag": the number of children the latest figures count.
    counts: Vec<String>,
}

/// The national overview.
#[derive(Debug, Clone, Serialize)]
pub struct IndexPage {
    basis: Basis,
    key: Vec<Table>,
    trends: Vec<ChartView>,
    regions: AreaTable,
    kommuner: AreaTable,
    /// The choropleth of the kommuner (none when no kommune's figure is published).
    map: Option<map::MapView>,
    ranking_window: Option<String>,
    ranking: Vec<Rank>,
    definitions: Vec<Definition>,
    /// "Datagrundlag": the number of children the latest figures count.
    counts: Vec<String>,
}

/// The key indicators, as the registry defines them.
fn key_registry() -> Vec<&'static crate::registry::Indicator> {
    key_indicators()
        .iter()
        .filter_map(|id| crate::registry::checked().indicator(id))
        .collect()
}

/// Areas down, (indicator, group) across: the region and kommune tables of the overview,
/// with Danmark as the reference row and, for kommuner, each one's region.
#[derive(Debug, Clone, Serialize)]
pub struct AreaTable {
    columns: Vec<AreaColumn>,
    rows: Vec<AreaRow>,
    reference: AreaRow,
    /// The rows are kommuner with a region column.
    regions: bool,
}

#[derive(Debug, Clone, Serialize)]
struct AreaColumn {
    title: &'static str,
    group: &'static str,
    period: String,
    /// `figure` (a group's figure and interval), `n` (the udsatte's number of persons,
    /// the figure's denominator) or `gap` (udsatte − øvrige in percentage points).
    kind: &'static str,
    /// Shares (`true`) or mean grades.
    share: bool,
}

#[derive(Debug, Clone, Serialize)]
struct AreaRow {
    code: i32,
    name: String,
    /// The kommune's region (kommune tables only).
    region: Option<String>,
    /// The name's Danish sort key (the sortable table's `data-value`).
    sort_key: String,
    folder: Option<String>,
    cells: Vec<Shown>,
}

/// An overview row's area, its report folder and (for a kommune) its region.
type AreaSource = (Area, Option<String>, Option<String>);

fn area_table(p: &Published, areas: &[AreaSource]) -> AreaTable {
    let mut columns = Vec::new();
    let mut keys = Vec::new();
    for id in key_indicators() {
        let (Some(text), Some((year, period))) = (texts::indicator(id), p.latest(id)) else {
            continue;
        };
        let mut column = |group, kind, key| {
            columns.push(AreaColumn {
                title: text.title,
                group,
                period: period.to_string(),
                kind,
                share: text.share,
            });
            keys.push((id, year, key));
        };
        column("antal udsatte", "n", Some("udsat"));
        column("udsatte", "figure", Some("udsat"));
        column("øvrige", "figure", Some("oevrige"));
        if text.share {
            column("forskel i procentpoint", "gap", None);
        }
    }
    let row = |(a, folder, region): &AreaSource| AreaRow {
        code: a.code,
        name: a.name.clone(),
        region: region.clone(),
        sort_key: crate::codes::danish_sort_key(&a.name),
        folder: folder.clone(),
        cells: keys
            .iter()
            .map(|(id, y, g)| {
                let shown = |g: &str| Shown::of(p.get(id, *y, a.code, g, "alle"));
                match g {
                    Some(g) => shown(g),
                    None => Shown::gap(&shown("udsat"), &shown("oevrige")),
                }
            })
            .collect(),
    };
    AreaTable {
        columns,
        rows: areas.iter().map(row).collect(),
        reference: row(&(danmark(), None, None)),
        regions: areas.iter().any(|a| a.2.is_some()),
    }
}

/// One kommune's rendered files (before PDF, manifest and zip).
#[derive(Debug, Clone)]
pub struct KommuneFiles {
    pub code: i64,
    /// The code list's name (the bundle's manifest).
    pub name: String,
    /// "Københavns Kommune", "Herning Kommune": the PDF's running header.
    pub official_name: String,
    /// `<code>-<slug>`.
    pub folder: String,
    pub html: String,
    pub csv: Vec<u8>,
    pub parquet: Vec<u8>,
}

/// All reports of a run, rendered.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub kommuner: Vec<KommuneFiles>,
    pub index: String,
}

/// Renders the 98 kommune reports and the overview from the published cells and the
/// ranking.
pub fn render(
    cells: &RecordBatch,
    rankings: &RecordBatch,
    codes: &Codes,
    basis: &Basis,
) -> Result<Rendered> {
    let mut published = Published::from_batch(cells)?;
    published.mark_revised(&basis.revised_periods);
    let ranks = model::ranks(rankings, codes)?;
    let env = templates::environment()?;
    let page = Pages {
        cells,
        published: &published,
        ranks: &ranks,
        codes,
        basis,
        env: &env,
    };
    let kommuner = codes
        .municipalities
        .iter()
        .map(|m| page.kommune(m))
        .collect::<Result<Vec<_>>>()?;
    let index = page.index()?;
    Ok(Rendered { kommuner, index })
}

/// What every page is made from.
struct Pages<'a> {
    cells: &'a RecordBatch,
    published: &'a Published,
    ranks: &'a [Rank],
    codes: &'a Codes,
    basis: &'a Basis,
    env: &'a minijinja::Environment<'static>,
}

/// The published cells of one kommune (its bundle's CSV and Parquet).
fn own_cells(cells: &RecordBatch, code: i32) -> Result<RecordBatch> {
    let geo = crate::cells::primitive::<Int32Type>(cells, "the published cells", "geo_code")?;
    let mask: BooleanArray = geo.iter().map(|g| Some(g == Some(code))).collect();
    filter_record_batch(cells, &mask).map_err(|e| Error::internal("selecting a kommune's cells", e))
}

fn danmark() -> Area {
    Area {
        code: 0,
        name: "Danmark".to_string(),
    }
}

impl Pages<'_> {
    /// One kommune's report and the files of its bundle.
    fn kommune(&self, m: &crate::codes::Municipality) -> Result<KommuneFiles> {
        let (cells, published, ranks, codes, basis, env) = (
            self.cells,
            self.published,
            self.ranks,
            self.codes,
            self.basis,
            self.env,
        );
        let danmark = danmark();
        let kommune = Area {
            code: m.code as i32,
            name: m.official_name(),
        };
        let region = Area {
            code: m.region_code as i32,
            name: m.region_name.clone(),
        };
        let areas = [kommune.clone(), region.clone(), danmark.clone()];
        let tables = |ids: &[&'static str]| -> Vec<Table> {
            ids.iter()
                .filter_map(|id| model::table(published, id, &areas))
                .collect()
        };
        let key_indicators = key_indicators();
        let key = tables(&key_indicators);
        let grades = tables(&texts::section(|r| &r.grades));
        let youth = tables(&texts::section(|r| &r.youth));
        let school = tables(&texts::section(|r| &r.school));
        let trends = key_indicators
            .iter()
            .filter_map(|id| {
                model::trend(
                    published,
                    id,
                    &[
                        (&kommune, "udsat"),
                        (&kommune, "oevrige"),
                        (&danmark, "udsat"),
                        (&danmark, "oevrige"),
                    ],
                    kommune.code,
                )
            })
            .collect();
        let placement = model::placement_table(
            published,
            codes,
            &texts::section(|r| &r.placement),
            kommune.code,
        );
        let key_registry = key_registry();
        let headlines = key_registry
            .iter()
            .filter_map(|i| message::headline(published, i, &kommune, &region))
            .collect();
        let folder = model::folder(m);
        let page = KommunePage {
            code: m.code,
            name: kommune.name.clone(),
            region: m.region_name.clone(),
            folder: folder.clone(),
            basis: basis.clone(),
            key,
            trends,
            placement,
            grades,
            youth,
            school,
            ranks: ranks
                .iter()
                .filter(|r| i64::from(r.geo_code) == m.code)
                .cloned()
                .collect(),
            definitions: definitions(),
            headlines,
            counts: message::counts(published, &key_registry, &kommune),
        };
        let html = templates::render(env, "kommune.html", &page)?;
        let own = own_cells(cells, kommune.code)?;
        Ok(KommuneFiles {
            code: m.code,
            name: m.name.clone(),
            official_name: kommune.name.clone(),
            folder,
            html,
            csv: csv::danish_csv(&own, basis)?,
            parquet: crate::storage::runs::parquet_bytes_with(
                own.schema(),
                std::slice::from_ref(&own),
                &basis.parquet_metadata,
            )
            .map_err(|e| Error::internal("indikatorer.parquet", e))?,
        })
    }

    /// The national overview.
    fn index(&self) -> Result<String> {
        let (published, ranks, codes, basis, env) =
            (self.published, self.ranks, self.codes, self.basis, self.env);
        let danmark = danmark();
        let regions: Vec<AreaSource> = {
            let mut seen: Vec<AreaSource> = Vec::new();
            for m in &codes.municipalities {
                if !seen
                    .iter()
                    .any(|(a, ..)| i64::from(a.code) == m.region_code)
                {
                    seen.push((
                        Area {
                            code: m.region_code as i32,
                            name: m.region_name.clone(),
                        },
                        None,
                        None,
                    ));
                }
            }
            seen.sort_by_key(|(a, ..)| crate::codes::region_position(i64::from(a.code)));
            seen
        };
        let mut kommuner: Vec<&crate::codes::Municipality> = codes.municipalities.iter().collect();
        kommuner.sort_by_key(|m| crate::codes::danish_sort_key(&m.name));
        let kommune_areas: Vec<AreaSource> = kommuner
            .into_iter()
            .map(|m| {
                let region = m.region_name.as_str();
                (
                    Area {
                        code: m.code as i32,
                        name: m.name.clone(),
                    },
                    Some(model::folder(m)),
                    Some(region.strip_prefix("Region ").unwrap_or(region).to_string()),
                )
            })
            .collect();
        let latest_window = ranks.iter().map(|r| r.period_end_year).max();
        let mut ranking: Vec<Rank> = ranks
            .iter()
            .filter(|r| Some(r.period_end_year) == latest_window)
            .cloned()
            .collect();
        ranking.sort_by(|a, b| {
            a.mean_rank
                .unwrap_or(f64::MAX)
                .total_cmp(&b.mean_rank.unwrap_or(f64::MAX))
                .then(a.geo_code.cmp(&b.geo_code))
        });
        let index = IndexPage {
            basis: basis.clone(),
            key: key_indicators()
                .iter()
                .filter_map(|id| model::table(published, id, std::slice::from_ref(&danmark)))
                .collect(),
            trends: key_indicators()
                .iter()
                .filter_map(|id| {
                    model::trend(
                        published,
                        id,
                        &[
                            (&danmark, "udsat"),
                            (&danmark, "anbragt"),
                            (&danmark, "forebyggende"),
                            (&danmark, "oevrige"),
                        ],
                        0,
                    )
                })
                .collect(),
            regions: area_table(published, &regions),
            kommuner: area_table(published, &kommune_areas),
            map: map::choropleth(published, codes, &key_indicators())?,
            ranking_window: ranking.first().map(|r| r.window.clone()),
            ranking,
            definitions: definitions(),
            counts: message::counts(published, &key_registry(), &danmark),
        };
        templates::render(env, "index.html", &index)
    }
}
