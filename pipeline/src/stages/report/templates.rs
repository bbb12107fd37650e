//! The minijinja environment: the templates of `report-templates/` (compiled into the
//! binary, so a run needs no files beside it) and the Danish number filters.

use minijinja::value::{Serde, Value};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::format;
use crate::error::{Error, Result};

/// Every template, by name, as `{% include %}` and `{% extends %}` know them.
const TEMPLATES: [(&str, &str); 8] = [
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
        "om_tallene.html",
        include_str!("../../../../report-templates/om_tallene.html"),
    ),
    (
        "placering.html",
        include_str!("../../../../report-templates/placering.html"),
    ),
];

pub fn environment() -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
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
    env.add_filter("figure", |x: f64, share: bool| {
        if share {
            format::percent(x)
        } else {
            format::grade(x)
        }
    });
    Ok(env)
}

pub fn render<T: Serialize>(env: &Environment<'_>, name: &str, page: &T) -> Result<String> {
    env.get_template(name)
        .and_then(|t| t.render(Value::from(Serde(page))))
        .map_err(|e| Error::internal(format!("rendering report-templates/{name}"), e))
}
