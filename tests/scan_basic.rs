//! One file with four row groups: projection, each operator, pruning counts, limit and offset.

use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use strata::{Expr, Scan};

/// Rows 0..400 in row groups of 100: `id` = row, `name` = "n{row:03}", `maybe` null every
/// 10th row, `grp` = "a" for the first 200 rows and "b" after.
fn write_file(dir: &std::path::Path) -> std::path::PathBuf {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("maybe", DataType::Int64, true),
        Field::new("grp", DataType::Utf8, false),
    ]));
    let ids: Vec<i64> = (0..400).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(StringArray::from(
                ids.iter().map(|i| format!("n{i:03}")).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                ids.iter()
                    .map(|i| (i % 10 != 0).then_some(*i))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                ids.iter()
                    .map(|i| if *i < 200 { "a" } else { "b" })
                    .collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(100))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .build();
    let path = dir.join("t.parquet");
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    path
}

fn ids(scan: Scan) -> (Vec<i64>, strata::ScanStats) {
    let out = scan.run().unwrap();
    let mut v = Vec::new();
    for b in &out.batches {
        let col = b.column_by_name("id").unwrap();
        let col = col.as_any().downcast_ref::<Int64Array>().unwrap();
        v.extend(col.iter().map(|x| x.unwrap()));
    }
    (v, out.stats)
}

fn filtered(path: &std::path::Path, filter: &str) -> (Vec<i64>, strata::ScanStats) {
    ids(Scan::new(path).filter(Expr::parse(filter).unwrap()))
}

#[test]
fn projection_keeps_requested_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path());
    let out = Scan::new(&path).columns(&["grp", "id"]).run().unwrap();
    let names: Vec<String> = out
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["grp", "id"]);
    assert_eq!(out.stats.rows_out, 400);
    assert_eq!(out.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 400);
    assert!(Scan::new(&path).columns(&["nope"]).run().is_err());
}

#[test]
fn operators_and_pruning() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path());
    let (v, s) = filtered(&path, "id = 150");
    assert_eq!(v, [150]);
    assert_eq!((s.row_groups_total, s.row_groups_skipped), (4, 3));
    let (v, s) = filtered(&path, "id < 5");
    assert_eq!(v, [0, 1, 2, 3, 4]);
    assert_eq!(s.row_groups_skipped, 3);
    let (v, _) = filtered(&path, "id <= 1");
    assert_eq!(v, [0, 1]);
    let (v, s) = filtered(&path, "id > 397");
    assert_eq!((v, s.row_groups_skipped), (vec![398, 399], 3));
    let (v, _) = filtered(&path, "id >= 398");
    assert_eq!(v, [398, 399]);
    let (v, _) = filtered(&path, "id != 0 AND id < 3");
    assert_eq!(v, [1, 2]);
    let (v, s) = filtered(&path, "id IN (3, 350)");
    assert_eq!((v, s.row_groups_skipped), (vec![3, 350], 2));
    let (v, _) = filtered(&path, "id NOT IN (0, 1) AND id < 4");
    assert_eq!(v, [2, 3]);
    let (v, s) = filtered(&path, "maybe IS NULL AND id < 30");
    assert_eq!((v, s.row_groups_skipped), (vec![0, 10, 20], 3));
    let (v, _) = filtered(&path, "maybe IS NOT NULL AND id < 3");
    assert_eq!(v, [1, 2]);
    let (v, s) = filtered(&path, "starts_with(name, 'n39')");
    assert_eq!(v, (390..400).collect::<Vec<_>>());
    assert_eq!(s.row_groups_skipped, 3);
    let (v, _) = filtered(&path, "name LIKE 'n00%' AND NOT id > 2");
    assert_eq!(v, [0, 1, 2]);
    let (v, s) = filtered(&path, "id = 5 OR id = 399");
    assert_eq!((v, s.row_groups_skipped), (vec![5, 399], 2));
    let (v, s) = filtered(&path, "NOT (id >= 100)");
    assert_eq!((v.len(), s.row_groups_skipped), (100, 3));
    let (v, _) = filtered(&path, "grp = 'b' AND id < 202");
    assert_eq!(v, [200, 201]);
    let (v, _) = filtered(&path, "id > 10.5 AND id < 12");
    assert_eq!(v, [11]);
    assert!(Scan::new(&path)
        .filter(Expr::parse("id = 'x'").unwrap())
        .run()
        .is_err());
}

#[test]
fn limit_offset_threads_and_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path());
    let (v, _) = ids(Scan::new(&path).offset(150).limit(3).batch_size(7));
    assert_eq!(v, [150, 151, 152]);
    let (v, _) = ids(Scan::new(&path).offset(395).threads(2));
    assert_eq!(v, [395, 396, 397, 398, 399]);
    let (v, _) = ids(Scan::new(&path).threads(2).batch_size(33));
    assert_eq!(v, (0..400).collect::<Vec<_>>());
    let (v, _) = ids(Scan::new(&path)
        .filter(Expr::parse("grp = 'b'").unwrap())
        .offset(10)
        .limit(2)
        .no_mmap(true));
    assert_eq!(v, [210, 211]);
    assert_eq!(Scan::new(&path).count().unwrap().0, 400);
    assert_eq!(
        Scan::new(&path).offset(390).limit(50).count().unwrap().0,
        10
    );
    let (n, stats) = Scan::new(&path)
        .filter(Expr::parse("id >= 390").unwrap())
        .count()
        .unwrap();
    assert_eq!((n, stats.row_groups_skipped), (10, 3));
}

#[test]
fn for_each_streams_what_run_collects() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path());
    let scan = Scan::new(&path)
        .filter(Expr::parse("maybe IS NOT NULL AND id > 50").unwrap())
        .batch_size(16)
        .threads(2);
    let collected = scan.run().unwrap();
    let mut streamed = Vec::new();
    let (schema, stats) = scan
        .for_each(|b| {
            streamed.push(b);
            Ok(())
        })
        .unwrap();
    assert_eq!(streamed, collected.batches);
    assert_eq!(schema, collected.schema);
    assert_eq!(stats, collected.stats);

    // An error from the callback stops the scan and comes back unchanged.
    let mut calls = 0;
    let err = scan
        .for_each(|_| {
            calls += 1;
            Err(strata::Error::new(
                strata::ErrorKind::InvalidArgument,
                "enough",
            ))
        })
        .unwrap_err();
    assert_eq!(calls, 1);
    assert!(err.to_string().contains("enough"), "{err}");
}

#[test]
fn one_thread_streams_the_same_rows_as_two() {
    // One thread decodes batch by batch into the sink; more threads decode runs of row groups
    // on the pool. Both must give the same rows (batch boundaries may differ: a run's reader
    // fills batches across its row groups), stats and windows. Without order kept, the same
    // rows come out in some order.
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path());
    let scans = |threads: usize, ordered: bool| {
        let base = || {
            Scan::new(&path)
                .threads(threads)
                .batch_size(13)
                .keep_order(ordered)
        };
        vec![
            base(),
            base().columns(&["grp", "id"]),
            base().filter(Expr::parse("maybe IS NOT NULL AND id > 50").unwrap()),
            base().offset(120).limit(90),
            base()
                .filter(Expr::parse("grp = 'b'").unwrap())
                .offset(10)
                .limit(2),
            base().no_mmap(true).offset(390),
            base().limit(0),
        ]
    };
    let rows = |out: &strata::ScanOutput| {
        arrow::compute::concat_batches(&out.schema, &out.batches).unwrap()
    };
    let cases = scans(1, true)
        .into_iter()
        .zip(scans(2, true))
        .zip(scans(2, false));
    for (i, ((one, two), loose)) in cases.enumerate() {
        let (a, b, c) = (one.run().unwrap(), two.run().unwrap(), loose.run().unwrap());
        assert_eq!(a.schema, b.schema);
        assert_eq!(rows(&a), rows(&b));
        assert!(a.batches.iter().all(|b| b.num_rows() <= 13));
        assert_eq!(a.stats.rows_out, b.stats.rows_out);
        assert_eq!(a.stats.row_groups_skipped, b.stats.row_groups_skipped);
        // Unordered: as many rows; the same rows where no offset or limit picks some.
        assert_eq!(a.schema, c.schema);
        assert_eq!(a.stats.rows_out, c.stats.rows_out);
        if i < 3 {
            let (mut x, _) = ids(one);
            let (mut y, _) = ids(loose);
            x.sort_unstable();
            y.sort_unstable();
            assert_eq!(x, y, "scan {i}");
        }
    }
}
