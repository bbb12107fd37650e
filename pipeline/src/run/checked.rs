//! Ingest and validation of the six extracts: what `skolegang validate` does, and the
//! first stage of `run`.

use datafusion::prelude::SessionContext;

use super::Settings;
use crate::codes::Codes;
use crate::contract::Extract;
use crate::engine::session;
use crate::error::Result;
use crate::stage::Stage;
use crate::stages::ingest::{self, InputFile};
use crate::stages::validate::{self, Validated};

/// One extract after ingest and validation.
#[derive(Debug)]
pub struct ExtractResult {
    pub files: Vec<InputFile>,
    pub validated: Validated,
}

impl ExtractResult {
    pub fn extract(&self) -> Extract {
        self.validated.extract
    }
}

/// The outcome of ingest and validation over all six extracts.
pub struct Checked {
    /// The session holding the accepted rows as tables named after the extracts.
    pub ctx: SessionContext,
    pub extracts: Vec<ExtractResult>,
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checked")
            .field("extracts", &self.extracts)
            .finish_non_exhaustive()
    }
}

impl Checked {
    /// A count summed over the six extracts (`|c| c.rows_read`, …).
    pub fn total(&self, count: fn(&crate::stages::validate::Counts) -> u64) -> u64 {
        self.extracts
            .iter()
            .map(|x| count(&x.validated.counts))
            .sum()
    }

    /// Extracts whose rejected share is over the limit, each with a message naming the
    /// extract and its top reasons.
    pub fn over_limit(&self, max_share: f64) -> Vec<String> {
        self.extracts
            .iter()
            .filter(|x| x.validated.counts.rejected_share() > max_share)
            .map(|x| {
                let c = &x.validated.counts;
                let reasons: Vec<String> = c
                    .top_reasons()
                    .into_iter()
                    .take(3)
                    .map(|(r, n)| format!("{r} {n}"))
                    .collect();
                format!(
                    "{}: {} of {} rows rejected ({:.2} %, limit {:.2} %); top reasons: {}",
                    x.extract().name(),
                    c.rows_rejected,
                    c.rows_read,
                    100.0 * c.rejected_share(),
                    100.0 * max_share,
                    reasons.join(", ")
                )
            })
            .collect()
    }
}

/// Reads and validates all six extracts. Fatal schema problems stop here.
pub async fn ingest_and_validate(settings: &Settings) -> Result<Checked> {
    let codes = Codes::embedded()?;
    let ctx = session::new_context(settings.threads, codes, &settings.memory)?;
    settings.input.register(&ctx);
    let mut extracts = Vec::new();
    let mut next_ordinal = 0i64;
    for extract in Extract::ALL {
        let ingested =
            ingest::ingest(&settings.input, extract, next_ordinal, settings.threads).await?;
        next_ordinal += ingested.rows_read as i64;
        let files = ingested.files.clone();
        let validated =
            validate::validate(&ctx, ingested, settings.extract_date, settings.threads).await?;
        extracts.push(ExtractResult { files, validated });
        // The validation queries' hash tables are freed: give their pages back before
        // the next extract's (a larger peak otherwise, docs/performance.md).
        crate::sys::trim_free_memory();
        if extracts.len() == 1 {
            crate::faults::point(Stage::IngestValidate);
        }
    }
    Ok(Checked { ctx, extracts })
}

/// Rows read over all extracts (the stage's rows).
pub fn rows_read(checked: &Checked) -> Option<u64> {
    Some(checked.total(|c| c.rows_read))
}

/// A readable accounting table: rows read, accepted, rejected by extract and reason.
pub fn summary_table(extracts: &[ExtractResult]) -> String {
    let mut out = format!(
        "{:<16} {:>12} {:>12} {:>10}\n",
        "extract", "read", "accepted", "rejected"
    );
    for x in extracts {
        let c = &x.validated.counts;
        out.push_str(&format!(
            "{:<16} {:>12} {:>12} {:>10}\n",
            x.extract().name(),
            c.rows_read,
            c.rows_accepted,
            c.rows_rejected
        ));
        for (reason, n) in c.top_reasons() {
            out.push_str(&format!("  {reason:<40} {n:>10}\n"));
        }
    }
    out
}
