//! Length-prefixed framing (SPEC §2, §3): a streaming decoder and an encoder.
//!
//! The decoder is a two-state machine in the style of tokio-util's
//! `LengthDelimitedCodec` (`Head`, then `Data(len)`), written by hand so that
//! the error kinds and their numbers are exactly the ones the spec names. The
//! announced length is compared with the limit as soon as the four header
//! bytes are known, before a single payload byte is buffered or reserved.
//!
//! Even a length within the limit is not reserved up front: four bytes on the
//! wire must not buy a 10 MiB allocation. The buffer grows with the payload
//! bytes that actually arrive, at most doubling what is already there (and
//! at least [`RESERVE_CHUNK`]), so memory stays proportional to the input.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::io;

/// Size of the length prefix, in bytes.
pub const HEADER_LEN: usize = 4;

/// Default `maxFrameBytes`: 10 MiB, the deployed server's limit (SPEC §3).
pub const DEFAULT_MAX_FRAME_BYTES: usize = 10 * 1024 * 1024;

/// Most the decoder reserves ahead of the payload bytes received so far
/// (when fewer than this have arrived): one typical 32 KiB batch fits.
pub const RESERVE_CHUNK: usize = 64 * 1024;

/// Make room for more of a `length`-byte payload of which `buf` holds a
/// prefix: grow by at most `max(buf.len(), RESERVE_CHUNK)` and never past the
/// payload's end. Geometric growth keeps the copying linear overall.
fn reserve_for_payload(buf: &mut BytesMut, length: usize) {
    let missing = length.saturating_sub(buf.len());
    let step = missing.min(buf.len().max(RESERVE_CHUNK));
    buf.reserve(step);
}

/// A framing error. Converted into [`io::Error`] of kind
/// [`io::ErrorKind::InvalidData`] with this value as the inner error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The header announced more than `max` payload bytes. The stream cannot
    /// be resynchronised after this error.
    #[error("frame too large: {length} bytes (max: {max})")]
    FrameTooLarge {
        /// The announced payload length.
        length: u64,
        /// The decoder's limit.
        max: u64,
    },
    /// The stream ended inside a frame. `expected` is 4 while the header is
    /// incomplete and `4 + length` after it; `received` counts the bytes of
    /// this frame (header included) that did arrive.
    #[error("truncated frame: expected {expected} bytes, received {received}")]
    TruncatedFrame {
        /// Bytes needed to finish the header or the whole frame.
        expected: u64,
        /// Bytes of the frame that arrived.
        received: u64,
    },
}

impl FrameError {
    /// The error's kind as spelled in reports and test vectors.
    pub fn kind(&self) -> &'static str {
        match self {
            FrameError::FrameTooLarge { .. } => "FrameTooLarge",
            FrameError::TruncatedFrame { .. } => "TruncatedFrame",
        }
    }
}

impl From<FrameError> for io::Error {
    fn from(e: FrameError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// Where the decoder is inside the current frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the 4 header bytes.
    Head,
    /// Header consumed; waiting for this many payload bytes.
    Data(usize),
    /// A `FrameTooLarge` for this announced length was returned; no later
    /// byte is ever read as a header again.
    Failed(u64),
}

/// Streaming frame decoder.
///
/// Feed bytes into a [`BytesMut`] and call [`FrameDecoder::decode`] until it
/// returns `Ok(None)` ("need more bytes", which is not an error); at end of
/// stream call [`FrameDecoder::decode_eof`].
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_frame_bytes: usize,
    state: State,
}

impl FrameDecoder {
    /// A decoder that accepts payloads of at most `max_frame_bytes` bytes.
    pub fn new(max_frame_bytes: usize) -> Self {
        FrameDecoder {
            max_frame_bytes,
            state: State::Head,
        }
    }

    /// The configured limit.
    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame_bytes
    }

    /// True when the decoder is between frames and `buf` holds no partial
    /// frame, i.e. the stream could end here cleanly. Used by the server to
    /// apply the stall timeout only inside a frame.
    pub fn is_idle(&self, buf: &BytesMut) -> bool {
        self.state == State::Head && buf.is_empty()
    }

    /// Decode the next frame from `buf`, consuming its bytes.
    ///
    /// Returns `Ok(None)` when `buf` does not yet hold a whole frame. After a
    /// `FrameTooLarge` error every later call returns the same error, because
    /// the bytes that follow cannot be trusted as a header.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        loop {
            match self.state {
                State::Failed(length) => return Err(self.too_large(length)),
                State::Head => {
                    if buf.len() < HEADER_LEN {
                        return Ok(None);
                    }
                    let length = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                    // Checked before anything is reserved for the payload (SPEC §3).
                    if length > self.max_frame_bytes {
                        self.state = State::Failed(length as u64);
                        return Err(self.too_large(length as u64));
                    }
                    buf.advance(HEADER_LEN);
                    self.state = State::Data(length);
                }
                State::Data(length) => {
                    if buf.len() < length {
                        // Room for what may arrive next, not for what the
                        // header announced.
                        reserve_for_payload(buf, length);
                        return Ok(None);
                    }
                    self.state = State::Head;
                    return Ok(Some(buf.split_to(length).freeze()));
                }
            }
        }
    }

    /// Decode at end of stream: like [`decode`](Self::decode), but bytes of an
    /// unfinished frame are a `TruncatedFrame` error (and are discarded).
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        match self.state {
            State::Head if buf.is_empty() => Ok(None),
            State::Head => {
                let received = buf.len() as u64;
                buf.clear();
                Err(FrameError::TruncatedFrame {
                    expected: HEADER_LEN as u64,
                    received,
                })
            }
            State::Data(length) => {
                let received = (HEADER_LEN + buf.len()) as u64;
                buf.clear();
                self.state = State::Head;
                Err(FrameError::TruncatedFrame {
                    expected: (HEADER_LEN + length) as u64,
                    received,
                })
            }
            State::Failed(length) => Err(self.too_large(length)),
        }
    }

    fn too_large(&self, length: u64) -> FrameError {
        FrameError::FrameTooLarge {
            length,
            max: self.max_frame_bytes as u64,
        }
    }
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(DEFAULT_MAX_FRAME_BYTES)
    }
}

/// Append one frame (header + payload) to `dst`.
///
/// Fails with `FrameTooLarge` when the payload does not fit the 32-bit
/// length field; the caller checks its own, usually smaller, limit first.
pub fn encode_frame(payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
    let length = u32::try_from(payload.len()).map_err(|_| FrameError::FrameTooLarge {
        length: payload.len() as u64,
        max: u64::from(u32::MAX),
    })?;
    dst.reserve(HEADER_LEN + payload.len());
    dst.put_u32(length);
    dst.put_slice(payload);
    Ok(())
}

/// One frame as a fresh buffer; see [`encode_frame`].
pub fn frame_bytes(payload: &[u8]) -> Result<Bytes, FrameError> {
    let mut dst = BytesMut::with_capacity(HEADER_LEN + payload.len());
    encode_frame(payload, &mut dst)?;
    Ok(dst.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decode `input` fed in the given chunks, then end of stream.
    fn decode_chunks(chunks: &[&[u8]], max: usize) -> (Vec<Vec<u8>>, Option<FrameError>) {
        let mut d = FrameDecoder::new(max);
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match d.decode(&mut buf) {
                    Ok(Some(f)) => frames.push(f.to_vec()),
                    Ok(None) => break,
                    Err(e) => return (frames, Some(e)),
                }
            }
        }
        loop {
            match d.decode_eof(&mut buf) {
                Ok(Some(f)) => frames.push(f.to_vec()),
                Ok(None) => return (frames, None),
                Err(e) => return (frames, Some(e)),
            }
        }
    }

    #[test]
    fn table() {
        struct Case {
            name: &'static str,
            input: &'static [u8],
            max: usize,
            frames: &'static [&'static [u8]],
            error: Option<FrameError>,
        }
        let cases = [
            Case {
                name: "empty stream",
                input: b"",
                max: 16,
                frames: &[],
                error: None,
            },
            Case {
                name: "two frames",
                input: &[0, 0, 0, 2, 0xaa, 0xbb, 0, 0, 0, 0],
                max: 16,
                frames: &[&[0xaa, 0xbb], &[]],
                error: None,
            },
            Case {
                name: "limit is inclusive",
                input: &[0, 0, 0, 2, 1, 2],
                max: 2,
                frames: &[&[1, 2]],
                error: None,
            },
            Case {
                name: "limit plus one",
                input: &[0, 0, 0, 3, 1, 2, 3],
                max: 2,
                frames: &[],
                error: Some(FrameError::FrameTooLarge { length: 3, max: 2 }),
            },
            Case {
                name: "truncated header",
                input: &[0, 0],
                max: 16,
                frames: &[],
                error: Some(FrameError::TruncatedFrame {
                    expected: 4,
                    received: 2,
                }),
            },
            Case {
                name: "truncated payload",
                input: &[0, 0, 0, 1, 9, 0, 0, 0, 5, 1],
                max: 16,
                frames: &[&[9]],
                error: Some(FrameError::TruncatedFrame {
                    expected: 9,
                    received: 5,
                }),
            },
        ];
        for c in cases {
            let want: Vec<Vec<u8>> = c.frames.iter().map(|f| f.to_vec()).collect();
            let n = c.input.len();
            for split in 0..=n {
                let got = decode_chunks(&[&c.input[..split], &c.input[split..]], c.max);
                assert_eq!(
                    got,
                    (want.clone(), c.error.clone()),
                    "{} split {split}",
                    c.name
                );
            }
            let bytes: Vec<&[u8]> = c.input.chunks(1).collect();
            let got = decode_chunks(&bytes, c.max);
            assert_eq!(got, (want, c.error), "{} byte by byte", c.name);
        }
    }

    #[test]
    fn oversize_is_checked_before_buffering() {
        let mut d = FrameDecoder::new(1024);
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        let cap = buf.capacity();
        assert!(d.decode(&mut buf).is_err());
        assert_eq!(buf.capacity(), cap, "nothing reserved for a rejected frame");
        // Later bytes are never a header again.
        buf.extend_from_slice(&[0, 0, 0, 0]);
        assert!(matches!(
            d.decode(&mut buf),
            Err(FrameError::FrameTooLarge {
                length: 0xffff_ffff,
                max: 1024
            })
        ));
    }

    #[test]
    fn announced_length_is_not_reserved_up_front() {
        const MAX: usize = 10 * 1024 * 1024;
        let mut d = FrameDecoder::new(MAX);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&(MAX as u32).to_be_bytes());
        buf.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(d.decode(&mut buf), Ok(None));
        assert!(
            buf.capacity() <= 2 * RESERVE_CHUNK,
            "4 header bytes reserved {} bytes",
            buf.capacity()
        );
        // As bytes arrive, capacity stays proportional to them: our step
        // at most doubles what arrived, and the allocator's amortised
        // growth may double that request once more.
        let chunk = vec![7u8; 16 * 1024];
        let mut arrived = 4;
        while arrived + chunk.len() < MAX {
            buf.extend_from_slice(&chunk);
            arrived += chunk.len();
            assert_eq!(d.decode(&mut buf), Ok(None));
            assert!(
                buf.capacity() <= 4 * arrived + 2 * RESERVE_CHUNK,
                "{} reserved after {arrived} bytes",
                buf.capacity()
            );
        }
        buf.extend_from_slice(&vec![7u8; MAX - arrived]);
        let frame = d.decode(&mut buf);
        assert!(matches!(frame, Ok(Some(ref f)) if f.len() == MAX));
    }

    #[test]
    fn errors_are_invalid_data() {
        let e: io::Error = FrameError::FrameTooLarge { length: 2, max: 1 }.into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(e.to_string(), "frame too large: 2 bytes (max: 1)");
    }

    #[test]
    fn encode_round_trip() {
        let mut dst = BytesMut::new();
        encode_frame(b"abc", &mut dst).ok();
        assert_eq!(&dst[..], &[0, 0, 0, 3, b'a', b'b', b'c']);
        let mut d = FrameDecoder::default();
        assert_eq!(d.decode(&mut dst), Ok(Some(Bytes::from_static(b"abc"))));
    }
}
