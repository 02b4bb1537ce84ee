//! Text forms inside config-like files: one-line TOML errors, durations and sizes.
//!
//! Errors name the line and the field at fault, never the line's text: a config line may hold
//! an S3 secret, and a key file's lines hold key material. Values the TOML parser quotes in its
//! messages (`invalid type: string "..."`) are kept only where they cannot be key material.

use crate::error::Error;

/// Config fields whose values are secrets: an error on their line quotes no value at all.
const SECRET_FIELDS: &[&str] = &[
    "secret_access_key",
    "session_token",
    "token",
    "password",
    "secret",
];

/// A one-line error naming the line and the field at fault.
pub(crate) fn toml_error(text: &str, err: &toml::de::Error) -> Error {
    toml_error_in("config", text, err)
}

/// [`toml_error`] for another kind of TOML file (`what` is "config", "policy", ...).
pub(crate) fn toml_error_in(what: &str, text: &str, err: &toml::de::Error) -> Error {
    render(what, text, err, None)
}

/// [`toml_error`] for a file whose values are all secret (a key ring): the message keeps no
/// quoted text but the file's own field names (`names`), and names a field only from them.
pub(crate) fn secret_toml_error(
    what: &str,
    text: &str,
    err: &toml::de::Error,
    names: &[&str],
) -> Error {
    render(what, text, err, Some(names))
}

fn render(what: &str, text: &str, err: &toml::de::Error, names: Option<&[&str]>) -> Error {
    let message = err.message().trim().replace('\n', " ");
    // In a file of secrets only the file's own names may be quoted.
    let known = |part: &str| match names {
        Some(names) => names.contains(&part),
        None => !looks_like_key_material(part),
    };
    let Some(span) = err.span() else {
        return Error::config(format!("invalid {what}: {}", redact(&message, known)));
    };
    let (line_no, line) = line_at(text, span.start);
    let place = place(line_no, line, names);
    let message = match (field_of(line), line.split_once('=')) {
        // On a secret field's line nothing of the value may be quoted.
        (Some(Field::Key(k)), Some((_, value))) if SECRET_FIELDS.contains(&k) => {
            redact(&message, |part| {
                known(part) && is_name(part) && !value.contains(part)
            })
        }
        _ => redact(&message, known),
    };
    Error::config(format!("invalid {what} at {place}: {message}"))
}

/// A one-line error naming the line of `text` that holds byte offset `at` and the field on
/// that line (never its text, which may hold a secret).
pub(crate) fn located_error(what: &str, text: &str, at: usize, message: &str) -> Error {
    located_error_in(what, text, at, message, None)
}

/// [`located_error`] for a file whose values are all secret: a field is named only when it is
/// one of `names`.
pub(crate) fn located_error_in(
    what: &str,
    text: &str,
    at: usize,
    message: &str,
    names: Option<&[&str]>,
) -> Error {
    let (line_no, line) = line_at(text, at);
    Error::config(format!(
        "invalid {what} at {}: {message}",
        place(line_no, line, names)
    ))
}

/// "line 5, field `key`" for byte offset `at` of `text` (see [`located_error_in`]), for
/// errors of another kind than `Config`.
pub(crate) fn line_and_field(text: &str, at: usize, names: Option<&[&str]>) -> String {
    let (line_no, line) = line_at(text, at);
    place(line_no, line, names)
}

/// The 1-based number and the text of the line holding byte offset `at`.
fn line_at(text: &str, at: usize) -> (usize, &str) {
    let start = at.min(text.len());
    let line_no = text.as_bytes()[..start]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1;
    (line_no, text.lines().nth(line_no - 1).unwrap_or(""))
}

/// What a TOML line is about: `key = value`, or a table header.
enum Field<'a> {
    Key(&'a str),
    Table(&'a str),
}

fn field_of(line: &str) -> Option<Field<'_>> {
    let line = line.trim();
    if let Some(header) = line.strip_prefix('[') {
        let name = header.trim_start_matches('[');
        let name = name.split(']').next().unwrap_or("").trim();
        return is_name(name).then_some(Field::Table(name));
    }
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    is_name(key).then_some(Field::Key(key))
}

/// "line 5, field `key`", "line 3, table `[keys]`" or "line 7": with `names`, a field or table
/// is named only when it is one of them (anything else on the line may be a garbled secret).
fn place(line_no: usize, line: &str, names: Option<&[&str]>) -> String {
    let known = |n: &str| names.is_none_or(|names| names.contains(&n));
    match field_of(line) {
        Some(Field::Key(k)) if known(k) => format!("line {line_no}, field `{k}`"),
        Some(Field::Table(t)) if known(t) => format!("line {line_no}, table `[{t}]`"),
        _ => format!("line {line_no}"),
    }
}

/// A bare or dotted TOML key that is not key material.
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !looks_like_key_material(text)
}

/// Long runs of hex or base64 digits: what keys, wrapped keys and S3 secrets look like, and
/// what no field name or setting does (those have no digits, or not both cases of letters).
fn looks_like_key_material(text: &str) -> bool {
    let hex = text.chars().all(|c| c.is_ascii_hexdigit());
    let base64 = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-'))
        && text.chars().any(|c| c.is_ascii_digit())
        && text.chars().any(|c| c.is_ascii_lowercase())
        && text.chars().any(|c| c.is_ascii_uppercase());
    text.len() >= 16 && (hex || base64)
}

/// `message` with every quoted part (`` `...` `` or a `"..."` string) that `keep` refuses
/// replaced by `<redacted>`.
fn redact(message: &str, keep: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find(['`', '"']) {
        out.push_str(&rest[..open]);
        let quote = rest.as_bytes()[open];
        let body = &rest[open + 1..];
        // A `"..."` part is a Rust-escaped string: a backslash escapes the next character.
        let mut close = None;
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quote == b'"' => escaped = true,
                c if c as u32 == u32::from(quote) => {
                    close = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            // An unclosed quote: whatever follows may be a value.
            out.push_str("<redacted>");
            return out;
        };
        let part = &body[..close];
        if keep(part) {
            out.push_str(&rest[open..open + close + 2]);
        } else {
            out.push_str("<redacted>");
        }
        rest = &body[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Durations as text: "90s", "15m", "7d", "500ms".
pub(crate) mod duration_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("bad duration {text:?}: {e}")))
    }
}

pub(crate) mod opt_duration_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::duration_text::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("bad duration {text:?}: {e}")))
    }
}

/// Sizes as a number of bytes or text: "64MiB", "4KiB", "1GB".
pub(crate) fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("bad size {text:?}: expected a number and a unit like 64MiB"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        other => return Err(format!("bad size {text:?}: unknown unit {other:?}")),
    };
    let bytes = number * factor as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("bad size {text:?}: out of range"));
    }
    Ok(bytes as u64)
}

pub(crate) mod size_text {
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }

    pub fn serialize<S: Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(*n)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match Size::deserialize(d)? {
            Size::Bytes(n) => Ok(n),
            Size::Text(t) => super::parse_size(&t).map_err(serde::de::Error::custom),
        }
    }
}

pub(crate) mod opt_size_text {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(n: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match n {
            Some(n) => s.serialize_u64(*n),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        super::size_text::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_line_and_field_but_quote_no_secret() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        assert!(looks_like_key_material(hex));
        assert!(looks_like_key_material(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        ));
        for name in [
            "secret_access_key",
            "multipart_threshold",
            "500000000000y",
            "zstd:9",
        ] {
            assert!(!looks_like_key_material(name), "{name}");
        }
        let text = format!("[[tiers]]\nname = 'c'\nkey = \"{hex}\" x\n");
        let err = toml::from_str::<toml::Table>(&text).unwrap_err();
        let shown = toml_error(&text, &err).to_string();
        assert!(
            shown.starts_with("invalid config at line 3, field `key`: "),
            "{shown}"
        );
        assert!(!shown.contains(&hex[..8]), "{shown}");
        assert_eq!(
            redact("invalid type: string \"a\\\"b\", expected `u64`", |p| p
                == "u64"),
            "invalid type: string <redacted>, expected `u64`"
        );
        assert_eq!(redact("open `quote", |_| true), "open <redacted>");
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("4 KiB").unwrap(), 4096);
        assert_eq!(parse_size("10").unwrap(), 10);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("1XB").is_err());
        assert!(parse_size("1e400").is_err());
    }
}
