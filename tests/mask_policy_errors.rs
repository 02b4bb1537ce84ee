//! Bad policy files give one-line errors naming the line and the field, never panics.

use proptest::prelude::*;
use strata::{mask::MaskPolicy, ErrorKind};

fn error_of(text: &str) -> String {
    let err = MaskPolicy::from_toml_str(text).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let message = err.to_string();
    assert!(!message.contains('\n'), "one line: {message}");
    message
}

#[test]
fn unknown_field_names_line_and_field() {
    let m = error_of("[columns.email]\nclear = [\"dpo\"]\nmaks = { op = \"email\" }\n");
    assert!(m.contains("line 3") && m.contains("maks"), "{m}");
}

#[test]
fn unknown_operator_names_line() {
    let m = error_of("[columns.email]\nmask = { op = \"scramble\" }\n");
    assert!(m.contains("line 2") && m.contains("scramble"), "{m}");
}

#[test]
fn bad_operator_setting_names_line() {
    let m =
        error_of("[columns.a]\nclear = []\nmask = { op = \"hash\", key = \"k\", truncate = 2 }\n");
    assert!(m.contains("line 3") && m.contains("truncate"), "{m}");
    let m = error_of("[columns.a]\nmask = { op = \"partial\", keep_last = \"four\" }\n");
    assert!(m.contains("line 2"), "{m}");
}

#[test]
fn role_listed_twice_names_line() {
    let m = error_of(
        "[columns.a]\nclear = [\"x\"]\nmask = { op = \"redact\" }\ndeny = [\"y\", \"x\"]\n",
    );
    assert!(
        m.contains("line 4") && m.contains("\"x\"") && m.contains("deny"),
        "{m}"
    );
}

#[test]
fn unkeyed_hash_is_refused_with_the_reason() {
    let m = error_of("[columns.phone]\nmask = { op = \"unkeyed_hash\" }\n");
    assert!(m.contains("line 2") && m.contains("brute force"), "{m}");
    MaskPolicy::from_toml_str(
        "[columns.phone]\nmask = { op = \"unkeyed_hash\", allow_unkeyed = true }\n",
    )
    .unwrap();
}

#[test]
fn bad_top_level_value_names_line() {
    let m = error_of("on_denied = \"explode\"\n");
    assert!(m.contains("line 1") && m.contains("explode"), "{m}");
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = MaskPolicy::from_toml_str(&text);
    }

    #[test]
    fn mangled_policies_never_panic(cut in 0usize..400, junk in "[\\[\\]{}=\"a-z0-9 ,.\n]{0,20}") {
        let good = "[columns.email]\nclear = [\"dpo\"]\nmask = { op = \"email\" }\nroles.a = { op = \"fpe\", key = \"k\" }\n[columns.n]\nmask = { op = \"bucket\", width = 5 }\n";
        let cut = cut.min(good.len());
        let text = format!("{}{}{}", &good[..cut], junk, &good[cut..]);
        let _ = MaskPolicy::from_toml_str(&text);
    }
}
