//! The scan builder: files -> row groups pruned by statistics -> parallel decode of the
//! projected columns -> exact filter -> offset and limit, in file and row-group order.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, RowSelection};
use parquet::arrow::ProjectionMask;
use serde::Serialize;

use super::dataset::{DataFile, Dataset, FileList};
use super::decoded::DecodedCache;
use super::dictionary_select::SelectPlan;
use super::eval::{self, InSets};
use super::expr::{too_deep, Expr};
use super::guard::{ScanGuard, ScanShape};
use super::merge;
use super::metadata::MetadataCache;
use super::object::ObjectSource;
use super::ordered;
use super::plan::{
    check_filter, chunk_bytes, count_pages, leaf_columns, output_schema, partition_may_match, runs,
    MAX_RUN,
};
use super::predicate::RowPredicate;
use super::prune::{BloomPruner, Pruner};
use super::source::ParquetSource;
use super::split;
use super::straddle;
use super::unordered;
use super::views;
use super::window::Window;
use crate::crypto::ParquetDecryption;
use crate::error::{Error, ErrorKind, Result};

/// Rows per output batch unless [`Scan::batch_size`] says otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// What a scan did, for `--json-stats` and for tests of pruning.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanStats {
    /// Parquet files opened.
    pub files: u64,
    /// Files skipped because their partition values (or, for a table, their statistics)
    /// cannot match the filter.
    pub files_skipped: u64,
    /// Row groups in the opened files.
    pub row_groups_total: u64,
    /// Row groups skipped, by statistics, bloom filters or the page index.
    pub row_groups_skipped: u64,
    /// Of those, row groups whose statistics allowed a match but whose bloom filters did not.
    pub row_groups_skipped_bloom: u64,
    /// Data pages of the decoded columns in the row groups read (counted where the file has
    /// a page index).
    pub pages_total: u64,
    /// Of those, pages the page index ruled out, which are neither decompressed nor decoded.
    pub pages_skipped: u64,
    /// Rows decoded (before the exact filter).
    pub rows_decoded: u64,
    /// Rows returned (after filter, offset and limit).
    pub rows_out: u64,
    /// Compressed bytes of the column chunks the scan set out to decode (the projected and
    /// filter columns of the row groups read), less the pages the page index ruled out: what
    /// a reader fetches from storage. A limit that stops the scan early is not subtracted.
    pub bytes_read: u64,
}

/// The result of [`Scan::run`].
#[derive(Debug, Clone)]
pub struct ScanOutput {
    /// The output schema (projected columns, then nothing else).
    pub schema: SchemaRef,
    /// The rows, in file order then row-group order.
    pub batches: Vec<RecordBatch>,
    /// What the scan did.
    pub stats: ScanStats,
}

/// What [`Scan::finish`] needs besides the batch: where it came from, the columns it is
/// aligned to, the output columns, and the scan's `IN` sets.
struct Finishing<'a> {
    dataset: &'a Dataset,
    file: &'a DataFile,
    aligned: &'a Schema,
    roots: &'a [&'a str],
    output: &'a [String],
    in_sets: &'a InSets,
    /// Whether the reader applied the filter already (see `super::predicate`).
    filtered: bool,
}

/// A scan of one Parquet file or a directory of them (Hive-partitioned or not).
///
/// ```no_run
/// # fn main() -> strata::Result<()> {
/// use strata::{Expr, Scan};
/// let out = Scan::new("flights.parquet")
///     .columns(&["origin", "dep_delay"])
///     .filter(Expr::parse("dep_delay > 60 AND origin IN ('JFK','LGA')")?)
///     .limit(100)
///     .run()?;
/// println!("{} rows, {} row groups skipped", out.stats.rows_out, out.stats.row_groups_skipped);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Scan {
    path: PathBuf,
    columns: Option<Vec<String>>,
    filter: Option<Expr>,
    /// The depth of a filter refused for nesting deeper than `Expr::MAX_DEPTH`: the scan
    /// fails with it.
    filter_refused: Option<usize>,
    limit: Option<u64>,
    offset: u64,
    batch_size: usize,
    threads: Option<usize>,
    keep_order: bool,
    /// `(index, count)`: only the row groups of partition `index` of `count`.
    partition: Option<(usize, usize)>,
    no_mmap: bool,
    metadata_cache: Option<Arc<dyn MetadataCache>>,
    decryption: Option<ParquetDecryption>,
    objects: Option<Arc<dyn ObjectSource>>,
    decoded_cache: Option<Arc<dyn DecodedCache>>,
    /// An explicit list of files to read instead of what `path` names.
    files: Option<Arc<FileList>>,
    /// Who admits the scan and shapes its batches ([`Scan::guard`]).
    guard: Option<Arc<dyn ScanGuard>>,
    /// Whether the guard already admitted this scan: set on the partitions of a split scan,
    /// which map their batches but are admitted and finished once, as the whole.
    admitted: bool,
    /// Top-level string and binary columns as views ([`Scan::string_views`]).
    string_views: bool,
}

impl Scan {
    /// A scan of every column and row of `path`.
    pub fn new(path: impl AsRef<Path>) -> Scan {
        Scan {
            path: path.as_ref().to_path_buf(),
            columns: None,
            filter: None,
            filter_refused: None,
            limit: None,
            offset: 0,
            batch_size: DEFAULT_BATCH_SIZE,
            threads: None,
            keep_order: true,
            partition: None,
            no_mmap: false,
            metadata_cache: None,
            decryption: None,
            objects: None,
            decoded_cache: None,
            files: None,
            guard: None,
            admitted: false,
            string_views: false,
        }
    }

    /// A scan of exactly the files of `list` (a table's snapshot), read as one dataset with the
    /// list's partition columns; `name` stands for them in messages. An empty list scans as
    /// no rows of the list's schema.
    pub fn of_files(name: impl AsRef<Path>, list: FileList) -> Scan {
        let mut scan = Scan::new(name);
        scan.files = Some(Arc::new(list));
        scan
    }

    /// Returns only these columns, in this order. Dotted paths (`a.b`) select inside a struct
    /// and return the pruned top-level column `a`.
    pub fn columns<S: AsRef<str>>(mut self, columns: &[S]) -> Scan {
        self.columns = Some(columns.iter().map(|c| c.as_ref().to_string()).collect());
        self
    }

    /// Returns only rows where `filter` is true.
    ///
    /// The filter is checked before any row is read: a column that is in neither the data nor
    /// the partition columns fails the scan with `NotFound`, a literal that cannot compare
    /// with its column (`id = 'abc'` on an integer column) with `InvalidArgument`, and so
    /// does a filter nested deeper than [`Expr::MAX_DEPTH`] levels (refused here, unwalked).
    pub fn filter(mut self, filter: Expr) -> Scan {
        let depth = filter.depth();
        if depth > Expr::MAX_DEPTH {
            self.filter = None;
            self.filter_refused = Some(depth);
        } else {
            self.filter = Some(filter);
            self.filter_refused = None;
        }
        self
    }

    /// Returns at most `n` rows.
    pub fn limit(mut self, n: u64) -> Scan {
        self.limit = Some(n);
        self
    }

    /// Skips the first `n` matching rows.
    pub fn offset(mut self, n: u64) -> Scan {
        self.offset = n;
        self
    }

    /// Rows per decoded batch.
    pub fn batch_size(mut self, n: usize) -> Scan {
        self.batch_size = n.max(1);
        self
    }

    /// Decodes row groups on `n` threads (default: rayon's global pool).
    pub fn threads(mut self, n: usize) -> Scan {
        self.threads = Some(n.max(1));
        self
    }

    /// Whether batches come out in file and row-group order (the default). In order on
    /// several threads, a scan without a filter shares out the columns between the threads
    /// (each reads the same rows), and one with a filter or a single column shares out the row
    /// groups, holding those decoded ahead. With `false`, each thread's row groups go out as
    /// they are decoded: no thread waits for another's and none are held back, which uses the
    /// threads better when the columns' costs are uneven; an offset or limit then applies to
    /// whichever rows come first.
    pub fn keep_order(mut self, yes: bool) -> Scan {
        self.keep_order = yes;
        self
    }

    /// Reads only partition `index` of `count`: every `count`-th row group of the dataset
    /// (files in order, row groups in order within each), starting at the `index`-th. The
    /// `count` partitions of a dataset together read each row group exactly once, so `count`
    /// threads or processes can each scan one, with nothing handed between them; that is what
    /// [`Scan::for_each_partitioned`] does on the scan's threads. Filter, projection and
    /// pruning apply as usual; offset and limit apply within the partition. Fails at the
    /// scan if `index >= count`.
    ///
    /// ```no_run
    /// # fn main() -> strata::Result<()> {
    /// // Two threads (or two processes), each counting the rows of its half.
    /// let halves = std::thread::scope(|s| {
    ///     let scans: Vec<_> = (0..2)
    ///         .map(|i| s.spawn(move || strata::Scan::new("big.parquet").partition(i, 2).count()))
    ///         .collect();
    ///     scans
    ///         .into_iter()
    ///         .map(|h| h.join().expect("scan thread").map(|(rows, _)| rows))
    ///         .collect::<strata::Result<Vec<u64>>>()
    /// })?;
    /// println!("{} rows", halves.iter().sum::<u64>());
    /// # Ok(()) }
    /// ```
    pub fn partition(mut self, index: usize, count: usize) -> Scan {
        self.partition = Some((index, count));
        self
    }

    /// Returns top-level string and binary columns as `Utf8View` and `BinaryView` instead of
    /// `Utf8` and `Binary` (default: off). The parquet crate then decodes dictionary-encoded
    /// strings into views of the dictionary without copying their bytes, which makes full
    /// scans of files written with dictionaries (pyarrow's and DuckDB's defaults) much
    /// cheaper, for consumers that accept views. Nested columns and partition columns keep
    /// their types, and so do columns a file stores as dictionaries unless another file of the
    /// dataset stores them as plain strings. Decoded row groups are not kept in a decoded
    /// cache when views are on.
    pub fn string_views(mut self, yes: bool) -> Scan {
        self.string_views = yes;
        self
    }

    /// Reads with plain file I/O instead of a memory map; see the module docs on the risk of
    /// mapping files that another process may change.
    pub fn no_mmap(mut self, yes: bool) -> Scan {
        self.no_mmap = yes;
        self
    }

    /// Keeps parsed footers in `cache` (default: none), so repeated scans of an unchanged
    /// file skip parsing it.
    pub fn metadata_cache(mut self, cache: Arc<dyn MetadataCache>) -> Scan {
        self.metadata_cache = Some(cache);
        self
    }

    /// Reads Parquet files encrypted with modular encryption, with keys from `decryption`
    /// (a key provider for key material, or raw keys by id).
    pub fn decryption(mut self, decryption: ParquetDecryption) -> Scan {
        self.decryption = Some(decryption);
        self
    }

    /// Reads the path as the name of an object in `objects` (e.g. a lake's tiers, through
    /// its cache) instead of a local file: footer first, then only the needed column chunks.
    /// A name that is no object but a prefix of objects (`sales` for `sales/year=2024/...`)
    /// reads the Parquet objects under it as one dataset, with Hive partition columns from
    /// their names, as a directory scan does (when `objects` can list them).
    pub fn objects(mut self, objects: Arc<dyn ObjectSource>) -> Scan {
        self.objects = Some(objects);
        self
    }

    /// Has `guard` admit (or refuse) the scan, shape each batch it returns and hear how it
    /// ended: the lake's access control and audit log use it.
    pub fn guard(mut self, guard: Arc<dyn ScanGuard>) -> Scan {
        self.guard = Some(guard);
        self
    }

    /// This scan's part of a split scan: its batches go through the guard, which admitted
    /// the whole already.
    pub(super) fn admitted_part(mut self) -> Scan {
        self.admitted = true;
        self
    }

    /// Runs `work` (the whole scan) between the guard's admission and its end; without a
    /// guard, or for a part of a split scan, just runs it.
    pub(super) fn guarded<T>(
        &self,
        count_only: bool,
        work: impl FnOnce() -> Result<T>,
        stats: impl Fn(&T) -> &ScanStats,
    ) -> Result<T> {
        let Some(guard) = self.guard.as_ref().filter(|_| !self.admitted) else {
            return work();
        };
        let shape = ScanShape {
            columns: self.columns.as_deref(),
            filter: self.filter.as_ref(),
            count_only,
        };
        guard.admit(&shape)?;
        let out = work();
        guard.finished(&shape, out.as_ref().map(&stats));
        out
    }

    /// Keeps decoded row groups in `cache` (default: none), so repeated scans of the same
    /// columns of an unchanged file skip decoding.
    pub fn decoded_cache(mut self, cache: Arc<dyn DecodedCache>) -> Scan {
        self.decoded_cache = Some(cache);
        self
    }

    /// The footer of the scan's one file (or object), read as the scan reads it: memory map or
    /// plain reads, decryption, the footer cache, the checks of damaged footers, the same
    /// errors. For callers inside strata that need a file's row groups or its declared schema
    /// (key-value metadata included) besides its rows.
    pub(crate) fn footer(&self) -> Result<ArrowReaderMetadata> {
        if self.objects.is_none() && self.path.is_dir() {
            return Err(Error::invalid(
                "a directory has no footer of its own; name one Parquet file",
            )
            .with("path", self.path.display()));
        }
        let decryption = self
            .decryption
            .as_ref()
            .map(ParquetDecryption::properties)
            .transpose()?;
        let source = ParquetSource::open_in(
            self.objects.as_deref(),
            &self.path,
            self.no_mmap,
            self.metadata_cache.as_deref(),
            decryption,
        )?;
        Ok(source.metadata.clone())
    }

    /// Runs the scan and collects every batch.
    pub fn run(&self) -> Result<ScanOutput> {
        let mut batches = Vec::new();
        let (schema, stats) = self.execute(false, &mut |b| {
            batches.push(b);
            Ok(())
        })?;
        Ok(ScanOutput {
            schema: batches.first().map(RecordBatch::schema).unwrap_or(schema),
            batches,
            stats,
        })
    }

    /// Streams the matching batches to `each`, in order, without collecting them: memory
    /// holds at most one more row group than there are threads (one batch at a time with one
    /// thread), however large the input. An error from `each` stops the scan and is returned.
    ///
    /// ```no_run
    /// # fn main() -> strata::Result<()> {
    /// let mut rows = 0;
    /// let (_schema, stats) = strata::Scan::new("big.parquet")
    ///     .columns(&["fare"])
    ///     .for_each(|batch| {
    ///         rows += batch.num_rows();
    ///         Ok(())
    ///     })?;
    /// assert_eq!(rows as u64, stats.rows_out);
    /// # Ok(()) }
    /// ```
    pub fn for_each(
        &self,
        mut each: impl FnMut(RecordBatch) -> Result<()>,
    ) -> Result<(SchemaRef, ScanStats)> {
        self.execute(false, &mut each)
    }

    /// The threads the scan decodes on: [`Scan::threads`], else rayon's global pool's.
    pub(super) fn thread_count(&self) -> usize {
        self.threads
            .unwrap_or_else(rayon::current_num_threads)
            .max(1)
    }

    /// Whether an offset, a limit or a partition was set: what a partitioned scan cannot
    /// split.
    pub(super) fn is_windowed(&self) -> bool {
        self.offset > 0 || self.limit.is_some() || self.partition.is_some()
    }

    /// Counts the matching rows (after offset and limit) without materializing them. Without
    /// a filter this reads only the footers.
    pub fn count(&self) -> Result<(u64, ScanStats)> {
        // Nothing to hand over or order: each thread counts a partition of its own.
        if self.filter.is_some() && !self.is_windowed() && self.thread_count() > 1 {
            return self.guarded(true, || self.count_partitioned(), |(_, s)| s);
        }
        let (_, stats) = self.execute(true, &mut |_| Ok(()))?;
        Ok((stats.rows_out, stats))
    }

    /// Runs `work` on the scan's threads: its own pool when [`Scan::threads`] was set, rayon's
    /// global pool otherwise. Kernels that consume a scan (profiles, checks) use it so that
    /// `--threads` bounds them too.
    pub(crate) fn in_pool<R: Send>(&self, work: impl FnOnce() -> R + Send) -> Result<R> {
        Ok(match self.pool()? {
            Some(pool) => pool.install(work),
            None => work(),
        })
    }

    fn pool(&self) -> Result<Option<rayon::ThreadPool>> {
        match self.threads {
            None => Ok(None),
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map(Some)
                .map_err(|e| Error::internal(format!("cannot start {n} scan threads: {e}"))),
        }
    }

    fn execute(
        &self,
        count_only: bool,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<(SchemaRef, ScanStats)> {
        self.execute_with(count_only, &mut |_| Ok(()), sink)
    }

    /// Streams the batches to `sink`, telling `on_schema` the output schema first, as soon as
    /// the footers are read (not at all when no file was opened: then the returned schema is
    /// the only one).
    pub(super) fn execute_announcing(
        &self,
        on_schema: &mut dyn FnMut(&SchemaRef) -> Result<()>,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<(SchemaRef, ScanStats)> {
        self.execute_with(false, on_schema, sink)
    }

    fn execute_with(
        &self,
        count_only: bool,
        on_schema: &mut dyn FnMut(&SchemaRef) -> Result<()>,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<(SchemaRef, ScanStats)> {
        let Some(guard) = &self.guard else {
            return self.execute_unguarded(count_only, on_schema, sink);
        };
        self.guarded(
            count_only,
            || {
                let (schema, stats) = self.execute_unguarded(
                    count_only,
                    &mut |schema| on_schema(&guard.output_schema(schema)?),
                    &mut |batch| sink(guard.map(batch)?),
                )?;
                Ok((guard.output_schema(&schema)?, stats))
            },
            |(_, stats)| stats,
        )
    }

    fn execute_unguarded(
        &self,
        count_only: bool,
        on_schema: &mut dyn FnMut(&SchemaRef) -> Result<()>,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<(SchemaRef, ScanStats)> {
        if let Some(depth) = self.filter_refused {
            return Err(too_deep(depth));
        }
        if let Some((index, count)) = self.partition {
            if index >= count {
                return Err(Error::invalid(format!(
                    "scan partition {index} of {count}: the index must be below the count"
                )));
            }
        }
        let dataset = match (&self.files, &self.objects) {
            (Some(list), _) => Dataset::of_list(list)?,
            (None, Some(objects)) => Dataset::of_objects(objects.as_ref(), &self.path)?,
            (None, None) => Dataset::discover(&self.path)?,
        };
        let decryption = self
            .decryption
            .as_ref()
            .map(ParquetDecryption::properties)
            .transpose()?;
        // Made on first need: a scan that decodes one run (a selective filter) needs no pool.
        let mut pool: Option<Option<rayon::ThreadPool>> = None;
        let mut stats = ScanStats::default();
        let in_sets = Arc::new(InSets::default());
        // One copy the readers of every thread share, for filters they apply themselves.
        let shared_filter: Option<Arc<Expr>> = self.filter.clone().map(Arc::new);
        let mut window = Window::new(self.offset, self.limit);
        let mut schema: Option<SchemaRef> = None;
        let partition_names: Vec<&str> = dataset
            .partitions
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        let filter_columns: Vec<&str> = self.filter.as_ref().map(Expr::columns).unwrap_or_default();

        // Footers first: the files' schemas merge into the dataset's (a column missing from a
        // file reads as null there, differing types widen), and stray files fail early.
        let open = |file: &DataFile| {
            ParquetSource::open_in(
                self.objects.as_deref(),
                &file.path,
                self.no_mmap,
                self.metadata_cache.as_deref(),
                decryption.clone(),
            )
        };
        // A table's file statistics rule out whole files before their footers are read.
        let by_stats: Option<Vec<bool>> = match (&self.filter, &self.files) {
            (Some(filter), Some(list)) => match &list.stats {
                Some(fs) if fs.rows.len() == dataset.files.len() => Some(
                    Pruner::given(&list.schema, &fs.rows, &fs.columns)
                        .keep_units(filter, &fs.rows)?,
                ),
                _ => None,
            },
            _ => None,
        };
        let mut opened = Vec::new();
        for (i, file) in dataset.files.iter().enumerate() {
            if by_stats.as_ref().is_some_and(|keep| !keep[i]) {
                stats.files_skipped += 1;
                continue;
            }
            if let Some(filter) = &self.filter {
                if !partition_may_match(filter, &dataset, file, &partition_names)? {
                    stats.files_skipped += 1;
                    continue;
                }
            }
            // The decoded cache's keys do not tell the output types apart.
            let decoded = self.decoded_cache.clone().filter(|_| !self.string_views);
            let source = open(file)?.with_decoded_cache(decoded);
            opened.push((file, source));
        }
        // Every file ruled out by its partition values: the first one's footer still gives
        // the columns, so the projection and the filter are checked and the output typed as
        // when rows come.
        let schema_only = match (opened.is_empty(), dataset.files.first()) {
            (true, Some(file)) => Some((file, open(file)?)),
            _ => None,
        };
        // An empty explicit list (a table with no files) reads as its declared schema.
        let listed_schema = match (&self.files, opened.is_empty() && schema_only.is_none()) {
            (Some(list), true) => Some(list.schema.clone()),
            _ => None,
        };
        let merged =
            match &listed_schema {
                Some(schema) => schema.as_ref().clone(),
                None => merge::merge(opened.iter().chain(&schema_only).map(|(file, source)| {
                    (file.path.as_path(), source.metadata.schema().as_ref())
                }))?,
            };
        // Pruning reads statistics as the files' own types, which views change.
        let (merged, own_schemas) = views::apply(
            self.string_views,
            merged,
            opened.iter_mut().map(|(_, source)| source),
        );
        let output = self.output_columns(&merged, &dataset.partitions, count_only)?;
        let needed = self.decode_columns(&output, &filter_columns, &partition_names);
        // What a reader that filters rows itself decodes besides the filter's columns.
        let needed_out = self.decode_columns(&output, &[], &partition_names);
        // The top-level columns a decoded batch is aligned to, before filter and projection.
        let roots = roots_of(&needed, &merged, &partition_names);
        let roots_out = roots_of(&needed_out, &merged, &partition_names);
        let mut aligned: Vec<Field> = merged.fields().iter().map(|f| f.as_ref().clone()).collect();
        for p in &dataset.partitions {
            if merged.column_with_name(p.name()).is_none() {
                aligned.push(p.clone());
            }
        }
        let aligned = Schema::new(aligned);
        let has_schema = !opened.is_empty() || schema_only.is_some() || listed_schema.is_some();
        if let (Some(filter), true) = (&self.filter, has_schema) {
            check_filter(filter, &aligned, &self.path)?;
        }
        if has_schema {
            let known = output_schema(&merged, &dataset.partitions, &output);
            on_schema(&known)?;
            schema = Some(known);
        }

        // Where each file's row groups start in the dataset's order (for partitions).
        let mut first_of_file = 0;
        for ((file, source), file_schema) in opened.iter().zip(own_schemas) {
            if window.done() {
                break;
            }
            stats.files += 1;
            let metadata = source.metadata.metadata().clone();
            let groups = metadata.num_row_groups();
            let mine = self.in_partition(first_of_file, groups);
            first_of_file += groups;
            stats.row_groups_total += mine.iter().filter(|m| **m).count() as u64;
            let mut keep = match &self.filter {
                Some(filter) => Pruner::row_groups(&file_schema, &metadata).keep(filter)?,
                None => vec![true; groups],
            };
            for (k, m) in keep.iter_mut().zip(&mine) {
                *k &= *m;
            }
            if let Some(filter) = &self.filter {
                let read = |rg: usize, leaf: usize| source.bloom_filter(rg, leaf);
                let mut bloom = BloomPruner::new(&file_schema, &metadata, &read);
                for (rg, k) in keep.iter_mut().enumerate() {
                    if *k && !bloom.may_match(rg, filter) {
                        *k = false;
                        stats.row_groups_skipped_bloom += 1;
                    }
                }
            }
            stats.row_groups_skipped +=
                mine.iter().zip(&keep).filter(|(m, k)| **m && !**k).count() as u64;
            // The stats count the filter's columns whoever evaluates it.
            let leaves = leaf_columns(source, &needed);
            // Unless the scan returns many of the filter's columns besides few others: those
            // are decoded twice (for the filter, then for the kept rows), and where matches
            // are scattered the parquet crate decodes the kept rows' pages whole and filters
            // them (its mask for short runs), so a 2-column projection filtered on one of its
            // own columns took 1.5x the time of decoding both and filtering. Where matches are
            // clustered (a range of a sorted key) the other columns skip whole pages, worth
            // a filter column decoded twice among several returned.
            let returned = filter_columns
                .iter()
                .filter(|c| {
                    needed_out
                        .iter()
                        .any(|n| n == *c || n.split('.').next() == Some(**c))
                })
                .count();
            let worth_it = returned * 4 <= needed_out.len();
            // Filters on dictionary-encoded columns read page by page when the file allows
            // (see `dictionary_select`); the reader's row filter then reads the row groups
            // whose pages that route cannot.
            let select = match (&self.filter, count_only) {
                (Some(filter), false)
                    if source.mapped_pages(&[]).is_some()
                        && !filter_columns.iter().any(|c| partition_names.contains(c)) =>
                {
                    SelectPlan::new(&metadata, &file_schema, &aligned, filter, &needed_out)
                }
                _ => None,
            };
            let predicate = shared_filter
                .as_ref()
                .filter(|_| worth_it || select.is_some())
                .and_then(|filter| {
                    pushdown(
                        filter,
                        &in_sets,
                        source,
                        &aligned,
                        &filter_columns,
                        &partition_names,
                    )
                });
            let select = select.filter(|_| predicate.is_some());
            let read_leaves = match &predicate {
                Some(_) => leaf_columns(source, &needed_out),
                None => leaves.clone(),
            };
            let finishing = Finishing {
                dataset: &dataset,
                file,
                aligned: &aligned,
                roots: if predicate.is_some() {
                    &roots_out
                } else {
                    &roots
                },
                output: &output,
                in_sets: &in_sets,
                filtered: predicate.is_some(),
            };

            // Without a filter every row of a kept row group comes out, so the offset and limit
            // can be applied to whole row groups from the footer alone.
            let mut tasks = Vec::new();
            let mut page_bytes_skipped = 0;
            window.planned = 0;
            for (rg, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
                let Some(filter) = &self.filter else {
                    let rows = u64::try_from(metadata.row_group(rg).num_rows()).unwrap_or(0);
                    if count_only || window.covers_skip(rows) {
                        window.take_rows(rows);
                        continue;
                    }
                    if window.planned_enough() {
                        break;
                    }
                    window.plan(rows);
                    tasks.push((rg, None));
                    continue;
                };
                let selection = match Pruner::pages(&file_schema, &metadata, rg) {
                    None => None,
                    Some(mut pages) => {
                        let rows = pages.select(filter)?;
                        let pages = count_pages(&metadata, rg, &leaves, &rows);
                        stats.pages_total += pages.total;
                        stats.pages_skipped += pages.skipped;
                        let group_rows =
                            u64::try_from(metadata.row_group(rg).num_rows()).unwrap_or(0);
                        if rows.rows() == 0 {
                            stats.row_groups_skipped += 1;
                            continue;
                        }
                        page_bytes_skipped += pages.skipped_bytes;
                        (rows.rows() < group_rows).then(|| rows.selection(group_rows))
                    }
                };
                // A count on one dictionary-encoded column counts from its dictionary pages.
                if count_only && selection.is_none() && self.offset == 0 && self.limit.is_none() {
                    let kept = filter.columns().first().and_then(|c| {
                        let field = aligned.field_with_name(c).ok()?;
                        (!partition_names.contains(c))
                            .then(|| source.count_kept(rg, filter, &in_sets, field))?
                    });
                    if let Some(kept) = kept {
                        stats.rows_decoded +=
                            u64::try_from(metadata.row_group(rg).num_rows()).unwrap_or(0);
                        stats.bytes_read += chunk_bytes(&metadata, rg, &leaves);
                        window.take_rows(kept);
                        continue;
                    }
                }
                tasks.push((rg, selection));
            }
            if tasks.is_empty() {
                continue;
            }
            let planned_bytes: u64 = tasks
                .iter()
                .map(|(rg, _)| chunk_bytes(&metadata, *rg, &leaves))
                .sum();
            stats.bytes_read += planned_bytes.saturating_sub(page_bytes_skipped);
            let mask = ProjectionMask::leaves(
                source.metadata.metadata().file_metadata().schema_descr(),
                read_leaves.iter().copied(),
            );
            // A reached limit stops the decoding of row groups not yet started (see `take`).
            let threads = self.thread_count();
            // A filter left to the reader cannot share out the columns (its own come first),
            // so fewer row groups than threads are shared out by row ranges instead: each
            // reader skips the pages before its range unread (flat columns) and stops after.
            // Row groups the page index narrowed down stay whole: their few rows are not
            // worth a second reader.
            let by_rows = predicate.is_some()
                && threads > 1
                && tasks.len() < threads
                && tasks.iter().any(|(_, selection)| selection.is_none());
            if by_rows {
                tasks = split_rows(&metadata, tasks, threads);
            }
            // In order on several threads, every run but the head one is held until its
            // turn: short runs hold less (fresh pages to fault in) than rebuilt readers cost.
            // Parts of one row group each get a reader of their own, and so do row groups
            // whose batches would straddle two dictionaries (see `straddle`).
            let row_groups: Vec<usize> = tasks.iter().map(|(rg, _)| *rg).collect();
            let filter_leaves = predicate.as_ref().map_or(&[][..], |p| p.leaves.as_slice());
            let straddles = straddle::merges_dictionaries(
                &source.metadata,
                &row_groups,
                &mask,
                filter_leaves,
                self.batch_size,
            );
            let max_run = if (threads > 1 && self.keep_order) || by_rows || straddles {
                1
            } else {
                MAX_RUN
            };
            let runs = runs(tasks.len(), threads, max_run);
            let decode =
                |task: usize, send: &mut dyn FnMut((u64, RecordBatch)) -> bool| -> Result<()> {
                    let run = &tasks[runs[task].clone()];
                    if predicate.is_some() {
                        // The reader filters every row of the run before the first batch comes
                        // out, and the batches hold only the kept rows: the rows decoded are
                        // told here.
                        let rows = run_rows(&metadata, run);
                        let told = RecordBatch::new_empty(Arc::new(Schema::empty()));
                        if !send((rows, told)) {
                            return Err(ordered::stopped());
                        }
                    }
                    let mut each = |batch: RecordBatch| {
                        let out = self.finish(batch, &finishing)?;
                        if send(out) {
                            Ok(())
                        } else {
                            Err(ordered::stopped())
                        }
                    };
                    let Some(plan) = &select else {
                        return source.decode_each(
                            run,
                            mask.clone(),
                            self.batch_size,
                            predicate.as_ref(),
                            &mut each,
                        );
                    };
                    for task in run {
                        let (rg, selection) = task;
                        let selected = source
                            .mapped_pages(&plan.byte_ranges(&metadata, *rg))
                            .and_then(|file| {
                                plan.select(
                                    file,
                                    &metadata,
                                    *rg,
                                    selection.as_ref(),
                                    &in_sets,
                                    self.batch_size,
                                )
                            });
                        match selected {
                            Some(batches) => batches.into_iter().try_for_each(&mut each)?,
                            None => source.decode_each(
                                std::slice::from_ref(task),
                                mask.clone(),
                                self.batch_size,
                                predicate.as_ref(),
                                &mut each,
                            )?,
                        }
                    }
                    Ok(())
                };
            let mut take = |(decoded, batch): (u64, RecordBatch)| -> Result<bool> {
                stats.rows_decoded += decoded;
                if let Some(batch) = window.cut(batch) {
                    if !count_only {
                        sink(batch)?;
                    }
                }
                Ok(!window.done())
            };
            // In order, several threads share out the columns rather than the row groups when
            // there are at least two to share (see `split`): without a filter always, with one
            // when there are fewer runs of row groups than threads (a file of one row group, as
            // most table files are, would otherwise decode on one thread).
            let columns = if threads > 1
                && self.keep_order
                && (self.filter.is_none() || runs.len() < threads)
                && predicate.is_none()
                && source.is_local()
                && !count_only
            {
                split::column_groups(source.metadata.metadata(), &tasks, &read_leaves, threads)
            } else {
                Vec::new()
            };
            if columns.len() > 1 {
                let pool = match &pool {
                    Some(pool) => pool.as_ref(),
                    None => pool.insert(self.pool()?).as_ref(),
                };
                let mut each = |batch: RecordBatch| -> Result<bool> {
                    let out = self.finish(batch, &finishing)?;
                    take(out)
                };
                if let Some(result) =
                    split::by_columns(pool, source, &tasks, &columns, self.batch_size, &mut each)
                {
                    result?;
                    continue;
                }
            }
            // Several threads: runs of row groups decode on this thread and `threads - 1` pool
            // workers and stream to the sink, in order (one more run than there are threads
            // held at most: the one going out and one ahead per thread) or as they come. One
            // thread, one run, or a caller already on the pool: batches go straight from the
            // decoder to the sink on this thread.
            let parallel = match (threads > 1 && runs.len() > 1, self.keep_order) {
                (false, _) => None,
                (true, keep_order) => {
                    let pool = match &pool {
                        Some(pool) => pool.as_ref(),
                        None => pool.insert(self.pool()?).as_ref(),
                    };
                    if keep_order {
                        ordered::ordered(pool, runs.len(), threads + 1, &decode, &mut take)
                    } else {
                        unordered::unordered(pool, runs.len(), &decode, &mut take)
                    }
                }
            };
            match parallel {
                Some(result) => result?,
                None => {
                    for task in 0..runs.len() {
                        if !ordered::produce_into(task, &decode, &mut take)? {
                            break;
                        }
                    }
                }
            }
        }
        stats.rows_out = window.emitted;
        let schema = match schema {
            Some(s) => s,
            None => self.empty_schema(&dataset),
        };
        Ok((schema, stats))
    }

    /// Adds partition columns, filters, and projects to the output columns. Returns the rows
    /// decoded alongside the result.
    fn finish(&self, batch: RecordBatch, how: &Finishing) -> Result<(u64, RecordBatch)> {
        // A reader that filtered the rows itself told the rows it decoded apart.
        let decoded = if how.filtered {
            0
        } else {
            batch.num_rows() as u64
        };
        let batch = how.dataset.with_partition_columns(how.file, batch)?;
        let batch = merge::align(batch, how.aligned, how.roots)?;
        let batch = match (&self.filter, how.filtered) {
            (Some(filter), false) => eval::filter(filter, &batch, how.in_sets)?,
            _ => batch,
        };
        let schema = batch.schema();
        let indices = how
            .output
            .iter()
            .map(|name| {
                schema
                    .index_of(name)
                    .map_err(|_| Error::internal(format!("decoded data lacks column {name}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let projected = batch
            .project(&indices)
            .map_err(|e| Error::internal(format!("cannot project batch: {e}")))?;
        Ok((decoded, projected))
    }

    /// The top-level columns the scan returns, checked against the file and partitions (also
    /// when only counting, which returns none: a bad projection is the same error either way).
    fn output_columns(
        &self,
        schema: &Schema,
        partitions: &[Field],
        count_only: bool,
    ) -> Result<Vec<String>> {
        let Some(requested) = &self.columns else {
            if count_only {
                return Ok(Vec::new());
            }
            let mut all: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
            for p in partitions {
                if !all.contains(p.name()) {
                    all.push(p.name().clone());
                }
            }
            return Ok(all);
        };
        let mut out: Vec<String> = Vec::new();
        for name in requested {
            let exists = |n: &str| {
                schema.column_with_name(n).is_some() || partitions.iter().any(|p| p.name() == n)
            };
            let top = if exists(name) {
                name.as_str()
            } else {
                match name.split_once('.') {
                    Some((root, _)) if schema.column_with_name(root).is_some() => root,
                    _ => {
                        let available: Vec<&str> =
                            schema.fields().iter().map(|f| f.name().as_str()).collect();
                        return Err(Error::new(
                            ErrorKind::NotFound,
                            format!("no column {name}; the file has {}", available.join(", ")),
                        )
                        .with("path", self.path.display()));
                    }
                }
            };
            if !out.iter().any(|o| o == top) {
                out.push(top.to_string());
            }
        }
        Ok(if count_only { Vec::new() } else { out })
    }

    /// Names (top-level or dotted) to decode: the output plus what the filter reads, minus
    /// partition columns, which come from the path.
    fn decode_columns(
        &self,
        output: &[String],
        filter: &[&str],
        partitions: &[&str],
    ) -> Vec<String> {
        let mut names: Vec<String> = match &self.columns {
            Some(requested) if !output.is_empty() => requested.clone(),
            _ => output.to_vec(),
        };
        for f in filter {
            // The filter needs the whole column, not a sub-path of it.
            if !names.iter().any(|n| n == f) {
                names.push((*f).to_string());
            }
        }
        names.retain(|n| !partitions.contains(&n.as_str()));
        names
    }

    /// Which of a file's `groups` row groups, the first being the dataset's `first`-th, this
    /// scan's partition holds (all of them without one).
    fn in_partition(&self, first: usize, groups: usize) -> Vec<bool> {
        (first..first + groups)
            .map(|ordinal| {
                self.partition
                    .is_none_or(|(index, count)| ordinal % count == index)
            })
            .collect()
    }

    fn empty_schema(&self, dataset: &Dataset) -> SchemaRef {
        std::sync::Arc::new(Schema::new(dataset.partitions.clone()))
    }
}

/// The filter as a row filter of `source`'s reader (see `super::predicate`), when the reader
/// can apply it exactly as the scan would: a local file (no decoded cache, no ranged reads),
/// and every column the filter reads a flat column of this file with the dataset's type (no
/// partition column, nothing widened or filled with nulls for this file).
fn pushdown(
    filter: &Arc<Expr>,
    sets: &Arc<InSets>,
    source: &ParquetSource,
    aligned: &Schema,
    columns: &[&str],
    partitions: &[&str],
) -> Option<RowPredicate> {
    if !source.is_local() || columns.is_empty() {
        return None;
    }
    let descr = source.metadata.metadata().file_metadata().schema_descr();
    let file_schema = source.metadata.schema();
    let mut leaves = Vec::with_capacity(columns.len());
    for name in columns {
        if partitions.contains(name) {
            return None;
        }
        let (_, in_file) = file_schema.column_with_name(name)?;
        let (_, in_dataset) = aligned.column_with_name(name)?;
        if in_file.data_type().is_nested() || in_file.data_type() != in_dataset.data_type() {
            return None;
        }
        let mut found = descr
            .columns()
            .iter()
            .enumerate()
            .filter(|(_, c)| c.path().parts().first().map(String::as_str) == Some(name));
        let (leaf, column) = found.next()?;
        if found.next().is_some() || column.path().parts().len() != 1 {
            return None;
        }
        leaves.push(leaf);
    }
    leaves.sort_unstable();
    leaves.dedup();
    Some(RowPredicate {
        filter: filter.clone(),
        sets: sets.clone(),
        leaves,
    })
}

/// The top-level columns of `needed` (names or dotted paths) and the partition columns.
fn roots_of<'a>(needed: &'a [String], merged: &Schema, partitions: &[&'a str]) -> Vec<&'a str> {
    let mut roots: Vec<&str> = needed
        .iter()
        .map(|n| {
            if merged.column_with_name(n).is_some() {
                n.as_str()
            } else {
                n.split('.').next().unwrap_or(n)
            }
        })
        .collect();
    roots.extend(partitions.iter().copied());
    roots
}

/// Each row group of `tasks` that reads all its rows in `parts` ranges of consecutive rows, in
/// order; row groups with a selection stay whole.
fn split_rows(
    metadata: &parquet::file::metadata::ParquetMetaData,
    tasks: Vec<(usize, Option<RowSelection>)>,
    parts: usize,
) -> Vec<(usize, Option<RowSelection>)> {
    let mut out = Vec::with_capacity(tasks.len() * parts);
    for (rg, selection) in tasks {
        if selection.is_some() {
            out.push((rg, selection));
            continue;
        }
        let rows = usize::try_from(metadata.row_group(rg).num_rows()).unwrap_or(0);
        let per_part = rows.div_ceil(parts.max(1)).max(1);
        for start in (0..rows).step_by(per_part) {
            let range = start..(start + per_part).min(rows);
            let part = RowSelection::from_consecutive_ranges(std::iter::once(range), rows);
            out.push((rg, Some(part)));
        }
    }
    out
}

/// The rows a run of row groups reads: each one's selection, or all its rows.
fn run_rows(
    metadata: &parquet::file::metadata::ParquetMetaData,
    run: &[(usize, Option<RowSelection>)],
) -> u64 {
    run.iter()
        .map(|(rg, selection)| match selection {
            Some(selection) => selection.row_count() as u64,
            None => u64::try_from(metadata.row_group(*rg).num_rows()).unwrap_or(0),
        })
        .sum()
}
