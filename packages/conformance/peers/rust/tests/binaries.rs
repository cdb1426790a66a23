//! The two binaries under the PEERS.md contract: ready line, report lines,
//! exit codes.

mod common;

use common::{PeerProcess, TempDir, STEP};
use serde_json::Value;
use std::ffi::OsStr;
use std::process::Stdio;
use tokio::process::Command;

const RECEIVER: &str = env!("CARGO_BIN_EXE_txlane-rust-receiver");
const SENDER: &str = env!("CARGO_BIN_EXE_txlane-rust-sender");

#[tokio::test]
async fn bad_flags_exit_2() {
    for (bin, args) in [
        (RECEIVER, vec!["--listen", "/tmp/x.sock", "--bogus"]),
        (RECEIVER, vec![]),
        (SENDER, vec!["--endpoint", "relative.sock"]),
        (
            SENDER,
            vec![
                "send",
                "--endpoint",
                "tcp://127.0.0.1:1",
                "--delivery",
                "maybe",
            ],
        ),
    ] {
        let out = Command::new(bin).args(&args).output().await.expect("run");
        assert_eq!(out.status.code(), Some(2), "{bin} {args:?}");
        assert!(out.stdout.is_empty(), "stdout carries only JSON lines");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_to_receiver_over_tcp() {
    let dir = TempDir::new();
    let record = dir.join("rec.bin");
    let args = [
        "receive",
        "--listen",
        "tcp://127.0.0.1:0",
        "--expect-transactions",
        "500",
        "--record",
    ];
    let (receiver, ready) = PeerProcess::receiver(
        RECEIVER,
        args.iter().map(OsStr::new).chain([record.as_os_str()]),
    )
    .await;
    let endpoint = ready["endpoint"].as_str().expect("endpoint").to_string();
    assert!(endpoint.starts_with("tcp://127.0.0.1:") && !endpoint.ends_with(":0"));

    let sender = Command::new(SENDER)
        .args([
            "send",
            "--endpoint",
            &endpoint,
            "--batches",
            "10",
            "--tx-per-batch",
            "50",
        ])
        .args([
            "--seed",
            "1",
            "--delivery",
            "acknowledged",
            "--workers",
            "3",
        ])
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(STEP, sender)
        .await
        .expect("sender in time")
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("utf8");
    let report: Value = serde_json::from_str(text.trim()).expect("one JSON line");
    assert_eq!(report["role"], "sender");
    assert_eq!(report["impl"], "rust");
    assert_eq!(report["acknowledged"], 10);
    // Pinned in vectors/workload.json: workload-seed-1-10x50x650.
    assert_eq!(report["digest"], "930daeca8d931772");

    // --expect-transactions: the receiver reports and exits by itself.
    let got = receiver.report().await;
    assert_eq!(got["event"], "report");
    assert_eq!(got["role"], "receiver");
    assert_eq!(got["transactions"], 500);
    assert_eq!(got["digest"], "930daeca8d931772");
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_drains_and_reports() {
    let dir = TempDir::new();
    let path = dir.join("r.sock");
    let listen = format!("unix:{}", path.display());
    let (receiver, _) = PeerProcess::receiver(RECEIVER, ["--listen", &listen]).await;
    assert!(path.exists());
    let report = receiver.stop().await;
    assert_eq!(report["role"], "receiver");
    assert!(!path.exists(), "socket file removed");
}
