//! The deployed-server emulator over real Unix sockets: exact answer texts
//! of every phase, the out-of-step oversize defect, inner `Transaction`
//! validation, the deployed success fields and the socket file (the binary:
//! `deployed_binary.rs`).

mod common;

use common::{ask, batch, closed, frame, response, to_hex, within, TempDir};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::num::NonZeroU64;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use txlane_peer::deployed::{self, DeployedConfig, DeployedListener};
use txlane_peer::envelope;
use txlane_peer::report::{Counters, Stats};
use txlane_peer::sender::{self, Delivery, SenderConfig, WorkloadSpec};
use txlane_peer::workload::workload_digest;

/// An emulator running in this process on a fresh socket path.
struct Emulator {
    _dir: TempDir,
    path: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<Counters>>,
}

impl Emulator {
    async fn start(config: DeployedConfig) -> Self {
        let dir = TempDir::new();
        let path = dir.join("d.sock");
        let listener = DeployedListener::bind(&path).expect("bind");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(deployed::run(
            listener,
            config,
            async move {
                let _ = stopped.await;
            },
            Arc::new(Stats::new()),
        ));
        Emulator {
            _dir: dir,
            path,
            stop: Some(stop),
            task,
        }
    }

    async fn connect(&self) -> UnixStream {
        within(Box::pin(UnixStream::connect(&self.path)))
            .await
            .expect("connect")
    }

    async fn stop(mut self) -> Counters {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        within(&mut self.task).await.expect("task").expect("run")
    }
}

/// The exact failure response bytes: `success` first, then `error`.
fn err_text(text: &str) -> String {
    format!(
        r#"{{"success":false,"error":{}}}"#,
        Value::String(text.to_string())
    )
}

#[tokio::test]
async fn phases_answer_the_deployed_texts_in_order() {
    let dir = TempDir::new();
    let record = dir.join("rec.bin");
    let emu = Emulator::start(DeployedConfig {
        not_ready: 2,
        not_ready_close: 1,
        queued: 1,
        fail_submit_every: NonZeroU64::new(2),
        record: Some(record.clone()),
        ..DeployedConfig::default()
    })
    .await;
    let (payload, _) = batch(1, 3);
    let not_ready = err_text("Node not ready to accept transactions: node is starting");

    let mut a = emu.connect().await;
    // Malformed frames get their own answer and do not use up a phase.
    let bad = ask(&mut a, &envelope::encode(&[vec![1u8, 2, 3]])).await;
    assert!(
        bad.starts_with(r#"{"success":false,"error":"Invalid Transactions protobuf: "#),
        "{bad}"
    );
    assert_eq!(
        ask(&mut a, b"").await,
        err_text("Empty Transactions message")
    );
    assert_eq!(ask(&mut a, &payload).await, not_ready);
    assert_eq!(
        ask(&mut a, &payload).await,
        not_ready,
        "connection stays open"
    );
    assert_eq!(
        ask(&mut a, &payload).await,
        err_text("Node not ready: epoch transition")
    );
    assert!(
        closed(&mut a).await,
        "closed after the epoch-transition answer"
    );

    let mut b = emu.connect().await;
    assert_eq!(
        ask(&mut b, &payload).await,
        r#"{"success":true,"queued":true,"message":"queued for next epoch"}"#
    );
    let ok = ask(&mut b, &payload).await;
    assert!(ok.starts_with(r#"{"success":true,"tx_hash":""#), "{ok}");
    assert_eq!(
        ask(&mut b, &payload).await,
        err_text("Transaction submission failed: emulated"),
        "second frame of normal service fails (every 2nd)"
    );
    let ok = ask(&mut b, &payload).await;
    assert!(ok.starts_with(r#"{"success":true,"tx_hash":""#), "{ok}");

    let got = emu.stop().await;
    assert_eq!(got.frames, 3, "queued + two successes are accepted");
    assert_eq!(got.transactions, 9);
    assert_eq!(got.bytes, 3 * payload.len() as u64);
    assert_eq!(got.responses_ok, 3);
    assert_eq!(got.responses_error, 6);
    let errors: Vec<(&str, u64)> = got.errors.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        errors,
        vec![
            ("EmptyFrame", 1),
            ("MalformedEnvelope", 1),
            ("NotReady", 2),
            ("NotReadyClose", 1),
            ("SubmitFailed", 1),
        ]
    );
    assert_eq!(got.extra.get("queued"), Some(&1));
    // The record holds exactly the accepted payloads, length-prefixed.
    let rec = std::fs::read(&record).expect("record");
    assert_eq!(
        rec,
        [frame(&payload), frame(&payload), frame(&payload)].concat()
    );
}

#[tokio::test]
async fn success_has_the_deployed_fields() {
    let emu = Emulator::start(DeployedConfig::default()).await;
    let (payload, txs) = batch(5, 4);
    let mut s = emu.connect().await;
    let text = ask(&mut s, &payload).await;
    assert!(
        text.starts_with(r#"{"success":true,"tx_hash":""#),
        "field order: {text}"
    );
    let v: Value = serde_json::from_str(&text).expect("json");
    let hash = to_hex(&Sha256::digest(&txs[0]));
    assert_eq!(v["tx_hash"], hash.as_str());
    assert_eq!(hash.len(), 64);
    assert!(v["block_ref"].is_string());
    assert_eq!(v["indices"], serde_json::json!([0, 1, 2, 3]));
    assert_eq!(v["count"], 4);
    let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 5, "{text}");
    drop(s);
    let got = emu.stop().await;
    let mut want = txlane_peer::digest::Digest::new();
    for t in &txs {
        want.add(t);
    }
    assert_eq!(got.digest, want);
}

#[tokio::test]
async fn oversize_frame_is_answered_without_consuming_its_payload() {
    let emu = Emulator::start(DeployedConfig {
        max_frame_bytes: 16,
        ..DeployedConfig::default()
    })
    .await;
    // A 17-byte "payload" that the server will instead read as three frames:
    //   [0,0,0,2] [0x10,0x01]            -> a valid, empty Transactions
    //   [0,0,0,3] [0xff,0xff,0xff]       -> invalid protobuf
    //   [0x7f,0xff,0xff,0xff]            -> another oversize header
    let inner: Vec<u8> = [
        &[0, 0, 0, 2, 0x10, 0x01][..],
        &[0, 0, 0, 3, 0xff, 0xff, 0xff],
        &[0x7f, 0xff, 0xff, 0xff],
    ]
    .concat();
    assert_eq!(inner.len(), 17);
    let mut s = emu.connect().await;
    s.write_all(&frame(&inner)).await.expect("write");
    assert_eq!(
        response(&mut s).await,
        err_text("Transaction too large: 17 bytes (max: 16)")
    );
    assert_eq!(
        response(&mut s).await,
        err_text("Empty Transactions message"),
        "the payload's first 4 bytes were read as a length"
    );
    let invalid = response(&mut s).await;
    assert!(
        invalid.starts_with(r#"{"success":false,"error":"Invalid Transactions protobuf: "#),
        "{invalid}"
    );
    assert_eq!(
        response(&mut s).await,
        err_text("Transaction too large: 2147483647 bytes (max: 16)"),
        "and no 2 GiB were awaited or allocated"
    );
    // Back in step by construction: a real frame is served normally.
    let payload = envelope::encode(&[[0x20u8, 0x05]]); // one tx: MaxGas = 5
    let ok = ask(&mut s, &payload).await;
    assert!(ok.starts_with(r#"{"success":true,"#), "{ok}");
    drop(s);
    let got = emu.stop().await;
    assert_eq!(got.errors.get("FrameTooLarge"), Some(&2));
    assert_eq!(got.frames, 1);
    assert_eq!(got.responses_error, 4);
}

#[tokio::test]
async fn invalid_inner_transactions_are_rejected() {
    let emu = Emulator::start(DeployedConfig::default()).await;
    let (_, good) = batch(2, 2);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("arbitrary bytes", vec![0xde, 0xad, 0xbe, 0xef]),
        ("MaxGas as bytes", vec![0x22, 0x01, 0x00]),
        ("ToAddress as varint", vec![0x08, 0x01]),
        ("truncated Sign", vec![0x5a, 0x41, 0x00]),
        ("unterminated varint", vec![0x20, 0xff, 0xff]),
        (
            "AccessList tuple with bad key",
            vec![0xb2, 0x01, 0x02, 0x10, 0x01],
        ),
    ];
    let mut s = emu.connect().await;
    for (name, tx) in cases {
        // One good transaction next to the bad one: the whole batch fails.
        let payload = envelope::encode(&[good[0].clone(), tx]);
        let text = ask(&mut s, &payload).await;
        assert!(
            text.starts_with(r#"{"success":false,"error":"Invalid Transactions protobuf: "#),
            "{name}: {text}"
        );
    }
    // Unknown fields are skipped, as proto3 does.
    let mut with_unknown = good[1].clone();
    with_unknown.extend_from_slice(&[0xb8, 0x06, 0x01]); // field 103, varint
    let text = ask(&mut s, &envelope::encode(&[with_unknown])).await;
    assert!(text.starts_with(r#"{"success":true,"#), "{text}");
    drop(s);
    let got = emu.stop().await;
    assert_eq!(got.errors.get("MalformedEnvelope"), Some(&6));
    assert_eq!(got.frames, 1);
    // Accepted as sent; the re-encoding dropped the unknown field, which is
    // flagged.
    assert_eq!(got.errors.get("NonCanonical"), Some(&1));
}

#[tokio::test]
async fn submit_delay_applies_to_submissions_only() {
    let emu = Emulator::start(DeployedConfig {
        not_ready: 1,
        submit_delay: Duration::from_millis(300),
        ..DeployedConfig::default()
    })
    .await;
    let (payload, _) = batch(4, 2);
    let mut s = emu.connect().await;
    let t = std::time::Instant::now();
    assert!(ask(&mut s, &payload).await.contains("node is starting"));
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "not-ready is immediate"
    );
    let t = std::time::Instant::now();
    assert!(ask(&mut s, &payload).await.contains(r#""count":2"#));
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "submission is delayed"
    );
    drop(s);
    emu.stop().await;
}

#[tokio::test]
async fn socket_file_replaces_anything_and_is_0660() {
    let dir = TempDir::new();
    let path = dir.join("x.sock");
    std::fs::write(&path, b"not a socket").expect("write");
    let l = DeployedListener::bind(&path).expect("bind over a regular file");
    let meta = std::fs::symlink_metadata(&path).expect("exists");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    // A second emulator deletes even a live socket (the deployed behaviour).
    let second = DeployedListener::bind(&path).expect("bind over a live socket");
    drop(l); // the first no longer owns the path: leaves it alone
    assert!(path.exists());
    drop(second);
    assert!(!path.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sender_acknowledged_against_the_emulator() {
    let emu = Emulator::start(DeployedConfig::default()).await;
    let spec = WorkloadSpec {
        seed: 3,
        batches: 40,
        tx_per_batch: 10,
        tx_size: 650,
    };
    let endpoint = txlane_peer::endpoint::Endpoint::Unix(emu.path.clone());
    let mut config = SenderConfig::new(endpoint, Duration::from_secs(15));
    config.delivery = Delivery::Acknowledged;
    config.workers = 4;
    let sent = within(Box::pin(sender::run(config, spec))).await;
    let (want, n) = workload_digest(3, 40, 10, 650);
    assert_eq!(sent.acknowledged, 40, "{sent:?}");
    let got = emu.stop().await;
    assert_eq!(got.transactions, n);
    assert_eq!(got.digest, want);
}
