//! The lake's Delta tables: `<table tier>/tables/<zone>/<name>/`.

use std::path::PathBuf;

use super::Lake;
use crate::error::{Error, ErrorKind, Result};
use crate::format::WriteOptions;
use crate::table::{Table, TableName, TARGET_FILE_BYTES};

impl Lake {
    /// The table `zone/name` (`silver/trips`) of the lake, existing or not yet created. The
    /// zone must be one of the config's `[tables] zones`.
    pub fn table(&self, name: &str) -> Result<Table> {
        let config = self.config();
        let name = TableName::parse(name, &config.tables)?;
        let root = self.tables_root()?;
        let dir = root.join(&name.zone).join(&name.name);
        Table::at(name.to_string(), dir, self.table_write_options()?)
    }

    /// The names of the lake's tables (those with a commit), in `zone` or in every zone.
    pub fn tables(&self, zone: Option<&str>) -> Result<Vec<TableName>> {
        let config = self.config();
        if let Some(zone) = zone {
            if !config.tables.zones.iter().any(|z| z == zone) {
                return Err(Error::invalid(format!(
                    "unknown zone {zone:?}; the zones are {}",
                    config.tables.zones.join(", ")
                )));
            }
        }
        let root = self.tables_root()?;
        let mut names = Vec::new();
        for z in config
            .tables
            .zones
            .iter()
            .filter(|z| zone.is_none_or(|want| want == *z))
        {
            let dir = root.join(z);
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("cannot list tables", &dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| Error::io("cannot list tables", &dir, e))?;
                let file_name = entry.file_name();
                let Some(n) = file_name.to_str() else {
                    continue;
                };
                let Ok(name) = TableName::parse(&format!("{z}/{n}"), &config.tables) else {
                    continue;
                };
                if entry.path().join("_delta_log").is_dir() {
                    names.push(name);
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// `<table tier>/tables`: the `[tables] tier`, else the first local tier.
    fn tables_root(&self) -> Result<PathBuf> {
        let config = self.config();
        let store = self.store();
        match &config.tables.tier {
            Some(tier) => store.tables_dir(tier).ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "tables live on local tiers for now; [tables] tier {tier:?} is not local"
                    ),
                )
            }),
            None => config
                .tiers
                .iter()
                .find_map(|t| store.tables_dir(&t.name))
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Unsupported,
                        "tables live on local tiers for now, and the lake has none",
                    )
                }),
        }
    }

    /// The tier tables live on (see `tables_root`).
    fn tables_tier(&self) -> Option<usize> {
        let config = self.config();
        match &config.tables.tier {
            Some(tier) => config.tiers.iter().position(|t| &t.name == tier),
            None => config
                .tiers
                .iter()
                .position(|t| self.store().tables_dir(&t.name).is_some()),
        }
    }

    /// How table data is written: the table tier's codec policy and 128 MiB files.
    fn table_write_options(&self) -> Result<WriteOptions> {
        let config = self.config();
        let mut options = WriteOptions {
            target_file_bytes: TARGET_FILE_BYTES,
            ..WriteOptions::default()
        };
        if let Some(position) = self.tables_tier() {
            let name = &config.tiers[position].name;
            options.codec = config.format.tier_codec(name, position)?;
            options.tier_position = Some(position);
        }
        Ok(options)
    }
}
