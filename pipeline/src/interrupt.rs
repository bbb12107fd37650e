//! SIGTERM and SIGINT end a run like a failure: the run stops, its unfinished folder and
//! the `.spill` folder are cleaned up, the lock is released, and the failed summary line
//! is logged (exit 3). `current` is never touched: it still points to the last complete
//! run. The signal handler only sets a flag (async-signal-safe); a watcher thread turns
//! it into the end of the run's future.

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    RECEIVED.store(signal, Ordering::SeqCst);
}

/// Installs the handler for SIGTERM and SIGINT (once per process).
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // The handler only stores into an atomic, which is async-signal-safe.
    ONCE.call_once(|| crate::sys::on_termination(on_signal));
}

/// The name of the signal received so far, if any.
pub fn received() -> Option<&'static str> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(
            crate::sys::TERMINATION
                .iter()
                .find(|(signal, _)| *signal == s)
                .map_or("a signal", |(_, name)| name),
        ),
    }
}

/// A future that ends when a signal has been received: its name.
pub fn signalled() -> futures::channel::oneshot::Receiver<&'static str> {
    let (tx, rx) = futures::channel::oneshot::channel();
    std::thread::spawn(move || {
        loop {
            if let Some(name) = received() {
                let _ = tx.send(name);
                return;
            }
            if tx.is_canceled() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    });
    rx
}
