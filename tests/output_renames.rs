//! Output files outside `AtomicFile`'s own callers follow its rules: compaction's outputs carry
//! names nobody can know beforehand and are never renamed over what is already there, its
//! manifest and lock are never written through links and a manifest pointing outside the
//! dataset is refused; the demo's files go to a scratch directory of its own, never through
//! a link planted in the data root. (`strata_write_parquet` is covered by the C test
//! bindings/c/tests/test_write_parquet.c.)

mod common;

use std::path::{Path, PathBuf};

use strata::{
    format::{CompactOptions, CompactStep},
    ErrorKind,
};

/// A dataset directory of three small Parquet files with ids 0..100, 0..200 and 0..300.
fn dataset(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, rows) in [100, 200, 300].into_iter().enumerate() {
        std::fs::write(
            dir.join(format!("part-{i}.parquet")),
            common::parquet_bytes(rows),
        )
        .unwrap();
    }
}

/// The ids a scan of `dir` returns, sorted.
fn ids(dir: &Path) -> Vec<i64> {
    let result = strata::Scan::new(dir).columns(&["id"]).run().unwrap();
    let mut ids: Vec<i64> = result
        .batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    ids.sort();
    ids
}

fn expected_ids() -> Vec<i64> {
    let mut ids: Vec<i64> = (0..100).chain(0..200).chain(0..300).collect();
    ids.sort();
    ids
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The (staged, final) pairs of the committed manifest in `dir`.
fn manifest_outputs(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let text = std::fs::read(dir.join(strata::format::MANIFEST)).unwrap();
    let m: serde_json::Value = serde_json::from_slice(&text).unwrap();
    m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                dir.join(pair[0].as_str().unwrap()),
                dir.join(pair[1].as_str().unwrap()),
            )
        })
        .collect()
}

fn is_output_name(name: &str) -> bool {
    let Some(rest) = name
        .strip_prefix("part-c")
        .and_then(|r| r.strip_suffix(".parquet"))
    else {
        return false;
    };
    let Some((tag, seq)) = rest.split_once('-') else {
        return false;
    };
    tag.len() == 16
        && tag.chars().all(|c| c.is_ascii_hexdigit())
        && seq.len() == 5
        && seq.chars().all(|c| c.is_ascii_digit())
}

fn assert_clean(dir: &Path) {
    for name in names(dir) {
        assert!(!name.contains(".strata-compact-"), "{name} left behind");
        assert_ne!(name, strata::format::MANIFEST);
    }
}

#[cfg(unix)]
#[test]
fn compaction_never_renames_over_what_holds_an_output_name() {
    use std::os::unix::fs::FileTypeExt;

    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let mut seen = Vec::new();
    for planted in ["file", "symlink", "fifo"] {
        let dir = tmp.path().join(planted);
        dataset(&dir);
        strata::format::compact_until(
            &dir,
            &CompactOptions::default(),
            Some(CompactStep::ManifestCommitted),
        )
        .unwrap();
        let outputs = manifest_outputs(&dir);
        assert_eq!(outputs.len(), 1, "{outputs:?}");
        let (staged, fin) = &outputs[0];
        let fin_name = fin.file_name().unwrap().to_string_lossy().into_owned();
        assert!(is_output_name(&fin_name), "{fin_name}");
        assert_eq!(
            staged.file_name().unwrap().to_string_lossy(),
            format!(".strata-compact-{fin_name}")
        );
        assert!(!seen.contains(&fin_name), "a name came back: {fin_name}");
        seen.push(fin_name);

        // Something takes the final name between the commit and the rename.
        match planted {
            "file" => std::fs::write(fin, b"precious").unwrap(),
            "symlink" => std::os::unix::fs::symlink(&victim, fin).unwrap(),
            _ => {
                let c = std::ffi::CString::new(fin.to_str().unwrap()).unwrap();
                // SAFETY: a valid NUL-terminated path.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            }
        }
        let err = strata::format::compact(&dir, &CompactOptions::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{planted}: {err}");
        assert!(err.to_string().contains("move it away"), "{planted}: {err}");
        let meta = std::fs::symlink_metadata(fin).unwrap();
        match planted {
            "file" => assert_eq!(std::fs::read(fin).unwrap(), b"precious"),
            "symlink" => assert!(meta.file_type().is_symlink()),
            _ => assert!(meta.file_type().is_fifo()),
        }
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(staged.is_file(), "{planted}: the staged output must stay");
        assert!(dir.join(strata::format::MANIFEST).is_file());

        // Once it is moved away, the next compaction finishes the swap with every row once.
        std::fs::remove_file(fin).unwrap();
        assert_eq!(ids(&dir), expected_ids(), "{planted}: mid-compaction");
        let report = strata::format::compact(&dir, &CompactOptions::default()).unwrap();
        assert!(report.recovered);
        assert_eq!(ids(&dir), expected_ids(), "{planted}: after recovery");
        assert!(fin.is_file());
        assert_clean(&dir);
    }
}

#[test]
fn a_crash_between_link_and_unlink_is_finished() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    dataset(&dir);
    strata::format::compact_until(
        &dir,
        &CompactOptions::default(),
        Some(CompactStep::ManifestCommitted),
    )
    .unwrap();
    // Where renameat2(RENAME_NOREPLACE) is missing, outputs move as a link then an unlink: a
    // crash between the two leaves both names on one file.
    for (staged, fin) in manifest_outputs(&dir) {
        std::fs::hard_link(&staged, &fin).unwrap();
    }
    let report = strata::format::compact(&dir, &CompactOptions::default()).unwrap();
    assert!(report.recovered);
    assert_eq!(ids(&dir), expected_ids());
    assert_clean(&dir);
    assert_eq!(names(&dir).len(), 2, "{:?}", names(&dir)); // one output and the lock
}

#[test]
fn a_manifest_pointing_outside_the_dataset_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("victim.parquet");
    let bad = [
        serde_json::json!({"version": 1, "outputs": [], "rows": 0,
            "inputs": ["../victim.parquet"]}),
        serde_json::json!({"version": 1, "outputs": [], "rows": 0,
            "inputs": [outside.to_str().unwrap()]}),
        serde_json::json!({"version": 1, "rows": 0, "inputs": [],
            "outputs": [[".strata-compact-part-c1-00000.parquet", "../victim.parquet"]]}),
        serde_json::json!({"version": 1, "rows": 0, "inputs": [],
            "outputs": [["../victim.parquet", "part-c1-00000.parquet"]]}),
        serde_json::json!({"version": 1, "rows": 0, "inputs": ["_strata_compaction.lock"],
            "outputs": []}),
    ];
    for (i, manifest) in bad.iter().enumerate() {
        std::fs::write(&outside, common::parquet_bytes(5)).unwrap();
        let dir = tmp.path().join(format!("d{i}"));
        dataset(&dir);
        std::fs::write(
            dir.join(strata::format::MANIFEST),
            serde_json::to_vec(manifest).unwrap(),
        )
        .unwrap();
        let err = strata::format::compact(&dir, &CompactOptions::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{i}: {err}");
        assert!(err.to_string().contains("not acting on it"), "{i}: {err}");
        // A scan refuses it too, rather than reading or skipping files it names.
        assert!(strata::Scan::new(&dir).run().is_err(), "{i}");
        assert!(outside.is_file(), "{i}: the file outside was touched");
        assert_eq!(names(&dir).len(), 5, "{i}: {:?}", names(&dir));
    }
}

#[cfg(unix)]
#[test]
fn links_are_never_inputs_nor_written_through() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    dataset(&dir);
    let outside = tmp.path().join("outside.parquet");
    std::fs::write(&outside, common::parquet_bytes(7)).unwrap();
    let linked = dir.join("linked.parquet");
    std::os::unix::fs::symlink(&outside, &linked).unwrap();
    std::fs::create_dir(dir.join(".strata-compact-not-ours")).unwrap();

    // A lock or a manifest that is a link (here to nothing yet) is refused, not followed.
    let lock_target = tmp.path().join("lock-target");
    std::os::unix::fs::symlink(&lock_target, dir.join("_strata_compaction.lock")).unwrap();
    assert!(strata::format::compact(&dir, &CompactOptions::default()).is_err());
    assert!(!lock_target.exists());
    std::fs::remove_file(dir.join("_strata_compaction.lock")).unwrap();
    let manifest_target = tmp.path().join("manifest-target");
    std::os::unix::fs::symlink(&manifest_target, dir.join(strata::format::MANIFEST)).unwrap();
    let err = strata::format::compact(&dir, &CompactOptions::default()).unwrap_err();
    assert!(err.to_string().contains("manifest"), "{err}");
    assert!(!manifest_target.exists());
    std::fs::remove_file(dir.join(strata::format::MANIFEST)).unwrap();

    // The link is neither read into the output nor deleted; the foreign directory stays.
    let report = strata::format::compact(&dir, &CompactOptions::default()).unwrap();
    assert_eq!((report.files_in, report.files_out), (3, 1), "{report:?}");
    assert_eq!(report.rows, 600);
    assert!(std::fs::symlink_metadata(&linked)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read(&outside).unwrap(),
        common::parquet_bytes(7),
        "the link's target changed"
    );
    assert!(dir.join(".strata-compact-not-ours").is_dir());
    let mut want: Vec<i64> = expected_ids().into_iter().chain(0..7).collect();
    want.sort();
    assert_eq!(ids(&dir), want);
}

/// Runs the demo on `config` with links planted at the names the demo used to write in the
/// data root, and checks that their targets stay untouched and nothing is left behind.
#[cfg(unix)]
fn demo_ignores_planted_links(config: &strata::LakeConfig) -> String {
    let root = &config.dir;
    std::fs::create_dir_all(root).unwrap();
    let targets = root.parent().unwrap().join("targets");
    std::fs::create_dir(&targets).unwrap();
    let victim = targets.join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let dangling = targets.join("created-through-a-link");
    let links = [
        (".demo-bronze.parquet", &victim),
        ("demo-bronze-trips.parquet", &dangling),
    ];
    for (name, target) in links {
        std::os::unix::fs::symlink(target, root.join(name)).unwrap();
    }
    // `strata demo`, the program (the demo is part of the binary, not of the library).
    let config_file = root.parent().unwrap().join("demo-config.toml");
    std::fs::write(&config_file, config.to_toml_string().unwrap()).unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--config")
        .arg(&config_file)
        .arg("demo")
        .output()
        .unwrap();
    let out = String::from_utf8(run.stdout).unwrap();
    assert!(
        run.status.success(),
        "strata demo failed: {}{out}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(!dangling.exists(), "the demo wrote through a link");
    assert_eq!(names(&targets), ["victim.txt"]);
    for (name, _) in links {
        let meta = std::fs::symlink_metadata(root.join(name)).unwrap();
        assert!(meta.file_type().is_symlink(), "{name}");
    }
    let left: Vec<String> = names(root)
        .into_iter()
        .filter(|n| n.starts_with(".strata-demo-"))
        .collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
    assert!(out.contains("wrote 200000 rows"), "{out}");
    assert!(out.contains("rows in"), "{out}");
    out
}

#[cfg(unix)]
#[test]
fn the_demo_writes_nothing_through_links_in_the_data_root() {
    let tmp = tempfile::tempdir().unwrap();
    let config = strata::LakeConfig {
        dir: tmp.path().join("root"),
        ..strata::LakeConfig::default()
    };
    demo_ignores_planted_links(&config);
}

/// With an object-store hot tier the demo runs whole: lake objects are scanned through the
/// lake, and its tables go to the first local tier.
#[cfg(unix)]
#[test]
fn the_demo_copies_a_remote_object_into_its_scratch_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let config = common::config(
        &tmp.path().join("root"),
        vec![common::memory_tier("hot"), common::local_tier("cold")],
    );
    let out = demo_ignores_planted_links(&config);
    assert!(out.contains("tier hot"), "{out}");
}
