//! Where the catalog keeps its records: beside the lake's tables (`<tables>/_catalog/`, in a
//! directory or on S3), so it travels with the data.
//!
//! Layout, format 1:
//! - `log/<seq, 20 digits>.json`: one record each, written once with put-if-absent (a writer
//!   that loses the race for a number takes the next one), so two processes never overwrite
//!   each other's changes;
//! - `snapshot/<seq>.json`: the state after record `seq`, written every [`SNAPSHOT_EVERY`]
//!   records; records older than the previous snapshot are then deleted.
//!
//! Each file is a header line `{"format":1,"sha256":"<hex of the body>"}` and the JSON body.
//! A file whose body does not match its checksum, or that does not parse, is damage: loading
//! stops with a `Corrupt` error naming the file, and `rebuild` recovers.

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::record::{Record, State};
use crate::error::{Error, ErrorKind, Result};

/// The catalog's on-disk format version.
pub const FORMAT: u32 = 1;

/// Records between snapshots.
pub const SNAPSHOT_EVERY: u64 = 64;

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    sha256: String,
}

/// What a load found wrong: files whose checksum or JSON is bad, and records missing from
/// the middle of the log.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Damage {
    /// Paths of damaged files, relative to the catalog.
    pub files: Vec<String>,
    /// Record numbers missing between two that are there.
    pub missing: Vec<u64>,
}

impl Damage {
    /// Whether nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.missing.is_empty()
    }
}

/// The catalog's files under a prefix of an object store.
pub(crate) struct CatalogLog {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    handle: tokio::runtime::Handle,
    /// The catalog's directory when `store` is the local file system there: the freshness
    /// check every call makes then asks the file system directly, without a trip through the
    /// I/O runtime.
    local: Option<std::path::PathBuf>,
    /// What keeps the I/O runtime behind `handle` running while the catalog is in use (the
    /// lake's store), whatever happens to the lake handle it came from.
    _keep: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

/// A file's bytes: the header line and `body`.
fn frame(body: &[u8]) -> Vec<u8> {
    let header = Header {
        format: FORMAT,
        sha256: hex(&Sha256::digest(body)),
    };
    let mut out = serde_json::to_vec(&header).unwrap_or_default();
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

/// The body of a framed file, checked; `None` when it is damaged.
fn unframe<T: DeserializeOwned>(bytes: &[u8]) -> std::result::Result<T, String> {
    let at = bytes
        .iter()
        .position(|b| *b == b'\n')
        .ok_or("no header line")?;
    let header: Header =
        serde_json::from_slice(&bytes[..at]).map_err(|e| format!("bad header: {e}"))?;
    if header.format > FORMAT {
        return Err(format!(
            "format {} is newer than this strata reads ({FORMAT})",
            header.format
        ));
    }
    let body = &bytes[at + 1..];
    if hex(&Sha256::digest(body)) != header.sha256 {
        return Err("checksum mismatch".into());
    }
    serde_json::from_slice(body).map_err(|e| format!("bad body: {e}"))
}

/// What a catalog file holds, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogFile {
    /// One record of the log.
    Record,
    /// A snapshot of the whole catalog.
    Snapshot,
}

/// Checks the bytes of a catalog file (a record of `log/` or a snapshot of `snapshot/`): its
/// header, format version, checksum and JSON. Damage is a `Corrupt` error saying what is
/// wrong; nothing panics on any input.
pub fn check_file(bytes: &[u8]) -> Result<CatalogFile> {
    let record = unframe::<Record>(bytes);
    if record.is_ok() {
        return Ok(CatalogFile::Record);
    }
    match unframe::<State>(bytes) {
        Ok(_) => Ok(CatalogFile::Snapshot),
        Err(why) => Err(Error::new(
            ErrorKind::Corrupt,
            format!("not a catalog file ({why})"),
        )),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn seq_of(path: &ObjectPath) -> Option<u64> {
    path.filename()?.strip_suffix(".json")?.parse().ok()
}

/// What was written since a handle last looked.
pub(crate) enum News {
    /// Nothing.
    None,
    /// Records after the last one it read.
    Records,
    /// A snapshot past it: records it has not read may be gone, so it loads afresh.
    Reload,
}

/// A loaded catalog: its state, the last record number in it, and what was wrong.
pub(crate) struct Loaded {
    pub(crate) state: State,
    pub(crate) seq: u64,
    pub(crate) damage: Damage,
}

impl CatalogLog {
    pub(crate) fn new(
        store: Arc<dyn ObjectStore>,
        prefix: ObjectPath,
        handle: tokio::runtime::Handle,
    ) -> CatalogLog {
        CatalogLog {
            store,
            prefix,
            handle,
            local: None,
            _keep: None,
        }
    }

    /// Keeps `owner` (what runs the I/O runtime) alive as long as this log.
    pub(crate) fn keeping(mut self, owner: Arc<dyn std::any::Any + Send + Sync>) -> CatalogLog {
        self._keep = Some(owner);
        self
    }

    /// Says that the catalog's files are in the directory `dir` (the store is a local file
    /// system rooted so that the prefix is `dir`).
    pub(crate) fn in_dir(mut self, dir: std::path::PathBuf) -> CatalogLog {
        self.local = Some(dir);
        self
    }

    fn path(&self, dir: &str, seq: u64) -> ObjectPath {
        self.prefix
            .clone()
            .join(dir)
            .join(format!("{seq:020}.json").as_str())
    }

    fn block_on<F: std::future::Future>(&self, fut: F) -> Result<F::Output> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::invalid(
                "strata's synchronous API was called from inside an async runtime",
            ));
        }
        Ok(self.handle.block_on(fut))
    }

    fn io(&self, what: &str, e: object_store::Error) -> Error {
        Error::new(ErrorKind::Io, format!("catalog: cannot {what}: {e}")).with("at", &self.prefix)
    }

    /// The record numbers of the log (sorted), from `after` + 1 on.
    async fn list(&self, dir: &str, after: u64) -> Result<Vec<u64>> {
        let at = self.prefix.clone().join(dir);
        let mut seqs: Vec<u64> = self
            .store
            .list(Some(&at))
            .map_ok(|m| seq_of(&m.location))
            .try_collect::<Vec<_>>()
            .await
            .map_err(|e| self.io("list its files", e))?
            .into_iter()
            .flatten()
            .filter(|s| *s > after)
            .collect();
        seqs.sort_unstable();
        Ok(seqs)
    }

    async fn read(&self, path: &ObjectPath) -> Result<Option<Bytes>> {
        match self.store.get(path).await {
            Ok(r) => Ok(Some(
                r.bytes().await.map_err(|e| self.io("read a file", e))?,
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.io("read a file", e)),
        }
    }

    /// Loads the catalog: the newest good snapshot, then every record after it. With
    /// `tolerant`, damaged files are skipped and reported in `damage`; otherwise the first one
    /// is a `Corrupt` error.
    pub(crate) fn load(&self, tolerant: bool) -> Result<Loaded> {
        self.block_on(async {
            // Another process may snapshot and delete records while this one lists them: a
            // record gone between listing and reading means starting over.
            for _ in 0..5 {
                if let Some(loaded) = self.try_load(tolerant).await? {
                    return Ok(loaded);
                }
            }
            Err(Error::new(
                ErrorKind::Busy,
                "catalog: its records kept changing while being read",
            ))
        })?
    }

    async fn try_load(&self, tolerant: bool) -> Result<Option<Loaded>> {
        let mut damage = Damage::default();
        let damaged = |damage: &mut Damage, path: &ObjectPath, why: String| -> Result<()> {
            let rel = path
                .prefix_match(&self.prefix)
                .map(|p| {
                    p.map(|x| x.as_ref().to_string())
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .unwrap_or_else(|| path.to_string());
            if tolerant {
                damage.files.push(rel);
                Ok(())
            } else {
                Err(Error::new(
                    ErrorKind::Corrupt,
                    format!("catalog file {rel} is damaged ({why}); run `strata catalog rebuild`"),
                )
                .with("at", &self.prefix))
            }
        };
        let mut state = State::default();
        let mut seq = 0;
        for snap in self.list("snapshot", 0).await?.into_iter().rev() {
            let path = self.path("snapshot", snap);
            let Some(bytes) = self.read(&path).await? else {
                continue;
            };
            match unframe::<State>(&bytes) {
                Ok(s) => {
                    state = s;
                    seq = snap;
                    break;
                }
                Err(why) => damaged(&mut damage, &path, why)?,
            }
        }
        let seqs = self.list("log", seq).await?;
        let bodies: Vec<(u64, Option<Bytes>)> = futures::stream::iter(seqs.iter().copied())
            .map(|s| async move { (s, self.read(&self.path("log", s)).await) })
            .buffered(16)
            .map(|(s, r)| r.map(|b| (s, b)))
            .try_collect()
            .await?;
        let mut last = seq;
        for (s, bytes) in bodies {
            let Some(bytes) = bytes else {
                return Ok(None);
            };
            if s > last + 1 {
                if !tolerant {
                    return Err(Error::new(
                        ErrorKind::Corrupt,
                        format!(
                            "catalog records {} to {} are missing; run `strata catalog rebuild`",
                            last + 1,
                            s - 1
                        ),
                    )
                    .with("at", &self.prefix));
                }
                damage.missing.extend(last + 1..s);
            }
            last = s;
            match unframe::<Record>(&bytes) {
                Ok(record) => state.apply(record),
                Err(why) => damaged(&mut damage, &self.path("log", s), why)?,
            }
        }
        Ok(Some(Loaded {
            state,
            seq: last,
            damage,
        }))
    }

    /// Whether anything was written after record `seq`, cheaply: one look for the next
    /// record and, when it is not there, one at the snapshots (records go only once a
    /// snapshot covers them).
    pub(crate) fn news(&self, seq: u64) -> Result<News> {
        if let Some(dir) = &self.local {
            let next = dir.join("log").join(format!("{:020}.json", seq + 1));
            if next.exists() {
                return Ok(News::Records);
            }
            let newer = match std::fs::read_dir(dir.join("snapshot")) {
                Ok(entries) => entries.flatten().any(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".json"))
                        .and_then(|n| n.parse::<u64>().ok())
                        .is_some_and(|s| s > seq)
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(e) => return Err(Error::io("cannot list the catalog's snapshots", dir, e)),
            };
            return Ok(if newer { News::Reload } else { News::None });
        }
        self.block_on(async {
            match self.store.head(&self.path("log", seq + 1)).await {
                Ok(_) => return Ok(News::Records),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.io("look for new records", e)),
            }
            let newest = self.list("snapshot", seq).await?;
            Ok(if newest.is_empty() {
                News::None
            } else {
                News::Reload
            })
        })?
    }

    /// The records written after record `seq`, checked and in order, or `None` when some of
    /// them are no longer there (a snapshot folded them: load afresh).
    pub(crate) fn records_after(&self, seq: u64) -> Result<Option<Vec<(u64, Record)>>> {
        self.block_on(async {
            let mut out = Vec::new();
            let mut last = seq;
            for s in self.list("log", seq).await? {
                if s != last + 1 {
                    return Ok(None);
                }
                let path = self.path("log", s);
                let Some(bytes) = self.read(&path).await? else {
                    return Ok(None);
                };
                let record = unframe::<Record>(&bytes).map_err(|why| {
                    Error::new(
                        ErrorKind::Corrupt,
                        format!(
                            "catalog record {s} is damaged ({why}); run `strata catalog rebuild`"
                        ),
                    )
                    .with("at", &self.prefix)
                })?;
                out.push((s, record));
                last = s;
            }
            Ok(Some(out))
        })?
    }

    /// Appends `record` as the record after `after` (or the first free number past it);
    /// returns its number.
    pub(crate) fn append(&self, record: &Record, after: u64) -> Result<u64> {
        let body = serde_json::to_vec(record)
            .map_err(|e| Error::internal(format!("cannot encode a catalog record: {e}")))?;
        let bytes = Bytes::from(frame(&body));
        if let Some(dir) = &self.local {
            return self.append_local(dir, &bytes, after);
        }
        self.block_on(async {
            let mut next = after + 1;
            for _ in 0..1000 {
                let put = self
                    .store
                    .put_opts(
                        &self.path("log", next),
                        PutPayload::from(bytes.clone()),
                        PutOptions::from(PutMode::Create),
                    )
                    .await;
                match put {
                    Ok(_) => return Ok(next),
                    Err(object_store::Error::AlreadyExists { .. }) => {
                        // Another writer took it: past the last number there is now.
                        next = self
                            .list("log", next)
                            .await?
                            .last()
                            .map_or(next + 1, |s| s + 1);
                    }
                    Err(e) => return Err(self.io("write a record", e)),
                }
            }
            Err(Error::new(
                ErrorKind::Busy,
                "catalog: other writers kept taking the next record number",
            ))
        })?
    }

    /// [`Self::append`] in a local directory: the record is written whole to a temporary file
    /// beside its place, then hard-linked there, which fails when the number is taken (a link
    /// never replaces anything).
    fn append_local(&self, dir: &std::path::Path, bytes: &[u8], after: u64) -> Result<u64> {
        use std::io::Write;
        let log = dir.join("log");
        std::fs::create_dir_all(&log)
            .map_err(|e| Error::io("cannot create the catalog's log", &log, e))?;
        let tmp = log.join(format!(
            ".record-{}-{}.tmp",
            std::process::id(),
            crate::ids::uuid_v4()
        ));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .and_then(|mut f| f.write_all(bytes));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io("cannot write a catalog record", &tmp, e));
        }
        let mut next = after + 1;
        let outcome = (|| {
            for _ in 0..1000 {
                let path = log.join(format!("{next:020}.json"));
                match std::fs::hard_link(&tmp, &path) {
                    Ok(()) => return Ok(next),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        next = self
                            .block_on(self.list("log", next))??
                            .last()
                            .map_or(next + 1, |s| s + 1);
                    }
                    Err(e) => return Err(Error::io("cannot add a catalog record", &path, e)),
                }
            }
            Err(Error::new(
                ErrorKind::Busy,
                "catalog: other writers kept taking the next record number",
            ))
        })();
        let _ = std::fs::remove_file(&tmp);
        outcome
    }

    /// Writes the snapshot of `state` after record `seq`, then deletes what the snapshot
    /// before it made redundant (records up to it, older snapshots). Best effort past the
    /// write: leftovers are only read again.
    pub(crate) fn snapshot(&self, state: &State, seq: u64) -> Result<()> {
        let body = serde_json::to_vec(state)
            .map_err(|e| Error::internal(format!("cannot encode the catalog: {e}")))?;
        let bytes = frame(&body);
        self.block_on(async {
            let put = self
                .store
                .put_opts(
                    &self.path("snapshot", seq),
                    PutPayload::from(bytes),
                    PutOptions::from(PutMode::Create),
                )
                .await;
            match put {
                Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(self.io("write a snapshot", e)),
            }
            let snaps = self.list("snapshot", 0).await?;
            // Keep this snapshot and the one before it (a reader may be on it).
            let keep_from = snaps.iter().rev().nth(1).copied().unwrap_or(0);
            for s in snaps.iter().filter(|s| **s < keep_from) {
                let _ = self.store.delete(&self.path("snapshot", *s)).await;
            }
            for s in self
                .list("log", 0)
                .await?
                .into_iter()
                .filter(|s| *s <= keep_from)
            {
                let _ = self.store.delete(&self.path("log", s)).await;
            }
            Ok(())
        })?
    }

    /// Deletes the damaged files a tolerant load found (after a rebuild replaced them).
    pub(crate) fn remove(&self, files: &[String]) -> Result<()> {
        self.block_on(async {
            for f in files {
                let mut path = self.prefix.clone();
                for part in f.split('/') {
                    path = path.join(part);
                }
                match self.store.delete(&path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(self.io("delete a damaged file", e)),
                }
            }
            Ok(())
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_files_are_told_apart_and_damage_is_corrupt() {
        let snapshot = frame(br#"{"entries":{},"runs":[]}"#);
        assert_eq!(check_file(&snapshot).unwrap(), CatalogFile::Snapshot);
        let record = frame(br#"{"op":"forget","name":"a/b","at":1,"by":"x"}"#);
        assert_eq!(check_file(&record).unwrap(), CatalogFile::Record);
        for bad in [&b""[..], b"\n", b"{}\n{}", &record[..record.len() - 1]] {
            assert_eq!(
                check_file(bad).unwrap_err().kind(),
                ErrorKind::Corrupt,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn frames_check_their_bodies() {
        let bytes = frame(br#"{"entries":{},"runs":[]}"#);
        assert_eq!(unframe::<State>(&bytes), Ok(State::default()));
        let mut bad = bytes.clone();
        let n = bad.len();
        bad[n - 3] = b' ';
        assert_eq!(
            unframe::<State>(&bad).err().as_deref(),
            Some("checksum mismatch")
        );
        assert!(unframe::<State>(b"").is_err());
        assert!(unframe::<State>(b"{}\n{}").is_err());
        assert!(unframe::<State>(b"\xff\xfe\n").is_err());
        let newer = format!(
            "{{\"format\":9,\"sha256\":\"{}\"}}\n{{}}",
            hex(&Sha256::digest(b"{}"))
        );
        assert!(unframe::<State>(newer.as_bytes())
            .unwrap_err()
            .contains("newer"));
    }
}
