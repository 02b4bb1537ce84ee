//! Key rotation: re-wrapping the data keys of encrypted objects under a new key.
//!
//! Only the envelope header changes; the sealed chunks are copied as they are. Each object is
//! replaced atomically, so at every moment it is readable with the keys on the ring (the old
//! key stays on the ring until `retire`, which refuses while any object still refers to it).

use std::collections::BTreeMap;

use bytes::Bytes;
use object_store::{ObjectStoreExt, PutPayload};
use serde::Serialize;

use super::write::on_tier;
use super::Store;
use crate::crypto::EnvelopeHeader;
use crate::error::{Error, Result};

/// What a rotation did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RotateReport {
    /// The key objects are now wrapped under.
    pub key_id: String,
    /// Objects re-wrapped.
    pub rewrapped: u64,
    /// Objects that failed, with the error; a rerun retries them.
    pub failed: Vec<(String, String)>,
}

impl Store {
    /// Number of objects under each key id.
    pub fn key_usage(&self) -> Result<BTreeMap<String, u64>> {
        let mut usage = BTreeMap::new();
        for (_, record) in self.index.list("")? {
            if let Some(enc) = record.enc {
                *usage.entry(enc.key_id).or_insert(0) += 1;
            }
        }
        Ok(usage)
    }

    /// Re-wraps every encrypted object not yet under `new_key_id` (normally the newly active
    /// key). `progress(done, total)` is called as objects complete.
    pub fn rotate_keys(
        &self,
        new_key_id: &str,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<RotateReport> {
        let keys = self.key_provider(false)?;
        let todo: Vec<String> = self
            .index
            .list("")?
            .into_iter()
            .filter(|(_, r)| r.enc.as_ref().is_some_and(|e| e.key_id != new_key_id))
            .map(|(k, _)| k)
            .collect();
        let total = todo.len() as u64;
        let mut report = RotateReport {
            key_id: new_key_id.to_string(),
            ..RotateReport::default()
        };
        progress(0, total);
        for (done, key) in todo.into_iter().enumerate() {
            let result = self.runtime.block_on(async {
                let _guard = self.locks.key(&key).await;
                // Re-read under the guard: the object may have changed since the listing.
                let Some(mut record) = self.index.get(&key)? else {
                    return Ok(false);
                };
                let Some(enc) = record.enc.clone() else {
                    return Ok(false);
                };
                if enc.key_id == new_key_id {
                    return Ok(false);
                }
                let tier = self.tier(&record.tier)?;
                let stored = self.read(&key, tier, None, record.size).await?;
                let (header, header_len) =
                    EnvelopeHeader::parse(&stored).map_err(|e| e.with("key", &key))?;
                let rewrapped = header
                    .rewrap(keys.as_ref(), new_key_id)
                    .map_err(|e| e.with("key", &key))?;
                let mut out = rewrapped.encode();
                out.extend_from_slice(&stored[header_len..]);
                let checksum = blake3::hash(&out).to_hex().to_string();
                let size = out.len() as u64;
                tier.store
                    .put(&tier.path(&key), PutPayload::from_bytes(Bytes::from(out)))
                    .await
                    .map_err(|e| on_tier(e, tier, &key))?;
                record.size = size;
                record.checksum = checksum;
                record.enc = Some(super::index::Sealed {
                    key_id: new_key_id.to_string(),
                    ..enc
                });
                self.index.commit_put(&key, &record)?;
                Ok::<_, Error>(true)
            });
            match result.and_then(|r| r) {
                Ok(true) => report.rewrapped += 1,
                Ok(false) => {}
                Err(e) => report.failed.push((key, e.to_string())),
            }
            progress(done as u64 + 1, total);
        }
        Ok(report)
    }
}
