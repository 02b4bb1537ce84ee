//! Rebuilding the tier index from the tiers themselves.
//!
//! Every tier is listed and every object read once to recompute its checksum. Where a key is
//! found in several tiers (a move or overwrite was cut short), identical copies resolve to the
//! hottest tier and the others become orphans for `tier run` to remove; copies that differ are
//! resolved to the newest and the rest are kept untouched and reported, never deleted.

use std::collections::BTreeMap;

use serde::Serialize;

use super::index::{ObjectRecord, Sealed};
use super::write::hash_stored;
use super::{to_ms, Store};
use crate::crypto::{EnvelopeHeader, MAX_HEADER_LEN};
use crate::error::{Error, Result};

/// What a reindex found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReindexReport {
    /// Objects now in the index.
    pub objects: u64,
    /// Bytes they hold.
    pub bytes: u64,
    /// Identical extra copies queued for removal.
    pub duplicates: u64,
    /// Keys with differing copies in several tiers: `(key, tiers kept aside)`.
    pub conflicts: Vec<(String, Vec<String>)>,
    /// Entries in the tiers that are not objects, left alone: symbolic links, special files,
    /// and names strata does not write (`tier:path`).
    pub skipped: Vec<String>,
}

struct Found {
    tier: String,
    position: usize,
    size: u64,
    checksum: String,
    modified_ms: u64,
    enc: Option<Sealed>,
    etag: Option<String>,
}

impl Store {
    /// Rebuilds the tier index from the tiers. Access statistics restart from zero.
    pub fn reindex(&self) -> Result<ReindexReport> {
        self.reindex_with_progress(&|_, _| {})
    }

    /// [`Store::reindex`] with `progress(objects_hashed, objects_listed)`.
    pub fn reindex_with_progress(
        &self,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<ReindexReport> {
        let _exclusive = self.runtime.block_on(self.locks.exclusive())?;
        // Pending reads refer to the old index; they are dropped with it.
        self.lock_reads().clear();
        let mut report = ReindexReport::default();
        let mut found: BTreeMap<String, Vec<Found>> = BTreeMap::new();
        let listed = self.runtime.block_on(async {
            let mut listed = Vec::new();
            for (position, tier) in self.tiers.iter().enumerate() {
                let listing = tier.list().await?;
                for skipped in listing.skipped {
                    report.skipped.push(format!("{}:{skipped}", tier.name));
                }
                for (key, size, modified) in listing.objects {
                    listed.push((position, key, size, modified));
                }
            }
            Ok::<_, Error>(listed)
        })??;
        let total = listed.len() as u64;
        progress(0, total);
        let mut done = 0u64;
        for (position, key, size, modified) in listed {
            let tier = &self.tiers[position];
            let (checksum, enc, etag) = self
                .runtime
                .block_on(async { hash_object(tier, &key, size).await })??;
            found.entry(key).or_default().push(Found {
                tier: tier.name.clone(),
                position,
                size,
                checksum,
                modified_ms: to_ms(modified),
                enc,
                etag,
            });
            done += 1;
            progress(done, total);
        }
        let mut records = Vec::with_capacity(found.len());
        let mut orphans = Vec::new();
        for (key, mut copies) in found {
            copies.sort_by_key(|c| c.position);
            let same = copies.iter().all(|c| c.checksum == copies[0].checksum);
            let winner = if same {
                0
            } else {
                let newest = copies
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, c)| c.modified_ms)
                    .map(|(i, _)| i)
                    .unwrap_or(0);
                let aside = copies
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != newest)
                    .map(|(_, c)| c.tier.clone())
                    .collect();
                report.conflicts.push((key.clone(), aside));
                newest
            };
            if same {
                for extra in &copies[1..] {
                    orphans.push((extra.tier.clone(), key.clone()));
                    report.duplicates += 1;
                }
            }
            let c = &copies[winner];
            report.objects += 1;
            report.bytes += c.size;
            let mut record = ObjectRecord::new(&c.tier, c.size, c.checksum.clone(), c.modified_ms);
            record.enc = c.enc.clone();
            record.etag = c.etag.clone();
            records.push((key, record));
        }
        self.index.replace_all(&records, &orphans)?;
        Ok(report)
    }
}

/// BLAKE3 of one stored object, streamed so large objects need no extra memory, how it is
/// sealed if it is an encryption envelope, and its remote version tag.
async fn hash_object(
    tier: &super::tier::Tier,
    key: &str,
    size: u64,
) -> Result<(String, Option<Sealed>, Option<String>)> {
    let checksum = hash_stored(tier, key, size).await?;
    let head = tier
        .read(key, Some(0..size.min(MAX_HEADER_LEN as u64)), size, None)
        .await?;
    let etag = tier.etag(key).await.unwrap_or(None);
    Ok((checksum, sealed_by(&head, size), etag))
}

/// Reads the envelope header at the start of `head`, if the object is one.
fn sealed_by(head: &[u8], size: u64) -> Option<Sealed> {
    if !crate::crypto::is_encrypted(head) {
        return None;
    }
    let (header, header_len) = EnvelopeHeader::parse(head).ok()?;
    let plain_size = header.plaintext_len(header_len, size).ok()?;
    Some(Sealed {
        key_id: header.key_id.clone(),
        format: header.version,
        plain_size,
        object_id: Some(header.object_id()),
    })
}
