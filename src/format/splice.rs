//! Column chunks copied as they are: a new Parquet file with the same rows as an old one, where
//! only the columns that changed are encoded again and every other column chunk (its pages,
//! statistics, page index and bloom filter) is copied byte for byte from the old file.
//!
//! This is what makes a row-level update cheap when it sets a few columns: re-encoding a
//! column (dictionary interning, level and value encoding, compression) costs several times
//! what decoding it does, and a merge that updates two columns of a twelve-column file need
//! not pay it for the other ten. It applies only where copying is exact: the same rows in the
//! same row groups, the same column layout (flat columns, equal Parquet descriptors), and no
//! modular encryption (encrypted pages are bound to their file).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::Schema;
use parquet::arrow::ArrowSchemaConverter;
use parquet::bloom_filter::Sbbf;
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};
use parquet::file::page_index::column_index::ColumnIndexMetaData;

use crate::error::{Error, Result};

/// Key-value metadata of a spliced file: the columns whose chunks were copied from the file it
/// replaced, as a JSON list. Their codecs and encodings are that file's, whatever
/// `strata.columns` says the writer would have chosen.
pub const COPIED_COLUMNS_KEY: &str = "strata.columns.copied";

/// An old Parquet file whose unchanged column chunks a new file copies.
pub(crate) struct Splice {
    file: File,
    metadata: Arc<ParquetMetaData>,
    /// Per column (flat: one leaf each), whether its chunks are copied.
    copied: Vec<bool>,
}

impl Splice {
    /// The file at `path`, if a file of `schema` can copy from it every column but `changed`:
    /// `Ok(None)` when it cannot (nested or reordered columns, other Parquet types, encryption,
    /// an empty row group), and the rewrite then encodes every column.
    pub(crate) fn open(path: &Path, schema: &Schema, changed: &[bool]) -> Result<Option<Splice>> {
        let file = File::open(path).map_err(|e| Error::io("cannot open a data file", path, e))?;
        let metadata = match ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Optional)
            .parse_and_finish(&file)
        {
            Ok(metadata) => metadata,
            // Encrypted footers, and anything else odd: encode every column instead.
            Err(_) => return Ok(None),
        };
        let descriptor = ArrowSchemaConverter::new()
            .convert(schema)
            .map_err(|e| Error::from(e).during("cannot map the schema to Parquet"))?;
        let old = metadata.file_metadata().schema_descr();
        let flat = descriptor.num_columns() == schema.fields().len()
            && changed.len() == schema.fields().len()
            && old.num_columns() == descriptor.num_columns();
        if !flat || metadata.row_groups().is_empty() {
            return Ok(None);
        }
        for (i, copied) in changed.iter().map(|c| !c).enumerate() {
            if copied && old.column(i) != descriptor.column(i) {
                return Ok(None);
            }
        }
        for group in metadata.row_groups() {
            if group.num_rows() <= 0 {
                return Ok(None);
            }
            if group
                .columns()
                .iter()
                .any(|c| c.crypto_metadata().is_some())
            {
                return Ok(None);
            }
        }
        Ok(Some(Splice {
            file,
            metadata: Arc::new(metadata),
            copied: changed.iter().map(|c| !c).collect(),
        }))
    }

    /// Whether column `i`'s chunks are copied.
    pub(crate) fn copies(&self, i: usize) -> bool {
        self.copied.get(i).copied().unwrap_or(false)
    }

    /// The names of the copied columns, for [`COPIED_COLUMNS_KEY`].
    pub(crate) fn copied_names(&self, schema: &Schema) -> Vec<String> {
        (0..schema.fields().len())
            .filter(|&i| self.copies(i))
            .map(|i| schema.field(i).name().clone())
            .collect()
    }

    /// Row groups of the old file (the new one has the same).
    pub(crate) fn row_groups(&self) -> usize {
        self.metadata.num_row_groups()
    }

    /// Rows in the old file's row group `group`.
    pub(crate) fn rows_in(&self, group: usize) -> usize {
        self.metadata
            .row_groups()
            .get(group)
            .map_or(0, |g| usize::try_from(g.num_rows()).unwrap_or(0))
    }

    /// The NaN count the old file's footer records for `column` (`None`: it records none).
    pub(crate) fn nan_count(&self, column: &str) -> Option<u64> {
        self.metadata
            .file_metadata()
            .key_value_metadata()?
            .iter()
            .find(|kv| kv.key == crate::read::NAN_COUNTS_KEY)?
            .value
            .as_deref()
            .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())?
            .get(column)?
            .as_u64()
    }

    /// Copies column `column` of row group `group` into `out`, the new file's row group of
    /// the same index.
    pub(crate) fn copy_into<W: std::io::Write + Send>(
        &self,
        out: &mut parquet::file::writer::SerializedRowGroupWriter<'_, W>,
        group: usize,
        column: usize,
    ) -> Result<()> {
        let failed = |e: parquet::errors::ParquetError| {
            Error::from(e).during(format!(
                "cannot copy column {column} of row group {group} from the replaced file"
            ))
        };
        let rg = self.metadata.row_groups().get(group).ok_or_else(|| {
            Error::internal(format!("the replaced file has no row group {group}"))
        })?;
        let chunk = rg.column(column);
        let index = |i: Option<&Vec<Vec<ColumnIndexMetaData>>>| {
            i.and_then(|i| i.get(group)?.get(column).cloned())
                .filter(|i| !matches!(i, ColumnIndexMetaData::NONE))
        };
        let close = ColumnCloseResult {
            bytes_written: u64::try_from(chunk.compressed_size()).unwrap_or(0),
            rows_written: u64::try_from(rg.num_rows()).unwrap_or(0),
            metadata: chunk.clone(),
            bloom_filter: Sbbf::read_from_column_chunk(chunk, &self.file).map_err(failed)?,
            column_index: index(self.metadata.column_index()),
            offset_index: self
                .metadata
                .offset_index()
                .and_then(|o| o.get(group)?.get(column).cloned()),
        };
        out.append_column(&self.file, close).map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
    use parquet::file::reader::{FileReader, SerializedFileReader};

    use super::*;
    use crate::atomic_file::AtomicFile;
    use crate::format::{ParquetStreamWriter, WriteOptions};
    use crate::read::Scan;

    fn batch(from: i64, rows: i64, fare: impl Fn(i64) -> f64) -> RecordBatch {
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(from..from + rows));
        let zones: ArrayRef = Arc::new(StringArray::from_iter_values(
            (from..from + rows).map(|i| format!("zone {}", i % 5)),
        ));
        let fares: ArrayRef = Arc::new(Float64Array::from_iter_values(
            (from..from + rows).map(fare),
        ));
        RecordBatch::try_from_iter([("id", ids), ("zone", zones), ("fare", fares)]).unwrap()
    }

    fn write(path: &Path, batches: &[RecordBatch], splice: Option<Splice>) {
        let options = WriteOptions {
            row_group_rows: 1000,
            ..WriteOptions::default()
        };
        let file = AtomicFile::create(path).unwrap();
        let mut writer =
            ParquetStreamWriter::new(file, &batches[0].schema(), &options, "test").unwrap();
        if let Some(splice) = splice {
            writer = writer.splicing(splice);
        }
        for b in batches {
            writer.write(b).unwrap();
        }
        writer.finish().unwrap().commit().unwrap();
    }

    fn chunk_bytes(path: &Path, group: usize, column: usize) -> Vec<u8> {
        let reader = SerializedFileReader::new(File::open(path).unwrap()).unwrap();
        let chunk = reader.metadata().row_group(group).column(column).clone();
        let (start, len) = chunk.byte_range();
        let all = std::fs::read(path).unwrap();
        all[start as usize..(start + len) as usize].to_vec()
    }

    #[test]
    fn unchanged_columns_are_copied_byte_for_byte_and_changed_ones_encoded() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.parquet");
        // 2500 rows in row groups of 1000, 1000 and 500; fare holds NaN in the old file.
        let before = batch(0, 2500, |i| if i == 7 { f64::NAN } else { i as f64 });
        write(&old, std::slice::from_ref(&before), None);

        // A change of `fare` only: the new file's batches are cut differently on purpose.
        let after = batch(0, 2500, |i| i as f64 * 2.0);
        let schema = after.schema();
        let splice = Splice::open(&old, &schema, &[false, false, true])
            .unwrap()
            .expect("a file strata wrote can be spliced");
        let new = dir.path().join("new.parquet");
        write(
            &new,
            &[after.slice(0, 1700), after.slice(1700, 800)],
            Some(splice),
        );

        let out = Scan::new(&new).run().unwrap();
        let all = arrow::compute::concat_batches(&out.schema, &out.batches).unwrap();
        assert_eq!(all, after);
        for group in 0..3 {
            for column in 0..2 {
                assert_eq!(
                    chunk_bytes(&old, group, column),
                    chunk_bytes(&new, group, column),
                    "row group {group} column {column} copied as it was"
                );
            }
        }
        let footer = SerializedFileReader::new(File::open(&new).unwrap()).unwrap();
        let kv = footer
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .unwrap();
        let value = |key: &str| {
            kv.iter()
                .find(|kv| kv.key == key)
                .and_then(|kv| kv.value.clone())
                .unwrap_or_default()
        };
        assert_eq!(value(COPIED_COLUMNS_KEY), r#"["id","zone"]"#);
        assert_eq!(value(crate::read::NAN_COUNTS_KEY), r#"{"fare":0}"#);

        // A copied float column keeps the old file's NaN count.
        let splice = Splice::open(&old, &schema, &[false, true, false])
            .unwrap()
            .unwrap();
        let kept_nan = dir.path().join("kept.parquet");
        write(&kept_nan, std::slice::from_ref(&before), Some(splice));
        let footer = SerializedFileReader::new(File::open(&kept_nan).unwrap()).unwrap();
        let kv = footer
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .unwrap();
        assert!(kv.iter().any(|kv| kv.key == crate::read::NAN_COUNTS_KEY
            && kv.value.as_deref() == Some(r#"{"fare":1}"#)));
    }

    #[test]
    fn rows_that_do_not_line_up_or_files_that_differ_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.parquet");
        let before = batch(0, 1500, |i| i as f64);
        write(&old, std::slice::from_ref(&before), None);
        let schema = before.schema();

        // Fewer rows than the old file: an error at finish, nothing committed.
        let splice = Splice::open(&old, &schema, &[false, false, true])
            .unwrap()
            .unwrap();
        let options = WriteOptions {
            row_group_rows: 1000,
            ..WriteOptions::default()
        };
        let mut writer = ParquetStreamWriter::new(Vec::new(), &schema, &options, "t")
            .unwrap()
            .splicing(splice);
        writer.write(&before.slice(0, 1200)).unwrap();
        assert!(writer.finish().is_err());
        // More rows: an error on the write.
        let splice = Splice::open(&old, &schema, &[false, false, true])
            .unwrap()
            .unwrap();
        let mut writer = ParquetStreamWriter::new(Vec::new(), &schema, &options, "t")
            .unwrap()
            .splicing(splice);
        assert!(writer.write(&batch(0, 1600, |i| i as f64)).is_err());

        // Another type for a copied column, or another column count: no splice.
        let other = arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("id", arrow::datatypes::DataType::Int32, false),
            schema.field(1).clone(),
            schema.field(2).clone(),
        ]);
        assert!(Splice::open(&old, &other, &[false, false, true])
            .unwrap()
            .is_none());
        // ... but a changed column may differ.
        assert!(Splice::open(&old, &other, &[true, false, true])
            .unwrap()
            .is_some());
        let fewer = arrow::datatypes::Schema::new(vec![schema.field(0).clone()]);
        assert!(Splice::open(&old, &fewer, &[true]).unwrap().is_none());
        // Not Parquet: no splice, no panic.
        let junk = dir.path().join("junk.parquet");
        std::fs::write(&junk, b"PAR1 not really PAR1").unwrap();
        assert!(Splice::open(&junk, &schema, &[false, false, true])
            .unwrap()
            .is_none());
        // Missing: an error naming the file.
        let err = Splice::open(
            &dir.path().join("gone.parquet"),
            &schema,
            &[true, true, true],
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("gone.parquet"), "{err}");
    }
}
