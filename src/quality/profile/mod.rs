//! Column and table profiles: one fused pass per column chunk, chunks and columns in parallel
//! on rayon, partial states merged in input order so that exact metrics never depend on the
//! thread count.

mod boolean;
mod distinct;
mod infer;
mod kind;
mod numeric;
mod strings;
mod summary;
mod table;

use arrow::array::{Array, AsArray};
use arrow::datatypes::*;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};
use boolean::BooleanState;
use numeric::NumericState;
use strings::BytesState;

pub(crate) use infer::classify;
pub use infer::InferredType;
pub use kind::{Scalar, ValueKind};
pub(crate) use strings::char_count;
pub use summary::{ColumnSummary, DistinctCount, TopValue, TopValues};
pub use table::{profile_array, profile_batches, TableProfile};

/// Knobs of a profile. Profiles merge only with profiles made with the same options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileOptions {
    /// Distinct values counted exactly (with their frequencies) before switching to a sketch.
    pub distinct_threshold: usize,
    /// HyperLogLog precision: `2^p` one-byte registers, standard error `1.04 / sqrt(2^p)`.
    pub hll_precision: u8,
    /// KLL accuracy parameter; rank error about `2.3 / k^0.97` (1.33% at 200).
    pub quantile_k: u16,
    /// How many frequent values a summary lists.
    pub top_k: usize,
    /// Counters kept for frequent strings once past the distinct threshold.
    pub heavy_capacity: usize,
    /// Rows per parallel task; small batches are grouped up to this.
    pub chunk_rows: usize,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            distinct_threshold: 16_384,
            hll_precision: 14,
            quantile_k: 200,
            top_k: 10,
            heavy_capacity: 128,
            chunk_rows: 1 << 20,
        }
    }
}

/// The per-type part of a column profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ColumnStats {
    Numeric(Box<NumericState>),
    Boolean(BooleanState),
    Bytes(Box<BytesState>),
    Other,
}

/// The mergeable, serializable profile state of one column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnProfile {
    name: String,
    data_type: String,
    kind: ValueKind,
    rows: u64,
    nulls: u64,
    top_k: usize,
    stats: ColumnStats,
}

macro_rules! primitive {
    ($state:expr, $array:expr, $t:ty) => {{
        let array = $array
            .as_primitive_opt::<$t>()
            .ok_or_else(|| Error::internal("array does not match its data type"))?;
        $state.update(&array.values()[..], array.nulls())
    }};
}

impl ColumnProfile {
    /// An empty profile for a column of `data_type`.
    pub fn new(name: &str, data_type: &DataType, options: &ProfileOptions) -> Result<Self> {
        let value_type = match data_type {
            DataType::Dictionary(_, value) => value.as_ref(),
            other => other,
        };
        let kind = ValueKind::of(value_type);
        let stats = match kind {
            ValueKind::Boolean => ColumnStats::Boolean(BooleanState::default()),
            ValueKind::Utf8 => ColumnStats::Bytes(Box::new(BytesState::new(true, options))),
            ValueKind::Binary => ColumnStats::Bytes(Box::new(BytesState::new(false, options))),
            ValueKind::Other => ColumnStats::Other,
            _ => ColumnStats::Numeric(Box::new(NumericState::new(
                kind == ValueKind::Float,
                options,
            )?)),
        };
        Ok(ColumnProfile {
            name: name.to_string(),
            data_type: value_type.to_string(),
            kind,
            rows: 0,
            nulls: 0,
            top_k: options.top_k,
            stats,
        })
    }

    /// Tells an empty profile that it covers one part of a column of about `total` rows, so
    /// its quantile sketch samples at the whole column's rate from the start.
    pub(crate) fn expect_rows(&mut self, total: u64) {
        if let ColumnStats::Numeric(state) = &mut self.stats {
            state.quantiles.expect(total);
        }
    }

    /// Adds the values of `array` (of this column's type) in one pass.
    pub fn update(&mut self, array: &dyn Array) -> Result<()> {
        // Dictionaries and half floats are profiled as their values; the cast is the only copy.
        let owned;
        let array: &dyn Array = match array.data_type() {
            DataType::Dictionary(_, value) if !matches!(self.stats, ColumnStats::Other) => {
                owned = arrow::compute::cast(array, value).map_err(Error::from)?;
                owned.as_ref()
            }
            DataType::Float16 => {
                owned = arrow::compute::cast(array, &DataType::Float32).map_err(Error::from)?;
                owned.as_ref()
            }
            _ => array,
        };
        self.rows += array.len() as u64;
        self.nulls += array.logical_null_count() as u64;
        match &mut self.stats {
            ColumnStats::Numeric(state) => update_numeric(state, array),
            ColumnStats::Boolean(state) => {
                let array = array
                    .as_boolean_opt()
                    .ok_or_else(|| Error::internal("array does not match its data type"))?;
                state.update(array);
                Ok(())
            }
            ColumnStats::Bytes(state) => update_bytes(state, array),
            ColumnStats::Other => Ok(()),
        }
    }

    /// Folds in the profile of more rows of the same column.
    pub fn merge(&mut self, other: &ColumnProfile) -> Result<()> {
        if self.name != other.name || self.kind != other.kind {
            return Err(Error::invalid(format!(
                "cannot merge the profile of column {:?} ({}) with that of {:?} ({})",
                self.name, self.data_type, other.name, other.data_type
            )));
        }
        self.rows += other.rows;
        self.nulls += other.nulls;
        match (&mut self.stats, &other.stats) {
            (ColumnStats::Numeric(a), ColumnStats::Numeric(b)) => a.merge(b),
            (ColumnStats::Boolean(a), ColumnStats::Boolean(b)) => {
                a.merge(b);
                Ok(())
            }
            (ColumnStats::Bytes(a), ColumnStats::Bytes(b)) => a.merge(b),
            (ColumnStats::Other, ColumnStats::Other) => Ok(()),
            _ => {
                Err(Error::invalid("profile states of different kinds").with("column", &self.name))
            }
        }
    }

    /// The column name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Arrow data type, as text.
    pub fn data_type(&self) -> &str {
        &self.data_type
    }

    /// The value family.
    pub fn kind(&self) -> ValueKind {
        self.kind
    }

    /// Rows seen.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Null rows.
    pub fn nulls(&self) -> u64 {
        self.nulls
    }

    /// NaN values of a float column (not counted as null).
    pub fn nans(&self) -> u64 {
        match &self.stats {
            ColumnStats::Numeric(s) => s.nans,
            _ => 0,
        }
    }

    /// Non-null values that are not NaN.
    pub fn values(&self) -> u64 {
        match &self.stats {
            ColumnStats::Numeric(s) => s.values,
            ColumnStats::Boolean(s) => s.trues + s.falses,
            ColumnStats::Bytes(s) => s.values,
            ColumnStats::Other => self.rows - self.nulls,
        }
    }

    /// Smallest value (NaN ignored; strings by bytes).
    pub fn min(&self) -> Option<Scalar> {
        self.extreme(false)
    }

    /// Largest value.
    pub fn max(&self) -> Option<Scalar> {
        self.extreme(true)
    }

    fn extreme(&self, max: bool) -> Option<Scalar> {
        match &self.stats {
            ColumnStats::Numeric(s) => {
                let bound = if max { s.max } else { s.min }?;
                Some(self.bound_scalar(bound))
            }
            ColumnStats::Boolean(s) => {
                let value = if max { s.trues > 0 } else { s.falses == 0 };
                (s.trues + s.falses > 0).then_some(Scalar::Bool(value))
            }
            ColumnStats::Bytes(s) => {
                let value = if max {
                    s.max.as_deref()
                } else {
                    s.min.as_deref()
                }?;
                Some(self.kind.scalar_from_bytes(value))
            }
            ColumnStats::Other => None,
        }
    }

    fn bound_scalar(&self, bound: numeric::Bound) -> Scalar {
        match bound {
            numeric::Bound::Int(i) => self.kind.scalar_from_i64(i),
            numeric::Bound::UInt(u) => Scalar::UInt(u),
            numeric::Bound::Float(f) => Scalar::Float(f),
            numeric::Bound::Wide(w) => match self.kind {
                ValueKind::Decimal { scale } => Scalar::Decimal(kind::format_decimal(w, scale)),
                _ => Scalar::Decimal(w.to_string()),
            },
        }
    }

    /// Scale factor from raw state units to values (10^scale for decimals).
    fn unit(&self) -> f64 {
        match self.kind {
            ValueKind::Decimal { scale } => 10f64.powi(scale as i32),
            _ => 1.0,
        }
    }

    fn arithmetic(&self) -> Option<&NumericState> {
        match &self.stats {
            ColumnStats::Numeric(s) if self.kind.is_arithmetic() => Some(s.as_ref()),
            _ => None,
        }
    }

    /// Sum: exact for integers and decimals (as long as it fits 128 bits), compensated for
    /// floats (which may differ in the last bits between splits of the input).
    pub fn sum(&self) -> Option<Scalar> {
        let s = self.arithmetic()?;
        Some(match (s.exact_sum, self.kind) {
            (Some(sum), ValueKind::Decimal { scale }) => {
                Scalar::Decimal(kind::format_decimal(sum, scale))
            }
            (Some(sum), ValueKind::UInt) => u64::try_from(sum)
                .map(Scalar::UInt)
                .unwrap_or(Scalar::Float(sum as f64)),
            (Some(sum), _) => i64::try_from(sum)
                .map(Scalar::Int)
                .unwrap_or(Scalar::Float(sum as f64)),
            (None, _) => Scalar::Float(s.sum_f64() / self.unit()),
        })
    }

    /// Arithmetic mean of the non-null, non-NaN values.
    pub fn mean(&self) -> Option<f64> {
        let s = self.arithmetic()?;
        (s.values > 0).then(|| s.mean / self.unit())
    }

    /// Sample standard deviation (n - 1), as pandas' `std()` and SQL's `stddev`.
    pub fn stddev(&self) -> Option<f64> {
        let s = self.arithmetic()?;
        Some(s.variance()?.sqrt() / self.unit())
    }

    /// Values equal to zero (numeric columns).
    pub fn zeros(&self) -> Option<u64> {
        self.arithmetic().map(|s| s.zeros)
    }

    /// Values below zero (numeric columns).
    pub fn negatives(&self) -> Option<u64> {
        self.arithmetic().map(|s| s.negatives)
    }

    /// Empty strings (string and binary columns).
    pub fn empty(&self) -> Option<u64> {
        match &self.stats {
            ColumnStats::Bytes(s) => Some(s.empty),
            _ => None,
        }
    }

    /// Shortest value length: characters for strings, bytes for binary.
    pub fn min_length(&self) -> Option<u64> {
        match &self.stats {
            ColumnStats::Bytes(s) => s.min_len,
            _ => None,
        }
    }

    /// Longest value length.
    pub fn max_length(&self) -> Option<u64> {
        match &self.stats {
            ColumnStats::Bytes(s) => s.max_len,
            _ => None,
        }
    }

    /// Mean value length.
    pub fn mean_length(&self) -> Option<f64> {
        match &self.stats {
            ColumnStats::Bytes(s) if s.values > 0 => Some(s.total_len as f64 / s.values as f64),
            _ => None,
        }
    }

    /// Distinct non-null values (NaN excluded): exact up to the threshold, then estimated.
    pub fn distinct(&self) -> Option<DistinctCount> {
        let (value, exact, error_bound) = match &self.stats {
            ColumnStats::Numeric(s) => s.distinct.count(),
            ColumnStats::Boolean(s) => ((s.trues > 0) as u64 + (s.falses > 0) as u64, true, 0.0),
            ColumnStats::Bytes(s) => s.distinct(),
            ColumnStats::Other => return None,
        };
        Some(DistinctCount {
            value,
            exact,
            error_bound,
        })
    }

    /// The most frequent values, most frequent first.
    pub fn top_values(&self) -> TopValues {
        let limit = self.top_k;
        let top = |values: Vec<TopValue>, exact, error| TopValues {
            exact,
            error,
            values,
        };
        match &self.stats {
            ColumnStats::Numeric(s) => match s.distinct.top(limit) {
                Some(keys) => top(
                    keys.into_iter()
                        .map(|(key, count)| TopValue {
                            value: self.key_scalar(key),
                            count,
                        })
                        .collect(),
                    true,
                    0,
                ),
                None => {
                    let error = (2.0 * s.quantiles.rank_error() * s.values as f64).ceil() as u64;
                    let values = s
                        .quantiles
                        .frequent(limit)
                        .into_iter()
                        .map(|(x, count)| TopValue {
                            value: self.kind.scalar_from_f64(x),
                            count,
                        })
                        .collect();
                    top(values, false, error)
                }
            },
            ColumnStats::Boolean(s) => {
                let mut values = vec![(true, s.trues), (false, s.falses)];
                values.retain(|v| v.1 > 0);
                values.sort_by_key(|v| std::cmp::Reverse(v.1));
                values.truncate(limit);
                let values = values
                    .into_iter()
                    .map(|(v, count)| TopValue {
                        value: Scalar::Bool(v),
                        count,
                    })
                    .collect();
                top(values, true, 0)
            }
            ColumnStats::Bytes(s) => {
                let (values, exact, error) = s.top(limit);
                let values = values
                    .into_iter()
                    .map(|(v, count)| TopValue {
                        value: self.kind.scalar_from_bytes(&v),
                        count,
                    })
                    .collect();
                top(values, exact, error)
            }
            ColumnStats::Other => top(Vec::new(), true, 0),
        }
    }

    fn key_scalar(&self, key: u64) -> Scalar {
        match self.kind {
            ValueKind::UInt => Scalar::UInt(key),
            ValueKind::Float => Scalar::Float(f64::from_bits(key)),
            kind => kind.scalar_from_i64(key as i64),
        }
    }

    /// The value at quantile `q` from the sketch (exact below `quantile_k` values).
    pub fn quantile(&self, q: f64) -> Option<Scalar> {
        match &self.stats {
            ColumnStats::Numeric(s) => s
                .quantiles
                .quantile(q)
                .map(|x| self.kind.scalar_from_f64(x)),
            _ => None,
        }
    }

    /// The quantile sketch's stated rank error (99% confidence), for numeric columns.
    pub fn quantile_rank_error(&self) -> Option<f64> {
        match &self.stats {
            ColumnStats::Numeric(s) => Some(s.quantiles.rank_error()),
            _ => None,
        }
    }

    /// For string columns, the narrowest type all non-empty values fit.
    pub fn inferred_type(&self) -> Option<InferredType> {
        match &self.stats {
            ColumnStats::Bytes(s) if self.kind == ValueKind::Utf8 => Some(s.types.inferred()),
            _ => None,
        }
    }
}

fn update_numeric(state: &mut NumericState, array: &dyn Array) -> Result<()> {
    use DataType::*;
    match array.data_type() {
        Int8 => primitive!(state, array, Int8Type),
        Int16 => primitive!(state, array, Int16Type),
        Int32 => primitive!(state, array, Int32Type),
        Int64 => primitive!(state, array, Int64Type),
        UInt8 => primitive!(state, array, UInt8Type),
        UInt16 => primitive!(state, array, UInt16Type),
        UInt32 => primitive!(state, array, UInt32Type),
        UInt64 => primitive!(state, array, UInt64Type),
        Float32 => primitive!(state, array, Float32Type),
        Float64 => primitive!(state, array, Float64Type),
        Decimal128(_, _) => primitive!(state, array, Decimal128Type),
        Date32 => primitive!(state, array, Date32Type),
        Date64 => primitive!(state, array, Date64Type),
        Timestamp(TimeUnit::Second, _) => primitive!(state, array, TimestampSecondType),
        Timestamp(TimeUnit::Millisecond, _) => primitive!(state, array, TimestampMillisecondType),
        Timestamp(TimeUnit::Microsecond, _) => primitive!(state, array, TimestampMicrosecondType),
        Timestamp(TimeUnit::Nanosecond, _) => primitive!(state, array, TimestampNanosecondType),
        Time32(TimeUnit::Second) => primitive!(state, array, Time32SecondType),
        Time32(_) => primitive!(state, array, Time32MillisecondType),
        Time64(TimeUnit::Microsecond) => primitive!(state, array, Time64MicrosecondType),
        Time64(_) => primitive!(state, array, Time64NanosecondType),
        Duration(TimeUnit::Second) => primitive!(state, array, DurationSecondType),
        Duration(TimeUnit::Millisecond) => primitive!(state, array, DurationMillisecondType),
        Duration(TimeUnit::Microsecond) => primitive!(state, array, DurationMicrosecondType),
        Duration(TimeUnit::Nanosecond) => primitive!(state, array, DurationNanosecondType),
        other => Err(Error::new(
            crate::ErrorKind::Unsupported,
            format!("no numeric profile for {other}"),
        )),
    }
}

fn update_bytes(state: &mut BytesState, array: &dyn Array) -> Result<()> {
    use DataType::*;
    fn present<'a, T: AsRef<[u8]> + ?Sized + 'a>(
        values: impl Iterator<Item = Option<&'a T>>,
    ) -> impl Iterator<Item = &'a [u8]> {
        values.flatten().map(|v| v.as_ref())
    }
    let mismatch = || Error::internal("array does not match its data type");
    match array.data_type() {
        Utf8 => state.update(present(
            array.as_string_opt::<i32>().ok_or_else(mismatch)?.iter(),
        )),
        LargeUtf8 => state.update(present(
            array.as_string_opt::<i64>().ok_or_else(mismatch)?.iter(),
        )),
        Utf8View => state.update(present(
            array.as_string_view_opt().ok_or_else(mismatch)?.iter(),
        )),
        Binary => state.update(present(
            array.as_binary_opt::<i32>().ok_or_else(mismatch)?.iter(),
        )),
        LargeBinary => state.update(present(
            array.as_binary_opt::<i64>().ok_or_else(mismatch)?.iter(),
        )),
        BinaryView => state.update(present(
            array.as_binary_view_opt().ok_or_else(mismatch)?.iter(),
        )),
        FixedSizeBinary(_) => state.update(present(
            array
                .as_fixed_size_binary_opt()
                .ok_or_else(mismatch)?
                .iter(),
        )),
        other => Err(Error::new(
            crate::ErrorKind::Unsupported,
            format!("no string profile for {other}"),
        )),
    }
}
