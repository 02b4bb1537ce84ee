//! The catalog: tables keep their entries current (rows, bytes, schema versions) on every
//! commit; datasets and object prefixes are registered; entries are annotated and found by
//! words, tags, zone, owner, classification and type; `show --json` is shaped like a Unity
//! Catalog entry; lineage runs lead from files to tables and on; damage is detected and
//! rebuilt; two lakes sharing an S3 table tier both keep their changes.

mod common;

use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use strata::catalog::{Direction, Kind, Query};
use strata::table::{MergeOptions, Source, TableOptions};
use strata::{ErrorKind, Lake};

fn users(ids: std::ops::Range<i64>) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(ids.clone())) as _,
        ),
        (
            "email",
            Arc::new(StringArray::from_iter_values(
                ids.clone().map(|i| format!("user{i}@example.com")),
            )) as _,
        ),
        (
            "fare",
            Arc::new(Float64Array::from_iter_values(ids.map(|i| i as f64))) as _,
        ),
    ])
    .unwrap()
}

fn lake(dir: &std::path::Path) -> Lake {
    Lake::open(&common::config(dir, vec![common::local_tier("hot")])).unwrap()
}

#[test]
fn tables_keep_their_entries_current_and_searches_find_them() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let table = lake.table("silver/users").unwrap();
    let options = TableOptions {
        description: Some("Riders who signed up".into()),
        owner: Some("growth".into()),
        ..TableOptions::default()
    };
    let first = users(0..10);
    table.create(&first.schema(), &[first], &options).unwrap();
    table.append(&[users(10..15)]).unwrap();
    let catalog = lake.catalog().unwrap();
    let e = catalog.entry("silver/users").unwrap().unwrap();
    assert_eq!((e.rows, e.files, e.version), (Some(15), 2, Some(1)));
    assert_eq!(e.kind, Kind::Table);
    assert_eq!(e.format, "delta");
    assert_eq!(e.zone, "silver");
    assert_eq!(e.tier, "hot");
    assert_eq!(e.owner.as_deref(), Some("growth"));
    assert_eq!(e.description.as_deref(), Some("Riders who signed up"));
    assert_eq!(e.schema_history.len(), 1);
    assert!(e.bytes > 0);

    // A new column: a new schema version, annotations of the others kept.
    catalog
        .describe("silver/users", Some("email"), "Where receipts go")
        .unwrap();
    let wider = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![100])) as _),
        ("email", Arc::new(StringArray::from(vec!["x@y.z"])) as _),
        ("fare", Arc::new(Float64Array::from(vec![1.0])) as _),
        ("city", Arc::new(StringArray::from(vec!["Oslo"])) as _),
    ])
    .unwrap();
    table.append_merging_schema(&[wider]).unwrap();
    let e = catalog.entry("silver/users").unwrap().unwrap();
    assert_eq!(e.schema_history.len(), 2);
    assert_eq!(e.schema_history[1].version, Some(2));
    assert_eq!(e.columns.len(), 4);
    assert_eq!(
        e.column("email").unwrap().description.as_deref(),
        Some("Where receipts go")
    );
    // A restore is a commit too: the entry follows it, schema included.
    table.restore(0).unwrap();
    let e = catalog.entry("silver/users").unwrap().unwrap();
    assert_eq!((e.version, e.rows, e.columns.len()), (Some(3), Some(10), 3));
    assert_eq!(e.schema_history.len(), 3);
    catalog.set_retention("silver/users", Some("365d")).unwrap();
    assert_eq!(
        catalog
            .entry("silver/users")
            .unwrap()
            .unwrap()
            .retention
            .as_deref(),
        Some("365d")
    );

    // Another table, a dataset and an object prefix.
    let other = lake.table("gold/revenue").unwrap();
    let batch = users(0..3);
    other
        .create(&batch.schema(), &[batch], &TableOptions::default())
        .unwrap();
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("a.parquet"), common::parquet_bytes(7)).unwrap();
    let d = lake
        .register("raw/drops", files.path().to_str().unwrap(), Kind::Dataset)
        .unwrap();
    assert_eq!((d.rows, d.files, d.kind), (Some(7), 1, Kind::Dataset));
    assert!(!d.columns.is_empty());
    lake.put("landing/2026/a.csv", b"id\n1\n".to_vec()).unwrap();
    lake.put("landing/2026/b.csv", b"id\n2\n".to_vec()).unwrap();
    let o = lake
        .register("raw/landing", "landing/", Kind::Objects)
        .unwrap();
    assert_eq!((o.files, o.bytes, o.kind), (2, 10, Kind::Objects));
    let err = lake
        .register("nozone/x", "landing/", Kind::Objects)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = lake
        .register("raw/none", "/no/such/dir", Kind::Dataset)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    catalog.tag("silver/users", &["pii", "daily"]).unwrap();
    catalog.untag("silver/users", &["daily"]).unwrap();
    let names = |q: Query| -> Vec<String> {
        catalog
            .search(&q)
            .unwrap()
            .into_iter()
            .map(|e| e.name.clone())
            .collect()
    };
    assert_eq!(
        names(Query {
            text: Some("receipts".into()),
            ..Query::default()
        }),
        vec!["silver/users"]
    );
    assert_eq!(
        names(Query {
            tag: Some("PII".into()),
            ..Query::default()
        }),
        vec!["silver/users"]
    );
    assert_eq!(
        names(Query {
            zone: Some("raw".into()),
            ..Query::default()
        }),
        vec!["raw/drops", "raw/landing"]
    );
    assert_eq!(
        names(Query {
            owner: Some("growth".into()),
            ..Query::default()
        }),
        vec!["silver/users"]
    );
    assert_eq!(
        names(Query {
            column_type: Some("double".into()),
            kind: Some(Kind::Table),
            ..Query::default()
        }),
        vec!["gold/revenue", "silver/users"]
    );
    // A word in the name ranks first.
    catalog
        .describe("gold/revenue", None, "Revenue from users, daily")
        .unwrap();
    assert_eq!(
        names(Query {
            text: Some("users".into()),
            ..Query::default()
        }),
        vec!["silver/users", "gold/revenue"]
    );

    // Unity Catalog's shape.
    let u = catalog.entry("silver/users").unwrap().unwrap().to_unity();
    assert_eq!(u["name"], "users");
    assert_eq!(u["schema_name"], "silver");
    assert_eq!(u["table_type"], "EXTERNAL");
    assert_eq!(u["data_source_format"], "DELTA");
    assert_eq!(u["columns"][0]["type_name"], "LONG");
    assert_eq!(u["columns"][1]["comment"], "Where receipts go");
    assert_eq!(u["owner"], "growth");
    assert!(u["storage_location"]
        .as_str()
        .unwrap()
        .ends_with("tables/silver/users"));

    // A table removed behind the catalog's back is listed, not crashed on, and a rebuild
    // drops it and says so.
    std::fs::remove_dir_all(lake.table("gold/revenue").unwrap().dir().unwrap()).unwrap();
    assert!(catalog.entry("gold/revenue").unwrap().is_some());
    let report = lake.rebuild_catalog().unwrap();
    assert_eq!(report.dropped, vec!["gold/revenue".to_string()]);
    assert!(catalog.entry("gold/revenue").unwrap().is_none());
    let e = catalog.entry("silver/users").unwrap().unwrap();
    assert!(e.tags.contains("pii"), "annotations survive a rebuild");
    assert_eq!(catalog.entries().unwrap().len(), 3);
}

#[test]
fn lineage_leads_from_files_through_tables() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path()).with_job("nightly");
    let batch = users(0..20);
    let bronze = lake
        .table("bronze/users")
        .unwrap()
        .reading(vec![Source::file("/landing/users.csv")]);
    bronze
        .create(
            &batch.schema(),
            std::slice::from_ref(&batch),
            &TableOptions::default(),
        )
        .unwrap();
    let silver = lake
        .table("silver/users")
        .unwrap()
        .reading(vec![Source::table("bronze/users", Some(0))]);
    silver
        .create(&batch.schema(), &[batch], &TableOptions::default())
        .unwrap();
    let gold = lake
        .table("gold/users")
        .unwrap()
        .reading(vec![Source::table("silver/users", Some(0))]);
    let part = users(0..5);
    gold.create(&part.schema(), &[part], &TableOptions::default())
        .unwrap();
    gold.merge(
        &[users(3..8)],
        &MergeOptions {
            on: vec!["id".into()],
            ..MergeOptions::default()
        },
    )
    .unwrap();

    let catalog = lake.catalog().unwrap();
    let up = catalog
        .lineage("gold/users", Direction::Upstream, None)
        .unwrap();
    let from: Vec<&str> = up.edges.iter().map(|e| e.from.name.as_str()).collect();
    assert_eq!(
        from,
        vec![
            "silver/users",
            "silver/users",
            "bronze/users",
            "/landing/users.csv"
        ]
    );
    assert!(up.edges.iter().all(|e| e.job == "nightly"));
    let ops: Vec<&str> = up.edges.iter().map(|e| e.operation.as_str()).collect();
    assert_eq!(ops[..2], ["CREATE TABLE", "MERGE"]);
    // The merge maps the source's columns onto the table's.
    let merged = &up.columns["gold/users"];
    assert!(merged
        .iter()
        .any(|c| c.column == "email" && c.transformation == "merge"));
    assert_eq!(
        catalog
            .lineage("gold/users", Direction::Upstream, Some(1))
            .unwrap()
            .edges
            .len(),
        2
    );
    let down = catalog
        .lineage("/landing/users.csv", Direction::Downstream, None)
        .unwrap();
    let to: Vec<&str> = down.edges.iter().map(|e| e.to.name.as_str()).collect();
    assert_eq!(
        to,
        vec!["bronze/users", "silver/users", "gold/users", "gold/users"]
    );
    let dot = up.to_dot();
    assert!(
        dot.contains("\"bronze/users\" -> \"silver/users\""),
        "{dot}"
    );
    let entry = catalog.entry("gold/users").unwrap().unwrap();
    assert_eq!(entry.updated_by, "nightly");
}

#[test]
fn the_command_line_lists_searches_shows_and_rebuilds() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path(), vec![common::local_tier("hot")]);
    let config_path = common::config_file(&config, &dir.path().join("strata.toml"));
    let c = config_path.to_str().unwrap();
    let data = dir.path().join("users.csv");
    std::fs::write(&data, "id,email\n1,a@b.c\n2,d@e.f\n").unwrap();
    let d = data.to_str().unwrap();
    common::cli_ok(&[
        "--config",
        c,
        "table",
        "create",
        "silver/users",
        "--from",
        d,
    ]);
    common::cli_ok(&[
        "--config",
        c,
        "catalog",
        "tag",
        "silver/users",
        "pii",
        "daily",
    ]);
    common::cli_ok(&[
        "--config",
        c,
        "catalog",
        "describe",
        "silver/users",
        "--column",
        "email",
        "Receipts go here",
    ]);
    common::cli_ok(&["--config", c, "catalog", "retention", "silver/users", "90d"]);
    common::cli_ok(&["--config", c, "catalog", "owner", "silver/users", "growth"]);
    let err = common::cli_err(&["--config", c, "catalog", "retention", "silver/users", " "]);
    assert!(err.contains("a retention is"), "{err}");
    let out = String::from_utf8(common::cli_ok(&["--config", c, "catalog", "ls"])).unwrap();
    assert!(out.starts_with("silver/users\ttable\t2 rows"), "{out}");
    let out = common::cli_ok(&["--config", c, "catalog", "search", "receipts", "--json"]);
    let found: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(found[0]["name"], "silver/users");
    let out = common::cli_ok(&["--config", c, "catalog", "show", "silver/users", "--json"]);
    let unity: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(unity["full_name"], "strata.silver.users");
    assert_eq!(unity["properties"]["strata.tags"], "daily,pii");
    assert_eq!(unity["properties"]["strata.retention"], "90d");
    assert_eq!(unity["owner"], "growth");
    let out = String::from_utf8(common::cli_ok(&[
        "--config",
        c,
        "catalog",
        "show",
        "silver/users",
    ]))
    .unwrap();
    assert!(out.contains("email Utf8  Receipts go here"), "{out}");
    // The command line is the job lineage names.
    let out = String::from_utf8(common::cli_ok(&[
        "--config",
        c,
        "lineage",
        "silver/users",
        "--upstream",
    ]))
    .unwrap();
    assert!(out.contains("users.csv -> silver/users@0"), "{out}");
    assert!(
        out.contains("by strata --config") && out.contains("table create silver/users"),
        "{out}"
    );
    let out = String::from_utf8(common::cli_ok(&[
        "--config",
        c,
        "lineage",
        "silver/users",
        "--dot",
    ]))
    .unwrap();
    assert!(out.starts_with("digraph lineage {"), "{out}");
    let err = common::cli_err(&["--config", c, "lineage", "gold/nothing"]);
    assert!(err.contains("no lineage recorded"), "{err}");
    let err = common::cli_err(&["--config", c, "catalog", "show", "gold/nothing"]);
    assert!(err.contains("no entry"), "{err}");

    // Damage: found, named, rebuilt.
    let log = dir.path().join("hot/tables/_catalog/log");
    let first = std::fs::read_dir(&log)
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    std::fs::write(&first, b"{\"format\":1,\"sha256\":\"00\"}\n{}").unwrap();
    let err = common::cli_err(&["--config", c, "catalog", "ls"]);
    assert!(
        err.contains("is damaged") && err.contains("catalog rebuild"),
        "{err}"
    );
    let err = common::cli_err(&["--config", c, "catalog", "verify"]);
    assert!(err.contains("damaged"), "{err}");
    let out = String::from_utf8(common::cli_ok(&["--config", c, "catalog", "rebuild"])).unwrap();
    assert!(out.contains("1 damaged files removed"), "{out}");
    let out = String::from_utf8(common::cli_ok(&["--config", c, "catalog", "ls"])).unwrap();
    assert!(out.starts_with("silver/users\ttable\t2 rows"), "{out}");
    common::cli_ok(&["--config", c, "catalog", "verify"]);
}

#[test]
fn lakes_sharing_an_s3_table_tier_share_the_catalog_and_keep_every_change() {
    let Some(tier) = common::s3_tier("s3", "catalog_s3") else {
        return;
    };
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Lake::open(&common::config(a_dir.path(), vec![tier.clone()])).unwrap();
    let b = Lake::open(&common::config(b_dir.path(), vec![tier])).unwrap();
    let batch = users(0..4);
    a.table("silver/users")
        .unwrap()
        .create(&batch.schema(), &[batch], &TableOptions::default())
        .unwrap();
    let e = b.catalog().unwrap().entry("silver/users").unwrap().unwrap();
    assert_eq!(e.rows, Some(4));
    assert!(e.location.starts_with("s3://"), "{}", e.location);
    std::thread::scope(|s| {
        for (who, lake) in [("a", &a), ("b", &b)] {
            s.spawn(move || {
                let catalog = lake.catalog().unwrap();
                for i in 0..10 {
                    catalog
                        .tag("silver/users", &[&format!("{who}{i}")])
                        .unwrap();
                }
            });
        }
    });
    for lake in [&a, &b] {
        let e = lake
            .catalog()
            .unwrap()
            .entry("silver/users")
            .unwrap()
            .unwrap();
        assert_eq!(e.tags.len(), 20, "{:?}", e.tags);
    }

    // Two processes (the command line, from each lake's own data root) tagging at once.
    let configs: Vec<std::path::PathBuf> = [(&a, &a_dir), (&b, &b_dir)]
        .iter()
        .map(|(lake, dir)| common::config_file(lake.config(), &dir.path().join("strata.toml")))
        .collect();
    drop((a, b));
    std::thread::scope(|s| {
        for (i, config) in configs.iter().enumerate() {
            s.spawn(move || {
                for n in 0..8 {
                    let tag = format!("p{i}-{n}");
                    common::cli_ok(&[
                        "--config",
                        config.to_str().unwrap(),
                        "catalog",
                        "tag",
                        "silver/users",
                        &tag,
                    ]);
                }
            });
        }
    });
    let out = common::cli_ok(&[
        "--config",
        configs[0].to_str().unwrap(),
        "catalog",
        "show",
        "silver/users",
        "--raw",
    ]);
    let raw: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(raw["tags"].as_array().unwrap().len(), 36, "{raw}");
}

#[test]
fn writes_emit_openlineage_events_that_pair_up_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), vec![common::local_tier("hot")]);
    config.lineage = strata::config::LineageConfig {
        sink: strata::config::LineageSink::File,
        path: Some("lineage/events.jsonl".into()),
        namespace: "test-lake".into(),
    };
    let lake = Lake::open(&config).unwrap().with_job("ingest");
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = seen.clone();
    lake.set_lineage_callback(Some(Arc::new(move |event: &str| {
        sink.lock().unwrap().push(event.to_string())
    })));
    let table = lake
        .table("bronze/users")
        .unwrap()
        .reading(vec![Source::file("/landing/users.csv")]);
    let batch = users(0..10);
    table
        .create(&batch.schema(), &[batch], &TableOptions::default())
        .unwrap();
    table
        .merge(
            &[users(5..12)],
            &MergeOptions {
                on: vec!["id".into()],
                ..MergeOptions::default()
            },
        )
        .unwrap();
    // A write that fails: FAIL, nothing committed.
    let bad =
        RecordBatch::try_from_iter([("id", Arc::new(StringArray::from(vec!["x"])) as _)]).unwrap();
    assert!(table.append(&[bad]).is_err());
    // A delete that matches nothing: START and COMPLETE, no new version.
    table.delete("id > 1000").unwrap();

    let path = dir.path().join("lineage/events.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        seen.lock().unwrap().len(),
        events.len(),
        "the callback got every event"
    );
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["START", "COMPLETE", "START", "COMPLETE", "START", "FAIL", "START", "COMPLETE"]
    );
    for pair in events.chunks(2) {
        assert_eq!(pair[0]["run"]["runId"], pair[1]["run"]["runId"]);
    }
    assert_ne!(events[0]["run"]["runId"], events[2]["run"]["runId"]);
    assert_eq!(events[1]["job"]["namespace"], "test-lake");
    assert_eq!(events[1]["job"]["name"], "ingest");
    assert_eq!(events[1]["inputs"][0]["name"], "/landing/users.csv");
    assert_eq!(events[1]["outputs"][0]["name"], "bronze/users");
    let fields = &events[1]["outputs"][0]["facets"]["schema"]["fields"];
    assert_eq!(fields.as_array().unwrap().len(), 3);
    let lineage = &events[3]["outputs"][0]["facets"]["columnLineage"]["fields"];
    assert_eq!(lineage["fare"]["inputFields"][0]["field"], "fare");
    let message = events[5]["run"]["facets"]["errorMessage"]["message"]
        .as_str()
        .unwrap();
    assert!(!message.is_empty(), "{}", events[5]);
    // The catalog's run ids are the events'.
    let runs = lake.catalog().unwrap().runs().unwrap();
    assert_eq!(runs[0].id, events[0]["run"]["runId"].as_str().unwrap());

    let Some(python) = common::python_with(
        "writes_emit_openlineage_events_that_pair_up_and_validate",
        &["jsonschema", "referencing"],
    ) else {
        return;
    };
    let out = std::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/openlineage/validate.py"
        ))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok 8");
}

#[test]
fn classification_marks_personal_data_and_the_owner_has_the_last_word() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path(), vec![common::local_tier("hot")]);
    let lake = Lake::open(&config).unwrap();
    let n = 50;
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from_iter_values(0..n)) as _),
        (
            "contact",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("rider{i}@mail.example")),
            )) as _,
        ),
        (
            "ssn",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("{:03}-12-{:04}", 200 + i, 3000 + i)),
            )) as _,
        ),
        (
            "city",
            Arc::new(StringArray::from_iter_values((0..n).map(|_| "Oslo"))) as _,
        ),
    ])
    .unwrap();
    lake.table("silver/riders")
        .unwrap()
        .create(&batch.schema(), &[batch], &TableOptions::default())
        .unwrap();
    let classes = lake.classify("silver/riders", 20, 0.5).unwrap();
    let contact = classes.iter().find(|c| c.column == "contact").unwrap();
    assert_eq!(contact.values, 20, "sampled");
    let catalog = lake.catalog().unwrap();
    let e = catalog.entry("silver/riders").unwrap().unwrap();
    let class = |e: &strata::catalog::Entry, c: &str| {
        e.column(c)
            .unwrap()
            .classification
            .as_ref()
            .map(|m| m.class.clone())
    };
    assert_eq!(class(&e, "contact").as_deref(), Some("email"));
    assert_eq!(class(&e, "ssn").as_deref(), Some("national_id"));
    assert_eq!(class(&e, "city"), None);
    let with_email = catalog
        .search(&Query {
            classification: Some("email".into()),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(with_email[0].name, "silver/riders");

    // The owner says ssn holds test data, not personal data: classification leaves it so.
    let config_path = common::config_file(&config, &dir.path().join("strata.toml"));
    drop(catalog);
    drop(lake);
    let c = config_path.to_str().unwrap();
    common::cli_ok(&[
        "--config",
        c,
        "catalog",
        "classify",
        "silver/riders",
        "--column",
        "ssn",
        "--set",
        "none",
    ]);
    common::cli_ok(&[
        "--config",
        c,
        "catalog",
        "classify",
        "silver/riders",
        "--column",
        "contact",
        "--confirm",
    ]);
    let out = String::from_utf8(common::cli_ok(&[
        "--config",
        c,
        "catalog",
        "classify",
        "silver/riders",
    ]))
    .unwrap();
    assert!(out.contains("ssn\tnone\t100% of 50 values"), "{out}");
    assert!(out.contains("contact\temail"), "{out}");
    let out = common::cli_ok(&["--config", c, "catalog", "show", "silver/riders", "--raw"]);
    let raw: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(raw["columns"][1]["classification"]["source"], "confirmed");
    assert_eq!(raw["columns"][2]["classification"]["source"], "override");
    let err = common::cli_err(&[
        "--config",
        c,
        "catalog",
        "classify",
        "silver/riders",
        "--column",
        "ssn",
        "--set",
        "dna",
    ]);
    assert!(err.contains("unknown class"), "{err}");
    let err = common::cli_err(&[
        "--config",
        c,
        "catalog",
        "classify",
        "silver/riders",
        "--column",
        "nope",
        "--confirm",
    ]);
    assert!(err.contains("no column"), "{err}");
}

#[test]
fn a_masked_copy_records_each_output_column_and_its_operator() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path(), vec![common::local_tier("hot")]);
    let config_path = common::config_file(&config, &dir.path().join("strata.toml"));
    drop(Lake::open(&config).unwrap());
    let c = config_path.to_str().unwrap();
    let input = dir.path().join("users.parquet");
    let batch = users(0..5);
    let mut file = std::fs::File::create(&input).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[columns.email]\nmask = { op = \"email\" }\n").unwrap();
    let output = dir.path().join("masked.parquet");
    common::cli_ok(&[
        "--config",
        c,
        "mask",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
    ]);
    let out = common::cli_ok(&[
        "--config",
        c,
        "lineage",
        output.canonicalize().unwrap().to_str().unwrap(),
        "--upstream",
        "--json",
    ]);
    let walk: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(walk["edges"][0]["operation"], "mask");
    let columns = walk["columns"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    let how = |c: &str| {
        columns
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["column"] == c)
            .unwrap()["transformation"]
            .clone()
    };
    assert_eq!(how("email"), "mask:email");
    assert_eq!(how("id"), "identity");
}

#[test]
fn a_check_records_its_score_in_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path(), vec![common::local_tier("hot")]);
    let config_path = common::config_file(&config, &dir.path().join("strata.toml"));
    let c = config_path.to_str().unwrap();
    let data = dir.path().join("drops");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("a.parquet"), common::parquet_bytes(100)).unwrap();
    let d = data.to_str().unwrap();
    common::cli_ok(&[
        "--config",
        c,
        "catalog",
        "register",
        "raw/drops",
        "--path",
        d,
        "--kind",
        "dataset",
    ]);
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rules]]\ncheck = \"not_null\"\ncolumn = \"id\"\nseverity = \"error\"\n",
    )
    .unwrap();
    common::cli_ok(&[
        "--config",
        c,
        "check",
        d,
        "--rules",
        rules.to_str().unwrap(),
        "--catalog",
        "raw/drops",
    ]);
    let out = common::cli_ok(&["--config", c, "catalog", "show", "raw/drops", "--raw"]);
    let raw: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(raw["quality"]["score"], 100.0, "{raw}");
    assert!(raw["quality"]["at"].as_i64().unwrap() > 0);
    let err = common::cli_err(&[
        "--config",
        c,
        "check",
        d,
        "--rules",
        rules.to_str().unwrap(),
        "--catalog",
        "raw/nothing",
    ]);
    assert!(err.contains("no entry"), "{err}");
}
