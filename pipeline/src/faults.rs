//! Fault injection for the failure tests, chosen by the environment variable
//! `SKOLEGANG_FAULT` (unset in production: every function here is then a no-op).
//!
//! - `kill@<point>`: the process sends itself SIGKILL at the marked point `<point>`, as
//!   `kill -9` from a scheduler or the out-of-memory killer would. [`POINTS`] lists
//!   the points: one inside every stage of `run`, plus the switch of `current` and the
//!   pruning after it.
//! - `term@<point>`: the process sends itself SIGTERM at the marked point (as a scheduler
//!   stopping the job would) and waits a moment, so that the run is stopped there.
//! - `enospc@<prefix>`: writing any run file whose path (relative to the run folder)
//!   starts with `<prefix>` fails with "No space left on device", as a full output disk
//!   would.

/// The environment variable that chooses the fault.
pub const VAR: &str = "SKOLEGANG_FAULT";

use crate::stage::Stage;

/// Every marked point, in the order a run passes them: one inside every stage that
/// writes or decides (the fingerprint and the ranking write nothing).
pub const POINTS: &[Stage] = &[
    Stage::IngestValidate,
    Stage::Quarantine,
    Stage::Indicators,
    Stage::Disclose,
    Stage::Publish,
    Stage::Audit,
    Stage::Reports,
    Stage::Pdf,
    Stage::Bundles,
    Stage::Manifest,
    Stage::Switch,
    Stage::Prune,
];

fn fault() -> Option<String> {
    std::env::var(VAR).ok().filter(|v| !v.is_empty())
}

/// A marked point: kills the process here when `SKOLEGANG_FAULT=kill@<name>`.
pub fn point(stage: Stage) {
    debug_assert!(POINTS.contains(&stage), "unlisted fault point {stage}");
    let name = stage.name();
    if fault().is_some_and(|f| f.strip_prefix("kill@") == Some(name)) {
        crate::sys::signal_self(crate::sys::Signal::Kill);
        // Not reached: SIGKILL is delivered before kill() returns to a single target.
        std::process::abort();
    }
    if fault().is_some_and(|f| f.strip_prefix("term@") == Some(name)) {
        // The handler (interrupt.rs) sets a flag.
        crate::sys::signal_self(crate::sys::Signal::Term);
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

/// The injected write error for a run file at `relative`, if one is chosen.
pub fn write_error(relative: &str) -> Option<std::io::Error> {
    let f = fault()?;
    let prefix = f.strip_prefix("enospc@")?;
    relative
        .starts_with(prefix)
        .then(|| std::io::Error::from_raw_os_error(libc::ENOSPC))
}
