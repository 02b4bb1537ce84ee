//! Writing into the lake: a dataset (files under a prefix) or one Parquet object, through the
//! one Parquet writer (codec policy, page index, partitioning, target file sizes) into a
//! private staging directory, then each file put atomically (with the lake's encryption
//! policy) under its key.

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::Lake;
use crate::error::{Error, ErrorKind, Result};
use crate::format::{WriteOptions, WriteSummary};
use crate::store::{ObjectInfo, PutOptions};

/// Name prefix of the staging directories dataset writes make in the data root.
const STAGING_PREFIX: &str = ".strata-write-";

/// Removes the staging directories of dataset and table writes a killed process left in the data root.
/// Only while nothing writes (the lake calls it at open, holding the root's lock); only
/// directories with strata's own prefix, and never through a link.
pub(super) fn sweep_staging(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if is_dir
            && (name.starts_with(STAGING_PREFIX) || name.starts_with(crate::table::STAGING_PREFIX))
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Lake {
    /// Writes `batches` as the dataset `prefix` of the lake (files under `prefix/`, Hive
    /// directories when partitioned), each file put atomically; the summary names the keys.
    pub fn write(
        &self,
        prefix: &str,
        schema: &SchemaRef,
        batches: &[RecordBatch],
        options: &WriteOptions,
    ) -> Result<WriteSummary> {
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a dataset in the lake needs a name (the key prefix of its files)",
            ));
        }
        crate::store::validate_key(prefix)?;
        self.authorize(
            "write",
            crate::config::Action::Write,
            crate::governance::Resource::Object(&format!("{prefix}/")),
        )?;
        self.staged(|dir| {
            let mut dest = dir.as_os_str().to_os_string();
            dest.push(std::path::MAIN_SEPARATOR_STR);
            let mut summary = crate::format::write(Path::new(&dest), schema, batches, options)?;
            for f in &mut summary.files {
                let rel = f.path.strip_prefix(dir).unwrap_or(&f.path).to_path_buf();
                let key = format!("{prefix}/{}", rel.to_string_lossy().replace('\\', "/"));
                self.put_file(&key, &f.path, &PutOptions::default())?;
                f.path = PathBuf::from(key);
            }
            Ok(summary)
        })
    }

    /// Writes `batches` as one file, put atomically as the object `key` (replacing any object
    /// there). The format follows `options` (under `auto`, the key's extension decides, as a
    /// file name's does); partitioning and target file sizes do not apply to one object.
    pub fn write_object(
        &self,
        key: &str,
        schema: &SchemaRef,
        batches: &[RecordBatch],
        options: &WriteOptions,
    ) -> Result<ObjectInfo> {
        self.write_object_with(key, schema, batches, options, &PutOptions::default())
            .map(|(info, _)| info)
    }

    /// As [`Lake::write_object`], with the put's own options (`put.encrypt` overrides the
    /// lake's encryption policy for this object), and returns what the format writer chose
    /// (codec and encoding per column, and why) beside what the store holds.
    ///
    /// ```
    /// # fn main() -> strata::Result<()> {
    /// use std::sync::Arc;
    /// use arrow::array::{Int64Array, RecordBatch};
    /// use strata::{Lake, PutOptions, WriteOptions};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let lake = Lake::open_dir(dir.path())?;
    /// let ids = RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as _)])
    ///     .unwrap();
    /// let clear = PutOptions { encrypt: Some(false) };
    /// let (info, summary) =
    ///     lake.write_object_with("t/ids.parquet", &ids.schema(), &[ids], &WriteOptions::default(), &clear)?;
    /// assert_eq!(summary.rows, 3);
    /// assert_eq!(lake.stat("t/ids.parquet")?.size, info.size);
    /// # Ok(()) }
    /// ```
    pub fn write_object_with(
        &self,
        key: &str,
        schema: &SchemaRef,
        batches: &[RecordBatch],
        options: &WriteOptions,
        put: &PutOptions,
    ) -> Result<(ObjectInfo, WriteSummary)> {
        crate::store::validate_key(key)?;
        self.authorize(
            "write",
            crate::config::Action::Write,
            crate::governance::Resource::Object(key),
        )?;
        if options.partitioning.is_some() {
            return Err(Error::invalid(
                "one object cannot be partitioned; write a dataset (Lake::write) instead",
            )
            .with("key", key));
        }
        // A valid key's last segment is a valid file name (checked by validate_key).
        let name = key.rsplit('/').next().unwrap_or(key);
        self.staged(|dir| {
            let summary = crate::format::write(&dir.join(name), schema, batches, options)?;
            let info = match summary.files.as_slice() {
                [file] => self.put_file(key, &file.path, put)?,
                files => {
                    return Err(Error::internal(format!(
                        "writing one object made {} files",
                        files.len()
                    )))
                }
            };
            Ok((info, summary))
        })
    }

    /// The write options data under `key` gets unless told otherwise: the codec policy of the
    /// tier the placement rules send `key` to (rules with a size bound are skipped: the size is
    /// not known before writing), which is the config's `format.tier_codecs` entry for it, else
    /// `fast` for the hottest tier and `compact` below; that tier's decode-speed floor; the page
    /// index; the rest as [`WriteOptions::default`].
    pub fn write_options(&self, key: &str) -> Result<WriteOptions> {
        let config = self.config();
        let placed = config
            .placement
            .iter()
            .find(|rule| {
                key.starts_with(&rule.prefix) && rule.min_size.is_none() && rule.max_size.is_none()
            })
            .map(|rule| rule.tier.as_str());
        let position = match placed {
            Some(name) => config.tiers.iter().position(|t| t.name == name),
            None => (!config.tiers.is_empty()).then_some(0),
        };
        let mut options = WriteOptions::default();
        if let Some(position) = position {
            let name = &config.tiers[position].name;
            options.codec = config.format.tier_codec(name, position)?;
            options.tier_position = Some(position);
        }
        Ok(options)
    }

    /// Runs `write` with a new, empty directory of the data root that nobody else can know
    /// (`<root>/.strata-write-<random>/d`), and removes the directory afterwards, whatever
    /// happened.
    fn staged<T>(&self, write: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
        // A new directory under a name nobody can guess: `create_dir` fails on anything already
        // there (a planted symlink included) instead of writing through it.
        let mut tag = [0u8; 8];
        getrandom::fill(&mut tag)
            .map_err(|e| Error::internal(format!("the OS random source failed: {e}")))?;
        let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        let staging = self.dir().join(format!("{STAGING_PREFIX}{tag}"));
        let dir = staging.join("d");
        let result = std::fs::create_dir(&staging)
            .and_then(|_| std::fs::create_dir(&dir))
            .map_err(|e| Error::io("cannot create a staging directory", &staging, e))
            .and_then(|_| write(&dir));
        let _ = std::fs::remove_dir_all(&staging);
        result
    }
}
