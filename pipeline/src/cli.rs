//! The command line: `skolegang run | validate | fixtures`. A thin layer: it resolves
//! arguments into settings, calls the stage functions and maps errors to exit codes.

use std::ffi::OsString;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, parse_date};
use crate::error::{Error, ExitCode, Result};
#[cfg(feature = "fixtures")]
use crate::fixtures;
use crate::logging::{self, LogFormat};
use crate::run::{self, Settings};
use crate::stages::disclose;
use crate::storage::store::Root;

/// The sample extracts committed under fixtures/sample (made by the command in
/// fixtures/sample/README.md), used when no --input is given.
pub const SAMPLE_INPUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/sample");
/// The committed sample's extract date (the default when no --input is given).
pub use crate::dates::SAMPLE_EXTRACT_DATE;

#[derive(Debug, Parser)]
#[command(
    name = "skolegang",
    version,
    about = "School outcomes of children in vulnerable positions, per kommune: the nightly batch.",
    long_about = "Skolegang reads six pseudonymised register extracts (Parquet), validates them \
against the data contract, quarantines bad rows and publishes disclosure-controlled \
indicators per kommune.\n\nExit codes: 0 success; 1 input rejected; 2 usage or \
configuration error; 3 I/O or internal error; 4 busy (another run holds the output's lock)."
)]
pub struct Cli {
    /// Log format on stderr: `text` for people, `json` (one object per line) for schedulers.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Only warnings and errors; no progress display and no summary.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// More detail in the logs (-v debug, -vv trace).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the nightly batch: read, validate, quarantine, write runs/<run-id>/ and switch `current`.
    Run(RunArgs),
    /// Validate the input only: print rows read, accepted and rejected by extract and
    /// reason; write nothing. Exit 0 when the input is acceptable, 1 when not.
    Validate(InputArgs),
    /// Generate synthetic register extracts (deterministic for a seed). Built with the
    /// cargo feature `fixtures` only (the tests, `make fixtures`, `make bench`).
    #[cfg(feature = "fixtures")]
    Fixtures(FixtureArgs),
    /// Attack the published indicators of the current run as an outsider would: the range
    /// of every withheld small count (and small nested difference) over all real
    /// solutions of the published tables, bounds, existence and nesting, by linear
    /// programming (HiGHS); and whether every published rank recomputes from the
    /// published cells. The ranges come from published/ alone; which counts are small
    /// from the run's private record (disclosure/cells.parquet). Exit 1 when a range is
    /// narrower than k or a rank does not recompute.
    Audit(AuditArgs),
    /// Write a new random project key (32 random bytes, hex) to FILE with mode 0600, for
    /// `run --restricted --project-key-file FILE`. Never overwrites.
    Keygen(KeygenArgs),
    /// SQL over the current run (DataFusion): tables `indicators` and `rankings`, and
    /// with --restricted `cohort_fp9`, `cohort_age` and `rankings_unsuppressed`.
    Query(QueryArgs),
    /// The data dictionary: every output table and column with its type, meaning and
    /// the specification section behind it (Markdown; docs/data-dictionary.md).
    Describe,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Output root (its `current` run is audited).
    #[arg(value_name = "OUTPUT")]
    pub output: String,
    #[command(flatten)]
    pub private: PrivateArgs,
    /// Audit this run instead of `current`.
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
    /// The threshold k; default: the k recorded in the files.
    #[arg(long)]
    pub k: Option<i64>,
    /// Attack the audited run together with this earlier release (a run id under the same
    /// output): every count that differs between the two by 1..k−1 must keep a range at
    /// least k wide.
    #[arg(long, value_name = "OLD_RUN")]
    pub against: Option<String>,
}

/// Where the private folders are, for `run`, `audit` and `query`.
#[derive(Debug, Args)]
pub struct PrivateArgs {
    /// Root of the runs' private folders (disclosure/, quarantine/, restricted/), as
    /// runs/<run-id>/<folder>/ below it. Default: inside each run folder (0700) on a
    /// local disk; `<output>-private` on an object store (docs/security.md).
    #[arg(long, value_name = "URL")]
    pub private_output: Option<String>,
}

impl PrivateArgs {
    /// The output root `output` with its private root.
    fn output_root(&self, output: &str) -> Result<Root> {
        Root::parse(output)?.with_private(self.private_output.as_deref())
    }
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The key file to create.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Output root whose `current` run is queried.
    #[arg(long, value_name = "URL", default_value = "./out")]
    pub output: String,
    #[command(flatten)]
    pub private: PrivateArgs,
    /// Also offer the restricted tables (the run must have been made with --restricted).
    #[arg(long)]
    pub restricted: bool,
    /// How to print the result: a readable table, CSV (a header line and rows), JSON
    /// lines, or Parquet (with --to).
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::query::Format,
    /// Write the result to this new file (mode 0600) instead of stdout; an existing
    /// file or link is never overwritten.
    #[arg(long, value_name = "FILE")]
    pub to: Option<PathBuf>,
    /// Memory for the query's operators (e.g. 2G, 500M; at least 64M); sorts and
    /// aggregates spill to disk beyond it, other operators fail the query. Default:
    /// half of the machine's (or container's) memory, as for `run`.
    #[arg(long, value_name = "SIZE", value_parser = crate::engine::session::parse_size)]
    pub memory_limit: Option<u64>,
    /// The most spill files a query may write (in the system's temporary folder).
    #[arg(long, value_name = "SIZE", value_parser = crate::engine::session::parse_size, default_value = "4G")]
    pub spill_limit: u64,
    /// Seconds the query may run before it is stopped.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::query::DEFAULT_SECONDS)]
    pub timeout: u64,
    /// The SQL, e.g. "SELECT count(*) FROM indicators". Queries only: DDL, DML
    /// (INSERT, COPY, …) and statements (SET, …) are refused.
    pub sql: String,
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// Input root: a folder or URL (file://, s3://, az://, gs://) holding persons/,
    /// residence/, enrolment/, exams/, measures/ and youth_education/.
    /// Default: the committed sample under fixtures/sample.
    #[arg(long, value_name = "URL")]
    pub input: Option<String>,
    /// Configuration file (TOML; see docs/configuration.md). Default: built-in defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The date the extracts were drawn (YYYY-MM-DD). Overrides `extract_date` in the
    /// configuration. Required unless configured, or the input is the sample.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date_arg)]
    pub extract_date: Option<NaiveDate>,
    /// Worker threads and DataFusion partitions, 1 to 4 × the machine's cores. Default:
    /// the machine's cores.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Memory for DataFusion's operators (e.g. 4G, 1500M; at least 64M); sorts and
    /// aggregates spill to disk beyond it, a hash join that does not fit fails the run.
    /// Default: half of the machine's (or container's) memory.
    #[arg(long, value_name = "SIZE", value_parser = crate::engine::session::parse_size)]
    pub memory_limit: Option<u64>,
    /// Folder for spill files. Default: <output>/.spill for a local output (removed
    /// after the run), else the system's temporary folder.
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output root: a folder or URL. Runs are written to <output>/runs/<run-id>/ and
    /// <output>/current points to the latest complete one.
    #[arg(long, value_name = "URL", default_value = "./out")]
    pub output: String,
    #[command(flatten)]
    pub private: PrivateArgs,
    /// Also write the person-level cohorts (restricted/cohort_fp9, restricted/cohort_age)
    /// for researchers with an approved project, pseudonymised with the project's key
    /// (needs --project-key-file). Never under published/.
    #[arg(long)]
    pub restricted: bool,
    /// The approved project's secret key (at least 32 bytes, 8 distinct values, readable
    /// by its owner only; `skolegang keygen FILE` makes one): person_id and
    /// deciding_measure_id in restricted/ become HMAC-SHA256(key, id) in hex.
    #[arg(long, value_name = "FILE")]
    pub project_key_file: Option<PathBuf>,
    /// Do not print the reports to PDF (by default they are, with headless Chromium,
    /// when it is installed).
    #[arg(long)]
    pub no_pdf: bool,
    /// Run even when the input files and configuration equal those of the run `current`
    /// points to (otherwise `run` says so and exits 0 without a new run).
    #[arg(long)]
    pub force: bool,
    /// How many run folders to keep under runs/ (the newest; `current` always stays).
    /// Older ones are deleted after a successful switch.
    #[arg(long, default_value_t = 7, value_name = "N")]
    pub keep_runs: usize,
    /// Republish a period of the current release from the current extracts (a
    /// revision; repeatable), e.g. `--revise 2021/2022`. Every released period is
    /// otherwise republished exactly as it was; a revision is protected jointly with the
    /// release it replaces: a count that changed by 1..k−1 is withheld and its range kept
    /// at least k wide. The three-year windows that hold a revised year are revised too.
    #[arg(long, value_name = "PERIOD")]
    pub revise: Vec<String>,
}

#[cfg(feature = "fixtures")]
#[derive(Debug, Args)]
pub struct FixtureArgs {
    /// Folder to write the six extracts into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Population size: 1.0 is a national population (about 60,000 per birth year).
    #[arg(long, default_value_t = 0.01)]
    pub scale: f64,
    /// Random seed; the same seed (and scale) gives byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Plant N rule-breaking rows for every validation rule of every extract, and
    /// write what was planted to <out>/planted.json.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub bad_rows: usize,
    /// The extract date the data is drawn as of.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date_arg, default_value = SAMPLE_EXTRACT_DATE)]
    pub extract_date: NaiveDate,
}

/// The smallest `--memory-limit` accepted.
const MIN_MEMORY_LIMIT: u64 = 64 << 20;

/// Whether two local folders are the same or one lies inside the other (lexically, after
/// resolving what exists of them).
fn nested(a: &std::path::Path, b: &std::path::Path) -> bool {
    let resolve = |p: &std::path::Path| -> PathBuf {
        let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        // Resolve the longest existing ancestor (symlinks), keep the rest as written.
        let mut existing = abs.clone();
        let mut rest = Vec::new();
        while !existing.exists() {
            match (
                existing.file_name().map(|n| n.to_os_string()),
                existing.parent(),
            ) {
                (Some(name), Some(parent)) => {
                    rest.push(name);
                    existing = parent.to_path_buf();
                }
                _ => break,
            }
        }
        let mut out = existing.canonicalize().unwrap_or(existing);
        for name in rest.into_iter().rev() {
            out.push(name);
        }
        out
    };
    let (a, b) = (resolve(a), resolve(b));
    a.starts_with(&b) || b.starts_with(&a)
}

fn parse_date_arg(s: &str) -> std::result::Result<NaiveDate, String> {
    parse_date(s).map_err(|e| e.to_string())
}

impl InputArgs {
    /// Resolves input, configuration and extract date into run settings.
    pub fn settings(&self) -> Result<Settings> {
        let config = match &self.config {
            Some(p) => Config::load(p)?,
            None => Config::default(),
        };
        let input_str = self
            .input
            .clone()
            .unwrap_or_else(|| SAMPLE_INPUT.to_string());
        let input = Root::parse(&input_str)?;
        let extract_date = match (self.extract_date, config.extract_date, &self.input) {
            (Some(d), _, _) => d,
            (None, Some(d), _) => d,
            (None, None, None) => parse_date(SAMPLE_EXTRACT_DATE)?,
            (None, None, Some(_)) => {
                return Err(Error::Config(
                    "no extract date: pass --extract-date YYYY-MM-DD or set extract_date in the configuration".into(),
                ));
            }
        };
        let mut config = config;
        config.extract_date = Some(extract_date);
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let threads = self.threads.unwrap_or(cores);
        if threads == 0 || threads > 4 * cores {
            return Err(Error::Config(format!(
                "--threads {threads}: allowed 1..{} (at most 4 × this machine's {cores} cores; more threads only cost memory)",
                4 * cores
            )));
        }
        let memory_limit = memory_limit(self.memory_limit)?;
        Ok(Settings {
            input,
            config,
            extract_date,
            threads,
            restricted: None,
            pdf: true,
            force: false,
            keep_runs: 7,
            revise: Vec::new(),
            memory: crate::engine::session::Memory {
                limit: memory_limit,
                spill_dir: self.spill_dir.clone(),
            },
        })
    }
}

/// `--memory-limit` as given (at least [`MIN_MEMORY_LIMIT`]), or the default: half of
/// the machine's (or container's) memory. `run` and `query` share it.
fn memory_limit(given: Option<u64>) -> Result<u64> {
    match given {
        Some(limit) if limit < MIN_MEMORY_LIMIT => Err(Error::Config(format!(
            "--memory-limit: {limit} bytes is below the minimum of 64M (DataFusion's operators cannot work in less)"
        ))),
        Some(limit) => Ok(limit),
        None => Ok(crate::engine::session::Memory::default().limit),
    }
}

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| Error::internal("starting the async runtime", e))
}

/// Runs one parsed command; returns what to print on stdout.
pub fn execute(cli: &Cli) -> Result<String> {
    // The indicator registry is compiled in; a broken one stops every command here, so
    // that the code after it may rely on it (registry::checked).
    crate::registry::registry()?;
    match &cli.command {
        Command::Run(args) => run_command(args),
        Command::Validate(args) => validate_command(args),
        Command::Audit(args) => audit_command(args),
        Command::Keygen(args) => keygen_command(args),
        Command::Describe => Ok(crate::dictionary::markdown()),
        Command::Query(args) => query_command(args),
        #[cfg(feature = "fixtures")]
        Command::Fixtures(args) => fixtures_command(args),
    }
}

/// `skolegang run`: the nightly batch; prints the run's accounting and headline.
fn run_command(args: &RunArgs) -> Result<String> {
    let restricted = match (args.restricted, &args.project_key_file) {
        (true, Some(file)) => Some(crate::pseudonym::ProjectKey::load(file)?),
        (true, None) => {
            return Err(Error::Config(
                "--restricted needs --project-key-file FILE: restricted files carry only per-project pseudonyms".into(),
            ));
        }
        (false, Some(_)) => {
            return Err(Error::Config(
                "--project-key-file is only used with --restricted".into(),
            ));
        }
        (false, None) => None,
    };
    let base = args.input.settings()?;
    // Revisions named on the command line and in the configuration.
    let mut revise = base.config.revise.clone();
    revise.extend(args.revise.iter().cloned());
    revise.sort();
    revise.dedup();
    let settings = Settings {
        restricted,
        pdf: !args.no_pdf,
        force: args.force,
        keep_runs: args.keep_runs,
        revise,
        ..base
    };
    let output = args.private.output_root(&args.output)?;
    if let (Some(i), Some(o)) = (&settings.input.local, &output.local)
        && nested(i, o)
    {
        return Err(Error::Config(format!(
            "--output {} and --input {} lie inside one another: a run would read its own output as input",
            output.display, settings.input.display
        )));
    }
    let started = std::time::Instant::now();
    crate::interrupt::install();
    let report = runtime(settings.threads)?.block_on(run::run(&settings, &output))?;
    log_summary(&report, started.elapsed().as_secs_f64());
    let Some(manifest) = &report.manifest else {
        return Ok(format!(
            "nothing changed since run {} (same input files and configuration): no new run; --force runs anyway\n",
            report.run_id
        ));
    };
    let mut out = format!(
        "run {} complete: {}/current\n",
        report.run_id, output.display
    );
    for (name, x) in &manifest.inputs {
        out.push_str(&format!(
            "  {name:<16} read {:>10}  accepted {:>10}  rejected {:>8}\n",
            x.counts.rows_read, x.counts.rows_accepted, x.counts.rows_rejected
        ));
    }
    if let Some(release) = &manifest.release {
        out.push_str(&format!("  {}\n", release.line()));
    }
    out.push_str(&report.headline);
    Ok(out)
}

/// `skolegang validate`: ingest and validation only; writes nothing.
fn validate_command(args: &InputArgs) -> Result<String> {
    let settings = args.settings()?;
    let checked = runtime(settings.threads)?.block_on(run::ingest_and_validate(&settings))?;
    let mut out = format!(
        "input {} (extract date {})\n{}",
        settings.input.display,
        settings.extract_date,
        run::summary_table(&checked.extracts)
    );
    let over = checked.over_limit(settings.config.max_rejected_share);
    if over.is_empty() {
        out.push_str("input acceptable\n");
        Ok(out)
    } else {
        print!("{out}");
        Err(Error::InputRejected(format!(
            "the reject limit was exceeded:\n  {}",
            over.join("\n  ")
        )))
    }
}

/// `skolegang audit`: the attacker's check of a written run.
fn audit_command(args: &AuditArgs) -> Result<String> {
    let root = args.private.output_root(&args.output)?;
    let rt = runtime(2)?;
    let against = args.against.as_deref();
    let (run, report) = match &args.run {
        Some(run) => (
            run.clone(),
            rt.block_on(disclose::audit::audit_run(&root, run, against, args.k))?,
        ),
        None => rt.block_on(disclose::audit::audit_current(&root, against, args.k))?,
    };
    let mut out = format!(
        "audit of run {run}{}: {} cells, {} withheld, k = {} ({:.1} s)\n",
        args.against
            .as_ref()
            .map(|a| format!(" against run {a}"))
            .unwrap_or_default(),
        report.cells,
        report.suppressed,
        report.k,
        report.seconds
    );
    for e in &report.exposures {
        let range = match e.range {
            Some((lo, hi)) => format!("in [{lo}, {hi}]"),
            None => "not certified k wide (too many linked counts to solve exactly)".into(),
        };
        out.push_str(&format!(
            "  narrower than k: {} {} geo {} {}/{}: {} {range}\n",
            e.indicator, e.period, e.geo_code, e.group, e.placement, e.count,
        ));
    }
    for r in &report.rankings {
        out.push_str(&format!("  rank does not recompute: {r}\n"));
    }
    if report.passed() {
        out.push_str("every withheld small count and small nested difference has a range at least k wide; every rank recomputes from the published cells\n");
        Ok(out)
    } else {
        print!("{out}");
        Err(Error::InputRejected(format!(
            "{} ranges narrower than k, {} ranks that do not recompute",
            report.exposures.len(),
            report.rankings.len()
        )))
    }
}

/// `skolegang keygen`: a new project key for the restricted tier.
fn keygen_command(args: &KeygenArgs) -> Result<String> {
    crate::pseudonym::ProjectKey::generate(&args.file)?;
    Ok(format!(
        "wrote a new project key to {} (mode 0600); keep it with the project's approval\n",
        args.file.display()
    ))
}

/// `skolegang query`: SQL over the current run, read-only and bounded; the result is
/// streamed to stdout or a new file.
fn query_command(args: &QueryArgs) -> Result<String> {
    use crate::query::{self, Format, Limits};
    if args.format == Format::Parquet && args.to.is_none() {
        return Err(Error::Config("--format parquet needs --to FILE".into()));
    }
    let limits = Limits {
        memory: memory_limit(args.memory_limit)?,
        spill: args.spill_limit,
        seconds: args.timeout.max(1),
        table_rows: query::TABLE_ROWS,
    };
    let root = args.private.output_root(&args.output)?;
    let rt = runtime(2)?;
    let done = query_on(&rt, &root, args, &limits);
    if done.is_err() {
        // A query stopped by --timeout may still have operators busy on the runtime's
        // threads: they are not waited for.
        rt.shutdown_background();
    }
    done
}

/// [`query_command`] on the runtime `rt`.
fn query_on(
    rt: &tokio::runtime::Runtime,
    root: &Root,
    args: &QueryArgs,
    limits: &crate::query::Limits,
) -> Result<String> {
    use crate::query;
    let (_, ctx) = rt.block_on(query::context(root, args.restricted, limits))?;
    match &args.to {
        Some(file) => {
            let mut f = query::create_result_file(file)?;
            let done = rt.block_on(query::run(&ctx, &args.sql, args.format, limits, &mut f));
            if done.is_err() {
                // The file is ours (created new, not through a link): no half result.
                drop(f);
                let _ = std::fs::remove_file(file);
            }
            done?;
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout());
            rt.block_on(query::run(&ctx, &args.sql, args.format, limits, &mut out))?;
        }
    }
    Ok(String::new())
}

/// `skolegang fixtures`: synthetic extracts.
#[cfg(feature = "fixtures")]
fn fixtures_command(args: &FixtureArgs) -> Result<String> {
    let opts = fixtures::Options {
        scale: args.scale,
        seed: args.seed,
        bad_rows: args.bad_rows,
        extract_date: args.extract_date,
    };
    let summary = fixtures::generate(&args.out, &opts)?;
    Ok(format!(
        "wrote {} rows to {}\n",
        summary.total_rows(),
        args.out.display()
    ))
}

/// The run's last log line, one line in `--log-format json` for schedulers: status,
/// exit code, run id, seconds, rows and cells. Counts only, nothing person-level. A
/// failed run's summary is logged by [`main_with`], after the error.
fn log_summary(report: &run::RunReport, seconds: f64) {
    let seconds = format!("{seconds:.3}");
    let Some(m) = &report.manifest else {
        tracing::info!(
            summary = true,
            status = "unchanged",
            exit_code = 0,
            run_id = %report.run_id,
            seconds,
            "run summary: nothing changed"
        );
        return;
    };
    let count = |f: fn(&crate::stages::validate::Counts) -> u64| -> u64 {
        m.inputs.values().map(|x| f(&x.counts)).sum()
    };
    let (cells, withheld) = m.disclosure.as_ref().map_or((0, 0), |d| {
        (
            d.cells,
            d.primary.values().sum::<u64>() + d.secondary.values().sum::<u64>(),
        )
    });
    tracing::info!(
        summary = true,
        status = %m.status,
        exit_code = m.exit_code,
        run_id = %m.run_id,
        data_version = %m.data_version,
        seconds,
        rows_read = count(|c| c.rows_read),
        rows_rejected = count(|c| c.rows_rejected),
        cells,
        cells_withheld = withheld,
        files = m.outputs.len(),
        peak_rss_bytes = m.peak_rss_bytes.unwrap_or(0),
        frozen_periods = m.release.as_ref().map_or(0, |r| r.frozen_periods),
        new_periods = m.release.as_ref().map_or(0, |r| r.new_periods.len()),
        drifted_cells = m.release.as_ref().map_or(0, |r| r.drift_cells()),
        "run summary"
    );
}

/// Parses `args`, runs the command, prints, and returns the process exit code.
pub fn main_with<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Success
            };
        }
    };
    crate::engine::machine::tune_allocator();
    crate::stages::ingest::damaged::install_panic_hook();
    logging::init(cli.log_format, cli.quiet, cli.verbose);
    let started = std::time::Instant::now();
    match execute(&cli) {
        Ok(out) => {
            if !cli.quiet
                || matches!(
                    cli.command,
                    Command::Validate(_)
                        | Command::Audit(_)
                        | Command::Keygen(_)
                        | Command::Describe
                        | Command::Query(_)
                )
            {
                print!("{out}");
            }
            ExitCode::Success
        }
        Err(e) => {
            tracing::error!(exit_code = e.exit_code() as i32, "{e}");
            if matches!(cli.command, Command::Run(_)) {
                tracing::info!(
                    summary = true,
                    status = "failed",
                    exit_code = e.exit_code() as i32,
                    seconds = format!("{:.3}", started.elapsed().as_secs_f64()),
                    "run summary: failed"
                );
            }
            if cli.log_format == LogFormat::Json || cli.quiet {
                // The JSON line (or the warn-level log) already carries it for machines;
                // people still get a plain line.
                eprintln!("skolegang: {e}");
            }
            e.exit_code()
        }
    }
}
