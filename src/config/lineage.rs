//! `[lineage]`: where OpenLineage events of the lake's writes go.
//!
//! ```toml
//! [lineage]
//! sink = "file"                     # or "none" (the default); hosts may add a callback
//! path = "lineage/events.jsonl"     # relative to the data root; one JSON event per line
//! namespace = "strata"              # the OpenLineage job and dataset namespace
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where OpenLineage events go.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum LineageSink {
    /// Nowhere (a host may still set a callback).
    #[default]
    None,
    /// Appended to a JSON-lines file.
    File,
}

/// The `[lineage]` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LineageConfig {
    /// Where events go.
    pub sink: LineageSink,
    /// The file of a `file` sink: relative paths are under the data root.
    pub path: Option<PathBuf>,
    /// The OpenLineage namespace of jobs and datasets.
    pub namespace: String,
}

impl Default for LineageConfig {
    fn default() -> Self {
        LineageConfig {
            sink: LineageSink::None,
            path: None,
            namespace: "strata".into(),
        }
    }
}

impl LineageConfig {
    /// Checks that a file sink names its file and the namespace is usable.
    pub fn validate(&self) -> Result<()> {
        if self.sink == LineageSink::File && self.path.is_none() {
            return Err(Error::config(
                "lineage.sink = \"file\" needs lineage.path (a JSON-lines file)",
            ));
        }
        if self.namespace.is_empty()
            || self.namespace.len() > 256
            || self.namespace.chars().any(char::is_control)
        {
            return Err(Error::config(
                "lineage.namespace must be 1 to 256 characters without control characters",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_sink_needs_a_path_and_bad_values_are_refused() {
        assert!(LineageConfig::default().validate().is_ok());
        let file = LineageConfig {
            sink: LineageSink::File,
            ..LineageConfig::default()
        };
        assert!(file
            .validate()
            .unwrap_err()
            .to_string()
            .contains("lineage.path"));
        let bad: std::result::Result<LineageConfig, _> = toml::from_str("sink = \"kafka\"");
        assert!(bad.is_err());
        let bad: std::result::Result<LineageConfig, _> = toml::from_str("paht = \"x\"");
        assert!(bad.is_err());
        let ns = LineageConfig {
            namespace: String::new(),
            ..LineageConfig::default()
        };
        assert!(ns.validate().is_err());
        let ok: LineageConfig =
            toml::from_str("sink = \"file\"\npath = \"lineage.jsonl\"").unwrap();
        assert!(ok.validate().is_ok());
    }
}
