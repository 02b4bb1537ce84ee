//! Where a table lives, and what differs with it: a directory on this machine, or a prefix of
//! an object store (an S3 tier of the lake, or an `s3://` URI with the lake's S3 settings).
//!
//! The Delta log is the same on both (deltalake's log store commits with a create-if-absent
//! put: a hard link locally, `If-None-Match: *` on S3). Data files differ: in a directory they
//! are written in place under names no other write uses; on an object store they are written
//! into a private local staging directory, then each is uploaded whole (one PUT, or a multipart
//! upload that only its completion makes visible) before the commit names it, so a reader
//! never sees part of a file and a killed write leaves only files no version names (vacuum's).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;
use url::Url;

use super::write::{self, Written};
use crate::error::{Error, ErrorKind, Result};
use crate::format::WriteOptions;
use crate::read::{FileList, ObjectSource, Scan};
use crate::runtime::Runtime;

/// Files up to this size are uploaded with one PUT; larger ones as a multipart upload.
const SINGLE_PUT_MAX: u64 = 32 << 20;
/// Part size of multipart uploads (S3 wants at least 5 MiB but the last).
const PART_BYTES: usize = 16 << 20;

/// A table on an object store, as the lake hands it over.
pub struct TableStore {
    /// The store, rooted at the bucket (deltalake's engine resolves file URLs against it).
    pub store: Arc<dyn ObjectStore>,
    /// The table's prefix in the bucket.
    pub prefix: ObjectPath,
    /// `s3://<bucket>/<prefix>/`.
    pub url: Url,
    /// A local directory in which each write makes its own staging directory.
    pub staging: PathBuf,
    /// How scans read the table's files (the lake's objects, through its block cache when the
    /// tier is cached); names are full paths in the bucket.
    pub files: Arc<dyn ObjectSource>,
}

impl std::fmt::Debug for TableStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableStore")
            .field("url", &self.url.as_str())
            .finish()
    }
}

/// Where a table lives.
#[derive(Debug, Clone)]
pub(crate) enum Home {
    /// A directory.
    Dir(PathBuf),
    /// A prefix of an object store.
    Objects(Arc<TableStore>),
}

/// Name prefix of the staging directories of table writes to an object store (the lake sweeps
/// what a killed process left at open).
pub const STAGING_PREFIX: &str = ".strata-table-write-";

impl Home {
    /// The table's URL (ends with `/`).
    pub(crate) fn url(&self) -> Result<Url> {
        match self {
            Home::Dir(dir) => super::delta::dir_url(dir),
            Home::Objects(at) => Ok(at.url.clone()),
        }
    }

    /// For messages and `info`: the directory or the URL.
    pub(crate) fn location(&self) -> String {
        match self {
            Home::Dir(dir) => dir.display().to_string(),
            Home::Objects(at) => at.url.to_string(),
        }
    }

    /// The path a scan opens for the data file at `rel` (relative to the table, as the log
    /// names it): a file path, or the object's full path in the bucket.
    pub(crate) fn file(&self, rel: &str) -> PathBuf {
        match self {
            Home::Dir(dir) => dir.join(rel),
            Home::Objects(at) => PathBuf::from(format!("{}/{rel}", at.prefix)),
        }
    }

    /// `path` (from [`Home::file`]) when it is a file on this machine, not an object.
    pub(crate) fn local(&self, path: &Path) -> Option<PathBuf> {
        match self {
            Home::Dir(_) => Some(path.to_path_buf()),
            Home::Objects(_) => None,
        }
    }

    /// A scan of exactly the files of `list` (paths from [`Home::file`]).
    pub(crate) fn scan(&self, list: FileList) -> Scan {
        match self {
            Home::Dir(dir) => Scan::of_files(dir, list),
            Home::Objects(at) => Scan::of_files(at.url.as_str(), list).objects(at.files.clone()),
        }
    }

    /// Whether the table has a commit.
    pub(crate) fn exists(&self, runtime: &Runtime) -> Result<bool> {
        match self {
            Home::Dir(dir) => {
                let log = dir.join("_delta_log");
                match std::fs::read_dir(&log) {
                    Ok(mut entries) => Ok(entries.any(|e| {
                        e.map(|e| e.file_name().to_string_lossy().ends_with(".json"))
                            .unwrap_or(false)
                    })),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                    Err(e) => Err(Error::io("cannot read the table's log", &log, e)),
                }
            }
            Home::Objects(at) => {
                let log = at.path("_delta_log")?;
                runtime.block_on(async {
                    let mut listing = at.store.list(Some(&log));
                    while let Some(meta) = listing.try_next().await.map_err(|e| {
                        Error::new(ErrorKind::Io, format!("cannot list the table's log: {e}"))
                            .with("location", &at.url)
                    })? {
                        if meta.location.as_ref().ends_with(".json") {
                            return Ok(true);
                        }
                    }
                    Ok(false)
                })?
            }
        }
    }

    /// Makes the place for a new table (a directory; nothing on an object store).
    pub(crate) fn prepare(&self) -> Result<()> {
        match self {
            Home::Dir(dir) => std::fs::create_dir_all(dir)
                .map_err(|e| Error::io("cannot create the table directory", dir, e)),
            Home::Objects(_) => Ok(()),
        }
    }

    /// Writes `batches` (of the table's schema) as new data files of the table and returns
    /// their `add` actions; nothing refers to them until a commit does.
    pub(crate) fn write_files(
        &self,
        runtime: &Runtime,
        schema: &SchemaRef,
        batches: &[RecordBatch],
        partition_by: &[String],
        options: &WriteOptions,
        report: &dyn Fn(&str, u64, u64),
    ) -> Result<Written> {
        let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        report("write", 0, rows);
        match self {
            Home::Dir(dir) => {
                let written = write::write_files(dir, schema, batches, partition_by, options)?;
                report("write", rows, rows);
                Ok(written)
            }
            Home::Objects(at) => at.staged(|dir| {
                let written = write::write_files(dir, schema, batches, partition_by, options)?;
                report("write", rows, rows);
                let total: u64 = written.adds.iter().map(|a| a.size.max(0) as u64).sum();
                let mut sent = 0;
                report("upload", 0, total);
                for add in &written.adds {
                    at.upload(runtime, &dir.join(&add.path), &add.path)?;
                    sent += add.size.max(0) as u64;
                    report("upload", sent, total);
                }
                Ok(written)
            }),
        }
    }

    /// Writes one new data file at `rel` (relative to the table): `fill` writes it at the
    /// local path it is given and says what it made, or `None` when it made nothing (then no
    /// file stays). In a directory the file is written in place; on an object store it is
    /// staged locally and uploaded whole. Nothing refers to it until a commit does.
    pub(crate) fn write_file<T>(
        &self,
        runtime: &Runtime,
        rel: &str,
        fill: impl FnOnce(&Path) -> Result<Option<T>>,
    ) -> Result<Option<T>> {
        match self {
            Home::Dir(dir) => {
                let path = dir.join(rel);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| Error::io("cannot create directory", parent, e))?;
                }
                fill(&path)
            }
            Home::Objects(at) => at.staged(|dir| {
                let path = dir.join(rel);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| Error::io("cannot create directory", parent, e))?;
                }
                let made = fill(&path)?;
                if made.is_some() {
                    at.upload(runtime, &path, rel)?;
                }
                Ok(made)
            }),
        }
    }

    /// Drops the file maps scans of this table kept (see `read::maps`): after a rewrite, the
    /// files it read are on their way out.
    pub(crate) fn forget_maps(&self) {
        if let Home::Dir(dir) = self {
            crate::read::maps::forget_under(dir);
        }
    }

    /// Whether the data file at `rel` is there (vacuum reports only files it finds).
    pub(crate) async fn has_file(&self, rel: &str) -> bool {
        match self {
            Home::Dir(dir) => dir.join(rel).exists(),
            Home::Objects(at) => match at.path(rel) {
                Ok(path) => at.store.head(&path).await.is_ok(),
                Err(_) => false,
            },
        }
    }
}

impl TableStore {
    /// The full path of `rel` (relative to the table) in the bucket.
    pub(crate) fn path(&self, rel: &str) -> Result<ObjectPath> {
        ObjectPath::parse(format!("{}/{rel}", self.prefix)).map_err(|e| {
            Error::invalid(format!("{rel:?} cannot be a path in an object store: {e}"))
                .with("table", &self.url)
        })
    }

    /// Runs `write` with a new, empty local directory nobody else knows
    /// (`<staging>/.strata-table-write-<random>`), removed afterwards whatever happened.
    fn staged<T>(&self, write: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
        let mut tag = [0u8; 8];
        getrandom::fill(&mut tag)
            .map_err(|e| Error::internal(format!("the OS random source failed: {e}")))?;
        let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        let dir = self.staging.join(format!("{STAGING_PREFIX}{tag}"));
        // `create_dir` fails on anything already there (a planted link too).
        let result = std::fs::create_dir(&dir)
            .map_err(|e| Error::io("cannot create a staging directory", &dir, e))
            .and_then(|_| write(&dir));
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    /// Uploads the local file `from` to `rel` in the table: one PUT when small, else a
    /// multipart upload (aborted on failure, so no part stays behind).
    fn upload(&self, runtime: &Runtime, from: &Path, rel: &str) -> Result<()> {
        let to = self.path(rel)?;
        let failed = |e: &dyn std::fmt::Display| {
            Error::new(ErrorKind::Io, format!("cannot upload a data file: {e}"))
                .with("table", &self.url)
                .with("file", rel)
        };
        let size = std::fs::metadata(from)
            .map_err(|e| Error::io("cannot read a staged data file", from, e))?
            .len();
        runtime.block_on(async {
            if size <= SINGLE_PUT_MAX {
                let bytes = tokio::fs::read(from)
                    .await
                    .map_err(|e| Error::io("cannot read a staged data file", from, e))?;
                self.store
                    .put(&to, PutPayload::from(bytes))
                    .await
                    .map_err(|e| failed(&e))?;
                return Ok(());
            }
            let upload = self
                .store
                .put_multipart(&to)
                .await
                .map_err(|e| failed(&e))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
            let mut file = tokio::fs::File::open(from)
                .await
                .map_err(|e| Error::io("cannot read a staged data file", from, e))?;
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = match file.read(&mut buf).await {
                    Ok(n) => n,
                    Err(e) => {
                        let _ = writer.abort().await;
                        return Err(Error::io("cannot read a staged data file", from, e));
                    }
                };
                if n == 0 {
                    break;
                }
                // At most two parts in flight: memory stays a few parts, not the file.
                if let Err(e) = writer.wait_for_capacity(2).await {
                    let _ = writer.abort().await;
                    return Err(failed(&e));
                }
                writer.write(&buf[..n]);
            }
            writer.finish().await.map_err(|e| failed(&e))?;
            Ok(())
        })?
    }
}
