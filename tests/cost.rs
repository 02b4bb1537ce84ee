//! The storage cost model (`[cost]`, `Lake::cost_report`, `strata cost`, the cost change a
//! `strata tier run --dry-run` shows): bad price tables are errors naming the field, and a
//! report computed from real bytes and counted requests matches the arithmetic by hand.

mod common;

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use common::{config, local_tier};
use strata::config::{LifecycleRule, PlacementRule, BUILTIN_PRICES};
use strata::table::TableOptions;
use strata::{ErrorKind, Lake, LakeConfig};

const TIERS: &str =
    "[[tiers]]\nname = 'hot'\nkind = 'local'\n[[tiers]]\nname = 'cold'\nkind = 'local'\n";

fn refused(cost: &str) -> String {
    let err = LakeConfig::from_toml_str(&format!("{TIERS}{cost}")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    err.to_string()
}

#[test]
fn bad_price_tables_are_errors_naming_the_field() {
    let cases = [
        (
            "[cost.tiers]\ncold = { provider = 'awz', class = 's3-standard' }\n",
            &["cost.tiers.cold", "provider", "awz"][..],
        ),
        (
            "[cost.tiers]\ncold = { provider = 'aws', class = 's3-glacier' }\n",
            &["cost.tiers.cold", "class", "s3-glacier", "s3-glacier-ir"],
        ),
        (
            "[cost.prices.aws.s3-standard]\nstorage_gb_month = -0.023\n",
            &["cost.prices.aws.s3-standard.storage_gb_month", "-0.023"],
        ),
        (
            "[cost.prices.gcs.archive]\nstorage_gb_month = 0.0012\n",
            &["cost.prices.gcs.archive", "coldline"],
        ),
        (
            "[cost.prices.wasabi.hot]\negress_per_gb = nan\n",
            &["cost.prices.wasabi.hot.egress_per_gb"],
        ),
        (
            "[cost]\nlocal = { storage_gb_month = -1 }\n",
            &["cost.local.storage_gb_month"],
        ),
        (
            "[cost.tiers]\nwarm = { provider = 'aws', class = 's3-standard' }\n",
            &["cost.tiers.warm", "no tier"],
        ),
        (
            "[cost]\nprices_as_of = 'last tuesday'\n",
            &["cost.prices_as_of"],
        ),
        (
            "[cost.prices.aws.s3-standard]\nstorage_per_gb = 0.02\n",
            &["storage_per_gb"],
        ),
        (
            "[cost.tiers]\ncold = { provider = 'local', class = 'ssd' }\n",
            &["cost.tiers.cold", "class", "ssd"],
        ),
    ];
    for (text, needles) in cases {
        let err = refused(text);
        for needle in needles {
            assert!(err.contains(needle), "{text}: {err:?} lacks {needle:?}");
        }
    }
    // A provider of one's own is fine once its class is priced.
    let ok = LakeConfig::from_toml_str(&format!(
        "{TIERS}[cost.tiers]\ncold = {{ provider = 'wasabi', class = 'hot' }}\n\
         [cost.prices.wasabi.hot]\nstorage_gb_month = 0.0069\n"
    ))
    .unwrap();
    let (provider, class, price) = ok.cost.price_of(&ok.tiers[1]).unwrap();
    assert_eq!((provider.as_str(), class.as_str()), ("wasabi", "hot"));
    assert_eq!(price.storage_gb_month, 0.0069);
    assert_eq!(price.egress_per_gb, 0.0);
    // And it survives the round trip through TOML.
    let back = LakeConfig::from_toml_str(&ok.to_toml_string().unwrap()).unwrap();
    assert_eq!(back, ok);
}

#[test]
fn the_built_in_table_has_every_class_the_issue_names() {
    for (provider, class) in [
        ("aws", "s3-standard"),
        ("aws", "s3-standard-ia"),
        ("aws", "s3-glacier-ir"),
        ("gcs", "standard"),
        ("gcs", "nearline"),
        ("gcs", "coldline"),
        ("azure", "hot"),
        ("azure", "cool"),
        ("azure", "archive"),
    ] {
        let (_, _, p) = BUILTIN_PRICES
            .iter()
            .find(|(pr, c, _)| *pr == provider && *c == class)
            .unwrap_or_else(|| panic!("{provider}/{class} missing"));
        assert!(p.storage_gb_month > 0.0 && p.write_requests_per_1000 > 0.0);
    }
    // Colder classes store for less and charge more to read.
    let get = |c: &str| BUILTIN_PRICES.iter().find(|(_, k, _)| *k == c).unwrap().2;
    assert!(get("s3-glacier-ir").storage_gb_month < get("s3-standard").storage_gb_month);
    assert!(get("s3-glacier-ir").retrieval_per_gb > get("s3-standard").retrieval_per_gb);
    // The date is stated and overridable.
    let config = LakeConfig::from_toml_str("[cost]\nprices_as_of = '2026-12-01'\n").unwrap();
    assert_eq!(config.cost.prices_as_of(), "2026-12-01");
    assert_eq!(
        LakeConfig::default().cost.prices_as_of(),
        strata::config::PRICES_AS_OF
    );
}

/// hot: local disk at $0.01/GB-month; cold: a local directory billed as S3 Standard-IA, with
/// its storage price overridden to $0.0125 exactly.
fn priced_config(dir: &std::path::Path) -> LakeConfig {
    let mut cfg = config(dir, vec![local_tier("hot"), local_tier("cold")]);
    cfg.placement = vec![PlacementRule {
        prefix: "archive/".into(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    let cost = LakeConfig::from_toml_str(&format!(
        "{TIERS}[cost]\nlocal = {{ storage_gb_month = 0.01 }}\n\
         [cost.tiers]\ncold = {{ provider = 'aws', class = 's3-standard-ia' }}\n\
         [cost.prices.aws.s3-standard-ia]\nstorage_gb_month = 0.0125\n"
    ))
    .unwrap()
    .cost;
    cfg.cost = cost;
    cfg
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 + 1e-9 * b.abs()
}

#[test]
fn a_report_from_real_bytes_and_counted_requests() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = priced_config(dir.path());
    let lake = Lake::open(&cfg).unwrap();
    lake.put("raw/a.bin", vec![1u8; 3_000_000]).unwrap();
    lake.put("raw/b.bin", vec![2u8; 1_000_000]).unwrap();
    lake.put("top.txt", vec![3u8; 500]).unwrap();
    lake.put("archive/x.bin", vec![4u8; 2_000_000]).unwrap();
    for _ in 0..3 {
        assert_eq!(lake.get("archive/x.bin").unwrap().len(), 2_000_000);
    }
    let ids = Int64Array::from((0..1000).collect::<Vec<i64>>());
    let batch = RecordBatch::try_from_iter([("id", Arc::new(ids) as _)]).unwrap();
    lake.table("silver/ids")
        .unwrap()
        .create(&batch.schema(), &[batch], &TableOptions::default())
        .unwrap();

    let report = lake.cost_report().unwrap();
    assert_eq!(report.currency, "USD");
    let hot = &report.tiers[0];
    let cold = &report.tiers[1];
    assert_eq!(
        (hot.provider.as_str(), hot.class.as_str()),
        ("local", "disk")
    );
    assert_eq!(
        (cold.provider.as_str(), cold.class.as_str()),
        ("aws", "s3-standard-ia")
    );
    assert_eq!((hot.objects, hot.object_bytes), (3, 4_000_500));
    assert_eq!((cold.objects, cold.object_bytes), (1, 2_000_000));

    // The table's files are the hot tier's too, counted from its directory.
    let table_dir = dir.path().join("hot/tables/silver/ids");
    let on_disk: u64 = walk(&table_dir);
    assert!(on_disk > 0);
    let table = report
        .tables
        .iter()
        .find(|t| t.table == "silver/ids")
        .unwrap();
    assert_eq!((table.tier.as_str(), table.bytes), ("hot", on_disk));
    assert_eq!(
        hot.table_bytes,
        report
            .tables
            .iter()
            .filter(|t| t.tier == "hot")
            .map(|t| t.bytes)
            .sum::<u64>()
    );
    assert!(close(table.monthly_storage, on_disk as f64 / 1e9 * 0.01));

    // Storage: bytes held times the price.
    let hot_bytes = (hot.object_bytes + hot.table_bytes) as f64;
    assert!(close(hot.monthly.storage, hot_bytes / 1e9 * 0.01));
    assert!(close(cold.monthly.storage, 2e6 / 1e9 * 0.0125));
    // Requests: what was counted, scaled from a window of (at least) a day to 30 days, at
    // Standard-IA's built-in request, retrieval and egress prices.
    assert!(cold.reads >= 1 && cold.read_bytes >= 2_000_000, "{cold:?}");
    assert!(cold.writes >= 1, "{cold:?}");
    assert!(report.request_window_ms < 86_400_000);
    let scale = 30.0;
    let requests =
        cold.reads as f64 * scale / 1000.0 * 0.001 + cold.writes as f64 * scale / 1000.0 * 0.01;
    assert!(close(cold.monthly.requests, requests), "{cold:?}");
    let read_gb = cold.read_bytes as f64 * scale / 1e9;
    assert!(close(cold.monthly.retrieval, read_gb * 0.01));
    assert!(close(cold.monthly.egress, read_gb * 0.09));
    assert_eq!(hot.monthly.requests, 0.0);
    assert_eq!(
        hot.monthly.egress, 0.0,
        "local disks are not billed for egress"
    );
    assert!(close(
        report.total.total,
        hot.monthly.total + cold.monthly.total
    ));

    // Zones: objects by the first segment of their keys, per tier.
    let zone = |z: &str| report.zones.iter().find(|x| x.zone == z).unwrap();
    assert_eq!((zone("raw").objects, zone("raw").bytes), (2, 4_000_000));
    assert_eq!(
        (zone("").objects, zone("archive").tier.as_str()),
        (1, "cold")
    );
    assert!(close(zone("archive").monthly_storage, 2e6 / 1e9 * 0.0125));

    // The counts outlive the lake: a reopened lake bills what the last one did.
    let reads = cold.reads;
    drop(lake);
    let lake = Lake::open(&cfg).unwrap();
    let again = lake.cost_report().unwrap();
    assert_eq!(again.tiers[1].reads, reads);
}

fn walk(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            walk(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

#[test]
fn a_tier_run_dry_run_prices_its_moves() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = priced_config(dir.path());
    cfg.placement.clear();
    cfg.lifecycle = vec![LifecycleRule {
        prefix: "old/".into(),
        demote_after_age: Some(std::time::Duration::ZERO),
        demote_after_idle: None,
        promote_after_reads: None,
        promote_window: None,
        demote_to: None,
    }];
    cfg.retention = vec![strata::config::RetentionRule {
        prefix: "tmp/".into(),
        delete_after: std::time::Duration::ZERO,
    }];
    let lake = Lake::open(&cfg).unwrap();
    lake.put("old/a.bin", vec![0u8; 4_000_000]).unwrap();
    lake.put("tmp/b.bin", vec![0u8; 1_000_000]).unwrap();
    let plan = lake.plan_tiers(std::time::SystemTime::now()).unwrap();
    let change = lake.tier_cost_change(&plan).unwrap();
    assert_eq!((change.moves, change.deletes), (1, 1));
    let want = 4e6 / 1e9 * (0.0125 - 0.01) - 1e6 / 1e9 * 0.01;
    assert!(close(change.monthly, want), "{change:?} vs {want}");
    // Out of a local disk into Standard-IA: one PUT.
    assert!(close(change.one_off, 0.01 / 1000.0), "{change:?}");
    drop(lake);

    let path = common::config_file(&cfg, &dir.path().join("strata.toml"));
    let cfg_arg = path.to_str().unwrap();
    let text = String::from_utf8(common::cli_ok(&[
        "--config",
        cfg_arg,
        "tier",
        "run",
        "--dry-run",
    ]))
    .unwrap();
    assert!(
        text.contains("monthly cost change of the planned moves and deletes"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_slice(&common::cli_ok(&[
        "--config",
        cfg_arg,
        "tier",
        "run",
        "--dry-run",
        "--json",
    ]))
    .unwrap();
    assert!(
        close(json["cost_change"]["monthly"].as_f64().unwrap(), want),
        "{json}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&common::cli_ok(&["--config", cfg_arg, "cost", "--json"])).unwrap();
    assert_eq!(report["tiers"][1]["class"], "s3-standard-ia", "{report}");
    assert_eq!(report["tiers"][0]["objects"], 2);
    let text = String::from_utf8(common::cli_ok(&["--config", cfg_arg, "cost"])).unwrap();
    assert!(text.contains("aws/s3-standard-ia"), "{text}");
    assert!(text.contains("total $"), "{text}");
}

#[test]
fn a_principal_needs_read_on_the_lake_for_a_cost_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LakeConfig::from_toml_str(
        "[access.roles.writer]\ngrants = [{ actions = ['write'], prefixes = ['x/'] }]\n\
         [access.roles.finance]\ngrants = [{ actions = ['read'], lake = true }]\n\
         [access.principals]\nwill = ['writer']\nfiona = ['finance']\n",
    )
    .unwrap();
    cfg.dir = dir.path().into();
    let lake = Lake::open(&cfg).unwrap();
    let err = lake
        .as_principal("will")
        .unwrap()
        .cost_report()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let report = lake.as_principal("fiona").unwrap().cost_report().unwrap();
    assert_eq!(report.tiers.len(), 2);
}

#[test]
fn an_s3_tier_is_billed_as_s3_standard_with_its_requests_and_egress() {
    let Some(s3) = common::s3_tier("cold", "cost_s3") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), vec![local_tier("hot"), s3]);
    cfg.placement = vec![PlacementRule {
        prefix: "archive/".into(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    cfg.cache.budget = 0; // every get reaches the bucket
    let lake = Lake::open(&cfg).unwrap();
    lake.put("archive/a.bin", vec![7u8; 1_500_000]).unwrap();
    for _ in 0..4 {
        lake.get("archive/a.bin").unwrap();
    }
    let report = lake.cost_report().unwrap();
    let cold = &report.tiers[1];
    assert_eq!(
        (cold.provider.as_str(), cold.class.as_str()),
        ("aws", "s3-standard")
    );
    assert_eq!((cold.objects, cold.object_bytes), (1, 1_500_000));
    assert!(
        cold.reads >= 4 && cold.read_bytes >= 4 * 1_500_000,
        "{cold:?}"
    );
    assert!(cold.writes >= 1, "{cold:?}");
    let read_gb = cold.read_bytes as f64 * 30.0 / 1e9;
    assert!(close(cold.monthly.egress, read_gb * 0.09), "{cold:?}");
    assert!(close(cold.monthly.storage, 1.5e6 / 1e9 * 0.023));
    assert_eq!(cold.monthly.retrieval, 0.0);
}
