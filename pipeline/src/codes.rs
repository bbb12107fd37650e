//! The official code lists, embedded in the binary (a copy of the spec's `codes/`).
//!
//! They are facts, not configuration: a new kommune or placement code is a release.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

use datafusion::arrow::array::{BooleanArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use crate::error::{Error, Result};

pub const MUNICIPALITIES_CSV: &str = include_str!("../codes/municipalities.csv");
pub const PLACEMENT_CODES_CSV: &str = include_str!("../codes/placement_codes.csv");
pub const EXAM_CODES_CSV: &str = include_str!("../codes/exam_codes.csv");
pub const EXAM_EXCEPTION_CODES_CSV: &str = include_str!("../codes/exam_exception_codes.csv");
pub const YOUTH_EDUCATION_PROGRAMMES_CSV: &str =
    include_str!("../codes/youth_education_programmes.csv");

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Municipality {
    #[serde(rename = "municipality_code")]
    pub code: i64,
    #[serde(rename = "municipality_name")]
    pub name: String,
    pub region_code: i64,
    pub region_name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Placement {
    #[serde(rename = "placement_code")]
    pub code: i64,
    pub label_da: String,
    pub placement_type: String,
    pub placement_group: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Programme {
    pub programme: String,
    pub label_da: String,
    pub category: String,
    pub counts_as_youth_education: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExamCode {
    #[serde(rename = "exam_code")]
    pub code: i64,
    pub label_da: String,
    pub subject: String,
    pub bound_fp9: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct ExceptionCode {
    exception_code: i64,
    label_da: String,
}

/// All code lists, parsed once per process.
#[derive(Debug, Clone)]
pub struct Codes {
    pub municipalities: Vec<Municipality>,
    pub placements: Vec<Placement>,
    pub exam_codes: Vec<ExamCode>,
    pub exception_codes: BTreeMap<i64, String>,
    pub programmes: Vec<Programme>,
}

/// The rows of one embedded CSV (header first), by the column names of its header.
fn rows<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<Vec<T>> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<std::result::Result<Vec<T>, _>>()
        .map_err(|e| Error::Internal(format!("embedded code list {name}: {e}")))
}

impl Codes {
    /// The embedded lists, parsed on first use. Fails only if the embedded files are
    /// broken (a bug).
    pub fn embedded() -> Result<&'static Codes> {
        static CODES: OnceLock<std::result::Result<Codes, String>> = OnceLock::new();
        CODES
            .get_or_init(|| Codes::parse().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Error::Internal(e.clone()))
    }

    fn parse() -> Result<Codes> {
        Ok(Codes {
            municipalities: rows("municipalities.csv", MUNICIPALITIES_CSV)?,
            placements: rows("placement_codes.csv", PLACEMENT_CODES_CSV)?,
            exam_codes: rows("exam_codes.csv", EXAM_CODES_CSV)?,
            exception_codes: rows::<ExceptionCode>(
                "exam_exception_codes.csv",
                EXAM_EXCEPTION_CODES_CSV,
            )?
            .into_iter()
            .map(|e| (e.exception_code, e.label_da))
            .collect(),
            programmes: rows(
                "youth_education_programmes.csv",
                YOUTH_EDUCATION_PROGRAMMES_CSV,
            )?,
        })
    }

    /// The code lists as small Arrow tables, registered in the SQL session under these
    /// names: `code_municipalities`, `code_placements`, `code_exceptions`, `code_programmes`.
    pub fn tables(&self) -> Result<Vec<(&'static str, RecordBatch)>> {
        let utf8 = |n: &str| Field::new(n, DataType::Utf8, false);
        let int64 = |n: &str| Field::new(n, DataType::Int64, false);
        let mk = |fields: Vec<Field>, cols: Vec<datafusion::arrow::array::ArrayRef>| {
            RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
                .map_err(|e| Error::internal("building code tables", e))
        };
        let m = &self.municipalities;
        let p = &self.placements;
        let pr = &self.programmes;
        Ok(vec![
            (
                "code_municipalities",
                mk(
                    vec![
                        int64("municipality_code"),
                        utf8("municipality_name"),
                        int64("region_code"),
                        utf8("region_name"),
                    ],
                    vec![
                        Arc::new(Int64Array::from_iter_values(m.iter().map(|x| x.code))),
                        Arc::new(StringArray::from_iter_values(m.iter().map(|x| &x.name))),
                        Arc::new(Int64Array::from_iter_values(
                            m.iter().map(|x| x.region_code),
                        )),
                        Arc::new(StringArray::from_iter_values(
                            m.iter().map(|x| &x.region_name),
                        )),
                    ],
                )?,
            ),
            (
                "code_placements",
                mk(
                    vec![
                        int64("placement_code"),
                        utf8("placement_type"),
                        utf8("placement_group"),
                    ],
                    vec![
                        Arc::new(Int64Array::from_iter_values(p.iter().map(|x| x.code))),
                        Arc::new(StringArray::from_iter_values(
                            p.iter().map(|x| &x.placement_type),
                        )),
                        Arc::new(StringArray::from_iter_values(
                            p.iter().map(|x| &x.placement_group),
                        )),
                    ],
                )?,
            ),
            (
                "code_exceptions",
                mk(
                    vec![int64("exception_code")],
                    vec![Arc::new(Int64Array::from_iter_values(
                        self.exception_codes.keys().copied(),
                    ))],
                )?,
            ),
            (
                "code_programmes",
                mk(
                    vec![
                        utf8("programme"),
                        Field::new("counts_as_youth_education", DataType::Boolean, false),
                    ],
                    vec![
                        Arc::new(StringArray::from_iter_values(
                            pr.iter().map(|x| &x.programme),
                        )),
                        Arc::new(BooleanArray::from(
                            pr.iter()
                                .map(|x| x.counts_as_youth_education)
                                .collect::<Vec<_>>(),
                        )),
                    ],
                )?,
            ),
        ])
    }
}

impl Municipality {
    /// The kommune's official name as a Danish reader expects it in a heading:
    /// "Københavns Kommune", "Bornholms Regionskommune", otherwise "<navn> Kommune".
    pub fn official_name(&self) -> String {
        match self.code {
            101 => "Københavns Kommune".to_string(),
            400 => "Bornholms Regionskommune".to_string(),
            _ => format!("{} Kommune", self.name),
        }
    }
}

/// The regions in the order Danish tables list them (Danmarks Statistik): Hovedstaden,
/// Sjælland, Syddanmark, Midtjylland, Nordjylland.
pub const REGION_ORDER: [i64; 5] = [1084, 1085, 1083, 1082, 1081];

/// A region's position in [`REGION_ORDER`] (unknown codes last).
pub fn region_position(code: i64) -> usize {
    REGION_ORDER
        .iter()
        .position(|r| *r == code)
        .unwrap_or(REGION_ORDER.len())
}

/// A sort key for Danish names: the alphabet ends æ, ø, å, and a leading "Aa" is "Å"
/// (Aabenraa, Aalborg and Aarhus sort last, as in Danish reference works).
pub fn danish_sort_key(name: &str) -> String {
    let lower = name.to_lowercase();
    let lower = match lower.strip_prefix("aa") {
        Some(rest) => format!("å{rest}"),
        None => lower,
    };
    lower
        .chars()
        .map(|c| match c {
            'æ' | 'ä' => '{',
            'ø' | 'ö' => '|',
            'å' => '}',
            'é' => 'e',
            'ü' => 'y',
            c => c,
        })
        .collect()
}

/// The slug of a municipality name (data-contract.md): lower-case ASCII, æ→ae, ø→oe,
/// å→aa, spaces and punctuation → `-`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        match c {
            'æ' => out.push_str("ae"),
            'ø' => out.push_str("oe"),
            'å' => out.push_str("aa"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => {
                if !out.ends_with('-') {
                    out.push('-')
                }
            }
        }
    }
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_lists_have_the_official_sizes() {
        let c = Codes::embedded().unwrap();
        assert_eq!(c.municipalities.len(), 98);
        let regions: std::collections::BTreeSet<_> =
            c.municipalities.iter().map(|m| m.region_code).collect();
        assert_eq!(
            regions.into_iter().collect::<Vec<_>>(),
            vec![1081, 1082, 1083, 1084, 1085]
        );
        assert_eq!(c.placements.len(), 14);
        assert_eq!(c.exception_codes.len(), 7);
        assert_eq!(c.exam_codes.iter().filter(|e| e.bound_fp9).count(), 8);
        assert_eq!(c.programmes.len(), 8);
        // A quoted label with a comma survives.
        assert_eq!(c.exam_codes[0].label_da, "Dansk, læsning");
    }

    #[test]
    fn slugs_follow_the_contract() {
        assert_eq!(slug("København"), "koebenhavn");
        assert_eq!(slug("Ærø"), "aeroe");
        assert_eq!(slug("Høje-Taastrup"), "hoeje-taastrup");
        assert_eq!(slug("Lyngby-Taarbæk"), "lyngby-taarbaek");
        assert_eq!(slug("Aabenraa"), "aabenraa");
        assert_eq!(slug("Brønderslev"), "broenderslev");
    }

    #[test]
    fn official_names_and_danish_order_follow_danish_convention() {
        let m = |code: i64, name: &str| Municipality {
            code,
            name: name.to_string(),
            region_code: 1084,
            region_name: "Region Hovedstaden".to_string(),
        };
        assert_eq!(m(101, "København").official_name(), "Københavns Kommune");
        assert_eq!(
            m(400, "Bornholm").official_name(),
            "Bornholms Regionskommune"
        );
        assert_eq!(
            m(147, "Frederiksberg").official_name(),
            "Frederiksberg Kommune"
        );
        let mut names = vec![
            "Aarhus", "Ærø", "Odense", "Aabenraa", "Ålborg", "Ballerup", "Øster",
        ];
        names.sort_by_key(|n| danish_sort_key(n));
        assert_eq!(
            names,
            [
                "Ballerup", "Odense", "Ærø", "Øster", "Aabenraa", "Ålborg", "Aarhus"
            ]
        );
        assert_eq!(region_position(1084), 0);
        assert_eq!(region_position(1081), 4);
    }
}
