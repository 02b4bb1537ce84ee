//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod crash;

use std::io::Write;
use std::path::Path;

use strata::{
    config::{S3Config, TierConfig, TierKind},
    LakeConfig,
};

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
        // Another test's child process, forked while this test dropped a store, holds a copy
        // of the lock file's descriptor until it execs: wait that moment out instead of
        // failing with Busy.
        lock_timeout: std::time::Duration::from_secs(10),
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

/// A local tier at `path` (relative paths are taken from the data root).
pub fn local_tier_at(name: &str, path: impl Into<std::path::PathBuf>) -> TierConfig {
    TierConfig {
        name: name.into(),
        kind: TierKind::Local {
            path: Some(path.into()),
        },
    }
}

/// Everything under `dir`, without following links: relative path -> kind, mode and content
/// hash (or link target). Compare two snapshots to show that nothing was touched.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            let what = if meta.file_type().is_symlink() {
                format!("link -> {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                todo.push(path.clone());
                format!("dir {mode:o}")
            } else {
                let data = std::fs::read(&path).unwrap();
                format!("file {mode:o} {}", blake3::hash(&data).to_hex())
            };
            out.insert(rel, what);
        }
    }
    out
}

/// Runs the `strata` binary with `args`.
pub fn cli<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    std::process::Command::new(strata_bin())
        .args(args)
        .output()
        .unwrap()
}

/// The stdout of a `strata` run that must succeed.
pub fn cli_ok<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Vec<u8> {
    let out = cli(args);
    assert!(
        out.status.success(),
        "strata {:?} failed: {}",
        args.iter()
            .map(|a| a.as_ref().to_owned())
            .collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The error line of a `strata` run that must fail: a non-zero exit, nothing on stdout and
/// exactly one line on stderr, `strata: error: ...`.
pub fn cli_err<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_owned()).collect();
    let out = cli(args);
    assert!(!out.status.success(), "strata {shown:?} succeeded");
    assert!(
        out.stdout.is_empty(),
        "strata {shown:?} printed {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "strata {shown:?}: not one line: {err}"
    );
    assert!(err.starts_with("strata: error: "), "{err}");
    err.trim_end().to_string()
}

/// Writes `config` as TOML beside its data root and returns the file.
pub fn config_file(config: &LakeConfig, path: &Path) -> std::path::PathBuf {
    std::fs::write(path, config.to_toml_string().unwrap()).unwrap();
    path.to_path_buf()
}

/// A tier's stored bytes reached around strata, as an attacker with access to the disk or the
/// bucket would: a local directory, or an object store (with the tier's prefix).
pub enum RawTier {
    Dir(std::path::PathBuf),
    Remote(
        std::sync::Arc<dyn object_store::ObjectStore>,
        Option<String>,
    ),
}

impl RawTier {
    /// The raw side of `tier` in a data root `root` (local or S3 tiers).
    pub fn of(tier: &TierConfig, root: &Path) -> RawTier {
        match &tier.kind {
            TierKind::Local { path } => RawTier::Dir(match path {
                Some(p) if p.is_absolute() => p.clone(),
                Some(p) => root.join(p),
                None => root.join(&tier.name),
            }),
            TierKind::S3(s3) => {
                let store = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(&s3.bucket)
                    .with_endpoint(s3.endpoint.clone().unwrap())
                    .with_region("us-east-1")
                    .with_access_key_id("testing")
                    .with_secret_access_key("testing")
                    .with_allow_http(true)
                    .build()
                    .unwrap();
                RawTier::Remote(std::sync::Arc::new(store), s3.prefix.clone())
            }
            TierKind::Memory => panic!("a memory tier has no raw side outside its store"),
        }
    }

    fn path(prefix: &Option<String>, key: &str) -> object_store::path::Path {
        match prefix {
            Some(p) => object_store::path::Path::from(format!("{p}/{key}")),
            None => object_store::path::Path::from(key),
        }
    }

    /// The stored bytes of `key` (a plain ASCII key, stored under its own name).
    pub fn get(&self, key: &str) -> Vec<u8> {
        use object_store::ObjectStoreExt;
        match self {
            RawTier::Dir(dir) => std::fs::read(dir.join(key)).unwrap(),
            RawTier::Remote(store, prefix) => {
                let rt = tokio::runtime::Runtime::new().unwrap();
                rt.block_on(async {
                    let got = store.get(&Self::path(prefix, key)).await.unwrap();
                    got.bytes().await.unwrap().to_vec()
                })
            }
        }
    }

    /// Overwrites the stored bytes of `key` with `data`.
    pub fn put(&self, key: &str, data: Vec<u8>) {
        use object_store::ObjectStoreExt;
        match self {
            RawTier::Dir(dir) => std::fs::write(dir.join(key), data).unwrap(),
            RawTier::Remote(store, prefix) => {
                let rt = tokio::runtime::Runtime::new().unwrap();
                rt.block_on(store.put(&Self::path(prefix, key), data.into()))
                    .unwrap();
            }
        }
    }
}

/// The mixed-type table of the format tests and benches.
pub mod mixed;

/// The python of `.ci/venv-delta` (duckdb 1.5.5 with its delta extension) when it imports
/// duckdb and the extension's package; otherwise prints the skip reason for `test` (a failure
/// in CI) and returns None, as `python_with` does for the system python.
pub fn duckdb_python(test: &str) -> Option<std::path::PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/venv-delta/bin/python");
    let probe = "import duckdb, duckdb_extension_delta";
    match std::process::Command::new(&python)
        .args(["-c", probe])
        .output()
    {
        Ok(out) if out.status.success() => Some(python),
        Ok(out) => {
            let reason = String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .to_string();
            skip(&format!(
                "{test}: {} cannot `{probe}` ({reason}); `bash .ci/run` makes the venv",
                python.display()
            ));
            None
        }
        Err(e) => {
            skip(&format!(
                "{test}: cannot run {} ({e}); `bash .ci/run` makes the venv",
                python.display()
            ));
            None
        }
    }
}

/// `{"ids", "zones", "rows", "records"}` of the Delta table at `path` (version `version` when
/// given), as DuckDB's `delta_scan` reads it (tests/interop/duckdb_delta_read.py).
pub fn duckdb_reads(python: &Path, path: &Path, version: Option<u64>) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/duckdb_delta_read.py");
    let mut cmd = std::process::Command::new(python);
    cmd.arg(&script).arg(path);
    if let Some(v) = version {
        cmd.arg(v.to_string());
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "DuckDB could not read {} (version {version:?}): {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: DuckDB printed {:?}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
