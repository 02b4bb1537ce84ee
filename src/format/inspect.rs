//! What is in a Parquet or Arrow IPC file: schema, key-value metadata, row groups and, per
//! column chunk, codec, encodings, sizes and statistics.

use std::fs::File;
use std::path::Path;

use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use parquet::file::statistics::Statistics;
use serde::Serialize;

use super::codec::compression_name;
use crate::error::{Error, Result};
use crate::read::Scan;

/// One column chunk.
#[derive(Debug, Clone, Serialize)]
pub struct ChunkInfo {
    /// Dotted column path.
    pub column: String,
    /// Physical type.
    pub physical_type: String,
    /// Codec.
    pub codec: String,
    /// Encodings used by its pages.
    pub encodings: Vec<String>,
    /// Bytes on disk.
    pub compressed_bytes: i64,
    /// Bytes before compression.
    pub uncompressed_bytes: i64,
    /// Values (including nulls).
    pub values: i64,
    /// Null count from the statistics.
    pub nulls: Option<u64>,
    /// Minimum, rendered.
    pub min: Option<String>,
    /// Maximum, rendered.
    pub max: Option<String>,
    /// Whether a bloom filter is present.
    pub bloom_filter: bool,
    /// Whether the page index (column index) is present.
    pub page_index: bool,
}

/// One row group.
#[derive(Debug, Clone, Serialize)]
pub struct RowGroupInfo {
    /// Rows.
    pub rows: i64,
    /// Compressed bytes.
    pub bytes: i64,
    /// Column chunks.
    pub columns: Vec<ChunkInfo>,
}

/// A file's layout.
#[derive(Debug, Clone, Serialize)]
pub struct FileInfo {
    /// `parquet` or `ipc`.
    pub format: String,
    /// File size.
    pub bytes: u64,
    /// Rows.
    pub rows: i64,
    /// The Arrow schema, one `name: type` per field.
    pub schema: Vec<String>,
    /// The writer (`created_by`), Parquet only.
    pub created_by: Option<String>,
    /// Key-value metadata (the Arrow schema blob left out).
    pub metadata: Vec<(String, String)>,
    /// Row groups (Parquet) or record batches (IPC; no column chunks).
    pub row_groups: Vec<RowGroupInfo>,
}

fn render(stats: &Statistics) -> (Option<String>, Option<String>) {
    fn pair<T: std::fmt::Display>(
        a: Option<&T>,
        b: Option<&T>,
    ) -> (Option<String>, Option<String>) {
        (a.map(|v| v.to_string()), b.map(|v| v.to_string()))
    }
    let bytes = |b: Option<&[u8]>| {
        b.map(|b| match std::str::from_utf8(b) {
            Ok(s) => s.to_string(),
            Err(_) => b.iter().map(|x| format!("{x:02x}")).collect(),
        })
    };
    match stats {
        Statistics::Boolean(s) => pair(s.min_opt(), s.max_opt()),
        Statistics::Int32(s) => pair(s.min_opt(), s.max_opt()),
        Statistics::Int64(s) => pair(s.min_opt(), s.max_opt()),
        Statistics::Float(s) => pair(s.min_opt(), s.max_opt()),
        Statistics::Double(s) => pair(s.min_opt(), s.max_opt()),
        Statistics::Int96(s) => pair(s.min_opt(), s.max_opt()),
        Statistics::ByteArray(s) => (
            bytes(s.min_opt().map(|v| v.data())),
            bytes(s.max_opt().map(|v| v.data())),
        ),
        Statistics::FixedLenByteArray(s) => (
            bytes(s.min_opt().map(|v| v.data())),
            bytes(s.max_opt().map(|v| v.data())),
        ),
    }
}

fn parquet_info(footer: &ArrowReaderMetadata, bytes: u64) -> Result<FileInfo> {
    let meta = footer.metadata();
    let file = meta.file_metadata();
    let schema = footer.schema();
    let row_groups = meta
        .row_groups()
        .iter()
        .map(|rg| RowGroupInfo {
            rows: rg.num_rows(),
            bytes: rg.compressed_size(),
            columns: rg
                .columns()
                .iter()
                .map(|c| {
                    let (min, max) = c.statistics().map(render).unwrap_or((None, None));
                    ChunkInfo {
                        column: c.column_path().string(),
                        physical_type: c.column_type().to_string(),
                        codec: compression_name(c.compression()),
                        encodings: c.encodings().map(|e| e.to_string()).collect(),
                        compressed_bytes: c.compressed_size(),
                        uncompressed_bytes: c.uncompressed_size(),
                        values: c.num_values(),
                        nulls: c.statistics().and_then(|s| s.null_count_opt()),
                        min,
                        max,
                        bloom_filter: c.bloom_filter_offset().is_some(),
                        page_index: c.column_index_offset().is_some(),
                    }
                })
                .collect(),
        })
        .collect();
    Ok(FileInfo {
        format: "parquet".into(),
        bytes,
        rows: file.num_rows(),
        schema: schema
            .fields()
            .iter()
            .map(|f| {
                format!(
                    "{}: {}{}",
                    f.name(),
                    f.data_type(),
                    if f.is_nullable() { "" } else { " not null" }
                )
            })
            .collect(),
        created_by: file.created_by().map(str::to_string),
        metadata: file
            .key_value_metadata()
            .into_iter()
            .flatten()
            .filter(|kv| kv.key != parquet::arrow::ARROW_SCHEMA_META_KEY)
            .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
            .collect(),
        row_groups,
    })
}

/// Inspects a Parquet or Arrow IPC file (told apart by their magic bytes).
pub fn inspect(path: &Path) -> Result<FileInfo> {
    let open = || File::open(path).map_err(|e| Error::io("cannot open file", path, e));
    let file = open()?;
    let bytes = file
        .metadata()
        .map_err(|e| Error::io("cannot stat file", path, e))?
        .len();
    let mut magic = [0u8; 6];
    {
        use std::io::Read;
        let mut f = open()?;
        let _ = f.read(&mut magic);
    }
    let in_path = |e: Error| e.with("path", path.display());
    if magic.starts_with(b"PAR1") {
        // The footer as a scan reads it (same checks, same errors), with plain reads: nothing
        // of the file is kept mapped after an inspection.
        let footer = Scan::new(path)
            .no_mmap(true)
            .footer()
            .map_err(|e| e.during("not a readable Parquet file"))?;
        return parquet_info(&footer, bytes).map_err(in_path);
    }
    if magic.starts_with(b"ARROW1") {
        let reader =
            arrow::ipc::reader::FileReader::try_new(std::io::BufReader::new(file), None)
                .map_err(|e| in_path(Error::from(e).during("not a readable Arrow IPC file")))?;
        let schema = reader.schema();
        let metadata: Vec<(String, String)> = reader
            .custom_metadata()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut row_groups = Vec::new();
        let mut rows = 0i64;
        for batch in reader {
            let batch = batch.map_err(|e| in_path(Error::from(e).during("bad Arrow IPC batch")))?;
            rows += batch.num_rows() as i64;
            row_groups.push(RowGroupInfo {
                rows: batch.num_rows() as i64,
                bytes: batch.get_array_memory_size() as i64,
                columns: Vec::new(),
            });
        }
        return Ok(FileInfo {
            format: "ipc".into(),
            bytes,
            rows,
            schema: schema
                .fields()
                .iter()
                .map(|f| format!("{}: {}", f.name(), f.data_type()))
                .collect(),
            created_by: None,
            metadata,
            row_groups,
        });
    }
    Err(in_path(Error::invalid(
        "not a Parquet or Arrow IPC file (no PAR1 or ARROW1 magic)",
    )))
}
