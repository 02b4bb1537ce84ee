//! Write options: the file format, the codec policy and the Parquet writer settings.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;

use super::codec::CodecPolicy;
use super::partition::Partitioning;
use crate::crypto::{KeyProvider, ParquetEncryption};
use crate::error::{Error, Result};

/// Which file format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FormatChoice {
    /// Parquet unless the access pattern or destination asks for Arrow IPC.
    Auto,
    /// Parquet.
    Parquet,
    /// An Arrow IPC file (Feather v2).
    Ipc,
}

impl FromStr for FormatChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(FormatChoice::Auto),
            "parquet" => Ok(FormatChoice::Parquet),
            "ipc" | "arrow" | "feather" => Ok(FormatChoice::Ipc),
            _ => Err(Error::invalid(format!(
                "unknown format {s:?}; expected auto, parquet or ipc"
            ))),
        }
    }
}

/// How the data will be read, which decides the format under [`FormatChoice::Auto`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessPattern {
    /// Analytical scans, possibly by other engines: Parquet.
    #[default]
    Scan,
    /// Whole batches read back by Arrow readers in this or a linked process, where mapping
    /// the file and using its buffers in place (no decode) wins: Arrow IPC.
    ZeroCopy,
}

impl FromStr for AccessPattern {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "scan" => Ok(AccessPattern::Scan),
            "zero-copy" | "zero_copy" | "hot" => Ok(AccessPattern::ZeroCopy),
            _ => Err(Error::invalid(format!(
                "unknown access pattern {s:?}; expected scan or zero-copy"
            ))),
        }
    }
}

/// Parquet data page format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PageVersion {
    /// Data page v1: what every reader understands.
    #[default]
    V1,
    /// Data page v2 (levels stored uncompressed in front of the values).
    V2,
}

impl fmt::Display for PageVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PageVersion::V1 => "v1",
            PageVersion::V2 => "v2",
        })
    }
}

/// Dictionary encoding: chosen per column, or forced on or off for every column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DictionaryMode {
    /// Low-cardinality columns get a dictionary (measured on the sample).
    #[default]
    Auto,
    /// Every column that can have one.
    On,
    /// None.
    Off,
}

/// The lower and upper bound of the default target file size: the usual guidance for data
/// lake files (big enough to amortize per-file costs, small enough to parallelize).
pub const TARGET_FILE_SIZE_RANGE: (u64, u64) = (128 << 20, 1 << 30);

/// Parquet modular encryption for a write: which key ids protect the footer and the columns,
/// and the key provider that wraps the data keys. Every file written gets fresh data keys;
/// pyarrow (`CryptoFactory`) and strata ([`Scan::decryption`](crate::Scan::decryption)) read
/// the files with the same provider.
#[derive(Clone)]
pub struct WriteEncryption {
    /// Which key ids protect what.
    pub scheme: ParquetEncryption,
    /// Wraps each file's data keys under those key ids.
    pub keys: Arc<dyn KeyProvider>,
}

impl WriteEncryption {
    /// Encryption as `scheme` says, with data keys wrapped by `keys`.
    pub fn new(scheme: ParquetEncryption, keys: Arc<dyn KeyProvider>) -> Self {
        WriteEncryption { scheme, keys }
    }
}

impl fmt::Debug for WriteEncryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteEncryption")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

/// Everything a write can be told.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// The file format.
    pub format: FormatChoice,
    /// How the data will be read (for [`FormatChoice::Auto`]).
    pub access: AccessPattern,
    /// The codec policy.
    pub codec: CodecPolicy,
    /// The tier the data is meant for; its decode-speed floor applies under `auto`
    /// (position 0 is the hottest; `None` means a middle tier).
    pub tier_position: Option<usize>,
    /// Rows per row group.
    pub row_group_rows: usize,
    /// Bytes per data page (before compression).
    pub page_bytes: usize,
    /// Multi-file outputs roll over to a new file past this many bytes.
    pub target_file_bytes: u64,
    /// Data page v1 or v2.
    pub page_version: PageVersion,
    /// Dictionary encoding policy.
    pub dictionary: DictionaryMode,
    /// Columns that get a bloom filter (for point lookups).
    pub bloom_filter_columns: Vec<String>,
    /// Columns the data is sorted by before writing (recorded in the row group metadata).
    pub sort_by: Vec<String>,
    /// Page-level statistics and the page index (column and offset indexes).
    pub page_index: bool,
    /// How to split the rows into Hive-style directories.
    pub partitioning: Option<Partitioning>,
    /// Rows sampled per column by the selection trials (about one data page).
    pub sample_rows: usize,
    /// Parquet modular encryption (Parquet files only; `None`: plaintext).
    pub encryption: Option<WriteEncryption>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            format: FormatChoice::Auto,
            access: AccessPattern::Scan,
            codec: CodecPolicy::Auto,
            tier_position: None,
            row_group_rows: 1 << 20,
            page_bytes: 1 << 20,
            target_file_bytes: TARGET_FILE_SIZE_RANGE.0,
            page_version: PageVersion::V1,
            dictionary: DictionaryMode::Auto,
            bloom_filter_columns: Vec::new(),
            sort_by: Vec::new(),
            page_index: true,
            partitioning: None,
            sample_rows: 0,
            encryption: None,
        }
    }
}

impl WriteOptions {
    /// Checks the numbers; every writer calls this first.
    pub fn validate(&self) -> Result<()> {
        if self.row_group_rows == 0 {
            return Err(Error::invalid("row group rows must be at least 1"));
        }
        if self.page_bytes < 1024 {
            return Err(Error::invalid("page size must be at least 1 KiB"));
        }
        if self.target_file_bytes < 1024 {
            return Err(Error::invalid("target file size must be at least 1 KiB"));
        }
        Ok(())
    }
}
