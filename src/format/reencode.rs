//! Re-encoding a Parquet file under another codec policy (used when the lifecycle demotes a
//! Parquet object to a colder tier), verified row for row before it is used.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bytes::Bytes;

use super::codec::CodecPolicy;
use super::options::WriteOptions;
use super::parquet_file::write_parquet;
use super::write::{plan, without_strata_metadata, FileFormat};
use crate::error::{Error, Result};
use crate::read::Scan;

/// The rows of the Parquet file in `data`, read by a scan, with the file's schema (key-value
/// metadata included, strata's own left out) and the rows of its largest row group.
fn read(data: Bytes) -> Result<(SchemaRef, Vec<RecordBatch>, usize)> {
    let scan = Scan::of_bytes(data);
    let footer = scan.footer()?;
    let schema = without_strata_metadata(footer.schema());
    let group_rows = footer
        .metadata()
        .row_groups()
        .iter()
        .map(|g| usize::try_from(g.num_rows()).unwrap_or(0))
        .max()
        .unwrap_or(1)
        .max(1);
    let batches = scan
        .run()?
        .batches
        .into_iter()
        .map(|b| b.with_schema(schema.clone()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::from(e).during("cannot label the rows with the file's schema"))?;
    Ok((schema, batches, group_rows))
}

fn concat(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<RecordBatch> {
    arrow::compute::concat_batches(schema, batches)
        .map_err(|e| Error::from(e).during("cannot compare rows"))
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
    let reason = format!("re-encoded for a colder tier under codec policy {policy}");
    let plan = plan(
        &schema,
        &batches,
        &options,
        None,
        FileFormat::Parquet,
        &reason,
    )?;
    let props = plan.file_properties(&schema)?;
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
        let meta = Scan::of_bytes(Bytes::from(out)).footer().unwrap();
        let col = meta.metadata().row_group(0).column(0);
        assert!(matches!(
            col.compression(),
            parquet::basic::Compression::ZSTD(_)
        ));
        assert!(reencode_parquet(Bytes::from_static(b"nope"), CodecPolicy::Compact, None).is_err());
    }
}
