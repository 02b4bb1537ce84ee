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

/// What a search looks at of one entry, lower-cased once: its name, the rest of its text,
/// and the values the filters compare.
#[derive(Clone)]
pub(crate) struct Indexed {
    name: String,
    rest: String,
    zone: String,
    kind: Kind,
    owner: Option<String>,
    tags: Vec<String>,
    classes: Vec<String>,
    /// Column types as Arrow and as Unity name them.
    types: Vec<String>,
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
        let mut types: Vec<String> = entry
            .columns
            .iter()
            .flat_map(|c| {
                [
                    c.data_type.to_lowercase(),
                    super::entry::unity_type_text(&c.data_type),
                ]
            })
            .collect();
        types.sort();
        types.dedup();
        Indexed {
            name: entry.name.to_lowercase(),
            rest,
            zone: entry.zone.to_lowercase(),
            kind: entry.kind,
            owner: entry.owner.as_ref().map(|o| o.to_lowercase()),
            tags: entry.tags.iter().map(|t| t.to_lowercase()).collect(),
            classes: entry.classes().iter().map(|c| c.to_lowercase()).collect(),
            types,
        }
    }
}

/// `query` with its values lower-cased once per search.
pub(crate) struct Prepared {
    words: Vec<String>,
    tag: Option<String>,
    zone: Option<String>,
    owner: Option<String>,
    kind: Option<Kind>,
    classification: Option<String>,
    column_type: Option<String>,
}

impl Prepared {
    pub(crate) fn of(query: &Query) -> Prepared {
        let lower = |s: &Option<String>| s.as_ref().map(|s| s.to_lowercase());
        Prepared {
            words: query
                .text
                .as_deref()
                .map(|t| t.split_whitespace().map(str::to_lowercase).collect())
                .unwrap_or_default(),
            tag: lower(&query.tag),
            zone: lower(&query.zone),
            owner: lower(&query.owner),
            kind: query.kind,
            classification: lower(&query.classification),
            column_type: lower(&query.column_type),
        }
    }
}

/// How well an entry matches `query`: `None` when it does not; higher is better (a word in
/// the name counts more than one elsewhere).
pub(crate) fn score(indexed: &Indexed, query: &Prepared) -> Option<u32> {
    if query.zone.as_ref().is_some_and(|z| *z != indexed.zone) {
        return None;
    }
    if query.kind.is_some_and(|k| k != indexed.kind) {
        return None;
    }
    if query.owner.is_some() && query.owner != indexed.owner {
        return None;
    }
    if let Some(t) = &query.tag {
        if !indexed.tags.contains(t) {
            return None;
        }
    }
    if let Some(class) = &query.classification {
        if !indexed.classes.contains(class) {
            return None;
        }
    }
    if let Some(ty) = &query.column_type {
        if indexed.types.binary_search(ty).is_err() {
            return None;
        }
    }
    let mut score = 1;
    for word in &query.words {
        if indexed.name.contains(word.as_str()) {
            score += 10;
        } else if indexed.rest.contains(word.as_str()) {
            score += 1;
        } else {
            return None;
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
            score(&i, &Prepared::of(&q))
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
