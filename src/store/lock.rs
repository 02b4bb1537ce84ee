//! One process at a time per data root.
//!
//! An exclusive OS file lock on `<root>/strata.lock`, released by the OS when the process dies,
//! so a crash never leaves the root locked. The holder writes its pid and command line into the
//! file so that a second process can say who holds it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};

/// Holds the data root until dropped.
#[derive(Debug)]
pub(crate) struct RootLock {
    _file: File,
    path: PathBuf,
}

impl RootLock {
    /// Takes the lock, waiting up to `timeout` for another holder to let go.
    pub fn acquire(root: &Path, timeout: Duration) -> Result<Self> {
        let path = root.join("strata.lock");
        // Never through a link: the holder's name is written into this file.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| {
                Error::io(
                    "cannot open the lock file (it must be a regular file, not a link)",
                    &path,
                    e,
                )
            })?;
        let regular = file
            .metadata()
            .map_err(|e| Error::io("cannot stat the lock file", &path, e))?
            .is_file();
        if !regular {
            return Err(Error::new(
                ErrorKind::Io,
                "the lock file is not a regular file; strata writes only its own files",
            )
            .with("path", path.display()));
        }
        let deadline = Instant::now() + timeout;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    let holder = if holder.is_empty() {
                        "another process"
                    } else {
                        holder
                    };
                    return Err(Error::new(
                        ErrorKind::Busy,
                        format!("data root is in use by {holder}"),
                    )
                    .with("path", root.display()));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::io("cannot lock the data root", &path, e))
                }
            }
        }
        let me = format!(
            "pid {} ({})",
            std::process::id(),
            std::env::args().collect::<Vec<_>>().join(" ")
        );
        // Best effort: the lock itself is what protects the root, the text only names the holder.
        let _ = file
            .set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(me.as_bytes()));
        Ok(RootLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_holder_named() {
        let dir = tempfile::tempdir().unwrap();
        let first = RootLock::acquire(dir.path(), Duration::ZERO).unwrap();
        let err = RootLock::acquire(dir.path(), Duration::from_millis(120)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Busy);
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        RootLock::acquire(dir.path(), Duration::ZERO).unwrap();
    }

    #[test]
    fn a_planted_link_at_the_lock_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep me").unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink(&victim, root.join("strata.lock")).unwrap();
        assert!(RootLock::acquire(&root, Duration::ZERO).is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    }
}
