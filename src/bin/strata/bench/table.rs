//! `table`: Delta tables in the lake: TPC-H lineitem created and appended in 8 commits, a
//! time-travel scan of version 0 and a scan of the latest version, a delete of about 1% of
//! the rows (an `l_orderkey` range), and a merge (upsert) of 10k existing rows on
//! (`l_orderkey`, `l_linenumber`) with a new `l_comment`. Each run works on a fresh table and
//! times strata and the baseline alternately. The appends' baseline is the parquet crate's
//! `ArrowWriter` (default properties) writing the same rows to one file: a floor (no log, no
//! statistics, no commit). The scans', delete's and merge's baselines (table_baseline.rs) do
//! the same work by hand on the same version's Parquet files; their row counts are checked
//! equal to strata's every run.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use strata::table::{AsOf, ChangeReport, MergeOptions, Table, TableOptions};

use super::data::{memory_size, read_all};
use super::measure::{millis, one_pair, rate};
use super::record::{Record, Side, Spread};
use super::table_baseline::{self as baseline, Changed};
use super::{io_error, open_lake, other, Context};

const COMMITS: usize = 8;
const MERGE_ROWS: usize = 10_000;
const BATCH_ROWS: usize = strata::read::DEFAULT_BATCH_SIZE;

fn side(name: &str, threads: usize, batch_rows: Option<usize>) -> Side {
    Side {
        name: name.into(),
        threads,
        batch_rows,
        io: "Delta table under the lake's hot tier directory".into(),
        state: "fresh table each run; OS page cache warm".into(),
    }
}

fn by_hand(name: &str, threads: usize, batch_rows: Option<usize>, state: &str) -> Side {
    Side {
        name: name.into(),
        threads,
        batch_rows,
        io: "the same table's Parquet files, read directly".into(),
        state: state.into(),
    }
}

/// `rows` existing rows with a new `l_comment`: the merge source.
fn merge_source(whole: &RecordBatch, rows: usize) -> strata::Result<RecordBatch> {
    let at = whole.num_rows() / 3;
    let slice = whole.slice(at, rows.min(whole.num_rows() - at));
    let schema = slice.schema();
    let columns = schema
        .fields()
        .iter()
        .zip(slice.columns())
        .map(|(f, c)| {
            if f.name() != "l_comment" {
                return Ok(c.clone());
            }
            let text: ArrayRef = Arc::new(StringArray::from_iter_values(
                (0..c.len()).map(|i| format!("updated by merge {i}")),
            ));
            arrow::compute::cast(&text, f.data_type()).map_err(|e| other("merge source", e))
        })
        .collect::<strata::Result<Vec<_>>>()?;
    RecordBatch::try_new(schema, columns).map_err(|e| other("merge source", e))
}

/// Rows a strata scan of `table` at `as_of` returns, read to the end.
fn scan(table: &Table, as_of: AsOf, threads: usize) -> strata::Result<u64> {
    let (_, stats) = table
        .scan_as_of(as_of)?
        .threads(threads)
        .batch_size(BATCH_ROWS)
        .for_each(|b| {
            black_box(b);
            Ok(())
        })?;
    Ok(stats.rows_out)
}

fn check(id: &str, ours: u64, theirs: u64, what: &str) -> strata::Result<()> {
    if ours != theirs {
        return Err(other(
            id,
            format!("{what}: strata {ours}, the baseline {theirs}: not the same work"),
        ));
    }
    Ok(())
}

fn fresh_dir(dir: &Path) -> strata::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| io_error(dir, e))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))
}

#[derive(Default)]
struct Times {
    ours: Vec<f64>,
    theirs: Vec<f64>,
}

impl Times {
    fn push(&mut self, (a, b): (f64, f64)) {
        self.ours.push(a);
        self.theirs.push(b);
    }
}

pub fn run(ctx: &Context) -> strata::Result<Vec<Record>> {
    let dir = ctx.scratch("table")?;
    let lake = open_lake(&dir.join("lake"))?;
    let all = read_all(&ctx.data.lineitem)?;
    let Some(schema) = all.first().map(|b| b.schema()) else {
        return Ok(Vec::new());
    };
    let rows: usize = all.iter().map(|b| b.num_rows()).sum();
    let memory = memory_size(&all) as f64;
    // The rows in COMMITS nearly equal slices.
    let whole = arrow::compute::concat_batches(&schema, &all).map_err(|e| other("concat", e))?;
    let step = rows.div_ceil(COMMITS).max(1);
    let slices: Vec<RecordBatch> = (0..rows)
        .step_by(step)
        .map(|at| whole.slice(at, step.min(rows - at)))
        .collect();
    let source = merge_source(&whole, MERGE_ROWS)?;
    let max_key = arrow::compute::max(
        whole
            .column_by_name("l_orderkey")
            .and_then(|c| c.as_any().downcast_ref::<arrow::array::Int64Array>())
            .ok_or_else(|| other("lineitem", "no Int64 l_orderkey"))?,
    )
    .unwrap_or(0);
    let lo = max_key / 2;
    let hi = lo + (max_key / 100).max(1);
    let predicate = format!("l_orderkey >= {lo} AND l_orderkey < {hi}");
    let on = MergeOptions {
        on: vec!["l_orderkey".into(), "l_linenumber".into()],
        ..MergeOptions::default()
    };
    let t = ctx.threads;
    let pool_threads = rayon::current_num_threads();

    let (mut append, mut old, mut latest, mut delete, mut merge) = (
        Times::default(),
        Times::default(),
        Times::default(),
        Times::default(),
        Times::default(),
    );
    let mut appended = 0;
    let (mut v0_rows, mut latest_rows, mut deleted, mut merged) =
        (0, 0, Changed::default(), Changed::default());
    for run in 0..ctx.runs {
        let name = format!("bronze/bench_lineitem_{run}");
        let table = lake.table(&name)?;
        ctx.progress.case(&format!("table/append ({name})"));
        let target = dir.join("floor.parquet");
        append.push(one_pair(
            "table/append",
            run,
            &mut || {
                table.create(&schema, &slices[..1], &TableOptions::default())?;
                for s in &slices[1..] {
                    table.append(std::slice::from_ref(s))?;
                }
                Ok(())
            },
            &mut || {
                let file = std::fs::File::create(&target).map_err(|e| io_error(&target, e))?;
                let mut w = ArrowWriter::try_new(file, schema.clone(), None)
                    .map_err(|e| other("ArrowWriter", e))?;
                for s in &slices {
                    w.write(s).map_err(|e| other("ArrowWriter", e))?;
                }
                w.close().map_err(|e| other("ArrowWriter", e)).map(drop)
            },
        )?);
        let table_dir = table
            .dir()
            .ok_or_else(|| other(&name, "the bench's table is not in a directory"))?
            .to_path_buf();
        appended = table.version()?;

        ctx.progress
            .case(&format!("table/time_travel_scan ({name})"));
        let v0_files = baseline::open(&baseline::files_at(&table_dir, 0)?)?;
        let latest_files = baseline::open(&baseline::files_at(&table_dir, appended)?)?;
        // One untimed run of each: page cache, maps and footers warm; the rows checked equal.
        v0_rows = scan(&table, AsOf::Version(0), t)?;
        check(
            "table/time_travel_scan",
            v0_rows,
            baseline::read(&v0_files, t)? as u64,
            "rows",
        )?;
        latest_rows = scan(&table, AsOf::Latest, t)?;
        check(
            "table/scan_latest",
            latest_rows,
            baseline::read(&latest_files, t)? as u64,
            "rows",
        )?;
        old.push(one_pair(
            "table/time_travel_scan",
            run,
            &mut || scan(&table, AsOf::Version(0), t).map(drop),
            &mut || baseline::read(&v0_files, t).map(drop),
        )?);
        latest.push(one_pair(
            "table/scan_latest",
            run,
            &mut || scan(&table, AsOf::Latest, t).map(drop),
            &mut || baseline::read(&latest_files, t).map(drop),
        )?);

        ctx.progress.case(&format!("table/delete ({name})"));
        let out = dir.join("by_hand");
        fresh_dir(&out)?;
        let files = baseline::files_at(&table_dir, appended)?;
        let mut report = ChangeReport::default();
        delete.push(one_pair(
            "table/delete_1pct",
            run,
            &mut || {
                report = table.delete(&predicate)?;
                Ok(())
            },
            &mut || {
                deleted = baseline::delete(&files, "l_orderkey", lo, hi, &out)?;
                Ok(())
            },
        )?);
        check(
            "table/delete_1pct",
            report.rows_deleted,
            deleted.rows_deleted,
            "rows deleted",
        )?;

        ctx.progress.case(&format!("table/merge ({name})"));
        fresh_dir(&out)?;
        let files = baseline::files_at(&table_dir, table.version()?)?;
        merge.push(one_pair(
            "table/merge_10k",
            run,
            &mut || {
                report = table.merge(std::slice::from_ref(&source), &on)?;
                Ok(())
            },
            &mut || {
                merged = baseline::merge(&files, &source, ["l_orderkey", "l_linenumber"], &out)?;
                Ok(())
            },
        )?);
        check(
            "table/merge_10k",
            report.rows_updated,
            merged.rows_updated,
            "rows updated",
        )?;
        check(
            "table/merge_10k",
            report.rows_inserted,
            merged.rows_inserted,
            "rows inserted",
        )?;
        std::fs::remove_dir_all(&out).map_err(|e| io_error(&out, e))?;
    }
    let warm_files = "warm: OS page cache; files mapped and footers parsed once, untimed \
                      (the file list read from the JSON commits, untimed)";
    let cold_read = "OS page cache warm; every file opened and its footer parsed each run";
    Ok(vec![
        Record::new(
            "table/append".into(),
            "MB/s",
            true,
            Spread::of(rate(&append.ours, memory, 1e6)),
            side("strata Table::create + Table::append", pool_threads, None),
        )
        .against(
            Side {
                name: "parquet ArrowWriter, default properties, one file".into(),
                threads: 1,
                batch_rows: Some(step),
                io: "std::fs::File in the work directory".into(),
                state: "batches in memory".into(),
            },
            Spread::of(rate(&append.theirs, memory, 1e6)),
        )
        .note(format!(
            "{rows} rows in {COMMITS} commits; the baseline is a floor: one file, no log, no \
             commit, no statistics, no codec (ArrowWriter's default is uncompressed), one thread"
        )),
        Record::new(
            "table/time_travel_scan".into(),
            "ms",
            false,
            Spread::of(millis(&old.ours)),
            side("strata Table::scan_as_of(Version(0))", t, Some(BATCH_ROWS)),
        )
        .against(
            by_hand(
                "parquet ParquetRecordBatchReader over version 0's data files",
                t,
                Some(BATCH_ROWS),
                warm_files,
            ),
            Spread::of(millis(&old.theirs)),
        )
        .note(format!(
            "version 0 of {} ({v0_rows} rows), read to the end; the baseline reads the files \
             one after another, row groups or columns shared over {t} thread(s) by hand; no \
             log replay, no snapshot, no statistics",
            appended + 1
        ))
        .extra("rows", v0_rows as f64),
        Record::new(
            "table/scan_latest".into(),
            "ms",
            false,
            Spread::of(millis(&latest.ours)),
            side("strata Table::scan_as_of(Latest)", t, Some(BATCH_ROWS)),
        )
        .against(
            by_hand(
                "parquet ParquetRecordBatchReader over the latest version's data files",
                t,
                Some(BATCH_ROWS),
                warm_files,
            ),
            Spread::of(millis(&latest.theirs)),
        )
        .note(format!(
            "version {appended} ({latest_rows} rows, {COMMITS} files' worth of appends), read \
             to the end; the baseline as for version 0: no log replay, no snapshot"
        ))
        .extra("rows", latest_rows as f64),
        Record::new(
            "table/delete_1pct".into(),
            "ms",
            false,
            Spread::of(millis(&delete.ours)),
            side("strata Table::delete", pool_threads, None),
        )
        .against(
            by_hand(
                "copy-on-write by hand: every file read (parquet crate), arrow filter, files \
                 that lost rows written again whole (ArrowWriter, the file's codec)",
                pool_threads,
                Some(BATCH_ROWS),
                cold_read,
            ),
            Spread::of(millis(&delete.theirs)),
        )
        .note(format!(
            "{predicate}: {} rows deleted, {} file(s) written by the baseline; the baseline \
             reads every file (no statistics pruning), files shared over the same rayon pool; \
             no log, no commit, no Delta statistics, nothing synced",
            deleted.rows_deleted, deleted.files_written
        ))
        .extra("rows_deleted", deleted.rows_deleted as f64),
        Record::new(
            "table/merge_10k".into(),
            "ms",
            false,
            Spread::of(millis(&merge.ours)),
            side("strata Table::merge (upsert)", pool_threads, None),
        )
        .against(
            by_hand(
                "hash join by hand: a std HashMap of the source keys, every file read and \
                 probed, files with a match written again whole (interleave, ArrowWriter)",
                pool_threads,
                Some(BATCH_ROWS),
                cold_read,
            ),
            Spread::of(millis(&merge.theirs)),
        )
        .note(format!(
            "{} source rows with a new l_comment merged on (l_orderkey, l_linenumber): {} \
             updated, {} inserted, {} file(s) written by the baseline; the baseline reads \
             every file (no statistics pruning), files shared over the same rayon pool; no \
             duplicate-key check, no log, no commit, no Delta statistics, nothing synced",
            source.num_rows(),
            merged.rows_updated,
            merged.rows_inserted,
            merged.files_written
        ))
        .extra("rows_updated", merged.rows_updated as f64),
    ])
}
