//! Optimize: small files compacted into target-size files per partition (bin-packing), or a
//! partition's rows z-ordered by up to four columns, committed as one `OPTIMIZE` with
//! `dataChange = false` (readers see the same rows). A concurrent append does not make it
//! fail: the files it removes are still there, so it commits again on top; a concurrent
//! change that removed one of them makes it stop with a `Busy` error and nothing lost.
//!
//! The z-order key is strata's own: each column's value mapped to 16 bits (numbers by their
//! place among quantiles of a sample of the partition's values, strings by their rank), so
//! that rows spread evenly over the key's bits however skewed a column is. The bits of the
//! columns are interleaved into one `u64`, rows sorted by it, and the sorted rows cut into
//! files of the target size, so that each file covers a small box of the columns' space and
//! a range filter on any of them skips most files.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, UInt64Array};
use arrow::compute::{cast, concat_batches, sort_to_indices};
use arrow::datatypes::{DataType, Float64Type, Schema, SchemaRef};
use deltalake_core::kernel::{Add, Remove};
use deltalake_core::protocol::DeltaOperation;
use serde::Serialize;

use super::change::Target;
use super::{AsOf, Table};
use crate::error::{Error, ErrorKind, Result};
use crate::read::{evaluate_filter, CmpOp, Expr, Literal};

/// Values of a numeric z-order column sampled for its quantiles.
const QUANTILE_SAMPLE: usize = 1 << 16;

/// Columns a z-order interleaves at most.
pub const MAX_ZORDER_COLUMNS: usize = 4;

/// What to optimize and how.
#[derive(Debug, Clone, Default)]
pub struct OptimizeOptions {
    /// Z-order the rows of each partition by these columns (at most 4); empty: compact only.
    pub zorder_by: Vec<String>,
    /// Only partitions matching this filter on partition columns (strata's filter syntax).
    pub predicate: Option<String>,
    /// The size of the files written (default: the table's target file size).
    pub target_file_bytes: Option<u64>,
    /// Rewrite every selected file, not only small ones, under the table's current write
    /// options: files written with another codec (before the table's tier went cold, or by
    /// another engine) get the codec policy of the tier the table is on now.
    pub reencode: bool,
}

/// What an optimize did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OptimizeReport {
    /// The version committed; `None` when there was nothing to do.
    pub version: Option<u64>,
    /// Partitions rewritten.
    pub partitions: u64,
    /// Files the optimize replaced.
    pub files_before: u64,
    /// Their bytes.
    pub bytes_before: u64,
    /// Files written in their place.
    pub files_after: u64,
    /// Their bytes.
    pub bytes_after: u64,
    /// Commit attempts (more than one when concurrent appends landed first).
    pub attempts: u32,
    /// For each z-order column, a range filter over about 1% of its values (in the first
    /// partition) and the files a scan of it opened before and after.
    pub zorder: Vec<ZorderEffect>,
}

/// How z-ordering changed the files one range filter reads.
#[derive(Debug, Clone, Serialize)]
pub struct ZorderEffect {
    /// The column.
    pub column: String,
    /// The filter measured.
    pub filter: String,
    /// Files in the table before the optimize.
    pub files_before: u64,
    /// Files the filtered scan opened before.
    pub files_read_before: u64,
    /// Files in the table after.
    pub files_after: u64,
    /// Files the filtered scan opened after.
    pub files_read_after: u64,
}

/// Bits of each column in the key (4 columns x 16 bits = 64).
const BITS: u32 = 16;

impl Table {
    /// Compacts small files (and with `zorder_by`, z-orders every file) of each partition the
    /// predicate selects, as one `OPTIMIZE` commit that changes no row.
    pub fn optimize(&self, options: &OptimizeOptions) -> Result<OptimizeReport> {
        self.observed("OPTIMIZE", || {
            if options.zorder_by.len() > MAX_ZORDER_COLUMNS {
                return Err(Error::invalid(format!(
                    "z-order takes at most {MAX_ZORDER_COLUMNS} columns, not {}",
                    options.zorder_by.len()
                )));
            }
            let target = self.target()?;
            target.check_columns(options.zorder_by.iter().map(String::as_str), "--zorder-by")?;
            if let Some(c) = options
                .zorder_by
                .iter()
                .find(|c| target.partition_by.contains(c))
            {
                return Err(Error::invalid(format!(
                    "{c:?} is a partition column: every file of a partition has one value of it"
                )));
            }
            let predicate = options.predicate.as_deref().map(Expr::parse).transpose()?;
            if let Some(p) = &predicate {
                if let Some(c) = p
                    .columns()
                    .into_iter()
                    .find(|c| !target.partition_by.iter().any(|k| k == c))
                {
                    return Err(Error::invalid(format!(
                        "--where may name partition columns only; {c:?} is not one"
                    )));
                }
            }
            let bytes_target = options
                .target_file_bytes
                .unwrap_or(target.write.target_file_bytes)
                .max(1024);
            let selected = selected_files(&target, predicate.as_ref())?;
            // Files of each partition, in the list's order.
            let mut partitions: BTreeMap<Vec<Option<String>>, Vec<usize>> = BTreeMap::new();
            for i in selected {
                partitions
                    .entry(target.files.files[i].1.clone())
                    .or_default()
                    .push(i);
            }
            let sizes: Vec<u64> = target
                .removes
                .iter()
                .map(|r| r.size.unwrap_or(0).max(0) as u64)
                .collect();
            let before_version = target.table.version().unwrap_or(0);
            let mut report = OptimizeReport::default();
            let mut removes: Vec<Remove> = Vec::new();
            let mut adds: Vec<Add> = Vec::new();
            let mut samples: Vec<(String, Literal, Literal)> = Vec::new();
            let n = partitions.len();
            for (done, files) in partitions.values().enumerate() {
                self.report("optimize", done as u64, n as u64);
                let bins: Vec<Vec<usize>> = if options.zorder_by.is_empty() {
                    bin_pack(files, &sizes, bytes_target, options.reencode)
                } else if files.len() > 1 || sizes[files[0]] > bytes_target {
                    vec![files.clone()]
                } else {
                    Vec::new()
                };
                if bins.is_empty() {
                    continue;
                }
                report.partitions += 1;
                for bin in bins {
                    let mut batches = Vec::new();
                    for &i in &bin {
                        let out = self
                            .scan_files(&target.table, target.files.file(i))?
                            .run()?;
                        batches.extend(super::write::conform(&out.batches, &target.stored)?);
                        report.files_before += 1;
                        report.bytes_before += sizes[i];
                        let mut remove = target.removes[i].clone();
                        remove.data_change = false;
                        removes.push(remove);
                    }
                    let bin_bytes: u64 = bin.iter().map(|&i| sizes[i]).sum();
                    // Compaction writes the rows as they are; z-order gathers only its columns,
                    // sorts row numbers by the key, and copies each output file's rows out of the
                    // batches in turn (the partition's rows are held once, not copied whole).
                    let runs: Vec<Vec<(usize, usize)>> = if options.zorder_by.is_empty() {
                        Vec::new()
                    } else {
                        let zcols = gather(&batches, &options.zorder_by)?;
                        if samples.is_empty() {
                            samples = range_samples(&zcols, &options.zorder_by);
                        }
                        let (order, keys) = zorder(&zcols, &options.zorder_by)?;
                        drop(zcols);
                        let locate = row_locator(&batches);
                        let pieces = bin_bytes.div_ceil(bytes_target).max(1) as usize;
                        split_at_cells(&keys, pieces)
                            .into_iter()
                            .map(|run| order[run].iter().map(|&r| locate(r)).collect())
                            .collect()
                    };
                    let mut write = target.write.clone();
                    write.target_file_bytes = bytes_target;
                    for run in 0..runs.len().max(1) {
                        let chunk = match runs.get(run) {
                            Some(picks) => take_picks(&target.stored, &batches, picks)?,
                            None => concat_batches(&target.stored, &batches).map_err(|e| {
                                Error::internal(format!("cannot gather a partition: {e}"))
                            })?,
                        };
                        let written = self.home.write_files(
                            &self.runtime,
                            &target.stored,
                            &[chunk],
                            &target.partition_by,
                            &write,
                            &|stage, done, total| self.report(stage, done, total),
                        )?;
                        report.files_after += written.adds.len() as u64;
                        report.bytes_after += written.bytes;
                        adds.extend(written.adds.into_iter().map(|mut a| {
                            a.data_change = false;
                            a
                        }));
                    }
                }
            }
            self.report("optimize", n as u64, n as u64);
            if removes.is_empty() {
                return Ok(report);
            }
            let (version, attempts) =
                self.commit_optimize(&target.table, options, bytes_target, removes, adds)?;
            report.version = Some(version);
            report.attempts = attempts;
            for (column, lo, hi) in samples {
                let filter = Expr::cmp(column.clone(), CmpOp::GtEq, lo).and(Expr::cmp(
                    column.clone(),
                    CmpOp::LtEq,
                    hi,
                ));
                let measure = |as_of: AsOf| -> Result<(u64, u64)> {
                    let (_, stats) = self.scan_as_of(as_of)?.filter(filter.clone()).count()?;
                    Ok((stats.files + stats.files_skipped, stats.files))
                };
                let (files_before, files_read_before) = measure(AsOf::Version(before_version))?;
                let (files_after, files_read_after) = measure(AsOf::Version(version))?;
                report.zorder.push(ZorderEffect {
                    filter: filter.to_string(),
                    column,
                    files_before,
                    files_read_before,
                    files_after,
                    files_read_after,
                });
            }
            Ok(report)
        })
    }

    /// Commits the optimize on top of whatever appends landed first (see
    /// [`Table::commit_on_top`]); a concurrent change that removed one of its files makes it
    /// a `Busy` error.
    fn commit_optimize(
        &self,
        read: &deltalake_core::DeltaTable,
        options: &OptimizeOptions,
        target_size: u64,
        removes: Vec<Remove>,
        adds: Vec<Add>,
    ) -> Result<(u64, u32)> {
        let operation = DeltaOperation::Optimize {
            predicate: options.predicate.clone(),
            target_size: i64::try_from(target_size).unwrap_or(i64::MAX),
        };
        let metrics = BTreeMap::from([
            ("numRemovedFiles".to_string(), removes.len().into()),
            ("numAddedFiles".to_string(), adds.len().into()),
        ]);
        self.commit_on_top(
            read,
            &removes,
            &adds,
            operation,
            metrics,
            super::change::Landed::OnTop { retries: 0 },
        )
    }
}

/// The files whose partition values satisfy `predicate` (all without one).
fn selected_files(target: &Target, predicate: Option<&Expr>) -> Result<Vec<usize>> {
    let n = target.files.files.len();
    let Some(predicate) = predicate else {
        return Ok((0..n).collect());
    };
    if n == 0 {
        return Ok(Vec::new());
    }
    let fields = target.files.partitions.clone();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.len());
    for (c, field) in fields.iter().enumerate() {
        let text: StringArray = target
            .files
            .files
            .iter()
            .map(|(_, values)| values[c].clone())
            .collect();
        let typed = cast(&text, field.data_type()).map_err(|e| {
            Error::new(
                ErrorKind::Corrupt,
                format!(
                    "a partition value of {} does not fit its type: {e}",
                    field.name()
                ),
            )
        })?;
        columns.push(typed);
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| Error::internal(format!("cannot tabulate partition values: {e}")))?;
    let keep = evaluate_filter(predicate, &batch)?;
    Ok((0..n)
        .filter(|&i| keep.value(i) && keep.is_valid(i))
        .collect())
}

/// Groups the partition's small files (under 3/4 of the target) into bins of at most the
/// target size, largest first; bins of one file are left alone. With `every_file`, large
/// files make bins of their own and lone files are kept: every file is rewritten.
fn bin_pack(files: &[usize], sizes: &[u64], target: u64, every_file: bool) -> Vec<Vec<usize>> {
    let mut small: Vec<usize> = files
        .iter()
        .copied()
        .filter(|&i| every_file || sizes[i] < target / 4 * 3)
        .collect();
    small.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    let mut bins: Vec<(u64, Vec<usize>)> = Vec::new();
    for i in small {
        match bins.iter_mut().find(|(used, _)| used + sizes[i] <= target) {
            Some((used, bin)) => {
                *used += sizes[i];
                bin.push(i);
            }
            None => bins.push((sizes[i], vec![i])),
        }
    }
    bins.into_iter()
        .map(|(_, bin)| bin)
        .filter(|bin| every_file || bin.len() > 1)
        .collect()
}

/// The row numbers of `rows` in the order of their z-order key over `columns`, and the sorted
/// keys.
fn zorder(rows: &RecordBatch, columns: &[String]) -> Result<(Vec<usize>, Vec<u64>)> {
    let mut parts: Vec<Vec<u16>> = Vec::with_capacity(columns.len());
    for name in columns {
        let column = rows
            .column_by_name(name)
            .ok_or_else(|| Error::internal(format!("z-order lost column {name:?}")))?;
        parts.push(quantize(column)?);
    }
    let keys: UInt64Array = (0..rows.num_rows())
        .map(|r| Some(interleave(parts.iter().map(|p| p[r]))))
        .collect();
    let order = sort_to_indices(&keys, None, None)
        .map_err(|e| Error::internal(format!("cannot sort by the z-order key: {e}")))?;
    let sorted_keys = order
        .values()
        .iter()
        .map(|&i| keys.value(i as usize))
        .collect();
    Ok((
        order.values().iter().map(|&i| i as usize).collect(),
        sorted_keys,
    ))
}

/// The columns `names` of every row of `batches`, gathered into one batch.
fn gather(batches: &[RecordBatch], names: &[String]) -> Result<RecordBatch> {
    let columns = names
        .iter()
        .map(|name| {
            let parts: Vec<&dyn Array> = batches
                .iter()
                .map(|b| b.column_by_name(name).map(|c| c.as_ref()))
                .collect::<Option<_>>()
                .ok_or_else(|| Error::internal(format!("z-order lost column {name:?}")))?;
            let column = arrow::compute::concat(&parts)
                .map_err(|e| Error::internal(format!("cannot gather {name:?}: {e}")))?;
            Ok((name.as_str(), column))
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_from_iter(columns)
        .map_err(|e| Error::internal(format!("cannot gather the z-order columns: {e}")))
}

/// Row number (across `batches`) to (batch, row in it).
fn row_locator(batches: &[RecordBatch]) -> impl Fn(usize) -> (usize, usize) {
    let mut starts = Vec::with_capacity(batches.len());
    let mut at = 0;
    for b in batches {
        starts.push(at);
        at += b.num_rows();
    }
    move |row| {
        let b = starts.partition_point(|s| *s <= row).saturating_sub(1);
        (b, row - starts.get(b).copied().unwrap_or(0))
    }
}

/// The rows `picks` (batch, row) of `batches`, in that order, as one batch of `schema`.
fn take_picks(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    picks: &[(usize, usize)],
) -> Result<RecordBatch> {
    let columns = (0..schema.fields().len())
        .map(|c| {
            let from: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
            arrow::compute::interleave(&from, picks)
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::internal(format!("cannot reorder rows: {e}")))?;
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| Error::internal(format!("cannot reorder rows: {e}")))
}

/// The bits of `values` interleaved: bit b of column c goes to bit b*n + c of the key.
fn interleave(values: impl Iterator<Item = u16>) -> u64 {
    let values: Vec<u16> = values.collect();
    let n = values.len() as u32;
    let mut key = 0u64;
    for bit in (0..BITS).rev() {
        for (c, v) in values.iter().enumerate() {
            let at = bit * n + (n - 1 - c as u32);
            if at < 64 {
                key |= (((*v >> bit) & 1) as u64) << at;
            }
        }
    }
    key
}

/// Each value of `column` as 16 bits that keep its order and spread the rows evenly over
/// the bits: numbers (and dates, times) by their place among quantiles of a sample of the
/// column (so a skewed column, most values in a corner of its range, still gets all 16 bits),
/// everything else by rank among its values; nulls first, NaN last.
fn quantize(column: &ArrayRef) -> Result<Vec<u16>> {
    let numeric = matches!(
        column.data_type(),
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Date32
            | DataType::Date64
            | DataType::Timestamp(_, _)
    );
    if numeric {
        let as_int = match column.data_type() {
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) => {
                cast(column, &DataType::Int64).map_err(cast_error)?
            }
            _ => column.clone(),
        };
        let values = cast(&as_int, &DataType::Float64).map_err(cast_error)?;
        let values = values.as_primitive::<Float64Type>();
        // An even sample of the numbers (every step-th), sorted: a value's place among them is
        // its approximate rank.
        let step = (values.len() / QUANTILE_SAMPLE).max(1);
        let mut sample: Vec<f64> = values
            .iter()
            .step_by(step)
            .flatten()
            .filter(|v| !v.is_nan())
            .collect();
        sample.sort_by(f64::total_cmp);
        let m = sample.len().max(1) as u64;
        let top = u64::from(u16::MAX - 2);
        return Ok(values
            .iter()
            .map(|v| match v {
                None => 0,
                Some(v) if v.is_nan() => u16::MAX,
                Some(v) => {
                    let place = sample.partition_point(|s| *s < v) as u64;
                    1 + (place * top / m) as u16
                }
            })
            .collect());
    }
    // By rank: the sorted order of the values' sort keys.
    let order = sort_to_indices(column, None, None)
        .map_err(|e| Error::internal(format!("cannot rank a z-order column: {e}")))?;
    let n = column.len().max(1);
    let mut out = vec![0u16; column.len()];
    for (rank, &row) in order.values().iter().enumerate() {
        let row = row as usize;
        out[row] = if column.is_null(row) {
            0
        } else {
            1 + ((rank as u64 * u64::from(u16::MAX - 1)) / n as u64) as u16
        };
    }
    Ok(out)
}

fn cast_error(e: arrow::error::ArrowError) -> Error {
    Error::internal(format!("cannot read a z-order column: {e}"))
}

/// Rows sorted by `keys` (their z-order keys), cut into about `pieces` runs of about equal
/// length, each cut moved (by up to half a run) to where the keys cross the largest
/// cell boundary nearby: a run that straddles a jump of the z-curve has a bounding box over
/// much of the columns' space, one that ends at a cell boundary covers whole cells.
fn split_at_cells(keys: &[u64], pieces: usize) -> Vec<std::ops::Range<usize>> {
    let n = keys.len();
    let per = n.div_ceil(pieces.max(1)).max(1);
    let slack = per / 2;
    let mut cuts = vec![0];
    let mut at = per;
    while at < n {
        let lo = at.saturating_sub(slack).max(cuts[cuts.len() - 1] + 1);
        let hi = (at + slack).min(n - 1);
        // The highest bit that changes between neighbours marks the largest cell boundary.
        let best = (lo..=hi)
            .max_by_key(|&i| {
                let change = 64 - (keys[i - 1] ^ keys[i]).leading_zeros();
                (change, std::cmp::Reverse(i.abs_diff(at)))
            })
            .unwrap_or(at);
        cuts.push(best);
        at = best + per;
    }
    cuts.push(n);
    cuts.windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| w[0]..w[1])
        .collect()
}

/// For each z-order column with a literal form, a range over about 1% of `rows`' values
/// (from the 20th percentile), to show what z-ordering did for such a filter.
fn range_samples(rows: &RecordBatch, columns: &[String]) -> Vec<(String, Literal, Literal)> {
    let mut out = Vec::new();
    for name in columns {
        let Some(column) = rows.column_by_name(name) else {
            continue;
        };
        let Ok(order) = sort_to_indices(column, None, None) else {
            continue;
        };
        let valid: Vec<usize> = order
            .values()
            .iter()
            .map(|&i| i as usize)
            .filter(|&i| column.is_valid(i))
            .collect();
        if valid.len() < 100 {
            continue;
        }
        let at = |q: usize| valid[(valid.len() * q / 1000).min(valid.len() - 1)];
        // Away from the median, where the key's first bit splits the rows.
        let (lo, hi) = (at(200), at(210));
        let literal = |row: usize| -> Option<Literal> {
            match column.data_type() {
                DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
                    let v = cast(&column.slice(row, 1), &DataType::Int64).ok()?;
                    Some(Literal::Int(
                        v.as_primitive::<arrow::datatypes::Int64Type>().value(0),
                    ))
                }
                DataType::Float32 | DataType::Float64 => {
                    let v = cast(&column.slice(row, 1), &DataType::Float64).ok()?;
                    Some(Literal::Float(v.as_primitive::<Float64Type>().value(0)))
                }
                DataType::Utf8 => Some(Literal::Str(
                    column.as_string::<i32>().value(row).to_string(),
                )),
                _ => None,
            }
        };
        if let (Some(lo), Some(hi)) = (literal(lo), literal(hi)) {
            out.push((name.clone(), lo, hi));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaving_keeps_each_columns_order() {
        assert_eq!(interleave([0u16, 0].into_iter()), 0);
        assert!(interleave([1u16, 0].into_iter()) > interleave([0u16, 1].into_iter()));
        assert!(interleave([2u16, 0].into_iter()) > interleave([1u16, 1].into_iter()));
        assert_eq!(interleave([u16::MAX; 4].into_iter()), u64::MAX);
    }

    #[test]
    fn bins_hold_at_most_the_target_and_skip_lone_files() {
        let sizes = vec![10, 20, 30, 100, 5];
        let bins = bin_pack(&[0, 1, 2, 3, 4], &sizes, 40, false);
        for bin in &bins {
            assert!(bin.iter().map(|&i| sizes[i]).sum::<u64>() <= 40);
            assert!(bin.len() > 1);
        }
        assert!(!bins.iter().flatten().any(|&i| i == 3));
    }

    #[test]
    fn a_reencode_rewrites_every_file_once() {
        let sizes = vec![10, 20, 30, 100, 5];
        let bins = bin_pack(&[0, 1, 2, 3, 4], &sizes, 40, true);
        let mut all: Vec<usize> = bins.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, vec![0, 1, 2, 3, 4]);
        assert!(
            bins.contains(&vec![3]),
            "a large file is a bin of its own: {bins:?}"
        );
    }
}
