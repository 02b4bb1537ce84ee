//! The data the suites run on: TPC-H `lineitem` and `orders` generated in process by
//! `tpchgen-arrow`, written once per scale as Parquet by the parquet crate (what other
//! engines write: snappy, dictionary on, row groups of up to 1M rows) into a cache directory
//! and reused; and a synthetic mixed-type table with nulls, generated in memory.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use tpchgen::generators::{LineItemGenerator, OrderGenerator};
use tpchgen_arrow::{LineItemArrow, OrderArrow};

use super::measure::Progress;
use super::{io_error, other};

/// Rows per row group of the generated files (pyarrow's and DuckDB's order of magnitude).
pub const ROW_GROUP_ROWS: usize = 1 << 20;
/// Bumped when the generated files change, so that old caches are not reused.
const LAYOUT: &str = "tpchgen4-v1";

/// `$XDG_CACHE_HOME/strata-bench`, else `~/.cache/strata-bench`, else the temp directory's.
pub fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("strata-bench");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".cache/strata-bench");
    }
    std::env::temp_dir().join("strata-bench")
}

/// The generated files of one scale.
pub struct Data {
    pub scale: f64,
    /// lineitem, page index (column and offset indexes) written.
    pub lineitem: PathBuf,
    /// lineitem with chunk statistics only: no column index to skip pages by.
    pub lineitem_no_page_index: PathBuf,
    pub orders: PathBuf,
}

impl Data {
    /// The files of `scale` under `root`, generated first when missing.
    pub fn prepare(root: &Path, scale: f64, progress: &Progress) -> strata::Result<Data> {
        let dir = root.join(format!("{LAYOUT}/sf{scale}"));
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        let data = Data {
            lineitem: dir.join("lineitem.parquet"),
            lineitem_no_page_index: dir.join("lineitem_no_page_index.parquet"),
            orders: dir.join("orders.parquet"),
            scale,
        };
        if !data.lineitem.exists() {
            progress.note(&format!("generating TPC-H lineitem, scale {scale}"));
            let batches =
                LineItemArrow::new(LineItemGenerator::new(scale, 1, 1)).with_batch_size(64 * 1024);
            write_generated(&data.lineitem, LineItemArrow::schema_ref(), batches, true)?;
        }
        if !data.lineitem_no_page_index.exists() {
            let batches = read_all(&data.lineitem)?;
            let schema = batches
                .first()
                .map(|b| b.schema())
                .unwrap_or_else(LineItemArrow::schema_ref);
            write_generated(
                &data.lineitem_no_page_index,
                schema,
                batches.into_iter().map(Ok),
                false,
            )?;
        }
        if !data.orders.exists() {
            progress.note(&format!("generating TPC-H orders, scale {scale}"));
            let batches =
                OrderArrow::new(OrderGenerator::new(scale, 1, 1)).with_batch_size(64 * 1024);
            write_generated(&data.orders, OrderArrow::schema_ref(), batches, true)?;
        }
        Ok(data)
    }

    /// Rows of the synthetic mixed-type table at this scale.
    pub fn mixed_rows(&self) -> usize {
        ((self.scale * 1_000_000.0) as usize).max(10_000)
    }
}

fn write_generated(
    path: &Path,
    schema: arrow::datatypes::SchemaRef,
    batches: impl Iterator<Item = Result<RecordBatch, arrow::error::ArrowError>>,
    page_index: bool,
) -> strata::Result<()> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(if page_index {
            EnabledStatistics::Page
        } else {
            EnabledStatistics::Chunk
        })
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    // A staging name of this process's own: two runs that generate the same scale at once
    // each rename a whole file into place.
    let staging = path.with_extension(format!("parquet.{}.tmp", std::process::id()));
    let file = File::create(&staging).map_err(|e| io_error(&staging, e))?;
    let mut writer = ArrowWriter::try_new(file, schema, Some(props))
        .map_err(|e| other("generating TPC-H", e))?;
    for batch in batches {
        let batch = batch.map_err(|e| other("generating TPC-H", e))?;
        writer
            .write(&batch)
            .map_err(|e| other("writing TPC-H", e))?;
    }
    writer.close().map_err(|e| other("writing TPC-H", e))?;
    std::fs::rename(&staging, path).map_err(|e| io_error(path, e))
}

/// Every row of a Parquet file, in batches of 64Ki rows (the parquet crate's reader).
pub fn read_all(path: &Path) -> strata::Result<Vec<RecordBatch>> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(64 * 1024).build())
        .map_err(|e| other(&path.display().to_string(), e))?;
    reader
        .map(|b| b.map_err(|e| other(&path.display().to_string(), e)))
        .collect()
}

/// Bytes the batches hold in memory (Arrow buffers), the denominator of MB/s figures.
pub fn memory_size(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .map(|b| b.get_array_memory_size() as u64)
        .sum()
}

/// `rows` rows of event-like data with nulls in every nullable column, the same everywhere
/// for a seed: ids, user ids (2% null), amounts (5% null), a low-cardinality country (1%
/// null), an email (3% null), a 16-hex-digit session, timestamps and a flag (10% null).
pub fn mixed(rows: usize, seed: u64) -> strata::Result<RecordBatch> {
    const COUNTRIES: [&str; 8] = ["US", "DE", "FR", "GB", "JP", "BR", "IN", "CN"];
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut id = Vec::with_capacity(rows);
    let mut user = Vec::with_capacity(rows);
    let mut amount = Vec::with_capacity(rows);
    let mut country = Vec::with_capacity(rows);
    let mut email = Vec::with_capacity(rows);
    let mut session = Vec::with_capacity(rows);
    let mut ts = Vec::with_capacity(rows);
    let mut flag = Vec::with_capacity(rows);
    let mut t: i64 = 1_767_225_600_000_000;
    for i in 0..rows {
        let r = next();
        id.push(i as i64);
        user.push((r % 50 != 0).then_some((next() % 200_000) as i64));
        amount.push((r % 20 != 1).then_some((next() % 100_000) as f64 / 100.0));
        country.push((r % 100 != 2).then_some(COUNTRIES[(next() % 8) as usize]));
        email.push((r % 33 != 4).then(|| format!("user{}@example.com", next() % 100_000)));
        session.push(format!("{:016x}", next()));
        t += (next() % 2_000_000) as i64;
        ts.push(t);
        flag.push((r % 10 != 3).then_some(next() % 3 == 0));
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("user_id", DataType::Int64, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("country", DataType::Utf8, true),
        Field::new("email", DataType::Utf8, true),
        Field::new("session", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("flag", DataType::Boolean, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(id)),
        Arc::new(Int64Array::from(user)),
        Arc::new(Float64Array::from(amount)),
        Arc::new(StringArray::from(country)),
        Arc::new(StringArray::from(email)),
        Arc::new(StringArray::from(session)),
        Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
        Arc::new(BooleanArray::from(flag)),
    ];
    RecordBatch::try_new(schema, columns).map_err(|e| other("mixed table", e))
}
