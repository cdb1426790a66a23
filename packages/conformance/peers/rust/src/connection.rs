//! Reading and writing frames on a byte stream.
//!
//! Like mini-redis's `Connection`, but split into a read side and a write side
//! so that each can be owned by its own task: a txlane peer must keep reading
//! while it writes (SPEC §5), and a receiver writes responses from a different
//! task than the one decoding requests.

use crate::frame::{FrameDecoder, FrameError, HEADER_LEN};
use bytes::{Buf, Bytes, BytesMut};
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Initial read buffer size: one typical 32 KiB batch plus headroom, so the
/// common frame arrives without the buffer growing.
const READ_BUFFER: usize = 64 * 1024;

/// Reads frames from `R`.
#[derive(Debug)]
pub struct FrameReader<R> {
    io: R,
    buf: BytesMut,
    decoder: FrameDecoder,
    /// How long a read may make no progress while inside a frame (`None`:
    /// forever). Between frames an idle persistent connection is normal, so
    /// no timeout applies there.
    frame_timeout: Option<Duration>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader with the given payload limit and stall timeout.
    pub fn new(io: R, max_frame_bytes: usize, frame_timeout: Option<Duration>) -> Self {
        FrameReader {
            io,
            buf: BytesMut::with_capacity(READ_BUFFER),
            decoder: FrameDecoder::new(max_frame_bytes),
            frame_timeout,
        }
    }

    /// Read the next frame's payload.
    ///
    /// `Ok(None)` is a clean end of stream between frames. Framing errors are
    /// `io::ErrorKind::InvalidData` wrapping a [`FrameError`] (see
    /// [`frame_error`]); a stall inside a frame is `io::ErrorKind::TimedOut`.
    ///
    /// Cancel safe: bytes already read stay buffered for the next call.
    pub async fn read_frame(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buf)? {
                return Ok(Some(frame));
            }
            if self.buf.capacity() - self.buf.len() < HEADER_LEN {
                self.buf.reserve(READ_BUFFER);
            }
            let idle = self.decoder.is_idle(&self.buf);
            let n = match self.frame_timeout {
                Some(limit) if !idle => {
                    match tokio::time::timeout(limit, self.io.read_buf(&mut self.buf)).await {
                        Ok(r) => r?,
                        Err(_) => {
                            return Err(io::Error::new(
                                io::ErrorKind::TimedOut,
                                format!("stalled inside a frame for {} ms", limit.as_millis()),
                            ))
                        }
                    }
                }
                _ => self.io.read_buf(&mut self.buf).await?,
            };
            if n == 0 {
                return Ok(self.decoder.decode_eof(&mut self.buf)?);
            }
        }
    }

    /// Read and discard whatever arrives until end of stream or `limit`
    /// elapses. Used for a lingering close: closing a socket with unread
    /// input makes TCP send a reset, which can destroy the error response we
    /// just wrote before the peer reads it.
    pub async fn discard_until_eof(&mut self, limit: Duration) {
        let drain = async {
            let mut scratch = [0u8; 8192];
            loop {
                match self.io.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        };
        let _ = tokio::time::timeout(limit, drain).await;
    }

    /// The underlying reader.
    pub fn into_inner(self) -> R {
        self.io
    }
}

/// The [`FrameError`] inside an error returned by [`FrameReader::read_frame`].
pub fn frame_error(e: &io::Error) -> Option<&FrameError> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<FrameError>())
}

/// Writes frames to `W`.
#[derive(Debug)]
pub struct FrameWriter<W> {
    io: W,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    /// A writer over `io`.
    pub fn new(io: W) -> Self {
        FrameWriter { io }
    }

    /// Write one frame. Header and payload go out in one vectored write
    /// where the stream supports it, so no copy of the payload is made.
    pub async fn write_frame(&mut self, payload: &[u8]) -> io::Result<()> {
        let length = u32::try_from(payload.len()).map_err(|_| {
            io::Error::from(FrameError::FrameTooLarge {
                length: payload.len() as u64,
                max: u64::from(u32::MAX),
            })
        })?;
        let header = length.to_be_bytes();
        let mut buf = Buf::chain(&header[..], payload);
        self.io.write_all_buf(&mut buf).await
    }

    /// Flush buffered bytes, if the stream buffers.
    pub async fn flush(&mut self) -> io::Result<()> {
        self.io.flush().await
    }

    /// Half-close: flush, then shut down the write direction so the peer
    /// reads end of stream.
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.io.shutdown().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    #[tokio::test]
    async fn round_trip_and_eof() {
        let (a, b) = duplex(64);
        let mut w = FrameWriter::new(a);
        let mut r = FrameReader::new(b, 1024, None);
        let writer = tokio::spawn(async move {
            for p in [&b"hello"[..], b"", &[7u8; 300][..]] {
                w.write_frame(p).await?;
            }
            w.shutdown().await
        });
        let mut got = Vec::new();
        while let Some(f) = r
            .read_frame()
            .await
            .map_err(|e| e.to_string())
            .unwrap_or(None)
        {
            got.push(f.to_vec());
        }
        assert_eq!(got, vec![b"hello".to_vec(), vec![], vec![7u8; 300]]);
        assert!(matches!(writer.await, Ok(Ok(()))));
    }

    #[tokio::test]
    async fn truncated_is_invalid_data() {
        let (mut a, b) = duplex(64);
        let mut r = FrameReader::new(b, 1024, None);
        a.write_all(&[0, 0, 0, 9, 1, 2]).await.ok();
        drop(a);
        let err = r.read_frame().await.err();
        let kind = err.as_ref().map(|e| e.kind());
        assert_eq!(kind, Some(io::ErrorKind::InvalidData));
        let inner = err.as_ref().and_then(frame_error).cloned();
        assert_eq!(
            inner,
            Some(FrameError::TruncatedFrame {
                expected: 13,
                received: 6
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stall_inside_a_frame_times_out_but_idle_does_not() {
        let (mut a, b) = duplex(64);
        let mut r = FrameReader::new(b, 1024, Some(Duration::from_millis(50)));
        // Idle between frames: no timeout even after a long wait.
        let idle = tokio::time::timeout(Duration::from_secs(5), r.read_frame()).await;
        assert!(idle.is_err(), "an idle connection must not time out");
        a.write_all(&[0, 0]).await.ok();
        let err = r.read_frame().await.err().map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::TimedOut));
    }
}
