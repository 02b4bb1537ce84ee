//! Damaged Parquet files, the same bytes for every route that reads them (the library, the
//! command line, the C ABI): a truncated footer, a bad trailing magic and a broken data page.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};

/// One kind of damage: its name (the file's stem) and what it does to the bytes.
pub struct Damage {
    pub name: &'static str,
    pub apply: fn(Vec<u8>, &Path) -> Vec<u8>,
}

/// The ways a file is damaged.
pub const DAMAGES: &[Damage] = &[
    Damage {
        name: "truncated_footer",
        apply: truncate_footer,
    },
    Damage {
        name: "bad_magic",
        apply: bad_magic,
    },
    Damage {
        name: "broken_page",
        apply: broken_page,
    },
];

/// The footer's metadata loses its second half; the length and magic stay at the end, so the
/// reader takes bytes of the data pages for the start of the footer.
fn truncate_footer(mut bytes: Vec<u8>, _: &Path) -> Vec<u8> {
    let n = bytes.len();
    let footer = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
    let tail = bytes.split_off(n - 8);
    bytes.truncate(n - 8 - footer / 2);
    bytes.extend_from_slice(&tail);
    bytes
}

/// The trailing `PAR1` magic is no longer `PAR1`.
fn bad_magic(mut bytes: Vec<u8>, _: &Path) -> Vec<u8> {
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    bytes
}

/// The first byte of the first data page's header becomes 0xff: a thrift field of type 15,
/// which does not exist, so the page cannot be decoded while the footer still reads.
fn broken_page(mut bytes: Vec<u8>, good: &Path) -> Vec<u8> {
    let reader = SerializedFileReader::new(std::fs::File::open(good).unwrap()).unwrap();
    let offset = reader.metadata().row_group(0).column(0).data_page_offset() as usize;
    bytes[offset] = 0xff;
    bytes
}

/// A good file: 1,000 rows of `id` (int64) and `name` (utf8), uncompressed, no dictionary.
pub fn write_good(path: &Path) {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..1000));
    let names: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..1000).map(|i| format!("name {i}")),
    ));
    let batch = RecordBatch::try_from_iter([("id", ids), ("name", names)]).unwrap();
    let props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// Writes a good file and one damaged file per damage into `dir`; returns the damaged ones
/// (`<damage>.parquet`) with their damage's name.
pub fn write_all(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    std::fs::create_dir_all(dir).unwrap();
    let good = dir.join("good.parquet");
    write_good(&good);
    DAMAGES
        .iter()
        .map(|d| {
            let bytes = (d.apply)(std::fs::read(&good).unwrap(), &good);
            let path = dir.join(format!("{}.parquet", d.name));
            std::fs::write(&path, bytes).unwrap();
            (d.name, path)
        })
        .collect()
}
