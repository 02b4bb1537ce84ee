//! Filtered scans of dictionary-encoded columns, read page by page: the filter runs once per
//! dictionary value, the rows it keeps are found from the keys, and only those rows of the
//! returned columns are looked up (late materialisation, by hand).
//!
//! Why: a 2-column projection filtered on one of its own numeric columns (`arr_delay > 74`,
//! 1% of rows, a file pyarrow wrote: dictionaries everywhere, no page index) spent a third of
//! its time expanding every row's key into a value and a sixth comparing every value; the
//! parquet crate's row filter cannot help, because with matches scattered it decodes the kept
//! rows' pages whole (its mask for short runs). Here the returned columns cost a walk over
//! their key runs plus one lookup per kept row. String filters (`origin = 'JFK' AND carrier IN
//! (...)`) take the same route: their dictionaries are compared, never their rows.
//!
//! Only the simple case is taken, decided per file ([`SelectPlan::new`]): the filter an `AND`
//! of terms that each read one column, every column read flat (no repetition, at most one
//! definition level), of a type whose dictionary page is read here (32/64-bit integers and
//! floats, `Utf8` strings) with the same type in the file as in the scan, every chunk of those
//! columns dictionary-encoded throughout and unencrypted, the file mapped. A row group whose
//! pages do not decode as expected gives `None` ([`SelectPlan::select`]), and the caller reads
//! it with the parquet crate instead, which reports the damage.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, UInt32Array};
use arrow::buffer::{Buffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;
use parquet::arrow::arrow_reader::RowSelection;
use parquet::basic::{Encoding, Type as PhysicalType};
use parquet::column::page::{Page, PageReader};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::serialized_reader::SerializedPageReader;

use super::data_page::data_page_parts;
use super::dictionary_count::{hybrid, run_header, values as numeric_values, Answers, Run};
use super::eval::InSets;
use super::expr::Expr;

/// How one file's row groups are read on this route.
pub(crate) struct SelectPlan {
    /// The filter's terms grouped by column: a row is kept when every group keeps it.
    groups: Vec<Group>,
    /// The columns that come out, in the file's order: leaf and field.
    outputs: Vec<(usize, Field)>,
    /// The schema of the batches that come out.
    schema: SchemaRef,
}

/// The terms of the filter that read one column.
struct Group {
    leaf: usize,
    field: Field,
    filter: Expr,
}

impl SelectPlan {
    /// The plan for `filter` on a file with `metadata` and Arrow schema `file_schema` (its
    /// columns as the scan reads them), returning the top-level columns `outputs` (none of
    /// them a partition column), or `None` when the route does not apply (see the module doc).
    /// `scan_schema` is the dataset's schema: every column read must have the same type there.
    pub(crate) fn new(
        metadata: &ParquetMetaData,
        file_schema: &Schema,
        scan_schema: &Schema,
        filter: &Expr,
        outputs: &[String],
    ) -> Option<SelectPlan> {
        let terms = match filter {
            Expr::And(terms) => terms.as_slice(),
            other => std::slice::from_ref(other),
        };
        let mut by_column: Vec<(&str, Vec<Expr>)> = Vec::new();
        for term in terms {
            let columns = term.columns();
            let [column] = columns.as_slice() else {
                return None;
            };
            match by_column.iter_mut().find(|(c, _)| c == column) {
                Some((_, list)) => list.push(term.clone()),
                None => by_column.push((column, vec![term.clone()])),
            }
        }
        let leaf = |name: &str| column_leaf(metadata, file_schema, scan_schema, name);
        let mut groups = Vec::with_capacity(by_column.len());
        for (name, mut terms) in by_column {
            let (leaf, field) = leaf(name)?;
            let filter = match terms.len() {
                1 => terms.pop()?,
                _ => Expr::And(terms),
            };
            groups.push(Group {
                leaf,
                field,
                filter,
            });
        }
        let mut out = Vec::with_capacity(outputs.len());
        for name in outputs {
            let found = leaf(name)?;
            if !out.iter().any(|(l, _)| *l == found.0) {
                out.push(found);
            }
        }
        out.sort_by_key(|(l, _)| *l);
        // Every row group's chunks of those columns dictionary-encoded and unencrypted.
        let leaves: Vec<usize> = groups
            .iter()
            .map(|g| g.leaf)
            .chain(out.iter().map(|(l, _)| *l))
            .collect();
        for group in metadata.row_groups() {
            for &l in &leaves {
                let chunk = group.columns().get(l)?;
                if chunk.crypto_metadata().is_some() || !super::dictionary::all_dictionary(chunk) {
                    return None;
                }
            }
        }
        if groups.is_empty() {
            return None;
        }
        let schema = Arc::new(Schema::new(
            out.iter().map(|(_, f)| f.clone()).collect::<Vec<_>>(),
        ));
        Some(SelectPlan {
            groups,
            outputs: out,
            schema,
        })
    }

    /// The byte ranges of row group `rg` this route reads (for faulting them in).
    pub(crate) fn byte_ranges(&self, metadata: &ParquetMetaData, rg: usize) -> Vec<(u64, u64)> {
        let Some(group) = metadata.row_groups().get(rg) else {
            return Vec::new();
        };
        let mut leaves: Vec<usize> = self.groups.iter().map(|g| g.leaf).collect();
        leaves.extend(self.outputs.iter().map(|(l, _)| *l));
        leaves.sort_unstable();
        leaves.dedup();
        leaves
            .iter()
            .filter_map(|&l| group.columns().get(l).map(|c| c.byte_range()))
            .collect()
    }

    /// The kept rows of row group `rg` of the mapped `file`, within `selection` (`None`: all
    /// rows), in batches of at most `batch_size` rows; `None` when its pages do not decode
    /// as this route expects (nothing was handed out then).
    /// A panic inside the parquet crate's page reader (damaged input) also gives `None`.
    pub(crate) fn select(
        &self,
        file: &Bytes,
        metadata: &ParquetMetaData,
        rg: usize,
        selection: Option<&RowSelection>,
        sets: &InSets,
        batch_size: usize,
    ) -> Option<Vec<RecordBatch>> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.select_rows(file, metadata, rg, selection, sets, batch_size)
        }))
        .ok()
        .flatten()
    }

    fn select_rows(
        &self,
        file: &Bytes,
        metadata: &ParquetMetaData,
        rg: usize,
        selection: Option<&RowSelection>,
        sets: &InSets,
        batch_size: usize,
    ) -> Option<Vec<RecordBatch>> {
        let group = metadata.row_groups().get(rg)?;
        let rows = usize::try_from(group.num_rows()).ok()?;
        // Rows are numbered in `u32` below.
        u32::try_from(rows).ok()?;
        // The rows the selection allows, and the span they lie in (pages outside are skipped).
        let allowed = match selection {
            Some(s) => Some(allowed_rows(s, rows)?),
            None => None,
        };
        let (lo, hi) = match &allowed {
            Some(bits) => span(bits, rows),
            None => (0, rows),
        };
        if lo >= hi {
            return Some(Vec::new());
        }
        let mut chunks: Vec<(usize, Chunk)> = Vec::new();
        // Each chunk read once, when first needed (a filter column may also come out).
        let chunk_of = |chunks: &mut Vec<(usize, Chunk)>, leaf: usize, field: &Field| {
            if let Some(i) = chunks.iter().position(|(l, _)| *l == leaf) {
                return Some(i);
            }
            let chunk = Chunk::read(file, metadata, rg, leaf, field, lo, hi)?;
            chunks.push((leaf, chunk));
            Some(chunks.len() - 1)
        };
        // The first group walks every row of the span; the others only the rows still kept.
        let mut kept = vec![0u64; rows.div_ceil(64)];
        for (i, g) in self.groups.iter().enumerate() {
            let at = chunk_of(&mut chunks, g.leaf, &g.field)?;
            let chunk = &chunks[at].1;
            let answers = Answers::new(chunk.values.clone(), &g.filter, sets, &g.field)?;
            if i == 0 {
                chunk.mark(&answers, &mut kept)?;
                if let Some(allowed) = &allowed {
                    for (k, a) in kept.iter_mut().zip(allowed) {
                        *k &= a;
                    }
                }
            } else {
                let rows = set_rows(&kept);
                let mut drop = Vec::new();
                chunk.keys_at(&rows, &mut |i, key| {
                    let keep = match key {
                        Some(k) => answers.per_key.get(k as usize).copied().unwrap_or(0),
                        None => answers.null,
                    };
                    if keep == 0 {
                        drop.push(rows[i]);
                    }
                })?;
                for r in drop {
                    kept[r as usize / 64] &= !(1u64 << (r % 64));
                }
            }
        }
        let selected = set_rows(&kept);
        if selected.is_empty() {
            // No row kept: the returned columns' pages are not even read.
            return Some(Vec::new());
        }
        let mut columns = Vec::with_capacity(self.outputs.len());
        for (leaf, field) in &self.outputs {
            let at = chunk_of(&mut chunks, *leaf, field)?;
            let chunk = &chunks[at].1;
            let mut keys: Vec<Option<u32>> = vec![None; selected.len()];
            let mut bad = false;
            let entries = chunk.values.len();
            chunk.keys_at(&selected, &mut |i, key| {
                bad |= key.is_some_and(|k| k as usize >= entries);
                keys[i] = key;
            })?;
            if bad {
                return None;
            }
            let indices = UInt32Array::from(keys);
            columns.push(arrow::compute::take(chunk.values.as_ref(), &indices, None).ok()?);
        }
        let total = selected.len();
        let batch = |offset: usize, len: usize| -> Option<RecordBatch> {
            let columns = columns.iter().map(|c| c.slice(offset, len)).collect();
            let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(len));
            RecordBatch::try_new_with_options(self.schema.clone(), columns, &options).ok()
        };
        let step = batch_size.max(1);
        (0..total)
            .step_by(step)
            .map(|offset| batch(offset, step.min(total - offset)))
            .collect()
    }
}

/// The one leaf of top-level column `name` and its field, when it is read on this route: flat,
/// of a type read here, the same type in the file as in the scan.
fn column_leaf(
    metadata: &ParquetMetaData,
    file_schema: &Schema,
    scan_schema: &Schema,
    name: &str,
) -> Option<(usize, Field)> {
    let (_, field) = file_schema.column_with_name(name)?;
    let (_, scanned) = scan_schema.column_with_name(name)?;
    if field.data_type() != scanned.data_type() {
        return None;
    }
    let descr = metadata.file_metadata().schema_descr();
    let mut found = (0..descr.num_columns())
        .filter(|&i| descr.column(i).path().parts().first().map(String::as_str) == Some(name));
    let leaf = found.next()?;
    if found.next().is_some() {
        return None;
    }
    let column = descr.column(leaf);
    if column.path().parts().len() != 1 || column.max_rep_level() != 0 || column.max_def_level() > 1
    {
        return None;
    }
    let fits = matches!(
        (column.physical_type(), field.data_type()),
        (PhysicalType::INT32, DataType::Int32)
            | (PhysicalType::FLOAT, DataType::Float32)
            | (PhysicalType::INT64, DataType::Int64)
            | (PhysicalType::DOUBLE, DataType::Float64)
            | (PhysicalType::BYTE_ARRAY, DataType::Utf8)
    );
    fits.then(|| (leaf, field.clone()))
}

/// One column chunk of a row group: its dictionary and the data pages within the rows read.
struct Chunk {
    values: ArrayRef,
    pages: Vec<KeyPage>,
}

/// A data page's keys: the RLE/bit-packed hybrid runs of its present values.
struct KeyPage {
    /// The row (in the row group) of the page's first row, and its rows.
    first: usize,
    rows: usize,
    /// For each row, its value's index among the page's present values (`u32::MAX`: null);
    /// `None` when no row is null (row `i` is value `i`).
    slots: Option<Vec<u32>>,
    /// Rows with a value.
    present: usize,
    /// The key bit width and the runs after it.
    width: u8,
    runs: Bytes,
}

impl Chunk {
    /// The chunk of `leaf` in row group `rg`, with the data pages that hold rows of `lo..hi`.
    fn read(
        file: &Bytes,
        metadata: &ParquetMetaData,
        rg: usize,
        leaf: usize,
        field: &Field,
        lo: usize,
        hi: usize,
    ) -> Option<Chunk> {
        let group = metadata.row_groups().get(rg)?;
        let chunk = group.columns().get(leaf)?;
        let nullable = metadata
            .file_metadata()
            .schema_descr()
            .column(leaf)
            .max_def_level()
            == 1;
        let rows = usize::try_from(group.num_rows()).ok()?;
        let mut reader =
            SerializedPageReader::new(Arc::new(file.clone()), chunk, rows, None).ok()?;
        let mut values: Option<ArrayRef> = None;
        let mut pages = Vec::new();
        let mut first = 0usize;
        while first < rows {
            let page = reader.get_next_page().ok()??;
            let parts = match page {
                Page::DictionaryPage {
                    buf, num_values, ..
                } => {
                    if values.is_some() {
                        return None;
                    }
                    values = Some(dictionary(&buf, usize::try_from(num_values).ok()?, field)?);
                    continue;
                }
                ref page => data_page_parts(page, nullable).ok()?,
            };
            let (buf, n, encoding, levels) =
                (page.buffer(), parts.values, parts.encoding, parts.levels);
            if !matches!(
                encoding,
                Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY
            ) {
                return None;
            }
            let start = first;
            first = first.checked_add(n)?;
            if first <= lo || start >= hi {
                continue;
            }
            let slots = if levels.is_empty() {
                None
            } else {
                slots(buf.get(levels.clone())?, n)?
            };
            let present = match &slots {
                Some(s) => s.iter().filter(|&&v| v != u32::MAX).count(),
                None => n,
            };
            let rest = buf.slice(parts.data..);
            let (width, runs) = match rest.first() {
                Some(&w) => (w, rest.slice(1..)),
                None if present == 0 => (0, Bytes::new()),
                None => return None,
            };
            if width > 32 {
                return None;
            }
            pages.push(KeyPage {
                first: start,
                rows: n,
                slots,
                present,
                width,
                runs,
            });
        }
        (first == rows).then_some(())?;
        Some(Chunk {
            values: values?,
            pages,
        })
    }

    /// Sets the bit of every row of the chunk's pages that `answers` keeps.
    fn mark(&self, answers: &Answers, kept: &mut [u64]) -> Option<()> {
        let table = &answers.per_key;
        let set = |kept: &mut [u64], row: usize| {
            if let Some(word) = kept.get_mut(row / 64) {
                *word |= 1u64 << (row % 64);
            }
        };
        for page in &self.pages {
            let mut bad = false;
            match &page.slots {
                None => mark_dense(
                    &page.runs,
                    page.width,
                    page.present,
                    page.first,
                    table,
                    kept,
                )?,
                Some(slots) => {
                    // The rows of the present values, in order.
                    let present: Vec<usize> = slots
                        .iter()
                        .enumerate()
                        .filter(|(_, &s)| s != u32::MAX)
                        .map(|(i, _)| page.first + i)
                        .collect();
                    let mut value = 0usize;
                    hybrid(&page.runs, page.width, page.present, &mut |key, times| {
                        match usize::try_from(key).ok().and_then(|k| table.get(k)) {
                            Some(1) => present
                                .get(value..value + times)
                                .unwrap_or(&[])
                                .iter()
                                .for_each(|&r| set(kept, r)),
                            Some(_) => {}
                            None => bad = true,
                        }
                        value += times;
                    })?;
                    if answers.null == 1 {
                        for (i, _) in slots.iter().enumerate().filter(|(_, &s)| s == u32::MAX) {
                            set(kept, page.first + i);
                        }
                    }
                }
            }
            if bad {
                return None;
            }
        }
        Some(())
    }

    /// Hands `each(i, key)` the key of each row `rows[i]` (ascending rows, all within the
    /// chunk's pages), `None` for a null row.
    fn keys_at(&self, rows: &[u32], each: &mut impl FnMut(usize, Option<u32>)) -> Option<()> {
        let mut next = 0usize;
        let mut wanted: Vec<u32> = Vec::new();
        let mut positions: Vec<usize> = Vec::new();
        for page in &self.pages {
            let end = page.first + page.rows;
            wanted.clear();
            positions.clear();
            while let Some(&row) = rows.get(next) {
                let row = row as usize;
                if row >= end {
                    break;
                }
                let local = row.checked_sub(page.first)?;
                let slot = match &page.slots {
                    Some(slots) => *slots.get(local)?,
                    None => u32::try_from(local).ok()?,
                };
                if slot == u32::MAX {
                    each(next, None);
                } else {
                    wanted.push(slot);
                    positions.push(next);
                }
                next += 1;
            }
            if wanted.is_empty() {
                continue;
            }
            let mut j = 0;
            sparse_hybrid(&page.runs, page.width, page.present, &wanted, &mut |key| {
                each(positions[j], Some(key));
                j += 1;
            })?;
        }
        (next == rows.len()).then_some(())
    }
}

/// Sets the bit of row `first + i` for each of the first `n` keys (a hybrid run sequence of
/// `width`-bit keys) that `table` keeps (1); `None` when the runs are malformed or a key is
/// outside the table.
fn mark_dense(
    buf: &[u8],
    width: u8,
    n: usize,
    first: usize,
    table: &[u8],
    kept: &mut [u64],
) -> Option<()> {
    let mut fits = true;
    walk_answers(buf, width, n, table, &mut |offset, bits, count| {
        if bits == 0 {
            return;
        }
        let row = first + offset;
        let (word, shift) = (row / 64, row % 64);
        match kept.get_mut(word) {
            Some(w) => *w |= bits << shift,
            None => fits = false,
        }
        if shift + count > 64 {
            match kept.get_mut(word + 1) {
                Some(w) => *w |= bits >> (64 - shift),
                None => fits = false,
            }
        }
    })?;
    fits.then_some(())
}

/// Walks the first `n` keys of a hybrid run sequence of `width`-bit keys and hands
/// `each(offset, bits, count)` the answers of `table` (1 kept, 0 not) for the keys from
/// `offset` on, `count` (at most 64) of them as the low bits of `bits`; `None` when the runs
/// are malformed or a key is outside the table.
///
/// Why not one call per key: the first filter column is walked row by row, and a call, a
/// bounds check and a bit set per key cost more than the rest of a filtered scan. Keys of at
/// most 16 bits go through a table of every possible key (an invalid one marked 2), 8 at a
/// time from whole words, and their answers come out 8 bits at a time.
pub(super) fn walk_answers(
    mut buf: &[u8],
    width: u8,
    n: usize,
    table: &[u8],
    each: &mut impl FnMut(usize, u64, usize),
) -> Option<()> {
    if width > 32 {
        return None;
    }
    let width = usize::from(width);
    let lookup: Vec<u8> = if width <= 16 {
        let mut all = vec![2u8; 1 << width];
        for (slot, &a) in all.iter_mut().zip(table) {
            *slot = a & 1;
        }
        all
    } else {
        Vec::new()
    };
    let answer = |key: u64| -> u8 {
        match usize::try_from(key).ok().and_then(|k| table.get(k)) {
            Some(&a) => a & 1,
            None => 2,
        }
    };
    let mask = if width == 0 { 0 } else { (1u64 << width) - 1 };
    let mut offset = 0usize;
    let mut left = n;
    while left > 0 {
        let run = run_header(&mut buf, width, left)?;
        if let Run::Repeated { value: key, times } = run {
            let a = answer(key);
            if a == 2 {
                return None;
            }
            let mut done = 0;
            while done < times {
                let count = (times - done).min(64);
                let bits = if a == 0 {
                    0
                } else if count == 64 {
                    u64::MAX
                } else {
                    (1u64 << count) - 1
                };
                each(offset + done, bits, count);
                done += count;
            }
            offset += times;
            left -= times;
        } else if let Run::Packed { packed, count } = run {
            let mut done = 0;
            let mut group = 0;
            while done < count {
                let take = (count - done).min(8);
                let start = group * width;
                let mut answers = 0u64;
                let mut flags = 0u8;
                // A whole group (`width` <= 16 bytes) read as one 16-byte word: shifts and
                // loads from the table, no call.
                if take == 8 && !lookup.is_empty() && start + 16 <= packed.len() {
                    let word = u128::from_le_bytes(packed[start..start + 16].try_into().ok()?);
                    for i in 0..8 {
                        let key = (word >> (i * width)) as u64 & mask;
                        let a = lookup[key as usize];
                        flags |= a;
                        answers |= u64::from(a & 1) << i;
                    }
                } else {
                    for i in 0..take {
                        let bit = (group * 8 + i) * width;
                        let mut key = 0u64;
                        for b in 0..8 {
                            if let Some(&byte) = packed.get(bit / 8 + b) {
                                key |= u64::from(byte) << (8 * b);
                            }
                        }
                        let a = answer((key >> (bit % 8)) & mask);
                        flags |= a;
                        answers |= u64::from(a & 1) << i;
                    }
                }
                if flags & 2 != 0 {
                    return None;
                }
                each(offset + done, answers, take);
                done += take;
                group += 1;
            }
            offset += count;
            left -= count;
        }
    }
    Some(())
}

/// The dictionary page's plain values as the Arrow array the scan would decode.
fn dictionary(buf: &[u8], n: usize, field: &Field) -> Option<ArrayRef> {
    match field.data_type() {
        DataType::Utf8 => {
            let mut offsets = Vec::with_capacity(n + 1);
            offsets.push(0i32);
            let mut bytes = Vec::with_capacity(buf.len().saturating_sub(4 * n));
            let mut rest = buf;
            for _ in 0..n {
                let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
                let len = usize::try_from(len).ok()?;
                let value = rest.get(4..4usize.checked_add(len)?)?;
                bytes.extend_from_slice(value);
                offsets.push(i32::try_from(bytes.len()).ok()?);
                rest = &rest[4 + len..];
            }
            let offsets = OffsetBuffer::new(offsets.into());
            let array = StringArray::try_new(offsets, Buffer::from_vec(bytes), None).ok()?;
            Some(Arc::new(array))
        }
        _ => {
            let width = match field.data_type() {
                DataType::Int32 | DataType::Float32 => 4,
                _ => 8,
            };
            numeric_values(buf, n, width, field)
        }
    }
}

/// Each of the first `n` rows' value index among the present values (`u32::MAX` for a null
/// row), from definition levels of bit width 1; `None` inside when no row is null.
fn slots(levels: &[u8], n: usize) -> Option<Option<Vec<u32>>> {
    // Most pages have no null: counted first, the map is built only for those that do.
    let mut any_null = false;
    let mut bad = false;
    hybrid(levels, 1, n, &mut |level, _| match level {
        0 => any_null = true,
        1 => {}
        _ => bad = true,
    })?;
    if bad {
        return None;
    }
    if !any_null {
        return Some(None);
    }
    let mut out: Vec<u32> = Vec::with_capacity(n);
    let mut value = 0u32;
    let mut nulls = 0usize;
    let mut bad = false;
    hybrid(levels, 1, n, &mut |level, times| match level {
        0 => {
            nulls += times;
            out.extend(std::iter::repeat_n(u32::MAX, times));
        }
        1 => {
            out.extend(value..value + times as u32);
            value += times as u32;
        }
        _ => bad = true,
    })?;
    if bad {
        return None;
    }
    Some((nulls > 0).then_some(out))
}

/// Hands `each(value)` the values at the ascending indices `wanted` of the first `n` values of
/// a hybrid run sequence of `width`-bit values, walking past the runs that hold none of them.
fn sparse_hybrid(
    mut buf: &[u8],
    width: u8,
    n: usize,
    wanted: &[u32],
    each: &mut impl FnMut(u32),
) -> Option<()> {
    if width > 32 {
        return None;
    }
    let width = usize::from(width);
    let mut start = 0usize;
    let mut j = 0usize;
    while j < wanted.len() && start < n {
        let left = n - start;
        let run = run_header(&mut buf, width, left)?;
        if let Run::Repeated { value, times } = run {
            let value = u32::try_from(value).ok()?;
            while let Some(&w) = wanted.get(j) {
                if w as usize >= start + times {
                    break;
                }
                each(value);
                j += 1;
            }
            start += times;
        } else if let Run::Packed { packed, count } = run {
            let mask = if width == 0 { 0 } else { (1u64 << width) - 1 };
            while let Some(&w) = wanted.get(j) {
                let at = (w as usize).checked_sub(start)?;
                if at >= count {
                    break;
                }
                let bit = at * width;
                let byte = bit / 8;
                let word = match packed.get(byte..byte + 8) {
                    Some(w) => u64::from_le_bytes(w.try_into().ok()?),
                    None => {
                        let mut word = 0u64;
                        for (b, &v) in packed.get(byte..).unwrap_or(&[]).iter().enumerate() {
                            word |= u64::from(v) << (8 * b);
                        }
                        word
                    }
                };
                each(((word >> (bit % 8)) & mask) as u32);
                j += 1;
            }
            start += count;
        }
    }
    (j == wanted.len()).then_some(())
}

/// The rows `selection` selects, as a bitmap over the row group's `rows`; `None` when it
/// selects past them.
fn allowed_rows(selection: &RowSelection, rows: usize) -> Option<Vec<u64>> {
    let mut bits = vec![0u64; rows.div_ceil(64)];
    let mut row = 0usize;
    for selector in selection.iter() {
        let end = row.checked_add(selector.row_count)?;
        if end > rows {
            return None;
        }
        if !selector.skip {
            for r in row..end {
                bits[r / 64] |= 1u64 << (r % 64);
            }
        }
        row = end;
    }
    Some(bits)
}

/// The first set row and one past the last in `bits` (`(0, 0)` when none is set).
fn span(bits: &[u64], rows: usize) -> (usize, usize) {
    let first = bits.iter().position(|&w| w != 0);
    let last = bits.iter().rposition(|&w| w != 0);
    match (first, last) {
        (Some(f), Some(l)) => {
            let lo = f * 64 + bits[f].trailing_zeros() as usize;
            let hi = l * 64 + 64 - bits[l].leading_zeros() as usize;
            (lo, hi.min(rows))
        }
        _ => (0, 0),
    }
}

/// The rows whose bits are set, ascending.
fn set_rows(bits: &[u64]) -> Vec<u32> {
    let mut out = Vec::new();
    for (i, &word) in bits.iter().enumerate() {
        let mut w = word;
        while w != 0 {
            let bit = w.trailing_zeros();
            out.push((i * 64) as u32 + bit);
            w &= w - 1;
        }
    }
    out
}
