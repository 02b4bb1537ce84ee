//! The module arrows ARCHITECTURE.md states, checked against the code: which module of src/ may
//! use which, and that the command line, the C ABI and the demo construct only a `Lake`. A change
//! that needs a new arrow changes ARCHITECTURE.md and this test together.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Modules of the crate each module must not use (`crate::<name>` in code, comments skipped).
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "store",
        &["read", "format", "mask", "quality", "lake", "ffi"],
    ),
    (
        "crypto",
        &["store", "mask", "read", "quality", "lake", "ffi", "format"],
    ),
    ("read", &["store", "lake", "ffi", "mask", "quality"]),
    ("format", &["store", "lake", "ffi", "mask", "quality"]),
    ("cache", &["lake", "ffi", "format", "mask", "quality"]),
    ("quality", &["store", "lake", "ffi", "cache", "crypto"]),
    ("mask", &["store", "lake", "ffi", "cache", "quality"]),
    ("config", &["store", "lake", "ffi", "read", "cache", "mask"]),
    ("clock", &["store", "lake", "ffi", "crypto"]),
    ("lake", &["ffi"]),
    (
        "table",
        &[
            "lake", "ffi", "store", "mask", "quality", "cache", "catalog",
        ],
    ),
    (
        "catalog",
        &[
            "lake", "ffi", "store", "mask", "cache", "table", "format", "crypto",
        ],
    ),
    (
        "governance",
        &[
            "lake", "ffi", "store", "table", "catalog", "cache", "read", "format", "crypto", "mask",
        ],
    ),
    ("tuning", &["lake", "ffi"]),
    (
        "advisor",
        &[
            "lake",
            "ffi",
            "store",
            "table",
            "catalog",
            "governance",
            "cache",
            "format",
            "crypto",
            "mask",
            "quality",
        ],
    ),
];

/// Where each name the crate root re-exports lives (so `crate::Scan` counts as `read`).
fn root_name_module(name: &str) -> Option<&'static str> {
    Some(match name {
        "Error" | "ErrorKind" | "Result" => "error",
        "AtomicFile" => "atomic_file",
        "LakeConfig" => "config",
        "WriteOptions" | "WriteSummary" => "format",
        "Lake" | "Keys" | "KeyRow" | "MaskingKeyRow" | "RotationSummary" => "lake",
        "Expr" | "Scan" | "ScanFormat" | "ScanOutput" | "ScanReader" | "ScanStats" => "read",
        "Table" | "TableName" | "TableOptions" => "table",
        "ObjectInfo" | "PutOptions" | "RunOptions" => "store",
        _ => return None,
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file with line comments (doc comments included) removed.
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string literal ("http://...") is rare in these files; the
            // worst case is a missed use, which the other files' uses still catch.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate modules `text` uses: `crate::name` paths and the top-level entries of
/// `use crate::{...}` groups, with root re-exports taken to their modules.
fn used_modules(text: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut add = |name: &str| {
        let name = name.trim();
        if name.is_empty() || name == "self" {
            return;
        }
        match root_name_module(name) {
            Some(module) => used.insert(module.to_string()),
            None => used.insert(name.to_string()),
        };
    };
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(found) = text[at..].find("crate::") {
        let start = at + found + "crate::".len();
        // `$crate::` in macros and `my_crate::` are not this crate.
        let before = text[..at + found].chars().next_back();
        at = start;
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if bytes.get(start) == Some(&b'{') {
            let mut depth = 0;
            let mut entry = String::new();
            let mut expect_name = true;
            for &b in &bytes[start..] {
                match b {
                    b'{' => {
                        depth += 1;
                        if depth > 1 {
                            expect_name = false;
                        }
                    }
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    b',' if depth == 1 => {
                        expect_name = true;
                        entry.clear();
                    }
                    b':' if depth == 1 && expect_name => {
                        add(&entry);
                        expect_name = false;
                    }
                    c if depth == 1 && expect_name => {
                        if c.is_ascii_alphanumeric() || c == b'_' {
                            entry.push(c as char);
                        } else if !entry.is_empty() && !c.is_ascii_whitespace() {
                            expect_name = false;
                        } else if !entry.is_empty() {
                            // `Name as Alias` or `Name,`: a bare root name.
                            add(&entry);
                            expect_name = false;
                        }
                    }
                    _ => {}
                }
            }
            // A bare last entry (`use crate::{a::B, Result};`) ends at the closing brace.
            if expect_name {
                add(&entry);
            }
        } else {
            let name: String = text[start..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            add(&name);
        }
    }
    used
}

/// The top-level module of src/ a file belongs to (`src/store/tier.rs` is `store`,
/// `src/clock.rs` is `clock`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn modules_use_only_the_modules_architecture_md_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut broken = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some((_, forbidden)) = FORBIDDEN.iter().find(|(m, _)| *m == module) else {
            continue;
        };
        for used in used_modules(&code(file)) {
            if forbidden.contains(&used.as_str()) {
                broken.push(format!(
                    "{} ({module}) uses crate::{used}",
                    file.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "arrows ARCHITECTURE.md forbids:\n{}",
        broken.join("\n")
    );
}

#[test]
fn nothing_but_ffi_uses_ffi_and_nothing_below_the_lake_uses_the_lake() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut broken = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if module == "bin" {
            continue;
        }
        let used = used_modules(&code(file));
        if used.contains("ffi") && module != "ffi" {
            broken.push(format!("{} uses crate::ffi", file.display()));
        }
        if used.contains("lake") && !["lake", "ffi", "lib"].contains(&module.as_str()) {
            broken.push(format!("{} uses crate::lake", file.display()));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_command_line_the_c_abi_and_the_demo_construct_only_a_lake() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src/bin"), &mut files);
    rust_files(&root.join("src/ffi"), &mut files);
    let constructors = [
        "Store::open",
        "Cache::new(",
        "KeyRing::load",
        "KeyRing::create",
        "open_key_provider",
        "open_mask_keys",
        "MaskKeyRing::open",
        "EnvKeyProvider::",
        "CallbackKeyProvider::new",
    ];
    let mut broken = Vec::new();
    for file in &files {
        let text = code(file);
        for c in constructors {
            if text.contains(c) {
                broken.push(format!("{} constructs `{c}`", file.display()));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_use_parser_sees_groups_paths_and_root_names() {
    let used = used_modules(
        "use crate::{error::{Error, Result}, store::Store, Scan};\n\
         let x = crate::cache::Cache::new(); let y = $crate::z::W; use my_crate::q;\n\
         use crate::{Lake as L, format::write};",
    );
    let want: BTreeSet<String> = ["error", "store", "read", "cache", "lake", "format"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(used, want);
}
