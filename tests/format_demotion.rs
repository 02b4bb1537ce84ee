//! With `format.reencode_on_demotion`, a Parquet object demoted to a colder tier is re-encoded
//! with that tier's codec policy (same rows, smaller file, new checksum in the index); other
//! objects, and every object without the flag, move byte for byte.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{config, local_tier};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use strata::{config::LifecycleRule, Lake, RunOptions};

fn snappy_parquet() -> (Vec<u8>, arrow::array::RecordBatch) {
    let table = common::mixed::mixed_table(50_000, 5).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut out = Vec::new();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(&mut out, table.schema(), Some(props)).unwrap();
    w.write(&table).unwrap();
    w.close().unwrap();
    (out, table)
}

fn rows(bytes: Bytes) -> arrow::array::RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn demote_everything(reencode: bool) -> (Lake, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), vec![local_tier("hot"), local_tier("cold")]);
    cfg.lifecycle = vec![LifecycleRule {
        prefix: String::new(),
        demote_after_age: Some(Duration::ZERO),
        demote_after_idle: None,
        promote_after_reads: None,
        promote_window: None,
        demote_to: None,
    }];
    cfg.format.reencode_on_demotion = reencode;
    cfg.format
        .tier_codecs
        .insert("cold".into(), "zstd:9".into());
    let store = Lake::open(&cfg).unwrap();
    (store, dir)
}

#[test]
fn parquet_is_reencoded_for_the_colder_tier() {
    let (parquet, table) = snappy_parquet();
    let (store, _dir) = demote_everything(true);
    store.put("data/events.parquet", parquet.clone()).unwrap();
    store
        .put("data/notes.bin", b"not parquet".to_vec())
        .unwrap();
    store
        .put("data/fake.parquet", b"PAR1 but not really".to_vec())
        .unwrap();
    let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(report.moved, 3, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");

    let info = store.stat("data/events.parquet").unwrap();
    assert_eq!(info.tier, "cold");
    assert!(
        info.size < parquet.len() as u64,
        "{} >= {}",
        info.size,
        parquet.len()
    );
    let back = store.get("data/events.parquet").unwrap();
    assert_eq!(back.len() as u64, info.size);
    assert_eq!(info.checksum, blake3::hash(&back).to_hex().as_str());
    assert_eq!(rows(back.clone()), table);
    let meta = ParquetRecordBatchReaderBuilder::try_new(back).unwrap();
    let codecs: Vec<Compression> = meta
        .metadata()
        .row_group(0)
        .columns()
        .iter()
        .map(|c| c.compression())
        .collect();
    assert!(
        codecs.iter().all(|c| matches!(c, Compression::ZSTD(_))),
        "{codecs:?}"
    );
    // Not Parquet: moved as it is.
    assert_eq!(&store.get("data/notes.bin").unwrap()[..], b"not parquet");
    assert_eq!(
        &store.get("data/fake.parquet").unwrap()[..],
        b"PAR1 but not really"
    );
    // The index can be rebuilt from the tiers and agrees.
    store.reindex().unwrap();
    assert_eq!(store.stat("data/events.parquet").unwrap().size, info.size);
}

#[test]
fn without_the_flag_objects_move_byte_for_byte() {
    let (parquet, _) = snappy_parquet();
    let (store, _dir) = demote_everything(false);
    store.put("data/events.parquet", parquet.clone()).unwrap();
    store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(store.stat("data/events.parquet").unwrap().tier, "cold");
    assert_eq!(&store.get("data/events.parquet").unwrap()[..], &parquet[..]);
}
