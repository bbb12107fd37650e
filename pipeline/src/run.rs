//! The stages of `skolegang run` and `skolegang validate`, in order:
//! ingest → validate → quarantine → manifest → switch `current`.
//! Later stages (indicators, disclosure, reports) slot in before the manifest.

use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use datafusion::arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::datatypes::{DataType, Field, SchemaRef};
use datafusion::prelude::SessionContext;
use tracing::{info, info_span, warn};

use crate::codes::Codes;
use crate::config::Config;
use crate::contract::{
    Extract, ORIGINAL_VALUES, OUT_OF_RANGE, REASON, ROW_ORDINAL, SOURCE_FILE, SOURCE_ROW,
    schema_with,
};
use crate::disclose;
use crate::error::{Error, Result};
use crate::indicators;
use crate::ingest::{self, InputFile};
use crate::manifest::{ExtractInput, Manifest};
use crate::publish::{self, OutputFile, RunDir};
use crate::report;
use crate::session;
use crate::store::Root;
use crate::validate::{self, Validated};

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

/// Stage timings and row counts, recorded in the manifest and logged at info level
/// (`stage started`, `stage finished` with `seconds` and, for stages that make rows,
/// `rows`).
#[derive(Debug, Default)]
pub struct Stages {
    pub seconds: Vec<(String, f64)>,
    pub rows: Vec<(String, u64)>,
}

impl Stages {
    /// Runs stage `name`, timing it.
    pub async fn time<T, F: std::future::Future<Output = Result<T>>>(
        &mut self,
        name: &str,
        f: F,
    ) -> Result<T> {
        self.time_rows(name, f, |_| None).await
    }

    /// Runs stage `name`, timing it and counting the rows it made with `rows`.
    pub async fn time_rows<T, F: std::future::Future<Output = Result<T>>>(
        &mut self,
        name: &str,
        f: F,
        rows: impl Fn(&T) -> Option<u64>,
    ) -> Result<T> {
        let span = info_span!("stage", stage = name);
        let start = Instant::now();
        let result = {
            let _e = span.enter();
            info!(stage = name, "stage started");
            f.await
        };
        let secs = start.elapsed().as_secs_f64();
        self.seconds.push((name.to_string(), secs));
        let seconds = format!("{secs:.3}");
        match result.as_ref().ok().and_then(&rows) {
            Some(n) => {
                self.rows.push((name.to_string(), n));
                info!(stage = name, seconds, rows = n, ok = true, "stage finished");
            }
            None => info!(stage = name, seconds, ok = result.is_ok(), "stage finished"),
        }
        result
    }
}

fn rows_written(files: &[OutputFile]) -> Option<u64> {
    Some(files.iter().filter_map(|f| f.rows).sum())
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
    let ctx = session::new_context(settings.threads, &codes, &settings.memory)?;
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
        if extracts.len() == 1 {
            crate::faults::point("ingest_validate");
        }
    }
    Ok(Checked { ctx, extracts })
}

/// The quarantine schema of an extract: contract columns, `reason`, `source_file`,
/// `source_row` (0-based position in the source file), `original_values` (the values
/// the contract columns could not hold, as text; NULL when all fit).
pub fn quarantine_schema(extract: Extract) -> SchemaRef {
    schema_with(
        extract,
        &[
            Field::new(REASON, DataType::Utf8, false),
            Field::new(SOURCE_FILE, DataType::Utf8, false),
            Field::new(SOURCE_ROW, DataType::Int64, false),
            Field::new(ORIGINAL_VALUES, DataType::Utf8, true),
        ],
    )
}

/// The quarantine rows of one extract, in input order.
pub fn quarantine_batch(x: &ExtractResult) -> Result<RecordBatch> {
    let extract = x.extract();
    let r = &x.validated.rejected;
    let schema = r.schema();
    let col = |name: &str| -> Result<Arc<dyn Array>> {
        Ok(Arc::clone(
            r.column(
                schema
                    .index_of(name)
                    .map_err(|e| Error::internal(extract.name(), e))?,
            ),
        ))
    };
    let ordinals = col(ROW_ORDINAL)?;
    let ordinals = ordinals.as_primitive::<Int64Type>();
    let mut files = Vec::with_capacity(r.num_rows());
    let mut rows = Vec::with_capacity(r.num_rows());
    for o in ordinals.values().iter() {
        let (file, row) = ingest::locate(&x.files, *o).ok_or_else(|| {
            Error::Internal(format!(
                "{}: row ordinal {o} outside its files",
                extract.name()
            ))
        })?;
        files.push(file.to_string());
        rows.push(row);
    }
    let mut cols = extract
        .columns()
        .iter()
        .map(|c| col(c.name))
        .collect::<Result<Vec<_>>>()?;
    cols.push(col(REASON)?);
    cols.push(Arc::new(StringArray::from(files)));
    cols.push(Arc::new(Int64Array::from(rows)));
    cols.push(col(OUT_OF_RANGE)?);
    RecordBatch::try_new(quarantine_schema(extract), cols)
        .map_err(|e| Error::internal(extract.name(), e))
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
/// The data version of the input as it is now ([`crate::manifest::data_version`]),
/// from the files' checksums alone: every file is read once, nothing is decoded.
pub async fn fingerprint(settings: &Settings) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut extracts: Vec<Extract> = Extract::ALL.to_vec();
    extracts.sort_by_key(|e| e.name());
    let mut files = Vec::new();
    for extract in extracts {
        for (path, _) in ingest::list_files(&settings.input, extract).await? {
            let relative = settings.input.relative(&path);
            let bytes = ingest::fetch(&settings.input, &path).await?;
            let sha = tokio::task::spawn_blocking(move || hex::encode(Sha256::digest(&bytes)))
                .await
                .map_err(|e| Error::internal("hashing", e))?;
            files.push((extract.name(), relative, sha));
        }
    }
    Ok(crate::manifest::data_version(
        files.iter().map(|(e, p, s)| (*e, p.as_str(), s.as_str())),
        &settings.config.effective_json(),
    ))
}

pub async fn run(settings: &Settings, output: &Root) -> Result<RunReport> {
    let lock = crate::lock::RunLock::acquire(output).await?;
    let cleaned = publish::clean_debris(output).await?;
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
        let _ = std::fs::remove_dir_all(spill);
        std::fs::create_dir_all(spill)
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
        match publish::clean_debris(output).await {
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

async fn run_locked(settings: &Settings, output: &Root) -> Result<RunReport> {
    let started = Utc::now();
    let mut stages = Stages::default();
    // A revision is deliberate: it runs even when the input is the one `current` was
    // made from (whose frozen periods may differ from it).
    if !settings.force
        && settings.revise.is_empty()
        && let Some((current, version)) = publish::current_data_version(output).await?
    {
        let now = stages.time("fingerprint", fingerprint(settings)).await?;
        if now == version {
            info!(
                run_id = %current,
                data_version = %now,
                "nothing changed: the inputs and configuration equal those of the current run; no new run (--force runs anyway)"
            );
            return Ok(RunReport {
                run_id: current,
                unchanged: true,
                manifest: None,
                headline: String::new(),
            });
        }
    }
    let checked = stages
        .time_rows("ingest_validate", ingest_and_validate(settings), |c| {
            Some(
                c.extracts
                    .iter()
                    .map(|x| x.validated.counts.rows_read)
                    .sum(),
            )
        })
        .await?;

    let inputs: std::collections::BTreeMap<String, ExtractInput> = checked
        .extracts
        .iter()
        .map(|x| {
            (
                x.extract().name().to_string(),
                ExtractInput {
                    files: x.files.clone(),
                    counts: x.validated.counts.clone(),
                },
            )
        })
        .collect();
    let config_json = settings.config.effective_json();
    let data_version =
        crate::manifest::data_version(crate::manifest::input_files(&inputs), &config_json);
    let k = i64::from(settings.config.disclosure.k);
    let run_id = publish::new_run_id(started);
    let dir = RunDir::new(
        output.clone(),
        run_id.clone(),
        publish::file_metadata(&data_version, settings.extract_date, k, &config_json),
    );
    info!(run_id = %run_id, output = %output.display, "writing run");

    let outputs = stages
        .time_rows(
            "quarantine",
            async {
                let mut outputs = Vec::new();
                for x in &checked.extracts {
                    let batch = quarantine_batch(x)?;
                    let rel = format!("quarantine/{}/part-0.parquet", x.extract().name());
                    outputs.push(dir.put_parquet(&rel, batch.schema(), &[batch]).await?);
                    crate::faults::point("quarantine");
                }
                Ok(outputs)
            },
            |o| rows_written(o),
        )
        .await?;

    let mut over = checked.over_limit(settings.config.max_rejected_share);
    for line in &over {
        warn!("{line}");
    }
    let mut outputs = outputs;
    let mut headline = String::new();
    let mut disclosure_summary = None;
    let mut release_summary = None;
    let mut audit_failure: Option<Error> = None;
    let mut computed = None;
    if over.is_empty() {
        let cells = stages
            .time_rows(
                "indicators",
                async {
                    let computed = indicators::compute(
                        &checked.ctx,
                        &settings.config,
                        settings.extract_date,
                        settings.threads,
                    )
                    .await?;
                    crate::faults::point("indicators");
                    Ok(computed)
                },
                |c| Some(c.cells.num_rows() as u64),
            )
            .await?;
        if cells.cells.num_rows() == 0 {
            // Nothing to publish: said plainly, and the quarantine kept, as when the reject
            // limit is exceeded.
            let line = "no indicator cells: no accepted person falls in a period computed at this extract date (is every row rejected, or the extract date wrong?)".to_string();
            warn!("{line}");
            over.push(line);
        }
        computed = Some(cells);
    }
    if let Some(computed) = computed.as_ref().filter(|_| over.is_empty()) {
        let (published, disclosure, record, release) = stages
            .time_rows(
                "disclose",
                async {
                    let codes = Codes::embedded()?;
                    // Periods the current release published are frozen (methodology.md,
                    // "Releases"): copied forward as released, facts for the new ones.
                    let (previous, new_series) =
                        crate::release::previous(output, &config_json).await?;
                    let mut plan = crate::release::plan(
                        &computed.cells,
                        previous.as_ref(),
                        new_series,
                        &settings.revise,
                        k,
                    )?;
                    let stats = disclose::protect_with(
                        &mut plan.cells,
                        &plan.fixed,
                        k,
                        &codes,
                        settings.threads,
                    )?;
                    crate::faults::point("disclose");
                    let summary = disclose::summary(&plan.cells, k, Some(stats));
                    let (published, record) = crate::release::assemble(&plan, previous.as_ref())?;
                    crate::release::log(&plan.summary);
                    Ok((published, summary, record, plan.summary))
                },
                |(p, _, _, _)| Some(p.num_rows() as u64),
            )
            .await?;
        disclosure_summary = Some(disclosure);
        release_summary = Some(release);
        // The ranking from the published cells only; the one from every cell
        // unsuppressed goes to restricted/ when asked for.
        let (rankings, restricted_rankings) = stages
            .time_rows(
                "rankings",
                async {
                    let published_ranking =
                        crate::rankings::rank(std::slice::from_ref(&published)).await?;
                    let restricted = match &settings.restricted {
                        Some(_) => {
                            let all = disclose::batch::apply(
                                &computed.cells,
                                &disclose::batch::cells_from_batch(&computed.cells, None)?,
                                &indicators::published_schema(),
                            )?;
                            Some(crate::rankings::rank(std::slice::from_ref(&all)).await?)
                        }
                        None => None,
                    };
                    Ok((published_ranking, restricted))
                },
                |(r, _)| Some(r.num_rows() as u64),
            )
            .await?;
        let written = stages
            .time_rows(
                "publish",
                async {
                    let mut written = indicators::write_cells(&dir, &published).await?;
                    crate::faults::point("publish");
                    written.push(
                        dir.put_parquet(
                            "published/rankings/part-0.parquet",
                            rankings.schema(),
                            std::slice::from_ref(&rankings),
                        )
                        .await?,
                    );
                    written.push(
                        dir.put_parquet(
                            disclose::record::PATH,
                            record.schema(),
                            std::slice::from_ref(&record),
                        )
                        .await?,
                    );
                    if let Some(key) = &settings.restricted {
                        // One cohort at a time: pseudonymised, then sorted by its key
                        // (so by the pseudonyms, not the register ids).
                        for ((name, keys), rows) in
                            indicators::COHORTS.iter().zip(&computed.cohorts)
                        {
                            let rows = indicators::sort_batch(
                                &key.pseudonymise(&rows.concat(name)?)?,
                                name,
                                keys,
                            )?;
                            let rel = format!("restricted/{name}/part-0.parquet");
                            written.push(
                                dir.put_parquet(&rel, rows.schema(), std::slice::from_ref(&rows))
                                    .await?,
                            );
                        }
                        if let Some(r) = &restricted_rankings {
                            written.push(
                                dir.put_parquet(
                                    "restricted/rankings/part-0.parquet",
                                    r.schema(),
                                    std::slice::from_ref(r),
                                )
                                .await?,
                            );
                        }
                    }
                    Ok(written)
                },
                |w| rows_written(w),
            )
            .await?;
        outputs.extend(written);
        headline = indicators::headline(&published);
        // The attacker's check, on the files as written: refuse to publish on failure.
        let report = stages
            .time_rows(
                "audit",
                async {
                    let report = disclose::audit::audit_run(output, &run_id, None, None).await?;
                    crate::faults::point("audit");
                    Ok(report)
                },
                |r| Some(r.cells as u64),
            )
            .await?;
        if !report.passed() {
            // Recorded in the run's manifest (status `audit_failed`) before failing.
            for e in report.exposures.iter().take(20) {
                warn!(
                    indicator = %e.indicator,
                    period = %e.period,
                    geo_code = e.geo_code,
                    group = %e.group,
                    placement = %e.placement,
                    count = %e.count,
                    range = ?e.range,
                    "audit: a withheld count's range is narrower than k"
                );
            }
            for r in report.rankings.iter().take(20) {
                warn!("audit: a published rank does not recompute from the published cells: {r}");
            }
            audit_failure = Some(Error::Internal(format!(
                "the disclosure audit of runs/{run_id} found {} ranges narrower than k and {} ranks that do not recompute; `current` was not switched",
                report.exposures.len(),
                report.rankings.len()
            )));
        } else {
            let mut basis = report::Basis::new(
                &data_version,
                settings.extract_date,
                checked
                    .extracts
                    .iter()
                    .map(|x| x.validated.counts.rows_accepted)
                    .sum(),
                checked
                    .extracts
                    .iter()
                    .map(|x| x.validated.counts.rows_rejected)
                    .sum(),
                k,
            );
            basis.parquet_metadata = dir.metadata.clone();
            basis.revised_periods = release_summary
                .as_ref()
                .map(|r| {
                    // Marked where figures changed, not where a revision found none.
                    r.revised
                        .iter()
                        .filter(|x| x.cells_changed > 0)
                        .map(|x| x.period.clone())
                        .collect()
                })
                .unwrap_or_default();
            let rendered = stages
                .time("reports", async {
                    let rendered =
                        report::render(&published, &rankings, &Codes::embedded()?, &basis)?;
                    crate::faults::point("reports");
                    Ok(rendered)
                })
                .await?;
            let pdfs = stages
                .time("pdf", async {
                    crate::faults::point("pdf");
                    Ok(report_pdfs(settings, &rendered))
                })
                .await?;
            let written = stages
                .time(
                    "bundles",
                    report::bundle::write_all(&dir, &rendered, pdfs, &basis),
                )
                .await?;
            outputs.extend(written);
        }
    }
    let manifest = Manifest {
        run_id: run_id.clone(),
        data_version: data_version.clone(),
        status: if !over.is_empty() {
            "rejected"
        } else if audit_failure.is_some() {
            "audit_failed"
        } else {
            "success"
        }
        .to_string(),
        exit_code: if !over.is_empty() {
            crate::error::ExitCode::InputRejected
        } else if audit_failure.is_some() {
            crate::error::ExitCode::Internal
        } else {
            crate::error::ExitCode::Success
        } as i32,
        skolegang_version: env!("CARGO_PKG_VERSION").to_string(),
        datafusion_version: datafusion::DATAFUSION_VERSION.to_string(),
        started_at: started.to_rfc3339(),
        finished_at: Utc::now().to_rfc3339(),
        input: settings.input.display.clone(),
        extract_date: settings.extract_date.to_string(),
        config: config_json,
        resources: crate::manifest::Resources {
            threads: settings.threads,
            memory_limit_bytes: settings.memory.limit,
            spill_dir: settings
                .memory
                .spill_dir
                .as_ref()
                .map(|p| p.display().to_string()),
        },
        inputs,
        outputs,
        stage_seconds: stages.seconds.clone(),
        stage_rows: stages.rows.clone(),
        peak_rss_bytes: crate::manifest::peak_rss_bytes(),
        disclosure: disclosure_summary,
        release: release_summary,
    };
    dir.put("manifest.json", manifest.to_json(), None).await?;
    crate::faults::point("manifest");
    if let Some(e) = audit_failure {
        return Err(e);
    }

    if !over.is_empty() {
        return Err(Error::InputRejected(format!(
            "the input was rejected; `current` was not switched; the quarantine is kept in runs/{run_id}/quarantine/\n  {}",
            over.join("\n  ")
        )));
    }
    dir.switch_current().await?;
    info!(run_id = %run_id, "current switched");
    match publish::prune_runs(output, settings.keep_runs).await {
        Ok(pruned) if !pruned.is_empty() => {
            info!(
                pruned = pruned.len(),
                keep = settings.keep_runs,
                "old runs deleted"
            )
        }
        Ok(_) => {}
        Err(e) => warn!("old runs not deleted: {e}"),
    }
    Ok(RunReport {
        run_id,
        unchanged: false,
        manifest: Some(manifest),
        headline,
    })
}

/// The PDF of every report, or `None` (with a warning saying why) when PDFs are off, no
/// Chromium is found, or the browser fails: a run does not fail for want of PDFs.
fn report_pdfs(settings: &Settings, rendered: &report::Rendered) -> Option<Vec<Vec<u8>>> {
    if !settings.pdf {
        info!("PDFs skipped (--no-pdf)");
        return None;
    }
    let Some(chromium) = report::pdf::find_chromium() else {
        warn!(
            "no Chromium found (looked for $SKOLEGANG_CHROMIUM, chromium, chromium-browser, google-chrome on PATH): the bundles have no rapport.pdf; install chromium or pass --no-pdf"
        );
        return None;
    };
    let print = || -> Result<Vec<Vec<u8>>> {
        let mut browser = report::pdf::Browser::launch(&chromium)?;
        rendered
            .kommuner
            .iter()
            .map(|k| {
                browser.print(
                    &k.html,
                    &format!("{} Kommune", k.name),
                    settings.extract_date,
                )
            })
            .collect()
    };
    match print() {
        Ok(pdfs) => Some(pdfs),
        Err(e) => {
            warn!("PDFs not made: {e}");
            None
        }
    }
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
