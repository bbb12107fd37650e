//! `published/bundles/<code>-<slug>.zip`: a report folder zipped for sending. Entries
//! are in name order, dated the extract date (midnight) and with fixed permissions, so
//! the same files give the same bytes and a reader sees when the data were taken.

use std::io::Write;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::{Basis, Rendered};
use crate::error::{Error, Result};
use crate::storage::runs::{OutputFile, RunDir};

#[derive(Debug, serde::Serialize)]
struct FolderManifest<'a> {
    /// The run's data version; the run id is in the run's own manifest.json.
    data_version: &'a str,
    extract_date: String,
    kommune_code: i64,
    kommune: &'a str,
    /// Why there is no `rapport.pdf`, when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pdf_missing: Option<&'a str>,
    files: Vec<FolderFile>,
}

#[derive(Debug, serde::Serialize)]
struct FolderFile {
    name: String,
    size: u64,
    sha256: String,
}

/// Writes every kommune folder (`published/reports/<code>-<slug>/`), its zip
/// (`published/bundles/<code>-<slug>.zip`) and the overview
/// (`published/reports/index.html`). `pdfs` holds one PDF per kommune, in order.
pub async fn write_all(
    dir: &RunDir,
    rendered: &Rendered,
    pdfs: Option<Vec<Vec<u8>>>,
    basis: &Basis,
) -> Result<Vec<OutputFile>> {
    use sha2::{Digest, Sha256};
    let mut written = Vec::new();
    for (i, k) in rendered.kommuner.iter().enumerate() {
        let mut files: Vec<(String, Vec<u8>)> = vec![
            ("rapport.html".to_string(), k.html.clone().into_bytes()),
            ("indikatorer.csv".to_string(), k.csv.clone()),
            ("indikatorer.parquet".to_string(), k.parquet.clone()),
        ];
        if let Some(pdf) = pdfs.as_ref().and_then(|p| p.get(i)) {
            files.push(("rapport.pdf".to_string(), pdf.clone()));
        }
        let manifest = FolderManifest {
            data_version: &basis.data_version,
            extract_date: basis.extract_date.to_string(),
            kommune_code: k.code,
            kommune: &k.name,
            pdf_missing: pdfs
                .is_none()
                .then_some("no PDF was made in this run (see the run's log)"),
            files: files
                .iter()
                .map(|(name, bytes)| FolderFile {
                    name: name.clone(),
                    size: bytes.len() as u64,
                    sha256: hex::encode(Sha256::digest(bytes)),
                })
                .collect(),
        };
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| Error::internal("a report manifest", e))?;
        files.push(("manifest.json".to_string(), json));
        for (name, bytes) in &files {
            let rel = format!("published/reports/{}/{name}", k.folder);
            written.push(dir.put(&rel, bytes.clone(), None).await?);
        }
        if i == 0 {
            crate::faults::point(crate::stage::Stage::Bundles);
        }
        let archive = zip(&k.folder, &files, basis.extract_date)?;
        written.push(
            dir.put(
                &format!("published/bundles/{}.zip", k.folder),
                archive,
                None,
            )
            .await?,
        );
    }
    written.push(
        dir.put(
            "published/reports/index.html",
            rendered.index.clone().into_bytes(),
            None,
        )
        .await?,
    );
    Ok(written)
}

/// Zips `files` (name, bytes) into one folder `folder/` inside the archive, every entry
/// dated `date` at midnight.
pub fn zip(folder: &str, files: &[(String, Vec<u8>)], date: chrono::NaiveDate) -> Result<Vec<u8>> {
    use chrono::Datelike;
    let err = |e: zip::result::ZipError| Error::internal(format!("zipping {folder}"), e);
    let stamp = DateTime::from_date_and_time(
        u16::try_from(date.year()).unwrap_or(1980),
        date.month() as u8,
        date.day() as u8,
        0,
        0,
        0,
    )
    .unwrap_or_default();
    let mut sorted: Vec<&(String, Vec<u8>)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(stamp)
        .unix_permissions(0o644);
    let mut w = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in sorted {
        w.start_file(format!("{folder}/{name}"), options)
            .map_err(err)?;
        w.write_all(bytes)
            .map_err(|e| Error::io(format!("zipping {folder}/{name}"), e))?;
    }
    Ok(w.finish().map_err(err)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_files_give_the_same_bytes_in_any_order() {
        let a = vec![
            ("b.txt".to_string(), b"bee".to_vec()),
            ("a.txt".to_string(), "æøå".as_bytes().to_vec()),
        ];
        let mut b = a.clone();
        b.reverse();
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
        let za = zip("101-koebenhavn", &a, date).expect("zip");
        assert_eq!(za, zip("101-koebenhavn", &b, date).expect("zip"));
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(za)).expect("archive");
        assert_eq!(archive.len(), 2);
        let stamp = archive
            .by_name("101-koebenhavn/b.txt")
            .expect("entry")
            .last_modified()
            .expect("a timestamp");
        assert_eq!((stamp.year(), stamp.month(), stamp.day()), (2026, 11, 1));
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut archive.by_name("101-koebenhavn/a.txt").expect("entry"),
            &mut text,
        )
        .expect("read");
        assert_eq!(text, "æøå");
    }
}
