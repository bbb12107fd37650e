//! The source keeps the rules ARCHITECTURE.md states about itself (rust-analyzer's
//! "tidy" tests): no two modules of `pipeline/src` import each other, no function
//! outside the fixture generator is longer than about a hundred lines, and nothing a
//! reader of the repository sees cites an issue number they cannot follow.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use skolegang_tests::walk;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// The Rust files of `pipeline/src` with their path relative to it.
fn sources() -> Vec<(String, String)> {
    let src = repo().join("pipeline/src");
    let mut files: Vec<(String, String)> = walk(&src)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            let rel = p.strip_prefix(&src).expect("inside").display().to_string();
            (rel, std::fs::read_to_string(&p).expect("readable source"))
        })
        .collect();
    files.sort();
    files
}

/// The module a file belongs to for the import graph: a top-level file or folder,
/// and each stage of `stages/` on its own.
fn module_of(rel: &str) -> String {
    let parts: Vec<&str> = rel.trim_end_matches(".rs").split('/').collect();
    match parts.as_slice() {
        ["stages", stage, ..] => format!("stages::{stage}"),
        [first, ..] => (*first).to_string(),
        [] => String::new(),
    }
}

/// The code of a file without comments and without its unit tests.
fn code_of(text: &str) -> String {
    let production = text.split("#[cfg(test)]").next().unwrap_or("");
    production
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules each module's code names as `crate::…`.
fn imports(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in files {
        let from = module_of(rel);
        let code = code_of(text);
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let to = if name == "stages" {
                let stage: String = rest["stages::".len().min(rest.len())..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                format!("stages::{stage}")
            } else {
                name
            };
            if to != from && !to.is_empty() {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

/// A cycle of the graph, if there is one (as the list of modules around it).
fn a_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = path.iter().position(|p| p == next).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, graph, state, path) {
                        return Some(c);
                    }
                }
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node.as_str())
            && let Some(c) = visit(node, graph, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

#[test]
fn a_cycle_is_found_where_there_is_one_and_not_elsewhere() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
        }
        g
    };
    assert_eq!(
        a_cycle(&graph(&[("a", "b"), ("b", "c"), ("c", "a")])),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(a_cycle(&graph(&[("a", "b"), ("a", "c"), ("b", "c")])), None);
    let files = vec![
        (
            "stages/report/mod.rs".to_string(),
            "use crate::stages::disclose::x; // crate::cli\n".to_string(),
        ),
        (
            "stages/disclose/mod.rs".to_string(),
            "/// [`crate::stages::report`]\nuse crate::codes;\n".to_string(),
        ),
    ];
    let g = imports(&files);
    assert_eq!(
        g.get("stages::report"),
        Some(&BTreeSet::from(["stages::disclose".to_string()]))
    );
    assert_eq!(
        g.get("stages::disclose"),
        Some(&BTreeSet::from(["codes".to_string()]))
    );
}

#[test]
fn no_two_modules_of_the_pipeline_import_each_other() {
    let graph = imports(&sources());
    assert!(graph.len() > 10, "the import graph was read: {graph:?}");
    assert_eq!(a_cycle(&graph), None, "an import cycle between modules");
}

/// Functions of `text` longer than `limit` lines: (name, first line, lines).
fn long_functions(text: &str, limit: usize) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let code = lines[i].split("//").next().unwrap_or("").trim_start();
        let after_fn = ["pub fn ", "pub(crate) fn ", "pub(super) fn ", "fn "]
            .iter()
            .find_map(|p| code.strip_prefix(p));
        let Some(rest) = after_fn else {
            i += 1;
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let (mut depth, mut opened, mut end) = (0i64, false, None);
        for (j, line) in lines.iter().enumerate().skip(i) {
            let code = line.split("//").next().unwrap_or("");
            let code = strip_strings(code);
            if !opened && code.trim_end().ends_with(';') && !code.contains('{') {
                break;
            }
            for c in code.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if opened && depth == 0 {
                end = Some(j);
                break;
            }
        }
        match end {
            Some(j) => {
                if j + 1 - i > limit {
                    out.push((name, i + 1, j + 1 - i));
                }
                i = j + 1;
            }
            None => i += 1,
        }
    }
    out
}

/// A line with the contents of its string and char literals removed (braces inside
/// them do not count).
fn strip_strings(line: &str) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (in_string, c) {
            (true, '\\') => {
                chars.next();
            }
            (true, '"') => in_string = false,
            (true, _) => {}
            (false, '"') => in_string = true,
            (false, '\'') if chars.clone().nth(1) == Some('\'') => {
                chars.next();
                chars.next();
            }
            (false, c) => out.push(c),
        }
    }
    out
}

#[test]
fn long_functions_are_measured_from_their_signature_to_their_closing_brace() {
    let text = "fn short() {\n    let s = \"}\";\n}\n\nfn long(\n    x: u8,\n) -> u8 {\n    if x > 0 {\n        1\n    } else {\n        '{' as u8\n    }\n}\n";
    assert_eq!(long_functions(text, 3), vec![("long".to_string(), 5, 9)]);
    assert_eq!(long_functions(text, 9), vec![]);
    assert_eq!(long_functions("fn declared(x: u8);\n", 0), vec![]);
}

#[test]
fn no_function_outside_the_fixture_generator_is_over_a_hundred_lines() {
    let long: Vec<String> = sources()
        .iter()
        .filter(|(rel, _)| !rel.starts_with("fixtures/"))
        .flat_map(|(rel, text)| {
            long_functions(text, 100)
                .into_iter()
                .map(move |(name, line, n)| format!("{rel}:{line} {name}: {n} lines"))
        })
        .collect();
    assert!(long.is_empty(), "split these functions: {long:#?}");
}

/// Whether a line cites an issue by number ("issue 7", "issues 5", "Issue #12").
fn cites_an_issue(line: &str) -> bool {
    let lower = line.to_lowercase();
    lower.match_indices("issue").any(|(at, _)| {
        let rest = lower[at + "issue".len()..].trim_start_matches('s');
        let Some(rest) = rest.strip_prefix(' ') else {
            return false;
        };
        let rest = rest.strip_prefix('#').unwrap_or(rest);
        rest.starts_with(|c: char| c.is_ascii_digit())
    })
}

#[test]
fn an_issue_cited_by_number_is_recognised() {
    assert!(cites_an_issue("see issue 7 for the targets"));
    assert!(cites_an_issue("Issues 5 and 6"));
    assert!(cites_an_issue("(issue #12)"));
    assert!(!cites_an_issue("an issue that was filed"));
    assert!(!cites_an_issue("issue7 is a word"));
}

#[test]
fn nothing_in_the_repository_cites_an_issue_number() {
    let root = repo();
    let mut files: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md", "Makefile"]
        .iter()
        .map(|f| root.join(f))
        .collect();
    for dir in [
        "pipeline/src",
        "queries",
        "docs",
        "report-templates",
        "tests",
        "bench",
        ".ci",
    ] {
        files.extend(walk(&root.join(dir)));
    }
    let mut found = Vec::new();
    // This file names issues in its own examples.
    for p in files
        .into_iter()
        .filter(|p| !p.ends_with("tests/architecture.rs"))
    {
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if cites_an_issue(line) {
                found.push(format!("{}:{}: {line}", p.display(), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}
