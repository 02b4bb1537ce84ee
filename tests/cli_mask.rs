//! `strata mask` and `strata scan --policy --role`: masked copies with keys from the data
//! root's key provider, dynamic masking on read, denied columns, bad policy files, and key
//! rotation followed by `strata mask --retokenize`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, RecordBatchReader, StringArray};
use common::strata_bin;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;

const POLICY: &str = r#"
[columns.email]
clear = ["dpo"]
deny = ["intern"]
mask = { op = "email" }
roles.analyst = { op = "hash", key = "pii", truncate = 8 }

[columns.card]
clear = ["dpo"]
mask = { op = "tokenize", key = "pii", alphabet = "digits" }

[columns.phone]
clear = ["dpo"]
mask = { op = "partial", keep_last = 4 }
"#;

fn strata(root: &Path, args: &[&str]) -> Output {
    Command::new(strata_bin())
        .arg("--dir")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// A failure is a one-line error and an ordinary exit, never a panic (exit code 101).
fn one_line_error(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("strata: error: "), "{err:?}");
    err
}

struct Setup {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    input: PathBuf,
    policy: PathBuf,
    dir: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let input = dir.join("customers.parquet");
        let column = |v: Vec<Option<&str>>| -> ArrayRef { Arc::new(StringArray::from(v)) };
        let batch = RecordBatch::try_from_iter([
            (
                "email",
                column(vec![
                    Some("zoë@example.com"),
                    None,
                    Some("li.wei@example.org"),
                ]),
            ),
            (
                "card",
                column(vec![
                    Some("4111-1111-1111-1111"),
                    Some("5500 0000 0000 0004"),
                    None,
                ]),
            ),
            (
                "phone",
                column(vec![
                    Some("+1 555 0100"),
                    Some("+44 20 7946 0958"),
                    Some("12"),
                ]),
            ),
            ("city", column(vec![Some("Oslo"), Some("Lima"), None])),
        ])
        .unwrap();
        write_parquet(&input, &batch);
        let policy = dir.join("policy.toml");
        std::fs::write(&policy, POLICY).unwrap();
        Setup {
            root: dir.join("root"),
            input,
            policy,
            dir,
            _tmp: tmp,
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    fn mask(&self, input: &str, output: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "mask",
            input,
            output,
            "--policy",
            self.policy.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        strata(&self.root, &args)
    }
}

fn write_parquet(path: &Path, batch: &RecordBatch) {
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

fn read_parquet(path: &str) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    arrow::compute::concat_batches(&schema, &batches).unwrap()
}

fn text(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
    let array = batch
        .column_by_name(column)
        .unwrap_or_else(|| panic!("no column {column}"));
    let array = arrow::compute::cast(array, &arrow::datatypes::DataType::Utf8).unwrap();
    array
        .as_string::<i32>()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect()
}

#[test]
fn mask_per_role_with_keys_from_the_data_root() {
    let s = Setup::new();
    let input = s.input.to_str().unwrap();
    let analyst = s.path("analyst.parquet");
    let said = ok(&s.mask(input, &analyst, &["--role", "analyst"]));
    assert!(said.contains("made masking key pii version 1"), "{said}");
    assert!(said.contains("masked 3 rows as role analyst"), "{said}");
    // Keys live wrapped beside the key ring, owner-only, with no key material in clear.
    let keys_file = s.root.join(strata::mask::MASK_KEYS_FILE);
    let keys_text = std::fs::read_to_string(&keys_file).unwrap();
    assert!(
        keys_text.contains("id = \"pii\"") && keys_text.contains("kek = "),
        "{keys_text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keys_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    }

    let out = read_parquet(&analyst);
    let email = text(&out, "email");
    assert!(
        email[0].as_deref().unwrap().starts_with("piiv1:"),
        "{email:?}"
    );
    assert_eq!(email[0].as_deref().unwrap().len(), "piiv1:".len() + 16);
    assert_eq!(email[1], None);
    let card = text(&out, "card");
    let token = card[0].as_deref().unwrap();
    assert!(token.starts_with("piiv1:"), "{token}");
    // Digit-shaped token: dashes kept, digits changed.
    let body = &token["piiv1:".len()..];
    assert_eq!(body.len(), 19);
    assert_eq!(body.matches('-').count(), 3);
    assert_ne!(body, "4111-1111-1111-1111");
    assert_eq!(card[2], None);
    assert_eq!(
        text(&out, "phone"),
        [
            Some("*******0100".to_string()),
            Some("************0958".to_string()),
            Some("**".to_string())
        ]
    );
    assert_eq!(text(&out, "city")[0].as_deref(), Some("Oslo"));
    // Nothing but the output is left beside it.
    let mut names: Vec<_> = std::fs::read_dir(&s.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "analyst.parquet",
            "customers.parquet",
            "policy.toml",
            "root"
        ]
    );

    // Deterministic: a second run gives the same tokens and hashes; keys are not remade.
    let again = s.path("again.parquet");
    let said = ok(&s.mask(input, &again, &["--role", "analyst"]));
    assert!(!said.contains("made masking key"), "{said}");
    assert_eq!(read_parquet(&again), out);

    // The intern is denied the email column; the dpo sees clear text; no role gets defaults.
    let intern = s.path("intern.parquet");
    ok(&s.mask(input, &intern, &["--role", "intern"]));
    let intern = read_parquet(&intern);
    assert!(intern.column_by_name("email").is_none());
    assert_eq!(intern.num_columns(), 3);
    let dpo = s.path("dpo.parquet");
    ok(&s.mask(input, &dpo, &["--role", "dpo"]));
    assert_eq!(
        text(&read_parquet(&dpo), "email")[0].as_deref(),
        Some("zoë@example.com")
    );
    let default = s.path("default.parquet");
    ok(&s.mask(input, &default, &[]));
    assert_eq!(
        text(&read_parquet(&default), "email")[0].as_deref(),
        Some("z**@example.com")
    );
}

#[test]
fn scan_masks_on_read_and_refuses_probing() {
    let s = Setup::new();
    let input = s.input.to_str().unwrap();
    let policy = s.policy.to_str().unwrap();
    let masked = s.path("analyst.parquet");
    ok(&s.mask(input, &masked, &["--role", "analyst"]));
    let masked = read_parquet(&masked);

    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", input, "--policy", policy, "--format", "csv"];
        args.extend_from_slice(extra);
        strata(&s.root, &args)
    };
    let csv = ok(&scan(&["--role", "analyst"]));
    let first_data = csv.lines().nth(1).unwrap();
    // The same keys give the same hash and token on read as on write.
    let hash = text(&masked, "email")[0].clone().unwrap();
    let token = text(&masked, "card")[0].clone().unwrap();
    assert!(
        first_data.contains(&hash) && first_data.contains(&token),
        "{first_data}"
    );
    assert!(!csv.contains("zoë@example.com") && !csv.contains("4111-1111"));

    // Denied column: absent from the output; asking for it by name is an error.
    let csv = ok(&scan(&["--role", "intern"]));
    assert_eq!(csv.lines().next().unwrap(), "card,phone,city");
    let err = one_line_error(&scan(&["--role", "intern", "--columns", "email"]));
    assert!(err.contains("may not read column \"email\""), "{err}");

    // A filter on a masked column would probe clear text: refused. Clear columns are fine.
    let err = one_line_error(&scan(&[
        "--role",
        "analyst",
        "--filter",
        "email = 'zoë@example.com'",
    ]));
    assert!(err.contains("may not filter on column \"email\""), "{err}");
    let csv = ok(&scan(&["--role", "analyst", "--filter", "city = 'Lima'"]));
    assert_eq!(csv.lines().count(), 2, "{csv}");

    // --policy needs --role (and the reverse).
    let out = strata(&s.root, &["scan", input, "--policy", policy]);
    assert!(!out.status.success());
    assert_ne!(out.status.code(), Some(101));
}

#[test]
fn bad_policy_files_name_the_line_and_never_panic() {
    let s = Setup::new();
    let input = s.input.to_str().unwrap();
    let out_path = s.path("out.parquet");
    let cases = [
        (
            "[columns.email]\nmaks = { op = \"email\" }\n",
            "line 2",
            "maks",
        ),
        (
            "[columns.card]\nmask = { op = \"hash\", key = \"pii\", truncate = 99 }\n",
            "line 2",
            "truncate",
        ),
        (
            "[columns.phone]\nmask = { op = \"unkeyed_hash\" }\n",
            "line 2",
            "brute force",
        ),
        ("[columns.email\nclear = []\n", "line 1", "policy"),
    ];
    for (text, line, field) in cases {
        std::fs::write(&s.policy, text).unwrap();
        for args in [
            vec!["mask", input, &out_path, "--policy"],
            vec!["scan", input, "--role", "a", "--policy"],
        ] {
            let mut args = args.clone();
            args.push(s.policy.to_str().unwrap());
            let err = one_line_error(&strata(&s.root, &args));
            assert!(err.contains(line) && err.contains(field), "{text:?}: {err}");
        }
        assert!(!Path::new(&out_path).exists());
    }
    let err = one_line_error(&s.mask(input, &out_path, &[]));
    assert!(err.contains("policy"), "{err}");
    // Missing policy file and missing input: errors naming the path.
    std::fs::write(&s.policy, POLICY).unwrap();
    let missing = s.path("missing.parquet");
    let err = one_line_error(&s.mask(&missing, &out_path, &[]));
    assert!(err.contains("missing.parquet"), "{err}");
    let err = one_line_error(&strata(
        &s.root,
        &["mask", input, &out_path, "--policy", &s.path("nope.toml")],
    ));
    assert!(err.contains("nope.toml"), "{err}");
}

#[test]
fn rotation_then_retokenize() {
    let s = Setup::new();
    let input = s.input.to_str().unwrap();
    let v1 = s.path("v1.parquet");
    ok(&s.mask(input, &v1, &["--role", "analyst"]));

    // Retokenize with nothing to do copies the tokens.
    let same = s.path("same.parquet");
    let said = ok(&s.mask(&v1, &same, &["--role", "analyst", "--retokenize"]));
    assert!(said.contains("0 re-tokenized, 2 already current"), "{said}");
    assert_eq!(read_parquet(&same), read_parquet(&v1));

    let said = ok(&strata(&s.root, &["key", "new", "--mask", "pii"]));
    assert!(said.contains("masking key pii version 2"), "{said}");
    // Rotating the key-encryption key re-wraps the masking keys, so the old one can retire.
    let before: serde_json::Value =
        serde_json::from_str(&ok(&strata(&s.root, &["key", "list", "--json"]))).unwrap();
    let old_kek = before[0]["id"].as_str().unwrap().to_string();
    // `key list` shows the masking key versions wrapped under each key (never material).
    let wrapped: Vec<(String, u64)> = before[0]["masking_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_string(),
                m["version"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(wrapped, [("pii".to_string(), 1), ("pii".to_string(), 2)]);
    let listed = ok(&strata(&s.root, &["key", "list"]));
    assert!(listed.contains("masking key pii v2"), "{listed}");
    let said = ok(&strata(&s.root, &["key", "rotate"]));
    assert!(said.contains("and 2 masking keys"), "{said}");
    ok(&strata(&s.root, &["key", "retire", &old_kek]));

    let v2 = s.path("v2.parquet");
    let said = ok(&s.mask(&v1, &v2, &["--role", "analyst", "--retokenize"]));
    assert!(
        said.contains("column card (tokenize with key pii v2): 2 re-tokenized, 0 already current"),
        "{said}"
    );
    assert!(said.contains("2 stale hashes"), "{said}");
    let moved = read_parquet(&v2);
    let direct = s.path("direct.parquet");
    ok(&s.mask(input, &direct, &["--role", "analyst"]));
    let direct = read_parquet(&direct);
    let cards = text(&moved, "card");
    assert!(cards[0].as_deref().unwrap().starts_with("piiv2:"));
    // Re-tokenized tokens are exactly the tokens version 2 makes from clear text.
    assert_eq!(cards, text(&direct, "card"));
    assert!(moved.column_by_name("card").unwrap().is_null(2));
    // Hashes cannot move: they keep version 1 and were counted above.
    assert!(text(&moved, "email")[0]
        .as_deref()
        .unwrap()
        .starts_with("piiv1:"));
    assert_eq!(text(&moved, "phone"), text(&read_parquet(&v1), "phone"));

    // Without the masking keys, nothing can be re-tokenized.
    std::fs::remove_file(s.root.join(strata::mask::MASK_KEYS_FILE)).unwrap();
    let err = one_line_error(&s.mask(
        &v1,
        &s.path("v3.parquet"),
        &["--role", "analyst", "--retokenize"],
    ));
    assert!(err.contains("no such masking key"), "{err}");
}

#[test]
fn demo_shows_clear_and_masked_side_by_side() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ok(&strata(&tmp.path().join("demo"), &["demo"]));
    assert!(out.contains("== Masking"), "{out}");
    let line = |field: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(field))
            .unwrap_or_else(|| panic!("no {field} line in {out}"))
            .to_string()
    };
    let email = line("email");
    assert!(
        email.contains("zoe@example.com") && email.contains("| z**@example.com"),
        "{email}"
    );
    let card = line("card");
    assert!(
        card.contains("4111-1111-1111-1111") && card.contains("| demo-piiv1:"),
        "{card}"
    );
    assert!(line("city").ends_with("| Oslo"));
    assert!(
        out.contains("demo/silver/customers_masked.parquet"),
        "{out}"
    );
}
