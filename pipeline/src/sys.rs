//! Every call into the C library, behind safe functions: this is the only module with
//! `unsafe` (the crate denies it elsewhere). Each block says why it is sound.

#![allow(unsafe_code)]

use std::os::fd::RawFd;
use std::process::Command;

/// This machine's host name, if the system gives one.
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..end]).into_owned())
}

/// Whether a process with this pid exists (ours or another user's).
pub fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// A signal this process sends itself (the fault injection of tests).
#[derive(Debug, Clone, Copy)]
pub enum Signal {
    Kill,
    Term,
}

/// Sends `signal` to this process.
pub fn signal_self(signal: Signal) {
    let signal = match signal {
        Signal::Kill => libc::SIGKILL,
        Signal::Term => libc::SIGTERM,
    };
    // SAFETY: sends a signal to this process; SIGKILL cannot be caught, and SIGTERM's
    // handler (interrupt.rs) only stores into an atomic.
    unsafe {
        libc::kill(libc::getpid(), signal);
    }
}

/// The signals that end a run like a failure.
pub const TERMINATION: [(libc::c_int, &str); 2] =
    [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")];

/// Installs `handler` for SIGTERM and SIGINT. The handler must be async-signal-safe
/// (interrupt.rs's only stores into an atomic).
pub fn on_termination(handler: extern "C" fn(libc::c_int)) {
    for (signal, _) in TERMINATION {
        // SAFETY: installing a handler is sound; what the handler does is its caller's
        // promise above.
        unsafe {
            libc::signal(signal, handler as *const () as libc::sighandler_t);
        }
    }
}

/// Makes glibc's allocator give large freed buffers back to the system: allocations of
/// 1 MiB or more are mapped on their own (docs/performance.md). Elsewhere a no-op.
pub fn map_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter, and is thread-safe.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Gives the memory freed so far back to the system (glibc's `malloc_trim`): the
/// freed chunks of the query threads' arenas stay mapped otherwise, and count in the
/// peak of the stages after them (docs/performance.md). Elsewhere a no-op.
pub fn trim_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's arenas, and is
    // thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Sets up `cmd` so that the child finds `read` as fd 3 and `write` as fd 4 (Chromium's
/// `--remote-debugging-pipe`), and is killed when the thread that started it dies (a
/// browser outliving a killed run would hold memory forever).
pub fn child_with_pipe_fds(cmd: &mut Command, read: RawFd, write: RawFd) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls (fcntl, dup2, prctl) between fork and exec.
    // The pipe ends are first duplicated above fd 10 so that placing them at 3 and 4
    // cannot overwrite one with the other, and dup2 clears close-on-exec.
    unsafe {
        cmd.pre_exec(move || {
            let r2 = libc::fcntl(read, libc::F_DUPFD, 10);
            let w2 = libc::fcntl(write, libc::F_DUPFD, 10);
            if r2 < 0 || w2 < 0 || libc::dup2(r2, 3) < 0 || libc::dup2(w2, 4) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            #[cfg(target_os = "linux")]
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Whether this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    // SAFETY: geteuid takes no arguments, cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() == 0 }
}
