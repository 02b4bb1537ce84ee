//! `crypto`: a 64 MiB object put encrypted (an envelope: AES-256-GCM chunks, a wrapped data
//! key) and read back decrypted, against the same object in plaintext; and a full scan of an
//! encrypted Delta table (Parquet modular encryption, one key) against the same table in
//! plaintext. Every get reads every byte; both tables are written by strata with the same
//! options.

use std::hint::black_box;

use bytes::Bytes;
use strata::crypto::ParquetEncryption;
use strata::table::TableOptions;
use strata::PutOptions;

use super::data::{memory_size, read_all};
use super::measure::{millis, pair, rate};
use super::record::{Record, Side, Spread};
use super::{noise, open_lake, touch, Context};

const OBJECT: usize = 64 << 20;

fn side(name: &str, io: &str, state: &str) -> Side {
    Side {
        name: name.into(),
        threads: 1,
        batch_rows: None,
        io: io.into(),
        state: state.into(),
    }
}

pub fn run(ctx: &Context) -> strata::Result<Vec<Record>> {
    let dir = ctx.scratch("crypto")?;
    let lake = open_lake(&dir.join("lake"))?;
    let key_id = lake.keys().new_key(None)?;
    let payload = Bytes::from(noise(OBJECT, 99));
    let (sealed, plain) = (
        PutOptions {
            encrypt: Some(true),
        },
        PutOptions {
            encrypt: Some(false),
        },
    );
    let mut records = Vec::new();

    let id = "crypto/put_64MiB/sealed".to_string();
    ctx.progress.case(&id);
    let (ours, theirs) = pair(
        &id,
        ctx.runs,
        &mut || {
            lake.put_with("crypto/sealed", payload.clone(), &sealed)
                .map(drop)
        },
        &mut || {
            lake.put_with("crypto/plain", payload.clone(), &plain)
                .map(drop)
        },
    )?;
    records.push(
        Record::new(
            id,
            "MB/s",
            true,
            Spread::of(rate(&ours, OBJECT as f64, 1e6)),
            side(
                "strata Lake::put_with, encrypted",
                "hot tier",
                "one key, data key per object",
            ),
        )
        .against(
            side(
                "strata Lake::put_with, plaintext",
                "hot tier",
                "same object",
            ),
            Spread::of(rate(&theirs, OBJECT as f64, 1e6)),
        )
        .note("envelope sealing cost on top of a durable put"),
    );

    let id = "crypto/get_64MiB/sealed".to_string();
    ctx.progress.case(&id);
    black_box(touch(&lake.get("crypto/sealed")?));
    black_box(touch(&lake.get("crypto/plain")?));
    let (ours, theirs) = pair(
        &id,
        ctx.runs,
        &mut || {
            black_box(touch(&lake.get("crypto/sealed")?));
            Ok(())
        },
        &mut || {
            black_box(touch(&lake.get("crypto/plain")?));
            Ok(())
        },
    )?;
    records.push(
        Record::new(
            id,
            "MB/s",
            true,
            Spread::of(rate(&ours, OBJECT as f64, 1e6)),
            side(
                "strata Lake::get, decrypted, every byte read",
                "hot tier file, decrypted into memory",
                "warm: OS page cache",
            ),
        )
        .against(
            side(
                "strata Lake::get, plaintext, every byte read",
                "memory map of the hot tier file (kept)",
                "warm: OS page cache",
            ),
            Spread::of(rate(&theirs, OBJECT as f64, 1e6)),
        )
        .note(format!("AEAD backend {:?}", strata::tuning::aead_backend())),
    );

    let batches = read_all(&ctx.data.lineitem)?;
    if let Some(schema) = batches.first().map(|b| b.schema()) {
        let plain_table = lake.table("bronze/bench_plain")?;
        plain_table.create(&schema, &batches, &TableOptions::default())?;
        let sealed_table = lake.table("bronze/bench_sealed")?;
        sealed_table.create(
            &schema,
            &batches,
            &TableOptions {
                encryption: Some(ParquetEncryption::uniform(key_id.clone())),
                ..TableOptions::default()
            },
        )?;
        let id = format!("crypto/table_scan/sealed/threads={}", ctx.threads);
        ctx.progress.case(&id);
        let scan = |t: &strata::table::Table| -> strata::Result<()> {
            t.scan()?.threads(ctx.threads).for_each(|b| {
                black_box(b);
                Ok(())
            })?;
            Ok(())
        };
        scan(&sealed_table)?;
        scan(&plain_table)?;
        let (ours, theirs) = pair(&id, ctx.runs, &mut || scan(&sealed_table), &mut || {
            scan(&plain_table)
        })?;
        let threads = ctx.threads;
        let table_side = |name: &str| Side {
            name: name.into(),
            threads,
            batch_rows: Some(strata::read::DEFAULT_BATCH_SIZE),
            io: "Delta table in the lake's hot tier directory".into(),
            state: "warm: OS page cache, by an untimed scan".into(),
        };
        records.push(
            Record::new(
                id,
                "ms",
                false,
                Spread::of(millis(&ours)),
                table_side("strata Table::scan, Parquet modular encryption (one key)"),
            )
            .against(
                table_side("strata Table::scan, plaintext"),
                Spread::of(millis(&theirs)),
            )
            .note(format!(
                "TPC-H lineitem, {:.1} MB in memory; both tables written by strata with the same options",
                memory_size(&batches) as f64 / 1e6
            )),
        );
    }
    Ok(records)
}
