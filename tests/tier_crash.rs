//! kill -9 in the middle of a `tier run` moving 1,000 objects loses nothing; a rerun finishes.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{bytes, strata_bin};
use strata::{store::Store, LakeConfig, RunOptions};

const OBJECTS: usize = 1000;

fn files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        // strata's own marker and staging directory hold no objects.
        .filter(|e| e.file_name() != ".strata")
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                files_under(&p)
            } else {
                1
            }
        })
        .sum()
}

fn content(i: usize) -> Vec<u8> {
    bytes(16 * 1024 + i, i as u64 + 1)
}

fn check_all_readable(store: &Store) {
    for i in 0..OBJECTS {
        let key = format!("obj/{i:04}");
        let got = store
            .get(&key)
            .unwrap_or_else(|e| panic!("{key} unreadable: {e}"));
        assert!(got[..] == content(i)[..], "{key}: content differs");
    }
}

#[test]
fn kill_during_tier_run_then_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("strata.toml");
    let root = dir.path().join("root");
    std::fs::write(
        &cfg_path,
        format!(
            "dir = {:?}\n[[tiers]]\nname = 'hot'\nkind = 'local'\n[[tiers]]\nname = 'cold'\nkind = 'local'\n\
             [[lifecycle]]\ndemote_after_age = '0s'\n",
            root.display().to_string()
        ),
    )
    .unwrap();
    let config = LakeConfig::from_file(&cfg_path).unwrap();
    {
        let store = Store::open(&config).unwrap();
        for i in 0..OBJECTS {
            store.put(&format!("obj/{i:04}"), content(i)).unwrap();
        }
    }

    let mut child = Command::new(strata_bin())
        .args([
            "--config",
            cfg_path.to_str().unwrap(),
            "tier",
            "run",
            "--concurrency",
            "2",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let cold = root.join("cold");
    let deadline = Instant::now() + Duration::from_secs(120);
    while files_under(&cold) < 100 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    let moved_before_kill = files_under(&cold);
    assert!(
        !status.success(),
        "the run finished before it could be killed"
    );
    assert!(
        moved_before_kill < OBJECTS,
        "killed too late: {moved_before_kill} moved"
    );

    // Right after the kill, before any repair, every object reads back intact.
    let store = Store::open(&config).unwrap();
    check_all_readable(&store);

    // The rerun finishes every move and leaves no copy behind.
    let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
    let listed = store.list("").unwrap();
    assert_eq!(listed.len(), OBJECTS);
    assert!(listed.iter().all(|o| o.tier == "cold"));
    assert_eq!(files_under(&root.join("hot")), 0);
    assert_eq!(files_under(&cold), OBJECTS);
    assert!(store
        .plan_tiers(std::time::SystemTime::now())
        .unwrap()
        .is_empty());
    check_all_readable(&store);
}
