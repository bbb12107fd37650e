//! PDFs from the HTML reports, printed by headless Chromium. One browser serves the
//! whole batch: it is driven over the DevTools protocol on a pipe
//! (`--remote-debugging-pipe`: JSON messages ending in a NUL byte, written to the
//! browser's fd 3 and read from its fd 4), with a timeout on every call. The browser is
//! closed, killed if need be, and waited for when [`Browser`] is dropped, so no process
//! is left behind.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// The time one page may take to load and print.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(60);

/// The Chromium to use: `$SKOLEGANG_CHROMIUM`, else the first of the usual names on
/// `PATH`.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SKOLEGANG_CHROMIUM") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    first_on_path(&[
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ])
}

/// The first program on `PATH`, folder by folder, that has one of `names`.
pub fn first_on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn browser_error(what: impl std::fmt::Display) -> Error {
    Error::Internal(format!("headless Chromium: {what}"))
}

/// A headless Chromium with one page, ready to print.
pub struct Browser {
    child: Child,
    to_browser: std::io::PipeWriter,
    from_browser: Receiver<Value>,
    next_id: u64,
    session: String,
    frame: String,
    profile: tempfile::TempDir,
}

/// Chromium's flags. Its sandbox cannot start as root; any other account keeps it. No
/// network: every host name fails to resolve and every request goes to a proxy that is
/// not there (the reports are local HTML with everything inlined). The environment is
/// set by the caller: a minimal one, without the batch's credentials (AWS_*, …).
fn launch_flags(as_root: bool) -> Vec<&'static str> {
    let mut flags = vec!["--headless"];
    if as_root {
        flags.push("--no-sandbox");
    }
    flags.extend([
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--remote-debugging-pipe",
    ]);
    flags
}

impl Browser {
    pub fn launch(chromium: &Path) -> Result<Browser> {
        let profile = tempfile::Builder::new()
            .prefix("skolegang-chromium-")
            .tempdir()
            .map_err(|e| Error::io("creating a Chromium profile folder", e))?;
        let pipe = |what| std::io::pipe().map_err(|e| Error::io(what, e));
        let (from_browser, browser_writes) = pipe("creating a pipe for Chromium")?;
        let (browser_reads, to_browser) = pipe("creating a pipe for Chromium")?;
        let (r, w) = (browser_reads.as_raw_fd(), browser_writes.as_raw_fd());
        let mut cmd = Command::new(chromium);
        cmd.args(launch_flags(crate::sys::is_root()));
        cmd.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", profile.path())
            .env("LANG", "C.UTF-8");
        if let Some(tz) = std::env::var_os("TZ") {
            cmd.env("TZ", tz);
        }
        cmd.arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        crate::sys::child_with_pipe_fds(&mut cmd, r, w);
        let child = cmd
            .spawn()
            .map_err(|e| Error::io(format!("starting {}", chromium.display()), e))?;
        drop(browser_reads);
        drop(browser_writes);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from_browser);
            loop {
                let mut message = Vec::new();
                match reader.read_until(0, &mut message) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        message.pop();
                        if let Ok(v) = serde_json::from_slice::<Value>(&message)
                            && tx.send(v).is_err()
                        {
                            break;
                        }
                    }
                }
            }
        });
        let mut browser = Browser {
            child,
            to_browser,
            from_browser: rx,
            next_id: 0,
            session: String::new(),
            frame: String::new(),
            profile,
        };
        let target = browser.call("Target.createTarget", json!({"url": "about:blank"}), false)?;
        let target_id = target["targetId"].as_str().unwrap_or_default().to_string();
        let attached = browser.call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
            false,
        )?;
        browser.session = attached["sessionId"]
            .as_str()
            .ok_or_else(|| browser_error("no session id"))?
            .to_string();
        browser.call("Page.enable", json!({}), true)?;
        let tree = browser.call("Page.getFrameTree", json!({}), true)?;
        browser.frame = tree["frameTree"]["frame"]["id"]
            .as_str()
            .ok_or_else(|| browser_error("no frame id"))?
            .to_string();
        Ok(browser)
    }

    /// Sends one command and waits for its answer.
    fn call(&mut self, method: &str, params: Value, in_page: bool) -> Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if in_page {
            message["sessionId"] = Value::String(self.session.clone());
        }
        let mut bytes = serde_json::to_vec(&message).map_err(browser_error)?;
        bytes.push(0);
        self.to_browser
            .write_all(&bytes)
            .map_err(|e| browser_error(format!("{method}: {e}")))?;
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from_browser.recv_timeout(left) {
                Ok(v) if v["id"].as_u64() == Some(id) => {
                    if let Some(e) = v.get("error") {
                        return Err(browser_error(format!("{method}: {e}")));
                    }
                    return Ok(v["result"].clone());
                }
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(browser_error(format!(
                        "{method} took longer than {} s",
                        PAGE_TIMEOUT.as_secs()
                    )));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(browser_error(format!("the browser exited during {method}")));
                }
            }
        }
    }

    /// Loads `html` into the page and waits until its fonts are ready.
    fn load(&mut self, html: &str) -> Result<()> {
        let frame = self.frame.clone();
        self.call(
            "Page.setDocumentContent",
            json!({"frameId": frame, "html": html}),
            true,
        )?;
        self.evaluate("document.fonts.ready.then(() => true)")?;
        Ok(())
    }

    /// Evaluates a JavaScript expression in the page (awaiting a promise).
    pub fn evaluate(&mut self, expression: &str) -> Result<Value> {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            true,
        )?;
        Ok(r["result"]["value"].clone())
    }

    /// Loads `html` in a viewport `width` CSS pixels wide, for `media` (`screen` or
    /// `print`), and evaluates `expression`: for tests of the layout.
    pub fn inspect(
        &mut self,
        html: &str,
        width: u32,
        media: &str,
        expression: &str,
    ) -> Result<Value> {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": 1123, "deviceScaleFactor": 1, "mobile": false}),
            true,
        )?;
        self.call("Emulation.setEmulatedMedia", json!({"media": media}), true)?;
        // As on a phone: no scrollbar narrows the page or a screenshot.
        self.call(
            "Emulation.setScrollbarsHidden",
            json!({"hidden": true}),
            true,
        )?;
        self.load(html)?;
        self.evaluate(expression)
    }

    /// A PNG of the whole page last loaded by [`Browser::inspect`], at its viewport's
    /// width: for tests and for looking at the layout as a reader would.
    pub fn screenshot(&mut self) -> Result<Vec<u8>> {
        let r = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
            true,
        )?;
        let data = r["data"]
            .as_str()
            .ok_or_else(|| browser_error("captureScreenshot returned no data"))?;
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(browser_error)
    }

    /// Prints `html` on A4 with a header naming `title` and the `sender` on every page,
    /// and a footer with `note` (extract date and data version), the source and "Side
    /// n af m". `date` (the extract date) becomes the PDF's creation and modification
    /// date, so the same page prints to the same bytes.
    pub fn print(
        &mut self,
        html: &str,
        (title, sender): (&str, &str),
        note: &str,
        date: chrono::NaiveDate,
    ) -> Result<Vec<u8>> {
        self.call("Emulation.clearDeviceMetricsOverride", json!({}), true)?;
        self.call("Emulation.setEmulatedMedia", json!({"media": ""}), true)?;
        self.load(html)?;
        let title = super::format::escape(title);
        let sender = super::format::escape(sender);
        let header = format!(
            r#"<div style="font-family: sans-serif; font-size: 8px; color: #555; width: 100%; margin: 0 14mm; display: flex; justify-content: space-between;"><span>{title} · Udsatte børn og unges skolegang</span><span>{sender}</span></div>"#
        );
        let note = super::format::escape(note);
        let footer = format!(
            r#"<div style="font-family: sans-serif; font-size: 8px; color: #555; width: 100%; margin: 0 14mm; display: flex; justify-content: space-between;"><span>{note} · Kilde: registerudtræk, egne beregninger</span><span>Side <span class="pageNumber"></span> af <span class="totalPages"></span></span></div>"#
        );
        let r = self.call(
            "Page.printToPDF",
            json!({
                "paperWidth": 8.27,
                "paperHeight": 11.69,
                "marginTop": 0.7,
                "marginBottom": 0.7,
                "marginLeft": 0.6,
                "marginRight": 0.6,
                "printBackground": true,
                "displayHeaderFooter": true,
                "headerTemplate": header,
                "footerTemplate": footer,
                // Tagged (structure tree, /Lang from <html lang="da">) with an
                // outline from the headings. The structure tree names table headers
                // by the browser's DOM node ids, which grow from page to page:
                // `fixed_node_ids` renumbers them so the same page gives the same bytes.
                "generateTaggedPDF": true,
                "generateDocumentOutline": true,
            }),
            true,
        )?;
        let data = r["data"]
            .as_str()
            .ok_or_else(|| browser_error("printToPDF returned no data"))?;
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(browser_error)?;
        Ok(fixed_node_ids(fixed_dates(pdf, date)))
    }
}

/// Renumbers the DOM node ids a tagged PDF names its structure elements by
/// (`(node00000040)`: `/ID`, `/Headers` and the `/IDTree`) 1, 2, 3 … in their order,
/// zero-padded to the same width, so byte offsets, the ids' order (the `/IDTree` is
/// sorted) and every reference stay as they were. Left alone if the ids differ in width.
pub fn fixed_node_ids(mut pdf: Vec<u8>) -> Vec<u8> {
    // (offset of the digits, their value) of every `(node<digits>)`.
    let mut found: Vec<(usize, u64)> = Vec::new();
    let mut width = None;
    for at in after_each(&pdf, b"(node") {
        let digits = pdf[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || pdf.get(at + digits) != Some(&b')') {
            continue;
        }
        if *width.get_or_insert(digits) != digits {
            return pdf;
        }
        let value = std::str::from_utf8(&pdf[at..at + digits])
            .ok()
            .and_then(|d| d.parse::<u64>().ok());
        match value {
            Some(v) => found.push((at, v)),
            None => return pdf,
        }
    }
    let Some(width) = width else {
        return pdf;
    };
    let mut ids: Vec<u64> = found.iter().map(|(_, v)| *v).collect();
    ids.sort_unstable();
    ids.dedup();
    for (at, value) in found {
        let rank = ids.partition_point(|v| *v < value) + 1;
        let new = format!("{rank:0width$}");
        if new.len() == width {
            pdf[at..at + width].copy_from_slice(new.as_bytes());
        }
    }
    pdf
}

/// Replaces the values of `/CreationDate (D:…)` and `/ModDate (D:…)` by `date` at
/// midnight UTC, keeping every byte offset: the dates Chromium writes have the same
/// fixed width (`D:YYYYMMDDHHmmSS+00'00'`).
pub fn fixed_dates(mut pdf: Vec<u8>, date: chrono::NaiveDate) -> Vec<u8> {
    let stamp = format!("D:{}000000+00'00'", date.format("%Y%m%d"));
    for key in [b"/CreationDate (".as_slice(), b"/ModDate (".as_slice()] {
        for at in after_each(&pdf, key) {
            let end = pdf[at..].iter().position(|b| *b == b')').map(|p| at + p);
            if let Some(end) = end
                && end - at == stamp.len()
                && pdf[at..].starts_with(b"D:")
            {
                pdf[at..end].copy_from_slice(stamp.as_bytes());
            }
        }
    }
    pdf
}

/// The offset just after each occurrence of `key` in `pdf`, in order.
fn after_each(pdf: &[u8], key: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = pdf[from..].windows(key.len()).position(|w| w == key) {
        from += p + key.len();
        out.push(from);
    }
    out
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.next_id += 1;
        let close = json!({"id": self.next_id, "method": "Browser.close", "params": {}});
        if let Ok(mut bytes) = serde_json::to_vec(&close) {
            bytes.push(0);
            let _ = self.to_browser.write_all(&bytes);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
        tracing::debug!(profile = %self.profile.path().display(), "Chromium closed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chromium_is_sandboxed_unless_root_and_has_no_network() {
        let user = launch_flags(false);
        assert!(!user.contains(&"--no-sandbox"));
        assert!(launch_flags(true).contains(&"--no-sandbox"));
        assert!(user.contains(&"--host-resolver-rules=MAP * ~NOTFOUND"));
        assert!(user.iter().any(|f| f.starts_with("--proxy-server=")));
    }

    #[test]
    fn pdf_dates_become_the_extract_date_in_place() {
        let pdf =
            b"<< /CreationDate (D:20261123015950+00'00')\n/ModDate (D:20261123015951+00'00')>>"
                .to_vec();
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
        let fixed = fixed_dates(pdf.clone(), date);
        assert_eq!(fixed.len(), pdf.len());
        assert_eq!(
            String::from_utf8(fixed).expect("utf8"),
            "<< /CreationDate (D:20261101000000+00'00')\n/ModDate (D:20261101000000+00'00')>>"
        );
    }

    #[test]
    fn node_ids_are_renumbered_in_order_keeping_width_and_references() {
        let pdf = b"/ID (node00000740)>> /Headers [(node00000733)] /ID (node00000733) \
                    /IDTree << /Names [(node00000733) 9 0 R (node00000740) 8 0 R]>> (nodeX)"
            .to_vec();
        let fixed = fixed_node_ids(pdf.clone());
        assert_eq!(fixed.len(), pdf.len());
        assert_eq!(
            String::from_utf8(fixed).expect("utf8"),
            "/ID (node00000002)>> /Headers [(node00000001)] /ID (node00000001) \
                    /IDTree << /Names [(node00000001) 9 0 R (node00000002) 8 0 R]>> (nodeX)"
        );
    }

    #[test]
    fn node_ids_of_different_widths_are_left_alone() {
        let pdf = b"/ID (node00000740) /ID (node1)".to_vec();
        assert_eq!(fixed_node_ids(pdf.clone()), pdf);
    }
}
