//! A scan as a pull-based reader of batches ([`RecordBatchReader`]), for consumers that ask
//! for the next batch rather than take a callback: the C ABI's Arrow stream, Arrow-based
//! engines.
//!
//! The scan runs on a thread of its own and hands batches over through a small bounded
//! channel, so a few batches are decoded ahead of the consumer and memory stays bounded
//! however large the input. Dropping the reader stops the scan at its next batch and waits
//! for its thread, so no work outlives the reader.
//!
//! Unlike the column split's hand-overs (`super::handoff`), these sleep at once: the consumer
//! is usually light and mostly waiting, and spinning it would take a core from the decoders
//! (in-process through the C ABI on 2 threads, no faster either way).

use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::JoinHandle;

use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchReader};

use super::ordered::stopped;
use super::scan::Scan;
use crate::error::{Error, Result};

/// Batches decoded ahead of the consumer: enough to keep the decoder busy while the consumer
/// works on one, few enough to bound memory.
const AHEAD: usize = 4;

enum Message {
    /// The output schema, first, as soon as the footers are read.
    Schema(SchemaRef),
    Batch(RecordBatch),
    Failed(Error),
    /// The scan ended normally. A channel closed without it means the thread died.
    Done,
}

/// The batches of a scan, decoded ahead on a thread of their own as they are read; see
/// [`Scan::reader`].
pub struct ScanReader {
    schema: SchemaRef,
    messages: Option<Receiver<Message>>,
    worker: Option<JoinHandle<()>>,
}

impl Scan {
    /// Starts the scan on a thread of its own and returns its batches as a reader, once the
    /// footers are read: errors opening the input or resolving columns come from here, errors
    /// met while decoding from the reader's items.
    ///
    /// ```no_run
    /// # fn main() -> strata::Result<()> {
    /// let mut reader = strata::Scan::new("big.parquet").columns(&["fare"]).reader()?;
    /// while let Some(batch) = reader.next_batch()? {
    ///     println!("{} rows", batch.num_rows());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn reader(self) -> Result<ScanReader> {
        let (send, messages) = sync_channel(AHEAD);
        let worker = std::thread::Builder::new()
            .name("strata-scan".into())
            .spawn(move || {
                let mut announced = false;
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.execute_announcing(
                        &mut |schema| {
                            announced = true;
                            send.send(Message::Schema(schema.clone()))
                                .map_err(|_| stopped())
                        },
                        &mut |batch| send.send(Message::Batch(batch)).map_err(|_| stopped()),
                    )
                }));
                let last = match run {
                    Ok(Ok((schema, _))) if !announced => {
                        vec![Message::Schema(schema), Message::Done]
                    }
                    Ok(Ok(_)) => vec![Message::Done],
                    Ok(Err(e)) => vec![Message::Failed(e)],
                    Err(_) => vec![Message::Failed(Error::internal("the scan panicked"))],
                };
                for message in last {
                    // A consumer that is gone wants nothing more.
                    if send.send(message).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| Error::internal(format!("cannot start the scan thread: {e}")))?;
        let mut reader = ScanReader {
            schema: std::sync::Arc::new(arrow::datatypes::Schema::empty()),
            messages: Some(messages),
            worker: Some(worker),
        };
        reader.schema = match reader.receive() {
            Some(Message::Schema(schema)) => schema,
            Some(Message::Failed(e)) => return Err(e),
            _ => return Err(Error::internal("the scan thread ended before the schema")),
        };
        Ok(reader)
    }
}

impl ScanReader {
    fn receive(&mut self) -> Option<Message> {
        let message = self.messages.as_ref()?.recv().ok();
        if !matches!(message, Some(Message::Schema(_) | Message::Batch(_))) {
            self.finish();
        }
        message
    }

    /// Stops the scan (its next send fails) and waits for its thread.
    fn finish(&mut self) {
        self.messages = None;
        if let Some(worker) = self.worker.take() {
            // The thread catches the scan's panics; nothing else in it can panic.
            let _ = worker.join();
        }
    }
}

impl ScanReader {
    /// The next batch, `None` at the end; strata's error (with its kind) when decoding failed.
    /// After an error or the end, always `None`.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if self.messages.is_none() {
                return Ok(None);
            }
            return match self.receive() {
                Some(Message::Batch(batch)) => Ok(Some(batch)),
                Some(Message::Schema(_)) => continue,
                Some(Message::Done) => Ok(None),
                Some(Message::Failed(e)) => Err(e),
                None => Err(Error::internal("the scan thread ended without finishing")),
            };
        }
    }
}

impl Iterator for ScanReader {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch()
            .map_err(|e| ArrowError::ExternalError(Box::new(e)))
            .transpose()
    }
}

impl RecordBatchReader for ScanReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl Drop for ScanReader {
    fn drop(&mut self) {
        self.finish();
    }
}
