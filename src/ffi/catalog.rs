//! The catalog from C: list and search entries, show one (strata's JSON or a Unity Catalog
//! table), register datasets and object prefixes, tag and describe, walk lineage; and lake
//! handles whose changes the catalog records as made by a job; a callback receiving the
//! OpenLineage events of table writes.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use super::args;
use super::guard::{guard, invalid, strata_status};
use super::keys::strata_free_fn;
use super::lake::{lake, strata_lake};
use crate::catalog::{Direction, Kind, Query};
use crate::{Error, ErrorKind, Result};

/// A JSON argument that must parse as `T`; the message names the argument.
fn parse_json<T: serde::de::DeserializeOwned>(text: &str, name: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| invalid(format!("{name}: {e}")).set_source(e))
}

/// Lists the catalog's entries into `*entries_json`, a JSON array of entries (each as
/// `strata_catalog_show` gives it), to free with `strata_string_free`. `query_json` NULL (or
/// "") lists every entry by name; otherwise it is a search, every field optional and every
/// field given must match, best match first: `{"text": "words", "tag": "...", "zone":
/// "silver", "owner": "...", "kind": "table" | "dataset" | "objects", "classification":
/// "email", "type": "string"}`. A query that is not such JSON (an unknown field included) is
/// `STRATA_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn strata_catalog_list(
    lake: *const strata_lake,
    query_json: *const c_char,
    entries_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(entries_json, "entries_json")?;
        let lake = self::lake(lake)?;
        let query = args::opt_text(query_json, "query_json")?
            .filter(|t| !t.trim().is_empty())
            .map(|t| parse_json::<Query>(t, "query_json"))
            .transpose()?;
        let catalog = lake.catalog()?;
        let entries = match query {
            Some(query) => catalog.search(&query)?,
            None => catalog.entries()?,
        };
        args::put_json(entries_json, "entries_json", &entries)
    })
}

/// The catalog entry `name` (`zone/name`) as JSON into `*entry_json`, to free with
/// `strata_string_free`: strata's entry (`name`, `zone`, `kind`, `location`, `tier`,
/// `format`, `owner`, `description`, `tags`, `columns`, `partition_by`, `rows`, `bytes`,
/// `files`, `version`, `created_at`/`created_by`, `updated_at`/`updated_by`, ...), or with
/// `unity` a Unity Catalog table entry (catalog `strata`, schema = the zone). A name the
/// catalog does not have is `STRATA_NOT_FOUND`.
#[no_mangle]
pub extern "C" fn strata_catalog_show(
    lake: *const strata_lake,
    name: *const c_char,
    unity: bool,
    entry_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(entry_json, "entry_json")?;
        let lake = self::lake(lake)?;
        let name = args::text(name, "name")?;
        let entry = lake.catalog()?.entry(name)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("the catalog has no entry {name:?}"),
            )
        })?;
        if unity {
            args::put_json(entry_json, "entry_json", &entry.to_unity())
        } else {
            args::put_json(entry_json, "entry_json", &entry)
        }
    })
}

/// Registers as `name` (`zone/name`) a Parquet dataset (`kind` "dataset": `path` is a Parquet
/// file or a directory of them) or a prefix of the lake's objects (`kind` "objects": `path` is
/// the key prefix), with its facts (schema, rows, files, bytes) read now; registering again
/// refreshes them and keeps the annotations. On success `*entry_json` (may be NULL) receives
/// the entry as `strata_catalog_show` gives it, to free with `strata_string_free`. Another
/// `kind`, a bad name or an unknown zone is `STRATA_INVALID_ARGUMENT`; a dataset path that
/// does not exist is `STRATA_NOT_FOUND`; a name already in the catalog as another kind is
/// `STRATA_ALREADY_EXISTS`.
#[no_mangle]
pub extern "C" fn strata_catalog_register(
    lake: *const strata_lake,
    name: *const c_char,
    path: *const c_char,
    kind: *const c_char,
    entry_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::put_opt(entry_json, std::ptr::null_mut());
        let lake = self::lake(lake)?;
        let name = args::text(name, "name")?;
        let path = args::text(path, "path")?;
        let kind = match args::text(kind, "kind")? {
            "dataset" => Kind::Dataset,
            "objects" => Kind::Objects,
            other => {
                return Err(invalid(format!(
                    "kind is {other:?}; it is \"dataset\" or \"objects\" (tables register \
                     themselves when created)"
                )));
            }
        };
        let entry = lake.register(name, path, kind)?;
        if entry_json.is_null() {
            return Ok(());
        }
        args::put_json(entry_json, "entry_json", &entry)
    })
}

/// Adds the tags `tags_json` (a non-empty JSON array of strings, e.g. `["pii", "daily"]`) to
/// the entry `name`, or with `remove` removes them. Tags are 1 to 128 characters, without
/// control characters. Anything else is `STRATA_INVALID_ARGUMENT`; a name the catalog does
/// not have is `STRATA_NOT_FOUND`.
#[no_mangle]
pub extern "C" fn strata_catalog_tag(
    lake: *const strata_lake,
    name: *const c_char,
    tags_json: *const c_char,
    remove: bool,
) -> strata_status {
    guard(|| {
        let lake = self::lake(lake)?;
        let name = args::text(name, "name")?;
        let tags: Vec<String> = parse_json(args::text(tags_json, "tags_json")?, "tags_json")?;
        if tags.is_empty() {
            return Err(invalid("tags_json is an empty array"));
        }
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        let catalog = lake.catalog()?;
        if remove {
            catalog.untag(name, &tags)
        } else {
            catalog.tag(name, &tags)
        }
    })
}

/// Sets the description of the entry `name` (`column` NULL), or of its column `column`, to
/// `text` (empty text clears it). A name the catalog does not have is `STRATA_NOT_FOUND`; a
/// column it does not have is `STRATA_INVALID_ARGUMENT`, naming the columns it has.
#[no_mangle]
pub extern "C" fn strata_catalog_describe(
    lake: *const strata_lake,
    name: *const c_char,
    column: *const c_char,
    text: *const c_char,
) -> strata_status {
    guard(|| {
        let lake = self::lake(lake)?;
        let name = args::text(name, "name")?;
        let column = args::opt_text(column, "column")?;
        let text = args::text(text, "text")?;
        lake.catalog()?.describe(name, column, text)
    })
}

/// Walks the lineage graph from `name` (a table's `zone/name`, a file path or an object key)
/// `direction`-wards ("upstream": what it was made from, "downstream": what was made from it,
/// "both"), at most `depth` steps (< 0: all the way), into `*walk_json`, to free with
/// `strata_string_free`: `{"start": {"kind", "name"}, "edges": [{"from", "to", "job",
/// "operation", "run"}], "columns": {output: [column lineage]}}`. A name no recorded run
/// read or wrote is `STRATA_NOT_FOUND`; another direction is `STRATA_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn strata_lineage(
    lake: *const strata_lake,
    name: *const c_char,
    direction: *const c_char,
    depth: i32,
    walk_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(walk_json, "walk_json")?;
        let lake = self::lake(lake)?;
        let name = args::text(name, "name")?;
        let direction = match args::text(direction, "direction")? {
            "upstream" => Direction::Upstream,
            "downstream" => Direction::Downstream,
            "both" => Direction::Both,
            other => {
                return Err(invalid(format!(
                    "direction is {other:?}; it is \"upstream\", \"downstream\" or \"both\""
                )));
            }
        };
        let depth = usize::try_from(depth).ok();
        let walk = lake.catalog()?.lineage(name, direction, depth)?;
        if walk.start.is_none() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no lineage recorded for {name:?}"),
            ));
        }
        args::put_json(walk_json, "walk_json", &walk)
    })
}

/// A new handle `*out` on the same open lake as `lake`, whose catalog changes and lineage runs
/// (annotations, registrations, and the commits of tables opened through it) are recorded as
/// made by `job` (a pipeline's or service's name) instead of `user (program)`. Free it with
/// `strata_lake_free`; the two handles share the data root, which stays open until both are
/// freed (in either order). An empty `job` is `STRATA_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn strata_lake_with_job(
    lake: *const strata_lake,
    job: *const c_char,
    out: *mut *mut strata_lake,
) -> strata_status {
    guard(|| {
        args::out_ptr(out, "out")?;
        let lake = self::lake(lake)?;
        let job = args::text(job, "job")?;
        if job.trim().is_empty() {
            return Err(invalid("job is empty"));
        }
        let lake = lake.with_job(job);
        args::put(out, "out", Box::into_raw(Box::new(strata_lake { lake })))
    })
}

/// A receiver of OpenLineage events: `event_json` is one RunEvent document, NUL-terminated and
/// valid only during the call; `user_data` is what `strata_lake_set_lineage_callback` was given.
pub type strata_lineage_fn =
    Option<unsafe extern "C" fn(event_json: *const c_char, user_data: *mut c_void)>;

/// The caller's callback and data: called from writing threads, freed once when the lake no
/// longer holds them.
struct LineageReceiver {
    call: unsafe extern "C" fn(event_json: *const c_char, user_data: *mut c_void),
    data: *mut c_void,
    free: strata_free_fn,
}

// SAFETY: the contract of strata_lake_set_lineage_callback requires a callback that may run on
// any thread, several at once, with user_data usable from all of them (and freed from any).
unsafe impl Send for LineageReceiver {}
// SAFETY: as above.
unsafe impl Sync for LineageReceiver {}

impl LineageReceiver {
    fn send(&self, event: &str) {
        // serde_json escapes NUL, so this fails only if that ever changes: drop the event.
        let Ok(event) = CString::new(event) else {
            tracing::warn!("an OpenLineage event holds a NUL byte; the callback does not get it");
            return;
        };
        // SAFETY: a NUL-terminated string valid for the call; the callback's own contract is
        // the caller's (header).
        unsafe { (self.call)(event.as_ptr(), self.data) };
    }
}

impl Drop for LineageReceiver {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: called once, when the last reference goes away, as documented.
            unsafe { free(self.data) };
        }
    }
}

/// Sets the receiver of the OpenLineage RunEvents of table writes through `lake` (START, then
/// COMPLETE or FAIL, for each write), replacing any; a NULL `callback` clears it. It is shared
/// by every handle on the same open lake (`strata_lake_with_job` handles, tables opened
/// through any of them), besides the `[lineage]` sink of the config.
///
/// `callback(event_json, user_data)` gets one JSON document per call, NUL-terminated and valid
/// only during the call (copy it to keep it). It runs on the thread that writes the table,
/// before the write returns, and may run on several threads at once: it and `user_data` must
/// be thread-safe. It must not call strata functions on this lake or its tables (the write is
/// still under way). Keep it cheap: writes wait for it.
///
/// `free_user_data` (may be NULL) is called once with `user_data` when strata no longer needs
/// it: after the callback is replaced or cleared and calls already under way on other threads
/// have returned, or once every handle on the lake (and its tables) is freed; at once when
/// `callback` is NULL or this call fails. Without it, keep `user_data` valid until then.
#[no_mangle]
pub extern "C" fn strata_lake_set_lineage_callback(
    lake: *const strata_lake,
    callback: strata_lineage_fn,
    user_data: *mut c_void,
    free_user_data: strata_free_fn,
) -> strata_status {
    guard(|| {
        // Owned first, so user_data is freed on every path that does not keep it.
        let receiver = callback.map(|call| LineageReceiver {
            call,
            data: user_data,
            free: free_user_data,
        });
        if receiver.is_none() {
            if let Some(free) = free_user_data {
                // SAFETY: user_data is not kept without a callback; freed once, as documented.
                unsafe { free(user_data) };
            }
        }
        let lake = self::lake(lake)?;
        lake.set_lineage_callback(
            receiver
                .map(|r| Arc::new(move |event: &str| r.send(event)) as Arc<crate::LineageCallback>),
        );
        Ok(())
    })
}
