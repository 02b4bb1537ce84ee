//! Where a flat column's data page keeps its definition levels and its values.
//!
//! strata's own page walkers (the flat numeric decoder, the dictionary count and the
//! dictionary select routes) read flat columns only: no repetition levels, and definition
//! levels of one bit when the column is nullable. Data pages v1 and v2 lay those parts out
//! differently (v1: a 4-byte length, then the RLE levels, then the values; v2: lengths in the
//! header, levels not compressed); this reads both one way, with the same checks, so that the
//! walkers cannot drift apart on what a page may hold.

use std::ops::Range;

use parquet::basic::Encoding;
use parquet::column::page::Page;

use crate::{Error, Result};

/// A data page's parts, as offsets into its buffer ([`Page::buffer`]).
#[derive(Debug, PartialEq)]
pub(super) struct DataPageParts {
    /// Values the page holds, nulls included: for a flat column, its rows.
    pub(super) values: usize,
    /// How the values are encoded.
    pub(super) encoding: Encoding,
    /// The definition levels (RLE/bit-packed hybrid, bit width 1); empty when the column is
    /// not nullable.
    pub(super) levels: Range<usize>,
    /// Where the values start.
    pub(super) data: usize,
}

/// Splits a data page (v1 or v2) of a flat column, nullable or not. A dictionary page, levels
/// that are not RLE, lengths past the page's end, and a v2 page whose values and rows differ
/// (repeated values: not a flat column) are errors, for a caller to refuse or to give the page
/// to the parquet crate instead.
pub(super) fn data_page_parts(page: &Page, nullable: bool) -> Result<DataPageParts> {
    let len = page.buffer().len();
    let beyond = |end: usize| {
        Error::corrupt(format!(
            "a data page of {len} bytes says its levels end at byte {end}"
        ))
    };
    match page {
        Page::DictionaryPage { .. } => Err(Error::corrupt(
            "a second dictionary page where a data page was expected",
        )),
        Page::DataPage {
            buf,
            num_values,
            encoding,
            def_level_encoding,
            ..
        } => {
            let values = *num_values as usize;
            if !nullable {
                return Ok(DataPageParts {
                    values,
                    encoding: *encoding,
                    levels: 0..0,
                    data: 0,
                });
            }
            if *def_level_encoding != Encoding::RLE {
                return Err(Error::new(
                    crate::ErrorKind::Unsupported,
                    format!("strata reads RLE definition levels, not {def_level_encoding}"),
                ));
            }
            let bytes: [u8; 4] = buf
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| beyond(4))?;
            let end = u32::from_le_bytes(bytes) as usize + 4;
            if end > len {
                return Err(beyond(end));
            }
            Ok(DataPageParts {
                values,
                encoding: *encoding,
                levels: 4..end,
                data: end,
            })
        }
        Page::DataPageV2 {
            num_values,
            num_rows,
            encoding,
            def_levels_byte_len,
            rep_levels_byte_len,
            ..
        } => {
            if num_rows != num_values {
                return Err(Error::corrupt(format!(
                    "a data page of a flat column holds {num_values} values in {num_rows} rows"
                )));
            }
            // A flat column's repetition levels are all 0: skipped when a writer put any.
            let rep = *rep_levels_byte_len as usize;
            let end = rep.saturating_add(*def_levels_byte_len as usize);
            if end > len {
                return Err(beyond(end));
            }
            Ok(DataPageParts {
                values: *num_values as usize,
                encoding: *encoding,
                levels: if nullable { rep..end } else { end..end },
                data: end,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn v1(buf: &[u8], def: Encoding) -> Page {
        Page::DataPage {
            buf: Bytes::copy_from_slice(buf),
            num_values: 3,
            encoding: Encoding::RLE_DICTIONARY,
            def_level_encoding: def,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        }
    }

    fn v2(buf: &[u8], rows: u32, rep: u32, def: u32) -> Page {
        Page::DataPageV2 {
            buf: Bytes::copy_from_slice(buf),
            num_values: 3,
            encoding: Encoding::PLAIN,
            num_nulls: 0,
            num_rows: rows,
            def_levels_byte_len: def,
            rep_levels_byte_len: rep,
            is_compressed: false,
            statistics: None,
        }
    }

    #[test]
    fn v1_levels_follow_their_length() {
        let page = v1(&[2, 0, 0, 0, 6, 7, 1, 9], Encoding::RLE);
        let parts = data_page_parts(&page, true).unwrap();
        assert_eq!((parts.values, parts.levels, parts.data), (3, 4..6, 6));
        let parts = data_page_parts(&page, false).unwrap();
        assert_eq!((parts.levels, parts.data), (0..0, 0));
    }

    #[test]
    fn v2_levels_come_from_the_header() {
        let page = v2(&[0, 5, 5, 1, 2, 3], 3, 1, 2);
        let parts = data_page_parts(&page, true).unwrap();
        assert_eq!((parts.levels, parts.data), (1..3, 3));
        let parts = data_page_parts(&page, false).unwrap();
        assert_eq!((parts.levels, parts.data), (3..3, 3));
    }

    #[test]
    fn bad_pages_are_errors() {
        let short = v1(&[9, 0, 0, 0, 1], Encoding::RLE);
        assert!(data_page_parts(&short, true).is_err());
        assert!(data_page_parts(&v1(&[1, 0], Encoding::RLE), true).is_err());
        let packed = v1(&[0, 0, 0, 0], Encoding::PLAIN);
        assert!(data_page_parts(&packed, true).is_err());
        assert!(data_page_parts(&v2(&[1, 2], 3, 1, 2), true).is_err());
        assert!(data_page_parts(&v2(&[1, 2, 3], 2, 0, 0), false).is_err());
        let huge = v2(&[1], 3, u32::MAX, u32::MAX);
        assert!(data_page_parts(&huge, true).is_err());
        let dictionary = Page::DictionaryPage {
            buf: Bytes::new(),
            num_values: 0,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        };
        assert!(data_page_parts(&dictionary, true).is_err());
    }
}
