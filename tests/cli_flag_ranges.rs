//! Every duration, size and count flag has a range its `--help` states: the bounds are
//! accepted, and zero, overflowing, negative and garbage values are one-line errors naming the
//! flag (and the range, when the value parses), never a panic. `tier run --after
//! 500000000000y` used to panic adding it to the clock.

mod common;

use std::process::{Command, Output};

use common::{parquet_bytes, strata_bin};

fn strata(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(strata_bin())
        .arg("--dir")
        .arg(dir.join("root"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn one_line_error(out: &Output, case: &str) -> String {
    assert!(!out.status.success(), "{case}: accepted");
    assert_ne!(out.status.code(), Some(101), "{case}: panicked");
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{case}: {err:?}");
    assert!(err.starts_with("strata: error: "), "{case}: {err:?}");
    err
}

/// (command before the flag, flag, out-of-range values, garbage values, range as shown)
type Case = (
    &'static [&'static str],
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
);

const COUNT_GARBAGE: &[&str] = &["-1", "x", "1.5", "18446744073709551616", ""];
const SIZE_GARBAGE: &[&str] = &["-1", "x", "1.5MiB", "18446744073709551615GiB", "1PiB", ""];

const CASES: &[Case] = &[
    (
        &["scan", "in.parquet"],
        "--threads",
        &["0", "1025"],
        COUNT_GARBAGE,
        "1..=1024",
    ),
    (
        &["scan", "in.parquet"],
        "--repeat",
        &["0", "10001"],
        COUNT_GARBAGE,
        "1..=10000",
    ),
    (&["scan", "in.parquet"], "--limit", &[], COUNT_GARBAGE, ""),
    (&["scan", "in.parquet"], "--offset", &[], COUNT_GARBAGE, ""),
    (
        &["profile", "in.parquet"],
        "--threads",
        &["0", "1025"],
        COUNT_GARBAGE,
        "1..=1024",
    ),
    (
        &["check", "in.parquet", "--rules", "r.toml"],
        "--threads",
        &["0", "1025"],
        COUNT_GARBAGE,
        "1..=1024",
    ),
    (
        &["check", "in.parquet", "--rules", "r.toml"],
        "--sample",
        &["1000001"],
        COUNT_GARBAGE,
        "0..=1000000",
    ),
    (
        &["write", "in.parquet", "out.parquet"],
        "--row-group-rows",
        &["0", "1073741825"],
        COUNT_GARBAGE,
        "1..=1073741824",
    ),
    (
        &["write", "in.parquet", "out.parquet"],
        "--target-file-size",
        &["0", "1023", "1025GiB"],
        SIZE_GARBAGE,
        "1KiB to 1TiB",
    ),
    (
        &["write", "in.parquet", "out.parquet"],
        "--page-size",
        &["0", "1023", "2GiB"],
        SIZE_GARBAGE,
        "1KiB to 1GiB",
    ),
    (
        &["compact", "ds"],
        "--target-file-size",
        &["0", "1023", "1025GiB"],
        SIZE_GARBAGE,
        "1KiB to 1TiB",
    ),
    (
        &["compact", "ds"],
        "--small-file-size",
        &["1025GiB"],
        SIZE_GARBAGE,
        "0 to 1TiB",
    ),
    (
        &["tier", "run", "--dry-run"],
        "--after",
        &["101y", "500000000000y"],
        &[
            "-1s",
            "soon",
            "5000000000000000000000y",
            "1s 99999999999999999999999ns",
            "",
        ],
        "0s to 100y",
    ),
    (
        &["tier", "run", "--dry-run"],
        "--concurrency",
        &["0", "1025"],
        COUNT_GARBAGE,
        "1..=1024",
    ),
];

#[test]
fn out_of_range_and_garbage_flags_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    for &(command, flag, out_of_range, garbage, range) in CASES {
        for v in out_of_range {
            let arg = format!("{flag}={v}");
            let mut args = command.to_vec();
            args.push(&arg);
            let err = one_line_error(&strata(tmp.path(), &args), &arg);
            assert!(err.contains(flag) && err.contains(range), "{arg}: {err}");
        }
        for v in garbage {
            let arg = format!("{flag}={v}");
            let mut args = command.to_vec();
            args.push(&arg);
            let err = one_line_error(&strata(tmp.path(), &args), &arg);
            assert!(err.contains(flag), "{arg}: {err}");
        }
    }
}

#[test]
fn the_bounds_are_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("in.parquet"), parquet_bytes(500)).unwrap();
    let runs: &[&[&str]] = &[
        &["scan", "in.parquet", "--count", "--threads=1", "--repeat=1"],
        &[
            "scan",
            "in.parquet",
            "--count",
            "--threads=1024",
            "--repeat=3",
        ],
        &[
            "scan",
            "in.parquet",
            "--count",
            "--limit=18446744073709551615",
            "--offset=18446744073709551615",
        ],
        &["profile", "in.parquet", "--threads=1024"],
        &[
            "write",
            "in.parquet",
            "a.parquet",
            "--row-group-rows=1073741824",
            "--page-size=1GiB",
            "--target-file-size=1TiB",
        ],
        &[
            "write",
            "in.parquet",
            "b.parquet",
            "--row-group-rows=1",
            "--page-size=1KiB",
            "--target-file-size=1KiB",
        ],
        &[
            "tier",
            "run",
            "--dry-run",
            "--after=100y",
            "--concurrency=1024",
        ],
        &["tier", "run", "--dry-run", "--after=0s", "--concurrency=1"],
    ];
    for args in runs {
        let out = strata(tmp.path(), args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn help_states_each_range() {
    for (command, flags) in [
        (
            &["scan"][..],
            &["1 to 1024", "1 to 10000", "0 to 18446744073709551615"][..],
        ),
        (
            &["write"][..],
            &["1 to 1073741824", "1KiB to 1TiB", "1KiB to 1GiB"][..],
        ),
        (&["compact"][..], &["1KiB to 1TiB", "0 to 1TiB"][..]),
        (&["tier", "run"][..], &["0s to 100y", "1 to 1024"][..]),
        (&["check"][..], &["1 to 1024", "0 to 1000000"][..]),
        (&["profile"][..], &["1 to 1024"][..]),
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let out = Command::new(strata_bin()).args(&args).output().unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        for range in flags {
            assert!(
                help.contains(range),
                "{command:?} --help lacks {range:?}:\n{help}"
            );
        }
    }
}
