//! The real sender against scripted peers that break or stall a connection:
//! what the connection owed is resent on a new one.

mod common;

use common::{send, within, TempDir};
use std::time::Duration;
use txlane_peer::endpoint::Endpoint;
use txlane_peer::sender::{self, Delivery, SenderConfig, WorkloadSpec};

const SPEC: WorkloadSpec = WorkloadSpec {
    seed: 7,
    batches: 10,
    tx_per_batch: 20,
    tx_size: 650,
};

/// A connection that breaks with batches unacknowledged: they are resent on
/// a new connection and every batch ends up acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_batches_on_a_broken_connection_are_resent() {
    let dir = TempDir::new();
    let path = dir.join("flaky.sock");
    // The first connection dies after one unanswered frame (the sender
    // probes a new connection with one frame until a success answer, SPEC
    // §5.1); later ones answer everything.
    let server = scripted_server(
        &path,
        |conn, _| if conn == 1 { Then::Close } else { Then::Answer },
    );
    let spec = WorkloadSpec {
        batches: 10,
        ..SPEC
    };
    let sent = send(Endpoint::Unix(path), Delivery::Acknowledged, spec, 1).await;
    assert_eq!(sent.acknowledged, 10, "{sent:?}");
    assert_eq!(sent.undelivered, 0);
    assert!(
        sent.frames >= 11,
        "resent frames are counted per write: {sent:?}"
    );
    assert!(sent.errors.get("ConnectionLost").copied().unwrap_or(0) >= 1);
    let (accepted, frames) = within(server).await.expect("server task");
    assert!(accepted >= 2);
    // Frames written into the first connection after the server stopped
    // reading it count as written but never arrive, so only `>=` holds.
    assert!(
        frames >= 11 && sent.frames >= frames,
        "server read {frames}; {sent:?}"
    );
}

/// A peer that answers, then stops answering while keeping the connection
/// open: past `ack_timeout` the connection is dropped (`AckTimeout`) and its
/// unanswered batches are resent on a new one, where they are acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stuck_connection_is_replaced_after_the_ack_timeout() {
    let dir = TempDir::new();
    let path = dir.join("stuck.sock");
    // The first connection answers two frames, then goes quiet without
    // closing; later ones answer everything.
    let server = scripted_server(&path, |conn, frame| match (conn, frame) {
        (1, 0..=1) | (2.., _) => Then::Answer,
        _ => Then::Ignore,
    });
    let mut config = SenderConfig::new(Endpoint::Unix(path), Duration::from_secs(15));
    config.delivery = Delivery::Acknowledged;
    config.workers = 1;
    config.ack_timeout = Duration::from_millis(300);
    let spec = WorkloadSpec {
        batches: 10,
        ..SPEC
    };
    let sent = within(Box::pin(sender::run(config, spec))).await;
    assert_eq!((sent.acknowledged, sent.undelivered), (10, 0), "{sent:?}");
    assert!(
        sent.errors.get("AckTimeout").copied().unwrap_or(0) >= 1,
        "{sent:?}"
    );
    let (accepted, _) = within(server).await.expect("server task");
    assert!(accepted >= 2);
}

/// What [`scripted_server`] does with one frame.
enum Then {
    /// Answer it with success.
    Answer,
    /// Read it and say nothing.
    Ignore,
    /// Close the connection without answering.
    Close,
}

/// A Unix server doing with frame `i` (from 0) of connection `c` (from 1)
/// what `script(c, i)` says, each connection in its own task, until no new
/// connection comes for 2 s. Returns the connections accepted and the frames
/// read.
fn scripted_server(
    path: &std::path::Path,
    script: fn(u32, u64) -> Then,
) -> tokio::task::JoinHandle<(u32, u64)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use txlane_peer::connection::{FrameReader, FrameWriter};
    use txlane_peer::response::Response;
    let listener = tokio::net::UnixListener::bind(path).expect("bind");
    tokio::spawn(async move {
        let frames = Arc::new(AtomicU64::new(0));
        let mut accepted = 0u32;
        let mut tasks = Vec::new();
        while let Ok(Ok((stream, _))) =
            tokio::time::timeout(Duration::from_secs(2), listener.accept()).await
        {
            accepted += 1;
            let conn = accepted;
            let frames = frames.clone();
            let (rd, wr) = stream.into_split();
            let mut reader = FrameReader::new(rd, 1 << 20, None);
            let mut writer = FrameWriter::new(wr);
            tasks.push(tokio::spawn(async move {
                let mut i = 0;
                while let Ok(Some(_)) = reader.read_frame().await {
                    frames.fetch_add(1, Ordering::Relaxed);
                    let then = script(conn, i);
                    i += 1;
                    match then {
                        Then::Answer => {
                            if writer
                                .write_frame(&Response::ok(20).encode())
                                .await
                                .is_err()
                            {
                                break;
                            }
                        }
                        Then::Ignore => {}
                        Then::Close => break,
                    }
                }
            }));
        }
        for t in tasks {
            t.abort();
        }
        (accepted, frames.load(Ordering::Relaxed))
    })
}
