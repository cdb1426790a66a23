//! The deployed server's framing — an oversize header is answered but its
//! payload left in the stream — and its one-frame-at-a-time connection loop.

use super::state::Shared;
use crate::frame::{FrameError, HEADER_LEN};
use crate::shutdown::Shutdown;
use std::io;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixStream;

/// Largest initial buffer for a payload: a frame's buffer grows with the
/// bytes that actually arrive, so a 4-byte header never buys the announced
/// length (at most this much is reserved before data comes).
const PAYLOAD_CHUNK: usize = 64 * 1024;

/// One read from the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A whole payload.
    Payload(Vec<u8>),
    /// A header announcing more than the limit. Its payload is *not*
    /// consumed: the next read takes whatever follows as a new header.
    TooLarge {
        /// The announced length.
        length: u32,
    },
    /// Clean end of stream between frames.
    Eof,
}

/// Read the next frame the way the deployed server does.
///
/// The payload buffer starts at most [`PAYLOAD_CHUNK`] bytes and grows with
/// the bytes that arrive. End of stream inside a frame is a
/// `TruncatedFrame` error (`io::ErrorKind::InvalidData`).
pub async fn read_frame<R: AsyncRead + Unpin>(rd: &mut R, max: usize) -> io::Result<Incoming> {
    let mut head = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        let n = rd.read(&mut head[got..]).await?;
        if n == 0 {
            if got == 0 {
                return Ok(Incoming::Eof);
            }
            return Err(FrameError::TruncatedFrame {
                expected: HEADER_LEN as u64,
                received: got as u64,
            }
            .into());
        }
        got += n;
    }
    let length = u32::from_be_bytes(head);
    if length as usize > max {
        // The deployed defect, kept on purpose: answer, but leave the
        // announced payload in the stream.
        return Ok(Incoming::TooLarge { length });
    }
    let mut payload = Vec::with_capacity((length as usize).min(PAYLOAD_CHUNK));
    (&mut *rd)
        .take(u64::from(length))
        .read_to_end(&mut payload)
        .await?;
    if payload.len() < length as usize {
        return Err(FrameError::TruncatedFrame {
            expected: (HEADER_LEN + length as usize) as u64,
            received: (HEADER_LEN + payload.len()) as u64,
        }
        .into());
    }
    Ok(Incoming::Payload(payload))
}

/// Write one response frame (4-byte BE length + JSON) in a single write.
async fn write_response<W: AsyncWrite + Unpin>(wr: &mut W, response: &[u8]) -> io::Result<()> {
    let mut frame = Vec::with_capacity(HEADER_LEN + response.len());
    frame.extend_from_slice(&(response.len() as u32).to_be_bytes());
    frame.extend_from_slice(response);
    wr.write_all(&frame).await
}

/// One connection: frames one at a time until the peer closes, an I/O
/// error, an epoch-transition close, or shutdown (between frames).
pub(super) async fn serve_connection(stream: UnixStream, shared: Arc<Shared>, mut stop: Shutdown) {
    let (mut rd, mut wr) = stream.into_split();
    let max = shared.config.max_frame_bytes;
    loop {
        let incoming = tokio::select! {
            _ = stop.recv() => break,
            r = read_frame(&mut rd, max) => r,
        };
        let answer = match incoming {
            Ok(Incoming::Eof) => break,
            Ok(Incoming::TooLarge { length }) => shared.reject(
                "FrameTooLarge",
                &format!("Transaction too large: {length} bytes (max: {max})"),
                false,
            ),
            Ok(Incoming::Payload(payload)) => shared.handle(&payload).await,
            Err(e) => {
                let kind = match e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<FrameError>())
                {
                    Some(f) => f.kind(),
                    None => "ConnectionLost",
                };
                eprintln!("txlane-deployed-server: connection ended: {e}");
                shared.stats.error(kind);
                break;
            }
        };
        if let Err(e) = write_response(&mut wr, &answer.response).await {
            eprintln!("txlane-deployed-server: write failed: {e}");
            shared.stats.error("ConnectionLost");
            break;
        }
        shared.stats.update(|c| {
            if answer.success {
                c.responses_ok += 1;
            } else {
                c.responses_error += 1;
            }
        });
        shared.transactions_done(answer.accepted);
        if answer.close {
            break;
        }
    }
    // Dropping both halves closes the connection.
}
