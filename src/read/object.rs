//! Parquet files that are objects of a lake rather than local files: the footer is read first,
//! then for each row group only the projected column chunks, with nearby ranges coalesced into
//! one read. The lake's cache sits behind [`ObjectReader::read_range`].

use std::io::Read;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use parquet::file::reader::{ChunkReader, Length};

use super::metadata::FileVersion;
use crate::error::{Error, ErrorKind, Result};

/// Column chunks closer than this are read together (one request instead of two).
pub const COALESCE_GAP: u64 = 1 << 20;

/// Named objects a scan can read with ranged reads (a lake's tiers, through its cache).
pub trait ObjectSource: Send + Sync + std::fmt::Debug {
    /// Opens the object `name` for ranged reads.
    fn open_object(&self, name: &str) -> Result<Arc<dyn ObjectReader>>;

    /// The names of the objects whose names start with `prefix`, in name order: what lets a
    /// scan read a prefix of objects (`sales/year=2024/...`) as one dataset. A source that
    /// cannot list returns an `Unsupported` error (the default); its scans read one object.
    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let _ = prefix;
        Err(Error::new(
            ErrorKind::Unsupported,
            "this object source cannot list its objects",
        ))
    }
}

/// One version of one object, read by ranges.
pub trait ObjectReader: Send + Sync {
    /// The version, which keys the parsed footer in a metadata cache.
    fn version(&self) -> FileVersion;
    /// Size in bytes.
    fn size(&self) -> u64;
    /// Reads bytes `range`.
    fn read_range(&self, range: Range<u64>) -> Result<Bytes>;
    /// A local plaintext file holding exactly these bytes, which a scan may map instead.
    fn local_file(&self) -> Option<PathBuf> {
        None
    }
}

/// The object as the parquet crate's [`ChunkReader`], with some ranges already loaded.
#[derive(Clone)]
pub(crate) struct RangeReader {
    object: Arc<dyn ObjectReader>,
    loaded: Arc<Vec<(u64, Bytes)>>,
}

impl RangeReader {
    pub fn new(object: Arc<dyn ObjectReader>) -> RangeReader {
        RangeReader {
            object,
            loaded: Arc::new(Vec::new()),
        }
    }

    /// A reader with `ranges` loaded up front, near ones merged into one read each.
    pub fn preload(object: Arc<dyn ObjectReader>, ranges: Vec<Range<u64>>) -> Result<Self> {
        let loaded = coalesce(ranges, COALESCE_GAP)
            .into_iter()
            .map(|r| Ok((r.start, object.read_range(r)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(RangeReader {
            object,
            loaded: Arc::new(loaded),
        })
    }

    fn bytes(&self, start: u64, len: u64) -> Result<Bytes> {
        for (at, bytes) in self.loaded.iter() {
            if start >= *at && start + len <= at + bytes.len() as u64 {
                let from = (start - at) as usize;
                return Ok(bytes.slice(from..from + len as usize));
            }
        }
        let end = (start.saturating_add(len)).min(self.object.size());
        self.object.read_range(start.min(end)..end)
    }
}

/// Sorted, merged ranges: overlapping or closer than `gap` become one.
pub(crate) fn coalesce(mut ranges: Vec<Range<u64>>, gap: u64) -> Vec<Range<u64>> {
    ranges.retain(|r| r.start < r.end);
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end.saturating_add(gap) => {
                last.end = last.end.max(r.end);
            }
            _ => out.push(r),
        }
    }
    out
}

fn to_parquet(e: crate::Error) -> parquet::errors::ParquetError {
    parquet::errors::ParquetError::External(Box::new(e))
}

impl Length for RangeReader {
    fn len(&self) -> u64 {
        self.object.size()
    }
}

impl ChunkReader for RangeReader {
    type T = ObjectRead;

    fn get_read(&self, start: u64) -> parquet::errors::Result<ObjectRead> {
        Ok(ObjectRead {
            reader: self.clone(),
            pos: start,
            buf: Bytes::new(),
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.bytes(start, length as u64).map_err(to_parquet)
    }
}

/// A sequential reader over the object from some offset, reading a loaded range or 64 KiB at
/// a time (page headers are small).
pub(crate) struct ObjectRead {
    reader: RangeReader,
    pos: u64,
    buf: Bytes,
}

impl Read for ObjectRead {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.buf.is_empty() {
            let size = self.reader.object.size();
            if self.pos >= size {
                return Ok(0);
            }
            let loaded = self
                .reader
                .loaded
                .iter()
                .find(|(at, b)| self.pos >= *at && self.pos < at + b.len() as u64);
            self.buf = match loaded {
                Some((at, b)) => b.slice((self.pos - at) as usize..),
                None => {
                    let len = (size - self.pos).min(64 << 10);
                    self.reader
                        .bytes(self.pos, len)
                        .map_err(|e| std::io::Error::other(e.to_string()))?
                }
            };
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf = self.buf.slice(n..);
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_ranges_merge() {
        assert_eq!(
            coalesce(vec![10..20, 0..5, 25..30, 100..200, 19..22], 5),
            vec![0..30, 100..200]
        );
        assert_eq!(coalesce(vec![5..5, 7..7], 5), Vec::<Range<u64>>::new());
    }
}
