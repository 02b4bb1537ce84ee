//! In order on several threads by splitting the columns, not the row groups.
//!
//! Splitting row groups between threads (see [`super::ordered`]) has to hold every row group
//! decoded ahead of the one going out: a whole row group's batches (12 MB for two numeric
//! columns of a million rows), written to memory that has left the core's cache and read back
//! later. On a 2-core machine a 2-column projection ran only 1.1-1.4x faster on 2 threads that
//! way, while two threads each dropping their own batches ran 1.8x faster.
//!
//! Here every thread reads the same row group, each its own group of the projected columns,
//! and the caller puts their batches side by side as they come. Each reader decodes batches of
//! at least [`SPLIT_BATCH_ROWS`] rows, a whole number of the scan's batches (cut to its batch
//! size afterwards): one hand-over per small batch cost more than a small projection takes to
//! decode. Hand-overs spin briefly before they sleep (see [`super::handoff`]).
//!
//! The columns are shared out by an estimate of their decoding cost from the footer (bytes
//! after decompression plus a cost per value, more for strings), and the threads take turns
//! with the groups from one row group to the next (see [`group_of`]): two columns of unequal
//! cost (zstd `qty` and `price`: 1 to 1.8) then even out over two row groups instead of
//! leaving the cheaper column's thread waiting. Only for mapped or plain files, and scans
//! without a filter: a filter is applied to whole rows, which would all meet on the caller's
//! thread.
//!
//! Measured on the scan bench's files (2 threads against 1, in order, one run): 2-column
//! projection 1.75x (snappy) and 1.92x (zstd), full scan 1.76x and 1.94x; sharing out row
//! groups had given 1.1-1.4x, 1.6x, 1.7x and 1.6x.

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{FieldRef, Schema, SchemaRef};
use parquet::arrow::arrow_reader::RowSelection;
use parquet::arrow::ProjectionMask;
use parquet::basic::Type as PhysicalType;
use parquet::file::metadata::ParquetMetaData;

use super::handoff::{hand_over, receive};
use super::ordered::placement;
use super::source::ParquetSource;
use crate::{Error, Result};

/// The fewest rows each column reader decodes per batch.
pub(crate) const SPLIT_BATCH_ROWS: usize = 32_768;

/// Batches a worker may hand over ahead of the caller beyond a row group's.
const AHEAD: usize = 2;

/// The most items a worker's channel holds (32M rows at the fewest rows per batch).
const MAX_DEPTH: usize = 1024;

/// The projected leaf columns `leaves` in at most `threads` groups of whole top-level columns,
/// balanced by estimated decoding cost over the row groups of `tasks`, the costliest group
/// first (the caller's in the first row group, see [`group_of`]). Fewer than two groups when there
/// are fewer than two top-level columns to share out.
pub(crate) fn column_groups(
    metadata: &ParquetMetaData,
    tasks: &[(usize, Option<RowSelection>)],
    leaves: &[usize],
    threads: usize,
) -> Vec<Vec<usize>> {
    let schema = metadata.file_metadata().schema_descr();
    // (root, its leaves, estimated cost), in root order.
    let mut roots: Vec<(usize, Vec<usize>, u64)> = Vec::new();
    for &leaf in leaves {
        let root = schema.get_column_root_idx(leaf);
        let cost = tasks
            .iter()
            .map(|(rg, _)| leaf_cost(metadata, *rg, leaf))
            .sum::<u64>();
        match roots.iter_mut().find(|(r, _, _)| *r == root) {
            Some((_, l, c)) => {
                l.push(leaf);
                *c += cost;
            }
            None => roots.push((root, vec![leaf], cost)),
        }
    }
    let count = threads.min(roots.len());
    if count < 2 {
        return Vec::new();
    }
    // Longest first, each to the group with the least so far.
    roots.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    let mut groups: Vec<(u64, Vec<usize>)> = vec![(0, Vec::new()); count];
    for (_, leaves, cost) in roots {
        if let Some(least) = groups.iter_mut().min_by_key(|(c, _)| *c) {
            least.0 += cost;
            least.1.extend(leaves);
        }
    }
    groups.sort_by_key(|(cost, _)| std::cmp::Reverse(*cost));
    groups
        .into_iter()
        .map(|(_, mut leaves)| {
            leaves.sort_unstable();
            leaves
        })
        .collect()
}

/// What decoding leaf column `leaf` of row group `rg` is estimated to cost, in bytes' worth:
/// its bytes after decompression, and per value 4 more (the copy into the output) or 16 for
/// byte arrays (an offset and a copy of each value, dictionary-encoded strings included).
fn leaf_cost(metadata: &ParquetMetaData, rg: usize, leaf: usize) -> u64 {
    let chunk = metadata.row_group(rg).column(leaf);
    let bytes = u64::try_from(chunk.uncompressed_size()).unwrap_or(0);
    let values = u64::try_from(chunk.num_values()).unwrap_or(0);
    let per_value = match chunk.column_type() {
        PhysicalType::BYTE_ARRAY | PhysicalType::FIXED_LEN_BYTE_ARRAY => 16,
        _ => 4,
    };
    bytes.saturating_add(values.saturating_mul(per_value))
}

/// Decodes the row groups of `tasks` from `source` on this thread and `groups.len() - 1`
/// workers of `pool` (rayon's global pool when `None`), each thread one group of leaf columns
/// per row group, taking turns (see [`group_of`]), and hands `each` batches of all of them
/// side by side, of at most `batch_size` rows, in order.
/// `each` returns false to stop. Returns `None` without decoding anything when called from a
/// worker of the pool (it would wait on tasks that may need its thread) or when the pool has
/// too few threads for the groups.
pub(crate) fn by_columns(
    pool: Option<&rayon::ThreadPool>,
    source: &ParquetSource,
    tasks: &[(usize, Option<RowSelection>)],
    groups: &[Vec<usize>],
    batch_size: usize,
    each: &mut dyn FnMut(RecordBatch) -> Result<bool>,
) -> Option<Result<()>> {
    let (on_worker, threads) = placement(pool);
    if on_worker || groups.len() < 2 || threads < groups.len() - 1 {
        return None;
    }
    let schema = source.metadata.metadata().file_metadata().schema_descr();
    let masks: Vec<ProjectionMask> = groups
        .iter()
        .map(|leaves| ProjectionMask::leaves(schema, leaves.iter().copied()))
        .collect();
    // Where each group's columns go in the batch: their top-level columns, in order.
    let roots: Vec<Vec<usize>> = groups
        .iter()
        .map(|leaves| {
            let mut roots: Vec<usize> = leaves
                .iter()
                .map(|&l| schema.get_column_root_idx(l))
                .collect();
            roots.dedup();
            roots
        })
        .collect();
    // A whole number of the scan's batches, so that every batch handed out is full but a row
    // group's last.
    let batch_size = batch_size.max(1);
    let rows = SPLIT_BATCH_ROWS.div_ceil(batch_size) * batch_size;
    let metadata = source.metadata.metadata();
    let most_rows = tasks
        .iter()
        .map(|(rg, _)| usize::try_from(metadata.row_group(*rg).num_rows()).unwrap_or(0))
        .max()
        .unwrap_or(0);
    let plan = Plan {
        source,
        tasks,
        masks: &masks,
        roots: &roots,
        rows,
        batch_size,
        // A row group's batches, its end, and a few more; bounded, since the channel's slots
        // are allocated up front and a damaged footer can claim any number of rows (a longer
        // row group only makes its worker wait sooner).
        depth: (most_rows.div_ceil(rows) + 1 + AHEAD).min(MAX_DEPTH),
    };
    Some(match pool {
        Some(pool) => pool.in_place_scope(|scope| plan.run(scope, each)),
        None => rayon::in_place_scope(|scope| plan.run(scope, each)),
    })
}

/// What a worker hands over: a batch of one row group's columns, `None` at the end of the row
/// group, or the error that stopped it.
type Item = Result<Option<RecordBatch>>;

/// What each thread of a split scan reads.
struct Plan<'s> {
    source: &'s ParquetSource,
    tasks: &'s [(usize, Option<RowSelection>)],
    /// Each group's columns, the costliest first.
    masks: &'s [ProjectionMask],
    /// Each group's top-level columns, in order.
    roots: &'s [Vec<usize>],
    /// Rows per decoded batch.
    rows: usize,
    batch_size: usize,
    /// How many items a worker may hand over ahead of the caller.
    depth: usize,
}

/// The column group thread `thread` (0: the caller) decodes in row group `task` of the scan:
/// they take turns, so that over `groups` row groups each thread decodes every group once and
/// uneven groups even out. A thread whose group is cheap in one row group starts on its
/// costlier group of the next while the others finish; what it decodes ahead waits (at most a
/// row group of its group), which is why the workers' channels hold a row group.
fn group_of(thread: usize, task: usize, groups: usize) -> usize {
    (thread + task) % groups
}

impl<'s> Plan<'s> {
    /// Starts the workers on `scope` and joins their batches with the caller's, row group by
    /// row group.
    fn run(
        &self,
        scope: &rayon::Scope<'s>,
        each: &mut dyn FnMut(RecordBatch) -> Result<bool>,
    ) -> Result<()> {
        let groups = self.masks.len();
        let workers: Vec<Receiver<Item>> = (1..groups)
            .map(|thread| self.spawn(scope, thread))
            .collect();
        let mut joined = Joined::new(self.roots);
        for task in 0..self.tasks.len() {
            let own_group = group_of(0, task, groups);
            let mut own = self.source.run_reader(
                &self.tasks[task..=task],
                self.masks[own_group].clone(),
                None,
                self.rows,
            )?;
            loop {
                let mine = own.next_batch()?;
                let mut parts: Vec<Option<RecordBatch>> = vec![None; groups];
                for (k, rx) in workers.iter().enumerate() {
                    // A worker ends only after an error or once the caller has gone.
                    let item = receive(rx).ok_or_else(out_of_step)?;
                    parts[group_of(k + 1, task, groups)] = item?;
                }
                let Some(mine) = mine else {
                    if parts.iter().any(Option::is_some) {
                        return Err(out_of_step());
                    }
                    break;
                };
                let rows_here = mine.num_rows();
                parts[own_group] = Some(mine);
                let batches = parts
                    .into_iter()
                    .map(|part| part.filter(|b| b.num_rows() == rows_here))
                    .collect::<Option<Vec<RecordBatch>>>()
                    .ok_or_else(out_of_step)?;
                let batch = joined.join(batches)?;
                let mut offset = 0;
                while offset < batch.num_rows() {
                    let len = self.batch_size.min(batch.num_rows() - offset);
                    if !each(batch.slice(offset, len))? {
                        return Ok(());
                    }
                    offset += len;
                }
            }
        }
        Ok(())
        // Returning drops the receivers: workers still decoding stop at their next batch,
        // and the scope waits for them.
    }

    /// Worker `thread`, decoding its group of each row group in turn into a channel.
    fn spawn(&self, scope: &rayon::Scope<'s>, thread: usize) -> Receiver<Item> {
        let (tx, rx) = sync_channel(self.depth);
        let (source, tasks, masks, rows) = (self.source, self.tasks, self.masks, self.rows);
        scope.spawn(move |_| {
            for task in 0..tasks.len() {
                let mask = masks[group_of(thread, task, masks.len())].clone();
                let mut reader = match source.run_reader(&tasks[task..=task], mask, None, rows) {
                    Ok(reader) => reader,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                loop {
                    let next = reader.next_batch();
                    let (end, failed) = (matches!(next, Ok(None)), next.is_err());
                    if !hand_over(&tx, next) || failed {
                        return;
                    }
                    if end {
                        break;
                    }
                }
            }
        });
        rx
    }
}

fn out_of_step() -> Error {
    Error::internal("the column readers of a split scan returned different row counts")
}

/// Puts the groups' batches side by side in top-level column order, under one schema built
/// from the first.
struct Joined<'a> {
    roots: &'a [Vec<usize>],
    /// Which group and column each output column comes from, and the schema.
    layout: Option<(Vec<(usize, usize)>, SchemaRef)>,
}

impl<'a> Joined<'a> {
    fn new(roots: &'a [Vec<usize>]) -> Self {
        Joined {
            roots,
            layout: None,
        }
    }

    fn join(&mut self, batches: Vec<RecordBatch>) -> Result<RecordBatch> {
        let (layout, schema) = match &self.layout {
            Some(layout) => layout,
            None => self.layout.insert(Self::layout(self.roots, &batches)?),
        };
        let columns: Vec<ArrayRef> = layout
            .iter()
            .map(|&(g, i)| batches[g].column(i).clone())
            .collect();
        RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| Error::internal(format!("cannot join a split scan's columns: {e}")))
    }

    /// Where each output column comes from, from the first batches, and their schema.
    fn layout(
        roots: &[Vec<usize>],
        batches: &[RecordBatch],
    ) -> Result<(Vec<(usize, usize)>, SchemaRef)> {
        let mut placed: Vec<(usize, usize, usize)> = Vec::new();
        for (g, roots) in roots.iter().enumerate() {
            if batches[g].num_columns() != roots.len() {
                return Err(Error::internal(format!(
                    "a split scan's column group {g} decoded {} columns, expected {}",
                    batches[g].num_columns(),
                    roots.len()
                )));
            }
            placed.extend(roots.iter().enumerate().map(|(i, &root)| (root, g, i)));
        }
        placed.sort_unstable();
        let fields: Vec<FieldRef> = placed
            .iter()
            .map(|&(_, g, i)| batches[g].schema().fields()[i].clone())
            .collect();
        let metadata = batches[0].schema().metadata().clone();
        let schema = Arc::new(Schema::new_with_metadata(fields, metadata));
        let layout = placed.into_iter().map(|(_, g, i)| (g, i)).collect();
        Ok((layout, schema))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, Int64Array, StringArray, StructArray};
    use arrow::datatypes::{DataType, Field, Fields};
    use bytes::Bytes;
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::ParquetMetaDataReader;

    /// Footer of a file with `small` (i32), `big` (i64), `text` (strings) and `pair`, a
    /// struct of two leaves: leaves 0, 1, 2, 3 and 4.
    fn metadata() -> ParquetMetaData {
        let n = 1000;
        let pair = StructArray::new(
            Fields::from(vec![
                Field::new("x", DataType::Int32, false),
                Field::new("y", DataType::Int32, false),
            ]),
            vec![
                Arc::new(Int32Array::from_iter_values(0..n)),
                Arc::new(Int32Array::from_iter_values(0..n)),
            ],
            None,
        );
        let batch = RecordBatch::try_from_iter([
            (
                "small",
                Arc::new(Int32Array::from_iter_values(0..n)) as ArrayRef,
            ),
            (
                "big",
                Arc::new(Int64Array::from_iter_values(0..i64::from(n))),
            ),
            (
                "text",
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("{i:040}")),
                )),
            ),
            ("pair", Arc::new(pair)),
        ])
        .unwrap();
        let mut out = Vec::new();
        let mut w = ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        ParquetMetaDataReader::new()
            .parse_and_finish(&Bytes::from(out))
            .unwrap()
    }

    fn all(metadata: &ParquetMetaData) -> Vec<(usize, Option<RowSelection>)> {
        (0..metadata.num_row_groups())
            .map(|rg| (rg, None))
            .collect()
    }

    #[test]
    fn the_costliest_column_goes_alone_and_comes_first() {
        let m = metadata();
        let groups = column_groups(&m, &all(&m), &[0, 1, 2], 2);
        assert_eq!(groups, vec![vec![2], vec![0, 1]]);
    }

    #[test]
    fn a_struct_stays_on_one_thread() {
        let m = metadata();
        for threads in 2..6 {
            let groups = column_groups(&m, &all(&m), &[0, 1, 2, 3, 4], threads);
            assert_eq!(groups.len(), threads.min(4));
            let with_x: Vec<_> = groups.iter().filter(|g| g.contains(&3)).collect();
            assert_eq!(with_x.len(), 1);
            assert!(with_x[0].contains(&4), "{groups:?}");
            let mut every: Vec<usize> = groups.concat();
            every.sort_unstable();
            assert_eq!(every, vec![0, 1, 2, 3, 4]);
        }
    }

    #[test]
    fn nothing_to_share_out_with_one_column_or_one_thread() {
        let m = metadata();
        assert!(column_groups(&m, &all(&m), &[2], 4).is_empty());
        assert!(column_groups(&m, &all(&m), &[3, 4], 4).is_empty());
        assert!(column_groups(&m, &all(&m), &[0, 1, 2], 1).is_empty());
        assert!(column_groups(&m, &[], &[0, 1], 2).len() == 2);
    }
}
