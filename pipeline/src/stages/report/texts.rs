//! The Danish words of the reports: indicator names and definitions (from
//! methodology.md, in plain Danish), group and placement names, group colours.

/// One indicator as a reader meets it.
pub struct IndicatorText {
    pub id: &'static str,
    /// Short name for tables and charts.
    pub title: &'static str,
    /// Plain-Danish definition for "Om tallene".
    pub definition: &'static str,
    /// Shares (`true`) or a mean grade.
    pub share: bool,
}

pub const INDICATORS: [IndicatorText; 10] = [
    IndicatorText {
        id: "fp9_participation",
        title: "Aflagt alle prøver i dansk og matematik",
        definition: "Andel af eleverne i 9. klasse, der har aflagt alle seks bundne prøver i dansk og matematik ved 9.-klasseprøverne.",
        share: true,
    },
    IndicatorText {
        id: "fp9_min2_dan_mat",
        title: "Mindst 2 i dansk og matematik",
        definition: "Andel af eleverne i 9. klasse, der har aflagt alle seks bundne prøver i dansk og matematik og har fået mindst 2 i gennemsnit i både dansk og matematik.",
        share: true,
    },
    IndicatorText {
        id: "fp9_min2_dan_mat_takers",
        title: "Mindst 2 i dansk og matematik blandt dem, der aflagde prøverne",
        definition: "Som ovenfor, men opgjort blandt de elever, der har aflagt alle seks bundne prøver i dansk og matematik.",
        share: true,
    },
    IndicatorText {
        id: "fp9_passed",
        title: "Bestået folkeskolens afgangseksamen",
        definition: "Andel af eleverne i 9. klasse, der har aflagt alle otte bundne prøver med et gennemsnit på mindst 2,0.",
        share: true,
    },
    IndicatorText {
        id: "fp9_grade_mean",
        title: "Karaktergennemsnit ved de bundne prøver",
        definition: "Gennemsnit over eleverne af hver elevs gennemsnit ved de bundne prøver, blandt elever i 9. klasse, der har aflagt mindst én bunden prøve.",
        share: false,
    },
    IndicatorText {
        id: "transition_15m",
        title: "I ungdomsuddannelse 15 måneder efter 9. klasse",
        definition: "Andel af eleverne i 9. klasse, der 15 måneder efter skoleårets afslutning (1. oktober) er i gang med eller har fuldført en ungdomsuddannelse.",
        share: true,
    },
    IndicatorText {
        id: "school_offer_almen",
        title: "Elever i almindelig klasse",
        definition: "Andel af eleverne i 9. klasse, der går i en almindelig klasse i folkeskolen, en fri grundskole eller en efterskole (ikke specialklasse eller specialskole).",
        share: true,
    },
    IndicatorText {
        id: "youth_edu_18",
        title: "18-årige i gang med eller færdige med en ungdomsuddannelse",
        definition: "Andel af de 18-årige med bopæl i Danmark, der den 1. oktober er i gang med eller har fuldført en ungdomsuddannelse.",
        share: true,
    },
    IndicatorText {
        id: "youth_edu_completed_25",
        title: "25-årige med en fuldført ungdomsuddannelse",
        definition: "Andel af de 25-årige med bopæl i Danmark, der senest den 1. oktober har fuldført en ungdomsuddannelse.",
        share: true,
    },
    IndicatorText {
        id: "no_fp9_by_17",
        title: "17-årige uden prøve i dansk eller matematik",
        definition: "Andel af de 17-årige med bopæl i Danmark, der aldrig har aflagt en bunden prøve i dansk eller matematik.",
        share: true,
    },
];

pub fn indicator(id: &str) -> Option<&'static IndicatorText> {
    INDICATORS.iter().find(|t| t.id == id)
}

/// Groups in the order the reports show them, with their names and colours (the
/// Okabe–Ito palette: distinguishable with colour vision deficiencies).
pub const GROUPS: [(&str, &str, &str); 5] = [
    ("udsat", "Udsatte", "#D55E00"),
    ("anbragt", "Anbragte", "#CC79A7"),
    ("forebyggende", "Forebyggende foranstaltninger", "#E69F00"),
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
