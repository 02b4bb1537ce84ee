//! Reading a Parquet file with modular encryption: a scan with the keys.

use std::path::Path;

use arrow::array::RecordBatch;

use super::scan::Scan;
use crate::crypto::ParquetDecryption;
use crate::error::Result;

/// Reads every record batch of the encrypted Parquet file (or dataset) at `path`, with keys
/// from `decryption`: a [`Scan`] with [`Scan::decryption`], which also projects, filters and
/// decodes in parallel when asked.
pub fn read_encrypted_parquet(
    path: &Path,
    decryption: &ParquetDecryption,
) -> Result<Vec<RecordBatch>> {
    Ok(Scan::new(path)
        .decryption(decryption.clone())
        .run()?
        .batches)
}
