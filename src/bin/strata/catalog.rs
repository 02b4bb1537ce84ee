//! `strata catalog ...` and `strata lineage`: what the lake holds, and how it was made.

use std::io::Write;

use clap::{Args, Subcommand};
use strata::catalog::{Direction, Entry, Kind, Mark, MarkSource, Query};
use strata::{Lake, LakeConfig};

use crate::util::{io, write_json};

#[derive(Subcommand)]
pub enum CatalogCommand {
    /// Every entry (tables, registered datasets and object prefixes), by name.
    Ls(LsArgs),
    /// Entries whose name, description, tags or columns contain every word of TEXT.
    Search(SearchArgs),
    /// One entry: facts, owner, tags, columns with descriptions and classifications, schema
    /// versions. `--json` prints it shaped like a Unity Catalog table entry.
    Show(ShowArgs),
    /// Register a Parquet dataset (a file or directory) or an object prefix of the lake.
    Register(RegisterArgs),
    /// Add (or with --remove, remove) tags.
    Tag(TagArgs),
    /// Describe an entry, or one of its columns.
    Describe(DescribeArgs),
    /// Set (or clear) an entry's owner.
    Owner(OwnerArgs),
    /// Set (or clear) how long an entry's data is kept (`365d`, or words).
    Retention(RetentionArgs),
    /// Mark columns holding personal data (emails, phones, card numbers, national ids, names),
    /// from a sample of the rows; or, with --column, confirm or set one column's mark.
    Classify(ClassifyArgs),
    /// Check every catalog file against its checksum; exits non-zero on damage.
    Verify(JsonArg),
    /// Rebuild the catalog from what survives of it and from the tables themselves.
    Rebuild(JsonArg),
}

#[derive(Args)]
pub struct JsonArg {
    /// As JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct Filters {
    /// Only entries with this tag.
    #[arg(long, value_name = "T")]
    tag: Option<String>,
    /// Only this zone.
    #[arg(long, value_name = "Z")]
    zone: Option<String>,
    /// Only this owner.
    #[arg(long, value_name = "O")]
    owner: Option<String>,
    /// Only this kind: table, dataset or objects.
    #[arg(long, value_name = "K", value_parser = parse_kind)]
    kind: Option<Kind>,
    /// Only entries with a column of this classification (email, phone, credit_card, ...).
    #[arg(long, value_name = "C")]
    classification: Option<String>,
    /// Only entries with a column of this type (Arrow's name, `Utf8`, or Unity's, `string`).
    #[arg(long = "type", value_name = "T")]
    column_type: Option<String>,
    /// As a JSON array of entries.
    #[arg(long)]
    json: bool,
}

fn parse_kind(text: &str) -> Result<Kind, String> {
    Kind::parse(text).ok_or_else(|| format!("{text:?} is not table, dataset or objects"))
}

#[derive(Args)]
pub struct LsArgs {
    #[command(flatten)]
    filters: Filters,
}

#[derive(Args)]
pub struct SearchArgs {
    /// Words to look for (case-insensitive).
    #[arg(value_name = "TEXT")]
    text: String,
    #[command(flatten)]
    filters: Filters,
}

#[derive(Args)]
pub struct ShowArgs {
    /// The entry: ZONE/NAME.
    name: String,
    /// As a Unity Catalog table entry (JSON).
    #[arg(long)]
    json: bool,
    /// As strata's own entry (JSON), with schema versions and classifications.
    #[arg(long, conflicts_with = "json")]
    raw: bool,
}

#[derive(Args)]
pub struct RegisterArgs {
    /// The entry's name: ZONE/NAME.
    name: String,
    /// A file or directory of Parquet files (dataset), or a key prefix of the lake (objects).
    #[arg(long, value_name = "P")]
    path: String,
    /// dataset or objects.
    #[arg(long, value_name = "K", value_parser = parse_kind)]
    kind: Kind,
    /// As JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct TagArgs {
    /// The entry: ZONE/NAME.
    name: String,
    /// The tags.
    #[arg(required = true, value_name = "TAG")]
    tags: Vec<String>,
    /// Remove the tags instead.
    #[arg(long)]
    remove: bool,
}

#[derive(Args)]
pub struct DescribeArgs {
    /// The entry: ZONE/NAME.
    name: String,
    /// Describe this column instead of the entry.
    #[arg(long, value_name = "C")]
    column: Option<String>,
    /// The description (empty: clear it).
    #[arg(value_name = "TEXT")]
    text: String,
}

#[derive(Args)]
pub struct OwnerArgs {
    /// The entry: ZONE/NAME.
    name: String,
    /// The owner (omit with --clear).
    #[arg(required_unless_present = "clear")]
    owner: Option<String>,
    /// Clear the owner.
    #[arg(long)]
    clear: bool,
}

#[derive(Args)]
pub struct ClassifyArgs {
    /// The entry: ZONE/NAME (a table or a dataset).
    name: String,
    /// Rows sampled (the first ones).
    #[arg(long, value_name = "ROWS", default_value_t = strata::catalog::CLASSIFY_SAMPLE_ROWS)]
    sample: u64,
    /// Share of a column's values that must match for a mark (0 to 1).
    #[arg(long, value_name = "F", default_value_t = strata::quality::DEFAULT_THRESHOLD)]
    threshold: f64,
    /// Only this column's mark: with --set or --confirm.
    #[arg(long, value_name = "C")]
    column: Option<String>,
    /// Set the column's class by hand (`none`: it holds no personal data); classification
    /// leaves it alone from then on.
    #[arg(
        long,
        value_name = "CLASS",
        requires = "column",
        conflicts_with = "confirm"
    )]
    set: Option<String>,
    /// Confirm the column's inferred mark.
    #[arg(long, requires = "column")]
    confirm: bool,
    /// As JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RetentionArgs {
    /// The entry: ZONE/NAME.
    name: String,
    /// The retention (omit with --clear).
    #[arg(required_unless_present = "clear")]
    retention: Option<String>,
    /// Clear it.
    #[arg(long)]
    clear: bool,
}

#[derive(Args)]
pub struct LineageArgs {
    /// A table (ZONE/NAME), a file path or an object key.
    name: String,
    /// Only what it was made from.
    #[arg(long, conflicts_with = "downstream")]
    upstream: bool,
    /// Only what was made from it.
    #[arg(long)]
    downstream: bool,
    /// At most this many steps away.
    #[arg(long, value_name = "N")]
    depth: Option<usize>,
    /// As JSON (edges and column lineage).
    #[arg(long, conflicts_with = "dot")]
    json: bool,
    /// As a Graphviz digraph.
    #[arg(long)]
    dot: bool,
}

/// The command line, as the job catalog changes are recorded by.
pub fn job() -> String {
    let args: Vec<String> = std::env::args().collect();
    let mut line = String::from("strata");
    for a in args.iter().skip(1) {
        line.push(' ');
        if a.chars().any(char::is_whitespace) {
            line.push_str(&format!("{a:?}"));
        } else {
            line.push_str(a);
        }
    }
    line
}

fn query(filters: &Filters, text: Option<&str>) -> Query {
    Query {
        text: text.map(str::to_string),
        tag: filters.tag.clone(),
        zone: filters.zone.clone(),
        owner: filters.owner.clone(),
        kind: filters.kind,
        classification: filters.classification.clone(),
        column_type: filters.column_type.clone(),
    }
}

fn list(out: &mut dyn Write, entries: &[std::sync::Arc<Entry>], json: bool) -> strata::Result<()> {
    if json {
        return write_json(out, &entries);
    }
    for e in entries {
        let rows = e.rows.map_or_else(|| "?".into(), |r| r.to_string());
        let mut line = format!(
            "{}\t{}\t{} rows\t{} B",
            e.name,
            e.kind.as_str(),
            rows,
            e.bytes
        );
        if let Some(o) = &e.owner {
            line.push_str(&format!("\towner {o}"));
        }
        if !e.tags.is_empty() {
            let tags: Vec<&str> = e.tags.iter().map(String::as_str).collect();
            line.push_str(&format!("\t[{}]", tags.join(", ")));
        }
        if let Some(d) = &e.description {
            line.push_str(&format!("\t{d}"));
        }
        writeln!(out, "{line}").map_err(io)?;
    }
    Ok(())
}

fn show(out: &mut dyn Write, e: &Entry) -> strata::Result<()> {
    let mut w = |s: String| writeln!(out, "{s}").map_err(io);
    w(format!("{} ({}, {})", e.name, e.kind.as_str(), e.format))?;
    w(format!("location: {}", e.location))?;
    if !e.tier.is_empty() {
        w(format!("tier: {}", e.tier))?;
    }
    if let Some(v) = e.version {
        w(format!("version: {v}"))?;
    }
    let rows = e.rows.map_or_else(|| "unknown".into(), |r| r.to_string());
    w(format!(
        "rows: {rows}, bytes: {}, files: {}",
        e.bytes, e.files
    ))?;
    if let Some(o) = &e.owner {
        w(format!("owner: {o}"))?;
    }
    if let Some(d) = &e.description {
        w(format!("description: {d}"))?;
    }
    if !e.tags.is_empty() {
        let tags: Vec<&str> = e.tags.iter().map(String::as_str).collect();
        w(format!("tags: {}", tags.join(", ")))?;
    }
    if !e.partition_by.is_empty() {
        w(format!("partitioned by: {}", e.partition_by.join(", ")))?;
    }
    if let Some(q) = &e.quality {
        w(format!("quality: {:.1} at {}", q.score, q.at))?;
    }
    if let Some(r) = &e.retention {
        w(format!("retention: {r}"))?;
    }
    if !e.expectations.is_empty() {
        w("expectations (failed rows / rows checked, over appends):".into())?;
        for (rule, t) in &e.expectations {
            w(format!(
                "  {rule} [{}]: {} / {} over {} appends; last append {}",
                t.expect, t.failed_rows, t.rows_checked, t.appends, t.last_failed
            ))?;
        }
    }
    w("columns:".into())?;
    for c in &e.columns {
        let mut line = format!(
            "  {} {}{}",
            c.name,
            c.data_type,
            if c.nullable { "" } else { " not null" }
        );
        if let Some(m) = &c.classification {
            line.push_str(&format!(
                "  [{} ({})]",
                m.class,
                match m.source {
                    MarkSource::Inferred => "inferred",
                    MarkSource::Confirmed => "confirmed",
                    MarkSource::Override => "set by owner",
                }
            ));
        }
        if let Some(d) = &c.description {
            line.push_str(&format!("  {d}"));
        }
        w(line)?;
    }
    if e.schema_history.len() > 1 {
        w(format!("schema versions: {}", e.schema_history.len()))?;
        for s in &e.schema_history {
            let columns: Vec<String> = s
                .columns
                .iter()
                .map(|(n, t, _)| format!("{n} {t}"))
                .collect();
            let at = s.version.map_or_else(String::new, |v| format!("v{v}: "));
            w(format!("  {at}{}", columns.join(", ")))?;
        }
    }
    w(format!(
        "created {} by {}; updated {} by {}",
        e.created_at, e.created_by, e.updated_at, e.updated_by
    ))
}

fn entry(lake: &Lake, name: &str) -> strata::Result<Entry> {
    lake.catalog()?.entry(name)?.ok_or_else(|| {
        strata::Error::new(
            strata::ErrorKind::NotFound,
            format!("the catalog has no entry {name:?} (`strata catalog ls` lists them)"),
        )
    })
}

pub fn run(
    config: &LakeConfig,
    command: CatalogCommand,
    out: &mut dyn Write,
) -> strata::Result<()> {
    let lake = Lake::open(config)?.with_job(&job());
    match command {
        CatalogCommand::Ls(args) => {
            let found = lake.catalog()?.search(&query(&args.filters, None))?;
            let mut found = found;
            found.sort_by(|a, b| a.name.cmp(&b.name));
            list(out, &found, args.filters.json)
        }
        CatalogCommand::Search(args) => {
            let found = lake
                .catalog()?
                .search(&query(&args.filters, Some(&args.text)))?;
            list(out, &found, args.filters.json)
        }
        CatalogCommand::Show(args) => {
            let e = entry(&lake, &args.name)?;
            if args.json {
                write_json(out, &e.to_unity())
            } else if args.raw {
                write_json(out, &e)
            } else {
                show(out, &e)
            }
        }
        CatalogCommand::Register(args) => {
            let e = lake.register(&args.name, &args.path, args.kind)?;
            if args.json {
                return write_json(out, &e);
            }
            writeln!(
                out,
                "registered {} ({}, {} files, {} B)",
                e.name,
                e.kind.as_str(),
                e.files,
                e.bytes
            )
            .map_err(io)
        }
        CatalogCommand::Tag(args) => {
            let tags: Vec<&str> = args.tags.iter().map(String::as_str).collect();
            let catalog = lake.catalog()?;
            if args.remove {
                catalog.untag(&args.name, &tags)?;
            } else {
                catalog.tag(&args.name, &tags)?;
            }
            let e = entry(&lake, &args.name)?;
            let tags: Vec<&str> = e.tags.iter().map(String::as_str).collect();
            writeln!(out, "{}: tags {}", e.name, tags.join(", ")).map_err(io)
        }
        CatalogCommand::Describe(args) => {
            lake.catalog()?
                .describe(&args.name, args.column.as_deref(), &args.text)?;
            Ok(())
        }
        CatalogCommand::Owner(args) => {
            let owner = if args.clear {
                None
            } else {
                args.owner.as_deref()
            };
            lake.catalog()?.set_owner(&args.name, owner)
        }
        CatalogCommand::Retention(args) => {
            let retention = if args.clear {
                None
            } else {
                args.retention
                    .as_deref()
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
            };
            if !args.clear && retention.is_none() {
                return Err(strata::Error::new(
                    strata::ErrorKind::InvalidArgument,
                    "a retention is a duration like 365d, or words; --clear removes it",
                ));
            }
            lake.catalog()?.set_retention(&args.name, retention)
        }
        CatalogCommand::Classify(args) => classify(&lake, args, out),
        CatalogCommand::Verify(args) => {
            let damage = lake.catalog()?.verify()?;
            if args.json {
                write_json(out, &damage)?;
            } else if damage.is_empty() {
                writeln!(out, "the catalog is sound").map_err(io)?;
            }
            if damage.is_empty() {
                return Ok(());
            }
            let mut what: Vec<String> = damage
                .files
                .iter()
                .map(|f| format!("{f} damaged"))
                .collect();
            what.extend(damage.missing.iter().map(|m| format!("record {m} missing")));
            Err(strata::Error::new(
                strata::ErrorKind::Corrupt,
                format!(
                    "the catalog is damaged ({}); `strata catalog rebuild` recovers it",
                    what.join(", ")
                ),
            ))
        }
        CatalogCommand::Rebuild(args) => {
            let report = lake.rebuild_catalog()?;
            if args.json {
                return write_json(out, &report);
            }
            writeln!(
                out,
                "rebuilt: {} entries ({} refreshed from their data); {} damaged files removed; \
                 {} missing records skipped; dropped (table gone): {}",
                report.entries,
                report.refreshed,
                report.damage.files.len(),
                report.damage.missing.len(),
                if report.dropped.is_empty() {
                    "none".to_string()
                } else {
                    report.dropped.join(", ")
                }
            )
            .map_err(io)
        }
    }
}

pub fn lineage(config: &LakeConfig, args: LineageArgs, out: &mut dyn Write) -> strata::Result<()> {
    let lake = Lake::open(config)?;
    let direction = match (args.upstream, args.downstream) {
        (true, _) => Direction::Upstream,
        (_, true) => Direction::Downstream,
        _ => Direction::Both,
    };
    let walk = lake.catalog()?.lineage(&args.name, direction, args.depth)?;
    if walk.start.is_none() {
        return Err(strata::Error::new(
            strata::ErrorKind::NotFound,
            format!("no lineage recorded for {:?}", args.name),
        ));
    }
    if args.json {
        return write_json(out, &walk);
    }
    if args.dot {
        return write!(out, "{}", walk.to_dot()).map_err(io);
    }
    for e in &walk.edges {
        let v = |n: &strata::catalog::Node| n.version.map(|v| format!("@{v}")).unwrap_or_default();
        writeln!(
            out,
            "{}{} -> {}{}\t{} by {}",
            e.from.name,
            v(&e.from),
            e.to.name,
            v(&e.to),
            e.operation,
            e.job
        )
        .map_err(io)?;
    }
    for (output, columns) in &walk.columns {
        for c in columns {
            let from: Vec<String> = c.from.iter().map(|(_, col)| col.clone()).collect();
            writeln!(
                out,
                "  {output}.{} <- {} ({})",
                c.column,
                from.join(", "),
                c.transformation
            )
            .map_err(io)?;
        }
    }
    Ok(())
}

/// The classes a mark may name.
const CLASSES: [&str; 6] = [
    "email",
    "phone",
    "credit_card",
    "national_id",
    "person_name",
    "none",
];

fn classify(lake: &Lake, args: ClassifyArgs, out: &mut dyn Write) -> strata::Result<()> {
    let catalog = lake.catalog()?;
    if let Some(column) = &args.column {
        let e = entry(lake, &args.name)?;
        let current = e
            .column(column)
            .ok_or_else(|| {
                strata::Error::new(
                    strata::ErrorKind::InvalidArgument,
                    format!("{} has no column {column:?}", args.name),
                )
            })?
            .classification
            .clone();
        let mark = if let Some(class) = &args.set {
            if !CLASSES.contains(&class.as_str()) {
                return Err(strata::Error::new(
                    strata::ErrorKind::InvalidArgument,
                    format!(
                        "unknown class {class:?}; the classes are {}",
                        CLASSES.join(", ")
                    ),
                ));
            }
            Mark {
                class: class.clone(),
                source: MarkSource::Override,
                share: None,
            }
        } else if args.confirm {
            let Some(mut mark) = current else {
                return Err(strata::Error::new(
                    strata::ErrorKind::InvalidArgument,
                    format!(
                        "{}.{column} has no mark to confirm; set one with --set",
                        args.name
                    ),
                ));
            };
            mark.source = MarkSource::Confirmed;
            mark
        } else {
            return Err(strata::Error::new(
                strata::ErrorKind::InvalidArgument,
                "--column needs --set CLASS or --confirm",
            ));
        };
        catalog.classify_column(&args.name, column, Some(mark.clone()))?;
        if args.json {
            return write_json(out, &mark);
        }
        return writeln!(out, "{}.{column}: {}", args.name, mark.class).map_err(io);
    }
    let classes = lake.classify(&args.name, args.sample, args.threshold)?;
    if args.json {
        return write_json(out, &classes);
    }
    let e = entry(lake, &args.name)?;
    for c in &classes {
        let shown = e
            .column(&c.column)
            .and_then(|col| col.classification.as_ref())
            .map(|m| m.class.clone())
            .unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "{}	{}	{:.0}% of {} values",
            c.column,
            shown,
            c.share * 100.0,
            c.values
        )
        .map_err(io)?;
    }
    Ok(())
}
