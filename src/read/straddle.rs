//! Runs of row groups whose batches would straddle two dictionaries.
//!
//! A reader of several row groups hands out batches that cross from one row group into the
//! next when a row group's row count is not a whole number of batches. A string column read
//! as a dictionary (see `super::dictionary`) then meets two dictionaries in one batch, and the
//! parquet crate merges them value by value through a hash table: on a DuckDB-written file
//! (122,880-row row groups) a 2-column projection in 65,536-row batches spent a third of its
//! time there. Such row groups get a reader each instead; views (`super::views`) append each
//! page's dictionary as it is and need nothing of this.

use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use parquet::arrow::ProjectionMask;

use super::dictionary::DictionaryRoute;

/// Whether reading `row_groups` (in order) with one reader of `batch_size`-row batches would
/// merge dictionaries: some row group but the last is not a whole number of batches, and some
/// projected or filter column is read as a dictionary.
pub(super) fn merges_dictionaries(
    metadata: &ArrowReaderMetadata,
    row_groups: &[usize],
    mask: &ProjectionMask,
    filter_leaves: &[usize],
    batch_size: usize,
) -> bool {
    let parquet = metadata.metadata();
    let batch = i64::try_from(batch_size.max(1)).unwrap_or(i64::MAX);
    let straddles = row_groups.split_last().is_some_and(|(_, before)| {
        before.iter().any(|&rg| {
            rg < parquet.num_row_groups() && parquet.row_group(rg).num_rows() % batch != 0
        })
    });
    straddles && DictionaryRoute::plan(metadata, row_groups, mask, filter_leaves).is_some()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use parquet::arrow::arrow_reader::ArrowReaderOptions;
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    use super::*;

    /// Two row groups of 1,000 rows: an id and a tag of few values (dictionary-encoded).
    fn metadata() -> ArrowReaderMetadata {
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..2000));
        let tags: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..2000).map(|i| format!("t{}", i % 5)),
        ));
        let batch = RecordBatch::try_from_iter([("id", ids), ("tag", tags)]).unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(1000))
            .build();
        let mut bytes = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        ArrowReaderMetadata::load(&bytes::Bytes::from(bytes), ArrowReaderOptions::new()).unwrap()
    }

    #[test]
    fn only_dictionary_strings_in_batches_across_row_groups_count() {
        let m = metadata();
        let descr = m.metadata().file_metadata().schema_descr();
        let both = ProjectionMask::leaves(descr, [0, 1]);
        let ids = ProjectionMask::leaves(descr, [0]);
        // 1,000 rows are not a whole number of 512-row batches: the second straddles.
        assert!(merges_dictionaries(&m, &[0, 1], &both, &[], 512));
        // A whole number of batches, one row group, or no string column: nothing merges.
        assert!(!merges_dictionaries(&m, &[0, 1], &both, &[], 500));
        assert!(!merges_dictionaries(&m, &[1], &both, &[], 512));
        assert!(!merges_dictionaries(&m, &[0, 1], &ids, &[], 512));
        // A filter on the strings reads them as a dictionary too.
        assert!(merges_dictionaries(&m, &[0, 1], &ids, &[1], 512));
    }
}
