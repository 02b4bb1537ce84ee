//! The `table` suite's baselines: the same reads and changes done by hand on the table's
//! Parquet files with the parquet and arrow crates, with no Delta log, no commit and no
//! statistics:
//! - a version's scan: the data files of that version (listed untimed from the JSON commits)
//!   mapped and their footers parsed once, then read to the end by the parquet crate's reader
//!   (scan.rs's baseline: same batch size, the same threads, row groups or columns shared out);
//! - a delete: copy-on-write by hand: every file read, the rows kept by an arrow filter, each
//!   file that lost rows written again whole with `ArrowWriter` (the source file's codec);
//! - a merge (an upsert): a std `HashMap` of the source's keys, every file read and probed,
//!   each file with a matching row written again whole with the matched rows replaced
//!   (`arrow::compute::interleave`), and the unmatched source rows written as one new file.
//!
//! Files are shared over the rayon pool the strata side runs in. Written files go to a
//! directory of their own and are not synced to disk.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, Scalar};
use arrow::compute::kernels::cmp::{gt_eq, lt};
use arrow::compute::{and, cast, filter_record_batch, interleave, not};
use arrow::datatypes::{DataType, Int64Type, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

use super::scan::Mapped;
use super::{io_error, other};

/// The data files of `version` of the Delta table at `dir`: the adds less the removes of the
/// JSON commits 0 to `version` (checkpoints are not read: the suite's tables have every
/// commit file).
pub fn files_at(dir: &Path, version: u64) -> strata::Result<Vec<PathBuf>> {
    let mut files: Vec<String> = Vec::new();
    for v in 0..=version {
        let commit = dir.join(format!("_delta_log/{v:020}.json"));
        let text = std::fs::read_to_string(&commit).map_err(|e| io_error(&commit, e))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let action: serde_json::Value =
                serde_json::from_str(line).map_err(|e| other(&commit.display().to_string(), e))?;
            if let Some(path) = action["add"]["path"].as_str() {
                files.push(path.to_string());
            }
            if let Some(path) = action["remove"]["path"].as_str() {
                files.retain(|f| f != path);
            }
        }
    }
    Ok(files.into_iter().map(|f| dir.join(f)).collect())
}

/// The files mapped, footers parsed: a version's scan baseline's input, opened untimed.
pub fn open(files: &[PathBuf]) -> strata::Result<Vec<Mapped>> {
    files.iter().map(|f| Mapped::open(f)).collect()
}

/// Every row of `files`, one file after another, each read on `threads` threads: rows read.
pub fn read(files: &[Mapped], threads: usize) -> strata::Result<usize> {
    let mut rows = 0;
    for f in files {
        rows += f.read_parallel(threads, (0..f.row_groups()).collect(), None, None)?;
    }
    Ok(rows)
}

/// What a change by hand did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changed {
    pub rows_deleted: u64,
    pub rows_updated: u64,
    pub rows_inserted: u64,
    pub files_written: u64,
}

impl Changed {
    fn add(self, other: Changed) -> Changed {
        Changed {
            rows_deleted: self.rows_deleted + other.rows_deleted,
            rows_updated: self.rows_updated + other.rows_updated,
            rows_inserted: self.rows_inserted + other.rows_inserted,
            files_written: self.files_written + other.files_written,
        }
    }
}

/// A file's rows (8,192-row batches, as strata's scans decode), its schema and writer
/// properties with its codec.
fn read_file(path: &Path) -> strata::Result<(Vec<RecordBatch>, SchemaRef, WriterProperties)> {
    let what = path.display().to_string();
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| other(&what, e))?
        .with_batch_size(strata::read::DEFAULT_BATCH_SIZE);
    let mut props = WriterProperties::builder();
    if let Some(chunk) = builder
        .metadata()
        .row_groups()
        .first()
        .and_then(|g| g.columns().first())
    {
        props = props.set_compression(chunk.compression());
    }
    let schema = builder.schema().clone();
    let batches = builder
        .build()
        .map_err(|e| other(&what, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| other(&what, e))?;
    Ok((batches, schema, props.build()))
}

fn write_file(
    path: &Path,
    schema: SchemaRef,
    batches: &[RecordBatch],
    props: WriterProperties,
) -> strata::Result<()> {
    let file = File::create(path).map_err(|e| io_error(path, e))?;
    let mut writer =
        ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| other("ArrowWriter", e))?;
    for b in batches {
        writer.write(b).map_err(|e| other("ArrowWriter", e))?;
    }
    writer
        .close()
        .map_err(|e| other("ArrowWriter", e))
        .map(drop)
}

fn kernel(e: arrow::error::ArrowError) -> strata::Error {
    other("table baseline", e)
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> strata::Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| other("table baseline", format!("no column {name}")))
}

/// A copy-on-write delete of the rows with `lo <= column < hi` from `files`, the new files
/// written into `out`.
pub fn delete(
    files: &[PathBuf],
    column_name: &str,
    lo: i64,
    hi: i64,
    out: &Path,
) -> strata::Result<Changed> {
    files
        .par_iter()
        .enumerate()
        .map(|(i, path)| {
            let (batches, schema, props) = read_file(path)?;
            let mut kept = Vec::with_capacity(batches.len());
            let mut deleted = 0;
            for b in &batches {
                let keys = column(b, column_name)?;
                let bound = |v: i64| -> strata::Result<Scalar<ArrayRef>> {
                    let a = cast(&Int64Array::from(vec![v]), keys.data_type()).map_err(kernel)?;
                    Ok(Scalar::new(a))
                };
                let hit = and(
                    &gt_eq(keys, &bound(lo)?).map_err(kernel)?,
                    &lt(keys, &bound(hi)?).map_err(kernel)?,
                )
                .map_err(kernel)?;
                let rest = filter_record_batch(b, &not(&hit).map_err(kernel)?).map_err(kernel)?;
                deleted += (b.num_rows() - rest.num_rows()) as u64;
                kept.push(rest);
            }
            if deleted == 0 {
                return Ok(Changed::default());
            }
            write_file(
                &out.join(format!("deleted-{i}.parquet")),
                schema,
                &kept,
                props,
            )?;
            Ok(Changed {
                rows_deleted: deleted,
                files_written: 1,
                ..Changed::default()
            })
        })
        .try_reduce(Changed::default, |a, b| Ok(a.add(b)))
}

/// The two key columns of a batch as one pair per row.
fn keys(batch: &RecordBatch, on: [&str; 2]) -> strata::Result<Vec<(i64, i64)>> {
    let as_i64 = |name: &str| -> strata::Result<Int64Array> {
        let a = cast(column(batch, name)?, &DataType::Int64).map_err(kernel)?;
        Ok(a.as_primitive::<Int64Type>().clone())
    };
    let (a, b) = (as_i64(on[0])?, as_i64(on[1])?);
    Ok(a.values()
        .iter()
        .copied()
        .zip(b.values().iter().copied())
        .collect())
}

/// An upsert of `source` into `files` on the key columns `on`: matched rows replaced,
/// unmatched source rows inserted; new files written into `out`.
pub fn merge(
    files: &[PathBuf],
    source: &RecordBatch,
    on: [&str; 2],
    out: &Path,
) -> strata::Result<Changed> {
    let index: HashMap<(i64, i64), usize> = keys(source, on)?
        .into_iter()
        .enumerate()
        .map(|(row, key)| (key, row))
        .collect();
    let per_file = files
        .par_iter()
        .enumerate()
        .map(|(i, path)| {
            let (batches, schema, props) = read_file(path)?;
            // The source's columns in this file's types, for interleave.
            let replacement: Vec<ArrayRef> = schema
                .fields()
                .iter()
                .map(|f| cast(column(source, f.name())?, f.data_type()).map_err(kernel))
                .collect::<strata::Result<_>>()?;
            let mut matched = Vec::new();
            let mut written = Vec::with_capacity(batches.len());
            for b in batches {
                let mut hits = 0;
                let picks: Vec<(usize, usize)> = keys(&b, on)?
                    .iter()
                    .enumerate()
                    .map(|(row, key)| match index.get(key) {
                        Some(&s) => {
                            matched.push(s);
                            hits += 1;
                            (1, s)
                        }
                        None => (0, row),
                    })
                    .collect();
                if hits == 0 {
                    written.push(b);
                    continue;
                }
                let columns: Vec<ArrayRef> = (0..b.num_columns())
                    .map(|c| {
                        interleave(&[b.column(c).as_ref(), replacement[c].as_ref()], &picks)
                            .map_err(kernel)
                    })
                    .collect::<strata::Result<_>>()?;
                written.push(RecordBatch::try_new(schema.clone(), columns).map_err(kernel)?);
            }
            if !matched.is_empty() {
                write_file(
                    &out.join(format!("merged-{i}.parquet")),
                    schema,
                    &written,
                    props,
                )?;
            }
            Ok(matched)
        })
        .collect::<strata::Result<Vec<Vec<usize>>>>()?;
    let matched: HashSet<usize> = per_file.iter().flatten().copied().collect();
    let mut changed = Changed {
        rows_updated: per_file.iter().map(|m| m.len() as u64).sum(),
        files_written: per_file.iter().filter(|m| !m.is_empty()).count() as u64,
        ..Changed::default()
    };
    let new: BooleanArray = (0..source.num_rows())
        .map(|row| Some(!matched.contains(&row)))
        .collect();
    let inserted = filter_record_batch(source, &new).map_err(kernel)?;
    if inserted.num_rows() > 0 {
        let props = WriterProperties::builder().build();
        write_file(
            &out.join("inserted.parquet"),
            inserted.schema(),
            std::slice::from_ref(&inserted),
            props,
        )?;
        changed.rows_inserted = inserted.num_rows() as u64;
        changed.files_written += 1;
    }
    Ok(changed)
}
