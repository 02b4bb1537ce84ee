//! `strata demo`: an end-to-end run on a data root that prints what it did.
//!
//! Each capability adds its part here, so the demo is the quickest way to see strata work.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use crate::config::LakeConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::store::{PutOptions, RunOptions, Store};

mod mask;

/// Runs the demonstration against `config`, printing to `out`.
pub fn run(config: &LakeConfig, out: &mut dyn Write) -> Result<()> {
    let mut say = |line: String| -> Result<()> {
        writeln!(out, "{line}")
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot write output: {e}")))
    };
    let started = Instant::now();
    let store = Store::open(config)?;
    say(format!(
        "strata demo on data root {}",
        store.dir().display()
    ))?;
    for (name, location) in store.tier_locations() {
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
        return Err(Error::corrupt("demo: model read back differs"));
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
        store.keyring_path().display()
    ))?;
    if let Some(file) = store.local_file("demo/raw/events/day=02.json") {
        let raw = std::fs::read(&file)
            .map_err(|e| Error::io("demo: cannot read the stored file", &file, e))?;
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

    mask::run(config, &store, &mut say)?;

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

    say("\n== The tier index is rebuildable".into())?;
    let rebuilt = store.reindex()?;
    say(format!(
        "reindex from the tiers found {} objects ({} bytes); index file {}",
        rebuilt.objects,
        rebuilt.bytes,
        store.dir().join(crate::store::INDEX_FILE).display()
    ))?;
    say(format!("\ndemo finished in {:.1?}", started.elapsed()))?;
    Ok(())
}
