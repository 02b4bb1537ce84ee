//! The reference document's dataset quality score: completeness x 0.7 + uniqueness x 0.3, where
//! completeness is the fraction of cells that are not missing (null, or NaN as pandas' `isnull`
//! counts it) and uniqueness the fraction of rows that are distinct (`drop_duplicates`).

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use serde::Serialize;

use super::repeats::find_repeats;
use super::row_keys::RowKeys;
use crate::Result;

/// The dataset quality score and its parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetQuality {
    /// Fraction of cells neither null nor NaN.
    pub completeness: f64,
    /// Fraction of rows that are distinct: exact, or an estimate when `uniqueness_error` is
    /// set.
    pub uniqueness: f64,
    /// `completeness * 0.7 + uniqueness * 0.3`.
    pub score: f64,
    /// `None` when `uniqueness` is exact; otherwise it is a HyperLogLog estimate of the
    /// distinct rows (a check over more rows than [`crate::quality::CheckOptions`]'s
    /// `exact_distinct_rows`), within this relative error of the true value for 99.7% of
    /// inputs (three standard errors).
    pub uniqueness_error: Option<f64>,
}

/// Cells that pandas would call missing: nulls and float NaNs.
pub(crate) fn missing_cells(array: &dyn Array) -> u64 {
    let nulls = array.logical_null_count() as u64;
    // NaN in the values buffer, counted without a branch per value, less those under nulls.
    fn nans<T: arrow::datatypes::ArrowPrimitiveType>(
        array: &dyn Array,
        is_nan: impl Fn(&T::Native) -> bool,
    ) -> usize {
        let array = array.as_primitive::<T>();
        let all = array.values().iter().filter(|v| is_nan(v)).count();
        match array.nulls().filter(|n| n.null_count() > 0 && all > 0) {
            None => all,
            Some(n) => array
                .values()
                .iter()
                .zip(n.iter())
                .filter(|(v, valid)| *valid && is_nan(v))
                .count(),
        }
    }
    let nans = match array.data_type() {
        DataType::Float32 => nans::<arrow::datatypes::Float32Type>(array, |v| v.is_nan()),
        DataType::Float64 => nans::<arrow::datatypes::Float64Type>(array, |v| v.is_nan()),
        _ => 0,
    };
    nulls + nans as u64
}

/// Computes the score over batches that share a schema.
pub fn dataset_quality(batches: &[RecordBatch]) -> Result<DatasetQuality> {
    let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    let Some(first) = batches.first().filter(|_| rows > 0) else {
        return Ok(DatasetQuality {
            completeness: 1.0,
            uniqueness: 1.0,
            score: 1.0,
            uniqueness_error: None,
        });
    };
    let cells = rows * first.num_columns() as u64;
    let missing: u64 = batches
        .iter()
        .flat_map(|b| b.columns())
        .map(|c| missing_cells(c.as_ref()))
        .sum();
    let completeness = if cells == 0 {
        1.0
    } else {
        1.0 - missing as f64 / cells as f64
    };
    let columns: Vec<Vec<_>> = batches.iter().map(|b| b.columns().to_vec()).collect();
    let keys = RowKeys::new(&columns)?;
    let hashes = keys.hashes();
    let same = |a, b| keys.same(a, b);
    let distinct = find_repeats(&hashes, None, Some(&same), 0).distinct;
    let uniqueness = distinct as f64 / rows as f64;
    Ok(DatasetQuality {
        completeness,
        uniqueness,
        score: completeness * 0.7 + uniqueness * 0.3,
        uniqueness_error: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Float64Array, Int32Array};
    use std::sync::Arc;

    #[test]
    fn matches_the_reference_formula() {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), Some(1), None, Some(2)]));
        let b: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 1.0, f64::NAN, 2.0]));
        let batch = RecordBatch::try_from_iter(vec![("a", a), ("b", b)]).unwrap();
        let q = dataset_quality(&[batch]).unwrap();
        assert_eq!(q.completeness, 0.75);
        assert_eq!(q.uniqueness, 0.75);
        assert!((q.score - 0.75).abs() < 1e-12);
    }
}
