//! The deployed-server emulator's binary under the PEERS.md contract: ready
//! and report lines (`--expect-transactions`, SIGTERM), errors by kind, the
//! socket file's mode, and what it refuses on the command line.

mod common;

use common::{ask, batch, response, PeerProcess, TempDir};
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::process::Command;
use txlane_peer::workload::{workload_digest, Workload};

const BIN: &str = env!("CARGO_BIN_EXE_txlane-deployed-server");

/// The emulator binary on `path` with `args`, after its ready line.
async fn spawn(args: &[&str], path: &Path) -> PeerProcess {
    let mut all = vec![
        OsStr::new("receive"),
        OsStr::new("--listen"),
        path.as_os_str(),
    ];
    all.extend(args.iter().map(OsStr::new));
    let (peer, ready) = PeerProcess::receiver(BIN, all).await;
    assert_eq!(ready["endpoint"], path.display().to_string().as_str());
    peer
}

#[tokio::test]
async fn binary_expect_transactions_reports_accepted_frames() {
    let dir = TempDir::new();
    let path = dir.join("b.sock");
    let record = dir.join("rec.bin");
    let emu = spawn(
        &[
            "--expect-transactions",
            "100",
            "--queued",
            "1",
            "--record",
            record.to_str().expect("utf8 path"),
        ],
        &path,
    )
    .await;
    let mode = std::fs::symlink_metadata(&path)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660);
    let mut w = Workload::new(1, 650);
    let mut s = UnixStream::connect(&path).await.expect("connect");
    assert!(ask(&mut s, b"")
        .await
        .contains("Empty Transactions message"));
    let first = ask(&mut s, &w.next_batch(50).payload).await;
    assert!(first.contains(r#""queued":true"#), "{first}");
    let second = ask(&mut s, &w.next_batch(50).payload).await;
    assert!(second.contains(r#""count":50"#), "{second}");
    let r = emu.report().await;
    assert_eq!(r["event"], "report");
    assert_eq!(r["role"], "receiver");
    assert_eq!(r["impl"], "deployed");
    assert_eq!(r["frames"], 2);
    assert_eq!(r["transactions"], 100);
    let (digest, _) = workload_digest(1, 2, 50, 650);
    assert_eq!(r["digest"], digest.to_hex().as_str());
    assert_eq!(r["responses"], serde_json::json!({"ok": 2, "error": 1}));
    assert_eq!(r["errors"], serde_json::json!({"EmptyFrame": 1}));
    assert_eq!(r["queued"], 1);
    assert!(r["elapsedMs"].is_u64());
    assert_eq!(
        std::fs::read(&record).expect("record").len(),
        2 * (4 + 50 * 653)
    );
}

#[tokio::test]
async fn binary_sigterm_reports_errors_by_kind() {
    let dir = TempDir::new();
    let path = dir.join("t.sock");
    let emu = spawn(&["--not-ready", "1", "--max-frame-bytes", "1000"], &path).await;
    let mut s = UnixStream::connect(&path).await.expect("connect");
    let (payload, _) = batch(9, 1);
    assert!(ask(&mut s, &payload).await.contains("node is starting"));
    s.write_all(&2000u32.to_be_bytes()).await.expect("write");
    assert!(response(&mut s)
        .await
        .contains("Transaction too large: 2000 bytes (max: 1000)"));
    let r = emu.stop().await;
    assert_eq!(r["impl"], "deployed");
    assert_eq!(r["frames"], 0);
    assert_eq!(r["digest"], "0000000000000000");
    assert_eq!(r["responses"], serde_json::json!({"ok": 0, "error": 2}));
    assert_eq!(
        r["errors"],
        serde_json::json!({"FrameTooLarge": 1, "NotReady": 1})
    );
}

#[tokio::test]
async fn binary_refuses_tcp_and_respond_none() {
    for args in [
        vec!["receive", "--listen", "tcp://127.0.0.1:0"],
        vec!["--listen", "/tmp/x.sock", "--respond", "none"],
        vec!["--listen", "/tmp/x.sock", "--fail-submit-every", "0"],
        vec!["--listen", "/tmp/x.sock", "--bogus"],
    ] {
        let out = Command::new(BIN).args(&args).output().await.expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
