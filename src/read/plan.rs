//! Planning helpers of a scan: which leaf columns to decode, the output schema, which files
//! their partition values rule out, how pages are counted for the stats, and how row groups
//! are split into runs, one reader each.

use std::path::Path;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{Field, Schema, SchemaRef};

use super::dataset::{DataFile, Dataset};
use super::eval;
use super::expr::Expr;
use super::prune::RowRanges;
use super::source::ParquetSource;
use crate::error::{Error, ErrorKind, Result};

/// Leaf columns whose path is one of `names` or lies under one of them.
pub(super) fn leaf_columns(source: &ParquetSource, names: &[String]) -> Vec<usize> {
    let descr = source.metadata.metadata().file_metadata().schema_descr();
    descr
        .columns()
        .iter()
        .enumerate()
        .filter_map(|(i, col)| {
            let parts = col.path().parts();
            let hit = names.iter().any(|name| {
                let want: Vec<&str> = name.split('.').collect();
                parts.first().map(String::as_str) == Some(name.as_str())
                    || (want.len() <= parts.len() && want.iter().zip(parts).all(|(a, b)| a == b))
            });
            hit.then_some(i)
        })
        .collect()
}

/// The data pages of some leaf columns in one row group, as the page index counts them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct PageCount {
    /// Pages.
    pub total: u64,
    /// Of those, pages that hold none of the selected rows.
    pub skipped: u64,
    /// Their compressed bytes.
    pub skipped_bytes: u64,
}

/// Data pages of `leaves` in row group `rg`, and how many of them hold none of `rows`.
pub(super) fn count_pages(
    metadata: &parquet::file::metadata::ParquetMetaData,
    rg: usize,
    leaves: &[usize],
    rows: &RowRanges,
) -> PageCount {
    let mut count = PageCount::default();
    let Some(index) = metadata.offset_index().and_then(|oi| oi.get(rg)) else {
        return count;
    };
    let group_rows = u64::try_from(metadata.row_group(rg).num_rows()).unwrap_or(0);
    for leaf in leaves {
        let Some(pages) = index.get(*leaf).map(|c| c.page_locations()) else {
            continue;
        };
        for (i, page) in pages.iter().enumerate() {
            let start = u64::try_from(page.first_row_index).unwrap_or(0);
            let end = pages
                .get(i + 1)
                .and_then(|p| u64::try_from(p.first_row_index).ok())
                .unwrap_or(group_rows);
            count.total += 1;
            if !rows.overlaps(&(start..end.max(start))) {
                count.skipped += 1;
                count.skipped_bytes += u64::try_from(page.compressed_page_size).unwrap_or(0);
            }
        }
    }
    count
}

/// Compressed bytes of the column chunks of `leaves` in row group `rg`.
pub(super) fn chunk_bytes(
    metadata: &parquet::file::metadata::ParquetMetaData,
    rg: usize,
    leaves: &[usize],
) -> u64 {
    let group = metadata.row_group(rg);
    leaves
        .iter()
        .filter(|&&leaf| leaf < group.num_columns())
        .map(|&leaf| u64::try_from(group.column(leaf).compressed_size()).unwrap_or(0))
        .sum()
}

/// The fields of `output`, in that order, from the file schema or the partition columns.
pub(super) fn output_schema(schema: &Schema, partitions: &[Field], output: &[String]) -> SchemaRef {
    let fields: Vec<Field> = output
        .iter()
        .filter_map(|name| {
            schema
                .field_with_name(name)
                .ok()
                .or_else(|| partitions.iter().find(|p| p.name() == name))
                .cloned()
        })
        .collect();
    std::sync::Arc::new(Schema::new(fields))
}

/// Evaluates the filter's top-level `AND` terms that read only partition columns against the
/// file's partition values; any such term false or null rules the whole file out.
pub(super) fn partition_may_match(
    filter: &Expr,
    dataset: &Dataset,
    file: &DataFile,
    partitions: &[&str],
) -> Result<bool> {
    if partitions.is_empty() {
        return Ok(true);
    }
    let terms = conjuncts(filter);
    let batch = dataset.partition_batch(file, 1)?;
    for term in terms {
        if term.columns().iter().all(|c| partitions.contains(c)) {
            let mask = eval::evaluate(term, &batch)?;
            if !(mask.is_valid(0) && mask.value(0)) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// The terms of the top-level `AND`s (nested ones included), in order, found in a loop.
fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    let mut out = Vec::new();
    let mut todo = vec![expr];
    while let Some(e) = todo.pop() {
        match e {
            Expr::And(terms) => todo.extend(terms.iter().rev()),
            other => out.push(other),
        }
    }
    out
}

/// Checks a scan's filter against the columns of a decoded batch (the files' merged schema
/// and the partition columns) before any row is read, so every caller (Rust, the C ABI's
/// `strata_scan` and `strata_scan_ipc`, Go, C++) gets the same error at the same point: a
/// missing column is `NotFound`, a literal that cannot compare with its column
/// `InvalidArgument`. The filter runs on an empty batch: the very code that filters rows, so
/// the check and the scan cannot disagree.
pub(super) fn check_filter(filter: &Expr, schema: &Schema, path: &Path) -> Result<()> {
    for column in filter.columns() {
        if schema.column_with_name(column).is_none() {
            let available: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "filter column {column} is not in the data; it has {}",
                    available.join(", ")
                ),
            )
            .with("column", column)
            .with("path", path.display()));
        }
    }
    let empty = RecordBatch::new_empty(std::sync::Arc::new(schema.clone()));
    eval::evaluate(filter, &empty).map(|_| ())
}

/// Most row groups one reader decodes: a run is paged in before it is decoded, so a limit
/// reached early has paged in at most this many row groups' columns in vain.
pub(super) const MAX_RUN: usize = 8;

/// Splits `tasks` row groups (in order) into contiguous runs of at most `max_run`, one reader
/// each: few enough that readers are rarely rebuilt (each new reader's buffers are faulted in
/// afresh), enough that `threads` threads share the work evenly (two runs a thread).
pub(super) fn runs(tasks: usize, threads: usize, max_run: usize) -> Vec<std::ops::Range<usize>> {
    let per_run = tasks.div_ceil(threads.max(1) * 2).clamp(1, max_run.max(1));
    (0..tasks)
        .step_by(per_run)
        .map(|start| start..(start + per_run).min(tasks))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::runs;

    #[test]
    fn runs_cover_every_row_group_in_order() {
        for tasks in 0..40 {
            for threads in 1..5 {
                let r = runs(tasks, threads, super::MAX_RUN);
                let flat: Vec<usize> = r.iter().flat_map(|r| r.clone()).collect();
                assert_eq!(flat, (0..tasks).collect::<Vec<_>>());
                assert!(r.iter().all(|r| !r.is_empty() && r.len() <= super::MAX_RUN));
                if tasks >= threads * 2 {
                    assert!(r.len() >= threads * 2 || r.len() * super::MAX_RUN >= tasks);
                }
            }
        }
        assert_eq!(runs(24, 1, super::MAX_RUN).len(), 3);
        assert_eq!(runs(24, 2, super::MAX_RUN).len(), 4);
        assert_eq!(runs(24, 2, 1).len(), 24);
    }
}
