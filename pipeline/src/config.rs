//! The run configuration: a TOML file whose every key is documented, with its default,
//! in docs/configuration.md. Unknown keys and bad values are configuration errors
//! (exit code 2). The effective configuration, defaults filled in, is written into
//! every manifest.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The group window for school-year indicators (methodology.md, "Who is in which group").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SchoolYearWindow {
    /// 1 August Y to 31 July Y+1 (the published definition).
    #[default]
    SchoolYear,
    /// The status on 31 December of year Y.
    #[serde(rename = "december_31")]
    December31,
    /// The five years up to 31 July Y+1.
    FiveYears,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The date the extracts were drawn. Required for a run (from here or
    /// `--extract-date`), except on the committed sample, which carries its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract_date: Option<NaiveDate>,
    /// An extract whose rejected share exceeds this fails the run (exit 1).
    #[serde(default = "default_max_rejected_share")]
    pub max_rejected_share: f64,
    #[serde(default)]
    pub disclosure: Disclosure,
    #[serde(default)]
    pub groups: Groups,
    #[serde(default)]
    pub exams: Exams,
    /// Released periods to revise, as `run --revise` (methodology.md, "Releases"). Kept
    /// here, they are revised by every run until removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revise: Vec<String>,
    #[serde(default)]
    pub report: Report,
}

/// What the reports say about who publishes them (page 1's masthead, every PDF page's
/// footer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The publisher, as readers should see it.
    #[serde(default = "default_sender")]
    pub sender: String,
    /// Where readers ask: a name, an e-mail address, a telephone number or a web address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The date the reports are published. Not the run's clock: the same data and
    /// configuration give the same reports, byte for byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication_date: Option<NaiveDate>,
}

fn default_sender() -> String {
    "Partnerskabet for udsatte børn og unges skolegang og læring".to_string()
}

impl Default for Report {
    fn default() -> Self {
        Report {
            sender: default_sender(),
            contact: None,
            publication_date: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disclosure {
    /// The threshold k of disclosure control, 5..=10 (methodology.md version 2).
    #[serde(default = "default_k")]
    pub k: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Groups {
    #[serde(default)]
    pub school_year_window: SchoolYearWindow,
}

/// The bound exams and their weights, per range of school years.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exams {
    /// Sorted by `from_school_year`; the entry with the largest `from_school_year` <= Y
    /// applies to school year Y.
    #[serde(default = "default_bound_exams")]
    pub bound: Vec<BoundExams>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundExams {
    /// First school year (start year) this list applies to.
    pub from_school_year: i32,
    /// Bound Danish exam codes; the Danish average is the weighted mean of their grades.
    pub danish: Vec<i64>,
    /// Bound mathematics exam codes.
    pub mathematics: Vec<i64>,
    /// The other bound exams that, with Danish and mathematics, make up the exams of
    /// `fp9_passed` and `fp9_grade_mean`.
    pub other: Vec<i64>,
    /// Weight per exam code in the Danish and mathematics averages; codes not listed
    /// weigh 1.
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
}

fn default_max_rejected_share() -> f64 {
    0.01
}
fn default_k() -> u32 {
    5
}
fn default_bound_exams() -> Vec<BoundExams> {
    vec![BoundExams {
        from_school_year: 1900,
        danish: vec![110, 140, 150, 120],
        mathematics: vec![220, 210],
        other: vec![410, 570],
        weights: BTreeMap::new(),
    }]
}

impl Default for Disclosure {
    fn default() -> Self {
        Disclosure { k: default_k() }
    }
}

impl Default for Exams {
    fn default() -> Self {
        Exams {
            bound: default_bound_exams(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            extract_date: None,
            max_rejected_share: default_max_rejected_share(),
            disclosure: Disclosure::default(),
            groups: Groups::default(),
            exams: Exams::default(),
            revise: Vec::new(),
            report: Report::default(),
        }
    }
}

/// A configuration file that is not valid TOML (or not Skolegang's), said by line and
/// column. The line itself, and any quoted value in the message, is never shown: a
/// wrong `--config` may name a file of secrets (credentials, /etc/shadow).
fn parse_error(text: &str, origin: &str, e: &toml::de::Error) -> Error {
    let at = e.span().map(|span| {
        let before = &text.as_bytes()[..span.start.min(text.len())];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let column = before.len()
            - before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |p| p + 1)
            + 1;
        format!(" at line {line}, column {column}")
    });
    // The key of that line (its name only, never its value).
    let key = e.span().and_then(|span| {
        let start = span.start.min(text.len());
        let line_start = text.as_bytes()[..start]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1);
        let line = text.get(line_start..)?.lines().next()?;
        let (name, _) = line.split_once('=')?;
        let name = name.trim();
        let bare = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        bare.then(|| format!(" (key `{name}`)"))
    });
    let mut message = String::new();
    let mut quoted = false;
    for c in e.message().trim().chars() {
        if c == '"' {
            quoted = !quoted;
            message.push_str(if quoted { "\"…" } else { "\"" });
        } else if !quoted && c != '\n' {
            message.push(c);
        } else if c == '\n' {
            message.push(' ');
        }
    }
    Error::Config(format!(
        "{origin}{}{}: not a Skolegang configuration: {message}",
        at.unwrap_or_default(),
        key.unwrap_or_default()
    ))
}

impl Config {
    /// Reads and checks a configuration file. `origin` names it in messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let cfg: Config = toml::from_str(text).map_err(|e| parse_error(text, origin, &e))?;
        cfg.check(origin)?;
        Ok(cfg)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: cannot read: {e}", path.display())))?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Checks every value's range; the message names the key.
    pub fn check(&self, origin: &str) -> Result<()> {
        let bad = |key: &str, why: String| Err(Error::Config(format!("{origin}: `{key}` {why}")));
        if !(0.0..=1.0).contains(&self.max_rejected_share) {
            return bad(
                "max_rejected_share",
                format!("must be within 0..1, got {}", self.max_rejected_share),
            );
        }
        if (3..5).contains(&self.disclosure.k) {
            return bad(
                "disclosure.k",
                format!(
                    "is {}: methodology.md version 2 allows 5..10 only (k below 5 protects groups of 3 or 4 children, which the partnership does not publish)",
                    self.disclosure.k
                ),
            );
        }
        if !(5..=10).contains(&self.disclosure.k) {
            return bad(
                "disclosure.k",
                format!("must be within 5..10, got {}", self.disclosure.k),
            );
        }
        if self.exams.bound.is_empty() {
            return bad("exams.bound", "must have at least one entry".into());
        }
        let text = [
            ("report.sender", Some(&self.report.sender)),
            ("report.contact", self.report.contact.as_ref()),
        ];
        for (key, value) in text {
            if let Some(v) = value
                && (v.trim().is_empty()
                    || v.chars().count() > 200
                    || v.chars().any(char::is_control))
            {
                return bad(key, "must be one line of 1 to 200 characters".to_string());
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for b in &self.exams.bound {
            if !seen.insert(b.from_school_year) {
                return bad(
                    "exams.bound.from_school_year",
                    format!("{} appears twice", b.from_school_year),
                );
            }
            if b.danish.is_empty() || b.mathematics.is_empty() {
                return bad(
                    "exams.bound",
                    format!(
                        "(from {}): danish and mathematics must each list at least one exam code",
                        b.from_school_year
                    ),
                );
            }
            for (code, w) in &b.weights {
                let known = code
                    .parse::<i64>()
                    .ok()
                    .is_some_and(|c| b.danish.contains(&c) || b.mathematics.contains(&c));
                if !known {
                    return bad(
                        "exams.bound.weights",
                        format!(
                            "(from {}): `{code}` is not one of the listed Danish or mathematics exam codes",
                            b.from_school_year
                        ),
                    );
                }
                if !(w.is_finite() && *w > 0.0) {
                    return bad(
                        "exams.bound.weights",
                        format!(
                            "(from {}): weight of {code} must be > 0",
                            b.from_school_year
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    /// The bound-exam definition that applies to school year `y`, if any.
    pub fn bound_exams_for(&self, y: i32) -> Option<&BoundExams> {
        self.exams
            .bound
            .iter()
            .filter(|b| b.from_school_year <= y)
            .max_by_key(|b| b.from_school_year)
    }

    /// The configuration with defaults filled in, as written to the manifest.
    pub fn effective_json(&self) -> serde_json::Value {
        let mut cfg = self.clone();
        cfg.exams.bound.sort_by_key(|b| b.from_school_year);
        serde_json::to_value(&cfg).unwrap_or(serde_json::Value::Null)
    }
}

/// Parses a YYYY-MM-DD date given on the command line or in configuration.
pub fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| Error::Config(format!("`{s}` is not a date of the form YYYY-MM-DD")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_sender_contact_and_date_are_read_and_checked() {
        let c = Config::from_toml(
            "[report]\nsender = \"Børne- og Undervisningsministeriet\"\ncontact = \"skolegang@example.dk\"\npublication_date = \"2026-12-10\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.report.sender, "Børne- og Undervisningsministeriet");
        assert_eq!(c.report.contact.as_deref(), Some("skolegang@example.dk"));
        assert_eq!(
            c.report.publication_date,
            NaiveDate::from_ymd_opt(2026, 12, 10)
        );
        for bad in ["sender = \"\"", "contact = \"a\\nb\"", "sendr = \"x\""] {
            let e = Config::from_toml(&format!("[report]\n{bad}\n"), "t").unwrap_err();
            assert!(
                e.to_string().contains("report") || e.to_string().contains("sendr"),
                "{e}"
            );
        }
        assert_eq!(Config::default().report.contact, None);
    }

    #[test]
    fn empty_file_gives_the_published_defaults() {
        let c = Config::from_toml("", "t").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.disclosure.k, 5);
        assert_eq!(c.max_rejected_share, 0.01);
        assert_eq!(c.groups.school_year_window, SchoolYearWindow::SchoolYear);
        let b = c.bound_exams_for(2023).unwrap();
        assert_eq!(b.danish, vec![110, 140, 150, 120]);
        assert_eq!(b.mathematics, vec![220, 210]);
        assert_eq!(b.other, vec![410, 570]);
    }

    #[test]
    fn the_three_windows_have_their_documented_names() {
        for (name, w) in [
            ("school_year", SchoolYearWindow::SchoolYear),
            ("december_31", SchoolYearWindow::December31),
            ("five_years", SchoolYearWindow::FiveYears),
        ] {
            let c = Config::from_toml(&format!("[groups]\nschool_year_window = \"{name}\""), "c")
                .unwrap();
            assert_eq!(c.groups.school_year_window, w);
            assert_eq!(serde_json::to_value(w).unwrap(), name);
        }
    }

    #[test]
    fn a_parse_error_names_line_column_and_key_and_never_the_value() {
        let credentials = "[default]\naws_access_key_id = AKIAEXAMPLEKEY\naws_secret_access_key = wJalrXUtnFEMI\n";
        let msg = Config::from_toml(credentials, "creds")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("creds at line 2, column"), "{msg}");
        assert!(
            !msg.contains("AKIAEXAMPLEKEY") && !msg.contains("wJalrXUtnFEMI"),
            "{msg}"
        );
        let passwd = "root:x:0:0:root:/root:/bin/bash\n";
        let msg = Config::from_toml(passwd, "p").unwrap_err().to_string();
        assert!(msg.contains("p at line 1"), "{msg}");
        assert!(!msg.contains("/root:/bin/bash"), "{msg}");
        let quoted = "[report]\nsender = 12\ncontact = \"a secret value\"\nx = \"s3cr3t\"\n";
        let msg = Config::from_toml(quoted, "q").unwrap_err().to_string();
        assert!(
            !msg.contains("s3cr3t") && !msg.contains("a secret value"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_key_is_an_error_naming_the_key() {
        let e = Config::from_toml("max_rejected_shares = 0.1", "cfg.toml").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("cfg.toml") && msg.contains("max_rejected_shares"),
            "{msg}"
        );
        assert_eq!(e.exit_code(), crate::error::ExitCode::Usage);
    }

    #[test]
    fn out_of_range_values_are_errors() {
        for (text, key) in [
            ("[disclosure]\nk = 2", "disclosure.k"),
            ("[disclosure]\nk = 3", "disclosure.k"),
            ("[disclosure]\nk = 4", "disclosure.k"),
            ("[disclosure]\nk = 11", "disclosure.k"),
            ("max_rejected_share = 1.5", "max_rejected_share"),
            (
                "[groups]\nschool_year_window = \"weekly\"",
                "school_year_window",
            ),
            ("extract_date = \"2026-13-01\"", "extract_date"),
        ] {
            let msg = Config::from_toml(text, "c").unwrap_err().to_string();
            assert!(msg.contains(key), "{text}: {msg}");
        }
    }

    #[test]
    fn k_below_five_is_refused_with_the_reason() {
        for k in [3, 4] {
            let e = Config::from_toml(&format!("[disclosure]\nk = {k}"), "c").unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains("5..10") && msg.contains("version 2"), "{msg}");
            assert_eq!(e.exit_code(), crate::error::ExitCode::Usage);
        }
        for k in 5..=10 {
            let c = Config::from_toml(&format!("[disclosure]\nk = {k}"), "c").unwrap();
            assert_eq!(c.disclosure.k, k);
        }
    }

    /// The keys of docs/configuration.md's table are exactly the keys of the
    /// configuration (as the manifest writes them, with a bound-exam entry present).
    #[test]
    fn documented_keys_are_the_configuration_keys() {
        fn keys(prefix: &str, v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        let key = if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        out.insert(key.clone());
                        // A map of codes (weights) is one key; its entries are data.
                        if !key.ends_with("weights") {
                            keys(&key, v, out);
                        }
                    }
                }
                serde_json::Value::Array(a) => {
                    if let Some(first) = a.first().filter(|f| f.is_object()) {
                        keys(&format!("{prefix}[]"), first, out);
                    }
                }
                _ => {}
            }
        }
        // Every optional key set, so that the manifest writes it.
        let all = Config {
            extract_date: Some(parse_date("2026-11-01").unwrap()),
            revise: vec!["2023/2024".into()],
            report: Report {
                contact: Some("skolegang@example.dk".into()),
                publication_date: Some(parse_date("2026-12-10").unwrap()),
                ..Report::default()
            },
            ..Config::default()
        };
        let mut config = std::collections::BTreeSet::new();
        keys("", &all.effective_json(), &mut config);
        // Tables that only group keys (`disclosure`, `groups`, `exams`, `report`) are
        // not rows.
        let config: std::collections::BTreeSet<String> = config
            .into_iter()
            .filter(|k| !["disclosure", "groups", "exams", "report"].contains(&k.as_str()))
            .collect();
        let doc = include_str!("../../docs/configuration.md");
        let documented: std::collections::BTreeSet<String> = doc
            .split_once("## Keys")
            .and_then(|(_, rest)| rest.split("\n## ").next())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split_once('`').map(|(k, _)| k.to_string()))
            .collect();
        assert_eq!(documented, config);
    }

    /// The examples in docs/configuration.md parse; the first one is the defaults.
    #[test]
    fn documented_examples_are_valid() {
        let doc = include_str!("../../docs/configuration.md");
        let blocks: Vec<&str> = doc
            .split("```toml")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .collect();
        assert_eq!(blocks.len(), 2);
        let defaults = Config::from_toml(blocks[0], "doc").unwrap();
        let expected = Config {
            extract_date: Some(parse_date("2026-11-01").unwrap()),
            ..Config::default()
        };
        assert_eq!(defaults, expected);
        let reform = Config::from_toml(blocks[1], "doc").unwrap();
        assert_eq!(reform.bound_exams_for(2025).unwrap().other, vec![410]);
    }

    #[test]
    fn exam_lists_apply_per_school_year() {
        let text = r#"
[[exams.bound]]
from_school_year = 2000
danish = [110, 140, 150, 120]
mathematics = [220, 210]
other = [410, 570]

[[exams.bound]]
from_school_year = 2025
danish = [110, 150, 120]
mathematics = [220, 210]
other = [410]
weights = { "150" = 2.0 }
"#;
        let c = Config::from_toml(text, "c").unwrap();
        assert_eq!(c.bound_exams_for(2024).unwrap().danish.len(), 4);
        assert_eq!(c.bound_exams_for(2025).unwrap().danish, vec![110, 150, 120]);
        assert_eq!(c.bound_exams_for(2030).unwrap().weights["150"], 2.0);
        assert!(c.bound_exams_for(1999).is_none());
        let bad = text.replace("\"150\" = 2.0", "\"140\" = 2.0");
        assert!(
            Config::from_toml(&bad, "c")
                .unwrap_err()
                .to_string()
                .contains("140")
        );
    }
}
