//! The C ABI: opaque handles, status codes and Arrow C Stream interface functions.
//!
//! Every export runs its body through [`guard::guard`], which turns errors into a status
//! code plus a per-thread message and catches panics, so no unwinding ever reaches C. Out
//! parameters are written only on success. `include/strata.h` is generated from this module
//! by cbindgen (see `cbindgen.toml`); the doc comments here are the header's documentation.
//!
//! Only the public Rust API is called from here: the ABI is a thin, checked layer over it.

// C names (`strata_lake`, `strata_status`) are what the header shows C users.
#![allow(non_camel_case_types)]
// The exports check their pointers themselves and document their contracts in the header;
// clippy cannot see that, and marking them `unsafe` changes nothing for C callers.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod advisor;
mod args;
mod buffers;
mod catalog;
mod expect;
mod governance;
mod guard;
mod handles;
mod keys;
mod lake;
mod mask;
mod objects;
mod quality;
mod scan_options;
mod stream;
mod table;
mod table_change;
mod tiers;
mod tuning;
mod write;
mod write_options;
