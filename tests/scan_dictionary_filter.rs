//! Filters the reader applies itself (src/read/predicate.rs), on dictionary-encoded string
//! columns evaluated once per dictionary value (src/read/eval.rs `by_value`), must keep
//! exactly the rows the scan's own filter after decoding keeps (the path a decoded cache
//! takes) and the rows a plain reading of the data says: nulls, values absent from the
//! dictionary, pages that fell back from the dictionary to plain encoding, `LIKE 'prefix%'`,
//! `NOT`, `OR`, numbers, page-index selections, limits and 1-3 threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::Int64Type;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use strata::read::{DecodedCache, DecodedKey};
use strata::{Expr, Scan};

const ROWS: i64 = 30_000;

fn origin(i: i64) -> Option<&'static str> {
    const AIRPORTS: [&str; 6] = ["JFK", "LGA", "EWR", "ATL", "JAX", "ORD"];
    (i % 11 != 0).then(|| AIRPORTS[(i * 7 % 6) as usize])
}

/// Distinct per row from row 20,000 on, so that with a small dictionary page limit the
/// chunk's later pages fall back to plain encoding.
fn tail(i: i64) -> Option<String> {
    if i % 17 == 0 {
        return None;
    }
    Some(if i < 20_000 {
        format!("N{}", i % 40)
    } else {
        format!("X{i:08}")
    })
}

fn delay(i: i64) -> Option<f64> {
    (i % 23 != 0).then(|| ((i * 37) % 400) as f64 - 50.0)
}

/// `row` and `id` hold the same numbers: filters read `id`, scans that must leave the filter
/// to the reader return only `row` (a scan that returns a filter column filters after
/// decoding, see src/read/scan.rs).
fn batch() -> RecordBatch {
    let ids: Vec<i64> = (0..ROWS).collect();
    let id: ArrayRef = Arc::new(Int64Array::from(ids.clone()));
    let origin: ArrayRef = Arc::new(StringArray::from_iter(ids.iter().map(|i| origin(*i))));
    let tail: ArrayRef = Arc::new(StringArray::from_iter(ids.iter().map(|i| tail(*i))));
    let delay: ArrayRef = Arc::new(Float64Array::from_iter(ids.iter().map(|i| delay(*i))));
    RecordBatch::try_from_iter([
        ("row", id.clone()),
        ("id", id),
        ("origin", origin),
        ("tail", tail),
        ("delay", delay),
    ])
    .unwrap()
}

/// The file as other writers make it (dictionaries everywhere, no page index: `page_index`
/// false), or with a page index; the dictionary page limit is small, so `tail` falls back to
/// plain pages in its last row groups.
fn write(dir: &Path, name: &str, page_index: bool) -> PathBuf {
    write_groups(dir, name, page_index, 7_000)
}

/// [`write`] with row groups of `rows`.
fn write_groups(dir: &Path, name: &str, page_index: bool, rows: usize) -> PathBuf {
    let stats = if page_index {
        EnabledStatistics::Page
    } else {
        EnabledStatistics::Chunk
    };
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(rows))
        .set_data_page_row_count_limit(1_000)
        .set_write_batch_size(500)
        .set_dictionary_page_size_limit(512)
        .set_statistics_enabled(stats)
        .build();
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    let batch = batch();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    path
}

/// A decoded cache that keeps nothing: a scan with one applies its filter after decoding
/// whole row groups, the path without the reader's row filter.
#[derive(Debug, Default)]
struct KeepsNothing(Mutex<u64>);

impl DecodedCache for KeepsNothing {
    fn get(&self, _: &DecodedKey) -> Option<Arc<Vec<RecordBatch>>> {
        None
    }
    fn insert(&self, _: DecodedKey, _: Arc<Vec<RecordBatch>>) {
        *self.0.lock().unwrap() += 1;
    }
}

/// The first column's numbers in a scan's output.
fn numbers(scan: Scan) -> Vec<i64> {
    let out = scan.run().unwrap();
    out.batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect()
}

/// The ids a scan returns, and the `origin` and `tail` values of those rows as strings.
/// A row's `origin` and `tail`.
type Strings = (Option<String>, Option<String>);

/// Which rows a filter keeps, by id.
type Keeps = Box<dyn Fn(i64) -> bool>;

fn scan_ids(scan: Scan) -> (Vec<i64>, Vec<Strings>) {
    let out = scan.run().unwrap();
    let mut ids = Vec::new();
    let mut values = Vec::new();
    for batch in &out.batches {
        let schema = batch.schema();
        assert_eq!(
            schema.field_with_name("origin").unwrap().data_type(),
            &arrow::datatypes::DataType::Utf8,
            "the output type stays as the file has it"
        );
        ids.extend(batch.column(0).as_primitive::<Int64Type>().values().iter());
        let origin = batch.column_by_name("origin").unwrap().as_string::<i32>();
        let tail = batch.column_by_name("tail").unwrap().as_string::<i32>();
        for row in 0..batch.num_rows() {
            let get = |a: &StringArray| a.is_valid(row).then(|| a.value(row).to_string());
            values.push((get(origin), get(tail)));
        }
    }
    (ids, values)
}

/// Every filter: its text, and which rows it keeps by SQL's rules (null is not kept).
fn filters() -> Vec<(&'static str, Keeps)> {
    let o = |i: i64| origin(i);
    let t = |i: i64| tail(i);
    vec![
        ("origin = 'JFK'", Box::new(move |i| o(i) == Some("JFK"))),
        ("origin = 'SFO'", Box::new(|_| false)),
        (
            "origin <> 'JFK'",
            Box::new(move |i| o(i).is_some_and(|v| v != "JFK")),
        ),
        (
            "origin > 'EWR'",
            Box::new(move |i| o(i).is_some_and(|v| v > "EWR")),
        ),
        (
            "origin IN ('JFK', 'SFO', 'ORD')",
            Box::new(move |i| matches!(o(i), Some("JFK" | "ORD"))),
        ),
        (
            "origin NOT IN ('JFK', 'SFO')",
            Box::new(move |i| o(i).is_some_and(|v| v != "JFK")),
        ),
        (
            "origin LIKE 'J%'",
            Box::new(move |i| o(i).is_some_and(|v| v.starts_with('J'))),
        ),
        (
            "origin NOT LIKE 'J%'",
            Box::new(move |i| o(i).is_some_and(|v| !v.starts_with('J'))),
        ),
        ("origin IS NULL", Box::new(move |i| o(i).is_none())),
        (
            "NOT origin = 'LGA'",
            Box::new(move |i| o(i).is_some_and(|v| v != "LGA")),
        ),
        (
            "origin = 'JFK' OR tail = 'N7'",
            Box::new(move |i| o(i) == Some("JFK") || t(i).as_deref() == Some("N7")),
        ),
        (
            "origin = 'JFK' AND tail IN ('N3', 'N4', 'X00025001', 'nowhere')",
            Box::new(move |i| {
                o(i) == Some("JFK") && matches!(t(i).as_deref(), Some("N3" | "N4" | "X00025001"))
            }),
        ),
        (
            "tail LIKE 'X0002%'",
            Box::new(move |i| t(i).is_some_and(|v| v.starts_with("X0002"))),
        ),
        (
            "tail = 'X00029999'",
            Box::new(move |i| t(i).as_deref() == Some("X00029999")),
        ),
        (
            "delay > 300 AND origin IN ('ATL', 'JAX')",
            Box::new(move |i| {
                delay(i).is_some_and(|d| d > 300.0) && matches!(o(i), Some("ATL" | "JAX"))
            }),
        ),
        (
            "delay > 300",
            Box::new(|i| delay(i).is_some_and(|d| d > 300.0)),
        ),
        (
            "id >= 12000 AND id < 12400 AND origin = 'EWR'",
            Box::new(move |i| (12_000..12_400).contains(&i) && o(i) == Some("EWR")),
        ),
    ]
}

#[test]
fn the_reader_keeps_the_rows_the_scan_filter_keeps() {
    let dir = tempfile::tempdir().unwrap();
    for page_index in [false, true] {
        let path = write(dir.path(), &format!("f{page_index}.parquet"), page_index);
        for (text, keeps) in filters() {
            let want: Vec<i64> = (0..ROWS).filter(|i| keeps(*i)).collect();
            let want_values: Vec<_> = want
                .iter()
                .map(|i| (origin(*i).map(String::from), tail(*i)))
                .collect();
            let filter = Expr::parse(text).unwrap();
            for threads in [1, 2, 3] {
                let base = || {
                    Scan::new(&path)
                        .columns(&["id", "origin", "tail"])
                        .filter(filter.clone())
                        .threads(threads)
                        .batch_size(1_000)
                };
                let context = format!("{text}, {threads} threads, page index {page_index}");
                let only_row = || {
                    Scan::new(&path)
                        .columns(&["row"])
                        .filter(filter.clone())
                        .threads(threads)
                        .batch_size(1_000)
                };
                assert_eq!(numbers(only_row()), want, "{context}: the reader filters");
                let mut unordered = numbers(only_row().keep_order(false));
                unordered.sort_unstable();
                assert_eq!(unordered, want, "{context}: the reader filters, unordered");
                let cache = Arc::new(KeepsNothing::default());
                assert_eq!(
                    numbers(only_row().decoded_cache(cache)),
                    want,
                    "{context}: filtered after decoding"
                );
                let (ids, values) = scan_ids(base());
                assert_eq!(ids, want, "{context}");
                assert_eq!(values, want_values, "{context}");
                let cache = Arc::new(KeepsNothing::default());
                let (plain_ids, plain_values) = scan_ids(base().decoded_cache(cache.clone()));
                // (With a page-index selection the scan decodes around the cache.)
                if !want.is_empty() && !page_index {
                    assert!(
                        *cache.0.lock().unwrap() > 0,
                        "{context}: the cached path ran"
                    );
                }
                assert_eq!(plain_ids, ids, "{context}: against the plain path");
                assert_eq!(plain_values, values, "{context}: against the plain path");
                // Every column: a filter on one of five returned columns is left to the
                // reader, one on two of them is applied after decoding.
                let every = Scan::new(&path)
                    .filter(filter.clone())
                    .threads(threads)
                    .batch_size(1_000);
                let (all_ids, all_values) = scan_ids(every);
                assert_eq!(all_ids, want, "{context}: every column");
                assert_eq!(all_values, want_values, "{context}: every column");
                let (unordered, _) = scan_ids(base().keep_order(false));
                let mut sorted = unordered.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, want, "{context}, unordered");
                let (count, stats) = base().count().unwrap();
                assert_eq!(count, want.len() as u64, "{context}: count");
                assert_eq!(stats.rows_out, count, "{context}: count stats");
            }
        }
    }
}

#[test]
fn a_filter_on_columns_not_returned_returns_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "f.parquet", false);
    let filter = Expr::parse("origin IN ('JFK', 'EWR') AND tail LIKE 'N1%'").unwrap();
    let want: Vec<i64> = (0..ROWS)
        .filter(|i| {
            matches!(origin(*i), Some("JFK" | "EWR"))
                && tail(*i).is_some_and(|t| t.starts_with("N1"))
        })
        .collect();
    for threads in [1, 2] {
        let out = Scan::new(&path)
            .columns(&["row", "delay"])
            .filter(filter.clone())
            .threads(threads)
            .run()
            .unwrap();
        let ids: Vec<i64> = out
            .batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        assert_eq!(ids, want, "{threads} threads");
        assert_eq!(out.schema.fields().len(), 2);
        // Every row of the row groups read was filtered; the last two (rows 21,000 on) hold
        // no `N` tails, and their statistics rule them out.
        assert_eq!(out.stats.row_groups_skipped, 2);
        assert_eq!(
            out.stats.rows_decoded, 21_000,
            "every row read was filtered"
        );
        assert_eq!(out.stats.rows_out, want.len() as u64);
        // Offset and limit apply to the kept rows.
        let out = Scan::new(&path)
            .columns(&["row"])
            .filter(filter.clone())
            .threads(threads)
            .offset(5)
            .limit(7)
            .run()
            .unwrap();
        let ids: Vec<i64> = out
            .batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        assert_eq!(
            ids,
            want[5..12].to_vec(),
            "{threads} threads, offset and limit"
        );
    }
}

#[test]
fn a_filter_that_cannot_compare_still_fails_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "f.parquet", false);
    let err = Scan::new(&path)
        .filter(Expr::parse("delay = 'abc'").unwrap())
        .run()
        .unwrap_err();
    assert_eq!(err.kind(), strata::ErrorKind::InvalidArgument, "{err}");
}

/// One row group on several threads: the reader's filter shares it out by row ranges, and
/// the rows come out as one thread gives them.
#[test]
fn one_row_group_on_several_threads_keeps_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    for page_index in [false, true] {
        let name = format!("one{page_index}.parquet");
        let path = write_groups(dir.path(), &name, page_index, ROWS as usize);
        for (text, keeps) in filters() {
            let want: Vec<i64> = (0..ROWS).filter(|i| keeps(*i)).collect();
            let filter = Expr::parse(text).unwrap();
            for threads in [2, 3] {
                let context = format!("{text}, {threads} threads, page index {page_index}");
                let scan = || {
                    Scan::new(&path)
                        .columns(&["row"])
                        .filter(filter.clone())
                        .threads(threads)
                };
                let out = scan().run().unwrap();
                assert_eq!(out.stats.rows_out, want.len() as u64, "{context}");
                assert_eq!(numbers(scan()), want, "{context}");
                let mut unordered = numbers(scan().keep_order(false));
                unordered.sort_unstable();
                assert_eq!(unordered, want, "{context}: unordered");
                let limited = numbers(scan().offset(3).limit(50));
                let end = want.len().min(53);
                assert_eq!(
                    limited,
                    want[want.len().min(3)..end].to_vec(),
                    "{context}: window"
                );
            }
        }
    }
}
