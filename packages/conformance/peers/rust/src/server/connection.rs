//! One connection of the receiver: a reader that decodes frames and queues
//! them for the handler pool and, in order, for a writer that answers them.

use super::handler::{Job, Outcome, Shared, Slot};
use super::{RespondMode, DEFAULT_LINGER};
use crate::connection::{frame_error, FrameReader, FrameWriter};
use crate::frame::FrameError;
use crate::listener::{Stream, WriteHalf};
use crate::response::Response;
use crate::shutdown::Shutdown;
use std::io;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Serve one connection until end of stream, an error that closes it, or
/// shutdown.
pub(super) async fn serve_connection(
    stream: Stream,
    shared: Arc<Shared>,
    jobs: mpsc::Sender<Job>,
    mut stop: Shutdown,
) {
    let (rd, wr) = stream.into_split();
    let mut reader = FrameReader::new(
        rd,
        shared.config.max_frame_bytes,
        shared.config.frame_timeout,
    );
    let json = shared.config.respond == RespondMode::Json;
    let (slot_tx, slot_rx) = mpsc::channel::<Slot>(shared.config.pending_responses.max(1));
    // A silent receiver (`--respond none`) still holds its write half until the connection
    // ends: dropping it would half-close at once, and a client that takes the FIN as the end
    // of the connection would reconnect after every few frames.
    let (writer, silent_write_half) = if json {
        (
            Some(tokio::spawn(write_responses(wr, slot_rx, shared.clone()))),
            None,
        )
    } else {
        (None, Some(wr))
    };
    let mut linger = false;

    loop {
        let frame = tokio::select! {
            // Finish the frame being decoded? No: a frame not yet complete
            // is not "decoded"; frames already handed on are still finished.
            _ = stop.recv() => break,
            f = reader.read_frame() => f,
        };
        match frame {
            Ok(Some(payload)) => {
                let reply = if json {
                    let (tx, rx) = oneshot::channel();
                    // Reserve the response's place in order *before* the job
                    // can complete, so responses cannot overtake each other.
                    if slot_tx.send(Slot::Waiting(rx)).await.is_err() {
                        break; // writer gone: the client stopped reading
                    }
                    Some(tx)
                } else {
                    None
                };
                if jobs.send(Job { payload, reply }).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                match frame_error(&e) {
                    Some(FrameError::FrameTooLarge { length, max }) => {
                        shared.stats.error("FrameTooLarge");
                        if json {
                            let outcome = Outcome {
                                response: Response::err(format!(
                                    "Transaction too large: {length} bytes (max: {max})"
                                )),
                                submitted: 0,
                            };
                            let _ = slot_tx.send(Slot::Ready(outcome)).await;
                        }
                        linger = true;
                    }
                    Some(FrameError::TruncatedFrame { .. }) => shared.stats.error("TruncatedFrame"),
                    None if e.kind() == io::ErrorKind::TimedOut => {
                        shared.stats.error("FrameTimeout")
                    }
                    None => shared.stats.error("ConnectionLost"),
                }
                break;
            }
        }
    }
    // Dropping the slot sender lets the writer finish what is queued, then
    // half-close; only then is the connection dropped.
    drop(slot_tx);
    if let Some(writer) = writer {
        let _ = writer.await;
    }
    drop(silent_write_half);
    if linger && !stop.is_shutdown() {
        reader.discard_until_eof(DEFAULT_LINGER).await;
    }
}

/// The writer task: write each slot's response as soon as it and every slot
/// before it are decided, then half-close.
async fn write_responses(wr: WriteHalf, mut slots: mpsc::Receiver<Slot>, shared: Arc<Shared>) {
    let mut writer = FrameWriter::new(tokio::io::BufWriter::new(wr));
    while let Some(slot) = slots.recv().await {
        let outcome = match slot {
            Slot::Ready(o) => o,
            Slot::Waiting(rx) => match rx.await {
                Ok(o) => o,
                // A handler dropped the job without answering: only at
                // runtime shutdown. Nothing sensible to write.
                Err(_) => break,
            },
        };
        let payload = outcome.response.encode();
        if let Err(e) = writer.write_frame(&payload).await {
            eprintln!("txlane-receiver: write failed: {e}");
            shared.stats.error("ConnectionLost");
            return;
        }
        // Flush when nothing else is ready: one syscall for a burst of
        // responses, no delay for a lone one.
        if slots.is_empty() {
            if let Err(e) = writer.flush().await {
                eprintln!("txlane-receiver: write failed: {e}");
                shared.stats.error("ConnectionLost");
                return;
            }
        }
        shared.stats.update(|c| {
            if outcome.response.success {
                c.responses_ok += 1;
            } else {
                c.responses_error += 1;
            }
        });
        shared.transactions_done(outcome.submitted);
    }
    let _ = writer.shutdown().await;
}
