//! OpenLineage RunEvents (spec 2-0-2) for the lake's writes: START when a write begins,
//! COMPLETE or FAIL when it ends, with the job (namespace and name), the run id, the inputs and
//! outputs, and on COMPLETE the output's schema and column lineage facets. Building them is
//! pure; the lake sends them to the configured sink (a JSON-lines file) and to a host's
//! callback.

use serde_json::{json, Map, Value};

use super::lineage::{ColumnLineage, Node};

/// The schema the events follow.
pub const SCHEMA_URL: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
const SCHEMA_FACET: &str =
    "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet";
const COLUMN_LINEAGE_FACET: &str = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet";

/// Who made the events.
pub fn producer() -> String {
    format!(
        "https://github.com/strata-lake/strata/tree/v{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// The state a RunEvent reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// The run began.
    Start,
    /// It ended well.
    Complete,
    /// It failed.
    Fail,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Start => "START",
            EventType::Complete => "COMPLETE",
            EventType::Fail => "FAIL",
        }
    }
}

/// What an output looked like after the run: its columns `(name, type, description)` and
/// where each came from.
#[derive(Debug, Clone, Default)]
pub struct OutputFacts {
    /// Columns in order.
    pub columns: Vec<(String, String, Option<String>)>,
    /// Column lineage (input indices into the event's inputs).
    pub lineage: Vec<ColumnLineage>,
}

/// One RunEvent.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// START, COMPLETE or FAIL.
    pub kind: EventType,
    /// The run's UUID (the same for its START and its end).
    pub run: &'a str,
    /// The job namespace (`[lineage] namespace`), also the namespace of lake datasets.
    pub namespace: &'a str,
    /// The job's name.
    pub job: &'a str,
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// What the run read.
    pub inputs: &'a [Node],
    /// What it wrote.
    pub outputs: &'a [Node],
    /// For a COMPLETE event: the first output's facts.
    pub output_facts: Option<&'a OutputFacts>,
    /// For a FAIL event: why.
    pub error: Option<&'a str>,
}

/// A dataset's namespace and name: lake tables and objects in the lake's namespace
/// (`zone/name`, `objects/<key>`), files in `file` by path.
fn dataset(node: &Node, namespace: &str) -> (String, String) {
    match node.kind.as_str() {
        "file" => ("file".to_string(), node.name.clone()),
        "object" => (namespace.to_string(), format!("objects/{}", node.name)),
        _ => (namespace.to_string(), node.name.clone()),
    }
}

fn time(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

impl Event<'_> {
    /// The event as OpenLineage JSON.
    pub fn to_json(&self) -> Value {
        let producer = producer();
        let inputs: Vec<Value> = self
            .inputs
            .iter()
            .map(|n| {
                let (namespace, name) = dataset(n, self.namespace);
                json!({"namespace": namespace, "name": name})
            })
            .collect();
        let outputs: Vec<Value> = self
            .outputs
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let (namespace, name) = dataset(n, self.namespace);
                let mut out = json!({"namespace": namespace, "name": name});
                if let (0, Some(facts)) = (i, self.output_facts) {
                    out["facets"] = self.facets(facts, &producer);
                }
                out
            })
            .collect();
        let mut run = json!({"runId": self.run});
        if let Some(error) = self.error {
            run["facets"] = json!({
                "errorMessage": {
                    "_producer": producer,
                    "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
                    "message": error,
                    "programmingLanguage": "Rust",
                }
            });
        }
        json!({
            "eventType": self.kind.as_str(),
            "eventTime": time(self.at_ms),
            "producer": producer,
            "schemaURL": SCHEMA_URL,
            "run": run,
            "job": {"namespace": self.namespace, "name": self.job},
            "inputs": inputs,
            "outputs": outputs,
        })
    }

    fn facets(&self, facts: &OutputFacts, producer: &str) -> Value {
        let fields: Vec<Value> = facts
            .columns
            .iter()
            .enumerate()
            .map(|(i, (name, ty, description))| {
                let mut f = json!({"name": name, "type": ty, "ordinal_position": i + 1});
                if let Some(d) = description {
                    f["description"] = d.clone().into();
                }
                f
            })
            .collect();
        let mut facets = json!({
            "schema": {
                "_producer": producer,
                "_schemaURL": SCHEMA_FACET,
                "fields": fields,
            }
        });
        if !facts.lineage.is_empty() {
            let mut map = Map::new();
            for c in &facts.lineage {
                let inputs: Vec<Value> = c
                    .from
                    .iter()
                    .filter_map(|(i, field)| {
                        let (namespace, name) = dataset(self.inputs.get(*i)?, self.namespace);
                        let masking = c.transformation.starts_with("mask");
                        Some(json!({
                            "namespace": namespace,
                            "name": name,
                            "field": field,
                            "transformations": [{
                                "type": "DIRECT",
                                "subtype": if c.transformation == "identity" { "IDENTITY" } else { "TRANSFORMATION" },
                                "description": c.transformation,
                                "masking": masking,
                            }],
                        }))
                    })
                    .collect();
                map.insert(c.column.clone(), json!({"inputFields": inputs}));
            }
            facets["columnLineage"] = json!({
                "_producer": producer,
                "_schemaURL": COLUMN_LINEAGE_FACET,
                "fields": map,
            });
        }
        facets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_the_run_job_datasets_and_facets() {
        let inputs = [Node::file("/in/a.csv"), Node::object("raw/b.csv")];
        let outputs = [Node::table("silver/t", Some(3))];
        let facts = OutputFacts {
            columns: vec![("id".into(), "Int64".into(), Some("key".into()))],
            lineage: vec![ColumnLineage {
                column: "id".into(),
                from: vec![(0, "id".into()), (9, "gone".into())],
                transformation: "mask:hash".into(),
            }],
        };
        let e = Event {
            kind: EventType::Complete,
            run: "0191e1c5-0000-4000-8000-000000000000",
            namespace: "lake",
            job: "nightly",
            at_ms: 1_700_000_000_123,
            inputs: &inputs,
            outputs: &outputs,
            output_facts: Some(&facts),
            error: None,
        }
        .to_json();
        assert_eq!(e["eventType"], "COMPLETE");
        assert_eq!(e["eventTime"], "2023-11-14T22:13:20.123Z");
        assert_eq!(e["job"]["name"], "nightly");
        assert_eq!(e["inputs"][0]["namespace"], "file");
        assert_eq!(e["inputs"][1]["name"], "objects/raw/b.csv");
        assert_eq!(e["outputs"][0]["name"], "silver/t");
        let f = &e["outputs"][0]["facets"];
        assert_eq!(f["schema"]["fields"][0]["ordinal_position"], 1);
        let id = &f["columnLineage"]["fields"]["id"]["inputFields"];
        assert_eq!(
            id.as_array().unwrap().len(),
            1,
            "an input that is not there is left out"
        );
        assert_eq!(id[0]["transformations"][0]["masking"], true);
    }
}
