//! The right to erasure: a subject's rows deleted from every table the catalog marks, the
//! files that held them vacuumed, matching objects removed, and an audit record listing it all.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Lake;
use crate::catalog::{Entry, Kind};
use crate::config::Action;
use crate::error::{Error, Result};
use crate::governance::{EraseReport, EraseRequest, ErasedTable, Resource};
use crate::read::Expr;

/// Tables whose erased rows' files wait for the retention window, with when it passes (ms
/// since the epoch): `strata tier run` vacuums them then.
const PENDING: &str = "_governance/vacuum-pending.json";

/// The classifications the catalog gives columns (`strata catalog classify`).
const CLASSES: [&str; 5] = [
    "email",
    "phone",
    "credit_card",
    "national_id",
    "person_name",
];

/// A column name as the filter syntax reads it.
pub(super) fn ident(column: &str) -> String {
    format!("\"{}\"", column.replace('"', "\"\""))
}

/// `column = value`, with the value typed as the column is.
fn equals(column: &str, data_type: &str, value: &str) -> Result<String> {
    let numeric = data_type.starts_with("Int")
        || data_type.starts_with("UInt")
        || data_type.starts_with("Float")
        || data_type.starts_with("Decimal");
    let literal = if numeric {
        value.parse::<f64>().map_err(|_| {
            Error::invalid(format!("{column} is numeric; {value:?} is not a number"))
        })?;
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', "''"))
    };
    Ok(format!("{} = {literal}", ident(column)))
}

/// The columns of `entry` the subject is searched in: those marked `class`, or the one
/// named `column` when no classification applies.
fn subject_columns<'a>(
    entry: &'a Entry,
    column: &str,
    class: Option<&str>,
) -> Vec<&'a crate::catalog::Column> {
    entry
        .columns
        .iter()
        .filter(|c| match class {
            Some(class) => {
                c.classification.as_ref().is_some_and(|m| m.class == class)
                    || (c.name == column
                        && c.classification.as_ref().is_none_or(|m| m.class != "none"))
            }
            None => c.name == column,
        })
        .collect()
}

/// Whether a key names the subject: one of its `/` segments is the value, or is the value
/// with an extension (`uploads/alice@example.com/photo.jpg`, `exports/alice@example.com.json`);
/// never a mere substring (`xalice@example.com`).
fn names_subject(key: &str, value: &str) -> bool {
    key.split('/').any(|segment| {
        segment == value
            || segment
                .strip_prefix(value)
                .is_some_and(|rest| rest.starts_with('.') && !rest[1..].contains('/'))
    })
}

impl Lake {
    /// Erases a subject (`strata erase`): see [`EraseRequest`]. Needs `admin` on the lake for
    /// a principal's handle. The deletes are table commits (they show in history and the
    /// audit log); the erasure's own audit record lists every table, version and row count.
    ///
    /// The tables searched are the catalog's: a table written outside the lake, or one whose
    /// entry marks no column with the subject's classification, is not (classify it first with
    /// `strata catalog classify`, or name it in `tables`).
    pub fn erase(&self, request: &EraseRequest) -> Result<EraseReport> {
        self.authorize("erase", Action::Admin, Resource::Lake)?;
        if request.column.trim().is_empty() || request.value.is_empty() {
            return Err(Error::invalid("an erasure needs a subject: COLUMN=VALUE"));
        }
        let catalog = self.open_catalog()?;
        let entries = catalog.entries()?;
        // The subject's kind of identifier: the column's own name when it is a classification,
        // else the classification the catalog gives a column of that name.
        let class: Option<String> = if CLASSES.contains(&request.column.as_str()) {
            Some(request.column.clone())
        } else {
            entries
                .iter()
                .flat_map(|e| e.columns.iter())
                .filter(|c| c.name == request.column)
                .find_map(|c| c.classification.as_ref())
                .map(|m| m.class.clone())
                .filter(|c| c != "none")
        };
        let mut targets: Vec<(String, String, String)> = Vec::new();
        let named: Vec<String> = request.tables.clone();
        for entry in &entries {
            if entry.kind != Kind::Table {
                continue;
            }
            if !named.is_empty() && !named.contains(&entry.name) {
                continue;
            }
            for c in subject_columns(entry, &request.column, class.as_deref()) {
                targets.push((entry.name.clone(), c.name.clone(), c.data_type.clone()));
            }
        }
        for name in &named {
            if !entries
                .iter()
                .any(|e| &e.name == name && e.kind == Kind::Table)
            {
                return Err(Error::invalid(format!(
                    "{name} is not a table of the catalog (strata catalog ls)"
                )));
            }
        }
        let mut report = EraseReport {
            column: request.column.clone(),
            classification: class.clone(),
            purged: request.purge && !request.dry_run,
            dry_run: request.dry_run,
            ..EraseReport::default()
        };
        for (name, column, data_type) in targets {
            let predicate = equals(&column, &data_type, &request.value)?;
            let table = self.table(&name)?;
            let mut done = ErasedTable {
                table: name.clone(),
                column: column.clone(),
                ..ErasedTable::default()
            };
            if request.dry_run {
                let (rows, _) = table.scan()?.filter(Expr::parse(&predicate)?).count()?;
                done.rows = rows;
            } else {
                let change = table.delete(&predicate)?;
                done.rows = change.rows_deleted;
                done.version = change.version;
                if change.rows_deleted > 0 {
                    let (retention, force) = if request.purge {
                        (Duration::ZERO, true)
                    } else {
                        (crate::table::DEFAULT_RETENTION, false)
                    };
                    let vacuum = table.vacuum(retention, false, force)?;
                    done.files_vacuumed = vacuum.files.len() as u64;
                    done.files_pending_vacuum = !request.purge;
                    if !request.purge {
                        let due = crate::clock::now_ms()
                            + crate::table::DEFAULT_RETENTION.as_millis() as u64;
                        self.note_pending_vacuum(&name, due)?;
                    }
                }
            }
            if done.rows > 0 || !named.is_empty() {
                report.tables.push(done);
            }
        }
        for prefix in &self.config().erasure.prefixes {
            for object in self.store.list(prefix)? {
                if names_subject(&object.key, &request.value) {
                    if !request.dry_run {
                        self.delete(&object.key)?;
                    }
                    report.objects.push(object.key);
                }
            }
        }
        if !request.dry_run {
            let mut event = self.event("erase", format!("subject:{}", request.column));
            event.rows = Some(report.tables.iter().map(|t| t.rows).sum());
            event.outcome = "ok".into();
            let tables: Vec<String> = report
                .tables
                .iter()
                .map(|t| {
                    let v = t.version.map_or("-".into(), |v| v.to_string());
                    format!("{}@v{v}:{}rows", t.table, t.rows)
                })
                .collect();
            event.detail = Some(format!(
                "tables [{}]; objects {}; purge {}",
                tables.join(", "),
                report.objects.len(),
                request.purge
            ));
            report.audit_record = self.audit_seq(event)?;
        }
        Ok(report)
    }
}

impl Lake {
    fn pending_vacuums(&self) -> Result<BTreeMap<String, u64>> {
        let path = self.dir().join(PENDING);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::new(
                    crate::error::ErrorKind::Corrupt,
                    format!("the pending vacuums file is damaged: {e}"),
                )
                .with("path", path.display())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(Error::io("cannot read the pending vacuums", &path, e)),
        }
    }

    fn save_pending_vacuums(&self, pending: &BTreeMap<String, u64>) -> Result<()> {
        let path = self.dir().join(PENDING);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("cannot create the governance folder", parent, e))?;
        }
        let text = serde_json::to_vec_pretty(pending)
            .map_err(|e| Error::internal(format!("cannot encode the pending vacuums: {e}")))?;
        let mut out = crate::atomic_file::AtomicFile::create(&path)?;
        std::io::Write::write_all(&mut out, &text)
            .map_err(|e| Error::io("cannot write the pending vacuums", &path, e))?;
        out.commit()
    }

    fn note_pending_vacuum(&self, table: &str, due_ms: u64) -> Result<()> {
        let mut pending = self.pending_vacuums()?;
        let due = pending.entry(table.to_string()).or_insert(0);
        *due = (*due).max(due_ms);
        self.save_pending_vacuums(&pending)
    }

    /// Vacuums the tables whose erased rows' files the retention window now lets go (as of
    /// `now`; `strata tier run`): returns `table: n files` lines. A dry run only lists them.
    pub(super) fn vacuum_erased(&self, now: SystemTime, dry_run: bool) -> Result<Vec<String>> {
        let mut pending = self.pending_vacuums()?;
        let now_ms = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let due: Vec<String> = pending
            .iter()
            .filter(|(_, due)| **due <= now_ms)
            .map(|(t, _)| t.clone())
            .collect();
        let mut lines = Vec::new();
        // Vacuum measures age on the real clock: a run "as of" a later time shortens the
        // retention by the difference.
        let ahead = now
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        let retention = crate::table::DEFAULT_RETENTION.saturating_sub(ahead);
        for name in due {
            let table = self.table(&name)?;
            if table.exists()? {
                let report = table.vacuum(retention, dry_run, true)?;
                lines.push(format!(
                    "{name}: erasure vacuum: {} files",
                    report.files.len()
                ));
            }
            if !dry_run {
                pending.remove(&name);
            }
        }
        if !dry_run && !lines.is_empty() {
            self.save_pending_vacuums(&pending)?;
        }
        Ok(lines)
    }
}
