//! The stages after validation, one function each, in the order `run` calls them:
//! [`indicators`], [`disclose`], [`rankings`], [`publish`], [`audit`], [`reports`]
//! (with the PDFs and bundles), [`manifest`] and [`finish`] (switch `current`, prune).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use tracing::{info, warn};

use super::outcome::Outcome;
use super::timing::rows_written;
use super::{Checked, RunReport, Settings, Stages};
use crate::codes::Codes;
use crate::error::Result;
use crate::manifest::{ExtractInput, Manifest};
use crate::stage::Stage;
use crate::stages::disclose;
use crate::stages::indicators::{self, Computed};
use crate::stages::report;
use crate::storage::runs::{self, OutputFile, RunDir};
use crate::storage::store::Root;

/// What every stage after validation needs: the settings, the run's identity and its
/// folder.
pub struct Run<'a> {
    pub settings: &'a Settings,
    pub output: &'a Root,
    pub started: DateTime<Utc>,
    pub run_id: String,
    pub data_version: String,
    pub config_json: serde_json::Value,
    pub k: i64,
    pub inputs: BTreeMap<String, ExtractInput>,
    pub dir: RunDir,
}

impl<'a> Run<'a> {
    /// A new run folder for the checked input.
    pub fn new(
        settings: &'a Settings,
        output: &'a Root,
        checked: &Checked,
        started: DateTime<Utc>,
    ) -> Run<'a> {
        let inputs: BTreeMap<String, ExtractInput> = checked
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
        let run_id = runs::new_run_id(started);
        let dir = RunDir::new(
            output.clone(),
            run_id.clone(),
            runs::file_metadata(&data_version, settings.extract_date, k, &config_json),
        );
        info!(run_id = %run_id, output = %output.display, "writing run");
        Run {
            settings,
            output,
            started,
            run_id,
            data_version,
            config_json,
            k,
            inputs,
            dir,
        }
    }
}

/// The line of a run that computed no cell at all.
pub const NO_CELLS: &str = "no indicator cells: no accepted person falls in a period computed at this extract date (is every row rejected, or the extract date wrong?)";

/// Derives the cohorts and computes every cell. The person-level cohorts are kept only
/// when the restricted tier is written (they are its only reader): otherwise they are
/// freed here, before disclosure control and the audit need their memory.
pub async fn indicators(stages: &mut Stages, run: &Run<'_>, checked: &Checked) -> Result<Computed> {
    let settings = run.settings;
    stages
        .time_rows(
            Stage::Indicators,
            async {
                let mut computed = indicators::compute(
                    &checked.ctx,
                    &settings.config,
                    settings.extract_date,
                    settings.threads,
                )
                .await?;
                if settings.restricted.is_none() {
                    computed.cohorts = Vec::new();
                }
                crate::sys::trim_free_memory();
                crate::faults::point(Stage::Indicators);
                Ok(computed)
            },
            |c| Some(c.cells.num_rows() as u64),
        )
        .await
}

/// The cells as published, and what disclosure control and the release handling say
/// about them.
pub struct Protected {
    pub published: RecordBatch,
    pub summary: disclose::Summary,
    /// The statistician's private record (`disclosure/cells.parquet`).
    pub record: RecordBatch,
    pub release: crate::stages::disclose::release::Summary,
}

/// Periods the current release published are frozen (methodology.md, "Releases"):
/// copied forward as released, and facts for protecting the new ones.
pub async fn disclose(
    stages: &mut Stages,
    run: &Run<'_>,
    computed: &Computed,
) -> Result<Protected> {
    let (settings, k) = (run.settings, run.k);
    stages
        .time_rows(
            Stage::Disclose,
            async {
                let codes = Codes::embedded()?;
                let (previous, new_series) =
                    crate::stages::disclose::release::previous(run.output, &run.config_json)
                        .await?;
                let mut plan = crate::stages::disclose::release::plan(
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
                    codes,
                    settings.threads,
                )?;
                crate::faults::point(Stage::Disclose);
                let summary = disclose::summary(&plan.cells, k, Some(stats));
                let (published, record) =
                    crate::stages::disclose::release::assemble(&plan, previous.as_ref())?;
                crate::stages::disclose::release::log(&plan.summary);
                Ok(Protected {
                    published,
                    summary,
                    record,
                    release: plan.summary,
                })
            },
            |p| Some(p.published.num_rows() as u64),
        )
        .await
}

/// The ranking from the published cells only, and (for the restricted tier, when asked
/// for) the one from every cell unsuppressed.
pub struct Rankings {
    pub published: RecordBatch,
    pub restricted: Option<RecordBatch>,
}

pub async fn rankings(
    stages: &mut Stages,
    run: &Run<'_>,
    computed: &Computed,
    protected: &Protected,
) -> Result<Rankings> {
    stages
        .time_rows(
            Stage::Rankings,
            async {
                let published =
                    crate::stages::rankings::rank(std::slice::from_ref(&protected.published))
                        .await?;
                let restricted = match &run.settings.restricted {
                    Some(_) => {
                        let all = disclose::batch::apply(
                            &computed.cells,
                            &disclose::batch::cells_from_batch(
                                &computed.cells,
                                "the computed cells",
                                None,
                            )?,
                            &indicators::published_schema(),
                        )?;
                        Some(crate::stages::rankings::rank(std::slice::from_ref(&all)).await?)
                    }
                    None => None,
                };
                Ok(Rankings {
                    published,
                    restricted,
                })
            },
            |r| Some(r.published.num_rows() as u64),
        )
        .await
}

/// Writes the published tables, the private record and (when asked for) the
/// restricted tier.
pub async fn publish(
    stages: &mut Stages,
    run: &Run<'_>,
    computed: &Computed,
    protected: &Protected,
    rankings: &Rankings,
) -> Result<Vec<OutputFile>> {
    let dir = &run.dir;
    stages
        .time_rows(
            Stage::Publish,
            async {
                let mut written = indicators::write_cells(dir, &protected.published).await?;
                crate::faults::point(Stage::Publish);
                let r = &rankings.published;
                written.push(
                    dir.put_parquet(
                        "published/rankings/part-0.parquet",
                        r.schema(),
                        std::slice::from_ref(r),
                    )
                    .await?,
                );
                let record = &protected.record;
                written.push(
                    dir.put_parquet(
                        disclose::record::PATH,
                        record.schema(),
                        std::slice::from_ref(record),
                    )
                    .await?,
                );
                if let Some(key) = &run.settings.restricted {
                    // One cohort at a time: pseudonymised, then sorted by its key (so
                    // by the pseudonyms, not the register ids).
                    for ((name, keys), rows) in indicators::COHORTS.iter().zip(&computed.cohorts) {
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
                    if let Some(r) = &rankings.restricted {
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
        .await
}

/// The attacker's check, on the files as written: `Some(message)` when a range is
/// narrower than k or a rank does not recompute (each logged), and the run must not
/// be published.
pub async fn audit(stages: &mut Stages, run: &Run<'_>) -> Result<Option<String>> {
    let report = stages
        .time_rows(
            Stage::Audit,
            async {
                let report =
                    disclose::audit::audit_run(run.output, &run.run_id, None, None).await?;
                crate::faults::point(Stage::Audit);
                Ok(report)
            },
            |r| Some(r.cells as u64),
        )
        .await?;
    if report.passed() {
        return Ok(None);
    }
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
    Ok(Some(format!(
        "the disclosure audit of runs/{} found {} ranges narrower than k and {} ranks that do not recompute; `current` was not switched",
        run.run_id,
        report.exposures.len(),
        report.rankings.len()
    )))
}

/// Renders the reports, prints them to PDF and writes the kommune bundles.
pub async fn reports(
    stages: &mut Stages,
    run: &Run<'_>,
    checked: &Checked,
    protected: &Protected,
    rankings: &Rankings,
) -> Result<Vec<OutputFile>> {
    let settings = run.settings;
    let mut basis = report::Basis::new(
        &run.data_version,
        settings.extract_date,
        checked.total(|c| c.rows_accepted),
        checked.total(|c| c.rows_rejected),
        run.k,
    )
    .published_by(&settings.config.report);
    basis.parquet_metadata = run.dir.metadata.clone();
    // Marked where figures changed, not where a revision found none.
    basis.revised_periods = protected
        .release
        .revised
        .iter()
        .filter(|x| x.cells_changed > 0)
        .map(|x| x.period.clone())
        .collect();
    let rendered = stages
        .time(Stage::Reports, async {
            let rendered = report::render(
                &protected.published,
                &rankings.published,
                Codes::embedded()?,
                &basis,
            )?;
            crate::faults::point(Stage::Reports);
            Ok(rendered)
        })
        .await?;
    let pdfs = stages
        .time(Stage::Pdf, async {
            crate::faults::point(Stage::Pdf);
            Ok(report_pdfs(settings, &rendered, &basis))
        })
        .await?;
    stages
        .time(
            Stage::Bundles,
            report::bundle::write_all(&run.dir, &rendered, pdfs, &basis),
        )
        .await
}

/// Writes the run's manifest: what was read, decided and written, and how it ended.
pub async fn manifest(
    run: &Run<'_>,
    outcome: &Outcome,
    stages: &Stages,
    outputs: Vec<OutputFile>,
    protected: Option<Protected>,
) -> Result<Manifest> {
    let settings = run.settings;
    let (disclosure, release) =
        protected.map_or((None, None), |p| (Some(p.summary), Some(p.release)));
    let manifest = Manifest {
        run_id: run.run_id.clone(),
        data_version: run.data_version.clone(),
        status: outcome.status().to_string(),
        exit_code: outcome.exit_code() as i32,
        skolegang_version: env!("CARGO_PKG_VERSION").to_string(),
        datafusion_version: datafusion::DATAFUSION_VERSION.to_string(),
        started_at: run.started.to_rfc3339(),
        finished_at: Utc::now().to_rfc3339(),
        input: settings.input.display.clone(),
        extract_date: settings.extract_date.to_string(),
        config: run.config_json.clone(),
        resources: crate::manifest::Resources {
            threads: settings.threads,
            memory_limit_bytes: settings.memory.limit,
            spill_dir: settings
                .memory
                .spill_dir
                .as_ref()
                .map(|p| p.display().to_string()),
        },
        inputs: run.inputs.clone(),
        outputs,
        stage_seconds: stages.seconds.clone(),
        stage_rows: stages.rows.clone(),
        peak_rss_bytes: crate::engine::machine::peak_rss_bytes(),
        disclosure,
        release,
    };
    run.dir
        .put("manifest.json", manifest.to_json(), None)
        .await?;
    crate::faults::point(Stage::Manifest);
    Ok(manifest)
}

/// Ends the run as its outcome says: an error, or `current` switched to it and the
/// oldest runs pruned.
pub async fn finish(
    run: Run<'_>,
    outcome: Outcome,
    manifest: Manifest,
    headline: String,
) -> Result<RunReport> {
    if let Some(e) = outcome.error(&run.run_id) {
        return Err(e);
    }
    run.dir.switch_current().await?;
    info!(run_id = %run.run_id, "current switched");
    let keep = run.settings.keep_runs;
    match runs::prune_runs(run.output, keep).await {
        Ok(pruned) if !pruned.is_empty() => {
            info!(pruned = pruned.len(), keep, "old runs deleted")
        }
        Ok(_) => {}
        Err(e) => warn!("old runs not deleted: {e}"),
    }
    Ok(RunReport {
        run_id: run.run_id,
        unchanged: false,
        manifest: Some(manifest),
        headline,
    })
}

/// The PDF of every report, or `None` (with a warning saying why) when PDFs are off, no
/// Chromium is found, or the browser fails: a run does not fail for want of PDFs.
fn report_pdfs(
    settings: &Settings,
    rendered: &report::Rendered,
    basis: &report::Basis,
) -> Option<Vec<Vec<u8>>> {
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
                let note = basis.footer_note();
                browser.print(
                    &k.html,
                    (&k.official_name, &basis.sender),
                    &note,
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
