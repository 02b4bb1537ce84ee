//! Random sequences of store operations against a reference model (a BTreeMap): after every
//! step the store answers exactly as the model does.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use strata::{
    config::{LifecycleRule, TierConfig, TierKind},
    store::Store,
    ErrorKind, LakeConfig, RunOptions,
};

#[derive(Arbitrary, Debug)]
enum Op {
    Put { key: u8, len: u16, fill: u8 },
    Get { key: u8 },
    Range { key: u8, start: u16, end: u16 },
    Delete { key: u8 },
    Copy { from: u8, to: u8 },
    Rename { from: u8, to: u8 },
    TierRun,
    Reindex,
}

fn key(k: u8) -> String {
    format!("d{}/k{}", k % 3, k % 8)
}

fuzz_target!(|ops: Vec<Op>| {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = LakeConfig::local(dir.path());
    config.tiers = vec![
        TierConfig {
            name: "hot".into(),
            kind: TierKind::Local { path: None },
        },
        TierConfig {
            name: "cold".into(),
            kind: TierKind::Memory,
        },
    ];
    config.retention.clear();
    config.lifecycle = vec![LifecycleRule {
        prefix: "d1/".into(),
        demote_after_age: Some(std::time::Duration::ZERO),
        demote_after_idle: None,
        promote_after_reads: Some(2),
        promote_window: None,
        demote_to: None,
    }];
    let store = Store::open(&config).expect("open");
    let mut model: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for op in ops.into_iter().take(64) {
        match op {
            Op::Put { key: k, len, fill } => {
                let data = vec![fill; len as usize % 4096];
                store.put(&key(k), data.clone()).expect("put");
                model.insert(key(k), data);
            }
            Op::Get { key: k } => match model.get(&key(k)) {
                Some(want) => assert_eq!(&store.get(&key(k)).expect("get")[..], &want[..]),
                None => assert_eq!(store.get(&key(k)).unwrap_err().kind(), ErrorKind::NotFound),
            },
            Op::Range { key: k, start, end } => {
                let (start, end) = (start.min(end) as u64, start.max(end) as u64);
                match (model.get(&key(k)), store.get_range(&key(k), start..end)) {
                    (Some(want), Ok(got)) => {
                        assert_eq!(&got[..], &want[start as usize..end as usize])
                    }
                    (Some(want), Err(e)) => {
                        assert!(end > want.len() as u64);
                        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
                    }
                    (None, Err(e)) => assert_eq!(e.kind(), ErrorKind::NotFound),
                    (None, Ok(_)) => panic!("range of a missing object"),
                }
            }
            Op::Delete { key: k } => {
                let result = store.delete(&key(k));
                assert_eq!(result.is_ok(), model.remove(&key(k)).is_some());
            }
            Op::Copy { from, to } => {
                let result = store.copy(&key(from), &key(to));
                match model.get(&key(from)).cloned() {
                    Some(data) => {
                        result.expect("copy");
                        model.insert(key(to), data);
                    }
                    None => assert!(result.is_err()),
                }
            }
            Op::Rename { from, to } => {
                let result = store.rename(&key(from), &key(to));
                match model.remove(&key(from)) {
                    Some(data) => {
                        result.expect("rename");
                        model.insert(key(to), data);
                    }
                    None => assert!(result.is_err()),
                }
            }
            Op::TierRun => {
                let report = store
                    .run_tiers(&RunOptions::default(), &|_, _| {})
                    .expect("run");
                assert_eq!(report.failed, 0);
            }
            Op::Reindex => {
                store.reindex().expect("reindex");
            }
        }
        let listed: Vec<String> = store
            .list("")
            .expect("list")
            .into_iter()
            .map(|o| o.key)
            .collect();
        let expected: Vec<String> = model.keys().cloned().collect();
        assert_eq!(listed, expected);
    }
});
