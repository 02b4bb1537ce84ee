//! Data quality: fused single-pass column profiles, rules with severities, reports and the
//! dataset quality score. Everything here works on Arrow arrays and batches and knows nothing of
//! storage; reading files is the caller's business.
//!
//! ```
//! # fn main() -> strata::Result<()> {
//! use std::sync::Arc;
//! use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
//! use strata::{quality::{check_batches, profile_batches, CheckOptions, ProfileOptions, RuleSet, Scalar}};
//!
//! let batch = RecordBatch::try_from_iter(vec![
//!     ("id", Arc::new(Int64Array::from(vec![1, 2, 2])) as ArrayRef),
//!     ("amount", Arc::new(Float64Array::from(vec![Some(9.5), None, Some(f64::NAN)])) as ArrayRef),
//! ]).unwrap();
//!
//! let profile = profile_batches(&[batch.clone()], &ProfileOptions::default())?;
//! let amount = profile.column("amount").unwrap();
//! assert_eq!((amount.nulls(), amount.nans(), amount.max()), (1, 1, Some(Scalar::Float(9.5))));
//!
//! let rules = RuleSet::from_toml_str(r#"
//!     [[rules]]
//!     check = "unique"
//!     column = "id"
//!     severity = "warn"
//! "#)?;
//! let report = check_batches(&[batch], &rules, &CheckOptions::default())?;
//! assert_eq!(report.results[0].affected_rows, 1);
//! assert!(report.passed); // only a warning failed
//! # Ok(()) }
//! ```

mod check;
mod classify;
mod hash;
mod key_set;
mod profile;
mod repeats;
mod report;
mod row_keys;
mod rules;
mod rules_file;
mod scan;
mod score;
mod sketch;

pub(crate) use check::rule_results;
pub use check::{check_batches, CheckOptions};
pub use classify::{classify_columns, ColumnClass, DEFAULT_THRESHOLD};
pub use profile::{
    profile_array, profile_batches, ColumnProfile, ColumnSummary, DistinctCount, InferredType,
    ProfileOptions, Scalar, TableProfile, TopValue, TopValues, ValueKind,
};
pub use report::{FailedRow, QualityReport, RuleResult};
pub use rules::{CompareOp, Expect, PiiKind, Rule, RuleKind, RuleSet, Severity};
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
