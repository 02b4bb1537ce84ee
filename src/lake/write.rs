//! Writing a dataset into the lake: through the one Parquet writer (codec policy, page index,
//! partitioning, target file sizes) into a private staging directory, then each file put
//! atomically under the dataset's prefix.

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::Lake;
use crate::error::{Error, ErrorKind, Result};
use crate::format::{WriteOptions, WriteSummary};
use crate::store::PutOptions;

/// Name prefix of the staging directories dataset writes make in the data root.
const STAGING_PREFIX: &str = ".strata-write-";

/// Removes the staging directories of dataset writes a killed process left in the data root.
/// Only while nothing writes (the lake calls it at open, holding the root's lock); only
/// directories with strata's own prefix, and never through a link.
pub(super) fn sweep_staging(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir
            && entry
                .file_name()
                .to_string_lossy()
                .starts_with(STAGING_PREFIX)
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
        // A new directory under a name nobody can guess: `create_dir` fails on anything already
        // there (a planted symlink included) instead of writing through it.
        let mut tag = [0u8; 8];
        getrandom::fill(&mut tag)
            .map_err(|e| Error::internal(format!("the OS random source failed: {e}")))?;
        let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        let staging = self.dir().join(format!("{STAGING_PREFIX}{tag}"));
        let dir = staging.join("d");
        let result = (|| {
            std::fs::create_dir(&staging)
                .and_then(|_| std::fs::create_dir(&dir))
                .map_err(|e| Error::io("cannot create a staging directory", &staging, e))?;
            let mut dest = dir.clone().into_os_string();
            dest.push(std::path::MAIN_SEPARATOR_STR);
            let mut summary = crate::format::write(Path::new(&dest), schema, batches, options)?;
            for f in &mut summary.files {
                let rel = f.path.strip_prefix(&dir).unwrap_or(&f.path).to_path_buf();
                let key = format!("{prefix}/{}", rel.to_string_lossy().replace('\\', "/"));
                self.put_file(&key, &f.path, &PutOptions::default())?;
                f.path = PathBuf::from(key);
            }
            Ok(summary)
        })();
        let _ = std::fs::remove_dir_all(&staging);
        result
    }
}
