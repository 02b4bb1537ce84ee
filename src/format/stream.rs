//! A Parquet file written batch by batch with bounded memory (a masked copy of a file, batches
//! from a C stream): the codecs and encodings of its columns are chosen on the first batch, a
//! row group closes every `row_group_rows` rows (only its encoded pages are held), and the
//! file appears whole at its path on [`ParquetStreamWriter::finish`] or not at all.

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::options::WriteOptions;
use super::parquet_file::ParquetFileWriter;
use super::write::{plan, FileFormat, WrittenFile};
use crate::atomic_file::AtomicFile;
use crate::error::{Error, Result};

/// A Parquet file being written from a stream of batches.
pub(crate) struct ParquetStreamWriter {
    path: PathBuf,
    schema: SchemaRef,
    options: WriteOptions,
    reason: String,
    /// The staged file, until the first batch starts the writer.
    file: Option<AtomicFile>,
    writer: Option<ParquetFileWriter<AtomicFile>>,
    rows: u64,
}

impl ParquetStreamWriter {
    /// Stages a Parquet file of `schema` for `path` (nothing appears there before
    /// [`Self::finish`]); `reason` is recorded in the file as why it is Parquet.
    pub(crate) fn create(
        path: &Path,
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
            path: path.to_path_buf(),
            schema: schema.clone(),
            options: options.clone(),
            reason: reason.to_string(),
            file: Some(AtomicFile::create(path)?),
            writer: None,
            rows: 0,
        })
    }

    /// Starts the writer with the columns chosen on `sample`.
    fn start(&mut self, sample: &[RecordBatch]) -> Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| Error::internal("the Parquet stream was already started"))?;
        let keys = self
            .options
            .encryption
            .as_ref()
            .map(|e| (e.keys.as_ref(), &e.scheme));
        let plan = plan(
            &self.schema,
            sample,
            &self.options,
            keys,
            FileFormat::Parquet,
            &self.reason,
        )?;
        let props = plan.file_properties(&self.schema)?;
        self.writer = Some(ParquetFileWriter::try_new(file, &self.schema, props)?);
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
        writer
            .write_batch(batch)
            .map_err(|e| e.with("path", self.path.display()))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Writes the footer and puts the file in place.
    pub(crate) fn finish(mut self) -> Result<WrittenFile> {
        if self.writer.is_none() {
            // No rows: still a valid file with the schema.
            self.start(&[])?;
        }
        let writer = self
            .writer
            .take()
            .ok_or_else(|| Error::internal("the Parquet stream did not start"))?;
        let file = writer
            .finish()
            .map_err(|e| e.with("path", self.path.display()))?;
        file.commit()?;
        let bytes = std::fs::metadata(&self.path)
            .map_err(|e| Error::io("cannot stat output", &self.path, e))?
            .len();
        Ok(WrittenFile {
            path: self.path,
            rows: self.rows,
            bytes,
        })
    }
}
