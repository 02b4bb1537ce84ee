//! Schema merging for datasets whose files differ: a column missing from some files reads as
//! null there, and a column whose type differs between files is widened to a type that holds
//! every file's values (Int32 and Int64 to Int64, Float32 and an integer to Float64, a
//! dictionary to its values, string and large string to large string). Types with no common
//! widening (a string in one file, an integer in another) are an error naming both files.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::error::{Error, ErrorKind, Result};

/// Merges file schemas in order: fields keep the order they are first seen in.
pub(crate) fn merge<'a>(
    schemas: impl IntoIterator<Item = (&'a Path, &'a Schema)>,
) -> Result<Schema> {
    let mut fields: Vec<Field> = Vec::new();
    // Where each field's current type came from, for the error message.
    let mut seen_in: Vec<&Path> = Vec::new();
    let mut files = 0;
    for (path, schema) in schemas {
        files += 1;
        for field in schema.fields() {
            match fields.iter().position(|f| f.name() == field.name()) {
                None => {
                    // Absent from the files before this one: null there.
                    fields.push(
                        field
                            .as_ref()
                            .clone()
                            .with_nullable(field.is_nullable() || files > 1),
                    );
                    seen_in.push(path);
                }
                Some(i) => {
                    let ty = widen(fields[i].data_type(), field.data_type()).ok_or_else(|| {
                        Error::new(
                            ErrorKind::Unsupported,
                            format!(
                                "column {} is {} in {} but {} in {}; the dataset's files cannot be read as one table",
                                field.name(),
                                fields[i].data_type(),
                                seen_in[i].display(),
                                field.data_type(),
                                path.display()
                            ),
                        )
                    })?;
                    let nullable = fields[i].is_nullable() || field.is_nullable();
                    fields[i] = fields[i].clone().with_data_type(ty).with_nullable(nullable);
                }
            }
        }
        // Fields this file lacks are null in it.
        for f in fields.iter_mut() {
            if schema.field_with_name(f.name()).is_err() {
                *f = f.clone().with_nullable(true);
            }
        }
    }
    Ok(Schema::new(fields))
}

/// A type holding the values of both `a` and `b`, if there is one.
fn widen(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    if a == b {
        return Some(a.clone());
    }
    let value = |t: &DataType| match t {
        Dictionary(_, v) => v.as_ref().clone(),
        other => other.clone(),
    };
    let (a, b) = (value(a), value(b));
    if a == b {
        return Some(a);
    }
    let signed = |t: &DataType| match t {
        Int8 => Some(1),
        Int16 => Some(2),
        Int32 => Some(3),
        Int64 => Some(4),
        _ => None,
    };
    let unsigned = |t: &DataType| match t {
        UInt8 => Some(1),
        UInt16 => Some(2),
        UInt32 => Some(3),
        UInt64 => Some(4),
        _ => None,
    };
    let by_rank = |r: i32| match r {
        1 => Int8,
        2 => Int16,
        3 => Int32,
        _ => Int64,
    };
    let ubr = |r: i32| match r {
        1 => UInt8,
        2 => UInt16,
        3 => UInt32,
        _ => UInt64,
    };
    Some(match (&a, &b) {
        _ if signed(&a).is_some() && signed(&b).is_some() => by_rank(signed(&a)?.max(signed(&b)?)),
        _ if unsigned(&a).is_some() && unsigned(&b).is_some() => {
            ubr(unsigned(&a)?.max(unsigned(&b)?))
        }
        // An unsigned type fits in the next wider signed one (UInt64 fits in none).
        _ if signed(&a).is_some() && unsigned(&b).is_some_and(|r| r < 4) => {
            by_rank(signed(&a)?.max(unsigned(&b)? + 1))
        }
        _ if unsigned(&a).is_some_and(|r| r < 4) && signed(&b).is_some() => {
            by_rank(signed(&b)?.max(unsigned(&a)? + 1))
        }
        (Float16 | Float32 | Float64, Float16 | Float32 | Float64) => {
            let rank = |t: &DataType| match t {
                Float16 => 1,
                Float32 => 2,
                _ => 3,
            };
            match rank(&a).max(rank(&b)) {
                1 => Float16,
                2 => Float32,
                _ => Float64,
            }
        }
        (Float16 | Float32 | Float64, _) if signed(&b).is_some() || unsigned(&b).is_some() => {
            Float64
        }
        (_, Float16 | Float32 | Float64) if signed(&a).is_some() || unsigned(&a).is_some() => {
            Float64
        }
        (Utf8 | LargeUtf8 | Utf8View, Utf8 | LargeUtf8 | Utf8View) => LargeUtf8,
        (Binary | LargeBinary | BinaryView, Binary | LargeBinary | BinaryView) => LargeBinary,
        _ => return None,
    })
}

/// `batch` with exactly the columns of `target` that are in `names` (in `target`'s order):
/// columns the file lacks as nulls, and columns of another type cast to the merged one.
/// Nested columns are kept as decoded, since a projection of some of their children is
/// narrower than the merged type by design.
pub(crate) fn align(batch: RecordBatch, target: &Schema, names: &[&str]) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    let mut changed = false;
    for field in target.fields() {
        if !names.contains(&field.name().as_str()) {
            continue;
        }
        match batch.column_by_name(field.name()) {
            Some(column)
                if column.data_type() == field.data_type() || field.data_type().is_nested() =>
            {
                fields.push(Field::new(
                    field.name(),
                    column.data_type().clone(),
                    field.is_nullable(),
                ));
                columns.push(column.clone());
            }
            Some(column) => {
                let cast = cast(column, field.data_type()).map_err(|e| {
                    Error::new(
                        ErrorKind::Unsupported,
                        format!(
                            "cannot widen column {} to {}: {e}",
                            field.name(),
                            field.data_type()
                        ),
                    )
                })?;
                fields.push(field.as_ref().clone());
                columns.push(cast);
                changed = true;
            }
            None => {
                fields.push(field.as_ref().clone());
                columns.push(new_null_array(field.data_type(), rows));
                changed = true;
            }
        }
    }
    if !changed && columns.len() == batch.num_columns() {
        return Ok(batch);
    }
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(schema, columns, &options)
        .map_err(|e| Error::internal(format!("cannot align batch to the dataset schema: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use DataType::*;

    #[test]
    fn widening() {
        assert_eq!(widen(&Int32, &Int64), Some(Int64));
        assert_eq!(widen(&UInt16, &Int16), Some(Int32));
        assert_eq!(widen(&UInt64, &Int64), None);
        assert_eq!(widen(&Float32, &Int64), Some(Float64));
        assert_eq!(widen(&Float32, &Float16), Some(Float32));
        assert_eq!(widen(&Utf8, &LargeUtf8), Some(LargeUtf8));
        assert_eq!(
            widen(&Dictionary(Box::new(Int32), Box::new(Utf8)), &Utf8),
            Some(Utf8)
        );
        assert_eq!(widen(&Utf8, &Int64), None);
    }

    #[test]
    fn merge_keeps_order_and_nulls_missing_columns() {
        let a = Schema::new(vec![
            Field::new("x", Int32, false),
            Field::new("y", Utf8, false),
        ]);
        let b = Schema::new(vec![
            Field::new("x", Int64, false),
            Field::new("z", Float64, false),
        ]);
        let m = merge([(Path::new("a"), &a), (Path::new("b"), &b)]).unwrap();
        let names: Vec<&str> = m.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["x", "y", "z"]);
        assert_eq!(m.field(0).data_type(), &Int64);
        assert!(!m.field(0).is_nullable());
        assert!(m.field(1).is_nullable());
        assert!(m.field(2).is_nullable());
    }

    #[test]
    fn incompatible_types_name_both_files() {
        let a = Schema::new(vec![Field::new("x", Utf8, false)]);
        let b = Schema::new(vec![Field::new("x", Int64, false)]);
        let err = merge([(Path::new("a.parquet"), &a), (Path::new("b.parquet"), &b)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a.parquet") && err.contains("b.parquet"),
            "{err}"
        );
    }
}
