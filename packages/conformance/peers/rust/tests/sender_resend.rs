//! The real sender against scripted peers that break or stall a connection:
//! what the connection owed is resent on a new one; and a peer at its
//! connection limit, which closes every connection beyond it at once, unread.

mod common;

use common::{eventually_within, send, within, TempDir};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use txlane_peer::endpoint::Endpoint;
use txlane_peer::sender::{self, Delivery, Sender, SenderConfig, WorkloadSpec};
use txlane_peer::workload::{Batch, Workload};

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

/// Fire-and-forget, a peer that reads the first frame and closes cleanly
/// without answering (as a refused connection can look over TCP, even after
/// our write completed), then never answers on later connections: the close
/// is a broken connection, so the frame is resent, and the peer is taken as
/// silent only after a frame went unanswered for `AUTO_SILENCE` on an open
/// connection. Every batch is then done when written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_clean_close_without_an_answer_resends_and_silence_comes_by_the_timeout() {
    let dir = TempDir::new();
    let path = dir.join("closes-then-silent.sock");
    let server = scripted_server(
        &path,
        |conn, _| if conn == 1 { Then::Close } else { Then::Ignore },
    );
    let spec = WorkloadSpec {
        batches: 10,
        ..SPEC
    };
    let started = std::time::Instant::now();
    let sent = send(Endpoint::Unix(path), Delivery::FireAndForget, spec, 1).await;
    let took = started.elapsed();
    assert_eq!((sent.delivered, sent.undelivered), (10, 0), "{sent:?}");
    assert_eq!(sent.acknowledged, 0, "{sent:?}");
    assert!(sent.frames >= 11, "the first frame is resent: {sent:?}");
    assert!(
        sent.errors.get("ConnectionLost").copied().unwrap_or(0) >= 1,
        "{sent:?}"
    );
    assert!(
        took >= sender::AUTO_SILENCE,
        "silence before AUTO_SILENCE: {took:?}; {sent:?}"
    );
    let (accepted, frames) = within(server).await.expect("server task");
    assert!(accepted >= 2, "accepted {accepted}");
    assert!(frames >= 11, "the server read {frames}; {sent:?}");
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

/// A Unix server at its connection limit, like a receiver with
/// `--max-connections`: it serves at most `serve` connections at a time and
/// closes every other one as soon as it is accepted, unread. A served
/// connection records every payload and answers it with success, but holds
/// its answers until [`LimitedServer::release`] when started with `hold`.
struct LimitedServer {
    refused: Arc<AtomicU64>,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    released: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl LimitedServer {
    fn start(path: &std::path::Path, serve: u64, hold: bool) -> Self {
        use txlane_peer::connection::{FrameReader, FrameWriter};
        use txlane_peer::response::Response;
        let listener = tokio::net::UnixListener::bind(path).expect("bind");
        let refused = Arc::new(AtomicU64::new(0));
        let received = Arc::new(Mutex::new(Vec::new()));
        let released = Arc::new(AtomicBool::new(!hold));
        let (r, rx, rel) = (refused.clone(), received.clone(), released.clone());
        let task = tokio::spawn(async move {
            let live = Arc::new(AtomicU64::new(0));
            // Dropped (aborting every connection task) when the server is.
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                if live.load(Ordering::SeqCst) >= serve {
                    r.fetch_add(1, Ordering::SeqCst);
                    drop(stream);
                    continue;
                }
                live.fetch_add(1, Ordering::SeqCst);
                let (live, received, released) = (live.clone(), rx.clone(), rel.clone());
                conns.spawn(async move {
                    let (rd, wr) = stream.into_split();
                    let (owe, mut owed) = tokio::sync::mpsc::unbounded_channel::<()>();
                    let answers = tokio::spawn(async move {
                        let mut writer = FrameWriter::new(wr);
                        while owed.recv().await.is_some() {
                            while !released.load(Ordering::SeqCst) {
                                tokio::time::sleep(Duration::from_millis(2)).await;
                            }
                            let ok = Response::ok(1).encode();
                            if writer.write_frame(&ok).await.is_err() {
                                break;
                            }
                        }
                    });
                    let mut reader = FrameReader::new(rd, 1 << 20, None);
                    while let Ok(Some(payload)) = reader.read_frame().await {
                        received.lock().unwrap().push(payload.to_vec());
                        let _ = owe.send(());
                    }
                    drop(owe);
                    let _ = answers.await;
                    live.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        LimitedServer {
            refused,
            received,
            released,
            task,
        }
    }

    fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }

    fn release(&self) {
        self.released.store(true, Ordering::SeqCst);
    }

    /// The payloads read, sorted (a multiset, to compare with what was sent).
    fn received(&self) -> Vec<Vec<u8>> {
        let mut all = self.received.lock().unwrap().clone();
        all.sort();
        all
    }
}

impl Drop for LimitedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The batches of `spec`, as the sender's `run` generates them.
fn batches(spec: WorkloadSpec) -> Vec<Batch> {
    let mut w = Workload::new(spec.seed, spec.tx_size);
    (0..spec.batches)
        .map(|_| w.next_batch(spec.tx_per_batch))
        .collect()
}

fn sorted_payloads(batches: &[Batch]) -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = batches.iter().map(|b| b.payload.to_vec()).collect();
    all.sort();
    all
}

const LIMITED: WorkloadSpec = WorkloadSpec {
    seed: 11,
    batches: 300,
    tx_per_batch: 2,
    tx_size: 200,
};

/// Acknowledged, 3 workers, a peer serving one connection at a time: the
/// batches a refused worker holds go back to the queue while the served
/// connection stands, so every batch is acknowledged while the sender is
/// still running (before, a refused worker kept its batch and bounced it on
/// refused connections until the served one closed or the deadline passed).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_batches_are_not_stuck_on_refused_connections() {
    let dir = TempDir::new();
    let path = dir.join("limited.sock");
    let server = LimitedServer::start(&path, 1, false);
    let mut config = SenderConfig::new(Endpoint::Unix(path), Duration::from_secs(15));
    config.delivery = Delivery::Acknowledged;
    config.workers = 3;
    config.queue = 64;
    let sender = Sender::start(config);
    let stats = sender.stats();
    let all = batches(LIMITED);
    for b in all.iter().cloned() {
        within(Box::pin(sender.send(b))).await.expect("queued");
    }
    let done = eventually_within(Duration::from_secs(5), || {
        stats.snapshot().acknowledged == 300
    })
    .await;
    assert!(
        done,
        "acknowledged {} of 300 while the sender runs; refused connections: {}; {:?}",
        stats.snapshot().acknowledged,
        server.refused(),
        stats.snapshot().errors
    );
    let sent = within(Box::pin(sender.close())).await;
    assert_eq!((sent.acknowledged, sent.delivered), (300, 300), "{sent:?}");
    assert!(server.refused() > 0, "the peer refused no connection");
    assert_eq!(server.received(), sorted_payloads(&all));
}

/// Fire-and-forget, 3 workers, a peer serving one connection at a time that
/// holds its answers until two connections were refused: those closes come
/// before any frame reached the peer, so they say nothing about whether it
/// answers. Every batch arrives, and each is settled by its answer (none is
/// taken as done by silence).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_connections_do_not_make_the_peer_look_silent() {
    let dir = TempDir::new();
    let path = dir.join("limited-hold.sock");
    let server = LimitedServer::start(&path, 1, true);
    let mut config = SenderConfig::new(Endpoint::Unix(path), Duration::from_secs(15));
    config.delivery = Delivery::FireAndForget;
    config.workers = 3;
    config.queue = 64;
    let sender = Sender::start(config);
    let all = batches(LIMITED);
    for b in all[..3].iter().cloned() {
        within(Box::pin(sender.send(b))).await.expect("queued");
    }
    let refused = eventually_within(Duration::from_secs(2), || server.refused() >= 2).await;
    assert!(refused, "refused {}", server.refused());
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.release();
    for b in all[3..].iter().cloned() {
        within(Box::pin(sender.send(b))).await.expect("queued");
    }
    let sent = within(Box::pin(sender.close())).await;
    let received = server.received();
    assert_eq!(
        received.len(),
        300,
        "the server read {} of 300 batches; sender: {sent:?}",
        received.len()
    );
    assert_eq!(received, sorted_payloads(&all));
    assert_eq!((sent.acknowledged, sent.delivered), (300, 300), "{sent:?}");
}

/// A peer that refuses every connection: each refusal counts as a failed
/// connect, so the worker waits on its reconnect backoff (20 ms doubling,
/// each delay drawn from [d/2, d]: connects at most at 0, 10, 30, 70, 150
/// and 310 ms, 6 in 400 ms) instead of reconnecting at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_connection_waits_on_the_reconnect_backoff() {
    let dir = TempDir::new();
    let path = dir.join("refusing.sock");
    let server = LimitedServer::start(&path, 0, false);
    let mut config = SenderConfig::new(Endpoint::Unix(path), Duration::from_millis(700));
    config.delivery = Delivery::Acknowledged;
    config.workers = 1;
    let sender = Sender::start(config);
    let mut one = batches(LIMITED);
    within(Box::pin(sender.send(one.swap_remove(0))))
        .await
        .expect("queued");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let refused = server.refused();
    println!("connections refused in 400 ms: {refused}");
    let sent = within(Box::pin(sender.close())).await;
    assert!(
        (2..=8).contains(&refused),
        "{refused} connections refused in 400 ms; {sent:?}"
    );
    assert_eq!(sent.delivered, 0, "{sent:?}");
}
