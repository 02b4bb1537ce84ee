//! Writing analytical data well: format selection (Parquet, or Arrow IPC where zero-copy hot
//! reads win), codec and encoding selection per column, the Parquet and IPC writers,
//! Hive-partitioned datasets, compaction, and inspection of what was written.

mod choose;
mod codec;
mod compact;
mod csv_input;
mod csv_typed;
mod encrypted;
mod infer_csv;
mod input;
mod inspect;
mod jsonl_input;
mod lines;
mod options;
mod parquet_file;
mod partition;
mod reencode;
mod splice;
mod stream;
mod trial_report;
mod write;

pub use choose::{choose_columns, decode_floor, ColumnChoice, DECODE_FLOOR_MBPS};
pub use codec::{Codec, CodecPolicy};
pub(crate) use compact::pending_view;
pub use compact::{compact, compact_until, CompactOptions, CompactReport, CompactStep, MANIFEST};
pub use encrypted::write_encrypted_parquet;
pub use input::{read_input, InputFormat};
pub use inspect::{inspect, ChunkInfo, FileInfo, RowGroupInfo};
pub use options::{
    AccessPattern, DictionaryMode, FormatChoice, PageVersion, WriteEncryption, WriteOptions,
    TARGET_FILE_SIZE_RANGE,
};
pub use parquet_file::write_parquet;
pub use partition::{Granularity, PartitionColumn, Partitioning};
pub use reencode::reencode_parquet;
pub(crate) use splice::Splice;
pub use splice::COPIED_COLUMNS_KEY;
pub(crate) use stream::ParquetStreamWriter;
pub use trial_report::{CodecTrials, FixedCodecSize};
pub use write::{
    keys as metadata_keys, select_format, write, FileFormat, WriteSummary, WrittenFile,
};
pub(crate) use write::{parquet_bytes, run_id, without_strata_metadata};
