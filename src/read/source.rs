//! Where a Parquet file's bytes come from: a memory map (the default) or plain file reads.
//!
//! # Memory maps and files that change
//!
//! A map shows the file as it is *now*, not as it was when it was opened. If another process
//! truncates or rewrites a mapped file while a scan runs, reads of the vanished pages raise
//! SIGBUS and kill the process, and rewritten pages can make the decoder see a mix of old and new
//! bytes (caught as corruption at best). Objects in strata's own tiers are never modified in
//! place (they are replaced by atomic rename), so mapping them is safe. For files that other
//! programs may be writing, use [`ScanOptions::no_mmap`](super::Scan::no_mmap), which reads with
//! ordinary file I/O: a concurrent writer can then only cause an error, never a crash.
//!
//! The map of a file is kept for the next scan of the same version (see [`super::maps`]): a
//! kept map is only read again when the file's length, modification time and inode are
//! unchanged, so keeping it adds no hazard of its own.

use std::fs::File;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::arrow::ProjectionMask;
use parquet::bloom_filter::Sbbf;
use parquet::encryption::decrypt::FileDecryptionProperties;
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::reader::ChunkReader;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, SchemaRef};

use super::decoded::{DecodedCache, DecodedKey};
use super::dictionary::DictionaryRoute;
use super::dictionary_count;
use super::eval::InSets;
use super::expr::Expr;
use super::flat_batch::{self, FlatColumns};
use super::footer;
use super::maps::{FileMap, SharedMap};
use super::metadata::{FileVersion, MetadataCache};
use super::object::{ObjectReader, ObjectSource, RangeReader};
use super::predicate::RowPredicate;
use crate::error::{catch_corrupt, Error, ErrorKind, Result};

/// An opened Parquet file with its footer parsed once.
pub(crate) struct ParquetSource {
    path: PathBuf,
    len: u64,
    encrypted: bool,
    bytes: Option<Bytes>,
    /// The map behind `bytes` when the file is mapped, for paging in what a row group reads.
    map: Option<Arc<FileMap>>,
    /// Set for a lake object read by ranges (`bytes` is then None).
    object: Option<Arc<dyn ObjectReader>>,
    pub(crate) metadata: ArrowReaderMetadata,
    /// The version, unless the file is encrypted (its data then stays out of shared caches).
    version: Option<FileVersion>,
    decoded: Option<Arc<dyn DecodedCache>>,
}

/// A cache that keeps nothing.
#[derive(Debug)]
struct NoCache;

impl MetadataCache for NoCache {
    fn get(&self, _: &FileVersion) -> Option<ArrowReaderMetadata> {
        None
    }
    fn insert(&self, _: FileVersion, _: ArrowReaderMetadata) {}
}

/// Checks what the parquet crate asserts rather than checks: every column chunk's byte range
/// is non-negative and, when the file's length is known, inside the file. A footer that lies
/// here is damage, reported as such instead of tripping an assertion mid-decode.
fn check_chunks(path: &Path, metadata: &ArrowReaderMetadata, len: Option<u64>) -> Result<()> {
    for (rg, group) in metadata.metadata().row_groups().iter().enumerate() {
        for (c, column) in group.columns().iter().enumerate() {
            let start = column
                .dictionary_page_offset()
                .unwrap_or_else(|| column.data_page_offset());
            let size = column.compressed_size();
            let end = u64::try_from(start)
                .ok()
                .zip(u64::try_from(size).ok())
                .and_then(|(s, n)| s.checked_add(n));
            let fits = match (end, len) {
                (Some(end), Some(len)) => end <= len,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if !fits {
                return Err(Error::corrupt(format!(
                    "column chunk {c} of row group {rg} claims bytes {start}+{size}, outside the file"
                ))
                .with("path", path.display()));
            }
        }
    }
    Ok(())
}

/// Whether parsed metadata belongs to an encrypted file: encrypted column chunks, or no row
/// group to tell by (kept out of the footer cache either way: an encrypted file's parsed
/// footer carries its keys, which another scan must not inherit).
fn holds_keys(m: &ArrowReaderMetadata) -> bool {
    let md = m.metadata();
    md.num_row_groups() == 0
        || md
            .row_groups()
            .iter()
            .any(|rg| rg.columns().iter().any(|c| c.crypto_metadata().is_some()))
}

/// The cached footer of `version`; a scan that decrypts takes it only when it is a plaintext
/// file's (one cached by a scan without keys could be an encrypted file's plaintext footer,
/// parsed without the keys its columns need).
fn cached(
    cache: &dyn MetadataCache,
    version: &FileVersion,
    decrypting: bool,
) -> Option<ArrowReaderMetadata> {
    cache
        .get(version)
        .filter(|m| !(decrypting && holds_keys(m)))
}

impl ParquetSource {
    /// Opens `path`: the object of that name in `objects` when given, else the file.
    pub(crate) fn open_in(
        objects: Option<&dyn ObjectSource>,
        path: &Path,
        no_mmap: bool,
        cache: Option<&dyn MetadataCache>,
        decryption: Option<Arc<FileDecryptionProperties>>,
    ) -> Result<Self> {
        let Some(objects) = objects else {
            return Self::open(path, no_mmap, cache, decryption);
        };
        let object = objects.open_object(&path.to_string_lossy())?;
        if let Some(local) = object.local_file() {
            return Self::open(&local, no_mmap, cache, decryption);
        }
        let decrypting = decryption.is_some();
        let cache: &dyn MetadataCache = cache.unwrap_or(&NoCache);
        let mut options = ArrowReaderOptions::new();
        if let Some(decryption) = decryption {
            options = options.with_file_decryption_properties(decryption);
        }
        let version = object.version();
        let metadata = match cached(cache, &version, decrypting) {
            Some(m) => m,
            None => {
                // The footer first: the reader asks for the last bytes, then the metadata.
                let reader = RangeReader::new(object.clone());
                let with_index = options
                    .clone()
                    .with_page_index_policy(PageIndexPolicy::Optional);
                let m = catch_corrupt("cannot read the Parquet footer", || {
                    footer::load(&reader, with_index)
                        .or_else(|_| footer::load(&reader, options))
                        .map_err(|e| Error::from(e).during("cannot read the Parquet footer"))
                })
                .map_err(|e| e.with("path", path.display()))?;
                check_chunks(path, &m, None)?;
                if !holds_keys(&m) {
                    cache.insert(version.clone(), m.clone());
                }
                m
            }
        };
        let encrypted = decrypting && holds_keys(&metadata);
        Ok(ParquetSource {
            path: path.to_path_buf(),
            // No bloom filters through ranged reads (`len` 0 rules them out): each would cost
            // a request, more than the row group it might save on a small file.
            len: 0,
            encrypted,
            bytes: None,
            map: None,
            object: Some(object),
            metadata,
            version: (!encrypted).then_some(version),
            decoded: None,
        })
    }

    /// Opens `path`, mapping it unless `no_mmap`, and parses the footer unless `cache` holds
    /// this version's already. Encrypted files bypass the cache (see [`holds_keys`]): their
    /// parsed footer carries the file's keys, which another scan must not inherit; plaintext
    /// files scanned with `decryption` given (a lake with a key provider) still use it.
    pub(crate) fn open(
        path: &Path,
        no_mmap: bool,
        cache: Option<&dyn MetadataCache>,
        decryption: Option<Arc<FileDecryptionProperties>>,
    ) -> Result<Self> {
        let decrypting = decryption.is_some();
        let cache: &dyn MetadataCache = cache.unwrap_or(&NoCache);
        let file = File::open(path).map_err(|e| Error::io("cannot open Parquet file", path, e))?;
        let stat = file
            .metadata()
            .map_err(|e| Error::io("cannot stat Parquet file", path, e))?;
        let version = FileVersion::new(path, &stat);
        let mut options = ArrowReaderOptions::new();
        if let Some(decryption) = decryption {
            options = options.with_file_decryption_properties(decryption);
        }
        let bytes = if no_mmap || stat.len() == 0 {
            // Mapping an empty file fails on some platforms; reading it gives the parquet
            // crate's own "file too small" error instead.
            None
        } else {
            // SAFETY: the map is read-only and lives as long as the `Bytes` that own it. The
            // remaining hazard, another process truncating or rewriting the file meanwhile, is
            // documented in this module's docs and avoided by `no_mmap`.
            // Kept between scans of this version (see `maps`).
            let map = unsafe { super::maps::map(&version, &file) }
                .map_err(|e| Error::io("cannot map Parquet file", path, e))?;
            Some(map)
        };
        let map = bytes;
        let bytes = map.clone().map(|m| Bytes::from_owner(SharedMap(m)));
        let metadata = match cached(cache, &version, decrypting) {
            Some(m) => m,
            None => {
                let load = |options: ArrowReaderOptions| match &bytes {
                    Some(bytes) => footer::load(bytes, options),
                    None => footer::load(&file, options),
                };
                // The page index is read when the file has one; a file whose footer is fine
                // but whose page index is not still reads, without page pruning.
                let with_index = options
                    .clone()
                    .with_page_index_policy(PageIndexPolicy::Optional);
                let m = catch_corrupt("cannot read the Parquet footer", || {
                    load(with_index)
                        .or_else(|_| load(options))
                        .map_err(|e| Error::from(e).during("cannot read the Parquet footer"))
                })
                .map_err(|e| e.with("path", path.display()))?;
                check_chunks(path, &m, Some(stat.len()))?;
                if !holds_keys(&m) {
                    cache.insert(version.clone(), m.clone());
                }
                m
            }
        };
        let encrypted = decrypting && holds_keys(&metadata);
        Ok(ParquetSource {
            path: path.to_path_buf(),
            len: stat.len(),
            encrypted,
            bytes,
            map,
            object: None,
            metadata,
            version: (!encrypted).then_some(version),
            decoded: None,
        })
    }

    /// The bloom filter of column chunk (`row_group`, `leaf`), if the file has a readable one.
    /// Never for encrypted files: their filters are encrypted, and parsing ciphertext as a
    /// filter could wrongly rule rows out.
    pub(crate) fn bloom_filter(&self, row_group: usize, leaf: usize) -> Option<Sbbf> {
        if self.encrypted {
            return None;
        }
        let metadata = self.metadata.metadata();
        let column = metadata.row_groups().get(row_group)?.columns().get(leaf)?;
        if column.crypto_metadata().is_some() {
            return None;
        }
        // Only filters whose length the footer states, and that lie inside the file: the
        // parquet crate trusts these numbers.
        let offset = u64::try_from(column.bloom_filter_offset()?).ok()?;
        let length = u64::try_from(column.bloom_filter_length()?).ok()?;
        if length == 0 || offset.checked_add(length)? > self.len {
            return None;
        }
        let read = || match &self.bytes {
            Some(bytes) => Sbbf::read_from_column_chunk(column, bytes),
            None => {
                let file = File::open(&self.path).map_err(|e| {
                    parquet::errors::ParquetError::General(format!("cannot open file: {e}"))
                })?;
                Sbbf::read_from_column_chunk(column, &file)
            }
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(read))
            .ok()?
            .ok()?
    }

    /// Keeps and finds decoded row groups in `cache` (not for encrypted files).
    pub(crate) fn with_decoded_cache(mut self, cache: Option<Arc<dyn DecodedCache>>) -> Self {
        self.decoded = cache;
        self
    }

    /// Decodes one row group's projected columns into batches, or takes them from the
    /// decoded cache.
    pub(crate) fn decode(
        &self,
        row_group: usize,
        mask: ProjectionMask,
        selection: Option<RowSelection>,
        batch_size: usize,
    ) -> Result<Vec<RecordBatch>> {
        // Only whole row groups are cached: a page-index selection is particular to one filter.
        let (Some(cache), Some(version), None) = (&self.decoded, &self.version, &selection) else {
            return self.decode_uncached(row_group, mask, selection, batch_size);
        };
        let columns = self.metadata.metadata().row_group(row_group).num_columns();
        let key = DecodedKey {
            version: version.clone(),
            row_group,
            leaves: (0..columns).filter(|&i| mask.leaf_included(i)).collect(),
            batch_size,
        };
        if let Some(batches) = cache.get(&key) {
            return Ok(batches.as_ref().clone());
        }
        let batches = self.decode_uncached(row_group, mask, None, batch_size)?;
        cache.insert(key, Arc::new(batches.clone()));
        Ok(batches)
    }

    fn decode_uncached(
        &self,
        row_group: usize,
        mask: ProjectionMask,
        selection: Option<RowSelection>,
        batch_size: usize,
    ) -> Result<Vec<RecordBatch>> {
        if let Some(object) = &self.object {
            // Only the projected column chunks of this row group, near ones in one read.
            let rg = self.metadata.metadata().row_group(row_group);
            let ranges = (0..rg.num_columns())
                .filter(|&i| mask.leaf_included(i))
                .map(|i| {
                    let (start, len) = rg.column(i).byte_range();
                    start..start.saturating_add(len)
                })
                .collect();
            let reader = RangeReader::preload(object.clone(), ranges)
                .map_err(|e| e.with("path", self.path.display()))?;
            return self.collect(
                self.reader(reader, vec![row_group], mask, selection, None, batch_size),
                row_group,
            );
        }
        self.page_in(row_group, &mask);
        match &self.bytes {
            Some(bytes) => self.collect(
                self.reader(
                    bytes.clone(),
                    vec![row_group],
                    mask,
                    selection,
                    None,
                    batch_size,
                ),
                row_group,
            ),
            None => {
                // One handle per task: cloned `File`s share a seek position, so parallel row
                // groups over one handle would read each other's offsets.
                let file = File::open(&self.path)
                    .map_err(|e| Error::io("cannot open Parquet file", &self.path, e))?;
                self.collect(
                    self.reader(file, vec![row_group], mask, selection, None, batch_size),
                    row_group,
                )
            }
        }
    }

    /// Pages in the projected column chunks of a row group before decoding it from the map
    /// (see [`FileMap::page_in`]): on a warm page cache, faulting them in one page at a time
    /// took a quarter of a 2-column projection's time.
    fn page_in(&self, row_group: usize, mask: &ProjectionMask) {
        let Some(map) = &self.map else {
            return;
        };
        let rg = self.metadata.metadata().row_group(row_group);
        for i in (0..rg.num_columns()).filter(|&i| mask.leaf_included(i)) {
            let (start, len) = rg.column(i).byte_range();
            if let (Ok(start), Ok(len)) = (usize::try_from(start), usize::try_from(len)) {
                map.page_in(start, len);
            }
        }
    }

    /// Decodes a run of row groups' projected columns batch by batch into `each`, each row
    /// group with its page selection (`None`: all rows), without holding the batches: the
    /// streaming path, where memory stays small and warm in the allocator. A mapped or plain
    /// file is decoded by one reader for the whole run: every new reader allocates its buffers
    /// afresh, and the allocator faults those pages in again (a reader per row group cost a
    /// fifth of a 2-column projection). Cached and object-store sources decode whole row
    /// groups one by one, as [`Self::decode`] does.
    ///
    /// With `predicate`, only the rows it keeps come out (see `super::predicate`): for local
    /// sources only, the caller's choice (see [`Self::is_local`]).
    pub(crate) fn decode_each(
        &self,
        run: &[(usize, Option<RowSelection>)],
        mask: ProjectionMask,
        batch_size: usize,
        predicate: Option<&RowPredicate>,
        each: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        if self.decoded.is_some() || self.object.is_some() {
            if predicate.is_some() {
                return Err(Error::internal(
                    "a row filter is pushed down only to local sources",
                ));
            }
            for (row_group, selection) in run {
                for batch in self.decode(*row_group, mask.clone(), selection.clone(), batch_size)? {
                    each(batch)?;
                }
            }
            return Ok(());
        }
        let mut reader = self.run_reader(run, mask, predicate, batch_size)?;
        while let Some(batch) = reader.next_batch()? {
            each(batch)?;
        }
        Ok(())
    }

    /// The rows of `row_group` that `filter` keeps, counted from the dictionary pages of its
    /// one column (`field`, as the scan sees it), or `None` when that path does not apply
    /// (see `super::dictionary_count`): a mapped, unencrypted file, the column of the same
    /// type in the file as in the scan.
    pub(crate) fn count_kept(
        &self,
        row_group: usize,
        filter: &Expr,
        sets: &InSets,
        field: &Field,
    ) -> Option<u64> {
        if self.encrypted || self.object.is_some() {
            return None;
        }
        let bytes = self.bytes.as_ref()?;
        let own = self.metadata.schema().field_with_name(field.name()).ok()?;
        if own.data_type() != field.data_type() {
            return None;
        }
        let page_in = |start: u64, len: u64| {
            if let (Some(map), Ok(start), Ok(len)) =
                (&self.map, usize::try_from(start), usize::try_from(len))
            {
                map.page_in(start, len);
            }
        };
        dictionary_count::count(
            bytes,
            self.metadata.metadata(),
            row_group,
            filter,
            sets,
            field,
            &page_in,
        )
    }

    /// The whole mapped file, when it is unencrypted and read from here (no cache, no object
    /// store), after faulting in `ranges` of it: for routes that read pages themselves (see
    /// `super::dictionary_select`).
    pub(crate) fn mapped_pages(&self, ranges: &[(u64, u64)]) -> Option<&Bytes> {
        if self.encrypted || self.object.is_some() || self.decoded.is_some() {
            return None;
        }
        let bytes = self.bytes.as_ref()?;
        if let Some(map) = &self.map {
            for &(start, len) in ranges {
                if let (Ok(start), Ok(len)) = (usize::try_from(start), usize::try_from(len)) {
                    map.page_in(start, len);
                }
            }
        }
        Some(bytes)
    }

    /// Whether runs of row groups decode straight from the file (a map or plain reads), with
    /// [`Self::run_reader`], rather than through a cache or an object store.
    pub(crate) fn is_local(&self) -> bool {
        self.decoded.is_none() && self.object.is_none()
    }

    /// One reader of a run of row groups' projected columns, each row group with its page
    /// selection (`None`: all rows), straight from the file: what [`Self::decode_each`] uses
    /// for a local source. Several can read the same run at once, each its own columns (see
    /// `super::split`).
    pub(crate) fn run_reader(
        &self,
        run: &[(usize, Option<RowSelection>)],
        mask: ProjectionMask,
        predicate: Option<&RowPredicate>,
        batch_size: usize,
    ) -> Result<RunReader<'_>> {
        let descr = self.metadata.metadata().file_metadata().schema_descr();
        let filter_mask =
            predicate.map(|p| ProjectionMask::leaves(descr, p.leaves.iter().copied()));
        for (row_group, _) in run {
            self.page_in(*row_group, &mask);
            if let Some(filter_mask) = &filter_mask {
                self.page_in(*row_group, filter_mask);
            }
        }
        let row_groups: Vec<usize> = run.iter().map(|(rg, _)| *rg).collect();
        let selection = run.iter().any(|(_, s)| s.is_some()).then(|| {
            let metadata = self.metadata.metadata();
            let selectors: Vec<RowSelector> = run
                .iter()
                .flat_map(|(rg, s)| match s {
                    Some(s) => s.iter().copied().collect::<Vec<_>>(),
                    None => {
                        let rows = usize::try_from(metadata.row_group(*rg).num_rows()).unwrap_or(0);
                        vec![RowSelector::select(rows)]
                    }
                })
                .collect();
            RowSelection::from(selectors)
        });
        let reader = match &self.bytes {
            Some(bytes) => self.reader(
                bytes.clone(),
                row_groups,
                mask,
                selection,
                predicate,
                batch_size,
            ),
            None => {
                let file = File::open(&self.path)
                    .map_err(|e| Error::io("cannot open Parquet file", &self.path, e))?;
                self.reader(file, row_groups, mask, selection, predicate, batch_size)
            }
        };
        let first = run.first().map_or(0, |(rg, _)| *rg);
        let last = run.last().map_or(first, |(rg, _)| *rg);
        let row_groups = first..=last;
        let reader = reader.map_err(|e| self.in_row_groups(e, &row_groups))?;
        Ok(RunReader {
            source: self,
            reader,
            row_groups,
        })
    }

    /// Every batch of `reader` (row group `row_group`), collected.
    fn collect(&self, reader: Result<Decoder>, row_group: usize) -> Result<Vec<RecordBatch>> {
        let mut batches = Vec::new();
        self.drain(reader, row_group..=row_group, &mut |batch| {
            batches.push(batch);
            Ok(())
        })?;
        Ok(batches)
    }

    /// Hands every batch of `reader` (row groups `row_groups`) to `each`.
    fn drain(
        &self,
        reader: Result<Decoder>,
        row_groups: RangeInclusive<usize>,
        each: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        let in_row_group = |e| self.in_row_groups(e, &row_groups);
        let mut reader = reader.map_err(in_row_group)?;
        while let Some(batch) = next_batch(&mut reader).map_err(in_row_group)? {
            each(batch)?;
        }
        Ok(())
    }

    /// Refuses, as `Unsupported`, column chunks to decode whose codec this build cannot
    /// decompress (the parquet crate's own error says so only in words, mid-decode). The
    /// caller adds the path and row groups.
    fn check_codecs(&self, row_groups: &[usize], mask: &ProjectionMask) -> Result<()> {
        let metadata = self.metadata.metadata();
        for &rg in row_groups {
            let Some(group) = metadata.row_groups().get(rg) else {
                continue;
            };
            for (leaf, column) in group.columns().iter().enumerate() {
                if !mask.leaf_included(leaf) || decompresses(column.compression()) {
                    continue;
                }
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "column {} is compressed with {}, which this build of strata does not \
                         decompress",
                        column.column_path().string(),
                        column.compression()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A reader of row groups' projected columns (the footer already parsed). String columns
    /// that are dictionary-encoded throughout are decoded as dictionaries and expanded by
    /// strata (see [`DictionaryRoute`]). With `predicate`, the reader evaluates it on the
    /// filter's columns first and decodes only the rows it keeps.
    fn reader<T: ChunkReader + 'static>(
        &self,
        input: T,
        row_groups: Vec<usize>,
        mask: ProjectionMask,
        selection: Option<RowSelection>,
        predicate: Option<&RowPredicate>,
        batch_size: usize,
    ) -> Result<Decoder> {
        self.check_codecs(&row_groups, &mask)?;
        let filter_leaves = predicate.map_or(&[][..], |p| p.leaves.as_slice());
        let filter_mask = ProjectionMask::leaves(
            self.metadata.metadata().file_metadata().schema_descr(),
            filter_leaves.iter().copied(),
        );
        self.check_codecs(&row_groups, &filter_mask)?;
        // Whole row groups of a mapped file: flat numeric columns strata decodes itself, in
        // batches of the size the crate's reader uses (no larger than the footer's row count,
        // which the crate trusts over the row groups': a footer claiming no rows reads none).
        let file_rows =
            usize::try_from(self.metadata.metadata().file_metadata().num_rows()).unwrap_or(0);
        let batch_size = batch_size.max(1).min(file_rows.max(1));
        let flat = match (&self.bytes, &selection, predicate, self.encrypted) {
            (Some(bytes), None, None, false) if self.object.is_none() && file_rows > 0 => {
                flat_batch::plan(&self.metadata, bytes, &row_groups, &mask)
            }
            _ => None,
        };
        let (flat, mask) = match flat {
            Some((flat, rest)) => (Some(flat), rest),
            None => (None, mask),
        };
        let crate_reads = (0..self
            .metadata
            .metadata()
            .file_metadata()
            .schema_descr()
            .num_columns())
            .any(|leaf| mask.leaf_included(leaf));
        if flat.is_some() && !crate_reads {
            return Ok(Decoder {
                reader: None,
                expand: None,
                flat,
                batch_size,
            });
        }
        let route = DictionaryRoute::plan(&self.metadata, &row_groups, &mask, filter_leaves);
        let metadata = route
            .as_ref()
            .map_or_else(|| self.metadata.clone(), |r| r.metadata.clone());
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(input, metadata)
            .with_row_groups(row_groups)
            .with_projection(mask)
            .with_batch_size(batch_size.max(1));
        if let Some(selection) = selection {
            builder = builder.with_row_selection(selection);
        }
        if let Some(predicate) = predicate {
            builder = builder.with_row_filter(
                predicate.row_filter(self.metadata.metadata().file_metadata().schema_descr()),
            );
        }
        let reader = catch_corrupt("cannot decode Parquet data", || {
            builder
                .build()
                .map_err(|e| Error::from(e).during("cannot decode Parquet data"))
        })?;
        let expand = match route.filter(DictionaryRoute::expands) {
            Some(route) => {
                let schema =
                    route.output_schema(&arrow::array::RecordBatchReader::schema(&reader))?;
                Some((route, schema))
            }
            None => None,
        };
        Ok(Decoder {
            reader: Some(reader),
            expand,
            flat,
            batch_size,
        })
    }

    fn in_row_groups(&self, e: Error, row_groups: &RangeInclusive<usize>) -> Error {
        let e = e.with("path", self.path.display());
        if row_groups.start() == row_groups.end() {
            e.with("row_group", row_groups.start())
        } else {
            e.with(
                "row_groups",
                format!("{}..={}", row_groups.start(), row_groups.end()),
            )
        }
    }
}

/// Whether this build decompresses `codec`: the parquet crate's codec features in Cargo.toml
/// (snap, zstd, lz4, flate2); brotli is not built in, LZO not implemented.
fn decompresses(codec: parquet::basic::Compression) -> bool {
    use parquet::basic::Compression as C;
    !matches!(codec, C::BROTLI(_) | C::LZO)
}

/// A reader of a run of row groups from a local source (see [`ParquetSource::run_reader`]).
pub(crate) struct RunReader<'a> {
    source: &'a ParquetSource,
    reader: Decoder,
    row_groups: RangeInclusive<usize>,
}

impl RunReader<'_> {
    /// The next batch; errors say which file and row groups.
    pub(crate) fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        next_batch(&mut self.reader).map_err(|e| self.source.in_row_groups(e, &self.row_groups))
    }
}

/// The parquet crate's reader, how to expand the columns it decodes as dictionaries, and the
/// columns strata decodes itself (see `super::flat_batch`).
pub(crate) struct Decoder {
    /// `None` when strata decodes every projected column.
    reader: Option<ParquetRecordBatchReader>,
    expand: Option<(DictionaryRoute, SchemaRef)>,
    flat: Option<FlatColumns>,
    batch_size: usize,
}

/// The reader's next batch; a decoder error or panic on damaged data is a `Corrupt` error.
/// Panics are caught around the parquet crate's decoder only, never around what the caller
/// does with the batch: a caller's panic is the caller's, not damaged data.
fn next_batch(decoder: &mut Decoder) -> Result<Option<RecordBatch>> {
    let Some(reader) = &mut decoder.reader else {
        let Some(flat) = &mut decoder.flat else {
            return Ok(None);
        };
        let rows = flat.rows_left().min(decoder.batch_size);
        if rows == 0 {
            return Ok(None);
        }
        return flat.join(None, rows).map(Some);
    };
    let batch = catch_corrupt("cannot decode Parquet data", || {
        reader
            .next()
            .transpose()
            .map_err(|e| Error::from(e).during("cannot decode Parquet data"))
    })?;
    let batch = match (batch, &decoder.expand) {
        (Some(batch), Some((route, schema))) => Some(route.expand(batch, schema)?),
        (batch, _) => batch,
    };
    match (batch, &mut decoder.flat) {
        (Some(batch), Some(flat)) => {
            let rows = batch.num_rows();
            flat.join(Some(batch), rows).map(Some)
        }
        (batch, _) => Ok(batch),
    }
}
