//! Lifecycle and retention: planning tier actions from policies and carrying them out.
//!
//! A move between tiers is crash-safe: the intent is journaled in the index, the object is
//! copied, the copy is read back and its checksum verified, the index is pointed at the new
//! copy (which also marks the old one an orphan), and only then is the source deleted. A
//! process killed at any step leaves the object readable from the tier the index names, and the
//! next run finishes the move and removes orphans.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;

use super::index::{MoveIntent, ObjectRecord, Resealed};
use super::tier::Tier;
use super::{now_ms, to_ms, Store};
use crate::config::LifecycleRule;
use crate::error::{Error, Result};

/// What a tier run does to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Move to a colder tier.
    Demote,
    /// Move to a hotter tier.
    Promote,
    /// Delete under a retention rule.
    Expire,
    /// Finish a move that an earlier run began.
    ResumeMove,
    /// Delete a copy that nothing refers to any more.
    RemoveOrphan,
}

/// One planned action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierAction {
    /// The object's key.
    pub key: String,
    /// What happens.
    pub action: ActionKind,
    /// The tier the object is in.
    pub from: String,
    /// The tier it goes to (moves only).
    pub to: Option<String>,
    /// Size in bytes (0 if unknown).
    pub size: u64,
    /// Why, in words.
    pub reason: String,
}

impl std::fmt::Display for TierAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {} [{}", self.action, self.key, self.from)?;
        if let Some(to) = &self.to {
            write!(f, " -> {to}")?;
        }
        write!(f, "]: {}", self.reason)
    }
}

/// Options of a tier run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Plan and report, change nothing.
    pub dry_run: bool,
    /// The time policies are evaluated at (default now); lets callers preview the future.
    pub now: Option<SystemTime>,
    /// Objects moved at once.
    pub concurrency: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            dry_run: false,
            now: None,
            concurrency: 8,
        }
    }
}

/// How one action went.
#[derive(Debug, Clone, Serialize)]
pub struct ActionOutcome {
    /// The action.
    #[serde(flatten)]
    pub planned: TierAction,
    /// None on success (or in a dry run), else the error.
    pub error: Option<String>,
}

/// The result of a tier run.
#[derive(Debug, Clone, Serialize, Default)]
pub struct TierRunReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Every action, planned or done.
    pub actions: Vec<ActionOutcome>,
    /// Objects moved between tiers.
    pub moved: u64,
    /// Bytes moved between tiers.
    pub bytes_moved: u64,
    /// Objects deleted by retention.
    pub expired: u64,
    /// Orphaned copies removed.
    pub orphans_removed: u64,
    /// Actions that failed.
    pub failed: u64,
    /// Table rows deleted by `[[table_retention]]` (or that would be, in a dry run); the
    /// lake's run fills it.
    pub table_rows_expired: u64,
    /// Table retention deletes (`table: rule: rows`) and the vacuums of erased rows' files
    /// once their retention window passed (`table: erasure vacuum: n files`); the lake's run
    /// fills it.
    pub table_retention: Vec<String>,
}

impl Store {
    /// Plans the actions the policies call for at `now`, without changing anything.
    pub fn plan_tiers(&self, now: SystemTime) -> Result<Vec<TierAction>> {
        self.flush_reads()?;
        let now_ms = to_ms(now);
        let mut actions = Vec::new();
        for (key, intent) in self.index.moves()? {
            actions.push(TierAction {
                key,
                action: ActionKind::ResumeMove,
                from: intent.from,
                to: Some(intent.to),
                size: 0,
                reason: "a previous run stopped during this move".into(),
            });
        }
        for (tier, key) in self.index.orphans()? {
            actions.push(TierAction {
                key,
                action: ActionKind::RemoveOrphan,
                from: tier,
                to: None,
                size: 0,
                reason: "copy left behind by a move, overwrite or delete".into(),
            });
        }
        let busy: std::collections::HashSet<String> =
            actions.iter().map(|a| a.key.clone()).collect();
        for (key, record) in self.index.list("")? {
            if busy.contains(&key) {
                continue;
            }
            if let Some(action) = self.plan_object(&key, &record, now_ms) {
                actions.push(action);
            }
        }
        Ok(actions)
    }

    fn plan_object(&self, key: &str, record: &ObjectRecord, now_ms: u64) -> Option<TierAction> {
        let age = Duration::from_millis(now_ms.saturating_sub(record.created_ms));
        let idle = Duration::from_millis(now_ms.saturating_sub(record.last_access_ms));
        let action = |kind, to: Option<&str>, reason: String| TierAction {
            key: key.to_string(),
            action: kind,
            from: record.tier.clone(),
            to: to.map(str::to_string),
            size: record.size,
            reason,
        };
        if let Some(rule) = self
            .config
            .retention
            .iter()
            .find(|r| key.starts_with(&r.prefix) && age >= r.delete_after)
        {
            return Some(action(
                ActionKind::Expire,
                None,
                format!(
                    "older than {} (retention for prefix {:?})",
                    humantime::format_duration(rule.delete_after),
                    rule.prefix
                ),
            ));
        }
        let rule: &LifecycleRule = self
            .config
            .lifecycle
            .iter()
            .find(|r| key.starts_with(&r.prefix))?;
        let pos = self.tier_position(&record.tier)?;
        if let Some(n) = rule.promote_after_reads {
            let window = rule.promote_window.unwrap_or(Duration::from_secs(3600));
            let in_window =
                now_ms.saturating_sub(record.window_start_ms) <= window.as_millis() as u64;
            if pos > 0 && in_window && record.window_reads >= n {
                let to = &self.tiers[pos - 1].name;
                return Some(action(
                    ActionKind::Promote,
                    Some(to),
                    format!(
                        "{} reads within {}",
                        record.window_reads,
                        humantime::format_duration(window)
                    ),
                ));
            }
        }
        let target = match &rule.demote_to {
            Some(name) => self.tier_position(name).filter(|&t| t > pos)?,
            None if pos + 1 < self.tiers.len() => pos + 1,
            None => return None,
        };
        let reason = match (rule.demote_after_age, rule.demote_after_idle) {
            (Some(limit), _) if age >= limit => {
                format!("older than {}", humantime::format_duration(limit))
            }
            (_, Some(limit)) if idle >= limit => {
                format!("not read for {}", humantime::format_duration(limit))
            }
            _ => return None,
        };
        Some(action(
            ActionKind::Demote,
            Some(&self.tiers[target].name),
            reason,
        ))
    }

    /// Applies the policies: finishes interrupted moves, removes orphans, expires, demotes and
    /// promotes. `progress(done, total)` is called as actions complete. Failed actions are
    /// reported, not fatal; the next run retries them.
    pub fn run_tiers(
        &self,
        options: &RunOptions,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<TierRunReport> {
        let plan = self.plan_tiers(options.now.unwrap_or_else(SystemTime::now))?;
        let mut report = TierRunReport {
            dry_run: options.dry_run,
            ..TierRunReport::default()
        };
        if options.dry_run {
            report.actions = plan
                .into_iter()
                .map(|planned| ActionOutcome {
                    planned,
                    error: None,
                })
                .collect();
            return Ok(report);
        }
        let total = plan.len() as u64;
        let done = AtomicU64::new(0);
        progress(0, total);
        // The plan never holds two actions for one key, so they can run concurrently.
        let outcomes = self.runtime.block_on(async {
            futures::stream::iter(plan)
                .map(|planned| async {
                    let result = self.apply(&planned).await;
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                    (planned, result)
                })
                .buffered(options.concurrency.max(1))
                .collect::<Vec<_>>()
                .await
        })?;
        for (planned, result) in outcomes {
            match &result {
                Ok(bytes) => match planned.action {
                    ActionKind::Demote | ActionKind::Promote | ActionKind::ResumeMove => {
                        report.moved += 1;
                        report.bytes_moved += bytes;
                    }
                    ActionKind::Expire => report.expired += 1,
                    ActionKind::RemoveOrphan => report.orphans_removed += 1,
                },
                Err(_) => report.failed += 1,
            }
            report.actions.push(ActionOutcome {
                planned,
                error: result.err().map(|e| e.to_string()),
            });
        }
        Ok(report)
    }

    /// Moves one object to tier `to` now, whatever the policies say (the advisor's tier
    /// advice): the same crash-safe copy, verify, commit and delete as a tier run's move.
    /// Returns the bytes moved; 0 when the object is already on `to`.
    pub fn move_to_tier(&self, key: &str, to: &str) -> Result<u64> {
        let rank = |name: &str| {
            self.tiers
                .iter()
                .position(|t| t.name == name)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "no tier named {name:?}; the tiers are {}",
                        self.tier_names().join(", ")
                    ))
                })
        };
        let target = rank(to)?;
        let record = self
            .index
            .get(key)?
            .ok_or_else(|| Error::not_found(format!("no object {key:?}")))?;
        if record.tier == to {
            return Ok(0);
        }
        let action = TierAction {
            key: key.to_string(),
            action: if target < rank(&record.tier)? {
                ActionKind::Promote
            } else {
                ActionKind::Demote
            },
            from: record.tier.clone(),
            to: Some(to.to_string()),
            size: record.size,
            reason: "moved on request".into(),
        };
        self.runtime.block_on(self.apply(&action))?
    }

    async fn apply(&self, action: &TierAction) -> Result<u64> {
        let key = action.key.as_str();
        let _guard = self.locks.key(key).await;
        match action.action {
            ActionKind::Expire => {
                // Only expire what the plan saw: an overwrite since then is a new object.
                match self.index.get(key)? {
                    Some(r) if r.tier == action.from => {}
                    _ => return Ok(0),
                }
                let (_, tiers) = self.index.commit_delete(key)?;
                for tier in tiers {
                    self.remove_orphan_locked(&tier, key).await?;
                }
                Ok(0)
            }
            ActionKind::RemoveOrphan => {
                self.remove_orphan_locked(&action.from, key).await?;
                Ok(0)
            }
            ActionKind::Demote | ActionKind::Promote => {
                let to = action
                    .to
                    .as_deref()
                    .ok_or_else(|| Error::internal("move without target"))?;
                let Some(record) = self.index.get(key)? else {
                    return Ok(0);
                };
                if record.tier != action.from {
                    return Ok(0);
                }
                let intent = MoveIntent {
                    from: record.tier.clone(),
                    to: to.to_string(),
                    checksum: record.checksum.clone(),
                    started_ms: now_ms(),
                };
                self.index.begin_move(key, &intent)?;
                self.finish_move(key, &intent, record.size).await
            }
            ActionKind::ResumeMove => {
                let intent = self
                    .index
                    .moves()?
                    .into_iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, i)| i);
                let Some(intent) = intent else { return Ok(0) };
                let size = self.index.get(key)?.map(|r| r.size).unwrap_or(0);
                self.finish_move(key, &intent, size).await
            }
        }
    }

    /// Copy, verify, commit, delete source. Safe to repeat from the start at any point.
    /// The caller holds the key's guard.
    async fn finish_move(&self, key: &str, intent: &MoveIntent, size: u64) -> Result<u64> {
        let from = self.tier(&intent.from)?;
        let to = self.tier(&intent.to)?;
        let record = self
            .index
            .get(key)?
            .filter(|r| r.tier == intent.from && r.checksum == intent.checksum);
        let mut resealed = None;
        let mut etag = None;
        if let Some(record) = record {
            if record.enc.is_none() && self.config.encryption.tiers.contains(&to.name) {
                resealed = Some(self.seal_into(from, to, key, intent, size).await?);
            } else if let Some(r) = self
                .reencode_into(from, to, key, intent, size, &record)
                .await?
            {
                resealed = Some(r);
            } else {
                let data = from.read(key, None, size, record.etag.as_deref()).await?;
                etag = to.write(key, data, self.config.multipart_threshold).await?;
                verify_copy(to, key, size, &intent.checksum, etag.as_deref()).await?;
            }
        }
        if let Some(r) = &resealed {
            etag = r.etag.clone();
        }
        if self
            .index
            .commit_move(key, intent, resealed.as_ref(), etag)?
        {
            self.remove_orphan_locked(&intent.from, key).await?;
            Ok(size)
        } else {
            // Changed meanwhile: the stray copy was recorded as an orphan; remove it now.
            let _ = self.remove_orphan_locked(&intent.to, key).await;
            Ok(0)
        }
    }
}

impl Store {
    /// Moves a plaintext object into a tier whose policy encrypts: reads and verifies the
    /// plaintext, seals it under the active key, writes and verifies the envelope. The index
    /// still points at the source until the caller commits, so a crash here loses nothing.
    async fn seal_into(
        &self,
        from: &Tier,
        to: &Tier,
        key: &str,
        intent: &MoveIntent,
        size: u64,
    ) -> Result<Resealed> {
        let plain = from.read(key, None, size, None).await?;
        if blake3::hash(&plain).to_hex().as_str() != intent.checksum {
            return Err(Error::corrupt(format!(
                "object in tier {} does not match its checksum; not moved",
                from.name
            ))
            .with("key", key));
        }
        let (sealed, enc) = self.seal_bytes(key, &plain)?;
        drop(plain);
        let checksum = blake3::hash(&sealed).to_hex().to_string();
        let stored = sealed.len() as u64;
        let etag = to
            .write(key, Bytes::from(sealed), self.config.multipart_threshold)
            .await?;
        verify_copy(to, key, stored, &checksum, etag.as_deref()).await?;
        Ok(Resealed {
            size: stored,
            checksum,
            enc: Some(enc),
            etag,
        })
    }
}

impl Store {
    /// On demotion of a plaintext `.parquet` object with `format.reencode_on_demotion` set:
    /// re-encodes it with the demotion hook (the lake's: the target tier's codec policy, and a
    /// check that the new file decodes to the same rows), writes and verifies the copy. None when the hook does not apply or the new
    /// file would not be smaller (the caller then copies the object as it is). The index still
    /// points at the source until the caller commits, so a crash here loses nothing.
    async fn reencode_into(
        &self,
        from: &Tier,
        to: &Tier,
        key: &str,
        intent: &MoveIntent,
        size: u64,
        record: &ObjectRecord,
    ) -> Result<Option<Resealed>> {
        let (Some(from_pos), Some(to_pos)) =
            (self.tier_position(&from.name), self.tier_position(&to.name))
        else {
            return Ok(None);
        };
        let Some(hook) = self.demotion.clone() else {
            return Ok(None);
        };
        if !self.config.format.reencode_on_demotion
            || record.enc.is_some()
            || to_pos <= from_pos
            || !key.ends_with(".parquet")
        {
            return Ok(None);
        }
        let plain = from.read(key, None, size, record.etag.as_deref()).await?;
        if blake3::hash(&plain).to_hex().as_str() != intent.checksum {
            return Err(Error::corrupt(format!(
                "object in tier {} does not match its checksum; not moved",
                from.name
            ))
            .with("key", key));
        }
        let to_name = to.name.clone();
        let encoded = tokio::task::spawn_blocking(move || hook(plain, &to_name, to_pos))
            .await
            .map_err(|e| Error::internal(format!("re-encode task failed: {e}")))?;
        let encoded = match encoded {
            Ok(bytes) if (bytes.len() as u64) < size => bytes,
            // Not Parquet after all, or no smaller: moved as it is.
            Ok(_) | Err(_) => return Ok(None),
        };
        let checksum = blake3::hash(&encoded).to_hex().to_string();
        let stored = encoded.len() as u64;
        let etag = to
            .write(key, encoded, self.config.multipart_threshold)
            .await?;
        verify_copy(to, key, stored, &checksum, etag.as_deref()).await?;
        Ok(Some(Resealed {
            size: stored,
            checksum,
            enc: None,
            etag,
        }))
    }
}

/// Reads back a copy and compares its checksum, so a move never deletes the only good copy.
async fn verify_copy(
    to: &Tier,
    key: &str,
    size: u64,
    checksum: &str,
    etag: Option<&str>,
) -> Result<()> {
    let copied = to.read(key, None, size, etag).await?;
    if blake3::hash(&copied).to_hex().as_str() != checksum {
        return Err(Error::corrupt(format!(
            "copy in tier {} does not match the source checksum; source kept",
            to.name
        ))
        .with("key", key));
    }
    Ok(())
}
