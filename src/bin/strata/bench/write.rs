//! `write`: TPC-H lineitem and orders (and the mixed table) written with each codec policy
//! and with fixed codecs, through `Lake::write_object_with` (format choice, per-column codecs
//! and encodings, staging and an atomic put), against the parquet crate's `ArrowWriter` with
//! default properties writing the same batches to a file. MB/s counts the batches' Arrow
//! memory; the compression ratio is that memory over the file's bytes. strata encodes columns
//! in parallel: each policy runs on 1 thread (equal threads with `ArrowWriter`, which is
//! single-threaded) and on N.

use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory,
};
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
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
        // The baselines, timed once per table and thread count: every policy's ratio at a
        // thread count is to the runs of that count.
        let mut baselines = std::collections::BTreeMap::new();
        for threads in ctx.thread_counts() {
            let target = dir.join(format!("{name}.arrow_writer.{threads}.parquet"));
            ctx.progress
                .case(&format!("write/{name}/ArrowWriter/threads={threads}"));
            let theirs: Vec<f64> = (0..ctx.runs)
                .map(|_| time(&mut || arrow_writer(&target, &schema, batches, threads)))
                .collect::<strata::Result<_>>()?;
            let bytes = std::fs::metadata(&target).map_or(0, |m| m.len());
            let side = Side {
                name: if threads == 1 {
                    "parquet ArrowWriter, default properties".into()
                } else {
                    format!(
                        "parquet ArrowWriter's column writers (ArrowColumnWriter), default \
                         properties, columns shared over {threads} threads"
                    )
                },
                threads,
                batch_rows: Some(batches[0].num_rows()),
                io: "std::fs::File in the work directory".into(),
                state: "batches in memory".into(),
            };
            baselines.insert(
                threads,
                (side, Spread::of(rate(&theirs, memory, 1e6)), bytes),
            );
        }
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
                let Some((side, baseline, baseline_bytes)) = baselines.get(&threads) else {
                    continue;
                };
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
                    .against(side.clone(), baseline.clone())
                    .note(format!(
                        "MB/s of Arrow memory written ({:.1} MB); ArrowWriter's default is \
                         uncompressed; equal threads on both sides",
                        memory / 1e6
                    ))
                    .extra("bytes", bytes as f64)
                    .extra("compression_ratio", memory / bytes.max(1) as f64)
                    .extra("baseline_bytes", *baseline_bytes as f64)
                    .extra(
                        "baseline_compression_ratio",
                        memory / (*baseline_bytes).max(1) as f64,
                    ),
                );
            }
        }
    }
    Ok(records)
}

/// The baseline: `ArrowWriter` with default properties on one thread; on more, its column
/// writers (one per leaf column, shared over `threads` threads), row groups as `ArrowWriter`
/// cuts them.
fn arrow_writer(
    target: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    threads: usize,
) -> strata::Result<()> {
    let file = std::fs::File::create(target).map_err(|e| io_error(target, e))?;
    let fail = |e: parquet::errors::ParquetError| other("ArrowWriter", e);
    if threads <= 1 {
        let mut writer = ArrowWriter::try_new(file, schema.clone(), None).map_err(fail)?;
        for b in batches {
            writer.write(b).map_err(fail)?;
        }
        return writer.close().map(drop).map_err(fail);
    }
    let props = Arc::new(WriterProperties::default());
    let parquet_schema = ArrowSchemaConverter::new()
        .with_coerce_types(props.coerce_types())
        .convert(schema)
        .map_err(fail)?;
    let mut writer =
        SerializedFileWriter::new(file, parquet_schema.root_schema_ptr(), props.clone())
            .map_err(fail)?;
    let factory = ArrowRowGroupWriterFactory::new(&writer, schema.clone());
    let group_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
    // Row groups of `group_rows` rows, as slices of the batches.
    let mut groups: Vec<Vec<RecordBatch>> = vec![Vec::new()];
    let mut in_group = 0;
    for batch in batches {
        let mut at = 0;
        while at < batch.num_rows() {
            if in_group == group_rows {
                groups.push(Vec::new());
                in_group = 0;
            }
            let n = (group_rows - in_group).min(batch.num_rows() - at);
            if let Some(g) = groups.last_mut() {
                g.push(batch.slice(at, n));
            }
            at += n;
            in_group += n;
        }
    }
    for (index, group) in groups.iter().enumerate() {
        let writers = factory.create_column_writers(index).map_err(fail)?;
        if writers.len() != schema.fields().len() {
            return Err(other(
                "ArrowWriter",
                "nested columns are not shared out here",
            ));
        }
        let mut shares: Vec<Vec<(usize, ArrowColumnWriter)>> =
            (0..threads).map(|_| Vec::new()).collect();
        for (i, w) in writers.into_iter().enumerate() {
            shares[i % threads].push((i, w));
        }
        let encoded: Vec<strata::Result<Vec<(usize, ArrowColumnChunk)>>> =
            std::thread::scope(|s| {
                let handles: Vec<_> = shares
                    .into_iter()
                    .map(|share| {
                        s.spawn(move || {
                            let mut out = Vec::new();
                            for (i, mut w) in share {
                                let field = schema.field(i);
                                for b in group {
                                    for leaf in compute_leaves(field, b.column(i)).map_err(fail)? {
                                        w.write(&leaf).map_err(fail)?;
                                    }
                                }
                                out.push((i, w.close().map_err(fail)?));
                            }
                            Ok(out)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(other("ArrowWriter", "a thread panicked")))
                    })
                    .collect()
            });
        let mut chunks = Vec::new();
        for share in encoded {
            chunks.extend(share?);
        }
        chunks.sort_by_key(|(i, _)| *i);
        let mut row_group = writer.next_row_group().map_err(fail)?;
        for (_, chunk) in chunks {
            chunk.append_to_row_group(&mut row_group).map_err(fail)?;
        }
        row_group.close().map_err(fail)?;
    }
    writer.close().map(drop).map_err(fail)
}
