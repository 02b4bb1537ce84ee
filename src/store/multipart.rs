//! Multipart uploads to a remote tier: parts sent as they fill, a few in flight, completed as
//! the one step that makes the object visible.
//!
//! object_store's own `WriteMultipart` aborts the upload when completion fails and returns the
//! abort's error if that fails too: when the completion's answer was lost after the object
//! landed, the abort fails (the upload is gone) and the put reports "not found" instead of what
//! happened. Here the completion's own error is what the caller sees, and the caller then looks
//! at the tier to learn whether the object landed.

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use object_store::{MultipartUpload, PutPayload, PutResult, UploadPart};

use crate::error::Result;

/// Part size of multipart uploads (S3 needs at least 5 MiB per part but the last).
pub(crate) const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts in flight at once.
const PARTS_IN_FLIGHT: usize = 4;

/// An upload in progress.
pub(crate) struct Multipart {
    upload: Box<dyn MultipartUpload>,
    in_flight: FuturesUnordered<UploadPart>,
    buffer: Vec<u8>,
}

impl Multipart {
    pub fn new(upload: Box<dyn MultipartUpload>) -> Self {
        Multipart {
            upload,
            in_flight: FuturesUnordered::new(),
            buffer: Vec::with_capacity(PART_SIZE),
        }
    }

    /// Adds bytes; full parts go out, waiting while too many are in flight.
    pub async fn write(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let take = (PART_SIZE - self.buffer.len()).min(data.len());
            self.buffer.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buffer.len() == PART_SIZE {
                self.send_part().await?;
            }
        }
        Ok(())
    }

    async fn send_part(&mut self) -> Result<()> {
        while self.in_flight.len() >= PARTS_IN_FLIGHT {
            if let Some(done) = self.in_flight.next().await {
                done?;
            }
        }
        let part = std::mem::replace(&mut self.buffer, Vec::with_capacity(PART_SIZE));
        self.in_flight
            .push(self.upload.put_part(PutPayload::from(part)));
        Ok(())
    }

    /// Sends what is left and waits for every part: after this, only completion remains.
    pub async fn flush(&mut self) -> Result<()> {
        if !self.buffer.is_empty() {
            self.send_part().await?;
        }
        while let Some(done) = self.in_flight.next().await {
            done?;
        }
        Ok(())
    }

    /// Completes the upload: the object becomes visible. On an error the outcome is unknown
    /// (the answer may have been lost after the object landed): the caller finds out.
    pub async fn complete(mut self) -> Result<PutResult> {
        self.flush().await?;
        match self.upload.complete().await {
            Ok(result) => Ok(result),
            Err(e) => {
                // Frees the parts if the upload is still open; fails harmlessly if it is not.
                let _ = self.upload.abort().await;
                Err(e.into())
            }
        }
    }

    /// Gives the upload up; its parts never become an object.
    pub async fn abort(mut self) {
        self.in_flight.clear();
        let _ = self.upload.abort().await;
    }
}
