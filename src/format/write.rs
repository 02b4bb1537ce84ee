//! Writing batches: choose the format and per-column codecs, then write one file, a multi-file
//! directory, or a Hive-partitioned dataset (partitions written in parallel). Every file is
//! written through [`AtomicFile`], so a crash never leaves a partial file under a data name.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::file::metadata::KeyValue;
use rayon::prelude::*;
use serde::Serialize;

use super::choose::{choose_columns_measured, ColumnChoice};
use super::codec::{Codec, CodecPolicy};
use super::options::{AccessPattern, FormatChoice, WriteOptions};
use super::parquet_file::{encrypted, row_groups, writer_properties, Keys, ParquetFileWriter};
use super::partition::split;
use super::trial_report::CodecTrials;
use crate::atomic_file::AtomicFile;
use crate::error::{Error, ErrorKind, Result};

/// Key-value metadata keys strata records in every file it writes.
pub mod keys {
    /// `parquet` or `ipc`.
    pub const FORMAT: &str = "strata.format";
    /// Why that format.
    pub const FORMAT_REASON: &str = "strata.format.reason";
    /// The codec policy the columns were chosen under.
    pub const CODEC_POLICY: &str = "strata.codec.policy";
    /// The per-column choices, as JSON.
    pub const COLUMNS: &str = "strata.columns";
}

/// The format a file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC file (Feather v2).
    Ipc,
}

impl FileFormat {
    fn extension(self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Ipc => "arrow",
        }
    }
}

impl std::fmt::Display for FileFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Ipc => "ipc",
        })
    }
}

/// Decides the format and says why.
pub fn select_format(options: &WriteOptions, dest: Option<&Path>) -> (FileFormat, String) {
    let ext = dest
        .and_then(Path::extension)
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match options.format {
        FormatChoice::Parquet => (FileFormat::Parquet, "forced by --format parquet".into()),
        FormatChoice::Ipc => (FileFormat::Ipc, "forced by --format ipc".into()),
        FormatChoice::Auto => {
            if matches!(ext.as_deref(), Some("arrow" | "ipc" | "feather")) {
                (
                    FileFormat::Ipc,
                    format!(
                        "destination extension .{} names Arrow IPC",
                        ext.unwrap_or_default()
                    ),
                )
            } else if options.access == AccessPattern::ZeroCopy {
                (
                    FileFormat::Ipc,
                    "hot zero-copy reads: Arrow IPC buffers are used in place, no decode".into(),
                )
            } else if options.tier_position == Some(0) && options.partitioning.is_none() {
                (
                    FileFormat::Parquet,
                    "hot tier, scan access: Parquet (pruning and projection beat zero-copy for scans)"
                        .into(),
                )
            } else {
                (
                    FileFormat::Parquet,
                    "analytical data: columnar, compressed, pruned by statistics, read by every engine"
                        .into(),
                )
            }
        }
    }
}

/// One file a write produced.
#[derive(Debug, Clone, Serialize)]
pub struct WrittenFile {
    /// Its path (under the destination directory for datasets).
    pub path: PathBuf,
    /// Rows in it.
    pub rows: u64,
    /// Its size.
    pub bytes: u64,
}

/// What a write did.
#[derive(Debug, Clone, Serialize)]
pub struct WriteSummary {
    /// The format written.
    pub format: FileFormat,
    /// Why that format.
    pub format_reason: String,
    /// The codec policy.
    pub codec_policy: CodecPolicy,
    /// The files written.
    pub files: Vec<WrittenFile>,
    /// Partition directories written (0 when not partitioned).
    pub partitions: usize,
    /// Rows written.
    pub rows: u64,
    /// Input bytes: the input file's size from the CLI, else the Arrow data's memory size.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
    /// `bytes_in / bytes_out`.
    pub ratio: f64,
    /// Codec and encoding per column (empty for Arrow IPC, which is written uncompressed).
    pub columns: Vec<ColumnChoice>,
    /// What the codec trials measured and took (`None` when no trial ran: Arrow IPC, or
    /// choices reused from an earlier file).
    pub trials: Option<CodecTrials>,
}

/// A 12-hex-digit id for the files of one write (`part-NNNNN-<id>.<ext>`).
pub(crate) fn run_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let x = nanos ^ (u64::from(std::process::id()) << 40) ^ NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:012x}", x & 0xffff_ffff_ffff)
}

/// Sorts all rows by `columns` (nulls first), as one batch.
fn sort(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    columns: &[String],
) -> Result<Vec<RecordBatch>> {
    let all = arrow::compute::concat_batches(schema, batches)
        .map_err(|e| Error::from(e).during("cannot sort"))?;
    let keys = columns
        .iter()
        .map(|name| {
            let idx = schema
                .index_of(name)
                .map_err(|_| Error::invalid(format!("sort column {name:?} is not in the data")))?;
            Ok(arrow::compute::SortColumn {
                values: all.column(idx).clone(),
                options: Some(arrow::compute::SortOptions {
                    descending: false,
                    nulls_first: true,
                }),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let indices = arrow::compute::lexsort_to_indices(&keys, None)
        .map_err(|e| Error::from(e).during("cannot sort"))?;
    let columns = all
        .columns()
        .iter()
        .map(|c| arrow::compute::take(c, &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::from(e).during("cannot sort"))?;
    let sorted = RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| Error::from(e).during("cannot sort"))?;
    Ok(vec![sorted])
}

/// What every file of one write shares (each Parquet file gets its own data keys when the
/// write is encrypted).
pub(super) struct Plan<'k> {
    format: FileFormat,
    metadata: Vec<KeyValue>,
    choices: Vec<ColumnChoice>,
    trials: Option<CodecTrials>,
    props: Option<parquet::file::properties::WriterProperties>,
    keys: Option<Keys<'k>>,
}

impl Plan<'_> {
    /// The per-column choices.
    pub(super) fn choices(&self) -> &[ColumnChoice] {
        &self.choices
    }

    /// The properties of the next Parquet file of `schema`.
    pub(super) fn file_properties(
        &self,
        schema: &SchemaRef,
    ) -> Result<parquet::file::properties::WriterProperties> {
        let props = self
            .props
            .clone()
            .ok_or_else(|| Error::internal("no Parquet properties"))?;
        encrypted(props, schema, self.keys)
    }
}

pub(super) fn plan<'k>(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    options: &WriteOptions,
    keys: Option<Keys<'k>>,
    format: FileFormat,
    reason: &str,
) -> Result<Plan<'k>> {
    plan_reusing(schema, batches, options, keys, format, reason, None)
}

/// [`plan`], with the column choices of an earlier file of the same write given in `reuse`
/// (one change rewriting many files of a table chooses once, not per file).
pub(super) fn plan_reusing<'k>(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    options: &WriteOptions,
    keys: Option<Keys<'k>>,
    format: FileFormat,
    reason: &str,
    reuse: Option<Vec<ColumnChoice>>,
) -> Result<Plan<'k>> {
    let mut trials = None;
    let choices = match format {
        FileFormat::Parquet => match reuse {
            Some(choices) => choices,
            None => {
                let started = std::time::Instant::now();
                let (choices, measured) = choose_columns_measured(schema, batches, options)?;
                trials = Some(CodecTrials::new(started.elapsed().as_secs_f64(), &measured));
                choices
            }
        },
        FileFormat::Ipc if keys.is_some() => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "Parquet modular encryption applies to Parquet files; use --format parquet \
                 (or seal the Arrow IPC file as a lake object with envelope encryption)",
            ));
        }
        FileFormat::Ipc => {
            if !matches!(
                options.codec,
                CodecPolicy::Auto | CodecPolicy::Fast | CodecPolicy::Fixed(Codec::None)
            ) {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "codec {} does not apply to Arrow IPC: strata writes IPC uncompressed so readers use its buffers in place; use --format parquet for compression",
                        options.codec
                    ),
                ));
            }
            Vec::new()
        }
    };
    let columns_json = serde_json::to_string(&choices)
        .map_err(|e| Error::internal(format!("cannot encode column choices: {e}")))?;
    let metadata = vec![
        KeyValue::new(keys::FORMAT.into(), format.to_string()),
        KeyValue::new(keys::FORMAT_REASON.into(), reason.to_string()),
        KeyValue::new(keys::CODEC_POLICY.into(), options.codec.to_string()),
        KeyValue::new(keys::COLUMNS.into(), columns_json),
    ];
    let props = match format {
        FileFormat::Parquet => Some(writer_properties(
            schema,
            &choices,
            options,
            metadata.clone(),
        )?),
        FileFormat::Ipc => None,
    };
    Ok(Plan {
        format,
        metadata,
        choices,
        trials,
        props,
        keys,
    })
}

/// Writes `batches` to files named by `name(n)` in `dir`, rolling over to the next file past
/// `target` bytes (at a row-group boundary). Returns the files written.
fn write_files(
    dir: &Path,
    name: &dyn Fn(usize) -> String,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    plan: &Plan,
    options: &WriteOptions,
    target: u64,
) -> Result<Vec<WrittenFile>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
    let mut written = Vec::new();
    match plan.format {
        FileFormat::Parquet => {
            let mut current: Option<(PathBuf, ParquetFileWriter<AtomicFile>, u64)> = None;
            for group in row_groups(batches, options.row_group_rows) {
                if current.is_none() {
                    let path = dir.join(name(written.len()));
                    let w = ParquetFileWriter::try_new(
                        AtomicFile::create(&path)?,
                        schema,
                        plan.file_properties(schema)?,
                    )?;
                    current = Some((path, w, 0));
                }
                if let Some((_, w, rows)) = current.as_mut() {
                    w.write_row_group(&group)?;
                    *rows += group.iter().map(|b| b.num_rows() as u64).sum::<u64>();
                    if w.bytes_written() as u64 >= target {
                        if let Some((path, w, rows)) = current.take() {
                            written.push(finish_parquet(path, w, rows)?);
                        }
                    }
                }
            }
            if current.is_none() && written.is_empty() {
                // No rows: still one valid, empty file with the schema.
                let path = dir.join(name(0));
                let w = ParquetFileWriter::try_new(
                    AtomicFile::create(&path)?,
                    schema,
                    plan.file_properties(schema)?,
                )?;
                current = Some((path, w, 0));
            }
            if let Some((path, w, rows)) = current.take() {
                written.push(finish_parquet(path, w, rows)?);
            }
        }
        FileFormat::Ipc => {
            let mut start = 0;
            loop {
                let mut size = 0u64;
                let mut end = start;
                while end < batches.len() && (end == start || size < target) {
                    size += batches[end].get_array_memory_size() as u64;
                    end += 1;
                }
                let path = dir.join(name(written.len()));
                written.push(write_ipc(
                    &path,
                    schema,
                    &batches[start..end],
                    &plan.metadata,
                )?);
                start = end;
                if start >= batches.len() {
                    break;
                }
            }
        }
    }
    Ok(written)
}

fn finish_parquet(
    path: PathBuf,
    writer: ParquetFileWriter<AtomicFile>,
    rows: u64,
) -> Result<WrittenFile> {
    let file = writer.finish()?;
    file.commit()?;
    let bytes = std::fs::metadata(&path)
        .map_err(|e| Error::io("cannot stat output", &path, e))?
        .len();
    Ok(WrittenFile { path, rows, bytes })
}

fn write_ipc(
    path: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    metadata: &[KeyValue],
) -> Result<WrittenFile> {
    let fail = |e: arrow::error::ArrowError| {
        Error::from(e)
            .during("cannot write Arrow IPC")
            .with("path", path.display())
    };
    let mut writer =
        arrow::ipc::writer::FileWriter::try_new(AtomicFile::create(path)?, schema).map_err(fail)?;
    for kv in metadata {
        writer.write_metadata(kv.key.clone(), kv.value.clone().unwrap_or_default());
    }
    let mut rows = 0u64;
    for batch in batches {
        writer.write(batch).map_err(fail)?;
        rows += batch.num_rows() as u64;
    }
    writer.finish().map_err(fail)?;
    let file = writer.into_inner().map_err(fail)?;
    file.commit()?;
    let bytes = std::fs::metadata(path)
        .map_err(|e| Error::io("cannot stat output", path, e))?
        .len();
    Ok(WrittenFile {
        path: path.to_path_buf(),
        rows,
        bytes,
    })
}

/// Whether `dest` names a directory (it is one, or its name ends with a separator).
fn is_dir_dest(dest: &Path) -> bool {
    dest.is_dir()
        || dest
            .as_os_str()
            .to_string_lossy()
            .ends_with(std::path::MAIN_SEPARATOR)
}

/// Writes `batches` (of `schema`) to `dest`: one file, or with partitioning or a directory
/// destination, a dataset of `part-*` files (new files are added beside existing ones).
/// Parquet files are encrypted when `options.encryption` says so.
pub fn write(
    dest: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    options: &WriteOptions,
) -> Result<WriteSummary> {
    let keys = options
        .encryption
        .as_ref()
        .map(|e| (e.keys.as_ref(), &e.scheme));
    write_with(dest, schema, batches, options, keys)
}

/// [`write`] with the Parquet keys given apart from the options (a borrowed key provider).
pub(crate) fn write_with(
    dest: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    options: &WriteOptions,
    keys: Option<Keys<'_>>,
) -> Result<WriteSummary> {
    options.validate()?;
    let sorted;
    let batches = if options.sort_by.is_empty() {
        batches
    } else {
        sorted = sort(schema, batches, &options.sort_by)?;
        &sorted[..]
    };
    let dataset = options.partitioning.is_some() || is_dir_dest(dest);
    let (format, reason) = select_format(options, (!dataset).then_some(dest));
    let id = run_id();
    let ext = format.extension();
    let name = move |n: usize| format!("part-{n:05}-{id}.{ext}");
    let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    let bytes_in: u64 = batches
        .iter()
        .map(|b| b.get_array_memory_size() as u64)
        .sum();
    let (files, partitions, (choices, trials)) = if let Some(partitioning) = &options.partitioning {
        let (file_schema, parts) = split(schema, batches, partitioning)?;
        let all: Vec<RecordBatch> = parts.iter().flat_map(|p| p.batches.clone()).collect();
        let plan = plan(&file_schema, &all, options, keys, format, &reason)?;
        drop(all);
        let written = parts
            .par_iter()
            .map(|p| {
                write_files(
                    &dest.join(&p.dir),
                    &name,
                    &file_schema,
                    &p.batches,
                    &plan,
                    options,
                    options.target_file_bytes,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        (written.concat(), parts.len(), (plan.choices, plan.trials))
    } else if dataset {
        let plan = plan(schema, batches, options, keys, format, &reason)?;
        let files = write_files(
            dest,
            &name,
            schema,
            batches,
            &plan,
            options,
            options.target_file_bytes,
        )?;
        (files, 0, (plan.choices, plan.trials))
    } else {
        let plan = plan(schema, batches, options, keys, format, &reason)?;
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file_name = dest
            .file_name()
            .ok_or_else(|| {
                Error::invalid("destination names no file").with("path", dest.display())
            })?
            .to_string_lossy()
            .into_owned();
        let files = write_files(
            &dir,
            &move |_| file_name.clone(),
            schema,
            batches,
            &plan,
            options,
            u64::MAX,
        )?;
        (files, 0, (plan.choices, plan.trials))
    };
    let bytes_out: u64 = files.iter().map(|f| f.bytes).sum();
    Ok(WriteSummary {
        format,
        format_reason: reason,
        codec_policy: options.codec,
        files,
        partitions,
        rows,
        bytes_in,
        bytes_out,
        ratio: bytes_in as f64 / bytes_out.max(1) as f64,
        columns: choices,
        trials,
    })
}

/// Writes Parquet files named `name(n)` into `dir` (rolling over at the target file size),
/// with the codec and encodings chosen for these rows.
pub(crate) fn write_named(
    dir: &Path,
    name: &dyn Fn(usize) -> String,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    options: &WriteOptions,
) -> Result<Vec<WrittenFile>> {
    let keys = options
        .encryption
        .as_ref()
        .map(|e| (e.keys.as_ref(), &e.scheme));
    let plan = plan(
        schema,
        batches,
        options,
        keys,
        FileFormat::Parquet,
        "compaction of small Parquet files",
    )?;
    write_files(
        dir,
        name,
        schema,
        batches,
        &plan,
        options,
        options.target_file_bytes,
    )
}

/// `schema` without the `strata.*` metadata a previous write recorded (a reader copies a
/// file's key-value metadata into the Arrow schema), so rewrites record fresh choices and
/// files of one dataset compare equal by schema.
pub(crate) fn without_strata_metadata(schema: &SchemaRef) -> SchemaRef {
    let mut metadata = schema.metadata().clone();
    metadata.retain(|k, _| !k.starts_with("strata."));
    std::sync::Arc::new(arrow::datatypes::Schema::new_with_metadata(
        schema.fields().clone(),
        metadata,
    ))
}

/// One Parquet file of `batches` in memory, with codecs and encodings chosen under `options`.
pub(crate) fn parquet_bytes(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    options: &WriteOptions,
    reason: &str,
) -> Result<Vec<u8>> {
    options.validate()?;
    let keys = options
        .encryption
        .as_ref()
        .map(|e| (e.keys.as_ref(), &e.scheme));
    let plan = plan(schema, batches, options, keys, FileFormat::Parquet, reason)?;
    let props = plan.file_properties(schema)?;
    super::parquet_file::write_parquet(Vec::new(), schema, batches, props, options.row_group_rows)
}
