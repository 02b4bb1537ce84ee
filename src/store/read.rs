//! Reading objects: memory maps for local tiers, (ranged) gets for remote ones.

use object_store::ObjectStoreExt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;

use bytes::Bytes;
use futures::StreamExt;

use super::tier::Tier;
use super::write::on_tier;
use super::Store;
use crate::error::{Error, ErrorKind, Result};

/// Below this size a plain read beats setting up a memory map.
const MMAP_MIN: u64 = 256 * 1024;

impl Store {
    /// Reads `range` (or all) of `key` from `tier`. If a concurrent writer moved or replaced
    /// the object meanwhile, looks it up again and reads the current copy once more.
    pub(super) async fn read(
        &self,
        key: &str,
        tier: &Tier,
        range: Option<Range<u64>>,
        size: u64,
    ) -> Result<Bytes> {
        match read_from(tier, key, range.clone(), size).await {
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::Corrupt) => {
                let (now_in, record) = self.locate(key)?;
                if now_in.name == tier.name && record.size == size {
                    // Nothing changed in the index: the tier really lost or altered the copy.
                    return Err(Error::corrupt(format!(
                        "{}; the tier index and the tier disagree, run `strata tier reindex`",
                        e.message()
                    ))
                    .with("key", key)
                    .with("tier", &tier.name));
                }
                if range.as_ref().is_some_and(|r| r.end > record.size) {
                    return Err(Error::invalid(
                        "the object was replaced by a shorter one during the read",
                    )
                    .with("key", key));
                }
                read_from(now_in, key, range, record.size).await
            }
            other => other,
        }
    }

    /// Streams all of `key` into `out`.
    pub(super) async fn read_to(&self, key: &str, tier: &Tier, out: &mut dyn Write) -> Result<u64> {
        let write_err =
            |e: std::io::Error| Error::new(ErrorKind::Io, format!("writing output failed: {e}"));
        if let Some(path) = tier.local_file(key) {
            match File::open(&path) {
                Ok(mut file) => {
                    return std::io::copy(&mut file, out).map_err(write_err);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("cannot open object", &path, e).with("key", key)),
            }
            // Moved meanwhile: fall through to a whole read from wherever it is now.
            let (moved, record) = self.locate(key)?;
            let bytes = self.read(key, moved, None, record.size).await?;
            out.write_all(&bytes).map_err(write_err)?;
            return Ok(bytes.len() as u64);
        }
        let result = tier
            .store
            .get(&tier.path(key))
            .await
            .map_err(|e| on_tier(e, tier, key))?;
        let mut stream = result.into_stream();
        let mut n = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| on_tier(e, tier, key))?;
            out.write_all(&chunk).map_err(write_err)?;
            n += chunk.len() as u64;
        }
        Ok(n)
    }
}

/// Reads from one tier without following moves.
pub(super) async fn read_from(
    tier: &Tier,
    key: &str,
    range: Option<Range<u64>>,
    size: u64,
) -> Result<Bytes> {
    if let Some((per_call, per_byte)) = tier.simulated {
        let len = range.as_ref().map_or(size, |r| r.end - r.start);
        tokio::time::sleep(per_call + per_byte * u32::try_from(len).unwrap_or(u32::MAX)).await;
    }
    if let Some(path) = tier.local_file(key) {
        return read_local(&path, range, size)
            .map_err(|e| e.with("key", key).with("tier", &tier.name));
    }
    let path = tier.path(key);
    let bytes = match range {
        Some(r) if r.start == r.end => Ok(Bytes::new()),
        Some(r) => tier.store.get_range(&path, r).await,
        None => match tier.store.get(&path).await {
            Ok(result) => result.bytes().await,
            Err(e) => Err(e),
        },
    }
    .map_err(|e| on_tier(e, tier, key))?;
    Ok(bytes)
}

fn read_local(path: &std::path::Path, range: Option<Range<u64>>, size: u64) -> Result<Bytes> {
    let mut file = File::open(path).map_err(|e| Error::io("cannot open object", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("cannot stat object", path, e))?
        .len();
    if len != size {
        return Err(Error::corrupt(format!(
            "object file is {len} bytes but the index says {size}; it was changed outside strata"
        ))
        .with("path", path.display()));
    }
    let range = range.unwrap_or(0..len);
    let want = range.end - range.start;
    if want == 0 {
        return Ok(Bytes::new());
    }
    if want < MMAP_MIN {
        let mut buf = vec![0u8; want as usize];
        file.seek(SeekFrom::Start(range.start))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|e| Error::io("cannot read object", path, e))?;
        return Ok(Bytes::from(buf));
    }
    // SAFETY: objects in strata's tiers are immutable: every write goes to a staging file that
    // is renamed over the key, so a mapped file is never modified in place by strata. Only an
    // outside process truncating the file could invalidate the map (SIGBUS on access); see the
    // crate docs for this documented risk.
    let map = unsafe { memmap2::Mmap::map(&file) }
        .map_err(|e| Error::io("cannot map object", path, e))?;
    let bytes = Bytes::from_owner(map);
    Ok(bytes.slice(range.start as usize..range.end as usize))
}
