//! A Parquet file written batch by batch with bounded memory into any sink (a masked copy of
//! a file staged as an [`AtomicFile`](crate::AtomicFile), batches from a C stream into a
//! buffer): the codecs and encodings of its columns are chosen on the first batch, a row group
//! closes every `row_group_rows` rows (only its encoded pages are held), and the footer is
//! written by [`ParquetStreamWriter::finish`].

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::choose::ColumnChoice;
use super::options::WriteOptions;
use super::parquet_file::ParquetFileWriter;
use super::splice::Splice;
use super::write::{plan_reusing, FileFormat};
use crate::error::{Error, Result};

/// A Parquet file being written from a stream of batches into `W`.
pub(crate) struct ParquetStreamWriter<W: Write + Send> {
    schema: SchemaRef,
    options: WriteOptions,
    reason: String,
    /// The sink, until the first batch starts the writer.
    sink: Option<W>,
    writer: Option<ParquetFileWriter<W>>,
    /// The column choices: given to reuse, or made on the first batch.
    choices: Option<Vec<ColumnChoice>>,
    /// The old file whose unchanged column chunks are copied (see [`Self::splicing`]).
    splice: Option<Splice>,
}

impl<W: Write + Send> ParquetStreamWriter<W> {
    /// A Parquet file of `schema` written into `sink` as `options` say (its codec policy,
    /// row group size, page settings and encryption; not sorting or partitioning, which need
    /// the whole data); `reason` is recorded in the file as why it is Parquet.
    pub(crate) fn new(
        sink: W,
        schema: &SchemaRef,
        options: &WriteOptions,
        reason: &str,
    ) -> Result<Self> {
        options.validate()?;
        if options.partitioning.is_some() || !options.sort_by.is_empty() {
            return Err(Error::invalid(
                "a Parquet file written batch by batch keeps the batches' order and holds one \
                 file: sorting and partitioning need the whole data at once",
            ));
        }
        Ok(ParquetStreamWriter {
            schema: schema.clone(),
            options: options.clone(),
            reason: reason.to_string(),
            sink: Some(sink),
            writer: None,
            choices: None,
            splice: None,
        })
    }

    /// Copies the column chunks `splice` keeps from its file instead of encoding them: the
    /// batches must then be that file's rows, in order (see `format::splice`).
    pub(crate) fn splicing(mut self, splice: Splice) -> Self {
        self.splice = Some(splice);
        self
    }

    /// Writes the columns as `choices` (of an earlier file of the same data) say, instead of
    /// choosing them on the first batch.
    pub(crate) fn reusing(mut self, choices: Vec<ColumnChoice>) -> Self {
        self.choices = Some(choices);
        self
    }

    /// The column choices, once the first batch (or [`Self::reusing`]) made them.
    pub(crate) fn choices(&self) -> Option<&[ColumnChoice]> {
        self.choices.as_deref()
    }

    /// Starts the writer with the columns chosen on `sample`.
    fn start(&mut self, sample: &[RecordBatch]) -> Result<()> {
        let sink = self
            .sink
            .take()
            .ok_or_else(|| Error::internal("the Parquet stream was already started"))?;
        let keys = self
            .options
            .encryption
            .as_ref()
            .map(|e| (e.keys.as_ref(), &e.scheme));
        let plan = plan_reusing(
            &self.schema,
            sample,
            &self.options,
            keys,
            FileFormat::Parquet,
            &self.reason,
            self.choices.take(),
        )?;
        let props = plan.file_properties(&self.schema)?;
        self.choices = Some(plan.choices().to_vec());
        let writer = ParquetFileWriter::try_new(sink, &self.schema, props)?;
        self.writer = Some(match self.splice.take() {
            Some(splice) => writer.splicing(splice),
            None => writer,
        });
        Ok(())
    }

    /// Writes `batch` (of the file's schema).
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if self.writer.is_none() {
            self.start(std::slice::from_ref(batch))?;
        }
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| Error::internal("the Parquet stream did not start"))?;
        writer.write_batch(batch)
    }

    /// Writes the footer and returns the sink (a file without rows still has the schema).
    pub(crate) fn finish(mut self) -> Result<W> {
        if self.writer.is_none() {
            self.start(&[])?;
        }
        let writer = self
            .writer
            .take()
            .ok_or_else(|| Error::internal("the Parquet stream did not start"))?;
        writer.finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, StringArray};

    use super::*;
    use crate::atomic_file::AtomicFile;
    use crate::crypto::{KeyProvider, KeyRing, ParquetDecryption, ParquetEncryption};
    use crate::format::WriteEncryption;
    use crate::read::Scan;

    fn batch(from: i64, rows: i64) -> RecordBatch {
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(from..from + rows));
        let names: ArrayRef = Arc::new(StringArray::from_iter_values(
            (from..from + rows).map(|i| format!("n{}", i % 7)),
        ));
        RecordBatch::try_from_iter([("id", ids), ("name", names)]).unwrap()
    }

    #[test]
    fn batches_become_row_groups_of_the_set_size_encrypted_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::create(&dir.path().join("k.toml"), Some("kf")).unwrap();
        let keys: Arc<dyn KeyProvider> = Arc::new(ring);
        let options = WriteOptions {
            row_group_rows: 1000,
            encryption: Some(WriteEncryption::new(
                ParquetEncryption::uniform("kf"),
                keys.clone(),
            )),
            ..WriteOptions::default()
        };
        let path = dir.path().join("s.parquet");
        let schema = batch(0, 1).schema();
        let file = AtomicFile::create(&path).unwrap();
        let mut writer = ParquetStreamWriter::new(file, &schema, &options, "test").unwrap();
        let mut from = 0;
        for rows in [700, 0, 900, 1400] {
            writer.write(&batch(from, rows)).unwrap();
            from += rows;
        }
        writer.finish().unwrap().commit().unwrap();
        let scan = Scan::new(&path).decryption(ParquetDecryption::from_provider(keys));
        let footer = scan.footer().unwrap();
        let groups: Vec<i64> = footer
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, vec![1000, 1000, 1000]);
        let out = scan.run().unwrap();
        let all = arrow::compute::concat_batches(&out.schema, &out.batches).unwrap();
        assert_eq!(all, batch(0, 3000));
        assert!(Scan::new(&path).run().is_err(), "read without the keys");
    }

    #[test]
    fn no_batches_give_a_file_with_the_schema_and_bad_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.parquet");
        let schema = batch(0, 1).schema();
        let options = WriteOptions::default();
        let writer = ParquetStreamWriter::new(Vec::new(), &schema, &options, "test").unwrap();
        std::fs::write(&path, writer.finish().unwrap()).unwrap();
        let out = Scan::new(&path).run().unwrap();
        assert_eq!(out.stats.rows_out, 0);
        assert_eq!(out.schema.fields().len(), 2);

        let mut writer = ParquetStreamWriter::new(Vec::new(), &schema, &options, "test").unwrap();
        let ids: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
        let wrong = RecordBatch::try_from_iter([("id", ids.clone()), ("name", ids)]).unwrap();
        let err = writer.write(&wrong).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument, "{err}");

        let sorted = WriteOptions {
            sort_by: vec!["id".into()],
            ..WriteOptions::default()
        };
        let err = ParquetStreamWriter::new(Vec::new(), &schema, &sorted, "test").err();
        assert_eq!(
            err.map(|e| e.kind()),
            Some(crate::ErrorKind::InvalidArgument)
        );
    }
}
