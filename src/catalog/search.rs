//! Discovery: entries found by words (in names, descriptions, tags, column names and column
//! descriptions), by tag, zone, owner, kind, classification and column type. Each entry's
//! searchable text is lower-cased once, when the catalog is loaded, so a search is a pass of
//! substring tests over memory.

use super::entry::{Entry, Kind};

/// What to look for; every field given must match. As JSON (the C ABI and Go take it so):
/// `{"text": "...", "tag": "...", "zone": "...", "owner": "...", "kind": "table",
/// "classification": "email", "type": "string"}`, every field optional.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Query {
    /// Words, each of which must appear (case-insensitive) in the entry's text.
    pub text: Option<String>,
    /// A tag the entry has.
    pub tag: Option<String>,
    /// Its zone.
    pub zone: Option<String>,
    /// Its owner.
    pub owner: Option<String>,
    /// Its kind.
    pub kind: Option<Kind>,
    /// A classification one of its columns has (`email`: every table with an email column).
    pub classification: Option<String>,
    /// A column type one of its columns has, as Arrow prints it or as Unity names it
    /// (`Utf8` or `string`, case-insensitive).
    #[serde(rename = "type")]
    pub column_type: Option<String>,
}

/// An entry's lower-cased text, in the order of weight: its name, then the rest.
#[derive(Clone)]
pub(crate) struct Indexed {
    name: String,
    rest: String,
}

impl Indexed {
    pub(crate) fn of(entry: &Entry) -> Indexed {
        let mut rest = String::new();
        let mut add = |s: &str| {
            rest.push_str(&s.to_lowercase());
            rest.push('\n');
        };
        if let Some(d) = &entry.description {
            add(d);
        }
        for t in &entry.tags {
            add(t);
        }
        if let Some(o) = &entry.owner {
            add(o);
        }
        for c in &entry.columns {
            add(&c.name);
            if let Some(d) = &c.description {
                add(d);
            }
        }
        Indexed {
            name: entry.name.to_lowercase(),
            rest,
        }
    }
}

/// How well `entry` matches `query`: `None` when it does not; higher is better (a word in the
/// name counts more than one elsewhere).
pub(crate) fn score(entry: &Entry, indexed: &Indexed, query: &Query) -> Option<u32> {
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    if query.zone.as_deref().is_some_and(|z| !eq(z, &entry.zone)) {
        return None;
    }
    if query.kind.is_some_and(|k| k != entry.kind) {
        return None;
    }
    if let Some(o) = &query.owner {
        if !entry.owner.as_deref().is_some_and(|owner| eq(owner, o)) {
            return None;
        }
    }
    if let Some(t) = &query.tag {
        if !entry.tags.iter().any(|tag| eq(tag, t)) {
            return None;
        }
    }
    if let Some(class) = &query.classification {
        if !entry.classes().iter().any(|c| eq(c, class)) {
            return None;
        }
    }
    if let Some(ty) = &query.column_type {
        let matches = entry.columns.iter().any(|c| {
            eq(&c.data_type, ty) || eq(super::entry::unity_type_text(&c.data_type).as_str(), ty)
        });
        if !matches {
            return None;
        }
    }
    let mut score = 1;
    if let Some(text) = &query.text {
        for word in text.split_whitespace() {
            let word = word.to_lowercase();
            if indexed.name.contains(&word) {
                score += 10;
            } else if indexed.rest.contains(&word) {
                score += 1;
            } else {
                return None;
            }
        }
    }
    Some(score)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::entry::{Column, Mark, MarkSource};

    fn entry(name: &str) -> Entry {
        let mut e = Entry::new(name, 0, "t");
        e.columns.push(Column {
            name: "rider_email".into(),
            data_type: "Utf8".into(),
            nullable: true,
            description: Some("Where receipts go".into()),
            classification: Some(Mark {
                class: "email".into(),
                source: MarkSource::Inferred,
                share: None,
            }),
        });
        e.tags.insert("Daily".into());
        e
    }

    #[test]
    fn every_field_given_must_match_and_names_weigh_more() {
        let e = entry("silver/trips");
        let i = Indexed::of(&e);
        let q = |f: fn(&mut Query)| {
            let mut q = Query::default();
            f(&mut q);
            score(&e, &i, &q)
        };
        assert_eq!(q(|_| {}), Some(1));
        assert_eq!(q(|q| q.text = Some("TRIPS".into())), Some(11));
        assert_eq!(q(|q| q.text = Some("receipts email".into())), Some(3));
        assert_eq!(q(|q| q.text = Some("trips nothing".into())), None);
        assert_eq!(q(|q| q.tag = Some("daily".into())), Some(1));
        assert_eq!(q(|q| q.zone = Some("gold".into())), None);
        assert_eq!(q(|q| q.classification = Some("email".into())), Some(1));
        assert_eq!(q(|q| q.classification = Some("phone".into())), None);
        assert_eq!(q(|q| q.column_type = Some("string".into())), Some(1));
        assert_eq!(q(|q| q.column_type = Some("utf8".into())), Some(1));
        assert_eq!(q(|q| q.column_type = Some("bigint".into())), None);
        assert_eq!(q(|q| q.owner = Some("x".into())), None);
        assert_eq!(q(|q| q.kind = Some(Kind::Dataset)), None);
    }
}
