//! The advisor on a workload with a skewed filter: queries always filter `region = 'r3'` on a
//! table of many small unsorted files. The recorded statistics lead to a z-order by `region`;
//! applying it (after a dry run that changes nothing) makes the same workload read fewer
//! bytes, measured from the files' footers and the scans' own statistics before and after.
//! Also: statistics survive a reopen and add up, a damaged statistics file never fails the
//! lake, and object reads are counted.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::statistics::Statistics;
use strata::table::TableOptions;
use strata::{Expr, Lake};

const TABLE: &str = "silver/events";
const REGIONS: [&str; 8] = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"];

fn lake(dir: &Path) -> Lake {
    let config = common::config(
        dir,
        vec![common::local_tier("hot"), common::local_tier("cold")],
    );
    Lake::open(&config).unwrap()
}

/// Rows `from..from+n` with regions scattered pseudo-randomly (every file holds every region).
fn events(from: i64, n: i64) -> RecordBatch {
    let ids: Vec<i64> = (from..from + n).collect();
    let region = |i: i64| REGIONS[((i as u64).wrapping_mul(2654435761) >> 7) as usize % 8];
    RecordBatch::try_from_iter([
        (
            // Random ids, as events arrive: their order carries no pattern to compress.
            "id",
            Arc::new(Int64Array::from_iter_values(
                ids.iter().map(|&i| mix(i) as i64),
            )) as _,
        ),
        (
            "region",
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|&i| region(i)),
            )) as _,
        ),
        (
            "amount",
            Arc::new(Float64Array::from_iter_values(
                ids.iter().map(|&i| (mix(-i) % 100_000) as f64 * 0.01),
            )) as _,
        ),
        (
            "note",
            Arc::new(StringArray::from_iter_values(ids.iter().map(|i| {
                format!("event {i} with some text {}", i * 7919 % 100_003)
            }))) as _,
        ),
    ])
    .unwrap()
}

/// splitmix64: a well-spread number per row.
fn mix(i: i64) -> u64 {
    let mut z = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn filter() -> Expr {
    Expr::parse("region = 'r3'").unwrap()
}

/// Runs the workload (5 filtered scans) and returns the last scan's statistics.
fn workload(lake: &Lake) -> strata::ScanStats {
    workload_of(lake, ROWS)
}

const FILES: i64 = 40;
const PER_FILE: i64 = 5_000;
const ROWS: i64 = FILES * PER_FILE;

fn workload_of(lake: &Lake, rows: i64) -> strata::ScanStats {
    let mut last = None;
    for _ in 0..5 {
        let out = lake
            .table(TABLE)
            .unwrap()
            .scan()
            .unwrap()
            .columns(&["id", "amount"])
            .filter(filter())
            .run()
            .unwrap();
        assert_eq!(out.stats.rows_out, expected_rows(rows));
        last = Some(out.stats);
    }
    last.unwrap()
}

fn expected_rows(rows: i64) -> u64 {
    let b = events(0, rows);
    let r = b
        .column_by_name("region")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .clone();
    r.iter().filter(|v| *v == Some("r3")).count() as u64
}

/// The live data files of the table (old ones vacuumed first), as paths.
fn live_files(lake: &Lake) -> Vec<PathBuf> {
    let table = lake.table(TABLE).unwrap();
    table
        .vacuum(std::time::Duration::ZERO, false, true)
        .unwrap();
    let dir = PathBuf::from(table.info(strata::table::AsOf::Latest).unwrap().location);
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.ends_with("_delta_log") {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
    out
}

/// Bytes a scan of `region = 'r3'` projecting `id, amount` reads: the compressed column
/// chunks of `id`, `amount` and `region` in every row group whose `region` statistics admit
/// `r3`, from the files' own footers; and the number of those row groups.
fn bytes_read(files: &[PathBuf]) -> (u64, u64) {
    let (mut bytes, mut groups) = (0, 0);
    for f in files {
        let reader = SerializedFileReader::new(std::fs::File::open(f).unwrap()).unwrap();
        for rg in reader.metadata().row_groups() {
            let schema = rg.schema_descr();
            let idx = |name: &str| {
                (0..schema.num_columns())
                    .find(|&i| schema.column(i).name() == name)
                    .unwrap()
            };
            let admits = match rg.column(idx("region")).statistics() {
                Some(Statistics::ByteArray(s)) => {
                    let (min, max) = (s.min_opt().unwrap().data(), s.max_opt().unwrap().data());
                    min <= b"r3".as_slice() && b"r3".as_slice() <= max
                }
                _ => true,
            };
            if std::env::var("ADVISOR_DEBUG").is_ok() {
                eprintln!(
                    "{} rows {} id {} amount {} region {} codec {:?}",
                    f.display(),
                    rg.num_rows(),
                    rg.column(idx("id")).compressed_size(),
                    rg.column(idx("amount")).compressed_size(),
                    rg.column(idx("region")).compressed_size(),
                    rg.column(idx("id")).compression()
                );
            }
            if admits {
                groups += 1;
                for c in ["id", "amount", "region"] {
                    bytes += rg.column(idx(c)).compressed_size() as u64;
                }
            }
        }
    }
    (bytes, groups)
}

#[test]
fn applying_the_advice_makes_a_skewed_workload_read_fewer_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let table = lake.table(TABLE).unwrap();
    let first = events(0, PER_FILE);
    table
        .create(&first.schema(), &[first], &TableOptions::default())
        .unwrap();
    for i in 1..FILES {
        table.append(&[events(i * PER_FILE, PER_FILE)]).unwrap();
    }

    let before = workload(&lake);
    let (bytes_before, groups_before) = bytes_read(&live_files(&lake));
    assert_eq!(
        groups_before,
        before.row_groups_total - before.row_groups_skipped
    );
    // The scan's own count of bytes: the same column chunks, less pages the page index
    // ruled out.
    assert!(
        before.bytes_read > 0 && before.bytes_read <= bytes_before,
        "{} vs {bytes_before}",
        before.bytes_read
    );

    let recs = lake.advise(Some(TABLE)).unwrap();
    let z = recs
        .iter()
        .find(|r| r.kind == "zorder")
        .unwrap_or_else(|| panic!("no z-order advice: {recs:#?}"));
    assert_eq!(z.target, TABLE);
    assert!(z.advice.contains("region"), "{}", z.advice);
    assert_eq!(z.evidence["scans"], 5);
    assert!(z.evidence["distinct_values"] == 8, "{:?}", z.evidence);
    assert!(
        z.effect["bytes_read_per_scan_after"].as_f64().unwrap()
            < z.effect["bytes_read_per_scan_before"].as_f64().unwrap()
    );
    // The estimate starts from the bytes the scans measured.
    assert_eq!(
        z.evidence["bytes_read_per_scan"].as_f64().unwrap(),
        before.bytes_read as f64
    );
    // No compaction besides: the z-order rewrites the small files anyway.
    assert!(!recs.iter().any(|r| r.kind == "compact"), "{recs:#?}");

    // A dry run plans and changes nothing.
    let version = table.version().unwrap();
    let plan = lake.apply_advice(&recs, Some("zorder"), true).unwrap();
    assert_eq!(plan.len(), 1);
    assert_eq!(plan[0].outcome, "planned");
    assert_eq!(table.version().unwrap(), version);

    let applied = lake.apply_advice(&recs, Some("zorder"), false).unwrap();
    assert_eq!(applied[0].outcome, "done", "{applied:?}");
    assert_eq!(applied[0].files_before, FILES as u64);
    assert!(table.version().unwrap() > version);

    // The optimize's own measuring scans are not in the statistics.
    assert_eq!(lake.access_stats().unwrap().targets[TABLE].scans, 5);
    let after = workload(&lake);
    let (bytes_after, groups_after) = bytes_read(&live_files(&lake));
    assert_eq!(
        groups_after,
        after.row_groups_total - after.row_groups_skipped
    );
    eprintln!(
        "before: {bytes_before} bytes, {} rows decoded, {} files opened, {} skipped; \
         after: {bytes_after} bytes, {} rows decoded, {} files opened, {} skipped",
        before.rows_decoded,
        before.files,
        before.files_skipped,
        after.rows_decoded,
        after.files,
        after.files_skipped
    );
    assert!(after.rows_decoded * 2 < before.rows_decoded);
    assert!(
        bytes_after * 2 < bytes_before,
        "{bytes_after} vs {bytes_before}"
    );
    assert!(
        after.bytes_read * 2 < before.bytes_read,
        "measured by the scans: {} vs {}",
        after.bytes_read,
        before.bytes_read
    );
    assert_eq!(after.rows_out, before.rows_out);
}

#[test]
fn statistics_persist_merge_on_reopen_and_survive_damage() {
    let dir = tempfile::tempdir().unwrap();
    {
        let lake = lake(dir.path());
        let table = lake.table(TABLE).unwrap();
        let first = events(0, 1_000);
        table
            .create(&first.schema(), &[first], &TableOptions::default())
            .unwrap();
        table.append(&[events(1_000, 1_000)]).unwrap();
        workload_of(&lake, 2_000);
        lake.put("raw/a.bin", vec![1u8; 100]).unwrap();
        lake.get("raw/a.bin").unwrap();
        lake.flush_stats().unwrap();
        let s = lake.access_stats().unwrap();
        let t = &s.targets[TABLE];
        assert_eq!(t.scans, 5);
        assert_eq!(t.writes, 2);
        assert_eq!(t.last_files, 2);
        assert_eq!(t.columns["id"], 5);
        assert_eq!(t.filters["region ="].scans, 5);
        assert_eq!(t.tiers["hot"].scans, 5);
        assert_eq!(t.tiers["hot"].rows_decoded, 5 * 2_000);
        assert_eq!(s.objects["raw/a.bin"].reads, 1);
        assert_eq!(s.objects["raw/a.bin"].bytes, 100);
    }
    let file = dir.path().join("_stats/access.json");
    assert!(file.exists());
    {
        // Reopened: what was on disk plus what this run records (written on drop).
        let lake = lake(dir.path());
        workload_of(&lake, 2_000);
        assert_eq!(lake.access_stats().unwrap().targets[TABLE].scans, 10);
    }
    {
        let lake = lake(dir.path());
        assert_eq!(lake.access_stats().unwrap().targets[TABLE].scans, 10);
        // Off: nothing recorded.
        lake.set_access_stats(false);
        workload_of(&lake, 2_000);
        assert_eq!(lake.access_stats().unwrap().targets[TABLE].scans, 10);
    }
    // A damaged file: the lake opens, scans, and starts its statistics afresh.
    std::fs::write(&file, b"{not json").unwrap();
    {
        let lake = lake(dir.path());
        workload_of(&lake, 2_000);
        assert_eq!(lake.access_stats().unwrap().targets[TABLE].scans, 5);
        lake.flush_stats().unwrap();
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"format\":1"), "{text}");
    // A file of a future format is set aside the same way.
    std::fs::write(
        &file,
        br#"{"format":99,"targets":{},"objects":{},"trace":[]}"#,
    )
    .unwrap();
    let lake = lake(dir.path());
    assert!(lake.access_stats().unwrap().targets.is_empty());
}

#[test]
fn a_dataset_scan_is_recorded_and_advice_covers_the_whole_lake() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let b = events(0, 5_000);
    lake.write(
        "sales",
        &b.schema(),
        std::slice::from_ref(&b),
        &strata::WriteOptions::default(),
    )
    .unwrap();
    for _ in 0..3 {
        lake.scan("sales").unwrap().filter(filter()).run().unwrap();
    }
    let s = lake.access_stats().unwrap();
    assert_eq!(s.targets["sales"].scans, 3);
    assert_eq!(s.targets["sales"].kind, "dataset");
    assert!(s.objects.keys().any(|k| k.starts_with("sales/")));
    // The whole lake's advice runs (no tables here: object placement and cache only).
    lake.advise(None).unwrap();
    lake.advise(Some("sales")).unwrap();
}

fn strata(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(common::strata_bin())
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "strata {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn strata_advise_shows_evidence_plans_then_applies() {
    let dir = tempfile::tempdir().unwrap();
    {
        let lake = Lake::open_dir(dir.path()).unwrap();
        let table = lake.table(TABLE).unwrap();
        let first = events(0, PER_FILE);
        table
            .create(&first.schema(), &[first], &TableOptions::default())
            .unwrap();
        for i in 1..12 {
            table.append(&[events(i * PER_FILE, PER_FILE)]).unwrap();
        }
        workload_of(&lake, 12 * PER_FILE);
        // Dropping the last handle writes the statistics.
    }
    let json: serde_json::Value =
        serde_json::from_str(&strata(dir.path(), &["advise", TABLE, "--json"])).unwrap();
    let z = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "zorder")
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(z["evidence"]["scans"], 5);
    assert_eq!(z["apply"]["action"], "zorder");
    let text = strata(dir.path(), &["advise", TABLE]);
    assert!(text.contains("zorder silver/events [--apply]"), "{text}");
    assert!(text.contains("evidence: "), "{text}");
    let plan = strata(dir.path(), &["advise", TABLE, "--apply", "--dry-run"]);
    assert!(
        plan.contains("z-ordered by region") && plan.contains("planned"),
        "{plan}"
    );
    let version = Lake::open_dir(dir.path())
        .unwrap()
        .table(TABLE)
        .unwrap()
        .version()
        .unwrap();
    assert_eq!(version, 11);
    let applied = strata(
        dir.path(),
        &["advise", TABLE, "--apply", "--only", "zorder"],
    );
    assert!(
        applied.contains("plan:") && applied.contains("applied:"),
        "{applied}"
    );
    assert!(applied.contains(": done (version 12"), "{applied}");
}

#[test]
fn objects_read_often_from_the_cold_tier_get_tier_advice_with_cost_and_a_cache_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(
        dir.path(),
        vec![common::local_tier("hot"), common::local_tier("cold")],
    );
    config.placement = vec![strata::config::PlacementRule {
        prefix: "archive/".into(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    let lake = Lake::open(&config).unwrap();
    lake.put("archive/a.bin", common::bytes(4096, 1)).unwrap();
    lake.put("raw/b.bin", common::bytes(4096, 2)).unwrap();
    assert_eq!(lake.stat("archive/a.bin").unwrap().tier, "cold");
    for _ in 0..60 {
        lake.get("archive/a.bin").unwrap();
        lake.get("raw/b.bin").unwrap();
    }
    let recs = lake.advise(None).unwrap();
    let tier = recs
        .iter()
        .find(|r| r.kind == "tier")
        .unwrap_or_else(|| panic!("{recs:#?}"));
    assert_eq!(tier.target, "archive/a.bin");
    assert_eq!(tier.evidence["reads"], 60);
    assert!(tier.effect["monthly_cost_change"].is_number(), "{tier:?}");
    assert!(
        !recs
            .iter()
            .any(|r| r.kind == "tier" && r.target == "raw/b.bin"),
        "{recs:#?}"
    );
    // 120 reads of 8 KiB in all: the simulated curve puts the knee at the smallest size.
    let cache = recs
        .iter()
        .find(|r| r.kind == "cache")
        .unwrap_or_else(|| panic!("{recs:#?}"));
    assert_eq!(cache.effect["cache_bytes_after"], 1 << 20);
    assert!(cache.evidence["curve"].as_array().unwrap().len() > 4);
    // The tier move is planned, then carried out: the object moves to the hot tier and
    // reads the same.
    let plan = lake.apply_advice(&recs, Some("tier"), true).unwrap();
    assert_eq!(plan[0].outcome, "planned");
    assert_eq!(lake.stat("archive/a.bin").unwrap().tier, "cold");
    let applied = lake.apply_advice(&recs, Some("tier"), false).unwrap();
    assert_eq!(applied[0].outcome, "done", "{applied:?}");
    assert_eq!(applied[0].bytes_after, 4096);
    assert_eq!(lake.stat("archive/a.bin").unwrap().tier, "hot");
    assert_eq!(lake.get("archive/a.bin").unwrap(), common::bytes(4096, 1));
    // Moving again is a no-op; a bad tier or key is an error naming it.
    assert_eq!(lake.move_to_tier("archive/a.bin", "hot").unwrap(), 0);
    let e = lake.move_to_tier("archive/a.bin", "warm").unwrap_err();
    assert!(e.to_string().contains("warm"), "{e}");
    let e = lake.move_to_tier("archive/none.bin", "cold").unwrap_err();
    assert_eq!(e.kind(), strata::ErrorKind::NotFound, "{e}");
    // And back down, surviving a reopen.
    assert_eq!(lake.move_to_tier("archive/a.bin", "cold").unwrap(), 4096);
    drop(lake);
    let lake = Lake::open(&config).unwrap();
    assert_eq!(lake.stat("archive/a.bin").unwrap().tier, "cold");
    assert_eq!(lake.get("archive/a.bin").unwrap(), common::bytes(4096, 1));
}

#[test]
fn a_removed_data_root_is_not_made_again_for_the_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let lake = lake(&root);
    lake.put("a.bin", vec![1u8; 10]).unwrap();
    lake.get("a.bin").unwrap();
    std::fs::remove_dir_all(&root).unwrap();
    drop(lake);
    let left: Vec<_> = walk(&root);
    assert!(
        !left.iter().any(|p| p.to_string_lossy().contains("_stats")),
        "{left:?}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            out.push(e.path());
            out.extend(walk(&e.path()));
        }
    }
    out
}

#[test]
fn a_table_on_the_cold_tier_written_with_a_light_codec_gets_codec_advice() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(
        dir.path(),
        vec![common::local_tier("hot"), common::local_tier("cold")],
    );
    config.tables.tier = Some("cold".into());
    let lake = Lake::open(&config).unwrap();
    let table = lake.table(TABLE).unwrap();
    let first = events(0, 20_000);
    let options = TableOptions {
        codec: Some("fast".parse().unwrap()),
        ..TableOptions::default()
    };
    table.create(&first.schema(), &[first], &options).unwrap();
    let recs = lake.advise(Some(TABLE)).unwrap();
    let codec = recs
        .iter()
        .find(|r| r.kind == "codec")
        .unwrap_or_else(|| panic!("{recs:#?}"));
    assert_eq!(codec.evidence["tier"], "cold");
    let (old, new) = (
        codec.evidence["sample_bytes"].as_u64().unwrap(),
        codec.evidence["sample_bytes_reencoded"].as_u64().unwrap(),
    );
    assert!(new * 10 <= old * 9, "{old} -> {new}");
    assert!(codec.effect["bytes_saved_estimate"].as_f64().unwrap() > 0.0);
    assert!(codec.apply.is_none());
}

#[test]
fn codec_advice_is_applied_as_a_reencode_that_changes_no_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(
        dir.path(),
        vec![common::local_tier("hot"), common::local_tier("cold")],
    );
    config.tables.tier = Some("cold".into());
    // Written while the cold tier's policy was `fast`; the policy has since become the
    // default (`compact`), so the files are lighter than the tier now wants.
    config
        .format
        .tier_codecs
        .insert("cold".into(), "fast".into());
    {
        let lake = Lake::open(&config).unwrap();
        let table = lake.table(TABLE).unwrap();
        let first = events(0, 20_000);
        table
            .create(&first.schema(), &[first], &TableOptions::default())
            .unwrap();
        table.append(&[events(20_000, 20_000)]).unwrap();
    }
    config.format.tier_codecs.clear();
    let lake = Lake::open(&config).unwrap();
    let table = lake.table(TABLE).unwrap();
    let before = table.info(strata::table::AsOf::Latest).unwrap();
    let recs = lake.advise(Some(TABLE)).unwrap();
    let codec = recs
        .iter()
        .find(|r| r.kind == "codec")
        .unwrap_or_else(|| panic!("{recs:#?}"));
    assert_eq!(codec.apply, Some(strata::advisor::Apply::Reencode));
    let plan = lake.apply_advice(&recs, Some("codec"), true).unwrap();
    assert_eq!(plan[0].outcome, "planned");
    assert_eq!(table.version().unwrap(), before.version);
    let applied = lake.apply_advice(&recs, Some("codec"), false).unwrap();
    assert_eq!(applied[0].outcome, "done", "{applied:?}");
    assert_eq!(applied[0].files_before, before.files);
    assert!(
        applied[0].bytes_after * 10 <= applied[0].bytes_before * 9,
        "{applied:?}"
    );
    let after = table.info(strata::table::AsOf::Latest).unwrap();
    assert_eq!(after.rows, before.rows);
    assert!(
        after.bytes < before.bytes,
        "{} -> {}",
        before.bytes,
        after.bytes
    );
    // The same rows, in whatever order the rewrite left them.
    let rows = |as_of| {
        let out = table.scan_as_of(as_of).unwrap().run().unwrap();
        let all = arrow::compute::concat_batches(&out.schema, &out.batches).unwrap();
        let order =
            arrow::compute::sort_to_indices(all.column_by_name("id").unwrap(), None, None).unwrap();
        arrow::compute::take_record_batch(&all, &order).unwrap()
    };
    assert_eq!(
        rows(strata::table::AsOf::Latest),
        rows(strata::table::AsOf::Version(before.version))
    );
    // Advice again: nothing left to re-encode.
    let recs = lake.advise(Some(TABLE)).unwrap();
    assert!(!recs.iter().any(|r| r.kind == "codec"), "{recs:#?}");
}

/// Block-cache hits and misses of a target since `before` (targets absent count zero).
fn cache_of(lake: &Lake, target: &str) -> (u64, u64) {
    let s = lake.access_stats().unwrap();
    s.targets
        .get(target)
        .map(|t| (t.cache.hits, t.cache.misses))
        .unwrap_or((0, 0))
}

/// Scans `target` (a table when it has a zone, else a dataset) once, every column.
fn scan_once(lake: &Lake, target: &str) {
    let scan = match target.contains('/') {
        true => lake.table(target).unwrap().scan().unwrap(),
        false => lake.scan(target).unwrap(),
    };
    assert!(scan.run().unwrap().stats.rows_out > 0);
}

/// A target on a cached tier scanned twice: its first scan fetches blocks (misses), its second
/// finds them in the cache (hits, no new miss); another target's counts stay as they were; and
/// the counts are written with the statistics and read back on reopen.
fn cached_reads_are_counted_per_target(config: &strata::LakeConfig, a: &str, b: &str) {
    {
        let lake = Lake::open(config).unwrap();
        scan_once(&lake, b);
        let other = cache_of(&lake, b);
        assert!(other.1 > 0, "{b}'s first scan fetched nothing: {other:?}");
        scan_once(&lake, a);
        let first = cache_of(&lake, a);
        assert!(first.1 > 0, "{a}'s first scan fetched nothing: {first:?}");
        scan_once(&lake, a);
        let second = cache_of(&lake, a);
        assert!(second.0 > first.0, "no hits on the second scan: {second:?}");
        assert_eq!(second.1, first.1, "the second scan fetched again");
        assert_eq!(cache_of(&lake, b), other, "{b} was charged for {a}'s reads");
        let recs = lake.advise(None).unwrap();
        // Evidence of advice for `a`, when there is any, names its hit ratio.
        for r in recs.iter().filter(|r| r.target == a) {
            assert!(r.evidence.contains_key("cache_hit_ratio"), "{r:?}");
        }
    }
    let lake = Lake::open(config).unwrap();
    let s = lake.access_stats().unwrap();
    assert!(s.targets[a].cache.hits > 0 && s.targets[a].cache.misses > 0);
    assert!(s.targets[b].cache.misses > 0);
    assert!(s.targets[a].cache.hit_bytes > 0 && s.targets[a].cache.miss_bytes > 0);
}

#[test]
fn cache_hits_are_counted_per_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), vec![common::local_tier("hot")]);
    // The only tier, cached (by default the hottest tier is not), in small blocks so a scan's
    // reads span several.
    config.cache.tiers = Some(vec!["hot".into()]);
    config.cache.block_size = 16 << 10;
    {
        let lake = Lake::open(&config).unwrap();
        for (name, from) in [("sales", 0), ("returns", 50_000)] {
            let b = events(from, 20_000);
            lake.write(
                name,
                &b.schema(),
                std::slice::from_ref(&b),
                &strata::WriteOptions::default(),
            )
            .unwrap();
        }
    }
    cached_reads_are_counted_per_target(&config, "sales", "returns");
}

#[test]
fn cache_hits_are_counted_per_table_on_a_cached_tier() {
    let Some(tier) = common::s3_tier("s3", "advisor_cache_hits") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), vec![tier]);
    config.cache.tiers = Some(vec!["s3".into()]);
    config.cache.block_size = 16 << 10;
    {
        let lake = Lake::open(&config).unwrap();
        for (name, from) in [(TABLE, 0), ("silver/other", 50_000)] {
            let b = events(from, 20_000);
            lake.table(name)
                .unwrap()
                .create(&b.schema(), &[b], &TableOptions::default())
                .unwrap();
        }
    }
    cached_reads_are_counted_per_target(&config, TABLE, "silver/other");
}

/// A get of an object on a cached tier counts its block reads on the object: a miss first,
/// hits after.
#[test]
fn gets_count_their_cache_hits_per_object() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), vec![common::local_tier("hot")]);
    config.cache.tiers = Some(vec!["hot".into()]);
    let lake = Lake::open(&config).unwrap();
    lake.put("raw/a.bin", vec![7u8; 100_000]).unwrap();
    lake.get("raw/a.bin").unwrap();
    let first = lake.access_stats().unwrap().objects["raw/a.bin"].cache;
    assert_eq!(
        (first.hits, first.misses, first.miss_bytes),
        (0, 1, 100_000)
    );
    lake.get("raw/a.bin").unwrap();
    lake.get_range("raw/a.bin", 10..20).unwrap();
    let after = lake.access_stats().unwrap().objects["raw/a.bin"].cache;
    assert_eq!((after.hits, after.misses), (2, 1));
    assert_eq!(after.hit_bytes, 200_000);
}

/// A statistics file written before cache reads were counted (format 1, no `cache` fields)
/// still loads, its counters intact and its cache counts zero.
#[test]
fn statistics_written_before_cache_counts_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stats-v1/access.json");
    std::fs::create_dir_all(dir.path().join("_stats")).unwrap();
    std::fs::copy(&fixture, dir.path().join("_stats/access.json")).unwrap();
    let lake = lake(dir.path());
    let s = lake.access_stats().unwrap();
    let t = &s.targets[TABLE];
    assert_eq!(t.scans, 5);
    assert!(t.cache.is_empty());
    assert_eq!(s.objects["raw/a.bin"].reads, 1);
}
