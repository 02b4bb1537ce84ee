//! `[access]`: principals, roles and grants; `[audit]`: the tamper-evident audit log.
//!
//! ```toml
//! [access]
//! masking = "policies/pii.toml"    # per-role column views (a masking policy); optional
//! # default_principal = "service"  # what a handle without a principal acts as
//! # policy_file = "access.toml"    # roles and principals from a file instead (same keys)
//!
//! [access.roles.analyst]
//! purposes = ["analytics"]
//! grants = [
//!   { actions = ["read"], zones = ["silver", "gold"] },
//!   { actions = ["read"], tables = ["bronze/trips"], columns = ["trip_id", "fare"] },
//!   { actions = ["write"], prefixes = ["scratch/analyst/"] },
//! ]
//!
//! [access.roles.admin]
//! grants = [{ actions = ["admin"], lake = true, zones = ["*"], prefixes = [""] }]
//!
//! [access.principals]
//! alice = ["analyst"]
//! root = ["admin"]
//!
//! [audit]
//! enabled = true
//! ```
//!
//! Grants only add: a principal may do what any grant of any of its roles allows (overlapping
//! grants give their union; a grant's `columns` narrow that grant only). `admin` includes
//! `write`, which includes `read`. With `[access]` present, everything not granted is denied.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a grant allows.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read objects, scan tables, list, see history.
    Read,
    /// Write, delete and move objects; append to and change tables (includes `read`).
    Write,
    /// Lake-wide work on the resources granted: keys, tier runs, the catalog, the audit log
    /// (includes `write`).
    Admin,
}

impl Action {
    /// `read`, `write` or `admin`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Admin => "admin",
        }
    }

    /// Parses `read`, `write` or `admin`.
    pub fn parse(text: &str) -> Result<Action> {
        match text {
            "read" => Ok(Action::Read),
            "write" => Ok(Action::Write),
            "admin" => Ok(Action::Admin),
            other => Err(Error::invalid(format!(
                "unknown action {other:?}: expected read, write or admin"
            ))),
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One grant: actions on resources.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Grant {
    /// What it allows (the highest counts: `admin` includes `write` and `read`).
    pub actions: Vec<Action>,
    /// Every table of these zones (`*`: every zone).
    pub zones: Vec<String>,
    /// These tables, `zone/name`; a trailing `*` matches any rest (`silver/trip*`).
    pub tables: Vec<String>,
    /// Objects whose keys start with one of these (`""`: every object).
    pub prefixes: Vec<String>,
    /// When not empty, reads under this grant see only these columns.
    pub columns: Vec<String>,
    /// The lake itself: keys, tier runs, reindex, the catalog, the audit log (with `admin`).
    pub lake: bool,
}

/// A role: grants, and the purposes its access serves (for compliance reports).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Role {
    /// What the role may do.
    pub grants: Vec<Grant>,
    /// Why it reads personal data (`treatment`, `billing`, ...); a role reading personal data
    /// in clear without a purpose fails the compliance report's purpose control.
    pub purposes: Vec<String>,
}

/// Roles and principals: what `[access]` or its policy file holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AccessRules {
    /// Roles by name.
    pub roles: BTreeMap<String, Role>,
    /// Principals and their roles (the first role also chooses the masking view).
    pub principals: BTreeMap<String, Vec<String>>,
}

/// The `[access]` section; its presence turns access control on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AccessConfig {
    /// A TOML file with `roles` and `principals` (relative paths: under the data root), read
    /// at open; its rules join those written inline.
    pub policy_file: Option<PathBuf>,
    /// A masking policy (see `strata::mask`) giving each role its view of columns; roles are
    /// the access roles. Relative paths: under the data root.
    pub masking: Option<PathBuf>,
    /// The principal a handle opened without one acts as; without it, such a handle is the
    /// host itself and may do everything (audited as `host`).
    pub default_principal: Option<String>,
    /// Roles and principals written inline.
    #[serde(flatten)]
    pub rules: AccessRules,
}

impl AccessRules {
    /// Checks names and references: roles principals name must exist, grants must name a
    /// resource and an action.
    pub fn validate(&self) -> Result<()> {
        for (name, role) in &self.roles {
            check_name("role", name)?;
            for (i, g) in role.grants.iter().enumerate() {
                let at = format!("access.roles.{name}.grants[{i}]");
                if g.actions.is_empty() {
                    return Err(Error::config(format!("{at}: names no action")));
                }
                if g.zones.is_empty() && g.tables.is_empty() && g.prefixes.is_empty() && !g.lake {
                    return Err(Error::config(format!(
                        "{at}: grants nothing: name zones, tables, prefixes or lake = true"
                    )));
                }
                for t in &g.tables {
                    if !t.contains('/') && t != "*" {
                        return Err(Error::config(format!(
                            "{at}: table {t:?} must be zone/name (or a pattern ending in *)"
                        )));
                    }
                }
            }
        }
        for (principal, roles) in &self.principals {
            check_name("principal", principal)?;
            if roles.is_empty() {
                return Err(Error::config(format!(
                    "access.principals.{principal}: has no role"
                )));
            }
            for r in roles {
                if !self.roles.contains_key(r) {
                    return Err(Error::config(format!(
                        "access.principals.{principal}: unknown role {r:?} (roles: {})",
                        self.roles.keys().cloned().collect::<Vec<_>>().join(", ")
                    )));
                }
            }
        }
        Ok(())
    }

    /// Adds `other`'s roles and principals; a name defined in both is an error.
    pub fn join(&mut self, other: AccessRules, source: &str) -> Result<()> {
        for (name, role) in other.roles {
            if self.roles.contains_key(&name) {
                return Err(Error::config(format!(
                    "role {name:?} is defined both inline and in {source}"
                )));
            }
            self.roles.insert(name, role);
        }
        for (name, roles) in other.principals {
            if self.principals.contains_key(&name) {
                return Err(Error::config(format!(
                    "principal {name:?} is defined both inline and in {source}"
                )));
            }
            self.principals.insert(name, roles);
        }
        Ok(())
    }
}

fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 128 || name.chars().any(|c| c.is_control()) {
        return Err(Error::config(format!(
            "{what} name {name:?} must be 1 to 128 characters without control characters"
        )));
    }
    Ok(())
}

impl AccessConfig {
    /// Checks the inline rules and the default principal (a policy file is checked when read).
    pub fn validate(&self) -> Result<()> {
        self.rules.validate()?;
        if let Some(p) = &self.default_principal {
            if self.policy_file.is_none() && !self.rules.principals.contains_key(p) {
                return Err(Error::config(format!(
                    "access.default_principal {p:?} is not one of access.principals"
                )));
            }
        }
        Ok(())
    }
}

/// The `[audit]` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Whether operations through the lake are audited.
    pub enabled: bool,
    /// Where the log lives (relative paths: under the data root); default `<dir>/_audit`.
    pub dir: Option<PathBuf>,
    /// Whether reads (gets, scans, stats, lists) are audited too, not only changes and
    /// denials. HIPAA needs every read of PHI logged.
    pub reads: bool,
    /// Records per sealed segment.
    pub segment_records: u64,
    /// How soon records reach the disk. A call returns once its record is in the operating
    /// system's page cache (a crash of the process loses nothing that returned); records are
    /// synced to disk by the log's own thread within this interval, at every seal and at
    /// close, so a power loss can lose up to this much. `0s`: every call waits for the disk (concurrent
    /// calls share one sync). 0s to 1h; default 200ms.
    #[serde(with = "super::text::duration_text")]
    pub sync_interval: std::time::Duration,
    /// How long records are kept, for the compliance report (e.g. "2190d", six years).
    #[serde(
        with = "super::text::opt_duration_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub keep: Option<std::time::Duration>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            enabled: false,
            dir: None,
            reads: true,
            segment_records: 10_000, // governance::audit::SEGMENT_RECORDS
            sync_interval: std::time::Duration::from_millis(200),
            keep: None,
        }
    }
}

impl AuditConfig {
    /// Checks the segment size.
    pub fn validate(&self) -> Result<()> {
        if !(16..=10_000_000).contains(&self.segment_records) {
            return Err(Error::config(
                "audit.segment_records must be between 16 and 10,000,000",
            ));
        }
        if self.sync_interval > std::time::Duration::from_secs(3600) {
            return Err(Error::config(
                "audit.sync_interval must be between 0s and 1h",
            ));
        }
        Ok(())
    }
}

/// The `[erasure]` section: where subjects' objects live besides tables.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ErasureConfig {
    /// Key prefixes searched by `strata erase`: objects with a key segment that is the
    /// subject's value (or the value and an extension) are deleted (`uploads/` holding
    /// `uploads/alice@example.com/photo.jpg` or `uploads/alice@example.com.json`).
    pub prefixes: Vec<String>,
}

/// One `[[table_retention]]` rule: rows of the tables it covers whose `column` (a timestamp
/// or date) is older than `delete_after` are deleted, as a table commit. Without `column`,
/// the rule goes by file age: whole data files added more than `delete_after` ago are
/// removed (one commit, no file read or rewritten).
///
/// ```toml
/// [[table_retention]]
/// zone = "bronze"                  # or table = "bronze/trips", or classification = "email"
/// column = "pickup_at"             # leave out to go by the age of the data files
/// delete_after = "365d"
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableRetentionRule {
    /// Every table of this zone (`*`: every zone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// This table (`zone/name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Every table whose catalog entry marks a column with this classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    /// The timestamp or date column whose age decides; `None`: the data files' age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// Rows older than this are deleted: 1 day to 100 years.
    #[serde(with = "super::text::duration_text")]
    pub delete_after: std::time::Duration,
}

impl TableRetentionRule {
    /// Checks that the rule names what it covers, and its range.
    pub fn validate(&self, i: usize) -> Result<()> {
        let at = format!("table_retention[{i}]");
        let named = [&self.zone, &self.table, &self.classification]
            .iter()
            .filter(|x| x.is_some())
            .count();
        if named != 1 {
            return Err(Error::config(format!(
                "{at}: name exactly one of zone, table or classification"
            )));
        }
        if self.column.as_deref() == Some("") {
            return Err(Error::config(format!(
                "{at}: column is empty (leave it out to go by file age)"
            )));
        }
        let day = std::time::Duration::from_secs(86_400);
        if self.delete_after < day || self.delete_after > day * 36_525 {
            return Err(Error::config(format!(
                "{at}: delete_after must be between 1d and 100y"
            )));
        }
        Ok(())
    }

    /// The rule in words.
    pub fn describe(&self) -> String {
        let scope = match (&self.zone, &self.table, &self.classification) {
            (Some(z), _, _) => format!("zone {z}"),
            (_, Some(t), _) => format!("table {t}"),
            (_, _, Some(c)) => format!("tables classified {c}"),
            _ => "nothing".into(),
        };
        let secs = self.delete_after.as_secs();
        let age = if secs.is_multiple_of(86_400) {
            format!("{}d", secs / 86_400)
        } else {
            humantime::format_duration(self.delete_after).to_string()
        };
        match &self.column {
            Some(column) => format!("{scope}: {column} older than {age}"),
            None => format!("{scope}: files older than {age}"),
        }
    }
}

/// The `[compliance]` section: what the compliance report measures against.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ComplianceConfig {
    /// The longest a key-encryption key may stay active before rotation.
    #[serde(with = "super::text::duration_text")]
    pub key_rotation: std::time::Duration,
}

impl Default for ComplianceConfig {
    fn default() -> Self {
        ComplianceConfig {
            key_rotation: std::time::Duration::from_secs(365 * 86_400),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unknown_roles_and_empty_grants_are_refused() {
        let cfg = |text: &str| crate::LakeConfig::from_toml_str(text);
        let err = cfg("[access.principals]\nalice = ['ghost']\n").unwrap_err();
        assert!(err.to_string().contains("unknown role \"ghost\""), "{err}");
        let err = cfg("[access.roles.a]\ngrants = [{ actions = ['read'] }]\n").unwrap_err();
        assert!(err.to_string().contains("grants nothing"), "{err}");
        let err = cfg("[access.roles.a]\ngrants = [{ zones = ['x'] }]\n").unwrap_err();
        assert!(err.to_string().contains("names no action"), "{err}");
        let err = cfg("[access.roles.a]\ngrants = [{ actions = ['steal'], zones = ['x'] }]\n")
            .unwrap_err();
        assert!(err.to_string().contains("steal"), "{err}");
        let err = cfg("[access.roles.a]\ngrants = [{ actions = ['read'], tables = ['trips'] }]\n")
            .unwrap_err();
        assert!(err.to_string().contains("zone/name"), "{err}");
        let err = cfg("[access]\ndefault_principal = 'nobody'\n").unwrap_err();
        assert!(err.to_string().contains("default_principal"), "{err}");
        let err = cfg("[audit]\nsegment_records = 1\n").unwrap_err();
        assert!(err.to_string().contains("segment_records"), "{err}");
        let ok = cfg(
            "[access.roles.a]\ngrants = [{ actions = ['read'], zones = ['silver'] }]\n\
             [access.principals]\nalice = ['a']\n[audit]\nenabled = true\nkeep = '2190d'\n",
        )
        .unwrap();
        let access = ok.access.as_ref().unwrap();
        assert_eq!(access.rules.principals["alice"], vec!["a".to_string()]);
        assert!(ok.audit.enabled);
        let back = crate::LakeConfig::from_toml_str(&ok.to_toml_string().unwrap()).unwrap();
        assert_eq!(back, ok);
    }
}
