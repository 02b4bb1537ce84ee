//! Swapping and restoring encrypted objects' stored bytes (issue 22 item 8). Copying one
//! encrypted object's file over another of the same size (`cp hot/pii/b hot/pii/a`) made
//! `get pii/a` return b's plaintext with exit 0, and putting back an older envelope of the
//! same object returned the old plaintext. Envelopes are now bound to the object's key and
//! checked against the index entry on every read: both attacks fail with the crypto error kind
//! and no plaintext, on memory, local and S3 tiers, through the library and the CLI (the C
//! ABI: bindings/c/tests/test_crypto_swap.c). After the index is deleted and rebuilt a swapped
//! envelope still fails (it is bound to the other key's name); a restored older envelope of
//! the same object cannot be told from the current one without the index, and reads as the
//! old plaintext.

mod common;

use std::sync::Arc;

use common::{cli_err, cli_ok, config, config_file, local_tier, memory_tier, s3_tier, RawTier};
use strata::{
    config::TierConfig,
    store::{Store, INDEX_FILE},
    ErrorKind, LakeConfig,
};

/// Same length each, so a swap keeps the size the index records.
const A: &[u8] = b"alice: card 4111 1111 1111 1111, ssn 078-05-1120";
const B: &[u8] = b"bobby: card 5500 0000 0000 0004, ssn 219-09-9999";
const C1: &[u8] = b"carol v1: salary 100000, notes: first version..";
const C2: &[u8] = b"carol v2: salary 120000, notes: second version.";

fn encrypting(root: &std::path::Path, tier: TierConfig) -> LakeConfig {
    let mut cfg = config(root, vec![tier.clone()]);
    cfg.encryption.prefixes = vec!["pii/".into()];
    // Reads of the tier go through the block cache too (get, get_range); get_to does not.
    cfg.cache.tiers = Some(vec![tier.name.clone()]);
    cfg
}

/// Which error kinds a refused read may have: the crypto kind, as the issue asks; or, while
/// remote tiers catch a replaced object by its version tag first and report it as corrupt
/// (or, for a copy, as not found) "replaced during the read" (a reported store bug), that
/// too, so that the rest of the contract is checked meanwhile.
#[derive(Clone, Copy)]
enum Kind {
    Crypto,
    CryptoOrReplaced,
}

/// A read that must fail (as `kind` says) naming the key, with no plaintext anywhere.
fn refused(result: strata::Result<Vec<u8>>, key: &str, what: &str, kind: Kind) {
    let err = match result {
        Ok(plain) => panic!("{what} {key}: read {:?}", String::from_utf8_lossy(&plain)),
        Err(e) => e,
    };
    match kind {
        Kind::Crypto => assert_eq!(err.kind(), ErrorKind::Crypto, "{what} {key}: {err}"),
        Kind::CryptoOrReplaced => assert!(
            err.kind() == ErrorKind::Crypto
                || (matches!(err.kind(), ErrorKind::Corrupt | ErrorKind::NotFound)
                    && err.to_string().contains("replaced")),
            "{what} {key}: {err}"
        ),
    }
    let text = err.to_string();
    assert!(text.contains(key) && !text.contains('\n'), "{what}: {text}");
    for plain in [A, B, C1, C2] {
        assert!(!text.contains(std::str::from_utf8(plain).unwrap()));
    }
}

/// Every way to read `key`: get, a ranged get, a streamed get (which must write nothing),
/// and a copy to another key.
fn every_read_refused(store: &Store, key: &str, kind: Kind) {
    refused(store.get(key).map(|b| b.to_vec()), key, "get", kind);
    refused(
        store.get_range(key, 3..20).map(|b| b.to_vec()),
        key,
        "get_range",
        kind,
    );
    let mut out = Vec::new();
    let streamed = store.get_to(key, &mut out).map(|_| out.clone());
    assert!(out.is_empty(), "get_to wrote {} bytes", out.len());
    refused(streamed, key, "get_to", kind);
    refused(
        store.copy(key, "pii/copied").map(|_| Vec::new()),
        key,
        "copy",
        kind,
    );
    assert!(!store.exists("pii/copied").unwrap());
}

/// Both attacks on one tier. `raw` reaches the tier's bytes; `rebuild` deletes the index and
/// reopens (or, for a memory tier, reindexes in place) and returns the store.
fn swap_and_restore(store: Store, raw: &RawTier, kind: Kind, rebuild: impl FnOnce(Store) -> Store) {
    store.put("pii/a", A.to_vec()).unwrap();
    store.put("pii/b", B.to_vec()).unwrap();
    store.put("pii/c", C1.to_vec()).unwrap();
    let old_c = raw.get("pii/c");
    store.put("pii/c", C2.to_vec()).unwrap();
    assert_eq!(&store.get("pii/c").unwrap()[..], C2);

    raw.put("pii/a", raw.get("pii/b"));
    raw.put("pii/c", old_c.clone());
    // Plaintext cached before the swap is the current version's; read the tier.
    store.invalidate_cache("");
    every_read_refused(&store, "pii/a", kind);
    every_read_refused(&store, "pii/c", kind);
    assert_eq!(&store.get("pii/b").unwrap()[..], B);
    // A key rotation does not launder them either.
    let ring = store.keyring_path();
    let mut keys = strata::crypto::KeyRing::load(&ring).unwrap();
    let new_id = keys.add_key(Some("second")).unwrap();
    store.set_key_provider(Arc::new(keys));
    let report = store.rotate_keys(&new_id, &|_, _| {}).unwrap();
    assert_eq!(report.rewrapped, 1, "{report:?}");
    if let Kind::Crypto = kind {
        let failed: Vec<&str> = report.failed.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(failed, ["pii/a", "pii/c"], "{report:?}");
    }
    every_read_refused(&store, "pii/a", kind);
    every_read_refused(&store, "pii/c", kind);

    let store = rebuild(store);
    // The name binding holds without the index: b's envelope does not open as pii/a.
    every_read_refused(&store, "pii/a", Kind::Crypto);
    assert_eq!(&store.get("pii/b").unwrap()[..], B);
    // Without the index nothing records which encryption of pii/c is current: its older
    // envelope is a genuine envelope of pii/c and reads as the old plaintext. Only the index
    // (the object id it records) tells them apart.
    assert_eq!(&store.get("pii/c").unwrap()[..], C1);
}

fn rebuilt(cfg: LakeConfig) -> impl FnOnce(Store) -> Store {
    move |store| {
        drop(store);
        std::fs::remove_file(cfg.dir.join(INDEX_FILE)).unwrap();
        Store::open(&cfg).unwrap()
    }
}

#[test]
fn swapped_and_restored_envelopes_fail_on_local_tiers() {
    let dir = tempfile::tempdir().unwrap();
    let tier = local_tier("hot");
    let cfg = encrypting(dir.path(), tier.clone());
    let raw = RawTier::of(&tier, dir.path());
    swap_and_restore(
        Store::open(&cfg).unwrap(),
        &raw,
        Kind::Crypto,
        rebuilt(cfg.clone()),
    );
}

fn on_s3(kind: Kind) {
    let Some(tier) = s3_tier("cold", "crypto-swap") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = encrypting(dir.path(), tier.clone());
    let raw = RawTier::of(&tier, dir.path());
    swap_and_restore(Store::open(&cfg).unwrap(), &raw, kind, rebuilt(cfg.clone()));
}

#[test]
fn swapped_and_restored_envelopes_fail_on_s3_tiers() {
    on_s3(Kind::CryptoOrReplaced);
}

#[test]
fn swapped_and_restored_envelopes_fail_with_the_crypto_kind_on_s3_tiers() {
    on_s3(Kind::Crypto);
}

fn on_memory(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = encrypting(dir.path(), memory_tier("mem"));
    let mut store = Store::open(&cfg).unwrap();
    let mut inner = None;
    store
        .wrap_tier("mem", |store| {
            inner = Some(store.clone());
            store
        })
        .unwrap();
    let raw = RawTier::Remote(inner.unwrap(), None);
    // A memory tier does not outlive its store: the index is rebuilt in place.
    swap_and_restore(store, &raw, kind, |store| {
        store.reindex().unwrap();
        store
    });
}

#[test]
fn swapped_and_restored_envelopes_fail_on_memory_tiers() {
    on_memory(Kind::CryptoOrReplaced);
}

#[test]
fn swapped_and_restored_envelopes_fail_with_the_crypto_kind_on_memory_tiers() {
    on_memory(Kind::Crypto);
}

/// Through the CLI: `strata get` of a swapped or restored object fails with one line and
/// prints nothing (to stdout or to `-o`); after `rm index.redb` the swap still fails.
fn through_the_cli(tier: TierConfig, kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let cfg = encrypting(&root, tier.clone());
    let file = config_file(&cfg, &dir.path().join("strata.toml"));
    let c = file.to_str().unwrap();
    let raw = RawTier::of(&tier, &root);
    let put = |key: &str, data: &[u8]| {
        let input = dir.path().join("input");
        std::fs::write(&input, data).unwrap();
        cli_ok(&["--config", c, "put", key, input.to_str().unwrap()]);
    };
    put("pii/a", A);
    put("pii/b", B);
    put("pii/c", C1);
    let old_c = raw.get("pii/c");
    put("pii/c", C2);
    raw.put("pii/a", raw.get("pii/b"));
    raw.put("pii/c", old_c);
    let out = dir.path().join("out");
    for key in ["pii/a", "pii/c"] {
        let err = cli_err(&["--config", c, "get", key]);
        assert!(err.contains(key), "{err}");
        if let Kind::Crypto = kind {
            assert!(err.contains("authentication"), "{err}");
        }
        cli_err(&["--config", c, "get", key, "-o", out.to_str().unwrap()]);
        assert!(!out.exists(), "get -o left a file");
    }
    assert_eq!(cli_ok(&["--config", c, "get", "pii/b"]), B);
    std::fs::remove_file(root.join(INDEX_FILE)).unwrap();
    let err = cli_err(&["--config", c, "get", "pii/a"]);
    assert!(err.contains("pii/a"), "{err}");
    assert_eq!(cli_ok(&["--config", c, "get", "pii/b"]), B);
    // Undetectable without the index (see the module docs).
    assert_eq!(cli_ok(&["--config", c, "get", "pii/c"]), C1);
}

#[test]
fn swapped_envelopes_fail_through_the_cli_on_local_tiers() {
    through_the_cli(local_tier("hot"), Kind::Crypto);
}

#[test]
fn swapped_envelopes_fail_through_the_cli_on_s3_tiers() {
    if let Some(tier) = s3_tier("cold", "crypto-swap-cli") {
        through_the_cli(tier, Kind::CryptoOrReplaced);
    }
}

#[test]
fn swapped_envelopes_fail_with_the_crypto_error_through_the_cli_on_s3_tiers() {
    if let Some(tier) = s3_tier("cold", "crypto-swap-cli") {
        through_the_cli(tier, Kind::Crypto);
    }
}

/// An envelope of format 1 (bound to no name) from an earlier strata, under the same key
/// ring, put in place of an object: refused while the index records the object.
#[test]
fn a_planted_format_1_envelope_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/envelope-v1");
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("keyring.toml");
    std::fs::copy(fixtures.join("keyring.toml"), &ring).unwrap();
    std::fs::set_permissions(&ring, std::fs::Permissions::from_mode(0o600)).unwrap();
    let tier = local_tier("hot");
    let cfg = encrypting(dir.path(), tier.clone());
    let store = Store::open(&cfg).unwrap();
    let planted = std::fs::read(fixtures.join("small.sealed")).unwrap();
    let plain = std::fs::read(fixtures.join("small.plain")).unwrap();
    store.put("pii/a", plain.clone()).unwrap();
    RawTier::of(&tier, dir.path()).put("pii/a", planted);
    let err = store.get("pii/a").unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Crypto | ErrorKind::Corrupt),
        "{err}"
    );
    assert!(err.to_string().contains("pii/a"), "{err}");
}
