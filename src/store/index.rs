//! The tier index: where every object lives, in an embedded ACID store (redb).
//!
//! The index is a cache of facts the tiers themselves hold (which keys exist where, their sizes
//! and checksums), plus access statistics and the journal of unfinished moves. Losing it loses no
//! data: `reindex` rebuilds it from the tiers. Records are JSON with a version field so later
//! versions keep reading them; the table layout has its own version in the `meta` table.

use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// Version of the table layout; bumped on any incompatible change. Format 2 added the put
/// journal (`puts`); an index of format 1 is upgraded when opened.
pub const INDEX_FORMAT: u64 = 2;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// key -> ObjectRecord (JSON).
const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
/// key -> MoveIntent (JSON): moves begun and not yet committed.
const MOVES: TableDefinition<&str, &[u8]> = TableDefinition::new("moves");
/// (tier, key) -> checksum hex: copies that are no longer referenced and must be deleted.
const ORPHANS: TableDefinition<(&str, &str), &str> = TableDefinition::new("orphans");
/// key -> PutIntent (JSON): puts whose index record is committed and whose bytes may not be
/// visible yet (the rename or upload had not finished when the journal entry was written).
const PUTS: TableDefinition<&str, &[u8]> = TableDefinition::new("puts");

/// What the index knows of one object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ObjectRecord {
    /// Record format version.
    pub v: u32,
    pub tier: String,
    pub size: u64,
    /// BLAKE3 of the whole object, hex.
    pub checksum: String,
    pub created_ms: u64,
    #[serde(default)]
    pub last_access_ms: u64,
    #[serde(default)]
    pub access_count: u64,
    /// Start of the current promotion window and the reads within it.
    #[serde(default)]
    pub window_start_ms: u64,
    #[serde(default)]
    pub window_reads: u32,
    /// Set when the stored bytes are an encryption envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enc: Option<Sealed>,
    /// The remote tier's version tag of the stored bytes, when it gave one: reads of that
    /// version only (a replaced object is not read half old, half new).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// How an encrypted object is sealed; the envelope header itself is the authority.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Sealed {
    pub key_id: String,
    /// Envelope format version.
    pub format: u8,
    /// Plaintext length.
    pub plain_size: u64,
    /// The envelope's random object id, hex: every read checks that the envelope in the tier
    /// is this one (a swapped or restored envelope is refused). Absent in records written
    /// before strata checked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
}

/// A copy whose bytes differ from the source: sealed on its way into a tier whose policy
/// encrypts, or a Parquet object re-encoded for a colder tier.
#[derive(Debug, Clone)]
pub(crate) struct Resealed {
    /// Stored (envelope) size.
    pub size: u64,
    /// BLAKE3 of the envelope, hex.
    pub checksum: String,
    /// The envelope, or None when the copy is plaintext (a Parquet object re-encoded).
    pub enc: Option<Sealed>,
    /// The remote version tag of the copy.
    pub etag: Option<String>,
}

impl ObjectRecord {
    pub fn new(tier: &str, size: u64, checksum: String, created_ms: u64) -> Self {
        ObjectRecord {
            v: 1,
            tier: tier.to_string(),
            size,
            checksum,
            created_ms,
            last_access_ms: created_ms,
            access_count: 0,
            window_start_ms: created_ms,
            window_reads: 0,
            enc: None,
            etag: None,
        }
    }

    /// The object's size as its readers see it (plaintext when encrypted).
    pub fn plain_size(&self) -> u64 {
        self.enc.as_ref().map_or(self.size, |e| e.plain_size)
    }

    /// Counts a read at `at_ms` towards the access statistics and the promotion window.
    pub fn note_read(&mut self, at_ms: u64, window_ms: u64) {
        self.access_count += 1;
        self.last_access_ms = self.last_access_ms.max(at_ms);
        if at_ms.saturating_sub(self.window_start_ms) > window_ms || self.window_reads == 0 {
            self.window_start_ms = at_ms;
            self.window_reads = 1;
        } else {
            self.window_reads = self.window_reads.saturating_add(1);
        }
    }

    fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| Error::internal(format!("encode record: {e}")))
    }

    fn decode(key: &str, bytes: &[u8]) -> Result<Self> {
        let record: ObjectRecord = serde_json::from_slice(bytes).map_err(|e| {
            Error::corrupt(format!("tier index record is unreadable: {e}")).with("key", key)
        })?;
        if record.v != 1 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "tier index record version {} is newer than this strata",
                    record.v
                ),
            )
            .with("key", key));
        }
        Ok(record)
    }
}

/// A move begun and not yet committed; the next `tier run` finishes or redoes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct MoveIntent {
    pub from: String,
    pub to: String,
    pub checksum: String,
    pub started_ms: u64,
}

/// A put whose record is committed but whose bytes may not be in place yet. The next open
/// looks at the tier and keeps the new record or restores `old`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct PutIntent {
    pub tier: String,
    /// The local staging file being renamed into place (local tiers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staging: Option<String>,
    /// BLAKE3 of the new stored bytes, hex.
    pub checksum: String,
    /// The record the put commits.
    pub new: ObjectRecord,
    /// The record the put replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<ObjectRecord>,
    pub started_ms: u64,
    /// The orphan entry of this tier's copy of the key that the put dropped (its checksum,
    /// "" for any): put back when the put does not land, or a reindex would find that copy
    /// (a deleted version's, say) and bring it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_orphan: Option<String>,
}

impl Drop for TierIndex {
    fn drop(&mut self) {
        // SAFETY: `db` is never used again; this is the only place it is dropped.
        let db = unsafe { std::mem::ManuallyDrop::take(&mut self.db) };
        // Closing a damaged database may panic inside redb; a panic must not leave a drop.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(db)));
    }
}

/// Runs `f` on the index at `path`; a panic inside it becomes a [`ErrorKind::Corrupt`] error.
fn catch_damage<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("no detail");
        Err(Error::corrupt(format!(
            "the tier index is damaged ({}); run `strata tier reindex` to set it aside and \
             rebuild it from the tiers",
            what.lines().next().unwrap_or("no detail")
        ))
        .with("path", path.display()))
    })
}

/// Puts back the record a put replaced (or removes the key when it was new).
fn restore_old(
    objects: &mut redb::Table<&str, &[u8]>,
    orphans: &mut redb::Table<(&str, &str), &str>,
    key: &str,
    old: Option<&ObjectRecord>,
) -> Result<()> {
    match old {
        Some(old) => {
            objects.insert(key, old.encode()?.as_slice())?;
            orphans.remove((old.tier.as_str(), key))?;
        }
        None => {
            objects.remove(key)?;
        }
    }
    Ok(())
}

/// The open index.
pub(crate) struct TierIndex {
    /// Dropped by hand (see `Drop`): redb can panic while closing a damaged file.
    db: std::mem::ManuallyDrop<Database>,
    path: PathBuf,
}

impl TierIndex {
    /// Opens or creates the index; `true` in the result when it must be built from the tiers
    /// (new, or an earlier build did not finish).
    pub fn open(path: &Path) -> Result<(Self, bool)> {
        catch_damage(path, || Self::open_unguarded(path))
    }

    fn open_unguarded(path: &Path) -> Result<(Self, bool)> {
        let db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => Error::new(
                ErrorKind::Busy,
                "the tier index is already open in this process",
            )
            .with("path", path.display()),
            other => Error::corrupt(format!(
                "cannot open the tier index ({other}); run `strata tier reindex` to rebuild it from the tiers"
            ))
            .with("path", path.display()),
        })?;
        let index = TierIndex {
            db: std::mem::ManuallyDrop::new(db),
            path: path.to_path_buf(),
        };
        let built = index.check_format()?;
        Ok((index, !built))
    }

    /// Runs `f`, turning a panic inside redb (it panics on some damaged files instead of
    /// returning an error) into a [`ErrorKind::Corrupt`] error that says how to recover.
    fn guarded<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        catch_damage(&self.path, f)
    }

    /// Checks the layout version; returns whether the index was ever fully built.
    fn check_format(&self) -> Result<bool> {
        let txn = self.db.begin_write()?;
        let built = {
            let mut meta = txn.open_table(META)?;
            let found = meta.get("format_version")?.map(|v| v.value());
            match found {
                None => {
                    meta.insert("format_version", INDEX_FORMAT)?;
                }
                Some(v) if v == INDEX_FORMAT => {}
                // Format 1 lacks only the put journal, created below.
                Some(1) => {
                    meta.insert("format_version", INDEX_FORMAT)?;
                }
                Some(v) => {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!(
                            "tier index format {v} is not supported (this strata reads format {INDEX_FORMAT})"
                        ),
                    )
                    .with("path", self.path.display()))
                }
            }
            // Create the other tables so readers never meet a missing table.
            txn.open_table(OBJECTS)?;
            txn.open_table(MOVES)?;
            txn.open_table(ORPHANS)?;
            txn.open_table(PUTS)?;
            let built = meta.get("built")?.is_some();
            built
        };
        txn.commit()?;
        Ok(built)
    }

    fn write<T>(
        &self,
        durable: bool,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T>,
    ) -> Result<T> {
        self.guarded(|| {
            let mut txn = self.db.begin_write()?;
            if !durable {
                txn.set_durability(Durability::Eventual);
            }
            let out = f(&txn)?;
            txn.commit()?;
            Ok(out)
        })
    }

    pub fn get(&self, key: &str) -> Result<Option<ObjectRecord>> {
        self.guarded(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(OBJECTS)?;
            let value = table.get(key)?;
            value
                .map(|v| ObjectRecord::decode(key, v.value()))
                .transpose()
        })
    }

    /// Records under `prefix`, in key order.
    pub fn list(&self, prefix: &str) -> Result<Vec<(String, ObjectRecord)>> {
        self.guarded(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(OBJECTS)?;
            let mut out = Vec::new();
            for entry in table.range(prefix..)? {
                let (k, v) = entry?;
                let key = k.value();
                if !key.starts_with(prefix) {
                    break;
                }
                out.push((key.to_string(), ObjectRecord::decode(key, v.value())?));
            }
            Ok(out)
        })
    }

    /// Records a written object. If an older copy lived in another tier, it becomes an orphan.
    #[cfg(test)]
    pub fn commit_put(&self, key: &str, record: &ObjectRecord) -> Result<Option<String>> {
        let bytes = record.encode()?;
        self.write(true, |txn| {
            let mut objects = txn.open_table(OBJECTS)?;
            let old = objects
                .insert(key, bytes.as_slice())?
                .map(|v| ObjectRecord::decode(key, v.value()))
                .transpose()?;
            let mut orphans = txn.open_table(ORPHANS)?;
            orphans.remove((record.tier.as_str(), key))?;
            let stale = old.filter(|o| o.tier != record.tier).map(|o| o.tier);
            if let Some(tier) = &stale {
                orphans.insert((tier.as_str(), key), "")?;
            }
            Ok(stale)
        })
    }

    /// Commits a put's new record together with its journal entry, so that a crash before
    /// the bytes are in place can be undone. Returns the journal entry (with the record it
    /// replaced). A copy of the old
    /// version in another tier becomes an orphan, as with [`TierIndex::commit_put`].
    pub fn begin_put(
        &self,
        key: &str,
        record: &ObjectRecord,
        staging: Option<&str>,
    ) -> Result<PutIntent> {
        let bytes = record.encode()?;
        self.write(true, |txn| {
            let mut objects = txn.open_table(OBJECTS)?;
            let old = objects
                .insert(key, bytes.as_slice())?
                .map(|v| ObjectRecord::decode(key, v.value()))
                .transpose()?;
            let mut orphans = txn.open_table(ORPHANS)?;
            let dropped_orphan = orphans
                .remove((record.tier.as_str(), key))?
                .map(|v| v.value().to_string());
            if let Some(o) = old.as_ref().filter(|o| o.tier != record.tier) {
                orphans.insert((o.tier.as_str(), key), o.checksum.as_str())?;
            }
            let intent = PutIntent {
                tier: record.tier.clone(),
                staging: staging.map(str::to_string),
                checksum: record.checksum.clone(),
                new: record.clone(),
                old: old.clone(),
                started_ms: record.created_ms,
                dropped_orphan,
            };
            let encoded = serde_json::to_vec(&intent)
                .map_err(|e| Error::internal(format!("encode put journal: {e}")))?;
            txn.open_table(PUTS)?.insert(key, encoded.as_slice())?;
            Ok(intent)
        })
    }

    /// The put's bytes are in place: drops its journal entry and records the remote version
    /// tag. Not synced to disk: if it is lost in a crash, the next open finds the bytes in
    /// place and drops the entry again.
    pub fn finish_put(&self, key: &str, checksum: &str, etag: Option<String>) -> Result<()> {
        self.write(false, |txn| {
            txn.open_table(PUTS)?.remove(key)?;
            if etag.is_some() {
                let mut objects = txn.open_table(OBJECTS)?;
                let current = objects
                    .get(key)?
                    .map(|v| ObjectRecord::decode(key, v.value()))
                    .transpose()?;
                if let Some(mut record) = current.filter(|r| r.checksum == checksum) {
                    record.etag = etag;
                    objects.insert(key, record.encode()?.as_slice())?;
                }
            }
            Ok(())
        })
    }

    /// Settles a journaled put once the tier has been looked at: with `arrived`, the new
    /// record stands (with the remote version tag); otherwise the record it replaced comes
    /// back (or the key goes). Either way the journal entry is dropped. Safe to repeat.
    pub fn settle_put(
        &self,
        key: &str,
        intent: &PutIntent,
        arrived: bool,
        etag: Option<String>,
    ) -> Result<()> {
        self.write(true, |txn| {
            let mut objects = txn.open_table(OBJECTS)?;
            let mut orphans = txn.open_table(ORPHANS)?;
            let old = intent.old.as_ref();
            if arrived {
                let mut record = intent.new.clone();
                record.etag = etag;
                objects.insert(key, record.encode()?.as_slice())?;
                orphans.remove((record.tier.as_str(), key))?;
                if let Some(o) = old.filter(|o| o.tier != record.tier) {
                    orphans.insert((o.tier.as_str(), key), o.checksum.as_str())?;
                }
            } else {
                restore_old(&mut objects, &mut orphans, key, old)?;
                // The put did not land: the copy whose orphan entry it dropped is still there
                // (a deleted version's, say), and without the entry a reindex brings it back.
                if let Some(checksum) = &intent.dropped_orphan {
                    if old.is_none_or(|o| o.tier != intent.tier) {
                        orphans.insert((intent.tier.as_str(), key), checksum.as_str())?;
                    }
                }
            }
            txn.open_table(PUTS)?.remove(key)?;
            Ok(())
        })
    }

    /// A put whose outcome cannot be known now (its remote tier does not answer): readers get
    /// the record it replaced, and the journal entry stays for the next open to settle.
    pub fn defer_put(&self, key: &str, intent: &PutIntent) -> Result<()> {
        self.write(true, |txn| {
            let mut objects = txn.open_table(OBJECTS)?;
            let mut orphans = txn.open_table(ORPHANS)?;
            restore_old(&mut objects, &mut orphans, key, intent.old.as_ref())
        })
    }

    /// The journal entry of `key`'s unsettled put, if there is one.
    pub fn pending_put(&self, key: &str) -> Result<Option<PutIntent>> {
        self.guarded(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(PUTS)?;
            let value = table.get(key)?;
            value
                .map(|v| {
                    serde_json::from_slice(v.value()).map_err(|e| {
                        Error::corrupt(format!("tier index put journal is unreadable: {e}"))
                            .with("key", key)
                    })
                })
                .transpose()
        })
    }

    /// Puts journaled and not finished: only after a crash or a failed publish.
    pub fn pending_puts(&self) -> Result<Vec<(String, PutIntent)>> {
        self.guarded(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(PUTS)?;
            let mut out = Vec::new();
            for entry in table.iter()? {
                let (k, v) = entry?;
                let intent: PutIntent = serde_json::from_slice(v.value()).map_err(|e| {
                    Error::corrupt(format!("tier index put journal is unreadable: {e}"))
                        .with("key", k.value())
                })?;
                out.push((k.value().to_string(), intent));
            }
            Ok(out)
        })
    }

    /// Forgets an object; its copy becomes an orphan to delete, and so do copies an unfinished
    /// move or an unsettled put may have left in other tiers (otherwise a later reindex would
    /// find them and bring the object back). Returns the old record and every tier that may
    /// hold a copy to delete.
    pub fn commit_delete(&self, key: &str) -> Result<(Option<ObjectRecord>, Vec<String>)> {
        self.write(true, |txn| {
            let mut objects = txn.open_table(OBJECTS)?;
            let old = objects
                .remove(key)?
                .map(|v| ObjectRecord::decode(key, v.value()))
                .transpose()?;
            let mut tiers: Vec<String> = old.iter().map(|o| o.tier.clone()).collect();
            let mut moves = txn.open_table(MOVES)?;
            if let Some(v) = moves.remove(key)? {
                if let Ok(intent) = serde_json::from_slice::<MoveIntent>(v.value()) {
                    tiers.push(intent.to);
                }
            }
            let mut puts = txn.open_table(PUTS)?;
            if let Some(v) = puts.remove(key)? {
                if let Ok(intent) = serde_json::from_slice::<PutIntent>(v.value()) {
                    tiers.push(intent.tier);
                }
            }
            tiers.sort();
            tiers.dedup();
            let mut orphans = txn.open_table(ORPHANS)?;
            for tier in &tiers {
                orphans.insert((tier.as_str(), key), "")?;
            }
            Ok((old, tiers))
        })
    }

    pub fn begin_move(&self, key: &str, intent: &MoveIntent) -> Result<()> {
        let bytes =
            serde_json::to_vec(intent).map_err(|e| Error::internal(format!("encode move: {e}")))?;
        self.write(true, |txn| {
            txn.open_table(MOVES)?.insert(key, bytes.as_slice())?;
            Ok(())
        })
    }

    /// Points the object at its new tier, drops the intent and marks the source copy an orphan.
    /// Refuses (returns false) if the object changed since the move began.
    /// Records a finished move. `resealed` describes the copy when it was encrypted on the way
    /// into a tier whose policy encrypts: its stored size, checksum and envelope.
    pub fn commit_move(
        &self,
        key: &str,
        intent: &MoveIntent,
        resealed: Option<&Resealed>,
        etag: Option<String>,
    ) -> Result<bool> {
        self.write(true, |txn| {
            let mut objects = txn.open_table(OBJECTS)?;
            let current = objects
                .get(key)?
                .map(|v| ObjectRecord::decode(key, v.value()))
                .transpose()?;
            txn.open_table(MOVES)?.remove(key)?;
            let mut orphans = txn.open_table(ORPHANS)?;
            match current {
                Some(mut record)
                    if record.tier == intent.from && record.checksum == intent.checksum =>
                {
                    record.tier = intent.to.clone();
                    record.etag = etag;
                    if let Some(r) = resealed {
                        record.size = r.size;
                        record.checksum = r.checksum.clone();
                        record.enc = r.enc.clone();
                    }
                    objects.insert(key, record.encode()?.as_slice())?;
                    orphans.remove((intent.to.as_str(), key))?;
                    orphans.insert((intent.from.as_str(), key), intent.checksum.as_str())?;
                    Ok(true)
                }
                _ => {
                    // The object was overwritten or deleted meanwhile: the copy we made is stray.
                    if current.as_ref().map(|r| r.tier.as_str()) != Some(intent.to.as_str()) {
                        orphans.insert((intent.to.as_str(), key), intent.checksum.as_str())?;
                    }
                    Ok(false)
                }
            }
        })
    }

    /// Whether any object is recorded in tier `tier` (a full scan: only for opening tier
    /// directories that lack strata's marker).
    pub fn has_tier(&self, tier: &str) -> Result<bool> {
        self.guarded(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(OBJECTS)?;
            for entry in table.iter()? {
                let (k, v) = entry?;
                if ObjectRecord::decode(k.value(), v.value())?.tier == tier {
                    return Ok(true);
                }
            }
            Ok(false)
        })
    }

    pub fn moves(&self) -> Result<Vec<(String, MoveIntent)>> {
        self.guarded(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(MOVES)?;
            let mut out = Vec::new();
            for entry in table.iter()? {
                let (k, v) = entry?;
                let intent: MoveIntent = serde_json::from_slice(v.value()).map_err(|e| {
                    Error::corrupt(format!("tier index move journal is unreadable: {e}"))
                        .with("key", k.value())
                })?;
                out.push((k.value().to_string(), intent));
            }
            Ok(out)
        })
    }

    pub fn orphans(&self) -> Result<Vec<(String, String)>> {
        self.guarded(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(ORPHANS)?;
            let mut out = Vec::new();
            for entry in table.iter()? {
                let (k, _) = entry?;
                let (tier, key) = k.value();
                out.push((tier.to_string(), key.to_string()));
            }
            Ok(out)
        })
    }

    /// Removes an orphan entry once its copy is gone. Returns whether the copy may be deleted:
    /// false when the index meanwhile points at that very copy again.
    pub fn orphan_deletable(&self, tier: &str, key: &str) -> Result<bool> {
        Ok(self.get(key)?.is_none_or(|r| r.tier != tier))
    }

    pub fn clear_orphan(&self, tier: &str, key: &str) -> Result<()> {
        self.write(true, |txn| {
            txn.open_table(ORPHANS)?.remove((tier, key))?;
            Ok(())
        })
    }

    /// Applies a batch of reads `(key, at_ms, window_ms)`; keys gone meanwhile are skipped.
    pub fn apply_reads(&self, reads: &[(String, u64, u64)]) -> Result<()> {
        if reads.is_empty() {
            return Ok(());
        }
        self.write(false, |txn| {
            let mut objects = txn.open_table(OBJECTS)?;
            for (key, at_ms, window_ms) in reads {
                let record = objects
                    .get(key.as_str())?
                    .map(|v| ObjectRecord::decode(key, v.value()))
                    .transpose()?;
                if let Some(mut record) = record {
                    record.note_read(*at_ms, *window_ms);
                    objects.insert(key.as_str(), record.encode()?.as_slice())?;
                }
            }
            Ok(())
        })
    }

    /// Replaces every object record (reindex). Moves are dropped: the tiers are the truth now.
    pub fn replace_all(
        &self,
        records: &[(String, ObjectRecord)],
        orphans: &[(String, String)],
    ) -> Result<()> {
        self.write(true, |txn| {
            txn.delete_table(OBJECTS)?;
            txn.delete_table(MOVES)?;
            txn.delete_table(ORPHANS)?;
            txn.delete_table(PUTS)?;
            txn.open_table(PUTS)?;
            let mut objects = txn.open_table(OBJECTS)?;
            for (key, record) in records {
                objects.insert(key.as_str(), record.encode()?.as_slice())?;
            }
            txn.open_table(MOVES)?;
            let mut table = txn.open_table(ORPHANS)?;
            for (tier, key) in orphans {
                table.insert((tier.as_str(), key.as_str()), "")?;
            }
            // Only a finished build makes the index authoritative.
            txn.open_table(META)?.insert("built", 1)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, TierIndex) {
        let dir = tempfile::tempdir().unwrap();
        let (index, created) = TierIndex::open(&dir.path().join("index.redb")).unwrap();
        assert!(created);
        (dir, index)
    }

    #[test]
    fn put_move_delete_keep_orphans_straight() {
        let (_dir, index) = open();
        let record = ObjectRecord::new("hot", 3, "abc".into(), 1);
        assert_eq!(index.commit_put("a", &record).unwrap(), None);
        let intent = MoveIntent {
            from: "hot".into(),
            to: "cold".into(),
            checksum: "abc".into(),
            started_ms: 2,
        };
        index.begin_move("a", &intent).unwrap();
        assert_eq!(index.moves().unwrap().len(), 1);
        assert!(index.commit_move("a", &intent, None, None).unwrap());
        assert!(index.moves().unwrap().is_empty());
        assert_eq!(index.get("a").unwrap().unwrap().tier, "cold");
        assert_eq!(index.orphans().unwrap(), vec![("hot".into(), "a".into())]);
        assert!(index.orphan_deletable("hot", "a").unwrap());
        index.clear_orphan("hot", "a").unwrap();
        let old = index.commit_delete("a").unwrap().0.unwrap();
        assert_eq!(old.tier, "cold");
        assert_eq!(index.orphans().unwrap(), vec![("cold".into(), "a".into())]);
        assert!(index.get("a").unwrap().is_none());
    }

    #[test]
    fn stale_move_does_not_clobber_an_overwrite() {
        let (_dir, index) = open();
        index
            .commit_put("a", &ObjectRecord::new("hot", 3, "old".into(), 1))
            .unwrap();
        let intent = MoveIntent {
            from: "hot".into(),
            to: "cold".into(),
            checksum: "old".into(),
            started_ms: 2,
        };
        index.begin_move("a", &intent).unwrap();
        index
            .commit_put("a", &ObjectRecord::new("hot", 4, "new".into(), 3))
            .unwrap();
        assert!(!index.commit_move("a", &intent, None, None).unwrap());
        let record = index.get("a").unwrap().unwrap();
        assert_eq!(
            (record.tier.as_str(), record.checksum.as_str()),
            ("hot", "new")
        );
        assert_eq!(index.orphans().unwrap(), vec![("cold".into(), "a".into())]);
    }

    #[test]
    fn reads_fill_the_promotion_window() {
        let mut record = ObjectRecord::new("cold", 1, "x".into(), 0);
        record.note_read(10, 100);
        record.note_read(20, 100);
        assert_eq!(record.window_reads, 2);
        record.note_read(500, 100);
        assert_eq!((record.window_reads, record.window_start_ms), (1, 500));
        assert_eq!(record.access_count, 3);
        assert_eq!(record.last_access_ms, 500);
    }

    #[test]
    fn garbage_file_is_a_corrupt_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.redb");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let err = TierIndex::open(&path).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert!(err.to_string().contains("reindex"), "{err}");
    }
}
