//! `write`: TPC-H lineitem and orders (and the mixed table) written with each codec policy
//! and with fixed codecs, through `Lake::write_object_with` (format choice, per-column codecs
//! and encodings, staging and an atomic put), against the parquet crate's `ArrowWriter` with
//! default properties writing the same batches to a file. MB/s counts the batches' Arrow
//! memory; the compression ratio is that memory over the file's bytes. strata encodes columns
//! in parallel: each policy runs on 1 thread (equal threads with `ArrowWriter`, which is
//! single-threaded) and on N.

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use strata::format::{Codec, CodecPolicy, FormatChoice};
use strata::{PutOptions, WriteOptions};

use super::data::{memory_size, mixed, read_all};
use super::measure::{alone, rate, time};
use super::record::{Record, Side, Spread};
use super::{io_error, open_lake, other, Context};

fn policies() -> Vec<(&'static str, CodecPolicy, bool)> {
    vec![
        ("fast", CodecPolicy::Fast, true),
        ("balanced", CodecPolicy::Balanced, true),
        ("compact", CodecPolicy::Compact, true),
        ("auto", CodecPolicy::Auto, true),
        ("snappy", CodecPolicy::Fixed(Codec::Snappy), false),
        ("zstd3", CodecPolicy::Fixed(Codec::Zstd(3)), false),
        ("lz4", CodecPolicy::Fixed(Codec::Lz4), false),
        ("none", CodecPolicy::Fixed(Codec::None), false),
    ]
}

pub fn run(ctx: &Context) -> strata::Result<Vec<Record>> {
    let dir = ctx.scratch("write")?;
    let lake = open_lake(&dir.join("lake"))?;
    let tables: Vec<(&str, Vec<RecordBatch>)> = vec![
        ("lineitem", read_all(&ctx.data.lineitem)?),
        ("orders", read_all(&ctx.data.orders)?),
        ("mixed", vec![mixed(ctx.data.mixed_rows(), 7)?]),
    ];
    let mut records = Vec::new();
    for (name, batches) in &tables {
        let Some(schema) = batches.first().map(|b| b.schema()) else {
            continue;
        };
        let memory = memory_size(batches) as f64;
        // The baseline, timed once per table: every policy's ratio is to these runs.
        let target = dir.join(format!("{name}.arrow_writer.parquet"));
        let mut baseline_bytes = 0u64;
        ctx.progress.case(&format!("write/{name}/ArrowWriter"));
        let theirs: Vec<f64> = (0..ctx.runs)
            .map(|_| {
                time(&mut || {
                    let file = std::fs::File::create(&target).map_err(|e| io_error(&target, e))?;
                    let mut writer = ArrowWriter::try_new(file, schema.clone(), None)
                        .map_err(|e| other("ArrowWriter", e))?;
                    for b in batches {
                        writer.write(b).map_err(|e| other("ArrowWriter", e))?;
                    }
                    writer.close().map_err(|e| other("ArrowWriter", e))?;
                    Ok(())
                })
            })
            .collect::<strata::Result<_>>()?;
        if let Ok(m) = std::fs::metadata(&target) {
            baseline_bytes = m.len();
        }
        let baseline = Spread::of(rate(&theirs, memory, 1e6));
        for (label, policy, is_policy) in policies() {
            // Fixed codecs and the mixed table at N threads only, to keep the suite short.
            let counts = if is_policy && *name != "mixed" {
                ctx.thread_counts()
            } else {
                vec![ctx.threads]
            };
            for threads in counts {
                let id = format!("write/{name}/{label}/threads={threads}");
                ctx.progress.case(&id);
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .map_err(|e| other("thread pool", e))?;
                let options = WriteOptions {
                    format: FormatChoice::Parquet,
                    codec: policy,
                    ..WriteOptions::default()
                };
                let key = format!("write/{name}-{label}-{threads}.parquet");
                let clear = PutOptions {
                    encrypt: Some(false),
                };
                let mut bytes = 0u64;
                let ours = alone(&id, ctx.runs, &mut || {
                    let (info, _) = pool.install(|| {
                        lake.write_object_with(&key, &schema, batches, &options, &clear)
                    })?;
                    bytes = info.size;
                    Ok(())
                })?;
                records.push(
                    Record::new(
                        id,
                        "MB/s",
                        true,
                        Spread::of(rate(&ours, memory, 1e6)),
                        Side {
                            name: format!("strata Lake::write_object_with, codec {label}"),
                            threads,
                            batch_rows: Some(batches[0].num_rows()),
                            io: "staged file in the lake, then an atomic put (hot tier)".into(),
                            state: "batches in memory".into(),
                        },
                    )
                    .against(
                        Side {
                            name: "parquet ArrowWriter, default properties".into(),
                            threads: 1,
                            batch_rows: Some(batches[0].num_rows()),
                            io: "std::fs::File in the work directory".into(),
                            state: "batches in memory".into(),
                        },
                        baseline.clone(),
                    )
                    .note(format!(
                        "MB/s of Arrow memory written ({:.1} MB); ArrowWriter's default is \
                         uncompressed, one thread",
                        memory / 1e6
                    ))
                    .extra("bytes", bytes as f64)
                    .extra("compression_ratio", memory / bytes.max(1) as f64)
                    .extra("baseline_bytes", baseline_bytes as f64)
                    .extra(
                        "baseline_compression_ratio",
                        memory / baseline_bytes.max(1) as f64,
                    ),
                );
            }
        }
    }
    Ok(records)
}
