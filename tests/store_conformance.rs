//! One conformance suite that every tier kind runs: memory, local and s3.

mod common;

use common::{bytes, config, local_tier, memory_tier, s3_tier};
use strata::{
    config::{LifecycleRule, TierConfig},
    store::Store,
    ErrorKind, LakeConfig, RunOptions,
};

/// Everything a single tier must do, run with `tier` as the only tier.
fn conformance(tier: TierConfig) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path(), vec![tier])).unwrap();

    // Round trips are byte-identical at the edges and for a large multipart object.
    for (key, data) in [
        ("sizes/empty", vec![]),
        ("sizes/one", vec![7u8]),
        ("sizes/hundred-mib", bytes(100 << 20, 1)),
    ] {
        let info = store.put(key, data.clone()).unwrap();
        assert_eq!(info.size, data.len() as u64);
        assert_eq!(info.checksum, blake3::hash(&data).to_hex().to_string());
        let back = store.get(key).unwrap();
        assert!(back[..] == data[..], "{key}: bytes differ");
        let mut streamed = Vec::new();
        assert_eq!(store.get_to(key, &mut streamed).unwrap(), data.len() as u64);
        assert!(streamed == data, "{key}: streamed bytes differ");
    }

    // Streaming put through the multipart path, from a reader.
    let big = bytes(40 << 20, 2);
    let info = store.put_reader("stream/big", &mut &big[..], None).unwrap();
    assert_eq!(info.size, big.len() as u64);
    assert!(store.get("stream/big").unwrap()[..] == big[..]);
    let info = store
        .put_reader("stream/small", &mut &b"tiny"[..], None)
        .unwrap();
    assert_eq!(info.size, 4);

    // Ranges.
    assert_eq!(
        &store.get_range("stream/big", 10..20).unwrap()[..],
        &big[10..20]
    );
    let tail = store
        .get_range("stream/big", (big.len() - 3) as u64..big.len() as u64)
        .unwrap();
    assert_eq!(&tail[..], &big[big.len() - 3..]);
    assert!(store.get_range("stream/big", 5..5).unwrap().is_empty());
    assert_eq!(
        store
            .get_range("stream/big", 0..big.len() as u64 + 1)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(store.get_range("sizes/one", 0..1).unwrap()[..], [7u8]);

    // Stat and list.
    let stat = store.stat("sizes/one").unwrap();
    assert_eq!((stat.size, stat.access_count), (1, 3)); // get, get_to, get_range
    assert!(stat.last_access_ms >= stat.created_ms);
    let keys: Vec<_> = store
        .list("sizes/")
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys, ["sizes/empty", "sizes/hundred-mib", "sizes/one"]);
    assert!(store.list("nothing/").unwrap().is_empty());

    // Overwrite replaces atomically.
    store.put("sizes/one", b"two".to_vec()).unwrap();
    assert_eq!(&store.get("sizes/one").unwrap()[..], b"two");

    // Copy and rename.
    store.copy("sizes/one", "copies/one").unwrap();
    assert_eq!(&store.get("copies/one").unwrap()[..], b"two");
    store.rename("copies/one", "copies/renamed").unwrap();
    assert_eq!(
        store.get("copies/one").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(&store.get("copies/renamed").unwrap()[..], b"two");

    // Delete.
    store.delete("sizes/hundred-mib").unwrap();
    assert_eq!(
        store.get("sizes/hundred-mib").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        store.delete("sizes/hundred-mib").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(store.stat("nope").unwrap_err().kind(), ErrorKind::NotFound);

    // Bad keys are refused before touching the tier.
    for bad in ["", "/abs", "a//b", "../escape"] {
        assert_eq!(
            store.put(bad, b"x".to_vec()).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            store.get(bad).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    // Nothing left behind after all that: tier run finds no orphans.
    let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
}

/// With `cold` as the colder tier, demotion and promotion move objects and reads still work.
fn moves_into(cold: TierConfig) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg: LakeConfig = config(dir.path(), vec![local_tier("hot"), cold]);
    cfg.lifecycle = vec![LifecycleRule {
        prefix: "".into(),
        demote_after_age: Some(std::time::Duration::ZERO),
        demote_after_idle: None,
        promote_after_reads: None,
        promote_window: None,
        demote_to: None,
    }];
    let store = Store::open(&cfg).unwrap();
    let data = bytes(3 << 20, 9);
    store.put("m/a", data.clone()).unwrap();
    store.put("m/empty", vec![]).unwrap();
    let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert_eq!((report.moved, report.failed), (2, 0), "{report:?}");
    assert_eq!(store.stat("m/a").unwrap().tier, "cold");
    assert!(store.get("m/a").unwrap()[..] == data[..]);
    assert_eq!(&store.get_range("m/a", 5..9).unwrap()[..], &data[5..9]);
    assert!(store.get("m/empty").unwrap().is_empty());
    // Nothing is left in the hot tier directory.
    let hot = dir.path().join("hot").join("m").join("a");
    assert!(!hot.exists());
}

#[test]
fn memory_tier_conforms() {
    conformance(memory_tier("mem"));
}

#[test]
fn local_tier_conforms() {
    conformance(local_tier("disk"));
}

#[test]
fn s3_tier_conforms() {
    if let Some(tier) = s3_tier("s3", "conformance") {
        conformance(tier);
    }
}

#[test]
fn moves_into_memory() {
    moves_into(memory_tier("cold"));
}

#[test]
fn moves_into_local() {
    moves_into(local_tier("cold"));
}

#[test]
fn moves_into_s3() {
    if let Some(tier) = s3_tier("cold", "moves") {
        moves_into(tier);
    }
}
