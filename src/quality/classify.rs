//! Which columns hold personal data: every string column's (and, for card numbers, every
//! integer column's) non-null values run through the PII detectors; a column is marked with
//! the kind most of its values match, when that share reaches the threshold.

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use rayon::prelude::*;
use serde::Serialize;

use super::check::PiiDetector;
use super::rules::PiiKind;
use crate::error::{Error, Result};

/// What a column's values say about personal data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnClass {
    /// The column.
    pub column: String,
    /// The kind most of its values match, when that share reached the threshold.
    pub kind: Option<PiiKind>,
    /// The share of non-null values the best kind matched (0 to 1).
    pub share: f64,
    /// Non-null values looked at.
    pub values: u64,
}

/// Share of a column's values that must match a kind for the column to be marked with it.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// Classifies the columns of `batches` (one schema): each column's best kind and its share.
/// Columns that are neither strings nor integers are left out.
pub fn classify_columns(batches: &[RecordBatch], threshold: f64) -> Result<Vec<ColumnClass>> {
    if !(0.0..=1.0).contains(&threshold) {
        return Err(Error::invalid(format!(
            "a classification threshold is 0 to 1, not {threshold}"
        )));
    }
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let detectors: Vec<PiiDetector> = PiiKind::ALL
        .iter()
        .map(|k| PiiDetector::new(*k))
        .collect::<Result<_>>()?;
    let schema = first.schema();
    let columns: Vec<(usize, String, bool)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                Some((i, f.name().clone(), true))
            }
            DataType::Dictionary(_, v) if matches!(**v, DataType::Utf8 | DataType::LargeUtf8) => {
                Some((i, f.name().clone(), true))
            }
            t if t.is_integer() => Some((i, f.name().clone(), false)),
            _ => None,
        })
        .collect();
    columns
        .par_iter()
        .map(|(i, name, text)| {
            let mut hits = [0u64; PiiKind::ALL.len()];
            let mut values = 0u64;
            for batch in batches {
                let array = as_text(batch.column(*i))?;
                let strings = array.as_string::<i32>();
                for value in strings.iter().flatten() {
                    values += 1;
                    for (k, d) in detectors.iter().enumerate() {
                        // Integers can only be card numbers.
                        let applies = *text || PiiKind::ALL[k] == PiiKind::CreditCard;
                        if applies && d.detect(value) {
                            hits[k] += 1;
                        }
                    }
                }
            }
            let (best, count) = hits
                .iter()
                .enumerate()
                .max_by_key(|(k, n)| (**n, std::cmp::Reverse(*k)))
                .map(|(k, n)| (k, *n))
                .unwrap_or((0, 0));
            let share = if values == 0 {
                0.0
            } else {
                count as f64 / values as f64
            };
            Ok(ColumnClass {
                column: name.clone(),
                kind: (values > 0 && count > 0 && share >= threshold).then(|| PiiKind::ALL[best]),
                share,
                values,
            })
        })
        .collect()
}

/// The column as UTF-8 strings.
fn as_text(array: &ArrayRef) -> Result<ArrayRef> {
    if array.data_type() == &DataType::Utf8 {
        return Ok(array.clone());
    }
    arrow::compute::cast(array, &DataType::Utf8)
        .map_err(|e| Error::internal(format!("cannot read a column as text: {e}")))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array, StringArray};

    use super::*;

    #[test]
    fn columns_are_marked_with_what_most_values_hold() {
        let n = 20;
        let text = |f: &dyn Fn(usize) -> String| -> ArrayRef {
            Arc::new(StringArray::from_iter((0..n).map(|i| {
                if i == 3 {
                    None
                } else {
                    Some(f(i))
                }
            })))
        };
        let batch = RecordBatch::try_from_iter([
            ("email", text(&|i| format!("user{i}@example.com"))),
            ("phone", text(&|i| format!("+1 (555) 010-{:04}", 1000 + i))),
            (
                "ssn",
                text(&|i| format!("{:03}-45-{:04}", 100 + i, 1000 + i)),
            ),
            (
                "notes",
                text(&|i| {
                    if i % 2 == 0 {
                        format!("Called Maria Lopez about order {i}")
                    } else {
                        format!("left a voicemail, ticket {i}")
                    }
                }),
            ),
            (
                "city",
                text(&|i| ["Oslo", "Lima", "Pune"][i % 3].to_string()),
            ),
            (
                "card",
                Arc::new(Int64Array::from_iter_values(
                    (0..n).map(|_| 4_111_111_111_111_111),
                )) as ArrayRef,
            ),
            (
                "order_id",
                Arc::new(Int64Array::from_iter_values(0..n as i64)) as ArrayRef,
            ),
            (
                "fare",
                Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64))) as ArrayRef,
            ),
        ])
        .unwrap();
        let out = classify_columns(&[batch.slice(0, 10), batch.slice(10, 10)], 0.5).unwrap();
        let kind = |c: &str| out.iter().find(|x| x.column == c).map(|x| x.kind);
        assert_eq!(kind("email"), Some(Some(PiiKind::Email)));
        assert_eq!(kind("phone"), Some(Some(PiiKind::Phone)));
        assert_eq!(kind("ssn"), Some(Some(PiiKind::NationalId)));
        assert_eq!(kind("notes"), Some(Some(PiiKind::PersonName)));
        assert_eq!(kind("city"), Some(None));
        assert_eq!(kind("card"), Some(Some(PiiKind::CreditCard)));
        assert_eq!(kind("order_id"), Some(None));
        assert_eq!(kind("fare"), None, "floats are not classified");
        let email = out.iter().find(|x| x.column == "email").unwrap();
        assert_eq!(email.values, 19);
        assert_eq!(email.share, 1.0);
        assert!(classify_columns(&[batch], 1.5).is_err());
        assert!(classify_columns(&[], 0.5).unwrap().is_empty());
    }

    #[test]
    fn unissued_social_security_numbers_do_not_count() {
        let d = PiiDetector::new(PiiKind::NationalId).unwrap();
        assert!(d.detect("ssn 123-45-6789 on file"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "912-12-3456",
            "123-00-4567",
            "123-45-0000",
        ] {
            assert!(!d.detect(bad), "{bad}");
        }
        let n = PiiDetector::new(PiiKind::PersonName).unwrap();
        assert!(n.detect("spoke with John Smith-Jones today"));
        assert!(!n.detect("john smith, lowercase"));
        assert!(!n.detect("Johnson Controls"));
    }
}
