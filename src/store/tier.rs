//! One storage tier: a local directory strata owns, or an `object_store` backend (S3, memory).
//!
//! Writes happen in two steps so that the tier index can be committed in between: `stage`
//! puts the bytes somewhere no reader looks (a staging file, the parts of a multipart upload,
//! or memory), `publish` makes them the object at a key in one atomic step (a rename, the
//! completion of the upload, a single PUT).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload,
    RetryConfig as OsRetryConfig,
};

use super::local::{key_of_encoded, Listing, LocalDir, OWN_DIR, TABLES_DIR};
use crate::config::{RetryConfig, S3Config, TierConfig, TierKind};
use crate::error::{Error, ErrorKind, Result};

use super::multipart::Multipart;
pub(crate) use super::multipart::PART_SIZE;
/// Below this size a plain read beats setting up a memory map.
const MMAP_MIN: u64 = 256 * 1024;

/// Where a tier keeps its bytes.
pub(crate) enum Backend {
    /// A local directory, read through memory maps.
    Local(Arc<LocalDir>),
    /// Object storage (S3) or memory.
    Remote(Arc<dyn ObjectStore>),
}

/// A tier of the store.
pub(crate) struct Tier {
    pub name: String,
    pub backend: Backend,
    /// For messages: the directory or the bucket URL.
    pub location: String,
    /// Key prefix inside the backend (s3 `prefix`).
    prefix: Option<ObjectPath>,
    /// Simulated latency of reads (per request, per byte), for benches and demos.
    pub simulated: Option<(std::time::Duration, std::time::Duration)>,
    /// Requests made to the tier, for the cost model (shared by this tier's wrapped copies).
    pub requests: Arc<super::requests::TierRequests>,
}

/// Where a tier keeps the lake's tables.
pub(crate) enum TablesAt {
    /// A directory (`<tier dir>/tables`).
    Dir(PathBuf),
    /// A prefix of an object store (`<s3 prefix>/tables`).
    Objects {
        /// The bucket-rooted store.
        store: Arc<dyn ObjectStore>,
        /// `<prefix>/tables` in the bucket.
        prefix: ObjectPath,
        /// `s3://<bucket>/<prefix>/tables/`.
        url: url::Url,
        /// The tier's name.
        tier: String,
        /// The lake's block cache, when the tier is cached.
        cache: Option<(crate::cache::BlockCache, crate::config::CacheStrategy)>,
    },
}

/// Bytes written to a tier but not yet visible at any key.
pub(crate) enum Staged {
    /// A file in the local tier's staging directory.
    File(String),
    /// Bytes for a single PUT.
    Bytes(Bytes),
    /// A multipart upload whose parts are all sent; completing it makes the object visible.
    Multipart(Multipart),
    /// A server-side copy of another key of the same tier.
    Copy(String),
}

impl Staged {
    /// The staging file's name, for the put journal.
    pub fn file_name(&self) -> Option<&str> {
        match self {
            Staged::File(name) => Some(name),
            _ => None,
        }
    }
}

impl Tier {
    /// Opens a tier. A local directory that holds files and no strata marker is refused
    /// unless `adopt()` (see [`LocalDir::open`]).
    pub fn open(
        config: &TierConfig,
        root: &Path,
        retry: &RetryConfig,
        adopt: &dyn Fn() -> Result<bool>,
    ) -> Result<Tier> {
        let name = config.name.clone();
        match &config.kind {
            TierKind::Memory => Ok(Tier {
                name,
                backend: Backend::Remote(Arc::new(InMemory::new())),
                location: "memory".into(),
                prefix: None,
                simulated: None,
                requests: Arc::default(),
            }),
            TierKind::Local { .. } => {
                let dir = local_dir_of(config, root).unwrap_or_else(|| root.join(&name));
                let local = LocalDir::open(&name, &dir, adopt)?;
                Ok(Tier {
                    name,
                    backend: Backend::Local(Arc::new(local)),
                    location: dir.display().to_string(),
                    prefix: None,
                    simulated: None,
                    requests: Arc::default(),
                })
            }
            TierKind::S3(s3) => open_s3(name, s3, retry),
        }
    }

    /// This tier with every read waiting `per_call` plus `per_byte` for each byte first.
    pub fn throttled(&self, per_call: std::time::Duration, per_byte: std::time::Duration) -> Tier {
        Tier {
            name: self.name.clone(),
            backend: self.backend.clone(),
            location: format!("{} (simulated latency)", self.location),
            prefix: self.prefix.clone(),
            simulated: Some((per_call, per_byte)),
            requests: self.requests.clone(),
        }
    }

    /// This tier with its object store replaced by `wrap(store)` (remote tiers only).
    pub fn wrapped(
        &self,
        wrap: impl FnOnce(Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore>,
    ) -> Result<Tier> {
        let Backend::Remote(store) = &self.backend else {
            return Err(
                Error::invalid("only object-store tiers can be wrapped").with("tier", &self.name)
            );
        };
        Ok(Tier {
            name: self.name.clone(),
            backend: Backend::Remote(wrap(store.clone())),
            location: self.location.clone(),
            prefix: self.prefix.clone(),
            simulated: self.simulated,
            requests: self.requests.clone(),
        })
    }

    pub fn local(&self) -> Option<&LocalDir> {
        match &self.backend {
            Backend::Local(dir) => Some(dir),
            Backend::Remote(_) => None,
        }
    }

    /// The backend path of a key (remote tiers).
    pub fn path(&self, key: &str) -> ObjectPath {
        let key = ObjectPath::from(key);
        match &self.prefix {
            Some(prefix) => prefix.parts().chain(key.parts()).collect(),
            None => key,
        }
    }

    /// The key of a backend path, or None if it lies outside this tier's prefix or is not a
    /// name strata writes.
    fn key_of(&self, path: &ObjectPath) -> Option<String> {
        let parts: Vec<String> = match &self.prefix {
            Some(prefix) => path
                .prefix_match(prefix)?
                .map(|p| p.as_ref().to_string())
                .collect(),
            None => path.parts().map(|p| p.as_ref().to_string()).collect(),
        };
        if parts
            .first()
            .is_some_and(|p| p == OWN_DIR || p == TABLES_DIR)
        {
            return None;
        }
        key_of_encoded(&parts.join("/"))
    }

    /// Whether `path` is strata's own (`.strata/`) or a table's (`tables/`) rather than an
    /// object's: listings pass over these without reporting them.
    fn is_own(&self, path: &ObjectPath) -> bool {
        let mut parts: Box<dyn Iterator<Item = _>> = match &self.prefix {
            Some(prefix) => match path.prefix_match(prefix) {
                Some(rest) => Box::new(rest),
                None => return false,
            },
            None => Box::new(path.parts()),
        };
        parts
            .next()
            .is_some_and(|p| p.as_ref() == OWN_DIR || p.as_ref() == TABLES_DIR)
            || path.parts().any(|p| p.as_ref() == OWN_DIR)
    }

    /// Where this tier keeps the lake's tables: `tables/` in its directory, or under its
    /// prefix of an S3 bucket (with `cache`, the lake's block cache when the tier is cached).
    pub fn tables_at(
        &self,
        cache: Option<(crate::cache::BlockCache, crate::config::CacheStrategy)>,
    ) -> Option<TablesAt> {
        match &self.backend {
            Backend::Local(dir) => Some(TablesAt::Dir(dir.root().join(TABLES_DIR))),
            Backend::Remote(store) => {
                let bucket = self.location.strip_prefix("s3://")?.split('/').next()?;
                let prefix = self.path(TABLES_DIR);
                let url = url::Url::parse(&format!("s3://{bucket}/{prefix}/")).ok()?;
                Some(TablesAt::Objects {
                    store: store.clone(),
                    prefix,
                    url,
                    tier: self.name.clone(),
                    cache,
                })
            }
        }
    }

    /// The directory of a local tier.
    pub fn local_dir(&self) -> Option<PathBuf> {
        self.local().map(|dir| dir.root().to_path_buf())
    }

    /// The file behind a key on a local tier.
    pub fn local_file(&self, key: &str) -> Option<PathBuf> {
        self.local().map(|dir| dir.file_of(key))
    }

    /// Opens a local tier's file for `key` (never through a link); None on remote tiers.
    pub fn open_file(&self, key: &str) -> Option<Result<File>> {
        let dir = self.local()?;
        Some(
            dir.open_file(key).map_err(|e| {
                Error::io("cannot open object", &dir.file_of(key), e).with("key", key)
            }),
        )
    }

    async fn simulate(&self, len: u64) {
        if let Some((per_call, per_byte)) = self.simulated {
            tokio::time::sleep(per_call + per_byte * u32::try_from(len).unwrap_or(u32::MAX)).await;
        }
    }

    /// Reads `range` (or all) of the stored bytes of `key`, which the index says are `size`
    /// bytes long. On a remote tier with `etag`, a different version of the object is refused
    /// (a [`ErrorKind::NotFound`] error: the version read is gone).
    pub async fn read(
        &self,
        key: &str,
        range: Option<Range<u64>>,
        size: u64,
        etag: Option<&str>,
    ) -> Result<Bytes> {
        self.simulate(range.as_ref().map_or(size, |r| r.end - r.start))
            .await;
        if let Some(file) = self.open_file(key) {
            let bytes = read_file(&file?, range, size)
                .map_err(|e| e.with("key", key).with("tier", &self.name))?;
            self.requests.read(bytes.len() as u64);
            return Ok(bytes);
        }
        let Backend::Remote(store) = &self.backend else {
            return Err(Error::internal("local tier without a file"));
        };
        let range = match range {
            Some(r) if r.start == r.end => return Ok(Bytes::new()),
            other => other,
        };
        let want = range.as_ref().map_or(size, |r| r.end - r.start);
        let options = GetOptions {
            if_match: etag.map(str::to_string),
            range: range.map(GetRange::from),
            ..GetOptions::default()
        };
        let result = store
            .get_opts(&self.path(key), options)
            .await
            .map_err(|e| self.replaced(e, key))?;
        let bytes = result.bytes().await.map_err(|e| self.replaced(e, key))?;
        self.check_length(bytes.len() as u64, want, key)?;
        self.requests.read(want);
        Ok(bytes)
    }

    /// A body of another length than asked for (a connection cut short) is an error, never a
    /// shorter object.
    fn check_length(&self, got: u64, want: u64, key: &str) -> Result<()> {
        if got != want {
            return Err(Error::new(
                ErrorKind::Remote,
                format!("the tier returned {got} bytes where {want} were expected; the read was cut short"),
            )
            .with("key", key)
            .with("tier", &self.name));
        }
        Ok(())
    }

    /// A read error; a failed version precondition becomes [`ErrorKind::NotFound`]: the version
    /// the index names is gone, and the caller looks the key up again.
    fn replaced(&self, err: object_store::Error, key: &str) -> Error {
        match err {
            object_store::Error::Precondition { .. } => {
                Error::not_found("the object was replaced during the read")
                    .with("key", key)
                    .with("tier", &self.name)
            }
            other => self.error(other, key),
        }
    }

    /// Streams the stored bytes of `key` into `out`; returns how many. With `etag`, another
    /// version is refused before any byte is written (see [`Tier::read`]).
    pub async fn read_to(
        &self,
        key: &str,
        out: &mut dyn Write,
        size: u64,
        etag: Option<&str>,
    ) -> Result<u64> {
        let write_err =
            |e: std::io::Error| Error::new(ErrorKind::Io, format!("writing output failed: {e}"));
        if let Some(file) = self.open_file(key) {
            let mut file = file?;
            check_size(&file, size).map_err(|e| e.with("key", key).with("tier", &self.name))?;
            let n = std::io::copy(&mut file, out).map_err(write_err)?;
            self.requests.read(n);
            return Ok(n);
        }
        let Backend::Remote(store) = &self.backend else {
            return Err(Error::internal("local tier without a file"));
        };
        let options = GetOptions {
            if_match: etag.map(str::to_string),
            ..GetOptions::default()
        };
        let mut stream = store
            .get_opts(&self.path(key), options)
            .await
            .map_err(|e| self.replaced(e, key))?
            .into_stream();
        let mut n = 0u64;
        while let Some(chunk) = stream.try_next().await.map_err(|e| self.error(e, key))? {
            n += chunk.len() as u64;
            if n > size {
                break;
            }
            out.write_all(&chunk).map_err(write_err)?;
        }
        self.check_length(n, size, key)?;
        self.requests.read(n);
        Ok(n)
    }

    /// Stages bytes already in memory for `key`; large ones go up as multipart parts right
    /// away (under the key: S3 has no rename, and parts stay invisible until completed).
    pub async fn stage(&self, key: &str, data: Bytes, multipart_threshold: u64) -> Result<Staged> {
        match &self.backend {
            Backend::Local(dir) => {
                let (mut file, name) = dir.create_staging()?;
                let written = file.write_all(&data).and_then(|_| file.sync_data());
                if let Err(e) = written {
                    let _ = dir.remove_staging(&name);
                    return Err(Error::io("cannot write a staging file", dir.root(), e)
                        .with("tier", &self.name));
                }
                Ok(Staged::File(name))
            }
            Backend::Remote(_) if (data.len() as u64) < multipart_threshold => {
                Ok(Staged::Bytes(data))
            }
            Backend::Remote(_) => {
                let mut writer = self.start_multipart(key).await?;
                let sent = async {
                    writer.write(&data).await?;
                    writer.flush().await
                }
                .await;
                if let Err(e) = sent {
                    writer.abort().await;
                    return Err(e.with("key", key).with("tier", &self.name));
                }
                Ok(Staged::Multipart(writer))
            }
        }
    }

    /// Starts a streamed write: see [`StagingWriter`].
    pub async fn staging_writer(&self, key: &str) -> Result<StagingWriter> {
        match &self.backend {
            Backend::Local(dir) => {
                let (file, name) = dir.create_staging()?;
                Ok(StagingWriter::File(file, name))
            }
            Backend::Remote(_) => Ok(StagingWriter::Multipart(self.start_multipart(key).await?)),
        }
    }

    async fn start_multipart(&self, key: &str) -> Result<Multipart> {
        // The upload is made under the key it publishes to: S3 has no rename. Its parts are
        // invisible until the upload completes, so staging under the final key is safe.
        let Backend::Remote(store) = &self.backend else {
            return Err(Error::internal("multipart upload on a local tier"));
        };
        let upload = store
            .put_multipart(&self.path(key))
            .await
            .map_err(|e| self.error(e, key))?;
        Ok(Multipart::new(upload))
    }

    /// Makes staged bytes the object at `key`, atomically. Returns the remote version tag.
    pub async fn publish(&self, staged: Staged, key: &str) -> Result<Option<String>> {
        // One write request (a multipart upload's parts are not counted apart).
        self.requests.write(1);
        match (&self.backend, staged) {
            (Backend::Local(dir), Staged::File(name)) => {
                let dir = dir.clone();
                let key_owned = key.to_string();
                let path = dir.file_of(key);
                tokio::task::spawn_blocking(move || dir.publish(&name, &key_owned))
                    .await
                    .map_err(|e| Error::internal(format!("publish task failed: {e}")))?
                    .map_err(|e| {
                        Error::io("cannot put the object in place", &path, e)
                            .with("key", key)
                            .with("tier", &self.name)
                    })?;
                Ok(None)
            }
            (Backend::Remote(store), Staged::Bytes(data)) => {
                let result = store
                    .put(&self.path(key), PutPayload::from_bytes(data))
                    .await
                    .map_err(|e| self.error(e, key))?;
                Ok(result.e_tag)
            }
            (Backend::Remote(_), Staged::Multipart(writer)) => {
                let result = writer
                    .complete()
                    .await
                    .map_err(|e| e.with("key", key).with("tier", &self.name))?;
                Ok(result.e_tag)
            }
            (Backend::Remote(store), Staged::Copy(from)) => {
                store
                    .copy(&self.path(&from), &self.path(key))
                    .await
                    .map_err(|e| self.error(e, &from).with("to", key))?;
                Ok(store.head(&self.path(key)).await.ok().and_then(|m| m.e_tag))
            }
            _ => Err(Error::internal("staged bytes do not fit this tier").with("tier", &self.name)),
        }
    }

    /// Throws staged bytes away.
    pub async fn discard(&self, staged: Staged) {
        match (&self.backend, staged) {
            (Backend::Local(dir), Staged::File(name)) => {
                let _ = dir.remove_staging(&name);
            }
            (_, Staged::Multipart(writer)) => writer.abort().await,
            _ => {}
        }
    }

    /// Stages a copy of `from` in this tier, for publishing at another key.
    pub async fn stage_copy(
        &self,
        from: &str,
        to: &str,
        size: u64,
        multipart_threshold: u64,
    ) -> Result<Staged> {
        match &self.backend {
            Backend::Remote(_) => Ok(Staged::Copy(from.to_string())),
            Backend::Local(_) => {
                let data = self.read(from, None, size, None).await?;
                self.stage(to, data, multipart_threshold).await
            }
        }
    }

    /// Writes a whole object at `key` at once (a copy made by a move: the index does not point
    /// at it until the move commits).
    pub async fn write(
        &self,
        key: &str,
        data: Bytes,
        multipart_threshold: u64,
    ) -> Result<Option<String>> {
        let staged = self.stage(key, data, multipart_threshold).await?;
        self.publish(staged, key).await
    }

    /// Deletes the stored bytes of `key`; gone already is fine.
    pub async fn delete(&self, key: &str) -> Result<()> {
        match &self.backend {
            Backend::Local(dir) => dir.remove(key).map(|_| ()).map_err(|e| {
                Error::io("cannot delete object", &dir.file_of(key), e)
                    .with("key", key)
                    .with("tier", &self.name)
            }),
            Backend::Remote(store) => match store.delete(&self.path(key)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(self.error(e, key)),
            },
        }
    }

    /// Every object in the tier, and what was skipped (links, special files, foreign names).
    pub async fn list(&self) -> Result<Listing> {
        match &self.backend {
            Backend::Local(dir) => {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || dir.list())
                    .await
                    .map_err(|e| Error::internal(format!("listing task failed: {e}")))?
                    .map_err(|e| e.with("tier", &self.name))
            }
            Backend::Remote(store) => {
                let metas: Vec<_> = store
                    .list(self.prefix.as_ref())
                    .try_collect()
                    .await
                    .map_err(|e| Error::from(e).with("tier", &self.name))?;
                // LIST returns up to 1,000 keys a request.
                self.requests.write(1 + metas.len() as u64 / 1000);
                let mut listing = Listing::default();
                for meta in metas {
                    match self.key_of(&meta.location) {
                        Some(key) => {
                            listing
                                .objects
                                .push((key, meta.size, meta.last_modified.into()))
                        }
                        None if self.is_own(&meta.location) => {}
                        None => listing.skipped.push(meta.location.to_string()),
                    }
                }
                Ok(listing)
            }
        }
    }

    /// The size and remote version tag of the stored bytes of `key`.
    pub async fn head(&self, key: &str) -> Result<(u64, Option<String>)> {
        match &self.backend {
            Backend::Local(dir) => {
                let file = self
                    .open_file(key)
                    .ok_or_else(|| Error::internal("local tier without a file"))??;
                let len = file
                    .metadata()
                    .map_err(|e| Error::io("cannot stat object", &dir.file_of(key), e))?
                    .len();
                Ok((len, None))
            }
            Backend::Remote(store) => {
                // A HEAD is billed as a read request.
                self.requests.read(0);
                match store.head(&self.path(key)).await {
                    Ok(meta) => Ok((meta.size, meta.e_tag)),
                    Err(e) => Err(self.error(e, key)),
                }
            }
        }
    }

    /// The remote version tag of `key`, if the backend has one.
    pub async fn etag(&self, key: &str) -> Result<Option<String>> {
        match &self.backend {
            Backend::Local(_) => Ok(None),
            Backend::Remote(store) => {
                // A HEAD is billed as a read request.
                self.requests.read(0);
                match store.head(&self.path(key)).await {
                    Ok(meta) => Ok(meta.e_tag),
                    Err(e) => Err(self.error(e, key)),
                }
            }
        }
    }

    /// An object-store error with the key and tier it concerns.
    pub fn error(&self, err: object_store::Error, key: &str) -> Error {
        Error::from(err).with("key", key).with("tier", &self.name)
    }
}

impl Clone for Backend {
    fn clone(&self) -> Self {
        match self {
            Backend::Local(dir) => Backend::Local(dir.clone()),
            Backend::Remote(store) => Backend::Remote(store.clone()),
        }
    }
}

/// A streamed write in progress: a local staging file, or a remote multipart upload.
pub(crate) enum StagingWriter {
    File(File, String),
    Multipart(Multipart),
}

impl StagingWriter {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        match self {
            StagingWriter::File(file, _) => file.write_all(chunk).map_err(|e| {
                Error::new(ErrorKind::Io, format!("cannot write a staging file: {e}"))
            }),
            StagingWriter::Multipart(writer) => writer.write(chunk).await,
        }
    }

    /// Everything written: the bytes as staged.
    pub async fn finish(self) -> Result<Staged> {
        match self {
            StagingWriter::File(file, name) => {
                file.sync_data().map_err(|e| {
                    Error::new(ErrorKind::Io, format!("cannot sync a staging file: {e}"))
                })?;
                Ok(Staged::File(name))
            }
            StagingWriter::Multipart(mut writer) => match writer.flush().await {
                Ok(()) => Ok(Staged::Multipart(writer)),
                Err(e) => {
                    writer.abort().await;
                    Err(e)
                }
            },
        }
    }

    pub fn into_staged(self) -> Staged {
        match self {
            StagingWriter::File(_, name) => Staged::File(name),
            StagingWriter::Multipart(writer) => Staged::Multipart(writer),
        }
    }
}

/// The directory a local tier config names, relative paths taken from the data root.
pub(crate) fn local_dir_of(config: &TierConfig, root: &Path) -> Option<PathBuf> {
    match &config.kind {
        TierKind::Local { path: Some(p) } if p.is_absolute() => Some(p.clone()),
        TierKind::Local { path: Some(p) } => Some(root.join(p)),
        TierKind::Local { path: None } => Some(root.join(&config.name)),
        _ => None,
    }
}

pub(crate) fn check_size(file: &File, size: u64) -> Result<u64> {
    let len = file
        .metadata()
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot stat object: {e}")))?
        .len();
    if len != size {
        return Err(Error::corrupt(format!(
            "object file is {len} bytes but the index says {size}; it was changed outside strata"
        )));
    }
    Ok(len)
}

/// Reads `range` (or all) of an open object file: small reads copied, large ones mapped.
pub(crate) fn read_file(file: &File, range: Option<Range<u64>>, size: u64) -> Result<Bytes> {
    let len = check_size(file, size)?;
    let range = range.unwrap_or(0..len);
    let want = range.end - range.start;
    if want == 0 {
        return Ok(Bytes::new());
    }
    if want < MMAP_MIN {
        let mut buf = vec![0u8; want as usize];
        let mut reader = file;
        reader
            .seek(SeekFrom::Start(range.start))
            .and_then(|_| reader.read_exact(&mut buf))
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot read object: {e}")))?;
        return Ok(Bytes::from(buf));
    }
    // SAFETY: objects in strata's tiers are immutable: every write goes to a staging file that
    // is renamed over the key, so a mapped file is never modified in place by strata. Only an
    // outside process truncating the file could invalidate the map (SIGBUS on access); see the
    // crate docs for this documented risk.
    let map = unsafe { memmap2::Mmap::map(file) }
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot map object: {e}")))?;
    let bytes = Bytes::from_owner(map);
    Ok(bytes.slice(range.start as usize..range.end as usize))
}

fn open_s3(name: String, s3: &S3Config, retry: &RetryConfig) -> Result<Tier> {
    let store = s3_store(s3, retry)
        .map_err(|e| Error::config(format!("cannot set up s3 tier: {e}")).with("tier", &name))?;
    let location = format!(
        "s3://{}/{}",
        s3.bucket,
        s3.prefix.as_deref().unwrap_or_default()
    );
    let prefix =
        match s3.prefix.as_deref().map(|p| p.trim_matches('/')) {
            Some(p) if !p.is_empty() => Some(ObjectPath::parse(p).map_err(|e| {
                Error::config(format!("bad s3 prefix {p:?}: {e}")).with("tier", &name)
            })?),
            _ => None,
        };
    Ok(Tier {
        name,
        backend: Backend::Remote(Arc::new(store)),
        location,
        prefix,
        simulated: None,
        requests: Arc::default(),
    })
}

/// Bucket `bucket` reached with `settings` (an S3 tier's endpoint, region and credentials),
/// or with the environment's `AWS_*` settings when there are none: for tables outside the
/// lake (`s3://bucket/prefix`).
pub(crate) fn open_bucket(
    bucket: &str,
    settings: Option<&S3Config>,
    retry: &RetryConfig,
) -> Result<Arc<dyn ObjectStore>> {
    let failed = |e: object_store::Error| {
        Error::config(format!("cannot reach s3 bucket {bucket:?}: {e}")).with("bucket", bucket)
    };
    let store = match settings {
        Some(s3) => {
            let s3 = S3Config {
                bucket: bucket.to_string(),
                prefix: None,
                ..s3.clone()
            };
            s3_store(&s3, retry).map_err(failed)?
        }
        None => object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(failed)?,
    };
    Ok(Arc::new(store))
}

/// The bucket-rooted S3 client of `s3`'s settings (the environment fills what they leave out).
fn s3_store(
    s3: &S3Config,
    retry: &RetryConfig,
) -> std::result::Result<object_store::aws::AmazonS3, object_store::Error> {
    use object_store::aws::AmazonS3Builder;
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(&s3.bucket)
        .with_region(s3.region.as_deref().unwrap_or("us-east-1"))
        .with_allow_http(s3.allow_http)
        .with_virtual_hosted_style_request(s3.virtual_hosted_style)
        .with_retry(OsRetryConfig {
            max_retries: retry.max_retries,
            retry_timeout: retry.retry_timeout,
            backoff: object_store::BackoffConfig {
                init_backoff: retry.initial_backoff,
                max_backoff: retry.max_backoff,
                base: 2.0,
            },
        })
        .with_client_options(
            ClientOptions::new()
                .with_timeout(retry.request_timeout)
                .with_connect_timeout(retry.connect_timeout)
                .with_allow_http(s3.allow_http),
        );
    if let Some(endpoint) = &s3.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(id) = &s3.access_key_id {
        builder = builder.with_access_key_id(id);
    }
    if let Some(secret) = &s3.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    builder.build()
}

/// Longest key accepted, in bytes (S3's limit).
pub const MAX_KEY_LEN: usize = 1024;

/// Checks that a key is portable across every tier kind: S3, local directories and memory.
pub fn validate_key(key: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid(format!("bad key {key:?}: {why}")));
    if key.is_empty() {
        return bad("empty");
    }
    if key.len() > MAX_KEY_LEN {
        return bad("longer than 1024 bytes");
    }
    if key.starts_with('/') || key.ends_with('/') {
        return bad("must not start or end with '/'");
    }
    for segment in key.split('/') {
        if segment.is_empty() {
            return bad("empty path segment ('//')");
        }
        if segment == "." || segment == ".." {
            return bad("'.' and '..' segments are not allowed");
        }
    }
    if key.split('/').next() == Some(OWN_DIR) {
        return bad("'.strata' is strata's own directory in a tier");
    }
    if key.split('/').next() == Some(TABLES_DIR) {
        return bad("'tables/' holds the lake's tables (Lake::table); objects live elsewhere");
    }
    if key.chars().any(|c| c.is_control() || c == '#' || c == '\\') {
        return bad("control characters, '#' and '\\' are not allowed");
    }
    if ObjectPath::parse(key).is_err() {
        return bad("not a valid object path");
    }
    // A file name must fit the file system: 255 bytes a segment once encoded.
    if super::local::encoded_parts(key)
        .iter()
        .any(|p| p.len() > 255)
    {
        return bad("a path segment is longer than 255 bytes once encoded");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        for good in [
            "a",
            "a/b/c.parquet",
            "x=1/y=2/part-0",
            "ünïcode/ok",
            "weird/*?[]{}<>\"|^~%`",
        ] {
            validate_key(good).unwrap();
        }
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "../a",
            "a/./b",
            "a#1",
            "a\nb",
            "a\\b",
            ".strata/tier.json",
            ".strata",
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_key(&"k".repeat(1025)).is_err());
        assert!(
            validate_key(&"%".repeat(100)).is_err(),
            "encodes to 300 bytes"
        );
    }
}
