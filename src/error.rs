//! The one public error type.
//!
//! Every fallible call in strata returns [`Error`]. Its [`ErrorKind`] is stable and maps one to one
//! onto the status codes of the C ABI, so a C, Go or Rust caller can branch on the kind while the
//! message and context say what happened and where (key, tier, path).

use std::fmt;

/// Result alias used throughout strata.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, as a stable category. The discriminants are the C status codes (0 is success).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A caller passed something unusable: a bad key, a bad range, a bad flag.
    InvalidArgument = 1,
    /// The object, key, tier or file does not exist.
    NotFound = 2,
    /// The target exists and the operation refuses to replace it.
    AlreadyExists = 3,
    /// Local I/O failed.
    Io = 4,
    /// Stored bytes are damaged: checksum mismatch, unreadable index, bad format.
    Corrupt = 5,
    /// The configuration is invalid.
    Config = 6,
    /// Another process holds the data root.
    Busy = 7,
    /// A remote tier failed (network, HTTP status, timeout after retries).
    Remote = 8,
    /// The format or feature is not supported by this build or version.
    Unsupported = 9,
    /// An internal invariant broke; a bug in strata.
    Internal = 10,
    /// Decryption or authentication failed: wrong key, tampered or truncated ciphertext.
    Crypto = 11,
}

impl ErrorKind {
    /// The C status code of this kind.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// A short lower-case name, as used in JSON output and the C ABI.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::Io => "io",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Config => "config",
            ErrorKind::Busy => "busy",
            ErrorKind::Remote => "remote",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Internal => "internal",
            ErrorKind::Crypto => "crypto",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A strata error: a kind, a message, context pairs and an optional source.
pub struct Error {
    kind: ErrorKind,
    message: String,
    context: Vec<(&'static str, String)>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            context: Vec::new(),
            source: None,
        }
    }

    /// Adds a context pair such as `("key", "a/b")` or `("tier", "cold")`.
    pub fn with(mut self, name: &'static str, value: impl fmt::Display) -> Self {
        self.context.push((name, value.to_string()));
        self
    }

    /// Attaches the underlying cause.
    pub fn set_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The stable category.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Context pairs, outermost last.
    pub fn context(&self) -> &[(&'static str, String)] {
        &self.context
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::NotFound, message)
    }

    pub(crate) fn corrupt(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Corrupt, message)
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }

    /// An I/O error with the path it concerns.
    pub(crate) fn io(what: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
            _ => ErrorKind::Io,
        };
        Error::new(kind, format!("{what}: {err}"))
            .with("path", path.display())
            .set_source(err)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if !self.context.is_empty() {
            f.write_str(" (")?;
            for (i, (name, value)) in self.context.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{name}: {value}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error: {self}", self.kind)?;
        if let Some(source) = &self.source {
            write!(f, "; caused by: {source:?}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<object_store::Error> for Error {
    fn from(err: object_store::Error) -> Self {
        use object_store::Error as OsError;
        let kind = match &err {
            OsError::NotFound { .. } => ErrorKind::NotFound,
            OsError::AlreadyExists { .. } | OsError::Precondition { .. } => {
                ErrorKind::AlreadyExists
            }
            OsError::InvalidPath { .. } => ErrorKind::InvalidArgument,
            OsError::NotSupported { .. } | OsError::NotImplemented { .. } => ErrorKind::Unsupported,
            OsError::Generic { store, .. } if *store == "LocalFileSystem" => ErrorKind::Io,
            _ => ErrorKind::Remote,
        };
        Error::new(kind, one_line(&err.to_string())).set_source(err)
    }
}

/// An error text from outside (an S3 error body is XML over several lines) as one line, cut
/// to a length a message can carry.
fn one_line(text: &str) -> String {
    const MAX: usize = 500;
    let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.len() > MAX {
        let cut = (0..=MAX)
            .rev()
            .find(|&i| line.is_char_boundary(i))
            .unwrap_or(0);
        line.truncate(cut);
        line.push_str("...");
    }
    line
}

impl From<redb::Error> for Error {
    fn from(err: redb::Error) -> Self {
        index_error(err.to_string(), err)
    }
}

fn index_error(message: String, err: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(
        ErrorKind::Corrupt,
        format!(
            "tier index: {message}; if the file is damaged, `strata tier reindex` sets it aside \
             and rebuilds it from the tiers"
        ),
    )
    .set_source(err)
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(err: $t) -> Self {
                index_error(err.to_string(), err)
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// The message a panic carried.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

/// Runs a decoder over bytes from outside, turning a panic inside it (a dependency's assertion
/// tripped by damaged input) into a `Corrupt` error: bad input must never take the process
/// down.
pub(crate) fn catch_corrupt<T>(what: &str, body: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => Err(Error::corrupt(format!(
            "{what}: the decoder failed on damaged data ({})",
            panic_text(&*payload)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_carries_context() {
        let err = Error::not_found("no such object")
            .with("key", "a/b")
            .with("tier", "cold");
        assert_eq!(err.to_string(), "no such object (key: a/b, tier: cold)");
        assert_eq!(err.kind().code(), 2);
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(ErrorKind::InvalidArgument.code(), 1);
        assert_eq!(ErrorKind::Internal.code(), 10);
    }
}
