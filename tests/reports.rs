//! Report bundles: every kommune folder, the overview and the zips exist and
//! agree with their manifests; the HTML as a snapshot; the CSV as Danish Excel reads it;
//! withheld figures as ".."; the layout and the PDFs in a real browser.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, Int32Type};
use skolegang::codes::Codes;
use skolegang::error::ExitCode;
use skolegang::stages::report::pdf::{Browser, find_chromium, first_on_path};
use skolegang_tests::{cli, read_parquet};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sample")
}

/// Whether the PDFs are printed: with Chromium (always under `make test`); a plain
/// `cargo test` without it checks the HTML, CSV and Parquet of the bundles only.
fn with_pdfs() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        skolegang_tests::needs(
            "Chromium to print the PDFs (apt-get install chromium; .ci/run does)",
            find_chromium(),
        )
        .is_some()
    })
}

/// One run on the committed sample, with PDFs where Chromium is found, shared by the
/// tests of this file.
fn sample_run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let out = tempfile::tempdir().expect("tempdir").keep();
        let input = sample();
        let mut args = vec![
            "run",
            "--input",
            input.to_str().expect("utf8"),
            "--output",
            out.to_str().expect("utf8"),
            "--extract-date",
            "2026-11-01",
        ];
        if !with_pdfs() {
            args.push("--no-pdf");
        }
        let code = cli(&args);
        assert_eq!(code, ExitCode::Success);
        std::fs::canonicalize(out.join("current")).expect("current")
    })
}

fn folders() -> Vec<(i64, String, String)> {
    let codes = Codes::embedded().expect("codes");
    codes
        .municipalities
        .iter()
        .map(|m| {
            (
                m.code,
                m.name.clone(),
                format!("{}-{}", m.code, skolegang::codes::slug(&m.name)),
            )
        })
        .collect()
}

fn run_id(run: &Path) -> String {
    run.file_name()
        .expect("run folder")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_kommune_has_a_complete_bundle_and_the_overview_links_them_all() {
    use sha2::Digest;
    let run = sample_run();
    let reports = run.join("published/reports");
    let index = std::fs::read_to_string(reports.join("index.html")).expect("index.html");
    let run_manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert!(
        run_manifest["data_version"]
            .as_str()
            .is_some_and(|v| v.len() == 16)
    );
    let folders = folders();
    assert_eq!(folders.len(), 98);
    for (code, name, folder) in &folders {
        let dir = reports.join(folder);
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join("manifest.json")).expect("manifest.json"),
        )
        .expect("json");
        assert_eq!(manifest["data_version"], run_manifest["data_version"]);
        assert_eq!(manifest["extract_date"], "2026-11-01");
        assert_eq!(manifest["kommune_code"], *code);
        let listed: BTreeMap<String, String> = manifest["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().expect("name").to_string(),
                    f["sha256"].as_str().expect("sha").to_string(),
                )
            })
            .collect();
        let names: Vec<&str> = listed.keys().map(String::as_str).collect();
        let mut expected = vec!["indikatorer.csv", "indikatorer.parquet", "rapport.html"];
        if with_pdfs() {
            expected.push("rapport.pdf");
        }
        assert_eq!(names, expected, "{folder}");
        for (file, sha) in &listed {
            let bytes = std::fs::read(dir.join(file)).expect("file");
            assert_eq!(
                &hex::encode(sha2::Sha256::digest(&bytes)),
                sha,
                "{folder}/{file}"
            );
        }
        // The zip holds the same folder, manifest included.
        let zip_path = run.join(format!("published/bundles/{folder}.zip"));
        let mut archive =
            zip::ZipArchive::new(std::fs::File::open(&zip_path).expect("zip")).expect("archive");
        let mut entries: Vec<String> = archive
            .file_names()
            .map(|n| n.expect("entry name").to_string())
            .collect();
        entries.sort();
        let mut expected: Vec<String> = listed
            .keys()
            .chain(std::iter::once(&"manifest.json".to_string()))
            .map(|f| format!("{folder}/{f}"))
            .collect();
        expected.sort();
        assert_eq!(entries, expected);
        let mut html = String::new();
        std::io::Read::read_to_string(
            &mut archive
                .by_name(&format!("{folder}/rapport.html"))
                .expect("entry"),
            &mut html,
        )
        .expect("read");
        assert_eq!(
            html,
            std::fs::read_to_string(dir.join("rapport.html")).expect("html")
        );
        // The official names: two kommuner are not "<navn> Kommune".
        let official = match *code {
            101 => "Københavns Kommune".to_string(),
            400 => "Bornholms Regionskommune".to_string(),
            _ => format!("{name} Kommune"),
        };
        assert!(html.contains(&format!("<h1>{official}</h1>")), "{folder}");
        assert!(
            html.contains(&format!("<title>{official} – ")),
            "{folder}: the title names {official}"
        );
        assert!(
            index.contains(&format!(r#"href="{folder}/rapport.html""#)),
            "index links {folder}"
        );
        // indikatorer.parquet: the contract's columns, this kommune's rows only.
        let cells = read_parquet(&dir.join("indikatorer.parquet"));
        assert!(cells.num_rows() > 0, "{folder}");
        let geo = cells
            .column_by_name("geo_code")
            .expect("geo_code")
            .as_primitive::<Int32Type>();
        assert!(geo.iter().all(|g| g == Some(*code as i32)), "{folder}");
    }
}

#[test]
fn reports_are_self_contained_html() {
    let run = sample_run();
    for page in [
        run.join("published/reports/index.html"),
        run.join("published/reports/461-odense/rapport.html"),
    ] {
        let html = std::fs::read_to_string(&page).expect("html");
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"da\">"));
        for forbidden in ["http://", "https://", "<link", "src=", "@import", "url("] {
            let outside_svg_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
            assert!(
                !outside_svg_ns.contains(forbidden),
                "{} refers outside itself: {forbidden}",
                page.display()
            );
        }
    }
}

#[test]
fn one_kommune_report_as_a_snapshot() {
    let run = sample_run();
    let html = std::fs::read_to_string(run.join("published/reports/461-odense/rapport.html"))
        .expect("html");
    assert!(
        !html.contains(&run_id(run)),
        "the run id is in the run's manifest only"
    );
    insta::assert_snapshot!(html);
}

/// Parses `indikatorer.csv` as Danish Excel does: strip the BOM, split on `;`, read
/// decimal commas.
#[test]
fn csv_opens_as_danish_excel_expects() {
    let run = sample_run();
    let dir = run.join("published/reports/461-odense");
    let bytes = std::fs::read(dir.join("indikatorer.csv")).expect("csv");
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 byte order mark");
    let text = std::str::from_utf8(&bytes[3..]).expect("utf8");
    assert!(text.contains("\r\n"), "Windows line ends");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes());
    let headings: Vec<String> = reader
        .headers()
        .expect("headers")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(headings, skolegang::stages::report::csv::HEADINGS);
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(run.join("manifest.json")).expect("the run's manifest"),
    )
    .expect("json");
    let data_version = manifest["data_version"].as_str().expect("a data version");
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    let cells = read_parquet(&dir.join("indikatorer.parquet"));
    assert_eq!(records.len(), cells.num_rows());
    let column = |name: &str| {
        headings
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (status, value_at, unit, numerator, date, version, group, placement) = (
        column("Status"),
        column("Værdi"),
        column("Enhed"),
        column("Tæller"),
        column("Udtræksdato"),
        column("Dataversion"),
        column("Gruppe"),
        column("Anbringelse"),
    );
    let value = cells
        .column_by_name("value")
        .expect("value")
        .as_primitive::<Float64Type>();
    let num = cells
        .column_by_name("numerator")
        .expect("numerator")
        .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
    let suppressed = cells
        .column_by_name("suppressed")
        .expect("suppressed")
        .as_boolean();
    let mut seen_withheld = false;
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.len(), headings.len());
        assert_eq!(&r[date], "2026-11-01", "every row is dated");
        assert_eq!(&r[version], data_version);
        if &r[group] != "Anbragte" {
            assert_eq!(&r[placement], "Ikke opdelt", "row {i}: {r:?}");
        }
        if suppressed.value(i) {
            seen_withheld = true;
            assert_eq!(&r[status], "diskretioneret");
            for j in value_at..r.len() - 2 {
                if j != unit {
                    assert_eq!(&r[j], "", "a withheld row has empty number cells: {r:?}");
                }
            }
        } else {
            assert_eq!(&r[status], "offentliggjort");
            assert!(
                !r[value_at].contains('.'),
                "decimal comma: {}",
                &r[value_at]
            );
            let parsed: f64 = r[value_at].replace(',', ".").parse().expect("number");
            // As printed: a share in percent with one decimal, a mean with one.
            let expected = if &r[unit] == "procent" {
                value.value(i) * 100.0
            } else {
                value.value(i)
            };
            assert!(
                (parsed - expected).abs() <= 0.05 + 1e-9,
                "{parsed} vs {expected}"
            );
            if !num.is_null(i) {
                assert_eq!(r[numerator].parse::<i64>().expect("a count"), num.value(i));
            }
        }
    }
    assert!(seen_withheld);
    assert!(
        records.iter().any(|r| r[value_at].contains(',')),
        "shares are written with a decimal comma"
    );
}

/// The first `<td>` after each row heading `label`.
fn first_cells_of_rows<'a>(html: &'a str, label: &str) -> Vec<&'a str> {
    html.match_indices(&format!("{label}</th>"))
        .filter_map(|(i, m)| {
            let rest = &html[i + m.len()..];
            let start = rest.find("<td>")? + 4;
            let end = rest[start..].find("</td>")?;
            Some(&rest[start..start + end])
        })
        .collect()
}

#[test]
fn a_kommune_whose_anbragt_cells_are_all_withheld_shows_dots_never_numbers() {
    let run = sample_run();
    let (code, folder) = folders()
        .into_iter()
        .find_map(|(code, _, folder)| {
            let cells =
                read_parquet(&run.join(format!("published/reports/{folder}/indikatorer.parquet")));
            let group = cells
                .column_by_name("group")
                .expect("group")
                .as_string::<i32>();
            let suppressed = cells
                .column_by_name("suppressed")
                .expect("suppressed")
                .as_boolean();
            let anbragt: Vec<usize> = (0..cells.num_rows())
                .filter(|&i| group.value(i) == "anbragt")
                .collect();
            (anbragt.len() >= 10 && anbragt.iter().all(|&i| suppressed.value(i)))
                .then_some((code, folder))
        })
        .expect("the sample has a kommune with every anbragt cell withheld");
    let html =
        std::fs::read_to_string(run.join(format!("published/reports/{folder}/rapport.html")))
            .expect("html");
    let withheld = r#"<span class="withheld"><span aria-hidden="true">..</span><span class="sr">diskretioneret</span></span><sup class="fn" aria-hidden="true">a</sup>"#;
    // "ingen": an indicator whose latest period has no anbragte in the kommune at all.
    let none = r#"<span class="none" title="Ingen personer i gruppen">ingen</span><sup class="fn">b</sup>"#;
    let tables = first_cells_of_rows(&html, "Anbragte");
    assert_eq!(tables.len(), 11, "one row per indicator table: {tables:?}");
    for cell in &tables {
        assert!(*cell == withheld || *cell == none, "kommune {code}: {cell}");
    }
    assert!(tables.contains(&withheld), "kommune {code}");
    // The placement table: the kommune's column of every placement row.
    let placements = first_cells_of_rows(&html, "Alle anbragte");
    assert_eq!(placements, [withheld], "kommune {code}");
    assert!(html.contains("Det er aldrig et nul."));
}

#[test]
fn reports_render_in_a_real_browser_and_print_to_a4() {
    let Some(chromium) = with_pdfs().then(find_chromium).flatten() else {
        return;
    };
    if skolegang_tests::needs(
        "poppler-utils (pdfinfo, pdftotext)",
        first_on_path(&["pdfinfo"]).and(first_on_path(&["pdftotext"])),
    )
    .is_none()
    {
        return;
    }
    let run = sample_run();
    let mut browser = Browser::launch(&chromium).expect("launch");
    for page in ["461-odense/rapport.html", "index.html"] {
        let html = std::fs::read_to_string(run.join("published/reports").join(page)).expect("html");
        // A4 is 794 CSS pixels wide; printed with margins, about 700.
        for (width, media) in [(794, "screen"), (700, "print")] {
            let scroll = browser
                .inspect(&html, width, media, "document.documentElement.scrollWidth")
                .expect("evaluate");
            assert!(
                scroll.as_u64().expect("a width") <= width as u64,
                "{page} overflows {width}px ({media}): {scroll}"
            );
        }
    }
    let pdf = run.join("published/reports/461-odense/rapport.pdf");
    // The same page prints to the same bytes (no clock, no DOM node ids).
    let html = std::fs::read_to_string(run.join("published/reports/461-odense/rapport.html"))
        .expect("html");
    let extract_date = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(run.join("manifest.json")).expect("the run's manifest"),
    )
    .expect("json");
    let note = format!(
        "Registerudtræk af 1. november 2026 · dataversion {}",
        manifest["data_version"].as_str().expect("a data version")
    );
    let again = browser
        .print(&html, "Odense Kommune", &note, extract_date)
        .expect("print");
    assert!(
        again == std::fs::read(&pdf).expect("pdf"),
        "PDF bytes differ"
    );
    drop(browser);
    let info = std::process::Command::new("pdfinfo")
        .arg(&pdf)
        .output()
        .expect("pdfinfo (poppler-utils)");
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    let pages: u32 = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .expect("page count")
        .trim()
        .parse()
        .expect("number");
    assert!((6..=20).contains(&pages), "{pages} pages");
    assert!(info.contains("595.") && info.contains("841."), "A4: {info}");
    let text = std::process::Command::new("pdftotext")
        .args([pdf.to_str().expect("utf8"), "-"])
        .output()
        .expect("pdftotext (poppler-utils)");
    let text = String::from_utf8(text.stdout).expect("utf8");
    for expected in [
        "Odense Kommune",
        "Anbragte",
        "Øvrige",
        "Anbringelsestype",
        "Side 1 af",
    ] {
        assert!(text.contains(expected), "the PDF's text has {expected}");
    }
}
