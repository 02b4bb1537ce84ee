//! `strata bench`: a smoke run of every suite at scale 0.01 whose JSON validates against the
//! checked-in schema (docs/bench-schema.json), whose quality, mask and table results carry a
//! baseline and a ratio, and whose report is well-formed XML; `--compare`
//! flagging a deliberately slowed path (and exiting 1) and passing a run compared with itself;
//! one-line errors on bad flags and bad JSON input.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::strata_bin;

/// The generated TPC-H files, shared by the tests of this file (generated once per scale).
fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-data")
}

fn bench(work: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(strata_bin());
    command
        .arg("bench")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir())
        .arg("--work-dir")
        .arg(work.join("work"))
        .current_dir(work);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a Python snippet with `args`; `None` when python3 or the module it needs is missing
/// (the reason printed, and a failure in CI: `common::python_with`).
fn python(module: &str, code: &str, args: &[&Path]) -> Option<Output> {
    let python = common::python_with("cli_bench", &[module])?;
    Some(
        Command::new(python)
            .arg("-c")
            .arg(code)
            .args(args)
            .output()
            .unwrap(),
    )
}

fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/bench-schema.json")
}

#[test]
fn every_suite_runs_at_scale_001_and_its_json_and_report_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let out = bench(
        dir.path(),
        &[
            "--scale", "0.01", "--runs", "1", "--json", "run.json", "--report", "report",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("machine: "), "{stdout}");
    for suite in [
        "store/", "write/", "scan/", "cache/", "crypto/", "quality/", "mask/", "table/",
    ] {
        assert!(stdout.contains(suite), "no {suite} results in:\n{stdout}");
    }
    let json = dir.path().join("run.json");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let records = run["records"].as_array().unwrap();
    assert!(records.len() > 40, "{} records", records.len());
    for r in records {
        // Every compared result names both sides' threads and state, and has its ratio.
        if !r["baseline"].is_null() {
            assert!(r["ratio"].is_number(), "{r}");
            assert!(r["baseline"]["side"]["threads"].is_number(), "{r}");
            assert!(
                !r["baseline"]["side"]["state"].as_str().unwrap().is_empty(),
                "{r}"
            );
        }
        assert!(!r["strata"]["state"].as_str().unwrap().is_empty(), "{r}");
    }
    assert!(run["machine"]["cores"].as_u64().unwrap() >= 1);
    // quality, mask and table results each carry a baseline timed in the same run, at the
    // same threads as strata's side (the append's floor, ArrowWriter, is one thread).
    let ids = |prefix: &str| -> Vec<&serde_json::Value> {
        records
            .iter()
            .filter(|r| r["id"].as_str().unwrap().starts_with(prefix))
            .collect()
    };
    for prefix in ["quality/", "mask/", "table/"] {
        let found = ids(prefix);
        assert!(!found.is_empty(), "no {prefix} records");
        for r in found {
            assert!(!r["baseline"].is_null(), "no baseline: {r}");
            assert!(
                r["ratio"].as_f64().is_some_and(|x| x > 0.0),
                "no ratio: {r}"
            );
            assert!(
                !r["note"]
                    .as_str()
                    .unwrap()
                    .contains("no in-process baseline"),
                "{r}"
            );
            if r["id"] != "table/append" {
                assert_eq!(
                    r["strata"]["threads"], r["baseline"]["side"]["threads"],
                    "{r}"
                );
            }
        }
    }
    // The C stream's scan against the same scan in Rust: both sides read the same rows.
    let c_stream = ids("scan/lineitem/full/c_stream/");
    assert_eq!(c_stream.len(), 1, "{c_stream:?}");
    assert!(c_stream[0]["ratio"].as_f64().is_some_and(|x| x > 0.0));
    assert_eq!(
        c_stream[0]["strata"]["batch_rows"],
        c_stream[0]["baseline"]["side"]["batch_rows"]
    );
    for id in [
        "table/append",
        "table/time_travel_scan",
        "table/scan_latest",
        "table/delete_1pct",
        "table/merge_10k",
    ] {
        assert!(records.iter().any(|r| r["id"] == id), "no {id}");
    }

    let validate = "import json, sys, jsonschema\n\
                    schema = json.load(open(sys.argv[1]))\n\
                    jsonschema.Draft202012Validator.check_schema(schema)\n\
                    jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2])))\n\
                    print('valid')";
    if let Some(o) = python("jsonschema", validate, &[&schema(), &json]) {
        assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    }

    let report = dir.path().join("report");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&report)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.iter().any(|f| f.ends_with("index.html")));
    assert!(
        files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "svg"))
            .count()
            >= 8
    );
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(html.contains("<img src=\"scan.svg\""), "{html}");
    let well_formed = "import sys, xml.dom.minidom\n\
                       for f in sys.argv[1:]:\n    xml.dom.minidom.parse(f)\n\
                       print('well-formed')";
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    if let Some(o) = python("xml.dom.minidom", well_formed, &paths) {
        assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    }
    screenshot_shows_the_plots(&report);
}

/// The report as a browser shows it: headless Chromium's screenshot of index.html must show
/// every suite's plot. The strata bars' blue (#2b6cb0) is drawn only by the SVG plots (the
/// page's own text and tables have none), so its pixels prove the images loaded and rendered.
fn screenshot_shows_the_plots(report: &Path) {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
    else {
        return common::skip("cli_bench: no headless Chromium to render the report");
    };
    let png = report.join("screenshot.png");
    let profile = tempfile::tempdir().unwrap();
    // The flags keep Chromium off the network (this machine has none) and out of the home
    // directory; --no-sandbox because CI runs as root.
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Shared memory in /tmp, not /dev/shm (small in containers, where Chromium's
            // renderer would crash on a tall page).
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1280,12000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", report.join("index.html").display()))
        .output()
        .unwrap();
    assert!(png.exists(), "no screenshot: {}", text(&out.stderr));
    let count_blue = "import sys\n\
                      from PIL import Image\n\
                      im = Image.open(sys.argv[1]).convert('RGB')\n\
                      b = im.tobytes()\n\
                      near = lambda i: abs(b[i]-0x2b) < 24 and abs(b[i+1]-0x6c) < 24 and abs(b[i+2]-0xb0) < 24\n\
                      print(sum(1 for i in range(0, len(b), 3) if near(i)))";
    if let Some(o) = python("PIL", count_blue, &[&png]) {
        assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
        let blue: u64 = text(&o.stdout).trim().parse().unwrap();
        // Eight suites' plots, each with several bars of at least a few hundred pixels.
        assert!(
            blue > 20_000,
            "the plots did not render: {blue} blue pixels"
        );
    }
}

#[test]
fn compare_flags_a_deliberately_slowed_path_and_passes_a_run_against_itself() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["store", "--scale", "0.01", "--runs", "1", "--json"];
    let a = bench(dir.path(), &[&args[..], &["a.json"]].concat(), &[]);
    assert!(a.status.success(), "{}", text(&a.stderr));
    // The hot tier's 1 MiB gets take 4x as long: their advantage over std::fs falls to a
    // quarter, a 300% regression.
    let slowed = [("STRATA_BENCH_SLOWDOWN", "store/get/1MiB/hot=4")];
    let b = bench(dir.path(), &[&args[..], &["b.json"]].concat(), &slowed);
    assert!(b.status.success(), "{}", text(&b.stderr));

    let same = bench(dir.path(), &["--compare", "a.json", "a.json"], &[]);
    assert!(
        same.status.success(),
        "{}{}",
        text(&same.stdout),
        text(&same.stderr)
    );
    assert!(
        text(&same.stdout).contains("0 regression(s)"),
        "{}",
        text(&same.stdout)
    );

    let diff = bench(
        dir.path(),
        &[
            "--compare",
            "a.json",
            "b.json",
            "--fail-over",
            "100",
            "--report",
            "cmp",
        ],
        &[],
    );
    let stdout = text(&diff.stdout);
    assert_eq!(
        diff.status.code(),
        Some(1),
        "{stdout}{}",
        text(&diff.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("store/get/1MiB/hot "))
        .unwrap_or_else(|| panic!("no line for the slowed case in:\n{stdout}"));
    assert!(line.contains("REGRESSED"), "{line}");
    let svg = std::fs::read_to_string(dir.path().join("cmp/store-compare.svg")).unwrap();
    assert!(svg.contains("REGRESSED"), "{svg}");
}

#[test]
fn bad_flags_and_bad_json_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--scale", "0"], "out of range"),
        (&["--runs", "0"], "--runs"),
        (&["--fail-over=-3"], "--fail-over"),
        (
            &["--compare", "missing.json", "missing.json"],
            "missing.json",
        ),
        (
            &["--compare", "garbage.json", "garbage.json"],
            "not a strata bench JSON file",
        ),
    ];
    std::fs::write(dir.path().join("garbage.json"), "{\"records\": 7").unwrap();
    for (args, expected) in cases {
        let out = bench(dir.path(), args, &[]);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // A JSON file of another schema version than this strata knows.
    std::fs::write(
        dir.path().join("future.json"),
        r#"{"schema":"strata-bench","schema_version":99,"finished":"","machine":{"cores":1,"os":"linux","strata_version":"9"},"settings":{"scale":1,"threads":1,"runs":1,"suites":[]},"records":[]}"#,
    )
    .unwrap();
    let out = bench(
        dir.path(),
        &["--compare", "future.json", "future.json"],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("schema version 99"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn json_to_stdout_is_the_json_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = bench(
        dir.path(),
        &["mask", "--scale", "0.01", "--runs", "1", "--json", "-"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run["schema"], "strata-bench");
    assert!(text(&out.stderr).contains("mask/partial/session"));
}
