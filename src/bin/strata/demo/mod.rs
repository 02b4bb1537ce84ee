//! `strata demo`: an end-to-end run on a data root that prints what it did.
//!
//! Each capability adds its part here, so the demo is the quickest way to see strata work.

mod cache;
mod data;
mod governance;
mod mask;
mod tables;
mod tuning;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use strata::{Error, ErrorKind, Lake, LakeConfig, PutOptions, Result, RunOptions};

/// Runs the demonstration against `config`, printing to `out`.
pub fn run(config: &LakeConfig, out: &mut dyn Write) -> Result<()> {
    let mut say = |line: String| -> Result<()> {
        writeln!(out, "{line}")
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot write output: {e}")))
    };
    let started = Instant::now();
    let store = Lake::open(config)?;
    say(format!(
        "strata demo on data root {}",
        store.dir().display()
    ))?;
    for (name, location) in store.store().tier_locations() {
        say(format!("  tier {name:<5} at {location}"))?;
    }

    say("\n== Tiered storage".into())?;
    let mut written = 0u64;
    let sealed = PutOptions {
        encrypt: Some(true),
    };
    for day in 1..=5u8 {
        let body = format!("{{\"day\":{day},\"events\":[1,2,3]}}\n").repeat(200 * day as usize);
        let key = format!("demo/raw/events/day={day:02}.json");
        written += store.put_with(&key, body.into_bytes(), &sealed)?.size;
    }
    let model: Vec<u8> = (0..24 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let t = Instant::now();
    let info = store.put("demo/models/weights.bin", model.clone())?;
    say(format!(
        "put 5 event files ({written} bytes, encrypted) and a {} MiB model (multipart upload, {:.0?}) into tier {}",
        info.size >> 20,
        t.elapsed(),
        info.tier
    ))?;
    store.put("tmp/demo-scratch.txt", b"scratch data".to_vec())?;
    let t = Instant::now();
    let back = store.get("demo/models/weights.bin")?;
    if back[..] != model[..] {
        return Err(Error::new(
            ErrorKind::Corrupt,
            "demo: model read back differs",
        ));
    }
    say(format!(
        "get of the model: byte-identical, {:.1?} (memory-mapped from the hot tier); blake3 {}",
        t.elapsed(),
        &info.checksum[..16]
    ))?;
    let range = store.get_range("demo/raw/events/day=03.json", 0..13)?;
    say(format!(
        "ranged get of day=03 bytes 0..13: {:?}",
        String::from_utf8_lossy(&range)
    ))?;
    for o in store.list("demo/")? {
        say(format!("  {:>10} B  {:<5} {}", o.size, o.tier, o.key))?;
    }

    say("\n== Encryption at rest".into())?;
    let day2 = store.stat("demo/raw/events/day=02.json")?;
    say(format!(
        "day=02 is sealed in an AES-256-GCM envelope (format {}) under key {} from {}",
        day2.envelope_version.unwrap_or_default(),
        day2.key_id.as_deref().unwrap_or("?"),
        store.store().keyring_path().display()
    ))?;
    if let Some(file) = store.store().local_file("demo/raw/events/day=02.json") {
        let raw =
            std::fs::read(&file).map_err(|e| io("demo: cannot read the stored file", &file, e))?;
        let leaked = raw.windows(7).any(|w| w == b"\"day\":2");
        say(format!(
            "its file holds {} bytes starting {:?}; plaintext found in it: {leaked}",
            raw.len(),
            String::from_utf8_lossy(&raw[..6.min(raw.len())])
        ))?;
    }
    let clear = store.get_range("demo/raw/events/day=02.json", 0..17)?;
    say(format!(
        "get decrypts: {:?}",
        String::from_utf8_lossy(&clear)
    ))?;

    mask::run(&store, &mut say)?;

    cache::put(&store)?;
    say("\n== Lifecycle and retention (policies evaluated 31 days from now)".into())?;
    let later = SystemTime::now() + Duration::from_secs(31 * 86_400);
    let dry = store.run_tiers(
        &RunOptions {
            dry_run: true,
            now: Some(later),
            ..RunOptions::default()
        },
        &|_, _| {},
    )?;
    say(format!(
        "dry run plans {} actions and changes nothing:",
        dry.actions.len()
    ))?;
    for a in &dry.actions {
        say(format!("  {}", a.planned))?;
    }
    let report = store.run_tiers(
        &RunOptions {
            now: Some(later),
            ..RunOptions::default()
        },
        &|_, _| {},
    )?;
    say(format!(
        "tier run: {} moved ({} bytes, each copied, verified by checksum, then the source deleted), {} expired, {} failed",
        report.moved, report.bytes_moved, report.expired, report.failed
    ))?;
    let cold = store.stat("demo/models/weights.bin")?;
    let back = store.get("demo/models/weights.bin")?;
    say(format!(
        "model now in tier {}; get still returns it byte-identical: {}",
        cold.tier,
        back[..] == model[..]
    ))?;
    say(format!(
        "tmp/demo-scratch.txt still present: {}",
        store.exists("tmp/demo-scratch.txt")?
    ))?;

    cache::run(&store, &mut say)?;

    say("\n== Promotion on repeated reads".into())?;
    for _ in 0..3 {
        store.get("demo/raw/events/day=01.json")?;
    }
    let report = store.run_tiers(&RunOptions::default(), &|_, _| {})?;
    let day1 = store.stat("demo/raw/events/day=01.json")?;
    say(format!(
        "read day=01 3 times; tier run promoted {} object(s); day=01 is in tier {} with {} reads",
        report.moved, day1.tier, day1.access_count
    ))?;

    bronze(&store, &mut say)?;
    tables::run(&store, &mut say)?;
    governance::run(store.dir(), &mut say)?;
    tuning::run(store.dir(), &mut say)?;

    say("\n== The tier index is rebuildable".into())?;
    let rebuilt = store.reindex()?;
    say(format!(
        "reindex from the tiers found {} objects ({} bytes); index file {}",
        rebuilt.objects,
        rebuilt.bytes,
        store.dir().join(strata::store::INDEX_FILE).display()
    ))?;
    say(format!("\ndemo finished in {:.1?}", started.elapsed()))?;
    Ok(())
}

/// An internal error (a bug, or the OS failing the demo).
fn internal(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Internal, message)
}

/// An I/O error with the path it concerns, of the kind the library gives such errors.
fn io(what: &str, path: &Path, err: std::io::Error) -> Error {
    let kind = match err.kind() {
        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
        std::io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
        _ => ErrorKind::Io,
    };
    Error::new(kind, format!("{what}: {err}"))
        .with("path", path.display())
        .set_source(err)
}

/// The rules the demo checks its bronze data against.
const BRONZE_RULES: &str = r#"
[[rules]]
check = "not_null"
column = "trip_id"

[[rules]]
check = "unique"
column = "trip_id"
severity = "warn"

[[rules]]
check = "range"
column = "fare"
min = 0.0
mostly = 0.99

[[rules]]
check = "allowed_set"
column = "zone"
values = ["JFK", "LGA", "EWR", "Midtown", "Harlem", "SoHo", "Astoria", "Flushing"]

[[rules]]
check = "regex"
column = "rider_email"
pattern = '^[^@\s]+@[^@\s]+\.[a-z]+$'
mostly = 0.999
severity = "warn"

# Flags rows that hold card numbers (Luhn-checked): bronze data must be masked before use.
[[rules]]
check = "pii"
column = "card_number"
kind = "credit_card"
severity = "info"
"#;

/// Bronze data in the lake: a pruned, projected scan, a profile and a rules check.
fn bronze(store: &Lake, say: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
    say("\n== Bronze data: a pruned scan, a profile and a check".into())?;
    let table = data::bronze_trips(200_000)?;
    // Written through the lake's Parquet writer: per-column codecs and encodings chosen by
    // `auto`, then put atomically. Stored in clear: Parquet files are protected by Parquet
    // modular encryption instead of the object envelope, so that other engines can read them.
    let key = "demo/bronze/trips.parquet";
    let options = strata::WriteOptions {
        row_group_rows: data::ROW_GROUP_ROWS,
        ..strata::WriteOptions::default()
    };
    let (info, summary) = store.write_object_with(
        key,
        &table.schema(),
        std::slice::from_ref(&table),
        &options,
        &PutOptions {
            encrypt: Some(false),
        },
    )?;
    let plain = data::to_parquet(&table)?.len();
    say(format!(
        "wrote {} rows as {} ({}); codec policy {}: {} KiB, vs {} KiB for zstd everywhere with default encodings",
        summary.rows,
        summary.format,
        summary.format_reason,
        summary.codec_policy,
        info.size >> 10,
        plain >> 10
    ))?;
    for c in &summary.columns {
        say(format!(
            "  {:<12} {:<8} {:<20} {}",
            c.column,
            c.codec.to_string(),
            c.encoding,
            c.reason
        ))?;
    }
    say(format!(
        "put {key}: {} rows, {} KiB of Parquet in row groups of {} rows, tier {}",
        table.num_rows(),
        info.size >> 10,
        data::ROW_GROUP_ROWS,
        info.tier
    ))?;

    let filter = "trip_id >= 180000 AND zone IN ('JFK','LGA')";
    let t = Instant::now();
    let scan = store
        .scan(key)?
        .columns(&["trip_id", "zone", "fare"])
        .filter(strata::Expr::parse(filter)?)
        .run()?;
    say(format!(
        "scan --columns trip_id,zone,fare --filter \"{filter}\": {} rows in {:.1?}; {} of {} row groups skipped ({} by bloom filters), {} of {} pages skipped by the page index, {} rows decoded",
        scan.stats.rows_out,
        t.elapsed(),
        scan.stats.row_groups_skipped,
        scan.stats.row_groups_total,
        scan.stats.row_groups_skipped_bloom,
        scan.stats.pages_skipped,
        scan.stats.pages_total,
        scan.stats.rows_decoded
    ))?;

    let t = Instant::now();
    let profile = store
        .scan(key)?
        .columns(&["fare", "distance_km", "zone", "rider_email"])
        .profile(&strata::quality::ProfileOptions::default())?;
    say(format!("profile of 4 columns ({:.1?}):", t.elapsed()))?;
    for c in profile.summary() {
        let show =
            |v: Option<strata::quality::Scalar>| v.map(|v| v.to_string()).unwrap_or_default();
        let distinct = c
            .distinct
            .map(|d| format!("{}{}", if d.exact { "" } else { "~" }, d.value))
            .unwrap_or_default();
        say(format!(
            "  {:<12} nulls {:>5}  NaN {:>4}  distinct {:>7}  min {:<22} max {:<22} mean {}",
            c.name,
            c.nulls,
            c.nans,
            distinct,
            show(c.min),
            show(c.max),
            c.mean
                .map(|m| format!("{m:.2}"))
                .unwrap_or_else(|| "-".into())
        ))?;
    }

    let rules = strata::quality::RuleSet::from_toml_str(BRONZE_RULES)?;
    let t = Instant::now();
    let report = store
        .scan(key)?
        .columns(&rules.columns())
        .check(&rules, &strata::quality::CheckOptions::default())?;
    say(format!(
        "check against {} rules ({:.1?}):",
        rules.rules.len(),
        t.elapsed()
    ))?;
    for r in &report.results {
        say(format!(
            "  {} {:<5} {:<32} {}",
            if r.passed { "PASS" } else { "FAIL" },
            format!("{:?}", r.severity).to_lowercase(),
            r.rule,
            r.message
        ))?;
    }
    say(format!(
        "passed (no error-severity failure): {}; score {:.3}; dataset quality {:.3} (completeness {:.4} x 0.7 + uniqueness {:.4} x 0.3)",
        report.passed,
        report.score,
        report.dataset.score,
        report.dataset.completeness,
        report.dataset.uniqueness
    ))
}
