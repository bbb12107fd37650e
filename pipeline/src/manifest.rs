//! manifest.json: what a run read, decided and wrote (data-contract.md, "Outputs").

use std::collections::BTreeMap;

use serde::Serialize;

use crate::stages::ingest::InputFile;
use crate::stages::validate::Counts;
use crate::storage::runs::OutputFile;

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub run_id: String,
    /// What the published files were computed from: a fingerprint of the input files'
    /// checksums, the effective configuration and the Skolegang version
    /// ([`data_version`]). The reports name it instead of the run id, so a rerun on the
    /// same data publishes byte-identical files.
    pub data_version: String,
    /// `success`; `rejected` when the input failed the reject limit, `audit_failed`
    /// when the disclosure audit of the written files found an exposure (then `current`
    /// was not switched).
    pub status: String,
    /// The process exit code the run ended with (README, "Exit codes").
    pub exit_code: i32,
    pub skolegang_version: String,
    pub datafusion_version: String,
    pub started_at: String,
    pub finished_at: String,
    pub input: String,
    pub extract_date: String,
    /// The effective configuration, defaults filled in.
    pub config: serde_json::Value,
    /// Threads, memory pool and spill folder: how the run was executed. They do not
    /// change a published byte, so they are not part of the data version.
    pub resources: Resources,
    pub inputs: BTreeMap<String, ExtractInput>,
    pub outputs: Vec<OutputFile>,
    /// Seconds per stage, in the order the stages ran.
    pub stage_seconds: Vec<(String, f64)>,
    /// Rows made per stage, for the stages that make rows: `ingest_validate` rows
    /// read, `quarantine` rows quarantined, `indicators` cells computed, `disclose`
    /// cells published, `publish` rows written, `audit` cells attacked.
    pub stage_rows: Vec<(String, u64)>,
    /// The process's peak resident memory when the manifest was written (Linux).
    pub peak_rss_bytes: Option<u64>,
    /// Cells suppressed per indicator and the information left (absent when the run
    /// stopped before disclosure control).
    pub disclosure: Option<crate::stages::disclose::Summary>,
    /// Which periods were frozen from which release, which are new, and how far the
    /// current data drifted from the frozen ones (absent when the run stopped before
    /// disclosure control).
    pub release: Option<crate::stages::disclose::release::Summary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Resources {
    pub threads: usize,
    pub memory_limit_bytes: u64,
    pub spill_dir: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExtractInput {
    pub files: Vec<InputFile>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// The fingerprint of a run's data: sha256 over every input file's extract, path and
/// sha256 (in extract and path order), the effective configuration and the Skolegang
/// version; the first 16 hex digits.
pub fn data_version<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    config: &serde_json::Value,
) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (extract, path, sha256) in files {
        h.update(format!("{extract}\t{path}\t{sha256}\n"));
    }
    h.update(config.to_string());
    h.update(env!("CARGO_PKG_VERSION"));
    hex::encode(h.finalize())[..16].to_string()
}

/// The input files of a manifest's `inputs`, as [`data_version`] takes them.
pub fn input_files(
    inputs: &BTreeMap<String, ExtractInput>,
) -> impl Iterator<Item = (&str, &str, &str)> {
    inputs.iter().flat_map(|(extract, x)| {
        x.files
            .iter()
            .map(move |f| (extract.as_str(), f.path.as_str(), f.sha256.as_str()))
    })
}

impl Manifest {
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}
