//! String-view output ([`Scan::string_views`](super::Scan::string_views)): top-level string
//! and binary columns come out as `Utf8View` and `BinaryView` instead of `Utf8` and `Binary`.
//!
//! Why: the parquet crate decodes a dictionary-encoded page into views of the page's
//! dictionary, copying 16 bytes a value and no string data, where the default types copy every
//! value's bytes into a fresh buffer (or, on strata's dictionary route, expand them after
//! decoding the keys). On files written with dictionaries everywhere (pyarrow's and DuckDB's
//! defaults) that copy was most of a full scan's time; polars reads such files this way too.
//!
//! How: the dataset's merged schema gets view types for its flat string columns, and each
//! file's reader is given a schema hint asking the parquet crate to decode its plain string
//! columns as views. A column a file stores otherwise (a dictionary type from the writer's
//! Arrow schema, an older file's different type) is cast when the batch is aligned to the
//! dataset's schema, as widened types are. Nested columns keep their types: a view inside a
//! struct or list would need the hint to reach into it and the alignment, which passes nested
//! columns through, to agree.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};

use super::source::ParquetSource;

/// The dataset's schema, with views when `on`, and each source's own schema (before any
/// hint): the readers of `sources` are hinted to decode as views where the schema wants them.
pub(super) fn apply<'a>(
    on: bool,
    merged: Schema,
    sources: impl Iterator<Item = &'a mut ParquetSource>,
) -> (Schema, Vec<SchemaRef>) {
    let merged = if on { schema(&merged) } else { merged };
    let own = sources
        .map(|source| {
            let own = source.metadata.schema().clone();
            if on {
                if let Some(hinted) = hinted(&source.metadata, &merged) {
                    source.metadata = hinted;
                }
            }
            own
        })
        .collect();
    (merged, own)
}

/// The view type a flat string or binary column comes out as, `None` for other types.
fn view_of(data_type: &DataType) -> Option<DataType> {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(DataType::Utf8View),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            Some(DataType::BinaryView)
        }
        _ => None,
    }
}

/// `schema` with its top-level string and binary columns (dictionaries of strings too) as
/// views: the dataset's output types with string views on.
pub(super) fn schema(schema: &Schema) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let values = match f.data_type() {
                DataType::Dictionary(_, values) => values.as_ref(),
                other => other,
            };
            match view_of(values) {
                Some(view) => f.as_ref().clone().with_data_type(view),
                None => f.as_ref().clone(),
            }
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// A file's reader metadata with its plain top-level string and binary columns decoded as
/// views, where the dataset's schema (`dataset`, already through [`schema`]) wants a view;
/// `None` when no column changes or the parquet crate refuses the hint (the file then reads
/// with its own types, which the alignment casts).
pub(super) fn hinted(file: &ArrowReaderMetadata, dataset: &Schema) -> Option<ArrowReaderMetadata> {
    let own = file.schema();
    let mut changed = false;
    let fields: Vec<Field> = own
        .fields()
        .iter()
        .map(|f| {
            let wanted = dataset
                .field_with_name(f.name())
                .ok()
                .map(|d| d.data_type().clone());
            match (view_of(f.data_type()), wanted) {
                (Some(view), Some(wanted)) if view == wanted && f.data_type() != &view => {
                    changed = true;
                    f.as_ref().clone().with_data_type(view)
                }
                _ => f.as_ref().clone(),
            }
        })
        .collect();
    if !changed {
        return None;
    }
    let hint = Schema::new_with_metadata(fields, own.metadata().clone());
    let options = ArrowReaderOptions::new().with_schema(Arc::new(hint));
    ArrowReaderMetadata::try_new(file.metadata().clone(), options).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use parquet::arrow::ArrowWriter;

    fn metadata(batch: &RecordBatch) -> ArrowReaderMetadata {
        let mut bytes = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
        writer.write(batch).unwrap();
        writer.close().unwrap();
        ArrowReaderMetadata::load(&bytes::Bytes::from(bytes), ArrowReaderOptions::new()).unwrap()
    }

    #[test]
    fn strings_become_views_and_other_columns_stay() {
        let names: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let batch = RecordBatch::try_from_iter([("name", names), ("id", ids)]).unwrap();
        let file = metadata(&batch);
        let dataset = schema(file.schema());
        assert_eq!(dataset.field(0).data_type(), &DataType::Utf8View);
        assert_eq!(dataset.field(1).data_type(), &DataType::Int64);
        let hinted = hinted(&file, &dataset).unwrap();
        assert_eq!(hinted.schema().field(0).data_type(), &DataType::Utf8View);
        assert_eq!(hinted.schema().field(1).data_type(), &DataType::Int64);
    }

    #[test]
    fn nothing_to_hint_without_strings() {
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let file = metadata(&RecordBatch::try_from_iter([("id", ids)]).unwrap());
        assert!(hinted(&file, &schema(file.schema())).is_none());
    }
}
