//! Delta tables in the lake: create, append, overwrite, scans with partition pruning, time
//! travel by version and time, history, show, concurrent appends, bad names and schemas, and
//! damaged logs. The interop with other Delta readers is in tests/table_interop.rs.

mod common;

use std::sync::Arc;

use arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::Int64Type;
use strata::table::{AsOf, TableOptions};
use strata::{ErrorKind, Expr, Lake};

fn trips(ids: std::ops::Range<i64>) -> RecordBatch {
    let zones = ["JFK", "LGA", "EWR"];
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(ids.clone())) as _,
        ),
        (
            "zone",
            Arc::new(StringArray::from_iter_values(
                ids.clone().map(|i| zones[(i % 3) as usize]),
            )) as _,
        ),
        (
            "fare",
            Arc::new(arrow::array::Float64Array::from_iter_values(
                ids.map(|i| i as f64 * 1.5),
            )) as _,
        ),
    ])
    .unwrap()
}

fn lake() -> (tempfile::TempDir, Lake) {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(
        dir.path(),
        vec![common::local_tier("hot"), common::local_tier("cold")],
    );
    let lake = Lake::open(&config).unwrap();
    (dir, lake)
}

/// The ids a scan returns, sorted.
fn ids(scan: strata::Scan) -> Vec<i64> {
    let out = scan.run().unwrap();
    let mut ids: Vec<i64> = out
        .batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("id")
                .unwrap()
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn create_append_overwrite_and_read_every_version() {
    let (_dir, lake) = lake();
    let table = lake.table("bronze/trips").unwrap();
    assert!(!table.exists().unwrap());
    let first = trips(0..100);
    let c0 = table
        .create(&first.schema(), &[first], &TableOptions::default())
        .unwrap();
    assert_eq!((c0.version, c0.rows), (0, 100));
    assert!(table
        .dir()
        .unwrap()
        .join("_delta_log/00000000000000000000.json")
        .is_file());
    // The table is not an object of the store.
    assert!(lake.list("").unwrap().is_empty());

    let c1 = table.append(&[trips(100..150)]).unwrap();
    assert_eq!((c1.version, c1.rows, c1.files_removed), (1, 50, 0));
    let c2 = table.overwrite(&[trips(1000..1010)]).unwrap();
    assert_eq!(c2.version, 2);
    assert!(c2.files_removed >= 2, "{c2:?}");

    assert_eq!(ids(table.scan().unwrap()), (1000..1010).collect::<Vec<_>>());
    assert_eq!(
        ids(table.scan_as_of(AsOf::Version(1)).unwrap()),
        (0..150).collect::<Vec<_>>()
    );
    assert_eq!(
        ids(table.scan_as_of(AsOf::Version(0)).unwrap()),
        (0..100).collect::<Vec<_>>()
    );
    let e = table.scan_as_of(AsOf::Version(3)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(table.version().unwrap(), 2);

    // Time travel by time: now is the latest; before the first commit is an error.
    let now = std::time::SystemTime::now();
    assert_eq!(ids(table.scan_as_of(AsOf::Time(now)).unwrap()).len(), 10);
    let before = now - std::time::Duration::from_secs(3600);
    let e = table.scan_as_of(AsOf::Time(before)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    let history = table.history().unwrap();
    assert_eq!(
        history.iter().map(|h| h.version).collect::<Vec<_>>(),
        vec![2, 1, 0]
    );
    assert_eq!(history[0].operation.as_deref(), Some("WRITE"));
    assert_eq!(history[1].rows_added, Some(50));
    assert_eq!(history[2].operation.as_deref(), Some("CREATE TABLE"));

    let info = table.info(AsOf::Latest).unwrap();
    assert_eq!((info.version, info.rows), (2, Some(10)));
    assert_eq!(
        info.columns
            .iter()
            .map(|c| c.0.as_str())
            .collect::<Vec<_>>(),
        ["id", "zone", "fare"]
    );
    assert_eq!(
        info.properties
            .get("delta.checkpointInterval")
            .map(String::as_str),
        Some("10")
    );
    assert_eq!(lake.tables(None).unwrap().len(), 1);
    assert_eq!(lake.tables(Some("silver")).unwrap().len(), 0);
}

#[test]
fn partitioned_tables_prune_by_partition_values() {
    let (_dir, lake) = lake();
    let table = lake.table("silver/trips").unwrap();
    let data = trips(0..300);
    let options = TableOptions {
        partition_by: vec!["zone".into()],
        description: Some("trips by pickup zone".into()),
        owner: Some("data-eng".into()),
        ..TableOptions::default()
    };
    table.create(&data.schema(), &[data], &options).unwrap();
    assert!(table.dir().unwrap().join("zone=JFK").is_dir());
    // Columns come in the table's order, the partition column included.
    let out = table.scan().unwrap().run().unwrap();
    let names: Vec<_> = out
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["id", "zone", "fare"]);
    let scan = table
        .scan()
        .unwrap()
        .filter(Expr::parse("zone = 'LGA'").unwrap());
    let out = scan.run().unwrap();
    assert_eq!(out.stats.rows_out, 100);
    assert_eq!(out.stats.files_skipped, 2, "{:?}", out.stats);
    // The partition column comes back with its values, as a string column.
    let batch = &out.batches[0];
    let zones = batch.column_by_name("zone").unwrap().as_string::<i32>();
    assert!(zones.iter().all(|z| z == Some("LGA")));
    let info = table.info(AsOf::Latest).unwrap();
    assert_eq!(info.partition_by, ["zone"]);
    assert_eq!(info.description.as_deref(), Some("trips by pickup zone"));
    assert_eq!(
        info.properties.get("strata.owner").map(String::as_str),
        Some("data-eng")
    );
}

#[test]
fn two_threads_appending_at_once_both_commit() {
    let (_dir, lake) = lake();
    let table = lake.table("raw/events").unwrap();
    let seed = trips(0..1);
    table
        .create(&seed.schema(), &[seed], &TableOptions::default())
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..2i64 {
            let table = table.clone();
            s.spawn(move || {
                for i in 0..5i64 {
                    let base = 1 + (t * 5 + i) * 10;
                    table.append(&[trips(base..base + 10)]).unwrap();
                }
            });
        }
    });
    assert_eq!(table.version().unwrap(), 10);
    assert_eq!(ids(table.scan().unwrap()), (0..101).collect::<Vec<_>>());
}

#[test]
fn bad_names_schemas_and_versions_are_errors_that_write_nothing() {
    let (_dir, lake) = lake();
    for bad in ["trips", "platinum/trips", "silver/_x", "silver/a/b"] {
        let e = lake.table(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}: {e}");
    }
    let table = lake.table("gold/t").unwrap();
    let data = trips(0..10);
    // An empty table has no version yet.
    let e = table.scan().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = table
        .create(
            &data.schema(),
            std::slice::from_ref(&data),
            &TableOptions {
                partition_by: vec!["nope".into()],
                ..TableOptions::default()
            },
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(!table.exists().unwrap());
    table
        .create(
            &data.schema(),
            std::slice::from_ref(&data),
            &TableOptions::default(),
        )
        .unwrap();
    let e = table
        .create(&data.schema(), &[data], &TableOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");

    // Another schema: the columns are named, nothing is committed.
    let other = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1])) as _),
        ("city", Arc::new(StringArray::from(vec!["Oslo"])) as _),
    ])
    .unwrap();
    let e = table.append(&[other]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let text = e.to_string();
    assert!(text.contains("city") && text.contains("zone"), "{text}");
    assert_eq!(table.version().unwrap(), 0);
    // A zero-row append commits nothing new but is no error either.
    let c = table.append(&[trips(0..0)]).unwrap();
    assert_eq!((c.version, c.files_added), (0, 0));
    assert_eq!(table.version().unwrap(), 0);
}

#[test]
fn damaged_logs_are_errors_naming_the_table() {
    let (_dir, lake) = lake();
    let table = lake.table("bronze/damaged").unwrap();
    let data = trips(0..10);
    table
        .create(
            &data.schema(),
            std::slice::from_ref(&data),
            &TableOptions::default(),
        )
        .unwrap();
    table.append(std::slice::from_ref(&data)).unwrap();
    let log = table.dir().unwrap().join("_delta_log");
    // Junk in the newest commit.
    std::fs::write(log.join("00000000000000000001.json"), b"{\"add\": nope\n").unwrap();
    let e = table.scan().unwrap_err();
    assert!(e.to_string().contains("bronze/damaged"), "{e}");
    let e = table.history().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    // A data file the log names is gone: the scan says which.
    std::fs::remove_file(log.join("00000000000000000001.json")).unwrap();
    let files: Vec<_> = std::fs::read_dir(table.dir().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    for f in &files {
        std::fs::remove_file(f).unwrap();
    }
    let e = table.scan().unwrap().run().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // A protocol strata does not know.
    std::fs::write(
        log.join("00000000000000000001.json"),
        b"{\"protocol\":{\"minReaderVersion\":9,\"minWriterVersion\":9}}\n",
    )
    .unwrap();
    let e = table.scan().unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Unsupported | ErrorKind::Corrupt),
        "{e}"
    );
    assert!(table.append(&[data]).is_err());
}

#[test]
fn the_command_line_creates_appends_scans_and_shows_tables() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let csv = dir.path().join("trips.csv");
    std::fs::write(&csv, "id,zone\n1,JFK\n2,LGA\n3,JFK\n").unwrap();
    let more = dir.path().join("more.csv");
    std::fs::write(&more, "id,zone\n4,EWR\n").unwrap();
    let d = root.to_str().unwrap();
    let out = common::cli_ok(&[
        "--dir",
        d,
        "table",
        "create",
        "bronze/trips",
        "--from",
        csv.to_str().unwrap(),
        "--partition-by",
        "zone",
    ]);
    assert!(String::from_utf8_lossy(&out).contains("version 0"));
    common::cli_ok(&[
        "--dir",
        d,
        "table",
        "append",
        "bronze/trips",
        more.to_str().unwrap(),
    ]);
    let count = common::cli_ok(&["--dir", d, "table", "scan", "bronze/trips", "--count"]);
    assert_eq!(String::from_utf8_lossy(&count).trim(), "4");
    let count = common::cli_ok(&[
        "--dir",
        d,
        "table",
        "scan",
        "bronze/trips",
        "--version",
        "0",
        "--count",
    ]);
    assert_eq!(String::from_utf8_lossy(&count).trim(), "3");
    let filtered = common::cli_ok(&[
        "--dir",
        d,
        "table",
        "scan",
        "bronze/trips",
        "--filter",
        "zone = 'JFK'",
        "--format",
        "csv",
    ]);
    let text = String::from_utf8_lossy(&filtered);
    assert_eq!(text.lines().count(), 3, "{text}");
    let history = common::cli_ok(&["--dir", d, "table", "history", "bronze/trips", "--json"]);
    assert_eq!(String::from_utf8_lossy(&history).lines().count(), 2);
    let ls = common::cli_ok(&["--dir", d, "table", "ls"]);
    assert_eq!(String::from_utf8_lossy(&ls).trim(), "bronze/trips");
    let show = common::cli_ok(&["--dir", d, "table", "show", "bronze/trips", "--json"]);
    let show: serde_json::Value = serde_json::from_slice(&show).unwrap();
    assert_eq!(show["version"], 1);
    assert_eq!(show["rows"], 4);
    // A table directory outside the lake, by path.
    let path = format!("{}/", common_table_dir(&root).display());
    let count = common::cli_ok(&["--dir", d, "table", "scan", &path, "--count"]);
    assert_eq!(String::from_utf8_lossy(&count).trim(), "4");
    // Errors are one line.
    let e = common::cli_err(&["--dir", d, "table", "scan", "platinum/x", "--count"]);
    assert!(e.contains("unknown zone"), "{e}");
    let e = common::cli_err(&[
        "--dir",
        d,
        "table",
        "create",
        "bronze/trips",
        "--from",
        csv.to_str().unwrap(),
    ]);
    assert!(e.contains("already exists"), "{e}");
}

/// Where the default config keeps `bronze/trips` under `root`.
fn common_table_dir(root: &std::path::Path) -> std::path::PathBuf {
    root.join("hot/tables/bronze/trips")
}

#[test]
fn a_table_outside_the_lake_is_read_and_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let table = strata::table::Table::at_dir(dir.path().join("t")).unwrap();
    let data = trips(0..20);
    table
        .create(&data.schema(), &[data], &TableOptions::default())
        .unwrap();
    table.append(&[trips(20..25)]).unwrap();
    assert_eq!(ids(table.scan().unwrap()), (0..25).collect::<Vec<_>>());
    let out = table.scan().unwrap().run().unwrap();
    assert_eq!(out.batches[0].num_columns(), 3);
    assert!(out.batches.iter().all(|b| b.column(0).null_count() == 0));
}

#[test]
fn checkpoints_vacuum_and_restore() {
    let (_dir, lake) = lake();
    let table = lake.table("gold/daily").unwrap();
    let data = trips(0..10);
    table
        .create(&data.schema(), &[data], &TableOptions::default())
        .unwrap();
    for i in 1..10i64 {
        table.append(&[trips(i * 10..i * 10 + 10)]).unwrap();
    }
    // Version 9 completes the first interval of 10 commits.
    let log = table.dir().unwrap().join("_delta_log");
    assert!(log
        .join("00000000000000000009.checkpoint.parquet")
        .is_file());
    assert!(log.join("_last_checkpoint").is_file());
    assert_eq!(ids(table.scan().unwrap()), (0..100).collect::<Vec<_>>());

    // Overwrite, then restore version 9: the rows of version 9 come back as version 11.
    table.overwrite(&[trips(1000..1001)]).unwrap();
    let r = table.restore(9).unwrap();
    assert_eq!((r.restored, r.version), (9, 11));
    assert_eq!(ids(table.scan().unwrap()), (0..100).collect::<Vec<_>>());
    let e = table.restore(11).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert_eq!(
        table.history().unwrap()[0].operation.as_deref(),
        Some("RESTORE")
    );

    // The overwrite's file is no longer referenced; within the default retention nothing goes.
    let week = strata::table::DEFAULT_RETENTION;
    let kept = table.vacuum(week, false, false).unwrap();
    assert!(kept.files.is_empty(), "{kept:?}");
    // A short retention needs the override.
    let zero = std::time::Duration::ZERO;
    let e = table.vacuum(zero, true, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    // A planted file no commit names and a killed write's staging file go too.
    std::fs::write(
        table.dir().unwrap().join("part-99999-orphan.parquet"),
        b"junk",
    )
    .unwrap();
    let staging = table
        .dir()
        .unwrap()
        .join(".part-00000-x.parquet.strata-0123456789abcdef.partial");
    std::fs::write(&staging, b"half a file").unwrap();
    let dry = table.vacuum(zero, true, true).unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.files.len(), 2, "{dry:?}"); // the overwrite's file and the orphan
    assert!(dry.files.iter().any(|f| f.contains("orphan")), "{dry:?}");
    assert_eq!(dry.staging.len(), 1, "{dry:?}");
    assert!(staging.exists());
    let done = table.vacuum(zero, false, true).unwrap();
    assert_eq!(done.files, dry.files);
    assert!(!staging.exists());
    assert!(!table
        .dir()
        .unwrap()
        .join("part-99999-orphan.parquet")
        .exists());
    // The current version still reads whole; version 10 (the overwrite) lost its file.
    assert_eq!(ids(table.scan().unwrap()), (0..100).collect::<Vec<_>>());
    let e = table
        .scan_as_of(AsOf::Version(10))
        .unwrap()
        .run()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // Restoring to it now names the missing file.
    let e = table.restore(10).unwrap_err();
    assert!(e.to_string().contains("gold/daily"), "{e}");
}

#[test]
fn overwrite_where_replaces_only_the_matching_rows() {
    let (_dir, lake) = lake();
    // Partitioned: replacing a partition leaves the others' files alone.
    let table = lake.table("silver/by_zone").unwrap();
    let data = trips(0..90);
    let options = TableOptions {
        partition_by: vec!["zone".into()],
        ..TableOptions::default()
    };
    table.create(&data.schema(), &[data], &options).unwrap();
    let before = table.info(AsOf::Latest).unwrap().files;
    // New JFK rows (ids divisible by 3 are JFK in `trips`).
    let jfk = trips(300..330);
    let jfk = arrow::compute::filter_record_batch(
        &jfk,
        &arrow::compute::kernels::cmp::eq(
            jfk.column_by_name("zone").unwrap(),
            &StringArray::new_scalar("JFK"),
        )
        .unwrap(),
    )
    .unwrap();
    let c = table.overwrite_where("zone = 'JFK'", &[jfk]).unwrap();
    assert_eq!((c.version, c.files_removed, c.rows), (1, 1, 10), "{c:?}");
    let mut want: Vec<i64> = (0..90).filter(|i| i % 3 != 0).collect();
    want.extend((300..330).filter(|i| i % 3 == 0));
    want.sort();
    assert_eq!(ids(table.scan().unwrap()), want);
    assert_eq!(table.info(AsOf::Latest).unwrap().files, before);
    let last = &table.history().unwrap()[0];
    assert_eq!(last.parameters["predicate"], "zone = 'JFK'");

    // Not partitioned: a file with some matching rows is rewritten without them.
    let flat = lake.table("silver/flat").unwrap();
    let data = trips(0..50);
    flat.create(&data.schema(), &[data], &TableOptions::default())
        .unwrap();
    let c = flat
        .overwrite_where("id < 10", &[trips(1000..1000)])
        .unwrap();
    assert_eq!(c.files_removed, 1);
    assert_eq!(ids(flat.scan().unwrap()), (10..50).collect::<Vec<_>>());
    // New rows outside the predicate: refused, nothing committed.
    let e = flat
        .overwrite_where("id < 10", &[trips(20..25)])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.to_string().contains("5 of the new rows"), "{e}");
    assert_eq!(flat.version().unwrap(), 1);
    // A predicate matching nothing adds the rows and removes nothing.
    let c = flat
        .overwrite_where("id >= 5000", &[trips(5000..5003)])
        .unwrap();
    assert_eq!((c.files_removed, c.rows), (0, 3));
    let e = flat.overwrite_where("id <", &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
}

#[test]
fn appends_merge_new_columns_when_asked() {
    let (_dir, lake) = lake();
    let table = lake.table("bronze/evolving").unwrap();
    let data = trips(0..10);
    table
        .create(&data.schema(), &[data], &TableOptions::default())
        .unwrap();
    let wider = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![100, 101])) as _),
        ("zone", Arc::new(StringArray::from(vec!["JFK", "LGA"])) as _),
        (
            "fare",
            Arc::new(arrow::array::Float64Array::from(vec![1.0, 2.0])) as _,
        ),
        (
            "tip",
            Arc::new(arrow::array::Float64Array::from(vec![0.5, 0.25])) as _,
        ),
    ])
    .unwrap();
    // Without asking: an error naming the new column, nothing committed.
    let e = table.append(std::slice::from_ref(&wider)).unwrap_err();
    assert!(e.to_string().contains("tip"), "{e}");
    assert_eq!(table.version().unwrap(), 0);
    let c = table.append_merging_schema(&[wider]).unwrap();
    assert_eq!(c.version, 1);
    let info = table.info(AsOf::Latest).unwrap();
    assert_eq!(
        info.columns
            .iter()
            .map(|c| c.0.as_str())
            .collect::<Vec<_>>(),
        ["id", "zone", "fare", "tip"]
    );
    // Old rows read the new column as null; a narrower append fills it with nulls.
    let narrow = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![200])) as _),
        ("zone", Arc::new(StringArray::from(vec!["EWR"])) as _),
        (
            "fare",
            Arc::new(arrow::array::Float64Array::from(vec![3.0])) as _,
        ),
    ])
    .unwrap();
    table.append_merging_schema(&[narrow]).unwrap();
    let out = table.scan().unwrap().columns(&["id", "tip"]).run().unwrap();
    let tips: usize = out.batches.iter().map(|b| b.column(1).null_count()).sum();
    assert_eq!(out.stats.rows_out, 13);
    assert_eq!(tips, 11);
    // Version 0 still reads with its own columns.
    let old = table.scan_as_of(AsOf::Version(0)).unwrap().run().unwrap();
    assert_eq!(old.schema.fields().len(), 3);
}

/// A table of ids 0..500 in five files of 100 (fare = 1.5 id).
fn five_files(lake: &Lake, name: &str) -> strata::table::Table {
    let table = lake.table(name).unwrap();
    let first = trips(0..100);
    table
        .create(&first.schema(), &[first], &TableOptions::default())
        .unwrap();
    for i in 1..5i64 {
        table.append(&[trips(i * 100..i * 100 + 100)]).unwrap();
    }
    table
}

fn filtered(table: &strata::table::Table, filter: &str) -> strata::ScanOutput {
    table
        .scan()
        .unwrap()
        .filter(Expr::parse(filter).unwrap())
        .run()
        .unwrap()
}

#[test]
fn file_statistics_skip_files_a_filter_cannot_match() {
    let (_dir, lake) = lake();
    let table = five_files(&lake, "gold/ranges");
    let scan = |filter: &str| filtered(&table, filter);
    let out = scan("id >= 420");
    assert_eq!(out.stats.rows_out, 80);
    assert_eq!(out.stats.files_skipped, 4, "{:?}", out.stats);
    let out = scan("id = 150 OR id = 350");
    assert_eq!(out.stats.rows_out, 2);
    assert_eq!(out.stats.files_skipped, 3, "{:?}", out.stats);
    let out = scan("zone = 'JFK' AND id < 100");
    assert_eq!(out.stats.rows_out, 34);
    assert_eq!(out.stats.files_skipped, 4, "{:?}", out.stats);
    // A filter statistics cannot decide reads everything and still returns the right rows.
    let out = scan("fare > 10 OR zone IS NULL");
    assert_eq!(out.stats.files_skipped, 0, "{:?}", out.stats);
    assert_eq!(out.stats.rows_out, 493);
    // Nothing matches anywhere: every file skipped, the schema still known.
    let out = scan("id > 100000");
    assert_eq!((out.stats.rows_out, out.stats.files_skipped), (0, 5));
    assert_eq!(out.schema.fields().len(), 3);
}

#[test]
fn float_lower_bounds_skip_files_known_to_hold_no_nan() {
    let (_dir, lake) = lake();
    let table = five_files(&lake, "gold/fares");
    let scan = |filter: &str| filtered(&table, filter);
    // strata's files record that `fare` holds no NaN, so a lower bound skips files too
    // (statistics leave NaN out, and NaN sorts above every number).
    let out = scan("fare >= 600");
    assert_eq!(out.stats.rows_out, 100);
    assert_eq!(out.stats.files_skipped, 4, "{:?}", out.stats);
    let out = scan("fare > 148.5 AND fare < 300");
    assert_eq!(out.stats.rows_out, 100);
    assert_eq!(out.stats.files_skipped, 4, "{:?}", out.stats);
    // A file holding a NaN is read whatever its max says, and its NaN row matches.
    let nan = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1000, 1001])) as _),
        ("zone", Arc::new(StringArray::from(vec!["JFK", "JFK"])) as _),
        (
            "fare",
            Arc::new(arrow::array::Float64Array::from(vec![1.0, f64::NAN])) as _,
        ),
    ])
    .unwrap();
    table.append(&[nan]).unwrap();
    let out = scan("fare >= 600");
    assert_eq!(out.stats.rows_out, 101);
    assert_eq!(out.stats.files_skipped, 4, "{:?}", out.stats);
    let last = table.history().unwrap()[0].version;
    let log = table
        .dir()
        .unwrap()
        .join(format!("_delta_log/{last:020}.json"));
    let text = std::fs::read_to_string(log).unwrap();
    assert!(
        text.contains(r#"\"strata.nanCount\":{\"fare\":1}"#),
        "{text}"
    );
}

#[test]
fn a_commit_missing_from_the_middle_of_the_log_is_an_error_and_nothing_is_written() {
    let (_dir, lake) = lake();
    let table = lake.table("bronze/gap").unwrap();
    let data = trips(0..10);
    table
        .create(
            &data.schema(),
            std::slice::from_ref(&data),
            &TableOptions::default(),
        )
        .unwrap();
    table.append(std::slice::from_ref(&data)).unwrap();
    table.append(std::slice::from_ref(&data)).unwrap();
    let log = table.dir().unwrap().join("_delta_log");
    std::fs::remove_file(log.join("00000000000000000001.json")).unwrap();
    let before = common::snapshot(table.dir().unwrap());
    for e in [
        table.scan().unwrap_err(),
        table.version().unwrap_err(),
        table.history().unwrap_err(),
        table.append(std::slice::from_ref(&data)).unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
        let text = e.to_string();
        assert!(text.contains("bronze/gap"), "{text}");
        assert!(
            text.contains("version 1") || text.contains("versions"),
            "{text}"
        );
    }
    // Version 0 is still there to read by time travel.
    assert_eq!(
        ids(table.scan_as_of(AsOf::Version(0)).unwrap()),
        (0..10).collect::<Vec<_>>()
    );
    assert_eq!(
        common::snapshot(table.dir().unwrap()),
        before,
        "nothing written"
    );
}

#[test]
fn per_table_codec_file_size_and_encryption_hold_for_every_write() {
    use strata::crypto::ParquetEncryption;
    let (dir, lake) = lake();
    let key = lake.keys().new_key(Some("tables")).unwrap();
    let table = lake.table("gold/secret").unwrap();
    let options = TableOptions {
        codec: Some("zstd:7".parse().unwrap()),
        target_file_bytes: Some(1024),
        encryption: Some(ParquetEncryption::uniform(key)),
        ..TableOptions::default()
    };
    let batches = |ids: std::ops::Range<i64>| {
        ids.step_by(1000)
            .map(|i| trips(i..i + 1000))
            .collect::<Vec<_>>()
    };
    let data = batches(0..20_000);
    let c0 = table.create(&data[0].schema(), &data, &options).unwrap();
    // (Files roll over at row group boundaries, 1M rows: these rows make one file each.)
    assert_eq!(c0.files_added, 1, "{c0:?}");
    // A later write by another handle (another process) keeps the table's settings.
    let again = lake.table("gold/secret").unwrap();
    let c1 = again.append(&batches(20_000..30_000)).unwrap();
    assert_eq!(c1.files_added, 1, "{c1:?}");
    assert_eq!(ids(table.scan().unwrap()), (0..30_000).collect::<Vec<_>>());
    let info = table.info(AsOf::Latest).unwrap();
    assert_eq!(info.properties["strata.codec"], "zstd:7");
    assert_eq!(info.properties["strata.targetFileSize"], "1024");
    assert!(info.properties["strata.encryption"].contains("tables"));
    assert_eq!(info.rows, Some(30_000));
    // A row-level change writes its new file under the same key and statistics rule.
    let d = table.delete("id >= 29990").unwrap();
    assert_eq!(
        (d.rows_deleted, d.files_removed, d.files_added),
        (10, 1, 1),
        "{d:?}"
    );
    assert_eq!(ids(table.scan().unwrap()), (0..29_990).collect::<Vec<_>>());

    let table_dir = table.dir().unwrap().to_path_buf();
    let files: Vec<_> = std::fs::read_dir(&table_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    for file in &files {
        // Encrypted: a reader without the keys cannot open the footer.
        let f = std::fs::File::open(file).unwrap();
        assert!(parquet::file::reader::SerializedFileReader::new(f).is_err());
    }
    // The log carries row counts only: no value of an encrypted column in the clear.
    for entry in std::fs::read_dir(table_dir.join("_delta_log")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines().filter(|l| l.contains("\"add\"")) {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let stats: serde_json::Value =
                    serde_json::from_str(v["add"]["stats"].as_str().unwrap()).unwrap();
                assert!(stats.get("minValues").is_none(), "{stats}");
                assert!(stats["numRecords"].as_u64().unwrap() > 0);
            }
        }
    }
    // A filter still works (the files' own statistics prune inside them).
    let some = table
        .scan()
        .unwrap()
        .filter(Expr::parse("id < 10").unwrap())
        .run()
        .unwrap();
    assert_eq!(some.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 10);

    // Without the lake's keys the table is an error naming the reason, not garbage.
    drop((table, again, lake));
    let bare = strata::table::Table::at_dir(&table_dir).unwrap();
    let e = bare.scan().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.to_string().contains("encrypted"), "{e}");
    let e = bare.append(&[trips(0..1)]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    drop(dir);
}
