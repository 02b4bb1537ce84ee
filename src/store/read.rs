//! Reading objects: one stored version at a time.
//!
//! A read looks the key up and opens its bytes under the key's view lock (see `guard`), so
//! the record and the bytes belong together: a local file is opened then and read through that
//! descriptor (a later overwrite renames a new file over the name; the open one stays as it
//! was); a remote object is read while the view lock is held, so a put of the same key waits
//! for the read, and only in the version the record names (its version tag: a change made
//! outside strata, or by a scan's later ranged reads racing a put, is refused, not mixed in).
//! A read racing an overwrite sees the old object or the new one, never a mix.

use std::fs::File;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use super::index::ObjectRecord;
use super::tier::{read_file, Tier};
use super::Store;
use crate::error::{Error, ErrorKind, Result};

/// Times a read starts over when the object was replaced under it.
const RETRIES: usize = 8;

/// One stored version of an object, open for reading.
#[derive(Clone)]
pub(crate) struct StoredVersion {
    pub tier: Arc<Tier>,
    pub key: String,
    pub record: ObjectRecord,
    /// The local file, opened while the record was current.
    file: Option<Arc<File>>,
}

impl StoredVersion {
    /// Reads `range` (or all) of the stored bytes.
    pub async fn read(&self, range: Option<Range<u64>>) -> Result<Bytes> {
        let size = self.record.size;
        match &self.file {
            Some(file) => {
                if let Some((per_call, per_byte)) = self.tier.simulated {
                    let len = range.as_ref().map_or(size, |r| r.end - r.start);
                    tokio::time::sleep(
                        per_call + per_byte * u32::try_from(len).unwrap_or(u32::MAX),
                    )
                    .await;
                }
                let bytes = read_file(file, range, size)
                    .map_err(|e| e.with("key", &self.key).with("tier", &self.tier.name))?;
                self.tier.requests.read(bytes.len() as u64);
                Ok(bytes)
            }
            None => {
                self.tier
                    .read(&self.key, range, size, self.record.etag.as_deref())
                    .await
            }
        }
    }

    /// Streams all of the stored bytes into `out`.
    pub async fn read_to(&self, out: &mut dyn std::io::Write) -> Result<u64> {
        match &self.file {
            Some(file) => {
                super::tier::check_size(file, self.record.size)
                    .map_err(|e| e.with("key", &self.key).with("tier", &self.tier.name))?;
                let mut reader: &File = file;
                let n = std::io::copy(&mut reader, out).map_err(|e| {
                    Error::new(ErrorKind::Io, format!("writing output failed: {e}"))
                })?;
                self.tier.requests.read(n);
                Ok(n)
            }
            None => {
                self.tier
                    .read_to(
                        &self.key,
                        out,
                        self.record.size,
                        self.record.etag.as_deref(),
                    )
                    .await
            }
        }
    }

    /// The local file, for callers that map it themselves.
    pub fn file(&self) -> Option<&Arc<File>> {
        self.file.as_ref()
    }
}

impl Store {
    /// Looks `key` up and opens its current version.
    pub(super) async fn open_version(&self, key: &str) -> Result<StoredVersion> {
        let _view = self.locks.viewing(key).await;
        self.open_version_locked(key)
    }

    /// [`Store::open_version`] from a caller outside the runtime.
    pub(crate) fn open_version_blocking(&self, key: &str) -> Result<StoredVersion> {
        self.runtime.block_on(self.open_version(key))?
    }

    /// [`Store::open_version`] for a caller holding the key's view lock.
    fn open_version_locked(&self, key: &str) -> Result<StoredVersion> {
        let (tier, record) = self.locate(key)?;
        let tier = self.tier_arc(&tier.name)?.clone();
        let file =
            match tier.open_file(key) {
                None => None,
                Some(Ok(file)) => Some(Arc::new(file)),
                Some(Err(e)) if e.kind() == ErrorKind::NotFound => return Err(Error::corrupt(
                    "the object's file is missing from its tier; it was removed outside strata \
                     (run `strata tier reindex` to rebuild the index from the tiers)",
                )
                .with("key", key)
                .with("tier", &tier.name)),
                Some(Err(e)) => return Err(e.with("tier", &tier.name)),
            };
        Ok(StoredVersion {
            tier,
            key: key.to_string(),
            record,
            file,
        })
    }

    /// Runs `read` on the current version of `key` (from a caller outside the runtime),
    /// starting over, a bounded number of times, when the object was replaced between the
    /// lookup and the read.
    pub(super) fn with_version<T>(
        &self,
        key: &str,
        mut read: impl FnMut(&StoredVersion) -> Result<T>,
    ) -> Result<T> {
        let mut attempt = 0;
        loop {
            // A local version is an open file, which later writes do not touch; a remote one
            // is read under the view lock, so a put of the same key waits for the read instead
            // of replacing the object under it.
            let (version, view) = self.runtime.block_on(async {
                let view = self.locks.viewing(key).await;
                self.open_version_locked(key).map(|v| (v, view))
            })??;
            let view = version.file.is_none().then_some(view);
            let result = read(&version);
            drop(view);
            match result {
                Err(e) if e.kind() == ErrorKind::NotFound && attempt < RETRIES => {
                    attempt += 1;
                    // Replaced meanwhile: read the new version.
                    match self.index.get(key)? {
                        Some(now) if now.checksum != version.record.checksum => continue,
                        None => return Err(super::missing(key)),
                        Some(_) => {}
                    }
                    // A put whose outcome was unknown may have landed since: settle it now.
                    if let Some(intent) = self.index.pending_put(key)? {
                        let settled = self.runtime.block_on(async {
                            let _guard = self.locks.key(key).await;
                            let _view = self.locks.publishing(key).await;
                            self.resolve_put(key, &intent).await
                        })?;
                        if settled.is_ok() {
                            continue;
                        }
                    }
                    return Err(self.runtime.block_on(self.changed_outside(&version, e))?);
                }
                other => return other,
            }
        }
    }

    /// The error for a version the tier no longer holds although the index still records it:
    /// the object was changed or removed outside strata. A sealed object that was swapped or
    /// restored is a crypto error (and a reindex would not help: it would take the swapped-in
    /// envelope for the object).
    pub(super) async fn changed_outside(&self, version: &StoredVersion, cause: Error) -> Error {
        let present = version.tier.head(&version.key).await.is_ok();
        let error = match (present, version.record.enc.is_some()) {
            (true, true) => Error::new(
                ErrorKind::Crypto,
                "encrypted object failed authentication: the tier holds another envelope than \
                 the one the index records (changed outside strata)",
            ),
            (true, false) => Error::corrupt(
                "the tier holds other bytes than the index records (changed outside strata); \
                 `strata tier reindex` records what the tier holds now",
            ),
            (false, _) => Error::corrupt(
                "the tier no longer holds the object (removed outside strata); \
                 `strata tier reindex` forgets it",
            ),
        };
        error
            .with("key", &version.key)
            .with("tier", &version.tier.name)
            .with("cause", cause.message())
    }

    /// Reads `range` (or all) of a version's plaintext, decrypting when it is sealed.
    pub(super) async fn read_plain(
        &self,
        version: &StoredVersion,
        range: Option<Range<u64>>,
    ) -> Result<Bytes> {
        match &version.record.enc {
            None => version.read(range).await,
            Some(_) => self.read_sealed(version, range).await,
        }
    }
}
