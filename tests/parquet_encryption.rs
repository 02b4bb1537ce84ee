//! Parquet modular encryption with keys from a key ring: uniform and per-column round trips, a
//! wrong key is an error (not a panic), and the file holds no plaintext.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use strata::{
    crypto::{KeyProvider, KeyRing, ParquetDecryption, ParquetEncryption},
    format::write_encrypted_parquet,
    read::read_encrypted_parquet,
    ErrorKind,
};

const MARKER: &str = "MARKER-7f3a-plaintext-must-not-appear";

fn batch() -> RecordBatch {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..1000));
    let notes: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..1000).map(|i| format!("{MARKER}-{i}")),
    ));
    RecordBatch::try_from_iter([("id", ids), ("note", notes)]).unwrap()
}

fn ring(dir: &std::path::Path) -> Arc<KeyRing> {
    let mut ring = KeyRing::create(&dir.join("keyring.toml"), Some("kf")).unwrap();
    ring.add_key(Some("kc1")).unwrap();
    ring.add_key(Some("kc2")).unwrap();
    Arc::new(ring)
}

fn round_trip(encryption: ParquetEncryption) {
    let dir = tempfile::tempdir().unwrap();
    let keys = ring(dir.path());
    let path = dir.path().join("t.parquet");
    let expected = batch();
    write_encrypted_parquet(
        &path,
        std::slice::from_ref(&expected),
        keys.as_ref(),
        &encryption,
    )
    .unwrap();

    let raw = std::fs::read(&path).unwrap();
    assert!(
        !raw.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
        "plaintext marker found in the encrypted file"
    );

    let provider: Arc<dyn KeyProvider> = keys;
    let read = read_encrypted_parquet(&path, &ParquetDecryption::from_provider(provider)).unwrap();
    assert_eq!(read, vec![expected]);

    // A second ring with the same ids but other keys must not decrypt the file.
    let other_dir = tempfile::tempdir().unwrap();
    let other: Arc<dyn KeyProvider> = ring(other_dir.path());
    let err = read_encrypted_parquet(&path, &ParquetDecryption::from_provider(other)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Crypto, "{err:?}");

    // No provider at all: a clean error too.
    let err = read_encrypted_parquet(&path, &ParquetDecryption::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Crypto, "{err:?}");
}

#[test]
fn uniform_key_round_trips() {
    round_trip(ParquetEncryption::uniform("kf"));
}

#[test]
fn per_column_keys_round_trip() {
    round_trip(ParquetEncryption::per_column(
        "kf",
        [("id", "kc1"), ("note", "kc2")],
    ));
}

#[test]
fn plaintext_footer_round_trips() {
    round_trip(ParquetEncryption::per_column("kf", [("note", "kc2")]).with_plaintext_footer(true));
}

#[test]
fn unknown_key_id_fails_on_write() {
    let dir = tempfile::tempdir().unwrap();
    let keys = ring(dir.path());
    let err = write_encrypted_parquet(
        &dir.path().join("t.parquet"),
        &[batch()],
        keys.as_ref(),
        &ParquetEncryption::uniform("nope"),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Crypto, "{err:?}");
}

#[test]
fn scans_read_encrypted_files_with_the_key_hook_and_fail_cleanly_without() {
    let dir = tempfile::tempdir().unwrap();
    let keys = ring(dir.path());
    let path = dir.path().join("t.parquet");
    let encryption = ParquetEncryption::per_column("kf", [("id", "kc1"), ("note", "kc2")]);
    write_encrypted_parquet(&path, &[batch()], keys.as_ref(), &encryption).unwrap();

    let provider: Arc<dyn KeyProvider> = keys.clone();
    let out = strata::Scan::new(&path)
        .decryption(ParquetDecryption::from_provider(provider))
        .columns(&["id"])
        .filter(strata::Expr::parse("id >= 990").unwrap())
        .run()
        .unwrap();
    assert_eq!(out.stats.rows_out, 10);

    // Every column, on one and two threads: `note` is dictionary-encoded throughout, so it is
    // decoded as a dictionary and expanded by strata (src/read/dictionary.rs), decrypted all the
    // same.
    for threads in [1, 2] {
        let provider: Arc<dyn KeyProvider> = keys.clone();
        let out = strata::Scan::new(&path)
            .decryption(ParquetDecryption::from_provider(provider))
            .threads(threads)
            .run()
            .unwrap();
        let all = arrow::compute::concat_batches(&out.batches[0].schema(), &out.batches).unwrap();
        assert_eq!(all, batch(), "{threads} threads");
    }

    // Without keys: an error, never a panic, and nothing cached lets a later keyless scan in.
    let err = strata::Scan::new(&path).run().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Crypto | ErrorKind::Corrupt),
        "{err:?}"
    );
    let provider: Arc<dyn KeyProvider> = keys;
    strata::Scan::new(&path)
        .decryption(ParquetDecryption::from_provider(provider))
        .count()
        .unwrap();
    assert!(strata::Scan::new(&path).count().is_err());
}
