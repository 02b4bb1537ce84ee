//! Reading input files into Arrow batches: CSV, JSON lines, Parquet and Arrow IPC, with the
//! schema inferred (CSV and JSON) or taken from the file.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::str::FromStr;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::csv_input::read_csv;
use super::jsonl_input::read_jsonl;

use crate::error::{Error, Result};
use crate::read::Scan;

/// The format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// CSV with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Parquet.
    Parquet,
    /// An Arrow IPC file or stream.
    Ipc,
}

impl FromStr for InputFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(InputFormat::Csv),
            "json" | "jsonl" | "ndjson" => Ok(InputFormat::Jsonl),
            "parquet" => Ok(InputFormat::Parquet),
            "ipc" | "arrow" | "feather" => Ok(InputFormat::Ipc),
            _ => Err(Error::invalid(format!(
                "unknown input format {s:?}; expected csv, jsonl, parquet or ipc"
            ))),
        }
    }
}

impl InputFormat {
    /// The format a file name's extension implies.
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "csv" => Ok(InputFormat::Csv),
            "json" | "jsonl" | "ndjson" => Ok(InputFormat::Jsonl),
            "parquet" | "parq" => Ok(InputFormat::Parquet),
            "arrow" | "ipc" | "feather" | "arrows" => Ok(InputFormat::Ipc),
            _ => Err(Error::invalid(
                "cannot tell the input format from the file name; pass --input-format csv|jsonl|parquet|ipc",
            )
            .with("path", path.display())),
        }
    }
}

/// Rows per batch when reading CSV and JSON.
const BATCH_ROWS: usize = 64 * 1024;

/// Reads a whole input file. `format` defaults to what the extension says.
pub fn read_input(
    path: &Path,
    format: Option<InputFormat>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let format = match format {
        Some(f) => f,
        None => InputFormat::from_path(path)?,
    };
    let open = || File::open(path).map_err(|e| Error::io("cannot open input", path, e));
    let bad = |what: &str, e: arrow::error::ArrowError| {
        Error::from(e)
            .during(format!("malformed {what} input"))
            .with("path", path.display())
    };
    match format {
        InputFormat::Csv | InputFormat::Jsonl => {
            let file = open()?;
            // SAFETY: the map is read while the batches are decoded (they copy what they keep)
            // and dropped before this returns; a file changed by another process meanwhile gives
            // wrong rows or a parse error, as a read racing a writer would.
            let len = file
                .metadata()
                .map_err(|e| Error::io("cannot read input", path, e))?
                .len();
            // An empty file has nothing to map.
            let map = match len {
                0 => None,
                _ => Some(
                    // Populated up front: one call maps every page instead of a fault
                    // per page on the parsing threads.
                    unsafe { memmap2::MmapOptions::new().populate().map(&file) }
                        .map_err(|e| Error::io("cannot read input", path, e))?,
                ),
            };
            let text: &[u8] = map.as_deref().unwrap_or_default();
            let read = match format {
                InputFormat::Csv => read_csv(text, BATCH_ROWS),
                _ => read_jsonl(text, BATCH_ROWS),
            };
            read.map_err(|e| e.with("path", path.display()))
        }
        InputFormat::Parquet => {
            // Through a scan, with the file's own schema (key-value metadata included) on the
            // batches, as a Parquet reader gives it.
            let malformed = |e: Error| e.during("malformed Parquet input");
            let scan = Scan::new(path);
            let schema = scan.footer().map_err(malformed)?.schema().clone();
            let batches = scan
                .run()
                .map_err(malformed)?
                .batches
                .into_iter()
                .map(|b| b.with_schema(schema.clone()))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| bad("Parquet", e))?;
            Ok((schema, batches))
        }
        InputFormat::Ipc => {
            match arrow::ipc::reader::FileReader::try_new(BufReader::new(open()?), None) {
                Ok(reader) => {
                    let schema = reader.schema();
                    let batches = reader
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(|e| bad("Arrow IPC", e))?;
                    Ok((schema, batches))
                }
                // Not the file format: perhaps the stream format.
                Err(file_err) => {
                    let reader =
                        arrow::ipc::reader::StreamReader::try_new(BufReader::new(open()?), None)
                            .map_err(|_| bad("Arrow IPC", file_err))?;
                    let schema = reader.schema();
                    let batches = reader
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(|e| bad("Arrow IPC", e))?;
                    Ok((schema, batches))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn reads_csv_and_json_and_names_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("a.csv");
        std::fs::write(&csv, "id,name,score\n1,x,1.5\n2,,2.5\n").unwrap();
        let (schema, batches) = read_input(&csv, None).unwrap();
        assert_eq!(schema.fields().len(), 3);
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
        let json = dir.path().join("a.jsonl");
        std::fs::write(&json, "{\"a\":1,\"b\":\"x\"}\n{\"a\":2}\n").unwrap();
        let (_, batches) = read_input(&json, None).unwrap();
        assert_eq!(batches[0].num_rows(), 2);

        std::fs::write(&json, "{\"a\":1}\n{\"a\":\n").unwrap();
        let err = read_input(&json, None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("malformed JSON"), "{err}");
        std::fs::write(&csv, "a,b\n1,2\n3\n").unwrap();
        let err = read_input(&csv, None).unwrap_err();
        assert!(err.to_string().contains("malformed CSV"), "{err}");
        let pq = dir.path().join("x.parquet");
        std::fs::write(&pq, b"PAR1 not really").unwrap();
        let err = read_input(&pq, None).unwrap_err();
        assert!(err.to_string().contains("malformed Parquet"), "{err}");
        assert!(read_input(&dir.path().join("x.txt"), None).is_err());
        assert!(read_input(&dir.path().join("missing.csv"), None).is_err());
    }
}
