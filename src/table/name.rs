//! Table names: `zone/name` (`silver/trips`), checked against the lake's zones.

use std::fmt;

use crate::config::{is_name, TablesConfig};
use crate::error::{Error, Result};

/// The name of a table in the lake: its zone and its name within the zone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableName {
    /// The zone (`raw`, `bronze`, `silver`, `gold`, or one the config adds).
    pub zone: String,
    /// The table's name within its zone.
    pub name: String,
}

impl TableName {
    /// Parses `zone/name`, refusing a zone `config` does not list and names other engines or
    /// file systems would trip on (1 to 64 ASCII letters, digits, `-`, `_`; not starting with
    /// `_` or `-`).
    pub fn parse(text: &str, config: &TablesConfig) -> Result<TableName> {
        let bad = |why: String| Error::invalid(format!("bad table name {text:?}: {why}"));
        let Some((zone, name)) = text.split_once('/') else {
            return Err(bad(format!(
                "expected ZONE/NAME with a zone of {}",
                config.zones.join(", ")
            )));
        };
        if !config.zones.iter().any(|z| z == zone) {
            return Err(bad(format!(
                "unknown zone {zone:?}; the zones are {} (config [tables] zones)",
                config.zones.join(", ")
            )));
        }
        if !is_name(name) {
            return Err(bad(
                "the name must be 1 to 64 ASCII letters, digits, '-' or '_', not starting \
                 with '_' or '-'"
                    .into(),
            ));
        }
        Ok(TableName {
            zone: zone.to_string(),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.zone, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_need_a_known_zone_and_a_plain_name() {
        let config = TablesConfig::default();
        let t = TableName::parse("silver/trips", &config).unwrap();
        assert_eq!((t.zone.as_str(), t.name.as_str()), ("silver", "trips"));
        assert_eq!(t.to_string(), "silver/trips");
        for bad in [
            "trips",
            "platinum/trips",
            "silver/",
            "silver/_delta_log",
            "silver/a/b",
            "silver/..",
            "silver/tr ips",
            "/trips",
        ] {
            assert!(TableName::parse(bad, &config).is_err(), "{bad}");
        }
    }
}
