//! Links inside a local tier are never followed (issue 22 item 4). With a link to a directory
//! outside and a link to a file outside, each at the top of the tier and nested, planted
//! where strata never wrote or swapped in for what it wrote: get, put, rm, tier run and
//! reindex, through the library and the CLI, fail with one line (or skip and report the link),
//! never show outside bytes, and change nothing outside. The tier's own root may be a link:
//! that is the operator's choice.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{cli, cli_err, cli_ok, config, config_file, local_tier, local_tier_at, snapshot};
use strata::{config::LifecycleRule, store::Store, LakeConfig, RunOptions};

const OUTSIDE_SECRET: &[u8] = b"outside secret";
const OUTSIDE_FILE: &[u8] = b"outside file";

struct Setup {
    base: tempfile::TempDir,
    cfg: LakeConfig,
}

impl Setup {
    fn new() -> Setup {
        let base = tempfile::tempdir().unwrap();
        let outside = base.path().join("outside");
        std::fs::create_dir_all(outside.join("sub")).unwrap();
        std::fs::write(outside.join("secret.txt"), OUTSIDE_SECRET).unwrap();
        std::fs::write(outside.join("sub/deep.txt"), OUTSIDE_SECRET).unwrap();
        std::fs::write(base.path().join("outside-file.txt"), OUTSIDE_FILE).unwrap();
        let mut cfg = config(
            &base.path().join("root"),
            vec![local_tier("hot"), local_tier("cold")],
        );
        cfg.lifecycle = vec![LifecycleRule {
            prefix: String::new(),
            demote_after_age: Some(Duration::ZERO),
            demote_after_idle: None,
            promote_after_reads: None,
            promote_window: None,
            demote_to: None,
        }];
        Setup { base, cfg }
    }

    fn hot(&self) -> PathBuf {
        self.base.path().join("root/hot")
    }

    /// Everything outside the data root: the outside directory and file.
    fn outside(&self) -> Vec<(String, String)> {
        let mut all: Vec<_> = snapshot(&self.base.path().join("outside"))
            .into_iter()
            .collect();
        let file = std::fs::read(self.base.path().join("outside-file.txt")).unwrap();
        all.push(("outside-file.txt".into(), format!("{:?}", file)));
        all
    }

    fn link_dir(&self, at: &str) {
        let at = self.hot().join(at);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(self.base.path().join("outside"), at).unwrap();
    }

    fn link_file(&self, at: &str) {
        let at = self.hot().join(at);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(self.base.path().join("outside-file.txt"), at).unwrap();
    }

    /// Replaces what strata wrote at `at` (a file or directory) with a link.
    fn swap_for_link(&self, at: &str, to_dir: bool) {
        let path = self.hot().join(at);
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
        if to_dir {
            self.link_dir(at);
        } else {
            self.link_file(at);
        }
    }
}

/// Links planted where strata never wrote: at the top and nested, to a directory and a file.
const PLANTED: &[(&str, bool)] = &[
    ("link-dir", true),
    ("nested/link-dir", true),
    ("link-file", false),
    ("nested/link-file", false),
];
/// Keys that would reach outside through a planted link.
const THROUGH_PLANTED: &[&str] = &[
    "link-dir/secret.txt",
    "link-dir/new.txt",
    "link-dir/sub/deep.txt",
    "nested/link-dir/secret.txt",
    "nested/link-dir/new.txt",
    "link-file",
    "nested/link-file",
];
/// Objects strata wrote, then swapped for links: (key, path swapped, to a directory).
const SWAPPED: &[(&str, &str, bool)] = &[
    ("d/secret.txt", "d", true),
    ("nested/d/secret.txt", "nested/d", true),
    ("f", "f", false),
    ("nested/f", "nested/f", false),
];

fn one_line(err: &strata::Error, key: &str) {
    let text = err.to_string();
    assert!(!text.contains('\n'), "{key}: {text}");
    assert!(text.contains(key), "{key}: {text}");
    for secret in [OUTSIDE_SECRET, OUTSIDE_FILE] {
        assert!(
            !text.contains(std::str::from_utf8(secret).unwrap()),
            "{text}"
        );
    }
}

#[test]
fn planted_links_are_never_followed() {
    let s = Setup::new();
    let store = Store::open(&s.cfg).unwrap();
    store.put("real/object", b"mine".to_vec()).unwrap();
    for (at, to_dir) in PLANTED {
        if *to_dir {
            s.link_dir(at);
        } else {
            s.link_file(at);
        }
    }
    let outside = s.outside();
    let input = s.base.path().join("input");
    std::fs::write(&input, b"new bytes").unwrap();
    for key in THROUGH_PLANTED {
        let err = store.put(key, b"new bytes".to_vec()).unwrap_err();
        one_line(&err, key);
        let err = store
            .put_reader(key, &mut &b"new bytes"[..], None)
            .unwrap_err();
        one_line(&err, key);
        let err = store
            .put_file(key, &input, &Default::default())
            .unwrap_err();
        one_line(&err, key);
        let err = store.copy("real/object", key).unwrap_err();
        one_line(&err, key);
        assert!(!store.exists(key).unwrap(), "{key}");
        assert!(store.get(key).is_err(), "{key}");
        assert!(store.delete(key).is_err(), "{key}");
        assert!(store.local_file(key).is_none(), "{key}");
    }
    assert_eq!(outside, s.outside(), "something outside changed");
    // A reindex skips and reports every link; nothing outside becomes an object.
    let report = store.reindex().unwrap();
    let mut skipped = report.skipped.clone();
    skipped.sort();
    let mut want: Vec<String> = PLANTED.iter().map(|(at, _)| format!("hot:{at}")).collect();
    want.sort();
    assert_eq!(skipped, want, "{report:?}");
    let keys: Vec<String> = store.list("").unwrap().into_iter().map(|o| o.key).collect();
    assert_eq!(keys, ["real/object"]);
    let run = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert_eq!((run.moved, run.failed), (1, 0), "{run:?}");
    assert_eq!(outside, s.outside(), "something outside changed");
    // The links are still where they were: strata removes nothing it did not write.
    for (at, _) in PLANTED {
        assert!(std::fs::symlink_metadata(s.hot().join(at))
            .unwrap()
            .file_type()
            .is_symlink());
    }
}

#[test]
fn links_swapped_in_for_objects_are_never_followed() {
    let s = Setup::new();
    let store = Store::open(&s.cfg).unwrap();
    for (key, _, _) in SWAPPED {
        store.put(key, b"mine".to_vec()).unwrap();
    }
    for (_, at, to_dir) in SWAPPED {
        s.swap_for_link(at, *to_dir);
    }
    let outside = s.outside();
    for (key, _, _) in SWAPPED {
        one_line(&store.get(key).unwrap_err(), key);
        one_line(&store.get_range(key, 0..2).unwrap_err(), key);
        let mut out = Vec::new();
        one_line(&store.get_to(key, &mut out).unwrap_err(), key);
        assert!(out.is_empty(), "{key}: {out:?}");
        assert!(store.local_file(key).is_none(), "{key}");
        one_line(&store.put(key, b"new".to_vec()).unwrap_err(), key);
        one_line(&store.copy(key, "copied").unwrap_err(), key);
    }
    assert_eq!(outside, s.outside(), "something outside changed");
    // Moving them reads through the link: every move fails, nothing outside moves in.
    let run = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(
        (run.moved, run.failed),
        (0, SWAPPED.len() as u64),
        "{run:?}"
    );
    for action in &run.actions {
        let err = action.error.as_deref().unwrap();
        assert!(
            !err.contains('\n') && err.contains(&action.planned.key),
            "{err}"
        );
    }
    let cold = snapshot(&s.base.path().join("root/cold"));
    assert!(
        cold.keys().all(|k| k.starts_with(".strata")),
        "outside bytes reached the cold tier: {cold:?}"
    );
    // The objects leave the index; their files, links now, are not followed nor removed (each
    // stays an orphan the next `tier run` reports).
    for (key, _, _) in SWAPPED {
        store.delete(key).unwrap();
    }
    assert_eq!(outside, s.outside(), "something outside changed");
    let report = store.reindex().unwrap();
    assert_eq!(report.objects, 0, "{report:?}");
    assert_eq!(report.skipped.len(), SWAPPED.len(), "{report:?}");
    assert_eq!(outside, s.outside(), "something outside changed");
}

fn cli_in(cfg: &Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["--config".to_string(), cfg.display().to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    all
}

#[test]
fn links_are_never_followed_through_the_cli() {
    let s = Setup::new();
    let file = config_file(&s.cfg, &s.base.path().join("strata.toml"));
    let input = s.base.path().join("input");
    std::fs::write(&input, b"mine").unwrap();
    let input = input.to_str().unwrap();
    for (key, _, _) in SWAPPED {
        cli_ok(&cli_in(&file, &["put", key, input]));
    }
    for (_, at, to_dir) in SWAPPED {
        s.swap_for_link(at, *to_dir);
    }
    for (at, to_dir) in PLANTED {
        if *to_dir {
            s.link_dir(at);
        } else {
            s.link_file(at);
        }
    }
    let outside = s.outside();
    let out_file = s.base.path().join("got");
    for (key, _, _) in SWAPPED {
        cli_err(&cli_in(&file, &["get", key]));
        cli_err(&cli_in(
            &file,
            &["get", key, "-o", out_file.to_str().unwrap()],
        ));
        assert!(!out_file.exists());
        cli_err(&cli_in(&file, &["put", key, input]));
    }
    for key in THROUGH_PLANTED {
        cli_err(&cli_in(&file, &["put", key, input]));
        cli_err(&cli_in(&file, &["get", key]));
        cli_err(&cli_in(&file, &["rm", key]));
    }
    assert_eq!(outside, s.outside(), "something outside changed");
    let run = cli(&cli_in(&file, &["tier", "run"]));
    assert!(!run.status.success());
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(stdout.matches("FAILED").count(), SWAPPED.len(), "{stdout}");
    assert!(stdout.contains("0 moved"), "{stdout}");
    assert!(!stdout.contains("outside secret"), "{stdout}");
    for (key, _, _) in SWAPPED {
        cli_ok(&cli_in(&file, &["rm", key]));
    }
    assert_eq!(outside, s.outside(), "something outside changed");
    let report: serde_json::Value =
        serde_json::from_slice(&cli_ok(&cli_in(&file, &["tier", "reindex", "--json"]))).unwrap();
    assert_eq!(report["objects"], 0, "{report}");
    assert_eq!(
        report["skipped"].as_array().unwrap().len(),
        SWAPPED.len() + PLANTED.len(),
        "{report}"
    );
    let ls = cli_ok(&cli_in(&file, &["ls"]));
    assert!(ls.is_empty(), "{}", String::from_utf8_lossy(&ls));
    assert_eq!(outside, s.outside(), "something outside changed");
}

#[test]
fn a_tier_root_that_is_a_link_is_the_operator_s_choice() {
    let base = tempfile::tempdir().unwrap();
    let real = base.path().join("real-hot");
    std::fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, base.path().join("hot-link")).unwrap();
    let cfg = config(
        &base.path().join("root"),
        vec![local_tier_at("hot", base.path().join("hot-link"))],
    );
    let store = Store::open(&cfg).unwrap();
    store.put("a/b", b"through the root link".to_vec()).unwrap();
    assert_eq!(&store.get("a/b").unwrap()[..], b"through the root link");
    assert_eq!(
        std::fs::read(real.join("a/b")).unwrap(),
        b"through the root link"
    );
    store.delete("a/b").unwrap();
    assert!(!real.join("a/b").exists());
}
