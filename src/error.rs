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
    /// The principal may not do this (`[access]`): the message names the principal, the
    /// action and the resource.
    PermissionDenied = 12,
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
            ErrorKind::PermissionDenied => "permission_denied",
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

    /// Says what was being done when the error happened: the message becomes
    /// `"{what}: {message}"`. The kind and context stay as they are.
    pub(crate) fn during(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
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

/// Parquet errors, wherever they come from (a scan, a compaction, a masked copy, the writer, the
/// C ABI): the one place that decides their kind, so the same damage gives the same kind and C
/// status on every route.
///
/// - `NYI` (a feature the parquet crate does not implement, e.g. AES_GCM_CTR_V1): `Unsupported`.
/// - `ArrowError` (the Arrow and Parquet schemas or types do not fit each other: on a write the
///   caller's data, on a read a file schema with no Arrow form): `InvalidArgument`.
/// - `External`: the error inside decides. strata's own errors (from a key retriever or an
///   object read) keep their kind; an I/O error the operating system reported is `Io`
///   (`NotFound`, `AlreadyExists` where it says so); a failed AES-GCM authentication is
///   `Crypto`; Arrow errors map as below; anything else (a decompressor's complaint, bad UTF-8)
///   is damaged bytes, `Corrupt`.
/// - `General`, `EOF`, `IndexOutOfBound`, `NeedMoreData*` and any variant added later: the
///   bytes do not decode, `Corrupt`.
impl From<parquet::errors::ParquetError> for Error {
    fn from(err: parquet::errors::ParquetError) -> Self {
        use parquet::errors::ParquetError as Pe;
        let kind = match err {
            Pe::External(inner) => return from_external(inner, ErrorKind::Corrupt),
            Pe::NYI(_) => ErrorKind::Unsupported,
            Pe::ArrowError(_) => ErrorKind::InvalidArgument,
            _ => ErrorKind::Corrupt,
        };
        Error::new(kind, err.to_string()).set_source(err)
    }
}

/// Arrow errors: the one place that decides their kind.
///
/// - `NotYetImplemented`: `Unsupported`.
/// - `IoError`: `Io` when the operating system reported it (`NotFound`, `AlreadyExists` where it
///   says so), else damaged bytes (`Corrupt`: a short read of a truncated input).
/// - `ExternalError`: the error inside decides, as for Parquet's `External`; an unknown one is
///   `InvalidArgument`.
/// - `ParquetError` (a Parquet error turned into text by the Arrow reader, which is how errors
///   met while decoding pages arrive): `Unsupported` for the parquet crate's `NYI: ` errors,
///   else `Corrupt`.
/// - `IpcError`: bytes that do not decode as Arrow IPC, `Corrupt`.
/// - Everything else (casts, parsing, schemas, arithmetic, CSV and JSON input, the C Data
///   Interface): the data or arguments the caller passed, `InvalidArgument`.
impl From<arrow::error::ArrowError> for Error {
    fn from(err: arrow::error::ArrowError) -> Self {
        use arrow::error::ArrowError as Ae;
        let kind = match err {
            Ae::ExternalError(inner) => return from_external(inner, ErrorKind::InvalidArgument),
            Ae::IoError(message, io) => return from_io(io, Some(message)),
            Ae::NotYetImplemented(_) => ErrorKind::Unsupported,
            Ae::ParquetError(ref text) if text.starts_with("NYI: ") => ErrorKind::Unsupported,
            Ae::ParquetError(_) | Ae::IpcError(_) => ErrorKind::Corrupt,
            _ => ErrorKind::InvalidArgument,
        };
        Error::new(kind, err.to_string()).set_source(err)
    }
}

/// The kind of an I/O error under a decoder: the operating system's errors are I/O; errors a
/// reader made up (a short read, a decompressor's complaint) mean the bytes are damaged.
fn io_kind(err: &std::io::Error) -> ErrorKind {
    if err.raw_os_error().is_none() {
        return ErrorKind::Corrupt;
    }
    match err.kind() {
        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
        std::io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
        _ => ErrorKind::Io,
    }
}

/// An I/O error from under a decoder or writer; one that carries a strata error (a reader
/// adapter's) gives that error back.
fn from_io(io: std::io::Error, message: Option<String>) -> Error {
    if io.get_ref().is_some_and(|e| e.is::<Error>()) {
        if let Some(Ok(ours)) = io.into_inner().map(|e| e.downcast::<Error>()) {
            return *ours;
        }
        return Error::internal("an I/O error lost the strata error it carried");
    }
    let message = message.unwrap_or_else(|| io.to_string());
    Error::new(io_kind(&io), message).set_source(io)
}

/// An error a dependency carried for someone else: strata's own come back as they were.
fn from_external(inner: Box<dyn std::error::Error + Send + Sync>, unknown: ErrorKind) -> Error {
    let inner = match inner.downcast::<Error>() {
        Ok(ours) => return *ours,
        Err(other) => other,
    };
    let inner = match inner.downcast::<std::io::Error>() {
        Ok(io) => return from_io(*io, None),
        Err(other) => other,
    };
    let inner = match inner.downcast::<parquet::errors::ParquetError>() {
        Ok(p) => return Error::from(*p),
        Err(other) => other,
    };
    let inner = match inner.downcast::<arrow::error::ArrowError>() {
        Ok(a) => return Error::from(*a),
        Err(other) => other,
    };
    let inner = match inner.downcast::<object_store::Error>() {
        Ok(o) => return Error::from(*o),
        Err(other) => other,
    };
    let kind = if inner.is::<ring::error::Unspecified>() {
        ErrorKind::Crypto
    } else {
        unknown
    };
    let message = if kind == ErrorKind::Crypto {
        "authentication failed: wrong key, or tampered or truncated ciphertext".to_string()
    } else {
        inner.to_string()
    };
    Error {
        kind,
        message,
        context: Vec::new(),
        source: Some(inner),
    }
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

    fn parquet_kind(err: parquet::errors::ParquetError) -> ErrorKind {
        Error::from(err).kind()
    }

    fn arrow_kind(err: arrow::error::ArrowError) -> ErrorKind {
        Error::from(err).kind()
    }

    #[test]
    fn parquet_errors_have_one_kind_each() {
        use parquet::errors::ParquetError as Pe;
        assert_eq!(parquet_kind(Pe::NYI("ctr".into())), ErrorKind::Unsupported);
        for damaged in [
            Pe::General("Corrupt footer".into()),
            Pe::EOF("short".into()),
            Pe::IndexOutOfBound(3, 2),
            Pe::NeedMoreData(100),
            Pe::NeedMoreDataRange(0..8),
            Pe::External(Box::new(String::from_utf8(vec![0xff]).unwrap_err())),
        ] {
            assert_eq!(parquet_kind(damaged), ErrorKind::Corrupt);
        }
        assert_eq!(
            parquet_kind(Pe::ArrowError("empty structs".into())),
            ErrorKind::InvalidArgument
        );
        // I/O underneath: the operating system's errors are I/O, a reader's short read is
        // damage.
        let os = |code| Pe::External(Box::new(std::io::Error::from_raw_os_error(code)));
        assert_eq!(parquet_kind(os(libc::EIO)), ErrorKind::Io);
        assert_eq!(parquet_kind(os(libc::ENOENT)), ErrorKind::NotFound);
        let short = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "short read");
        assert_eq!(
            parquet_kind(Pe::External(Box::new(short))),
            ErrorKind::Corrupt
        );
        assert_eq!(
            parquet_kind(Pe::External(Box::new(ring::error::Unspecified))),
            ErrorKind::Crypto
        );
        assert_eq!(
            parquet_kind(Pe::External(Box::new(
                arrow::error::ArrowError::NotYetImplemented("x".into())
            ))),
            ErrorKind::Unsupported
        );
    }

    #[test]
    fn strata_errors_carried_through_come_back_unchanged() {
        use parquet::errors::ParquetError as Pe;
        let ours = || Error::new(ErrorKind::Remote, "tier down").with("tier", "cold");
        let back = Error::from(Pe::External(Box::new(ours())));
        assert_eq!(back.kind(), ErrorKind::Remote);
        assert_eq!(back.to_string(), "tier down (tier: cold)");
        let in_io = std::io::Error::other(ours());
        let back = Error::from(Pe::External(Box::new(in_io)));
        assert_eq!(back.to_string(), "tier down (tier: cold)");
        let back = Error::from(arrow::error::ArrowError::ExternalError(Box::new(ours())));
        assert_eq!(back.kind(), ErrorKind::Remote);
        let in_parquet = Pe::External(Box::new(ours()));
        let back = Error::from(arrow::error::ArrowError::ExternalError(Box::new(
            in_parquet,
        )));
        assert_eq!(back.kind(), ErrorKind::Remote);
    }

    #[test]
    fn arrow_errors_have_one_kind_each() {
        use arrow::error::ArrowError as Ae;
        assert_eq!(
            arrow_kind(Ae::NotYetImplemented("x".into())),
            ErrorKind::Unsupported
        );
        assert_eq!(
            arrow_kind(Ae::ParquetError("NYI: AES_GCM_CTR_V1".into())),
            ErrorKind::Unsupported
        );
        assert_eq!(
            arrow_kind(Ae::ParquetError("Parquet error: bad page".into())),
            ErrorKind::Corrupt
        );
        assert_eq!(arrow_kind(Ae::IpcError("bad".into())), ErrorKind::Corrupt);
        let os = std::io::Error::from_raw_os_error(libc::EIO);
        assert_eq!(arrow_kind(Ae::IoError("read".into(), os)), ErrorKind::Io);
        for caller in [
            Ae::CastError("x".into()),
            Ae::SchemaError("x".into()),
            Ae::ComputeError("x".into()),
            Ae::InvalidArgumentError("x".into()),
            Ae::CsvError("x".into()),
            Ae::JsonError("x".into()),
            Ae::CDataInterface("x".into()),
            Ae::DivideByZero,
            Ae::ExternalError(Box::new(std::fmt::Error)),
        ] {
            assert_eq!(arrow_kind(caller), ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn during_says_what_was_being_done_and_keeps_the_rest() {
        let err = Error::corrupt("bad page")
            .with("path", "a.parquet")
            .during("cannot decode Parquet data");
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert_eq!(
            err.to_string(),
            "cannot decode Parquet data: bad page (path: a.parquet)"
        );
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(ErrorKind::InvalidArgument.code(), 1);
        assert_eq!(ErrorKind::Internal.code(), 10);
    }
}
