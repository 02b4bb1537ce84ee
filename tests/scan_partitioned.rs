//! Partitions of a scan: together they read every row exactly once, and a partitioned scan
//! on several threads returns what the ordered scan returns, in some order.

use std::path::Path;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use strata::{ErrorKind, Expr, Scan};

/// `rows` ids from `first`, in row groups of 100.
fn write(path: &Path, first: i64, rows: i64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(first..first + rows));
    let batch = RecordBatch::try_from_iter([("id", ids)]).unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(100))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// Two files: 750 rows (8 row groups, the last short) and 420 (5 row groups).
fn dataset(dir: &Path) {
    write(&dir.join("a.parquet"), 0, 750);
    write(&dir.join("b.parquet"), 750, 420);
}

fn ids(batch: &RecordBatch) -> Vec<i64> {
    let c = batch.column_by_name("id").unwrap();
    let c = c.as_any().downcast_ref::<Int64Array>().unwrap();
    c.values().to_vec()
}

#[test]
fn partitions_together_read_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path());
    for count in [1, 2, 3, 5, 20] {
        let mut all = Vec::new();
        let mut groups = 0;
        for index in 0..count {
            let out = Scan::new(dir.path()).partition(index, count).run().unwrap();
            let rows: Vec<i64> = out.batches.iter().flat_map(ids).collect();
            // Within a partition, rows come in order.
            assert!(
                rows.windows(2).all(|w| w[0] < w[1]),
                "partition {index}/{count}"
            );
            assert_eq!(out.stats.rows_out, rows.len() as u64);
            groups += out.stats.row_groups_total;
            all.extend(rows);
        }
        all.sort_unstable();
        assert_eq!(all, (0..1170).collect::<Vec<i64>>(), "{count} partitions");
        assert_eq!(groups, 13, "{count} partitions");
    }
}

#[test]
fn a_partition_holds_every_nth_row_group_across_files() {
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path());
    // Dataset row groups 1, 4, 7 (a.parquet's) and 10 (b.parquet's third, from id 950).
    let out = Scan::new(dir.path()).partition(1, 3).run().unwrap();
    let starts: Vec<i64> = out.batches.iter().map(|b| ids(b)[0]).collect();
    assert_eq!(starts, vec![100, 400, 700, 950]);
    assert_eq!(out.stats.row_groups_total, 4);
}

#[test]
fn filters_and_pruning_apply_within_a_partition() {
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path());
    let filter = Expr::parse("id >= 250 AND id < 520").unwrap();
    let mut all = Vec::new();
    let mut skipped = 0;
    for index in 0..2 {
        let out = Scan::new(dir.path())
            .filter(filter.clone())
            .partition(index, 2)
            .run()
            .unwrap();
        all.extend(out.batches.iter().flat_map(ids));
        skipped += out.stats.row_groups_skipped;
    }
    all.sort_unstable();
    assert_eq!(all, (250..520).collect::<Vec<i64>>());
    // Row groups 2..=5 can match; the other 9 are pruned, each by the partition holding it.
    assert_eq!(skipped, 9);
}

#[test]
fn a_bad_partition_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path());
    let err = Scan::new(dir.path()).partition(2, 2).run().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("partition 2 of 2"), "{err}");
    let err = Scan::new(dir.path()).partition(0, 0).run().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn partitioned_scans_return_the_ordered_scans_rows() {
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path());
    let ordered = Scan::new(dir.path()).run().unwrap();
    for threads in [1, 2, 3] {
        let seen = Mutex::new(Vec::new());
        let (schema, stats) = Scan::new(dir.path())
            .threads(threads)
            .for_each_partitioned(|partition, batch| {
                assert!(partition < threads);
                seen.lock().unwrap().push((partition, ids(&batch)));
                Ok(())
            })
            .unwrap();
        assert_eq!(schema, ordered.schema);
        assert_eq!(stats.rows_out, 1170);
        assert_eq!(stats.row_groups_total, 13);
        assert_eq!(stats.files, 2);
        let seen = seen.into_inner().unwrap();
        // Each partition's batches come in its order.
        for p in 0..threads {
            let rows: Vec<i64> = seen
                .iter()
                .filter(|(q, _)| *q == p)
                .flat_map(|(_, r)| r.clone())
                .collect();
            assert!(rows.windows(2).all(|w| w[0] < w[1]), "partition {p}");
        }
        let mut all: Vec<i64> = seen.into_iter().flat_map(|(_, r)| r).collect();
        all.sort_unstable();
        assert_eq!(all, (0..1170).collect::<Vec<i64>>(), "{threads} threads");
    }
}

#[test]
fn the_first_error_stops_every_partition() {
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path());
    let calls = Mutex::new(0);
    let err = Scan::new(dir.path())
        .threads(2)
        .for_each_partitioned(|_, batch| {
            *calls.lock().unwrap() += 1;
            if ids(&batch).contains(&450) {
                return Err(strata::Error::new(
                    ErrorKind::InvalidArgument,
                    "sink full at 450",
                ));
            }
            Ok(())
        })
        .unwrap_err();
    assert!(err.to_string().contains("sink full at 450"), "{err}");
    // 13 row groups, one batch each: the stop came before all of them were handed over.
    assert!(*calls.lock().unwrap() < 13);
}

#[test]
fn offset_and_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path());
    for scan in [
        Scan::new(dir.path()).limit(10),
        Scan::new(dir.path()).offset(10),
        Scan::new(dir.path()).partition(0, 2),
    ] {
        let err = scan
            .threads(2)
            .for_each_partitioned(|_, _| Ok(()))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("use for_each"), "{err}");
    }
}

#[test]
fn counts_with_a_filter_on_several_threads_match_one_thread() {
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path());
    let filter = Expr::parse("id >= 250 AND id < 1000").unwrap();
    let scan = Scan::new(dir.path()).filter(filter);
    let (one, one_stats) = scan.clone().threads(1).count().unwrap();
    assert_eq!(one, 750);
    for threads in [2, 3] {
        let (rows, stats) = scan.clone().threads(threads).count().unwrap();
        assert_eq!(rows, 750, "{threads} threads");
        assert_eq!(stats.row_groups_total, one_stats.row_groups_total);
        assert_eq!(stats.row_groups_skipped, one_stats.row_groups_skipped);
        assert_eq!(stats.files, 2);
        // With a limit the count still needs one order over the rows.
        let (limited, _) = scan.clone().threads(threads).limit(100).count().unwrap();
        assert_eq!(limited, 100);
    }
}
