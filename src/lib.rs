//! # strata
//!
//! An embedded storage and cache library: a small data lake inside the caller's process.
//! Tiered local/object storage with lifecycle and retention policies over the `object_store`
//! crate, Parquet written with the right codecs, scans through a cache, encryption at rest,
//! masking and data-quality checks; reachable from Rust, from the `strata` command-line tool
//! and through a C ABI (`include/strata.h`, generated from the `ffi` module; C, C++ and Go
//! bindings in `bindings/`).
//!
//! Everything goes through one door, [`Lake`]: it owns the store, the cache, the key
//! providers and the masking keys.
//!
//! ```
//! # fn main() -> strata::Result<()> {
//! use strata::{Lake, RunOptions};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let lake = Lake::open_dir(dir.path())?;
//! lake.put("raw/2026/12/01.csv", b"id,amount\n1,9.5\n".to_vec())?;
//! assert_eq!(lake.stat("raw/2026/12/01.csv")?.tier, "hot");
//!
//! // Preview what the default policies do in 31 days: idle objects move to the cold tier.
//! let later = std::time::SystemTime::now() + std::time::Duration::from_secs(31 * 86_400);
//! let report = lake.run_tiers(&RunOptions { now: Some(later), ..RunOptions::default() }, &|_, _| {})?;
//! assert_eq!(report.moved, 1);
//! assert_eq!(lake.stat("raw/2026/12/01.csv")?.tier, "cold");
//! assert_eq!(&lake.get("raw/2026/12/01.csv")?[..], b"id,amount\n1,9.5\n");
//! # Ok(()) }
//! ```
//!
//! The root holds the types most programs need: [`Lake`], [`LakeConfig`], [`Scan`] and
//! [`Expr`], [`WriteOptions`], [`Error`]. Specialist parts live in their modules:
//! [`config`] (tiers, rules), [`store`] (the tiered object store under the lake), [`cache`],
//! [`read`] (object readers, metadata caches, output writers), [`format`] (the Parquet
//! writer's choices, compaction, inspection), [`crypto`] (envelopes, key rings, key
//! providers), [`mask`], [`quality`], [`table`] (Delta Lake tables), and [`tuning`] (process-wide knobs, which nothing turns
//! on unless the program asks).
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

pub mod advisor;
mod atomic_file;
pub mod cache;
pub mod catalog;
mod clock;
pub mod config;
pub mod crypto;
mod error;
mod ffi;
pub mod format;
pub mod governance;
mod ids;
mod lake;
pub mod mask;
pub mod quality;
pub mod read;
mod runtime;
pub mod store;
pub mod table;
pub mod tuning;

pub use atomic_file::AtomicFile;
pub use config::LakeConfig;
pub use error::{Error, ErrorKind, Result};
pub use format::{WriteOptions, WriteSummary};
pub use lake::{
    ExpectReport, ExpectationCount, KeyRow, Keys, Lake, LineageCallback, MaskingKeyRow,
    RotationSummary,
};
pub use read::{Expr, Scan, ScanFormat, ScanOutput, ScanReader, ScanStats, NAN_COUNTS_KEY};
pub use store::{ObjectInfo, PutOptions, RunOptions};
