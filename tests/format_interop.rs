//! Every file strata writes reads back with identical contents: in Rust always, and with
//! pyarrow and duckdb when python3 has them (every codec, data page v1 and v2, dictionaries on
//! and off, bloom filters and sort order, Arrow IPC, partitioned and multi-file datasets).
//! Without them the Python part is skipped with the reason (a failure in CI).

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use strata::{
    format::{CodecPolicy, DictionaryMode, FormatChoice, PageVersion, Partitioning},
    WriteOptions,
};

const CODECS: [&str; 10] = [
    "none", "snappy", "lz4", "zstd", "zstd:9", "gzip", "auto", "fast", "balanced", "compact",
];

fn read_parquet(path: &Path) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn python_has_modules() -> Result<(), String> {
    let python = std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".into());
    match Command::new(python)
        .args(["-c", "import pyarrow, duckdb"])
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("")
            .to_string()),
        Err(e) => Err(format!("cannot run python3: {e}")),
    }
}

#[test]
fn pyarrow_and_duckdb_read_every_variant_with_identical_contents() {
    let tmp = tempfile::tempdir().unwrap();
    let table = common::mixed::mixed_table(30_000, 7).unwrap();
    let schema = table.schema();
    let reference = tmp.path().join("reference.parquet");
    let mut w = parquet::arrow::ArrowWriter::try_new(
        File::create(&reference).unwrap(),
        schema.clone(),
        None,
    )
    .unwrap();
    w.write(&table).unwrap();
    w.close().unwrap();

    let batches = [table.slice(0, 12_345), table.slice(12_345, 30_000 - 12_345)];
    let mut files: Vec<(PathBuf, &str)> = Vec::new();
    for codec in CODECS {
        for page in [PageVersion::V1, PageVersion::V2] {
            for dict in [
                DictionaryMode::On,
                DictionaryMode::Off,
                DictionaryMode::Auto,
            ] {
                if dict == DictionaryMode::Auto && page == PageVersion::V2 {
                    continue;
                }
                let path = tmp.path().join(format!(
                    "{}-{page}-{dict:?}.parquet",
                    codec.replace(':', "")
                ));
                let options = WriteOptions {
                    codec: codec.parse::<CodecPolicy>().unwrap(),
                    page_version: page,
                    dictionary: dict,
                    row_group_rows: 10_000,
                    page_bytes: 64 * 1024,
                    bloom_filter_columns: vec!["session".into()],
                    ..WriteOptions::default()
                };
                let summary = strata::format::write(&path, &schema, &batches, &options).unwrap();
                assert_eq!(summary.rows, 30_000);
                assert_eq!(summary.files.len(), 1);
                assert_eq!(read_parquet(&path), table, "{}", path.display());
                files.push((path, "file"));
            }
        }
    }
    // Sorted, with the sort order recorded.
    let sorted = tmp.path().join("sorted.parquet");
    let options = WriteOptions {
        sort_by: vec!["country".into(), "id".into()],
        ..WriteOptions::default()
    };
    strata::format::write(&sorted, &schema, &batches, &options).unwrap();
    let meta = ParquetRecordBatchReaderBuilder::try_new(File::open(&sorted).unwrap()).unwrap();
    assert_eq!(
        meta.metadata()
            .row_group(0)
            .sorting_columns()
            .map(|s| s.len()),
        Some(2)
    );
    files.push((sorted, "file"));
    // Arrow IPC.
    let ipc = tmp.path().join("table.arrow");
    let summary = strata::format::write(&ipc, &schema, &batches, &WriteOptions::default()).unwrap();
    assert_eq!(summary.format, strata::format::FileFormat::Ipc);
    files.push((ipc, "ipc"));
    // A partitioned dataset (by value, with nulls, and by hour) and a multi-file one.
    let partitioned = tmp.path().join("by_country_hour");
    let options = WriteOptions {
        partitioning: Some("country,ts:hour".parse::<Partitioning>().unwrap()),
        format: FormatChoice::Parquet,
        ..WriteOptions::default()
    };
    let summary = strata::format::write(&partitioned, &schema, &batches, &options).unwrap();
    assert!(summary.partitions > 20, "{}", summary.partitions);
    assert!(partitioned
        .join("country=__HIVE_DEFAULT_PARTITION__")
        .is_dir());
    let scanned = strata::Scan::new(&partitioned).run().unwrap();
    assert_eq!(scanned.stats.rows_out, 30_000);
    files.push((partitioned, "dataset"));
    let multi = tmp.path().join("multi");
    std::fs::create_dir(&multi).unwrap();
    let options = WriteOptions {
        target_file_bytes: 64 * 1024,
        row_group_rows: 2_000,
        codec: CodecPolicy::Fixed(strata::format::Codec::Snappy),
        ..WriteOptions::default()
    };
    let summary = strata::format::write(&multi, &schema, &batches, &options).unwrap();
    assert!(summary.files.len() > 3, "{}", summary.files.len());
    files.push((multi, "dataset"));

    if let Err(reason) = python_has_modules() {
        return common::skip(&format!(
            "format_interop: python3 lacks pyarrow or duckdb ({reason})"
        ));
    }
    let spec = serde_json::json!({
        "reference": reference,
        "files": files.iter().map(|(p, k)| serde_json::json!({"path": p, "kind": k})).collect::<Vec<_>>(),
    });
    let spec_path = tmp.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/format/interop.py");
    let python = std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .arg(script)
        .arg(&spec_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["checked"], files.len());
    assert_eq!(result["errors"], serde_json::json!([]), "{result:#}");
}
