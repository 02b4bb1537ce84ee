//! `strata scan --format parquet|ipc`: binary outputs that read back to the same rows.

mod common;

use std::process::Command;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use common::strata_bin;
use parquet::arrow::ArrowWriter;

#[test]
fn parquet_and_ipc_outputs_read_back() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.parquet");
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..5000));
    let tags: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..5000).map(|i| format!("t{}", i % 7)),
    ));
    let batch = RecordBatch::try_from_iter([("id", ids), ("tag", tags)]).unwrap();
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(&input).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    for format in ["parquet", "ipc"] {
        let out = tmp.path().join(format!("out.{format}"));
        let status = Command::new(strata_bin())
            .arg("--dir")
            .arg(tmp.path().join("root"))
            .args(["scan", input.to_str().unwrap(), "--filter", "tag = 't3'"])
            .args([
                "--columns",
                "id",
                "--format",
                format,
                "-o",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let batches: Vec<RecordBatch> = if format == "parquet" {
            strata::Scan::new(&out).run().unwrap().batches
        } else {
            let file = std::fs::File::open(&out).unwrap();
            arrow::ipc::reader::FileReader::try_new(file, None)
                .unwrap()
                .map(|b| b.unwrap())
                .collect()
        };
        let ids: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                let col = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                col.values().to_vec()
            })
            .collect();
        assert_eq!(ids.len(), 714, "{format}");
        assert!(ids.iter().all(|i| i % 7 == 3), "{format}");
        assert_eq!(batches[0].schema().fields().len(), 1);
    }

    // No rows still gives a valid file with the schema.
    let out = tmp.path().join("empty.parquet");
    let status = Command::new(strata_bin())
        .arg("--dir")
        .arg(tmp.path().join("root"))
        .args([
            "scan",
            input.to_str().unwrap(),
            "--filter",
            "id < 0",
            "--format",
            "parquet",
        ])
        .args(["-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert_eq!(strata::Scan::new(&out).count().unwrap().0, 0);
}
