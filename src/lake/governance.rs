//! Principals, access checks and the audit log, where the lake's calls meet them.
//!
//! A handle is the host (unrestricted, audited as `host`) unless it was made with
//! [`Lake::as_principal`] or the config names an `[access] default_principal`. With `[access]`
//! configured, every call of a principal's handle is checked against its grants before it
//! runs; a denial is a `PermissionDenied` error and an audit record. With `[audit] enabled`,
//! every call appends a record once it has run (reads too unless `[audit] reads = false`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::Lake;
use crate::config::{Action, LakeConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::governance::access::{denied, AccessPolicy, Columns, Resource, HOST};
use crate::governance::audit::{
    AuditEvent, AuditLog, AuditQuery, AuditRecord, EventRef, VerifyReport,
};
use crate::mask::{MaskPolicy, MissingColumns};
use crate::read::ScanGuard;
use crate::table::TableGate;

use super::guards::{LakeScanGuard, LakeTableGate};

/// The audit key's file beside the log: the key wrapped by the lake's key provider.
const KEY_FILE: &str = "audit-key.json";

/// The access rules, the masking views and the audit log, shared by a lake's clones.
pub(super) struct Governance {
    pub(super) policy: Option<AccessPolicy>,
    pub(super) masking: Option<MaskPolicy>,
    pub(super) audit_dir: Option<PathBuf>,
    reads: bool,
    segment_records: u64,
    durability: crate::governance::audit::Durability,
    audit: OnceLock<Arc<AuditLog>>,
    opening: Mutex<()>,
}

impl Governance {
    pub(super) fn load(config: &LakeConfig, root: &Path) -> Result<Governance> {
        let (policy, masking) = match &config.access {
            Some(access) => {
                let policy = AccessPolicy::load(access, root)?;
                let masking = match &access.masking {
                    Some(path) => Some(
                        MaskPolicy::from_file(&root.join(path))?
                            // A lake-wide policy names columns most tables lack.
                            .with_missing_columns(MissingColumns::Warn),
                    ),
                    None => None,
                };
                (Some(policy), masking)
            }
            None => (None, None),
        };
        let audit_dir = config.audit.enabled.then(|| {
            root.join(
                config
                    .audit
                    .dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("_audit")),
            )
        });
        Ok(Governance {
            policy,
            masking,
            audit_dir,
            reads: config.audit.reads,
            segment_records: config.audit.segment_records,
            durability: if config.audit.sync_interval.is_zero() {
                crate::governance::audit::Durability::EveryAppend
            } else {
                crate::governance::audit::Durability::Interval(config.audit.sync_interval)
            },
            audit: OnceLock::new(),
            opening: Mutex::new(()),
        })
    }
}

/// The audit key's file.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    format: u32,
    /// The lake's id: every digest names it, so segments replayed from another lake show.
    lake: String,
    key_id: String,
    /// The 32-byte HMAC key wrapped under `key_id`, hex.
    wrapped: String,
}

fn key_context(lake: &str) -> Vec<u8> {
    format!("strata audit key for lake {lake}").into_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Result<Vec<u8>> {
    let bad = || Error::new(ErrorKind::Corrupt, "the audit key file is damaged");
    if !text.len().is_multiple_of(2) {
        return Err(bad());
    }
    (0..text.len() / 2)
        .map(|i| {
            text.get(2 * i..2 * i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(bad)
        })
        .collect()
}

impl Lake {
    /// A handle acting as `principal`: with `[access]` configured, every call it makes is
    /// checked against the principal's grants (a principal the policy does not know is a
    /// `PermissionDenied` error here); the audit log records its calls under its name. Shares
    /// the open data root with this handle.
    ///
    /// ```
    /// # fn main() -> strata::Result<()> {
    /// let dir = tempfile::tempdir().unwrap();
    /// let mut config = strata::LakeConfig::from_toml_str(r#"
    ///     [access.roles.reader]
    ///     grants = [{ actions = ["read"], prefixes = ["public/"] }]
    ///     [access.principals]
    ///     alice = ["reader"]
    /// "#)?;
    /// config.dir = dir.path().into();
    /// let lake = strata::Lake::open(&config)?;
    /// lake.put("public/a.txt", b"hello".to_vec())?;
    /// lake.put("private/b.txt", b"secret".to_vec())?;
    /// let alice = lake.as_principal("alice")?;
    /// assert_eq!(&alice.get("public/a.txt")?[..], b"hello");
    /// let err = alice.get("private/b.txt").unwrap_err();
    /// assert_eq!(err.kind(), strata::ErrorKind::PermissionDenied);
    /// assert!(alice.put("public/c.txt", b"x".to_vec()).is_err());
    /// # Ok(()) }
    /// ```
    pub fn as_principal(&self, principal: &str) -> Result<Lake> {
        if principal.is_empty() || principal.len() > 128 || principal.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                "a principal is 1 to 128 characters without control characters",
            ));
        }
        // A principal's handle may act as another only with admin on the lake.
        if let Some((policy, current)) = self.checked() {
            if current != principal {
                if let Err(e) = policy.check(current, Action::Admin, Resource::Lake) {
                    self.audit_outcome("as_principal", current, principal, Err(&e))?;
                    return Err(e);
                }
            }
        }
        if let Some(policy) = &self.gov.policy {
            if policy.roles_of(principal).is_none() {
                let err = Error::new(
                    ErrorKind::PermissionDenied,
                    format!("{principal:?} is not a principal of the access policy"),
                )
                .with("principal", principal);
                self.audit_outcome("open", principal, "lake", Err(&err))?;
                return Err(err);
            }
        }
        let mut lake = self.clone();
        lake.principal = Some(principal.into());
        Ok(lake)
    }

    /// Who this handle acts as: its principal, the config's default principal, or `host`.
    pub fn principal(&self) -> &str {
        match (&self.principal, &self.gov.policy) {
            (Some(p), _) => p,
            (None, Some(policy)) => policy.default_principal().unwrap_or(HOST),
            (None, None) => HOST,
        }
    }

    /// The access rules in force, when `[access]` is configured.
    pub fn access_policy(&self) -> Option<&AccessPolicy> {
        self.gov.policy.as_ref()
    }

    /// The principal whose calls are checked, if this handle has one under `[access]`.
    pub(super) fn checked(&self) -> Option<(&AccessPolicy, &str)> {
        let policy = self.gov.policy.as_ref()?;
        match &self.principal {
            Some(p) => Some((policy, p)),
            None => policy.default_principal().map(|p| (policy, p)),
        }
    }

    /// Whether `principal` may do `action` on `resource` (`strata access check`): the
    /// columns it would see, or the denial. Without `[access]`, everything is allowed.
    pub fn access_check(
        &self,
        principal: &str,
        action: Action,
        resource: Resource<'_>,
    ) -> Result<Columns> {
        match &self.gov.policy {
            Some(policy) => policy.check(principal, action, resource),
            None => Ok(Columns::All),
        }
    }

    /// Checks `need` on `resource` for this handle (a denial is audited as `verb` and
    /// returned); the columns it may read.
    pub(crate) fn authorize(
        &self,
        verb: &str,
        need: Action,
        resource: Resource<'_>,
    ) -> Result<Columns> {
        let Some((policy, principal)) = self.checked() else {
            return Ok(Columns::All);
        };
        match policy.check(principal, need, resource) {
            Ok(columns) => Ok(columns),
            Err(e) => {
                self.audit_outcome(verb, principal, &resource.audit_name(), Err(&e))?;
                Err(e)
            }
        }
    }

    /// Checks, runs `work` and audits it: the common shape of the lake's calls. `bytes`
    /// measures the result for the record.
    pub(crate) fn governed<T>(
        &self,
        verb: &str,
        need: Action,
        resource: Resource<'_>,
        work: impl FnOnce() -> Result<T>,
        bytes: impl FnOnce(&T) -> Option<u64>,
    ) -> Result<T> {
        self.authorize(verb, need, resource)?;
        self.recorded(verb, need, resource, work, bytes)
    }

    /// Runs `work` (already authorized) and audits it.
    pub(crate) fn recorded<T>(
        &self,
        verb: &str,
        need: Action,
        resource: Resource<'_>,
        work: impl FnOnce() -> Result<T>,
        bytes: impl FnOnce(&T) -> Option<u64>,
    ) -> Result<T> {
        if !self.audits(need) {
            return work();
        }
        let out = work();
        // Borrowed, not built: this runs on every audited call.
        let (bytes, outcome) = match &out {
            Ok(v) => (bytes(v), "ok"),
            Err(e) => (None, e.kind().name()),
        };
        let event = EventRef {
            principal: self.principal(),
            action: verb,
            resource: resource.audit_parts(),
            columns: &[],
            rows: None,
            bytes,
            version: None,
            detail: None,
            outcome,
        };
        if let Some(log) = self.audit_log()? {
            log.append_ref(&event)?;
        }
        out
    }

    /// Whether a call needing `need` is audited.
    pub(super) fn audits(&self, need: Action) -> bool {
        self.gov.audit_dir.is_some() && (need != Action::Read || self.gov.reads)
    }

    /// An event of this handle's principal, outcome unset.
    pub(crate) fn event(&self, verb: &str, resource: String) -> AuditEvent {
        AuditEvent {
            principal: self.principal().to_string(),
            action: verb.to_string(),
            resource,
            ..AuditEvent::default()
        }
    }

    fn audit_outcome(
        &self,
        verb: &str,
        principal: &str,
        resource: &str,
        outcome: std::result::Result<(), &Error>,
    ) -> Result<()> {
        if self.gov.audit_dir.is_none() {
            return Ok(());
        }
        self.audit(AuditEvent {
            principal: principal.to_string(),
            action: verb.to_string(),
            resource: resource.to_string(),
            outcome: match outcome {
                Ok(()) => "ok".into(),
                Err(e) if e.kind() == ErrorKind::PermissionDenied => "denied".into(),
                Err(e) => e.kind().name().into(),
            },
            detail: outcome.err().map(|e| e.to_string()),
            ..AuditEvent::default()
        })
    }

    /// Appends `event` to the audit log (opened on first use) when auditing is on; returns
    /// once the record is written.
    pub(crate) fn audit(&self, event: AuditEvent) -> Result<()> {
        self.audit_seq(event).map(|_| ())
    }

    /// [`Lake::audit`], returning the record's number.
    pub(crate) fn audit_seq(&self, event: AuditEvent) -> Result<Option<u64>> {
        match self.audit_log()? {
            Some(log) => log.append(event).map(Some),
            None => Ok(None),
        }
    }

    /// The audit log, opened (and its key made) on first use; `None` when auditing is off.
    pub(crate) fn audit_log(&self) -> Result<Option<&Arc<AuditLog>>> {
        let Some(dir) = &self.gov.audit_dir else {
            return Ok(None);
        };
        if let Some(log) = self.gov.audit.get() {
            return Ok(Some(log));
        }
        let _opening = self.gov.opening.lock().unwrap_or_else(|p| p.into_inner());
        if self.gov.audit.get().is_none() {
            let (key, lake) = self.audit_key(dir, true)?;
            let log = AuditLog::open(dir, &key, &lake)?
                .segment_records(self.gov.segment_records)
                .durability(self.gov.durability);
            let _ = self.gov.audit.set(Arc::new(log));
            drop(_opening);
            self.record_policy()?;
        }
        Ok(self.gov.audit.get())
    }

    /// The audit key and the lake's id; with `create`, made (and wrapped by the key
    /// provider, creating a key ring if the lake has none) when missing.
    fn audit_key(&self, dir: &Path, create: bool) -> Result<(Zeroizing<Vec<u8>>, String)> {
        let path = dir.join(KEY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let file: KeyFile = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::new(
                        ErrorKind::Corrupt,
                        format!("the audit key file is damaged: {e}"),
                    )
                    .with("path", path.display())
                })?;
                if file.format != 1 {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!(
                            "audit key file format {} is newer than this strata",
                            file.format
                        ),
                    )
                    .with("path", path.display()));
                }
                let keys = self.store.key_provider_creating(false)?;
                let key = keys
                    .unwrap_bytes(
                        &file.key_id,
                        &unhex(&file.wrapped)?,
                        &key_context(&file.lake),
                    )
                    .map_err(|e| e.with("path", path.display()))?;
                Ok((key, file.lake))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::io("cannot create the audit log", dir, e))?;
                let keys = self.store.key_provider_creating(true)?;
                let key = crate::crypto::SecretKey::random()?;
                let lake = crate::ids::uuid_v4();
                let key_id = keys.active_key_id()?;
                let wrapped = keys.wrap_bytes(&key_id, key.bytes(), &key_context(&lake))?;
                let file = KeyFile {
                    format: 1,
                    lake: lake.clone(),
                    key_id,
                    wrapped: hex(&wrapped),
                };
                let text = serde_json::to_vec_pretty(&file)
                    .map_err(|e| Error::internal(format!("cannot encode the audit key: {e}")))?;
                let mut out = crate::atomic_file::AtomicFile::create_private(&path)?;
                std::io::Write::write_all(&mut out, &text)
                    .map_err(|e| Error::io("cannot write the audit key", &path, e))?;
                out.commit()?;
                Ok((Zeroizing::new(key.bytes().to_vec()), lake))
            }
            Err(e) => Err(Error::io("cannot read the audit key", &path, e)),
        }
    }

    /// Records a `policy.change` when the access rules or the masking policy differ from
    /// what the log last recorded.
    fn record_policy(&self) -> Result<()> {
        let Some(dir) = &self.gov.audit_dir else {
            return Ok(());
        };
        let rules = match &self.gov.policy {
            Some(p) => format!("{:?}{:?}", p.roles(), p.principals()),
            None => "none".into(),
        };
        let masking = self
            .config()
            .access
            .as_ref()
            .and_then(|a| a.masking.as_ref())
            .and_then(|m| std::fs::read(self.dir().join(m)).ok())
            .unwrap_or_default();
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(rules.as_bytes());
        h.update(&masking);
        let hash = hex(&h.finalize());
        let path = dir.join("policy.sha256");
        if std::fs::read_to_string(&path).ok().as_deref() == Some(hash.as_str()) {
            return Ok(());
        }
        let mut event = self.event("policy.change", "lake".into());
        event.principal = HOST.into();
        event.outcome = "ok".into();
        event.detail = Some(format!("access policy sha256 {hash}"));
        self.audit(event)?;
        let mut out = crate::atomic_file::AtomicFile::create(&path)?;
        std::io::Write::write_all(&mut out, hash.as_bytes())
            .map_err(|e| Error::io("cannot write the policy hash", &path, e))?;
        out.commit()
    }

    /// Checks the whole audit log (`strata audit verify`): every record's chain, every sealed
    /// segment against its signed digest, no segment missing, none from another lake.
    pub fn audit_verify(&self) -> Result<VerifyReport> {
        self.governed(
            "audit.verify",
            Action::Admin,
            Resource::Lake,
            || self.audit_verify_unchecked(),
            |_| None,
        )
    }

    /// [`Lake::audit_verify`] without the check (the compliance report's).
    pub(super) fn audit_verify_unchecked(&self) -> Result<VerifyReport> {
        let dir = self.audit_dir()?;
        // A log never written yet is opened (its key made): it verifies as empty. Segments
        // filled a moment ago are sealed by the log's thread: wait for their digests.
        if let Some(log) = self.audit_log()? {
            log.settle()?;
        }
        let (key, lake) = self.audit_key(&dir, false)?;
        crate::governance::audit::verify(&dir, &key, &lake)
    }

    /// Seals the open segment of the audit log now (its digest signed), so that everything
    /// written so far is covered by a signature.
    pub fn audit_seal(&self) -> Result<()> {
        self.governed(
            "audit.seal",
            Action::Admin,
            Resource::Lake,
            || match self.audit_log()? {
                Some(log) => log.seal_now(),
                None => Err(audit_off()),
            },
            |_| None,
        )
    }

    /// The audit records `query` asks for, oldest first (`strata audit show`).
    pub fn audit_show(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        self.authorize("audit.show", Action::Admin, Resource::Lake)?;
        let dir = self.audit_dir()?;
        // Reading the log is itself recorded (before the read, so it shows in what it returns).
        let mut event = self.event("audit.show", "lake".into());
        event.outcome = "ok".into();
        self.audit(event)?;
        let mut out = Vec::new();
        crate::governance::audit::read_records(&dir, &mut |r| {
            if query.matches(&r) {
                out.push(r);
            }
        })?;
        if let Some(limit) = query.limit {
            let cut = out.len().saturating_sub(limit);
            out.drain(..cut);
        }
        Ok(out)
    }

    fn audit_dir(&self) -> Result<PathBuf> {
        self.gov.audit_dir.clone().ok_or_else(audit_off)
    }

    /// The guard of a scan of `resource` by this handle, when it needs one: the principal's
    /// column grants and masking view, and the audit record of the read.
    pub(crate) fn scan_guard(
        &self,
        resource: Resource<'_>,
        version: Option<u64>,
    ) -> Result<Option<Arc<dyn ScanGuard>>> {
        let columns = self.authorize("scan", Action::Read, resource)?;
        let mask = match (self.checked(), &self.gov.masking) {
            (Some((policy, principal)), Some(masking)) => {
                let role = policy
                    .roles_of(principal)
                    .and_then(|r| r.first())
                    .cloned()
                    .unwrap_or_default();
                if masking.clear_for(&role) {
                    None
                } else {
                    let keys = crate::mask::open_mask_keys(self.config(), false)?;
                    Some(masking.for_role(&role, &keys)?)
                }
            }
            _ => None,
        };
        let audited = self.audits(Action::Read);
        if columns == Columns::All && mask.is_none() && !audited {
            return Ok(None);
        }
        Ok(Some(Arc::new(LakeScanGuard {
            lake: self.clone(),
            resource: resource.audit_name(),
            version,
            columns,
            mask,
            audited,
        })))
    }

    /// Refuses raw bytes of a Parquet object to a principal who may see only some columns of
    /// it, or some only masked: bytes cannot be masked, so such a principal must scan.
    pub(crate) fn check_raw_read(&self, verb: &str, key: &str, columns: &Columns) -> Result<()> {
        let Some((policy, principal)) = self.checked() else {
            return Ok(());
        };
        if !key.ends_with(".parquet") {
            return Ok(());
        }
        let role = policy.roles_of(principal).and_then(|r| r.first());
        let masked = match (&self.gov.masking, role) {
            (Some(m), Some(role)) => !m.clear_for(role),
            _ => false,
        };
        if *columns == Columns::All && !masked {
            return Ok(());
        }
        let e = denied(
            principal,
            Action::Read,
            Resource::Object(key),
            "it may see only some columns of it, or some masked: scan it instead",
        );
        self.audit_outcome(
            verb,
            principal,
            &Resource::Object(key).audit_name(),
            Err(&e),
        )?;
        Err(e)
    }

    /// The gate of a lake table's handle, when this handle needs one.
    pub(super) fn table_gate(&self) -> Option<Arc<dyn TableGate>> {
        (self.checked().is_some() || self.gov.audit_dir.is_some())
            .then(|| Arc::new(LakeTableGate { lake: self.clone() }) as Arc<dyn TableGate>)
    }
}

/// Refuses lake-wide work done from a config alone (before or without opening the lake) when
/// the config makes unnamed handles a principal (`[access] default_principal`) that may not
/// `admin` the lake. Such refusals are not audited: no lake is open to record them.
pub(super) fn config_admin(config: &LakeConfig) -> Result<()> {
    let Some(access) = &config.access else {
        return Ok(());
    };
    let Some(principal) = &access.default_principal else {
        return Ok(());
    };
    AccessPolicy::load(access, &config.dir)?
        .check(principal, Action::Admin, Resource::Lake)
        .map(|_| ())
}

fn audit_off() -> Error {
    Error::new(
        ErrorKind::Config,
        "auditing is off: set [audit] enabled = true in the config",
    )
}
