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
            "Chromium to print the PDFs (apt-get install chromium; `make test` does)",
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
            // The SVG namespace and the map's own hatch pattern are not outside.
            let outside_svg_ns = html
                .replace("xmlns=\"http://www.w3.org/2000/svg\"", "")
                .replace("url(#kort-diskretioneret)", "");
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
        .print(
            &html,
            (
                "Odense Kommune",
                "Partnerskabet for udsatte børn og unges skolegang og læring",
            ),
            &note,
            extract_date,
        )
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
    // Tagged (a structure tree) in Danish, with bookmarks from the headings.
    assert!(info.contains("Tagged:          yes"), "tagged: {info}");
    let bytes = std::fs::read(&pdf).expect("pdf");
    let has = |s: &[u8]| bytes.windows(s.len()).any(|w| w == s);
    assert!(has(b"/Lang (da)"), "the PDF's language is Danish");
    assert!(has(b"/StructTreeRoot"), "a structure tree");
    assert!(has(b"/Outlines"), "bookmarks");
    let outline = std::process::Command::new("pdfinfo")
        .args(["-struct", pdf.to_str().expect("utf8")])
        .output()
        .expect("pdfinfo -struct");
    let outline = String::from_utf8_lossy(&outline.stdout).into_owned();
    for tag in ["H1", "H2", "Table", "TH", "TD", "P"] {
        assert!(
            outline.lines().any(|l| l.trim_start().starts_with(tag)),
            "the structure tree has {tag}"
        );
    }
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

/// The PNG's width in pixels (its IHDR chunk).
fn png_width(png: &[u8]) -> u32 {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    u32::from_be_bytes(png[16..20].try_into().expect("four bytes"))
}

#[test]
fn the_overview_has_a_map_of_98_named_kommuner_a_filter_and_no_sideways_scroll() {
    let Some(chromium) = with_pdfs().then(find_chromium).flatten() else {
        return;
    };
    let run = sample_run();
    let html =
        std::fs::read_to_string(run.join("published/reports/index.html")).expect("index.html");
    let shots = std::env::temp_dir().join("skolegang-screenshots");
    std::fs::create_dir_all(&shots).expect("a folder for the screenshots");
    let mut browser = Browser::launch(&chromium).expect("launch");
    let facts = r##"JSON.stringify({
        scroll: document.documentElement.scrollWidth,
        shapes: document.querySelectorAll("svg.map path.kommune").length,
        named: Array.from(document.querySelectorAll("svg.map a")).filter(a =>
            /^.+ (Kommune|Regionskommune): ./.test(a.getAttribute("aria-label") || "")
            && a.querySelector("path.kommune") && a.getAttribute("href").endsWith("/rapport.html")).length,
        search: !!document.querySelector("#kommunefilter input[type=search]"),
    })"##;
    for width in [1280u32, 390] {
        let v = browser
            .inspect(&html, width, "screen", facts)
            .expect("evaluate");
        let v: serde_json::Value = serde_json::from_str(v.as_str().expect("json")).expect("json");
        assert!(
            v["scroll"].as_u64().expect("a width") <= u64::from(width),
            "the overview scrolls sideways at {width}px: {v}"
        );
        assert_eq!(v["shapes"], 98, "{width}px: {v}");
        assert_eq!(v["named"], 98, "{width}px: every shape a named link: {v}");
        assert_eq!(v["search"], true, "{width}px");
        let png = browser.screenshot().expect("screenshot");
        assert_eq!(png_width(&png), width);
        let file = shots.join(format!("overview-{width}.png"));
        std::fs::write(&file, &png).expect("write the screenshot");
        eprintln!("screenshot: {}", file.display());
    }
    // The filter: a name (with "aa" read as "å"), then a region.
    let codes = Codes::embedded().expect("codes");
    let nordjylland = codes
        .municipalities
        .iter()
        .filter(|m| m.region_name == "Region Nordjylland")
        .count();
    let filter = r##"(() => {
        const input = document.getElementById("kommunesoeg"), menu = document.getElementById("kommuneregion");
        const rows = () => Array.from(document.querySelectorAll("#kommuner table.sortable tbody tr")).filter(r => !r.hidden);
        const say = () => document.querySelector("#kommunefilter .count").textContent;
        input.value = "herning"; input.dispatchEvent(new Event("input"));
        const one = [say(), rows().map(r => r.dataset.name).join()];
        input.value = "åbenrå"; input.dispatchEvent(new Event("input"));
        const aa = rows().map(r => r.dataset.name).join();
        input.value = ""; input.dispatchEvent(new Event("input"));
        menu.value = "Nordjylland"; menu.dispatchEvent(new Event("change"));
        const region = [say(), rows().every(r => r.dataset.region === "Nordjylland")];
        const regions = Array.from(menu.options).map(o => o.textContent).join("|");
        return JSON.stringify({one, aa, region, regions});
    })()"##;
    let v = browser
        .inspect(&html, 1280, "screen", filter)
        .expect("evaluate");
    let v: serde_json::Value = serde_json::from_str(v.as_str().expect("json")).expect("json");
    assert_eq!(v["one"], serde_json::json!(["1 kommune vist", "Herning"]));
    assert_eq!(v["aa"], "Aabenraa");
    assert_eq!(
        v["region"],
        serde_json::json!([format!("{nordjylland} kommuner vist"), true])
    );
    assert_eq!(
        v["regions"],
        "Alle regioner|Hovedstaden|Sjælland|Syddanmark|Midtjylland|Nordjylland"
    );
}

/// axe-core (`SKOLEGANG_AXE`: its axe.min.js, which `make test` fetches) in Chromium:
/// the WCAG 2.1 A/AA rules and best practices.
#[test]
fn the_overview_and_a_kommune_report_have_no_accessibility_violations() {
    let Some(chromium) = with_pdfs().then(find_chromium).flatten() else {
        return;
    };
    let Some(axe) = skolegang_tests::needs(
        "axe-core's axe.min.js named by SKOLEGANG_AXE (make axe)",
        std::env::var_os("SKOLEGANG_AXE").filter(|p| Path::new(p).is_file()),
    ) else {
        return;
    };
    let axe = std::fs::read_to_string(axe).expect("axe.min.js");
    let run = sample_run();
    let mut browser = Browser::launch(&chromium).expect("launch");
    for page in [
        "index.html",
        "657-herning/rapport.html",
        "825-laesoe/rapport.html",
    ] {
        let html = std::fs::read_to_string(run.join("published/reports").join(page)).expect("html");
        for width in [1280u32, 390] {
            browser
                .inspect(&html, width, "screen", "true")
                .expect("load");
            browser.evaluate(&axe).expect("axe-core loads");
            let v = browser
                .evaluate(
                    r#"axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}})
                       .then(r => JSON.stringify(r.violations.map(v => ({id: v.id, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")), help: v.help}))))"#,
                )
                .expect("axe.run");
            let violations: serde_json::Value =
                serde_json::from_str(v.as_str().expect("json")).expect("json");
            assert_eq!(
                violations,
                serde_json::json!([]),
                "{page} at {width}px: axe-core violations"
            );
        }
    }
}

/// The cells of a flat ODS spreadsheet's rows: per cell its `office:value-type`
/// ("float", "string", "date", …; `None` for an empty cell) and its value (a number's
/// `office:value`, else its text), repeated cells expanded.
fn fods_rows(xml: &str) -> Vec<Vec<(Option<String>, String)>> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let at = tag.find(&format!("{name}=\""))? + name.len() + 2;
        Some(tag[at..at + tag[at..].find('"')?].to_string())
    };
    let mut rows = Vec::new();
    for row in xml.split("<table:table-row").skip(1) {
        let row = &row[..row.find("</table:table-row>").unwrap_or(row.len())];
        let mut cells = Vec::new();
        for cell in row.split("<table:table-cell").skip(1) {
            let tag = &cell[..cell.find('>').expect("a tag")];
            let text = attr(tag, "office:value").unwrap_or_else(|| {
                cell.split("<text:p>")
                    .nth(1)
                    .and_then(|t| t.split("</text:p>").next())
                    .unwrap_or("")
                    .to_string()
            });
            let repeated: usize = attr(tag, "table:number-columns-repeated")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            for _ in 0..repeated.min(64) {
                cells.push((attr(tag, "office:value-type"), text.clone()));
            }
        }
        rows.push(cells);
    }
    rows
}

/// LibreOffice Calc (headless `soffice`, which `make test` installs) opens
/// `indikatorer.csv` as a Danish user would (semicolon, UTF-8, language Danish): every
/// number column holds numbers, withheld figures are empty cells, text stays text.
#[test]
fn the_csv_round_trips_through_libreoffice_with_a_danish_locale() {
    let Some(soffice) = skolegang_tests::needs(
        "LibreOffice Calc's soffice (apt-get install libreoffice-calc-nogui; `make test` does)",
        first_on_path(&["soffice", "libreoffice"]),
    ) else {
        return;
    };
    let run = sample_run();
    let csv = run.join("published/reports/657-herning/indikatorer.csv");
    let work = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(soffice)
        .arg("--headless")
        .arg("--norestore")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            work.path().join("profile").display()
        ))
        // Separator ; (59), quote " (34), UTF-8 (76), from line 1, standard columns,
        // language Danish (1030), quoted fields not forced to text, special numbers
        // (dates) detected.
        .arg("--infilter=Text - txt - csv (StarCalc):59,34,76,1,,1030,false,true")
        .args(["--convert-to", "fods", "--outdir"])
        .arg(work.path())
        .arg(&csv)
        .output()
        .expect("soffice runs");
    assert!(out.status.success(), "soffice: {out:?}");
    let xml = std::fs::read_to_string(work.path().join("indikatorer.fods")).expect("fods");
    let sheet = fods_rows(&xml);
    let text = std::fs::read_to_string(&csv).expect("csv");
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    let header: Vec<&str> = lines[0].split(';').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).expect(name);
    assert_eq!(
        sheet[0][column("Værdi")].1,
        "Værdi",
        "the heading row is read as text"
    );
    let data: Vec<_> = sheet[1..]
        .iter()
        .filter(|r| r.iter().any(|c| c.0.is_some()))
        .collect();
    assert_eq!(
        data.len(),
        lines.len() - 1,
        "one spreadsheet row per CSV row"
    );
    let numbers = [
        "Antal år",
        "År",
        "Områdekode",
        "Værdi",
        "Nedre grænse (95 %)",
        "Øvre grænse (95 %)",
        "Tæller",
        "Nævner",
    ];
    let mut published = 0;
    for (row, line) in data.iter().zip(&lines[1..]) {
        let fields: Vec<&str> = line.split(';').collect();
        for name in numbers {
            let (kind, _) = &row[column(name)];
            match fields[column(name)] {
                "" => assert_eq!(kind, &None, "{name}: an empty cell in {line}"),
                _ => assert_eq!(kind.as_deref(), Some("float"), "{name}: a number in {line}"),
            }
        }
        assert_eq!(row[column("Område")].0.as_deref(), Some("string"));
        assert_eq!(row[column("Udtræksdato")].0.as_deref(), Some("date"));
        if fields[column("Status")] == "offentliggjort" {
            published += 1;
            // The value LibreOffice read is the one the CSV wrote, decimal comma and all.
            let written: f64 = fields[column("Værdi")]
                .replace(',', ".")
                .parse()
                .expect("number");
            let (_, value) = &row[column("Værdi")];
            let read: f64 = value.parse().expect("office:value is a number");
            assert!(
                (read - written).abs() < 1e-9,
                "{line}: Calc read {read} (the decimal comma read as Danish expected)"
            );
        }
    }
    assert!(published > 0, "some published rows");
}
