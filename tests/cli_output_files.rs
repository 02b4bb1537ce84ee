//! `get -o` and `scan -o` never replace what OUT names with a renamed temp file: /dev/null
//! stays a character device, a FIFO gets the bytes, a symlink is written through and stays a
//! link, a directory is a one-line error, `-` is stdout, and no predictable staging name
//! exists for a planted symlink to redirect.
#![cfg(unix)]

mod common;

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{bytes, parquet_bytes, strata_bin};

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    root: PathBuf,
    data: Vec<u8>,
    parquet: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let root = dir.join("root");
        let data = bytes(150_000, 9);
        let input = dir.join("in.bin");
        std::fs::write(&input, &data).unwrap();
        let parquet = dir.join("in.parquet");
        std::fs::write(&parquet, parquet_bytes(3000)).unwrap();
        let s = Setup {
            _tmp: tmp,
            dir,
            root,
            data,
            parquet,
        };
        let put = s.run(&["put", "obj", input.to_str().unwrap()]);
        assert!(put.status.success(), "{put:?}");
        s
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(strata_bin())
            .arg("--dir")
            .arg(&self.root)
            .args(args)
            .output()
            .unwrap()
    }

    /// `get obj -o OUT` and the expected bytes.
    fn get(&self, out: &Path) -> (Output, Vec<u8>) {
        (
            self.run(&["get", "obj", "-o", out.to_str().unwrap()]),
            self.data.clone(),
        )
    }

    /// `scan in.parquet --format csv -o OUT` and the expected bytes (from stdout).
    fn scan(&self, out: &Path) -> (Output, Vec<u8>) {
        let file = self.parquet.to_str().unwrap();
        let expected = self.run(&["scan", file, "--format", "csv"]);
        assert!(expected.status.success(), "{expected:?}");
        (
            self.run(&["scan", file, "--format", "csv", "-o", out.to_str().unwrap()]),
            expected.stdout,
        )
    }
}

type OutputCommand = fn(&Setup, &Path) -> (Output, Vec<u8>);
const COMMANDS: [(&str, OutputCommand); 2] = [("get", Setup::get), ("scan", Setup::scan)];

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success());
    assert_ne!(out.status.code(), Some(101), "panicked");
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("strata: error: "), "{err:?}");
    err
}

#[test]
fn dev_null_stays_a_character_device() {
    let s = Setup::new();
    for (name, command) in COMMANDS {
        let (out, _) = command(&s, Path::new("/dev/null"));
        ok(&out);
        let meta = std::fs::symlink_metadata("/dev/null").unwrap();
        assert!(meta.file_type().is_char_device(), "{name}: {meta:?}");
    }
}

#[test]
fn a_fifo_gets_the_bytes() {
    let s = Setup::new();
    for (name, command) in COMMANDS {
        let fifo = s.dir.join(format!("{name}.fifo"));
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `c` is a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                std::fs::File::open(&fifo)
                    .unwrap()
                    .read_to_end(&mut got)
                    .unwrap();
                got
            })
        };
        let (out, expected) = command(&s, &fifo);
        ok(&out);
        assert!(reader.join().unwrap() == expected, "{name}");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
    }
}

#[test]
fn a_symlink_is_written_through_and_stays_a_link() {
    let s = Setup::new();
    for (name, command) in COMMANDS {
        let real = s.dir.join(format!("{name}-real"));
        std::fs::write(&real, b"old").unwrap();
        let link = s.dir.join(format!("{name}-link"));
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let (out, expected) = command(&s, &link);
        ok(&out);
        assert!(std::fs::read(&real).unwrap() == expected, "{name}");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{name}"
        );
    }
}

#[test]
fn a_directory_is_a_one_line_error() {
    let s = Setup::new();
    for (name, command) in COMMANDS {
        let target = s.dir.join(format!("{name}-dir"));
        std::fs::create_dir(&target).unwrap();
        let (out, _) = command(&s, &target);
        let err = one_line_error(&out);
        assert!(err.contains("directory"), "{name}: {err}");
        assert!(target.is_dir());
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    }
}

#[test]
fn dash_is_stdout() {
    let s = Setup::new();
    let out = s.run(&["get", "obj", "-o", "-"]);
    ok(&out);
    assert!(out.stdout == s.data);
    assert!(!s.dir.join("-").exists() && !s.root.join("-").exists());
}

#[test]
fn regular_files_are_replaced_whole_and_planted_links_are_ignored() {
    let s = Setup::new();
    let victim = s.dir.join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    for (name, command) in COMMANDS {
        let target = s.dir.join(format!("{name}.out"));
        std::fs::write(&target, b"old").unwrap();
        // Symlinks at the names a predictable scheme would use: `.<name>.<pid>-<n>.partial`
        // for the pids the child is likely to get, and the usual suffixes.
        let me = std::process::id();
        let mut planted = Vec::new();
        let file = target.file_name().unwrap().to_str().unwrap().to_string();
        let mut names: Vec<String> = (me..me + 200)
            .flat_map(|pid| (0..2).map(move |n| (pid, n)))
            .map(|(pid, n)| format!(".{file}.{pid}-{n}.partial"))
            .collect();
        names.extend([format!("{file}.tmp"), format!(".{file}.tmp")]);
        for n in names {
            let p = s.dir.join(n);
            std::os::unix::fs::symlink(&victim, &p).unwrap();
            planted.push(p);
        }
        let (out, expected) = command(&s, &target);
        ok(&out);
        assert!(std::fs::read(&target).unwrap() == expected, "{name}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        for p in planted {
            std::fs::remove_file(p).unwrap();
        }
        // No staging file left behind.
        let stray: Vec<_> = std::fs::read_dir(&s.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("strata-"))
            .collect();
        assert!(stray.is_empty(), "{stray:?}");
    }
}
