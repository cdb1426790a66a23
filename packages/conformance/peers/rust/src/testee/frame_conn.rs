//! [`FrameDial`] and [`FrameConn`]: the testee kit's ready-made client,
//! which speaks the framing directly.

use super::{answer, BoxFuture, Conn, Dial, SendError, SendOptions};
use crate::endpoint::Endpoint;
use crate::frame::FrameError;
use crate::listener::Stream;
use crate::sender::DEFAULT_MAX_RESPONSE_BYTES;
use bytes::Bytes;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long [`FrameConn`] waits for the first answer on a connection before
/// deciding the receiver is silent (`--respond none`).
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
            }) as Box<dyn Conn>)
        })
    }
}

/// A client that writes one frame, then reads its answer (so it works in
/// both delivery modes, one frame in flight). In fire-and-forget mode, a
/// connection with no answer within [`SILENT_AFTER`] (or closed for writing
/// before any answer) is to a silent receiver, and its writes count as
/// deliveries; in acknowledged mode every frame waits for its answer.
#[derive(Debug)]
pub struct FrameConn {
    stream: Stream,
    answered: bool,
    silent: bool,
}

impl FrameConn {
    async fn exchange(&mut self, payload: &Bytes) -> Result<bool, SendError> {
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
        if self.silent {
            return Ok(false);
        }
        let mut head = [0u8; 4];
        if self.answered {
            r.read_exact(&mut head).await?;
        } else {
            match tokio::time::timeout(SILENT_AFTER, r.read_exact(&mut head)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) if e.kind() != io::ErrorKind::UnexpectedEof => return Err(e.into()),
                // No answer within SILENT_AFTER, or the receiver shut its write
                // side down without answering: a silent receiver.
                _ => {
                    self.silent = true;
                    return Ok(false);
                }
            }
        }
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
            max_frame_bytes: 1 << 20,
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
            max_frame_bytes: 1 << 20,
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
