//! The Parquet writer: the one place in strata that sets up the parquet crate's writer
//! (properties, codecs, encodings, statistics, Parquet modular encryption). Per-column settings
//! come from the selection; the columns of each row group are encoded in parallel; a file can
//! be written a row group at a time or batch by batch.

use std::io::Write;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory,
};
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter};
use parquet::basic::Encoding;
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use super::choose::{default_codec, ColumnChoice};
use super::options::{DictionaryMode, PageVersion, WriteOptions};
use super::splice::{Splice, COPIED_COLUMNS_KEY};
use crate::crypto::{KeyProvider, ParquetEncryption};
use crate::error::{Error, Result};

/// Where a write's Parquet keys come from: which key ids protect what, and the provider that
/// wraps each file's fresh data keys.
pub(crate) type Keys<'a> = (&'a dyn KeyProvider, &'a ParquetEncryption);

fn writer_version(page: PageVersion) -> WriterVersion {
    match page {
        PageVersion::V1 => WriterVersion::PARQUET_1_0,
        PageVersion::V2 => WriterVersion::PARQUET_2_0,
    }
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
        .set_writer_version(writer_version(options.page_version))
        .set_statistics_enabled(if options.page_index {
            EnabledStatistics::Page
        } else {
            EnabledStatistics::Chunk
        })
        .set_offset_index_disabled(!options.page_index)
        .set_created_by(format!("strata {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(metadata));
    match options.dictionary {
        DictionaryMode::Off => b = b.set_dictionary_enabled(false),
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

/// `props` with Parquet modular encryption under fresh data keys from `keys` (one set per file:
/// no two files share a data key), after checking that every column the encryption names is a
/// column of `schema` (dotted paths for nested columns).
pub(crate) fn encrypted(
    props: WriterProperties,
    schema: &Schema,
    keys: Option<Keys<'_>>,
) -> Result<WriterProperties> {
    let Some((provider, encryption)) = keys else {
        return Ok(props);
    };
    let descriptor = ArrowSchemaConverter::new()
        .convert(schema)
        .map_err(|e| Error::from(e).during("cannot map the schema to Parquet"))?;
    let paths: Vec<String> = descriptor
        .columns()
        .iter()
        .map(|c| c.path().string())
        .collect();
    for column in encryption.column_paths() {
        if !paths.iter().any(|p| p == column) {
            return Err(Error::invalid(format!(
                "the Parquet encryption names column {column:?}, which the data does not have; \
                 its columns are {}",
                paths.join(", ")
            )));
        }
    }
    let properties = encryption.properties(provider)?;
    Ok(props
        .into_builder()
        .with_file_encryption_properties(properties)
        .build())
}

/// The encoded, uncompressed bytes of `array` as one column chunk: dictionary-encoded when
/// `encoding` is `None`, else in that encoding. What the selection's trials measure.
pub(crate) fn encode_chunk(
    field: &Field,
    array: &arrow::array::ArrayRef,
    encoding: Option<Encoding>,
    options: &WriteOptions,
) -> Result<Vec<u8>> {
    let schema = Arc::new(Schema::new(vec![field.clone()]));
    let batch = RecordBatch::try_new(schema.clone(), vec![array.clone()])
        .map_err(|e| Error::from(e).during("trial batch"))?;
    let mut builder = WriterProperties::builder()
        .set_statistics_enabled(EnabledStatistics::None)
        .set_data_page_size_limit(options.page_bytes)
        .set_dictionary_enabled(encoding.is_none())
        .set_writer_version(writer_version(options.page_version));
    if let Some(e) = encoding {
        builder = builder.set_encoding(e);
    }
    let fail = |e: parquet::errors::ParquetError| Error::from(e).during("trial write");
    let mut file = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut file, schema, Some(builder.build())).map_err(fail)?;
    writer.write(&batch).map_err(fail)?;
    let meta = writer.close().map_err(fail)?;
    let chunk = meta.row_group(0).column(0);
    let (start, len) = chunk.byte_range();
    Ok(file
        .get(start as usize..(start + len) as usize)
        .unwrap_or_default()
        .to_vec())
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

/// A row group being written: its column writers and the rows given to them.
struct OpenGroup {
    writers: Vec<ArrowColumnWriter>,
    rows: usize,
}

/// A Parquet file being written, a row group at a time ([`Self::write_row_group`]) or batch by
/// batch ([`Self::write_batch`], which closes a row group every `row_group_rows` rows).
pub struct ParquetFileWriter<W: Write + Send> {
    writer: parquet::file::writer::SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    row_groups: usize,
    row_group_rows: usize,
    open: Option<OpenGroup>,
    /// The top-level floating-point columns (by index) and the NaN values each held so far
    /// (`None`: unknown, a copied chunk whose file did not say), recorded in the footer so
    /// that readers may prune them by a lower bound.
    nans: Vec<(usize, Option<u64>)>,
    /// The old file whose unchanged column chunks this one copies, row group for row group.
    splice: Option<Splice>,
}

impl<W: Write + Send> ParquetFileWriter<W> {
    /// Starts a file (the Arrow schema goes into its metadata, as `ArrowWriter` does).
    pub fn try_new(out: W, schema: &SchemaRef, props: WriterProperties) -> Result<Self> {
        let row_group_rows = props.max_row_group_row_count().unwrap_or(1 << 20).max(1);
        let (writer, factory) = ArrowWriter::try_new(out, schema.clone(), Some(props))
            .and_then(|w| w.into_serialized_writer())
            .map_err(write_error)?;
        let nans = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| f.data_type().is_floating())
            .map(|(i, _)| (i, Some(0)))
            .collect();
        Ok(ParquetFileWriter {
            writer,
            factory,
            schema: schema.clone(),
            row_groups: 0,
            row_group_rows,
            open: None,
            nans,
            splice: None,
        })
    }

    /// Makes this file a copy of `splice`'s file with only its changed columns encoded: the
    /// batches then must hold exactly the old file's rows, in order (their copied columns are
    /// not read), and row groups close where the old file's did.
    pub(crate) fn splicing(mut self, splice: Splice) -> Self {
        for (i, count) in &mut self.nans {
            if splice.copies(*i) {
                *count = splice.nan_count(self.schema.field(*i).name());
            }
        }
        self.splice = Some(splice);
        self
    }

    /// Whether column `i` is copied from a spliced file rather than encoded.
    fn copies(&self, i: usize) -> bool {
        self.splice.as_ref().is_some_and(|s| s.copies(i))
    }

    /// Rows the row group being written holds when it closes.
    fn group_rows(&self) -> Result<usize> {
        match &self.splice {
            None => Ok(self.row_group_rows),
            Some(splice) if self.row_groups < splice.row_groups() => {
                Ok(splice.rows_in(self.row_groups))
            }
            Some(_) => Err(Error::internal(
                "a spliced file was given more rows than the file it replaces",
            )),
        }
    }

    /// Checks that `batch` has the file's columns: as many, of the same types (nested field
    /// names aside), and no nulls in a column declared without them.
    fn check(&self, batch: &RecordBatch) -> Result<()> {
        let fields = self.schema.fields();
        if batch.num_columns() != fields.len() {
            return Err(Error::invalid(format!(
                "a batch of {} columns for a Parquet file of {}",
                batch.num_columns(),
                fields.len()
            )));
        }
        for (field, column) in fields.iter().zip(batch.columns()) {
            if !column.data_type().equals_datatype(field.data_type()) {
                return Err(Error::invalid(format!(
                    "column {} is {} in a batch but {} in the Parquet file",
                    field.name(),
                    column.data_type(),
                    field.data_type()
                )));
            }
            if !field.is_nullable() && column.null_count() > 0 {
                return Err(Error::invalid(format!(
                    "column {} has nulls but is declared without them",
                    field.name()
                )));
            }
        }
        Ok(())
    }

    /// Gives `batches` to the open row group's column writers (opening one if needed),
    /// encoding the columns in parallel.
    fn append(&mut self, batches: &[RecordBatch]) -> Result<()> {
        if batches.is_empty() {
            return Ok(());
        }
        for batch in batches {
            self.check(batch)?;
        }
        let group = match self.open.take() {
            Some(group) => group,
            None => OpenGroup {
                writers: self
                    .factory
                    .create_column_writers(self.row_groups)
                    .map_err(write_error)?,
                rows: 0,
            },
        };
        let copied: Vec<bool> = (0..self.schema.fields().len())
            .map(|i| self.copies(i))
            .collect();
        // Each column's leaves (levels and values per leaf column) and NaN values, column by
        // column in parallel: done one column after another they left a thread idle for a
        // tenth of a wide file's encoding.
        let columns = self
            .schema
            .fields()
            .par_iter()
            .zip(copied.par_iter())
            .enumerate()
            .map(|(i, (field, &copied))| column_leaves(field, i, copied, batches))
            .collect::<parquet::errors::Result<Vec<_>>>()
            .map_err(write_error)?;
        for (i, count) in &mut self.nans {
            if !copied[*i] {
                *count = count.map(|n| n + columns[*i].nans);
            }
        }
        let mut costs = Vec::with_capacity(group.writers.len());
        let mut leaves: Vec<Vec<ArrowLeafColumn>> = Vec::with_capacity(group.writers.len());
        for column in columns {
            costs.extend(std::iter::repeat_n(column.bytes, column.leaves.len()));
            leaves.extend(column.leaves);
        }
        if leaves.len() != group.writers.len() {
            return Err(Error::internal(
                "column leaves do not match the column writers",
            ));
        }
        let mut writers = group.writers;
        // The largest columns start first and each thread takes the next column when it is
        // done, so the write does not end on one large column that started last.
        let mut work: Vec<(usize, &mut ArrowColumnWriter, Vec<ArrowLeafColumn>)> = costs
            .into_iter()
            .zip(writers.iter_mut())
            .zip(leaves)
            .map(|((cost, w), leaves)| (cost, w, leaves))
            .collect();
        work.sort_by_key(|(cost, _, _)| std::cmp::Reverse(*cost));
        work.into_iter()
            .par_bridge()
            .try_for_each(|(_, w, leaves)| leaves.iter().try_for_each(|leaf| w.write(leaf)))
            .map_err(write_error)?;
        self.open = Some(OpenGroup {
            writers,
            rows: group.rows + batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
        });
        Ok(())
    }

    /// Closes the open row group, if any, into the file.
    fn close_group(&mut self) -> Result<()> {
        let Some(group) = self.open.take() else {
            return Ok(());
        };
        if self.splice.is_some() && group.rows != self.group_rows()? {
            return Err(Error::internal(format!(
                "row group {} of a spliced file has {} rows where the file it replaces has {}",
                self.row_groups,
                group.rows,
                self.group_rows()?
            )));
        }
        let copied: Vec<bool> = (0..group.writers.len()).map(|i| self.copies(i)).collect();
        // A copied column's writer was given nothing: it is dropped, not closed.
        let chunks = group
            .writers
            .into_par_iter()
            .zip(copied.par_iter())
            .map(|(w, &copied)| {
                if copied {
                    Ok(None)
                } else {
                    w.close().map(Some)
                }
            })
            .collect::<parquet::errors::Result<Vec<_>>>()
            .map_err(write_error)?;
        let mut out = self.writer.next_row_group().map_err(write_error)?;
        for (i, chunk) in chunks.into_iter().enumerate() {
            match (chunk, &self.splice) {
                (Some(chunk), _) => chunk.append_to_row_group(&mut out).map_err(write_error)?,
                (None, Some(splice)) => splice.copy_into(&mut out, self.row_groups, i)?,
                (None, None) => return Err(Error::internal("a column chunk went missing")),
            }
        }
        out.close().map_err(write_error)?;
        self.row_groups += 1;
        Ok(())
    }

    /// Writes one row group of `batches`, encoding its columns in parallel (a row group left
    /// open by [`Self::write_batch`] is closed first).
    pub fn write_row_group(&mut self, batches: &[RecordBatch]) -> Result<()> {
        self.close_group()?;
        self.append(batches)?;
        self.close_group()
    }

    /// Adds `batch` to the open row group, closing it whenever it reaches the row group size;
    /// only the encoded pages of one row group are held.
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let rows = self.group_rows()?;
            let filled = self.open.as_ref().map_or(0, |g| g.rows);
            let take = rows.saturating_sub(filled).min(batch.num_rows() - offset);
            self.append(&[batch.slice(offset, take)])?;
            offset += take;
            if self.open.as_ref().map_or(0, |g| g.rows) >= rows {
                self.close_group()?;
            }
        }
        Ok(())
    }

    /// Bytes written so far (row groups still open not counted).
    pub fn bytes_written(&self) -> usize {
        self.writer.bytes_written()
    }

    /// Closes the open row group, writes the footer and returns the sink.
    pub fn finish(mut self) -> Result<W> {
        self.close_group()?;
        if let Some(splice) = &self.splice {
            if self.row_groups != splice.row_groups() {
                return Err(Error::internal(format!(
                    "a spliced file got {} row groups of rows where the file it replaces has {}",
                    self.row_groups,
                    splice.row_groups()
                )));
            }
            let copied = serde_json::to_string(&splice.copied_names(&self.schema))
                .map_err(|e| Error::internal(format!("cannot encode copied columns: {e}")))?;
            self.writer
                .append_key_value_metadata(KeyValue::new(COPIED_COLUMNS_KEY.to_string(), copied));
        }
        if !self.nans.is_empty() {
            let counts: serde_json::Map<String, serde_json::Value> = self
                .nans
                .iter()
                .filter_map(|&(i, n)| Some((self.schema.field(i).name().clone(), n?.into())))
                .collect();
            self.writer.append_key_value_metadata(KeyValue::new(
                crate::read::NAN_COUNTS_KEY.to_string(),
                serde_json::Value::Object(counts).to_string(),
            ));
        }
        self.writer.into_inner().map_err(write_error)
    }
}

/// One column of a row group, ready for its writers.
struct ColumnLeaves {
    /// Per leaf column, its part of each batch (one empty leaf for a copied column).
    leaves: Vec<Vec<ArrowLeafColumn>>,
    /// NaN values in it (floating-point columns).
    nans: u64,
    /// Its Arrow buffers' size: what encoding it is expected to cost.
    bytes: usize,
}

/// Column `i` (`field`) of `batches` as leaves, with its NaN values and size.
fn column_leaves(
    field: &Field,
    i: usize,
    copied: bool,
    batches: &[RecordBatch],
) -> parquet::errors::Result<ColumnLeaves> {
    let mut column = ColumnLeaves {
        leaves: Vec::new(),
        nans: 0,
        bytes: 0,
    };
    if copied {
        // A spliced file's columns are flat: one leaf, given nothing.
        column.leaves.push(Vec::new());
        return Ok(column);
    }
    for batch in batches {
        let array = batch.column(i);
        column.bytes += array.get_buffer_memory_size();
        if field.data_type().is_floating() {
            column.nans += nan_count(array.as_ref());
        }
        for (j, leaf) in compute_leaves(field, array)?.into_iter().enumerate() {
            if column.leaves.len() <= j {
                column.leaves.push(Vec::new());
            }
            column.leaves[j].push(leaf);
        }
    }
    Ok(column)
}

/// The NaN values (not nulls) of a floating-point array.
fn nan_count(array: &dyn arrow::array::Array) -> u64 {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Float16Type, Float32Type, Float64Type};
    fn count<T: arrow::datatypes::ArrowPrimitiveType>(
        a: &arrow::array::PrimitiveArray<T>,
        is_nan: impl Fn(T::Native) -> bool,
    ) -> u64 {
        match a.nulls() {
            None => a.values().iter().filter(|v| is_nan(**v)).count() as u64,
            Some(_) => a.iter().flatten().filter(|v| is_nan(*v)).count() as u64,
        }
    }
    match array.data_type() {
        DataType::Float16 => count(array.as_primitive::<Float16Type>(), |v| v.is_nan()),
        DataType::Float32 => count(array.as_primitive::<Float32Type>(), |v| v.is_nan()),
        DataType::Float64 => count(array.as_primitive::<Float64Type>(), |v| v.is_nan()),
        _ => 0,
    }
}

fn write_error(e: parquet::errors::ParquetError) -> Error {
    Error::from(e).during("cannot write Parquet data")
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
