//! The `quality` suite's baseline: the same profile and checks written the straightforward
//! way with arrow's compute kernels, as a user without strata would: rayon over 65,536-row
//! slices of the same batches (in the same pool as strata's side), `arrow::compute` for null
//! counts, min/max/sum and range masks, a cast to Float64 for mean and standard deviation, and
//! std `HashMap`/`HashSet` (SipHash) for distinct counts, frequent values, allowed sets and
//! duplicate rows (whole rows as `arrow::row` bytes).
//!
//! What it leaves out, so that it is a floor rather than an equivalent: no quantiles, no
//! HyperLogLog (distinct counts are exact, however many), no string type inference, no
//! samples of failing rows, no rule severities or messages.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;

use arrow::array::{
    downcast_primitive_array, Array, ArrayRef, AsArray, BooleanArray, Float64Array, PrimitiveArray,
    RecordBatch, Scalar, StringArray,
};
use arrow::compute::kernels::cmp::{gt, lt};
use arrow::compute::{cast, concat, or};
use arrow::datatypes::{ArrowPrimitiveType, DataType, Float64Type, ToByteSlice};
use arrow::row::{RowConverter, SortField};
use rayon::prelude::*;

use super::other;

/// Rows per parallel task.
pub const SLICE_ROWS: usize = 64 * 1024;

/// A rule, as the suite's rules file states it.
pub enum Rule {
    /// At least `min` of the column's values are not null.
    Completeness { column: &'static str },
    /// Non-null values within `min..=max`.
    Range {
        column: &'static str,
        min: f64,
        max: f64,
    },
    /// Non-null values in the set.
    AllowedSet {
        column: &'static str,
        values: &'static [&'static str],
    },
}

/// What the checks found: failing rows per rule, missing cells (nulls and NaNs) over every
/// column, and distinct whole rows; the same counts strata's report gives.
#[derive(Debug, PartialEq, Eq)]
pub struct Checked {
    pub failed: Vec<u64>,
    pub missing_cells: u64,
    pub distinct_rows: u64,
}

fn slices(batches: &[RecordBatch]) -> Vec<RecordBatch> {
    batches
        .iter()
        .flat_map(|b| {
            (0..b.num_rows())
                .step_by(SLICE_ROWS)
                .map(move |at| b.slice(at, SLICE_ROWS.min(b.num_rows() - at)))
        })
        .collect()
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> strata::Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| other("quality baseline", format!("no column {name}")))
}

/// The string values of a string column, whichever of Arrow's string layouts it has.
fn strings(array: &dyn Array) -> Option<Box<dyn Iterator<Item = Option<&str>> + '_>> {
    match array.data_type() {
        DataType::Utf8 => Some(Box::new(array.as_string::<i32>().iter())),
        DataType::LargeUtf8 => Some(Box::new(array.as_string::<i64>().iter())),
        DataType::Utf8View => Some(Box::new(array.as_string_view().iter())),
        _ => None,
    }
}

fn failures(batch: &RecordBatch, rule: &Rule) -> strata::Result<u64> {
    let kernel = |e| other("quality baseline", e);
    Ok(match rule {
        Rule::Completeness { column: name } => column(batch, name)?.logical_null_count() as u64,
        Rule::Range {
            column: name,
            min,
            max,
        } => {
            let values = column(batch, name)?;
            // The bounds in the column's own type, as a user would write them.
            let bounds =
                cast(&Float64Array::from(vec![*min, *max]), values.data_type()).map_err(kernel)?;
            let below = lt(values, &Scalar::new(bounds.slice(0, 1))).map_err(kernel)?;
            let above = gt(values, &Scalar::new(bounds.slice(1, 1))).map_err(kernel)?;
            or(&below, &above).map_err(kernel)?.true_count() as u64
        }
        Rule::AllowedSet {
            column: name,
            values,
        } => {
            let allowed: HashSet<&str> = values.iter().copied().collect();
            let array = column(batch, name)?;
            let text = strings(array.as_ref())
                .ok_or_else(|| other("quality baseline", format!("{name} is not text")))?;
            text.flatten().filter(|v| !allowed.contains(v)).count() as u64
        }
    })
}

fn missing_cells(array: &dyn Array) -> u64 {
    let nans = match array.data_type() {
        DataType::Float64 => array
            .as_primitive::<Float64Type>()
            .iter()
            .flatten()
            .filter(|v| v.is_nan())
            .count(),
        _ => 0,
    };
    array.logical_null_count() as u64 + nans as u64
}

/// The checks of `rules` and the dataset's completeness and uniqueness over `batches`, on
/// the current rayon pool.
pub fn check(batches: &[RecordBatch], rules: &[Rule]) -> strata::Result<Checked> {
    let parts = slices(batches);
    let Some(schema) = parts.first().map(|b| b.schema()) else {
        return Ok(Checked {
            failed: vec![0; rules.len()],
            missing_cells: 0,
            distinct_rows: 0,
        });
    };
    let fields: Vec<SortField> = schema
        .fields()
        .iter()
        .map(|f| SortField::new(f.data_type().clone()))
        .collect();
    let converter = RowConverter::new(fields).map_err(|e| other("arrow::row", e))?;
    let per_slice = parts
        .par_iter()
        .map(|b| {
            let failed = rules
                .iter()
                .map(|r| failures(b, r))
                .collect::<strata::Result<Vec<u64>>>()?;
            let missing: u64 = b.columns().iter().map(|c| missing_cells(c.as_ref())).sum();
            let rows = converter
                .convert_columns(b.columns())
                .map_err(|e| other("arrow::row", e))?;
            Ok((failed, missing, rows))
        })
        .collect::<strata::Result<Vec<_>>>()?;
    let mut failed = vec![0u64; rules.len()];
    let mut missing_cells = 0;
    let mut distinct: HashSet<&[u8]> = HashSet::new();
    for (f, m, rows) in &per_slice {
        for (total, n) in failed.iter_mut().zip(f) {
            *total += n;
        }
        missing_cells += m;
        distinct.extend(rows.iter().map(|r| r.data()));
    }
    Ok(Checked {
        failed,
        missing_cells,
        distinct_rows: distinct.len() as u64,
    })
}

/// One column's profile over one slice, or over all of them once merged.
struct Partial<'a> {
    nulls: u64,
    /// Two values, min then max, in the column's type.
    min_max: Option<ArrayRef>,
    /// Count, sum and sum of squares of the values as Float64.
    moments: Option<(u64, f64, f64)>,
    counts: Counts<'a>,
}

enum Counts<'a> {
    Text(HashMap<&'a str, u64>),
    /// Fixed-width values by their bytes (up to 16 of them).
    Fixed(HashMap<u128, u64>),
    Booleans([u64; 2]),
    None,
}

fn primitive_min_max<T: ArrowPrimitiveType>(a: &PrimitiveArray<T>) -> ArrayRef {
    let pair: PrimitiveArray<T> = [arrow::compute::min(a), arrow::compute::max(a)]
        .into_iter()
        .collect();
    black_hole(arrow::compute::sum(a));
    Arc::new(pair.with_data_type(a.data_type().clone()))
}

/// Keeps a computed figure alive without using it (the sums a profile reports).
fn black_hole<T>(value: T) {
    std::hint::black_box(value);
}

fn primitive_counts<T: ArrowPrimitiveType>(a: &PrimitiveArray<T>) -> Counts<'static> {
    let mut counts: HashMap<u128, u64> = HashMap::new();
    for v in a.iter().flatten() {
        let bytes = v.to_byte_slice();
        let mut key = [0u8; 16];
        let n = bytes.len().min(16);
        key[..n].copy_from_slice(&bytes[..n]);
        *counts.entry(u128::from_le_bytes(key)).or_default() += 1;
    }
    Counts::Fixed(counts)
}

fn text_min_max(array: &dyn Array) -> Option<ArrayRef> {
    let (min, max) = match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            (arrow::compute::min_string(a), arrow::compute::max_string(a))
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            (arrow::compute::min_string(a), arrow::compute::max_string(a))
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            (
                arrow::compute::min_string_view(a),
                arrow::compute::max_string_view(a),
            )
        }
        _ => return None,
    };
    Some(Arc::new(StringArray::from(vec![min, max])))
}

fn profile_slice(array: &dyn Array) -> Partial<'_> {
    let nulls = array.logical_null_count() as u64;
    let moments = cast(array, &DataType::Float64).ok().map(|f| {
        let f = f.as_primitive::<Float64Type>().clone();
        f.iter()
            .flatten()
            .fold((0u64, 0.0, 0.0), |(n, s, q), v| (n + 1, s + v, q + v * v))
    });
    let (min_max, counts) = if let Some(text) = strings(array) {
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for v in text.flatten() {
            *counts.entry(v).or_default() += 1;
        }
        (text_min_max(array), Counts::Text(counts))
    } else if let Some(b) = array.as_boolean_opt() {
        let pair = BooleanArray::from(vec![
            arrow::compute::min_boolean(b),
            arrow::compute::max_boolean(b),
        ]);
        let t = b.true_count() as u64;
        let f = (b.len() - b.null_count()) as u64 - t;
        (Some(Arc::new(pair) as ArrayRef), Counts::Booleans([f, t]))
    } else {
        downcast_primitive_array!(
            array => (Some(primitive_min_max(array)), primitive_counts(array)),
            _ => (None, Counts::None)
        )
    };
    Partial {
        nulls,
        min_max,
        moments,
        counts,
    }
}

fn merge_counts<K: Hash + Eq>(into: &mut HashMap<K, u64>, from: HashMap<K, u64>) {
    for (k, n) in from {
        *into.entry(k).or_default() += n;
    }
}

/// The 10 most frequent counts of a column's values (the values themselves are not needed
/// to time the work).
fn top<K>(counts: &HashMap<K, u64>) -> Vec<u64> {
    let mut n: Vec<u64> = counts.values().copied().collect();
    n.sort_unstable_by(|a, b| b.cmp(a));
    n.truncate(10);
    n
}

/// What the profile found per column that is compared with strata's: nulls and exact
/// distinct values.
pub struct ColumnSummary {
    pub nulls: u64,
    pub distinct: u64,
}

/// A profile of every column of `batches`: one task per column and slice on the current
/// rayon pool, merged per column.
pub fn profile(batches: &[RecordBatch]) -> strata::Result<Vec<ColumnSummary>> {
    let parts = slices(batches);
    let columns = parts.first().map_or(0, |b| b.num_columns());
    let tasks: Vec<(usize, usize)> = (0..columns)
        .flat_map(|c| (0..parts.len()).map(move |s| (c, s)))
        .collect();
    let partials: Vec<Partial> = tasks
        .par_iter()
        .map(|&(c, s)| profile_slice(parts[s].column(c).as_ref()))
        .collect();
    let mut per_column: Vec<Vec<Partial>> = (0..columns).map(|_| Vec::new()).collect();
    for (&(c, _), p) in tasks.iter().zip(partials) {
        per_column[c].push(p);
    }
    per_column
        .into_par_iter()
        .map(|parts| {
            let nulls = parts.iter().map(|p| p.nulls).sum();
            let pairs: Vec<&dyn Array> =
                parts.iter().filter_map(|p| p.min_max.as_deref()).collect();
            if !pairs.is_empty() {
                let all = concat(&pairs).map_err(|e| other("quality baseline", e))?;
                black_hole(profile_slice(all.as_ref()).min_max);
            }
            let moments = parts
                .iter()
                .filter_map(|p| p.moments)
                .reduce(|a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
            let std_dev = moments.filter(|m| m.0 > 0).map(|(n, s, q)| {
                let mean = s / n as f64;
                (q / n as f64 - mean * mean).max(0.0).sqrt()
            });
            let mut text: HashMap<&str, u64> = HashMap::new();
            let mut fixed: HashMap<u128, u64> = HashMap::new();
            let mut booleans = [0u64; 2];
            for p in parts {
                match p.counts {
                    Counts::Text(c) => merge_counts(&mut text, c),
                    Counts::Fixed(c) => merge_counts(&mut fixed, c),
                    Counts::Booleans([f, t]) => {
                        booleans[0] += f;
                        booleans[1] += t;
                    }
                    Counts::None => {}
                }
            }
            black_hole((top(&text), top(&fixed), std_dev));
            let distinct = text.len() + fixed.len() + booleans.iter().filter(|&&n| n > 0).count();
            Ok(ColumnSummary {
                nulls,
                distinct: distinct as u64,
            })
        })
        .collect()
}
