//! pyarrow reads a strata-written encrypted Parquet file, and strata reads a pyarrow-written one,
//! with the same key ring.
//!
//! pyarrow's `CryptoFactory` asks a KMS client to wrap and unwrap data keys by master key id. The
//! client here reads strata's key-ring file and wraps exactly as strata's key ring does (12-byte
//! nonce, then AES-256-GCM of the data key with empty AAD, base64 in the key material), with
//! single wrapping and 256-bit data keys, so both sides write and read the same key material.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use strata::{
    crypto::{KeyProvider, KeyRing, ParquetDecryption, ParquetEncryption},
    format::write_encrypted_parquet,
    read::read_encrypted_parquet,
};

const KMS: &str = r#"
import base64, os, sys, tomllib
import pyarrow as pa, pyarrow.parquet as pq, pyarrow.parquet.encryption as pe
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

class RingKms(pe.KmsClient):
    def __init__(self, config):
        pe.KmsClient.__init__(self)
        with open(config.custom_kms_conf["ring"], "rb") as f:
            ring = tomllib.load(f)
        self.keys = {k["id"]: bytes.fromhex(k["key"]) for k in ring["keys"]}
    def wrap_key(self, key_bytes, master_key_identifier):
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[master_key_identifier]).encrypt(nonce, key_bytes, b"")
        return base64.b64encode(nonce + sealed).decode()
    def unwrap_key(self, wrapped_key, master_key_identifier):
        raw = base64.b64decode(wrapped_key)
        return AESGCM(self.keys[master_key_identifier]).decrypt(raw[:12], raw[12:], b"")

mode, ring, path = sys.argv[1:4]
factory = pe.CryptoFactory(lambda config: RingKms(config))
kms = pe.KmsConnectionConfig(custom_kms_conf={"ring": ring})
if mode == "read":
    props = factory.file_decryption_properties(kms, pe.DecryptionConfiguration())
    table = pq.read_table(path, decryption_properties=props)
    print(table.num_rows, sum(table.column("id").to_pylist()), table.column("note")[7].as_py())
else:
    if mode == "write-defaults":
        # pyarrow's defaults: double wrapping, 128-bit data keys.
        config = pe.EncryptionConfiguration(
            footer_key="kf", column_keys={"kc1": ["id"], "kc2": ["note"]})
    else:
        config = pe.EncryptionConfiguration(
            footer_key="kf", column_keys={"kc1": ["id"], "kc2": ["note"]},
            double_wrapping=False, data_key_length_bits=256)
    props = factory.file_encryption_properties(kms, config)
    table = pa.table({"id": pa.array(range(100), pa.int64()),
                      "note": [f"pyarrow-{i}" for i in range(100)]})
    with pq.ParquetWriter(path, table.schema, encryption_properties=props) as w:
        w.write_table(table)
    print("written")
"#;

fn python_ready() -> bool {
    common::python_with(
        "parquet_encryption_pyarrow",
        &["pyarrow.parquet.encryption", "cryptography", "tomllib"],
    )
    .is_some()
}

fn python(mode: &str, ring: &Path, file: &Path) -> String {
    let out = Command::new("python3")
        .args(["-c", KMS, mode])
        .arg(ring)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python {mode} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn ring(dir: &Path) -> Arc<KeyRing> {
    let mut ring = KeyRing::create(&dir.join("keyring.toml"), Some("kf")).unwrap();
    ring.add_key(Some("kc1")).unwrap();
    ring.add_key(Some("kc2")).unwrap();
    Arc::new(ring)
}

#[test]
fn pyarrow_reads_strata_encrypted_parquet() {
    if !python_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let keys = ring(dir.path());
    for (name, encryption) in [
        ("uniform", ParquetEncryption::uniform("kf")),
        (
            "columns",
            ParquetEncryption::per_column("kf", [("id", "kc1"), ("note", "kc2")]),
        ),
        (
            "double",
            ParquetEncryption::per_column("kf", [("id", "kc1"), ("note", "kc2")])
                .with_double_wrapping(true),
        ),
    ] {
        let path = dir.path().join(format!("{name}.parquet"));
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..500));
        let notes: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..500).map(|i| format!("strata-{i}")),
        ));
        let batch = RecordBatch::try_from_iter([("id", ids), ("note", notes)]).unwrap();
        write_encrypted_parquet(&path, &[batch], keys.as_ref(), &encryption).unwrap();
        let seen = python("read", keys.path(), &path);
        assert_eq!(seen, "500 124750 strata-7", "{name}");
    }
}

#[test]
fn strata_reads_pyarrow_encrypted_parquet() {
    if !python_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let keys = ring(dir.path());
    for mode in ["write", "write-defaults"] {
        let path = dir.path().join(format!("pyarrow-{mode}.parquet"));
        assert_eq!(python(mode, keys.path(), &path), "written");
        let provider: Arc<dyn KeyProvider> = keys.clone();
        let batches =
            read_encrypted_parquet(&path, &ParquetDecryption::from_provider(provider)).unwrap();
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 100, "{mode}");
        let ids = batches[0]
            .column_by_name("id")
            .unwrap()
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(ids.value(42), 42);
        let notes = arrow::compute::cast(
            batches[0].column_by_name("note").unwrap(),
            &arrow::datatypes::DataType::Utf8,
        )
        .unwrap();
        let notes = notes.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(notes.value(7), "pyarrow-7", "{mode}");
    }
}
