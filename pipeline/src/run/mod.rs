//! `skolegang run` and `skolegang validate`: the orchestrator over the stages
//! ([`crate::stage::Stage`]), in the order of the bird's-eye view:
//!
//! fingerprint → ingest_validate → quarantine → indicators → disclose → rankings →
//! publish → audit → reports → pdf → bundles → manifest → switch → prune
//!
//! - `fingerprint.rs`: is the input the one `current` was made from (then no run);
//! - `checked.rs`: ingest and validation of the six extracts (`validate` stops there);
//! - `quarantine.rs`: the rejected rows;
//! - `steps.rs`: one function per later stage;
//! - `outcome.rs`: status, exit code and error, decided once;
//! - `timing.rs`: stage timings and rows for the manifest and the logs.

mod checked;
mod fingerprint;
mod outcome;
mod quarantine;
mod steps;
mod timing;

use chrono::{NaiveDate, Utc};
use tracing::{info, warn};

pub use checked::{Checked, ExtractResult, ingest_and_validate, summary_table};
pub use fingerprint::fingerprint;
pub use outcome::Outcome;
pub use quarantine::{quarantine_batch, quarantine_schema};
pub use timing::Stages;

use crate::config::Config;
use crate::engine::session;
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::stage::Stage;
use crate::storage::runs;
use crate::storage::store::Root;

/// Everything a run needs to know, resolved from the command line and configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub input: Root,
    pub config: Config,
    pub extract_date: NaiveDate,
    pub threads: usize,
    /// Also write the person-level cohorts under `restricted/`, with the register ids
    /// pseudonymised with this project's key (crate::pseudonym).
    pub restricted: Option<crate::pseudonym::ProjectKey>,
    /// Print the reports to PDF with headless Chromium (when it is found).
    pub pdf: bool,
    /// Run even when the inputs and configuration equal those of `current`.
    pub force: bool,
    /// Run folders to keep (the newest; `current` always stays).
    pub keep_runs: usize,
    /// Released periods to republish from current data (`--revise`), protected jointly
    /// with the release they replace.
    pub revise: Vec<String>,
    /// DataFusion's memory pool and spill folder.
    pub memory: session::Memory,
}

/// What a finished run reports.
#[derive(Debug)]
pub struct RunReport {
    pub run_id: String,
    /// The inputs and configuration equalled those of `current` (run `run_id`): nothing
    /// was run or written.
    pub unchanged: bool,
    pub manifest: Option<Manifest>,
    /// Danmark's headline figures for the latest periods.
    pub headline: String,
}

/// The nightly batch. Writes `runs/<run-id>/` under `output` and switches `current`.
/// When an extract is over the reject limit, the run folder (quarantine and manifest,
/// status `rejected`) is kept for inspection, `current` is not switched, and the
/// error says which extracts and why.
pub async fn run(settings: &Settings, output: &Root) -> Result<RunReport> {
    let lock = crate::storage::lock::RunLock::acquire(output).await?;
    let cleaned = runs::clean_debris(output).await?;
    if !cleaned.is_empty() {
        warn!(
            runs = cleaned.len(),
            "deleted the incomplete run folders of interrupted runs: {}",
            cleaned.join(", ")
        );
    }
    // Our own spill folder under a local output root: what a killed run left is debris.
    let own_spill = match (&settings.memory.spill_dir, &output.local) {
        (None, Some(dir)) => Some(dir.join(SPILL_DIR)),
        _ => None,
    };
    let mut settings = settings.clone();
    if let Some(spill) = &own_spill {
        // Spill files hold person-level rows: the folder is 0700 (a link left there is
        // removed, never followed, by remove_dir_all).
        let _ = std::fs::remove_dir_all(spill);
        runs::private_folder(spill)
            .map_err(|e| Error::io(format!("creating {}", spill.display()), e))?;
        settings.memory.spill_dir = Some(spill.clone());
    } else if let Some(spill) = &settings.memory.spill_dir {
        std::fs::create_dir_all(spill)
            .map_err(|e| Error::io(format!("creating --spill-dir {}", spill.display()), e))?;
    }
    // SIGTERM or SIGINT (interrupt.rs) stops the run here like a failure.
    let result = {
        let signalled = crate::interrupt::signalled();
        let work = std::pin::pin!(run_locked(&settings, output));
        match futures::future::select(work, signalled).await {
            futures::future::Either::Left((done, _)) => done,
            futures::future::Either::Right((signal, _stopped)) => Err(Error::Internal(format!(
                "interrupted by {}: the run was stopped and its unfinished folder removed; `current` is unchanged",
                signal.unwrap_or("a signal")
            ))),
        }
    };
    if result.is_err() {
        // A failed write (a full disk, say) leaves no half-written run behind; a run that
        // wrote its manifest (rejected, audit failed) is kept for inspection.
        match runs::clean_debris(output).await {
            Ok(ids) if !ids.is_empty() => info!("deleted the unfinished run {}", ids.join(", ")),
            Ok(_) => {}
            Err(e) => warn!("the unfinished run was not deleted: {e}"),
        }
    }
    if let Some(spill) = &own_spill {
        let _ = std::fs::remove_dir_all(spill);
    }
    lock.release().await;
    result
}

/// The spill folder under a local output root when no `--spill-dir` is given.
pub const SPILL_DIR: &str = ".spill";

/// The stages of one run, under the lock: each stage's function is called in order,
/// and the outcome decides the status, the exit code and whether `current` moves.
async fn run_locked(settings: &Settings, output: &Root) -> Result<RunReport> {
    let started = Utc::now();
    let mut stages = Stages::default();
    if let Some(unchanged) = fingerprint::unchanged(settings, output, &mut stages).await? {
        return Ok(unchanged);
    }
    let checked = stages
        .time_rows(
            Stage::IngestValidate,
            ingest_and_validate(settings),
            checked::rows_read,
        )
        .await?;
    let run = steps::Run::new(settings, output, &checked, started);
    let mut outputs = stages
        .time_rows(
            Stage::Quarantine,
            quarantine::write(&run.dir, &checked),
            |o| timing::rows_written(o),
        )
        .await?;
    let mut rejects = checked.over_limit(settings.config.max_rejected_share);
    let computed = match rejects.is_empty() {
        true => Some(steps::indicators(&mut stages, &run, &checked).await?),
        false => None,
    };
    if computed.as_ref().is_some_and(|c| c.cells.num_rows() == 0) {
        // Nothing to publish: said plainly, the quarantine kept.
        rejects.push(steps::NO_CELLS.to_string());
    }
    for line in &rejects {
        warn!("{line}");
    }
    let mut outcome = match rejects.is_empty() {
        true => Outcome::Published,
        false => Outcome::Rejected(rejects),
    };
    let (mut protected, mut headline) = (None, String::new());
    let publishable = matches!(outcome, Outcome::Published);
    if let Some(computed) = computed.as_ref().filter(|_| publishable) {
        let p = steps::disclose(&mut stages, &run, computed).await?;
        let rankings = steps::rankings(&mut stages, &run, computed, &p).await?;
        outputs.extend(steps::publish(&mut stages, &run, computed, &p, &rankings).await?);
        headline = crate::stages::indicators::headline(&p.published);
        match steps::audit(&mut stages, &run).await? {
            Some(failure) => outcome = Outcome::AuditFailed(failure),
            None => {
                outputs.extend(steps::reports(&mut stages, &run, &checked, &p, &rankings).await?)
            }
        }
        protected = Some(p);
    }
    let manifest = steps::manifest(&run, &outcome, &stages, outputs, protected).await?;
    steps::finish(run, outcome, manifest, headline).await
}
