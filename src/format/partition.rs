//! Hive-style partitioning: rows split into `column=value/` directories, by column values or
//! by a timestamp column cut to a granularity (`ts_day=2026-12-01/`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, UInt32Array};
use arrow::datatypes::{DataType, SchemaRef};

use crate::error::{Error, Result};

/// Hive's spelling of a null partition value.
pub const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

/// How finely a timestamp column partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// `2026`
    Year,
    /// `2026-12`
    Month,
    /// `2026-12-01`
    Day,
    /// `2026-12-01T05`
    Hour,
}

impl Granularity {
    fn name(self) -> &'static str {
        match self {
            Granularity::Year => "year",
            Granularity::Month => "month",
            Granularity::Day => "day",
            Granularity::Hour => "hour",
        }
    }

    /// Characters of an ISO-8601 rendering that the granularity keeps.
    fn prefix(self) -> usize {
        match self {
            Granularity::Year => 4,
            Granularity::Month => 7,
            Granularity::Day => 10,
            Granularity::Hour => 13,
        }
    }
}

/// One partition level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionColumn {
    /// The column whose values name the directories.
    pub column: String,
    /// For timestamp and date columns: cut to this granularity (the column stays in the files
    /// and the directory is named `<column>_<granularity>`).
    pub granularity: Option<Granularity>,
}

impl PartitionColumn {
    /// The directory key: the column name, or `<column>_<granularity>`.
    pub fn key(&self) -> String {
        match self.granularity {
            Some(g) => format!("{}_{}", self.column, g.name()),
            None => self.column.clone(),
        }
    }
}

/// The partition levels, outermost first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partitioning {
    /// The levels.
    pub columns: Vec<PartitionColumn>,
}

impl FromStr for Partitioning {
    type Err = Error;

    /// `region,ts:day`: columns by value, or a timestamp column at year/month/day/hour.
    fn from_str(text: &str) -> Result<Self> {
        let mut columns = Vec::new();
        for part in text.split(',').map(str::trim) {
            let (column, granularity) = match part.split_once(':') {
                None => (part, None),
                Some((c, g)) => {
                    let g = match g.to_ascii_lowercase().as_str() {
                        "year" => Granularity::Year,
                        "month" => Granularity::Month,
                        "day" => Granularity::Day,
                        "hour" => Granularity::Hour,
                        _ => {
                            return Err(Error::invalid(format!(
                                "unknown granularity {g:?} in --partition-by; expected year, month, day or hour"
                            )))
                        }
                    };
                    (c, Some(g))
                }
            };
            if column.is_empty() {
                return Err(Error::invalid(format!(
                    "empty column name in partitioning {text:?}"
                )));
            }
            columns.push(PartitionColumn {
                column: column.to_string(),
                granularity,
            });
        }
        Ok(Partitioning { columns })
    }
}

impl fmt::Display for Partitioning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(&c.column)?;
            if let Some(g) = c.granularity {
                write!(f, ":{}", g.name())?;
            }
        }
        Ok(())
    }
}

/// Escapes a partition value for its directory name: `%XX` for every byte but ASCII letters,
/// digits, `-`, `_`, `.` and space (so `a/b` cannot make a directory, `=` cannot confuse a
/// reader, and `%` itself is `%25`), and `.`/`..` in full. pyarrow, DuckDB and strata's
/// scans percent-decode these names back to the value.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b' ') && value != "." {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() || out == "." || out == ".." {
        return out.replace('.', "%2E");
    }
    out
}

/// A directory key must be one path segment that readers do not skip: no `/`, `\\`, `=` or
/// NUL, and no leading `.` or `_` (strata, pyarrow and Spark skip such directories as
/// bookkeeping, so the rows would vanish from every scan).
fn check_key(key: &str) -> Result<()> {
    if key.contains(['/', '\\', '=', '\0']) || key.starts_with(['.', '_']) {
        return Err(Error::invalid(format!(
            "cannot partition by {key:?}: a partition directory's name must not contain '/', \
             '\\', '=' or NUL, nor start with '.' or '_' (readers skip those directories)"
        )));
    }
    Ok(())
}

/// Timestamps with a time zone, as the same instants without one: partitions are cut by UTC
/// time (rendering in a named zone would need a time-zone database).
fn utc_naive(column: &ArrayRef) -> Result<ArrayRef> {
    match column.data_type() {
        DataType::Timestamp(unit, Some(_)) => {
            let data = column
                .to_data()
                .into_builder()
                .data_type(DataType::Timestamp(*unit, None))
                .build()
                .map_err(|e| Error::internal(format!("cannot read timestamps: {e}")))?;
            Ok(arrow::array::make_array(data))
        }
        _ => Ok(column.clone()),
    }
}

/// The rows of one partition directory.
pub struct PartitionRows {
    /// The directory relative to the dataset root, `a=1/b=x`.
    pub dir: String,
    /// The rows, without the by-value partition columns.
    pub batches: Vec<RecordBatch>,
}

/// Splits `batches` by `partitioning`; returns the file schema and the partitions in
/// directory order.
pub fn split(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    partitioning: &Partitioning,
) -> Result<(SchemaRef, Vec<PartitionRows>)> {
    let mut levels = Vec::new();
    for p in &partitioning.columns {
        check_key(&p.key())?;
        let idx = schema.index_of(&p.column).map_err(|_| {
            Error::invalid(format!(
                "partition column {:?} is not in the data",
                p.column
            ))
        })?;
        let ty = schema.field(idx).data_type();
        if p.granularity.is_some()
            && !matches!(
                ty,
                DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
            )
        {
            return Err(Error::invalid(format!(
                "partition column {:?} has type {ty}; a granularity needs a timestamp or date",
                p.column
            )));
        }
        if matches!(
            ty,
            DataType::List(_) | DataType::Struct(_) | DataType::Map(..) | DataType::LargeList(_)
        ) {
            return Err(Error::invalid(format!(
                "cannot partition by nested column {:?}",
                p.column
            )));
        }
        levels.push((idx, p));
    }
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|i| {
            !levels
                .iter()
                .any(|(idx, p)| idx == i && p.granularity.is_none())
        })
        .collect();
    let file_schema: SchemaRef = Arc::new(
        schema
            .project(&keep)
            .map_err(|e| Error::internal(format!("{e}")))?,
    );
    let mut groups: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
    for batch in batches {
        let rendered: Vec<StringArray> = levels
            .iter()
            .map(|(idx, _)| {
                let column = utc_naive(batch.column(*idx))?;
                let text = arrow::compute::cast(&column, &DataType::Utf8)
                    .map_err(|e| Error::invalid(format!("cannot render partition value: {e}")))?;
                text.as_any()
                    .downcast_ref::<StringArray>()
                    .cloned()
                    .ok_or_else(|| Error::internal("cast to Utf8 gave another type"))
            })
            .collect::<Result<_>>()?;
        let mut rows: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for row in 0..batch.num_rows() {
            let mut dir = String::new();
            for ((_, p), values) in levels.iter().zip(&rendered) {
                if !dir.is_empty() {
                    dir.push('/');
                }
                let value = if values.is_null(row) {
                    HIVE_NULL.to_string()
                } else {
                    let v = values.value(row);
                    if v == HIVE_NULL {
                        return Err(Error::invalid(format!(
                            "partition column {:?} holds the string {HIVE_NULL:?}, which every \
                             reader takes for a null; it cannot be written as a partition value",
                            p.column
                        )));
                    }
                    match p.granularity {
                        Some(g) => escape(v.get(..g.prefix()).unwrap_or(v)),
                        None => escape(v),
                    }
                };
                dir.push_str(&format!("{}={value}", p.key()));
            }
            rows.entry(dir).or_default().push(row as u32);
        }
        let projected = batch
            .project(&keep)
            .map_err(|e| Error::internal(format!("{e}")))?;
        for (dir, indices) in rows {
            let part = if indices.len() == batch.num_rows() {
                projected.clone()
            } else {
                let indices = UInt32Array::from(indices);
                let columns = projected
                    .columns()
                    .iter()
                    .map(|c| arrow::compute::take(c, &indices, None))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| Error::internal(format!("cannot split rows: {e}")))?;
                RecordBatch::try_new(file_schema.clone(), columns)
                    .map_err(|e| Error::internal(format!("cannot split rows: {e}")))?
            };
            groups.entry(dir).or_default().push(part);
        }
    }
    let parts = groups
        .into_iter()
        .map(|(dir, batches)| PartitionRows { dir, batches })
        .collect();
    Ok((file_schema, parts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, TimestampSecondArray};

    #[test]
    fn splits_by_value_and_by_day() {
        let region: ArrayRef = Arc::new(StringArray::from(vec![
            Some("eu/west"),
            Some("us"),
            None,
            Some("us"),
        ]));
        let ts: ArrayRef = Arc::new(TimestampSecondArray::from(vec![
            0,
            86_400,
            86_400 + 5,
            3 * 86_400,
        ]));
        let v: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3, 4]));
        let b = RecordBatch::try_from_iter([("region", region), ("ts", ts), ("v", v)]).unwrap();
        let p: Partitioning = "region,ts:day".parse().unwrap();
        let (schema, parts) = split(&b.schema(), &[b], &p).unwrap();
        assert_eq!(schema.fields().len(), 2);
        let dirs: Vec<&str> = parts.iter().map(|p| p.dir.as_str()).collect();
        assert_eq!(
            dirs,
            [
                "region=__HIVE_DEFAULT_PARTITION__/ts_day=1970-01-02",
                "region=eu%2Fwest/ts_day=1970-01-01",
                "region=us/ts_day=1970-01-02",
                "region=us/ts_day=1970-01-04",
            ]
        );
        assert!("v:week".parse::<Partitioning>().is_err());
        let b2 =
            RecordBatch::try_from_iter([("v", Arc::new(Int64Array::from(vec![1])) as ArrayRef)])
                .unwrap();
        assert!(split(
            &b2.schema(),
            std::slice::from_ref(&b2),
            &"v:day".parse().unwrap()
        )
        .is_err());
        assert!(split(&b2.schema(), &[b2], &"w".parse().unwrap()).is_err());
    }

    #[test]
    fn refuses_what_would_not_read_back() {
        let b = |name: &str, v: &str| {
            let c: ArrayRef = Arc::new(StringArray::from(vec![v]));
            RecordBatch::try_from_iter([(name, c)]).unwrap()
        };
        for key in ["a/b", "a=b", "_id", ".x", "a\\b"] {
            let batch = b(key, "v");
            let e = split(
                &batch.schema(),
                &[batch],
                &Partitioning {
                    columns: vec![PartitionColumn {
                        column: key.to_string(),
                        granularity: None,
                    }],
                },
            );
            assert!(
                e.err()
                    .expect("refused")
                    .to_string()
                    .contains("cannot partition by"),
                "{key}"
            );
        }
        let batch = b("c", HIVE_NULL);
        let e = split(&batch.schema(), &[batch], &"c".parse().unwrap())
            .err()
            .expect("refused");
        assert!(e.to_string().contains("null"), "{e}");
        for (value, dir) in [
            ("a/b", "a%2Fb"),
            ("100%", "100%25"),
            ("x=y", "x%3Dy"),
            (".", "%2E"),
            ("é", "%C3%A9"),
        ] {
            assert_eq!(escape(value), dir);
        }
    }
}
