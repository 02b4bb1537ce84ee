//! The types of a CSV text's columns, inferred from every value in parallel with exactly the
//! rules of arrow's `Format::infer_schema` (which reads the whole text on one thread and
//! matches each value against a set of regular expressions): each value sets the bit of the
//! first type whose pattern it matches, a column's bits are OR-ed over its values, and the
//! union names the type. OR-ing is associative, so chunks inferred apart and merged give what
//! one pass gives. The common shapes (integers, decimals, dates, text) are recognised by hand;
//! anything else goes to the same patterns arrow uses. The values come from the text read once as strings.

use std::sync::LazyLock;

use arrow::array::{Array, StringArray};
use arrow::datatypes::{DataType, TimeUnit};
use regex::RegexSet;

/// arrow-csv's patterns, in its order (the first match wins).
static PATTERNS: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    RegexSet::new([
        r"(?i)^(true)$|^(false)$(?-i)",
        r"^-?(\d+)$",
        r"^-?((\d*\.\d+|\d+\.\d*)([eE][-+]?\d+)?|\d+([eE][-+]?\d+))$",
        r"^\d{4}-\d\d-\d\d$",
        r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[^\d\.].*)?$",
        r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\.\d{1,3}(?:[^\d].*)?$",
        r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\.\d{1,6}(?:[^\d].*)?$",
        r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\.\d{1,9}(?:[^\d].*)?$",
    ])
    .ok()
});

const BOOLEAN: u16 = 1;
const INTEGER: u16 = 1 << 1;
const FLOAT: u16 = 1 << 2;
const DATE: u16 = 1 << 3;
const TEXT: u16 = 1 << 8;

/// The type bits of one non-null value.
pub(super) fn classify(value: &[u8]) -> u16 {
    let Some(&first) = value.first() else {
        return 0;
    };
    // Every pattern and special float starts with one of a few ASCII bytes, so the first byte
    // settles most values without reading the rest.
    match first {
        b'"' => return TEXT,
        b't' | b'T' | b'f' | b'F' => {
            let boolean =
                value.eq_ignore_ascii_case(b"true") || value.eq_ignore_ascii_case(b"false");
            return if boolean { BOOLEAN } else { TEXT };
        }
        b'n' | b'N' | b'i' => {
            return if matches!(value, b"NaN" | b"nan" | b"inf") {
                FLOAT
            } else {
                TEXT
            };
        }
        b'0'..=b'9' | b'-' | b'.' => {}
        // Other digits than ASCII's match `\d`: the patterns decide.
        b if b >= 0x80 => {}
        _ => return TEXT,
    }
    if value.iter().all(|&b| b < 0x80 && b != b'\n' && b != b'\r') {
        let digits = value.strip_prefix(b"-").unwrap_or(value);
        if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
            // Integers too long for an i64 are text, as in arrow.
            let fits = value.len() < 19
                || std::str::from_utf8(value).is_ok_and(|s| s.parse::<i64>().is_ok());
            return if fits { INTEGER } else { TEXT };
        }
        if is_decimal(digits) {
            return FLOAT;
        }
        if is_date(value) {
            return DATE;
        }
        if value == b"-inf" {
            return FLOAT;
        }
    }
    let Ok(text) = std::str::from_utf8(value) else {
        // Not UTF-8: text, which the decoder then refuses with the line.
        return TEXT;
    };
    match PATTERNS
        .as_ref()
        .and_then(|p| p.matches(text).iter().next())
    {
        Some(1) if text.len() >= 19 && text.parse::<i64>().is_err() => TEXT,
        Some(m) => 1 << m,
        None if matches!(text, "NaN" | "nan" | "inf" | "-inf") => FLOAT,
        None => TEXT,
    }
}

/// `(\d*\.\d+|\d+\.\d*)([eE][-+]?\d+)?|\d+([eE][-+]?\d+)` over ASCII (the sign stripped).
fn is_decimal(s: &[u8]) -> bool {
    let int = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut rest = &s[int..];
    let mut frac = 0;
    let dot = rest.first() == Some(&b'.');
    if dot {
        rest = &rest[1..];
        frac = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        rest = &rest[frac..];
    }
    if int + frac == 0 {
        return false;
    }
    match rest.split_first() {
        None => dot,
        Some((b'e' | b'E', exp)) => {
            let exp = exp
                .strip_prefix(b"+")
                .or_else(|| exp.strip_prefix(b"-"))
                .unwrap_or(exp);
            !exp.is_empty() && exp.iter().all(u8::is_ascii_digit)
        }
        Some(_) => false,
    }
}

/// `\d{4}-\d\d-\d\d` over ASCII.
fn is_date(s: &[u8]) -> bool {
    s.len() == 10
        && s.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}

/// The type a column's OR-ed bits name (arrow's `InferredDataType::get`).
pub(super) fn data_type(bits: u16) -> DataType {
    match bits {
        0 => DataType::Null,
        1 => DataType::Boolean,
        2 => DataType::Int64,
        4 | 6 => DataType::Float64,
        b if b & !0b1111_1000 == 0 => match b.leading_zeros() {
            8 => DataType::Timestamp(TimeUnit::Nanosecond, None),
            9 => DataType::Timestamp(TimeUnit::Microsecond, None),
            10 => DataType::Timestamp(TimeUnit::Millisecond, None),
            11 => DataType::Timestamp(TimeUnit::Second, None),
            _ => DataType::Date32,
        },
        _ => DataType::Utf8,
    }
}

/// The type bits of the common shapes in one look at each byte: integers of up to 18
/// characters, decimals without an exponent, dates and timestamps without a zone (`None`:
/// another shape, which [`classify`] decides). Gives what `classify` gives wherever it answers;
/// classifying every value of a file was a tenth of a CSV write.
fn common_shape(value: &[u8]) -> Option<u16> {
    let digits = value.strip_prefix(b"-").unwrap_or(value);
    let int = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    let Some(&next) = digits.get(int) else {
        // `-?\d+`: longer ones may not fit an i64, which `classify` checks.
        return (int > 0 && value.len() < 19).then_some(INTEGER);
    };
    match next {
        b'.' => {
            let rest = &digits[int + 1..];
            let frac = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            (frac == rest.len() && int + frac > 0).then_some(FLOAT)
        }
        b'-' if int == 4 && digits.len() == value.len() => date_or_timestamp(value),
        _ => None,
    }
}

/// `\d{4}-\d\d-\d\d` (a date) or arrow's timestamp patterns over ASCII (the first four
/// digits already seen): the bit of the first pattern that matches, `None` for anything else.
fn date_or_timestamp(s: &[u8]) -> Option<u16> {
    let digits_at = |at: &[usize]| at.iter().all(|&i| s.get(i).is_some_and(u8::is_ascii_digit));
    if s.len() < 10 || s[7] != b'-' || !digits_at(&[5, 6, 8, 9]) {
        return None;
    }
    if s.len() == 10 {
        return Some(DATE);
    }
    let clock = s.len() >= 19
        && matches!(s[10], b'T' | b' ')
        && s[13] == b':'
        && s[16] == b':'
        && digits_at(&[11, 12, 14, 15, 17, 18]);
    if !clock || !s.is_ascii() || s.contains(&b'\n') || s.contains(&b'\r') {
        return None;
    }
    let rest = &s[19..];
    match rest.first() {
        // `(?:[^\d\.].*)?$`: seconds.
        None => Some(1 << 4),
        Some(b) if !b.is_ascii_digit() && *b != b'.' => Some(1 << 4),
        Some(b'.') => {
            let fraction = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
            match fraction {
                1..=3 => Some(1 << 5),
                4..=6 => Some(1 << 6),
                7..=9 => Some(1 << 7),
                _ => None,
            }
        }
        Some(_) => None,
    }
}

/// Adds to `bits` the type bits of the values of a column read as text (nulls are empty
/// fields). A column already text needs no more looks.
pub(super) fn add_bits(bits: &mut u16, strings: &StringArray) {
    if *bits & TEXT != 0 {
        return;
    }
    let offsets = strings.value_offsets();
    let values = strings.value_data();
    let nulls = strings.nulls().filter(|n| n.null_count() > 0);
    let mut acc = *bits;
    for (i, window) in offsets.windows(2).enumerate() {
        if nulls.is_some_and(|n| n.is_null(i)) {
            continue;
        }
        let value = &values[window[0] as usize..window[1] as usize];
        acc |= common_shape(value).unwrap_or_else(|| classify(value));
        if acc & TEXT != 0 {
            break;
        }
    }
    *bits = acc;
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use arrow::csv::reader::Format;
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    /// What arrow infers for one column of `values`.
    fn arrow_type(values: &[&str]) -> DataType {
        let text = format!("c\n{}\n", values.join("\n"));
        let (schema, _) = Format::default()
            .with_header(true)
            .infer_schema(text.as_bytes(), None)
            .unwrap();
        schema.field(0).data_type().clone()
    }

    fn ours(values: &[&str]) -> DataType {
        let text = values.join("\n") + "\n";
        let schema = Arc::new(Schema::new(vec![Field::new("c", DataType::Utf8, true)]));
        let mut bits = 0;
        for batch in arrow::csv::ReaderBuilder::new(schema)
            .with_format(Format::default().with_header(false))
            .build_buffered(text.as_bytes())
            .unwrap()
        {
            add_bits(&mut bits, batch.unwrap().column(0).as_string::<i32>());
        }
        data_type(bits)
    }

    #[test]
    fn agrees_with_arrow_on_every_shape() {
        let cases: &[&[&str]] = &[
            &["1", "-2", "30"],
            &["1", "2.5"],
            &["1.", ".5", "-1e5", "2E+3", "3.0e-2"],
            &["1e", "e5", "."],
            &["-", "--1"],
            &["NaN", "1.5"],
            &["inf", "-inf", "nan"],
            &["true", "FALSE", "True"],
            &["true", "1"],
            &["2024-01-31", "1999-12-01"],
            &["2024-01-31", "2024-01-31 10:11:12"],
            &["2024-01-31T10:11:12.123", "2024-01-31T10:11:12Z"],
            &["2024-01-31T10:11:12.123456"],
            &["2024-01-31T10:11:12.123456789", "2024-01-31"],
            &["2024-1-31"],
            &["12345678901234567890"],
            &["1234567890123456789", "-1234567890123456789"],
            &["9223372036854775808"],
            &["hello", "1"],
            &["\u{0663}\u{0664}"],
            &["\"quoted\""],
            &["+1"],
            &["1,5"],
            &["", "", ""],
            &["", "7"],
            &["Inf", "NAN"],
            &["ünïcode", "x"],
            &["2024-01-31 10:11:12"],
            &["2024-01-31T10:11:12+02:00", "2024-01-31 10:11:12.5"],
            &["2024-01-31T10:11:12.1234567"],
            &["2024-01-31T10:11:12.1234567890"],
            &["2024-01-31T10:11:12."],
            &["2024-01-31T10:11:123"],
            &["2024-01-31T10:11:1"],
            &["2024-01-31X10:11:12"],
            &["-2024-01-31", "2024-01-311"],
            &["123456789012345678", "-12345678901234567"],
            &["0.5", "-.5", "5.", "-5."],
        ];
        for values in cases {
            // Quote values with commas so one column stays one column.
            let quoted: Vec<String> = values
                .iter()
                .map(|v| {
                    if v.contains(',') || v.starts_with('"') {
                        format!("\"{}\"", v.replace('"', "\"\""))
                    } else {
                        v.to_string()
                    }
                })
                .collect();
            let quoted: Vec<&str> = quoted.iter().map(String::as_str).collect();
            assert_eq!(ours(&quoted), arrow_type(&quoted), "{values:?}");
        }
    }

    #[test]
    fn the_common_shapes_classify_as_the_patterns_do() {
        let values = [
            "0",
            "-0",
            "17",
            "-",
            "123456789012345678",
            "1234567890123456789",
            "1.5",
            ".5",
            "5.",
            "-.",
            ".",
            "1.2.3",
            "1e5",
            "1-2",
            "2024-01-31",
            "2024-1-31",
            "2024-01-31 10:11:12",
            "2024-01-31T10:11:12Z",
            "2024-01-31T10:11:12.1",
            "2024-01-31T10:11:12.123456",
            "2024-01-31T10:11:12.123456789",
            "2024-01-31T10:11:12.1234567891",
            "2024-01-31T10:11:12.",
            "2024-01-31T10:11:12.5Z",
            "2024-01-31T10:11:12 x\ny",
            "2024-01-31T10:11:12é",
            "2024-01-31T10:11:1",
            "2024-01-31T10:11:12345",
            "12345-01-31",
        ];
        for value in values {
            if let Some(bits) = common_shape(value.as_bytes()) {
                assert_eq!(bits, classify_by_patterns(value), "{value:?}");
                assert_eq!(bits, classify(value.as_bytes()), "{value:?}");
            }
        }
    }

    /// The patterns alone, as arrow applies them (the slow path).
    fn classify_by_patterns(text: &str) -> u16 {
        match PATTERNS
            .as_ref()
            .and_then(|p| p.matches(text).iter().next())
        {
            Some(1) if text.len() >= 19 && text.parse::<i64>().is_err() => TEXT,
            Some(m) => 1 << m,
            None => TEXT,
        }
    }
}
