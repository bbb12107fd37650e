//! Stage timings and row counts: recorded in the manifest (`stage_seconds`,
//! `stage_rows`) and logged at info level.

use std::time::Instant;

use tracing::{info, info_span};

use crate::error::Result;
use crate::stage::Stage;
use crate::storage::runs::OutputFile;

/// Stage timings and row counts, recorded in the manifest and logged at info level
/// (`stage started`, `stage finished` with `seconds` and, for stages that make rows,
/// `rows`).
#[derive(Debug, Default)]
pub struct Stages {
    pub seconds: Vec<(String, f64)>,
    pub rows: Vec<(String, u64)>,
}

impl Stages {
    /// Runs `stage`, timing it.
    pub async fn time<T, F: std::future::Future<Output = Result<T>>>(
        &mut self,
        stage: Stage,
        f: F,
    ) -> Result<T> {
        self.time_rows(stage, f, |_| None).await
    }

    /// Runs `stage`, timing it and counting the rows it made with `rows`.
    pub async fn time_rows<T, F: std::future::Future<Output = Result<T>>>(
        &mut self,
        stage: Stage,
        f: F,
        rows: impl Fn(&T) -> Option<u64>,
    ) -> Result<T> {
        let name = stage.name();
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

/// The rows of the files a stage wrote.
pub fn rows_written(files: &[OutputFile]) -> Option<u64> {
    Some(files.iter().filter_map(|f| f.rows).sum())
}
