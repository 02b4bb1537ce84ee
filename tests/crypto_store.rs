//! Encrypted objects in the store: policy and per-call encryption, no plaintext on disk or in
//! the bucket, ranged reads, moves, rotation, retirement, reindex and the CLI.

mod common;

use std::process::Command;

use common::{config, local_tier, s3_tier, strata_bin};
use strata::{config::LifecycleRule, store::Store, ErrorKind, LakeConfig, PutOptions, RunOptions};

const MARKER: &[u8] = b"PLAINTEXT-MARKER-7f3a";

fn secret_data(len: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(len);
    while data.len() < len {
        data.extend_from_slice(MARKER);
        data.extend_from_slice(format!("-{}-", data.len()).as_bytes());
    }
    data.truncate(len);
    data
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                out.extend(files(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

fn demote_all() -> Vec<LifecycleRule> {
    vec![LifecycleRule {
        prefix: "".into(),
        demote_after_age: Some(std::time::Duration::ZERO),
        demote_after_idle: None,
        promote_after_reads: None,
        promote_window: None,
        demote_to: None,
    }]
}

#[test]
fn policy_and_per_call_encryption_leave_no_plaintext_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), vec![local_tier("hot"), local_tier("cold")]);
    cfg.encryption.prefixes = vec!["secret/".into()];
    let store = Store::open(&cfg).unwrap();
    let data = secret_data(300_000);
    let info = store.put("secret/a", data.clone()).unwrap();
    assert!(info.key_id.is_some());
    assert_eq!(
        info.envelope_version,
        Some(strata::crypto::ENVELOPE_VERSION)
    );
    assert_eq!(info.size, 300_000);
    assert!(info.stored_size > info.size);
    let forced = store
        .put_with(
            "plain/b",
            data.clone(),
            &PutOptions {
                encrypt: Some(true),
            },
        )
        .unwrap();
    assert!(forced.key_id.is_some());
    let clear = store.put("plain/c", b"not secret".to_vec()).unwrap();
    assert!(clear.key_id.is_none());
    let streamed = store
        .put_reader_with(
            "secret/streamed",
            &mut &data[..],
            None,
            &PutOptions::default(),
        )
        .unwrap();
    assert_eq!(streamed.size, 300_000);

    for key in ["secret/a", "plain/b", "secret/streamed"] {
        assert!(store.get(key).unwrap()[..] == data[..], "{key}");
        for (start, end) in [
            (0u64, 1u64),
            (65_530, 65_545),
            (299_990, 300_000),
            (1000, 1000),
        ] {
            let got = store.get_range(key, start..end).unwrap();
            assert_eq!(
                &got[..],
                &data[start as usize..end as usize],
                "{key} {start}..{end}"
            );
        }
        assert_eq!(
            store.get_range(key, 0..300_001).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        let mut out = Vec::new();
        store.get_to(key, &mut out).unwrap();
        assert!(out == data);
    }

    // Moves carry the ciphertext; nothing on disk holds the marker, in either tier.
    let mut moving = cfg.clone();
    moving.lifecycle = demote_all();
    drop(store);
    let store = Store::open(&moving).unwrap();
    let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(report.failed, 0);
    assert_eq!(store.stat("secret/a").unwrap().tier, "cold");
    assert!(store.get("secret/a").unwrap()[..] == data[..]);
    for file in files(dir.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !contains(&bytes, MARKER),
            "plaintext found in {}",
            file.display()
        );
    }

    // Reindex recognizes envelopes.
    std::fs::remove_file(dir.path().join(strata::store::INDEX_FILE)).unwrap();
    drop(store);
    let store = Store::open(&cfg).unwrap();
    let stat = store.stat("secret/a").unwrap();
    assert_eq!(
        (stat.size, stat.envelope_version),
        (300_000, Some(strata::crypto::ENVELOPE_VERSION))
    );
    assert!(store.get("secret/a").unwrap()[..] == data[..]);
}

#[test]
fn rotation_rewraps_and_retire_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let mut cfg = LakeConfig::local(&root);
    cfg.encryption.prefixes = vec!["s/".into()];
    let data = secret_data(10_000);
    let first_key = {
        let store = Store::open(&cfg).unwrap();
        for i in 0..20 {
            store.put(&format!("s/{i}"), data.clone()).unwrap();
        }
        store.stat("s/0").unwrap().key_id.unwrap()
    };
    let run = |args: &[&str]| {
        let out = Command::new(strata_bin())
            .arg("--dir")
            .arg(&root)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, _, err) = run(&["key", "retire", &first_key]);
    assert!(!ok && err.contains("still protects 20 objects"), "{err}");
    let (ok, out, err) = run(&["key", "rotate", "--json"]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["rewrapped"], 20);
    let new_key = report["key_id"].as_str().unwrap().to_string();
    let (ok, out, _) = run(&["key", "list", "--json"]);
    assert!(ok);
    let keys: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = |id: &str| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(row(&first_key)["objects"], 0);
    assert_eq!(row(&new_key)["objects"], 20);
    assert_eq!(row(&new_key)["active"], true);
    let (ok, _, err) = run(&["key", "retire", &first_key]);
    assert!(ok, "{err}");
    let store = Store::open(&cfg).unwrap();
    for i in 0..20 {
        assert!(store.get(&format!("s/{i}")).unwrap()[..] == data[..]);
    }
    assert_eq!(
        store.stat("s/3").unwrap().key_id.as_deref(),
        Some(new_key.as_str())
    );
    // A put made now, under the new key, blocks retiring it.
    drop(store);
    let (ok, _, err) = run(&["key", "retire", &new_key]);
    assert!(!ok, "{err}");
}

#[test]
fn cli_put_encrypt_and_stat_show_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let input = dir.path().join("in.bin");
    let data = secret_data(5000);
    std::fs::write(&input, &data).unwrap();
    let out = Command::new(strata_bin())
        .args([
            "--dir",
            root.to_str().unwrap(),
            "put",
            "--encrypt",
            "x",
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stat = Command::new(strata_bin())
        .args(["--dir", root.to_str().unwrap(), "stat", "x"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&stat.stdout);
    assert!(
        text.contains("AES-256-GCM envelope format 2, key k"),
        "{text}"
    );
    let got = Command::new(strata_bin())
        .args(["--dir", root.to_str().unwrap(), "get", "x"])
        .output()
        .unwrap();
    assert!(got.stdout == data);
    assert!(!contains(
        &std::fs::read(root.join("hot/x")).unwrap(),
        MARKER
    ));
    // The key ring is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(root.join("keyring.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }
}

#[test]
fn the_bucket_holds_only_ciphertext() {
    let Some(cold) = s3_tier("cold", "crypto") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), vec![local_tier("hot"), cold]);
    cfg.encryption.tiers = vec!["hot".into()];
    cfg.lifecycle = demote_all();
    let store = Store::open(&cfg).unwrap();
    let data = secret_data(200_000);
    store.put("s3/secret", data.clone()).unwrap();
    store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(store.stat("s3/secret").unwrap().tier, "cold");
    assert!(store.get("s3/secret").unwrap()[..] == data[..]);
    assert_eq!(
        &store.get_range("s3/secret", 70_000..70_100).unwrap()[..],
        &data[70_000..70_100]
    );
    // Read the raw object back with a separate client.
    let strata::config::TierKind::S3(s3) = &cfg.tiers[1].kind else {
        unreachable!()
    };
    let raw = raw_s3_get(s3, "s3/secret");
    assert!(raw.len() > data.len());
    assert!(!contains(&raw, MARKER), "plaintext in the bucket");
}

fn raw_s3_get(s3: &strata::config::S3Config, key: &str) -> Vec<u8> {
    use object_store::ObjectStoreExt;
    let store = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&s3.bucket)
        .with_endpoint(s3.endpoint.clone().unwrap())
        .with_region("us-east-1")
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .with_allow_http(true)
        .build()
        .unwrap();
    let path = object_store::path::Path::from(format!("{}/{key}", s3.prefix.clone().unwrap()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        store
            .get(&path)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec()
    })
}

#[test]
fn a_move_into_an_encrypting_tier_seals_the_object() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), vec![local_tier("hot"), local_tier("cold")]);
    cfg.encryption.tiers = vec!["cold".into()];
    let store = Store::open(&cfg).unwrap();
    let data = secret_data(2_000_000);
    let put = store.put("logs/big", data.clone()).unwrap();
    assert!(put.key_id.is_none(), "the hot tier does not encrypt");
    drop(store);

    cfg.lifecycle = demote_all();
    let store = Store::open(&cfg).unwrap();
    let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert_eq!((report.moved, report.failed), (1, 0));
    let stat = store.stat("logs/big").unwrap();
    assert_eq!(stat.tier, "cold");
    assert!(
        stat.key_id.is_some() && stat.envelope_version == Some(strata::crypto::ENVELOPE_VERSION)
    );
    assert_eq!(stat.size, 2_000_000);
    assert!(stat.stored_size > stat.size);
    assert_ne!(
        stat.checksum, put.checksum,
        "the checksum is of the stored envelope"
    );
    assert!(store.get("logs/big").unwrap()[..] == data[..]);
    assert_eq!(
        &store.get_range("logs/big", 1_500_000..1_500_100).unwrap()[..],
        &data[1_500_000..1_500_100]
    );
    for file in files(dir.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!contains(&bytes, MARKER), "plaintext in {}", file.display());
    }
    // The sealed copy survives a rebuild of the index.
    drop(store);
    std::fs::remove_file(dir.path().join(strata::store::INDEX_FILE)).unwrap();
    let store = Store::open(&cfg).unwrap();
    assert!(store.get("logs/big").unwrap()[..] == data[..]);
}

#[test]
fn a_tampered_object_on_disk_gives_an_error_and_no_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), vec![local_tier("hot")]);
    let store = Store::open(&cfg).unwrap();
    // Many chunks, so a flip near the end leaves most of the object authentic.
    let data = secret_data(2_000_000);
    let put = PutOptions {
        encrypt: Some(true),
    };
    store.put_with("s/t", data.clone(), &put).unwrap();
    let sealed: Vec<_> = files(dir.path())
        .into_iter()
        .filter(|f| std::fs::read(f).is_ok_and(|b| b.starts_with(b"STRENC")))
        .collect();
    assert_eq!(sealed.len(), 1, "{sealed:?}");
    let mut bytes = std::fs::read(&sealed[0]).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x40;
    // Replaced by rename, as a tier writes, so no reader sees a half-written file.
    let tmp = sealed[0].with_extension("tmp");
    std::fs::write(&tmp, &bytes).unwrap();
    std::fs::rename(&tmp, &sealed[0]).unwrap();

    assert!(store.get("s/t").is_err());
    let mut out = Vec::new();
    let err = store.get_to("s/t", &mut out).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Crypto | ErrorKind::Corrupt),
        "{err}"
    );
    assert!(out.is_empty(), "{} bytes of plaintext written", out.len());
}
