//! The C++ wrapper's tests (bindings/cpp) against the built library, compiled with
//! g++ -std=c++17 -Wall -Wextra -Werror and run under AddressSanitizer + UBSan.

mod common;
mod native;

use std::process::Command;

use native::{have, lib_dir, root, run};

#[test]
fn cpp_wrapper_tests() {
    if !have("c++") {
        return common::skip("bindings_cpp: no C++ compiler (c++)");
    }
    let scratch = tempfile::tempdir().unwrap();
    let lib = lib_dir();
    let exe = scratch.path().join("test_wrapper");
    run(Command::new("c++")
        .args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-g"])
        .args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all"])
        .arg("-I")
        .arg(root().join("include"))
        .arg("-I")
        .arg(root().join("bindings/cpp"))
        .arg(root().join("bindings/cpp/tests/test_wrapper.cpp"))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-lstrata"));
    let file = scratch.path().join("people.parquet");
    native::write_people(&file);
    let encrypted = scratch.path().join("encrypted-lake");
    native::encrypted_lake(&encrypted, &file);
    run(Command::new(&exe)
        .arg(&file)
        .arg(scratch.path())
        .arg(&encrypted)
        .env("ASAN_OPTIONS", "detect_leaks=1"));
}
