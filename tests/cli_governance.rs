//! The command line of governance: `--as`, `strata access`, `strata audit`, `strata erase`,
//! `strata compliance` and `strata table retention`, run as a user runs them.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::strata_bin;

const POLICY: &str = r#"
[access]
[access.roles.analyst]
grants = [{ actions = ["read"], prefixes = ["public/"] }, { actions = ["read"], zones = ["silver"] }]
[access.roles.ops]
grants = [{ actions = ["admin"], lake = true, zones = ["*"], prefixes = [""] }]
[access.principals]
alice = ["analyst"]
root = ["ops"]
[audit]
enabled = true
"#;

/// A lake in a temporary directory with a config file.
struct Lake {
    tmp: tempfile::TempDir,
    config: PathBuf,
}

impl Lake {
    fn new(extra: &str) -> Lake {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("strata.toml");
        let dir = tmp.path().join("root");
        std::fs::write(
            &config,
            format!("dir = '{}'\n{extra}\n{POLICY}", dir.display()),
        )
        .unwrap();
        Lake { tmp, config }
    }

    fn dir(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.display().to_string()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(strata_bin())
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
    }
}

fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success());
    assert_ne!(out.status.code(), Some(101), "panicked");
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("strata: error: "), "{err:?}");
    err
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn a_principal_is_checked_audited_and_the_log_verifies_until_edited() {
    let lake = Lake::new("");
    let input = lake.file("in.txt", b"hello");
    lake.ok(&["put", "public/a.txt", &input]);
    lake.ok(&["put", "private/b.txt", &input]);

    // alice reads what her grants cover, and nothing else.
    let got = lake.run(&["--as", "alice", "get", "public/a.txt"]);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(got.stdout, b"hello");
    let err = one_line_error(&lake.run(&["--as", "alice", "get", "private/b.txt"]));
    for word in ["alice", "read", "private/b.txt", "object:private/b.txt"] {
        assert!(err.contains(word), "{word}: {err}");
    }
    assert!(!err.contains("hello"));
    // Nor are writes.
    one_line_error(&lake.run(&["--as", "alice", "put", "public/c.txt", &input]));
    // Without --as, the host may do everything.
    assert_eq!(lake.run(&["get", "private/b.txt"]).stdout, b"hello");

    // access check: exit 0 when allowed, 1 when denied.
    let denied = lake.run(&["access", "check", "alice", "read", "object:private/x"]);
    assert_eq!(denied.status.code(), Some(1));
    let text = stdout(&denied);
    assert!(text.starts_with("denied: "), "{text}");
    assert!(
        text.contains("alice") && text.contains("private/x"),
        "{text}"
    );
    let allowed = lake.run(&["access", "check", "alice", "read", "object:public/x"]);
    assert_eq!(allowed.status.code(), Some(0));
    assert_eq!(stdout(&allowed).trim(), "allowed");
    let check = lake.json(&[
        "access",
        "check",
        "alice",
        "read",
        "table:silver/trips",
        "--json",
    ]);
    assert_eq!(check["allowed"], true, "{check}");
    assert_eq!(check["resource"], "table:silver/trips");
    assert_eq!(
        lake.run(&["access", "check", "alice", "write", "table:silver/trips"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        lake.run(&["access", "check", "root", "admin", "lake"])
            .status
            .code(),
        Some(0)
    );
    one_line_error(&lake.run(&["access", "check", "alice", "read", "bucket:x"]));
    one_line_error(&lake.run(&["access", "check", "alice", "steal", "lake"]));

    // access roles.
    let roles = lake.json(&["access", "roles", "--json"]);
    assert_eq!(roles["principals"]["alice"][0], "analyst", "{roles}");
    assert_eq!(roles["principals"]["root"][0], "ops", "{roles}");
    assert_eq!(
        roles["roles"]["analyst"]["grants"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let text = lake.ok(&["access", "roles"]);
    assert!(
        text.contains("analyst") && text.contains("alice: analyst") && text.contains("public/"),
        "{text}"
    );

    // audit show: the denied get, under alice's name.
    let shown = lake.json(&["audit", "show", "--principal", "alice", "--json"]);
    let records = shown.as_array().unwrap();
    assert!(records.iter().all(|r| r["principal"] == "alice"), "{shown}");
    assert!(
        records.iter().any(|r| r["action"] == "get"
            && r["resource"] == "object:private/b.txt"
            && r["outcome"] == "denied"),
        "{shown}"
    );
    assert!(
        records.iter().any(|r| r["action"] == "get"
            && r["resource"] == "object:public/a.txt"
            && r["outcome"] == "ok"),
        "{shown}"
    );
    let table = lake.ok(&[
        "audit",
        "show",
        "--principal",
        "alice",
        "--resource",
        "private/",
        "--since",
        "1h",
    ]);
    let line = table
        .lines()
        .find(|l| l.contains("object:private/b.txt"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(line.contains("alice") && line.contains("denied"), "{line}");
    // The time is RFC 3339, UTC.
    assert!(
        line.split_whitespace().next().unwrap().ends_with('Z'),
        "{line}"
    );
    let limited = lake.json(&["audit", "show", "--limit", "1", "--json"]);
    assert_eq!(limited.as_array().unwrap().len(), 1);
    let future = lake.json(&["audit", "show", "--since", "2999-01-01", "--json"]);
    assert_eq!(future.as_array().unwrap().len(), 0);
    let past = lake.json(&["audit", "show", "--since", "2000-01-01T00:00:00Z", "--json"]);
    assert!(past.as_array().unwrap().len() >= records.len());
    // Only the lake's admins read the log.
    let err = one_line_error(&lake.run(&["--as", "alice", "audit", "show"]));
    assert!(err.contains("alice") && err.contains("admin"), "{err}");
    lake.ok(&["--as", "root", "audit", "show"]);

    // audit verify: intact.
    let text = lake.ok(&["audit", "verify"]);
    assert!(
        text.contains("records") && text.contains("intact"),
        "{text}"
    );
    let report = lake.json(&["audit", "verify", "--json"]);
    assert!(report["records"].as_u64().unwrap() >= 4, "{report}");
    assert_eq!(report["intact"], true);

    // Sealed, then one character of a record changed: verify names segment 1 and fails.
    lake.ok(&["audit", "seal"]);
    let segment = lake.dir().join("_audit/segments/000000000001.jsonl");
    let text = std::fs::read_to_string(&segment).unwrap();
    assert!(text.contains("object:public/a.txt"));
    std::fs::write(
        &segment,
        text.replacen("object:public/a.txt", "object:public/z.txt", 1),
    )
    .unwrap();
    let out = lake.run(&["audit", "verify"]);
    assert!(!out.status.success());
    assert_ne!(out.status.code(), Some(101));
    let text = stdout(&out);
    assert!(text.contains("segment 1"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not intact") && err.contains("segment 1"),
        "{err}"
    );
    let out = lake.run(&["audit", "verify", "--json"]);
    assert!(!out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["intact"], false);
    assert!(report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p.as_str().unwrap().contains("segment 1")));
}

#[test]
fn unknown_principals_and_bad_times_are_clear_errors() {
    let lake = Lake::new("");
    let err = one_line_error(&lake.run(&["--as", "nobody", "ls"]));
    assert!(
        err.contains("nobody") && err.contains("not a principal"),
        "{err}"
    );
    // The refusal is in the audit log.
    let shown = lake.json(&["audit", "show", "--principal", "nobody", "--json"]);
    assert_eq!(shown[0]["outcome"], "denied", "{shown}");

    for bad in ["yesterday", "2026-13-01", "2026-12-01T25:00:00Z", "-1h", ""] {
        let out = lake.run(&["audit", "show", &format!("--since={bad}")]);
        let err = one_line_error(&out);
        assert!(err.contains("--since"), "{bad}: {err}");
    }
    for good in [
        "2026-12-01",
        "2026-12-01T00:00:00Z",
        "2026-12-01T00:00:00+02:00",
        "7d",
    ] {
        lake.ok(&["audit", "show", "--since", good]);
    }
    one_line_error(&lake.run(&["audit", "show", "--limit", "0"]));

    // --as needs an [access] section to name principals.
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(strata_bin())
        .arg("--dir")
        .arg(tmp.path())
        .args(["--as", "alice", "ls"])
        .output()
        .unwrap();
    let err = one_line_error(&out);
    assert!(
        err.contains("--as alice") && err.contains("[access]"),
        "{err}"
    );
}

/// A table of customers whose email column the catalog marks, and a sign-up date.
fn customers(lake: &Lake) {
    let mut csv = String::from("id,email,signed_up\n");
    for i in 0..20 {
        let year = if i < 5 { 2001 } else { 2999 };
        csv.push_str(&format!("{i},user{i}@example.com,{year}-01-01\n"));
    }
    let file = lake.file("customers.csv", csv.as_bytes());
    lake.ok(&["table", "create", "silver/customers", "--from", &file]);
    lake.ok(&["catalog", "classify", "silver/customers"]);
}

fn count(lake: &Lake) -> u64 {
    lake.ok(&["table", "scan", "silver/customers", "--count"])
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn erase_dry_run_lists_and_changes_nothing_then_purge_rewrites_history() {
    let lake = Lake::new("");
    customers(&lake);
    let report = lake.json(&[
        "erase",
        "--subject",
        "email=user3@example.com",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(report["dry_run"], true, "{report}");
    assert_eq!(report["purged"], false, "{report}");
    let tables = report["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 1, "{report}");
    assert_eq!(tables[0]["table"], "silver/customers");
    assert_eq!(tables[0]["column"], "email");
    assert_eq!(tables[0]["rows"], 1);
    assert!(tables[0]["version"].is_null(), "{report}");
    assert_eq!(count(&lake), 20);
    let text = lake.ok(&[
        "erase",
        "--subject",
        "email=user3@example.com",
        "--tables",
        "silver/customers",
        "--dry-run",
    ]);
    assert!(
        text.contains("dry run") && text.contains("silver/customers: 1 rows"),
        "{text}"
    );
    assert_eq!(count(&lake), 20);

    // alice may not erase.
    one_line_error(&lake.run(&[
        "--as",
        "alice",
        "erase",
        "--subject",
        "email=user3@example.com",
    ]));
    let err = one_line_error(&lake.run(&["erase", "--subject", "email"]));
    assert!(err.contains("COLUMN=VALUE"), "{err}");

    let text = lake.ok(&["erase", "--subject", "email=user3@example.com", "--purge"]);
    assert!(text.contains("history rewritten"), "{text}");
    assert_eq!(count(&lake), 19);
}

#[test]
fn compliance_reports_every_control_and_fails_only_when_asked() {
    let lake = Lake::new("");
    customers(&lake);
    for framework in ["gdpr", "hipaa"] {
        let report = lake.json(&["compliance", "--framework", framework, "--json"]);
        assert_eq!(report["framework"], framework, "{report}");
        let controls = report["controls"].as_array().unwrap();
        assert!(!controls.is_empty(), "{report}");
        for c in controls {
            assert!(
                ["PASS", "FAIL", "WARN"].contains(&c["status"].as_str().unwrap()),
                "{c}"
            );
            assert!(c["id"].as_str().unwrap().starts_with(framework), "{c}");
            assert!(c["evidence"].is_array(), "{c}");
        }
        let score = report["score"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&score), "{report}");
        let failed = controls.iter().any(|c| c["status"] == "FAIL");

        let text = lake.ok(&["compliance", "--framework", framework]);
        assert!(text.contains("score"), "{text}");
        for c in controls {
            let line = format!(
                "{}  {}",
                c["status"].as_str().unwrap(),
                c["id"].as_str().unwrap()
            );
            assert!(text.contains(&line), "{line}: {text}");
        }
        let strict = lake.run(&["compliance", "--framework", framework, "--fail-on-fail"]);
        assert_eq!(strict.status.code(), Some(if failed { 1 } else { 0 }));
    }
    let err = one_line_error(&lake.run(&["compliance", "--framework", "sox"]));
    assert!(err.contains("sox") && err.contains("--framework"), "{err}");
}

#[test]
fn table_retention_dry_run_lists_then_deletes() {
    let lake = Lake::new(
        "[[table_retention]]\ntable = 'silver/customers'\ncolumn = 'signed_up'\ndelete_after = '365d'\n",
    );
    customers(&lake);
    let plan = lake.json(&[
        "table",
        "retention",
        "silver/customers",
        "--dry-run",
        "--json",
    ]);
    let actions = plan.as_array().unwrap();
    assert_eq!(actions.len(), 1, "{plan}");
    assert_eq!(actions[0]["table"], "silver/customers");
    assert_eq!(actions[0]["rows"], 5);
    assert_eq!(count(&lake), 20);
    let all = lake.json(&["table", "retention", "--all", "--dry-run", "--json"]);
    assert_eq!(all, plan);
    // alice may read silver, not delete from it.
    let err =
        one_line_error(&lake.run(&["--as", "alice", "table", "retention", "silver/customers"]));
    assert!(err.contains("alice") && err.contains("write"), "{err}");
    let text = lake.ok(&["table", "retention", "silver/customers"]);
    assert!(text.contains("deleted 5 rows"), "{text}");
    assert_eq!(count(&lake), 15);
}
