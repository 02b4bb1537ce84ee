//! The internal async runtime behind strata's synchronous API.
//!
//! Object-store I/O is async; strata's callers (C, Go, plain Rust threads) are not. Each open
//! store owns a small multi-threaded tokio runtime and blocks on it. Calling the synchronous API
//! from inside another tokio runtime would deadlock or panic, so it is refused with an error.

use std::future::Future;

use crate::error::{Error, ErrorKind, Result};

pub(crate) struct Runtime {
    rt: Option<tokio::runtime::Runtime>,
}

impl Runtime {
    pub fn new() -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("strata-io")
            .enable_all()
            .build()
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot start the I/O runtime: {e}")))?;
        Ok(Runtime { rt: Some(rt) })
    }

    /// Runs `fut` to completion on the calling thread.
    pub fn block_on<F: Future>(&self, fut: F) -> Result<F::Output> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::invalid(
                "strata's synchronous API was called from inside an async runtime; \
                 call it from a blocking thread (e.g. tokio::task::spawn_blocking)",
            ));
        }
        match &self.rt {
            Some(rt) => Ok(rt.block_on(fut)),
            None => Err(Error::internal("the I/O runtime is shut down")),
        }
    }
}

impl Runtime {
    /// A handle for blocking on the runtime from threads strata starts (cache fetches).
    pub fn handle(&self) -> Result<tokio::runtime::Handle> {
        match &self.rt {
            Some(rt) => Ok(rt.handle().clone()),
            None => Err(Error::internal("the I/O runtime is shut down")),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Dropping a runtime inside another async context panics; shutting down in the
        // background never does.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
