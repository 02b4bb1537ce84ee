//! Every key `put` accepts survives a rebuild of the index (issue 22 item 5). Keys with
//! non-ASCII or reserved characters (`* ? [ ] { } < > " | ^ ~ %` and backquote) used to round
//! trip through put and get but vanish from `tier reindex` (it looked for other names than put
//! wrote), so after deleting the index, which the README says is recoverable, every command
//! failed. A property test over generated keys on memory, local and S3 tiers, a list of edge
//! cases, and the CLI after `rm index.redb`.

mod common;

use std::collections::BTreeSet;

use common::{cli_ok, config, config_file, local_tier, memory_tier, s3_tier};
use proptest::prelude::*;
use strata::{
    config::{TierConfig, TierKind},
    store::{validate_key, Store, INDEX_FILE},
};

/// Characters the issue names, and other punctuation.
const RESERVED: &[char] = &[
    '*', '?', '[', ']', '{', '}', '<', '>', '"', '|', '^', '~', '%', '`', ' ', '.', '-', '_', '+',
    '=', '&', '$', '@', ',', ';', ':', '!', '\'', '(', ')',
];

fn key_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => proptest::sample::select(RESERVED),
        2 => proptest::char::range('a', 'z'),
        3 => any::<char>().prop_filter("not a key character", |c| {
            !c.is_control() && !matches!(c, '/' | '#' | '\\')
        }),
    ]
}

fn key() -> impl Strategy<Value = String> {
    let segment = proptest::collection::vec(key_char(), 1..10)
        .prop_map(|chars| chars.into_iter().collect::<String>());
    proptest::collection::vec(segment, 1..4)
        .prop_map(|segments| segments.join("/"))
        .prop_filter("put refuses it", |k| validate_key(k).is_ok())
}

/// Sets of keys no two of which need the same path as a file and as a directory (`a` and
/// `a/b`): a local tier is a file system, where that cannot be, and put refuses the second.
fn keys() -> impl Strategy<Value = BTreeSet<String>> {
    proptest::collection::btree_set(key(), 1..10).prop_filter(
        "a key is another key's directory",
        |keys| {
            !keys.iter().any(|k| {
                let dir = format!("{k}/");
                keys.iter().any(|other| other.starts_with(&dir))
            })
        },
    )
}

/// Keys from the issue and its edges: each reserved character alone, percent signs that look
/// like escapes, Unicode in composed and decomposed forms, noncharacters, marks, emoji,
/// right-to-left text, spaces and dots, and segments at the 255-byte limit once encoded (non-ASCII bytes are
/// percent-encoded: é takes six).
fn edge_keys() -> Vec<String> {
    let mut keys: Vec<String> = RESERVED
        .iter()
        .filter(|c| **c != '.')
        .map(|c| format!("reserved/{c}"))
        .collect();
    keys.extend(
        [
            "weird/*?[]{}<>\"|^~%`",
            "%",
            "100%",
            "%2A",
            "%252A",
            "a%2Fb",
            "%%",
            "%zz",
            "%E2%82%AC",
            "ünïcödé/ok",
            "nfc/\u{e9}",
            "nfd/e\u{301}",
            "日本語/ファイル.parquet",
            "emoji/😀🎉",
            "rtl/\u{5e9}\u{5dc}\u{5d5}\u{5dd}",
            "zwj/👩\u{200d}💻",
            "bom/\u{feff}x",
            "nonchar/\u{fffe}\u{ffff}",
            "private/\u{e000}\u{10fffd}",
            "fullwidth/ＡＢＣ",
            "marks/a\u{300}\u{301}\u{302}",
            " lead",
            "trail ",
            "in side/ / x",
            "dots/.../a..b/.hidden",
            "x=1/y=2/part-0",
        ]
        .iter()
        .map(|k| k.to_string()),
    );
    keys.push(format!("long/{}", "é".repeat(42)));
    keys.push(format!("long/{}", "*".repeat(85)));
    keys.push(format!("long/{}", "%".repeat(85)));
    // Long keys: 1004 bytes, and 509 bytes that encode to over 1500.
    keys.push(vec!["k".repeat(200); 5].join("/"));
    keys.push(vec!["é".repeat(42); 6].join("/"));
    for k in &keys {
        validate_key(k).unwrap_or_else(|e| panic!("{k:?}: {e}"));
    }
    keys
}

fn content(key: &str) -> Vec<u8> {
    let mut data = key.as_bytes().to_vec();
    data.extend_from_slice(blake3::hash(key.as_bytes()).as_bytes());
    data
}

/// Puts every key, rebuilds the index from the tier (an in-process reindex, or for a tier that
/// outlives the process a reopen after deleting the index file), and checks every key is
/// listed and reads back.
fn survives_rebuild(tier: TierConfig, keys: &BTreeSet<String>, reopen: bool) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), vec![tier]);
    let mut store = Store::open(&cfg).unwrap();
    for key in keys {
        store
            .put(key, content(key))
            .unwrap_or_else(|e| panic!("put {key:?}: {e}"));
    }
    let report = if reopen {
        drop(store);
        std::fs::remove_file(dir.path().join(INDEX_FILE)).unwrap();
        let (reopened, report) = Store::open_rebuilding(&cfg).unwrap();
        store = reopened;
        report
    } else {
        store.reindex().unwrap()
    };
    assert!(
        report.skipped.is_empty(),
        "names not taken back: {report:?}"
    );
    let listed: BTreeSet<String> = store.list("").unwrap().into_iter().map(|o| o.key).collect();
    assert_eq!(&listed, keys, "{report:?}");
    for key in keys {
        let got = store
            .get(key)
            .unwrap_or_else(|e| panic!("get {key:?} after the rebuild: {e}"));
        assert!(got[..] == content(key)[..], "{key:?}");
    }
}

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        // Failures print their input; no regression files in the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(48))]
    #[test]
    fn generated_keys_survive_reindex_on_memory_tiers(keys in keys()) {
        survives_rebuild(memory_tier("mem"), &keys, false);
    }
}

proptest! {
    #![proptest_config(cases(32))]
    #[test]
    fn generated_keys_survive_a_deleted_index_on_local_tiers(keys in keys()) {
        survives_rebuild(local_tier("disk"), &keys, true);
    }
}

proptest! {
    #![proptest_config(cases(12))]
    #[test]
    fn generated_keys_survive_a_deleted_index_on_s3_tiers(keys in keys()) {
        if let Some(tier) = s3_tier("s3", "key-reindex") {
            survives_rebuild(tier, &keys, true);
        }
    }
}

#[test]
fn edge_keys_survive_reindex_on_every_tier_kind() {
    let keys: BTreeSet<String> = edge_keys().into_iter().collect();
    survives_rebuild(memory_tier("mem"), &keys, false);
    survives_rebuild(local_tier("disk"), &keys, true);
    if let Some(tier) = s3_tier("s3", "edge-keys") {
        survives_rebuild(tier, &keys, true);
    }
}

/// Through the CLI: put every edge key, delete the index, and every command works again at
/// once (the next open rebuilds it): ls, get, stat, tier reindex, rm.
fn cli_after_deleted_index(tier: TierConfig) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let cfg = config(&root, vec![tier]);
    let file = config_file(&cfg, &dir.path().join("strata.toml"));
    let c = file.to_str().unwrap();
    let keys = edge_keys();
    let input = dir.path().join("input");
    for key in &keys {
        std::fs::write(&input, content(key)).unwrap();
        cli_ok(&["--config", c, "put", key, input.to_str().unwrap()]);
    }
    std::fs::remove_file(root.join(INDEX_FILE)).unwrap();
    let listed: serde_json::Value =
        serde_json::from_slice(&cli_ok(&["--config", c, "ls", "--json"])).unwrap();
    let listed: BTreeSet<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect();
    let want: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
    assert_eq!(listed, want);
    for key in &keys {
        assert_eq!(
            cli_ok(&["--config", c, "get", key]),
            content(key),
            "{key:?}"
        );
        let stat: serde_json::Value =
            serde_json::from_slice(&cli_ok(&["--config", c, "stat", key, "--json"])).unwrap();
        assert_eq!(stat["key"], key.as_str());
    }
    let report: serde_json::Value =
        serde_json::from_slice(&cli_ok(&["--config", c, "tier", "reindex", "--json"])).unwrap();
    assert_eq!(report["objects"], keys.len(), "{report}");
    assert_eq!(report["skipped"].as_array().unwrap().len(), 0, "{report}");
    for key in &keys {
        cli_ok(&["--config", c, "rm", key]);
    }
    assert!(cli_ok(&["--config", c, "ls"]).is_empty());
}

#[test]
fn every_command_works_after_the_index_is_deleted_on_local_tiers() {
    cli_after_deleted_index(local_tier("hot"));
}

#[test]
fn every_command_works_after_the_index_is_deleted_on_s3_tiers() {
    if let Some(tier) = s3_tier("cold", "key-reindex-cli") {
        assert!(matches!(tier.kind, TierKind::S3(_)));
        cli_after_deleted_index(tier);
    }
}
