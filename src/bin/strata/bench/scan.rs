//! `scan`: TPC-H lineitem (as the parquet crate writes it: snappy, dictionary, 1M-row row
//! groups) put into a lake and scanned with `Lake::scan`: full scan, a 2-column projection
//! and a 1%-selective range filter on `l_orderkey` (on the file with a page index and on one
//! without), on 1 and N threads; and the full scan of the same file in the cold tier through
//! the block cache, cache cold and cache warm. The baseline is the parquet crate's own reader
//! over the same bytes: a memory map of the same file (strata maps its tier file), batches of
//! 8,192 rows (strata's), its footer and page index parsed once (strata's footer cache keeps
//! them), every batch consumed and dropped. The parquet crate has no parallel reader: at N
//! threads it gets the row groups shared out by hand, or, with fewer row groups than threads,
//! the columns; its filter is a `RowFilter` after row groups are pruned by their statistics
//! (it does not skip pages by the page index on its own). Last, the full scan through the C
//! ABI's stream against the same scan in Rust (`c_stream.rs`).

use std::hint::black_box;
use std::path::Path;

use arrow::array::{BooleanArray, Int64Array, RecordBatch};
use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
    RowFilter,
};
use parquet::arrow::ProjectionMask;
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::statistics::Statistics;
use strata::{Expr, PutOptions};

use super::measure::{millis, pair};
use super::record::{Record, Side, Spread};
use super::{io_error, open_lake, other, Context};

const BATCH_ROWS: usize = strata::read::DEFAULT_BATCH_SIZE;

/// A file mapped into memory with its parsed footer (and page index, when it has one): the
/// baseline's input, here and in the `table` suite's scans.
pub(super) struct Mapped {
    bytes: Bytes,
    meta: ArrowReaderMetadata,
}

impl Mapped {
    pub(super) fn open(path: &Path) -> strata::Result<Mapped> {
        let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
        // SAFETY: the file is this bench's own generated cache file or a data file of a table
        // it wrote; Delta data files are never rewritten, and nothing writes them while
        // the bench runs.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| io_error(path, e))?;
        let bytes = Bytes::from_owner(map);
        let meta = ArrowReaderMetadata::load(
            &bytes,
            ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional),
        )
        .map_err(|e| other("parquet footer", e))?;
        Ok(Mapped { bytes, meta })
    }

    pub(super) fn row_groups(&self) -> usize {
        self.meta.metadata().num_row_groups()
    }

    fn column_index(&self, name: &str) -> Option<usize> {
        self.meta
            .parquet_schema()
            .columns()
            .iter()
            .position(|c| c.name() == name)
    }

    /// Row groups whose `l_orderkey` statistics may hold keys in `lo..hi`.
    fn groups_in(&self, column: usize, lo: i64, hi: i64) -> Vec<usize> {
        (0..self.row_groups())
            .filter(|&g| {
                match self
                    .meta
                    .metadata()
                    .row_group(g)
                    .column(column)
                    .statistics()
                {
                    Some(Statistics::Int64(s)) => {
                        let min = s.min_opt().copied().unwrap_or(i64::MIN);
                        let max = s.max_opt().copied().unwrap_or(i64::MAX);
                        max >= lo && min < hi
                    }
                    _ => true,
                }
            })
            .collect()
    }

    fn max_of(&self, column: usize) -> i64 {
        (0..self.row_groups())
            .filter_map(|g| {
                match self
                    .meta
                    .metadata()
                    .row_group(g)
                    .column(column)
                    .statistics()
                {
                    Some(Statistics::Int64(s)) => s.max_opt().copied(),
                    _ => None,
                }
            })
            .max()
            .unwrap_or(0)
    }

    /// One reader over `groups` and `columns` (leaf indices; all when `None`), optionally
    /// filtered to `key` in `lo..hi`: rows read.
    fn read(
        &self,
        groups: Vec<usize>,
        columns: Option<Vec<usize>>,
        filter: Option<(usize, i64, i64)>,
    ) -> strata::Result<usize> {
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
            self.bytes.clone(),
            self.meta.clone(),
        )
        .with_batch_size(BATCH_ROWS)
        .with_row_groups(groups);
        if let Some(leaves) = columns {
            let mask = ProjectionMask::leaves(builder.parquet_schema(), leaves);
            builder = builder.with_projection(mask);
        }
        if let Some((column, lo, hi)) = filter {
            let mask = ProjectionMask::leaves(builder.parquet_schema(), [column]);
            let predicate = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
                let keys = batch
                    .column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .ok_or_else(|| {
                        arrow::error::ArrowError::CastError("l_orderkey is not Int64".into())
                    })?;
                Ok(BooleanArray::from_iter(
                    keys.iter()
                        .map(|k| Some(k.is_some_and(|k| k >= lo && k < hi))),
                ))
            });
            builder = builder.with_row_filter(RowFilter::new(vec![Box::new(predicate)]));
        }
        let reader = builder.build().map_err(|e| other("parquet reader", e))?;
        let mut rows = 0;
        for batch in reader {
            let batch = batch.map_err(|e| other("parquet reader", e))?;
            rows += batch.num_rows();
            black_box(batch);
        }
        Ok(rows)
    }

    /// `read` on `threads` threads: row groups shared out when there are enough, else the
    /// projected columns (a filtered read shares row groups only).
    pub(super) fn read_parallel(
        &self,
        threads: usize,
        groups: Vec<usize>,
        columns: Option<Vec<usize>>,
        filter: Option<(usize, i64, i64)>,
    ) -> strata::Result<usize> {
        if threads <= 1 {
            return self.read(groups, columns, filter);
        }
        let leaves =
            columns.unwrap_or_else(|| (0..self.meta.parquet_schema().num_columns()).collect());
        let by_groups = groups.len() >= threads || filter.is_some();
        let parts: Vec<(Vec<usize>, Vec<usize>)> = (0..threads)
            .map(|t| {
                if by_groups {
                    let mine = groups.iter().copied().skip(t).step_by(threads).collect();
                    (mine, leaves.clone())
                } else {
                    let mine = leaves.iter().copied().skip(t).step_by(threads).collect();
                    (groups.clone(), mine)
                }
            })
            .filter(|(g, c)| !g.is_empty() && !c.is_empty())
            .collect();
        let results: Vec<strata::Result<usize>> = std::thread::scope(|s| {
            let handles: Vec<_> = parts
                .into_iter()
                .map(|(g, c)| s.spawn(move || self.read(g, Some(c), filter)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(other("parquet reader", "a thread panicked")))
                })
                .collect()
        });
        let counts = results
            .into_iter()
            .collect::<strata::Result<Vec<usize>>>()?;
        // Column shares each read every row; row-group shares read their own.
        Ok(if by_groups {
            counts.iter().sum()
        } else {
            counts.first().copied().unwrap_or(0)
        })
    }
}

struct Case {
    label: &'static str,
    key: &'static str,
    columns: Option<Vec<&'static str>>,
    filtered: bool,
    /// Cold-tier cases: the block cache dropped before each run.
    cache_cold: bool,
}

pub fn run(ctx: &Context) -> strata::Result<Vec<Record>> {
    let dir = ctx.scratch("scan")?;
    let lake = open_lake(&dir.join("lake"))?;
    let clear = PutOptions {
        encrypt: Some(false),
    };
    lake.put_file("scan/lineitem.parquet", &ctx.data.lineitem, &clear)?;
    lake.put_file(
        "scan/lineitem_no_page_index.parquet",
        &ctx.data.lineitem_no_page_index,
        &clear,
    )?;
    lake.put_file("cold/scan/lineitem.parquet", &ctx.data.lineitem, &clear)?;
    let with_index = Mapped::open(&ctx.data.lineitem)?;
    let without_index = Mapped::open(&ctx.data.lineitem_no_page_index)?;
    let key_column = with_index
        .column_index("l_orderkey")
        .ok_or_else(|| other("lineitem", "no l_orderkey column"))?;
    let max_key = with_index.max_of(key_column);
    let lo = max_key / 2;
    let hi = lo + (max_key / 100).max(1);
    let filter = Expr::parse(&format!("l_orderkey >= {lo} AND l_orderkey < {hi}"))?;
    let project = vec!["l_quantity", "l_extendedprice"];

    let mut cases = vec![
        Case {
            label: "full",
            key: "scan/lineitem.parquet",
            columns: None,
            filtered: false,
            cache_cold: false,
        },
        Case {
            label: "project_2",
            key: "scan/lineitem.parquet",
            columns: Some(project.clone()),
            filtered: false,
            cache_cold: false,
        },
        Case {
            label: "filter_1pct/page_index",
            key: "scan/lineitem.parquet",
            columns: None,
            filtered: true,
            cache_cold: false,
        },
        Case {
            label: "filter_1pct/no_page_index",
            key: "scan/lineitem_no_page_index.parquet",
            columns: None,
            filtered: true,
            cache_cold: false,
        },
    ];
    cases.push(Case {
        label: "full/cold_tier/cache_warm",
        key: "cold/scan/lineitem.parquet",
        columns: None,
        filtered: false,
        cache_cold: false,
    });
    cases.push(Case {
        label: "full/cold_tier/cache_cold",
        key: "cold/scan/lineitem.parquet",
        columns: None,
        filtered: false,
        cache_cold: true,
    });

    let mut records = Vec::new();
    for case in &cases {
        let cold_tier = case.key.starts_with("cold/");
        let counts = if cold_tier {
            vec![ctx.threads]
        } else {
            ctx.thread_counts()
        };
        let mapped = if case.key.contains("no_page_index") {
            &without_index
        } else {
            &with_index
        };
        let leaves = case.columns.as_ref().map(|names| {
            names
                .iter()
                .filter_map(|n| mapped.column_index(n))
                .collect::<Vec<_>>()
        });
        let baseline_filter = case.filtered.then_some((key_column, lo, hi));
        let groups = if case.filtered {
            mapped.groups_in(key_column, lo, hi)
        } else {
            (0..mapped.row_groups()).collect()
        };
        for threads in counts {
            let id = format!("scan/lineitem/{}/threads={threads}", case.label);
            ctx.progress.case(&id);
            let scan = || -> strata::Result<u64> {
                let mut scan = lake.scan(case.key)?.threads(threads).batch_size(BATCH_ROWS);
                if let Some(c) = &case.columns {
                    scan = scan.columns(c);
                }
                if case.filtered {
                    scan = scan.filter(filter.clone());
                }
                let (_, stats) = scan.for_each(|batch| {
                    black_box(batch);
                    Ok(())
                })?;
                Ok(stats.rows_out)
            };
            let baseline =
                || mapped.read_parallel(threads, groups.clone(), leaves.clone(), baseline_filter);
            // One untimed run of each: page cache, kept map and footer cache warm; the rows
            // checked equal.
            let (a, b) = (scan()?, baseline()?);
            if a != b as u64 {
                return Err(other(
                    &id,
                    format!("strata read {a} rows, the parquet crate {b}: not the same work"),
                ));
            }
            let (ours, theirs) = pair(
                &id,
                ctx.runs,
                &mut || {
                    if case.cache_cold {
                        lake.invalidate_cache("cold/");
                    }
                    scan().map(drop)
                },
                &mut || baseline().map(drop),
            )?;
            let (io, state) = if cold_tier {
                (
                    "cold tier (a local directory) read by ranges through the block cache",
                    if case.cache_cold {
                        "cache cold: blocks dropped before each run (footer cache kept); OS page cache warm"
                    } else {
                        "cache warm: blocks cached by an untimed run; nothing decoded is cached"
                    },
                )
            } else {
                (
                    "memory map of the hot tier's file (kept between scans)",
                    "warm: OS page cache, footer cached, by an untimed run",
                )
            };
            let how = if threads == 1 {
                "one reader".to_string()
            } else if case.filtered || groups.len() >= threads {
                format!("row groups shared over {threads} threads by hand")
            } else {
                format!(
                    "columns shared over {threads} threads by hand ({} row group(s))",
                    groups.len()
                )
            };
            let mut note = format!("{a} rows out; time of the scan read to its end");
            if case.filtered {
                note.push_str(&format!(
                    "; l_orderkey in {lo}..{hi}; the parquet crate prunes row groups by statistics and filters rows, no page skipping"
                ));
            }
            records.push(
                Record::new(
                    id,
                    "ms",
                    false,
                    Spread::of(millis(&ours)),
                    Side {
                        name: "strata Lake::scan".into(),
                        threads,
                        batch_rows: Some(BATCH_ROWS),
                        io: io.into(),
                        state: state.into(),
                    },
                )
                .against(
                    Side {
                        name: format!("parquet ParquetRecordBatchReader, {how}"),
                        threads,
                        batch_rows: Some(BATCH_ROWS),
                        io: "memory map of the same file (kept between scans)".into(),
                        state: "warm: OS page cache, footer and page index parsed once".into(),
                    },
                    Spread::of(millis(&theirs)),
                )
                .note(note)
                .extra("rows", a as f64),
            );
        }
    }
    records.push(super::c_stream::record(ctx, &ctx.data.lineitem)?);
    Ok(records)
}
