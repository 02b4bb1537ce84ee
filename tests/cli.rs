//! The command-line tool: put/get/ls/stat/rm, tier run --dry-run, one-line errors, the lock.

mod common;

use std::process::{Command, Output};

use common::{bytes, strata_bin};

fn strata(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(strata_bin())
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("strata: error: "), "{err:?}");
    err
}

#[test]
fn put_get_ls_stat_rm() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let input = tmp.path().join("in.bin");
    let data = bytes(300_000, 5);
    std::fs::write(&input, &data).unwrap();

    ok(&strata(&root, &["put", "a/b.bin", input.to_str().unwrap()]));
    let mut child = Command::new(strata_bin())
        .args(["--dir", root.to_str().unwrap(), "put", "a/c.txt", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from stdin")
        .unwrap();
    assert!(child.wait().unwrap().success());

    let got = strata(&root, &["get", "a/b.bin"]);
    assert!(got.status.success());
    assert!(got.stdout == data);
    let out = tmp.path().join("out.bin");
    ok(&strata(
        &root,
        &["get", "a/c.txt", "-o", out.to_str().unwrap()],
    ));
    assert_eq!(std::fs::read(&out).unwrap(), b"from stdin");

    let ls: serde_json::Value =
        serde_json::from_str(&ok(&strata(&root, &["ls", "a/", "--json"]))).unwrap();
    let keys: Vec<_> = ls
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["a/b.bin", "a/c.txt"]);
    let text = ok(&strata(&root, &["ls"]));
    assert!(
        text.contains("a/b.bin") && text.contains("300000"),
        "{text}"
    );

    let stat: serde_json::Value =
        serde_json::from_str(&ok(&strata(&root, &["stat", "a/b.bin", "--json"]))).unwrap();
    assert_eq!(stat["tier"], "hot");
    assert_eq!(stat["size"], 300_000);
    assert_eq!(stat["checksum"], blake3::hash(&data).to_hex().to_string());
    assert_eq!(stat["access_count"], 1);

    ok(&strata(&root, &["rm", "a/b.bin"]));
    let err = one_line_error(&strata(&root, &["get", "a/b.bin"]));
    assert!(
        err.contains("no such object") && err.contains("a/b.bin"),
        "{err}"
    );
    one_line_error(&strata(&root, &["put", "../x", input.to_str().unwrap()]));
    one_line_error(&strata(&root, &["put", "x", "/no/such/file"]));
}

#[test]
fn dry_run_lists_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let input = tmp.path().join("in.txt");
    std::fs::write(&input, b"x").unwrap();
    ok(&strata(&root, &["put", "logs/1", input.to_str().unwrap()]));
    ok(&strata(
        &root,
        &["put", "tmp/scratch", input.to_str().unwrap()],
    ));
    let plan: serde_json::Value = serde_json::from_str(&ok(&strata(
        &root,
        &["tier", "run", "--dry-run", "--json", "--after", "31d"],
    )))
    .unwrap();
    let actions = plan["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 2, "{plan}");
    assert!(actions
        .iter()
        .any(|a| a["action"] == "demote" && a["key"] == "logs/1" && a["to"] == "cold"));
    assert!(actions
        .iter()
        .any(|a| a["action"] == "expire" && a["key"] == "tmp/scratch"));
    // Nothing changed.
    let ls: serde_json::Value =
        serde_json::from_str(&ok(&strata(&root, &["ls", "--json"]))).unwrap();
    assert!(ls.as_array().unwrap().iter().all(|o| o["tier"] == "hot"));
    assert_eq!(ls.as_array().unwrap().len(), 2);
    // Without --dry-run the same plan is carried out.
    let text = ok(&strata(&root, &["tier", "run", "--after", "31d"]));
    assert!(
        text.contains("1 moved") && text.contains("1 expired"),
        "{text}"
    );
}

#[test]
fn a_second_process_is_told_who_holds_the_root() {
    let tmp = tempfile::tempdir().unwrap();
    let store = strata::store::Store::open(&strata::LakeConfig::local(tmp.path())).unwrap();
    let err = one_line_error(&strata(tmp.path(), &["ls"]));
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    drop(store);
    ok(&strata(tmp.path(), &["ls"]));
}

#[test]
fn bad_config_is_a_one_line_error() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("bad.toml");
    std::fs::write(&cfg, "[[tiers]]\nname = 'x'\nkind = 'floppy'\n").unwrap();
    let out = Command::new(strata_bin())
        .args(["--config", cfg.to_str().unwrap(), "ls"])
        .output()
        .unwrap();
    let err = one_line_error(&out);
    assert!(err.contains("floppy"), "{err}");
}

#[test]
fn demo_runs_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ok(&strata(&tmp.path().join("demo"), &["demo"]));
    assert!(out.contains("byte-identical: true"), "{out}");
    assert!(out.contains("model now in tier cold"), "{out}");
    assert!(out.contains("in tier hot with"), "{out}");
    // The bronze data goes through the format path and the demo shows the per-column choices.
    assert!(out.contains("codec policy auto"), "{out}");
    assert!(out.contains("DELTA_BINARY_PACKED"), "{out}");
    // The zone walk's catalog entries and lineage from the landed files to gold.
    assert!(out.contains("gold/demo_long_trips     delta v1"), "{out}");
    assert!(
        out.contains("demo/landing/trips-1.parquet -> bronze/demo_trips@0  (CREATE TABLE)"),
        "{out}"
    );
    assert!(
        out.contains("silver/demo_trips@1 -> gold/demo_long_trips@1  (MERGE)"),
        "{out}"
    );
    // Its OpenLineage events validate against the OpenLineage schema.
    let events = tmp.path().join("demo/demo/openlineage-events.jsonl");
    let text = std::fs::read_to_string(&events).unwrap();
    assert_eq!(text.lines().count(), 12, "{text}");
    let Some(python) = common::python_with("demo_runs_end_to_end", &["jsonschema", "referencing"])
    else {
        return;
    };
    let check = std::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/openlineage/validate.py"
        ))
        .arg(&events)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn scan_counts_projects_and_reports_filter_errors() {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;

    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("flights.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("dep_delay", DataType::Int64, false),
        Field::new("origin", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from((0..100).collect::<Vec<i64>>())),
            Arc::new(StringArray::from(
                (0..100)
                    .map(|i| ["JFK", "LGA", "SFO"][i % 3])
                    .collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None)
            .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let scan = |args: &[&str]| {
        Command::new(strata_bin())
            .arg("scan")
            .arg(&path)
            .args(args)
            .output()
            .unwrap()
    };
    let count = ok(&scan(&[
        "--count",
        "--filter",
        "dep_delay > 60 AND origin IN ('JFK','LGA')",
    ]));
    // 61..=99 is 39 rows; of those, origin is SFO where i % 3 == 2 (13 rows).
    assert_eq!(count.trim(), "26");
    let csv = ok(&scan(&[
        "--columns",
        "origin",
        "--limit",
        "2",
        "--format",
        "csv",
    ]));
    assert_eq!(csv.lines().collect::<Vec<_>>(), ["origin", "JFK", "LGA"]);
    let err = one_line_error(&scan(&["--filter", "dep_delay >> 3"]));
    assert!(err.contains("'>'") && err.contains("position 12"), "{err}");
}
