//! Decoded row groups kept between scans, behind an interface (the cache module's batch cache
//! implements it): keyed by file version, row group, the leaf columns decoded and the batch
//! size, so a repeated scan of the same columns skips decoding. Encrypted files bypass it, as
//! they bypass the footer cache.

use std::sync::Arc;

use arrow::array::RecordBatch;

use super::metadata::FileVersion;

/// What a list of decoded batches is the decoding of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DecodedKey {
    /// The file version.
    pub version: FileVersion,
    /// The row group.
    pub row_group: usize,
    /// The leaf columns decoded.
    pub leaves: Vec<usize>,
    /// Rows per batch.
    pub batch_size: usize,
}

/// Where scans keep and find decoded row groups (before filtering and projection).
pub trait DecodedCache: Send + Sync + std::fmt::Debug {
    /// The decoded batches of `key`, if kept.
    fn get(&self, key: &DecodedKey) -> Option<Arc<Vec<RecordBatch>>>;
    /// Keeps the decoded batches of `key`.
    fn insert(&self, key: DecodedKey, batches: Arc<Vec<RecordBatch>>);
}
