//! One run per queue (issue #4): an OS file lock on `<queue>.lock`, held for the whole run.
//! The kernel releases it when the process dies, so a crashed holder never leaves a stale lock.
//! The file itself stays (removing a lock file races with the next run opening it); it holds
//! the holder's pid for the message a second run prints.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Errors taking the run lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error("another batch-generate run holds the lock `{path}`{}", .pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Held {
        /// Lock file.
        path: PathBuf,
        /// The holder's pid, when it could be read.
        pid: Option<u32>,
    },
    /// The lock file could not be created or locked.
    #[error("failed to take the run lock `{path}`")]
    Io {
        /// Lock file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
}

/// The lock path for a queue: `<queue>.lock`.
pub(crate) fn path_for(queue: &Path) -> PathBuf {
    let mut p = queue.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// A held run lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock for `queue` without waiting.
    ///
    /// # Errors
    /// [`LockError::Held`] (with the holder's pid) when another run holds it,
    /// [`LockError::Io`] when the lock file cannot be created or locked.
    pub fn acquire(queue: &Path) -> Result<Self, LockError> {
        let path = path_for(queue);
        let io_err = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let open = || {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
        };
        let mut file = match open() {
            // A queue started with `--init-queue` may live in a directory the run creates
            // (the save creates it too, spec §1.1 save rules).
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io_err)?;
                }
                open()
            }
            other => other,
        }
        .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held {
                    pid: text.trim().parse().ok(),
                    path,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err(e)),
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.sync_data())
            .map_err(io_err)?;
        Ok(Self { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_fails_with_pid_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q.json");
        let first = RunLock::acquire(&q).unwrap();
        assert_eq!(first.path(), dir.path().join("q.json.lock"));
        match RunLock::acquire(&q) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("{other:?}"),
        }
        drop(first);
        let again = RunLock::acquire(&q).unwrap();
        drop(again);
    }

    #[test]
    fn creates_the_queue_directory() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("new/sub/q.json");
        let lock = RunLock::acquire(&q).unwrap();
        assert!(lock.path().exists());
    }
}
