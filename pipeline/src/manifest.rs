//! manifest.json: what a run read, decided and wrote (data-contract.md, "Outputs").

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ingest::InputFile;
use crate::publish::OutputFile;
use crate::validate::Counts;

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub run_id: String,
    /// What the published files were computed from: a fingerprint of the input files'
    /// checksums, the effective configuration and the Skolegang version
    /// ([`data_version`]). The reports name it instead of the run id, so a rerun on the
    /// same data publishes byte-identical files.
    pub data_version: String,
    /// `success`, or `rejected` when the input failed the reject limit (then `current`
    /// was not switched).
    pub status: String,
    pub skolegang_version: String,
    pub datafusion_version: String,
    pub started_at: String,
    pub finished_at: String,
    pub input: String,
    pub extract_date: String,
    /// The effective configuration, defaults filled in.
    pub config: serde_json::Value,
    pub inputs: BTreeMap<String, ExtractInput>,
    pub outputs: Vec<OutputFile>,
    /// Seconds per stage, in the order the stages ran.
    pub stage_seconds: Vec<(String, f64)>,
    /// Cells suppressed per indicator and the information left (absent when the run
    /// stopped before disclosure control).
    pub disclosure: Option<crate::disclose::Summary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExtractInput {
    pub files: Vec<InputFile>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// The fingerprint of a run's data: sha256 over every input file's path and sha256 (in
/// extract and path order), the effective configuration and the Skolegang version; the
/// first 16 hex digits.
pub fn data_version(inputs: &BTreeMap<String, ExtractInput>, config: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (extract, x) in inputs {
        for f in &x.files {
            h.update(format!("{extract}\t{}\t{}\n", f.path, f.sha256));
        }
    }
    h.update(config.to_string());
    h.update(env!("CARGO_PKG_VERSION"));
    hex::encode(h.finalize())[..16].to_string()
}

impl Manifest {
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}
