//! `compact`: rewrites the small Parquet files of a dataset into files of the target size
//! without losing or duplicating a row, crash-safe at every step.
//!
//! Per group of small files in one directory:
//!
//! 1. The new files are written under hidden staging names (`.strata-compact-<final name>`),
//!    each through [`AtomicFile`] (an exclusive, no-follow, randomly named partial file, synced,
//!    renamed into place, the directory synced); readers skip hidden files, so nothing changes
//!    for them. Final names carry 64 random bits per run (`part-c<16 hex>-<n>.parquet`), so
//!    neither name can be known, and planted, before the run starts.
//! 2. Their row counts are checked against the inputs', then a manifest
//!    (`_strata_compaction.json` at the dataset root, written atomically) records the inputs and
//!    the outputs. Writing the manifest is the commit point.
//! 3. The outputs are renamed to their final names, never over anything already there (a file,
//!    a link, a FIFO: the rename refuses and the manifest stays), the inputs deleted, the
//!    manifest removed.
//!
//! Only regular files are compacted: a symlink or special file in the dataset is left alone.
//! The manifest is checked before it is acted on: every path in it must stay inside the dataset
//! and pair a staged name with its final name, so a damaged or planted manifest cannot make a
//! compaction (or a scan) rename, read or delete anything else.
//!
//! A crash before the manifest leaves the old files (and hidden staging files, removed by the
//! next compaction). A crash after it leaves a manifest that the next compaction rolls forward.
//! strata's own dataset reader consults the manifest, so it sees exactly the old set before the
//! commit and exactly the new set after it, never both. Other engines listing the directory see
//! the old set until step 3 and the new set after it; during step 3 itself (renames and deletes,
//! milliseconds) they may see both. Do not list a dataset with another engine while compacting
//! it, or use a table format (Delta) when readers must never see such a window.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use serde::{Deserialize, Serialize};

use super::options::WriteOptions;
use super::write::{without_strata_metadata, write_named, WrittenFile};
use crate::atomic_file::AtomicFile;
use crate::error::{Error, ErrorKind, Result};
use crate::read::Scan;

/// The manifest of a compaction in progress, at the dataset root.
pub const MANIFEST: &str = "_strata_compaction.json";
/// The lock file that keeps two compactions of one dataset apart.
const LOCK: &str = "_strata_compaction.lock";
/// The prefix of staged output files.
const STAGED: &str = ".strata-compact-";

/// Options of a compaction.
#[derive(Debug, Clone, Default)]
pub struct CompactOptions {
    /// How the new files are written (codec policy, target file size, row groups).
    pub write: WriteOptions,
    /// Files smaller than this are compacted; default half the target file size.
    pub small_file_bytes: Option<u64>,
}

/// What a compaction did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CompactReport {
    /// Whether an interrupted compaction was finished (or its leftovers removed) first.
    pub recovered: bool,
    /// Directories with files compacted.
    pub directories: usize,
    /// Small files replaced.
    pub files_in: usize,
    /// Files written.
    pub files_out: usize,
    /// Rows moved (the same number in and out).
    pub rows: u64,
    /// Bytes of the replaced files.
    pub bytes_in: u64,
    /// Bytes of the new files.
    pub bytes_out: u64,
}

/// The steps after which a test can stop a compaction as a crash would.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompactStep {
    /// Staged outputs written, no manifest.
    OutputsWritten,
    /// Manifest committed.
    ManifestCommitted,
    /// Outputs renamed to their final names.
    OutputsRenamed,
    /// Inputs deleted, manifest still present.
    InputsDeleted,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    /// (staged, final) paths relative to the dataset root.
    outputs: Vec<(String, String)>,
    /// Input paths relative to the dataset root.
    inputs: Vec<String>,
    rows: u64,
}

/// What a reader of the dataset must adjust while a committed compaction is unfinished.
pub(crate) struct PendingView {
    /// Files that the compaction replaced: not to be read.
    pub(crate) replaced: Vec<PathBuf>,
    /// Staged outputs not yet renamed: to be read in their place.
    pub(crate) staged: Vec<PathBuf>,
}

fn read_manifest(root: &Path) -> Result<Option<Manifest>> {
    let path = root.join(MANIFEST);
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if !meta.is_file() => return Err(not_a_manifest(&path)),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("cannot read compaction manifest", &path, e)),
    }
    let bytes =
        std::fs::read(&path).map_err(|e| Error::io("cannot read compaction manifest", &path, e))?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
        Error::corrupt(format!("unreadable compaction manifest: {e}")).with("path", path.display())
    })?;
    check_manifest(&manifest).map_err(|what| {
        Error::corrupt(format!("compaction manifest {what}; not acting on it"))
            .with("path", path.display())
    })?;
    Ok(Some(manifest))
}

fn not_a_manifest(path: &Path) -> Error {
    Error::corrupt(
        "something other than a regular file (a link, a directory) is at the compaction \
         manifest's name; strata does not follow or replace it: move it away",
    )
    .with("path", path.display())
}

/// What is wrong with `m`, if anything: every path must be relative, inside the dataset, and
/// of the kind compaction writes (a staged output beside its final name, Parquet inputs).
fn check_manifest(m: &Manifest) -> std::result::Result<(), String> {
    let inside = |p: &str| {
        let path = Path::new(p);
        !p.is_empty()
            && path
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
    };
    let name = |p: &str| {
        Path::new(p)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    for (staged, fin) in &m.outputs {
        if !inside(staged) || !inside(fin) {
            return Err(format!(
                "names a path outside the dataset ({staged} -> {fin})"
            ));
        }
        let paired = name(staged).strip_prefix(STAGED) == Some(name(fin).as_str())
            && Path::new(staged).parent() == Path::new(fin).parent()
            && !name(fin).starts_with(['.', '_']);
        if !paired {
            return Err(format!(
                "pairs {staged} with {fin}, which is not its final name"
            ));
        }
    }
    for input in &m.inputs {
        let n = name(input);
        if !inside(input) || n.starts_with(['.', '_']) || !is_parquet_name(&n) {
            return Err(format!(
                "names {input} as an input, which compaction never does"
            ));
        }
    }
    Ok(())
}

fn is_parquet_name(name: &str) -> bool {
    name.ends_with(".parquet") || name.ends_with(".parq")
}

/// The reader's view of an unfinished, committed compaction (None when there is none).
pub(crate) fn pending_view(root: &Path) -> Result<Option<PendingView>> {
    let Some(m) = read_manifest(root)? else {
        return Ok(None);
    };
    Ok(Some(PendingView {
        replaced: m.inputs.iter().map(|p| root.join(p)).collect(),
        staged: m
            .outputs
            .iter()
            .map(|(s, _)| root.join(s))
            .filter(|p| p.exists())
            .collect(),
    }))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Whether something (a file, a link, anything) is at `path`, without following a link.
fn present(path: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("cannot inspect compacted file", path, e)),
    }
}

/// Finishes a committed compaction: every output to its final name, then the inputs go.
fn roll_forward(root: &Path, m: &Manifest) -> Result<()> {
    // Check every output exists before deleting anything.
    for (staged, fin) in &m.outputs {
        if !present(&root.join(staged))? && !present(&root.join(fin))? {
            return Err(Error::corrupt(format!(
                "compaction manifest names output {fin}, which is missing; inputs kept"
            ))
            .with("path", root.display()));
        }
    }
    for (staged, fin) in &m.outputs {
        let (s, f) = (root.join(staged), root.join(fin));
        if present(&s)? {
            move_into_place(&s, &f)?;
        }
    }
    remove_inputs(root, m)?;
    let path = root.join(MANIFEST);
    std::fs::remove_file(&path).map_err(|e| Error::io("cannot remove manifest", &path, e))?;
    sync_dir(root);
    Ok(())
}

fn remove_inputs(root: &Path, m: &Manifest) -> Result<()> {
    for input in &m.inputs {
        let p = root.join(input);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("cannot remove compacted input", &p, e)),
        }
        if let Some(dir) = p.parent() {
            sync_dir(dir);
        }
    }
    Ok(())
}

/// Renames the staged output `staged` to its final name `fin`, never over anything at `fin`,
/// then syncs the directory. Only a regular file is moved.
fn move_into_place(staged: &Path, fin: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(staged)
        .map_err(|e| Error::io("cannot inspect compacted file", staged, e))?;
    if !meta.is_file() {
        return Err(Error::corrupt(
            "a staged compaction output is not a regular file (a link?); not moving it",
        )
        .with("path", staged.display()));
    }
    match rename_new(staged, fin) {
        Ok(()) => {}
        // A crash between the link and the unlink of the fallback below: already in place.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && same_file(staged, fin) => {
            std::fs::remove_file(staged)
                .map_err(|e| Error::io("cannot remove staged file", staged, e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "something is already at the compacted file's name; strata does not \
                     replace it (its rows are still read from {}): move it away and run \
                     the compaction again",
                    staged.display()
                ),
            )
            .with("path", fin.display()))
        }
        Err(e) => return Err(Error::io("cannot rename compacted file", staged, e)),
    }
    if let Some(dir) = fin.parent() {
        sync_dir(dir);
    }
    Ok(())
}

/// Whether `a` and `b` are one file (two links to one inode).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::symlink_metadata(a), std::fs::symlink_metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
}

/// Renames `from` to `to` only if nothing is at `to` (`AlreadyExists` otherwise): atomically
/// with `renameat2(RENAME_NOREPLACE)` where the kernel and file system have it, else as a hard
/// link (which fails on anything already there) and an unlink of `from`.
fn rename_new(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(all(target_os = "linux", any(target_env = "gnu", target_env = "musl")))]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| {
            std::ffi::CString::new(p.as_os_str().as_bytes())
                .map_err(|_| std::io::Error::other("path contains a NUL byte"))
        };
        let (cf, ct) = (c(from)?, c(to)?);
        // SAFETY: both names are NUL-terminated C strings that outlive the call.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                cf.as_ptr(),
                libc::AT_FDCWD,
                ct.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        // EINVAL: this file system has no RENAME_NOREPLACE; ENOSYS: nor the kernel.
        if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
            return Err(e);
        }
    }
    std::fs::hard_link(from, to)?;
    std::fs::remove_file(from)
}

/// Directories of the dataset (skipping hidden and `_` ones) with their Parquet files and
/// staged leftovers.
fn walk(dir: &Path, files: &mut Vec<(PathBuf, u64)>, staged: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("cannot list dataset", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("cannot list dataset", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let meta = entry
            .metadata()
            .map_err(|e| Error::io("cannot list dataset", &path, e))?;
        // Staged outputs, and the partial files of staged outputs a killed run was writing
        // (AtomicFile stages `<name>` as `.<name>.strata-<16 hex>.partial`). A directory of
        // such a name is not strata's: left alone.
        let partial = name.starts_with(&format!(".{STAGED}")) && name.ends_with(".partial");
        if (name.starts_with(STAGED) || partial) && !meta.is_dir() {
            staged.push(path);
        } else if name.starts_with('.') || name.starts_with('_') {
            continue;
        } else if meta.is_dir() {
            walk(&path, files, staged)?;
        } else if meta.is_file() && is_parquet_name(&name) {
            // `metadata` of a directory entry does not follow links: a link or a special file
            // is never an input, so compaction neither reads through it nor deletes it.
            files.push((path, meta.len()));
        }
    }
    Ok(())
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// The rows of one input, read by a scan, with the file's schema (key-value metadata included,
/// strata's own left out, so files of one dataset compare equal). Plain reads, not a memory
/// map: the file is deleted once compacted, and a kept map would hold its blocks.
fn read_file(path: &Path) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
    let scan = Scan::new(path).no_mmap(true);
    let schema = without_strata_metadata(scan.footer()?.schema());
    let batches = scan
        .run()?
        .batches
        .into_iter()
        .map(|b| b.with_schema(schema.clone()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::from(e)
                .during("cannot label the rows with the file's schema")
                .with("path", path.display())
        })?;
    Ok((schema, batches))
}

/// The rows an output's footer declares (a scan's count without a filter reads only footers).
fn footer_rows(path: &Path) -> Result<u64> {
    let (rows, _) = Scan::new(path).no_mmap(true).count()?;
    Ok(rows)
}

/// Opens (creating) the lock file without following a link, and only as a regular file (a
/// FIFO there would block the open).
fn open_lock(path: &Path) -> Result<File> {
    let mut options = File::options();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
    }
    let lock = options
        .open(path)
        .map_err(|e| Error::io("cannot open compaction lock", path, e))?;
    let meta = lock
        .metadata()
        .map_err(|e| Error::io("cannot open compaction lock", path, e))?;
    if !meta.is_file() {
        return Err(Error::invalid(
            "the compaction lock is not a regular file; strata does not use it",
        )
        .with("path", path.display()));
    }
    Ok(lock)
}

/// Compacts the dataset under `root`.
pub fn compact(root: &Path, options: &CompactOptions) -> Result<CompactReport> {
    compact_until(root, options, None)
}

/// [`compact`] that stops after `stop`, leaving the dataset as a crash there would.
#[doc(hidden)]
pub fn compact_until(
    root: &Path,
    options: &CompactOptions,
    stop: Option<CompactStep>,
) -> Result<CompactReport> {
    options.write.validate()?;
    if !root.is_dir() {
        return Err(Error::not_found("no such dataset directory").with("path", root.display()));
    }
    let lock = open_lock(&root.join(LOCK))?;
    lock.try_lock().map_err(|_| {
        Error::new(
            ErrorKind::Busy,
            "another compaction of this dataset is running",
        )
        .with("path", root.display())
    })?;
    let mut report = CompactReport::default();
    let mut files = Vec::new();
    let mut staged = Vec::new();
    walk(root, &mut files, &mut staged)?;
    if let Some(m) = read_manifest(root)? {
        roll_forward(root, &m)?;
        report.recovered = true;
        files.clear();
        staged.clear();
        walk(root, &mut files, &mut staged)?;
    }
    for leftover in &staged {
        // No manifest names them: an uncommitted compaction's outputs.
        std::fs::remove_file(leftover)
            .map_err(|e| Error::io("cannot remove staged file", leftover, e))?;
        report.recovered = true;
    }
    let target = options.write.target_file_bytes;
    let small = options.small_file_bytes.unwrap_or(target / 2);
    let mut by_dir: BTreeMap<PathBuf, Vec<(PathBuf, u64)>> = BTreeMap::new();
    for (path, size) in files {
        if size < small {
            let dir = path.parent().unwrap_or(root).to_path_buf();
            by_dir.entry(dir).or_default().push((path, size));
        }
    }
    // Names nobody can know before this run: nothing can be planted at them, and two runs
    // never pick the same ones.
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag)
        .map_err(|e| Error::internal(format!("the OS random source failed: {e}")))?;
    let id: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    let mut seq = 0usize;
    for (dir, mut candidates) in by_dir {
        candidates.sort();
        // Bins of consecutive files up to the target size; a bin of one file stays as it is.
        let mut bins: Vec<Vec<(PathBuf, u64)>> = Vec::new();
        let mut filled = u64::MAX;
        for c in candidates {
            if filled.saturating_add(c.1) > target {
                bins.push(Vec::new());
                filled = 0;
            }
            filled += c.1;
            if let Some(bin) = bins.last_mut() {
                bin.push(c);
            }
        }
        let mut compacted_here = false;
        for bin in bins.into_iter().filter(|b| b.len() > 1) {
            // Files of one output must share a schema: split the bin by schema.
            let mut by_schema: Vec<(
                arrow::datatypes::SchemaRef,
                Vec<RecordBatch>,
                Vec<PathBuf>,
                u64,
            )> = Vec::new();
            for (path, size) in bin {
                let (schema, batches) = read_file(&path)?;
                match by_schema.iter_mut().find(|(s, ..)| *s == schema) {
                    Some(entry) => {
                        entry.1.extend(batches);
                        entry.2.push(path);
                        entry.3 += size;
                    }
                    None => by_schema.push((schema, batches, vec![path], size)),
                }
            }
            for (schema, batches, inputs, bytes_in) in by_schema {
                if inputs.len() < 2 {
                    continue;
                }
                let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
                let base = seq;
                let name = |n: usize| format!("{STAGED}part-c{id}-{:05}.parquet", base + n);
                let outputs: Vec<WrittenFile> =
                    write_named(&dir, &name, &schema, &batches, &options.write)?;
                seq += outputs.len();
                drop(batches);
                let out_rows: u64 = outputs
                    .iter()
                    .map(|o| footer_rows(&o.path))
                    .sum::<Result<u64>>()?;
                if out_rows != rows {
                    for o in &outputs {
                        let _ = std::fs::remove_file(&o.path);
                    }
                    return Err(Error::internal(format!(
                        "compaction wrote {out_rows} rows for {rows}; inputs kept"
                    ))
                    .with("path", dir.display()));
                }
                if stop == Some(CompactStep::OutputsWritten) {
                    return Ok(report);
                }
                let manifest = Manifest {
                    version: 1,
                    outputs: outputs
                        .iter()
                        .map(|o| {
                            let staged = rel(root, &o.path);
                            let fin = rel(
                                root,
                                &o.path.with_file_name(
                                    o.path
                                        .file_name()
                                        .map(|n| n.to_string_lossy().replacen(STAGED, "", 1))
                                        .unwrap_or_default(),
                                ),
                            );
                            (staged, fin)
                        })
                        .collect(),
                    inputs: inputs.iter().map(|p| rel(root, p)).collect(),
                    rows,
                };
                let text = serde_json::to_vec_pretty(&manifest)
                    .map_err(|e| Error::internal(format!("cannot encode manifest: {e}")))?;
                let manifest_path = root.join(MANIFEST);
                // Nothing is there after the roll-forward above, unless something that is not
                // strata's manifest (a dangling link) took the name: never written through.
                if present(&manifest_path)? {
                    return Err(not_a_manifest(&manifest_path));
                }
                let mut file = AtomicFile::create(&manifest_path)?;
                std::io::Write::write_all(&mut file, &text)
                    .map_err(|e| Error::io("cannot write manifest", root, e))?;
                file.commit()?;
                if stop == Some(CompactStep::ManifestCommitted) {
                    return Ok(report);
                }
                for (s, f) in &manifest.outputs {
                    move_into_place(&root.join(s), &root.join(f))?;
                }
                if stop == Some(CompactStep::OutputsRenamed) {
                    return Ok(report);
                }
                remove_inputs(root, &manifest)?;
                if stop == Some(CompactStep::InputsDeleted) {
                    return Ok(report);
                }
                let path = root.join(MANIFEST);
                std::fs::remove_file(&path)
                    .map_err(|e| Error::io("cannot remove manifest", &path, e))?;
                sync_dir(root);
                compacted_here = true;
                report.files_in += inputs.len();
                report.files_out += outputs.len();
                report.rows += rows;
                report.bytes_in += bytes_in;
                report.bytes_out += outputs.iter().map(|o| o.bytes).sum::<u64>();
            }
        }
        if compacted_here {
            report.directories += 1;
        }
    }
    Ok(report)
}
