//! # strata
//!
//! An embedded storage and cache library: a small data lake inside the caller's process.
//! Tiered local/object storage with lifecycle and retention policies over the `object_store`
//! crate, reachable from Rust, from the `strata` command-line tool and through a C ABI
//! (`include/strata.h`, generated from the `ffi` module; C, C++ and Go bindings in `bindings/`).
//!
//! ```
//! # fn main() -> strata::Result<()> {
//! use strata::{LakeConfig, RunOptions, Store};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(&LakeConfig::local(dir.path()))?;
//! store.put("raw/2026/12/01.csv", b"id,amount\n1,9.5\n".to_vec())?;
//! assert_eq!(store.stat("raw/2026/12/01.csv")?.tier, "hot");
//!
//! // Preview what the default policies do in 31 days: idle objects move to the cold tier.
//! let later = std::time::SystemTime::now() + std::time::Duration::from_secs(31 * 86_400);
//! let report = store.run_tiers(&RunOptions { now: Some(later), ..RunOptions::default() }, &|_, _| {})?;
//! assert_eq!(report.moved, 1);
//! assert_eq!(store.stat("raw/2026/12/01.csv")?.tier, "cold");
//! assert_eq!(&store.get("raw/2026/12/01.csv")?[..], b"id,amount\n1,9.5\n");
//! # Ok(()) }
//! ```
//!
//! ## Memory maps
//!
//! Objects in local tiers are returned as memory maps. strata never modifies a stored file in
//! place (writes go to a staging file renamed over the key), so a map stays valid even if the
//! object is overwritten or deleted meanwhile. A process outside strata truncating a file in a
//! tier directory would make reads of the map fault; do not edit tier directories by hand.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod atomic_file;
mod cache;
mod clock;
mod config;
mod crypto;
mod error;
mod ffi;
mod format;
mod lake;
mod mask;
mod quality;
mod read;
mod runtime;
mod store;
pub mod tuning;

pub use atomic_file::AtomicFile;
pub use cache::{
    BatchCache, BlockCache, BlockCacheOptions, Cache, CacheStats, CachesStats, FooterCache,
    ObjectVersion, RangeFetch, TierLatency,
};
pub use config::{
    CacheConfig, CacheExpiry, CacheRule, CacheStrategy, EncryptionConfig, FormatConfig, LakeConfig,
    LifecycleRule, PlacementRule, RetentionRule, RetryConfig, S3Config, TierConfig, TierKind,
    DEFAULT_DIR,
};
pub use crypto::{
    is_encrypted, new_envelope, open as open_envelope, open_key_provider,
    open_to as open_envelope_to, seal as seal_envelope, AeadBackend, CallbackKeyProvider,
    ChunkCipher, EnvKeyProvider, EnvelopeHeader, KeyInfo, KeyProvider, KeyRing, Sealer, SecretKey,
    WrapFn, DEFAULT_CHUNK_SIZE, ENVELOPE_VERSION, KEYRING_FILE, KEY_LEN, MAX_HEADER_LEN,
};
pub use crypto::{ParquetDecryption, ParquetEncryption};
pub use error::{Error, ErrorKind, Result};
pub use format::{
    choose_columns, decode_floor, metadata_keys, read_input, select_format, write as write_data,
    AccessPattern, Codec, CodecPolicy, ColumnChoice, DictionaryMode, FileFormat, FormatChoice,
    Granularity, InputFormat, PageVersion, PartitionColumn, Partitioning, WriteEncryption,
    WriteOptions, WriteSummary, WrittenFile, DECODE_FLOOR_MBPS, TARGET_FILE_SIZE_RANGE,
};
pub use format::{
    compact, compact_until, inspect, reencode_parquet, write_encrypted_parquet, write_parquet,
    ChunkInfo, CompactOptions, CompactReport, CompactStep, FileInfo, RowGroupInfo,
    MANIFEST as COMPACTION_MANIFEST,
};
pub use lake::{KeyRow, Keys, Lake, MaskingKeyRow, RotationSummary};
pub use mask::{
    detokenize, mask_array, open_mask_keys, retokenize, rewrite_parquet, Alphabet, ColumnAccess,
    ColumnRotation, DateUnit, DigestEncoding, HashAlgorithm, MaskKey, MaskKeyInfo, MaskKeyRing,
    MaskKeys, MaskOp, MaskPolicy, MemoryKeys, MissingColumns, OnDenied, PreparedMask, RewriteStats,
    RoleMask, RotationReport, MASK_KEYS_FILE,
};
pub use quality::{
    check_batches, dataset_quality, profile_array, profile_batches, CheckOptions, ColumnProfile,
    ColumnSummary, CompareOp, DatasetQuality, DistinctCount, FailedRow, HyperLogLog, InferredType,
    PiiKind, ProfileOptions, QualityReport, QuantileSketch, Rule, RuleKind, RuleResult, RuleSet,
    Scalar, Severity, TableProfile, TopValue, TopValues, ValueKind,
};
pub use read::{
    read_encrypted_parquet, write_batches, BatchWriter, CmpOp, DecodedCache, DecodedKey, Expr,
    FileVersion, Literal, MemoryMetadataCache, MetadataCache, ObjectReader, ObjectSource, Scan,
    ScanFormat, ScanOutput, ScanReader, ScanStats, DEFAULT_BATCH_SIZE,
};
pub use store::{
    validate_key, ActionKind, ActionOutcome, ObjectInfo, PutOptions, ReindexReport, RotateReport,
    RunOptions, Store, TierAction, TierRunReport, INDEX_FILE, MAX_KEY_LEN, TIER_INDEX_FORMAT,
};
