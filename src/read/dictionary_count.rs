//! Counting the rows a filter keeps in a row group from its dictionary pages, without
//! decoding a value per row.
//!
//! Why: a filtered count on a numeric column that pyarrow wrote (dictionary-encoded, no page
//! index) spent its time in the parquet crate expanding each row's dictionary key into a
//! value (a quarter of the command's CPU) and comparing every value (a fifth), where the
//! column holds a few hundred distinct values. Here the filter runs once on the dictionary
//! (and once on a null, for the rows without a value), and each row adds its key's answer.
//!
//! Only the simple case is taken, and anything else gives `None` and the ordinary path:
//! one filter column, flat, a plain 32/64-bit integer or float column (the Arrow type is then
//! the Parquet values as they are), every data page dictionary-encoded (v1 or v2 pages,
//! unencrypted), the file mapped. Every length and key is checked; a page that does not
//! decode as expected also gives `None`, and the ordinary reader then reports the damage.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
};
use arrow::datatypes::{DataType, Field, Schema};
use bytes::Bytes;
use parquet::basic::{Encoding, Type as PhysicalType};
use parquet::column::page::Page;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::serialized_reader::SerializedPageReader;

use super::data_page::data_page_parts;
use super::eval::{evaluate_in, InSets};
use super::expr::Expr;

/// The rows of row group `rg` that `filter` keeps, or `None` when this path does not apply
/// (see the module doc). `file` is the mapped file, `field` the filter column as the scan
/// sees it (its type must be the file's), `page_in` faults in a byte range of the map.
pub(crate) fn count(
    file: &Bytes,
    metadata: &ParquetMetaData,
    rg: usize,
    filter: &Expr,
    sets: &InSets,
    field: &Field,
    page_in: &dyn Fn(u64, u64),
) -> Option<u64> {
    let name = field.name();
    let columns = filter.columns();
    if columns.len() != 1 || columns[0] != name.as_str() {
        return None;
    }
    let group = metadata.row_groups().get(rg)?;
    let descr = metadata.file_metadata().schema_descr();
    let leaf = (0..descr.num_columns()).find(|&i| {
        let c = descr.column(i);
        c.path().parts().len() == 1 && c.path().parts()[0] == *name
    })?;
    let column = descr.column(leaf);
    if column.max_rep_level() != 0 || column.max_def_level() > 1 {
        return None;
    }
    let width = match (column.physical_type(), field.data_type()) {
        (PhysicalType::INT32, DataType::Int32) | (PhysicalType::FLOAT, DataType::Float32) => 4,
        (PhysicalType::INT64, DataType::Int64) | (PhysicalType::DOUBLE, DataType::Float64) => 8,
        _ => return None,
    };
    let chunk = group.columns().get(leaf)?;
    if chunk.crypto_metadata().is_some() || !super::dictionary::all_dictionary(chunk) {
        return None;
    }
    let (start, len) = chunk.byte_range();
    page_in(start, len);
    let rows = usize::try_from(group.num_rows()).ok()?;
    let reader = SerializedPageReader::new(Arc::new(file.clone()), chunk, rows, None).ok()?;
    let mut answers: Option<Answers> = None;
    let mut counted = 0usize;
    let mut kept = 0u64;
    let nullable = column.max_def_level() == 1;
    for page in reader {
        match page.ok()? {
            Page::DictionaryPage {
                buf, num_values, ..
            } => {
                if answers.is_some() {
                    return None;
                }
                let values = values(&buf, usize::try_from(num_values).ok()?, width, field)?;
                answers = Some(Answers::new(values, filter, sets, field)?);
            }
            page => {
                let parts = data_page_parts(&page, nullable).ok()?;
                let (buf, n) = (page.buffer(), parts.values);
                let nulls = if nullable {
                    zero_levels(buf.get(parts.levels)?, n)?
                } else {
                    0
                };
                let values = buf.get(parts.data..)?;
                kept += page_count(answers.as_ref()?, parts.encoding, values, n, nulls)?;
                counted = counted.checked_add(n)?;
            }
        }
    }
    (counted == rows).then_some(kept)
}

/// The plain-encoded dictionary values as the Arrow array the scan would decode.
pub(super) fn values(buf: &[u8], n: usize, width: usize, field: &Field) -> Option<ArrayRef> {
    if buf.len() != n.checked_mul(width)? {
        return None;
    }
    let four = || buf.chunks_exact(4).map(|b| [b[0], b[1], b[2], b[3]]);
    let eight = || {
        buf.chunks_exact(8)
            .map(|b| [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    };
    Some(match field.data_type() {
        DataType::Int32 => Arc::new(four().map(i32::from_le_bytes).collect::<Int32Array>()),
        DataType::Float32 => Arc::new(four().map(f32::from_le_bytes).collect::<Float32Array>()),
        DataType::Int64 => Arc::new(eight().map(i64::from_le_bytes).collect::<Int64Array>()),
        DataType::Float64 => Arc::new(eight().map(f64::from_le_bytes).collect::<Float64Array>()),
        _ => return None,
    })
}

/// The filter's answer for each dictionary value (1 kept, 0 not) and for a null.
pub(super) struct Answers {
    pub(super) per_key: Vec<u8>,
    pub(super) null: u8,
}

impl Answers {
    /// Evaluates `filter` on the dictionary's values and one null, with the scan's own code:
    /// the answers are those the rows would get one by one.
    pub(super) fn new(
        values: ArrayRef,
        filter: &Expr,
        sets: &InSets,
        field: &Field,
    ) -> Option<Answers> {
        let n = values.len();
        let with_null = arrow::compute::concat(&[
            values.as_ref(),
            arrow::array::new_null_array(values.data_type(), 1).as_ref(),
        ])
        .ok()?;
        let schema = Schema::new(vec![field.clone().with_nullable(true)]);
        let batch = RecordBatch::try_new(Arc::new(schema), vec![with_null]).ok()?;
        let mask = evaluate_in(filter, &batch, sets).ok()?;
        if mask.len() != n + 1 {
            return None;
        }
        let kept = |i: usize| u8::from(mask.is_valid(i) && mask.value(i));
        Some(Answers {
            per_key: (0..n).map(kept).collect(),
            null: kept(n),
        })
    }
}

/// The kept rows of one data page: `nulls` rows without a value, and `n - nulls` dictionary
/// keys in `values` (a bit width byte, then the RLE/bit-packed hybrid runs).
fn page_count(
    answers: &Answers,
    encoding: Encoding,
    values: &[u8],
    n: usize,
    nulls: usize,
) -> Option<u64> {
    if !matches!(
        encoding,
        Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY
    ) {
        return None;
    }
    let present = n.checked_sub(nulls)?;
    let mut kept = u64::from(answers.null) * nulls as u64;
    if present == 0 {
        return Some(kept);
    }
    let (&width, runs) = values.split_first()?;
    let table = &answers.per_key;
    let mut bad = false;
    let mut add =
        |key: u64, times: usize| match usize::try_from(key).ok().and_then(|k| table.get(k)) {
            Some(&a) => kept += u64::from(a) * times as u64,
            None => bad = true,
        };
    hybrid(runs, width, present, &mut add)?;
    (!bad).then_some(kept)
}

/// How many of the first `n` levels (bit width 1) in `levels` are 0: the page's null rows.
fn zero_levels(levels: &[u8], n: usize) -> Option<usize> {
    let mut zeros = 0usize;
    let mut bad = false;
    hybrid(levels, 1, n, &mut |level, times| match level {
        0 => zeros += times,
        1 => {}
        _ => bad = true,
    })?;
    (!bad).then_some(zeros)
}

/// Walks the first `n` values of an RLE/bit-packed hybrid run sequence of `width`-bit values,
/// handing `each(value, times)`; `None` when the bytes end early or are malformed.
pub(super) fn hybrid(
    mut buf: &[u8],
    width: u8,
    n: usize,
    each: &mut impl FnMut(u64, usize),
) -> Option<()> {
    if width > 32 {
        return None;
    }
    let width = usize::from(width);
    let mut left = n;
    while left > 0 {
        match run_header(&mut buf, width, left)? {
            Run::Repeated { value, times } => {
                each(value, times);
                left -= times;
            }
            Run::Packed { packed, count } => {
                unpack(packed, width, count, each);
                left -= count;
            }
        }
    }
    Some(())
}

/// Hands each of the first `count` `width`-bit values packed in `packed` (which holds them all).
fn unpack(packed: &[u8], width: usize, count: usize, each: &mut impl FnMut(u64, usize)) {
    if width == 0 {
        each(0, count);
        return;
    }
    let mask = (1u64 << width) - 1;
    for i in 0..count {
        let bit = i * width;
        let byte = bit / 8;
        // The 8 bytes from `byte` hold the value (width <= 32, shift < 8); near the end of
        // the packed bytes, what is left of them.
        let word = match packed.get(byte..byte + 8) {
            Some(w) => u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]),
            None => {
                let mut word = [0u8; 8];
                let tail = packed.get(byte..).unwrap_or(&[]);
                word[..tail.len()].copy_from_slice(tail);
                u64::from_le_bytes(word)
            }
        };
        each((word >> (bit % 8)) & mask, 1);
    }
}

/// An unsigned LEB128 varint and the bytes it took.
fn varint(buf: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, b) in buf.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// One run of the RLE/bit-packed hybrid encoding, taken from the front of `buf`.
pub(super) enum Run<'a> {
    /// One value `times` times (at most `left`). A run of zero, which no writer makes and
    /// which would never end a walk, is refused.
    Repeated { value: u64, times: usize },
    /// Groups of 8 values bit-packed in `packed` (`width` bytes a group, least significant
    /// bit first), of which the first `count` (at least 1, at most `left`) are wanted.
    Packed { packed: &'a [u8], count: usize },
}

/// The next run in `buf` (advanced past it) for values `width` bits wide, with `left` values
/// still wanted; `None` when the bytes end early or the run is empty.
pub(super) fn run_header<'a>(buf: &mut &'a [u8], width: usize, left: usize) -> Option<Run<'a>> {
    let (header, used) = varint(buf)?;
    *buf = &buf[used..];
    if header & 1 == 1 {
        let groups = usize::try_from(header >> 1).ok()?;
        let bytes = groups.checked_mul(width)?;
        let packed = buf.get(..bytes)?;
        *buf = &buf[bytes..];
        let count = groups.checked_mul(8)?.min(left);
        if count == 0 {
            return None;
        }
        return Some(Run::Packed { packed, count });
    }
    let times = usize::try_from(header >> 1).ok()?.min(left);
    let bytes = width.div_ceil(8);
    let raw = buf.get(..bytes)?;
    let mut value = 0u64;
    for (i, b) in raw.iter().enumerate() {
        value |= u64::from(*b) << (8 * i);
    }
    *buf = &buf[bytes..];
    if times == 0 {
        return None;
    }
    Some(Run::Repeated { value, times })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(buf: &[u8], width: u8, n: usize) -> Option<Vec<u64>> {
        let mut out = Vec::new();
        hybrid(buf, width, n, &mut |v, times| {
            out.extend(std::iter::repeat_n(v, times))
        })?;
        Some(out)
    }

    #[test]
    fn hybrid_runs_decode() {
        // An RLE run of 3 sevens (width 3), then one bit-packed group of 0..8.
        let mut buf = vec![3 << 1, 7];
        buf.push(1 << 1 | 1);
        let mut bits = 0u32;
        let mut packed = Vec::new();
        let mut acc = 0u64;
        for v in 0..8u64 {
            acc |= v << bits;
            bits += 3;
        }
        for _ in 0..3 {
            packed.push(acc as u8);
            acc >>= 8;
        }
        buf.extend(packed);
        assert_eq!(
            collect(&buf, 3, 11).unwrap(),
            vec![7, 7, 7, 0, 1, 2, 3, 4, 5, 6, 7]
        );
        // Fewer wanted than the group holds: the padding is not handed out.
        assert_eq!(collect(&buf, 3, 5).unwrap(), vec![7, 7, 7, 0, 1]);
    }

    #[test]
    fn short_or_bad_runs_give_none() {
        assert!(collect(&[], 3, 1).is_none());
        assert!(collect(&[3 << 1], 3, 3).is_none());
        assert!(collect(&[1 << 1 | 1, 0], 3, 8).is_none());
        assert!(collect(&[0, 0], 3, 1).is_none());
        assert!(collect(&[0x80; 12], 3, 1).is_none());
        assert!(collect(&[2, 0], 33, 1).is_none());
        // Every truncation of a valid sequence, and random bytes: no panic.
        let buf = [3 << 1, 7, 1 << 1 | 1, 0x88, 0xc6, 0xfa];
        for len in 0..buf.len() {
            assert!(collect(&buf[..len], 3, 11).is_none(), "cut to {len}");
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..5_000 {
            let bytes: Vec<u8> = (0..(state % 40) as usize)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let _ = collect(&bytes, (state % 34) as u8, (state % 100) as usize);
        }
    }

    #[test]
    fn null_levels_are_counted() {
        // 5 levels bit-packed: 1, 0, 1, 0, 0 (one group of 8, width 1).
        assert_eq!(zero_levels(&[1 << 1 | 1, 0b0000_0101], 5), Some(3));
        assert_eq!(zero_levels(&[4 << 1, 1], 4), Some(0));
    }

    /// A file of one nullable column of `values` as the parquet crate writes it with a
    /// dictionary (pages of 700 rows, row groups of 5,000), v1 or v2 pages.
    fn file(values: ArrayRef, v2: bool) -> (Bytes, ParquetMetaData) {
        use parquet::arrow::ArrowWriter;
        use parquet::file::properties::{WriterProperties, WriterVersion};
        let batch = RecordBatch::try_from_iter([("x", values)]).unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(5_000))
            .set_data_page_row_count_limit(700)
            .set_write_batch_size(100)
            .set_writer_version(if v2 {
                WriterVersion::PARQUET_2_0
            } else {
                WriterVersion::PARQUET_1_0
            })
            .build();
        let mut out = Vec::new();
        let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let out = Bytes::from(out);
        let metadata = parquet::file::metadata::ParquetMetaDataReader::new()
            .parse_and_finish(&out)
            .unwrap();
        (out, metadata)
    }

    /// What the scan's filter keeps of `values` row by row.
    fn expected(values: &ArrayRef, filter: &Expr) -> u64 {
        let schema = Schema::new(vec![Field::new("x", values.data_type().clone(), true)]);
        let batch = RecordBatch::try_new(Arc::new(schema), vec![values.clone()]).unwrap();
        let mask = evaluate_in(filter, &batch, &InSets::default()).unwrap();
        (0..mask.len())
            .filter(|&i| mask.is_valid(i) && mask.value(i))
            .count() as u64
    }

    #[test]
    fn counts_equal_the_row_by_row_filter() {
        let n = 12_345;
        let special = [
            f64::NAN,
            -0.0,
            0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -f64::NAN,
        ];
        let f64s: Float64Array = (0..n)
            .map(|i| match i % 13 {
                0 => None,
                1 => Some(special[(i / 13) as usize % special.len()]),
                _ => Some(((i * 37) % 300) as f64 - 50.0),
            })
            .collect();
        let f32s: Float32Array = f64s.iter().map(|v| v.map(|v| v as f32)).collect();
        let i64s: Int64Array = (0..n)
            .map(|i| (i % 7 != 0).then_some((i * 31) % 500 - 100))
            .collect();
        let i32s: Int32Array = (0..n as i32).map(|i| Some((i * 31) % 500 - 100)).collect();
        let columns: [ArrayRef; 4] = [
            Arc::new(f64s),
            Arc::new(f32s),
            Arc::new(i64s),
            Arc::new(i32s),
        ];
        let filters = [
            "x > 74",
            "x >= 0",
            "x < -0.5",
            "x = 0",
            "x != 10",
            "x <= 249.5",
            "x IS NULL",
            "x IS NOT NULL",
            "NOT (x > 100)",
            "x > 10 AND x < 20",
            "x < -40 OR x > 240",
            "x IN (1, 2, 3, 250)",
            "x NOT IN (1, 2)",
        ];
        for values in columns {
            for v2 in [false, true] {
                let (bytes, metadata) = file(values.clone(), v2);
                let field = Field::new("x", values.data_type().clone(), true);
                for text in filters {
                    let filter = Expr::parse(text).unwrap();
                    let sets = InSets::default();
                    let mut total = 0;
                    for rg in 0..metadata.num_row_groups() {
                        total += count(&bytes, &metadata, rg, &filter, &sets, &field, &|_, _| {})
                            .unwrap_or_else(|| {
                                panic!("{} v2 {v2} `{text}`: not counted", values.data_type())
                            });
                    }
                    assert_eq!(
                        total,
                        expected(&values, &filter),
                        "{} v2 {v2} `{text}`",
                        values.data_type()
                    );
                }
            }
        }
    }

    #[test]
    fn other_filters_and_columns_are_left_to_the_reader() {
        let values: ArrayRef = Arc::new(Int64Array::from_iter_values(0..1000));
        let (bytes, metadata) = file(values, false);
        let field = Field::new("x", DataType::Int64, true);
        let none = |text: &str, field: &Field| {
            let filter = Expr::parse(text).unwrap();
            count(
                &bytes,
                &metadata,
                0,
                &filter,
                &InSets::default(),
                field,
                &|_, _| {},
            )
        };
        assert!(none("x > 1", &field).is_some());
        assert!(none("x > 1 AND y > 1", &field).is_none());
        assert!(none("y > 1", &Field::new("y", DataType::Int64, true)).is_none());
        assert!(none("x > 1", &Field::new("x", DataType::Int32, true)).is_none());
        // Damaged bytes: the page reader fails or the pages do not add up, never a panic.
        let mut damaged = bytes.to_vec();
        for b in damaged.iter_mut().skip(4).take(200) {
            *b ^= 0x5a;
        }
        let damaged = Bytes::from(damaged);
        let filter = Expr::parse("x > 1").unwrap();
        let _ = count(
            &damaged,
            &metadata,
            0,
            &filter,
            &InSets::default(),
            &field,
            &|_, _| {},
        );
    }
}
