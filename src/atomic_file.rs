//! Output files: whole or not at all where the target allows it, and never at the cost of what
//! the target path names.
//!
//! - A regular file, or a path where nothing exists yet, is written to a staging file beside
//!   it, synced, and renamed over it (then the directory is synced). A crash or an error leaves
//!   the target as it was and the staging file is removed on drop, so readers never see half a
//!   Parquet file. The staging file is created exclusively (`O_CREAT|O_EXCL|O_NOFOLLOW`) under
//!   an unpredictable name (`.<name>.strata-<16 random hex digits>.partial`), so nothing planted
//!   in the directory beforehand (a symlink, another file) can redirect or receive the write.
//!   It gets the target's permissions when the target exists (owner-only until then), else
//!   the usual `0666` less the umask.
//! - A character device (`/dev/null`, a terminal), a FIFO or a Unix socket is written directly:
//!   renaming a file over it would replace the device node or the pipe for every other program.
//! - A symlink is followed: the staging file goes beside the file the link resolves to and is
//!   renamed over that file, so the link stays a link and its target gets the bytes.
//! - A directory or any other kind of file (a block device) is refused with an error.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Symlinks followed before giving up (the limit Linux itself applies to one path).
const MAX_LINKS: usize = 40;

/// A file being written; [`AtomicFile::commit`] makes it visible at the target path.
#[derive(Debug)]
pub struct AtomicFile {
    /// The path the caller named (for errors).
    target: PathBuf,
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    /// Written to `staging`, renamed over `resolved` (the target with symlinks followed).
    Staged {
        resolved: PathBuf,
        staging: PathBuf,
        file: Option<File>,
    },
    /// Written straight to the target (a character device, FIFO or socket).
    Direct(Option<Direct>),
}

#[derive(Debug)]
enum Direct {
    File(File),
    #[cfg(unix)]
    Socket(std::os::unix::net::UnixStream),
}

impl Write for Direct {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Direct::File(f) => f.write(buf),
            #[cfg(unix)]
            Direct::Socket(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Direct::File(f) => f.flush(),
            #[cfg(unix)]
            Direct::Socket(s) => s.flush(),
        }
    }
}

impl AtomicFile {
    /// Starts writing `target` (its directory must exist): staged and renamed for a regular
    /// file or a new path, directly for a character device, FIFO or socket, through a symlink
    /// to what it points at; a directory or a block device is an error.
    pub fn create(target: &Path) -> Result<AtomicFile> {
        Self::open(target, false)
    }

    /// As [`AtomicFile::create`] for a file only its owner may read (a key file): the result
    /// has mode `0600` whatever the target had, and the target must be a regular file or not
    /// exist yet.
    pub fn create_private(target: &Path) -> Result<AtomicFile> {
        Self::open(target, true)
    }

    /// Whether the bytes go straight to the target (a device, FIFO or socket) rather than
    /// through a staging file: then a failure may leave part of the output written.
    pub fn is_direct(&self) -> bool {
        matches!(self.sink, Sink::Direct(_))
    }

    fn open(target: &Path, private: bool) -> Result<AtomicFile> {
        if target.file_name().is_none() {
            return Err(Error::invalid("output path names no file").with("path", target.display()));
        }
        let refuse = |what: &str| {
            Error::invalid(format!(
                "the output path is {what}; name a regular file, a character device, a FIFO \
                 or a socket"
            ))
            .with("path", target.display())
        };
        // `metadata` follows symlinks: this is the kind of file the bytes would land in.
        let (resolved, mode) = match std::fs::metadata(target) {
            Ok(meta) => {
                let kind = meta.file_type();
                if kind.is_dir() {
                    return Err(refuse("a directory"));
                }
                if !kind.is_file() {
                    if private {
                        return Err(refuse("not a regular file (a key file must be one)"));
                    }
                    return Ok(AtomicFile {
                        target: target.to_path_buf(),
                        sink: Sink::Direct(Some(open_direct(target, &kind, refuse)?)),
                    });
                }
                (
                    resolve_links(target)?,
                    Some(plain_permissions(meta.permissions())),
                )
            }
            // Nothing there yet, or a symlink to nothing yet: the file is made where the
            // links lead.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (resolve_links(target)?, None),
            Err(e) => return Err(Error::io("cannot inspect the output path", target, e)),
        };
        // A new file gets the usual mode less the umask; a private file, or one replacing an
        // existing target, starts owner-only (and then takes that target's mode).
        let initial = if private || mode.is_some() {
            0o600
        } else {
            0o666
        };
        let (staging, file) = create_staging(&resolved, initial)?;
        if let (Some(permissions), false) = (mode, private) {
            // The staging file was made owner-only; it takes the mode of what it replaces.
            if let Err(e) = file.set_permissions(permissions) {
                let _ = std::fs::remove_file(&staging);
                return Err(Error::io("cannot set the output file's mode", target, e));
            }
        }
        Ok(AtomicFile {
            target: target.to_path_buf(),
            sink: Sink::Staged {
                resolved,
                staging,
                file: Some(file),
            },
        })
    }

    /// Syncs the data and renames it over the target (for a direct target: flushes it).
    pub fn commit(mut self) -> Result<()> {
        match &mut self.sink {
            Sink::Direct(direct) => {
                if let Some(mut w) = direct.take() {
                    w.flush()
                        .map_err(|e| Error::io("cannot write the output", &self.target, e))?;
                }
                Ok(())
            }
            Sink::Staged {
                resolved,
                staging,
                file,
            } => {
                if let Some(f) = file.take() {
                    if let Err(e) = f.sync_all() {
                        let _ = std::fs::remove_file(&*staging);
                        return Err(Error::io("cannot sync the output file", &self.target, e));
                    }
                }
                let result = replace(staging, resolved, &self.target);
                if result.is_err() {
                    let _ = std::fs::remove_file(&*staging);
                }
                result
            }
        }
    }

    fn writer(&mut self) -> std::io::Result<&mut dyn Write> {
        let w: Option<&mut dyn Write> = match &mut self.sink {
            Sink::Staged { file, .. } => file.as_mut().map(|f| f as &mut dyn Write),
            Sink::Direct(direct) => direct.as_mut().map(|d| d as &mut dyn Write),
        };
        w.ok_or_else(|| std::io::Error::other("output file already committed"))
    }
}

/// The permission bits of an existing target, without set-user-id, set-group-id or sticky
/// bits: the new file is this process's, not the old owner's.
fn plain_permissions(permissions: std::fs::Permissions) -> std::fs::Permissions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(permissions.mode() & 0o777)
    }
    #[cfg(not(unix))]
    permissions
}

/// Renames `staging` over `resolved` (which `target` names), refusing when something other
/// than a regular file took the target's place since the output was opened.
fn replace(staging: &Path, resolved: &Path, target: &Path) -> Result<()> {
    match std::fs::symlink_metadata(resolved) {
        Ok(meta) if !meta.file_type().is_file() => {
            return Err(Error::invalid(
                "the output path stopped being a regular file while it was written; not \
                 replacing it",
            )
            .with("path", target.display()))
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("cannot inspect the output path", target, e)),
    }
    std::fs::rename(staging, resolved)
        .map_err(|e| Error::io("cannot move the output file into place", target, e))?;
    // Make the rename itself durable where the platform allows syncing a directory.
    if let Some(dir) = resolved.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

/// Opens a character device, FIFO or socket for writing as it is (no create, no rename).
fn open_direct(
    target: &Path,
    kind: &std::fs::FileType,
    refuse: impl Fn(&str) -> Error,
) -> Result<Direct> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_socket() {
            return std::os::unix::net::UnixStream::connect(target)
                .map(Direct::Socket)
                .map_err(|e| Error::io("cannot connect to the output socket", target, e));
        }
        if !(kind.is_char_device() || kind.is_fifo()) {
            return Err(refuse("a block device or another special file"));
        }
    }
    #[cfg(not(unix))]
    let _ = (kind, &refuse);
    // No truncation: a device or a pipe has no length, and the bytes go to its reader.
    OpenOptions::new()
        .write(true)
        .open(target)
        .map(Direct::File)
        .map_err(|e| Error::io("cannot open the output", target, e))
}

/// `target` with every symlink in its last component followed (relative links are relative
/// to the link's directory); the path itself when it is not a link.
fn resolve_links(target: &Path) -> Result<PathBuf> {
    let mut path = target.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&path)
                    .map_err(|e| Error::io("cannot read the output symlink", &path, e))?;
                path = match path.parent() {
                    Some(dir) => dir.join(link),
                    None => link,
                };
            }
            _ => {
                if path.file_name().is_none() {
                    return Err(Error::invalid("the output symlink names no file")
                        .with("path", target.display()));
                }
                return Ok(path);
            }
        }
    }
    Err(
        Error::invalid("too many levels of symlinks in the output path")
            .with("path", target.display()),
    )
}

/// Creates a new staging file beside `resolved`, exclusively and without following links,
/// under a name nobody can guess.
fn create_staging(resolved: &Path, mode: u32) -> Result<(PathBuf, File)> {
    let name = resolved
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last = None;
    // A clash of 64 random bits means something is wrong with the random source; a few tries
    // tell that apart from bad luck.
    for _ in 0..4 {
        let mut tag = [0u8; 8];
        getrandom::fill(&mut tag)
            .map_err(|e| Error::internal(format!("the OS random source failed: {e}")))?;
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        let staging = resolved.with_file_name(format!(".{name}.strata-{hex}.partial"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        match options.open(&staging) {
            Ok(file) => {
                return Ok((staging, file));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(Error::io("cannot create the output file", resolved, e)),
        }
    }
    let e = last.unwrap_or_else(|| std::io::Error::other("no staging name was free"));
    Err(Error::io("cannot create the output file", resolved, e))
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer()?.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer()?.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Not committed: the target keeps its old contents and the staging file goes. (What
        // went straight to a device or pipe cannot be taken back.)
        if let Sink::Staged { staging, file, .. } = &mut self.sink {
            if file.take().is_some() {
                let _ = std::fs::remove_file(&*staging);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appears_only_on_commit_and_leaves_nothing_behind_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.parquet");
        std::fs::write(&target, b"old").unwrap();
        let mut f = AtomicFile::create(&target).unwrap();
        assert!(!f.is_direct());
        f.write_all(b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        drop(f);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(AtomicFile::create(&dir.path().join("missing/x")).is_err());
    }

    #[test]
    fn staging_names_are_hidden_unpredictable_and_distinct() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        let a = AtomicFile::create(&target).unwrap();
        let b = AtomicFile::create(&target).unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert_ne!(names[0], names[1]);
        for n in &names {
            let tag = n
                .strip_prefix(".out.csv.strata-")
                .and_then(|t| t.strip_suffix(".partial"))
                .unwrap_or_else(|| panic!("{n}"));
            assert_eq!(tag.len(), 16, "{n}");
            assert!(tag.chars().all(|c| c.is_ascii_hexdigit()), "{n}");
        }
        drop((a, b));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn modes_follow_the_target_or_stay_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let target = dir.path().join("shared.csv");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(mode(&target), 0o640);

        let key = dir.path().join("keyring.toml");
        std::fs::write(&key, b"old").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut f = AtomicFile::create_private(&key).unwrap();
        f.write_all(b"secret").unwrap();
        f.commit().unwrap();
        assert_eq!(mode(&key), 0o600);
        assert!(AtomicFile::create_private(Path::new("/dev/null")).is_err());
    }
}
