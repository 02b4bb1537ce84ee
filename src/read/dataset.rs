//! Finding the Parquet files of a scan: one file, or a directory tree with Hive-style
//! `column=value` directories whose values become partition columns.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::error::{Error, Result};

/// Hive's spelling of a null partition value.
const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

/// One data file and its partition values (in the dataset's partition column order).
pub(crate) struct DataFile {
    pub(crate) path: PathBuf,
    pub(crate) values: Vec<Option<String>>,
}

/// The files of a dataset and the partition columns their paths define.
pub(crate) struct Dataset {
    pub(crate) files: Vec<DataFile>,
    /// Partition columns: typed Int64 when every value is an integer, else Utf8.
    pub(crate) partitions: Vec<Field>,
}

impl Dataset {
    /// One file (or object) with no partitions.
    pub(crate) fn single(path: &Path) -> Dataset {
        Dataset {
            files: vec![DataFile {
                path: path.to_path_buf(),
                values: Vec::new(),
            }],
            partitions: Vec::new(),
        }
    }

    pub(crate) fn discover(root: &Path) -> Result<Dataset> {
        let meta =
            std::fs::metadata(root).map_err(|e| Error::io("cannot open scan path", root, e))?;
        if !meta.is_dir() {
            return Ok(Dataset {
                files: vec![DataFile {
                    path: root.to_path_buf(),
                    values: Vec::new(),
                }],
                partitions: Vec::new(),
            });
        }
        let mut paths = Vec::new();
        walk(root, &mut paths)?;
        // A committed but unfinished compaction: read its outputs, not the files it replaced,
        // so a scan never counts a row twice or misses one (see format::compact).
        if let Some(view) = crate::format::pending_view(root)? {
            paths.retain(|p| !view.replaced.contains(p));
            paths.extend(view.staged);
        }
        // Sorted so a scan's row order does not depend on the directory listing order.
        paths.sort();
        let mut names: Vec<String> = Vec::new();
        let mut raw: Vec<Vec<(String, String)>> = Vec::new();
        for path in &paths {
            let rel = path.strip_prefix(root).unwrap_or(path);
            let mut pairs = Vec::new();
            if let Some(parent) = rel.parent() {
                for segment in parent.components() {
                    let segment = segment.as_os_str().to_string_lossy();
                    if let Some((k, v)) = segment.split_once('=') {
                        if !k.is_empty() {
                            pairs.push((k.to_string(), v.to_string()));
                        }
                    }
                }
            }
            for (k, _) in &pairs {
                if !names.contains(k) {
                    names.push(k.clone());
                }
            }
            raw.push(pairs);
        }
        let files: Vec<DataFile> = paths
            .into_iter()
            .zip(raw)
            .map(|(path, pairs)| DataFile {
                path,
                values: names
                    .iter()
                    .map(|n| {
                        pairs
                            .iter()
                            .find(|(k, _)| k == n)
                            .map(|(_, v)| v.clone())
                            .filter(|v| v != HIVE_NULL)
                    })
                    .collect(),
            })
            .collect();
        let partitions = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let integer = files
                    .iter()
                    .filter_map(|f| f.values[i].as_deref())
                    .all(|v| v.parse::<i64>().is_ok());
                let ty = if integer {
                    DataType::Int64
                } else {
                    DataType::Utf8
                };
                Field::new(name, ty, true)
            })
            .collect();
        Ok(Dataset { files, partitions })
    }

    /// `batch`, decoded from `file`, with the partition columns its data lacks appended as
    /// constant columns (a column present in the file's data wins).
    pub(crate) fn with_partition_columns(
        &self,
        file: &DataFile,
        batch: RecordBatch,
    ) -> Result<RecordBatch> {
        if self.partitions.is_empty() {
            return Ok(batch);
        }
        let parts = self.partition_batch(file, batch.num_rows())?;
        let mut fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let mut columns = batch.columns().to_vec();
        for (field, column) in parts.schema().fields().iter().zip(parts.columns()) {
            if batch.schema().column_with_name(field.name()).is_none() {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
        let options =
            arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)
            .map_err(|e| Error::internal(format!("cannot add partition columns: {e}")))
    }

    /// The partition columns of `file` as constant arrays of `rows` rows.
    pub(crate) fn partition_batch(&self, file: &DataFile, rows: usize) -> Result<RecordBatch> {
        let schema: SchemaRef = Arc::new(Schema::new(self.partitions.clone()));
        let columns: Vec<ArrayRef> = self
            .partitions
            .iter()
            .zip(&file.values)
            .map(|(field, value)| -> ArrayRef {
                match (value, field.data_type()) {
                    (None, ty) => new_null_array(ty, rows),
                    (Some(v), DataType::Int64) => {
                        Arc::new(Int64Array::from(vec![v.parse::<i64>().unwrap_or(0); rows]))
                    }
                    (Some(v), _) => Arc::new(StringArray::from(vec![v.as_str(); rows])),
                }
            })
            .collect();
        let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(schema, columns, &options)
            .map_err(|e| Error::internal(format!("cannot build partition columns: {e}")))
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("cannot list dataset", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("cannot list dataset", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Hidden and underscore files are engine bookkeeping (_SUCCESS, _delta_log, .crc).
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let path = entry.path();
        let ty = entry
            .file_type()
            .map_err(|e| Error::io("cannot list dataset", &path, e))?;
        if ty.is_dir() {
            walk(&path, out)?;
        } else if name.ends_with(".parquet") || name.ends_with(".parq") {
            out.push(path);
        }
    }
    Ok(())
}
