//! A damaged tier index (truncated, or bytes changed anywhere) is an error of kind `Corrupt`
//! with the way out in its message, never a panic; `tier reindex` (`Store::open_rebuilding`)
//! sets the damaged file aside and rebuilds it from the tiers, losing nothing (issue 22 item 13).

mod common;

use std::path::Path;
use std::process::Command;

use common::{bytes, config, local_tier, strata_bin};
use strata::{store::Store, ErrorKind, LakeConfig};

const OBJECTS: usize = 40;

fn content(i: usize) -> Vec<u8> {
    bytes(100 + i * 37, i as u64)
}

/// A root with objects in two tiers, closed; returns its config.
fn populated(dir: &Path) -> LakeConfig {
    let cfg = config(dir, vec![local_tier("hot"), local_tier("cold")]);
    let store = Store::open(&cfg).unwrap();
    for i in 0..OBJECTS {
        store.put(&format!("obj/{i:03}"), content(i)).unwrap();
        store.get(&format!("obj/{i:03}")).unwrap();
    }
    cfg
}

/// Whatever the damage, the store opens or refuses with `Corrupt`; a store that opens answers
/// every call with data or an error, and never with a panic.
fn use_damaged(cfg: &LakeConfig) {
    match Store::open(cfg) {
        Ok(store) => {
            for i in 0..OBJECTS {
                let key = format!("obj/{i:03}");
                if let Ok(got) = store.get(&key) {
                    // What the damaged index says may be wrong; what it returns is never torn.
                    assert!(
                        got[..] == content(i)[..],
                        "{key}: wrong bytes from a damaged index"
                    );
                }
            }
            let _ = store.list("");
            let _ = store.put("new/after-damage", b"x".to_vec());
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
            assert!(e.to_string().contains("tier reindex"), "{e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }
}

/// `tier reindex` in library form: every object back, byte for byte.
fn rebuild_and_check(cfg: &LakeConfig) {
    let (store, report) = Store::open_rebuilding(cfg).unwrap();
    assert!(report.objects >= OBJECTS as u64, "{report:?}");
    for i in 0..OBJECTS {
        let key = format!("obj/{i:03}");
        let got = store.get(&key).unwrap();
        assert!(got[..] == content(i)[..], "{key}");
    }
}

fn damage_each(name: &str, mut damage: impl FnMut(&[u8], usize) -> Option<Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = populated(dir.path());
    let index = dir.path().join(strata::store::INDEX_FILE);
    let pristine = std::fs::read(&index).unwrap();
    let mut cases = 0;
    for case in 0.. {
        let Some(damaged) = damage(&pristine, case) else {
            break;
        };
        // Each case starts from the pristine root: put the original index back, drop what a
        // rebuild set aside.
        std::fs::write(&index, &damaged).unwrap();
        use_damaged(&cfg);
        rebuild_and_check(&cfg);
        for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
            if entry.file_name().to_string_lossy().contains(".corrupt-") {
                std::fs::remove_file(entry.path()).unwrap();
            }
        }
        cases += 1;
    }
    assert!(cases > 10, "{name}: only {cases} cases");
}

#[test]
fn truncated_index_is_corrupt_then_rebuilt() {
    damage_each("truncated", |pristine, case| {
        // Short cuts through the header, then one every 64 KiB through the file.
        let mut cuts = vec![0usize, 1, 8, 64, 511, 512, 4095, 4096, 4097, 8192, 12_288];
        cuts.extend((65_536..pristine.len()).step_by(65_536));
        cuts.get(case).map(|&cut| pristine[..cut].to_vec())
    });
}

#[test]
fn changed_bytes_are_corrupt_then_rebuilt() {
    // Offsets through the header and the first pages densely, then across the file.
    let mut offsets: Vec<usize> = (0..320).step_by(5).collect();
    offsets.extend((320..16_384).step_by(509));
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    damage_each("changed", move |pristine, case| {
        let at = match offsets.get(case) {
            Some(&at) => at,
            None if case < offsets.len() + 40 => {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed % pristine.len() as u64) as usize
            }
            None => return None,
        };
        let mut damaged = pristine.to_vec();
        damaged[at] ^= 0x5a;
        Some(damaged)
    });
}

#[test]
fn cli_reindex_recovers_a_damaged_index() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let cfg_path = dir.path().join("strata.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "dir = {:?}\n[[tiers]]\nname = 'hot'\nkind = 'local'\n",
            root.display().to_string()
        ),
    )
    .unwrap();
    let cfg = LakeConfig::from_file(&cfg_path).unwrap();
    {
        let store = Store::open(&cfg).unwrap();
        store.put("a/b", b"kept".to_vec()).unwrap();
    }
    let index = root.join(strata::store::INDEX_FILE);
    let mut bytes = std::fs::read(&index).unwrap();
    for b in bytes.iter_mut().take(4096) {
        *b = !*b;
    }
    std::fs::write(&index, &bytes).unwrap();
    let strata = |args: &[&str]| {
        Command::new(strata_bin())
            .arg("--config")
            .arg(&cfg_path)
            .args(args)
            .output()
            .unwrap()
    };
    let ls = strata(&["ls"]);
    assert!(!ls.status.success());
    assert_eq!(
        ls.status.code(),
        Some(1),
        "a clean error, not a crash: {ls:?}"
    );
    let stderr = String::from_utf8_lossy(&ls.stderr);
    assert!(stderr.contains("tier reindex"), "{stderr}");
    let reindex = strata(&["tier", "reindex"]);
    assert!(reindex.status.success(), "{reindex:?}");
    let get = strata(&["get", "a/b"]);
    assert!(get.status.success(), "{get:?}");
    assert_eq!(get.stdout, b"kept");
    let aside = std::fs::read_dir(&root).unwrap().flatten().any(|e| {
        e.file_name()
            .to_string_lossy()
            .contains("index.redb.corrupt-")
    });
    assert!(aside, "the damaged index is kept beside the new one");
}
