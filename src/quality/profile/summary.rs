//! The readable view of a column profile, for reports and JSON output.

use serde::Serialize;

use super::{ColumnProfile, InferredType, Scalar, ValueKind};

/// A distinct count and how far it may be off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DistinctCount {
    /// The count or estimate.
    pub value: u64,
    /// Whether the count is exact.
    pub exact: bool,
    /// Relative error bound of an estimate (three standard errors); 0 when exact.
    pub error_bound: f64,
}

/// A frequent value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopValue {
    /// The value.
    pub value: Scalar,
    /// How often it occurs (estimated when not exact).
    pub count: u64,
}

/// The most frequent values of a column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopValues {
    /// Whether counts and ranking are exact.
    pub exact: bool,
    /// Most a count may be off when not exact.
    pub error: u64,
    /// Most frequent first.
    pub values: Vec<TopValue>,
}

/// Every metric of a column, ready to print or serialize.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnSummary {
    /// Column name.
    pub name: String,
    /// Arrow data type.
    pub data_type: String,
    /// Value family.
    pub kind: ValueKind,
    /// Rows.
    pub rows: u64,
    /// Null rows.
    pub nulls: u64,
    /// NaN values (floats).
    pub nans: u64,
    /// Smallest value.
    pub min: Option<Scalar>,
    /// Largest value.
    pub max: Option<Scalar>,
    /// Sum (numeric).
    pub sum: Option<Scalar>,
    /// Mean (numeric).
    pub mean: Option<f64>,
    /// Sample standard deviation (numeric).
    pub stddev: Option<f64>,
    /// Zeros (numeric).
    pub zeros: Option<u64>,
    /// Negative values (numeric).
    pub negatives: Option<u64>,
    /// Empty strings.
    pub empty: Option<u64>,
    /// Shortest length (strings: characters; binary: bytes).
    pub min_length: Option<u64>,
    /// Longest length.
    pub max_length: Option<u64>,
    /// Distinct values.
    pub distinct: Option<DistinctCount>,
    /// Most frequent values.
    pub top: TopValues,
    /// Quantiles 0.05, 0.25, 0.5, 0.75 and 0.95 (numeric), as (q, value).
    pub quantiles: Vec<(f64, Scalar)>,
    /// Rank error of the quantiles (99% confidence).
    pub quantile_rank_error: Option<f64>,
    /// Inferred type of a string column.
    pub inferred_type: Option<InferredType>,
}

/// Quantiles a summary lists.
pub const SUMMARY_QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

impl ColumnProfile {
    /// Every metric as one value.
    pub fn summary(&self) -> ColumnSummary {
        ColumnSummary {
            name: self.name().to_string(),
            data_type: self.data_type().to_string(),
            kind: self.kind(),
            rows: self.rows(),
            nulls: self.nulls(),
            nans: self.nans(),
            min: self.min(),
            max: self.max(),
            sum: self.sum(),
            mean: self.mean(),
            stddev: self.stddev(),
            zeros: self.zeros(),
            negatives: self.negatives(),
            empty: self.empty(),
            min_length: self.min_length(),
            max_length: self.max_length(),
            distinct: self.distinct(),
            top: self.top_values(),
            quantiles: SUMMARY_QUANTILES
                .iter()
                .filter_map(|&q| Some((q, self.quantile(q)?)))
                .collect(),
            quantile_rank_error: self.quantile_rank_error(),
            inferred_type: self.inferred_type(),
        }
    }
}
