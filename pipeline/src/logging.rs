//! Logs and progress. Text logs go to stderr; `--log-format json` writes one JSON
//! object per line for schedulers. On a terminal (and not `--quiet`), every running
//! stage shows a spinner. No log line carries a person_id.

use tracing_indicatif::IndicatifLayer;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber. `RUST_LOG` overrides the level when set.
pub fn init(format: LogFormat, quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("skolegang={level},warn")));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Text if !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) => {
            let progress = IndicatifLayer::new();
            registry
                .with(tracing_subscriber::fmt::layer().with_writer(progress.get_stderr_writer()))
                .with(progress)
                .try_init()
        }
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    // A second init (tests calling the CLI twice) keeps the first subscriber.
    let _ = result;
}
