//! The error type of the pipeline and the process exit codes it maps to.
//!
//! Exit codes are part of the public interface (README, "Exit codes"):
//! 0 success, 1 input rejected, 2 usage or configuration error,
//! 3 I/O or internal error, 4 another run holds the output's lock.

use std::fmt;

/// Every failure the pipeline reports. Messages name the file, the column and the
/// rule, and never a person_id (at most a row's position in its file).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The input cannot be used: a fatal schema problem, an unreadable file, a missing
    /// extract, or too many rejected rows. Exit code 1.
    #[error("input rejected: {0}")]
    InputRejected(String),
    /// A schema problem in one file of an extract. Exit code 1.
    #[error("input rejected: {file}: column `{column}`: {rule}")]
    Schema {
        file: String,
        column: String,
        rule: String,
    },
    /// A bad command line or configuration file. Exit code 2.
    #[error("configuration error: {0}")]
    Config(String),
    /// Reading or writing storage failed. Exit code 3.
    #[error("I/O error: {0}")]
    Io(String),
    /// Another run holds the output's lock. Exit code 4.
    #[error("busy: {0}")]
    Locked(String),
    /// A broken invariant inside the pipeline: a bug. Exit code 3.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Process exit codes, as documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    InputRejected = 1,
    Usage = 2,
    Internal = 3,
    Busy = 4,
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::InputRejected(_) | Error::Schema { .. } => ExitCode::InputRejected,
            Error::Config(_) => ExitCode::Usage,
            Error::Io(_) | Error::Internal(_) => ExitCode::Internal,
            Error::Locked(_) => ExitCode::Busy,
        }
    }

    pub fn io(context: impl fmt::Display, err: impl fmt::Display) -> Self {
        Error::Io(format!("{context}: {err}"))
    }

    pub fn internal(context: impl fmt::Display, err: impl fmt::Display) -> Self {
        Error::Internal(format!("{context}: {err}"))
    }

    /// A failed query (`context` names its SQL file). Running out of the memory pool
    /// says so and names the flag that raises it; an input file that cannot be decoded
    /// while scanned ([`crate::stages::ingest::scan`]) is that file's error, as if found at ingest.
    pub fn query(context: impl fmt::Display, err: datafusion::error::DataFusionError) -> Self {
        if let datafusion::error::DataFusionError::External(inner) = err.find_root()
            && let Some(e) = inner.downcast_ref::<Error>()
        {
            return e.clone();
        }
        let exhausted = matches!(
            err.find_root(),
            datafusion::error::DataFusionError::ResourcesExhausted(_)
        ) || err.to_string().contains("Not enough memory");
        if exhausted {
            Error::Internal(format!(
                "{context}: out of memory within the memory limit; raise --memory-limit (default: half of the machine's memory): {err}"
            ))
        } else {
            Error::Internal(format!("{context}: {err}"))
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::error::DataFusionError;

    #[test]
    fn a_file_that_fails_while_scanned_is_that_files_error_not_the_querys() {
        let scanned = Error::InputRejected("exams/p.parquet: unreadable Parquet file".into());
        let err = DataFusionError::Context(
            "while joining".into(),
            Box::new(DataFusionError::External(Box::new(scanned))),
        );
        let e = Error::query("queries/validate/exams.sql", err);
        assert_eq!(e.exit_code(), ExitCode::InputRejected);
        assert_eq!(
            e.to_string(),
            "input rejected: exams/p.parquet: unreadable Parquet file"
        );
        let other = Error::query(
            "queries/validate/exams.sql",
            DataFusionError::Plan("no such column".into()),
        );
        assert_eq!(other.exit_code(), ExitCode::Internal);
        assert!(other.to_string().contains("queries/validate/exams.sql"));
    }
}
