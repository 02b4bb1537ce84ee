//! A bad scan setup (a filter on a missing column, a literal of the wrong type, a filter that
//! does not parse, a missing projected column) is one error with one kind, from every way of
//! running a scan, before any batch. The C, C++ and Go sides are in bindings/*/tests.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use strata::{Error, ErrorKind, Expr, Scan};

fn write(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..100));
    let names: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..100).map(|i| format!("user {i}")),
    ));
    let batch = RecordBatch::try_from_iter([("id", ids), ("name", names)]).unwrap();
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// Every way of running `scan` fails with `kind`, naming `needle`.
fn fails_everywhere(scan: Scan, kind: ErrorKind, needle: &str) {
    let check = |how: &str, e: Error| {
        assert_eq!(e.kind(), kind, "{how}: {e}");
        assert!(e.to_string().contains(needle), "{how}: {e} lacks {needle}");
    };
    check("run", scan.run().unwrap_err());
    check("count", scan.count().unwrap_err());
    check("threads", scan.clone().threads(2).count().unwrap_err());
    check(
        "for_each",
        scan.for_each(|_| panic!("no batch before the check"))
            .unwrap_err(),
    );
    check(
        "partitioned",
        scan.clone()
            .threads(2)
            .for_each_partitioned(|_, _| panic!("no batch before the check"))
            .unwrap_err(),
    );
    // The reader reports it when it is made, not at its first batch.
    check("reader", scan.reader().err().expect("the reader fails"));
}

#[test]
fn one_error_one_kind_for_each_bad_setup() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.parquet");
    write(&file);
    let filtered = |text: &str| Scan::new(&file).filter(Expr::parse(text).unwrap());
    fails_everywhere(filtered("nope = 1"), ErrorKind::NotFound, "nope");
    fails_everywhere(
        filtered("id < 5 AND (name IS NULL OR nope > 2)"),
        ErrorKind::NotFound,
        "nope",
    );
    fails_everywhere(
        filtered("id = 'abc'"),
        ErrorKind::InvalidArgument,
        "column id",
    );
    fails_everywhere(
        filtered("id IN (1, 2, 'x')"),
        ErrorKind::InvalidArgument,
        "column id",
    );
    fails_everywhere(
        filtered("starts_with(id, '1')"),
        ErrorKind::InvalidArgument,
        "id",
    );
    fails_everywhere(
        Scan::new(&file).columns(&["id", "nope"]),
        ErrorKind::NotFound,
        "nope",
    );
    let e = Expr::parse("id >>> 3").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("'>'"), "{e}");
}

#[test]
fn a_dataset_checks_against_its_partition_columns_too() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("region=eu/a.parquet"));
    write(&dir.path().join("region=us/a.parquet"));
    let scan = |text: &str| Scan::new(dir.path()).filter(Expr::parse(text).unwrap());
    assert_eq!(scan("region = 'eu' AND id < 10").count().unwrap().0, 10);
    fails_everywhere(
        scan("region = 'eu' AND nope = 1"),
        ErrorKind::NotFound,
        "nope",
    );
    // Every file ruled out by its partition values: still checked, against the first footer.
    fails_everywhere(
        scan("region = 'asia' AND nope = 1"),
        ErrorKind::NotFound,
        "nope",
    );
    fails_everywhere(
        scan("region = 'asia' AND id = 'abc'"),
        ErrorKind::InvalidArgument,
        "column id",
    );
    let out = Scan::new(dir.path())
        .columns(&["id"])
        .filter(Expr::parse("region = 'asia'").unwrap())
        .run()
        .unwrap();
    assert_eq!(out.stats.rows_out, 0);
    assert_eq!(out.schema.fields().len(), 1);
}
