//! The catalog's changes: each is one record of its log, and the catalog is what replaying them
//! in order gives. Records say what changed (a tag added, a commit's facts), never a whole entry
//! read earlier, so two writers changing one entry at once both keep their change.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::entry::{Entry, Facts, Mark, MarkSource, QualityMark};
use super::lineage::Run;

/// A change to one entry that people or tools make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "what")]
pub(crate) enum Annotation {
    /// Adds and removes tags.
    Tags {
        add: Vec<String>,
        #[serde(default)]
        remove: Vec<String>,
    },
    /// Sets the description of the entry, or of one of its columns (`None` text: clears it).
    Describe {
        column: Option<String>,
        text: Option<String>,
    },
    /// Sets the owner.
    Owner { owner: Option<String> },
    /// Sets the retention.
    Retention { retention: Option<String> },
    /// Classifies a column (`None`: drops an inferred mark).
    Classify { column: String, mark: Option<Mark> },
    /// Records a quality score.
    Quality { score: f64 },
    /// Adds one append's expectation counts: `(rule, expect, failed rows)`.
    Expectations {
        version: Option<u64>,
        rows: u64,
        counts: Vec<(String, String, u64)>,
    },
}

/// One change of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub(crate) enum Op {
    /// Creates or refreshes an entry from the thing's own facts (a table commit, a
    /// registration, a rebuild), with the run that made them, if any.
    Facts {
        name: String,
        facts: Box<Facts>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run: Option<Box<Run>>,
    },
    /// Annotates an entry.
    Annotate {
        name: String,
        annotation: Annotation,
    },
    /// Removes an entry.
    Forget { name: String },
    /// Records a run that wrote something: its inputs, outputs and column lineage.
    Lineage { run: Box<Run> },
    /// Replaces the whole catalog (a rebuild).
    Replace { state: Box<State> },
}

/// One record of the log: a change, when, and by whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The change.
    #[serde(flatten)]
    pub op: Op,
    /// When, ms since the epoch.
    pub at: i64,
    /// Who: the job or principal the caller named, else `user@host (program)`.
    pub by: String,
}

/// The catalog: every entry, by name, and the runs lineage recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    /// Entries by `zone/name` (shared: a search hands them out without copying).
    pub entries: BTreeMap<String, Arc<Entry>>,
    /// Runs, oldest first.
    pub runs: Vec<Run>,
}

/// Runs kept in the catalog (the oldest go first): lineage is about how things are made now.
pub(crate) const MAX_RUNS: usize = 100_000;

impl State {
    /// Applies `record`. An annotation of an entry that is not there is dropped (its entry
    /// was forgotten after the annotation was made).
    pub(crate) fn apply(&mut self, record: Record) {
        let Record { op, at, by } = record;
        match op {
            Op::Facts { name, facts, run } => {
                let entry = Arc::make_mut(
                    self.entries
                        .entry(name.clone())
                        .or_insert_with(|| Arc::new(Entry::new(&name, at, &by))),
                );
                entry.refresh(*facts, at);
                entry.updated_at = at;
                entry.updated_by = by;
                if let Some(run) = run {
                    self.add_run(*run);
                }
            }
            Op::Annotate { name, annotation } => {
                let Some(entry) = self.entries.get_mut(&name).map(Arc::make_mut) else {
                    return;
                };
                annotate(entry, annotation, at);
                entry.updated_at = at;
                entry.updated_by = by;
            }
            Op::Forget { name } => {
                self.entries.remove(&name);
            }
            Op::Lineage { run } => self.add_run(*run),
            Op::Replace { state } => *self = *state,
        }
    }

    fn add_run(&mut self, run: Run) {
        self.runs.push(run);
        if self.runs.len() > MAX_RUNS {
            let extra = self.runs.len() - MAX_RUNS;
            self.runs.drain(..extra);
        }
    }
}

fn annotate(entry: &mut Entry, annotation: Annotation, at: i64) {
    match annotation {
        Annotation::Tags { add, remove } => {
            for t in remove {
                entry.tags.remove(&t);
            }
            entry.tags.extend(add);
        }
        Annotation::Describe { column: None, text } => entry.description = text,
        Annotation::Describe {
            column: Some(column),
            text,
        } => {
            if let Some(c) = entry.columns.iter_mut().find(|c| c.name == column) {
                c.description = text;
            }
        }
        Annotation::Owner { owner } => entry.owner = owner,
        Annotation::Retention { retention } => entry.retention = retention,
        Annotation::Classify { column, mark } => {
            if let Some(c) = entry.columns.iter_mut().find(|c| c.name == column) {
                // An inferred mark never replaces what the owner said.
                let owned = c
                    .classification
                    .as_ref()
                    .is_some_and(|m| m.source != MarkSource::Inferred);
                let inferred = mark
                    .as_ref()
                    .is_none_or(|m| m.source == MarkSource::Inferred);
                if !(owned && inferred) {
                    c.classification = mark;
                }
            }
        }
        Annotation::Quality { score } => entry.quality = Some(QualityMark { score, at }),
        Annotation::Expectations {
            version,
            rows,
            counts,
        } => {
            for (rule, expect, failed) in counts {
                let tally = entry.expectations.entry(rule).or_default();
                tally.expect = expect;
                tally.appends += 1;
                tally.rows_checked += rows;
                tally.failed_rows += failed;
                tally.last_failed = failed;
                tally.last_version = version;
                tally.at = at;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::entry::Kind;

    fn facts() -> Facts {
        Facts {
            kind: Kind::Table,
            format: "delta".into(),
            columns: vec![("email".into(), "Utf8".into(), true)],
            ..Facts::default()
        }
    }

    fn at(op: Op, at: i64) -> Record {
        Record {
            op,
            at,
            by: "t".into(),
        }
    }

    #[test]
    fn replaying_records_builds_entries_and_owner_marks_win() {
        let mut s = State::default();
        let name = "raw/users".to_string();
        s.apply(at(
            Op::Annotate {
                name: name.clone(),
                annotation: Annotation::Owner {
                    owner: Some("x".into()),
                },
            },
            1,
        ));
        assert!(s.entries.is_empty(), "an annotation of nothing is dropped");
        s.apply(at(
            Op::Facts {
                name: name.clone(),
                facts: Box::new(facts()),
                run: None,
            },
            2,
        ));
        let mark = |class: &str, source| Mark {
            class: class.into(),
            source,
            share: None,
        };
        for (m, want) in [
            (Some(mark("email", MarkSource::Inferred)), "email"),
            (Some(mark("none", MarkSource::Override)), "none"),
            (Some(mark("phone", MarkSource::Inferred)), "none"),
            (None, "none"),
            (Some(mark("email", MarkSource::Confirmed)), "email"),
        ] {
            s.apply(at(
                Op::Annotate {
                    name: name.clone(),
                    annotation: Annotation::Classify {
                        column: "email".into(),
                        mark: m,
                    },
                },
                3,
            ));
            let got = s.entries[&name].columns[0].classification.clone();
            assert_eq!(got.map(|m| m.class).as_deref(), Some(want));
        }
        s.apply(at(
            Op::Annotate {
                name: name.clone(),
                annotation: Annotation::Tags {
                    add: vec!["pii".into(), "daily".into()],
                    remove: vec![],
                },
            },
            4,
        ));
        s.apply(at(
            Op::Annotate {
                name: name.clone(),
                annotation: Annotation::Tags {
                    add: vec![],
                    remove: vec!["daily".into()],
                },
            },
            5,
        ));
        assert_eq!(s.entries[&name].tags.len(), 1);
        assert_eq!(s.entries[&name].updated_at, 5);
        s.apply(at(Op::Forget { name: name.clone() }, 6));
        assert!(s.entries.is_empty());
    }
}
