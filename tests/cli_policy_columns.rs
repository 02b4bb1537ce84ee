//! The command line refuses a masking policy or rules file that names a column the data does
//! not have (`strata mask`, `strata scan --policy`, `strata check`): a one-line error naming
//! the column, the file and the role or rule, and no output; `--allow-missing-columns` (or
//! `missing_columns = "warn"` in the policy) masks anyway, with a warning on stderr and the
//! names in the JSON summary.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use common::strata_bin;
use parquet::arrow::ArrowWriter;

fn strata(root: &Path, args: &[&str]) -> Output {
    Command::new(strata_bin())
        .arg("--dir")
        .arg(root.join("root"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> (String, String) {
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8(out.stdout.clone()).unwrap(),
        String::from_utf8(out.stderr.clone()).unwrap(),
    )
}

/// A failure is a one-line error and an ordinary exit, never a panic.
fn one_line_error(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("strata: error: "), "{err:?}");
    err
}

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    input: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let input = dir.join("customers.parquet");
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        let emails: ArrayRef = Arc::new(StringArray::from(vec![
            "zoe@example.com",
            "li@example.org",
            "ana@example.net",
        ]));
        let batch = RecordBatch::try_from_iter([("id", ids), ("email", emails)]).unwrap();
        let mut w =
            ArrowWriter::try_new(std::fs::File::create(&input).unwrap(), batch.schema(), None)
                .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        Setup {
            _tmp: tmp,
            dir,
            input,
        }
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

/// `[columns.emial]`: the typo leaves `email` unmasked unless it is caught.
const TYPO: &str = "[columns.id]\nclear = [\"analyst\"]\nmask = { op = \"redact\" }\n\
                    [columns.emial]\nmask = { op = \"email\" }\n";

#[test]
fn mask_refuses_a_policy_naming_a_missing_column() {
    let s = Setup::new();
    let policy = s.file("typo.toml", TYPO);
    let input = s.input.display().to_string();
    let output = s.path("out.parquet");
    for role in [Some("analyst"), None] {
        let mut args = vec!["mask", &input, &output, "--policy", &policy];
        if let Some(role) = role {
            args.extend(["--role", role]);
        }
        let err = one_line_error(&strata(&s.dir, &args));
        assert!(err.contains("\"emial\""), "{err}");
        assert!(err.contains(&format!("policy: {policy}")), "{err}");
        assert!(
            err.contains(&format!("role: {}", role.unwrap_or("(default)"))),
            "{err}"
        );
        assert!(err.contains("--allow-missing-columns"), "{err}");
        assert!(!Path::new(&output).exists(), "no output on error");
    }
}

#[test]
fn mask_with_missing_columns_allowed_warns_and_reports_them() {
    let s = Setup::new();
    let policy = s.file("typo.toml", TYPO);
    let input = s.input.display().to_string();
    let output = s.path("out.parquet");
    let out = strata(
        &s.dir,
        &[
            "mask",
            &input,
            &output,
            "--policy",
            &policy,
            "--role",
            "support",
            "--allow-missing-columns",
            "--json",
        ],
    );
    let (stdout, stderr) = ok(&out);
    assert!(
        stderr.contains("warning") && stderr.contains("\"emial\"") && stderr.contains(&policy),
        "{stderr}"
    );
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["missing_columns"], serde_json::json!(["emial"]));
    assert_eq!(summary["rows"], 3);
    // The policy itself may say so too; a policy without typos reports none.
    let warn = s.file("warn.toml", &format!("missing_columns = \"warn\"\n{TYPO}"));
    let (_, stderr) = ok(&strata(
        &s.dir,
        &["mask", &input, &output, "--policy", &warn],
    ));
    assert!(stderr.contains("\"emial\""), "{stderr}");
    let good = s.file("good.toml", "[columns.email]\nmask = { op = \"email\" }\n");
    let (stdout, stderr) = ok(&strata(
        &s.dir,
        &["mask", &input, &output, "--policy", &good, "--json"],
    ));
    assert!(stderr.is_empty(), "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["missing_columns"], serde_json::json!([]));
}

#[test]
fn retokenize_refuses_a_policy_naming_a_column_the_masked_file_lacks() {
    let s = Setup::new();
    let input = s.input.display().to_string();
    let masked = s.path("masked.parquet");
    let policy = s.file(
        "tokens.toml",
        "[columns.email]\nmask = { op = \"tokenize\", key = \"pii\" }\n[columns.id]\ndeny = [\"analyst\"]\n",
    );
    ok(&strata(
        &s.dir,
        &[
            "mask", &input, &masked, "--policy", &policy, "--role", "analyst",
        ],
    ));
    // `id` was denied to the analyst and dropped: retokenizing the copy is fine.
    let again = s.path("again.parquet");
    ok(&strata(
        &s.dir,
        &[
            "mask",
            &masked,
            &again,
            "--policy",
            &policy,
            "--role",
            "analyst",
            "--retokenize",
        ],
    ));
    let typo = s.file(
        "tokens-typo.toml",
        "[columns.emial]\nmask = { op = \"tokenize\", key = \"pii\" }\n",
    );
    let err = one_line_error(&strata(
        &s.dir,
        &[
            "mask",
            &masked,
            &again,
            "--policy",
            &typo,
            "--role",
            "analyst",
            "--retokenize",
        ],
    ));
    assert!(
        err.contains("\"emial\"") && err.contains("role: analyst"),
        "{err}"
    );
}

#[test]
fn scan_refuses_a_policy_naming_a_missing_column_whatever_it_reads() {
    let s = Setup::new();
    let policy = s.file("typo.toml", TYPO);
    let input = s.input.display().to_string();
    for extra in [
        &[][..],
        &["--columns", "id"][..],
        &["--filter", "id > 100"][..],
        &["--count"][..],
    ] {
        let mut args = vec![
            "scan", &input, "--policy", &policy, "--role", "analyst", "--format", "csv",
        ];
        args.extend(extra);
        let err = one_line_error(&strata(&s.dir, &args));
        assert!(
            err.contains("\"emial\"") && err.contains("role: analyst"),
            "{extra:?}: {err}"
        );
    }
    let out = strata(
        &s.dir,
        &[
            "scan",
            &input,
            "--policy",
            &policy,
            "--role",
            "analyst",
            "--format",
            "csv",
            "--allow-missing-columns",
            "--stats",
            "--json",
        ],
    );
    let (stdout, stderr) = ok(&out);
    assert!(stdout.contains("zoe@example.com"), "allowed: {stdout}");
    assert!(
        stderr.contains("warning") && stderr.contains("\"emial\""),
        "{stderr}"
    );
    let stats = stderr
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("{stderr}"));
    let stats: serde_json::Value = serde_json::from_str(stats).unwrap();
    assert_eq!(
        stats["missing_policy_columns"],
        serde_json::json!(["emial"])
    );
}

#[test]
fn check_refuses_a_rule_on_a_missing_column() {
    let s = Setup::new();
    let input = s.input.display().to_string();
    let rules = s.file(
        "rules.toml",
        "[[rules]]\ncheck = \"not_null\"\ncolumn = \"id\"\n\
         [[rules]]\ncheck = \"regex\"\ncolumn = \"emial\"\npattern = \"@\"\n",
    );
    let err = one_line_error(&strata(&s.dir, &["check", &input, "--rules", &rules]));
    assert!(
        err.contains("rule \"regex(emial)\" reads column \"emial\""),
        "{err}"
    );
    assert!(err.contains(&format!("rules: {rules}")), "{err}");
    assert!(err.contains("the data has id, email"), "{err}");
}
