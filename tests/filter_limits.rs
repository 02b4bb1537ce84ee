//! Filters that cannot crash: nesting is bounded (parentheses, NOTs, hand-built trees), flat
//! AND/OR chains of any length are one node, and long IN lists are a set lookup. Through the
//! library and the CLI; the C ABI's side is bindings/c/tests/test_filter_limits.c.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, DictionaryArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::Int32Type;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use strata::{read::CmpOp, ErrorKind, Expr, Scan};

/// 1,000 rows: id 0..999, name "n<id>" (null where id % 7 == 0), tag a dictionary of 5
/// strings; row groups of 300, so pruning has several to choose from.
fn write(path: &Path) {
    let ids: Vec<i64> = (0..1000).collect();
    let names: ArrayRef = Arc::new(StringArray::from_iter(
        ids.iter().map(|i| (i % 7 != 0).then(|| format!("n{i}"))),
    ));
    let tags: DictionaryArray<Int32Type> = ids
        .iter()
        .map(|i| ["red", "green", "blue", "cyan", "gray"][(*i % 5) as usize])
        .collect();
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
        ("name", names),
        ("tag", Arc::new(tags) as ArrayRef),
    ])
    .unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(300))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    write(&path);
    (dir, path)
}

fn ids(path: &Path, filter: Expr) -> Vec<i64> {
    let out = Scan::new(path).filter(filter).run().unwrap();
    out.batches
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name("id").unwrap();
            c.as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect()
}

fn count(path: &Path, text: &str) -> u64 {
    Scan::new(path)
        .filter(Expr::parse(text).unwrap())
        .count()
        .unwrap()
        .0
}

fn refused(text: &str) -> String {
    let e = Expr::parse(text).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let m = e.to_string();
    assert!(m.contains("256"), "the error names the limit: {m}");
    m
}

#[test]
fn parentheses_nest_up_to_the_limit_and_no_deeper() {
    let (_dir, path) = fixture();
    let at_limit = format!("{}id < 10{}", "(".repeat(256), ")".repeat(256));
    assert_eq!(count(&path, &at_limit), 10);
    let m = refused(&format!("{}id < 10{}", "(".repeat(257), ")".repeat(257)));
    assert!(m.contains("position 257"), "{m}");
    refused(&format!(
        "{}id < 10{}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    ));
    // Unbalanced and deep: the depth is what is reported, not a crash at the end.
    refused(&"(".repeat(100_000));
}

#[test]
fn nots_nest_up_to_the_limit_and_no_deeper() {
    let (_dir, path) = fixture();
    assert_eq!(count(&path, &format!("{}id < 10", "NOT ".repeat(256))), 10);
    assert_eq!(count(&path, &format!("{}id < 10", "NOT ".repeat(255))), 990);
    let m = refused(&format!("{}id < 10", "NOT ".repeat(10_000)));
    assert!(m.contains("position 1025"), "the 257th NOT: {m}");
    refused(&format!("{}(id < 10)", "NOT (".repeat(200)));
}

#[test]
fn a_tree_deeper_than_its_parentheses_is_refused() {
    // Each parenthesis adds an OR and an AND: 200 of them make a tree 400 levels deep.
    let mut text = "id = 1".to_string();
    for _ in 0..200 {
        text = format!("id = 2 OR id = 3 AND ({text})");
    }
    let m = refused(&text);
    assert!(m.contains("nest 400 levels deep"), "{m}");
}

fn flat(op: &str, terms: usize, last: &str) -> String {
    let mut text = String::new();
    for k in 1..terms {
        text.push_str(&format!("id <> -{k} {op} "));
    }
    text.push_str(last);
    text
}

#[test]
fn flat_and_of_4000_and_100000_terms() {
    let (_dir, path) = fixture();
    for terms in [4_000, 100_000] {
        let text = flat("AND", terms, "id < 10");
        let e = Expr::parse(&text).unwrap();
        assert_eq!(e.depth(), 1);
        assert!(matches!(&e, Expr::And(t) if t.len() == terms));
        assert_eq!(ids(&path, e), (0..10).collect::<Vec<_>>(), "{terms} terms");
    }
    let text = flat("OR", 100_000, "id = 999");
    let e = Expr::parse(&text).unwrap();
    assert_eq!(e.depth(), 1);
    assert_eq!(ids(&path, Expr::parse("id < 0").unwrap().or(e)).len(), 1000);
}

#[test]
fn builders_make_flat_chains() {
    let mut e = Expr::cmp("id", CmpOp::GtEq, 0);
    for k in 0..50_000 {
        e = e.and(Expr::cmp("id", CmpOp::NotEq, -k - 1));
    }
    assert_eq!(e.depth(), 1);
    let (_dir, path) = fixture();
    assert_eq!(
        ids(&path, e.and(Expr::cmp("id", CmpOp::Lt, 3))),
        vec![0, 1, 2]
    );
}

#[test]
fn a_hand_built_deep_expr_is_refused_not_overflowed() {
    let (_dir, path) = fixture();
    let mut deep = Expr::cmp("id", CmpOp::Lt, 10);
    for _ in 0..200_000 {
        deep = deep.not();
    }
    assert_eq!(deep.depth(), 200_000);
    // Clone, compare, print and drop walk no deeper than the heap.
    let copy = deep.clone();
    assert!(copy == deep);
    assert!(deep.to_string().starts_with("NOT NOT "));
    assert!(format!("{deep:?}").ends_with(&")".repeat(1000)));
    assert_eq!(deep.columns(), vec!["id"]);
    drop(copy);
    for scan in [
        Scan::new(&path).filter(deep.clone()),
        Scan::new(&path).filter(deep).threads(2),
    ] {
        let e = scan.run().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().contains("256"), "{e}");
        assert_eq!(scan.count().unwrap_err().kind(), ErrorKind::InvalidArgument);
    }
    // Alternating AND and OR cannot be flattened: deep too.
    let mut alternating = Expr::cmp("id", CmpOp::Lt, 10);
    for k in 0..300 {
        alternating = if k % 2 == 0 {
            alternating.and(Expr::cmp("id", CmpOp::GtEq, 0))
        } else {
            alternating.or(Expr::cmp("id", CmpOp::Eq, -1))
        };
    }
    assert_eq!(alternating.depth(), 300);
    let e = Scan::new(&path).filter(alternating).run().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // A later filter within the limit replaces a refused one.
    let scan = Scan::new(&path)
        .filter(Expr::cmp("id", CmpOp::Lt, 1).not().not().not())
        .filter(Expr::cmp("id", CmpOp::Lt, 4));
    assert_eq!(scan.count().unwrap().0, 4);
}

/// The IN list against the same list as `=` terms ORed together, which strata evaluates
/// value by value: one answer from both.
fn same_as_ors(path: &Path, column: &str, values: Vec<strata::read::Literal>) {
    let list = Expr::In {
        column: column.into(),
        values: values.clone(),
        negated: false,
    };
    let ors = values
        .iter()
        .map(|v| Expr::cmp(column, CmpOp::Eq, v.clone()))
        .reduce(Expr::or)
        .unwrap();
    assert_eq!(ids(path, list.clone()), ids(path, ors.clone()), "{list}");
    let not_in = Expr::In {
        column: column.into(),
        values,
        negated: true,
    };
    // NOT (a OR b) and NOT IN agree too, nulls dropped by both.
    assert_eq!(ids(path, not_in), ids(path, ors.not()));
}

#[test]
fn long_in_lists_match_what_equality_matches() {
    let (_dir, path) = fixture();
    // 12,000 strings, a tenth of them present (and the nulls of `name` never match).
    let names: Vec<String> = (0..12_000).map(|i| format!("n{}", i * 10)).collect();
    let e = Expr::is_in("name", names.iter().map(String::as_str));
    let want: Vec<i64> = (0..100).map(|i| i * 10).filter(|i| i % 7 != 0).collect();
    assert_eq!(ids(&path, e), want);
    let e = Expr::In {
        column: "name".into(),
        values: names.iter().map(|n| n.as_str().into()).collect(),
        negated: true,
    };
    let got = ids(&path, e);
    assert_eq!(got.len(), 1000 - 1000 / 7 - 1 - want.len());
    assert!(got.iter().all(|i| i % 10 != 0 && i % 7 != 0));

    // Integers, fractions against an integer column, a dictionary column, repeats.
    same_as_ors(
        &path,
        "id",
        vec![5.into(), 7.5.into(), 999.into(), 5.into(), 2000.into()],
    );
    same_as_ors(
        &path,
        "tag",
        vec!["red".into(), "cyan".into(), "black".into()],
    );
    same_as_ors(&path, "name", vec!["n1".into(), "n7".into(), "n998".into()]);
    // Row groups with no candidate are skipped; the rest still read right.
    let out = Scan::new(&path)
        .filter(Expr::is_in("id", [1i64, 2, 950]))
        .run()
        .unwrap();
    assert_eq!(out.stats.rows_out, 3);
    assert_eq!(out.stats.row_groups_skipped, 2);
    // A literal of the wrong type is the same error `=` gives.
    let e = Scan::new(&path)
        .filter(Expr::is_in("id", ["1", "x"]))
        .run()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("'x'"), "{e}");
}

fn strata(args: &[&str]) -> std::process::Output {
    Command::new(common::strata_bin())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_cli_refuses_deep_filters_with_one_line() {
    let (dir, path) = fixture();
    let path = path.to_str().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    for deep in [
        format!("{}id < 10{}", "(".repeat(10_000), ")".repeat(10_000)),
        format!("{}id < 10", "NOT ".repeat(10_000)),
    ] {
        let out = strata(&["--dir", data, "scan", path, "--count", "--filter", &deep]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("256"), "{err}");
    }
    // 4,000 terms fit on a command line (100,000 do not: Linux caps one argument at 128 KiB).
    let text = flat("AND", 4_000, "id < 10");
    let out = strata(&["--dir", data, "scan", path, "--count", "--filter", &text]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "10");
}
