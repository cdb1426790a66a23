//! The real sender against the real server, over Unix and TCP loopback.

mod common;

use common::{eventually, send, within, RunningServer, TempDir};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use txlane_peer::endpoint::Endpoint;
use txlane_peer::sender::{self, Delivery, SenderConfig, WorkloadSpec};
use txlane_peer::server::{RespondMode, ServerConfig};
use txlane_peer::workload::workload_digest;

const SPEC: WorkloadSpec = WorkloadSpec {
    seed: 7,
    batches: 200,
    tx_per_batch: 20,
    tx_size: 650,
};

async fn round_trip(endpoint: Endpoint, delivery: Delivery, respond: RespondMode) {
    let config = ServerConfig {
        respond,
        handlers: 4,
        ..ServerConfig::default()
    };
    let server = RunningServer::start(&endpoint, config).await;
    let sent = send(server.endpoint.clone(), delivery, SPEC, 4).await;
    let (want, n) = workload_digest(
        SPEC.seed,
        SPEC.batches,
        SPEC.tx_per_batch as u64,
        SPEC.tx_size,
    );
    assert_eq!(sent.undelivered, 0, "sender: {sent:?}");
    assert_eq!(sent.transactions, n);
    assert_eq!(sent.digest, want, "sender digest");
    if delivery == Delivery::Acknowledged {
        assert_eq!(sent.acknowledged, SPEC.batches);
        assert_eq!(sent.responses_ok, SPEC.batches);
    }
    let stats = server.stats.clone();
    eventually(|| stats.snapshot().frames == SPEC.batches).await;
    let got = server.stop().await;
    assert_eq!(got.transactions, n);
    assert_eq!(got.digest, want, "receiver digest");
    let written = if respond == RespondMode::Json {
        SPEC.batches
    } else {
        0
    };
    assert_eq!(got.responses_ok, written);
    let line = got.report_line(txlane_peer::report::Role::Receiver);
    assert!(line.contains(&format!("\"digest\":\"{want}\"")), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unix_fire_and_forget() {
    let dir = TempDir::new();
    round_trip(
        Endpoint::Unix(dir.join("s.sock")),
        Delivery::FireAndForget,
        RespondMode::Json,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unix_fire_and_forget_silent_receiver() {
    let dir = TempDir::new();
    round_trip(
        Endpoint::Unix(dir.join("s.sock")),
        Delivery::FireAndForget,
        RespondMode::None,
    )
    .await;
}

/// A silent receiver keeps its side of the connection open while the client
/// sends: no FIN until the client ends, so a client that reads the peer's
/// FIN as the end of the connection does not reconnect after every frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn silent_receiver_does_not_half_close() {
    let dir = TempDir::new();
    let config = ServerConfig {
        respond: RespondMode::None,
        ..ServerConfig::default()
    };
    let server = RunningServer::start(&Endpoint::Unix(dir.join("s.sock")), config).await;
    let Endpoint::Unix(path) = &server.endpoint else {
        panic!("unix endpoint expected")
    };
    let mut client = tokio::net::UnixStream::connect(path)
        .await
        .expect("connect");
    let payload = txlane_peer::envelope::encode(&[b"tx".to_vec()]);
    client
        .write_all(&(payload.len() as u32).to_be_bytes())
        .await
        .expect("header");
    client.write_all(&payload).await.expect("payload");
    let stats = server.stats.clone();
    eventually(|| stats.snapshot().frames == 1).await;
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_millis(300), client.read(&mut byte)).await;
    assert!(
        read.is_err(),
        "the silent receiver ended its side: {read:?}"
    );
    // Once the client ends, the receiver ends too.
    client.shutdown().await.expect("shutdown");
    let eof = within(Box::pin(client.read(&mut byte)))
        .await
        .expect("read");
    assert_eq!(eof, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unix_acknowledged() {
    let dir = TempDir::new();
    round_trip(
        Endpoint::Unix(dir.join("s.sock")),
        Delivery::Acknowledged,
        RespondMode::Json,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tcp_fire_and_forget() {
    round_trip(
        Endpoint::Tcp("127.0.0.1:0".into()),
        Delivery::FireAndForget,
        RespondMode::Json,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tcp_acknowledged() {
    round_trip(
        Endpoint::Tcp("127.0.0.1:0".into()),
        Delivery::Acknowledged,
        RespondMode::Json,
    )
    .await;
}

/// A server answering every frame must not deadlock a fire-and-forget
/// sender: far more response bytes than a socket buffer holds, one worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn responding_server_does_not_block_fire_and_forget() {
    let dir = TempDir::new();
    let server =
        RunningServer::start(&Endpoint::Unix(dir.join("s.sock")), ServerConfig::default()).await;
    let spec = WorkloadSpec {
        seed: 3,
        batches: 30_000,
        tx_per_batch: 1,
        tx_size: 0,
    };
    let sent = send(server.endpoint.clone(), Delivery::FireAndForget, spec, 1).await;
    assert_eq!(sent.undelivered, 0, "{sent:?}");
    let got = server.stop().await;
    assert_eq!(got.frames, spec.batches);
    assert_eq!(got.responses_ok, spec.batches);
}

/// Nobody listens yet: the sender retries until the receiver appears.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sender_waits_for_a_late_receiver() {
    let dir = TempDir::new();
    let endpoint = Endpoint::Unix(dir.join("late.sock"));
    let spec = WorkloadSpec {
        batches: 10,
        ..SPEC
    };
    let sending = tokio::spawn(send(endpoint.clone(), Delivery::Acknowledged, spec, 2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server = RunningServer::start(&endpoint, ServerConfig::default()).await;
    let sent = within(sending).await.expect("sender task");
    assert_eq!(sent.acknowledged, 10, "{sent:?}");
    assert!(sent.errors.get("ConnectFailed").copied().unwrap_or(0) > 0);
    server.stop().await;
}

/// Nothing ever listens: the sender gives up at its deadline and reports
/// everything undelivered.
#[tokio::test]
async fn sender_times_out() {
    let dir = TempDir::new();
    let mut config = SenderConfig::new(
        Endpoint::Unix(dir.join("none.sock")),
        Duration::from_millis(300),
    );
    config.workers = 2;
    let spec = WorkloadSpec { batches: 5, ..SPEC };
    let sent = within(Box::pin(sender::run(config, spec))).await;
    assert_eq!(sent.undelivered, 5);
    assert_eq!(sent.frames, 0);
}

/// `--expect-transactions`: the server stops by itself once they are in,
/// and `--record` holds exactly the accepted frames.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expect_transactions_and_record() {
    let dir = TempDir::new();
    let record = dir.join("record.bin");
    let spec = WorkloadSpec {
        batches: 30,
        ..SPEC
    };
    let config = ServerConfig {
        expect_transactions: Some(spec.batches * spec.tx_per_batch as u64),
        record: Some(record.clone()),
        ..ServerConfig::default()
    };
    let server = RunningServer::start(&Endpoint::Unix(dir.join("s.sock")), config).await;
    let sent = send(server.endpoint.clone(), Delivery::FireAndForget, spec, 3).await;
    let got = server.finished().await;
    assert_eq!(got.digest, sent.digest);
    let bytes = std::fs::read(&record).expect("record file");
    let mut rest = &bytes[..];
    let mut frames = 0;
    let mut digest = txlane_peer::digest::Digest::new();
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let payload = &rest[4..4 + len];
        for tx in txlane_peer::envelope::decode_slice(payload).expect("recorded envelope") {
            digest.add(tx);
        }
        rest = &rest[4 + len..];
        frames += 1;
    }
    assert!(rest.is_empty());
    assert_eq!(frames, spec.batches);
    assert_eq!(digest, sent.digest);
}

/// Oversize header over TCP: the error response, then the server closes
/// even though we keep our side open.
#[tokio::test]
async fn oversize_header_gets_an_error_then_close() {
    let config = ServerConfig {
        max_frame_bytes: 100,
        ..ServerConfig::default()
    };
    let server = RunningServer::start(&Endpoint::Tcp("127.0.0.1:0".into()), config).await;
    let Endpoint::Tcp(addr) = &server.endpoint else {
        panic!("tcp endpoint")
    };
    let mut s = tokio::net::TcpStream::connect(addr.as_str())
        .await
        .expect("connect");
    s.write_all(&[0, 0, 0, 101, 1, 2, 3]).await.expect("write");
    let mut got = Vec::new();
    within(Box::pin(s.read_to_end(&mut got)))
        .await
        .expect("read to end");
    let want = br#"{"success":false,"error":"Transaction too large: 101 bytes (max: 100)"}"#;
    assert_eq!(&got[..4], &(want.len() as u32).to_be_bytes());
    assert_eq!(&got[4..], want);
    let c = server.stop().await;
    assert_eq!(c.errors.get("FrameTooLarge"), Some(&1));
}

/// Bad input on one connection does not affect another.
#[tokio::test]
async fn bad_connection_is_isolated() {
    let dir = TempDir::new();
    let path = dir.join("s.sock");
    let server = RunningServer::start(&Endpoint::Unix(path.clone()), ServerConfig::default()).await;
    let mut good = tokio::net::UnixStream::connect(&path)
        .await
        .expect("connect");
    let mut bad = tokio::net::UnixStream::connect(&path)
        .await
        .expect("connect");
    bad.write_all(&[0xff, 0xff, 0xff, 0xff])
        .await
        .expect("write");
    good.write_all(&[0, 0, 0, 3, 0x0a, 1, 0xaa])
        .await
        .expect("write");
    let mut head = [0u8; 4];
    within(Box::pin(good.read_exact(&mut head)))
        .await
        .expect("read");
    let mut body = vec![0u8; u32::from_be_bytes(head) as usize];
    within(Box::pin(good.read_exact(&mut body)))
        .await
        .expect("read");
    assert_eq!(body, br#"{"success":true,"count":1}"#);
    server.stop().await;
}

/// A client stalled inside a frame is closed after the frame timeout.
#[tokio::test]
async fn stalled_client_is_closed() {
    let dir = TempDir::new();
    let path = dir.join("s.sock");
    let config = ServerConfig {
        frame_timeout: Some(Duration::from_millis(100)),
        ..ServerConfig::default()
    };
    let server = RunningServer::start(&Endpoint::Unix(path.clone()), config).await;
    let mut s = tokio::net::UnixStream::connect(&path)
        .await
        .expect("connect");
    s.write_all(&[0, 0, 0, 10, 1]).await.expect("write");
    let mut got = Vec::new();
    within(Box::pin(s.read_to_end(&mut got)))
        .await
        .expect("read to end");
    assert!(got.is_empty());
    let c = server.stop().await;
    assert_eq!(c.errors.get("FrameTimeout"), Some(&1));
}
