//! Links the `strata` command as a fixed-address (non-PIE) executable on Linux.
//!
//! Why: a position-independent `strata` carries about 121,000 relative relocations (vtables
//! and static string slices), and the loader writes every one of them at start, touching some
//! 600 pages. That was 1.4 ms of CPU on each command, a tenth of a filtered count on a 4M-row
//! file. Linked at a fixed address the command starts in about half the time. Only the binary
//! changes: the library (rlib, cdylib, staticlib) stays position-independent, so hosts that
//! link it keep their own address-space layout. Set `STRATA_PIE=1` to link the command as PIE.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=STRATA_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let gnu_or_musl =
        std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|env| env == "gnu" || env == "musl");
    let pie_asked = std::env::var("STRATA_PIE").is_ok_and(|v| v == "1");
    if linux && gnu_or_musl && !pie_asked {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
