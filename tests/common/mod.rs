//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

use strata::{LakeConfig, S3Config, TierConfig, TierKind};

/// Prints a skip reason where `cargo test` shows it (captured output would hide it). In CI an
/// outside part that is missing is a failure, not a skip.
pub fn skip(reason: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("CI must provide this outside part: {reason}");
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED: {reason}");
}

/// The vendored subset of the Apache parquet-testing corpus (tests/data/parquet-testing, see
/// its README.md): part of the repository, so the tests that read it always run.
pub fn parquet_testing() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/parquet-testing");
    assert!(
        dir.join("data").is_dir(),
        "the vendored parquet-testing corpus is missing at {}",
        dir.display()
    );
    dir
}

/// The loopback S3 server's settings, from the environment `.ci/run` sets.
pub fn s3_env() -> Option<(String, String)> {
    let endpoint = std::env::var("STRATA_TEST_S3_ENDPOINT").ok()?;
    let bucket = std::env::var("STRATA_TEST_S3_BUCKET").unwrap_or_else(|_| "strata-test".into());
    Some((endpoint, bucket))
}

/// An s3 tier under a fresh prefix of the test bucket, or None (with the skip printed).
pub fn s3_tier(name: &str, test: &str) -> Option<TierConfig> {
    let Some((endpoint, bucket)) = s3_env() else {
        skip(&format!(
            "{test}: no S3 server (set STRATA_TEST_S3_ENDPOINT; .ci/run starts moto_server)"
        ));
        return None;
    };
    Some(TierConfig {
        name: name.into(),
        kind: TierKind::S3(S3Config {
            bucket,
            endpoint: Some(endpoint),
            region: Some("us-east-1".into()),
            access_key_id: Some("testing".into()),
            secret_access_key: Some("testing".into()),
            allow_http: true,
            virtual_hosted_style: false,
            prefix: Some(format!("{test}-{}-{}", std::process::id(), unique())),
        }),
    })
}

pub fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

pub fn local_tier(name: &str) -> TierConfig {
    TierConfig {
        name: name.into(),
        kind: TierKind::Local { path: None },
    }
}

pub fn memory_tier(name: &str) -> TierConfig {
    TierConfig {
        name: name.into(),
        kind: TierKind::Memory,
    }
}

/// A config rooted at `dir` with `tiers` and no policies.
pub fn config(dir: &Path, tiers: Vec<TierConfig>) -> LakeConfig {
    LakeConfig {
        dir: dir.to_path_buf(),
        tiers,
        placement: vec![],
        lifecycle: vec![],
        retention: vec![],
        ..LakeConfig::default()
    }
}

/// Deterministic pseudo-random bytes.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn strata_bin() -> &'static str {
    env!("CARGO_BIN_EXE_strata")
}

/// The Python interpreter (`STRATA_PYTHON`, else `python3`) when it imports every module in
/// `modules`; otherwise prints the skip reason for `test` (a failure in CI) and returns None.
pub fn python_with(test: &str, modules: &[&str]) -> Option<String> {
    let python = std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = format!("import {}", modules.join(", "));
    match std::process::Command::new(&python)
        .args(["-c", &probe])
        .output()
    {
        Ok(out) if out.status.success() => Some(python),
        Ok(out) => {
            let reason = String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .to_string();
            skip(&format!("{test}: {python} cannot `{probe}` ({reason})"));
            None
        }
        Err(e) => {
            skip(&format!("{test}: cannot run {python} ({e})"));
            None
        }
    }
}

/// A Parquet file of `rows` rows (id Int64, name Utf8, value Float64) in row groups of
/// 20,000 rows.
pub fn parquet_bytes(rows: i64) -> Vec<u8> {
    let ids: arrow::array::ArrayRef =
        std::sync::Arc::new(arrow::array::Int64Array::from_iter_values(0..rows));
    let names: arrow::array::ArrayRef = std::sync::Arc::new(
        arrow::array::StringArray::from_iter_values((0..rows).map(|i| format!("name-{}", i % 977))),
    );
    let values: arrow::array::ArrayRef = std::sync::Arc::new(
        arrow::array::Float64Array::from_iter_values((0..rows).map(|i| i as f64 * 0.25)),
    );
    let batch = arrow::record_batch::RecordBatch::try_from_iter([
        ("id", ids),
        ("name", names),
        ("value", values),
    ])
    .unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(20_000))
        .build();
    let mut out = Vec::new();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    out
}
/// The mixed-type table of the format tests and benches.
pub mod mixed;
