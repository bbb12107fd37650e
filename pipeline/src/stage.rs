//! The stages of `skolegang run`, in the order a run passes them: one name for the
//! timings and rows in the manifest (`stage_seconds`, `stage_rows`), the `stage` field
//! of the logs, and the fault points of the failure tests (`kill@<stage>`,
//! [`crate::faults`]).

/// One stage of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Is the input the one `current` was made from? (Every file read and hashed.)
    Fingerprint,
    /// Ingest (list, fetch, check) and validate the six extracts.
    IngestValidate,
    /// Write the rejected rows.
    Quarantine,
    /// Derive the cohorts and compute every cell.
    Indicators,
    /// Freeze the released periods and protect the new ones.
    Disclose,
    /// The ranking from the published cells.
    Rankings,
    /// Write the published tables, the private record and the restricted tier.
    Publish,
    /// The attacker's check on the files as written.
    Audit,
    /// Render the reports.
    Reports,
    /// Print them to PDF.
    Pdf,
    /// Write the kommune bundles and their zips.
    Bundles,
    /// Write the run's manifest.
    Manifest,
    /// Switch `current` to the run.
    Switch,
    /// Delete the oldest runs.
    Prune,
}

impl Stage {
    /// The stage's name in the manifest, the logs and `SKOLEGANG_FAULT`.
    pub const fn name(self) -> &'static str {
        match self {
            Stage::Fingerprint => "fingerprint",
            Stage::IngestValidate => "ingest_validate",
            Stage::Quarantine => "quarantine",
            Stage::Indicators => "indicators",
            Stage::Disclose => "disclose",
            Stage::Rankings => "rankings",
            Stage::Publish => "publish",
            Stage::Audit => "audit",
            Stage::Reports => "reports",
            Stage::Pdf => "pdf",
            Stage::Bundles => "bundles",
            Stage::Manifest => "manifest",
            Stage::Switch => "switch",
            Stage::Prune => "prune",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
