//! One run at a time: `run.lock` under the output root, created atomically (an exclusive
//! create on a local disk, a conditional put on object stores). It names the process
//! holding it. A lock whose process is gone (same host, no such pid) is stale: it is
//! taken over with a warning, conditionally (removed only while it is still the stale
//! one, then created exclusively). The lock is removed when the run ends, however it
//! ends, and only if it is still this run's.

use bytes::Bytes;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::error::{Error, Result};
use crate::storage::store::Root;
use crate::sys::process_exists;

pub const LOCK_NAME: &str = "run.lock";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Holder {
    pid: u32,
    host: String,
    started_at: String,
    /// When the holding process started (Linux: clock ticks since boot, from
    /// /proc/<pid>/stat), so that a pid used again by another process (in a container
    /// every run is pid 1) is not taken for the holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    process_start: Option<u64>,
}

/// When process `pid` started (clock ticks since boot), where /proc says.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: fields after
    // the last ')' start at field 3; the start time is field 22.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether a lock's holder is gone: on this host, and its pid is not a live process, or
/// is a live process that started at another time than the holder (a pid used again).
fn stale(h: &Holder, this_host: &str) -> bool {
    h.host == this_host
        && (!process_exists(h.pid)
            || matches!((h.process_start, process_start(h.pid)), (Some(then), Some(now)) if then != now))
}

/// Whether the lock at `path` holds exactly `body` (an unreadable or missing lock does
/// not): the check before a lock is removed, so that only the lock read is.
async fn holds(store: &dyn ObjectStore, path: &object_store::path::Path, body: &[u8]) -> bool {
    match store.get(path).await {
        Ok(r) => r.bytes().await.is_ok_and(|b| b.as_ref() == body),
        Err(_) => false,
    }
}

fn host() -> String {
    crate::sys::hostname().unwrap_or_else(|| "unknown".to_string())
}

/// The held lock; released on drop.
#[derive(Debug)]
pub struct RunLock {
    root: Root,
    /// A local output folder that did not exist before the lock: removed again on
    /// release when nothing else was written (a fatal input error writes nothing).
    created_root: bool,
    released: bool,
    /// What this run wrote into the lock: only a lock with these bytes is removed (a
    /// lock another run holds now is never deleted).
    body: Vec<u8>,
}

impl RunLock {
    pub async fn acquire(root: &Root) -> Result<RunLock> {
        let created_root = root.local.as_ref().is_some_and(|dir| !dir.exists());
        if let (true, Some(dir)) = (created_root, &root.local) {
            // The output root holds the published release: created 0755 on purpose,
            // whatever the umask (docs/security.md); an existing one keeps its mode.
            crate::storage::runs::output_root(dir, crate::storage::runs::PUBLIC_DIR_MODE)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        let path = root.child(LOCK_NAME);
        let me = Holder {
            pid: std::process::id(),
            host: host(),
            started_at: chrono::Utc::now().to_rfc3339(),
            process_start: process_start(std::process::id()),
        };
        let body = serde_json::to_vec(&me).map_err(|e| Error::internal("run.lock", e))?;
        let create = |mode: PutMode| {
            root.store.put_opts(
                &path,
                PutPayload::from(Bytes::from(body.clone())),
                PutOptions::from(mode),
            )
        };
        match create(PutMode::Create).await {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. }) => {
                let held = root
                    .store
                    .get(&path)
                    .await
                    .map_err(|e| Error::io(format!("reading {}/{LOCK_NAME}", root.display), e))?
                    .bytes()
                    .await
                    .map_err(|e| Error::io(format!("reading {}/{LOCK_NAME}", root.display), e))?;
                let holder: Option<Holder> = serde_json::from_slice(&held).ok();
                match holder {
                    Some(h) if stale(&h, &me.host) => {
                        warn!(
                            pid = h.pid,
                            started_at = %h.started_at,
                            "taking over a stale {LOCK_NAME}: its process is gone (or its pid belongs to another process now)"
                        );
                        // Conditionally: the stale lock is removed only if it is still
                        // the one read, and the new one is created exclusively, so two
                        // runs taking over at once cannot both hold it (the loser finds
                        // the winner's lock).
                        if holds(root.store.as_ref(), &path, &held).await {
                            let _ = root.store.delete(&path).await;
                        }
                        match create(PutMode::Create).await {
                            Ok(_) => {}
                            Err(object_store::Error::AlreadyExists { .. }) => {
                                return Err(Error::Locked(format!(
                                    "{}/{LOCK_NAME} was taken over by another run at the same moment; one run at a time",
                                    root.display
                                )));
                            }
                            Err(e) => return Err(Error::io(format!("writing {LOCK_NAME}"), e)),
                        }
                    }
                    Some(h) => {
                        return Err(Error::Locked(format!(
                            "another run holds {}/{LOCK_NAME} (pid {} on {}, started {}); one run at a time",
                            root.display, h.pid, h.host, h.started_at
                        )));
                    }
                    None => {
                        return Err(Error::Locked(format!(
                            "{}/{LOCK_NAME} exists and is unreadable; remove it if no run is going on",
                            root.display
                        )));
                    }
                }
            }
            Err(e) => return Err(Error::io(format!("creating {LOCK_NAME}"), e)),
        }
        Ok(RunLock {
            root: root.clone(),
            created_root,
            released: false,
            body,
        })
    }
}

impl RunLock {
    /// Releases the lock, waiting for an object store's delete to finish (dropping the
    /// lock can only start that delete).
    pub async fn release(mut self) {
        if self.root.local.is_none() {
            let path = self.root.child(LOCK_NAME);
            if !holds(self.root.store.as_ref(), &path, &self.body).await {
                warn!("{LOCK_NAME} is not this run's any more: left alone");
            } else if let Err(e) = self.root.store.delete(&path).await {
                warn!("{LOCK_NAME} not removed: {e}");
            }
            self.released = true;
        }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        match &self.root.local {
            Some(dir) => {
                let lock = dir.join(LOCK_NAME);
                if std::fs::read(&lock).is_ok_and(|b| b == self.body) {
                    let _ = std::fs::remove_file(&lock);
                }
                if self.created_root {
                    // Only succeeds when the folder is empty.
                    let _ = std::fs::remove_dir(dir);
                }
            }
            None => {
                let store = std::sync::Arc::clone(&self.root.store);
                let path = self.root.child(LOCK_NAME);
                let body = self.body.clone();
                if let Ok(handle) = tokio::runtime::Handle::try_current() {
                    handle.spawn(async move {
                        if holds(store.as_ref(), &path, &body).await {
                            let _ = store.delete(&path).await;
                        }
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_dead_pid_is_not() {
        assert!(process_exists(std::process::id()));
        // A child that has exited and been reaped: `kill(pid, 0)` says ESRCH.
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let pid = child.id();
        child.wait().expect("wait");
        assert!(!process_exists(pid));
        // A number no pid_t can hold is no process either.
        assert!(!process_exists(u32::MAX - 7));
        assert!(!host().is_empty());
    }

    #[test]
    fn a_lock_naming_a_pid_used_again_is_stale() {
        let me = std::process::id();
        let now = process_start(me).expect("this process's start time");
        let holder = |pid: u32, process_start: Option<u64>| Holder {
            pid,
            host: host(),
            started_at: "2026-11-22T01:00:00Z".into(),
            process_start,
        };
        // This very process: live.
        assert!(!stale(&holder(me, Some(now)), &host()));
        // Without a start time (an older lock), a live pid is taken for the holder.
        assert!(!stale(&holder(me, None), &host()));
        // The same pid, started at another time: the holder is gone (pid 1 in a
        // container after a kill -9).
        assert!(stale(&holder(me, Some(now + 1)), &host()));
        // A pid nobody has: gone.
        assert!(stale(&holder(u32::MAX - 7, None), &host()));
        // Another host's lock is never taken over.
        assert!(!stale(&holder(u32::MAX - 7, None), "another-host"));
    }

    #[test]
    fn a_run_removes_only_its_own_lock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Root::parse(dir.path().to_str().expect("utf8")).expect("root");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let lock_file = dir.path().join(LOCK_NAME);
        // Released normally: the lock is gone.
        let lock = rt.block_on(RunLock::acquire(&root)).expect("lock");
        drop(lock);
        assert!(!lock_file.exists());
        // Taken over meanwhile by another run (its own content): left alone.
        let lock = rt.block_on(RunLock::acquire(&root)).expect("lock");
        let other = br#"{"pid":1,"host":"elsewhere","started_at":"2026-12-07T00:00:00Z"}"#;
        std::fs::write(&lock_file, other).expect("another run's lock");
        drop(lock);
        assert_eq!(
            std::fs::read(&lock_file).expect("still there"),
            other.to_vec()
        );
        // And that lock, live on another host, refuses a new run.
        assert!(matches!(
            rt.block_on(RunLock::acquire(&root)),
            Err(Error::Locked(_))
        ));
    }
}
