//! Lineage: the runs that wrote the lake's tables (a job, its inputs at a version, its outputs,
//! and which output column came from which input columns by which operation), and walks of the
//! graph they make, up or down from one node.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

/// What a run read or wrote.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Node {
    /// `table`, `dataset`, `file` or `object`.
    pub kind: String,
    /// A table's or dataset's `zone/name`, a file's path, an object's key.
    pub name: String,
    /// A table's version, when the run read or wrote one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

impl Node {
    /// A table at `version`.
    pub fn table(name: &str, version: Option<u64>) -> Node {
        Node {
            kind: "table".into(),
            name: name.into(),
            version,
        }
    }

    /// A file outside the lake.
    pub fn file(path: &str) -> Node {
        Node {
            kind: "file".into(),
            name: path.into(),
            version: None,
        }
    }

    /// An object of the lake.
    pub fn object(key: &str) -> Node {
        Node {
            kind: "object".into(),
            name: key.into(),
            version: None,
        }
    }

    /// The node without its version: what the graph joins on.
    fn key(&self) -> (String, String) {
        (self.kind.clone(), self.name.clone())
    }
}

/// Where one output column came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnLineage {
    /// The output column.
    pub column: String,
    /// The input columns, each with the input it belongs to (its index in `Run::inputs`).
    pub from: Vec<(usize, String)>,
    /// What made it: `identity`, `merge`, a masking operator (`mask:hash`), ...
    pub transformation: String,
}

/// One run that wrote something.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// A unique id (a UUID).
    pub id: String,
    /// The job: a name the caller gave, or the command line.
    pub job: String,
    /// What it did (`WRITE`, `MERGE`, `mask`, ...).
    pub operation: String,
    /// When it finished, ms since the epoch.
    pub at: i64,
    /// What it read.
    pub inputs: Vec<Node>,
    /// What it wrote.
    pub outputs: Vec<Node>,
    /// Column-level lineage, where the operation knows it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<ColumnLineage>,
}

/// Which way a walk goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// To what a node was made from.
    Upstream,
    /// To what was made from it.
    Downstream,
    /// Both.
    Both,
}

/// An edge of a walk: `from` was read by a run of `job` that wrote `to`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Edge {
    /// The input.
    pub from: Node,
    /// The output.
    pub to: Node,
    /// The job of the run.
    pub job: String,
    /// The run's operation.
    pub operation: String,
    /// The run's id.
    pub run: String,
}

/// A walk of the lineage graph from one node.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Walk {
    /// The node the walk started at.
    pub start: Option<Node>,
    /// The edges met, in the order found.
    pub edges: Vec<Edge>,
    /// Column lineage of the runs met: output node name -> its columns' sources.
    pub columns: BTreeMap<String, Vec<ColumnLineage>>,
}

/// Walks `runs` from the node named `name` (any kind; versions joined) `direction`-wards, up to
/// `depth` steps (`None`: all the way).
pub fn walk(runs: &[Run], name: &str, direction: Direction, depth: Option<usize>) -> Walk {
    let mut out = Walk::default();
    let mut seen_edges = BTreeSet::new();
    let mut seen_nodes: BTreeSet<(String, String)> = BTreeSet::new();
    let mut queue: VecDeque<((String, String), usize)> = VecDeque::new();
    for run in runs {
        for node in run.inputs.iter().chain(&run.outputs) {
            if node.name == name && seen_nodes.insert(node.key()) {
                out.start.get_or_insert_with(|| Node {
                    version: None,
                    ..node.clone()
                });
                queue.push_back((node.key(), 0));
            }
        }
    }
    while let Some((key, d)) = queue.pop_front() {
        if depth.is_some_and(|max| d >= max) {
            continue;
        }
        for run in runs {
            let up =
                direction != Direction::Downstream && run.outputs.iter().any(|n| n.key() == key);
            let down =
                direction != Direction::Upstream && run.inputs.iter().any(|n| n.key() == key);
            if !up && !down {
                continue;
            }
            for input in &run.inputs {
                for output in &run.outputs {
                    let relevant = (up && output.key() == key) || (down && input.key() == key);
                    if !relevant {
                        continue;
                    }
                    let edge = Edge {
                        from: input.clone(),
                        to: output.clone(),
                        job: run.job.clone(),
                        operation: run.operation.clone(),
                        run: run.id.clone(),
                    };
                    if seen_edges.insert(edge.clone()) {
                        out.edges.push(edge);
                    }
                    let next = if up && output.key() == key {
                        input.key()
                    } else {
                        output.key()
                    };
                    if seen_nodes.insert(next.clone()) {
                        queue.push_back((next, d + 1));
                    }
                }
            }
            if !run.columns.is_empty() {
                for output in &run.outputs {
                    out.columns
                        .entry(output.name.clone())
                        .or_default()
                        .extend(run.columns.iter().cloned());
                }
            }
        }
    }
    for columns in out.columns.values_mut() {
        columns.dedup();
    }
    out
}

impl Walk {
    /// The walk as a Graphviz digraph: one box per node (versions in the edge labels), one
    /// edge per run.
    pub fn to_dot(&self) -> String {
        let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let mut out = String::from("digraph lineage {\n  rankdir=LR;\n  node [shape=box];\n");
        let mut nodes = BTreeSet::new();
        for e in &self.edges {
            nodes.insert((e.from.kind.clone(), e.from.name.clone()));
            nodes.insert((e.to.kind.clone(), e.to.name.clone()));
        }
        for (kind, name) in &nodes {
            let shape = if kind == "table" { "box" } else { "note" };
            out.push_str(&format!(
                "  {} [shape={shape}, label={}];\n",
                quote(name),
                quote(&format!("{name}\\n({kind})"))
            ));
        }
        for e in &self.edges {
            let version = |n: &Node| n.version.map(|v| format!("@{v}")).unwrap_or_default();
            out.push_str(&format!(
                "  {} -> {} [label={}];\n",
                quote(&e.from.name),
                quote(&e.to.name),
                quote(&format!(
                    "{} {}{}->{}",
                    e.job,
                    e.operation,
                    version(&e.from),
                    version(&e.to)
                ))
            ));
        }
        out.push_str("}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, inputs: Vec<Node>, outputs: Vec<Node>) -> Run {
        Run {
            id: id.into(),
            job: format!("job-{id}"),
            operation: "WRITE".into(),
            at: 0,
            inputs,
            outputs,
            columns: vec![],
        }
    }

    #[test]
    fn walks_go_up_and_down_to_the_depth_asked() {
        let runs = vec![
            run(
                "1",
                vec![Node::file("/in/a.csv")],
                vec![Node::table("bronze/t", Some(0))],
            ),
            run(
                "2",
                vec![Node::table("bronze/t", Some(0))],
                vec![Node::table("silver/t", Some(0))],
            ),
            run(
                "3",
                vec![Node::table("silver/t", Some(0))],
                vec![Node::table("gold/t", Some(0))],
            ),
            run(
                "4",
                vec![Node::table("silver/t", Some(1))],
                vec![Node::table("gold/u", Some(0))],
            ),
        ];
        let up = walk(&runs, "gold/t", Direction::Upstream, None);
        let names: Vec<_> = up.edges.iter().map(|e| e.from.name.as_str()).collect();
        assert_eq!(names, vec!["silver/t", "bronze/t", "/in/a.csv"]);
        let one = walk(&runs, "gold/t", Direction::Upstream, Some(1));
        assert_eq!(one.edges.len(), 1);
        let down = walk(&runs, "silver/t", Direction::Downstream, None);
        let mut to: Vec<_> = down.edges.iter().map(|e| e.to.name.as_str()).collect();
        to.sort();
        assert_eq!(to, vec!["gold/t", "gold/u"]);
        let dot = up.to_dot();
        assert!(dot.starts_with("digraph lineage {"));
        assert!(dot.contains("\"bronze/t\" -> \"silver/t\""), "{dot}");
        assert!(walk(&runs, "nothing", Direction::Both, None)
            .edges
            .is_empty());
    }
}
