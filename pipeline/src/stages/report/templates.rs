//! The minijinja environment: the templates of `report-templates/` (compiled into the
//! binary, so a run needs no files beside it) and the Danish number filters.

use minijinja::value::{Serde, Value};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::format;
use crate::error::{Error, Result};

/// Every template, by name, as `{% include %}` and `{% extends %}` know them.
const TEMPLATES: [(&str, &str); 9] = [
    (
        "base.html",
        include_str!("../../../../report-templates/base.html"),
    ),
    (
        "style.css",
        include_str!("../../../../report-templates/style.css"),
    ),
    (
        "macros.html",
        include_str!("../../../../report-templates/macros.html"),
    ),
    (
        "kommune.html",
        include_str!("../../../../report-templates/kommune.html"),
    ),
    (
        "index.html",
        include_str!("../../../../report-templates/index.html"),
    ),
    (
        "sort.js",
        include_str!("../../../../report-templates/sort.js"),
    ),
    (
        "filter.js",
        include_str!("../../../../report-templates/filter.js"),
    ),
    (
        "om_tallene.html",
        include_str!("../../../../report-templates/om_tallene.html"),
    ),
    (
        "placering.html",
        include_str!("../../../../report-templates/placering.html"),
    ),
];

/// The glossary (`report-templates/ordliste.toml`): one Danish word per thing.
const GLOSSARY: &str = include_str!("../../../../report-templates/ordliste.toml");

/// One glossary entry.
#[derive(Debug, Clone, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    pub key: String,
    /// The word the reports use.
    pub word: String,
    /// What it means, for "Om tallene".
    pub meaning: String,
    /// Words that must not be used for it.
    pub avoid: Vec<String>,
}

/// The glossary's entries, in its order.
pub fn glossary() -> Result<Vec<Term>> {
    #[derive(serde::Deserialize)]
    struct File {
        ord: Vec<Term>,
    }
    toml::from_str::<File>(GLOSSARY)
        .map(|f| f.ord)
        .map_err(|e| Error::internal("report-templates/ordliste.toml", e))
}

pub fn environment() -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let terms = glossary()?;
    // `ord.proever` → "9.-klasseprøverne"; `ordliste` is every entry.
    let words: std::collections::BTreeMap<String, String> = terms
        .iter()
        .map(|t| (t.key.clone(), t.word.clone()))
        .collect();
    env.add_global("ord", Value::from(Serde(&words)));
    env.add_global("ordliste", Value::from(Serde(&terms)));
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| Error::internal(format!("report-templates/{name}"), e))?;
    }
    // `0.452 | pct` → "45,2 %"; `7.43 | grade` → "7,4"; `-0.1 | pp` → "−10,0";
    // `1234 | int` → "1.234"; `x | figure(share)` is pct or grade.
    env.add_filter("pct", format::percent);
    env.add_filter("grade", format::grade);
    env.add_filter("pp", format::points);
    env.add_filter("int", format::integer);
    env.add_filter("figure", format::figure);
    Ok(env)
}

pub fn render<T: Serialize>(env: &Environment<'_>, name: &str, page: &T) -> Result<String> {
    env.get_template(name)
        .and_then(|t| t.render(Value::from(Serde(page))))
        .map_err(|e| Error::internal(format!("rendering report-templates/{name}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file a reader's words come from: the templates, the indicator texts and
    /// the report code (page 1's sentences, the charts, the CSV).
    fn sources() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for dir in ["report-templates", "pipeline/src/stages/report"] {
            let entries = std::fs::read_dir(root.join(dir)).expect("a folder of the project");
            for e in entries.flatten() {
                let path = e.path();
                let wanted = path
                    .extension()
                    .is_some_and(|x| x == "html" || x == "js" || x == "css" || x == "rs");
                if wanted && !path.ends_with("templates.rs") {
                    files.push(path);
                }
            }
        }
        files.push(root.join("queries/indicators.toml"));
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("readable");
                (p.display().to_string(), text)
            })
            .collect()
    }

    #[test]
    fn the_glossary_parses_and_its_avoided_words_are_used_nowhere() {
        let terms = glossary().expect("ordliste.toml");
        assert!(
            terms
                .iter()
                .any(|t| t.key == "proever" && t.word == "9.-klasseprøverne")
        );
        let sources = sources();
        assert!(sources.len() > 10, "{} files", sources.len());
        for t in &terms {
            for avoid in &t.avoid {
                for (path, text) in &sources {
                    assert!(
                        !text.to_lowercase().contains(&avoid.to_lowercase()),
                        "{path} says `{avoid}`; the glossary's word for it is `{}`",
                        t.word
                    );
                }
            }
        }
    }

    #[test]
    fn the_glossary_check_finds_a_drifting_word() {
        // The check above, on a made-up template that says "afgangseksamen".
        let terms = glossary().expect("ordliste.toml");
        let text = "<p>Bestået folkeskolens Afgangseksamen</p>".to_lowercase();
        let hit = terms
            .iter()
            .flat_map(|t| t.avoid.iter())
            .any(|a| text.contains(&a.to_lowercase()));
        assert!(hit);
    }

    #[test]
    fn templates_know_the_glossary_words() {
        let env = environment().expect("environment");
        let out = env
            .render_str("{{ ord.proever }} / {{ ordliste | length }}", ())
            .expect("render");
        assert_eq!(
            out,
            format!("9.-klasseprøverne / {}", glossary().expect("ok").len())
        );
    }
}
