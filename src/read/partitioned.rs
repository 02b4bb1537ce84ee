//! A scan split into partitions, one a thread, each handing its batches to the caller's
//! function on the thread that decoded them.
//!
//! An ordered scan on several threads has one consumer: every batch a worker decodes is held
//! until the caller reaches its row group, then handed over. On the scan bench's 2-column
//! projection (row groups of 1M rows, 12 MB decoded each) that holding is what keeps two
//! threads at about 1.3x one: a decoder whose last row group's output is still alive writes
//! its next pages and batches to memory that has left its core's cache. Measured with the
//! parquet crate alone, two threads each decoding half the row groups ran 1.8x faster than
//! one when each dropped every batch at once, and 1.1x when each held a row group's batches
//! before dropping them. A consumer that can run on several threads (counting, aggregating,
//! writing partitioned output) needs no hand-over at all: here each thread scans one
//! partition ([`Scan::partition`]) and calls the function itself.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use super::ordered::stopped;
use super::{Scan, ScanStats};
use crate::{Error, Result};

impl Scan {
    /// Scans on the scan's threads ([`Scan::threads`], else rayon's global pool), each
    /// reading one partition of the row groups and calling `each(partition, batch)` with its
    /// batches, in order within the partition, on the thread that decoded them: calls come
    /// from several threads at once, and batches of different partitions in no order. No
    /// batch is handed between threads or held back, so this scales with the threads where a
    /// [`Scan::for_each`] consumer on one thread cannot (see the module docs). The first error,
    /// from a partition or from `each`, stops every partition and is returned. Partitions are
    /// fixed in advance (every `n`-th row group), so a filter that prunes one partition's row
    /// groups more than another's leaves the threads unevenly loaded.
    ///
    /// Offset and limit need one order over all rows: a scan with either (or already a
    /// partition) is refused.
    ///
    /// ```no_run
    /// # fn main() -> strata::Result<()> {
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let rows = AtomicUsize::new(0);
    /// let (_schema, stats) = strata::Scan::new("big.parquet")
    ///     .columns(&["fare"])
    ///     .threads(4)
    ///     .for_each_partitioned(|_partition, batch| {
    ///         rows.fetch_add(batch.num_rows(), Ordering::Relaxed);
    ///         Ok(())
    ///     })?;
    /// assert_eq!(rows.into_inner() as u64, stats.rows_out);
    /// # Ok(()) }
    /// ```
    pub fn for_each_partitioned<F>(&self, each: F) -> Result<(SchemaRef, ScanStats)>
    where
        F: Fn(usize, RecordBatch) -> Result<()> + Sync,
    {
        if self.is_windowed() {
            return Err(Error::invalid(
                "a partitioned scan cannot take an offset, a limit or a partition: \
                 they need one order over all rows (use for_each)",
            ));
        }
        self.guarded(false, || self.each_partition(&each), |(_, stats)| stats)
    }

    fn each_partition<F>(&self, each: &F) -> Result<(SchemaRef, ScanStats)>
    where
        F: Fn(usize, RecordBatch) -> Result<()> + Sync,
    {
        let results = self.across_partitions(|index, partition, failed| {
            partition.for_each(|batch| {
                if failed.load(Ordering::Relaxed) {
                    return Err(stopped());
                }
                each(index, batch)
            })
        })?;
        let mut schema = None;
        let mut stats = ScanStats::default();
        for (s, part) in results {
            schema.get_or_insert(s);
            stats.add_partition(&part);
        }
        schema
            .map(|schema| (schema, stats))
            .ok_or_else(|| Error::internal("a partitioned scan ran no partition"))
    }

    /// Counts the matching rows with each thread counting one partition: what
    /// [`Scan::count`] does with a filter on several threads (without one it reads only
    /// footers, and with an offset or limit it needs the rows' order).
    pub(super) fn count_partitioned(&self) -> Result<(u64, ScanStats)> {
        let results = self.across_partitions(|_, partition, _| partition.count())?;
        let mut stats = ScanStats::default();
        for (_, part) in &results {
            stats.add_partition(part);
        }
        Ok((stats.rows_out, stats))
    }

    /// Runs `run(index, partition, failed)` for each of the scan's partitions, one a thread
    /// of the scan's pool (`partition` is this scan reading partition `index` on one thread);
    /// `failed` turns true once any has failed, for the others to stop. Returns every
    /// result, or the first error.
    fn across_partitions<R: Send>(
        &self,
        run: impl Fn(usize, Scan, &AtomicBool) -> Result<R> + Sync,
    ) -> Result<Vec<R>> {
        let partitions = self.thread_count();
        let failed = AtomicBool::new(false);
        // The partition that failed first: the others' errors are only their stops.
        let first_failed = AtomicUsize::new(usize::MAX);
        let scan_one = |index: usize| {
            let partition = self
                .clone()
                .partition(index, partitions)
                .threads(1)
                .admitted_part();
            let result = run(index, partition, &failed);
            if result.is_err() && !failed.swap(true, Ordering::Relaxed) {
                first_failed.store(index, Ordering::Relaxed);
            }
            result
        };
        let results: Vec<Result<R>> = if partitions == 1 {
            vec![scan_one(0)]
        } else {
            self.in_pool(|| {
                (0..partitions)
                    .into_par_iter()
                    .with_max_len(1)
                    .map(scan_one)
                    .collect()
            })?
        };
        let first_failed = first_failed.into_inner();
        let mut out = Vec::with_capacity(results.len());
        for (index, result) in results.into_iter().enumerate() {
            match result {
                Ok(r) => out.push(r),
                Err(e) if index == first_failed => return Err(e),
                Err(_) => {}
            }
        }
        Ok(out)
    }
}

impl ScanStats {
    /// Adds what another partition of the same scan did: every partition opens every file,
    /// so files count once; row groups, pages and rows add up.
    fn add_partition(&mut self, other: &ScanStats) {
        self.files = self.files.max(other.files);
        self.files_skipped = self.files_skipped.max(other.files_skipped);
        self.row_groups_total += other.row_groups_total;
        self.row_groups_skipped += other.row_groups_skipped;
        self.row_groups_skipped_bloom += other.row_groups_skipped_bloom;
        self.pages_total += other.pages_total;
        self.pages_skipped += other.pages_skipped;
        self.rows_decoded += other.rows_decoded;
        self.rows_out += other.rows_out;
        self.bytes_read += other.bytes_read;
    }
}
