//! Damaged files must not crash the run: a panic inside arrow or parquet while a file's
//! footer or pages are read (a flipped byte can make their decoders index out of
//! bounds) becomes an input error that names the file (exit 1), like any unreadable
//! file. [`guarded`] runs such a read; the panic hook ([`install_panic_hook`]) keeps a
//! guarded panic out of stderr (it is logged at debug level and reported as the error),
//! and leaves every other panic to the default hook.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::{Error, Result};

thread_local! {
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `read` (a read of the file `file`), turning a panic into an input error naming
/// the file.
pub fn guarded<T>(file: &str, read: impl FnOnce() -> T) -> Result<T> {
    let was = GUARDED.with(|g| g.replace(true));
    let done = catch_unwind(AssertUnwindSafe(read));
    GUARDED.with(|g| g.set(was));
    done.map_err(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a decoder failed".to_string());
        Error::InputRejected(format!("{file}: unreadable Parquet file: damaged ({why})"))
    })
}

/// Installs the panic hook: a panic inside [`guarded`] is logged at debug level only.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(|g| g.get()) {
                tracing::debug!(panic = %info, "a damaged file made a decoder panic");
            } else {
                default(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_naming_the_file() {
        let err = guarded("exams/part-1.parquet", || -> u8 {
            let v: Vec<u8> = Vec::new();
            v[usize::from(std::hint::black_box(3u8))]
        })
        .expect_err("an error");
        let msg = err.to_string();
        assert!(msg.contains("exams/part-1.parquet"), "{msg}");
        assert_eq!(err.exit_code(), crate::error::ExitCode::InputRejected);
        assert_eq!(guarded("f", || 7).expect("no panic"), 7);
    }
}
