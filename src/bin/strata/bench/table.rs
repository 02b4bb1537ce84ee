//! `table`: Delta tables in the lake: TPC-H lineitem created and appended in 8 commits, a
//! time-travel scan of version 0 against a scan of the latest version, a delete of about 1% of
//! the rows (an `l_orderkey` range), and a merge of 10k rows on (`l_orderkey`,
//! `l_linenumber`). Each run works on a fresh table. The appends' baseline is the parquet
//! crate's `ArrowWriter` (default properties) writing the same rows to one file: a floor
//! (no log, no statistics, no commit), not an equivalent.

use std::hint::black_box;

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use strata::table::{AsOf, MergeOptions, TableOptions};

use super::data::{memory_size, read_all};
use super::measure::{millis, rate, time, time_strata};
use super::record::{Record, Side, Spread};
use super::{io_error, open_lake, other, Context};

const COMMITS: usize = 8;

fn side(name: &str, threads: usize) -> Side {
    Side {
        name: name.into(),
        threads,
        batch_rows: None,
        io: "Delta table under the lake's hot tier directory".into(),
        state: "fresh table each run; OS page cache warm".into(),
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
    let source = whole.slice(rows / 3, 10_000.min(rows - rows / 3));
    let max_key = arrow::compute::max(
        whole
            .column_by_name("l_orderkey")
            .and_then(|c| c.as_any().downcast_ref::<arrow::array::Int64Array>())
            .ok_or_else(|| other("lineitem", "no Int64 l_orderkey"))?,
    )
    .unwrap_or(0);
    let lo = max_key / 2;
    let predicate = format!(
        "l_orderkey >= {lo} AND l_orderkey < {}",
        lo + (max_key / 100).max(1)
    );

    let (mut append, mut floor, mut old, mut latest, mut delete, mut merge) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for run in 0..ctx.runs {
        let name = format!("bronze/bench_lineitem_{run}");
        let table = lake.table(&name)?;
        ctx.progress.case(&format!("table/append ({name})"));
        append.push(time_strata("table/append", &mut || {
            table.create(&schema, &slices[..1], &TableOptions::default())?;
            for s in &slices[1..] {
                table.append(std::slice::from_ref(s))?;
            }
            Ok(())
        })?);
        let target = dir.join("floor.parquet");
        floor.push(time(&mut || {
            let file = std::fs::File::create(&target).map_err(|e| io_error(&target, e))?;
            let mut w = ArrowWriter::try_new(file, schema.clone(), None)
                .map_err(|e| other("ArrowWriter", e))?;
            for s in &slices {
                w.write(s).map_err(|e| other("ArrowWriter", e))?;
            }
            w.close().map_err(|e| other("ArrowWriter", e)).map(drop)
        })?);
        let scan = |as_of: AsOf| -> strata::Result<()> {
            table
                .scan_as_of(as_of)?
                .threads(ctx.threads)
                .for_each(|b| {
                    black_box(b);
                    Ok(())
                })?;
            Ok(())
        };
        scan(AsOf::Version(0))?;
        scan(AsOf::Latest)?;
        old.push(time_strata("table/time_travel_scan", &mut || {
            scan(AsOf::Version(0))
        })?);
        latest.push(time(&mut || scan(AsOf::Latest))?);
        ctx.progress.case(&format!("table/delete ({name})"));
        delete.push(time_strata("table/delete_1pct", &mut || {
            table.delete(&predicate).map(drop)
        })?);
        ctx.progress.case(&format!("table/merge ({name})"));
        let on = MergeOptions {
            on: vec!["l_orderkey".into(), "l_linenumber".into()],
            ..MergeOptions::default()
        };
        merge.push(time_strata("table/merge_10k", &mut || {
            table.merge(std::slice::from_ref(&source), &on).map(drop)
        })?);
    }
    let t = ctx.threads;
    Ok(vec![
        Record::new(
            "table/append".into(),
            "MB/s",
            true,
            Spread::of(rate(&append, memory, 1e6)),
            side("strata Table::create + Table::append", rayon::current_num_threads()),
        )
        .against(
            Side {
                name: "parquet ArrowWriter, default properties, one file".into(),
                threads: 1,
                batch_rows: None,
                io: "std::fs::File in the work directory".into(),
                state: "batches in memory".into(),
            },
            Spread::of(rate(&floor, memory, 1e6)),
        )
        .note(format!(
            "{rows} rows in {COMMITS} commits; the baseline is a floor (no log, no commit, no codec)"
        )),
        Record::new(
            "table/time_travel_scan".into(),
            "ms",
            false,
            Spread::of(millis(&old)),
            Side {
                batch_rows: Some(strata::read::DEFAULT_BATCH_SIZE),
                ..side("strata Table::scan_as_of(Version(0))", t)
            },
        )
        .against(
            Side {
                batch_rows: Some(strata::read::DEFAULT_BATCH_SIZE),
                ..side("strata Table::scan_as_of(Latest)", t)
            },
            Spread::of(millis(&latest)),
        )
        .note("version 0 holds the first commit's rows only; the latest holds all of them"),
        Record::new(
            "table/delete_1pct".into(),
            "ms",
            false,
            Spread::of(millis(&delete)),
            side("strata Table::delete", rayon::current_num_threads()),
        )
        .note(format!("{predicate}; no in-process baseline (benches/table_dml_compare.py: deltalake)")),
        Record::new(
            "table/merge_10k".into(),
            "ms",
            false,
            Spread::of(millis(&merge)),
            side("strata Table::merge", rayon::current_num_threads()),
        )
        .note("10k existing rows merged on (l_orderkey, l_linenumber); no in-process baseline"),
    ])
}
