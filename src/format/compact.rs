//! `compact`: rewrites the small Parquet files of a dataset into files of the target size
//! without losing or duplicating a row, crash-safe at every step.
//!
//! Per group of small files in one directory:
//!
//! 1. The new files are written under hidden staging names (`.strata-compact-<final name>`),
//!    each atomically; readers skip hidden files, so nothing changes for them.
//! 2. Their row counts are checked against the inputs', then a manifest
//!    (`_strata_compaction.json` at the dataset root, written atomically) records the inputs and
//!    the outputs. Writing the manifest is the commit point.
//! 3. The outputs are renamed to their final names, the inputs deleted, the manifest removed.
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
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use super::options::WriteOptions;
use super::write::{without_strata_metadata, write_named, WrittenFile};
use crate::atomic_file::AtomicFile;
use crate::error::{Error, ErrorKind, Result};

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
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Error::corrupt(format!("unreadable compaction manifest: {e}"))
                .with("path", path.display())
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot read compaction manifest", &path, e)),
    }
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

/// Finishes a committed compaction: every output to its final name, then the inputs go.
fn roll_forward(root: &Path, m: &Manifest) -> Result<()> {
    // Check every output exists before deleting anything.
    for (staged, fin) in &m.outputs {
        if !root.join(staged).exists() && !root.join(fin).exists() {
            return Err(Error::corrupt(format!(
                "compaction manifest names output {fin}, which is missing; inputs kept"
            ))
            .with("path", root.display()));
        }
    }
    for (staged, fin) in &m.outputs {
        let (s, f) = (root.join(staged), root.join(fin));
        if s.exists() {
            std::fs::rename(&s, &f)
                .map_err(|e| Error::io("cannot rename compacted file", &s, e))?;
            if let Some(dir) = f.parent() {
                sync_dir(dir);
            }
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
        // (AtomicFile stages `<name>` as `.<name>.<pid>-<n>.partial`).
        let partial = name.starts_with(&format!(".{STAGED}")) && name.ends_with(".partial");
        if name.starts_with(STAGED) || partial {
            staged.push(path);
        } else if name.starts_with('.') || name.starts_with('_') {
            continue;
        } else if meta.is_dir() {
            walk(&path, files, staged)?;
        } else if name.ends_with(".parquet") || name.ends_with(".parq") {
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

fn read_file(path: &Path) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
    let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    let bad = |e: &dyn std::fmt::Display| {
        Error::corrupt(format!("cannot read Parquet file: {e}")).with("path", path.display())
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(&e))?;
    let schema = without_strata_metadata(builder.schema());
    let batches = builder
        .build()
        .map_err(|e| bad(&e))?
        .map(|b| b.and_then(|b| b.with_schema(schema.clone())))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    Ok((schema, batches))
}

fn footer_rows(path: &Path) -> Result<u64> {
    let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| {
        Error::corrupt(format!("cannot read compacted file: {e}")).with("path", path.display())
    })?;
    Ok(builder.metadata().file_metadata().num_rows() as u64)
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
    let lock_path = root.join(LOCK);
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io("cannot open compaction lock", &lock_path, e))?;
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
    let id = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
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
                let mut file = AtomicFile::create(&root.join(MANIFEST))?;
                std::io::Write::write_all(&mut file, &text)
                    .map_err(|e| Error::io("cannot write manifest", root, e))?;
                file.commit()?;
                if stop == Some(CompactStep::ManifestCommitted) {
                    return Ok(report);
                }
                for (s, f) in &manifest.outputs {
                    std::fs::rename(root.join(s), root.join(f))
                        .map_err(|e| Error::io("cannot rename compacted file", &root.join(s), e))?;
                }
                sync_dir(&dir);
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
