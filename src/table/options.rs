//! Per-table options: how a table is laid out, described, compressed, sized and encrypted.
//! They are kept in the table's Delta metadata (`strata.*` properties), so every writer of the
//! table, in any process, writes it the same way.

use std::collections::HashMap;
use std::sync::Arc;

use crate::crypto::{KeyProvider, ParquetDecryption, ParquetEncryption};
use crate::error::{Error, ErrorKind, Result};
use crate::format::{CodecPolicy, WriteEncryption, WriteOptions};

/// The property naming the table's owner.
pub(crate) const OWNER: &str = "strata.owner";
/// The property holding the table's codec policy (`auto`, `fast`, `zstd:3`, ...).
pub(crate) const CODEC: &str = "strata.codec";
/// The property holding the table's target data file size in bytes.
pub(crate) const TARGET_FILE_SIZE: &str = "strata.targetFileSize";
/// The property holding the table's Parquet modular encryption (key ids, as JSON).
pub(crate) const ENCRYPTION: &str = "strata.encryption";

/// How a new table is laid out and described.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// Partition columns (strings, integers, dates or booleans), outermost first.
    pub partition_by: Vec<String>,
    /// A description, kept in the table's metadata.
    pub description: Option<String>,
    /// Who owns the table (`strata.owner` in the table's properties).
    pub owner: Option<String>,
    /// The codec policy of the table's data files (`strata.codec`); by default the table
    /// tier's.
    pub codec: Option<CodecPolicy>,
    /// Data files roll over past this many bytes (`strata.targetFileSize`; default 128 MiB).
    pub target_file_bytes: Option<u64>,
    /// Parquet modular encryption of the data files under key ids of the lake's key provider
    /// (`strata.encryption`). Only strata (and readers given the keys, such as pyarrow with a
    /// matching KMS client) can read such a table; the log's file statistics then carry row
    /// counts only, so no value of an encrypted column is written in the clear.
    pub encryption: Option<ParquetEncryption>,
}

impl TableOptions {
    /// The table properties these options set.
    pub(crate) fn properties(&self) -> Result<HashMap<String, Option<String>>> {
        let mut properties = HashMap::new();
        if let Some(owner) = &self.owner {
            properties.insert(OWNER.to_string(), Some(owner.clone()));
        }
        if let Some(codec) = &self.codec {
            properties.insert(CODEC.to_string(), Some(codec.to_string()));
        }
        if let Some(bytes) = self.target_file_bytes {
            if bytes < 1024 {
                return Err(Error::invalid(
                    "a table's target file size must be at least 1 KiB",
                ));
            }
            properties.insert(TARGET_FILE_SIZE.to_string(), Some(bytes.to_string()));
        }
        if let Some(encryption) = &self.encryption {
            properties.insert(ENCRYPTION.to_string(), Some(encryption.to_json()));
        }
        Ok(properties)
    }
}

/// What a table's properties say about writing and reading its data files.
#[derive(Debug, Default)]
pub(crate) struct Settings {
    codec: Option<CodecPolicy>,
    target_file_bytes: Option<u64>,
    encryption: Option<ParquetEncryption>,
}

impl Settings {
    /// The settings in `properties` (a table's configuration); a property strata cannot
    /// parse is an error naming it, since writing such a table another way would be wrong.
    pub(crate) fn of(properties: &HashMap<String, String>) -> Result<Settings> {
        let bad = |key: &str, value: &str, why: String| {
            Error::new(
                ErrorKind::Corrupt,
                format!("the table property {key} = {value:?} is not valid: {why}"),
            )
        };
        let codec = properties
            .get(CODEC)
            .map(|v| {
                v.parse::<CodecPolicy>()
                    .map_err(|e| bad(CODEC, v, e.to_string()))
            })
            .transpose()?;
        let target_file_bytes = properties
            .get(TARGET_FILE_SIZE)
            .map(|v| match v.parse::<u64>() {
                Ok(n) if n >= 1024 => Ok(n),
                _ => Err(bad(
                    TARGET_FILE_SIZE,
                    v,
                    "not a size of at least 1024 bytes".into(),
                )),
            })
            .transpose()?;
        let encryption = properties
            .get(ENCRYPTION)
            .map(|v| ParquetEncryption::from_json(v).map_err(|e| bad(ENCRYPTION, v, e.to_string())))
            .transpose()?;
        Ok(Settings {
            codec,
            target_file_bytes,
            encryption,
        })
    }

    /// Whether the data files are encrypted.
    pub(crate) fn encrypted(&self) -> bool {
        self.encryption.is_some()
    }

    /// `base` with these settings applied; an encrypted table needs `keys`.
    pub(crate) fn write_options(
        &self,
        base: &WriteOptions,
        keys: Option<&Arc<dyn KeyProvider>>,
    ) -> Result<WriteOptions> {
        let mut options = base.clone();
        if let Some(codec) = self.codec {
            options.codec = codec;
        }
        if let Some(bytes) = self.target_file_bytes {
            options.target_file_bytes = bytes;
        }
        if let Some(scheme) = &self.encryption {
            options.encryption = Some(WriteEncryption::new(scheme.clone(), need_keys(keys)?));
        }
        Ok(options)
    }

    /// How a scan decrypts the data files (`None` for a plaintext table).
    pub(crate) fn decryption(
        &self,
        keys: Option<&Arc<dyn KeyProvider>>,
    ) -> Result<Option<ParquetDecryption>> {
        if !self.encrypted() {
            return Ok(None);
        }
        Ok(Some(ParquetDecryption::from_provider(need_keys(keys)?)))
    }
}

fn need_keys(keys: Option<&Arc<dyn KeyProvider>>) -> Result<Arc<dyn KeyProvider>> {
    keys.cloned().ok_or_else(|| {
        Error::new(
            ErrorKind::Config,
            "the table's data files are encrypted (strata.encryption) and no key provider is \
             set: open the table from a lake with keys (strata key create, or [encryption])",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_round_trip_through_properties_and_bad_ones_are_errors() {
        let options = TableOptions {
            codec: Some("zstd:5".parse().unwrap()),
            target_file_bytes: Some(64 << 20),
            encryption: Some(ParquetEncryption::uniform("t1")),
            owner: Some("ana".into()),
            ..TableOptions::default()
        };
        let properties: HashMap<String, String> = options
            .properties()
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k, v.unwrap()))
            .collect();
        let settings = Settings::of(&properties).unwrap();
        assert!(settings.encrypted());
        let written = settings
            .write_options(&WriteOptions::default(), None)
            .unwrap_err();
        assert_eq!(written.kind(), ErrorKind::Config);
        let plain = Settings {
            encryption: None,
            ..settings
        };
        let written = plain.write_options(&WriteOptions::default(), None).unwrap();
        assert_eq!(written.codec.to_string(), "zstd:5");
        assert_eq!(written.target_file_bytes, 64 << 20);

        for (key, value) in [
            (CODEC, "brotli:99"),
            (TARGET_FILE_SIZE, "12"),
            (TARGET_FILE_SIZE, "-1"),
            (ENCRYPTION, "{"),
        ] {
            let properties = HashMap::from([(key.to_string(), value.to_string())]);
            let e = Settings::of(&properties).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Corrupt, "{key}={value}: {e}");
            assert!(e.to_string().contains(key), "{e}");
        }
        let tiny = TableOptions {
            target_file_bytes: Some(10),
            ..TableOptions::default()
        };
        assert!(tiny.properties().is_err());
    }
}
