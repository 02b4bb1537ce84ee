//! Shared by the tests that build and run the C, C++ and Go bindings against the built
//! library: where the library is, which outside tools exist, running a command.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding the `libstrata.so` and `libstrata.a` this `cargo test` run built: the
/// `deps` directory beside this test binary (`<target>/<profile>/deps`), so `CARGO_TARGET_DIR`
/// is honoured without reading it. `cargo test` builds every crate type of the library there
/// but does not copy them up to `<target>/<profile>`, where a stale copy from an earlier
/// `cargo build` may sit.
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .expect("test executable lives in <target>/<profile>/deps")
        .to_path_buf();
    assert!(
        dir.join("libstrata.so").exists(),
        "libstrata.so not found in {}; cargo test builds the cdylib next to the test binaries",
        dir.display()
    );
    dir
}

/// Whether `tool --version` (or `tool version`) runs.
pub fn have(tool: &str) -> bool {
    ["--version", "version"].iter().any(|arg| {
        Command::new(tool)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Runs `cmd`, panicking with its output when it fails.
pub fn run(cmd: &mut Command) -> Output {
    // cargo test puts `<target>/<profile>` on LD_LIBRARY_PATH ahead of `deps`, and that path
    // beats the programs' RUNPATH: a libstrata.so left there by an earlier `cargo build`
    // would be loaded instead of the one this run built.
    cmd.env("LD_LIBRARY_PATH", lib_dir());
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    if !out.status.success() {
        panic!(
            "{shown} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Writes the Parquet file the C, C++ and Go tests read: columns id (int64, 0..99), name
/// (utf8), email (utf8) and amount (float64), in two row groups.
pub fn write_people(path: &Path) {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("email", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
    ]));
    let ids: Vec<i64> = (0..100).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("user {i}")),
            )),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("user{i}@example.com")),
            )),
            Arc::new(Float64Array::from_iter_values(
                ids.iter().map(|&i| i as f64 * 1.5),
            )),
        ],
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(50))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, schema, Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// Writes the sales file the lake-scan tests partition: columns region (utf8: east, west,
/// north in turn), id (int64, 0..299) and amount (float64, id / 4), in row groups of 100.
pub fn write_sales(path: &Path) {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    let regions = ["east", "west", "north"];
    let region: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..300).map(|i| regions[i % 3]),
    ));
    let id: ArrayRef = Arc::new(Int64Array::from_iter_values(0..300));
    let amount: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..300).map(|i| i as f64 * 0.25),
    ));
    let batch =
        RecordBatch::try_from_iter([("region", region), ("id", id), ("amount", amount)]).unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(100))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// The lake key of the encrypted copy of the people file in [`encrypted_lake`].
pub const ENCRYPTED_KEY: &str = "secure/people.parquet";

/// Makes a lake with the default layout at `dir` (what `strata_open_dir` opens) holding the
/// rows of the Parquet file `people` as [`ENCRYPTED_KEY`], a Parquet file with modular
/// encryption (footer and columns) under a key of the lake's own key ring, and closes it. A
/// program that opens the lake reads it with the lake's keys; the stored bytes hold no
/// plaintext.
pub fn encrypted_lake(dir: &Path, people: &Path) {
    let lake = strata::Lake::open_dir(dir).unwrap();
    let key_id = lake.keys().new_key(Some("people-key")).unwrap();
    let ring = strata::crypto::KeyRing::load(&dir.join(strata::crypto::KEYRING_FILE)).unwrap();
    let rows = strata::Scan::new(people).run().unwrap();
    let staged = dir.join("people.encrypted.parquet");
    strata::format::write_encrypted_parquet(
        &staged,
        &rows.batches,
        &ring,
        &strata::crypto::ParquetEncryption::uniform(key_id),
    )
    .unwrap();
    let bytes = std::fs::read(&staged).unwrap();
    assert!(!bytes.windows(17).any(|w| w == b"user7@example.com"));
    lake.put_file(ENCRYPTED_KEY, &staged, &Default::default())
        .unwrap();
    std::fs::remove_file(&staged).unwrap();
}
