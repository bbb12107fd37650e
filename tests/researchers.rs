//! docs/for-researchers.md as a test: every example on the page runs on the committed
//! sample and prints exactly the output shown under it; DuckDB, Polars and pyarrow agree
//! with `skolegang query` and with the published files.

use std::path::Path;
use std::process::Command;

use skolegang::error::ExitCode;
use skolegang_tests::{read_cells, sample_run};

struct Example {
    language: String,
    code: String,
    expected: String,
}

/// Each ```python or ```sh block followed by a ```text block (its output).
fn examples(markdown: &str) -> Vec<Example> {
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        if let Some(language) = line.strip_prefix("```").filter(|l| !l.is_empty()) {
            let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
            blocks.push((language.to_string(), body.join("\n") + "\n"));
        }
    }
    blocks
        .windows(2)
        .filter(|w| (w[0].0 == "python" || w[0].0 == "sh") && w[1].0 == "text")
        .map(|w| Example {
            language: w[0].0.clone(),
            code: w[0].1.clone(),
            expected: w[1].1.clone(),
        })
        .collect()
}

#[test]
fn every_example_of_the_researchers_guide_prints_what_the_guide_shows() {
    let Some(python) = skolegang_tests::python() else {
        return;
    };
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/for-researchers.md"),
    )
    .expect("docs/for-researchers.md");
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("out");
    assert_eq!(sample_run(&out, &[]), ExitCode::Success);
    // `skolegang` on PATH for the shell examples: the CLI under test.
    let bin = work.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_skolegang-under-test"),
        bin.join("skolegang"),
    )
    .expect("symlink");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let examples = examples(&page);
    let mut outputs = Vec::new();
    for (i, ex) in examples.iter().enumerate() {
        let done = match ex.language.as_str() {
            "python" => {
                let file = work.path().join(format!("example-{i}.py"));
                std::fs::write(&file, &ex.code).expect("write");
                Command::new(&python)
                    .arg(&file)
                    .current_dir(work.path())
                    .output()
            }
            _ => Command::new("sh")
                .args(["-c", &ex.code])
                .env("PATH", &path)
                .current_dir(work.path())
                .output(),
        }
        .expect("run the example");
        let stdout = String::from_utf8_lossy(&done.stdout).into_owned();
        assert!(
            done.status.success(),
            "example {i} ({}) failed: {}",
            ex.language,
            String::from_utf8_lossy(&done.stderr)
        );
        assert_eq!(
            stdout, ex.expected,
            "example {i} ({}):\n{}",
            ex.language, ex.code
        );
        outputs.push((ex.language.clone(), stdout));
    }
    let python_outputs: Vec<&String> = outputs
        .iter()
        .filter(|(l, _)| l == "python")
        .map(|(_, o)| o)
        .collect();
    assert_eq!(python_outputs.len(), 3, "DuckDB, Polars and pyarrow");

    // The three readers agree with each other, with the published files' row count and
    // with `skolegang query` (the sh example, CSV).
    let cells = read_cells(&out.join("current"));
    let query = &outputs
        .iter()
        .find(|(l, _)| l == "sh")
        .expect("a query example")
        .1;
    let from_query: Vec<String> = query.lines().skip(1).map(|l| l.replace(',', " ")).collect();
    for o in python_outputs {
        let mut lines = o.lines();
        assert_eq!(
            lines.next(),
            Some(format!("rows: {}", cells.len()).as_str())
        );
        assert_eq!(lines.map(str::to_string).collect::<Vec<_>>(), from_query);
    }
}
