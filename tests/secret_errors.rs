//! Errors about files that hold secrets name the file, the line and the field, and never the
//! secret: the key ring (`keyring.toml`, 64-hex-digit keys), the masking keys
//! (`maskkeys.toml`, wrapped keys) and the lake config (an S3 tier's `secret_access_key`), fed
//! truncated, garbled and type-wrong text. The environment key is checked too.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use strata::{
    crypto::{EnvKeyProvider, KeyProvider, KeyRing},
    mask::{MaskKeyRing, MASK_KEYS_FILE},
    LakeConfig,
};

/// Bytes that break TOML in different ways.
const JUNK: [&str; 12] = [
    "\"", "'", "\n", "=", "\\", "#", "z", "[", "{", " ", "\0", "\"\"\"",
];

/// Any 8 characters in a row of a secret: more than that in an error is a leak.
fn assert_secret_free(shown: &str, secrets: &[String], case: &str) {
    let shown = shown.to_lowercase();
    for secret in secrets {
        let secret = secret.to_lowercase();
        for w in 0..secret.len().saturating_sub(7) {
            let window = &secret[w..w + 8];
            assert!(
                !shown.contains(window),
                "{case:?}: error shows {window:?} of a secret: {shown}"
            );
        }
    }
}

/// Checks one failed load: one line, the file named, a line named, no secret in Display or
/// Debug; returns the Display text.
fn check(err: &strata::Error, path: &Path, secrets: &[String], case: &str) -> String {
    let text = err.to_string();
    let debug = format!("{err:?}");
    assert!(!text.contains('\n'), "{case:?}: not one line: {text}");
    assert!(
        text.contains(&path.display().to_string()),
        "{case:?}: no file: {text}"
    );
    assert_secret_free(&format!("{text}\n{debug}"), secrets, case);
    text
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The values of `field = "..."` lines.
fn values(text: &str, field: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(field)?.trim().strip_prefix('='))
        .map(|v| v.trim().trim_matches('"').to_string())
        .collect()
}

/// 1-based numbers of the lines holding `field = ...`.
fn lines_of(text: &str, field: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            l.trim()
                .strip_prefix(field)
                .is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map(|(i, _)| i + 1)
        .collect()
}

/// `text` cut at every byte, and every byte of the `field` lines replaced by each junk.
fn mangled(text: &str, field: &str) -> Vec<(String, String)> {
    let mut cases = Vec::new();
    for cut in 0..text.len() {
        if text.is_char_boundary(cut) {
            cases.push((format!("cut at {cut}"), text[..cut].to_string()));
        }
    }
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line
            .trim()
            .strip_prefix(field)
            .is_some_and(|r| r.trim_start().starts_with('='))
        {
            for at in 0..line.trim_end().len() {
                for junk in JUNK {
                    let mut t = text.to_string();
                    t.replace_range(offset + at..offset + at + 1, junk);
                    cases.push((format!("{junk:?} at {}", offset + at), t));
                }
            }
        }
        offset += line.len();
    }
    cases
}

/// A key ring of two keys; its text and the keys' hex.
fn key_ring(dir: &Path) -> (std::path::PathBuf, String, Vec<String>) {
    let path = dir.join("keyring.toml");
    let mut ring = KeyRing::create(&path, Some("k1")).unwrap();
    ring.add_key(Some("k2")).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let keys = values(&text, "key");
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k.len() == 64), "{keys:?}");
    (path, text, keys)
}

#[test]
fn key_ring_truncated_or_garbled_never_shows_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let (path, text, keys) = key_ring(dir.path());
    let mut failed = 0;
    for (case, t) in mangled(&text, "key") {
        write_private(&path, &t);
        if let Err(e) = KeyRing::load(&path) {
            let shown = check(&e, &path, &keys, &case);
            assert!(shown.contains("line "), "{case:?}: {shown}");
            failed += 1;
        }
    }
    assert!(failed > 1000, "{failed}");

    // The case: the file ends inside a key.
    let key_line = lines_of(&text, "key")[1];
    let cut = text.rfind(&keys[1]).unwrap() + 40;
    write_private(&path, &text[..cut]);
    let shown = check(&KeyRing::load(&path).unwrap_err(), &path, &keys, "mid-key");
    assert!(
        shown.contains(&format!("line {key_line}, field `key`")),
        "{shown}"
    );
}

#[test]
fn key_ring_values_of_the_wrong_shape_name_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let (path, text, keys) = key_ring(dir.path());
    let key = &keys[0];
    let key_line = lines_of(&text, "key")[0];
    let line_of = |field: &str| lines_of(&text, field)[0];
    let first = |from: &str, to: String| text.replacen(from, &to, 1);
    let cases = [
        // (text, line, field)
        (
            first(&format!("\"{key}\""), format!("0x{}", &key[..12])),
            key_line,
            "key",
        ),
        (
            first(&format!("\"{key}\""), format!("[\"{key}\"]")),
            key_line,
            "key",
        ),
        (
            first(&format!("\"{key}\""), format!("{{ a = \"{key}\" }}")),
            key_line,
            "key",
        ),
        (
            first(&format!("\"{key}\""), format!("\"{key}\" trailing")),
            key_line,
            "key",
        ),
        (
            first(&format!("\"{key}\""), format!("\"{}\"", &key[..63])),
            key_line,
            "key",
        ),
        (
            first(&format!("\"{key}\""), format!("\"{}g\"", &key[..63])),
            key_line,
            "key",
        ),
        (
            first(&format!("\"{key}\""), format!("\"{key}\\q\"")),
            key_line,
            "key",
        ),
        (first(&format!("\"{key}\""), key.clone()), key_line, "key"),
        (
            text.replacen("created_ms = ", &format!("created_ms = \"{key}\" #"), 1),
            line_of("created_ms"),
            "created_ms",
        ),
        (
            text.replacen("active = ", &format!("active = \"{key}\" #"), 1),
            line_of("active"),
            "active",
        ),
        (
            text.replacen("version = 1", &format!("version = \"{key}\""), 1),
            line_of("version"),
            "version",
        ),
    ];
    for (t, line, field) in cases {
        write_private(&path, &t);
        let err = KeyRing::load(&path).unwrap_err();
        let shown = check(&err, &path, &keys, &t);
        assert!(
            shown.contains(&format!("line {line}")) && shown.contains(&format!("`{field}`")),
            "{t:?}: {shown}"
        );
    }
    // A key where a field name goes, or a key on a line of its own: neither is echoed.
    for t in [
        text.replacen("created_ms", &key[..20], 1),
        text.replacen(&format!("key = \"{key}\""), key, 1),
    ] {
        write_private(&path, &t);
        let err = KeyRing::load(&path).unwrap_err();
        check(&err, &path, &keys, &t);
    }
}

#[test]
fn masking_keys_truncated_garbled_or_wrong_never_show_wrapped_keys() {
    let dir = tempfile::tempdir().unwrap();
    let provider: Arc<dyn KeyProvider> =
        Arc::new(KeyRing::create(&dir.path().join("keyring.toml"), Some("k1")).unwrap());
    let path = dir.path().join(MASK_KEYS_FILE);
    let mut keys = MaskKeyRing::load(&path, provider.clone()).unwrap();
    keys.ensure(["pii", "card"]).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let wrapped = values(&text, "wrapped");
    assert_eq!(wrapped.len(), 2);
    let mut secrets = wrapped.clone();
    secrets.extend(values(
        &std::fs::read_to_string(dir.path().join("keyring.toml")).unwrap(),
        "key",
    ));

    let mut failed = 0;
    for (case, t) in mangled(&text, "wrapped") {
        write_private(&path, &t);
        if let Err(e) = MaskKeyRing::load(&path, provider.clone()) {
            let shown = check(&e, &path, &secrets, &case);
            assert!(shown.contains("line "), "{case:?}: {shown}");
            failed += 1;
        }
    }
    assert!(failed > 500, "{failed}");

    let w = &wrapped[0];
    let line = lines_of(&text, "wrapped")[0];
    for to in [
        format!("0x{}", &w[..12]),
        format!("[\"{w}\"]"),
        format!("\"{w}\" x"),
        format!("\"{}zz\"", &w[..w.len() - 2]),
        format!("\"{}\"", &w[..w.len() - 1]),
    ] {
        let t = text.replacen(&format!("\"{w}\""), &to, 1);
        write_private(&path, &t);
        let err = MaskKeyRing::load(&path, provider.clone()).unwrap_err();
        let shown = check(&err, &path, &secrets, &t);
        assert!(
            shown.contains(&format!("line {line}, field `wrapped`")),
            "{t:?}: {shown}"
        );
    }
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn s3_config(secret_line: &str) -> String {
    format!(
        "dir = \"/tmp/lake\"\n\n[[tiers]]\nname = \"hot\"\nkind = \"local\"\n\n[[tiers]]\nname = \"cold\"\nkind = \"s3\"\nbucket = \"archive\"\naccess_key_id = \"AKIAIOSFODNN7EXAMPLE\"\n{secret_line}\nallow_http = true\n"
    )
}

#[test]
fn config_errors_never_show_the_s3_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lake.toml");
    let secrets = [SECRET.to_string()];
    let good = s3_config(&format!("secret_access_key = \"{SECRET}\""));
    let config = LakeConfig::from_toml_str(&good).unwrap();
    assert_secret_free(&format!("{config:?}"), &secrets, "Debug of the config");

    let mut failed = 0;
    for (case, t) in mangled(&good, "secret_access_key") {
        std::fs::write(&path, &t).unwrap();
        if let Err(e) = LakeConfig::from_file(&path) {
            let shown = check(&e, &path, &secrets, &case);
            assert!(shown.contains("line "), "{case:?}: {shown}");
            failed += 1;
        }
    }
    assert!(failed > 500, "{failed}");

    let line = lines_of(&good, "secret_access_key")[0];
    for secret_line in [
        "secret_access_key = 123456789012345678".to_string(),
        format!("secret_access_key = [\"{SECRET}\"]"),
        format!("secret_access_key = {{ k = \"{SECRET}\" }}"),
        format!("secret_access_key = \"{SECRET}\" trailing"),
        format!("secret_access_key = {SECRET}"),
        format!("secret_access_key = \"{SECRET}"),
        format!("secret_access_key = \"{SECRET}\\q\""),
        format!("secret_access_key = '''{SECRET}"),
        format!("secret_access_key = \"{SECRET}\"\nsecret_access_key = \"{SECRET}\""),
    ] {
        let t = s3_config(&secret_line);
        std::fs::write(&path, &t).unwrap();
        let err = LakeConfig::from_file(&path).unwrap_err();
        let shown = check(&err, &path, &secrets, &t);
        assert!(shown.contains("line "), "{t:?}: {shown}");
        // A string left open may run to the end of the file: the error is where it ends.
        if !secret_line.contains('\n') && !secret_line.contains("'''") {
            assert!(
                shown.contains(&format!("line {line}, field `secret_access_key`")),
                "{t:?}: {shown}"
            );
        }
    }
    // A secret in a local tier, under a misspelt key, or where a key name goes.
    for t in [
        good.replacen("kind = \"s3\"", "kind = \"local\"", 1)
            .replacen("bucket = \"archive\"\n", "", 1)
            .replacen("access_key_id = \"AKIAIOSFODNN7EXAMPLE\"\n", "", 1),
        good.replacen("secret_access_key", "secret_acess_key", 1),
        good.replacen(
            "secret_access_key = ",
            &format!("{} = ", &SECRET[..20].replace('/', "")),
            1,
        ),
        good.replacen(
            "allow_http = true",
            &format!("allow_http = \"{SECRET}\""),
            1,
        ),
    ] {
        std::fs::write(&path, &t).unwrap();
        let err = LakeConfig::from_file(&path).unwrap_err();
        check(&err, &path, &secrets, &t);
    }
}

#[test]
fn environment_key_errors_name_the_variable_not_the_value() {
    let var = "STRATA_TEST_SECRET_ERRORS_KEY";
    let key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddee";
    assert_eq!(key.len(), 62);
    for value in [key.to_string(), format!("{key}zz"), format!("{key}fff")] {
        // SAFETY (edition 2021: safe): only this test reads or writes this variable.
        std::env::set_var(var, &value);
        let err = EnvKeyProvider::from_env(var, "env").unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains(var), "{shown}");
        assert_secret_free(&shown, &[value], "env key");
    }
    std::env::remove_var(var);
}
