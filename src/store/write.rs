//! Writing objects: atomic puts, streaming multipart uploads, copies and orphan removal.

use object_store::ObjectStoreExt;
use std::io::Read;

use bytes::Bytes;
use object_store::{PutPayload, WriteMultipart};

use super::index::{ObjectRecord, Sealed};
use super::sealed::EncryptingReader;
use super::tier::Tier;
use super::{now_ms, ObjectInfo, Store};
use crate::error::{Error, ErrorKind, Result};

/// Part size of multipart uploads (S3 needs at least 5 MiB per part but the last).
pub(crate) const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts in flight at once during a multipart upload.
const PARTS_IN_FLIGHT: usize = 4;

impl Store {
    /// Atomic put of bytes already in memory, sealed first when `encrypt`.
    pub(super) async fn put_bytes(
        &self,
        key: &str,
        tier: &Tier,
        data: Bytes,
        encrypt: bool,
    ) -> Result<ObjectInfo> {
        let (data, enc) = if encrypt {
            let (sealed, enc) = self.seal_bytes(&data)?;
            (Bytes::from(sealed), Some(enc))
        } else {
            (data, None)
        };
        let _guard = self.locks.key(key).await;
        self.store_bytes(key, tier, data, enc).await
    }

    /// Writes stored bytes (already sealed if `enc`) with the key's guard already held.
    async fn store_bytes(
        &self,
        key: &str,
        tier: &Tier,
        data: Bytes,
        enc: Option<Sealed>,
    ) -> Result<ObjectInfo> {
        let checksum = blake3::hash(&data).to_hex().to_string();
        let size = data.len() as u64;
        if size >= self.config.multipart_threshold {
            upload_parts(tier, key, std::iter::once(data)).await?;
        } else {
            tier.store
                .put(&tier.path(key), PutPayload::from_bytes(data))
                .await
                .map_err(|e| on_tier(e, tier, key))?;
        }
        self.finish_put(key, tier, size, checksum, enc).await
    }

    /// Put from a reader: small inputs as one put, large ones streamed as a multipart upload.
    pub(super) async fn put_stream(
        &self,
        key: &str,
        tier: &Tier,
        reader: &mut dyn Read,
        encrypt: bool,
    ) -> Result<ObjectInfo> {
        let mut source = if encrypt {
            let keys = self.key_provider(true)?;
            let key_id = keys.active_key_id()?;
            Source::Sealing(Box::new(EncryptingReader::new(
                reader,
                keys.as_ref(),
                &key_id,
                self.chunk_size(),
            )?))
        } else {
            Source::Plain(reader)
        };
        let reader = &mut source;
        let _guard = self.locks.key(key).await;
        let threshold = self.config.multipart_threshold as usize;
        let mut hasher = blake3::Hasher::new();
        let first = read_up_to(reader, threshold, key)?;
        hasher.update(&first);
        if first.len() < threshold {
            let enc = source.sealed();
            return self.store_bytes(key, tier, Bytes::from(first), enc).await;
        }
        let path = tier.path(key);
        let upload = tier
            .store
            .put_multipart(&path)
            .await
            .map_err(|e| on_tier(e, tier, key))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut size = first.len() as u64;
        writer.write(&first);
        drop(first);
        let streamed: Result<()> = async {
            loop {
                let chunk = read_up_to(reader, PART_SIZE, key)?;
                if chunk.is_empty() {
                    return Ok(());
                }
                hasher.update(&chunk);
                size += chunk.len() as u64;
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(|e| on_tier(e, tier, key))?;
                writer.write(&chunk);
            }
        }
        .await;
        match streamed {
            Ok(()) => {
                writer.finish().await.map_err(|e| on_tier(e, tier, key))?;
            }
            Err(e) => {
                // Nothing partial becomes visible; abandon the upload's parts.
                let _ = writer.abort().await;
                return Err(e);
            }
        }
        let checksum = hasher.finalize().to_hex().to_string();
        self.finish_put(key, tier, size, checksum, source.sealed())
            .await
    }

    /// Records a written object in the index and removes a copy it replaced in another tier.
    async fn finish_put(
        &self,
        key: &str,
        tier: &Tier,
        size: u64,
        checksum: String,
        enc: Option<Sealed>,
    ) -> Result<ObjectInfo> {
        let mut record = ObjectRecord::new(&tier.name, size, checksum, now_ms());
        record.enc = enc;
        if let Some(stale) = self.index.commit_put(key, &record)? {
            // The new copy is committed; a failure here only leaves an orphan for `tier run`.
            let _ = self.remove_orphan_locked(&stale, key).await;
        }
        Ok(ObjectInfo::from_record(key.to_string(), record))
    }

    /// Server-side copy inside one tier, then the index entry for `to`.
    pub(super) async fn copy_within(
        &self,
        from: &str,
        to: &str,
        tier: &Tier,
        record: ObjectRecord,
    ) -> Result<ObjectInfo> {
        let _guard = self.locks.key(to).await;
        if from != to {
            tier.store
                .copy(&tier.path(from), &tier.path(to))
                .await
                .map_err(|e| on_tier(e, tier, from).with("to", to))?;
        }
        self.finish_put(to, tier, record.size, record.checksum, record.enc)
            .await
    }

    /// Deletes a copy the index no longer points at, then forgets the orphan entry. The caller
    /// holds the key's guard, so no put of the same key can land in between.
    pub(super) async fn remove_orphan_locked(&self, tier_name: &str, key: &str) -> Result<()> {
        if !self.index.orphan_deletable(tier_name, key)? {
            return self.index.clear_orphan(tier_name, key);
        }
        let tier = self.tier(tier_name)?;
        match tier.store.delete(&tier.path(key)).await {
            Ok(()) => {}
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(on_tier(e, tier, key)),
        }
        self.index.clear_orphan(tier_name, key)
    }
}

/// Uploads `chunks` as one multipart upload; aborts on failure so no partial object appears.
pub(super) async fn upload_parts(
    tier: &Tier,
    key: &str,
    chunks: impl IntoIterator<Item = Bytes>,
) -> Result<()> {
    let upload = tier
        .store
        .put_multipart(&tier.path(key))
        .await
        .map_err(|e| on_tier(e, tier, key))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    for chunk in chunks {
        for part in chunk.chunks(PART_SIZE) {
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(on_tier(e, tier, key));
            }
            writer.write(part);
        }
    }
    writer.finish().await.map_err(|e| on_tier(e, tier, key))?;
    Ok(())
}

/// What a streaming put reads: the caller's bytes, or those bytes being sealed on the way.
enum Source<'a> {
    Plain(&'a mut dyn Read),
    Sealing(Box<EncryptingReader<'a>>),
}

impl Read for Source<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Source::Plain(r) => r.read(buf),
            Source::Sealing(r) => r.read(buf),
        }
    }
}

impl Source<'_> {
    /// Once the input is exhausted: how the stored bytes are sealed.
    fn sealed(&self) -> Option<Sealed> {
        match self {
            Source::Plain(_) => None,
            Source::Sealing(r) => Some(r.sealed()),
        }
    }
}

/// Reads until `limit` bytes or end of input.
fn read_up_to(reader: &mut dyn Read, limit: usize, key: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(limit.min(PART_SIZE));
    reader
        .take(limit as u64)
        .read_to_end(&mut buf)
        .map_err(|e| {
            Error::new(ErrorKind::Io, format!("reading input failed: {e}")).with("key", key)
        })?;
    Ok(buf)
}

/// An object-store error with the key and tier it concerns.
pub(super) fn on_tier(err: object_store::Error, tier: &Tier, key: &str) -> Error {
    Error::from(err).with("key", key).with("tier", &tier.name)
}
