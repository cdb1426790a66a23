//! The two binaries under the PEERS.md contract: ready line, report lines,
//! exit codes.

mod common;

use common::TempDir;
use serde_json::Value;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
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
    let mut receiver = Command::new(RECEIVER)
        .args([
            "receive",
            "--listen",
            "tcp://127.0.0.1:0",
            "--expect-transactions",
            "500",
        ])
        .arg("--record")
        .arg(dir.join("rec.bin"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn receiver");
    let stdout = receiver.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let step = Duration::from_secs(20);
    let ready = tokio::time::timeout(step, lines.next_line())
        .await
        .expect("ready in time")
        .expect("read")
        .expect("a ready line");
    let ready: Value = serde_json::from_str(&ready).expect("JSON");
    assert_eq!(ready["event"], "listening");
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
    let out = tokio::time::timeout(step, sender)
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

    let line = tokio::time::timeout(step, lines.next_line())
        .await
        .expect("report in time")
        .expect("read")
        .expect("a report line");
    let got: Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(got["event"], "report");
    assert_eq!(got["role"], "receiver");
    assert_eq!(got["transactions"], 500);
    assert_eq!(got["digest"], "930daeca8d931772");
    let status = tokio::time::timeout(step, receiver.wait())
        .await
        .expect("exit")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
    assert!(tokio::time::timeout(step, lines.next_line())
        .await
        .expect("eof")
        .expect("read")
        .is_none());
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_drains_and_reports() {
    let dir = TempDir::new();
    let path = dir.join("r.sock");
    let mut receiver = Command::new(RECEIVER)
        .arg("--listen")
        .arg(format!("unix:{}", path.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn receiver");
    let mut lines = BufReader::new(receiver.stdout.take().expect("stdout")).lines();
    let step = Duration::from_secs(20);
    let ready = tokio::time::timeout(step, lines.next_line())
        .await
        .expect("ready")
        .expect("read");
    assert!(ready.is_some_and(|l| l.contains("\"listening\"")));
    assert!(path.exists());
    let pid = receiver.id().expect("pid");
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await;
    assert!(killed.is_ok_and(|s| s.success()));
    let report = tokio::time::timeout(step, lines.next_line())
        .await
        .expect("report")
        .expect("read");
    assert!(report.is_some_and(|l| l.contains("\"role\":\"receiver\"")));
    let status = tokio::time::timeout(step, receiver.wait())
        .await
        .expect("exit")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
    assert!(!path.exists(), "socket file removed");
}
