//! A TOML policy applied to one batch for several roles: clear text, per-role operators, the
//! default operator, denied columns dropped or refused, and date shifting keyed by another column.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, Int32Array, StringArray};
use arrow::datatypes::{Date32Type, Int32Type};
use arrow::record_batch::RecordBatch;
use strata::{
    mask::{ColumnAccess, MaskPolicy, MemoryKeys},
    ErrorKind,
};

const POLICY: &str = r#"
on_denied = "drop"

[columns.email]
clear = ["dpo"]
deny = ["intern"]
mask = { op = "email" }
roles.analyst = { op = "hash", key = "k1", truncate = 8 }

[columns.card]
clear = ["dpo"]
roles.support = { op = "partial", keep_last = 4 }
roles.analyst = { op = "tokenize", key = "k1", alphabet = "digits" }

[columns.age]
mask = { op = "bucket", width = 10 }
clear = ["dpo"]

[columns.seen]
mask = { op = "date_shift", key = "k1", by = "patient", max_days = 30 }
clear = ["dpo"]

[columns.notes]
mask = { op = "scrub" }
"#;

fn batch() -> RecordBatch {
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "patient",
            Arc::new(StringArray::from(vec!["p1", "p1", "p2"])),
        ),
        (
            "email",
            Arc::new(StringArray::from(vec![
                Some("ann@x.org"),
                None,
                Some("bo@y.net"),
            ])),
        ),
        (
            "card",
            Arc::new(StringArray::from(vec![
                "4111 1111 1111 1111",
                "5555 5555 5555 4444",
                "4000 0000 0000 0002",
            ])),
        ),
        (
            "age",
            Arc::new(Int32Array::from(vec![Some(34), Some(35), None])),
        ),
        (
            "seen",
            Arc::new(Date32Array::from(vec![19_000, 19_010, 19_000])),
        ),
        (
            "notes",
            Arc::new(StringArray::from(vec![
                "call +1 (555) 123-4567",
                "ok",
                "mail ann@x.org",
            ])),
        ),
    ];
    RecordBatch::try_from_iter(cols).unwrap()
}

fn keys() -> MemoryKeys {
    MemoryKeys::new().with("k1", 1, [1u8; 32]).unwrap()
}

fn text(b: &RecordBatch, col: &str, row: usize) -> String {
    b.column_by_name(col)
        .unwrap()
        .as_string::<i32>()
        .value(row)
        .to_string()
}

#[test]
fn each_role_sees_its_view() {
    let policy = MaskPolicy::from_toml_str(POLICY).unwrap();
    let batch = batch();
    let keys = keys();

    let dpo = policy.apply(&batch, "dpo", &keys).unwrap();
    assert_eq!(text(&dpo, "email", 0), "ann@x.org");
    assert_eq!(text(&dpo, "card", 0), "4111 1111 1111 1111");
    // `notes` has no clear list and a mask: even the dpo sees it scrubbed.
    assert_eq!(text(&dpo, "notes", 0), "call [PHONE]");

    let support = policy.apply(&batch, "support", &keys).unwrap();
    assert_eq!(text(&support, "email", 0), "a**@x.org");
    assert!(support.column_by_name("email").unwrap().is_null(1));
    assert_eq!(text(&support, "card", 0), "***************1111");
    let ages = support.column_by_name("age").unwrap();
    assert_eq!(ages.as_primitive::<Int32Type>().value(0), 30);
    assert!(ages.is_null(2));
    let seen = support.column_by_name("seen").unwrap();
    let seen = seen.as_primitive::<Date32Type>();
    assert_eq!(
        seen.value(1) - seen.value(0),
        10,
        "one patient's interval survives"
    );
    assert_ne!(seen.value(0), 19_000);
    assert_eq!(text(&support, "notes", 2), "mail [EMAIL]");
    assert_eq!(
        text(&support, "patient", 0),
        "p1",
        "unlisted columns are clear"
    );

    let analyst = policy.apply(&batch, "analyst", &keys).unwrap();
    assert!(text(&analyst, "email", 0).starts_with("k1v1:"));
    let token = text(&analyst, "card", 0);
    assert!(
        token.starts_with("k1v1:") && token.len() == 5 + 19,
        "{token}"
    );

    // The intern is denied email (dropped) and, having no entry and no default, card too.
    let intern = policy.apply(&batch, "intern", &keys).unwrap();
    assert!(intern.column_by_name("email").is_none());
    assert!(intern.column_by_name("card").is_none());
    assert_eq!(intern.num_rows(), 3);
    assert_eq!(policy.access("card", "intern"), ColumnAccess::Denied);
}

#[test]
fn denied_columns_can_refuse_the_batch() {
    let text = POLICY.replace(r#"on_denied = "drop""#, r#"on_denied = "error""#);
    let policy = MaskPolicy::from_toml_str(&text).unwrap();
    let err = policy.apply(&batch(), "intern", &keys()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("may not read column"), "{err}");
}

#[test]
fn missing_keys_are_reported_with_the_column() {
    let policy = MaskPolicy::from_toml_str(POLICY).unwrap();
    let err = policy
        .apply(&batch(), "analyst", &MemoryKeys::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("k1"), "{err}");
}
