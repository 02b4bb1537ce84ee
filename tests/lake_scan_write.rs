//! `Lake::scan` of lake objects and prefixes, and `Lake::write` / `Lake::write_object` through
//! the format writer: a partitioned dataset written into the lake scans back with the rows and
//! partition columns of the same dataset written to local files (filters on partition columns
//! skip whole objects); a Parquet object on the cold tier (and on an S3 tier when one is
//! available) scans like the original file, also as `strata scan` prints it; Parquet with
//! modular encryption scans with the lake's keys; a scan outlives the `Lake` it came from.

mod common;

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::SchemaRef;
use common::{config, local_tier, parquet_bytes};
use strata::{
    config::{LifecycleRule, PlacementRule, TierConfig},
    crypto::{KeyRing, ParquetEncryption},
    ErrorKind, Expr, Lake, LakeConfig, RunOptions, Scan, ScanFormat, ScanOutput, WriteOptions,
};

/// 3,000 sales rows: region (3 values), id, amount.
fn sales() -> (SchemaRef, Vec<RecordBatch>) {
    let regions = ["east", "west", "north"];
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..3000));
    let region: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..3000).map(|i| regions[i % 3]),
    ));
    let amount: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..3000).map(|i| i as f64 * 0.5),
    ));
    let batch =
        RecordBatch::try_from_iter([("region", region), ("id", ids), ("amount", amount)]).unwrap();
    let batches = vec![batch.slice(0, 1000), batch.slice(1000, 2000)];
    (batch.schema(), batches)
}

/// The rows of a scan as one batch (object and file sources cut batches differently).
fn rows(out: &ScanOutput) -> RecordBatch {
    arrow::compute::concat_batches(&out.schema, &out.batches).unwrap()
}

/// Hot and cold local tiers; every object is demoted at the next tier run.
fn demoting(dir: &std::path::Path, cold: TierConfig) -> LakeConfig {
    let mut cfg = config(dir, vec![local_tier("hot"), cold]);
    cfg.lifecycle = vec![LifecycleRule {
        prefix: String::new(),
        demote_after_age: Some(Duration::ZERO),
        demote_after_idle: None,
        promote_after_reads: None,
        promote_window: None,
        demote_to: None,
    }];
    cfg
}

fn run_tiers(lake: &Lake) {
    let report = lake.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert!(report.moved > 0, "{report:?}");
}

#[test]
fn a_prefix_scans_as_the_dataset_its_objects_make() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&config(dir.path(), vec![local_tier("hot")])).unwrap();
    let (schema, batches) = sales();
    let options = WriteOptions {
        partitioning: Some("region".parse().unwrap()),
        row_group_rows: 250,
        ..WriteOptions::default()
    };
    let summary = lake.write("sales", &schema, &batches, &options).unwrap();
    assert_eq!(summary.partitions, 3);
    assert!(summary
        .files
        .iter()
        .all(|f| f.path.to_string_lossy().starts_with("sales/region=")));
    // The same dataset as `strata write --partition-by region` writes it to local files.
    let local = dir.path().join("local/");
    strata::format::write(&local, &schema, &batches, &options).unwrap();

    let whole = lake.scan("sales").unwrap().run().unwrap();
    let expected = Scan::new(&local).run().unwrap();
    assert_eq!(whole.schema, expected.schema);
    assert_eq!(rows(&whole), rows(&expected));
    assert_eq!(rows(&whole).num_rows(), 3000);
    let names: Vec<&str> = whole
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["id", "amount", "region"]);
    // A trailing '/' names the same prefix.
    assert_eq!(
        rows(&lake.scan("sales/").unwrap().run().unwrap()),
        rows(&expected)
    );

    // A filter on the partition column opens only the matching objects.
    let filter = Expr::parse("region = 'west' AND id < 600").unwrap();
    let west = lake
        .scan("sales")
        .unwrap()
        .columns(&["id", "region"])
        .filter(filter.clone())
        .run()
        .unwrap();
    let expected = Scan::new(&local)
        .columns(&["id", "region"])
        .filter(filter)
        .run()
        .unwrap();
    assert_eq!(rows(&west), rows(&expected));
    assert_eq!(rows(&west).num_rows(), 200);
    assert_eq!((west.stats.files, west.stats.files_skipped), (1, 2));

    // Bookkeeping and non-Parquet objects under the prefix are not part of the dataset.
    lake.put("sales/_SUCCESS", Vec::new()).unwrap();
    lake.put("sales/notes.txt", b"not parquet".to_vec())
        .unwrap();
    lake.put("sales/.hidden/x.parquet", b"not parquet".to_vec())
        .unwrap();
    assert_eq!(lake.scan("sales").unwrap().count().unwrap().0, 3000);

    // Neither an object nor a prefix of a path: not found, naming the key.
    for missing in ["nothing", "sale", "sales/region=south"] {
        let e = lake.scan(missing).unwrap().run().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{missing}: {e}");
        assert!(e.to_string().contains(missing), "{e}");
    }
    // An object wins over the objects its key is a prefix of (both can exist on an object
    // store, not in a directory).
    let mem_dir = tempfile::tempdir().unwrap();
    let mem = Lake::open(&config(mem_dir.path(), vec![common::memory_tier("hot")])).unwrap();
    mem.put("ds", parquet_bytes(10)).unwrap();
    mem.put("ds/part.parquet", parquet_bytes(20)).unwrap();
    assert_eq!(mem.scan("ds").unwrap().count().unwrap().0, 10);
    assert_eq!(mem.scan("ds/").unwrap().count().unwrap().0, 20);
}

#[test]
fn a_cold_object_scans_like_the_original_file_and_strata_scan() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&demoting(dir.path(), local_tier("cold"))).unwrap();
    let original = dir.path().join("people.parquet");
    std::fs::write(&original, parquet_bytes(50_000)).unwrap();
    lake.put_file("warehouse/people.parquet", &original, &Default::default())
        .unwrap();
    run_tiers(&lake);
    assert_eq!(lake.stat("warehouse/people.parquet").unwrap().tier, "cold");

    let filter = "id >= 12345 AND id < 23456 AND name != 'name-3'";
    let scanned = lake
        .scan("warehouse/people.parquet")
        .unwrap()
        .columns(&["name", "id"])
        .filter(Expr::parse(filter).unwrap())
        .run()
        .unwrap();
    let expected = Scan::new(&original)
        .columns(&["name", "id"])
        .filter(Expr::parse(filter).unwrap())
        .run()
        .unwrap();
    assert_eq!(rows(&scanned), rows(&expected));
    assert!(rows(&scanned).num_rows() > 11_000);
    assert!(scanned.stats.row_groups_skipped > 0, "{:?}", scanned.stats);

    // What `strata scan` prints for the original file, as CSV, is what the lake scan gives.
    let cli = std::process::Command::new(common::strata_bin())
        .current_dir(dir.path())
        .arg("scan")
        .arg(&original)
        .args([
            "--columns",
            "name,id",
            "--filter",
            filter,
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(cli.status.success(), "{cli:?}");
    let mut csv = Vec::new();
    strata::read::write_batches(&mut csv, ScanFormat::Csv, &scanned.schema, &scanned.batches)
        .unwrap();
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        String::from_utf8(cli.stdout).unwrap()
    );
}

#[test]
fn an_s3_object_and_dataset_scan_like_the_originals() {
    let Some(s3) = common::s3_tier("cold", "lake_scan_write") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = demoting(dir.path(), s3);
    cfg.placement = vec![PlacementRule {
        prefix: "sales/".into(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    let lake = Lake::open(&cfg).unwrap();
    let original = dir.path().join("people.parquet");
    std::fs::write(&original, parquet_bytes(50_000)).unwrap();
    lake.put_file("warehouse/people.parquet", &original, &Default::default())
        .unwrap();
    run_tiers(&lake);
    assert_eq!(lake.stat("warehouse/people.parquet").unwrap().tier, "cold");
    let filter = Expr::parse("(id >= 100 AND id <= 30000) OR name = 'name-5'").unwrap();
    let scanned = lake
        .scan("warehouse/people.parquet")
        .unwrap()
        .columns(&["id", "value"])
        .filter(filter.clone())
        .run()
        .unwrap();
    let expected = Scan::new(&original)
        .columns(&["id", "value"])
        .filter(filter)
        .run()
        .unwrap();
    assert_eq!(rows(&scanned), rows(&expected));

    // A partitioned dataset placed on S3 scans back whole and pruned.
    let (schema, batches) = sales();
    let options = WriteOptions {
        partitioning: Some("region".parse().unwrap()),
        ..WriteOptions::default()
    };
    let summary = lake.write("sales", &schema, &batches, &options).unwrap();
    for f in &summary.files {
        assert_eq!(lake.stat(&f.path.to_string_lossy()).unwrap().tier, "cold");
    }
    let east = lake
        .scan("sales")
        .unwrap()
        .filter(Expr::parse("region = 'east'").unwrap())
        .run()
        .unwrap();
    assert_eq!(rows(&east).num_rows(), 1000);
    assert_eq!(east.stats.files_skipped, 2);
}

/// 1,000 rows whose `note` column carries a marker that must not appear in the stored bytes.
fn notes() -> RecordBatch {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..1000));
    let notes: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..1000).map(|i| format!("PLAINTEXT-MARKER-{i}")),
    ));
    RecordBatch::try_from_iter([("id", ids), ("note", notes)]).unwrap()
}

#[test]
fn encrypted_parquet_objects_scan_with_the_lakes_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = demoting(dir.path(), local_tier("cold"));
    cfg.encryption.prefixes = vec!["sealed/".into()];
    let lake = Lake::open(&cfg).unwrap();
    let key_id = lake.keys().new_key(Some("pq")).unwrap();
    let ring = KeyRing::load(&dir.path().join(strata::crypto::KEYRING_FILE)).unwrap();

    // Parquet modular encryption with a key of the lake's ring, then demoted to the cold tier.
    let batch = notes();
    let plain = dir.path().join("notes.parquet");
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&plain).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let encrypted = dir.path().join("notes.enc.parquet");
    strata::format::write_encrypted_parquet(
        &encrypted,
        std::slice::from_ref(&batch),
        &ring,
        &ParquetEncryption::uniform(key_id),
    )
    .unwrap();
    let raw = std::fs::read(&encrypted).unwrap();
    assert!(!raw.windows(16).any(|w| w == b"PLAINTEXT-MARKER"));
    lake.put_file("secure/notes.parquet", &encrypted, &Default::default())
        .unwrap();
    run_tiers(&lake);
    assert_eq!(lake.stat("secure/notes.parquet").unwrap().tier, "cold");
    let filter = Expr::parse("id >= 900 OR note = 'PLAINTEXT-MARKER-7'").unwrap();
    let scanned = lake
        .scan("secure/notes.parquet")
        .unwrap()
        .columns(&["note", "id"])
        .filter(filter.clone())
        .run()
        .unwrap();
    let expected = Scan::new(&plain)
        .columns(&["note", "id"])
        .filter(filter)
        .run()
        .unwrap();
    assert_eq!(rows(&scanned), rows(&expected));
    assert_eq!(rows(&scanned).num_rows(), 101);

    // A dataset the encryption policy seals at rest (envelopes) scans back too.
    let summary = lake
        .write(
            "sealed/notes",
            &batch.schema(),
            std::slice::from_ref(&batch),
            &WriteOptions::default(),
        )
        .unwrap();
    for f in &summary.files {
        let info = lake.stat(&f.path.to_string_lossy()).unwrap();
        assert!(info.key_id.is_some(), "{info:?}");
    }
    let sealed = lake.scan("sealed/notes").unwrap().run().unwrap();
    assert_eq!(rows(&sealed), batch);
    drop(lake);

    // Another lake, without the key: the object's bytes are there, its rows are not.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Lake::open(&config(other_dir.path(), vec![local_tier("hot")])).unwrap();
    other.put("secure/notes.parquet", raw).unwrap();
    let e = other
        .scan("secure/notes.parquet")
        .unwrap()
        .run()
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Crypto | ErrorKind::Corrupt),
        "{e}"
    );
}

#[test]
fn a_scan_outlives_the_lake_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = demoting(dir.path(), local_tier("cold"));
    let lake = Lake::open(&cfg).unwrap();
    lake.put("t/people.parquet", parquet_bytes(100_000))
        .unwrap();
    run_tiers(&lake);
    let mut reader = lake
        .scan("t/people.parquet")
        .unwrap()
        .columns(&["id"])
        .batch_size(1000)
        .reader()
        .unwrap();
    drop(lake);
    // The root is still held: another open waits for the reader, not for the dropped lake.
    let busy = Lake::open(&cfg).unwrap_err();
    assert_eq!(busy.kind(), ErrorKind::Busy, "{busy}");
    let mut n = 0;
    while let Some(batch) = reader.next_batch().unwrap() {
        n += batch.num_rows();
    }
    assert_eq!(n, 100_000);
    drop(reader);
    Lake::open(&cfg).unwrap();
}

#[test]
fn objects_are_written_through_the_format_writer() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = demoting(dir.path(), local_tier("cold"));
    cfg.placement = vec![PlacementRule {
        prefix: "archive/".into(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    cfg.format
        .tier_codecs
        .insert("cold".into(), "zstd:9".into());
    let lake = Lake::open(&cfg).unwrap();
    let (schema, batches) = sales();
    for (key, policy) in [
        ("hot/sales.parquet", "fast"),
        ("archive/sales.parquet", "zstd:9"),
    ] {
        let options = lake.write_options(key).unwrap();
        assert_eq!(options.codec.to_string(), policy);
        let info = lake.write_object(key, &schema, &batches, &options).unwrap();
        let bytes = lake.get(key).unwrap();
        assert_eq!(info.size, bytes.len() as u64);
        let reader = parquet::file::serialized_reader::SerializedFileReader::new_with_options(
            bytes,
            parquet::file::serialized_reader::ReadOptionsBuilder::new()
                .with_page_index()
                .build(),
        )
        .unwrap();
        use parquet::file::reader::FileReader;
        let meta = reader.metadata();
        assert!(meta.offset_index().is_some(), "{key}: no page index");
        let kv = meta.file_metadata().key_value_metadata().unwrap();
        let recorded = kv
            .iter()
            .find(|kv| kv.key == strata::format::metadata_keys::CODEC_POLICY)
            .and_then(|kv| kv.value.clone());
        assert_eq!(recorded.as_deref(), Some(policy), "{key}");
        assert_eq!(
            rows(&lake.scan(key).unwrap().run().unwrap()),
            arrow::compute::concat_batches(&schema, &batches).unwrap()
        );
    }
    // One object cannot be partitioned; a bad key is refused before anything is written.
    let partitioned = WriteOptions {
        partitioning: Some("region".parse().unwrap()),
        ..WriteOptions::default()
    };
    let e = lake
        .write_object("x.parquet", &schema, &batches, &partitioned)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = lake
        .write_object("../x.parquet", &schema, &batches, &WriteOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // Nothing is left in the data root's staging area.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".strata-write"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn partition_values_round_trip_through_object_keys() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&config(dir.path(), vec![local_tier("hot")])).unwrap();
    let values = ["a/b", "x=y", "100%", "é ü", "..", "plain"];
    let region: ArrayRef = Arc::new(StringArray::from_iter(
        values.iter().map(|v| Some(*v)).chain([None]),
    ));
    let id: ArrayRef = Arc::new(Int64Array::from_iter_values(0..values.len() as i64 + 1));
    let batch = RecordBatch::try_from_iter([("region", region), ("id", id)]).unwrap();
    let options = WriteOptions {
        partitioning: Some("region".parse().unwrap()),
        ..WriteOptions::default()
    };
    let summary = lake
        .write(
            "odd",
            &batch.schema(),
            std::slice::from_ref(&batch),
            &options,
        )
        .unwrap();
    assert_eq!(summary.files.len(), values.len() + 1);
    let out = lake
        .scan("odd")
        .unwrap()
        .columns(&["id", "region"])
        .run()
        .unwrap();
    let all = rows(&out);
    let ids = all.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
    let regions = all
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let mut got: Vec<(i64, Option<String>)> = (0..all.num_rows())
        .map(|i| {
            let region =
                (!arrow::array::Array::is_null(regions, i)).then(|| regions.value(i).to_string());
            (ids.value(i), region)
        })
        .collect();
    got.sort();
    let mut want: Vec<(i64, Option<String>)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64, Some(v.to_string())))
        .collect();
    want.push((values.len() as i64, None));
    assert_eq!(got, want);
    // Each value's object is found by a filter on it alone.
    for v in values {
        let filter = Expr::parse(&format!("region = '{}'", v.replace('\'', "''"))).unwrap();
        let one = lake.scan("odd").unwrap().filter(filter).run().unwrap();
        assert_eq!(
            (one.stats.rows_out, one.stats.files),
            (1, 1),
            "{v}: {:?}",
            one.stats
        );
    }
}
