//! One Parquet file with modular encryption, through the one writer: what
//! `WriteOptions { encryption, .. }` does for any write, with a borrowed key provider.

use std::path::Path;

use arrow::array::RecordBatch;

use super::codec::{Codec, CodecPolicy};
use super::options::{FormatChoice, WriteOptions};
use super::write::write_with;
use crate::crypto::{KeyProvider, ParquetEncryption};
use crate::error::{Error, Result};

/// Writes `batches` to a Parquet file at `path`, encrypted as `encryption` says with fresh
/// data keys wrapped by `keys`. The file appears whole or not at all (staged beside `path`,
/// then renamed). Pages are zstd-compressed (before they are encrypted), with the encodings
/// strata chooses per column and page statistics for pruning, as strata's other Parquet files.
/// For datasets, partitions and other codecs, use [`write`](super::write) with
/// [`WriteOptions::encryption`].
pub fn write_encrypted_parquet(
    path: &Path,
    batches: &[RecordBatch],
    keys: &dyn KeyProvider,
    encryption: &ParquetEncryption,
) -> Result<()> {
    let Some(first) = batches.first() else {
        return Err(Error::invalid("no record batches to write"));
    };
    let options = WriteOptions {
        format: FormatChoice::Parquet,
        codec: CodecPolicy::Fixed(Codec::Zstd(3)),
        ..WriteOptions::default()
    };
    write_with(
        path,
        &first.schema(),
        batches,
        &options,
        Some((keys, encryption)),
    )?;
    Ok(())
}
