//! Parquet modular encryption with keys from a [`KeyProvider`]: the key material. The files
//! themselves are written by the one Parquet writer (`format`, `WriteOptions::encryption`) and
//! read by scans (`Scan::decryption`).
//!
//! Each Parquet key (the footer key and every column key) is a fresh random 32-byte data key
//! (AES-256-GCM), wrapped by the key provider under a key id. The wrapped key travels in the
//! file's key metadata as the JSON "key material" that Apache Arrow's `CryptoFactory` (pyarrow)
//! writes with internal storage, so pyarrow reads strata's files with a KMS client that unwraps
//! the same way, and strata reads pyarrow's. Both of Arrow's wrapping modes are understood:
//! single (the data key wrapped by the provider) and double, pyarrow's default (the data key
//! sealed with AES-GCM under a random 128-bit key-encryption key, which the provider wraps). Files whose key metadata is a
//! bare key id (the parquet-testing corpus, parquet-mr's examples) read with raw keys by id.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use parquet::encryption::decrypt::{FileDecryptionProperties, KeyRetriever};
use parquet::encryption::encrypt::FileEncryptionProperties;
use parquet::errors::ParquetError;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::keys::{KeyProvider, SecretKey};
use crate::error::{Error, ErrorKind, Result};

/// Authenticated with every wrapped Parquet data key. Empty because Arrow's KMS client interface
/// passes no context to unwrap, and pyarrow must be able to unwrap strata's keys.
const WRAP_CONTEXT: &[u8] = b"";
const KEY_MATERIAL_TYPE: &str = "PKMT1";

/// Which key ids protect a Parquet file: one key for everything, or a footer key and per-column
/// keys (columns not named stay plaintext).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParquetEncryption {
    footer_key_id: String,
    columns: Vec<(String, String)>,
    plaintext_footer: bool,
    double_wrapping: bool,
}

impl ParquetEncryption {
    /// Every column and the footer under key `key_id`.
    pub fn uniform(key_id: impl Into<String>) -> Self {
        ParquetEncryption {
            footer_key_id: key_id.into(),
            columns: Vec::new(),
            plaintext_footer: false,
            double_wrapping: false,
        }
    }

    /// The footer under `footer_key_id`; each `(column path, key id)` pair encrypts that column.
    pub fn per_column<C, K>(
        footer_key_id: impl Into<String>,
        columns: impl IntoIterator<Item = (C, K)>,
    ) -> Self
    where
        C: Into<String>,
        K: Into<String>,
    {
        ParquetEncryption {
            footer_key_id: footer_key_id.into(),
            columns: columns
                .into_iter()
                .map(|(c, k)| (c.into(), k.into()))
                .collect(),
            plaintext_footer: false,
            double_wrapping: false,
        }
    }

    /// Leaves the footer readable (signed, not encrypted), for readers without the keys.
    pub fn with_plaintext_footer(mut self, plaintext: bool) -> Self {
        self.plaintext_footer = plaintext;
        self
    }

    /// Double wrapping, pyarrow's default: each data key is sealed under a random key-encryption
    /// key, and only that is wrapped by the key provider. Off by default (one provider call per
    /// key either way here, and single wrapping is what every reader supports).
    pub fn with_double_wrapping(mut self, double: bool) -> Self {
        self.double_wrapping = double;
        self
    }

    /// Builds the parquet crate's properties: fresh data keys, wrapped by `keys`.
    pub fn properties(&self, keys: &dyn KeyProvider) -> Result<Arc<FileEncryptionProperties>> {
        let (footer_key, footer_meta) =
            new_wrapped_key(keys, &self.footer_key_id, true, self.double_wrapping)?;
        let mut builder = FileEncryptionProperties::builder(footer_key.to_vec())
            .with_footer_key_metadata(footer_meta)
            .with_plaintext_footer(self.plaintext_footer);
        for (column, key_id) in &self.columns {
            let (key, meta) = new_wrapped_key(keys, key_id, false, self.double_wrapping)?;
            builder = builder.with_column_key_and_metadata(column, key.to_vec(), meta);
        }
        builder
            .build()
            .map_err(|e| Error::from(e).during("bad encryption settings"))
    }

    /// The column paths given their own keys.
    pub(crate) fn column_paths(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|(column, _)| column.as_str())
    }

    /// The scheme as one line of JSON (key ids only, never a key): how a table keeps it in
    /// its properties (`strata.encryption`).
    pub fn to_json(&self) -> String {
        let spec = SchemeSpec {
            footer_key: self.footer_key_id.clone(),
            columns: self.columns.clone(),
            plaintext_footer: self.plaintext_footer,
            double_wrapping: self.double_wrapping,
        };
        serde_json::to_string(&spec).unwrap_or_default()
    }

    /// Parses what [`ParquetEncryption::to_json`] wrote; anything else is an error.
    pub fn from_json(text: &str) -> Result<Self> {
        let spec: SchemeSpec = serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::Corrupt,
                format!("bad Parquet encryption settings {text:?}: {e}"),
            )
        })?;
        if spec.footer_key.is_empty()
            || spec
                .columns
                .iter()
                .any(|(c, k)| c.is_empty() || k.is_empty())
        {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("bad Parquet encryption settings {text:?}: an empty key id or column"),
            ));
        }
        Ok(ParquetEncryption {
            footer_key_id: spec.footer_key,
            columns: spec.columns,
            plaintext_footer: spec.plaintext_footer,
            double_wrapping: spec.double_wrapping,
        })
    }
}

/// [`ParquetEncryption`] as stored: key ids and switches.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SchemeSpec {
    footer_key: String,
    #[serde(default)]
    columns: Vec<(String, String)>,
    #[serde(default)]
    plaintext_footer: bool,
    #[serde(default)]
    double_wrapping: bool,
}

/// Arrow's key material (`parquet/encryption/key_material.h`), internal storage, single wrapping.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyMaterial {
    key_material_type: String,
    // Absent fields parse as defaults so that unsupported material (external storage, double
    // wrapping) is recognised and refused by name rather than mistaken for a key id.
    #[serde(default)]
    internal_storage: bool,
    #[serde(default)]
    is_footer_key: bool,
    #[serde(rename = "kmsInstanceID", skip_serializing_if = "Option::is_none")]
    kms_instance_id: Option<String>,
    #[serde(rename = "kmsInstanceURL", skip_serializing_if = "Option::is_none")]
    kms_instance_url: Option<String>,
    #[serde(rename = "masterKeyID", default)]
    master_key_id: String,
    #[serde(rename = "wrappedDEK", default)]
    wrapped_dek: String,
    #[serde(default)]
    double_wrapping: bool,
    /// Double wrapping: base64 of the key-encryption key's random id (the AAD of the data key).
    #[serde(
        rename = "keyEncryptionKeyID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    key_encryption_key_id: Option<String>,
    /// Double wrapping: the key-encryption key, wrapped by the provider.
    #[serde(
        rename = "wrappedKEK",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    wrapped_kek: Option<String>,
}

/// Arrow's key-encryption keys and their ids are 16 random bytes.
const KEK_LEN: usize = 16;
const GCM_NONCE_LEN: usize = 12;

/// Seals a data key under a key-encryption key as Arrow's key tools do: AES-GCM with the KEK id
/// as AAD, laid out nonce | ciphertext | tag.
fn seal_locally(kek: &[u8], kek_id: &[u8], key: &[u8]) -> Result<Vec<u8>> {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    let cipher = aes_gcm::Aes128Gcm::new_from_slice(kek)
        .map_err(|_| Error::internal("a key-encryption key must be 16 bytes"))?;
    let mut nonce = [0u8; GCM_NONCE_LEN];
    super::keys::fill_random(&mut nonce)?;
    let sealed = cipher
        .encrypt(
            aes_gcm::Nonce::from_slice(&nonce),
            Payload {
                msg: key,
                aad: kek_id,
            },
        )
        .map_err(|_| Error::internal("sealing a Parquet data key failed"))?;
    Ok([&nonce[..], &sealed].concat())
}

/// Reverses [`seal_locally`]; 16- and 32-byte key-encryption keys are accepted.
fn open_locally(kek: &[u8], kek_id: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    use aes_gcm::aead::{Aead, Payload};
    use aes_gcm::KeyInit;
    if sealed.len() < GCM_NONCE_LEN + 16 {
        return Err(Error::new(
            ErrorKind::Crypto,
            "Parquet wrapped data key is too short",
        ));
    }
    let (nonce, body) = sealed.split_at(GCM_NONCE_LEN);
    let payload = Payload {
        msg: body,
        aad: kek_id,
    };
    let nonce = aes_gcm::Nonce::from_slice(nonce);
    let opened = match kek.len() {
        16 => aes_gcm::Aes128Gcm::new_from_slice(kek)
            .ok()
            .and_then(|c| c.decrypt(nonce, payload).ok()),
        32 => aes_gcm::Aes256Gcm::new_from_slice(kek)
            .ok()
            .and_then(|c| c.decrypt(nonce, payload).ok()),
        _ => None,
    };
    opened.map(Zeroizing::new).ok_or_else(|| {
        Error::new(
            ErrorKind::Crypto,
            "cannot open the Parquet data key with its key-encryption key",
        )
    })
}

fn new_wrapped_key(
    keys: &dyn KeyProvider,
    key_id: &str,
    footer: bool,
    double: bool,
) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>)> {
    let b64 = &base64::engine::general_purpose::STANDARD;
    let data_key = SecretKey::random()?;
    let (wrapped, kek_id, wrapped_kek) = if double {
        let mut kek = Zeroizing::new([0u8; KEK_LEN]);
        let mut kek_id = [0u8; KEK_LEN];
        super::keys::fill_random(&mut kek[..])?;
        super::keys::fill_random(&mut kek_id)?;
        let wrapped_kek = keys
            .wrap_bytes(key_id, &kek[..], WRAP_CONTEXT)
            .map_err(|e| e.with("key_id", key_id))?;
        (
            seal_locally(&kek[..], &kek_id, data_key.bytes())?,
            Some(b64.encode(kek_id)),
            Some(b64.encode(wrapped_kek)),
        )
    } else {
        let wrapped = keys
            .wrap(key_id, &data_key, WRAP_CONTEXT)
            .map_err(|e| e.with("key_id", key_id))?;
        (wrapped, None, None)
    };
    // Arrow requires the KMS instance fields on the footer key's material only.
    let instance = footer.then(|| "DEFAULT".to_string());
    let material = KeyMaterial {
        key_material_type: KEY_MATERIAL_TYPE.into(),
        internal_storage: true,
        is_footer_key: footer,
        kms_instance_id: instance.clone(),
        kms_instance_url: instance,
        master_key_id: key_id.into(),
        wrapped_dek: b64.encode(wrapped),
        double_wrapping: double,
        key_encryption_key_id: kek_id,
        wrapped_kek,
    };
    let meta = serde_json::to_vec(&material)
        .map_err(|e| Error::internal(format!("cannot encode Parquet key material: {e}")))?;
    Ok((Zeroizing::new(data_key.bytes().to_vec()), meta))
}

/// Where a reader finds Parquet keys: a key provider for key material, raw keys by id.
#[derive(Clone, Default)]
pub struct ParquetDecryption {
    provider: Option<Arc<dyn KeyProvider>>,
    raw: BTreeMap<String, Zeroizing<Vec<u8>>>,
    aad_prefix: Option<Vec<u8>>,
}

impl std::fmt::Debug for ParquetDecryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetDecryption")
            .field("provider", &self.provider.is_some())
            .field("raw_key_ids", &self.raw.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ParquetDecryption {
    /// Unwraps the data keys in the files' key material with `provider`.
    pub fn from_provider(provider: Arc<dyn KeyProvider>) -> Self {
        ParquetDecryption {
            provider: Some(provider),
            ..Self::default()
        }
    }

    /// Adds a raw key (16 or 32 bytes) for files whose key metadata is the bare id `key_id`.
    pub fn with_key(mut self, key_id: impl Into<String>, key: &[u8]) -> Result<Self> {
        let key_id = key_id.into();
        if key.len() != 16 && key.len() != 32 {
            return Err(Error::invalid(
                "a Parquet key must be 16 or 32 bytes (AES-128 or AES-256)",
            )
            .with("key_id", key_id));
        }
        self.raw.insert(key_id, Zeroizing::new(key.to_vec()));
        Ok(self)
    }

    /// The AAD prefix for files written with one but not storing it.
    pub fn with_aad_prefix(mut self, prefix: &[u8]) -> Self {
        self.aad_prefix = Some(prefix.to_vec());
        self
    }

    /// Builds the parquet crate's properties, looking keys up as the reader meets them.
    pub fn properties(&self) -> Result<Arc<FileDecryptionProperties>> {
        let mut builder = FileDecryptionProperties::with_key_retriever(Arc::new(self.clone()));
        if let Some(prefix) = &self.aad_prefix {
            builder = builder.with_aad_prefix(prefix.clone());
        }
        builder
            .build()
            .map_err(|e| Error::from(e).during("bad decryption settings"))
    }

    fn lookup(&self, key_metadata: &[u8]) -> Result<Vec<u8>> {
        if let Ok(material) = serde_json::from_slice::<KeyMaterial>(key_metadata) {
            return self.unwrap_material(&material);
        }
        let id = std::str::from_utf8(key_metadata)
            .map_err(|_| Error::new(ErrorKind::Crypto, "Parquet key metadata is not a key id"))?;
        match self.raw.get(id) {
            Some(key) => Ok(key.to_vec()),
            None => {
                Err(Error::new(ErrorKind::Crypto, "no Parquet key with this id").with("key_id", id))
            }
        }
    }

    fn unwrap_material(&self, material: &KeyMaterial) -> Result<Vec<u8>> {
        let id = &material.master_key_id;
        if material.key_material_type != KEY_MATERIAL_TYPE || !material.internal_storage {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "Parquet key material stored outside the file is not supported",
            )
            .with("key_id", id));
        }
        let Some(provider) = &self.provider else {
            return Err(Error::new(
                ErrorKind::Crypto,
                "the file's keys are wrapped but no key provider was given",
            )
            .with("key_id", id));
        };
        let b64 = &base64::engine::general_purpose::STANDARD;
        let decode = |text: &str, what: &str| {
            b64.decode(text).map_err(|_| {
                Error::corrupt(format!("Parquet {what} is not base64")).with("key_id", id)
            })
        };
        let wrapped = decode(&material.wrapped_dek, "wrapped key")?;
        let key = if material.double_wrapping {
            let (Some(kek_id), Some(wrapped_kek)) =
                (&material.key_encryption_key_id, &material.wrapped_kek)
            else {
                return Err(Error::corrupt(
                    "double-wrapped Parquet key material lacks its key-encryption key",
                )
                .with("key_id", id));
            };
            let kek = provider
                .unwrap_bytes(
                    id,
                    &decode(wrapped_kek, "wrapped key-encryption key")?,
                    WRAP_CONTEXT,
                )
                .map_err(|e| e.with("key_id", id))?;
            open_locally(&kek, &decode(kek_id, "key-encryption key id")?, &wrapped)
                .map_err(|e| e.with("key_id", id))?
        } else {
            provider
                .unwrap_bytes(id, &wrapped, WRAP_CONTEXT)
                .map_err(|e| e.with("key_id", id))?
        };
        Ok(key.to_vec())
    }
}

impl KeyRetriever for ParquetDecryption {
    fn retrieve_key(&self, key_metadata: &[u8]) -> parquet::errors::Result<Vec<u8>> {
        self.lookup(key_metadata)
            .map_err(|e| ParquetError::External(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_round_trip_as_json_and_bad_text_is_an_error() {
        let scheme = ParquetEncryption::per_column("footer", [("ssn", "pii"), ("a.b", "k2")])
            .with_plaintext_footer(true);
        let back = ParquetEncryption::from_json(&scheme.to_json()).unwrap();
        assert_eq!(back.to_json(), scheme.to_json());
        assert_eq!(back.column_paths().collect::<Vec<_>>(), ["ssn", "a.b"]);
        for bad in [
            "",
            "{",
            "[]",
            r#"{"columns":[]}"#,
            r#"{"footerKey":""}"#,
            r#"{"footerKey":"k","columns":[["","x"]]}"#,
            r#"{"footerKey":"k","extra":1}"#,
            r#"{"footerKey":7}"#,
        ] {
            let e = ParquetEncryption::from_json(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Corrupt, "{bad}: {e}");
        }
    }

    #[test]
    fn locally_sealed_keys_round_trip_and_refuse_bad_input() {
        let (kek, id, dek) = ([7u8; KEK_LEN], [9u8; KEK_LEN], [1u8; 16]);
        let sealed = seal_locally(&kek, &id, &dek).unwrap();
        assert_eq!(&open_locally(&kek, &id, &sealed).unwrap()[..], &dek);
        assert!(open_locally(&kek, b"another id", &sealed).is_err());
        assert!(open_locally(&kek, &id, &sealed[..20]).is_err());
        assert!(open_locally(&[0u8; 5], &id, &sealed).is_err());
        let mut flipped = sealed.clone();
        flipped[14] ^= 1;
        assert_eq!(
            open_locally(&kek, &id, &flipped).unwrap_err().kind(),
            ErrorKind::Crypto
        );
    }

    #[test]
    fn double_wrapped_material_without_its_kek_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ring = crate::crypto::KeyRing::create(&dir.path().join("k.toml"), Some("kf")).unwrap();
        let provider: Arc<dyn KeyProvider> = Arc::new(ring);
        let decryption = ParquetDecryption::from_provider(provider);
        let material = br#"{"keyMaterialType":"PKMT1","internalStorage":true,"isFooterKey":true,"masterKeyID":"kf","wrappedDEK":"AAAA","doubleWrapping":true}"#;
        let err = decryption.lookup(material).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        let material = br#"{"keyMaterialType":"PKMT1","internalStorage":true,"masterKeyID":"kf","wrappedDEK":"!!","doubleWrapping":false}"#;
        assert_eq!(
            decryption.lookup(material).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
    }
}
