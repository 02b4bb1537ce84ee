//! Any bytes given as a filter parse or fail with an error, and what parses scans a small file
//! (statistics, bloom and page-index pruning, then the exact filter) to rows or an error:
//! never a panic and never a stack overflow, however deep or long the text.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use strata::{Expr, Scan, WriteOptions};

/// A small Parquet file (integers, strings with a null, floats with NaN and -0.0, booleans
/// with a null), written once through strata's own CSV reader and writer.
fn sample() -> Option<&'static PathBuf> {
    static FILE: OnceLock<Option<(tempfile::TempDir, PathBuf)>> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = tempfile::tempdir().ok()?;
        let csv = dir.path().join("sample.csv");
        let rows = "a,b,c,d\n1,x,1.5,true\n2,,NaN,false\n-3,xyz,-0.0,true\n40,abc,2e10,\n";
        std::fs::write(&csv, rows).ok()?;
        let (schema, batches) = strata::format::read_input(&csv, None).ok()?;
        let file = dir.path().join("sample.parquet");
        strata::format::write(&file, &schema, &batches, &WriteOptions::default()).ok()?;
        Some((dir, file))
    })
    .as_ref()
    .map(|(_, file)| file)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(expr) = Expr::parse(&text) else {
        return;
    };
    // The parser's bound holds for the tree it built, and the walks that need no bound
    // (clone, print, columns) agree with each other.
    assert!(expr.depth() <= Expr::MAX_DEPTH);
    let copy = expr.clone();
    assert_eq!(copy.to_string(), expr.to_string());
    assert_eq!(copy.columns(), expr.columns());
    let Some(file) = sample() else {
        return;
    };
    let _ = Scan::new(file).filter(expr).run();
    let _ = Scan::new(file).filter(copy).threads(2).count();
});
