//! The official code lists, embedded in the binary (a copy of the spec's `codes/`).
//!
//! They are facts, not configuration: a new kommune or placement code is a release.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{BooleanArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use crate::error::{Error, Result};

pub const MUNICIPALITIES_CSV: &str = include_str!("../codes/municipalities.csv");
pub const PLACEMENT_CODES_CSV: &str = include_str!("../codes/placement_codes.csv");
pub const EXAM_CODES_CSV: &str = include_str!("../codes/exam_codes.csv");
pub const EXAM_EXCEPTION_CODES_CSV: &str = include_str!("../codes/exam_exception_codes.csv");
pub const YOUTH_EDUCATION_PROGRAMMES_CSV: &str =
    include_str!("../codes/youth_education_programmes.csv");

#[derive(Debug, Clone, PartialEq)]
pub struct Municipality {
    pub code: i64,
    pub name: String,
    pub region_code: i64,
    pub region_name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub code: i64,
    pub label_da: String,
    pub placement_type: String,
    pub placement_group: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Programme {
    pub programme: String,
    pub label_da: String,
    pub category: String,
    pub counts_as_youth_education: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExamCode {
    pub code: i64,
    pub label_da: String,
    pub subject: String,
    pub bound_fp9: bool,
}

/// All code lists, parsed once.
#[derive(Debug, Clone)]
pub struct Codes {
    pub municipalities: Vec<Municipality>,
    pub placements: Vec<Placement>,
    pub exam_codes: Vec<ExamCode>,
    pub exception_codes: BTreeMap<i64, String>,
    pub programmes: Vec<Programme>,
}

/// Splits one CSV line, honouring double quotes (the code lists quote labels with commas).
fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

fn rows(name: &str, text: &str, width: usize) -> Result<Vec<Vec<String>>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let f = split_csv_line(line.trim_end_matches('\r'));
            if f.len() == width {
                Ok(f)
            } else {
                Err(Error::Internal(format!(
                    "embedded code list {name}: line {} has {} fields, expected {width}",
                    i + 2,
                    f.len()
                )))
            }
        })
        .collect()
}

fn int(name: &str, s: &str) -> Result<i64> {
    s.parse().map_err(|_| {
        Error::Internal(format!(
            "embedded code list {name}: `{s}` is not an integer"
        ))
    })
}

impl Codes {
    /// Parses the embedded lists. Fails only if the embedded files are broken (a bug).
    pub fn embedded() -> Result<Self> {
        let municipalities = rows("municipalities.csv", MUNICIPALITIES_CSV, 4)?
            .into_iter()
            .map(|f| {
                Ok(Municipality {
                    code: int("municipalities.csv", &f[0])?,
                    name: f[1].clone(),
                    region_code: int("municipalities.csv", &f[2])?,
                    region_name: f[3].clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let placements = rows("placement_codes.csv", PLACEMENT_CODES_CSV, 4)?
            .into_iter()
            .map(|f| {
                Ok(Placement {
                    code: int("placement_codes.csv", &f[0])?,
                    label_da: f[1].clone(),
                    placement_type: f[2].clone(),
                    placement_group: f[3].clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let exam_codes = rows("exam_codes.csv", EXAM_CODES_CSV, 4)?
            .into_iter()
            .map(|f| {
                Ok(ExamCode {
                    code: int("exam_codes.csv", &f[0])?,
                    label_da: f[1].clone(),
                    subject: f[2].clone(),
                    bound_fp9: f[3] == "true",
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let exception_codes = rows("exam_exception_codes.csv", EXAM_EXCEPTION_CODES_CSV, 2)?
            .into_iter()
            .map(|f| Ok((int("exam_exception_codes.csv", &f[0])?, f[1].clone())))
            .collect::<Result<BTreeMap<_, _>>>()?;
        let programmes = rows(
            "youth_education_programmes.csv",
            YOUTH_EDUCATION_PROGRAMMES_CSV,
            4,
        )?
        .into_iter()
        .map(|f| Programme {
            programme: f[0].clone(),
            label_da: f[1].clone(),
            category: f[2].clone(),
            counts_as_youth_education: f[3] == "true",
        })
        .collect();
        Ok(Codes {
            municipalities,
            placements,
            exam_codes,
            exception_codes,
            programmes,
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
}
