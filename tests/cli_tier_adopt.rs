//! `strata tier adopt`: a tier pointing at an existing directory with files is refused (a
//! one-line error naming the command, the directory untouched) until adopted; adopting makes
//! its files objects that `ls` lists and `get` reads.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use common::{bytes, strata_bin};

fn strata(config: &Path, args: &[&str]) -> Output {
    Command::new(strata_bin())
        .arg("--config")
        .arg(config)
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
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("strata: error: "), "{err:?}");
    err
}

/// Every entry under `dir` (links not followed): relative path -> contents (`None` for a
/// directory), with its modification time.
fn snapshot(dir: &Path) -> BTreeMap<String, (Option<Vec<u8>>, std::time::SystemTime)> {
    fn walk(
        root: &Path,
        dir: &Path,
        out: &mut BTreeMap<String, (Option<Vec<u8>>, std::time::SystemTime)>,
    ) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let body = meta.is_file().then(|| std::fs::read(&path).unwrap());
            out.insert(rel, (body, meta.modified().unwrap()));
            if meta.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn an_existing_directory_is_refused_until_adopted_then_its_files_are_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    std::fs::create_dir_all(archive.join("reports/2026")).unwrap();
    let report = bytes(70_000, 3);
    std::fs::write(archive.join("reports/2026/q1.csv"), &report).unwrap();
    std::fs::write(archive.join("notes.txt"), b"kept by hand").unwrap();
    let config = tmp.path().join("strata.toml");
    std::fs::write(
        &config,
        format!(
            "dir = {:?}\n\n[[tiers]]\nname = \"hot\"\nkind = \"local\"\n\n\
             [[tiers]]\nname = \"cold\"\nkind = \"local\"\npath = {:?}\n",
            tmp.path().join("root").display().to_string(),
            archive.display().to_string()
        ),
    )
    .unwrap();
    let before = snapshot(&archive);

    let err = one_line_error(&strata(&config, &["ls"]));
    assert!(err.contains("strata tier adopt cold"), "{err}");
    assert!(err.contains(&archive.display().to_string()), "{err}");
    // Refused before anything was written into it: no marker, no staging, nothing touched.
    assert_eq!(snapshot(&archive), before);
    let err = one_line_error(&strata(&config, &["get", "notes.txt"]));
    assert!(err.contains("strata tier adopt cold"), "{err}");
    assert_eq!(snapshot(&archive), before);

    // Only tiers of the configuration, and only local ones, are adopted.
    let err = one_line_error(&strata(&config, &["tier", "adopt", "lukewarm"]));
    assert!(err.contains("lukewarm"), "{err}");
    assert_eq!(snapshot(&archive), before);

    let out = ok(&strata(&config, &["tier", "adopt", "cold"]));
    assert!(
        out.starts_with("adopted tier cold; reindexed 2 objects"),
        "{out}"
    );
    assert!(
        out.contains(&format!("({} bytes)", report.len() + 12)),
        "{out}"
    );
    // The files themselves are as they were; strata's marker is beside them.
    let after = snapshot(&archive);
    for (path, (body, _)) in &before {
        assert_eq!(&after[path].0, body, "{path}");
    }
    assert!(archive.join(".strata/tier.json").is_file());

    let listed: serde_json::Value =
        serde_json::from_str(&ok(&strata(&config, &["ls", "--json"]))).unwrap();
    let mut objects: Vec<(String, String, u64)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["key"].as_str().unwrap().to_string(),
                o["tier"].as_str().unwrap().to_string(),
                o["size"].as_u64().unwrap(),
            )
        })
        .collect();
    objects.sort();
    assert_eq!(
        objects,
        vec![
            ("notes.txt".to_string(), "cold".to_string(), 12),
            (
                "reports/2026/q1.csv".to_string(),
                "cold".to_string(),
                report.len() as u64
            ),
        ]
    );
    let got = strata(&config, &["get", "reports/2026/q1.csv"]);
    assert!(got.status.success(), "{got:?}");
    assert!(got.stdout == report, "get returned other bytes");
    assert_eq!(
        ok(&strata(&config, &["get", "notes.txt"])).as_bytes(),
        b"kept by hand"
    );

    // Adopting again is harmless and reports the same in JSON.
    let json: serde_json::Value =
        serde_json::from_str(&ok(&strata(&config, &["tier", "adopt", "cold", "--json"]))).unwrap();
    assert_eq!(json["objects"], 2, "{json}");
    assert_eq!(json["bytes"], report.len() as u64 + 12, "{json}");
    assert_eq!(json["conflicts"].as_array().unwrap().len(), 0, "{json}");
}

/// A config in `tmp` with a local `hot` tier and a second tier `name` of `kind`.
fn two_tiers(tmp: &Path, name: &str, kind: &str) -> std::path::PathBuf {
    let config = tmp.join("strata.toml");
    std::fs::write(
        &config,
        format!(
            "dir = {:?}\n\n[[tiers]]\nname = \"hot\"\nkind = \"local\"\n\n\
             [[tiers]]\nname = \"{name}\"\nkind = \"{kind}\"\n",
            tmp.join("root").display().to_string()
        ),
    )
    .unwrap();
    config
}

#[test]
fn remote_tiers_are_not_adopted() {
    let tmp = tempfile::tempdir().unwrap();
    let config = two_tiers(tmp.path(), "scratch", "memory");
    let err = one_line_error(&strata(&config, &["tier", "adopt", "scratch"]));
    assert!(err.contains("only local tiers"), "{err}");
}

#[test]
fn tier_move_moves_one_object_and_says_where_from() {
    let tmp = tempfile::tempdir().unwrap();
    let config = two_tiers(tmp.path(), "cold", "local");
    let data = tmp.path().join("data.bin");
    std::fs::write(&data, bytes(5_000, 9)).unwrap();
    ok(&strata(
        &config,
        &["put", "a/b.bin", data.to_str().unwrap()],
    ));
    let out = ok(&strata(&config, &["tier", "move", "a/b.bin", "cold"]));
    assert_eq!(
        out.trim(),
        "moved a/b.bin from tier hot to cold (5000 bytes)"
    );
    let moved: serde_json::Value = serde_json::from_str(&ok(&strata(
        &config,
        &["tier", "move", "a/b.bin", "cold", "--json"],
    )))
    .unwrap();
    assert_eq!(moved["bytes_moved"], 0);
    assert_eq!(moved["from"], "cold");
    let got = strata(&config, &["get", "a/b.bin"]);
    assert!(got.status.success(), "{got:?}");
    assert_eq!(got.stdout, bytes(5_000, 9));
    let err = one_line_error(&strata(&config, &["tier", "move", "a/b.bin", "lukewarm"]));
    assert!(err.contains("lukewarm"), "{err}");
    let err = one_line_error(&strata(&config, &["tier", "move", "nothing", "cold"]));
    assert!(err.contains("nothing"), "{err}");
}
