//! Every parquet-testing file that the parquet crate reads (and the few whose footers strata
//! mends, `MENDED`), strata reads with the same contents as pyarrow. pyarrow writes what it reads to Arrow IPC; each column is then compared with
//! strata's, after casting pyarrow's type to strata's where the two libraries map a Parquet
//! type differently (say, dictionary or large strings), and failing that value by value in
//! display form. Needs python3 with pyarrow (skipped locally with the reason, a failure in CI).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::compute::{cast, concat};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use strata::Scan;

/// Files every reader here fails on, with the reason; they are still scanned (an error is
/// fine, a panic is not) but not compared.
const KNOWN_DIFFERENT: &[(&str, &str)] = &[
    (
        "int96_from_spark.parquet",
        "INT96 timestamps beyond the 64-bit nanosecond range: the parquet crate and pyarrow both \
         overflow when converting them to nanoseconds, each differently, so neither holds the \
         true instant",
    ),
    (
        "repeated_no_annotation.parquet",
        "the footer says 0 rows while its one row group says 6: the parquet crate (59) decodes \
         no rows, pyarrow decodes 6",
    ),
];

/// Files the parquet crate refuses and strata reads by mending their footer as Arrow C++ reads
/// it (src/read/footer_mend.rs); they are compared like the rest.
const MENDED: &[&str] = &["dict-page-offset-zero.parquet"];

const SCRIPT: &str = r#"
import os, sys, pyarrow as pa, pyarrow.parquet as pq
src, out = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(src)):
    if not name.endswith(".parquet") or "encrypt" in name:
        continue
    try:
        table = pq.read_table(os.path.join(src, name))
        with pa.OSFile(os.path.join(out, name + ".arrow"), "wb") as f:
            with pa.ipc.new_file(f, table.schema) as w:
                w.write_table(table)
    except Exception as e:
        with open(os.path.join(out, name + ".error"), "w") as f:
            f.write(f"{type(e).__name__}: {e}")
"#;

fn corpus() -> PathBuf {
    common::parquet_testing().join("data")
}

fn parquet_crate_reads(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let Ok(builder) = ParquetRecordBatchReaderBuilder::try_new(file) else {
        return false;
    };
    let Ok(reader) = builder.build() else {
        return false;
    };
    reader.into_iter().all(|b| b.is_ok())
}

fn pyarrow_table(path: &Path) -> Result<Vec<RecordBatch>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let reader = arrow::ipc::reader::FileReader::try_new(file, None).map_err(|e| e.to_string())?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

fn column(batches: &[RecordBatch], i: usize) -> Option<ArrayRef> {
    let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
    if parts.is_empty() {
        return None;
    }
    concat(&parts).ok()
}

fn displayed(array: &dyn Array) -> Option<Vec<String>> {
    let options = FormatOptions::default().with_null("<null>");
    let f = ArrayFormatter::try_new(array, &options).ok()?;
    Some((0..array.len()).map(|i| f.value(i).to_string()).collect())
}

/// Why column `name` differs, or None when it holds the same values.
fn differs(name: &str, ours: &ArrayRef, theirs: &ArrayRef) -> Option<String> {
    if ours.len() != theirs.len() {
        return Some(format!(
            "{name}: {} rows, pyarrow {}",
            ours.len(),
            theirs.len()
        ));
    }
    if ours.data_type() == theirs.data_type() && ours.as_ref() == theirs.as_ref() {
        return None;
    }
    if let Ok(cast) = cast(theirs, ours.data_type()) {
        if cast.as_ref() == ours.as_ref() {
            return None;
        }
    }
    match (displayed(ours), displayed(theirs)) {
        (Some(a), Some(b)) => {
            let first = a.iter().zip(&b).position(|(x, y)| x != y)?;
            Some(format!(
                "{name} row {first}: strata {} ({}), pyarrow {} ({})",
                a[first],
                ours.data_type(),
                b[first],
                theirs.data_type()
            ))
        }
        _ => Some(format!(
            "{name}: types {} and {} cannot be compared",
            ours.data_type(),
            theirs.data_type()
        )),
    }
}

#[test]
fn strata_reads_what_pyarrow_reads() {
    let dir = corpus();
    let Some(python) = common::python_with("scan_corpus_pyarrow", &["pyarrow"]) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(&python)
        .args(["-c", SCRIPT])
        .arg(&dir)
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "pyarrow script failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );

    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .filter(|p| !p.to_string_lossy().contains("encrypt"))
        .collect();
    files.sort();
    let (mut compared, mut failures) = (0, Vec::new());
    let mut compared_names = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let strata = Scan::new(&path).run();
        if !MENDED.contains(&name.as_str()) && !parquet_crate_reads(&path) {
            continue;
        }
        let known = KNOWN_DIFFERENT.iter().find(|(n, _)| *n == name);
        let ours = match strata {
            Ok(out) => out,
            Err(e) => {
                failures.push(format!("{name}: strata cannot read it: {e}"));
                continue;
            }
        };
        let theirs = match pyarrow_table(&out.path().join(format!("{name}.arrow"))) {
            Ok(t) => t,
            Err(_) => {
                let why = std::fs::read_to_string(out.path().join(format!("{name}.error")))
                    .unwrap_or_default();
                eprintln!("{name}: pyarrow cannot read it ({why}); not compared");
                continue;
            }
        };
        if known.is_some() {
            continue;
        }
        let rows: usize = theirs.iter().map(RecordBatch::num_rows).sum();
        if ours.stats.rows_out as usize != rows {
            failures.push(format!(
                "{name}: {} rows, pyarrow {rows}",
                ours.stats.rows_out
            ));
            continue;
        }
        let Some(schema) = theirs.first().map(RecordBatch::schema) else {
            compared += 1;
            continue;
        };
        for (i, field) in schema.fields().iter().enumerate() {
            let Ok(j) = ours.schema.index_of(field.name()) else {
                failures.push(format!("{name}: strata lacks column {}", field.name()));
                continue;
            };
            let (Some(a), Some(b)) = (column(&ours.batches, j), column(&theirs, i)) else {
                continue;
            };
            if let Some(why) = differs(field.name(), &a, &b) {
                failures.push(format!("{name}: {why}"));
            }
        }
        compared_names.push(name);
        compared += 1;
    }
    for name in MENDED {
        assert!(
            compared_names.iter().any(|n| n == name),
            "{name} was not compared with pyarrow"
        );
    }
    eprintln!("compared {compared} files with pyarrow");
    assert!(compared > 30, "only {compared} files compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
