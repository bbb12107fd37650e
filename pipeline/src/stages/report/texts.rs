//! The Danish words of the reports: indicator names and definitions (from the
//! registry, queries/indicators.toml), group and placement names, group colours.

use crate::registry;

/// One indicator as a reader meets it (queries/indicators.toml: `title`, `definition`).
#[derive(Debug, Clone, Copy)]
pub struct IndicatorText {
    pub id: &'static str,
    /// Short name for tables and charts.
    pub title: &'static str,
    /// Plain-Danish definition for "Om tallene".
    pub definition: &'static str,
    /// Shares (`true`) or a mean grade.
    pub share: bool,
    /// A lower figure is the better one.
    pub lower_is_better: bool,
}

fn text(i: &'static registry::Indicator) -> IndicatorText {
    IndicatorText {
        id: &i.id,
        title: &i.title,
        definition: &i.definition,
        share: i.measure == registry::Measure::Share,
        lower_is_better: i.lower_is_better,
    }
}

/// Every indicator, in publication order.
pub fn indicators() -> impl Iterator<Item = IndicatorText> {
    registry::checked().indicators.iter().map(text)
}

pub fn indicator(id: &str) -> Option<IndicatorText> {
    registry::checked().indicator(id).map(text)
}

/// The indicators of a report section (queries/indicators.toml, `[report]`).
pub fn section(pick: fn(&registry::ReportSections) -> &Vec<String>) -> Vec<&'static str> {
    pick(&registry::checked().report)
        .iter()
        .map(String::as_str)
        .collect()
}

/// Groups in the order the reports show them, with their names and colours (the
/// Okabe–Ito palette, distinguishable with colour vision deficiencies; forebyggende's
/// orange darkened to #A66F00 so that every line has at least 3:1 contrast on white).
pub const GROUPS: [(&str, &str, &str); 5] = [
    ("udsat", "Udsatte", "#D55E00"),
    ("anbragt", "Anbragte", "#CC79A7"),
    (
        "forebyggende",
        "Med forebyggende foranstaltninger",
        "#A66F00",
    ),
    ("oevrige", "Øvrige", "#0072B2"),
    ("alle", "Alle", "#555555"),
];

pub fn group_name(group: &str) -> &'static str {
    GROUPS
        .iter()
        .find(|g| g.0 == group)
        .map_or("Ukendt gruppe", |g| g.1)
}

pub fn group_colour(group: &str) -> &'static str {
    GROUPS
        .iter()
        .find(|g| g.0 == group)
        .map_or("#000000", |g| g.2)
}

/// Placement groups and types (codes/placement_codes.csv) in Danish.
pub fn placement_name(placement: &str) -> String {
    match placement {
        "alle" => "Alle anbragte",
        "familiepleje" => "Familiepleje",
        "netvaerkspleje" => "Netværkspleje",
        "plejefamilie" => "Plejefamilie",
        "institution" => "Institution",
        "doegninstitution" => "Døgninstitution",
        "opholdssted" => "Opholdssted",
        "anden" => "Anden anbringelse",
        "kostskole_efterskole" => "Kost- eller efterskole",
        "eget_vaerelse" => "Eget værelse, kollegium o.l.",
        "uoplyst" => "Uoplyst",
        other => return other.to_string(),
    }
    .to_string()
}
