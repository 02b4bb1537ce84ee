//! The same damaged Parquet file (a truncated footer, a bad magic, a broken data page) gives
//! the same error kind (`Corrupt`), and a file compressed with a codec this build lacks the
//! same kind (`Unsupported`), on every route that reads it: a scan (mapped, plain reads, pulled
//! batch by batch), a scan of a lake object (local and memory tiers), a masked copy
//! (`rewrite_parquet`), a profile, a rule check, a compaction, a re-encoding on demotion,
//! `read_input`, `read_encrypted_parquet` and `inspect`; the command line fails with one line
//! naming the file for each. The C ABI's statuses for the same files are checked by
//! bindings/c/tests/test_error_routes.c (run by tests/bindings_c.rs).

mod common;
mod damaged;

use std::path::Path;
use std::process::Command;

use strata::{
    crypto::ParquetDecryption,
    format::{compact, inspect, read_input, reencode_parquet, CodecPolicy, CompactOptions},
    mask::rewrite_parquet,
    quality::{CheckOptions, ProfileOptions, RuleSet},
    read::read_encrypted_parquet,
    ErrorKind, Lake, Result, Scan,
};

/// Every route's outcome for `path`: (route, error kind, message), or None for a route that
/// succeeded.
fn routes(path: &Path, scratch: &Path) -> Vec<(&'static str, Option<(ErrorKind, String)>)> {
    let mut out = Vec::new();
    let mut push = |route: &'static str, result: Result<()>| {
        out.push((route, result.err().map(|e| (e.kind(), e.to_string()))));
    };
    push("scan", Scan::new(path).run().map(drop));
    push(
        "scan without a map",
        Scan::new(path).no_mmap(true).run().map(drop),
    );
    push(
        "scan on one thread",
        Scan::new(path).threads(1).run().map(drop),
    );
    push(
        "scan reader",
        Scan::new(path).reader().and_then(|mut r| {
            while r.next_batch()?.is_some() {}
            Ok(())
        }),
    );
    let bytes = std::fs::read(path).unwrap();
    for (tier, config) in [
        (
            "scan of a lake object (local tier)",
            common::config(&scratch.join("lake-local"), vec![common::local_tier("hot")]),
        ),
        (
            "scan of a lake object (memory tier)",
            common::config(&scratch.join("lake-mem"), vec![common::memory_tier("hot")]),
        ),
    ] {
        let lake = Lake::open(&config).unwrap();
        lake.put("data/file.parquet", bytes.clone()).unwrap();
        push(
            tier,
            lake.scan("data/file.parquet")
                .and_then(|s| s.run())
                .map(drop),
        );
    }
    let masked = scratch.join("masked.parquet");
    push(
        "rewrite_parquet (strata mask)",
        rewrite_parquet(path, &masked, |b| Ok(b.clone())).map(drop),
    );
    assert!(!masked.exists(), "a failed masked copy left a file");
    push(
        "Scan::profile",
        Scan::new(path)
            .profile(&ProfileOptions::default())
            .map(drop),
    );
    let rules = RuleSet::from_toml_str("[[rules]]\ncheck = \"not_null\"\ncolumn = \"id\"\n");
    push(
        "Scan::check",
        rules.and_then(|r| {
            Scan::new(path)
                .check(&r, &CheckOptions::default())
                .map(drop)
        }),
    );
    // A dataset of a good small file and the damaged one: both go into one new file, so both
    // are read.
    let dataset = scratch.join("dataset");
    std::fs::create_dir_all(&dataset).unwrap();
    damaged::write_good(&dataset.join("a.parquet"));
    std::fs::copy(path, dataset.join("b.parquet")).unwrap();
    push(
        "compact",
        compact(&dataset, &CompactOptions::default()).map(drop),
    );
    push(
        "reencode_parquet (demotion)",
        reencode_parquet(bytes.into(), CodecPolicy::Compact, Some(1)).map(drop),
    );
    push(
        "read_input (strata write)",
        read_input(path, None).map(drop),
    );
    push(
        "read_encrypted_parquet",
        read_encrypted_parquet(path, &ParquetDecryption::default()).map(drop),
    );
    out
}

/// Every route fails on `path` with `want`, and those reading `path` itself name it.
fn fails_everywhere(path: &Path, scratch: &Path, want: ErrorKind, what: &str) {
    let outcomes = routes(path, scratch);
    for (route, outcome) in &outcomes {
        match outcome {
            Some((kind, message)) => {
                assert_eq!(*kind, want, "{what}: {route} gave {kind}: {message}")
            }
            None => panic!("{what}: {route} read the file without an error"),
        }
    }
    for (route, outcome) in &outcomes {
        if route.contains("lake") || route.contains("reencode") || route.contains("compact") {
            continue;
        }
        let (_, message) = outcome.as_ref().unwrap();
        assert!(
            message.contains(&path.display().to_string()),
            "{what}: {route} does not name the file: {message}"
        );
    }
}

#[test]
fn a_codec_this_build_lacks_is_unsupported_on_every_route() {
    let tmp = tempfile::tempdir().unwrap();
    let brotli = common::parquet_testing().join("data/large_string_map.brotli.parquet");
    let path = tmp.path().join("brotli.parquet");
    std::fs::copy(brotli, &path).unwrap();
    fails_everywhere(&path, tmp.path(), ErrorKind::Unsupported, "brotli");
    // The footer is fine: inspecting it works.
    inspect(&path).unwrap();
}

#[test]
fn every_route_gives_the_same_kind() {
    let tmp = tempfile::tempdir().unwrap();
    for (damage, path) in damaged::write_all(&tmp.path().join("files")) {
        fails_everywhere(&path, &tmp.path().join(damage), ErrorKind::Corrupt, damage);
        // Inspecting reads the footer only: damaged footers fail as Corrupt, a broken page is
        // not its business.
        match (damage, inspect(&path)) {
            ("broken_page", result) => {
                result.unwrap_or_else(|e| panic!("inspect of a broken page: {e}"));
            }
            (_, Ok(_)) => panic!("{damage}: inspect read the damaged footer"),
            (_, Err(e)) => assert_eq!(e.kind(), ErrorKind::Corrupt, "{damage}: inspect: {e}"),
        }
    }
}

#[test]
fn the_command_line_fails_with_one_line_for_every_route() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let policy = tmp.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[columns.name]\nmask = { op = \"partial\", keep_last = 2 }\n",
    )
    .unwrap();
    for (damage, path) in damaged::write_all(&tmp.path().join("files")) {
        let file = path.to_str().unwrap();
        let masked = tmp.path().join(format!("{damage}-masked.parquet"));
        let dataset = tmp.path().join(format!("{damage}-dataset"));
        std::fs::create_dir_all(&dataset).unwrap();
        damaged::write_good(&dataset.join("a.parquet"));
        std::fs::copy(&path, dataset.join("b.parquet")).unwrap();
        let commands: Vec<Vec<&str>> = vec![
            vec!["scan", file],
            vec!["profile", file],
            vec![
                "mask",
                file,
                masked.to_str().unwrap(),
                "--policy",
                policy.to_str().unwrap(),
            ],
            vec!["compact", dataset.to_str().unwrap()],
        ];
        for args in commands {
            let out = Command::new(common::strata_bin())
                .arg("--dir")
                .arg(&root)
                .args(&args)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{damage}: {args:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{damage}: {args:?}: {stderr}");
            assert!(
                stderr.starts_with("strata: error: ") && stderr.contains("Parquet"),
                "{damage}: {args:?}: {stderr}"
            );
        }
        assert!(!masked.exists(), "{damage}: strata mask left a file");
    }
}
