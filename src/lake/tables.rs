//! The lake's Delta tables: `<table tier>/tables/<zone>/<name>/`, in a directory or on S3.

use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;

use super::table_files::TableFiles;
use super::Lake;
use crate::error::{Error, ErrorKind, Result};
use crate::format::WriteOptions;
use crate::store::TablesAt;
use crate::table::{Table, TableName, TableStore, TARGET_FILE_BYTES};

/// Whether a table name is a location (a path or URI) rather than `zone/name`.
fn is_location(name: &str) -> bool {
    name.starts_with('/')
        || name.starts_with("./")
        || name.starts_with("../")
        || name.contains("://")
}

impl Lake {
    /// The table `zone/name` (`silver/trips`) of the lake, existing or not yet created. The
    /// zone must be one of the config's `[tables] zones`. It lives on the `[tables] tier`
    /// (by default the first local tier, else the first S3 tier), under `tables/<zone>/<name>/`.
    ///
    /// A `name` that is a location (`/data/trips`, `./trips`, `file://...`, `s3://bucket/p`)
    /// opens the Delta table there instead, as [`Lake::table_at`] does.
    pub fn table(&self, name: &str) -> Result<Table> {
        if is_location(name) {
            return self.table_at(name);
        }
        let config = self.config();
        let name = TableName::parse(name, &config.tables)?;
        let write = self.table_write_options()?;
        match self.tables_at()? {
            TablesAt::Dir(root) => {
                let dir = root.join(&name.zone).join(&name.name);
                Ok(self.gated(
                    Table::at(name.to_string(), dir, write)?
                        .with_keys(self.table_keys()?)
                        .with_write_hook(self.stats_write_hook(self.write_hook())),
                ))
            }
            TablesAt::Objects {
                store,
                prefix,
                url,
                tier,
                cache,
            } => {
                let prefix: ObjectPath = prefix
                    .parts()
                    .chain([name.zone.as_str().into(), name.name.as_str().into()])
                    .collect();
                let url = url
                    .join(&format!("{}/{}/", name.zone, name.name))
                    .map_err(|e| Error::internal(format!("cannot make the table's URL: {e}")))?;
                // Block-cache reads of the table's files count as the table's.
                let tally = match &cache {
                    Some(_) => self.cache_tally(&name.to_string(), "table"),
                    None => None,
                };
                let at = self.table_store(store, prefix, url, tier, cache, tally);
                Ok(self.gated(
                    Table::at_store(name.to_string(), at, write)?
                        .with_keys(self.table_keys()?)
                        .with_write_hook(self.stats_write_hook(self.write_hook())),
                ))
            }
        }
    }

    /// The Delta table at `location`, outside the lake's zones, read and written in place: a
    /// directory (a path or `file://` URL), or `s3://bucket/prefix` reached with the lake's S3
    /// settings (those of its first S3 tier: endpoint, region, credentials; otherwise the
    /// environment's `AWS_*`), through the lake's I/O runtime.
    ///
    /// A principal's handle needs `admin` on the lake for this: such a table is outside the
    /// zones grants name.
    pub fn table_at(&self, location: &str) -> Result<Table> {
        self.authorize(
            "table.open",
            crate::config::Action::Admin,
            crate::governance::Resource::Lake,
        )?;
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let prefix = prefix.trim_matches('/');
            if bucket.is_empty() || prefix.is_empty() {
                return Err(Error::invalid(format!(
                    "{location:?}: a table on S3 is s3://BUCKET/PREFIX"
                )));
            }
            let store = self.s3_bucket(bucket)?;
            let path = ObjectPath::parse(prefix)
                .map_err(|e| Error::invalid(format!("{location:?}: bad S3 prefix: {e}")))?;
            let url = url::Url::parse(&format!("s3://{bucket}/{path}/"))
                .map_err(|e| Error::invalid(format!("{location:?}: {e}")))?;
            let at = self.table_store(store, path, url, "s3".to_string(), None, None);
            let table = Table::at_store(location.to_string(), at, self.table_write_options()?)?;
            return Ok(table.with_keys(self.table_keys()?));
        }
        if location.contains("://") && !location.starts_with("file://") {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{location:?}: tables live in directories or on S3 (s3://BUCKET/PREFIX)"),
            ));
        }
        let dir = location.strip_prefix("file://").unwrap_or(location);
        let table = Table::at(
            location.to_string(),
            std::path::PathBuf::from(dir),
            self.table_write_options()?,
        )?;
        Ok(table.with_keys(self.table_keys()?))
    }

    /// `table` with this handle's gate (access checks, audit records), when it needs one.
    fn gated(&self, table: Table) -> Table {
        match self.stats_gate(self.table_gate()) {
            Some(gate) => table.with_gate(gate),
            None => table,
        }
    }

    /// The key provider for encrypted tables, when the lake has keys.
    fn table_keys(&self) -> Result<Option<Arc<dyn crate::crypto::KeyProvider>>> {
        self.store.existing_key_provider()
    }

    fn table_store(
        &self,
        store: Arc<dyn ObjectStore>,
        prefix: ObjectPath,
        url: url::Url,
        tier: String,
        cache: Option<(crate::cache::BlockCache, crate::config::CacheStrategy)>,
        tally: Option<Arc<crate::cache::ReadTally>>,
    ) -> TableStore {
        let files = TableFiles {
            store: self.store.clone(),
            objects: store.clone(),
            tier,
            cache,
            tally,
        };
        TableStore {
            store,
            prefix,
            url,
            staging: self.dir().to_path_buf(),
            files: Arc::new(files),
        }
    }

    /// The bucket `bucket` with the settings of the lake's first S3 tier (or the environment's).
    fn s3_bucket(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>> {
        let config = self.config();
        let settings = config.tiers.iter().find_map(|t| match &t.kind {
            crate::config::TierKind::S3(s3) => Some(s3.clone()),
            _ => None,
        });
        crate::store::open_bucket(bucket, settings.as_ref(), &config.retry)
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
        let mut names = Vec::new();
        for z in config
            .tables
            .zones
            .iter()
            .filter(|z| zone.is_none_or(|want| want == *z))
        {
            for n in self.table_names_in(z)? {
                if let Ok(name) = TableName::parse(&format!("{z}/{n}"), &config.tables) {
                    let readable = self.checked().is_none_or(|(policy, principal)| {
                        policy
                            .check(
                                principal,
                                crate::config::Action::Read,
                                crate::governance::Resource::Table(&name.to_string()),
                            )
                            .is_ok()
                    });
                    if readable && self.table(&name.to_string())?.without_gate().exists()? {
                        names.push(name);
                    }
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// The names under `tables/<zone>/` (tables or not).
    fn table_names_in(&self, zone: &str) -> Result<Vec<String>> {
        match self.tables_at()? {
            TablesAt::Dir(root) => {
                let dir = root.join(zone);
                let entries = match std::fs::read_dir(&dir) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(Error::io("cannot list tables", &dir, e)),
                };
                let mut names = Vec::new();
                for entry in entries {
                    let entry = entry.map_err(|e| Error::io("cannot list tables", &dir, e))?;
                    if let Some(n) = entry.file_name().to_str() {
                        names.push(n.to_string());
                    }
                }
                Ok(names)
            }
            TablesAt::Objects { store, prefix, .. } => {
                let at: ObjectPath = prefix.parts().chain([zone.into()]).collect();
                let listed = self
                    .store
                    .io_handle()?
                    .block_on(store.list_with_delimiter(Some(&at)))
                    .map_err(|e| {
                        Error::new(ErrorKind::Io, format!("cannot list tables: {e}"))
                            .with("zone", zone)
                    })?;
                Ok(listed
                    .common_prefixes
                    .iter()
                    .filter_map(|p| p.filename().map(str::to_string))
                    .collect())
            }
        }
    }

    /// Where the lake's tables live: the `[tables] tier`, else the first local tier, else the
    /// first S3 tier.
    pub(super) fn tables_at(&self) -> Result<TablesAt> {
        let config = self.config();
        let store = self.store();
        let at = match &config.tables.tier {
            Some(tier) => store.tables_at(tier),
            None => config
                .tiers
                .iter()
                .find_map(|t| store.tables_dir(&t.name).map(TablesAt::Dir))
                .or_else(|| config.tiers.iter().find_map(|t| store.tables_at(&t.name))),
        };
        at.ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                "tables live on local or S3 tiers, and the lake's table tier is neither",
            )
        })
    }

    /// The tier tables live on (see `tables_at`).
    pub(super) fn tables_tier(&self) -> Option<usize> {
        let config = self.config();
        let store = self.store();
        match &config.tables.tier {
            Some(tier) => config.tiers.iter().position(|t| &t.name == tier),
            None => config
                .tiers
                .iter()
                .position(|t| store.tables_dir(&t.name).is_some())
                .or_else(|| {
                    config
                        .tiers
                        .iter()
                        .position(|t| store.tables_at(&t.name).is_some())
                }),
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
