//! An `object_store::ObjectStore` that forwards to an inner store and, per call, fails, sleeps,
//! cuts response bodies short or fails after the inner call went through (a put that landed but
//! reports a timeout: the ambiguous case), including multipart part uploads and completion.
//!
//! Every decision is a pure function of the seed, the operation, the path and how many times
//! that operation was called on that path, so a seed replays the same faults as long as the
//! caller makes the same calls (keep tier runs at concurrency 1 and the cache's read-ahead off).
//! Install it with `Store::wrap_tier(name, |inner| faults.wrap(inner))`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
    UploadPart,
};

/// What `async_trait` turns an `async fn` of these traits into.
type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Chances per thousand calls of each fault (the rest pass straight through).
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    /// Fail before the inner call.
    pub fail: u32,
    /// Sleep, then fail before the inner call (a request that timed out).
    pub timeout: u32,
    /// Make the inner call, then fail (the request landed, the answer was lost).
    pub fail_after: u32,
    /// Sleep, then pass through.
    pub delay: u32,
    /// Gets only: the body stream errors part way, or ends early without an error.
    pub cut: u32,
}

impl Rates {
    pub const NONE: Rates = Rates {
        fail: 0,
        timeout: 0,
        fail_after: 0,
        delay: 0,
        cut: 0,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    Pass,
    Delay(u64),
    Fail,
    Timeout(u64),
    FailAfter(u64),
    /// Cut the body after `permille`/1000 of it; with `error`, the stream then yields an
    /// error, else it just ends.
    Cut {
        permille: u64,
        error: bool,
    },
}

impl Fault {
    fn name(&self) -> &'static str {
        match self {
            Fault::Pass => "pass",
            Fault::Delay(_) => "delay",
            Fault::Fail => "fail",
            Fault::Timeout(_) => "timeout",
            Fault::FailAfter(_) => "fail-after",
            Fault::Cut { error: true, .. } => "cut-error",
            Fault::Cut { error: false, .. } => "cut-short",
        }
    }
}

/// The shared state of one fault plan: seed, rates, switches, counters and a log.
pub struct Faults {
    seed: u64,
    rates: Mutex<Rates>,
    enabled: AtomicBool,
    everything: AtomicBool,
    calls: Mutex<HashMap<(&'static str, String), u64>>,
    counts: Mutex<HashMap<(&'static str, &'static str), u64>>,
    log: Mutex<Vec<String>>,
    serial: AtomicU64,
    /// Faults for the next calls of an operation on a path containing a text, in order.
    script: Mutex<Vec<(&'static str, String, Fault)>>,
    /// A prefix left out of the decisions (an S3 tier's per-run prefix), so a seed replays.
    prefix: Mutex<String>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Faults(seed {}: {})", self.seed, self.summary())
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

impl Faults {
    pub fn new(seed: u64, rates: Rates) -> Arc<Faults> {
        Arc::new(Faults {
            seed,
            rates: Mutex::new(rates),
            enabled: AtomicBool::new(true),
            everything: AtomicBool::new(false),
            calls: Mutex::new(HashMap::new()),
            counts: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            serial: AtomicU64::new(0),
            script: Mutex::new(Vec::new()),
            prefix: Mutex::new(String::new()),
        })
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Off: every call passes straight through.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::SeqCst);
    }

    /// On: every call fails before reaching the inner store.
    pub fn fail_everything(&self, on: bool) {
        self.everything.store(on, Ordering::SeqCst);
    }

    pub fn set_rates(&self, rates: Rates) {
        *self.rates.lock().unwrap() = rates;
    }

    /// Makes the next call of `op` on a path containing `path` meet `fault` (whatever the
    /// rates say); several calls queue up in order.
    pub fn inject(&self, op: &'static str, path: &str, fault: Fault) {
        self.script
            .lock()
            .unwrap()
            .push((op, path.to_string(), fault));
    }

    /// Leaves `prefix` out of the paths decisions are made on (and logged with).
    pub fn ignore_prefix(&self, prefix: &str) {
        *self.prefix.lock().unwrap() = format!("{}/", prefix.trim_end_matches('/'));
    }

    /// Scripted faults not yet met.
    pub fn pending(&self) -> usize {
        self.script.lock().unwrap().len()
    }

    /// Wraps `inner` so that its calls go through this plan.
    pub fn wrap(self: &Arc<Self>, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        Arc::new(FaultyStore {
            inner,
            faults: self.clone(),
        })
    }

    /// How many faults of each kind were injected into each operation.
    pub fn count(&self, op: &str, fault: &str) -> u64 {
        let counts = self.counts.lock().unwrap();
        counts
            .iter()
            .filter(|((o, f), _)| (op == "*" || *o == op) && (fault == "*" || *f == fault))
            .map(|(_, n)| n)
            .sum()
    }

    /// One line per injected fault, in the order they happened.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn summary(&self) -> String {
        let counts = self.counts.lock().unwrap();
        let mut rows: Vec<_> = counts
            .iter()
            .map(|((op, fault), n)| format!("{op}/{fault}={n}"))
            .collect();
        rows.sort();
        rows.join(" ")
    }

    /// The fault for the next call of `op` on `path`.
    fn decide(&self, op: &'static str, path: &str, can_cut: bool) -> Fault {
        if !self.enabled.load(Ordering::SeqCst) {
            return Fault::Pass;
        }
        let prefix = self.prefix.lock().unwrap().clone();
        let path = path.strip_prefix(prefix.as_str()).unwrap_or(path);
        let scripted = {
            let mut script = self.script.lock().unwrap();
            let at = script
                .iter()
                .position(|(o, p, _)| *o == op && path.contains(p.as_str()));
            at.map(|i| script.remove(i).2)
        };
        let fault = if let Some(fault) = scripted {
            fault
        } else if self.everything.load(Ordering::SeqCst) {
            Fault::Fail
        } else {
            let n = {
                let mut calls = self.calls.lock().unwrap();
                let n = calls.entry((op, path.to_string())).or_insert(0);
                *n += 1;
                *n
            };
            let r = splitmix(self.seed ^ splitmix(hash_str(op) ^ splitmix(hash_str(path) ^ n)));
            let roll = (r % 1000) as u32;
            let extra = (r >> 20) % 1000;
            let ms = 1 + (r >> 40) % 40;
            let rates = *self.rates.lock().unwrap();
            let mut at = 0;
            let mut hit = |rate: u32| {
                at += rate;
                roll < at
            };
            if hit(rates.fail) {
                Fault::Fail
            } else if hit(rates.timeout) {
                Fault::Timeout(ms)
            } else if hit(rates.fail_after) {
                Fault::FailAfter(ms)
            } else if hit(rates.delay) {
                Fault::Delay(ms)
            } else if can_cut && hit(rates.cut) {
                Fault::Cut {
                    permille: extra,
                    error: r & 1 == 0,
                }
            } else {
                Fault::Pass
            }
        };
        if fault != Fault::Pass {
            *self
                .counts
                .lock()
                .unwrap()
                .entry((op, fault.name()))
                .or_insert(0) += 1;
            let serial = self.serial.fetch_add(1, Ordering::SeqCst);
            let line = format!("#{serial} {op} {path}: {fault:?}");
            if std::env::var_os("STRATA_FAULT_LOG").is_some() {
                eprintln!("  fault {line}");
            }
            self.log.lock().unwrap().push(line);
        }
        fault
    }
}

fn injected(what: &str, op: &str, path: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "faulty",
        source: format!("injected {what} during {op} of {path}").into(),
    }
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Runs `call` under `fault`: before (fail, timeout, delay) or after (fail-after) it.
async fn around<T>(
    fault: Fault,
    op: &'static str,
    path: &str,
    call: impl Future<Output = Result<T>>,
) -> Result<T> {
    match fault {
        Fault::Fail => Err(injected("connection reset", op, path)),
        Fault::Timeout(ms) => {
            sleep_ms(ms).await;
            Err(injected("request timeout", op, path))
        }
        Fault::Delay(ms) => {
            sleep_ms(ms).await;
            call.await
        }
        Fault::FailAfter(ms) => {
            let result = call.await;
            sleep_ms(ms).await;
            match result {
                Ok(_) => Err(injected("timeout after the request was sent", op, path)),
                Err(e) => Err(e),
            }
        }
        Fault::Pass | Fault::Cut { .. } => call.await,
    }
}

#[derive(Debug)]
struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    faults: Arc<Faults>,
}

impl std::fmt::Display for FaultyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Faulty({})", self.inner)
    }
}

/// A body stream that yields at most `keep` bytes, then an error (`error`) or its end.
fn cut_stream(
    body: BoxStream<'static, Result<Bytes>>,
    keep: u64,
    error: bool,
    path: String,
) -> BoxStream<'static, Result<Bytes>> {
    struct State {
        body: BoxStream<'static, Result<Bytes>>,
        left: u64,
        done: bool,
    }
    let state = State {
        body,
        left: keep,
        done: false,
    };
    futures::stream::unfold(state, move |mut s| {
        let path = path.clone();
        async move {
            if s.done {
                return None;
            }
            if s.left == 0 {
                s.done = true;
                return if error {
                    Some((Err(injected("connection cut mid-body", "get", &path)), s))
                } else {
                    None
                };
            }
            match s.body.next().await {
                Some(Ok(chunk)) => {
                    let take = (chunk.len() as u64).min(s.left);
                    s.left -= take;
                    Some((Ok(chunk.slice(..take as usize)), s))
                }
                other => {
                    s.done = true;
                    other.map(|item| (item, s))
                }
            }
        }
    })
    .boxed()
}

impl ObjectStore for FaultyStore {
    fn put_opts<'a, 'b, 't>(
        &'a self,
        location: &'b Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Fut<'t, PutResult>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        Box::pin(async move {
            let path = location.to_string();
            let fault = self.faults.decide("put", &path, false);
            around(
                fault,
                "put",
                &path,
                self.inner.put_opts(location, payload, opts),
            )
            .await
        })
    }

    fn put_multipart_opts<'a, 'b, 't>(
        &'a self,
        location: &'b Path,
        opts: PutMultipartOptions,
    ) -> Fut<'t, Box<dyn MultipartUpload>>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        Box::pin(async move {
            let path = location.to_string();
            let fault = self.faults.decide("multipart-start", &path, false);
            let upload = around(
                fault,
                "multipart-start",
                &path,
                self.inner.put_multipart_opts(location, opts),
            )
            .await?;
            Ok(Box::new(FaultyUpload {
                inner: upload,
                faults: self.faults.clone(),
                path,
                parts: 0,
            }) as Box<dyn MultipartUpload>)
        })
    }

    fn get_opts<'a, 'b, 't>(&'a self, location: &'b Path, options: GetOptions) -> Fut<'t, GetResult>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        Box::pin(async move {
            let path = location.to_string();
            let op = if options.head { "head" } else { "get" };
            let fault = self.faults.decide(op, &path, !options.head);
            let mut result =
                around(fault, op, &path, self.inner.get_opts(location, options)).await?;
            if let Fault::Cut { permille, error } = fault {
                let len = result.range.end - result.range.start;
                if len > 0 {
                    let keep = len * permille / 1000;
                    let body = match result.payload {
                        GetResultPayload::Stream(s) => s,
                        GetResultPayload::File(..) => {
                            return Err(injected("cut of a file payload", op, &path));
                        }
                    };
                    result.payload = GetResultPayload::Stream(cut_stream(body, keep, error, path));
                }
            }
            Ok(result)
        })
    }

    fn get_ranges<'a, 'b, 'c, 't>(
        &'a self,
        location: &'b Path,
        ranges: &'c [Range<u64>],
    ) -> Fut<'t, Vec<Bytes>>
    where
        'a: 't,
        'b: 't,
        'c: 't,
        Self: 't,
    {
        Box::pin(async move {
            let mut out = Vec::with_capacity(ranges.len());
            for range in ranges {
                out.push(self.get_range(location, range.clone()).await?);
            }
            Ok(out)
        })
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let inner = self.inner.clone();
        let faults = self.faults.clone();
        locations
            .then(move |location| {
                let inner = inner.clone();
                let faults = faults.clone();
                async move {
                    let location = location?;
                    let path = location.to_string();
                    let fault = faults.decide("delete", &path, false);
                    around(fault, "delete", &path, inner.delete(&location)).await?;
                    Ok(location)
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let path = prefix.map(|p| p.to_string()).unwrap_or_default();
        match self.faults.decide("list", &path, true) {
            Fault::Fail | Fault::Timeout(_) => {
                futures::stream::once(
                    async move { Err(injected("connection reset", "list", &path)) },
                )
                .boxed()
            }
            Fault::Cut { permille: n, .. } | Fault::FailAfter(n) => {
                // Some entries, then an error: a listing cut between pages.
                let keep = (n % 8) as usize;
                let head = self.inner.list(prefix).take(keep);
                let tail = futures::stream::once(async move {
                    Err(injected("connection cut mid-listing", "list", &path))
                });
                head.chain(tail).boxed()
            }
            Fault::Delay(ms) => {
                let inner = self.inner.list(prefix);
                futures::stream::once(sleep_ms(ms))
                    .map(|_| futures::stream::empty())
                    .flatten()
                    .chain(inner)
                    .boxed()
            }
            Fault::Pass => self.inner.list(prefix),
        }
    }

    fn list_with_delimiter<'a, 'b, 't>(&'a self, prefix: Option<&'b Path>) -> Fut<'t, ListResult>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        Box::pin(async move {
            let path = prefix.map(|p| p.to_string()).unwrap_or_default();
            let fault = self.faults.decide("list", &path, false);
            around(fault, "list", &path, self.inner.list_with_delimiter(prefix)).await
        })
    }

    fn copy_opts<'a, 'b, 'c, 't>(
        &'a self,
        from: &'b Path,
        to: &'c Path,
        options: CopyOptions,
    ) -> Fut<'t, ()>
    where
        'a: 't,
        'b: 't,
        'c: 't,
        Self: 't,
    {
        Box::pin(async move {
            let path = to.to_string();
            let fault = self.faults.decide("copy", &path, false);
            around(
                fault,
                "copy",
                &path,
                self.inner.copy_opts(from, to, options),
            )
            .await
        })
    }
}

#[derive(Debug)]
struct FaultyUpload {
    inner: Box<dyn MultipartUpload>,
    faults: Arc<Faults>,
    path: String,
    parts: u64,
}

impl MultipartUpload for FaultyUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.parts += 1;
        let path = format!("{}#part{}", self.path, self.parts);
        let fault = self.faults.decide("part", &path, false);
        if fault == Fault::Fail {
            // Never handed to the inner upload: the part is simply missing.
            return Box::pin(async move { Err(injected("connection reset", "part", &path)) });
        }
        let part = self.inner.put_part(data);
        Box::pin(async move { around(fault, "part", &path, part).await })
    }

    fn complete<'a, 't>(&'a mut self) -> Fut<'t, PutResult>
    where
        'a: 't,
        Self: 't,
    {
        Box::pin(async move {
            let fault = self.faults.decide("complete", &self.path, false);
            let path = self.path.clone();
            around(fault, "complete", &path, self.inner.complete()).await
        })
    }

    fn abort<'a, 't>(&'a mut self) -> Fut<'t, ()>
    where
        'a: 't,
        Self: 't,
    {
        Box::pin(async move {
            let fault = self.faults.decide("abort", &self.path, false);
            let path = self.path.clone();
            around(fault, "abort", &path, self.inner.abort()).await
        })
    }
}
