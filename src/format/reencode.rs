//! Re-encoding a Parquet file under another codec policy (used when the lifecycle demotes a
//! Parquet object to a colder tier), verified row for row before it is used.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::choose::choose_columns;
use super::codec::CodecPolicy;
use super::options::WriteOptions;
use super::parquet_file::{write_parquet, writer_properties};
use super::write::{keys, without_strata_metadata, FileFormat};
use crate::error::{Error, Result};

fn read(data: Bytes) -> Result<(SchemaRef, Vec<RecordBatch>, usize)> {
    let bad = |e: &dyn std::fmt::Display| Error::corrupt(format!("not readable Parquet: {e}"));
    let builder = ParquetRecordBatchReaderBuilder::try_new(data).map_err(|e| bad(&e))?;
    let schema = without_strata_metadata(builder.schema());
    let group_rows = builder
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows() as usize)
        .max()
        .unwrap_or(1)
        .max(1);
    let batches = builder
        .build()
        .map_err(|e| bad(&e))?
        .map(|b| b.and_then(|b| b.with_schema(schema.clone())))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    Ok((schema, batches, group_rows))
}

fn concat(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<RecordBatch> {
    arrow::compute::concat_batches(schema, batches)
        .map_err(|e| Error::internal(format!("cannot compare rows: {e}")))
}

/// Re-encodes the Parquet file in `data` under `policy` for the tier at `tier_position`,
/// keeping its row groups' size, and checks that the new file decodes to the same rows.
pub fn reencode_parquet(
    data: Bytes,
    policy: CodecPolicy,
    tier_position: Option<usize>,
) -> Result<Vec<u8>> {
    let (schema, batches, group_rows) = read(data)?;
    let options = WriteOptions {
        codec: policy,
        tier_position,
        row_group_rows: group_rows,
        ..WriteOptions::default()
    };
    let choices = choose_columns(&schema, &batches, &options)?;
    let columns = serde_json::to_string(&choices)
        .map_err(|e| Error::internal(format!("cannot encode column choices: {e}")))?;
    let metadata = vec![
        parquet::file::metadata::KeyValue::new(
            keys::FORMAT.into(),
            FileFormat::Parquet.to_string(),
        ),
        parquet::file::metadata::KeyValue::new(
            keys::FORMAT_REASON.into(),
            format!("re-encoded for a colder tier under codec policy {policy}"),
        ),
        parquet::file::metadata::KeyValue::new(keys::CODEC_POLICY.into(), policy.to_string()),
        parquet::file::metadata::KeyValue::new(keys::COLUMNS.into(), columns),
    ];
    let props = writer_properties(&schema, &choices, &options, metadata)?;
    let out = write_parquet(Vec::new(), &schema, &batches, props, group_rows)?;
    let (back_schema, back, _) = read(Bytes::from(out.clone()))?;
    if back_schema.fields() != schema.fields()
        || concat(&schema, &back)? != concat(&schema, &batches)?
    {
        return Err(Error::internal(
            "re-encoded Parquet does not decode to the original rows; original kept",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Codec;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn reencodes_to_the_same_rows_with_the_new_codec() {
        let a: ArrayRef = Arc::new(Int64Array::from_iter_values(0..5000));
        let b: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..5000).map(|i| format!("v{}", i % 17)),
        ));
        let batch = RecordBatch::try_from_iter([("a", a), ("b", b)]).unwrap();
        let mut src = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut src, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let out = reencode_parquet(
            Bytes::from(src),
            CodecPolicy::Fixed(Codec::Zstd(9)),
            Some(1),
        )
        .unwrap();
        let (_, back, _) = read(Bytes::from(out.clone())).unwrap();
        assert_eq!(concat(&batch.schema(), &back).unwrap(), batch);
        let meta = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(out)).unwrap();
        let col = meta.metadata().row_group(0).column(0);
        assert!(matches!(
            col.compression(),
            parquet::basic::Compression::ZSTD(_)
        ));
        assert!(reencode_parquet(Bytes::from_static(b"nope"), CodecPolicy::Compact, None).is_err());
    }
}
