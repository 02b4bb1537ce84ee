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
