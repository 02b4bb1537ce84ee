//! Tier-to-tier sync: make a destination tier hold what a source tier holds.
//!
//! The destination is another tier of this store (a replica the index does not point at: the
//! object stays where it is, the copy sits at the same key in the other tier) or a tier of
//! another store (another lake's data root: the copies become that lake's objects, recorded in
//! its tier index through the same journaled put as any write, sealed records kept sealed).
//!
//! A run is incremental: the source side comes from the tier index (key, stored size, BLAKE3
//! of the stored bytes), the destination side from a listing of the destination tier (what is
//! there, how large) and, for checksums, from the other lake's index or from the copies this
//! lake's earlier runs verified (`_sync/`, see `sync_journal`). An unchanged object is not
//! read. A copy moves the stored bytes (an envelope stays an envelope), checks them against
//! the source checksum on the way, and reads the copy back to verify it before it is recorded.
//! Each verified copy is journaled at once, so a run killed halfway is finished by the next one
//! without copying again what it had verified. Copies run concurrently (bounded).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use futures::StreamExt;
use serde::Serialize;

use super::index::ObjectRecord;
use super::sync_journal::{Copied, SyncJournal};
use super::tier::Tier;
use super::Store;
use crate::error::{Error, Result};

pub use super::sync_journal::SYNC_DIR;

/// Where a sync copies to.
#[derive(Clone, Copy)]
pub enum SyncDest<'a> {
    /// Another tier of the same store: copies at the same keys, which the index does not
    /// point at (the objects stay where they are).
    Tier(&'a str),
    /// A tier of another open store (another lake): the copies become its objects.
    Store {
        /// The other store.
        store: &'a Store,
        /// Its tier.
        tier: &'a str,
    },
}

/// A sync as the lake takes it (`Lake::sync`, `strata sync`).
#[derive(Debug, Clone, Default)]
pub struct SyncRequest {
    /// The source tier of this lake.
    pub source: String,
    /// The destination tier: of this lake, or of the lake `dest_config` describes.
    pub dest: String,
    /// Another lake's configuration, whose tier `dest` receives the copies (opened, with its
    /// lock, for the sync).
    pub dest_config: Option<crate::config::LakeConfig>,
    /// Prefix, dry run, delete, verify, concurrency and limit.
    pub options: SyncOptions,
}

/// Options of a sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Only objects whose keys start with this ("" for all).
    pub prefix: String,
    /// Plan and report, change nothing.
    pub dry_run: bool,
    /// Also delete from the destination what the source no longer holds (under the prefix).
    /// Within one lake only copies an earlier sync made are deleted, never the destination
    /// tier's own objects.
    pub delete: bool,
    /// Read every copy the destination already holds back and compare its checksum (slow;
    /// finds copies damaged since they were made, which are then copied again).
    pub verify: bool,
    /// Objects copied at once: 1 to 1024.
    pub concurrency: usize,
    /// Copy at most this many objects in this run; the rest is left for the next one.
    pub limit: Option<u64>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            prefix: String::new(),
            dry_run: false,
            delete: false,
            verify: false,
            concurrency: 8,
            limit: None,
        }
    }
}

/// What a sync does to one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncActionKind {
    /// Copy the stored bytes to the destination.
    Copy,
    /// Delete the destination's copy.
    Delete,
}

/// One planned step of a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncAction {
    /// The object's key.
    pub key: String,
    /// What happens.
    pub action: SyncActionKind,
    /// Stored bytes (copies; 0 for deletes).
    pub size: u64,
    /// Why, in words.
    pub reason: String,
}

/// How one step went.
#[derive(Debug, Clone, Serialize)]
pub struct SyncOutcome {
    /// The step.
    #[serde(flatten)]
    pub planned: SyncAction,
    /// None on success (or in a dry run), else the error.
    pub error: Option<String>,
}

/// The result of a sync.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// The source tier.
    pub source: String,
    /// The destination tier.
    pub dest: String,
    /// The other lake's data root, when the destination is another lake's tier.
    pub dest_lake: Option<String>,
    /// Whether this was a dry run (nothing changed; `actions` is the plan).
    pub dry_run: bool,
    /// Objects in the source under the prefix.
    pub source_objects: u64,
    /// Objects copied (in a dry run: to be copied).
    pub copied: u64,
    /// Stored bytes copied (or to be).
    pub bytes_copied: u64,
    /// Objects already in the destination, unchanged: not read, not copied.
    pub skipped: u64,
    /// Destination copies deleted (or to be).
    pub deleted: u64,
    /// Steps that failed; the next run retries them.
    pub failed: u64,
    /// Copies left for the next run by `limit`.
    pub remaining: u64,
    /// Verified copies of an interrupted run found in the journal (not made again).
    pub resumed: u64,
    /// Destination copies found damaged by `verify` (copied again).
    pub damaged: u64,
    /// Every copy and delete, planned or done.
    pub actions: Vec<SyncOutcome>,
}

/// What one step left: a verified copy, a delete, or nothing (the source changed meanwhile).
enum Done {
    Copied(String, u64),
    Deleted,
    Nothing,
}

impl Store {
    /// Makes tier `dest` hold what tier `source` of this store holds (under
    /// `options.prefix`). `progress(done, total)` as steps end. Failed steps are reported,
    /// not fatal; the next run retries them.
    pub fn sync(
        &self,
        source: &str,
        dest: SyncDest<'_>,
        options: &SyncOptions,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<SyncReport> {
        if !(1..=1024).contains(&options.concurrency) {
            return Err(Error::invalid(format!(
                "sync concurrency {} is outside 1 to 1024",
                options.concurrency
            )));
        }
        let (dst_store, dst_name) = match dest {
            SyncDest::Tier(name) => (self, name),
            SyncDest::Store { store, tier } => (store, tier),
        };
        let same = std::ptr::eq(dst_store, self);
        let src = named_tier(self, source)?;
        let dst = named_tier(dst_store, dst_name)?;
        if same && source == dst_name {
            return Err(Error::invalid("a tier cannot be synced to itself").with("tier", source));
        }
        if !same && dst_store.dir() == self.dir() {
            return Err(Error::invalid(
                "the destination config names this lake's own data root; name the tier instead",
            ));
        }
        let dest_place = if same {
            format!("{}|{}", dst.name, dst.location)
        } else {
            format!(
                "{}|{}|{}",
                dst.name,
                dst.location,
                dst_store.dir().display()
            )
        };
        let mut journal = SyncJournal::open(
            self.dir(),
            &format!("{}|{}", src.name, src.location),
            &dest_place,
        )?;
        let mut report = SyncReport {
            source: source.to_string(),
            dest: dst_name.to_string(),
            dest_lake: (!same).then(|| dst_store.dir().display().to_string()),
            dry_run: options.dry_run,
            resumed: journal.replayed,
            ..SyncReport::default()
        };

        self.flush_reads()?;
        let sources: BTreeMap<String, ObjectRecord> = self
            .index
            .list(&options.prefix)?
            .into_iter()
            .filter(|(_, r)| r.tier == src.name)
            .collect();
        report.source_objects = sources.len() as u64;
        // What the destination holds: its listing for presence and size, and checksums from
        // the other lake's index or from the copies this lake verified.
        let listed: HashMap<String, u64> = self
            .runtime
            .block_on(dst.list())??
            .objects
            .into_iter()
            .filter(|(k, _, _)| k.starts_with(&options.prefix))
            .map(|(k, size, _)| (k, size))
            .collect();
        let known: HashMap<String, Copied> = if same {
            journal
                .objects
                .range(options.prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&options.prefix))
                .map(|(k, c)| (k.clone(), c.clone()))
                .collect()
        } else {
            dst_store
                .index
                .list(&options.prefix)?
                .into_iter()
                .filter(|(_, r)| r.tier == dst.name)
                .map(|(k, r)| {
                    let copied = Copied {
                        checksum: r.checksum,
                        size: r.size,
                    };
                    (k, copied)
                })
                .collect()
        };

        let mut plan = Vec::new();
        let mut unchanged = Vec::new();
        for (key, record) in &sources {
            let reason = match (known.get(key), listed.get(key)) {
                (Some(c), Some(&size))
                    if c.checksum == record.checksum && c.size == record.size && size == c.size =>
                {
                    unchanged.push((key.clone(), c.clone()));
                    continue;
                }
                (_, None) => "not in the destination",
                (Some(c), Some(_)) if c.checksum != record.checksum => "changed in the source",
                (_, Some(&size)) if size != record.size => "differs in size in the destination",
                _ => "not known to be the same in the destination",
            };
            plan.push(copy_action(key, record.size, reason));
        }
        if options.verify {
            let damaged = self.runtime.block_on(async {
                futures::stream::iter(&unchanged)
                    .map(|(key, c)| async move {
                        match super::write::hash_stored(dst, key, c.size).await {
                            Ok(found) if found == c.checksum => None,
                            _ => Some(key.clone()),
                        }
                    })
                    .buffer_unordered(options.concurrency)
                    .filter_map(|k| async move { k })
                    .collect::<BTreeSet<String>>()
                    .await
            })?;
            report.damaged = damaged.len() as u64;
            for key in &damaged {
                if let Some(record) = sources.get(key) {
                    plan.push(copy_action(key, record.size, "damaged in the destination"));
                }
            }
            unchanged.retain(|(k, _)| !damaged.contains(k));
        }
        report.skipped = unchanged.len() as u64;
        if options.delete {
            let mut gone = Vec::new();
            for key in known.keys() {
                if sources.contains_key(key) {
                    continue;
                }
                if same && self.index.get(key)?.is_some_and(|r| r.tier == dst.name) {
                    // The destination tier's own object now (moved there since): not a copy.
                    gone.push(key.clone());
                    continue;
                }
                if same && !listed.contains_key(key) {
                    gone.push(key.clone());
                    continue;
                }
                plan.push(SyncAction {
                    key: key.clone(),
                    action: SyncActionKind::Delete,
                    size: 0,
                    reason: "no longer in the source".into(),
                });
            }
            if !options.dry_run {
                for key in gone {
                    journal.removed(&key)?;
                }
            }
        }
        plan.sort_by(|a, b| a.key.cmp(&b.key));
        if let Some(limit) = options.limit {
            let mut copies = 0u64;
            plan.retain(|a| {
                if a.action != SyncActionKind::Copy {
                    return true;
                }
                copies += 1;
                copies <= limit
            });
            report.remaining = copies.saturating_sub(limit);
        }

        if options.dry_run {
            for planned in plan {
                match planned.action {
                    SyncActionKind::Copy => {
                        report.copied += 1;
                        report.bytes_copied += planned.size;
                    }
                    SyncActionKind::Delete => report.deleted += 1,
                }
                report.actions.push(SyncOutcome {
                    planned,
                    error: None,
                });
            }
            return Ok(report);
        }

        let total = plan.len() as u64;
        progress(0, total);
        let src_arc = Arc::clone(self.tier_arc(&src.name)?);
        let dst_arc = Arc::clone(dst_store.tier_arc(&dst.name)?);
        let step = |planned: SyncAction| {
            let (src, dst) = (&src_arc, &dst_arc);
            async move {
                let done = match planned.action {
                    SyncActionKind::Copy => self.sync_copy(src, dst_store, dst, &planned.key).await,
                    SyncActionKind::Delete => {
                        self.sync_delete(dst_store, dst, &planned.key, same).await
                    }
                };
                (planned, done)
            }
        };
        let outcomes = self.runtime.block_on(async {
            let mut stream = futures::stream::iter(plan)
                .map(step)
                .buffer_unordered(options.concurrency);
            let mut outcomes = Vec::new();
            let mut n = 0;
            while let Some((planned, done)) = stream.next().await {
                // Journaled as each step ends: a kill after this line keeps it.
                let done = match done {
                    Ok(Done::Copied(checksum, size)) => journal
                        .copied(&planned.key, &checksum, size)
                        .map(|()| Some(size)),
                    Ok(Done::Deleted) => journal.removed(&planned.key).map(|()| Some(0)),
                    Ok(Done::Nothing) => Ok(None),
                    Err(e) => Err(e),
                };
                n += 1;
                progress(n, total);
                outcomes.push((planned, done));
            }
            outcomes
        })?;
        for (planned, done) in outcomes {
            match (&done, planned.action) {
                (Ok(Some(size)), SyncActionKind::Copy) => {
                    report.copied += 1;
                    report.bytes_copied += size;
                }
                (Ok(Some(_)), SyncActionKind::Delete) => report.deleted += 1,
                (Ok(None), _) => {}
                (Err(_), _) => report.failed += 1,
            }
            report.actions.push(SyncOutcome {
                planned,
                error: done.err().map(|e| e.to_string()),
            });
        }
        report
            .actions
            .sort_by(|a, b| a.planned.key.cmp(&b.planned.key));
        journal.checkpoint()?;
        Ok(report)
    }

    /// Copies the stored bytes of `key` from `src` into `dst` (of `dst_store`), checks them
    /// against the source checksum on the way and reads the copy back.
    async fn sync_copy(
        &self,
        src: &Tier,
        dst_store: &Store,
        dst: &Tier,
        key: &str,
    ) -> Result<Done> {
        let _guard = self.locks.key(key).await;
        let record = match self.index.get(key)? {
            Some(r) if r.tier == src.name => r,
            // Moved, overwritten elsewhere or deleted since the plan: the next run sees it.
            _ => return Ok(Done::Nothing),
        };
        let data = src
            .read(key, None, record.size, record.etag.as_deref())
            .await?;
        if blake3::hash(&data).to_hex().as_str() != record.checksum {
            return Err(Error::corrupt(format!(
                "object in tier {} does not match its checksum; not copied",
                src.name
            ))
            .with("key", key));
        }
        let threshold = dst_store.config.multipart_threshold;
        if std::ptr::eq(dst_store, self) {
            let etag = dst.write(key, data, threshold).await?;
            if let Err(e) = verify_copy(dst, key, &record, etag.as_deref()).await {
                // The index points at the source, never at this copy: drop it.
                let _ = dst.delete(key).await;
                return Err(e);
            }
        } else {
            let _dest_guard = dst_store.locks.key(key).await;
            let staged = dst
                .stage(key, data, threshold)
                .await
                .map_err(|e| e.with("key", key))?;
            let mut copy = ObjectRecord::new(
                &dst.name,
                record.size,
                record.checksum.clone(),
                record.created_ms,
            );
            copy.enc = record.enc.clone();
            dst_store.publish_at(key, dst, staged, copy).await?;
            let verified = verify_copy(dst, key, &record, None).await;
            dst_store.cache_after_write(key, None);
            if let Err(e) = verified {
                // Not to be served: the other lake forgets the damaged copy.
                if let Ok((_, tiers)) = dst_store.index.commit_delete(key) {
                    for tier in tiers {
                        let _ = dst_store.remove_orphan_locked(&tier, key).await;
                    }
                }
                return Err(e);
            }
        }
        Ok(Done::Copied(record.checksum, record.size))
    }

    /// Deletes the destination's copy of `key`, unless it became an object of the
    /// destination tier itself (within one lake).
    async fn sync_delete(
        &self,
        dst_store: &Store,
        dst: &Tier,
        key: &str,
        same: bool,
    ) -> Result<Done> {
        if same {
            let _guard = self.locks.key(key).await;
            if self.index.get(key)?.is_some_and(|r| r.tier == dst.name) {
                return Ok(Done::Deleted);
            }
            dst.delete(key).await?;
            return Ok(Done::Deleted);
        }
        let _guard = dst_store.locks.key(key).await;
        if dst_store.index.get(key)?.is_none_or(|r| r.tier != dst.name) {
            return Ok(Done::Deleted);
        }
        let (_, tiers) = {
            let _view = dst_store.locks.publishing(key).await;
            dst_store.index.commit_delete(key)?
        };
        for tier in tiers {
            let _ = dst_store.remove_orphan_locked(&tier, key).await;
        }
        dst_store.cache_after_write(key, None);
        Ok(Done::Deleted)
    }
}

fn copy_action(key: &str, size: u64, reason: &str) -> SyncAction {
    SyncAction {
        key: key.to_string(),
        action: SyncActionKind::Copy,
        size,
        reason: reason.to_string(),
    }
}

fn named_tier<'a>(store: &'a Store, name: &str) -> Result<&'a Tier> {
    store
        .tiers
        .iter()
        .find(|t| t.name == name)
        .map(|t| t.as_ref())
        .ok_or_else(|| {
            Error::not_found(format!(
                "no tier {name:?} (tiers: {})",
                store.tier_names().join(", ")
            ))
            .with("tier", name)
        })
}

/// Reads the copy back and compares it with the source's size and checksum.
async fn verify_copy(
    dst: &Tier,
    key: &str,
    record: &ObjectRecord,
    etag: Option<&str>,
) -> Result<()> {
    let copied = dst.read(key, None, record.size, etag).await?;
    if blake3::hash(&copied).to_hex().as_str() != record.checksum {
        return Err(Error::corrupt(format!(
            "the copy in tier {} does not match the source checksum",
            dst.name
        ))
        .with("key", key));
    }
    Ok(())
}
