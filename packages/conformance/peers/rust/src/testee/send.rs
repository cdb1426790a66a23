//! The testee's `send` role: `--workers` tasks over a bounded queue of
//! `--queue` batches, each owning one [`Conn`] from the team's [`Dial`].

use super::command::{Delivery, SendArgs};
use super::{Conn, Dial, ReceiverSilence, SendError, SendOptions};
use crate::digest::Digest;
use crate::endpoint::Endpoint;
use crate::report::{Role, Stats};
use crate::workload::Workload;
use bytes::Bytes;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Mutex};
use tokio::time::{sleep, Instant};

/// First delay after a failed dial or a broken connection.
const RECONNECT_FIRST: Duration = Duration::from_millis(10);
/// The reconnect cap: the harness starts receivers within a second.
const RECONNECT_MAX: Duration = Duration::from_millis(500);
/// PEERS.md's not-ready schedule: 100 ms doubling, capped at 4 s, 30 retries.
const NOT_READY_FIRST: Duration = Duration::from_millis(100);
const NOT_READY_MAX: Duration = Duration::from_secs(4);
const NOT_READY_TRIES: u32 = 30;

/// One queued batch: payload, transaction count, digest.
type Job = (Bytes, u64, Digest);

pub(super) async fn send(name: &'static str, dial: Arc<dyn Dial>, a: SendArgs) -> ExitCode {
    let stats = Arc::new(Stats::new());
    let deadline = Instant::now() + Duration::from_millis(a.timeout_ms);
    // `true` once the deadline passes or a signal arrives: give up.
    let (cancel_tx, cancel) = watch::channel(false);
    let stop = crate::shutdown::signal();
    tokio::spawn(async move {
        tokio::select! {
            _ = stop => eprintln!("{name}: signal: giving up"),
            _ = tokio::time::sleep_until(deadline) => {}
        }
        let _ = cancel_tx.send(true);
    });
    let (tx, rx) = mpsc::channel::<Job>(a.queue);
    let rx = Arc::new(Mutex::new(rx));
    let options = Arc::new(SendOptions {
        acknowledged: a.delivery == Delivery::Acknowledged,
        max_frame_bytes: a.max_frame_bytes,
        // One flag for every worker's connections: silence is the receiver's.
        receiver_silent: ReceiverSilence::default(),
    });
    let mut workers = Vec::new();
    for _ in 0..a.workers {
        let (dial, rx, stats, endpoint) =
            (dial.clone(), rx.clone(), stats.clone(), a.endpoint.clone());
        let (cancel, options) = (cancel.clone(), options.clone());
        workers.push(tokio::spawn(async move {
            worker(name, &*dial, &endpoint, &options, rx, &stats, cancel).await
        }));
    }
    let mut workload = Workload::new(a.seed, a.tx_size);
    let mut cancelled = cancel.clone();
    for b in 0..a.batches {
        let batch = workload.next_batch(a.tx_per_batch);
        if batch.payload.len() > a.max_frame_bytes {
            // Refused before it is queued (PEERS.md --max-frame-bytes).
            stats.error("FrameTooLarge");
            stats.update(|c| c.undelivered += 1);
            continue;
        }
        tokio::select! {
            r = tx.send((batch.payload, batch.transactions, batch.digest)) => if r.is_err() { break },
            _ = cancelled.wait_for(|c| *c) => {
                stats.update(|c| c.undelivered += a.batches - b);
                break;
            }
        }
    }
    drop(tx);
    for w in workers {
        let _ = w.await;
    }
    let counters = stats.snapshot();
    println!("{}", counters.report_line_as(Role::Sender, name));
    if counters.undelivered == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "{name}: {} of {} batches undelivered",
            counters.undelivered, a.batches
        );
        ExitCode::from(1)
    }
}

async fn worker(
    name: &str,
    dial: &dyn Dial,
    endpoint: &Endpoint,
    options: &SendOptions,
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    stats: &Stats,
    mut cancel: watch::Receiver<bool>,
) {
    let mut conn: Option<Box<dyn Conn>> = None;
    loop {
        let job = rx.lock().await.recv().await;
        let Some((payload, transactions, digest)) = job else {
            break;
        };
        let (mut delay, mut not_ready) = (RECONNECT_FIRST, 0u32);
        loop {
            if *cancel.borrow() {
                stats.update(|c| c.undelivered += 1);
                break;
            }
            let c = match conn.as_mut() {
                Some(c) => c,
                None => {
                    let dialled = tokio::select! {
                        r = dial.dial(endpoint, options) => r,
                        _ = cancel.wait_for(|c| *c) => continue,
                    };
                    match dialled {
                        Ok(c) => conn.insert(c),
                        Err(_) => {
                            stats.error("ConnectFailed");
                            backoff(&mut delay, RECONNECT_MAX, &mut cancel).await;
                            continue;
                        }
                    }
                }
            };
            stats.update(|c| {
                c.first.get_or_insert_with(std::time::Instant::now);
            });
            let result = tokio::select! {
                r = c.send(&payload) => r,
                _ = cancel.wait_for(|c| *c) => continue,
            };
            if !matches!(result, Err(SendError::Broken(_))) {
                stats.update(|c| {
                    c.frames += 1;
                    c.transactions += transactions;
                    c.bytes += payload.len() as u64;
                });
            }
            match result {
                Ok(answered) => {
                    if !answered {
                        options.receiver_silent.set_known();
                    }
                    stats.update(|c| {
                        if answered {
                            c.acknowledged += 1;
                            c.responses_ok += 1;
                        }
                        c.delivered += 1;
                        c.digest.merge(digest);
                        c.touch();
                    });
                }
                Err(SendError::NotReady(_)) if not_ready < NOT_READY_TRIES => {
                    stats.update(|c| {
                        c.responses_error += 1;
                        *c.errors.entry("NotReady".into()).or_insert(0) += 1;
                    });
                    let mut d = NOT_READY_FIRST.saturating_mul(1 << not_ready.min(10));
                    not_ready += 1;
                    backoff(&mut d, NOT_READY_MAX, &mut cancel).await;
                    continue;
                }
                Err(SendError::NotReady(e)) | Err(SendError::Rejected(e)) => {
                    eprintln!("{name}: batch rejected: {e}");
                    stats.update(|c| {
                        c.responses_error += 1;
                        c.undelivered += 1;
                        *c.errors.entry("Rejected".into()).or_insert(0) += 1;
                    });
                }
                Err(SendError::Broken(e)) => {
                    eprintln!("{name}: connection lost, resending: {e}");
                    stats.error("ConnectionLost");
                    conn = None;
                    backoff(&mut delay, RECONNECT_MAX, &mut cancel).await;
                    continue;
                }
            }
            break;
        }
    }
}

/// Sleep `*delay` (or until cancelled), then double it up to `max`.
async fn backoff(delay: &mut Duration, max: Duration, cancel: &mut watch::Receiver<bool>) {
    let d = (*delay).min(max);
    tokio::select! {
        _ = sleep(d) => {}
        _ = cancel.wait_for(|c| *c) => {}
    }
    *delay = (*delay * 2).min(max);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testee::{BoxFuture, FrameDial};
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

    /// Frames read until the client ends the connection; nothing answered.
    async fn read_frames(mut s: impl AsyncRead + Unpin) -> usize {
        let (mut frames, mut head) = (0, [0u8; 4]);
        while s.read_exact(&mut head).await.is_ok() {
            let mut body = vec![0u8; u32::from_be_bytes(head) as usize];
            s.read_exact(&mut body).await.expect("request payload");
            frames += 1;
        }
        frames
    }

    /// A fire-and-forget batch on a connection the receiver ends before
    /// answering (here it shuts its write side at once: a clean end of
    /// stream, not a reset) is not counted delivered there: the connection
    /// is lost (`ConnectionLost`), and the batch is resent on a new one,
    /// which a receiver that reads and never answers takes (delivered once
    /// it stays unanswered for SILENT_AFTER on that open connection). The
    /// first receiver may have read it too: at least once.
    #[tokio::test]
    async fn a_batch_ended_unanswered_is_resent_on_a_new_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let endpoint = Endpoint::Tcp(listener.local_addr().expect("addr").to_string());
        let receiver = tokio::spawn(async move {
            let (mut first, _) = listener.accept().await.expect("accept");
            first.shutdown().await.expect("shutdown");
            let first = tokio::spawn(read_frames(first));
            let (second, _) = listener.accept().await.expect("accept again");
            (first.await.expect("first"), read_frames(second).await)
        });
        let payload = crate::envelope::encode(&[b"a".to_vec()]);
        let mut digest = Digest::default();
        digest.add(b"a");
        let (tx, rx) = mpsc::channel::<Job>(1);
        tx.send((payload, 1, digest)).await.expect("queue");
        drop(tx);
        let (_cancel_tx, cancel) = watch::channel(false);
        let options = SendOptions::fire_and_forget();
        let stats = Stats::new();
        let rx = Arc::new(Mutex::new(rx));
        tokio::time::timeout(
            Duration::from_secs(10),
            worker("test", &FrameDial, &endpoint, &options, rx, &stats, cancel),
        )
        .await
        .expect("worker");
        let c = stats.snapshot();
        assert_eq!((c.delivered, c.undelivered, c.frames), (1, 0, 1), "{c:?}");
        assert_eq!((c.acknowledged, c.responses_ok), (0, 0), "{c:?}");
        assert_eq!(c.errors.get("ConnectionLost"), Some(&1), "{c:?}");
        assert_eq!(c.digest, digest);
        let (first, second) = receiver.await.expect("receiver");
        assert!(first <= 1, "{first}");
        assert_eq!(second, 1);
    }

    /// A client whose every frame is written to a silent receiver.
    struct Mute;

    impl Dial for Mute {
        fn dial<'a>(
            &'a self,
            _: &'a Endpoint,
            _: &'a SendOptions,
        ) -> BoxFuture<'a, std::io::Result<Box<dyn Conn>>> {
            Box::pin(async { Ok(Box::new(Mute) as Box<dyn Conn>) })
        }
    }

    impl Conn for Mute {
        fn send<'a>(&'a mut self, _: &'a Bytes) -> BoxFuture<'a, Result<bool, SendError>> {
            Box::pin(async { Ok(false) })
        }
    }

    /// An `Ok(false)` from any connection makes the receiver known silent
    /// through the options every dial gets (clones share the flag).
    #[tokio::test]
    async fn an_unanswered_delivery_makes_the_receiver_known_silent() {
        let (tx, rx) = mpsc::channel::<Job>(1);
        tx.send((Bytes::from_static(b"x"), 1, Digest::default()))
            .await
            .expect("queue");
        drop(tx);
        let (_cancel_tx, cancel) = watch::channel(false);
        let options = SendOptions::fire_and_forget();
        let dialled = options.receiver_silent.clone();
        assert!(!dialled.is_known());
        let (stats, endpoint) = (Stats::new(), Endpoint::Tcp("127.0.0.1:1".into()));
        let rx = Arc::new(Mutex::new(rx));
        worker("test", &Mute, &endpoint, &options, rx, &stats, cancel).await;
        assert_eq!(stats.snapshot().delivered, 1);
        assert!(dialled.is_known());
    }
}
