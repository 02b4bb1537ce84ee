//! A local tier: a directory strata owns, read and written without ever following a link.
//!
//! Every path below the tier's root is walked one component at a time with `openat` and
//! `O_NOFOLLOW`, so a symlink planted anywhere inside the tier (to a directory or a file outside
//! it) makes the operation fail instead of reading, writing or deleting outside the tier. The
//! root itself may be a link: it is the operator's configuration.
//!
//! Layout: objects live at their key's path, each segment percent-encoded the way
//! `object_store` encodes path parts (so directories written by earlier versions, which went
//! through `object_store`'s local backend, read the same). strata's own files live under
//! `.strata/` (a key cannot start with that segment): `tier.json` marks the directory as a
//! strata tier, and `staging/` holds new objects until they are renamed into place. Only files
//! in that staging directory are ever removed as leftovers.

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use object_store::path::Path as ObjectPath;
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// strata's own directory inside a local tier.
pub const OWN_DIR: &str = ".strata";
/// The top-level directory of a tier that holds the lake's tables (Delta tables, which other
/// engines read as plain directories): never objects of the store, and no key starts with it.
pub const TABLES_DIR: &str = "tables";
const STAGING_DIR: &str = "staging";
const MARKER_FILE: &str = "tier.json";
/// Version of the marker's layout.
const MARKER_FORMAT: u32 = 1;

/// The marker that says a directory is a strata tier.
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    format: u32,
    tier: String,
    created_ms: u64,
}

/// An open local tier directory.
#[derive(Debug)]
pub(crate) struct LocalDir {
    root: PathBuf,
}

/// What a listing found: objects, and entries it would not follow or could not name.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// `(key, size, modified)`.
    pub objects: Vec<(String, u64, std::time::SystemTime)>,
    /// Paths (relative to the root) skipped: links, special files, names that are not keys.
    pub skipped: Vec<String>,
}

impl LocalDir {
    /// Opens tier `name` at `root`, creating it if needed. A directory that exists, holds
    /// files and carries no marker is refused unless `adopt()` says yes (the operator asked,
    /// or the data root's index shows an earlier strata wrote there): strata never takes over
    /// a directory it did not make without being asked.
    pub fn open(name: &str, root: &Path, adopt: &dyn Fn() -> Result<bool>) -> Result<LocalDir> {
        let in_tier = |e: Error| e.with("tier", name);
        let fresh = !root.exists();
        std::fs::create_dir_all(root)
            .map_err(|e| in_tier(Error::io("cannot create tier directory", root, e)))?;
        let dir = LocalDir {
            root: root.to_path_buf(),
        };
        let marker = root.join(OWN_DIR).join(MARKER_FILE);
        match std::fs::symlink_metadata(&marker) {
            Ok(m) if m.is_file() => dir.check_marker(name, &marker)?,
            Ok(_) => {
                return Err(in_tier(Error::corrupt(
                    "the tier marker is not a regular file; strata does not follow links",
                ))
                .with("path", marker.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !fresh && !is_empty_dir(root)? && !adopt()? {
                    return Err(in_tier(Error::config(format!(
                        "tier directory {} holds files strata did not write; to use them as \
                         tier {name:?}, run `strata tier adopt {name}`",
                        root.display()
                    ))));
                }
                dir.write_marker(name)?;
            }
            Err(e) => {
                return Err(in_tier(Error::io(
                    "cannot read the tier marker",
                    &marker,
                    e,
                )))
            }
        }
        Ok(dir)
    }

    fn check_marker(&self, name: &str, path: &Path) -> Result<()> {
        let text =
            std::fs::read(path).map_err(|e| Error::io("cannot read tier marker", path, e))?;
        let marker: Marker = serde_json::from_slice(&text).map_err(|e| {
            Error::corrupt(format!("the tier marker is unreadable: {e}"))
                .with("path", path.display())
        })?;
        if marker.format > MARKER_FORMAT {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "tier marker format {} is newer than this strata (reads {MARKER_FORMAT})",
                    marker.format
                ),
            )
            .with("path", path.display()));
        }
        if marker.tier != name {
            return Err(Error::config(format!(
                "directory {} is strata's tier {:?}, not {name:?}; two tiers cannot share it",
                self.root.display(),
                marker.tier
            )));
        }
        Ok(())
    }

    fn write_marker(&self, name: &str) -> Result<()> {
        let own = self.root.join(OWN_DIR);
        std::fs::create_dir_all(own.join(STAGING_DIR))
            .map_err(|e| Error::io("cannot create strata's tier directory", &own, e))?;
        let marker = Marker {
            format: MARKER_FORMAT,
            tier: name.to_string(),
            created_ms: crate::store::now_ms(),
        };
        let text = serde_json::to_vec_pretty(&marker)
            .map_err(|e| Error::internal(format!("encode tier marker: {e}")))?;
        let (mut file, staged) = self.create_staging()?;
        file.write_all(&text)
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io("cannot write the tier marker", &own, e))?;
        let staging = self.open_own_dir(STAGING_DIR)?;
        let own_fd = open_dir_at(&self.open_root()?, OsStr::new(OWN_DIR))
            .map_err(|e| Error::io("cannot open strata's tier directory", &own, e))?;
        rename_at(&staging, &cstr(&staged)?, &own_fd, &cstr(MARKER_FILE)?)
            .map_err(|e| Error::io("cannot put the tier marker in place", &own, e))?;
        sync_dir(&own_fd).map_err(|e| Error::io("cannot sync", &own, e))
    }

    /// The tier's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file a key's bytes live in (for messages and for callers that map files).
    pub fn file_of(&self, key: &str) -> PathBuf {
        let mut path = self.root.clone();
        for part in encoded_parts(key) {
            path.push(part);
        }
        path
    }

    fn open_root(&self) -> Result<OwnedFd> {
        let c = CString::new(self.root.as_os_str().as_bytes())
            .map_err(|_| Error::invalid("tier path contains a NUL byte"))?;
        // The root may be a link (the operator's choice); nothing below it may.
        open_raw(None, &c, libc::O_RDONLY | libc::O_DIRECTORY)
            .map_err(|e| Error::io("cannot open tier directory", &self.root, e))
    }

    fn open_own_dir(&self, sub: &str) -> Result<OwnedFd> {
        let root = self.open_root()?;
        let own = open_dir_at(&root, OsStr::new(OWN_DIR))
            .and_then(|fd| open_dir_at(&fd, OsStr::new(sub)))
            .or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    std::fs::create_dir_all(self.root.join(OWN_DIR).join(sub))?;
                    open_dir_at(&root, OsStr::new(OWN_DIR))
                        .and_then(|fd| open_dir_at(&fd, OsStr::new(sub)))
                } else {
                    Err(e)
                }
            });
        own.map_err(|e| Error::io("cannot open strata's staging directory", &self.root, e))
    }

    /// The directory holding `key`'s file and the file's name in it; with `create`, missing
    /// directories are made. Fails on a link anywhere on the way.
    fn parent_of(&self, key: &str, create: bool) -> std::io::Result<(OwnedFd, CString)> {
        let parts = encoded_parts(key);
        let (last, dirs) = parts
            .split_last()
            .ok_or_else(|| std::io::Error::other("empty key"))?;
        let mut dir = self.open_root().map_err(std::io::Error::other)?;
        for part in dirs {
            let name = OsStr::new(part.as_str());
            dir = match open_dir_at(&dir, name) {
                Err(e) if create && e.kind() == std::io::ErrorKind::NotFound => {
                    mkdir_at(&dir, name)?;
                    open_dir_at(&dir, name)?
                }
                other => other?,
            };
        }
        Ok((dir, to_cstring(last)?))
    }

    /// Opens `key`'s file for reading, never through a link.
    pub fn open_file(&self, key: &str) -> std::io::Result<File> {
        let (dir, name) = self.parent_of(key, false)?;
        let fd = open_raw(Some(&dir), &name, libc::O_RDONLY)?;
        let file = File::from(fd);
        if !file.metadata()?.is_file() {
            return Err(std::io::Error::other(
                "not a regular file; strata reads only its own files",
            ));
        }
        Ok(file)
    }

    /// A new staging file (exclusive, never through a link, random name) and its name.
    pub fn create_staging(&self) -> Result<(File, String)> {
        let dir = self.open_own_dir(STAGING_DIR)?;
        for _ in 0..8 {
            let mut id = [0u8; 16];
            getrandom::fill(&mut id).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
            let name = format!("put-{}", hex(&id));
            match open_raw(
                Some(&dir),
                &cstr(&name)?,
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
            ) {
                Ok(fd) => return Ok((File::from(fd), name)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(Error::io(
                        "cannot create a staging file",
                        &self.root.join(OWN_DIR).join(STAGING_DIR),
                        e,
                    ))
                }
            }
        }
        Err(Error::internal("could not find a free staging file name"))
    }

    /// Whether staging file `name` is still there (its rename has not happened).
    pub fn staging_exists(&self, name: &str) -> Result<bool> {
        let path = self.root.join(OWN_DIR).join(STAGING_DIR).join(name);
        match std::fs::symlink_metadata(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("cannot look for a staging file", &path, e)),
        }
    }

    /// Removes staging file `name`, if it is there.
    pub fn remove_staging(&self, name: &str) -> Result<()> {
        let dir = self.open_own_dir(STAGING_DIR)?;
        match unlink_at(&dir, &cstr(name)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(
                "cannot remove a staging file",
                &self.root.join(OWN_DIR).join(STAGING_DIR).join(name),
                e,
            )),
        }
    }

    /// Removes every staging file not in `keep`; returns how many. Only for a time when no put
    /// is in flight (the store calls it at open, holding the data root's lock).
    pub fn sweep_staging(&self, keep: &std::collections::HashSet<String>) -> usize {
        let dir = self.root.join(OWN_DIR).join(STAGING_DIR);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return 0;
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if keep.contains(&name) || !name.starts_with("put-") {
                continue;
            }
            if self.remove_staging(&name).is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// Renames staging file `staged` to `key`'s path, creating directories on the way, then
    /// syncs the directory. An existing entry at the key that is not a regular file is refused.
    pub fn publish(&self, staged: &str, key: &str) -> std::io::Result<()> {
        let staging = self
            .open_own_dir(STAGING_DIR)
            .map_err(std::io::Error::other)?;
        let (dir, name) = self.parent_of(key, true)?;
        match stat_at(&dir, &name) {
            Ok(mode) if mode & libc::S_IFMT != libc::S_IFREG => {
                return Err(std::io::Error::other(
                    "an entry that is not a regular file is in the way; strata does not replace it",
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        rename_at(&staging, &to_cstring(staged)?, &dir, &name)?;
        sync_dir(&dir)
    }

    /// Deletes `key`'s file (never through a link) and the directories it leaves empty.
    /// Returns false when there was nothing to delete.
    pub fn remove(&self, key: &str) -> std::io::Result<bool> {
        let (dir, name) = match self.parent_of(key, false) {
            Ok(found) => found,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        match stat_at(&dir, &name) {
            Ok(mode) if mode & libc::S_IFMT != libc::S_IFREG => {
                return Err(std::io::Error::other(
                    "not a regular file; strata deletes only its own files",
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        }
        unlink_at(&dir, &name)?;
        drop(dir);
        self.prune_empty_dirs(key);
        Ok(true)
    }

    /// Removes the now-empty directories above a deleted key, up to the root. Best effort.
    fn prune_empty_dirs(&self, key: &str) {
        let parts = encoded_parts(key);
        for depth in (1..parts.len()).rev() {
            let mut path = self.root.clone();
            for part in &parts[..depth] {
                path.push(part);
            }
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => {
                    if std::fs::remove_dir(&path).is_err() {
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    /// Every object under the root, without following links; `.strata/` and `tables/` are
    /// skipped.
    pub fn list(&self) -> Result<Listing> {
        let mut listing = Listing::default();
        let mut dirs = vec![(self.root.clone(), String::new())];
        while let Some((dir, rel)) = dirs.pop() {
            let entries =
                std::fs::read_dir(&dir).map_err(|e| Error::io("cannot list tier", &dir, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| Error::io("cannot list tier", &dir, e))?;
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let rel_path = if rel.is_empty() {
                    name.to_string()
                } else {
                    format!("{rel}/{name}")
                };
                if rel.is_empty() && (name == OWN_DIR || name == TABLES_DIR) {
                    continue;
                }
                let file_type = entry
                    .file_type()
                    .map_err(|e| Error::io("cannot list tier", &entry.path(), e))?;
                if file_type.is_dir() {
                    dirs.push((entry.path(), rel_path));
                } else if file_type.is_file() {
                    let meta = entry
                        .metadata()
                        .map_err(|e| Error::io("cannot list tier", &entry.path(), e))?;
                    match key_of_encoded(&rel_path) {
                        Some(key) => listing.objects.push((
                            key,
                            meta.len(),
                            meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                        )),
                        None => listing.skipped.push(rel_path),
                    }
                } else {
                    // Links and special files are never objects.
                    listing.skipped.push(rel_path);
                }
            }
        }
        Ok(listing)
    }
}

/// A key's path parts as stored: each segment percent-encoded like `object_store` does.
pub(crate) fn encoded_parts(key: &str) -> Vec<String> {
    ObjectPath::from(key)
        .parts()
        .map(|p| p.as_ref().to_string())
        .collect()
}

/// The key an encoded relative path (segments joined by '/') stands for, if it is one.
pub(crate) fn key_of_encoded(rel: &str) -> Option<String> {
    let mut key = String::with_capacity(rel.len());
    for (i, part) in rel.split('/').enumerate() {
        if i > 0 {
            key.push('/');
        }
        // Only names this encoding could have written: decoding then re-encoding gives them back.
        let decoded = percent_decode_str(part).decode_utf8().ok()?;
        if encoded_parts(&decoded).concat() != part {
            return None;
        }
        key.push_str(&decoded);
    }
    super::tier::validate_key(&key).ok()?;
    Some(key)
}

fn is_empty_dir(dir: &Path) -> Result<bool> {
    let mut entries =
        std::fs::read_dir(dir).map_err(|e| Error::io("cannot list tier directory", dir, e))?;
    Ok(entries.next().is_none())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn cstr(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid("name contains a NUL byte"))
}

fn to_cstring(s: &str) -> std::io::Result<CString> {
    CString::new(s).map_err(|_| std::io::Error::other("name contains a NUL byte"))
}

/// `openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC)`; `dir` None opens `name` as a path
/// (following links: only the tier root is opened that way).
fn open_raw(dir: Option<&OwnedFd>, name: &CStr, flags: libc::c_int) -> std::io::Result<OwnedFd> {
    let (at, flags) = match dir {
        Some(d) => (d.as_raw_fd(), flags | libc::O_NOFOLLOW),
        None => (libc::AT_FDCWD, flags),
    };
    // SAFETY: `name` is a valid NUL-terminated string and `at` a descriptor we own (or
    // AT_FDCWD); the returned descriptor, if any, is owned by nobody else.
    let fd = unsafe { libc::openat(at, name.as_ptr(), flags | libc::O_CLOEXEC, 0o644) };
    if fd < 0 {
        return Err(nofollow_error(std::io::Error::last_os_error()));
    }
    // SAFETY: `fd` was just returned by openat and is open.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A link where a directory or file was expected reads as ELOOP or ENOTDIR; say what it is.
fn nofollow_error(e: std::io::Error) -> std::io::Error {
    match e.raw_os_error() {
        Some(libc::ELOOP) => std::io::Error::other(
            "a symbolic link is in the way; strata never follows links inside a tier",
        ),
        _ => e,
    }
}

fn open_dir_at(dir: &OwnedFd, name: &OsStr) -> std::io::Result<OwnedFd> {
    let name = CString::new(name.as_bytes())
        .map_err(|_| std::io::Error::other("name contains a NUL byte"))?;
    open_raw(Some(dir), &name, libc::O_RDONLY | libc::O_DIRECTORY).map_err(|e| {
        if e.raw_os_error() == Some(libc::ENOTDIR) {
            std::io::Error::other(
                "a file or link is where a directory should be; strata never follows links",
            )
        } else {
            e
        }
    })
}

fn mkdir_at(dir: &OwnedFd, name: &OsStr) -> std::io::Result<()> {
    let name = CString::new(name.as_bytes())
        .map_err(|_| std::io::Error::other("name contains a NUL byte"))?;
    // SAFETY: valid descriptor and NUL-terminated name.
    let rc = unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), 0o755) };
    if rc < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            return Err(e);
        }
    }
    Ok(())
}

/// The file type and mode bits of `name` in `dir`, without following a link.
fn stat_at(dir: &OwnedFd, name: &CStr) -> std::io::Result<libc::mode_t> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid descriptor, NUL-terminated name, and `st` is large enough for a stat.
    let rc = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fstatat succeeded, so it filled `st`.
    Ok(unsafe { st.assume_init() }.st_mode)
}

fn rename_at(from_dir: &OwnedFd, from: &CStr, to_dir: &OwnedFd, to: &CStr) -> std::io::Result<()> {
    // SAFETY: valid descriptors and NUL-terminated names.
    let rc = unsafe {
        libc::renameat(
            from_dir.as_raw_fd(),
            from.as_ptr(),
            to_dir.as_raw_fd(),
            to.as_ptr(),
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn unlink_at(dir: &OwnedFd, name: &CStr) -> std::io::Result<()> {
    // SAFETY: valid descriptor and NUL-terminated name.
    let rc = unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn sync_dir(dir: &OwnedFd) -> std::io::Result<()> {
    // SAFETY: valid descriptor.
    let rc = unsafe { libc::fsync(dir.as_raw_fd()) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_reserved_and_unicode_keys() {
        for key in [
            "a/b.parquet",
            "weird/*?[]{}<>\"|^~%`/x",
            "ünï/cødé",
            "100%/a%2Fb",
            "sp ace/tab",
        ] {
            let rel = encoded_parts(key).join("/");
            assert_eq!(
                key_of_encoded(&rel).as_deref(),
                Some(key),
                "{key} via {rel}"
            );
        }
        // A name this encoding never writes is not a key.
        assert_eq!(key_of_encoded("a%zz"), None);
        assert_eq!(key_of_encoded("a%61"), None);
    }

    #[test]
    fn links_inside_the_tier_are_never_followed() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"outside").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let tier = LocalDir::open("hot", &dir.path().join("hot"), &|| Ok(false)).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("hot/escape")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            dir.path().join("hot/file-link"),
        )
        .unwrap();
        assert!(tier.open_file("escape/secret").is_err());
        assert!(tier.open_file("file-link").is_err());
        let (mut f, staged) = tier.create_staging().unwrap();
        f.write_all(b"new").unwrap();
        assert!(tier.publish(&staged, "escape/planted").is_err());
        assert!(tier.publish(&staged, "file-link").is_err());
        assert!(tier.remove("escape/secret").is_err());
        assert!(tier.remove("file-link").is_err());
        assert_eq!(
            std::fs::read(outside.path().join("secret")).unwrap(),
            b"outside"
        );
        assert!(!outside.path().join("planted").exists());
        let listing = tier.list().unwrap();
        assert!(listing.objects.is_empty(), "{listing:?}");
        assert_eq!(listing.skipped.len(), 2, "{listing:?}");
    }

    #[test]
    fn foreign_directories_are_refused_unless_adopted() {
        let dir = tempfile::tempdir().unwrap();
        let docs = dir.path().join("docs");
        std::fs::create_dir_all(docs.join("sub")).unwrap();
        std::fs::write(docs.join("#draft.txt#"), b"mine").unwrap();
        let err = LocalDir::open("cold", &docs, &|| Ok(false)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.to_string().contains("tier adopt"), "{err}");
        assert!(docs.join("#draft.txt#").exists());
        LocalDir::open("cold", &docs, &|| Ok(true)).unwrap();
        // Adopted once, it opens as strata's own; under another tier name it is refused.
        LocalDir::open("cold", &docs, &|| Ok(false)).unwrap();
        assert!(LocalDir::open("hot", &docs, &|| Ok(false)).is_err());
        assert!(docs.join("#draft.txt#").exists());
    }
}
