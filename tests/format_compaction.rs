//! `compact` keeps the multiset of rows identical, and a crash at any step (simulated by
//! stopping after it, and by killing the process at random moments) loses and duplicates
//! nothing: a scan sees the same rows mid-compaction, and the next compaction finishes the job.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use strata::{
    format::{CompactOptions, CompactStep, Partitioning},
    WriteOptions,
};

/// Every row of the dataset as text, sorted: the multiset a reader sees.
fn rows(dir: &Path) -> Vec<String> {
    let result = strata::Scan::new(dir).run().unwrap();
    let mut rows = Vec::new();
    for batch in &result.batches {
        let mut names: Vec<usize> = (0..batch.num_columns()).collect();
        // Columns by name, so the order partition columns come back in does not matter.
        names.sort_by_key(|&i| batch.schema().field(i).name().clone());
        let options = FormatOptions::default();
        // Time-zoned timestamps as their raw values (rendering "UTC" needs chrono-tz).
        let columns: Vec<ArrayRef> = names
            .iter()
            .map(|&i| match batch.column(i).data_type() {
                DataType::Timestamp(_, Some(_)) => {
                    arrow::compute::cast(batch.column(i), &DataType::Int64).unwrap()
                }
                _ => batch.column(i).clone(),
            })
            .collect();
        let formatters: Vec<ArrayFormatter> = columns
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for r in 0..batch.num_rows() {
            let row: Vec<String> = formatters.iter().map(|f| f.value(r).to_string()).collect();
            rows.push(row.join("|"));
        }
    }
    rows.sort();
    rows
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut all = Vec::new();
    files(dir, &mut all);
    all.iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A dataset partitioned by `event` (5 directories) written in 8 appends: 40 small files.
fn small_files(dir: &Path, rows: usize) {
    let table = common::mixed::mixed_table(rows, 11).unwrap();
    let options = WriteOptions {
        partitioning: Some("event".parse::<Partitioning>().unwrap()),
        codec: "snappy".parse().unwrap(),
        ..WriteOptions::default()
    };
    let step = rows / 8;
    for i in 0..8 {
        let part = table.slice(i * step, step);
        strata::format::write(dir, &table.schema(), &[part], &options).unwrap();
    }
}

fn assert_clean(dir: &Path) {
    for name in names(dir) {
        assert!(!name.contains(".strata-compact-"), "{name} left behind");
        assert_ne!(name, strata::format::MANIFEST);
    }
}

#[test]
fn compaction_keeps_every_row_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("events");
    small_files(&dir, 40_000);
    let before = rows(&dir);
    assert_eq!(before.len(), 40_000);
    let parquet = |d: &Path| names(d).iter().filter(|n| n.ends_with(".parquet")).count();
    assert_eq!(parquet(&dir), 40);
    let report = strata::format::compact(&dir, &CompactOptions::default()).unwrap();
    assert_eq!((report.files_in, report.files_out), (40, 5), "{report:?}");
    assert_eq!(report.rows, 40_000);
    assert_eq!(report.directories, 5);
    assert!(!report.recovered);
    assert_eq!(parquet(&dir), 5);
    assert_eq!(rows(&dir), before);
    assert_clean(&dir);
    // Nothing left to do: one file per directory stays as it is.
    let again = strata::format::compact(&dir, &CompactOptions::default()).unwrap();
    assert_eq!(again.files_in, 0);
    assert_eq!(rows(&dir), before);

    // A small target splits the output into several files, still with every row once.
    let split = tmp.path().join("split");
    small_files(&split, 40_000);
    let options = CompactOptions {
        write: WriteOptions {
            target_file_bytes: 48 * 1024,
            row_group_rows: 1_000,
            ..WriteOptions::default()
        },
        small_file_bytes: Some(1 << 30),
    };
    let report = strata::format::compact(&split, &options).unwrap();
    // Outputs roll over at the target size: more files than directories.
    assert!(report.files_out > report.directories, "{report:?}");
    assert_eq!(rows(&split), rows(&dir));
}

#[test]
fn a_crash_after_any_step_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    small_files(&base, 16_000);
    let before = rows(&base);
    for (i, step) in [
        CompactStep::OutputsWritten,
        CompactStep::ManifestCommitted,
        CompactStep::OutputsRenamed,
        CompactStep::InputsDeleted,
    ]
    .into_iter()
    .enumerate()
    {
        let dir = tmp.path().join(format!("crash{i}"));
        copy_dir(&base, &dir);
        strata::format::compact_until(&dir, &CompactOptions::default(), Some(step)).unwrap();
        // Mid-compaction, a scan sees every row exactly once.
        assert_eq!(rows(&dir), before, "{step:?}: scan mid-compaction");
        let report = strata::format::compact(&dir, &CompactOptions::default()).unwrap();
        assert!(report.recovered, "{step:?}");
        assert_eq!(rows(&dir), before, "{step:?}: after recovery");
        assert_clean(&dir);
    }
}

#[test]
fn a_second_compaction_of_the_same_dataset_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    small_files(&dir, 4_000);
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("_strata_compaction.lock"))
        .unwrap();
    lock.lock().unwrap();
    let err = strata::format::compact(&dir, &CompactOptions::default()).unwrap_err();
    assert_eq!(err.kind(), strata::ErrorKind::Busy, "{err}");
    drop(lock);
    assert!(strata::format::compact(&dir, &CompactOptions::default()).is_ok());
    let err = strata::format::compact(&tmp.path().join("missing"), &CompactOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), strata::ErrorKind::NotFound);
}

#[test]
fn killing_the_compact_command_at_random_moments_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    small_files(&base, 80_000);
    let before = rows(&base);
    for (i, delay_ms) in [1u64, 15, 40, 80, 150, 300].into_iter().enumerate() {
        let dir = tmp.path().join(format!("kill{i}"));
        copy_dir(&base, &dir);
        let mut child = Command::new(common::strata_bin())
            .arg("compact")
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(rows(&dir), before, "killed after {delay_ms} ms: scan");
        let out = Command::new(common::strata_bin())
            .arg("compact")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            rows(&dir),
            before,
            "killed after {delay_ms} ms: after recovery"
        );
        assert_clean(&dir);
        let parquet = names(&dir)
            .iter()
            .filter(|n| n.ends_with(".parquet"))
            .count();
        assert_eq!(
            parquet, 5,
            "killed after {delay_ms} ms: compacted in the end"
        );
    }
}
