//! What the catalog knows about one thing the lake holds: a table, a Parquet dataset or an
//! object prefix. Facts (schema, rows, bytes, files, version) come from the thing itself and
//! are refreshed on every commit; annotations (owner, description, tags, column descriptions
//! and classifications, retention, quality) come from people and tools and are kept across
//! refreshes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// What kind of thing an entry describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A Delta table of the lake.
    #[default]
    Table,
    /// Parquet files under a path, registered by someone.
    Dataset,
    /// Objects of the lake under a key prefix, registered by someone.
    Objects,
}

impl Kind {
    /// Parses `table`, `dataset` or `objects`.
    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "table" => Some(Kind::Table),
            "dataset" => Some(Kind::Dataset),
            "objects" => Some(Kind::Objects),
            _ => None,
        }
    }

    /// The name `parse` reads.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Table => "table",
            Kind::Dataset => "dataset",
            Kind::Objects => "objects",
        }
    }
}

/// Where a column's classification came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkSource {
    /// `catalog classify` found it in the values.
    Inferred,
    /// The owner confirmed an inferred mark.
    Confirmed,
    /// The owner set it (or cleared it) by hand: classification leaves it alone.
    Override,
}

/// A column's classification: what personal data it holds, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// `email`, `phone`, `credit_card`, `national_id`, `person_name`, or `none` (an override
    /// saying the column holds none).
    pub class: String,
    /// Who said so.
    pub source: MarkSource,
    /// For an inferred mark, the share of sampled values that matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
}

/// One column of an entry's schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its Arrow type, as Arrow prints it (`Int64`, `Utf8`, `Timestamp(µs, "UTC")`).
    pub data_type: String,
    /// Whether it may hold nulls.
    pub nullable: bool,
    /// What it means, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What personal data it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Mark>,
}

/// The columns of one schema version: what changed and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaVersion {
    /// The table version that first had this schema (`None` for datasets).
    pub version: Option<u64>,
    /// When it was recorded, ms since the epoch.
    pub at: i64,
    /// `(name, type, nullable)` per column.
    pub columns: Vec<(String, String, bool)>,
}

/// The last quality score recorded for an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityMark {
    /// The score, 0 to 100.
    pub score: f64,
    /// When, ms since the epoch.
    pub at: i64,
}

/// One expectation's counts over the appends that checked it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExpectationTally {
    /// What it does with failing rows: `warn`, `drop` or `fail`.
    pub expect: String,
    /// Appends that checked it.
    pub appends: u64,
    /// Rows those appends offered.
    pub rows_checked: u64,
    /// Rows that failed it (for a rule on the whole batch: appends it failed).
    pub failed_rows: u64,
    /// Rows that failed it in the last append.
    pub last_failed: u64,
    /// The table version the last append made (`None`: it kept no row).
    pub last_version: Option<u64>,
    /// When the last append checked it, ms since the epoch.
    pub at: i64,
}

/// What the thing itself says: refreshed wholesale, never typed in by people.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// Table, dataset or object prefix.
    pub kind: Kind,
    /// Its directory, URL or key prefix.
    pub location: String,
    /// The tier it lives on.
    pub tier: String,
    /// `delta`, `parquet`, or `objects`.
    pub format: String,
    /// `(name, Arrow type, nullable)` per column.
    pub columns: Vec<(String, String, bool)>,
    /// Partition columns.
    pub partition_by: Vec<String>,
    /// Rows, when known.
    pub rows: Option<u64>,
    /// Bytes of its data files or objects.
    pub bytes: u64,
    /// Data files or objects.
    pub files: u64,
    /// The table version described (`None` for datasets and objects).
    pub version: Option<u64>,
    /// The description the table was created with (its Delta metadata), if any.
    pub description: Option<String>,
    /// Its properties (a table's `delta.*` and `strata.*` configuration).
    pub properties: BTreeMap<String, String>,
}

/// A catalog entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// `zone/name`.
    pub name: String,
    /// The zone (`raw`, `bronze`, `silver`, `gold`, ...).
    pub zone: String,
    /// Table, dataset or object prefix.
    pub kind: Kind,
    /// Its directory, URL or key prefix.
    pub location: String,
    /// The tier it lives on.
    pub tier: String,
    /// `delta`, `parquet`, or `objects`.
    pub format: String,
    /// Who owns it.
    pub owner: Option<String>,
    /// What it is, in words.
    pub description: Option<String>,
    /// Free tags.
    pub tags: BTreeSet<String>,
    /// Its columns, with their descriptions and classifications.
    pub columns: Vec<Column>,
    /// Partition columns.
    pub partition_by: Vec<String>,
    /// Rows, when known.
    pub rows: Option<u64>,
    /// Bytes.
    pub bytes: u64,
    /// Data files or objects.
    pub files: u64,
    /// The table version last recorded.
    pub version: Option<u64>,
    /// The last quality score.
    pub quality: Option<QualityMark>,
    /// Expectations checked on its appends ([`crate::Lake::append_expecting`]), by rule.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expectations: BTreeMap<String, ExpectationTally>,
    /// How long its data is kept (a duration like `90d`, or words), when someone said.
    pub retention: Option<String>,
    /// Properties of the thing (a table's configuration).
    pub properties: BTreeMap<String, String>,
    /// Every schema it had, oldest first.
    pub schema_history: Vec<SchemaVersion>,
    /// When the catalog first recorded it, ms since the epoch, and by whom.
    pub created_at: i64,
    /// Who registered or created it.
    pub created_by: String,
    /// When it last changed (a commit or an annotation), ms since the epoch.
    pub updated_at: i64,
    /// Who changed it last.
    pub updated_by: String,
}

impl Entry {
    /// A new entry for `name` (`zone/name`).
    pub(crate) fn new(name: &str, at: i64, by: &str) -> Entry {
        Entry {
            name: name.to_string(),
            zone: name.split_once('/').map_or("", |(z, _)| z).to_string(),
            created_at: at,
            created_by: by.to_string(),
            updated_at: at,
            updated_by: by.to_string(),
            ..Entry::default()
        }
    }

    /// Takes the thing's `facts`, keeping the annotations of columns that are still there
    /// (by name) and recording a new schema version when the columns changed.
    pub(crate) fn refresh(&mut self, facts: Facts, at: i64) {
        let changed = self
            .schema_history
            .last()
            .is_none_or(|last| last.columns != facts.columns);
        if changed {
            self.schema_history.push(SchemaVersion {
                version: facts.version,
                at,
                columns: facts.columns.clone(),
            });
        }
        let mut old: BTreeMap<String, Column> = std::mem::take(&mut self.columns)
            .into_iter()
            .map(|c| (c.name.clone(), c))
            .collect();
        self.columns = facts
            .columns
            .into_iter()
            .map(|(name, data_type, nullable)| {
                let kept = old.remove(&name);
                Column {
                    description: kept.as_ref().and_then(|c| c.description.clone()),
                    classification: kept.and_then(|c| c.classification),
                    name,
                    data_type,
                    nullable,
                }
            })
            .collect();
        self.kind = facts.kind;
        self.location = facts.location;
        self.tier = facts.tier;
        self.format = facts.format;
        self.partition_by = facts.partition_by;
        self.rows = facts.rows;
        self.bytes = facts.bytes;
        self.files = facts.files;
        self.version = facts.version;
        self.properties = facts.properties;
        if self.description.is_none() {
            self.description = facts.description;
        }
        if self.owner.is_none() {
            self.owner = self.properties.get("strata.owner").cloned();
        }
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The classes of personal data its columns hold (marks other than `none`).
    pub fn classes(&self) -> BTreeSet<&str> {
        self.columns
            .iter()
            .filter_map(|c| c.classification.as_ref())
            .map(|m| m.class.as_str())
            .filter(|c| *c != "none")
            .collect()
    }

    /// The entry as a Unity Catalog table entry (`GET /api/2.1/unity-catalog/tables/{name}`):
    /// catalog `strata`, schema = the zone, the columns with Unity's type names, the storage
    /// location, properties, comment, owner and created/updated at/by.
    pub fn to_unity(&self) -> serde_json::Value {
        let short = self.name.split_once('/').map_or(&*self.name, |(_, n)| n);
        let columns: Vec<serde_json::Value> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (type_name, type_text) = unity_type(&c.data_type);
                let mut column = serde_json::json!({
                    "name": c.name,
                    "type_text": type_text,
                    "type_name": type_name,
                    "type_json": serde_json::json!({
                        "name": c.name,
                        "type": type_text,
                        "nullable": c.nullable,
                        "metadata": {},
                    }).to_string(),
                    "position": i,
                    "nullable": c.nullable,
                });
                if let Some(d) = &c.description {
                    column["comment"] = d.clone().into();
                }
                if let Some(p) = self.partition_by.iter().position(|p| *p == c.name) {
                    column["partition_index"] = p.into();
                }
                column
            })
            .collect();
        let mut properties: BTreeMap<String, String> = self.properties.clone();
        if !self.tags.is_empty() {
            properties.insert(
                "strata.tags".into(),
                self.tags.iter().cloned().collect::<Vec<_>>().join(","),
            );
        }
        if let Some(r) = &self.retention {
            properties.insert("strata.retention".into(), r.clone());
        }
        for c in &self.columns {
            if let Some(m) = &c.classification {
                properties.insert(format!("strata.classification.{}", c.name), m.class.clone());
            }
        }
        let mut out = serde_json::json!({
            "name": short,
            "catalog_name": "strata",
            "schema_name": self.zone,
            "full_name": format!("strata.{}.{short}", self.zone),
            "table_type": "EXTERNAL",
            "data_source_format": match self.format.as_str() {
                "delta" => "DELTA",
                "parquet" => "PARQUET",
                _ => "UNKNOWN_DATA_SOURCE_FORMAT",
            },
            "columns": columns,
            "storage_location": self.location,
            "properties": properties,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        });
        if let Some(d) = &self.description {
            out["comment"] = d.clone().into();
        }
        if let Some(o) = &self.owner {
            out["owner"] = o.clone().into();
        }
        out
    }
}

/// Unity's `type_text` for an Arrow type as Arrow prints it (`Int64` -> `bigint`).
pub(crate) fn unity_type_text(arrow: &str) -> String {
    unity_type(arrow).1
}

/// Unity's `type_name` and `type_text` for an Arrow type as Arrow prints it.
fn unity_type(arrow: &str) -> (&'static str, String) {
    let simple = |name: &'static str, text: &str| (name, text.to_string());
    match arrow {
        "Boolean" => simple("BOOLEAN", "boolean"),
        "Int8" => simple("BYTE", "tinyint"),
        "Int16" => simple("SHORT", "smallint"),
        "Int32" => simple("INT", "int"),
        "Int64" => simple("LONG", "bigint"),
        "Float32" => simple("FLOAT", "float"),
        "Float64" => simple("DOUBLE", "double"),
        "Utf8" | "LargeUtf8" | "Utf8View" => simple("STRING", "string"),
        "Binary" | "LargeBinary" | "BinaryView" => simple("BINARY", "binary"),
        "Date32" | "Date64" => simple("DATE", "date"),
        t if t.starts_with("Timestamp(") && t.contains(',') && !t.ends_with("None)") => {
            simple("TIMESTAMP", "timestamp")
        }
        t if t.starts_with("Timestamp(") => simple("TIMESTAMP_NTZ", "timestamp_ntz"),
        t if t.starts_with("Decimal") => {
            let inner = t
                .split_once('(')
                .map_or("", |(_, rest)| rest.trim_end_matches(')'));
            ("DECIMAL", format!("decimal({})", inner.replace(' ', "")))
        }
        t if t.starts_with("Struct") => simple("STRUCT", "struct"),
        t if t.starts_with("List") || t.starts_with("LargeList") => simple("ARRAY", "array"),
        t if t.starts_with("Map") => simple("MAP", "map"),
        _ => simple("STRING", "string"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(columns: &[(&str, &str)], version: u64) -> Facts {
        Facts {
            kind: Kind::Table,
            location: "/lake/tables/silver/trips".into(),
            tier: "hot".into(),
            format: "delta".into(),
            columns: columns
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string(), true))
                .collect(),
            rows: Some(10),
            version: Some(version),
            ..Facts::default()
        }
    }

    #[test]
    fn refreshes_keep_column_annotations_and_record_schema_changes() {
        let mut e = Entry::new("silver/trips", 1, "me");
        e.refresh(facts(&[("id", "Int64"), ("email", "Utf8")], 0), 1);
        e.columns[1].description = Some("the rider's address".into());
        e.columns[1].classification = Some(Mark {
            class: "email".into(),
            source: MarkSource::Inferred,
            share: Some(0.98),
        });
        e.refresh(facts(&[("id", "Int64"), ("email", "Utf8")], 1), 2);
        assert_eq!(e.schema_history.len(), 1);
        e.refresh(facts(&[("id", "Int32"), ("email", "Utf8")], 2), 3);
        assert_eq!(e.schema_history.len(), 2);
        assert_eq!(e.schema_history[1].version, Some(2));
        assert_eq!(e.columns[0].data_type, "Int32");
        assert_eq!(
            e.column("email").unwrap().description.as_deref(),
            Some("the rider's address")
        );
        assert_eq!(e.classes(), BTreeSet::from(["email"]));
    }

    #[test]
    fn the_unity_shape_names_zone_types_and_partitions() {
        let mut e = Entry::new("silver/trips", 5, "job");
        let mut f = facts(
            &[
                ("id", "Int64"),
                ("at", "Timestamp(µs, \"UTC\")"),
                ("amount", "Decimal128(10, 2)"),
                ("zone", "Utf8"),
            ],
            0,
        );
        f.partition_by = vec!["zone".into()];
        e.refresh(f, 5);
        e.description = Some("trips".into());
        let u = e.to_unity();
        assert_eq!(u["name"], "trips");
        assert_eq!(u["schema_name"], "silver");
        assert_eq!(u["full_name"], "strata.silver.trips");
        assert_eq!(u["data_source_format"], "DELTA");
        assert_eq!(u["comment"], "trips");
        assert_eq!(u["columns"][0]["type_name"], "LONG");
        assert_eq!(u["columns"][1]["type_name"], "TIMESTAMP");
        assert_eq!(u["columns"][2]["type_text"], "decimal(10,2)");
        assert_eq!(u["columns"][3]["partition_index"], 0);
        assert_eq!(u["storage_location"], "/lake/tables/silver/trips");
    }
}
