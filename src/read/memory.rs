//! A Parquet file held in memory, scanned as an object: footer first, then the column chunks
//! the scan needs, each a slice of the one buffer (no copies). How re-encoding on demotion
//! reads the bytes the store hands it.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use super::metadata::FileVersion;
use super::object::{ObjectReader, ObjectSource};
use super::scan::Scan;
use crate::error::{Error, Result};

/// The name errors give the buffer.
const NAME: &str = "(Parquet bytes in memory)";

#[derive(Debug, Clone)]
struct InMemory(Bytes);

impl ObjectSource for InMemory {
    fn open_object(&self, _name: &str) -> Result<Arc<dyn ObjectReader>> {
        Ok(Arc::new(self.clone()))
    }
}

impl ObjectReader for InMemory {
    fn version(&self) -> FileVersion {
        FileVersion {
            path: PathBuf::from(NAME),
            len: self.size(),
            modified: None,
            inode: (0, 0),
        }
    }

    fn size(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        let fits = range.start <= range.end && range.end <= self.size();
        if !fits {
            // The footer asked for bytes the file does not have: damage, as for a file.
            return Err(Error::corrupt(format!(
                "bytes {}..{} asked for, beyond the end of the {}-byte Parquet file",
                range.start,
                range.end,
                self.size()
            )));
        }
        Ok(self.0.slice(range.start as usize..range.end as usize))
    }
}

impl Scan {
    /// A scan of the Parquet file in `bytes`.
    pub(crate) fn of_bytes(bytes: Bytes) -> Scan {
        Scan::new(NAME).objects(Arc::new(InMemory(bytes)))
    }
}
