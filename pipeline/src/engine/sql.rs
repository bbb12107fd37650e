//! Every query is rendered with minijinja before DataFusion reads it, so that a rule the
//! queries share is written once, as a macro in `queries/macros.sql` (as dbt does).
//! A query without a macro renders to itself.

use minijinja::{Environment, UndefinedBehavior};

use crate::error::{Error, Result};
use crate::registry;

const MACROS: &str = include_str!("../../../queries/macros.sql");

/// The SQL DataFusion runs for the query `name` (e.g. `queries/validate/exams.sql`),
/// whose text is `source`.
pub fn render(name: &str, source: &str) -> Result<String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let fail = |e: minijinja::Error| Error::Internal(format!("{name}: {e:#}"));
    // Keep the query's text as written, its last newline too.
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .map_err(fail)?,
    );
    // The indicator registry (queries/indicators.toml), as `registry.indicators`.
    let registry = registry::registry()?;
    env.add_global(
        "registry",
        minijinja::context! { indicators => minijinja::value::Value::from(minijinja::value::Serde(&registry.sql)) },
    );
    env.add_template("macros.sql", MACROS).map_err(fail)?;
    env.add_template(name, source).map_err(fail)?;
    env.get_template(name)
        .and_then(|t| t.render(()))
        .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(call: &str) -> String {
        render(
            "test.sql",
            &format!("{{% import \"macros.sql\" as m %}}{call}"),
        )
        .expect("render")
    }

    #[test]
    fn a_query_without_macros_is_unchanged() {
        let sql = "SELECT 1 -- a comment\nFROM t\n";
        assert_eq!(render("plain.sql", sql).expect("render"), sql);
    }

    #[test]
    fn duplicate_keys_expand_to_the_two_step_check() {
        assert_eq!(
            expand(r#"{{ m.duplicate_keys("raw_x", ["a", "b"]) }}"#),
            "candidates AS (
  SELECT key_hash(a, b) AS h
  FROM raw_x
  GROUP BY key_hash(a, b)
  HAVING count(*) > 1
),
dup AS (
  SELECT r.a, r.b, count(*) AS n
  FROM candidates c
  JOIN raw_x r ON key_hash(r.a, r.b) = c.h
  GROUP BY r.a, r.b
  HAVING count(*) > 1
)"
        );
    }

    #[test]
    fn active_on_a_day_includes_both_ends_and_open_periods() {
        assert_eq!(
            expand(r#"{{ m.active_on("r.valid_from", "r.valid_to", "d") }}"#),
            "r.valid_from <= d AND (r.valid_to IS NULL OR r.valid_to >= d)"
        );
        assert_eq!(
            expand(r#"{{ m.in_or_completed_youth_education("y", "d") }}"#),
            "((y.start_date <= d AND (y.end_date IS NULL OR y.end_date >= d))
  OR (y.outcome = 'fuldfoert' AND y.end_date <= d))"
        );
    }

    #[test]
    fn row_rules_expand_to_their_conditions() {
        assert_eq!(
            expand(r#"{{ m.any_null("p", ["person_id", "sex"]) }}"#),
            "p.person_id IS NULL OR p.sex IS NULL"
        );
        assert_eq!(
            expand(r#"{{ m.invalid_person_id("p.person_id") }}"#),
            "length(p.person_id) = 0 OR length(p.person_id) > 64"
        );
        assert_eq!(
            expand(r#"{{ m.not_accepted("p.sex", ["M", "K"]) }}"#),
            "p.sex NOT IN ('M', 'K')"
        );
        assert_eq!(
            expand(r#"{{ m.not_accepted("x.grade", [-3, 0, 12]) }}"#),
            "x.grade NOT IN (-3, 0, 12)"
        );
    }

    #[test]
    fn an_unknown_macro_is_an_error_naming_the_query() {
        let e =
            render("q.sql", "{% import \"macros.sql\" as m %}{{ m.nope() }}").expect_err("strict");
        assert!(e.to_string().contains("q.sql"), "{e}");
    }
}
