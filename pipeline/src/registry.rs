//! The indicator registry (`queries/indicators.toml`): every indicator, the counts it
//! publishes and how they nest, defined once and read by the SQL (rendered with the
//! registry as the global `registry`), disclosure control, the data dictionary and the
//! reports.
//!
//! The registry is embedded in the binary like the code lists. It is checked when it
//! is parsed (every name it refers to exists, nesting stays within one population, a
//! grade sum has bounds); its tests parse it, so a broken registry never ships.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const REGISTRY_TOML: &str = include_str!("../../queries/indicators.toml");

/// The most counts one population may have (the disclosure stage's moves keep one
/// fixed-size array per population).
pub const MAX_POPULATION_COUNTS: usize = 8;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Population {
    pub about: String,
    /// The finest table that holds the population's counts.
    pub table: String,
    /// The population's rows of that table (SQL), if not all.
    pub filter: Option<String>,
    /// `school_year` or `age`: how the periods are labelled.
    pub period: String,
    /// The methodology.md section that defines it.
    pub section: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Count {
    pub name: String,
    pub population: String,
    /// Its column in the population's finest table.
    pub column: String,
    /// The count it is a subset of (none: the population itself).
    pub within: Option<String>,
    pub about: Option<String>,
    /// A grade sum: the count whose persons' means it adds up.
    pub sum_of: Option<String>,
    /// A grade sum: the column of the squares.
    pub squares: Option<String>,
    /// A grade sum: the bounds of one person's mean.
    pub min: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Share,
    Mean,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub id: String,
    pub population: String,
    pub measure: Measure,
    /// A share's numerator (a count).
    pub numerator: Option<String>,
    /// A mean's sum (a grade-sum count).
    pub sum: Option<String>,
    pub denominator: String,
    /// The count that makes a cell exist when not zero (default: the denominator).
    pub presence: Option<String>,
    /// A further restriction of the finest rows (SQL).
    pub filter: Option<String>,
    /// The ranking's column suffix, if the kommuner are ranked on it.
    pub rank: Option<String>,
    /// Danish short name (reports).
    pub title: String,
    /// Danish definition (reports, "Om tallene").
    pub definition: String,
    /// The persons counted, in Danish plural ("elever", "18-årige"): page 1's message.
    pub persons: Option<String>,
    /// What the numerator's persons did, as a Danish predicate ("fik mindst 2 i …"):
    /// page 1's message says "<share> af de udsatte <persons> i <kommune> <phrase>".
    pub phrase: Option<String>,
    /// A lower figure is the better one (the reports explain the gap's sign).
    #[serde(default)]
    pub lower_is_better: bool,
}

/// The indicators each report section shows, in order.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSections {
    pub key: Vec<String>,
    pub grades: Vec<String>,
    pub youth: Vec<String>,
    pub school: Vec<String>,
    pub placement: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    populations: BTreeMap<String, Population>,
    count: Vec<Count>,
    indicator: Vec<Indicator>,
    report: ReportSections,
}

/// One indicator as the SQL reads it: its finest table and the columns behind its
/// numerator, denominator, sums and presence (queries/indicators/finest.sql).
#[derive(Debug, Clone, Serialize)]
pub struct SqlIndicator {
    pub id: String,
    pub measure: Measure,
    pub period: String,
    pub table: String,
    /// The rows of the table (SQL), if not all: the population's and the indicator's
    /// filters together.
    pub filter: Option<String>,
    pub numerator: Option<String>,
    pub denominator: String,
    pub sum: Option<String>,
    pub squares: Option<String>,
    pub presence: String,
    pub rank: Option<String>,
}

/// The parsed and checked registry.
#[derive(Debug, Clone)]
pub struct Registry {
    pub populations: BTreeMap<String, Population>,
    /// In the order of the attacker's variables.
    pub counts: Vec<Count>,
    /// In publication order.
    pub indicators: Vec<Indicator>,
    pub report: ReportSections,
    /// The indicators as the SQL reads them.
    pub sql: Vec<SqlIndicator>,
}

static REGISTRY: LazyLock<Result<Registry>> = LazyLock::new(|| Registry::parse(REGISTRY_TOML));

/// The embedded registry, parsed once per process.
pub fn registry() -> Result<&'static Registry> {
    REGISTRY.as_ref().map_err(Clone::clone)
}

/// The embedded registry, for code that runs after [`registry`] has succeeded once in
/// the process (every run and test starts by rendering a query, which needs it). The
/// registry is compiled in, not input: its tests parse it.
pub fn checked() -> &'static Registry {
    match &*REGISTRY {
        Ok(r) => r,
        Err(e) => unreachable!("the embedded registry is checked by its tests: {e}"),
    }
}

/// An error in the registry file.
fn bad(what: String) -> Error {
    Error::Internal(format!("queries/indicators.toml: {what}"))
}

impl File {
    fn count(&self, name: &str, what: &str) -> Result<&Count> {
        self.count.iter().find(|c| c.name == name).ok_or_else(|| {
            bad(format!(
                "{what} names the count `{name}`, which is not a [[count]]"
            ))
        })
    }

    fn population(&self, name: &str, what: &str) -> Result<&Population> {
        self.populations.get(name).ok_or_else(|| {
            bad(format!(
                "{what} names the population `{name}`, which is not defined"
            ))
        })
    }

    /// Each count once, of a defined population, nesting only within its population;
    /// a grade sum complete and not a subset of persons.
    fn check_counts(&self) -> Result<()> {
        for (i, c) in self.count.iter().enumerate() {
            let what = format!("count `{}`", c.name);
            self.population(&c.population, &what)?;
            if self.count[..i].iter().any(|d| d.name == c.name) {
                return Err(bad(format!("{what} is defined twice")));
            }
            for other in c.within.iter().chain(&c.sum_of) {
                if self.count(other, &what)?.population != c.population {
                    return Err(bad(format!(
                        "{what} nests in `{other}` of another population"
                    )));
                }
            }
            if c.sum_of.is_some() != (c.min.is_some() && c.max.is_some() && c.squares.is_some()) {
                return Err(bad(format!(
                    "{what}: a grade sum has sum_of, squares, min and max"
                )));
            }
            if c.sum_of.is_some() && c.within.is_some() {
                return Err(bad(format!(
                    "{what}: a grade sum is not a subset of persons"
                )));
            }
        }
        Ok(())
    }

    /// Each population: at most [`MAX_POPULATION_COUNTS`] counts of persons, exactly
    /// one of them (the population) not within another.
    fn check_populations(&self) -> Result<()> {
        for name in self.populations.keys() {
            let persons = || {
                self.count
                    .iter()
                    .filter(|c| &c.population == name && c.sum_of.is_none())
            };
            let n = persons().count();
            let roots = persons().filter(|c| c.within.is_none()).count();
            if n > MAX_POPULATION_COUNTS || roots != 1 {
                return Err(bad(format!(
                    "population `{name}` has {n} counts of persons and {roots} without `within` (expected at most {MAX_POPULATION_COUNTS}, and exactly one: the population)"
                )));
            }
        }
        Ok(())
    }

    /// Indicator `i` checked (once, counts of its own population, a share with a
    /// numerator, a mean with a grade sum of its denominator) and as the SQL reads it.
    fn sql_indicator(&self, i: usize) -> Result<SqlIndicator> {
        let ind = &self.indicator[i];
        let what = format!("indicator `{}`", ind.id);
        if self.indicator[..i].iter().any(|d| d.id == ind.id) {
            return Err(bad(format!("{what} is defined twice")));
        }
        let pop = self.population(&ind.population, &what)?;
        let of_population = |name: &str| -> Result<&Count> {
            let c = self.count(name, &what)?;
            if c.population == ind.population {
                Ok(c)
            } else {
                Err(bad(format!("{what}: `{name}` counts another population")))
            }
        };
        let den = of_population(&ind.denominator)?;
        let presence = of_population(ind.presence.as_deref().unwrap_or(&ind.denominator))?;
        let (numerator, sum) = match (ind.measure, &ind.numerator, &ind.sum) {
            (Measure::Share, Some(n), None) => (Some(of_population(n)?), None),
            (Measure::Mean, None, Some(s)) => {
                let s = of_population(s)?;
                if s.sum_of.as_deref() != Some(den.name.as_str()) {
                    return Err(bad(format!(
                        "{what}: its sum is not a grade sum of its denominator"
                    )));
                }
                (None, Some(s))
            }
            _ => {
                return Err(bad(format!(
                    "{what}: a share has a numerator, a mean a sum"
                )));
            }
        };
        let filter = match (&pop.filter, &ind.filter) {
            (Some(a), Some(b)) => Some(format!("{a} AND {b}")),
            (a, b) => a.clone().or_else(|| b.clone()),
        };
        Ok(SqlIndicator {
            id: ind.id.clone(),
            measure: ind.measure,
            period: pop.period.clone(),
            table: pop.table.clone(),
            filter,
            numerator: numerator.map(|c| c.column.clone()),
            denominator: den.column.clone(),
            sum: sum.map(|c| c.column.clone()),
            squares: sum.and_then(|c| c.squares.clone()),
            presence: presence.column.clone(),
            rank: ind.rank.clone(),
        })
    }

    /// Every indicator the report sections name exists.
    fn check_report(&self) -> Result<()> {
        let r = &self.report;
        for id in r
            .key
            .iter()
            .chain(&r.grades)
            .chain(&r.youth)
            .chain(&r.school)
            .chain(&r.placement)
        {
            if !self.indicator.iter().any(|i| &i.id == id) {
                return Err(bad(format!(
                    "[report] names `{id}`, which is not an [[indicator]]"
                )));
            }
        }
        for id in &r.key {
            let complete = self
                .indicator
                .iter()
                .any(|i| &i.id == id && i.persons.is_some() && i.phrase.is_some());
            if !complete {
                return Err(bad(format!(
                    "[report] key names `{id}`, which has no `persons` and `phrase` for page 1's message"
                )));
            }
        }
        Ok(())
    }
}

impl Registry {
    pub fn parse(text: &str) -> Result<Registry> {
        let file: File = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        file.check_counts()?;
        file.check_populations()?;
        let sql = (0..file.indicator.len())
            .map(|i| file.sql_indicator(i))
            .collect::<Result<Vec<_>>>()?;
        file.check_report()?;
        Ok(Registry {
            populations: file.populations,
            counts: file.count,
            indicators: file.indicator,
            report: file.report,
            sql,
        })
    }

    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.id == id)
    }

    /// The indicator ids, in publication order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.indicators.iter().map(|i| i.id.as_str())
    }

    pub fn count_position(&self, name: &str) -> Option<usize> {
        self.counts.iter().position(|c| c.name == name)
    }

    /// The ranked indicators, in ranking order, with their column suffixes.
    pub fn ranked(&self) -> impl Iterator<Item = (&str, &str)> {
        self.indicators
            .iter()
            .filter_map(|i| i.rank.as_deref().map(|r| (i.id.as_str(), r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_registry_parses_and_checks() {
        let r = registry().expect("registry");
        assert_eq!(r.indicators.len(), 10);
        assert_eq!(r.counts.len(), 14);
        let mean = r
            .sql
            .iter()
            .find(|i| i.id == "fp9_grade_mean")
            .expect("mean");
        assert_eq!(mean.measure, Measure::Mean);
        assert_eq!(
            (mean.denominator.as_str(), mean.presence.as_str()),
            ("graded", "cohort")
        );
        assert_eq!(mean.sum.as_deref(), Some("grade_sum"));
        let y18 = r.sql.iter().find(|i| i.id == "youth_edu_18").expect("y18");
        assert_eq!(y18.filter.as_deref(), Some("age = 18"));
        assert_eq!(y18.table, "age_finest");
        let ranked: Vec<_> = r.ranked().collect();
        assert_eq!(
            ranked,
            [
                ("fp9_participation", "participation"),
                ("fp9_grade_mean", "grade_mean"),
                ("transition_15m", "transition")
            ]
        );
    }

    fn broken(from: &str, to: &str) -> String {
        let text = REGISTRY_TOML.replacen(from, to, 1);
        assert_ne!(
            text, REGISTRY_TOML,
            "the test's text `{from}` is in the registry"
        );
        match Registry::parse(&text) {
            Ok(_) => panic!("`{from}` → `{to}` was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_registry_that_names_what_does_not_exist_is_refused() {
        let e = broken("numerator = \"min2\"", "numerator = \"min3\"");
        assert!(e.contains("fp9_min2_dan_mat") && e.contains("min3"), "{e}");
        let e = broken("within = \"graded\"", "within = \"persons_18\"");
        assert!(e.contains("another population"), "{e}");
        let e = broken("numerator = \"youth_edu_18\"", "numerator = \"cohort\"");
        assert!(e.contains("counts another population"), "{e}");
        let e = broken(
            "grades = [\"fp9_grade_mean\"",
            "grades = [\"fp9_grade_median\"",
        );
        assert!(e.contains("fp9_grade_median"), "{e}");
        let e = broken("measure = \"mean\"", "measure = \"share\"");
        assert!(e.contains("a share has a numerator"), "{e}");
        let e = broken("id = \"fp9_passed\"", "id = \"fp9_participation\"");
        assert!(e.contains("twice"), "{e}");
    }
}
