//! `[tables]`: where the lake keeps its Delta tables and which zones group them.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The zones tables live in unless the config names others: the medallion layers.
pub const DEFAULT_ZONES: [&str; 4] = ["raw", "bronze", "silver", "gold"];

/// Where tables live.
///
/// ```toml
/// [tables]
/// zones = ["raw", "bronze", "silver", "gold", "sandbox"]
/// tier = "hot"            # default: the first local tier
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TablesConfig {
    /// The zones a table name may start with (`silver/trips`); 1 to 64 names of ASCII letters,
    /// digits, `-` and `_`.
    pub zones: Vec<String>,
    /// The tier whose storage holds the tables (`<tier>/tables/<zone>/<name>/`); the first
    /// local tier when unset.
    pub tier: Option<String>,
}

impl Default for TablesConfig {
    fn default() -> Self {
        TablesConfig {
            zones: DEFAULT_ZONES.iter().map(|z| z.to_string()).collect(),
            tier: None,
        }
    }
}

impl TablesConfig {
    /// Checks the zone names (the tier is checked against the tiers by the whole config).
    pub fn validate(&self) -> Result<()> {
        if self.zones.is_empty() || self.zones.len() > 64 {
            return Err(Error::config("tables.zones must name 1 to 64 zones"));
        }
        for (i, zone) in self.zones.iter().enumerate() {
            if !is_name(zone) {
                return Err(Error::config(format!(
                    "tables.zones: {zone:?} must be 1 to 64 ASCII letters, digits, '-' or '_'"
                )));
            }
            if self.zones[..i].contains(zone) {
                return Err(Error::config(format!("tables.zones names {zone:?} twice")));
            }
        }
        Ok(())
    }
}

/// A zone or table name segment: 1 to 64 ASCII letters, digits, `-` or `_`, not starting with
/// `_` or `-` (Delta readers skip paths starting with `_` or `.`).
pub(crate) fn is_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && !s.starts_with(['_', '-'])
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
