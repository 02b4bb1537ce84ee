//! CSV and JSON lines read on several threads give what arrow's one-thread readers give (the
//! same schema, the same rows in the same order), including quoted newlines and escaped
//! quotes across the cut points; bad input deep in a file is an error naming its line.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use strata::format::read_input;

/// Runs `f` on a pool of `threads` threads (the reader uses the pool it is called from).
fn on<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// A CSV of `rows` rows, about 3 MB at 40k rows: integers, decimals with nulls, dates, short
/// repeated strings, and free text with commas, escaped quotes and (every 97th row) newlines.
fn csv_text(rows: usize) -> String {
    let mut s = String::from("id,price,day,mode,comment,flag\n");
    for i in 0..rows {
        let price = if i % 13 == 0 {
            String::new()
        } else {
            format!("{}.{:02}", i * 7 % 10_000, i % 100)
        };
        let comment = match i % 97 {
            0 => format!("\"line one of {i}\nline two, with \"\"quotes\"\"\""),
            1 => format!("\"{i}, \"\"quoted\"\"\""),
            _ => format!("plain text number {i} about nothing much"),
        };
        s.push_str(&format!(
            "{i},{price},2024-{:02}-{:02},{},{comment},{}\n",
            i % 12 + 1,
            i % 28 + 1,
            ["AIR", "MAIL", "SHIP", "TRUCK"][i % 4],
            if i % 2 == 0 { "true" } else { "false" }
        ));
    }
    s
}

/// What arrow's one-thread readers give for the file.
fn arrow_reads(path: &Path, csv: bool) -> (SchemaRef, RecordBatch) {
    let (schema, batches): (SchemaRef, Vec<RecordBatch>) = if csv {
        let format = arrow::csv::reader::Format::default().with_header(true);
        let (schema, _) = format
            .infer_schema(std::fs::File::open(path).unwrap(), None)
            .unwrap();
        let schema = Arc::new(schema);
        let reader = arrow::csv::ReaderBuilder::new(schema.clone())
            .with_format(format)
            .build(std::fs::File::open(path).unwrap())
            .unwrap();
        (schema, reader.map(Result::unwrap).collect())
    } else {
        let mut file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
        let (schema, _) =
            arrow::json::reader::infer_json_schema_from_seekable(&mut file, None).unwrap();
        let schema = Arc::new(schema);
        let reader = arrow::json::ReaderBuilder::new(schema.clone())
            .build(file)
            .unwrap();
        (schema, reader.map(Result::unwrap).collect())
    };
    let all = concat_batches(&schema, &batches).unwrap();
    (schema, all)
}

fn strata_reads(path: &Path, threads: usize) -> (SchemaRef, RecordBatch) {
    let (schema, batches) = on(threads, || read_input(path, None)).unwrap();
    let all = concat_batches(&schema, &batches).unwrap();
    (schema, all)
}

#[test]
fn csv_on_two_threads_reads_as_arrow_does_on_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, csv_text(40_000)).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 2 << 20);
    let (schema, rows) = arrow_reads(&path, true);
    for threads in [1, 2, 3] {
        let (s, r) = strata_reads(&path, threads);
        assert_eq!(s, schema, "{threads} threads");
        assert_eq!(r, rows, "{threads} threads");
    }
    assert_eq!(rows.num_rows(), 40_000);
}

#[test]
fn a_quote_inside_an_unquoted_field_reads_in_one_piece() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    let mut text = csv_text(30_000);
    text.push_str("30000,1.5,2024-01-01,AIR,a 5\" disk,true\n");
    text.push_str(&csv_text(30_000)[31..]);
    std::fs::write(&path, &text).unwrap();
    let (schema, rows) = arrow_reads(&path, true);
    let (s, r) = strata_reads(&path, 2);
    assert_eq!((s, r), (schema, rows));
}

#[test]
fn json_lines_on_two_threads_read_as_arrow_does_on_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let mut text = String::new();
    for i in 0..40_000 {
        // A field that is null in the first chunks and a number later: the chunks' schemas
        // disagree and the whole text's schema is used.
        let late = if i > 30_000 {
            format!("{i}")
        } else {
            "null".into()
        };
        text.push_str(&format!(
            "{{\"id\":{i},\"name\":\"n{}\",\"score\":{}.5,\"late\":{late}}}\n",
            i % 50,
            i % 1000
        ));
    }
    std::fs::write(&path, &text).unwrap();
    let (schema, rows) = arrow_reads(&path, false);
    let (s, r) = strata_reads(&path, 2);
    assert_eq!((s, r), (schema, rows));
}

/// The error of reading `text` as a file named `name` on two threads.
fn error_of(name: &str, text: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text)
        .unwrap();
    let err = on(2, || read_input(&path, None)).unwrap_err();
    assert_eq!(err.kind(), strata::ErrorKind::InvalidArgument, "{err}");
    err.to_string()
}

/// A CSV of plain rows (no quoted newlines: every record is one line) with `bad` as line
/// `line` (1-based, the header is line 1).
fn plain_csv_with(line: usize, bad: &[u8]) -> Vec<u8> {
    let mut text = b"id,name,score\n".to_vec();
    for i in 2..60_000 {
        if i == line {
            text.extend_from_slice(bad);
        } else {
            text.extend_from_slice(format!("{i},name {i},{}.25\n", i % 1000).as_bytes());
        }
    }
    text
}

#[test]
fn a_ragged_row_deep_in_the_file_is_named_by_its_line() {
    let err = error_of("t.csv", &plain_csv_with(51_234, b"51234,short\n"));
    assert!(err.contains("malformed CSV"), "{err}");
    assert!(err.contains("line 51234"), "{err}");
    let err = error_of("t.csv", &plain_csv_with(40_000, b"1,2,3,4\n"));
    assert!(err.contains("line 40000"), "{err}");
}

#[test]
fn bad_utf8_deep_in_the_file_is_named_by_its_line() {
    let err = error_of(
        "t.csv",
        &plain_csv_with(45_678, b"45678,bad \xff\xfe name,1.5\n"),
    );
    assert!(err.contains("malformed CSV"), "{err}");
    assert!(err.contains("UTF-8") && err.contains("45678"), "{err}");
}

#[test]
fn an_unterminated_quote_is_named_by_its_line() {
    let err = error_of(
        "t.csv",
        &plain_csv_with(30_001, b"30001,\"never closed,1.5\n"),
    );
    assert!(err.contains("line 30001"), "{err}");
    assert!(err.contains("never closed"), "{err}");
}

#[test]
fn a_bad_json_line_deep_in_the_file_is_named() {
    let mut text = String::new();
    for i in 1..=50_000 {
        if i == 43_210 {
            text.push_str("{\"id\": 43210, \"name\": \n");
        } else {
            text.push_str(&format!("{{\"id\":{i},\"name\":\"n{i}\"}}\n"));
        }
    }
    let err = error_of("t.jsonl", text.as_bytes());
    assert!(err.contains("malformed JSON input on line 43210"), "{err}");
}

#[test]
fn empty_and_header_only_files() {
    let err = error_of("t.csv", b"");
    assert!(err.contains("empty"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.csv");
    std::fs::write(&path, "a,b\n").unwrap();
    let (schema, batches) = on(2, || read_input(&path, None)).unwrap();
    assert_eq!(schema.fields().len(), 2);
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
}
