//! Mends a Parquet footer that the parquet crate rejects but pyarrow (Arrow C++) reads.
//!
//! Why this exists: some writers put fields in the footer that today's format spec defines
//! with another type, or offsets that no reader can use as written. parquet-mr 1.12.0 dev
//! builds (the parquet-testing file `dict-page-offset-zero.parquet`) wrote `ColumnMetaData`
//! field 15, today `i32 bloom_filter_length`, as a list of structs, and a
//! `dictionary_page_offset` of 0. Thrift readers generated from the IDL, like Arrow C++'s,
//! skip a field whose wire type does not match the IDL; the parquet crate's decoder reads the
//! field as the IDL says and fails. Arrow C++ then ignores a dictionary offset that is not
//! before the first data page (0 included) and reads the chunk from its first data page,
//! where the dictionary page really is.
//!
//! [`mend`] walks the Thrift compact encoding of `FileMetaData` along the path the crate
//! decodes strictly (file, row groups, column chunks, column metadata), drops each field whose
//! wire type differs from the spec's, removes the dictionary offsets Arrow C++ would ignore,
//! and re-encodes the rest unchanged; every other struct is skipped generically and copied
//! byte for byte. It runs only when the crate has refused a footer (see `super::footer`), so
//! the common path never pays for it. Bad input gives an error: nesting is bounded, and every
//! length and count is checked against the bytes left before anything is read or allocated.

use std::fmt;

/// Deeper nesting than this is damage (a real footer nests about 8 deep).
const MAX_DEPTH: usize = 64;

/// Why a footer could not be mended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MendError {
    pub(crate) at: usize,
    pub(crate) what: &'static str,
}

impl fmt::Display for MendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at footer byte {}", self.what, self.at)
    }
}

impl std::error::Error for MendError {}

type Result<T> = std::result::Result<T, MendError>;

/// A mended footer and what was changed in it.
#[derive(Debug)]
pub(crate) struct Mended {
    pub(crate) bytes: Vec<u8>,
    /// Fields dropped because their wire type is not the spec's.
    pub(crate) dropped_fields: usize,
    /// Dictionary page offsets removed because they do not point before the first data page.
    pub(crate) dictionary_offsets: usize,
}

/// Thrift compact wire types (the low nibble of a field header or list header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    /// In a field header the value is in the type nibble (1 true, 2 false); in a list, a byte.
    Bool,
    Byte,
    I16,
    I32,
    I64,
    Double,
    Binary,
    List,
    Set,
    Map,
    Struct,
    Uuid,
}

impl Wire {
    fn of(nibble: u8, at: usize) -> Result<Wire> {
        Ok(match nibble {
            1 | 2 => Wire::Bool,
            3 => Wire::Byte,
            4 => Wire::I16,
            5 => Wire::I32,
            6 => Wire::I64,
            7 => Wire::Double,
            8 => Wire::Binary,
            9 => Wire::List,
            10 => Wire::Set,
            11 => Wire::Map,
            12 => Wire::Struct,
            13 => Wire::Uuid,
            _ => {
                return Err(MendError {
                    at,
                    what: "unknown Thrift wire type",
                })
            }
        })
    }
}

/// The structs the crate decodes strictly, on the path to `ColumnMetaData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    FileMetaData,
    RowGroup,
    ColumnChunk,
    ColumnMetaData,
}

/// What the spec says a field holds.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Value(Wire),
    ListOf(Wire),
    Walk(Node),
    ListOfWalk(Node),
}

/// The spec's type of field `id` of `node` (parquet.thrift), None for ids it does not define
/// (kept as they are: the crate skips those itself).
fn expected(node: Node, id: i16) -> Option<Expect> {
    use Expect::*;
    use Wire::*;
    Some(match (node, id) {
        // version, schema, num_rows, row_groups, key_value_metadata, created_by,
        // column_orders, encryption_algorithm, footer_signing_key_metadata
        (Node::FileMetaData, 1) => Value(I32),
        (Node::FileMetaData, 2) => ListOf(Struct),
        (Node::FileMetaData, 3) => Value(I64),
        (Node::FileMetaData, 4) => ListOfWalk(Node::RowGroup),
        (Node::FileMetaData, 5) | (Node::FileMetaData, 7) => ListOf(Struct),
        (Node::FileMetaData, 6) | (Node::FileMetaData, 9) => Value(Binary),
        (Node::FileMetaData, 8) => Value(Struct),
        // columns, total_byte_size, num_rows, sorting_columns, file_offset,
        // total_compressed_size, ordinal
        (Node::RowGroup, 1) => ListOfWalk(Node::ColumnChunk),
        (Node::RowGroup, 2) | (Node::RowGroup, 3) => Value(I64),
        (Node::RowGroup, 4) => ListOf(Struct),
        (Node::RowGroup, 5) | (Node::RowGroup, 6) => Value(I64),
        (Node::RowGroup, 7) => Value(I16),
        // file_path, file_offset, meta_data, offset_index_offset, offset_index_length,
        // column_index_offset, column_index_length, crypto_metadata, encrypted_column_metadata
        (Node::ColumnChunk, 1) | (Node::ColumnChunk, 9) => Value(Binary),
        (Node::ColumnChunk, 2) | (Node::ColumnChunk, 4) | (Node::ColumnChunk, 6) => Value(I64),
        (Node::ColumnChunk, 3) => Walk(Node::ColumnMetaData),
        (Node::ColumnChunk, 5) | (Node::ColumnChunk, 7) => Value(I32),
        (Node::ColumnChunk, 8) => Value(Struct),
        // type, encodings, path_in_schema, codec, num_values, total_uncompressed_size,
        // total_compressed_size, key_value_metadata, data_page_offset, index_page_offset,
        // dictionary_page_offset, statistics, encoding_stats, bloom_filter_offset,
        // bloom_filter_length, size_statistics, geospatial_statistics
        (Node::ColumnMetaData, 1) | (Node::ColumnMetaData, 4) => Value(I32),
        (Node::ColumnMetaData, 2) => ListOf(I32),
        (Node::ColumnMetaData, 3) => ListOf(Binary),
        (Node::ColumnMetaData, 5..=7) => Value(I64),
        (Node::ColumnMetaData, 8) | (Node::ColumnMetaData, 13) => ListOf(Struct),
        (Node::ColumnMetaData, 9..=11) | (Node::ColumnMetaData, 14) => Value(I64),
        (Node::ColumnMetaData, 12) | (Node::ColumnMetaData, 16) | (Node::ColumnMetaData, 17) => {
            Value(Struct)
        }
        (Node::ColumnMetaData, 15) => Value(I32),
        _ => return None,
    })
}

const DATA_PAGE_OFFSET: i16 = 9;
const DICTIONARY_PAGE_OFFSET: i16 = 11;

/// Mends the Thrift-encoded `FileMetaData` in `footer` (the bytes before the length and magic).
pub(crate) fn mend(footer: &[u8]) -> Result<Mended> {
    let mut walk = Walk {
        input: Input {
            buf: footer,
            pos: 0,
        },
        dropped_fields: 0,
        dictionary_offsets: 0,
    };
    let mut bytes = Vec::with_capacity(footer.len());
    walk.mend_struct(Node::FileMetaData, 0, &mut bytes)?;
    Ok(Mended {
        bytes,
        dropped_fields: walk.dropped_fields,
        dictionary_offsets: walk.dictionary_offsets,
    })
}

/// The footer bytes and the read position.
struct Input<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    fn fail(&self, what: &'static str) -> MendError {
        MendError { at: self.pos, what }
    }

    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.fail("footer ends inside a value"))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.left() {
            return Err(self.fail("a length runs past the end of the footer"));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.fail("varint longer than 10 bytes"))
    }

    fn zigzag(&mut self) -> Result<i64> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// A length or count, which must fit in the bytes left (every element takes a byte at
    /// least, so this also bounds the loops over elements).
    fn count(&mut self, per_element: usize, n: u64) -> Result<usize> {
        usize::try_from(n)
            .ok()
            .filter(|&n| n.checked_mul(per_element).is_some_and(|b| b <= self.left()))
            .ok_or_else(|| self.fail("a count runs past the end of the footer"))
    }

    /// A field header: the field id and the type nibble, or None at the struct's stop byte.
    fn field(&mut self, last: i16) -> Result<Option<(i16, u8)>> {
        let header = self.byte()?;
        if header == 0 {
            return Ok(None);
        }
        let nibble = header & 0x0f;
        let delta = header >> 4;
        let id = if delta == 0 {
            i16::try_from(self.zigzag()?).map_err(|_| self.fail("field id out of range"))?
        } else {
            last.checked_add(i16::from(delta))
                .ok_or_else(|| self.fail("field id out of range"))?
        };
        Ok(Some((id, nibble)))
    }

    /// A list or set header: the element count and type.
    fn list(&mut self) -> Result<(usize, Wire)> {
        let at = self.pos;
        let header = self.byte()?;
        let element = Wire::of(header & 0x0f, at)?;
        let n = match header >> 4 {
            15 => self.varint()?,
            n => u64::from(n),
        };
        let n = self.count(element_bytes(element), n)?;
        Ok((n, element))
    }

    /// Skips one value of type `wire` (a field's bool has no bytes: it is in the header).
    fn skip(&mut self, wire: Wire, in_field: bool, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(self.fail("nesting deeper than any footer"));
        }
        match wire {
            Wire::Bool if in_field => {}
            Wire::Bool | Wire::Byte => {
                self.byte()?;
            }
            Wire::I16 | Wire::I32 | Wire::I64 => {
                self.varint()?;
            }
            Wire::Double => {
                self.take(8)?;
            }
            Wire::Uuid => {
                self.take(16)?;
            }
            Wire::Binary => {
                let n = self.varint()?;
                let n = self.count(1, n)?;
                self.take(n)?;
            }
            Wire::List | Wire::Set => {
                let (n, element) = self.list()?;
                for _ in 0..n {
                    self.skip(element, false, depth + 1)?;
                }
            }
            Wire::Map => {
                let n = self.varint()?;
                if n > 0 {
                    let at = self.pos;
                    let types = self.byte()?;
                    let key = Wire::of(types >> 4, at)?;
                    let value = Wire::of(types & 0x0f, at)?;
                    let n = self.count(2, n)?;
                    for _ in 0..n {
                        self.skip(key, false, depth + 1)?;
                        self.skip(value, false, depth + 1)?;
                    }
                }
            }
            Wire::Struct => {
                let mut last = 0;
                while let Some((id, nibble)) = self.field(last)? {
                    let at = self.pos;
                    self.skip(Wire::of(nibble, at)?, true, depth + 1)?;
                    last = id;
                }
            }
        }
        Ok(())
    }
}

/// The fewest bytes one list element of this type takes.
fn element_bytes(wire: Wire) -> usize {
    match wire {
        Wire::Double => 8,
        Wire::Uuid => 16,
        _ => 1,
    }
}

/// One kept field of a struct being mended: its id, type nibble and encoded value.
struct Field {
    id: i16,
    nibble: u8,
    value: Vec<u8>,
}

struct Walk<'a> {
    input: Input<'a>,
    dropped_fields: usize,
    dictionary_offsets: usize,
}

impl Walk<'_> {
    /// Reads a struct of kind `node` and writes its mended encoding to `out`.
    fn mend_struct(&mut self, node: Node, depth: usize, out: &mut Vec<u8>) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(self.input.fail("nesting deeper than any footer"));
        }
        let mut fields = Vec::new();
        let mut last = 0;
        while let Some((id, nibble)) = self.input.field(last)? {
            last = id;
            let at = self.input.pos;
            let wire = Wire::of(nibble, at)?;
            match self.mend_field(expected(node, id), wire, depth)? {
                Some(value) => fields.push(Field { id, nibble, value }),
                None => self.dropped_fields += 1,
            }
        }
        if node == Node::ColumnMetaData {
            self.mend_dictionary_offset(&mut fields);
        }
        let mut last = 0i16;
        for field in &fields {
            write_field_header(out, last, field.id, field.nibble);
            out.extend_from_slice(&field.value);
            last = field.id;
        }
        out.push(0);
        Ok(())
    }

    /// The mended value of a field of wire type `wire`, or None when it is dropped.
    fn mend_field(
        &mut self,
        expect: Option<Expect>,
        wire: Wire,
        depth: usize,
    ) -> Result<Option<Vec<u8>>> {
        let start = self.input.pos;
        let matches = match expect {
            None => true,
            Some(Expect::Value(want)) => wire == want,
            Some(Expect::Walk(_)) => wire == Wire::Struct,
            Some(Expect::ListOf(want)) => wire == Wire::List && self.element_type()? == want,
            Some(Expect::ListOfWalk(_)) => {
                wire == Wire::List && self.element_type()? == Wire::Struct
            }
        };
        match expect {
            Some(Expect::Walk(node)) if matches => {
                let mut value = Vec::new();
                self.mend_struct(node, depth + 1, &mut value)?;
                Ok(Some(value))
            }
            Some(Expect::ListOfWalk(node)) if matches => {
                let (n, _) = self.input.list()?;
                let mut value = Vec::new();
                write_list_header(&mut value, n, 12);
                for _ in 0..n {
                    self.mend_struct(node, depth + 1, &mut value)?;
                }
                Ok(Some(value))
            }
            _ => {
                self.input.skip(wire, true, depth + 1)?;
                let raw = &self.input.buf[start..self.input.pos];
                Ok(matches.then(|| raw.to_vec()))
            }
        }
    }

    /// The element type of the list that starts here, read without moving past it.
    fn element_type(&mut self) -> Result<Wire> {
        let start = self.input.pos;
        let (_, element) = self.input.list()?;
        self.input.pos = start;
        Ok(element)
    }

    /// Removes a dictionary page offset that Arrow C++ would not use: one that is not
    /// positive or not before the first data page. The chunk is then read from its first data
    /// page, as Arrow C++ reads it, and a dictionary page found there is still taken as one.
    fn mend_dictionary_offset(&mut self, fields: &mut Vec<Field>) {
        let value = |fields: &[Field], id| {
            fields.iter().find(|f| f.id == id).and_then(|f| {
                let mut input = Input {
                    buf: &f.value,
                    pos: 0,
                };
                input.zigzag().ok()
            })
        };
        let Some(dictionary) = value(fields, DICTIONARY_PAGE_OFFSET) else {
            return;
        };
        let data = value(fields, DATA_PAGE_OFFSET);
        let usable = dictionary > 0 && data.is_none_or(|data| dictionary < data);
        if !usable {
            fields.retain(|f| f.id != DICTIONARY_PAGE_OFFSET);
            self.dictionary_offsets += 1;
        }
    }
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn write_field_header(out: &mut Vec<u8>, last: i16, id: i16, nibble: u8) {
    let delta = i32::from(id) - i32::from(last);
    if (1..=15).contains(&delta) {
        out.push(((delta as u8) << 4) | nibble);
    } else {
        out.push(nibble);
        let id = i64::from(id);
        write_varint(out, ((id << 1) ^ (id >> 63)) as u64);
    }
}

fn write_list_header(out: &mut Vec<u8>, n: usize, element: u8) {
    if n < 15 {
        out.push(((n as u8) << 4) | element);
    } else {
        out.push(0xf0 | element);
        write_varint(out, n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny compact-protocol writer for building footers in tests.
    #[derive(Default)]
    struct W {
        out: Vec<u8>,
        last: Vec<i16>,
    }

    impl W {
        fn begin(&mut self) -> &mut Self {
            self.last.push(0);
            self
        }
        fn end(&mut self) -> &mut Self {
            self.out.push(0);
            self.last.pop();
            self
        }
        fn field(&mut self, id: i16, nibble: u8) -> &mut Self {
            let last = self.last.last_mut().unwrap();
            write_field_header(&mut self.out, *last, id, nibble);
            *last = id;
            self
        }
        fn int(&mut self, v: i64) -> &mut Self {
            write_varint(&mut self.out, ((v << 1) ^ (v >> 63)) as u64);
            self
        }
        fn i64(&mut self, id: i16, v: i64) -> &mut Self {
            self.field(id, 6).int(v)
        }
        fn i32(&mut self, id: i16, v: i64) -> &mut Self {
            self.field(id, 5).int(v)
        }
        fn binary(&mut self, id: i16, v: &[u8]) -> &mut Self {
            self.field(id, 8);
            write_varint(&mut self.out, v.len() as u64);
            self.out.extend_from_slice(v);
            self
        }
        fn list(&mut self, n: usize, element: u8) -> &mut Self {
            write_list_header(&mut self.out, n, element);
            self
        }
    }

    /// A FileMetaData with one row group of one column whose metadata has `extra` appended.
    fn footer(dictionary: Option<i64>, extra: impl Fn(&mut W)) -> Vec<u8> {
        let mut w = W::default();
        w.begin().i32(1, 1);
        w.field(2, 9).list(1, 12).begin();
        w.binary(4, b"id");
        w.end();
        w.i64(3, 39);
        w.field(4, 9).list(1, 12).begin();
        w.field(1, 9).list(1, 12).begin();
        w.i64(2, 4).field(3, 12).begin();
        w.i32(1, 1).field(2, 9).list(1, 5).int(0);
        w.i32(4, 1).i64(5, 39).i64(6, 180).i64(7, 40).i64(9, 4);
        if let Some(d) = dictionary {
            w.i64(11, d);
        }
        extra(&mut w);
        w.end(); // ColumnMetaData
        w.end(); // ColumnChunk
        w.i64(2, 180).i64(3, 39).end(); // RowGroup
        w.end(); // FileMetaData
        w.out
    }

    #[test]
    fn a_sound_footer_comes_back_unchanged() {
        let f = footer(Some(2), |_| {});
        let m = mend(&f).unwrap();
        assert_eq!(m.bytes, f);
        assert_eq!((m.dropped_fields, m.dictionary_offsets), (0, 0));
    }

    #[test]
    fn a_field_of_the_wrong_type_is_dropped() {
        // Field 15 as a list of structs, the way a parquet-mr 1.12.0 dev build wrote it.
        let bad = footer(None, |w| {
            w.field(15, 9).list(1, 12).begin().i32(1, 0).end();
        });
        let good = footer(None, |_| {});
        let m = mend(&bad).unwrap();
        assert_eq!(m.bytes, good);
        assert_eq!((m.dropped_fields, m.dictionary_offsets), (1, 0));
    }

    #[test]
    fn fields_after_a_dropped_one_keep_their_ids() {
        // Field 30 (not in the spec) follows the dropped 15 with a delta of 15; mended, it
        // follows 9, which takes the long header form, and must still decode as 30.
        let bad = footer(None, |w| {
            w.field(15, 9).list(0, 12).i64(30, 5);
        });
        let m = mend(&bad).unwrap();
        assert_eq!(
            m.bytes,
            footer(None, |w| {
                w.i64(30, 5);
            })
        );
        let mut input = Input {
            buf: &m.bytes,
            pos: 0,
        };
        input.skip(Wire::Struct, false, 0).unwrap();
        assert_eq!(input.pos, m.bytes.len());
    }

    #[test]
    fn a_list_of_the_wrong_element_type_is_dropped() {
        let bad = footer(None, |w| {
            w.field(13, 9).list(2, 5).int(1).int(2);
        });
        let m = mend(&bad).unwrap();
        assert_eq!(m.bytes, footer(None, |_| {}));
        assert_eq!(m.dropped_fields, 1);
    }

    #[test]
    fn dictionary_offsets_arrow_cpp_ignores_are_removed() {
        for offset in [0, -1, 4, 100] {
            let m = mend(&footer(Some(offset), |_| {})).unwrap();
            assert_eq!(m.bytes, footer(None, |_| {}), "offset {offset}");
            assert_eq!(m.dictionary_offsets, 1);
        }
        let m = mend(&footer(Some(3), |_| {})).unwrap();
        assert_eq!(m.dictionary_offsets, 0);
    }

    #[test]
    fn unknown_fields_are_kept() {
        let f = footer(None, |w| {
            w.binary(40, b"abc");
        });
        assert_eq!(mend(&f).unwrap().bytes, f);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let f = footer(Some(0), |w| {
            w.field(15, 9).list(1, 12).begin().i32(1, 0).end();
        });
        for len in 0..f.len() {
            assert!(mend(&f[..len]).is_err(), "cut to {len}");
        }
    }

    #[test]
    fn garbage_gives_errors_not_panics() {
        // Deep nesting, huge counts and lengths, bad wire types.
        let deep: Vec<u8> = std::iter::repeat_n(0x1c, 10_000).collect();
        assert!(mend(&deep).is_err());
        let deep_lists: Vec<u8> = [0x19]
            .into_iter()
            .chain(std::iter::repeat_n(0x19, 10_000))
            .collect();
        assert!(mend(&deep_lists).is_err());
        assert!(mend(&[0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
        assert!(mend(&[0x18, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
        assert!(mend(&[0x1e]).is_err());
        assert!(mend(&[0x1b, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x55]).is_err());
        assert!(
            mend(&[0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
                .is_err()
        );
        // A pseudo-random sweep: whatever comes back, no panic.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let len = (state % 64) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let _ = mend(&bytes);
        }
    }
}
