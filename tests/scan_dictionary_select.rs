//! Filters on dictionary-encoded columns read page by page (src/read/dictionary_select.rs)
//! return what DuckDB returns for the same SQL, on files pyarrow and DuckDB wrote with their
//! defaults (every column dictionary-encoded, no page index) and with nulls, NaN, several row
//! groups and pages: numbers (int32, int64, float, double) and strings, filters on one column
//! and on several (an `AND` of one-column terms takes the route, anything else the reader's),
//! 1 and 2 threads, in and out of order, and one row group shared out by row ranges. Needs
//! python3 with pyarrow and duckdb (skipped with the reason when they are missing).

use std::path::Path;
use std::process::Command;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use strata::{Expr, Scan};

/// Writes `pyarrow.parquet`, `duckdb.parquet` and `one_group.parquet` (pyarrow, one row
/// group) into the folder given, and for each filter (one per line of stdin) DuckDB's rows
/// `SELECT id, <columns> ... WHERE <filter> ORDER BY id` as `<writer>_<i>.arrow`.
const SCRIPT: &str = r#"
import os, sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq, duckdb
out, columns = sys.argv[1], sys.argv[2]
filters = [l for l in sys.stdin.read().split("\n") if l]
rng = np.random.default_rng(3)
n = 60_000
def nulls(p):
    return rng.random(n) < p
d = np.round(rng.normal(5, 30, n))
d[rng.random(n) < 0.01] = np.nan
airports = np.array(["JFK", "LGA", "EWR", "ATL", "ORD", "JAX"])
carriers = np.array(["AA", "B6", "DL", "UA"])
table = pa.table({
    "id": pa.array(np.arange(n, dtype=np.int64)),
    "d": pa.array(d, mask=nulls(0.05)),
    "i32": pa.array(rng.integers(0, 100, n, dtype=np.int32), mask=nulls(0.03)),
    "i64": pa.array(rng.integers(-50, 200, n), mask=nulls(0.1)),
    "f32": pa.array(rng.random(n).astype(np.float32).round(2), mask=nulls(0.02)),
    "s": pa.array(airports[rng.integers(0, 6, n)], mask=nulls(0.04)),
    "c": pa.array(carriers[rng.integers(0, 4, n)]),
    "empty": pa.array([None] * n, pa.float64()),
})
pq.write_table(table, os.path.join(out, "pyarrow.parquet"), row_group_size=25_000,
               data_page_size=8_192)
pq.write_table(table, os.path.join(out, "one_group.parquet"), data_page_size=8_192)
con = duckdb.connect()
con.register("t", table)
con.execute(f"COPY t TO '{os.path.join(out, 'duckdb.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 20000)")
for writer in ["pyarrow", "duckdb", "one_group"]:
    path = os.path.join(out, writer + ".parquet")
    for i, f in enumerate(filters):
        t = con.sql(f"SELECT id, {columns} FROM read_parquet('{path}') WHERE {f} ORDER BY id").to_arrow_table()
        with pa.OSFile(os.path.join(out, f"{writer}_{i}.arrow"), "wb") as fh:
            with pa.ipc.new_file(fh, t.schema) as w:
                w.write_table(t)
"#;

const COLUMNS: &[&str] = &["d", "i32", "i64", "f32", "s", "c"];

const FILTERS: &[&str] = &[
    "d > 74",
    "d <= -20",
    "i32 >= 10 AND i32 < 20",
    "s = 'JFK' AND c IN ('AA', 'B6')",
    "s IN ('JFK', 'LGA') AND d > 0",
    "i64 IS NULL",
    "d IS NOT NULL AND i32 = 7",
    "NOT (s = 'EWR')",
    "s LIKE 'J%' AND i64 < 50",
    "i64 = 3 OR i64 = 7",
    "f32 < 0.05",
    "s = 'JFK' OR c = 'AA'",
    "s = 'SFO'",
    "empty > 1",
    "empty IS NULL AND i32 = 1",
    "c <> 'DL' AND s >= 'JFK' AND i32 > 90",
];

/// Each row of `batches` as display text, its columns joined, after the first (`id`) column.
fn rows(batches: &[RecordBatch]) -> Vec<(i64, String)> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for batch in batches {
        let ids = batch.column(0).as_primitive::<Int64Type>();
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .skip(1)
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            let text: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            out.push((ids.value(row), text.join("|")));
        }
    }
    out
}

fn duckdb_rows(path: &Path) -> Vec<(i64, String)> {
    let file = std::fs::File::open(path).unwrap();
    let reader = arrow::ipc::reader::FileReader::try_new(file, None).unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    rows(&batches)
}

#[test]
fn filtered_scans_return_what_duckdb_returns() {
    let dir = tempfile::tempdir().unwrap();
    let run = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(dir.path())
        .arg(COLUMNS.join(", "))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = run else {
        eprintln!("skipped: no python3");
        return;
    };
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(FILTERS.join("\n").as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        if err.contains("ModuleNotFoundError") && std::env::var_os("CI").is_none() {
            eprintln!("skipped: {err}");
            return;
        }
        panic!("the script failed: {err}");
    }
    let mut columns = vec!["id"];
    columns.extend_from_slice(COLUMNS);
    for writer in ["pyarrow", "duckdb", "one_group"] {
        let path = dir.path().join(format!("{writer}.parquet"));
        for (i, text) in FILTERS.iter().enumerate() {
            let want = duckdb_rows(&dir.path().join(format!("{writer}_{i}.arrow")));
            let filter = Expr::parse(text).unwrap();
            for threads in [1, 2] {
                let context = format!("{writer}: `{text}`, {threads} threads");
                let scan = || {
                    Scan::new(&path)
                        .filter(filter.clone())
                        .threads(threads)
                        .batch_size(3_000)
                };
                let out = scan().columns(&columns).run().unwrap();
                assert_eq!(rows(&out.batches), want, "{context}");
                assert_eq!(out.stats.rows_out, want.len() as u64, "{context}");
                let out = scan().columns(&columns).keep_order(false).run().unwrap();
                let mut got = rows(&out.batches);
                got.sort();
                assert_eq!(got, want, "{context}, unordered");
                // Two columns, the filter's own or not: the ids still match.
                let out = scan().columns(&["id", "d"]).run().unwrap();
                let ids: Vec<i64> = rows(&out.batches).iter().map(|(id, _)| *id).collect();
                let want_ids: Vec<i64> = want.iter().map(|(id, _)| *id).collect();
                assert_eq!(ids, want_ids, "{context}, 2 columns");
                assert!(
                    out.batches.iter().all(|b| b.num_rows() <= 3_000),
                    "{context}"
                );
                let window = scan().columns(&["id"]).offset(2).limit(5).run().unwrap();
                let ids: Vec<i64> = rows(&window.batches).iter().map(|(id, _)| *id).collect();
                let end = want_ids.len().min(7);
                assert_eq!(
                    ids,
                    want_ids[want_ids.len().min(2)..end],
                    "{context}, window"
                );
                let (count, _) = scan().count().unwrap();
                assert_eq!(count, want.len() as u64, "{context}, count");
            }
        }
    }
}

/// Damaged pages in a file on the route: an error or the rows, never a panic.
#[test]
fn damaged_pages_give_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.parquet");
    let ids = arrow::array::Int64Array::from_iter_values(0..20_000);
    let d = arrow::array::Float64Array::from_iter(
        (0..20_000).map(|i| (i % 9 != 0).then_some((i % 300) as f64)),
    );
    let batch = RecordBatch::try_from_iter([
        ("id", std::sync::Arc::new(ids) as arrow::array::ArrayRef),
        ("d", std::sync::Arc::new(d) as arrow::array::ArrayRef),
    ])
    .unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::UNCOMPRESSED)
        .set_data_page_row_count_limit(1_000)
        .set_write_batch_size(500)
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::Chunk)
        .build();
    let mut bytes = Vec::new();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let good = Scan::new({
        std::fs::write(&path, &bytes).unwrap();
        &path
    })
    .columns(&["id"])
    .filter(Expr::parse("d > 250").unwrap())
    .run()
    .unwrap();
    assert!(good.stats.rows_out > 0);
    // Flip bytes across the data pages (the footer at the end stays whole).
    let footer = bytes.len() - 2_000.min(bytes.len() / 4);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for round in 0..60 {
        let mut damaged = bytes.clone();
        for _ in 0..(1 + round % 5) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = 4 + (state as usize) % (footer - 4);
            damaged[at] ^= (state >> 32) as u8 | 1;
        }
        std::fs::write(&path, &damaged).unwrap();
        for threads in [1, 2] {
            let _ = Scan::new(&path)
                .columns(&["id", "d"])
                .filter(Expr::parse("d > 250").unwrap())
                .threads(threads)
                .run();
        }
    }
}
