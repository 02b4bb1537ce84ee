//! With the cold tier on the loopback S3 server, a demotion moves an object there: another S3
//! client sees it in the bucket, and `strata get` still returns it byte-identical.

mod common;

use std::process::Command;

use common::{bytes, local_tier, s3_env, s3_tier, skip, strata_bin};
use strata::{
    config::{LifecycleRule, TierKind},
    store::Store,
    LakeConfig,
};

#[test]
fn demotion_lands_in_the_bucket_and_reads_back() {
    let Some(cold) = s3_tier("cold", "demotion") else {
        return;
    };
    let (endpoint, bucket) = s3_env().unwrap();
    let TierKind::S3(s3) = &cold.kind else {
        unreachable!()
    };
    let prefix = s3.prefix.clone().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut config = LakeConfig::local(dir.path().join("root"));
    config.tiers = vec![local_tier("hot"), cold];
    config.lifecycle = vec![LifecycleRule {
        prefix: "archive/".into(),
        demote_after_age: Some(std::time::Duration::ZERO),
        demote_after_idle: None,
        promote_after_reads: None,
        promote_window: None,
        demote_to: None,
    }];
    let cfg_path = dir.path().join("strata.toml");
    std::fs::write(&cfg_path, config.to_toml_string().unwrap()).unwrap();

    let data = bytes(20 << 20, 42); // above the multipart threshold on the way to S3
    {
        let store = Store::open(&config).unwrap();
        store.put("archive/2026/big.bin", data.clone()).unwrap();
        store.put("hot/stays.txt", b"hot".to_vec()).unwrap();
    }
    let cfg = cfg_path.to_str().unwrap();
    let run = Command::new(strata_bin())
        .args(["--config", cfg, "tier", "run", "--json"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["moved"], 1, "{report}");

    // Another S3 client (boto3) sees the object in the bucket, with the right size.
    let key = format!("{prefix}/archive/2026/big.bin");
    let script = format!(
        "import boto3\ns3 = boto3.client('s3', endpoint_url={endpoint:?}, aws_access_key_id='testing', \
         aws_secret_access_key='testing', region_name='us-east-1')\n\
         print(s3.head_object(Bucket={bucket:?}, Key={key:?})['ContentLength'])\n"
    );
    match Command::new("python3").args(["-c", &script]).output() {
        Ok(out) if out.status.success() => {
            let size: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
            assert_eq!(size, data.len() as u64);
        }
        Ok(out) => {
            let err = String::from_utf8_lossy(&out.stderr);
            if err.contains("No module named 'boto3'") {
                skip("boto3 is not installed; the bucket check needs another S3 client");
            } else {
                panic!("boto3 could not see the object: {err}");
            }
        }
        Err(e) => skip(&format!("python3 not runnable: {e}")),
    }
    // The hot tier no longer holds it.
    assert!(!dir.path().join("root/hot/archive/2026/big.bin").exists());

    let out_file = dir.path().join("back.bin");
    let get = Command::new(strata_bin())
        .args([
            "--config",
            cfg,
            "get",
            "archive/2026/big.bin",
            "-o",
            out_file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        get.status.success(),
        "{}",
        String::from_utf8_lossy(&get.stderr)
    );
    assert!(std::fs::read(&out_file).unwrap() == data);

    let stat = Command::new(strata_bin())
        .args(["--config", cfg, "stat", "archive/2026/big.bin", "--json"])
        .output()
        .unwrap();
    let stat: serde_json::Value = serde_json::from_slice(&stat.stdout).unwrap();
    assert_eq!(stat["tier"], "cold");
}
