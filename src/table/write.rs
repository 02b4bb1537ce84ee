//! Writing a table's data files through strata's Parquet writer (codec policy, page index,
//! statistics, partition directories), and the Delta `add` actions that name them.

use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use deltalake_core::kernel::Add;
use parquet::file::metadata::ParquetMetaDataReader;

use super::stats::file_stats;
use crate::error::{Error, ErrorKind, Result};
use crate::format::{PartitionColumn, Partitioning, WriteOptions};
use crate::read::{unescape_partition_value, HIVE_NULL};

/// What the data files of one write hold.
pub(crate) struct Written {
    pub(crate) adds: Vec<Add>,
    pub(crate) rows: u64,
    pub(crate) bytes: u64,
}

/// Types a partition column may have: their text form is Delta's partition value form.
fn partition_type_ok(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Date32
            | DataType::Boolean
    )
}

/// Checks that `partition_by` names columns of `schema` a table may partition by.
pub(crate) fn check_partition_columns(schema: &Schema, partition_by: &[String]) -> Result<()> {
    for (i, column) in partition_by.iter().enumerate() {
        let Ok(field) = schema.field_with_name(column) else {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("partition column {column:?} is not in the data"),
            ));
        };
        if !partition_type_ok(field.data_type()) {
            return Err(Error::invalid(format!(
                "partition column {column:?} has type {}; a table partitions by strings, \
                 integers, dates or booleans",
                field.data_type()
            )));
        }
        if partition_by[..i].contains(column) {
            return Err(Error::invalid(format!(
                "partition column {column:?} is named twice"
            )));
        }
    }
    if !partition_by.is_empty() && partition_by.len() == schema.fields().len() {
        return Err(Error::invalid(
            "a table needs at least one column that is not a partition column",
        ));
    }
    Ok(())
}

/// `batches` cast to the table's `target` schema (same names; the types Delta stores, e.g.
/// microsecond timestamps), in its column order. Columns the table lacks or the batches lack
/// are an error naming them; a value that does not fit the table's type is an error.
pub(crate) fn conform(batches: &[RecordBatch], target: &SchemaRef) -> Result<Vec<RecordBatch>> {
    conform_filling(batches, target, false)
}

/// The table's schema with the columns `batches` bring that it lacks appended, as nullable
/// (Delta's mergeSchema); `None` when there are none.
pub(crate) fn merged_schema(
    table: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<Option<SchemaRef>> {
    let Some(first) = batches.first() else {
        return Ok(None);
    };
    let have = first.schema();
    let new: Vec<_> = have
        .fields()
        .iter()
        .filter(|f| table.field_with_name(f.name()).is_err())
        .map(|f| Arc::new(f.as_ref().clone().with_nullable(true)))
        .collect();
    if new.is_empty() {
        return Ok(None);
    }
    let mut fields: Vec<_> = table.fields().iter().cloned().collect();
    fields.extend(new);
    Ok(Some(Arc::new(Schema::new(fields))))
}

/// [`conform`], and with `fill`, nullable table columns the batches lack become nulls.
pub(crate) fn conform_filling(
    batches: &[RecordBatch],
    target: &SchemaRef,
    fill: bool,
) -> Result<Vec<RecordBatch>> {
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let have = first.schema();
    let extra: Vec<&str> = have
        .fields()
        .iter()
        .filter(|f| target.field_with_name(f.name()).is_err())
        .map(|f| f.name().as_str())
        .collect();
    let missing: Vec<&str> = target
        .fields()
        .iter()
        .filter(|f| have.field_with_name(f.name()).is_err() && !(fill && f.is_nullable()))
        .map(|f| f.name().as_str())
        .collect();
    if !extra.is_empty() || !missing.is_empty() {
        let mut why = Vec::new();
        if !extra.is_empty() {
            why.push(format!("not in the table: {}", extra.join(", ")));
        }
        if !missing.is_empty() {
            why.push(format!("missing from the data: {}", missing.join(", ")));
        }
        return Err(Error::invalid(format!(
            "the data's columns do not match the table's ({}); nothing was written",
            why.join("; ")
        )));
    }
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    batches
        .iter()
        .map(|batch| {
            let columns = target
                .fields()
                .iter()
                .map(|field| {
                    let column = match batch.column_by_name(field.name()) {
                        Some(column) => column,
                        None if fill && field.is_nullable() => {
                            return Ok(arrow::array::new_null_array(
                                field.data_type(),
                                batch.num_rows(),
                            ))
                        }
                        None => {
                            return Err(Error::invalid(format!(
                                "a batch lacks column {:?}",
                                field.name()
                            )))
                        }
                    };
                    if column.data_type() == field.data_type() {
                        return Ok(column.clone());
                    }
                    cast_with_options(column, field.data_type(), &options).map_err(|e| {
                        Error::invalid(format!(
                            "column {:?} ({}) does not fit the table's type {}: {e}",
                            field.name(),
                            column.data_type(),
                            field.data_type()
                        ))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            RecordBatch::try_new(target.clone(), columns).map_err(|e| {
                Error::invalid(format!("the data does not fit the table's schema: {e}"))
            })
        })
        .collect()
}

/// Writes `batches` (already of the table's schema) as new data files in `dir`, partitioned
/// by `partition_by`, and returns their `add` actions (paths relative to `dir`, partition
/// values, sizes, statistics). Files get names no other write uses, so nothing the table
/// references is ever replaced; files of a write that never commits are left for vacuum.
pub(crate) fn write_files(
    dir: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    partition_by: &[String],
    options: &WriteOptions,
) -> Result<Written> {
    let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    if rows == 0 {
        return Ok(Written {
            adds: Vec::new(),
            rows: 0,
            bytes: 0,
        });
    }
    let mut options = options.clone();
    options.format = crate::format::FormatChoice::Parquet;
    options.partitioning = (!partition_by.is_empty()).then(|| Partitioning {
        columns: partition_by
            .iter()
            .map(|c| PartitionColumn {
                column: c.clone(),
                granularity: None,
            })
            .collect(),
    });
    // A directory destination: new `part-*` files beside what is there.
    let mut dest = dir.as_os_str().to_os_string();
    dest.push(std::path::MAIN_SEPARATOR_STR);
    let summary = crate::format::write(Path::new(&dest), schema, batches, &options)?;
    let data_schema = data_schema(schema, partition_by);
    let now = crate::clock::now_ms() as i64;
    let mut adds = Vec::with_capacity(summary.files.len());
    let mut bytes = 0;
    for file in &summary.files {
        let rel = file.path.strip_prefix(dir).map_err(|_| {
            Error::internal(format!(
                "the writer put {} outside the table directory",
                file.path.display()
            ))
        })?;
        let rel_text = rel
            .to_str()
            .ok_or_else(|| Error::internal("a data file name is not UTF-8"))?
            .replace('\\', "/");
        let mut partition_values = std::collections::HashMap::new();
        for segment in rel_text.split('/').rev().skip(1) {
            if let Some((column, value)) = segment.split_once('=') {
                let value = unescape_partition_value(value, &file.path)?;
                let value = (value != HIVE_NULL).then_some(value);
                partition_values.insert(column.to_string(), value);
            }
        }
        bytes += file.bytes;
        adds.push(add_for(
            &file.path,
            rel_text,
            partition_values,
            (file.rows, file.bytes),
            options.encryption.is_some(),
            &data_schema,
            now,
        )?);
    }
    Ok(Written { adds, rows, bytes })
}

/// The `add` action of the new data file at `path`, named `rel` in the table, holding
/// `(rows, bytes)`, with its statistics read back from its footer (of `data_schema`).
pub(crate) fn add_for(
    path: &Path,
    rel: String,
    partition_values: std::collections::HashMap<String, Option<String>>,
    (rows, bytes): (u64, u64),
    encrypted: bool,
    data_schema: &Schema,
    now: i64,
) -> Result<Add> {
    // An encrypted file's statistics stay inside it: the log gets its row count only, so
    // no value of an encrypted column is written in the clear.
    let stats = if encrypted {
        format!("{{\"numRecords\":{rows}}}")
    } else {
        let handle = std::fs::File::open(path)
            .map_err(|e| Error::io("cannot read back a data file", path, e))?;
        let metadata = ParquetMetaDataReader::new()
            .parse_and_finish(&handle)
            .map_err(|e| Error::from(e).with("path", path.display()))?;
        file_stats(data_schema, &metadata)
    };
    Ok(Add {
        path: rel,
        partition_values,
        size: i64::try_from(bytes).unwrap_or(i64::MAX),
        modification_time: now,
        data_change: true,
        stats: Some(stats),
        ..Default::default()
    })
}

/// The arrow schema of `schema` without the partition columns (what the data files hold).
pub(crate) fn data_schema(schema: &Schema, partition_by: &[String]) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .filter(|f| !partition_by.contains(f.name()))
            .cloned()
            .collect::<Vec<_>>(),
    ))
}
