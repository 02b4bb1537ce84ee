//! Parquet modular encryption through the one writer (`WriteOptions::encryption`): a
//! partitioned dataset written encrypted holds no plaintext, every file has data keys of its
//! own, a scan with the keys reads every row back and one without fails; a lake dataset written
//! encrypted scans back through the lake's key provider; `write_encrypted_parquet` is that
//! writer for one file; IPC and columns the data lacks are refused up front.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use strata::{
    crypto::{KeyProvider, KeyRing, ParquetDecryption, ParquetEncryption},
    format::{FormatChoice, Partitioning, WriteEncryption},
    ErrorKind, Expr, Lake, Scan, WriteOptions,
};

const MARKER: &str = "MARKER-5d1c-plaintext-must-not-appear";

fn batch() -> RecordBatch {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..3000));
    let groups: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..3000).map(|i| ["north", "south", "east"][i % 3]),
    ));
    let notes: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..3000).map(|i| format!("{MARKER}-{i}")),
    ));
    RecordBatch::try_from_iter([("id", ids), ("region", groups), ("note", notes)]).unwrap()
}

fn ring(dir: &std::path::Path) -> Arc<KeyRing> {
    let mut ring = KeyRing::create(&dir.join("keyring.toml"), Some("kf")).unwrap();
    ring.add_key(Some("kc")).unwrap();
    Arc::new(ring)
}

fn parquet_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            parquet_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "parquet") {
            out.push(path);
        }
    }
}

/// The wrapped footer data key in a file's key material (`"wrappedDEK":"..."`).
fn wrapped_footer_key(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let at = text
        .find("\"wrappedDEK\":\"")
        .expect("key material in the file")
        + 14;
    text[at..].split('"').next().unwrap().to_string()
}

#[test]
fn partitioned_datasets_are_encrypted_file_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let keys = ring(dir.path());
    let provider: Arc<dyn KeyProvider> = keys.clone();
    let dest = dir.path().join("dataset");
    let options = WriteOptions {
        partitioning: Some(Partitioning::from_str("region").unwrap()),
        encryption: Some(WriteEncryption::new(
            ParquetEncryption::per_column("kf", [("note", "kc")]),
            provider.clone(),
        )),
        ..WriteOptions::default()
    };
    let summary = strata::format::write(&dest, &batch().schema(), &[batch()], &options).unwrap();
    assert_eq!(summary.partitions, 3);
    assert_eq!(summary.rows, 3000);

    let mut files = Vec::new();
    parquet_files(&dest, &mut files);
    assert_eq!(files.len(), 3, "{files:?}");
    let mut footer_keys = BTreeSet::new();
    for file in &files {
        let raw = std::fs::read(file).unwrap();
        assert!(
            !raw.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
            "plaintext in {}",
            file.display()
        );
        footer_keys.insert(wrapped_footer_key(&raw));
    }
    assert_eq!(footer_keys.len(), 3, "files share a data key");

    let decryption = ParquetDecryption::from_provider(provider);
    let out = Scan::new(&dest)
        .decryption(decryption.clone())
        .filter(Expr::parse("region = 'south' AND id < 30").unwrap())
        .run()
        .unwrap();
    assert_eq!(out.stats.rows_out, 10);
    let (rows, _) = Scan::new(&dest).decryption(decryption).count().unwrap();
    assert_eq!(rows, 3000);
    assert!(Scan::new(&dest).run().is_err(), "read without the keys");
}

#[test]
fn lake_datasets_written_encrypted_scan_back_with_the_lake_keys() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open_dir(dir.path().join("lake")).unwrap();
    let keys = ring(dir.path());
    let provider: Arc<dyn KeyProvider> = keys;
    lake.set_key_provider(provider.clone()).unwrap();
    let options = WriteOptions {
        encryption: Some(WriteEncryption::new(
            ParquetEncryption::uniform("kf"),
            provider,
        )),
        ..WriteOptions::default()
    };
    let summary = lake
        .write("sales", &batch().schema(), &[batch()], &options)
        .unwrap();
    assert_eq!(summary.files.len(), 1);
    let key = summary.files[0].path.to_string_lossy().into_owned();
    let out = lake.scan(&key).unwrap().run().unwrap();
    assert_eq!(out.stats.rows_out, 3000);
    let all = arrow::compute::concat_batches(&out.schema, &out.batches).unwrap();
    assert_eq!(all, batch());
}

#[test]
fn one_encrypted_file_reads_back_with_the_keys_only() {
    let dir = tempfile::tempdir().unwrap();
    let keys = ring(dir.path());
    let path = dir.path().join("one.parquet");
    strata::format::write_encrypted_parquet(
        &path,
        &[batch()],
        keys.as_ref(),
        &ParquetEncryption::uniform("kf"),
    )
    .unwrap();
    let info = strata::format::inspect(&path);
    assert!(info.is_err(), "an encrypted footer read without keys");
    let provider: Arc<dyn KeyProvider> = keys;
    let batches =
        strata::read::read_encrypted_parquet(&path, &ParquetDecryption::from_provider(provider))
            .unwrap();
    assert_eq!(batches, vec![batch()]);
}

#[test]
fn ipc_and_unknown_columns_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let keys = ring(dir.path());
    let provider: Arc<dyn KeyProvider> = keys;
    let ipc = WriteOptions {
        format: FormatChoice::Ipc,
        encryption: Some(WriteEncryption::new(
            ParquetEncryption::uniform("kf"),
            provider.clone(),
        )),
        ..WriteOptions::default()
    };
    let dest = dir.path().join("out.arrow");
    let err = strata::format::write(&dest, &batch().schema(), &[batch()], &ipc).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(!dest.exists());

    let typo = WriteOptions {
        encryption: Some(WriteEncryption::new(
            ParquetEncryption::per_column("kf", [("nots", "kc")]),
            provider,
        )),
        ..WriteOptions::default()
    };
    let dest = dir.path().join("out.parquet");
    let err = strata::format::write(&dest, &batch().schema(), &[batch()], &typo).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(err.to_string().contains("nots"), "{err}");
    assert!(!dest.exists());
}
