//! Placement by prefix and size, promotion after repeated reads, retention, demote_to, and
//! retries against an unreachable remote tier.

mod common;

use std::time::{Duration, SystemTime};

use common::{config, local_tier, memory_tier};
use strata::{
    config::{LifecycleRule, PlacementRule, RetentionRule, S3Config, TierConfig, TierKind},
    store::{ActionKind, Store},
    ErrorKind, LakeConfig, RunOptions,
};

fn rule(prefix: &str) -> LifecycleRule {
    LifecycleRule {
        prefix: prefix.into(),
        demote_after_age: None,
        demote_after_idle: None,
        promote_after_reads: None,
        promote_window: None,
        demote_to: None,
    }
}

#[test]
fn placement_by_prefix_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(
        dir.path(),
        vec![local_tier("hot"), local_tier("warm"), memory_tier("cold")],
    );
    cfg.placement = vec![
        PlacementRule {
            prefix: "archive/".into(),
            min_size: None,
            max_size: None,
            tier: "cold".into(),
        },
        PlacementRule {
            prefix: "".into(),
            min_size: Some(1000),
            max_size: None,
            tier: "warm".into(),
        },
    ];
    let store = Store::open(&cfg).unwrap();
    assert_eq!(store.put("archive/x", vec![1]).unwrap().tier, "cold");
    assert_eq!(store.put("big", vec![0; 1000]).unwrap().tier, "warm");
    assert_eq!(store.put("small", vec![0; 999]).unwrap().tier, "hot");
    // A reader without a size hint cannot match a size rule: it lands in the hottest tier.
    assert_eq!(
        store
            .put_reader("unsized", &mut &[0u8; 2000][..], None)
            .unwrap()
            .tier,
        "hot"
    );
    assert_eq!(
        store
            .put_reader("sized", &mut &[0u8; 2000][..], Some(2000))
            .unwrap()
            .tier,
        "warm"
    );
    // Overwriting into another tier removes the old copy.
    store.put("moving", vec![0; 10]).unwrap();
    store.put("moving", vec![0; 5000]).unwrap();
    assert_eq!(store.stat("moving").unwrap().tier, "warm");
    assert!(!dir.path().join("hot/moving").exists());
}

#[test]
fn repeated_reads_promote_and_idle_demotes() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), vec![local_tier("hot"), local_tier("cold")]);
    cfg.placement = vec![PlacementRule {
        prefix: "".into(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    cfg.lifecycle = vec![LifecycleRule {
        demote_after_idle: Some(Duration::from_secs(3600)),
        promote_after_reads: Some(3),
        promote_window: Some(Duration::from_secs(60)),
        ..rule("")
    }];
    let store = Store::open(&cfg).unwrap();
    store.put("a", b"a".to_vec()).unwrap();
    store.put("b", b"b".to_vec()).unwrap();
    for _ in 0..3 {
        store.get("a").unwrap();
    }
    store.get("b").unwrap();
    let plan = store.plan_tiers(SystemTime::now()).unwrap();
    assert_eq!(plan.len(), 1, "{plan:?}");
    assert_eq!(
        (plan[0].key.as_str(), &plan[0].action),
        ("a", &ActionKind::Promote)
    );
    // Outside the window the reads no longer count.
    let later = SystemTime::now() + Duration::from_secs(120);
    assert!(store.plan_tiers(later).unwrap().is_empty());
    let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(report.moved, 1);
    assert_eq!(store.stat("a").unwrap().tier, "hot");
    // An hour of idleness later it goes back down.
    let idle = SystemTime::now() + Duration::from_secs(3601);
    let plan = store.plan_tiers(idle).unwrap();
    assert_eq!(plan.len(), 1);
    assert_eq!(
        (plan[0].key.as_str(), &plan[0].action, plan[0].to.as_deref()),
        ("a", &ActionKind::Demote, Some("cold"))
    );
}

#[test]
fn demote_to_skips_tiers_and_retention_wins() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(
        dir.path(),
        vec![local_tier("hot"), local_tier("warm"), local_tier("cold")],
    );
    cfg.lifecycle = vec![LifecycleRule {
        demote_after_age: Some(Duration::from_secs(10)),
        demote_to: Some("cold".into()),
        ..rule("logs/")
    }];
    cfg.retention = vec![RetentionRule {
        prefix: "logs/debug/".into(),
        delete_after: Duration::from_secs(5),
    }];
    let store = Store::open(&cfg).unwrap();
    store.put("logs/app", b"x".to_vec()).unwrap();
    store.put("logs/debug/trace", b"y".to_vec()).unwrap();
    store.put("other", b"z".to_vec()).unwrap();
    assert!(store.plan_tiers(SystemTime::now()).unwrap().is_empty());
    let later = RunOptions {
        now: Some(SystemTime::now() + Duration::from_secs(11)),
        ..RunOptions::default()
    };
    let report = store.run_tiers(&later, &|_, _| {}).unwrap();
    assert_eq!(
        (report.moved, report.expired, report.failed),
        (1, 1, 0),
        "{report:?}"
    );
    assert_eq!(store.stat("logs/app").unwrap().tier, "cold");
    assert_eq!(store.stat("other").unwrap().tier, "hot");
    assert_eq!(
        store.get("logs/debug/trace").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn unreachable_remote_tier_fails_within_the_configured_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg: LakeConfig = config(
        dir.path(),
        vec![TierConfig {
            name: "remote".into(),
            kind: TierKind::S3(S3Config {
                bucket: "nowhere".into(),
                endpoint: Some("http://127.0.0.1:9".into()), // discard port: nothing listens
                access_key_id: Some("k".into()),
                secret_access_key: Some("s".into()),
                allow_http: true,
                ..S3Config::default()
            }),
        }],
    );
    cfg.retry.max_retries = 2;
    cfg.retry.initial_backoff = Duration::from_millis(10);
    cfg.retry.retry_timeout = Duration::from_secs(2);
    cfg.retry.connect_timeout = Duration::from_millis(200);
    // A fresh root lists its tiers to build the index: that fails, with the remote error.
    let started = std::time::Instant::now();
    let err = Store::open(&cfg).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Remote, "{err}");
    assert!(err.to_string().contains("after 2 retries"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    // With an index in place the root opens, and a put fails after the configured retries.
    drop(Store::open(&config(dir.path(), vec![memory_tier("remote")])).unwrap());
    let store = Store::open(&cfg).unwrap();
    let started = std::time::Instant::now();
    let err = store.put("k", b"v".to_vec()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Remote, "{err}");
    assert!(err.to_string().contains("remote"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    // Nothing was recorded for the failed put.
    assert!(!store.exists("k").unwrap());
}
