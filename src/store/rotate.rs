//! Key rotation: re-wrapping the data keys of encrypted objects under a new key.
//!
//! Only the envelope header changes; the sealed chunks are copied as they are. Each object is
//! replaced the way a put replaces it (journaled, then renamed or uploaded), so at every moment
//! it is readable with the keys on the ring (the old key stays on the ring until `retire`,
//! which refuses while any object still refers to it). Envelopes of format 1 come out as
//! format 2, bound to their key.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;

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
                let version = match self.open_version(&key).await {
                    Ok(version) => version,
                    Err(e) if e.kind() == crate::error::ErrorKind::NotFound => return Ok(false),
                    Err(e) => return Err(e),
                };
                let Some(enc) = version.record.enc.clone() else {
                    return Ok(false);
                };
                if enc.key_id == new_key_id {
                    return Ok(false);
                }
                let stored = match version.read(None).await {
                    Err(e) if e.kind() == crate::error::ErrorKind::NotFound => {
                        return Err(self.changed_outside(&version, e).await)
                    }
                    other => other?,
                };
                let (header, header_len) =
                    EnvelopeHeader::parse(&stored).map_err(|e| e.with("key", &key))?;
                if enc
                    .object_id
                    .as_ref()
                    .is_some_and(|id| *id != header.object_id())
                {
                    return Err(Error::new(
                        crate::error::ErrorKind::Crypto,
                        "the envelope in the tier is not the one the index records; not rotated",
                    )
                    .with("key", &key));
                }
                let rewrapped = header
                    .rewrap(keys.as_ref(), new_key_id, &key)
                    .map_err(|e| e.with("key", &key))?;
                let mut out = rewrapped.encode();
                out.extend_from_slice(&stored[header_len..]);
                drop(stored);
                let mut record = version.record.clone();
                record.checksum = blake3::hash(&out).to_hex().to_string();
                record.size = out.len() as u64;
                record.etag = None;
                record.enc = Some(super::index::Sealed {
                    key_id: new_key_id.to_string(),
                    format: rewrapped.version,
                    plain_size: enc.plain_size,
                    object_id: Some(rewrapped.object_id()),
                });
                let tier = version.tier.clone();
                let staged = tier
                    .stage(&key, Bytes::from(out), self.config.multipart_threshold)
                    .await?;
                self.publish_at(&key, &tier, staged, record).await?;
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
