//! Delta tables on S3, against the loopback S3 server: a lake whose tables live on an S3 tier
//! (every operation, read through the block cache, and read by the Python `deltalake` package
//! straight from the bucket), a table at an `s3://bucket/prefix` outside the lake, and writers
//! racing to append to one table (each commit is a create-if-absent PUT, so no version is
//! written twice and no commit is lost). Skipped locally without an S3 server; a failure in CI.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use arrow::array::{AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::Int64Type;
use strata::config::{CacheConfig, S3Config, TierKind};
use strata::table::{AsOf, MergeOptions, TableOptions};
use strata::{Expr, Lake};

fn trips(ids: std::ops::Range<i64>) -> RecordBatch {
    let zones = ["JFK", "LGA", "EWR"];
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(ids.clone())) as _,
        ),
        (
            "zone",
            Arc::new(StringArray::from_iter_values(
                ids.map(|i| zones[(i % 3) as usize]),
            )) as _,
        ),
    ])
    .unwrap()
}

fn ids(scan: strata::Scan) -> Vec<i64> {
    let out = scan.run().unwrap();
    let mut ids: Vec<i64> = out
        .batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("id")
                .unwrap()
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect();
    ids.sort_unstable();
    ids
}

fn s3_settings(tier: &strata::config::TierConfig) -> S3Config {
    match &tier.kind {
        TierKind::S3(s3) => s3.clone(),
        _ => unreachable!(),
    }
}

#[test]
fn a_lake_on_s3_keeps_its_tables_in_the_bucket() {
    let Some(tier) = common::s3_tier("s3", "table_s3_lake") else {
        return;
    };
    let s3 = s3_settings(&tier);
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), vec![tier]);
    // The S3 tier is cached (it is not the first local tier): reads go through the block cache.
    config.cache = CacheConfig {
        tiers: Some(vec!["s3".into()]),
        ..config.cache.clone()
    };
    let lake = Lake::open(&config).unwrap();
    let table = lake.table("bronze/trips").unwrap();
    assert!(table.dir().is_none());
    let location = table.location();
    let prefix = s3.prefix.clone().unwrap();
    assert_eq!(
        location,
        format!("s3://{}/{prefix}/tables/bronze/trips/", s3.bucket)
    );
    assert!(!table.exists().unwrap());

    let options = TableOptions {
        partition_by: vec!["zone".into()],
        ..TableOptions::default()
    };
    let c0 = table
        .create(&trips(0..30).schema(), &[trips(0..30)], &options)
        .unwrap();
    assert_eq!((c0.version, c0.rows, c0.files_added), (0, 30, 3));
    assert!(table.exists().unwrap());
    let c1 = table.append(&[trips(30..60)]).unwrap();
    assert_eq!(c1.version, 1);
    assert_eq!(ids(table.scan().unwrap()), (0..60).collect::<Vec<_>>());
    assert_eq!(
        ids(table.scan_as_of(AsOf::Version(0)).unwrap()),
        (0..30).collect::<Vec<_>>()
    );
    // Partition pruning and a filter on S3 as in a directory.
    let jfk = table
        .scan()
        .unwrap()
        .filter(Expr::parse("zone = 'JFK' AND id >= 30").unwrap());
    let out = jfk.run().unwrap();
    let rows: usize = out.batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 10);
    assert!(out.stats.files_skipped >= 2, "{:?}", out.stats);
    // The second scan of the same files is served from the block cache.
    let before = lake.cache_stats();
    ids(table.scan().unwrap());
    let after = lake.cache_stats();
    assert!(
        after.blocks.hits > before.blocks.hits,
        "{before:?} -> {after:?}"
    );

    // replaceWhere, history, info, listing, restore and vacuum work on S3 too.
    let replaced: Vec<i64> = (0..60).filter(|i| i % 3 == 0).collect();
    let c2 = table
        .overwrite_where(
            "zone = 'JFK'",
            &[RecordBatch::try_from_iter([
                ("id", Arc::new(Int64Array::from(vec![1000])) as _),
                ("zone", Arc::new(StringArray::from(vec!["JFK"])) as _),
            ])
            .unwrap()],
        )
        .unwrap();
    assert_eq!(c2.version, 2);
    let now = ids(table.scan().unwrap());
    assert!(now.contains(&1000));
    assert!(replaced.iter().all(|i| !now.contains(i)));
    assert_eq!(now.len(), 41);
    let history = table.history().unwrap();
    assert_eq!(
        history.iter().map(|h| h.version).collect::<Vec<_>>(),
        vec![2, 1, 0]
    );
    let info = table.info(AsOf::Latest).unwrap();
    assert_eq!((info.version, info.rows), (2, Some(41)));
    assert_eq!(info.location, location);
    assert_eq!(
        lake.tables(None)
            .unwrap()
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>(),
        vec!["bronze/trips"]
    );
    let restored = table.restore(1).unwrap();
    assert_eq!(restored.version, 3);
    assert_eq!(ids(table.scan().unwrap()), (0..60).collect::<Vec<_>>());
    let vacuum = table
        .vacuum(std::time::Duration::from_secs(0), true, true)
        .unwrap();
    assert!(vacuum.dry_run);
    // The files replaceWhere rewrote are not in version 3 (restored to 1): the rewritten ones
    // and the new row's file are the ones version 3 removed.
    assert!(!vacuum.files.is_empty(), "{vacuum:?}");
    let done = table
        .vacuum(std::time::Duration::from_secs(0), false, true)
        .unwrap();
    assert_eq!(done.files, vacuum.files);
    assert_eq!(ids(table.scan().unwrap()), (0..60).collect::<Vec<_>>());

    // Row-level changes: a delete streams each file it rewrites through a local staging file
    // into the bucket; a merge that sets the partition column writes through the partitioned
    // writer.
    let d = table.delete("id >= 50 AND id < 55").unwrap();
    assert_eq!((d.rows_deleted, d.files_removed), (5, 3), "{d:?}");
    let m = table
        .merge(
            &[trips(45..65)],
            &MergeOptions {
                on: vec!["id".into()],
                ..MergeOptions::default()
            },
        )
        .unwrap();
    assert_eq!((m.rows_updated, m.rows_inserted), (10, 10), "{m:?}");
    assert_eq!(ids(table.scan().unwrap()), (0..65).collect::<Vec<_>>());

    // Other engines read the table straight from the bucket.
    delta_rs_reads_from_s3(&s3, &location, 65);
}

/// The Python deltalake package reads the table at `url` from the test bucket and finds `rows`.
fn delta_rs_reads_from_s3(s3: &S3Config, url: &str, rows: usize) {
    let Some(python) = common::python_with("table_s3", &["deltalake", "pyarrow"]) else {
        return;
    };
    let script = r#"
import json, sys, os
from deltalake import DeltaTable
opts = {"AWS_ENDPOINT_URL": sys.argv[2], "AWS_ALLOW_HTTP": "true", "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
dt = DeltaTable(sys.argv[1], storage_options=opts)
t = dt.to_pyarrow_table()
print(json.dumps({"rows": t.num_rows, "version": dt.version()}), flush=True)
os._exit(0)
"#;
    let out = Command::new(python)
        .args(["-c", script, url, s3.endpoint.as_deref().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "deltalake could not read {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read["rows"], rows, "{read}");
}

#[test]
fn a_table_at_an_s3_uri_is_read_and_written_in_place() {
    let Some(tier) = common::s3_tier("s3", "table_s3_uri") else {
        return;
    };
    let s3 = s3_settings(&tier);
    let dir = tempfile::tempdir().unwrap();
    // A lake of a local tier and an S3 tier: tables of the lake live locally, but an s3://
    // location is reached with the S3 tier's settings.
    let config = common::config(dir.path(), vec![common::local_tier("hot"), tier]);
    let lake = Lake::open(&config).unwrap();
    let uri = format!("s3://{}/{}-outside/events", s3.bucket, s3.prefix.unwrap());
    let table = lake.table_at(&uri).unwrap();
    table
        .create(
            &trips(0..10).schema(),
            &[trips(0..10)],
            &TableOptions::default(),
        )
        .unwrap();
    table.append(&[trips(10..20)]).unwrap();
    // A second handle (as another process would) sees both commits.
    let again = lake.table_at(&uri).unwrap();
    assert_eq!(again.version().unwrap(), 1);
    assert_eq!(ids(again.scan().unwrap()), (0..20).collect::<Vec<_>>());
    // The lake's own tables stay in its local tier.
    assert!(lake.table("raw/x").unwrap().dir().is_some());
    // A bad location is an error naming it.
    for bad in ["s3://", "s3://bucket-only", "gs://b/p"] {
        let err = lake.table_at(bad).unwrap_err();
        assert!(err.to_string().contains(bad), "{err}");
    }
    // The command line takes the URI wherever it takes a table name (the lake is one
    // process's at a time).
    drop((table, again, lake));
    let config_file = common::config_file(&config, &dir.path().join("strata.toml"));
    let out = common::cli_ok(&[
        "--config".as_ref(),
        config_file.as_os_str(),
        "table".as_ref(),
        "show".as_ref(),
        uri.as_ref(),
        "--json".as_ref(),
    ]);
    let show: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(show["version"], 1, "{show}");
    assert_eq!(show["rows"], 20, "{show}");
}

/// A loopback S3 server that handles one request at a time (moto's own server is threaded and
/// checks `If-None-Match` apart from the put, so two racing PUTs can both win there; real S3
/// and MinIO do the check atomically). Killed on drop.
struct SerialS3 {
    child: Child,
    endpoint: String,
}

impl Drop for SerialS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SERIAL_MOTO: &str = r#"
import threading, boto3
from werkzeug.serving import make_server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=False)
worker = threading.Thread(target=server.serve_forever, daemon=True)
worker.start()
endpoint = "http://127.0.0.1:%d" % server.server_port
boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
             aws_secret_access_key="testing").create_bucket(Bucket="race")
print(endpoint, flush=True)
worker.join()
"#;

fn serial_s3() -> Option<SerialS3> {
    common::s3_env()?;
    let python = common::python_with("table_s3 race", &["moto", "werkzeug", "boto3"])?;
    let mut child = Command::new(python)
        .args(["-c", SERIAL_MOTO])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("http://"),
        "the serial S3 server: {line:?}"
    );
    Some(SerialS3 {
        child,
        endpoint: line.trim().to_string(),
    })
}

#[test]
fn writers_racing_on_s3_never_write_one_version_twice() {
    let Some(server) = serial_s3() else {
        if common::s3_env().is_none() {
            common::skip("table_s3 race: no S3 server (set STRATA_TEST_S3_ENDPOINT)");
        }
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tier = strata::config::TierConfig {
        name: "s3".into(),
        kind: TierKind::S3(S3Config {
            bucket: "race".into(),
            endpoint: Some(server.endpoint.clone()),
            region: Some("us-east-1".into()),
            access_key_id: Some("testing".into()),
            secret_access_key: Some("testing".into()),
            allow_http: true,
            virtual_hosted_style: false,
            prefix: Some("lake".into()),
        }),
    };
    let config = common::config(dir.path(), vec![tier]);
    let lake = Lake::open(&config).unwrap();
    let table = lake.table("raw/race").unwrap();
    table
        .create(
            &trips(0..1).schema(),
            &[trips(0..1)],
            &TableOptions::default(),
        )
        .unwrap();
    const WRITERS: i64 = 4;
    const APPENDS: i64 = 5;
    let versions: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let lake = lake.clone();
                s.spawn(move || {
                    // Each writer has its own handle, as a separate process would.
                    let table = lake.table("raw/race").unwrap();
                    (0..APPENDS)
                        .map(|a| {
                            let first = 1 + (w * APPENDS + a) * 10;
                            table.append(&[trips(first..first + 10)]).unwrap().version
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut sorted = versions.clone();
    sorted.sort_unstable();
    let expected: Vec<u64> = (1..=(WRITERS * APPENDS) as u64).collect();
    assert_eq!(sorted, expected, "each append made its own version");
    let all = ids(table.scan().unwrap());
    assert_eq!(all.len() as i64, 1 + WRITERS * APPENDS * 10);
    assert_eq!(all, (0..1 + WRITERS * APPENDS * 10).collect::<Vec<_>>());
    assert_eq!(table.history().unwrap().len() as i64, 1 + WRITERS * APPENDS);
}
