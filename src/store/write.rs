//! Writing objects: atomic puts, streaming uploads, copies and orphan removal.
//!
//! Every write that replaces what a key reads goes the same way (`publish_at`):
//! 1. the new bytes are staged where no reader looks (a staging file in a local tier, the
//!    parts of a multipart upload, or memory for a small remote PUT);
//! 2. holding the key's writer lock and, exclusively, its view lock, the new index record is
//!    committed together with a journal entry naming the old record and the staging file;
//! 3. the bytes are made visible in one atomic step (rename, upload completion, PUT);
//! 4. the journal entry is dropped.
//!
//! A failure in 2 leaves the old object and record untouched. A failure in 3 is resolved at
//! once: the record is rolled back unless the tier shows the new bytes arrived. A crash between
//! 2 and 4 is resolved by the next open (`reconcile_puts`): a staging file still present means
//! the rename never happened (roll back); otherwise the new bytes are in place (keep). Readers
//! take the view lock shared, so they never pair the new record with the old bytes.

use std::io::Read;

use bytes::Bytes;

use super::index::{ObjectRecord, PutIntent, Sealed};
use super::sealed::EncryptingReader;
use super::tier::{Staged, Tier, PART_SIZE};
use super::{now_ms, ObjectInfo, Store};
use crate::error::{Error, ErrorKind, Result};

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
            let (sealed, enc) = self.seal_bytes(key, &data)?;
            (Bytes::from(sealed), Some(enc))
        } else {
            (data, None)
        };
        let checksum = blake3::hash(&data).to_hex().to_string();
        let size = data.len() as u64;
        let _guard = self.locks.key(key).await;
        let staged = tier
            .stage(key, data, self.config.multipart_threshold)
            .await
            .map_err(|e| e.with("key", key))?;
        self.publish_new(key, tier, staged, size, checksum, enc)
            .await
    }

    /// Put from a reader: streamed to a staging file or as a multipart upload, never held
    /// whole in memory.
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
                key,
            )?))
        } else {
            Source::Plain(reader)
        };
        let _guard = self.locks.key(key).await;
        let threshold = self.config.multipart_threshold as usize;
        let mut hasher = blake3::Hasher::new();
        let first = read_up_to(&mut source, threshold, key)?;
        hasher.update(&first);
        if first.len() < threshold {
            let enc = source.sealed();
            let checksum = hasher.finalize().to_hex().to_string();
            let size = first.len() as u64;
            let staged = tier
                .stage(key, Bytes::from(first), self.config.multipart_threshold)
                .await
                .map_err(|e| e.with("key", key))?;
            return self
                .publish_new(key, tier, staged, size, checksum, enc)
                .await;
        }
        let mut writer = tier.staging_writer(key).await?;
        let mut size = first.len() as u64;
        let streamed: Result<()> = async {
            writer.write(&first).await?;
            drop(first);
            loop {
                let chunk = read_up_to(&mut source, PART_SIZE, key)?;
                if chunk.is_empty() {
                    return Ok(());
                }
                hasher.update(&chunk);
                size += chunk.len() as u64;
                writer.write(&chunk).await?;
            }
        }
        .await;
        if let Err(e) = streamed {
            // Nothing partial becomes visible; drop the staging file or the upload's parts.
            tier.discard(writer.into_staged()).await;
            return Err(e.with("key", key).with("tier", &tier.name));
        }
        let staged = writer
            .finish()
            .await
            .map_err(|e| e.with("key", key).with("tier", &tier.name))?;
        let checksum = hasher.finalize().to_hex().to_string();
        self.publish_new(key, tier, staged, size, checksum, source.sealed())
            .await
    }

    /// Steps 2 to 4 of a write (see the module docs). The caller holds the key's writer lock.
    pub(super) async fn publish_new(
        &self,
        key: &str,
        tier: &Tier,
        staged: Staged,
        size: u64,
        checksum: String,
        enc: Option<Sealed>,
    ) -> Result<ObjectInfo> {
        let mut record = ObjectRecord::new(&tier.name, size, checksum, now_ms());
        record.enc = enc;
        self.publish_at(key, tier, staged, record).await
    }

    /// [`Store::publish_new`] with the whole record given (a rewrite that keeps the object's
    /// history, such as a key rotation).
    pub(super) async fn publish_at(
        &self,
        key: &str,
        tier: &Tier,
        staged: Staged,
        mut record: ObjectRecord,
    ) -> Result<ObjectInfo> {
        let checksum = record.checksum.clone();
        let view = self.locks.publishing(key).await;
        let intent = match self.index.begin_put(key, &record, staged.file_name()) {
            Ok(intent) => intent,
            Err(e) => {
                drop(view);
                tier.discard(staged).await;
                return Err(e.with("key", key));
            }
        };
        let old = intent.old.clone();
        match tier.publish(staged, key).await {
            Ok(etag) => {
                // The bytes are in place: a failure to drop the journal entry is resolved by the
                // next open, which finds them there.
                let _ = self.index.finish_put(key, &checksum, etag.clone());
                record.etag = etag;
            }
            Err(e) => {
                let resolved = self.resolve_put(key, &intent).await;
                match resolved {
                    // The tier took the bytes after all (e.g. a timeout after the upload).
                    Ok(true) => {}
                    Ok(false) => return Err(e),
                    // The tier cannot be asked: the old record stands until the next open.
                    Err(_) => {
                        return Err(e.with(
                            "outcome",
                            "unknown until the tier answers; the old object stays current",
                        ))
                    }
                }
            }
        }
        drop(view);
        if let Some(old) = old.filter(|o| o.tier != tier.name) {
            // The new copy is committed; a failure here only leaves an orphan for `tier run`.
            let _ = self.remove_orphan_locked(&old.tier, key).await;
        }
        Ok(ObjectInfo::from_record(key.to_string(), record))
    }

    /// Brings a journaled put in step with its tier: keeps the new record when its bytes are
    /// in place (true), else restores the old one (false). When the tier cannot be asked (a
    /// remote tier that does not answer), readers get the old record and the journal entry
    /// stays for the next open; the error says so.
    pub(super) async fn resolve_put(&self, key: &str, intent: &PutIntent) -> Result<bool> {
        let tier = self.tier(&intent.tier)?;
        let arrived = match (&intent.staging, tier.local()) {
            // The rename is the only step after the journal entry: the staging file still
            // being there means it did not happen.
            (Some(staging), Some(dir)) if dir.staging_exists(staging)? => Ok(false),
            // Gone: renamed into place, or thrown away after a journal commit that reported a
            // failure yet reached the disk. The file at the key tells which.
            _ => match tier.head(key).await {
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e),
                // Another length: not the new bytes (the old object, or nothing of ours).
                Ok((size, _)) if size != intent.new.size => Ok(false),
                Ok(_) => hash_stored(tier, key, intent.new.size)
                    .await
                    .map(|found| found == intent.checksum),
            },
        };
        let arrived = match arrived {
            Ok(arrived) => arrived,
            Err(e) => {
                self.index.defer_put(key, intent)?;
                return Err(e.with("put", "not known to have landed; settled at the next open"));
            }
        };
        if arrived {
            let etag = tier.etag(key).await.unwrap_or(None);
            self.index.settle_put(key, intent, true, etag)?;
        } else {
            if let (Some(staging), Some(dir)) = (&intent.staging, tier.local()) {
                dir.remove_staging(staging)?;
            }
            self.index.settle_put(key, intent, false, None)?;
        }
        Ok(arrived)
    }

    /// Copies an object inside one tier (server-side where the tier can), then publishes it at
    /// `to` like a put. Holds both keys' writer locks, so the source cannot change meanwhile.
    pub(super) async fn copy_within(&self, from: &str, to: &str) -> Result<ObjectInfo> {
        let _guard = self.locks.pair(from, to).await;
        let version = self.open_version(from).await?;
        if from == to {
            return Ok(ObjectInfo::from_record(to.to_string(), version.record));
        }
        let tier = version.tier.clone();
        let record = version.record.clone();
        if record.enc.is_some() {
            // An envelope is bound to its key: open it under `from`, seal it again under `to`.
            let plain = match self.read_sealed(&version, None).await {
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    return Err(self.changed_outside(&version, e).await)
                }
                other => other?,
            };
            let (sealed, enc) = self.seal_bytes(to, &plain)?;
            drop(plain);
            let checksum = blake3::hash(&sealed).to_hex().to_string();
            let size = sealed.len() as u64;
            let staged = tier
                .stage(to, Bytes::from(sealed), self.config.multipart_threshold)
                .await?;
            return self
                .publish_new(to, &tier, staged, size, checksum, Some(enc))
                .await;
        }
        let staged = match version.file() {
            Some(_) => {
                let data = version.read(None).await?;
                tier.stage(to, data, self.config.multipart_threshold)
                    .await?
            }
            None => {
                // A server-side copy of what the index records: the version tag is checked
                // first (the copy itself cannot be pinned to it).
                if let Some(etag) = &record.etag {
                    let now = tier.head(from).await.map(|(_, tag)| tag);
                    if !matches!(&now, Ok(Some(tag)) if tag == etag) {
                        let cause = Error::not_found("the object's version tag changed");
                        return Err(self.changed_outside(&version, cause).await);
                    }
                }
                tier.stage_copy(from, to, record.size, self.config.multipart_threshold)
                    .await
                    .map_err(|e| e.with("to", to))?
            }
        };
        self.publish_new(to, &tier, staged, record.size, record.checksum, None)
            .await
    }

    /// Deletes a copy the index no longer points at, then forgets the orphan entry. The caller
    /// holds the key's writer lock, so no put of the same key can land in between.
    pub(super) async fn remove_orphan_locked(&self, tier_name: &str, key: &str) -> Result<()> {
        if !self.index.orphan_deletable(tier_name, key)? {
            return self.index.clear_orphan(tier_name, key);
        }
        let tier = self.tier(tier_name)?;
        tier.delete(key).await?;
        self.index.clear_orphan(tier_name, key)
    }
}

/// BLAKE3 of the stored bytes of `key` in `tier`, hex.
pub(super) async fn hash_stored(tier: &Tier, key: &str, size_hint: u64) -> Result<String> {
    struct Hashing(blake3::Hasher);
    impl std::io::Write for Hashing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut out = Hashing(blake3::Hasher::new());
    if let Some(file) = tier.open_file(key) {
        let mut file = file?;
        std::io::copy(&mut file, &mut out)
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot read object: {e}")))?;
    } else {
        tier.read_to(key, &mut out, size_hint, None).await?;
    }
    Ok(out.0.finalize().to_hex().to_string())
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
