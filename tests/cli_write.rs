//! `strata write`, `inspect` and `compact` from the command line: summaries, partitioned and
//! lake outputs, and one-line errors for bad input.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::strata_bin;

fn strata(root: &Path, args: &[&str]) -> Output {
    Command::new(strata_bin())
        .arg("--dir")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn fails(out: Output, needle: &str) {
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "{needle:?} not in {err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

fn csv(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("sales.csv");
    let mut text = String::from("id,region,amount,at\n");
    for i in 0..5_000 {
        let region = ["eu", "us", "ap"][i % 3];
        let amount = if i % 7 == 0 {
            String::new()
        } else {
            format!("{}.{:02}", i % 500, i % 100)
        };
        text.push_str(&format!(
            "{i},{region},{amount},2026-12-0{}T{:02}:00:00\n",
            1 + (i / 3) % 3,
            i % 24
        ));
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn write_summarizes_and_inspect_shows_the_choices() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let input = csv(tmp.path());
    let out = tmp.path().join("sales.parquet");
    let text = ok(strata(
        &root,
        &[
            "write",
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            "--json",
            "--row-group-rows",
            "2000",
            "--bloom-filter",
            "id",
        ],
    ));
    let s: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s["format"], "parquet");
    assert_eq!(s["rows"], 5000);
    assert_eq!(s["files"].as_array().unwrap().len(), 1);
    assert_eq!(
        s["bytes_in"].as_u64().unwrap(),
        std::fs::metadata(&input).unwrap().len()
    );
    assert!(s["ratio"].as_f64().unwrap() > 1.0, "{s}");
    let columns = s["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 4);
    for c in columns {
        assert!(c["codec"].is_string() && c["encoding"].is_string(), "{c}");
    }
    let human = ok(strata(
        &root,
        &[
            "write",
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            "--codec",
            "zstd:7",
        ],
    ));
    assert!(human.contains("codec policy: zstd:7"), "{human}");
    assert!(human.contains("zstd:7"), "{human}");

    let info: serde_json::Value = serde_json::from_str(&ok(strata(
        &root,
        &["inspect", out.to_str().unwrap(), "--json"],
    )))
    .unwrap();
    assert_eq!(info["format"], "parquet");
    assert_eq!(info["rows"], 5000);
    assert_eq!(info["row_groups"].as_array().unwrap().len(), 1);
    let meta = info["metadata"].as_array().unwrap();
    assert!(meta
        .iter()
        .any(|kv| kv[0] == "strata.codec.policy" && kv[1] == "zstd:7"));
    let chunk = &info["row_groups"][0]["columns"][0];
    assert_eq!(chunk["codec"], "zstd");
    assert!(chunk["page_index"].as_bool().unwrap());
    let text = ok(strata(&root, &["inspect", out.to_str().unwrap()]));
    assert!(text.contains("row group 0"), "{text}");

    let ipc = tmp.path().join("sales.arrow");
    let text = ok(strata(
        &root,
        &["write", input.to_str().unwrap(), ipc.to_str().unwrap()],
    ));
    assert!(text.contains("names Arrow IPC"), "{text}");
    let info = ok(strata(&root, &["inspect", ipc.to_str().unwrap()]));
    assert!(info.contains("ipc file"), "{info}");
    assert!(info.contains("strata.format = ipc"), "{info}");
}

#[test]
fn partitioned_writes_scan_back_and_compact() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let input = csv(tmp.path());
    let ds = tmp.path().join("ds");
    for _ in 0..3 {
        let text = ok(strata(
            &root,
            &[
                "write",
                input.to_str().unwrap(),
                ds.to_str().unwrap(),
                "--partition-by",
                "region,at:day",
                "--codec",
                "fast",
            ],
        ));
        assert!(text.contains("in 9 partitions"), "{text}");
    }
    assert!(ds.join("region=eu/at_day=2026-12-01").is_dir());
    let count = ok(strata(&root, &["scan", ds.to_str().unwrap(), "--count"]));
    assert_eq!(count.trim(), "15000");
    let text = ok(strata(&root, &["compact", ds.to_str().unwrap()]));
    assert!(text.contains("compacted 27 files into 9"), "{text}");
    let count = ok(strata(&root, &["scan", ds.to_str().unwrap(), "--count"]));
    assert_eq!(count.trim(), "15000");
}

#[test]
fn lake_writes_go_through_the_tiers() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let input = csv(tmp.path());
    let text = ok(strata(
        &root,
        &[
            "write",
            input.to_str().unwrap(),
            "sales",
            "--lake",
            "--partition-by",
            "region",
        ],
    ));
    assert!(text.contains("sales/region=eu/part-"), "{text}");
    let listing = ok(strata(&root, &["ls", "sales/"]));
    assert_eq!(
        listing.lines().filter(|l| l.contains(".parquet")).count(),
        3,
        "{listing}"
    );
    // Nothing left in the staging area.
    for entry in std::fs::read_dir(&root).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(
            !name.to_string_lossy().starts_with(".strata-write-"),
            "{name:?}"
        );
    }
}

#[test]
fn bad_input_gives_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let input = csv(tmp.path());
    let dest = tmp.path().join("o.parquet");
    let (i, d) = (input.to_str().unwrap(), dest.to_str().unwrap());
    let out = strata(&root, &["write", i, d, "--codec", "brotli"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown codec \"brotli\""));
    let out = strata(&root, &["write", i, d, "--codec", "zstd:99"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad level"),
        "{out:?}"
    );
    fails(
        strata(&root, &["write", i, d, "--partition-by", "nope"]),
        "partition column \"nope\"",
    );
    fails(
        strata(
            &root,
            &["write", i, d, "--format", "ipc", "--codec", "zstd"],
        ),
        "does not apply to Arrow IPC",
    );
    let bad_csv = tmp.path().join("bad.csv");
    std::fs::write(&bad_csv, "a,b\n1,2\n3,4,5\n").unwrap();
    fails(
        strata(&root, &["write", bad_csv.to_str().unwrap(), d]),
        "malformed CSV",
    );
    let bad_json = tmp.path().join("bad.jsonl");
    std::fs::write(&bad_json, "{\"a\": 1}\n{\"a\": \n").unwrap();
    fails(
        strata(&root, &["write", bad_json.to_str().unwrap(), d]),
        "malformed JSON",
    );
    let bad_pq = tmp.path().join("bad.parquet");
    std::fs::write(&bad_pq, b"PAR1garbagePAR1").unwrap();
    fails(
        strata(&root, &["write", bad_pq.to_str().unwrap(), d]),
        "malformed Parquet",
    );
    fails(
        strata(&root, &["inspect", bad_pq.to_str().unwrap()]),
        "not a readable Parquet file",
    );
    fails(
        strata(&root, &["inspect", i]),
        "not a Parquet or Arrow IPC file",
    );
    fails(
        strata(&root, &["write", "missing.csv", d]),
        "cannot open input",
    );
    let txt = tmp.path().join("x.txt");
    std::fs::write(&txt, "a\n").unwrap();
    fails(
        strata(&root, &["write", txt.to_str().unwrap(), d]),
        "--input-format",
    );
    assert!(!dest.exists());
}
