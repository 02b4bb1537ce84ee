//! Data quality: fused single-pass column profiles, rules with severities, reports and the
//! dataset quality score. Everything here works on Arrow arrays and batches and knows nothing of
//! storage; reading files is the caller's business.

mod check;
mod hash;
mod profile;
mod report;
mod rules;
mod rules_file;
mod score;
mod sketch;

pub use check::{check_batches, CheckOptions};
pub use profile::{
    profile_array, profile_batches, ColumnProfile, ColumnSummary, DistinctCount, InferredType,
    ProfileOptions, Scalar, TableProfile, TopValue, TopValues, ValueKind,
};
pub use report::{FailedRow, QualityReport, RuleResult};
pub use rules::{CompareOp, PiiKind, Rule, RuleKind, RuleSet, Severity};
pub use score::{dataset_quality, DatasetQuality};
pub use sketch::{HyperLogLog, QuantileSketch};

/// Whether two schemas have the same column names and types; nullability may differ between
/// batches of one dataset (a batch without nulls is often declared non-nullable).
pub(crate) fn same_columns(a: &arrow::datatypes::Schema, b: &arrow::datatypes::Schema) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields()
            .iter()
            .zip(b.fields())
            .all(|(x, y)| x.name() == y.name() && x.data_type() == y.data_type())
}

/// Arrow kernel errors as strata errors: they come from data the caller passed in.
pub(crate) fn arrow_error(err: arrow::error::ArrowError) -> crate::Error {
    crate::Error::invalid(format!("arrow: {err}")).set_source(err)
}
