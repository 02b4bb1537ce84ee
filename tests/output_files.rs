//! The shared output mechanism (`AtomicFile`): no predictable staging name a planted symlink
//! could redirect, devices and pipes written directly, symlinks written through, directories
//! refused. tests/cli_output_files.rs drives the same cases through `get -o` and `scan -o`.
#![cfg(unix)]

use std::io::{Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use strata::{crypto::KeyRing, AtomicFile, ErrorKind};

fn write_all(target: &Path, bytes: &[u8]) -> strata::Result<()> {
    let mut f = AtomicFile::create(target)?;
    f.write_all(bytes).unwrap();
    f.commit()
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Names earlier strata versions (and the usual conventions) staged `name` under.
fn predictable_names(name: &str) -> Vec<String> {
    let pid = std::process::id();
    let mut names: Vec<String> = (0..64)
        .map(|n| format!(".{name}.{pid}-{n}.partial"))
        .collect();
    names.extend([
        format!("{name}.tmp"),
        format!(".{name}.tmp"),
        format!("{name}.partial"),
        format!(".{name}.partial"),
        format!("{name}.strata-tmp"),
        format!("{name}~"),
    ]);
    if let Some(stem) = name.strip_suffix(".toml") {
        names.push(format!("{stem}.tmp"));
    }
    names
}

/// Plants a symlink to `victim` at every predictable staging name of `target`.
fn plant(target: &Path, victim: &Path) {
    let name = target.file_name().unwrap().to_str().unwrap();
    for n in predictable_names(name) {
        std::os::unix::fs::symlink(victim, target.with_file_name(n)).unwrap();
    }
}

#[test]
fn planted_symlinks_cannot_redirect_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let target = dir.path().join("out.parquet");
    plant(&target, &victim);
    let before = std::fs::read_dir(dir.path()).unwrap().count();
    // Several writes, some over an existing target: none goes through a planted link.
    for round in 0..8u8 {
        write_all(&target, &[round; 100]).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), [round; 100]);
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    // Nothing left behind but the output itself.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), before + 1);
}

#[test]
fn staging_names_are_never_the_same_twice() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.csv");
    let open: Vec<AtomicFile> = (0..32)
        .map(|_| AtomicFile::create(&target).unwrap())
        .collect();
    let names: std::collections::BTreeSet<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 32, "{names:?}");
    drop(open);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn key_ring_saves_ignore_planted_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let path = dir.path().join("keyring.toml");
    plant(&path, &victim);
    let mut ring = KeyRing::create(&path, Some("k1")).unwrap();
    ring.add_key(Some("k2")).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(KeyRing::load(&path).unwrap().list().len(), 2);
}

#[test]
fn dev_null_stays_a_character_device() {
    let target = Path::new("/dev/null");
    let mut f = AtomicFile::create(target).unwrap();
    assert!(f.is_direct());
    f.write_all(&[7u8; 4096]).unwrap();
    f.commit().unwrap();
    // Uncommitted too: nothing to take back, nothing replaced.
    let mut f = AtomicFile::create(target).unwrap();
    f.write_all(b"dropped").unwrap();
    drop(f);
    let meta = std::fs::symlink_metadata(target).unwrap();
    assert!(meta.file_type().is_char_device(), "{meta:?}");
}

#[test]
fn a_fifo_gets_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
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
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    write_all(&fifo, &data).unwrap();
    assert_eq!(reader.join().unwrap(), data);
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_socket_gets_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let reader = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        got
    });
    write_all(&path, b"through the socket").unwrap();
    assert_eq!(reader.join().unwrap(), b"through the socket");
    assert!(std::fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_socket());
}

#[test]
fn symlinks_are_written_through_and_stay_links() {
    let dir = tempfile::tempdir().unwrap();
    let real_dir = dir.path().join("real");
    std::fs::create_dir(&real_dir).unwrap();
    let real = real_dir.join("data.bin");
    std::fs::write(&real, b"old").unwrap();
    // An absolute link, a relative one, and a link to a link.
    let abs = dir.path().join("abs");
    std::os::unix::fs::symlink(&real, &abs).unwrap();
    let rel = dir.path().join("rel");
    std::os::unix::fs::symlink("real/data.bin", &rel).unwrap();
    let chain = dir.path().join("chain");
    std::os::unix::fs::symlink("rel", &chain).unwrap();
    for (link, bytes) in [(&abs, b"one"), (&rel, b"two"), (&chain, b"six")] {
        write_all(link, bytes).unwrap();
        assert_eq!(std::fs::read(&real).unwrap(), bytes);
        for l in [&abs, &rel, &chain] {
            assert!(std::fs::symlink_metadata(l)
                .unwrap()
                .file_type()
                .is_symlink());
        }
    }
    // Staged beside the file the link resolves to, and gone.
    assert_eq!(std::fs::read_dir(&real_dir).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);

    // A dangling link: the file is made where it points.
    let new = dir.path().join("new-link");
    std::os::unix::fs::symlink("real/made.bin", &new).unwrap();
    write_all(&new, b"made").unwrap();
    assert_eq!(std::fs::read(real_dir.join("made.bin")).unwrap(), b"made");
    assert!(std::fs::symlink_metadata(&new)
        .unwrap()
        .file_type()
        .is_symlink());

    // A loop of links is an error, not a hang.
    let a = dir.path().join("loop-a");
    let b = dir.path().join("loop-b");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    assert!(write_all(&a, b"x").is_err());
}

#[test]
fn directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("keep"), b"k").unwrap();
    let link = dir.path().join("to-sub");
    std::os::unix::fs::symlink(&sub, &link).unwrap();
    for target in [&sub, &link] {
        let err = AtomicFile::create(target).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("directory"), "{err}");
    }
    assert!(sub.is_dir() && std::fs::read(sub.join("keep")).unwrap() == b"k");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn a_target_replaced_by_a_directory_meanwhile_is_not_renamed_over() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out");
    let mut f = AtomicFile::create(&target).unwrap();
    f.write_all(b"bytes").unwrap();
    std::fs::create_dir(&target).unwrap();
    assert!(f.commit().is_err());
    assert!(target.is_dir());
    // The staging file went with the failed commit.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
