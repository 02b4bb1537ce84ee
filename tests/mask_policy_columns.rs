//! A masking policy naming a column the data does not have (a typo such as `emial`) is an
//! error naming the column, the policy and the role, whichever roles the column's entry speaks
//! of; the real column is never left in clear without the caller opting in. With
//! `missing_columns = "warn"` (or `with_missing_columns`) the names come back as warnings.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::Schema;
use strata::{
    mask::{MaskPolicy, MemoryKeys, MissingColumns},
    ErrorKind,
};

fn batch() -> RecordBatch {
    let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
    let emails: ArrayRef = Arc::new(StringArray::from(vec!["zoe@example.com", "li@example.org"]));
    RecordBatch::try_from_iter([("id", ids), ("email", emails)]).unwrap()
}

const TYPO: &str = "[columns.emial]\nmask = { op = \"redact\" }\n";

fn keys() -> MemoryKeys {
    MemoryKeys::new()
}

#[test]
fn a_typo_is_an_error_naming_the_column_and_the_role() {
    let policy = MaskPolicy::from_toml_str(TYPO).unwrap();
    for role in ["analyst", ""] {
        let err = policy.apply(&batch(), role, &keys()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        let text = err.to_string();
        assert!(text.contains("\"emial\""), "{text}");
        assert!(text.contains("the data has id, email"), "{text}");
        let shown = if role.is_empty() { "(default)" } else { role };
        assert!(text.contains(&format!("role: {shown}")), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }
}

#[test]
fn a_column_named_only_for_another_role_is_checked_too() {
    // `nmae` speaks only of the support role; the analyst's view must still refuse it.
    let policy = MaskPolicy::from_toml_str(
        "[columns.email]\nmask = { op = \"redact\" }\n\
         [columns.nmae]\nroles.support = { op = \"redact\" }\n\
         [columns.phnoe]\nclear = [\"dpo\"]\n",
    )
    .unwrap();
    let err = policy.apply(&batch(), "analyst", &keys()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let text = err.to_string();
    assert!(
        text.contains("columns \"nmae\", \"phnoe\""),
        "every absent column is named: {text}"
    );
    let mask = policy.for_role("analyst", &keys()).unwrap();
    assert!(mask.apply(&batch()).is_err());
}

#[test]
fn the_policy_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.toml");
    std::fs::write(&path, TYPO).unwrap();
    let policy = MaskPolicy::from_file(&path).unwrap();
    let err = policy
        .check_columns(&batch().schema(), "analyst")
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("policy: {}", path.display())),
        "{text}"
    );
    assert!(
        text.contains("emial") && text.contains("role: analyst"),
        "{text}"
    );
    // A policy given as text says so.
    let err = MaskPolicy::from_toml_str(TYPO)
        .unwrap()
        .check_columns(&batch().schema(), "analyst")
        .unwrap_err();
    assert!(err.to_string().contains("policy: (given as text)"), "{err}");
}

#[test]
fn an_empty_batch_is_checked_as_well() {
    let policy = MaskPolicy::from_toml_str(TYPO).unwrap();
    let empty = RecordBatch::new_empty(batch().schema());
    let err = policy.apply(&empty, "analyst", &keys()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn allowed_missing_columns_are_returned_as_warnings() {
    let text = format!(
        "missing_columns = \"warn\"\n[columns.email]\nmask = {{ op = \"redact\" }}\n{TYPO}"
    );
    let policy = MaskPolicy::from_toml_str(&text).unwrap();
    assert_eq!(policy.missing_columns(), MissingColumns::Warn);
    assert_eq!(
        policy.check_columns(&batch().schema(), "analyst").unwrap(),
        vec!["emial".to_string()]
    );
    let masked = policy.apply(&batch(), "analyst", &keys()).unwrap();
    assert!(masked.column(1).is_null(0), "email is still masked");

    // The same by option on a policy that does not say it, and back.
    let policy = MaskPolicy::from_toml_str(TYPO)
        .unwrap()
        .with_missing_columns(MissingColumns::Warn);
    let masked = policy.apply(&batch(), "analyst", &keys()).unwrap();
    assert_eq!(
        masked.column(1).as_string::<i32>().value(0),
        "zoe@example.com"
    );
    let policy = policy.with_missing_columns(MissingColumns::Error);
    assert!(policy.apply(&batch(), "analyst", &keys()).is_err());
}

#[test]
fn a_bad_missing_columns_value_names_the_line() {
    let err = MaskPolicy::from_toml_str("missing_columns = \"ignore\"\n").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let text = err.to_string();
    assert!(text.contains("line 1") && text.contains("ignore"), "{text}");
}

#[test]
fn a_mask_checked_against_the_source_takes_projections() {
    let policy = MaskPolicy::from_toml_str(
        "[columns.email]\nmask = { op = \"redact\" }\n[columns.id]\nclear = [\"analyst\"]\n",
    )
    .unwrap();
    let mut mask = policy.for_role("analyst", &keys()).unwrap();
    let ids = batch().project(&[0]).unwrap();
    // Unchecked, a batch without `email` is refused: it may be the whole data.
    assert_eq!(mask.apply(&ids).unwrap_err().kind(), ErrorKind::NotFound);
    // Checked against the whole source, a projection of it is fine.
    assert!(mask.check_schema(&batch().schema()).unwrap().is_empty());
    assert_eq!(mask.apply(&ids).unwrap().num_columns(), 1);
    // And the source check itself refuses a source without the column.
    let mut other = policy.for_role("analyst", &keys()).unwrap();
    let err = other.check_schema(&ids.schema()).unwrap_err();
    assert!(err.to_string().contains("\"email\""), "{err}");
}

#[test]
fn retokenizing_masked_data_expects_only_the_columns_the_role_gets() {
    let keys = MemoryKeys::new().with("k1", 1, [3u8; 32]).unwrap();
    let policy = MaskPolicy::from_toml_str(
        "[columns.email]\nmask = { op = \"tokenize\", key = \"k1\" }\n\
         [columns.name]\ndeny = [\"analyst\"]\n",
    )
    .unwrap();
    // The analyst's masked copy has no `name` (denied, dropped): that is expected.
    let masked = policy.apply(&with_name(), "analyst", &keys).unwrap();
    assert!(masked.column_by_name("name").is_none());
    policy.retokenize(&masked, "analyst", &keys).unwrap();
    assert!(policy
        .check_masked_columns(&masked.schema(), "analyst")
        .unwrap()
        .is_empty());
    // A masked copy without `email`, which the analyst gets, is not what the policy made.
    let ids = masked.project(&[0]).unwrap();
    let err = policy.retokenize(&ids, "analyst", &keys).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("\"email\""), "{err}");
    // For clear data both columns must be there.
    let err = policy
        .check_columns(&masked.schema(), "analyst")
        .unwrap_err();
    assert!(err.to_string().contains("\"name\""), "{err}");
}

fn with_name() -> RecordBatch {
    let names: ArrayRef = Arc::new(StringArray::from(vec!["Zoë", "Li"]));
    let b = batch();
    let mut columns = b.columns().to_vec();
    columns.push(names);
    let mut fields: Vec<_> = b.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(arrow::datatypes::Field::new(
        "name",
        arrow::datatypes::DataType::Utf8,
        false,
    )));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}
