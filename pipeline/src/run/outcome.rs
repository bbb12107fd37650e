//! How a run ends, decided once: its status in the manifest, its exit code, and the
//! error it returns.

use crate::error::{Error, ExitCode};

/// How a run that wrote its manifest ends.
#[derive(Debug)]
pub enum Outcome {
    /// Everything published: `current` is switched to the run.
    Published,
    /// An extract over the reject limit, or nothing to publish: one line per reason.
    /// The run folder (quarantine and manifest) is kept; `current` is not switched.
    Rejected(Vec<String>),
    /// The disclosure audit found a range narrower than k or a rank that does not
    /// recompute (the message says how many); `current` is not switched.
    AuditFailed(String),
}

impl Outcome {
    /// `status` in the run's manifest.
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Published => "success",
            Outcome::Rejected(_) => "rejected",
            Outcome::AuditFailed(_) => "audit_failed",
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Outcome::Published => ExitCode::Success,
            Outcome::Rejected(_) => ExitCode::InputRejected,
            Outcome::AuditFailed(_) => ExitCode::Internal,
        }
    }

    /// The error of a run that was not published.
    pub fn error(&self, run_id: &str) -> Option<Error> {
        match self {
            Outcome::Published => None,
            Outcome::Rejected(lines) => Some(Error::InputRejected(format!(
                "the input was rejected; `current` was not switched; the quarantine is kept in runs/{run_id}/quarantine/\n  {}",
                lines.join("\n  ")
            ))),
            Outcome::AuditFailed(message) => Some(Error::Internal(message.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_has_one_status_exit_code_and_error() {
        let rejected = Outcome::Rejected(vec!["exams: 5 of 10 rows rejected".into()]);
        assert_eq!(rejected.status(), "rejected");
        assert_eq!(rejected.exit_code(), ExitCode::InputRejected);
        let e = rejected.error("r1").expect("an error");
        assert_eq!(e.exit_code(), ExitCode::InputRejected);
        assert!(e.to_string().contains("runs/r1/quarantine/") && e.to_string().contains("exams"));
        let failed = Outcome::AuditFailed("2 ranges narrower than k".into());
        assert_eq!(
            (failed.status(), failed.exit_code()),
            ("audit_failed", ExitCode::Internal)
        );
        assert_eq!(
            failed.error("r1").map(|e| e.exit_code()),
            Some(ExitCode::Internal)
        );
        assert_eq!(Outcome::Published.status(), "success");
        assert!(Outcome::Published.error("r1").is_none());
    }
}
