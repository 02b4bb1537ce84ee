//! Copy-on-write rewrites, file by file, for delete, update and merge.
//!
//! A file is read only when its partition values and statistics say it may hold a matching
//! row (a filtered count first, which the Delta statistics, the footer's row-group statistics
//! and the page index keep cheap), and only a file with a changed row is written again. Its
//! rows stream batch by batch through the change into one new file beside it (same partition
//! directory and values), so memory is a batch and the new file's encoded row group per
//! thread, never a whole file and never the table. Files are rewritten on as many threads as
//! rayon's pool has, one file per thread. The codecs and encodings are chosen once, on the
//! first rewritten file, and reused for the rest of the change.
//!
//! A change that keeps every row and sets only some columns (an update, a merge that updates)
//! encodes only the columns it changed: the new file has the old one's row groups, and every
//! other column chunk is copied from the old file byte for byte (`format::splice`). A merge
//! learns which columns changed in a first pass over the file, as its update leaves a column
//! whose matched values were already the source's as it was.
//!
//! A change that moves rows between partitions (it sets a partition column) cannot stream into
//! one file: it gathers each file's rows and writes them through the partitioned writer.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use arrow::array::RecordBatch;
use deltalake_core::kernel::{Add, Remove};

use super::change::{ChangeReport, Target};
use super::{write, Table};
use crate::atomic_file::AtomicFile;
use crate::error::{Error, Result};
use crate::format::{ColumnChoice, FormatChoice, ParquetStreamWriter, Splice};
use crate::read::{Expr, Scan};

/// Rows per batch a rewrite reads: the first batch is also the sample the codecs and
/// encodings are chosen on, so it is as large as the writer's own samples.
const REWRITE_BATCH_ROWS: usize = 32_768;

/// What a rewrite prepared: the report so far, and the actions to commit.
pub(super) struct Rewritten {
    pub(super) report: ChangeReport,
    pub(super) removes: Vec<Remove>,
    pub(super) adds: Vec<Add>,
}

/// Rows a change updated and deleted (in a batch, a file or the whole change).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Changed {
    pub(super) updated: u64,
    pub(super) deleted: u64,
}

impl Changed {
    fn rows(self) -> u64 {
        self.updated + self.deleted
    }

    fn add(&mut self, other: Changed) {
        self.updated += other.updated;
        self.deleted += other.deleted;
    }
}

/// How a rewrite changes one batch of a file: the rows to write back, and the rows it
/// updated and deleted. Called on several threads at once, a file each, and may be called
/// twice on a batch (a probe, then the write): what it counts it returns, not keeps.
pub(super) type Rewrite<'a> = dyn Fn(&RecordBatch) -> Result<(RecordBatch, Changed)> + Sync + 'a;

/// What a change may alter in a file's rows.
pub(super) enum Touches {
    /// It may drop rows: files are encoded again whole.
    Rows,
    /// It keeps every row and may set only these columns; the file's other column chunks are
    /// copied as they are. With `probe`, the change returns a column it set to the values it
    /// already had as the very same array, and a first pass over each file finds the columns
    /// that really changed (a merge's update of every column, most of them to equal values).
    Columns { names: Vec<String>, probe: bool },
}

/// Which files a rewrite reads, and what it may do with them.
pub(super) struct Rewriting<'a> {
    /// Only files that may hold a row matching this are read (every file when `None`).
    pub(super) filter: Option<&'a Expr>,
    /// A file whose rows all match `filter` is removed without being read in full (a delete).
    pub(super) drop_whole: bool,
    /// The change leaves partition columns as they are, so each file's rows stream into one
    /// new file in the same partition.
    pub(super) keeps_partitions: bool,
    /// What it may alter.
    pub(super) touches: Touches,
}

/// What a rewrite did with one file.
enum Outcome {
    /// Not read: its statistics (`by_stats`) or a filtered count found no matching row.
    Skipped { by_stats: bool },
    /// Read, and nothing changed: no row matched, or the matched rows already held the new
    /// values (`changed` counts them).
    Unchanged { changed: Changed },
    /// Every row matched a delete: removed without being read in full.
    Dropped { rows: u64 },
    /// Written again: rows changed and copied, and the new files (none when no row stayed).
    Rewritten {
        changed: Changed,
        copied: u64,
        adds: Vec<Add>,
        bytes: u64,
    },
}

impl Table {
    /// Runs `change` over every file of `target` that `how` selects, writing each changed
    /// file's rows back as new files. The report counts changed rows as `rows_updated`.
    pub(super) fn rewrite(
        &self,
        target: &Target,
        how: &Rewriting<'_>,
        change: &Rewrite<'_>,
    ) -> Result<Rewritten> {
        let n = target.files.files.len();
        let workers = rayon::current_num_threads().clamp(1, n.max(1));
        let next = AtomicUsize::new(0);
        let done = AtomicU64::new(0);
        let failed = AtomicBool::new(false);
        let choices = Mutex::new(None);
        self.report("rewrite", 0, n as u64);
        let work = || {
            let mut mine = Vec::new();
            while !failed.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let outcome = self.rewrite_file(target, i, how, change, &choices, workers > 1);
                // The files it read go with the commit: their kept maps only swell the RSS.
                self.home.forget_maps();
                failed.fetch_or(outcome.is_err(), Ordering::Relaxed);
                mine.push((i, outcome));
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                self.report("rewrite", d, n as u64);
            }
            mine
        };
        let mut outcomes: Vec<(usize, Result<Outcome>)> = if workers == 1 {
            work()
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..workers).map(|_| s.spawn(work)).collect();
                handles
                    .into_iter()
                    .flat_map(|h| {
                        h.join().unwrap_or_else(|_| {
                            vec![(0, Err(Error::internal("a rewrite thread panicked")))]
                        })
                    })
                    .collect()
            })
        };
        outcomes.sort_by_key(|(i, _)| *i);
        let mut report = ChangeReport::default();
        let mut removes = Vec::new();
        let mut adds = Vec::new();
        for (i, outcome) in outcomes {
            match outcome? {
                Outcome::Skipped { by_stats: true } => report.files_skipped += 1,
                Outcome::Skipped { by_stats: false } => report.files_scanned += 1,
                Outcome::Unchanged { changed } => {
                    report.files_scanned += 1;
                    report.rows_updated += changed.updated;
                    report.rows_deleted += changed.deleted;
                }
                Outcome::Dropped { rows } => {
                    report.files_scanned += 1;
                    report.rows_deleted += rows;
                    removes.push(target.removes[i].clone());
                }
                Outcome::Rewritten {
                    changed,
                    copied,
                    adds: new,
                    bytes,
                } => {
                    report.files_scanned += 1;
                    report.rows_updated += changed.updated;
                    report.rows_deleted += changed.deleted;
                    report.rows_copied += copied;
                    report.bytes_added += bytes;
                    adds.extend(new);
                    removes.push(target.removes[i].clone());
                }
            }
        }
        Ok(Rewritten {
            report,
            removes,
            adds,
        })
    }

    /// [`Table::rewrite`] for file `i`; `one_thread` when other files are being rewritten
    /// beside it (its scans then decode on one thread).
    fn rewrite_file(
        &self,
        target: &Target,
        i: usize,
        how: &Rewriting<'_>,
        change: &Rewrite<'_>,
        choices: &Mutex<Option<Vec<ColumnChoice>>>,
        one_thread: bool,
    ) -> Result<Outcome> {
        let scan = |target: &Target| -> Result<Scan> {
            let scan = self
                .scan_files(&target.table, target.files.file(i))?
                .batch_size(REWRITE_BATCH_ROWS);
            Ok(if one_thread { scan.threads(1) } else { scan })
        };
        let matched = match how.filter {
            Some(filter) => {
                let (count, stats) = scan(target)?.filter(filter.clone()).count()?;
                if count == 0 {
                    return Ok(Outcome::Skipped {
                        by_stats: stats.files_skipped > 0,
                    });
                }
                Some(count)
            }
            None => None,
        };
        if how.drop_whole && matched.is_some() && matched == target.rows(i) {
            return Ok(Outcome::Dropped {
                rows: matched.unwrap_or(0),
            });
        }
        let remove = &target.removes[i];
        if !how.keeps_partitions || remove.path.contains("://") {
            return self.rewrite_gathered(target, scan(target)?, change);
        }
        // The new file goes beside the old one: same partition directory and values.
        let dir = remove
            .path
            .rsplit_once('/')
            .map(|(dir, _)| format!("{dir}/"))
            .unwrap_or_default();
        let rel = format!("{dir}part-00000-{}.parquet", crate::format::run_id());
        let data_schema = write::data_schema(&target.stored, &target.partition_by);
        let data_columns: Vec<usize> = data_schema
            .fields()
            .iter()
            .filter_map(|f| target.stored.index_of(f.name()).ok())
            .collect();
        let mut options = target.write.clone();
        options.format = FormatChoice::Parquet;
        options.partitioning = None;
        options.sort_by.clear();
        let encrypted = options.encryption.is_some();
        let reuse = choices.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let scan = scan(target)?;

        // Which columns change, when the change keeps every row: the others are copied.
        let mut probed = None;
        let splice = match (&how.touches, self.home.local(&target.files.files[i].0)) {
            (Touches::Columns { names, probe }, Some(old)) if !encrypted => {
                let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
                if *probe {
                    let (counted, changed) = probe_columns(&scan, change, &names)?;
                    if counted.rows() == 0 || changed.is_empty() {
                        return Ok(Outcome::Unchanged { changed: counted });
                    }
                    probed = Some(counted);
                    names = changed;
                }
                let changed: Vec<bool> = data_schema
                    .fields()
                    .iter()
                    .map(|f| names.contains(&f.name().as_str()))
                    .collect();
                Splice::open(&old, &data_schema, &changed)?
            }
            _ => None,
        };

        let (mut changed, mut read, mut kept) = (Changed::default(), 0u64, 0u64);
        let made = self.home.write_file(&self.runtime, &rel, |path| {
            let file = AtomicFile::create(path)?;
            let mut writer = ParquetStreamWriter::new(file, &data_schema, &options, REASON)?;
            if let Some(reuse) = reuse.clone() {
                writer = writer.reusing(reuse);
            }
            if let Some(splice) = splice {
                writer = writer.splicing(splice);
            }
            scan.for_each(|batch| {
                read += batch.num_rows() as u64;
                let (out, n) = change(&batch)?;
                changed.add(n);
                kept += out.num_rows() as u64;
                if out.num_rows() == 0 {
                    return Ok(());
                }
                let out = write::conform(&[out], &target.stored)?
                    .pop()
                    .ok_or_else(|| Error::internal("a conformed batch went missing"))?;
                let out = out
                    .project(&data_columns)
                    .map_err(|e| Error::internal(format!("cannot drop partition columns: {e}")))?;
                writer.write(&out)
            })?;
            if changed.rows() == 0 || kept == 0 {
                // Dropping the writer drops its unfinished file.
                return Ok(None);
            }
            if reuse.is_none() {
                if let Some(made) = writer.choices() {
                    *choices.lock().unwrap_or_else(|p| p.into_inner()) = Some(made.to_vec());
                }
            }
            writer.finish()?.commit()?;
            let bytes = std::fs::metadata(path)
                .map_err(|e| Error::io("cannot stat a new data file", path, e))?
                .len();
            let add = write::add_for(
                path,
                rel.clone(),
                remove.partition_values.clone().unwrap_or_default(),
                (kept, bytes),
                encrypted,
                &data_schema,
                crate::clock::now_ms() as i64,
            )?;
            Ok(Some((add, bytes)))
        })?;
        // A probe counted the file's changes first; the write saw the same.
        let changed = probed.unwrap_or(changed);
        if changed.rows() == 0 {
            return Ok(Outcome::Unchanged { changed });
        }
        let (adds, bytes) = match made {
            Some((add, bytes)) => (vec![add], bytes),
            None => (Vec::new(), 0),
        };
        Ok(Outcome::Rewritten {
            changed,
            copied: read.saturating_sub(changed.rows()),
            adds,
            bytes,
        })
    }

    /// A rewrite of the file `scan` reads whose changed rows may belong to other partitions:
    /// its rows are gathered, then written through the partitioned writer.
    fn rewrite_gathered(
        &self,
        target: &Target,
        scan: Scan,
        change: &Rewrite<'_>,
    ) -> Result<Outcome> {
        let out = scan.run()?;
        let mut changed = Changed::default();
        let mut rows = Vec::with_capacity(out.batches.len());
        for batch in &out.batches {
            let (batch, n) = change(batch)?;
            changed.add(n);
            if batch.num_rows() > 0 {
                rows.push(batch);
            }
        }
        if changed.rows() == 0 {
            return Ok(Outcome::Unchanged { changed });
        }
        let read: u64 = out.batches.iter().map(|b| b.num_rows() as u64).sum();
        drop(out);
        let rows = write::conform(&rows, &target.stored)?;
        let written = self.write_rows(target, &rows)?;
        Ok(Outcome::Rewritten {
            changed,
            copied: read.saturating_sub(changed.rows()),
            adds: written.adds,
            bytes: written.bytes,
        })
    }
}

/// A first pass of `change` over the file `scan` reads: the rows it changes, and which of
/// `names` it changes (a column it returns as the very array it was given did not change).
fn probe_columns<'n>(
    scan: &Scan,
    change: &Rewrite<'_>,
    names: &[&'n str],
) -> Result<(Changed, Vec<&'n str>)> {
    let mut counted = Changed::default();
    let mut changed = vec![false; names.len()];
    scan.for_each(|batch| {
        let (out, n) = change(&batch)?;
        counted.add(n);
        if n.rows() == 0 {
            return Ok(());
        }
        if out.num_rows() != batch.num_rows() {
            return Err(Error::internal(
                "a change that keeps every row dropped some; nothing was written",
            ));
        }
        for (name, seen) in names.iter().zip(changed.iter_mut()) {
            if *seen {
                continue;
            }
            let (Ok(before), Ok(after)) =
                (batch.schema().index_of(name), out.schema().index_of(name))
            else {
                // Not a column of the batch: count it changed, to be safe.
                *seen = true;
                continue;
            };
            *seen = !std::sync::Arc::ptr_eq(batch.column(before), out.column(after));
        }
        Ok(())
    })?;
    Ok((
        counted,
        names
            .iter()
            .zip(changed)
            .filter(|(_, c)| *c)
            .map(|(n, _)| *n)
            .collect(),
    ))
}

/// Why a rewritten file is Parquet (recorded in its footer).
const REASON: &str = "a table's data file, rewritten by a row-level change";
