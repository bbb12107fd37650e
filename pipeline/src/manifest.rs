//! manifest.json: what a run read, decided and wrote (data-contract.md, "Outputs").

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ingest::InputFile;
use crate::publish::OutputFile;
use crate::validate::Counts;

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub run_id: String,
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

impl Manifest {
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}
