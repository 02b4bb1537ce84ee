//! The Parquet writer: per-column settings from the selection, columns of each row group
//! encoded in parallel, files rolled over at a target size.

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowLeafColumn};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use super::choose::{default_codec, ColumnChoice};
use super::options::{PageVersion, WriteOptions};
use crate::error::{Error, Result};

fn write_error(e: parquet::errors::ParquetError) -> Error {
    Error::new(
        crate::ErrorKind::Io,
        format!("cannot write Parquet data: {e}"),
    )
}

/// Writer properties for `choices`, with the strata key-value metadata.
pub fn writer_properties(
    schema: &SchemaRef,
    choices: &[ColumnChoice],
    options: &WriteOptions,
    metadata: Vec<KeyValue>,
) -> Result<WriterProperties> {
    let mut b = WriterProperties::builder()
        .set_compression(default_codec(options.codec).to_parquet()?)
        .set_data_page_size_limit(options.page_bytes)
        .set_max_row_group_row_count(Some(options.row_group_rows))
        .set_writer_version(match options.page_version {
            PageVersion::V1 => WriterVersion::PARQUET_1_0,
            PageVersion::V2 => WriterVersion::PARQUET_2_0,
        })
        .set_statistics_enabled(if options.page_index {
            EnabledStatistics::Page
        } else {
            EnabledStatistics::Chunk
        })
        .set_offset_index_disabled(!options.page_index)
        .set_created_by(format!("strata {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(metadata));
    match options.dictionary {
        super::options::DictionaryMode::Off => b = b.set_dictionary_enabled(false),
        _ => b = b.set_dictionary_enabled(true),
    }
    for choice in choices {
        let path = ColumnPath::from(choice.column.as_str());
        b = b.set_column_compression(path.clone(), choice.codec.to_parquet()?);
        if choice.encoding == "default" {
            continue;
        }
        b = b.set_column_dictionary_enabled(path.clone(), choice.dictionary);
        if !choice.dictionary {
            let e = choice
                .encoding
                .parse()
                .map_err(|e| Error::internal(format!("bad encoding: {e}")))?;
            b = b.set_column_encoding(path, e);
        }
    }
    for name in &options.bloom_filter_columns {
        if schema.field_with_name(name).is_err() {
            return Err(Error::invalid(format!(
                "bloom filter column {name:?} is not in the data"
            )));
        }
        b = b.set_column_bloom_filter_enabled(ColumnPath::from(name.as_str()), true);
    }
    if !options.sort_by.is_empty() {
        let mut sorting = Vec::new();
        for name in &options.sort_by {
            let idx = schema
                .index_of(name)
                .map_err(|_| Error::invalid(format!("sort column {name:?} is not in the data")))?;
            sorting.push(SortingColumn {
                column_idx: idx as i32,
                descending: false,
                nulls_first: true,
            });
        }
        b = b.set_sorting_columns(Some(sorting));
    }
    Ok(b.build())
}

/// The batches cut into row groups of at most `rows` rows (slices, no copies).
pub fn row_groups(batches: &[RecordBatch], rows: usize) -> Vec<Vec<RecordBatch>> {
    let mut groups = Vec::new();
    let mut current: Vec<RecordBatch> = Vec::new();
    let mut filled = 0;
    for batch in batches {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let take = (rows - filled).min(batch.num_rows() - offset);
            current.push(batch.slice(offset, take));
            filled += take;
            offset += take;
            if filled == rows {
                groups.push(std::mem::take(&mut current));
                filled = 0;
            }
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// A Parquet file being written one row group at a time.
pub struct ParquetFileWriter<W: Write + Send> {
    writer: parquet::file::writer::SerializedFileWriter<W>,
    factory: parquet::arrow::arrow_writer::ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    row_groups: usize,
}

impl<W: Write + Send> ParquetFileWriter<W> {
    /// Starts a file (the Arrow schema goes into its metadata, as `ArrowWriter` does).
    pub fn try_new(out: W, schema: &SchemaRef, props: WriterProperties) -> Result<Self> {
        let (writer, factory) = ArrowWriter::try_new(out, schema.clone(), Some(props))
            .and_then(|w| w.into_serialized_writer())
            .map_err(write_error)?;
        Ok(ParquetFileWriter {
            writer,
            factory,
            schema: schema.clone(),
            row_groups: 0,
        })
    }

    /// Writes one row group, encoding its columns in parallel.
    pub fn write_row_group(&mut self, batches: &[RecordBatch]) -> Result<()> {
        let writers = self
            .factory
            .create_column_writers(self.row_groups)
            .map_err(write_error)?;
        let mut leaves: Vec<Vec<ArrowLeafColumn>> = Vec::with_capacity(writers.len());
        for (i, field) in self.schema.fields().iter().enumerate() {
            let start = leaves.len();
            for batch in batches {
                for (j, leaf) in compute_leaves(field, batch.column(i))
                    .map_err(write_error)?
                    .into_iter()
                    .enumerate()
                {
                    if leaves.len() <= start + j {
                        leaves.push(Vec::new());
                    }
                    leaves[start + j].push(leaf);
                }
            }
        }
        if leaves.len() != writers.len() {
            return Err(Error::internal(
                "column leaves do not match the column writers",
            ));
        }
        let chunks = writers
            .into_par_iter()
            .zip(leaves)
            .map(|(mut w, leaves)| {
                for leaf in &leaves {
                    w.write(leaf)?;
                }
                w.close()
            })
            .collect::<parquet::errors::Result<Vec<_>>>()
            .map_err(write_error)?;
        let mut group = self.writer.next_row_group().map_err(write_error)?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group).map_err(write_error)?;
        }
        group.close().map_err(write_error)?;
        self.row_groups += 1;
        Ok(())
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> usize {
        self.writer.bytes_written()
    }

    /// Writes the footer and returns the sink.
    pub fn finish(self) -> Result<W> {
        self.writer.into_inner().map_err(write_error)
    }
}

/// Writes `batches` as one Parquet file into `out` with exactly `props` (no selection), in row
/// groups of `row_group_rows`, encoding the columns of each row group in parallel.
pub fn write_parquet<W: Write + Send>(
    out: W,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    props: WriterProperties,
    row_group_rows: usize,
) -> Result<W> {
    let mut writer = ParquetFileWriter::try_new(out, schema, props)?;
    for group in row_groups(batches, row_group_rows) {
        writer.write_row_group(&group)?;
    }
    writer.finish()
}
