//! Reading Parquet: memory-mapped (or plain) files, scans with projection, predicates,
//! statistics pruning and parallel decode, over one file or a Hive-partitioned directory.

mod dataset;
mod decoded;
mod dictionary;
mod encrypted;
mod eval;
mod expr;
mod footer;
mod footer_mend;
mod guard;
mod handoff;
pub(crate) mod heap;
mod in_list;
pub(crate) mod maps;
mod memory;
mod merge;
mod metadata;
pub(crate) mod object;
mod ordered;
mod output;
mod parse;
mod partitioned;
mod plan;
mod predicate;
mod prune;
mod scan;
mod source;
mod split;
mod stream;
mod unordered;
mod views;
mod window;

pub(crate) use dataset::{unescape as unescape_partition_value, HIVE_NULL};
pub use dataset::{FileList, FileStats};
pub use decoded::{DecodedCache, DecodedKey};
pub use encrypted::read_encrypted_parquet;
pub(crate) use eval::evaluate as evaluate_filter;
pub(crate) use eval::literal_array;
pub use expr::{Assignment, CmpOp, Expr, Literal, SetValue};
pub use guard::{ScanGuard, ScanShape};
pub use metadata::{FileVersion, MemoryMetadataCache, MetadataCache};
pub use object::{ObjectReader, ObjectSource};
pub use output::{write_batches, BatchWriter, ScanFormat};
pub use prune::{UnitStats, NAN_COUNTS_KEY};
pub use scan::{Scan, ScanOutput, ScanStats, DEFAULT_BATCH_SIZE};
pub use stream::ScanReader;
