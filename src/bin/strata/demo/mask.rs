//! The masking step of the demo: a small silver table of customers, masked for an analyst
//! with keys from the data root's key provider, shown clear and masked side by side and
//! stored as a masked Parquet copy.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;

use strata::{mask::MaskPolicy, Lake, Result};

use super::internal;

const POLICY: &str = r#"
[columns.email]
clear = ["dpo"]
mask = { op = "email" }
[columns.phone]
mask = { op = "partial", keep_last = 4 }
[columns.card]
mask = { op = "tokenize", key = "demo-pii", alphabet = "digits" }
[columns.name]
roles.analyst = { op = "hash", key = "demo-pii", truncate = 8 }
"#;

fn silver() -> Result<RecordBatch> {
    let column = |v: [&str; 3]| -> ArrayRef { Arc::new(StringArray::from(v.to_vec())) };
    RecordBatch::try_from_iter([
        ("name", column(["Zoë Ünal", "Li Wei", "Ana Souza"])),
        (
            "email",
            column(["zoe@example.com", "li.wei@example.org", "ana@example.net"]),
        ),
        (
            "phone",
            column(["+1 555 0100", "+44 20 7946 0958", "+55 11 91234 5678"]),
        ),
        (
            "card",
            column([
                "4111-1111-1111-1111",
                "5500 0000 0000 0004",
                "3400 000000 00009",
            ]),
        ),
        ("city", column(["Oslo", "Lima", "Recife"])),
    ])
    .map_err(|e| internal(format!("demo: {e}")))
}

fn cell(batch: &RecordBatch, column: &str, row: usize) -> String {
    batch
        .column_by_name(column)
        .and_then(|a| cast(a, &DataType::Utf8).ok())
        .map(|a| a.as_string::<i32>().value(row).to_string())
        .unwrap_or_else(|| "(denied)".into())
}

/// Runs the step, printing through `say`.
pub(super) fn run(store: &Lake, say: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
    say("\n== Masking (silver customers, as role analyst)".into())?;
    let policy = MaskPolicy::from_toml_str(POLICY)?;
    let mut keys = store.keys().masking(true)?;
    keys.ensure(["demo-pii"])?;
    let clear = silver()?;
    let masked = policy.apply(&clear, "analyst", &keys)?;
    say(format!(
        "  {:<6} {:<22} | as role analyst",
        "column", "clear"
    ))?;
    for row in 0..2 {
        for field in clear.schema().fields() {
            let name = field.name();
            say(format!(
                "  {name:<6} {:<22} | {}",
                cell(&clear, name, row),
                cell(&masked, name, row)
            ))?;
        }
    }
    let key = "demo/silver/customers_masked.parquet";
    store.write_object(
        key,
        &masked.schema(),
        std::slice::from_ref(&masked),
        &strata::WriteOptions::default(),
    )?;
    say(format!(
        "masking key demo-pii v{} from {} (wrapped by the key ring); masked copy stored as {key}",
        keys.list()
            .iter()
            .filter(|k| k.id == "demo-pii")
            .map(|k| k.version)
            .max()
            .unwrap_or(1),
        keys.path().display()
    ))
}
