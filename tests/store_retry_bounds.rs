//! Retries are bounded (issue 22): against a remote tier that fails every request, whether
//! the failure comes from the object store itself (a fault-injecting wrapper) or from the
//! network (an endpoint that never answers, answers 503, or refuses connections), every call
//! comes back within a bound set by the retry config, with an error naming the tier and key.

mod common;
#[path = "common/faulty_store.rs"]
mod faulty_store;

use std::time::{Duration, Instant};

use common::{bytes, config, local_tier, memory_tier, s3_tier};
use faulty_store::{Faults, Rates};
use strata::{
    config::{PlacementRule, RetryConfig, TierConfig},
    store::Store,
    LakeConfig, RunOptions,
};

const REMOTE: &str = "remote";
/// Lowest multipart threshold the config accepts.
const THRESHOLD: u64 = 5 << 20;

/// Hot local tier and the remote one; "r/" is placed remote; every tier run demotes.
fn lake(dir: &std::path::Path, remote: TierConfig) -> LakeConfig {
    let mut cfg = config(dir, vec![local_tier("hot"), remote]);
    cfg.placement = vec![PlacementRule {
        prefix: "r/".into(),
        min_size: None,
        max_size: None,
        tier: REMOTE.into(),
    }];
    cfg.lifecycle = vec![strata::config::LifecycleRule {
        prefix: String::new(),
        demote_after_age: Some(Duration::ZERO),
        demote_after_idle: None,
        promote_after_reads: None,
        promote_window: None,
        demote_to: None,
    }];
    cfg.multipart_threshold = THRESHOLD;
    cfg.retry = RetryConfig {
        max_retries: 2,
        retry_timeout: Duration::from_secs(10),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        request_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
    };
    cfg
}

fn names_tier(text: &str) -> bool {
    text.contains(&format!("tier: {REMOTE}"))
}

/// Runs `call`, asserting it fails within `bound`, naming the tier and `key`.
fn bounded<T: std::fmt::Debug>(
    what: &str,
    key: &str,
    bound: Duration,
    call: impl FnOnce() -> strata::Result<T>,
) {
    let start = Instant::now();
    let result = call();
    let took = start.elapsed();
    let err = result.expect_err(what);
    let text = err.to_string();
    assert!(
        took < bound,
        "{what} took {took:?} against a tier failing every request: {text}"
    );
    assert!(
        names_tier(&text) && text.contains(&format!("key: {key}")),
        "{what}: {text}"
    );
    eprintln!("{what}: {took:?}: {text}");
}

/// Every kind of call against a tier whose every request fails comes back, in bounded time,
/// with an error naming the tier and the key; nothing that was there is lost.
fn every_request_failing(remote: TierConfig, reopen_keeps_tier: bool) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = lake(dir.path(), remote);
    let faults = Faults::new(7, Rates::NONE);
    let mut store = Store::open(&cfg).unwrap();
    store.wrap_tier(REMOTE, |inner| faults.wrap(inner)).unwrap();
    let kept = bytes(1000, 1);
    store.put("r/kept", kept.clone()).unwrap();
    store.put("h/hot", bytes(10, 2)).unwrap();
    faults.fail_everything(true);
    let bound = Duration::from_secs(30);
    let large = bytes(THRESHOLD as usize + 1, 3);
    bounded("put", "r/new", bound, || store.put("r/new", b"x".to_vec()));
    bounded("multipart put", "r/large", bound, || {
        store.put("r/large", large.clone())
    });
    bounded("streamed put", "r/large", bound, || {
        store.put_reader("r/large", &mut &large[..], None)
    });
    bounded("overwrite", "r/kept", bound, || {
        store.put("r/kept", b"y".to_vec())
    });
    bounded("get", "r/kept", bound, || store.get("r/kept"));
    bounded("ranged get", "r/kept", bound, || {
        store.get_range("r/kept", 1..5)
    });
    bounded("get_to", "r/kept", bound, || {
        store.get_to("r/kept", &mut Vec::new())
    });
    let start = Instant::now();
    let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert!(
        start.elapsed() < bound,
        "tier run took {:?}",
        start.elapsed()
    );
    assert!(report.failed >= 1, "{report:?}");
    for outcome in report.actions.iter().filter(|a| a.error.is_some()) {
        let err = outcome.error.as_deref().unwrap();
        assert!(
            names_tier(err) && err.contains(&outcome.planned.key),
            "{err}"
        );
    }
    let start = Instant::now();
    let err = store.reindex().unwrap_err();
    assert!(start.elapsed() < bound);
    assert!(names_tier(&err.to_string()), "{err}");
    // Once the tier answers again nothing is lost: the object whose overwrite failed reads
    // as before.
    faults.fail_everything(false);
    assert_eq!(&store.get("r/kept").unwrap()[..], &kept[..]);
    faults.fail_everything(true);
    // A delete takes the object out of the index at once, however the tier answers; the bytes
    // stay recorded as an orphan for the next `tier run`.
    let start = Instant::now();
    store.delete("r/kept").unwrap();
    assert!(start.elapsed() < bound, "delete took {:?}", start.elapsed());
    assert!(!store.exists("r/kept").unwrap());
    faults.fail_everything(false);
    assert_eq!(&store.get("h/hot").unwrap()[..], &bytes(10, 2)[..]);
    if reopen_keeps_tier {
        drop(store);
        let store = Store::open(&cfg).unwrap();
        assert_eq!(&store.get("h/hot").unwrap()[..], &bytes(10, 2)[..]);
        assert!(!store.exists("r/new").unwrap());
        assert!(!store.exists("r/large").unwrap());
    }
}

#[test]
fn memory_tier_failing_every_request_is_bounded() {
    every_request_failing(memory_tier(REMOTE), false);
}

#[test]
fn s3_tier_failing_every_request_is_bounded() {
    if let Some(remote) = s3_tier(REMOTE, "faults-all") {
        every_request_failing(remote, true);
    }
}

/// A loopback endpoint that misbehaves at the socket level: it never answers, answers every
/// request with 503, or is closed.
enum Endpoint {
    Silent,
    Unavailable,
    Closed,
}

fn endpoint(kind: Endpoint) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    match kind {
        Endpoint::Closed => drop(listener),
        Endpoint::Silent => {
            std::thread::spawn(move || {
                let mut held = Vec::new();
                for conn in listener.incoming().flatten() {
                    held.push(conn);
                }
            });
        }
        Endpoint::Unavailable => {
            std::thread::spawn(move || {
                for mut conn in listener.incoming().flatten() {
                    std::thread::spawn(move || {
                        let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
                        let mut buf = [0u8; 64 << 10];
                        let _ = conn.read(&mut buf);
                        let _ = conn.write_all(
                            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\
                              Connection: close\r\n\r\n",
                        );
                    });
                }
            });
        }
    }
    format!("http://{addr}")
}

/// An S3 tier at a misbehaving endpoint, with the retry config set low: every call returns
/// within a bound set by that config (measured, and asserted with room to spare).
fn s3_endpoint_is_bounded(kind: Endpoint) {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = endpoint(kind);
    // The index is built while the tier is a memory tier of the same name (an S3 tier that
    // never answers cannot be listed), and records objects in it.
    let mut cfg = lake(dir.path(), memory_tier(REMOTE));
    {
        let store = Store::open(&cfg).unwrap();
        store.put("r/kept", bytes(1000, 1)).unwrap();
        store.put("h/hot", bytes(10, 2)).unwrap();
    }
    cfg.tiers[1] = TierConfig {
        name: REMOTE.into(),
        kind: strata::config::TierKind::S3(strata::config::S3Config {
            bucket: "nowhere".into(),
            endpoint: Some(endpoint.clone()),
            region: Some("us-east-1".into()),
            access_key_id: Some("testing".into()),
            secret_access_key: Some("testing".into()),
            allow_http: true,
            virtual_hosted_style: false,
            prefix: None,
        }),
    };
    cfg.retry = RetryConfig {
        max_retries: 2,
        retry_timeout: Duration::from_secs(3),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        request_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
    };
    let store = Store::open(&cfg).unwrap();
    let bound = Duration::from_secs(30);
    let large = bytes(THRESHOLD as usize + 1, 3);
    bounded("put", "r/new", bound, || store.put("r/new", b"x".to_vec()));
    bounded("multipart put", "r/large", bound, || {
        store.put("r/large", large.clone())
    });
    bounded("streamed put", "r/large", bound, || {
        store.put_reader("r/large", &mut &large[..], None)
    });
    bounded("get", "r/kept", bound, || store.get("r/kept"));
    bounded("ranged get", "r/kept", bound, || {
        store.get_range("r/kept", 1..5)
    });
    bounded("get_to", "r/kept", bound, || {
        store.get_to("r/kept", &mut Vec::new())
    });
    // A delete takes the object out of the index at once, however the tier answers; the bytes
    // stay recorded as an orphan for the next `tier run`.
    let start = Instant::now();
    store.delete("r/kept").unwrap();
    assert!(start.elapsed() < bound, "delete took {:?}", start.elapsed());
    assert!(!store.exists("r/kept").unwrap());
    assert_eq!(&store.get("h/hot").unwrap()[..], &bytes(10, 2)[..]);
    let start = Instant::now();
    let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert!(
        start.elapsed() < bound,
        "tier run took {:?}",
        start.elapsed()
    );
    assert!(report.failed >= 1, "{report:?}");
    let start = Instant::now();
    let err = store.reindex().unwrap_err();
    assert!(
        start.elapsed() < bound,
        "reindex took {:?}",
        start.elapsed()
    );
    assert!(names_tier(&err.to_string()), "{err}");
}

#[test]
fn s3_endpoint_that_never_answers_is_bounded() {
    s3_endpoint_is_bounded(Endpoint::Silent);
}

#[test]
fn s3_endpoint_answering_503_is_bounded() {
    s3_endpoint_is_bounded(Endpoint::Unavailable);
}

#[test]
fn s3_endpoint_refusing_connections_is_bounded() {
    s3_endpoint_is_bounded(Endpoint::Closed);
}
