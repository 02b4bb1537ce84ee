//! Finding the Parquet files of a scan: one file, or a directory tree with Hive-style
//! `column=value` directories whose values become partition columns.
//!
//! Values are percent-decoded as pyarrow and DuckDB decode them (`a%2Fb` is `a/b`), which is
//! also how strata's writer escapes them (`format::partition::escape`), and a decoded
//! `__HIVE_DEFAULT_PARTITION__` is null, as in pyarrow.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::object::ObjectSource;
use crate::error::{Error, ErrorKind, Result};

/// Hive's spelling of a null partition value.
pub(crate) const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

/// An explicit list of Parquet files read as one dataset, with typed partition values: what a
/// table's snapshot names (no directory walk, so files a snapshot does not name are never read).
#[derive(Debug, Clone)]
pub struct FileList {
    /// Each file's path and its values of `partitions`, in order (`None`: null).
    pub files: Vec<(PathBuf, Vec<Option<String>>)>,
    /// The partition columns, typed (values are cast from their text).
    pub partitions: Vec<Field>,
    /// The files' data schema (without the partition columns): what an empty list scans as.
    pub schema: SchemaRef,
    /// Statistics of the files (in `files` order), which a filtered scan uses to skip whole
    /// files before opening them; `None` when there are none.
    pub stats: Option<FileStats>,
}

impl FileList {
    /// The list of file `i` alone, with its partition values and statistics.
    pub fn file(&self, i: usize) -> FileList {
        let stats = self
            .stats
            .as_ref()
            .filter(|s| s.rows.len() == self.files.len());
        FileList {
            files: vec![self.files[i].clone()],
            partitions: self.partitions.clone(),
            schema: self.schema.clone(),
            stats: stats.map(|s| FileStats {
                rows: vec![s.rows[i]],
                columns: s
                    .columns
                    .iter()
                    .map(|(name, unit)| {
                        (
                            name.clone(),
                            super::prune::UnitStats {
                                mins: unit.mins.slice(i, 1),
                                maxes: unit.maxes.slice(i, 1),
                                null_counts: unit.null_counts.slice(i, 1),
                                nan_free: unit.nan_free.as_ref().map(|f| f.slice(i, 1)),
                            },
                        )
                    })
                    .collect(),
            }),
        }
    }
}

/// Per-file statistics of a [`FileList`]: rows, and per column min, max and null count.
#[derive(Debug, Clone, Default)]
pub struct FileStats {
    /// Rows in each file (0 when unknown: such a file is never skipped).
    pub rows: Vec<u64>,
    /// Per column, its statistics over the files.
    pub columns: Vec<(String, super::prune::UnitStats)>,
}

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

    /// The files of an explicit list (a table's snapshot), with its typed partition columns.
    pub(crate) fn of_list(list: &FileList) -> Result<Dataset> {
        let width = list.partitions.len();
        let mut files = Vec::with_capacity(list.files.len());
        for (path, values) in &list.files {
            if values.len() != width {
                return Err(Error::internal(format!(
                    "{} has {} partition values for {width} partition columns",
                    path.display(),
                    values.len()
                )));
            }
            files.push(DataFile {
                path: path.clone(),
                values: values.clone(),
            });
        }
        Ok(Dataset {
            files,
            partitions: list.partitions.clone(),
        })
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
        let files = paths
            .into_iter()
            .map(|path| {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let dirs = rel
                    .parent()
                    .map(|p| {
                        p.components()
                            .map(|c| c.as_os_str().to_string_lossy().into_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                (path, dirs)
            })
            .collect();
        Dataset::partitioned(files)
    }

    /// The objects of `objects` that `name` stands for: the object of that name when there is
    /// one, else every Parquet object under `name/` (keys as relative paths: Hive
    /// `column=value` segments become partition columns, segments starting with `.` or `_`
    /// are bookkeeping and skipped, as in a directory). A source that cannot list gives the
    /// one object.
    pub(crate) fn of_objects(objects: &dyn ObjectSource, name: &Path) -> Result<Dataset> {
        let name = name.to_string_lossy();
        let exact = !name.ends_with('/');
        let prefix = format!("{}/", name.trim_end_matches('/'));
        let listed = match objects.list(if exact { &name } else { &prefix }) {
            Ok(listed) => listed,
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                return Ok(Dataset::single(Path::new(name.as_ref())))
            }
            Err(e) => return Err(e),
        };
        if exact && listed.iter().any(|key| *key == name) {
            return Ok(Dataset::single(Path::new(name.as_ref())));
        }
        let mut files = Vec::new();
        for key in listed {
            let Some(rel) = key.strip_prefix(&prefix) else {
                continue;
            };
            let mut segments: Vec<&str> = rel.split('/').collect();
            let file = segments.pop().unwrap_or_default();
            let hidden = |s: &&str| s.starts_with('.') || s.starts_with('_');
            if segments.iter().chain([&file]).any(hidden) || !is_parquet_name(file) {
                continue;
            }
            let dirs = segments.into_iter().map(str::to_string).collect();
            files.push((PathBuf::from(&key), dirs));
        }
        if files.is_empty() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "no object {:?} and no Parquet objects under {prefix:?}",
                    name.trim_end_matches('/')
                ),
            )
            .with("key", name.trim_end_matches('/')));
        }
        files.sort();
        Dataset::partitioned(files)
    }

    /// A dataset of `files`, each with the directories it sits in below the dataset's root
    /// (outermost first), whose `column=value` names give the partition values.
    fn partitioned(files: Vec<(PathBuf, Vec<String>)>) -> Result<Dataset> {
        let mut names: Vec<String> = Vec::new();
        let mut raw: Vec<Vec<(String, String)>> = Vec::new();
        for (path, dirs) in &files {
            let mut pairs = Vec::new();
            for segment in dirs {
                if let Some((k, v)) = segment.split_once('=') {
                    if !k.is_empty() {
                        pairs.push((k.to_string(), unescape(v, path)?));
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
        let files: Vec<DataFile> = files
            .into_iter()
            .zip(raw)
            .map(|((path, _), pairs)| DataFile {
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
                    (Some(v), DataType::Utf8) => {
                        Arc::new(StringArray::from(vec![v.as_str(); rows]))
                    }
                    // A typed column of an explicit list (a table's date or integer partition):
                    // the text cast to the type; a value that does not cast is an error below.
                    (Some(v), ty) => {
                        let text = StringArray::from(vec![v.as_str(); rows]);
                        arrow::compute::cast_with_options(
                            &text,
                            ty,
                            &arrow::compute::CastOptions {
                                safe: false,
                                ..Default::default()
                            },
                        )
                        .unwrap_or_else(|_| new_null_array(ty, rows))
                    }
                }
            })
            .collect();
        let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(schema, columns, &options)
            .map_err(|e| Error::internal(format!("cannot build partition columns: {e}")))
    }
}

/// A partition value as pyarrow and DuckDB read it: `%XX` (two hex digits, either case) is the
/// byte XX, a `%` without two hex digits after it stays as it is (`100%`), and `+` is a plus,
/// not a space. Decoded bytes that are not UTF-8 are an error, as in both.
pub(crate) fn unescape(value: &str, file: &Path) -> Result<String> {
    if !value.contains('%') {
        return Ok(value.to_string());
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| bytes[i] == b'%' && h.iter().all(u8::is_ascii_hexdigit));
        match hex {
            Some(h) => {
                out.push(hex_value(h[0]) << 4 | hex_value(h[1]));
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| {
        Error::invalid(format!(
            "partition value {value:?} is not UTF-8 once its %XX escapes are decoded"
        ))
        .with("path", file.display())
    })
}

/// The value of a hex digit (checked by the caller).
fn hex_value(digit: u8) -> u8 {
    char::from(digit).to_digit(16).unwrap_or(0) as u8
}

/// Whether a file or object name is that of a Parquet file.
fn is_parquet_name(name: &str) -> bool {
    name.ends_with(".parquet") || name.ends_with(".parq")
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
        } else if is_parquet_name(&name) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_as_pyarrow_does() {
        let at = Path::new("x");
        let cases = [
            ("a%2Fb", "a/b"),
            ("a%2fb", "a/b"),
            ("a%20b", "a b"),
            ("a b", "a b"),
            ("100%25", "100%"),
            ("100%", "100%"),
            ("%zz", "%zz"),
            ("a%2", "a%2"),
            ("%%41", "%A"),
            ("%+1", "%+1"),
            ("a+b", "a+b"),
            ("x%3Dy", "x=y"),
            ("%C3%A9%20%C3%BC", "é ü"),
            ("caf%c3%a9", "café"),
            ("plain", "plain"),
            ("", ""),
        ];
        for (raw, want) in cases {
            assert_eq!(unescape(raw, at).unwrap(), want, "{raw}");
        }
        let e = unescape("%FF", at).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        assert!(
            e.to_string().contains("%FF") && e.to_string().contains("path: x"),
            "{e}"
        );
    }
}
