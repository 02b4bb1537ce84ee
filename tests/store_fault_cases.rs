//! Scripted faults under the remote tier: the sequences the randomized workload in
//! tests/s3_faults.rs found, one test each, so that each reads as a reproduction. The remote
//! tier is a memory tier (always runs) unless the case needs a reopen (then S3; skipped
//! without the loopback server).

mod common;
#[path = "common/faulty_store.rs"]
mod faulty_store;

use std::sync::Arc;
use std::time::Duration;

use common::{bytes, config, local_tier, memory_tier, s3_tier};
use faulty_store::{Fault, Faults, Rates};
use strata::{
    config::{LifecycleRule, PlacementRule, TierConfig},
    store::Store,
    LakeConfig, RunOptions,
};

const REMOTE: &str = "remote";

/// Hot local tier and the remote tier; "r/" is placed remote, everything else hot; "h/" is
/// demoted by every tier run and "r/" promoted after two reads.
fn lake(dir: &std::path::Path, remote: TierConfig) -> LakeConfig {
    let mut cfg = config(dir, vec![local_tier("hot"), remote]);
    cfg.placement = vec![PlacementRule {
        prefix: "r/".into(),
        min_size: None,
        max_size: None,
        tier: REMOTE.into(),
    }];
    cfg.lifecycle = vec![
        LifecycleRule {
            prefix: "h/".into(),
            demote_after_age: Some(Duration::ZERO),
            demote_after_idle: None,
            promote_after_reads: None,
            promote_window: None,
            demote_to: None,
        },
        LifecycleRule {
            prefix: "r/".into(),
            demote_after_age: None,
            demote_after_idle: None,
            promote_after_reads: Some(2),
            promote_window: Some(Duration::from_secs(3600)),
            demote_to: None,
        },
    ];
    cfg.cache.read_ahead_blocks = 0;
    cfg
}

fn open_wrapped(cfg: &LakeConfig) -> (Store, Arc<Faults>) {
    let faults = Faults::new(1, Rates::NONE);
    let mut store = Store::open(cfg).unwrap();
    store.wrap_tier(REMOTE, |inner| faults.wrap(inner)).unwrap();
    (store, faults)
}

fn names_tier_and_key(err: &str, key: &str) -> bool {
    err.contains(&format!("key: {key}"))
        && [": ", " "]
            .iter()
            .any(|sep| err.contains(&format!("tier{sep}{REMOTE}")))
}

const CUT: Fault = Fault::Cut {
    permille: 500,
    error: false,
};

/// A move whose copy landed in the target tier but whose check read failed leaves that copy
/// behind; deleting the object must not leave it there for a reindex to bring back.
#[test]
fn a_deleted_object_stays_deleted_after_a_move_left_a_copy() {
    let dir = tempfile::tempdir().unwrap();
    let (store, faults) = open_wrapped(&lake(dir.path(), memory_tier(REMOTE)));
    store.put("h/x", bytes(1000, 1)).unwrap();
    // The demotion writes the copy, then its read-back fails.
    faults.inject("get", "h/x", Fault::FailAfter(1));
    let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    store.delete("h/x").unwrap();
    let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
    store.reindex().unwrap();
    assert!(
        !store.exists("h/x").unwrap(),
        "the deleted object came back: {:?}",
        store.stat("h/x")
    );
}

/// A put whose outcome could not be learned is settled at the next open; a delete
/// acknowledged in between must win.
#[test]
fn an_unsettled_put_does_not_undo_a_later_delete() {
    let Some(remote) = s3_tier(REMOTE, "unsettled-delete") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = lake(dir.path(), remote);
    {
        let (store, faults) = open_wrapped(&cfg);
        store.put("r/x", bytes(1000, 1)).unwrap();
        // The overwrite lands but its answer is lost, and the store cannot look.
        faults.inject("put", "r/x", Fault::FailAfter(1));
        faults.inject("get", "r/x", Fault::Fail);
        let err = store.put("r/x", bytes(2000, 2)).unwrap_err();
        assert!(err.to_string().contains("unknown"), "{err}");
        store.delete("r/x").unwrap();
        assert!(!store.exists("r/x").unwrap());
    }
    let store = Store::open(&cfg).unwrap();
    assert!(
        !store.exists("r/x").unwrap(),
        "an acknowledged delete was undone at open: {:?}, get: {:?}",
        store.stat("r/x"),
        store.get("r/x").map(|b| b.len())
    );
}

/// After a put whose outcome could not be learned, the error says the old object stays
/// current: reads must give the old object or the new one, and name the tier if they fail.
#[test]
fn reads_after_an_unsettled_put_give_the_old_or_the_new_object() {
    let dir = tempfile::tempdir().unwrap();
    let (store, faults) = open_wrapped(&lake(dir.path(), memory_tier(REMOTE)));
    let (old, new) = (bytes(1000, 1), bytes(2000, 2));
    store.put("r/x", old.clone()).unwrap();
    faults.inject("put", "r/x", Fault::FailAfter(1));
    faults.inject("get", "r/x", Fault::Fail);
    let err = store.put("r/x", new.clone()).unwrap_err();
    assert!(
        err.to_string().contains("old object stays current"),
        "{err}"
    );
    match store.get("r/x") {
        Ok(got) => assert!(got[..] == old[..] || got[..] == new[..]),
        Err(e) => panic!("the old object is not current: {e}"),
    }
}

/// A body that ends early without an error must not pass as the object: the store knows how
/// long the object is.
#[test]
fn a_body_cut_short_is_an_error_not_a_shorter_object() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = lake(dir.path(), memory_tier(REMOTE));
    // Without the block cache (which checks lengths), reads go straight to the tier.
    cfg.cache.budget = 0;
    let (store, faults) = open_wrapped(&cfg);
    let data = bytes(100_000, 1);
    store.put("r/x", data.clone()).unwrap();
    let read = |what: &str| -> strata::Result<Vec<u8>> {
        match what {
            "get_to" => {
                let mut out = Vec::new();
                store.get_to("r/x", &mut out).map(|_| out)
            }
            "get" => store.get("r/x").map(|b| b.to_vec()),
            _ => store.get_range("r/x", 10..90_000).map(|b| b.to_vec()),
        }
    };
    for what in ["get_to", "get", "get_range"] {
        faults.inject("get", "r/x", CUT);
        match read(what) {
            Ok(got) => panic!("{what} returned {} bytes as the object", got.len()),
            Err(e) => assert!(names_tier_and_key(&e.to_string(), "r/x"), "{what}: {e}"),
        }
    }
    // A reindex reading a short body must not record its checksum as the object's.
    faults.inject("get", "r/x", CUT);
    let reindexed = store.reindex();
    if reindexed.is_ok() {
        let stat = store.stat("r/x").unwrap();
        assert_eq!(
            stat.checksum,
            blake3::hash(&data).to_hex().to_string(),
            "a reindex recorded the checksum of a short body"
        );
    }
    assert!(store.get("r/x").unwrap()[..] == data[..]);
}

/// Through the block cache (which does check lengths) a short body fails, and the failure
/// names the tier it came from.
#[test]
fn a_body_cut_short_through_the_cache_names_the_tier() {
    let dir = tempfile::tempdir().unwrap();
    let (store, faults) = open_wrapped(&lake(dir.path(), memory_tier(REMOTE)));
    let data = bytes(100_000, 1);
    store.put("r/x", data.clone()).unwrap();
    faults.inject("get", "r/x", CUT);
    let err = store.get("r/x").unwrap_err();
    assert!(names_tier_and_key(&err.to_string(), "r/x"), "{err}");
    assert!(store.get("r/x").unwrap()[..] == data[..]);
}

/// A put whose answer was lost is resolved by reading the tier; a short body there must not
/// make the store roll back to the old record while the tier holds the new bytes.
#[test]
fn resolving_a_put_through_a_short_body_keeps_index_and_tier_together() {
    let dir = tempfile::tempdir().unwrap();
    let (store, faults) = open_wrapped(&lake(dir.path(), memory_tier(REMOTE)));
    let (old, new) = (bytes(1000, 1), bytes(50_000, 2));
    store.put("r/x", old.clone()).unwrap();
    faults.inject("put", "r/x", Fault::FailAfter(1));
    faults.inject("get", "r/x", CUT);
    let _ = store.put("r/x", new.clone());
    let got = store
        .get("r/x")
        .unwrap_or_else(|e| panic!("the index and the tier disagree: {e}"));
    assert!(got[..] == old[..] || got[..] == new[..]);
    let stat = store.stat("r/x").unwrap();
    assert_eq!(stat.checksum, blake3::hash(&got).to_hex().to_string());
}

/// A move reading a short body fails; the copy it wrote must not become the object at the
/// next reindex, and the failure must name the tier that failed.
#[test]
fn a_move_through_a_short_body_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, faults) = open_wrapped(&lake(dir.path(), memory_tier(REMOTE)));
    let data = bytes(100_000, 1);
    store.put("r/x", data.clone()).unwrap();
    store.get("r/x").unwrap();
    store.get("r/x").unwrap();
    faults.inject("get", "r/x", CUT);
    let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    let failure = report.actions[0].error.clone();
    if let Some(err) = &failure {
        assert!(names_tier_and_key(err, "r/x"), "{err}");
    }
    store.reindex().unwrap();
    assert!(
        store.get("r/x").unwrap()[..] == data[..],
        "the object was replaced by a short copy"
    );
}

/// Errors are one line, also when an S3 server answers with an XML body.
#[test]
fn s3_errors_are_one_line() {
    let Some(mut remote) = s3_tier(REMOTE, "one-line") else {
        return;
    };
    if let strata::config::TierKind::S3(s3) = &mut remote.kind {
        s3.bucket = "no-such-bucket-for-strata".into();
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = lake(dir.path(), memory_tier(REMOTE));
    {
        let store = Store::open(&cfg).unwrap();
        store.put("r/x", bytes(10, 1)).unwrap();
    }
    cfg.tiers[1] = remote;
    let store = Store::open(&cfg).unwrap();
    for err in [
        store.put("r/y", bytes(10, 2)).unwrap_err(),
        store.get("r/x").unwrap_err(),
    ] {
        assert!(!err.to_string().contains('\n'), "{err}");
    }
}

/// What the store does get right under each fault, on one tier kind: a put that fails before
/// the tier has it leaves the old object; a put (single or multipart) whose answer is lost
/// after it landed is found landed and succeeds; a part that fails fails the put and nothing
/// partial shows; a multipart upload completed whose answer is lost succeeds; a body that errors part way fails the read, naming tier and key.
fn survives_single_faults(remote: TierConfig) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = lake(dir.path(), remote);
    cfg.multipart_threshold = 5 << 20;
    let (store, faults) = open_wrapped(&cfg);
    let old = bytes(1000, 1);
    store.put("r/x", old.clone()).unwrap();

    faults.inject("put", "r/x", Fault::Fail);
    let err = store.put("r/x", bytes(10, 2)).unwrap_err();
    assert!(names_tier_and_key(&err.to_string(), "r/x"), "{err}");
    assert!(store.get("r/x").unwrap()[..] == old[..]);

    let landed = bytes(2000, 3);
    faults.inject("put", "r/x", Fault::FailAfter(1));
    let info = store.put("r/x", landed.clone()).unwrap();
    assert_eq!(info.checksum, blake3::hash(&landed).to_hex().to_string());
    assert!(store.get("r/x").unwrap()[..] == landed[..]);

    let large = bytes((5 << 20) + 1000, 4);
    faults.inject("part", "r/x", Fault::Fail);
    let err = store.put("r/x", large.clone()).unwrap_err();
    assert!(names_tier_and_key(&err.to_string(), "r/x"), "{err}");
    assert!(store.get("r/x").unwrap()[..] == landed[..]);
    faults.inject("part", "r/x", Fault::Fail);
    let err = store.put_reader("r/x", &mut &large[..], None).unwrap_err();
    assert!(names_tier_and_key(&err.to_string(), "r/x"), "{err}");
    assert!(store.get("r/x").unwrap()[..] == landed[..]);

    faults.inject(
        "get",
        "r/x",
        Fault::Cut {
            permille: 300,
            error: true,
        },
    );
    let err = store.get_to("r/x", &mut Vec::new()).unwrap_err();
    assert!(names_tier_and_key(&err.to_string(), "r/x"), "{err}");
    assert!(store.get("r/x").unwrap()[..] == landed[..]);
    assert_eq!(faults.pending(), 0, "a scripted fault was never met");
}

#[test]
fn a_memory_tier_survives_single_faults() {
    survives_single_faults(memory_tier(REMOTE));
}

#[test]
fn an_s3_tier_survives_single_faults() {
    if let Some(remote) = s3_tier(REMOTE, "single-faults") {
        survives_single_faults(remote);
    }
}
