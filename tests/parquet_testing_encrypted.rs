//! strata reads the encrypted files of the Apache parquet-testing corpus with the keys from its
//! KEYS.md. Files the parquet crate cannot read must fail cleanly; they are listed here with the
//! reason, and the test fails if any file's outcome changes.

mod common;

use std::io::Write;
use std::path::PathBuf;

use strata::{crypto::ParquetDecryption, read::read_encrypted_parquet, ErrorKind};

/// Files that cannot be read, and the kind of error they must give.
const UNREADABLE: &[(&str, ErrorKind, &str)] = &[
    (
        "encrypt_columns_and_footer_ctr.parquet.encrypted",
        ErrorKind::Unsupported,
        "AES_GCM_CTR_V1 is not implemented by the parquet crate",
    ),
    (
        "aes256/encrypt_columns_and_footer_ctr.parquet.encrypted",
        ErrorKind::Unsupported,
        "AES_GCM_CTR_V1 is not implemented by the parquet crate",
    ),
    (
        "external_key_material_java.parquet.encrypted",
        ErrorKind::Unsupported,
        "key material stored in a file beside it, double-wrapped: strata supports internal, \
         single-wrapped key material only",
    ),
];

fn data_dir() -> PathBuf {
    common::parquet_testing().join("data")
}

fn aes128_keys() -> ParquetDecryption {
    ParquetDecryption::default()
        .with_key("kf", b"0123456789012345")
        .and_then(|k| k.with_key("kc1", b"1234567890123450"))
        .and_then(|k| k.with_key("kc2", b"1234567890123451"))
        .unwrap()
}

fn aes256_keys() -> ParquetDecryption {
    let mut keys = ParquetDecryption::default()
        .with_key("kf", b"01234567890123456789012345678901")
        .unwrap();
    for i in 1..=8 {
        let key = format!("1234567890123456789012345678901{}", i + 1);
        keys = keys.with_key(format!("kc{i}"), key.as_bytes()).unwrap();
    }
    keys
}

#[test]
fn parquet_testing_encrypted_files_read() {
    let dir = data_dir();
    let mut files: Vec<String> = Vec::new();
    for sub in ["", "aes256/"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".parquet.encrypted") {
                files.push(format!("{sub}{name}"));
            }
        }
    }
    files.sort();
    assert_eq!(files.len(), 13, "encrypted files: {files:?}");

    let mut read = 0;
    for name in &files {
        let mut keys = if name.starts_with("aes256/") {
            aes256_keys()
        } else {
            aes128_keys()
        };
        // This file was written with AAD prefix "tester" but does not store it.
        if name.ends_with("disable_aad_storage.parquet.encrypted") {
            keys = keys.with_aad_prefix(b"tester");
        }
        let outcome = read_encrypted_parquet(&dir.join(name), &keys);
        // The scan reads through the same key hook, projected and filtered.
        let scanned = strata::Scan::new(dir.join(name))
            .decryption(keys.clone())
            .columns(&["double_field"])
            .run();
        match (outcome, UNREADABLE.iter().find(|(f, _, _)| f == name)) {
            (Ok(batches), None) => {
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                assert!(rows > 0, "{name}: no rows");
                let scanned = scanned.unwrap_or_else(|e| panic!("{name}: scan failed: {e:?}"));
                assert_eq!(scanned.stats.rows_out as usize, rows, "{name}");
                assert_eq!(scanned.schema.fields().len(), 1, "{name}");
                let schema = batches[0].schema();
                assert!(schema.field_with_name("double_field").is_ok(), "{name}");
                read += 1;
            }
            (Err(err), Some((_, kind, reason))) => {
                assert_eq!(err.kind(), *kind, "{name}: {err:?}");
                assert!(
                    scanned.is_err(),
                    "{name}: the scan read what the reader cannot"
                );
                let _ = writeln!(
                    std::io::stderr(),
                    "not readable (expected): {name}: {reason}; error: {err}"
                );
            }
            (Ok(_), Some(_)) => panic!("{name} now reads: remove it from UNREADABLE"),
            (Err(err), None) => panic!("{name} failed: {err:?}"),
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "read {read} of {} encrypted parquet-testing files",
        files.len()
    );
}
