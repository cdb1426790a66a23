//! [`FrameDial`] and [`FrameConn`]: the testee kit's ready-made client,
//! which speaks the framing directly.

use super::{answer, BoxFuture, Conn, Dial, ReceiverSilence, SendError, SendOptions};
use crate::endpoint::Endpoint;
use crate::frame::FrameError;
use crate::listener::Stream;
use crate::sender::DEFAULT_MAX_RESPONSE_BYTES;
use bytes::Bytes;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long [`FrameConn`] waits, in fire-and-forget mode, for the first
/// answer on a connection that stays open before deciding the receiver is
/// silent (`--respond none`).
pub const SILENT_AFTER: Duration = Duration::from_secs(1);

/// A ready-made [`Dial`]: [`FrameConn`] connections.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameDial;

impl Dial for FrameDial {
    fn dial<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        options: &'a SendOptions,
    ) -> BoxFuture<'a, io::Result<Box<dyn Conn>>> {
        Box::pin(async move {
            let stream = Stream::connect(endpoint).await?;
            Ok(Box::new(FrameConn {
                stream,
                answered: options.acknowledged,
                silent: false,
                receiver_silent: options.receiver_silent.clone(),
                ended: false,
            }) as Box<dyn Conn>)
        })
    }
}

/// A client that writes one frame, then reads its answer (so it works in
/// both delivery modes, one frame in flight). In fire-and-forget mode, a
/// connection that stays open with no answer within [`SILENT_AFTER`] is to a
/// silent receiver; in acknowledged mode every frame waits for its answer.
/// Once the receiver is known silent — found so on this connection, or,
/// while this one has not answered, on another connection of the sender
/// ([`SendOptions::receiver_silent`]) — a frame is delivered once written.
///
/// An end of stream (or any read error) before an answer is a broken
/// connection ([`SendError::Broken`]: the batch is resent on a new one),
/// not silence: a receiver at its connection limit accepts and closes at
/// once, and over TCP our frame can reach the kernel after its FIN, so a
/// close without an answer says nothing about whether the frame was read.
/// Taking it as silence would count this and every later frame as
/// delivered unread. The one exception: in fire-and-forget mode, a clean
/// end of stream before any answer once the receiver is known silent is
/// that receiver closing after our write (a `--expect-transactions`
/// receiver exits once it has every batch), so the frame is delivered;
/// resending it could only fail. A reset stays an error.
#[derive(Debug)]
pub struct FrameConn {
    stream: Stream,
    /// Acknowledged mode, or an answer was read here: never silent.
    answered: bool,
    /// A frame went unanswered for [`SILENT_AFTER`] on this connection.
    silent: bool,
    /// The sender's [`SendOptions::receiver_silent`].
    receiver_silent: ReceiverSilence,
    /// The known-silent receiver closed this connection: later frames go on
    /// a new one (over TCP a write to it could still succeed, unread).
    ended: bool,
}

impl FrameConn {
    async fn exchange(&mut self, payload: &Bytes) -> Result<bool, SendError> {
        if self.ended {
            return Err(SendError::Broken(io::Error::new(
                io::ErrorKind::NotConnected,
                "the receiver closed this connection",
            )));
        }
        let (mut r, mut w): (
            Box<dyn tokio::io::AsyncRead + Send + Unpin>,
            Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
        ) = match &mut self.stream {
            Stream::Unix(s) => {
                let (r, w) = s.split();
                (Box::new(r), Box::new(w))
            }
            Stream::Tcp(s) => {
                let (r, w) = s.split();
                (Box::new(r), Box::new(w))
            }
        };
        w.write_all(&(payload.len() as u32).to_be_bytes()).await?;
        w.write_all(payload).await?;
        // Known silent (see the type's doc): delivered once written.
        if self.silent || (!self.answered && self.receiver_silent.is_known()) {
            return Ok(false);
        }
        let head = if self.answered {
            read_head(&mut r).await?
        } else {
            match tokio::time::timeout(SILENT_AFTER, read_head(&mut r)).await {
                Ok(read) => read?,
                // No answer within SILENT_AFTER and the connection still open:
                // a silent receiver.
                Err(_) => {
                    self.silent = true;
                    return Ok(false);
                }
            }
        };
        let Some(head) = head else {
            // Before any answer, in fire-and-forget mode, the receiver
            // found silent on another connection while we waited: it closed
            // after our write (see the type's doc).
            if !self.answered && self.receiver_silent.is_known() {
                self.ended = true;
                return Ok(false);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the receiver closed the connection without answering",
            )
            .into());
        };
        // The announced length is checked before anything is allocated for it:
        // four bytes from a broken receiver must not buy a 4 GiB buffer.
        let length = u32::from_be_bytes(head) as usize;
        if length > DEFAULT_MAX_RESPONSE_BYTES {
            return Err(io::Error::from(FrameError::FrameTooLarge {
                length: length as u64,
                max: DEFAULT_MAX_RESPONSE_BYTES as u64,
            })
            .into());
        }
        let mut body = vec![0u8; length];
        r.read_exact(&mut body).await?;
        self.answered = true;
        answer(&body)
    }
}

/// Read an answer's length header; `None` for a clean end of stream before
/// any byte of it (a close part-way through is an error).
async fn read_head(
    r: &mut (dyn tokio::io::AsyncRead + Send + Unpin),
) -> io::Result<Option<[u8; 4]>> {
    let mut head = [0u8; 4];
    match r.read(&mut head).await? {
        0 => Ok(None),
        n => {
            r.read_exact(&mut head[n..]).await?;
            Ok(Some(head))
        }
    }
}

impl Conn for FrameConn {
    fn send<'a>(&'a mut self, payload: &'a Bytes) -> BoxFuture<'a, Result<bool, SendError>> {
        Box::pin(self.exchange(payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Stats;
    use crate::server::{self, ServerConfig, Submit};
    use std::sync::Arc;
    use tokio::io::AsyncRead;

    /// A receiver's side of one connection that reads every frame and never
    /// answers, holding the connection open until the client ends it;
    /// returns how many frames it read.
    async fn read_silently(mut s: impl AsyncRead + Unpin) -> usize {
        let mut frames = 0;
        let mut head = [0u8; 4];
        while s.read_exact(&mut head).await.is_ok() {
            let mut body = vec![0u8; u32::from_be_bytes(head) as usize];
            s.read_exact(&mut body).await.expect("request payload");
            frames += 1;
        }
        frames
    }

    /// [`read_silently`] on the first connection each listener accepts.
    fn read_silently_on(
        unix: tokio::net::UnixListener,
        tcp: tokio::net::TcpListener,
    ) -> (
        tokio::task::JoinHandle<usize>,
        tokio::task::JoinHandle<usize>,
    ) {
        let unix = tokio::spawn(async move {
            read_silently(unix.accept().await.expect("accept unix").0).await
        });
        let tcp =
            tokio::spawn(
                async move { read_silently(tcp.accept().await.expect("accept tcp").0).await },
            );
        (unix, tcp)
    }

    /// How a test receiver leaves each connection unanswered.
    #[derive(Debug, Clone, Copy)]
    enum Unanswered {
        /// Accept and close at once, reading nothing (a receiver at its
        /// connection limit). Linux resets such a connection (our write or
        /// read fails) as soon as our frame meets it.
        CloseAtOnce,
        /// Shut the write side down at once and go on reading: a clean end
        /// of stream, whatever we write.
        ShutAtOnce,
        /// Read one frame, then close without answering: a clean end of
        /// stream after our frame was read.
        ReadThenClose,
    }

    /// A Unix listener at `s.sock` in a fresh temp dir named `prefix-PID`, and a TCP
    /// listener on an ephemeral loopback port (with its endpoint).
    async fn listeners(
        prefix: &str,
    ) -> (
        std::path::PathBuf,
        tokio::net::UnixListener,
        tokio::net::TcpListener,
        Endpoint,
    ) {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let unix = tokio::net::UnixListener::bind(&path).expect("bind unix");
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind tcp");
        let tcp_endpoint = Endpoint::Tcp(tcp.local_addr().expect("addr").to_string());
        (path, unix, tcp, tcp_endpoint)
    }

    /// Receivers over Unix and TCP that treat every connection `how`, and a
    /// channel told after each is closed (or shut).
    async fn unanswering(
        name: &str,
        how: Unanswered,
    ) -> (
        [Endpoint; 2],
        tokio::sync::mpsc::UnboundedReceiver<()>,
        tokio::task::JoinHandle<()>,
    ) {
        async fn treat(
            mut s: impl AsyncRead + tokio::io::AsyncWrite + Unpin,
            how: Unanswered,
            closed: tokio::sync::mpsc::UnboundedSender<()>,
        ) {
            match how {
                Unanswered::CloseAtOnce => drop(s),
                Unanswered::ShutAtOnce => {
                    s.shutdown().await.expect("shutdown");
                    let _ = closed.send(());
                    read_silently(s).await;
                    return;
                }
                Unanswered::ReadThenClose => {
                    let mut head = [0u8; 4];
                    s.read_exact(&mut head).await.expect("request header");
                    let mut body = vec![0u8; u32::from_be_bytes(head) as usize];
                    s.read_exact(&mut body).await.expect("request payload");
                    drop(s);
                }
            }
            let _ = closed.send(());
        }
        let (path, unix, tcp, tcp_endpoint) = listeners(&format!("txlane-testee-{name}")).await;
        let (closed_tx, closed) = tokio::sync::mpsc::unbounded_channel();
        let server = tokio::spawn(async move {
            loop {
                let closed = closed_tx.clone();
                tokio::select! {
                    r = unix.accept() => {
                        tokio::spawn(treat(r.expect("accept unix").0, how, closed));
                    }
                    r = tcp.accept() => {
                        tokio::spawn(treat(r.expect("accept tcp").0, how, closed));
                    }
                }
            }
        });
        ([Endpoint::Unix(path), tcp_endpoint], closed, server)
    }

    /// An end of stream (or reset) before any answer, from a receiver not
    /// known silent, is a broken connection,
    /// in fire-and-forget mode as in acknowledged mode, however the receiver
    /// left it and whether our frame is written before or after it did:
    /// `Err(Broken)`, so the batch is resent on a new connection. A receiver
    /// at its connection limit accepts and closes at once, and a clean close
    /// says nothing about whether our frame was read. Fire-and-forget used
    /// to take a clean end of stream (`ShutAtOnce`, `ReadThenClose`) as
    /// silence: the frame, and every later one on the connection, counted
    /// delivered.
    #[tokio::test]
    async fn an_end_of_stream_before_any_answer_is_broken_not_silent() {
        let payload = crate::envelope::encode(&[b"a".to_vec()]);
        for how in [
            Unanswered::CloseAtOnce,
            Unanswered::ShutAtOnce,
            Unanswered::ReadThenClose,
        ] {
            let name = format!("{how:?}").to_lowercase();
            let (endpoints, mut closed, server) = unanswering(&name, how).await;
            for endpoint in &endpoints {
                for acknowledged in [false, true] {
                    let options = SendOptions {
                        acknowledged,
                        ..SendOptions::fire_and_forget()
                    };
                    // Our frame written as soon as we are connected, or only
                    // once the receiver has closed (it reads it first in
                    // ReadThenClose, so there only the former).
                    for written_after in [false, true] {
                        if written_after && matches!(how, Unanswered::ReadThenClose) {
                            continue;
                        }
                        for _ in 0..5 {
                            let mut conn = FrameDial.dial(endpoint, &options).await.expect("dial");
                            if written_after {
                                closed.recv().await.expect("closed");
                            }
                            let sent =
                                tokio::time::timeout(Duration::from_secs(10), conn.send(&payload))
                                    .await
                                    .expect("refused at once, not after SILENT_AFTER");
                            assert!(
                                matches!(sent, Err(SendError::Broken(_))),
                                "{how:?}, {endpoint:?}, acknowledged {acknowledged}, \
                                 written after the close {written_after}: {sent:?}"
                            );
                            if !written_after {
                                closed.recv().await.expect("closed");
                            }
                        }
                    }
                }
            }
            server.abort();
            if let Endpoint::Unix(path) = &endpoints[0] {
                let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
            }
        }
    }

    /// A receiver's side of one connection that reads one frame, tells
    /// `read`, and closes cleanly when told.
    async fn read_one_then_close(
        mut s: impl AsyncRead + Unpin,
        read: tokio::sync::oneshot::Sender<()>,
        close: tokio::sync::oneshot::Receiver<()>,
    ) {
        let mut head = [0u8; 4];
        s.read_exact(&mut head).await.expect("request header");
        let mut body = vec![0u8; u32::from_be_bytes(head) as usize];
        s.read_exact(&mut body).await.expect("request payload");
        let _ = read.send(());
        let _ = close.await;
    }

    /// Fire-and-forget, the receiver found silent on another connection of
    /// the sender while this one waits for its first answer, then closing
    /// cleanly after reading our frame (it exited with every batch): the
    /// frame is delivered (`Ok(false)`) at once, not resent to a receiver
    /// that is gone, and the next frame goes on a new connection. The same
    /// close while silence is not known is an error (above).
    #[tokio::test]
    async fn a_known_silent_receiver_closing_before_any_answer_took_the_frame() {
        let (path, unix, tcp, tcp_endpoint) = listeners("txlane-testee-leaves").await;
        let dir = path.parent().expect("dir").to_path_buf();
        let payload = crate::envelope::encode(&[b"a".to_vec()]);
        for endpoint in [Endpoint::Unix(path), tcp_endpoint] {
            let options = SendOptions::fire_and_forget();
            let mut conn = FrameDial.dial(&endpoint, &options).await.expect("dial");
            let (read_tx, read) = tokio::sync::oneshot::channel();
            let (close, close_rx) = tokio::sync::oneshot::channel();
            let receiver = match endpoint {
                Endpoint::Unix(_) => {
                    let s = unix.accept().await.expect("accept unix").0;
                    tokio::spawn(read_one_then_close(s, read_tx, close_rx))
                }
                Endpoint::Tcp(_) => {
                    let s = tcp.accept().await.expect("accept tcp").0;
                    tokio::spawn(read_one_then_close(s, read_tx, close_rx))
                }
            };
            let started = tokio::time::Instant::now();
            let (sent, ()) = tokio::join!(conn.send(&payload), async {
                read.await.expect("frame read");
                // Another connection of the sender found the receiver silent.
                options.receiver_silent.set_known();
                let _ = close.send(());
            });
            assert!(matches!(sent, Ok(false)), "{endpoint:?}: {sent:?}");
            assert!(started.elapsed() < SILENT_AFTER / 2, "{endpoint:?}");
            receiver.await.expect("receiver");
            let next = conn.send(&payload).await;
            assert!(
                matches!(next, Err(SendError::Broken(_))),
                "{endpoint:?}: {next:?}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Fire-and-forget, the receiver already known silent when a connection
    /// is dialled: each frame on it is delivered once written, without
    /// waiting SILENT_AFTER for an answer.
    #[tokio::test]
    async fn a_known_silent_receiver_takes_frames_once_written() {
        let (path, unix, tcp, tcp_endpoint) = listeners("txlane-testee-known").await;
        let dir = path.parent().expect("dir").to_path_buf();
        let (unix_reader, tcp_reader) = read_silently_on(unix, tcp);
        let options = SendOptions::fire_and_forget();
        options.receiver_silent.set_known();
        let payload = crate::envelope::encode(&[b"a".to_vec()]);
        for (endpoint, reader) in [
            (Endpoint::Unix(path), unix_reader),
            (tcp_endpoint, tcp_reader),
        ] {
            let mut conn = FrameDial.dial(&endpoint, &options).await.expect("dial");
            for _ in 0..3 {
                let started = tokio::time::Instant::now();
                let sent = conn.send(&payload).await;
                assert!(matches!(sent, Ok(false)), "{endpoint:?}: {sent:?}");
                assert!(started.elapsed() < SILENT_AFTER / 2, "{endpoint:?}");
            }
            drop(conn);
            assert_eq!(reader.await.expect("reader"), 3, "{endpoint:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A receiver that reads and never answers, holding the connection open:
    /// in fire-and-forget mode the first send is taken as delivered after
    /// SILENT_AFTER, and later ones as soon as they are written.
    #[tokio::test]
    async fn an_open_connection_unanswered_for_silent_after_is_silent() {
        let (path, unix, tcp, tcp_endpoint) = listeners("txlane-testee-mute").await;
        let dir = path.parent().expect("dir").to_path_buf();
        let (unix_reader, tcp_reader) = read_silently_on(unix, tcp);
        let payload = crate::envelope::encode(&[b"a".to_vec()]);
        for (endpoint, reader) in [
            (Endpoint::Unix(path), unix_reader),
            (tcp_endpoint, tcp_reader),
        ] {
            let mut conn = FrameDial
                .dial(&endpoint, &SendOptions::fire_and_forget())
                .await
                .expect("dial");
            let started = tokio::time::Instant::now();
            let first = conn.send(&payload).await;
            assert!(matches!(first, Ok(false)), "{endpoint:?}: {first:?}");
            assert!(started.elapsed() >= SILENT_AFTER, "{endpoint:?}");
            for _ in 0..3 {
                let started = tokio::time::Instant::now();
                let next = conn.send(&payload).await;
                assert!(matches!(next, Ok(false)), "{endpoint:?}: {next:?}");
                assert!(started.elapsed() < SILENT_AFTER, "{endpoint:?}");
            }
            drop(conn);
            assert_eq!(reader.await.expect("reader"), 4, "{endpoint:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Refuses batches of one transaction.
    struct RefuseSingles;

    impl Submit for RefuseSingles {
        fn submit(&self, transactions: Vec<Bytes>) -> BoxFuture<'_, Result<(), String>> {
            Box::pin(async move {
                if transactions.len() == 1 {
                    Err("no singles".into())
                } else {
                    Ok(())
                }
            })
        }
    }

    /// The server's pluggable submit: an `Err` is answered `Transaction
    /// submission failed: …` and the batch is neither counted nor recorded.
    #[tokio::test]
    async fn a_refused_submit_is_answered_and_not_counted() {
        let dir = std::env::temp_dir().join(format!("txlane-testee-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let endpoint = Endpoint::Unix(dir.join("s.sock"));
        let record = dir.join("record.bin");
        let listener = crate::listener::Listener::bind(&endpoint, 0o600)
            .await
            .expect("bind");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let config = ServerConfig {
            record: Some(record.clone()),
            ..ServerConfig::default()
        };
        let server = tokio::spawn(server::run_with_submit(
            listener,
            config,
            async {
                let _ = stop_rx.await;
            },
            Arc::new(Stats::new()),
            Arc::new(RefuseSingles),
        ));
        let options = SendOptions {
            acknowledged: true,
            ..SendOptions::fire_and_forget()
        };
        let mut conn = FrameDial.dial(&endpoint, &options).await.expect("dial");
        let one = crate::envelope::encode(&[b"a".to_vec()]);
        let two = crate::envelope::encode(&[b"a".to_vec(), b"b".to_vec()]);
        match conn.send(&one).await {
            Err(SendError::Rejected(e)) => {
                assert!(
                    e.contains("Transaction submission failed: no singles"),
                    "{e}"
                )
            }
            other => panic!("one transaction: {other:?}"),
        }
        assert!(matches!(conn.send(&two).await, Ok(true)));
        drop(conn);
        let _ = stop_tx.send(());
        let counters = server.await.expect("join").expect("server");
        assert_eq!((counters.frames, counters.transactions), (1, 2));
        assert_eq!(counters.errors.get("SubmitFailed"), Some(&1));
        let recorded = std::fs::read(&record).expect("record");
        assert_eq!(recorded.len(), 4 + two.len());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// An answer header announcing more than `DEFAULT_MAX_RESPONSE_BYTES` is
    /// refused before anything is allocated for it: the connection is broken
    /// (`InvalidData`) at once, while the receiver still holds it open.
    #[tokio::test]
    async fn an_oversize_answer_is_refused_before_allocating() {
        let dir = std::env::temp_dir().join(format!("txlane-testee-big-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let listener = tokio::net::UnixListener::bind(&path).expect("bind");
        let (held_tx, held_rx) = tokio::sync::oneshot::channel::<()>();
        let receiver = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut head = [0u8; 4];
            s.read_exact(&mut head).await.expect("request header");
            let mut body = vec![0u8; u32::from_be_bytes(head) as usize];
            s.read_exact(&mut body).await.expect("request payload");
            // 4 GiB announced, nothing follows; the socket stays open.
            s.write_all(&[0xff; 4]).await.expect("answer header");
            let _ = held_rx.await;
        });
        let options = SendOptions {
            acknowledged: true,
            ..SendOptions::fire_and_forget()
        };
        let endpoint = Endpoint::Unix(path);
        let mut conn = FrameDial.dial(&endpoint, &options).await.expect("dial");
        let payload = crate::envelope::encode(&[b"a".to_vec()]);
        let sent = tokio::time::timeout(Duration::from_secs(10), conn.send(&payload))
            .await
            .expect("refused at once, not waiting for 4 GiB");
        match sent {
            Err(SendError::Broken(e)) => {
                assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
                assert!(e.to_string().contains("frame too large"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        let _ = held_tx.send(());
        receiver.await.expect("receiver");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
