//! Directories strata did not make (issue 22 item 3): opening a store once deleted every file
//! with `#` in its name under every local tier, recursively (the sweep of object_store's
//! staging files), so a read-only `strata ls` against a tier pointing at an existing
//! directory deleted `#draft.txt#` and `sub/issue#42.md`. Now a plain open refuses a foreign
//! non-empty directory with one line naming `tier adopt`, touching nothing; an adopted one
//! keeps every file; and only strata's own staging files (its own naming, in its own
//! `.strata/staging`) are ever swept.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{cli_err, config, config_file, local_tier, local_tier_at, snapshot};
use strata::{store::Store, ErrorKind, LakeConfig};

/// A directory of someone's files, names like object_store's staging files included.
fn someones_files(dir: &Path) {
    let files: &[(&str, &[u8])] = &[
        ("#draft.txt#", b"draft"),
        ("sub/issue#42.md", b"issue"),
        ("notes.txt", b"notes"),
        ("sub/deeper/report#1", b"report"),
        ("sub/deeper/readme.md", b"readme"),
        (".hidden", b"hidden"),
        (
            "put-00112233445566778899aabbccddeeff",
            b"named like a staging file",
        ),
        ("staging/put-ffeeddccbbaa99887766554433221100", b"also"),
    ];
    for (name, data) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
    std::fs::create_dir_all(dir.join("empty-dir")).unwrap();
}

/// The snapshot without strata's own directory.
fn theirs(dir: &Path) -> BTreeMap<String, String> {
    snapshot(dir)
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".strata"))
        .collect()
}

fn setup() -> (tempfile::TempDir, LakeConfig) {
    let base = tempfile::tempdir().unwrap();
    let docs = base.path().join("docs");
    someones_files(&docs);
    let cfg = config(
        &base.path().join("root"),
        vec![local_tier("hot"), local_tier_at("cold", &docs)],
    );
    (base, cfg)
}

#[test]
fn a_foreign_directory_is_refused_and_left_untouched() {
    let (base, cfg) = setup();
    let docs = base.path().join("docs");
    let before = snapshot(&docs);
    for (how, result) in [
        ("open", Store::open(&cfg).map(|_| ())),
        ("open_rebuilding", Store::open_rebuilding(&cfg).map(|_| ())),
    ] {
        let err = result.unwrap_err();
        let text = err.to_string();
        assert_eq!(err.kind(), ErrorKind::Config, "{how}: {text}");
        assert!(!text.contains('\n'), "{how}: {text}");
        assert!(text.contains("strata tier adopt cold"), "{how}: {text}");
        assert!(text.contains(&docs.display().to_string()), "{how}: {text}");
    }
    assert_eq!(
        before,
        snapshot(&docs),
        "a refused open touched the directory"
    );
}

#[test]
fn every_command_refuses_a_foreign_directory_and_leaves_it_untouched() {
    let (base, cfg) = setup();
    let docs = base.path().join("docs");
    let file = config_file(&cfg, &base.path().join("strata.toml"));
    let c = file.to_str().unwrap();
    let before = snapshot(&docs);
    for args in [
        vec!["ls"],
        vec!["get", "notes.txt"],
        vec!["stat", "notes.txt"],
        vec!["rm", "notes.txt"],
        vec!["tier", "run", "--after", "31d"],
        vec!["tier", "reindex"],
    ] {
        let mut all = vec!["--config", c];
        all.extend(&args);
        let err = cli_err(&all);
        assert!(err.contains("tier adopt cold"), "{args:?}: {err}");
    }
    assert_eq!(before, snapshot(&docs));
}

#[test]
fn an_adopted_directory_keeps_every_file() {
    let (base, cfg) = setup();
    let docs = base.path().join("docs");
    let before = snapshot(&docs);
    Store::adopt_tier(&cfg, "cold").unwrap();
    assert_eq!(before, theirs(&docs), "adopting changed their files");
    assert!(docs.join(".strata/tier.json").is_file());
    for _ in 0..2 {
        let store = Store::open(&cfg).unwrap();
        // Their files with names keys can have are objects now; the others are left alone.
        let keys: Vec<String> = store
            .list("")
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .filter(|k| k != "new/object")
            .collect();
        assert_eq!(
            keys,
            [
                ".hidden",
                "notes.txt",
                "put-00112233445566778899aabbccddeeff",
                "staging/put-ffeeddccbbaa99887766554433221100",
                "sub/deeper/readme.md",
            ]
        );
        assert_eq!(&store.get("notes.txt").unwrap()[..], b"notes");
        store.put("new/object", b"strata's".to_vec()).unwrap();
        drop(store);
        let now = theirs(&docs);
        let mut expected = before.clone();
        for (k, v) in &now {
            if k == "new" || k.starts_with("new/") {
                expected.insert(k.clone(), v.clone());
            }
        }
        assert_eq!(
            expected, now,
            "opening an adopted directory changed their files"
        );
    }
    let (store, report) = Store::open_rebuilding(&cfg).unwrap();
    let mut skipped = report.skipped.clone();
    skipped.sort();
    assert_eq!(
        skipped,
        [
            "cold:#draft.txt#",
            "cold:sub/deeper/report#1",
            "cold:sub/issue#42.md"
        ],
        "{report:?}"
    );
    drop(store);
    // Adopted as "cold", the directory is not another tier's.
    let mut other = cfg.clone();
    other.tiers[1].name = "archive".into();
    let err = Store::open(&other).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("\"cold\""), "{err}");
}

#[test]
fn empty_and_missing_directories_need_no_adoption() {
    let base = tempfile::tempdir().unwrap();
    let empty = base.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let missing = base.path().join("missing/deeper");
    let cfg = config(
        &base.path().join("root"),
        vec![
            local_tier_at("hot", &empty),
            local_tier_at("cold", &missing),
        ],
    );
    let store = Store::open(&cfg).unwrap();
    store.put("k", b"v".to_vec()).unwrap();
    assert!(empty.join(".strata/tier.json").is_file());
    assert!(missing.join(".strata/tier.json").is_file());
}

/// Only files strata can prove are its own go at open: `put-*` files in its own
/// `.strata/staging` that no journaled put refers to. Files named like staging files
/// anywhere else, `#` names at any depth, and other files in `.strata/staging` stay.
#[test]
fn only_strata_own_staging_files_are_swept() {
    let base = tempfile::tempdir().unwrap();
    let cfg = config(&base.path().join("root"), vec![local_tier("hot")]);
    let hot = base.path().join("root/hot");
    {
        let store = Store::open(&cfg).unwrap();
        store.put("a/b", b"kept".to_vec()).unwrap();
    }
    let staging = hot.join(".strata/staging");
    let leftovers = [
        staging.join("put-00112233445566778899aabbccddeeff"),
        staging.join("put-ffeeddccbbaa99887766554433221100"),
    ];
    for f in &leftovers {
        std::fs::write(f, b"half written").unwrap();
    }
    let theirs_in_tier = [
        hot.join("a/b#1"),
        hot.join("#draft.txt#"),
        hot.join("a/deeper/#x#"),
        hot.join("a/put-00112233445566778899aabbccddeeff"),
        staging.join("notes.txt"),
    ];
    for f in &theirs_in_tier {
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, b"mine").unwrap();
    }
    let store = Store::open(&cfg).unwrap();
    for f in &leftovers {
        assert!(!f.exists(), "{f:?} is strata's leftover and should be gone");
    }
    for f in &theirs_in_tier {
        assert_eq!(std::fs::read(f).unwrap(), b"mine", "{f:?} was touched");
    }
    assert_eq!(&store.get("a/b").unwrap()[..], b"kept");
    let report = store.reindex().unwrap();
    let keys: Vec<String> = store.list("").unwrap().into_iter().map(|o| o.key).collect();
    assert_eq!(
        keys,
        ["a/b", "a/put-00112233445566778899aabbccddeeff"],
        "{report:?}"
    );
    assert_eq!(report.skipped.len(), 3, "{report:?}");
}

/// A marker strata cannot trust (a link, a directory) is refused, not followed or replaced.
#[test]
fn a_marker_that_is_not_a_regular_file_is_refused() {
    let base = tempfile::tempdir().unwrap();
    let outside = base.path().join("outside.json");
    std::fs::write(
        &outside,
        b"{\"format\":1,\"tier\":\"hot\",\"created_ms\":0}",
    )
    .unwrap();
    let cfg = config(&base.path().join("root"), vec![local_tier("hot")]);
    let own = base.path().join("root/hot/.strata");
    std::fs::create_dir_all(&own).unwrap();
    std::os::unix::fs::symlink(&outside, own.join("tier.json")).unwrap();
    let before = snapshot(base.path());
    let err = Store::open(&cfg).unwrap_err();
    assert!(err.to_string().contains("marker"), "{err}");
    assert!(!err.to_string().contains('\n'), "{err}");
    let after: BTreeMap<_, _> = snapshot(base.path())
        .into_iter()
        .filter(|(k, _)| !k.starts_with("root/") || k.starts_with("root/hot"))
        .collect();
    let before: BTreeMap<_, _> = before
        .into_iter()
        .filter(|(k, _)| !k.starts_with("root/") || k.starts_with("root/hot"))
        .collect();
    assert_eq!(before, after);
}
