//! `store`: put and get of 4 KiB, 1 MiB and 64 MiB objects on each tier, against `std::fs`
//! writing and reading the same bytes as files. strata's put stages the object, fsyncs it,
//! commits the tier index and renames; the baseline writes a temp file, fsyncs it, renames it
//! and fsyncs the directory: both are durable, atomic writes. strata's get of a local tier
//! maps the file (the cold tier: through the block cache); every byte of it is read (summed), as
//! `std::fs::read` copies every byte.

use std::hint::black_box;
use std::io::Write;
use std::path::Path;

use bytes::Bytes;

use super::measure::{pair, rate};
use super::record::{Record, Side, Spread};
use super::{io_error, noise, open_lake, touch, Context};

const SIZES: [(&str, usize, usize); 3] = [
    ("4KiB", 4 << 10, 256),
    ("1MiB", 1 << 20, 32),
    ("64MiB", 64 << 20, 1),
];

fn durable_write(dir: &Path, name: &str, data: &[u8]) -> strata::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let target = dir.join(name);
    let mut file = std::fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
    file.write_all(data)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, &target).map_err(|e| io_error(&target, e))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, e))
}

pub fn run(ctx: &Context) -> strata::Result<Vec<Record>> {
    let dir = ctx.scratch("store")?;
    let lake = open_lake(&dir.join("lake"))?;
    let fs_dir = dir.join("fs");
    std::fs::create_dir_all(&fs_dir).map_err(|e| io_error(&fs_dir, e))?;
    let mut records = Vec::new();
    for (label, size, count) in SIZES {
        let payload = Bytes::from(noise(size, size as u64));
        let total = (size * count) as f64;
        for tier in ["hot", "cold"] {
            let prefix = if tier == "cold" { "cold/" } else { "" };
            let key = |i: usize| format!("{prefix}bench/{label}/{i}");
            let id = format!("store/put/{label}/{tier}");
            ctx.progress.case(&id);
            let (ours, theirs) = pair(
                &id,
                ctx.runs,
                &mut || {
                    for i in 0..count {
                        lake.put(&key(i), payload.clone())?;
                    }
                    Ok(())
                },
                &mut || {
                    for i in 0..count {
                        durable_write(&fs_dir, &format!("{label}-{i}"), &payload)?;
                    }
                    Ok(())
                },
            )?;
            records.push(
                Record::new(
                    id,
                    "MB/s",
                    true,
                    Spread::of(rate(&ours, total, 1e6)),
                    Side {
                        name: "strata Lake::put".into(),
                        threads: 1,
                        batch_rows: None,
                        io: format!(
                            "{tier} tier (local directory): stage, fsync, index commit, rename"
                        ),
                        state: "objects overwritten run after run".into(),
                    },
                )
                .against(
                    Side {
                        name: "std::fs: temp file, write, fsync, rename, fsync dir".into(),
                        threads: 1,
                        batch_rows: None,
                        io: "local directory on the same disk".into(),
                        state: "files overwritten run after run".into(),
                    },
                    Spread::of(rate(&theirs, total, 1e6)),
                )
                .note(format!("{count} objects of {label} per run"))
                .extra("objects", count as f64),
            );

            let id = format!("store/get/{label}/{tier}");
            ctx.progress.case(&id);
            // One untimed pass: the OS page cache (and the block cache of the cold tier) warm.
            for i in 0..count {
                black_box(touch(&lake.get(&key(i))?));
                let path = fs_dir.join(format!("{label}-{i}"));
                black_box(std::fs::read(&path).map_err(|e| io_error(&path, e))?);
            }
            let (ours, theirs) = pair(
                &id,
                ctx.runs,
                &mut || {
                    for i in 0..count {
                        black_box(touch(&lake.get(&key(i))?));
                    }
                    Ok(())
                },
                &mut || {
                    for i in 0..count {
                        let path = fs_dir.join(format!("{label}-{i}"));
                        black_box(touch(
                            &std::fs::read(&path).map_err(|e| io_error(&path, e))?,
                        ));
                    }
                    Ok(())
                },
            )?;
            let io = if tier == "cold" {
                "cold tier (local directory) through the block cache, every byte read"
            } else {
                "memory map of the hot tier's file, every byte read"
            };
            records.push(
                Record::new(
                    id,
                    "MB/s",
                    true,
                    Spread::of(rate(&ours, total, 1e6)),
                    Side {
                        name: "strata Lake::get".into(),
                        threads: 1,
                        batch_rows: None,
                        io: io.into(),
                        state: "warm: OS page cache (and block cache) filled by an untimed pass; the hot tier's map kept between gets"
                            .into(),
                    },
                )
                .against(
                    Side {
                        name: "std::fs::read, every byte read".into(),
                        threads: 1,
                        batch_rows: None,
                        io: "read(2) into a new buffer".into(),
                        state: "warm: OS page cache filled by an untimed pass".into(),
                    },
                    Spread::of(rate(&theirs, total, 1e6)),
                )
                .note(format!("{count} objects of {label} per run")),
            );
        }
    }
    Ok(records)
}
