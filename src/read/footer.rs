//! Parsing the footer of a Parquet file that another program may have written.
//!
//! [`load`] is `ArrowReaderMetadata::load` with one fallback. The parquet crate's Thrift
//! decoder is strict where Arrow C++ (pyarrow) is lenient, so a few files other engines read
//! fail here: a footer field written with a type today's spec gives another field of that id,
//! or a dictionary page offset of 0 that would make the crate read the file's magic as a page
//! header. Only then is the footer mended (see [`super::footer_mend`]) and decoded again, so
//! the crate's own readers scan the file as pyarrow would; a footer the crate accepts as it
//! is takes the same path as before, plus one look at each chunk's dictionary offset.

use std::sync::Arc;

use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::reader::ChunkReader;

use super::footer_mend::mend;

/// The plaintext footer's trailing magic; an encrypted footer ("PARE") is never mended.
const MAGIC: &[u8; 4] = b"PAR1";

/// The footer of `reader` parsed with `options`, mended first when the crate refuses it or
/// when a chunk's dictionary offset is one Arrow C++ ignores. The crate's error is returned
/// when mending does not help either.
pub(crate) fn load<R: ChunkReader>(
    reader: &R,
    options: ArrowReaderOptions,
) -> Result<ArrowReaderMetadata> {
    match ArrowReaderMetadata::load(reader, options.clone()) {
        Ok(metadata) if !misplaced_dictionary(metadata.metadata()) => Ok(metadata),
        Ok(metadata) => Ok(load_mended(reader, options).unwrap_or(metadata)),
        Err(refused) => load_mended(reader, options).map_err(|_| refused),
    }
}

/// Whether a column chunk's dictionary offset is one Arrow C++ would not use (not positive,
/// or not before the first data page), which the crate would read from as given.
fn misplaced_dictionary(metadata: &ParquetMetaData) -> bool {
    metadata.row_groups().iter().any(|group| {
        group.columns().iter().any(|c| {
            c.dictionary_page_offset()
                .is_some_and(|d| d <= 0 || d >= c.data_page_offset())
        })
    })
}

/// The footer of `reader` mended and decoded, with the page index `options` ask for.
fn load_mended<R: ChunkReader>(
    reader: &R,
    options: ArrowReaderOptions,
) -> Result<ArrowReaderMetadata> {
    if options.file_decryption_properties().is_some() {
        return Err(ParquetError::General(
            "footers of encrypted files are not mended".into(),
        ));
    }
    let footer = footer_bytes(reader)?;
    let mended = mend(&footer).map_err(|e| ParquetError::General(e.to_string()))?;
    if mended.dropped_fields == 0 && mended.dictionary_offsets == 0 {
        return Err(ParquetError::General(
            "nothing in the footer to mend".into(),
        ));
    }
    let metadata = ParquetMetaDataReader::decode_metadata_with_options(
        &mended.bytes,
        Some(options.metadata_options()),
    )?;
    let mut with_index = ParquetMetaDataReader::new_with_metadata(metadata)
        .with_column_index_policy(options.column_index_policy())
        .with_offset_index_policy(options.offset_index_policy());
    with_index.read_page_indexes(reader)?;
    let metadata = with_index.finish()?;
    ArrowReaderMetadata::try_new(Arc::new(metadata), options)
}

/// The Thrift bytes of a plaintext footer, its length checked against the file's.
fn footer_bytes<R: ChunkReader>(reader: &R) -> Result<bytes::Bytes> {
    let len = reader.len();
    if len < 12 {
        return Err(ParquetError::General("file too small for a footer".into()));
    }
    let tail = reader.get_bytes(len - 8, 8)?;
    if tail.len() != 8 || &tail[4..] != MAGIC {
        return Err(ParquetError::General("no plaintext footer magic".into()));
    }
    let footer_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if footer_len + 12 > len {
        return Err(ParquetError::General(
            "footer length exceeds the file".into(),
        ));
    }
    let footer_len = usize::try_from(footer_len)
        .map_err(|_| ParquetError::General("footer length exceeds memory".into()))?;
    let footer = reader.get_bytes(len - 8 - footer_len as u64, footer_len)?;
    if footer.len() != footer_len {
        return Err(ParquetError::General("footer read short".into()));
    }
    Ok(footer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    /// A file of the vendored parquet-testing corpus.
    fn testing_file(name: &str) -> Bytes {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/parquet-testing/data")
            .join(name);
        Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    #[test]
    fn a_footer_the_crate_refuses_is_mended() {
        let file = testing_file("dict-page-offset-zero.parquet");
        assert!(ArrowReaderMetadata::load(&file, Default::default()).is_err());
        let metadata = load(&file, Default::default()).unwrap();
        let column = metadata.metadata().row_group(0).column(0);
        assert_eq!(column.dictionary_page_offset(), None);
        assert_eq!(column.data_page_offset(), 4);
        assert_eq!(metadata.metadata().file_metadata().num_rows(), 39);
    }

    #[test]
    fn bad_tails_give_errors() {
        for tail in [
            &b""[..],
            b"PAR1",
            b"PAR1\0\0\0\0PAR1",
            b"PAR1\xff\xff\xff\xffPAR1",
            b"PAR1\x01\0\0\0PARE",
            b"PAR1\x00\x04\0\0\0PAR1",
        ] {
            let file = Bytes::copy_from_slice(tail);
            assert!(load(&file, Default::default()).is_err(), "{tail:?}");
        }
    }

    #[test]
    fn every_byte_of_a_real_footer_damaged_gives_rows_or_an_error() {
        let file = testing_file("dict-page-offset-zero.parquet");
        let footer = footer_bytes(&file).unwrap();
        for at in 0..footer.len() {
            for value in [0x00, 0x0f, 0x19, 0x7f, 0x80, 0xff, footer[at] ^ 1] {
                let mut damaged = footer.to_vec();
                damaged[at] = value;
                if let Ok(mended) = mend(&damaged) {
                    // What the mender writes must walk as Thrift again.
                    let _ = mend(&mended.bytes).unwrap();
                }
            }
        }
    }
}
