//! The Rust sender against the deployed-server emulator binary, over real
//! Unix sockets: through every start-up/epoch phase nothing is lost and the
//! sender's digest is the emulator's; final rejections are exact and exit
//! 1; an oversize frame is rejected, the stream's loss of step is noticed
//! and every later batch delivered.

mod common;

use common::{PeerProcess, TempDir, STEP};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;
use txlane_peer::endpoint::Endpoint;
use txlane_peer::sender::{Delivery, Sender, SenderConfig};
use txlane_peer::workload::{workload_digest, Workload};

const EMULATOR: &str = env!("CARGO_BIN_EXE_txlane-deployed-server");
const SENDER: &str = env!("CARGO_BIN_EXE_txlane-rust-sender");

/// The emulator binary on `path` with `flags`, after its ready line.
async fn emulator(path: &Path, flags: &[&str]) -> PeerProcess {
    let mut args = vec![
        OsStr::new("receive"),
        OsStr::new("--listen"),
        path.as_os_str(),
    ];
    args.extend(flags.iter().map(OsStr::new));
    PeerProcess::receiver(EMULATOR, args).await.0
}

/// Run the sender binary; its exit code and report line.
async fn send(path: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let out = Command::new(SENDER)
        .arg("send")
        .arg("--endpoint")
        .arg(path)
        .args(["--timeout-ms", "15000", "--transient-retry-ms", "20"])
        .args(args)
        .stderr(Stdio::null())
        .output();
    let out = tokio::time::timeout(STEP, out)
        .await
        .expect("sender in time")
        .expect("run sender");
    let text = String::from_utf8(out.stdout).expect("utf8");
    let report: Value = serde_json::from_str(text.trim()).expect("one report line");
    (out.status.code(), report)
}

fn error_count(report: &Value, kind: &str) -> u64 {
    report["errors"][kind].as_u64().unwrap_or(0)
}

const BATCHES: &str = "60";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_phase_delivers_everything_once_in_both_modes() {
    for delivery in ["acknowledged", "fire-and-forget"] {
        let dir = TempDir::new();
        let path = dir.join("d.sock");
        let flags = [
            "--not-ready",
            "5",
            "--not-ready-close",
            "5",
            "--queued",
            "3",
        ];
        let emu = emulator(&path, &flags).await;
        let args = [
            "--delivery",
            delivery,
            "--workers",
            "3",
            "--batches",
            BATCHES,
            "--tx-per-batch",
            "10",
        ];
        let (code, sent) = send(&path, &args).await;
        let got = emu.stop().await;
        let (want, n) = workload_digest(1, 60, 10, 650);
        assert_eq!(code, Some(0), "{delivery}: {sent}");
        assert_eq!(sent["undelivered"], 0, "{delivery}: {sent}");
        assert_eq!(sent["acknowledged"], 60, "{delivery}: {sent}");
        assert_eq!(error_count(&sent, "NotReady"), 10, "{delivery}: {sent}");
        assert_eq!(error_count(&sent, "Rejected"), 0, "{delivery}: {sent}");
        assert_eq!(sent["digest"], want.to_hex().as_str(), "{delivery}: {sent}");
        assert_eq!(got["digest"], sent["digest"], "{delivery}: {got}");
        assert_eq!(
            got["transactions"], n,
            "{delivery}: each batch accepted once"
        );
        assert_eq!(got["frames"], 60, "{delivery}: {got}");
        assert_eq!(got["queued"], 3, "{delivery}: {got}");
        assert_eq!(error_count(&got, "NotReady"), 5, "{delivery}: {got}");
        assert_eq!(error_count(&got, "NotReadyClose"), 5, "{delivery}: {got}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_rejections_are_exact_and_exit_1() {
    for delivery in ["acknowledged", "fire-and-forget"] {
        let dir = TempDir::new();
        let path = dir.join("d.sock");
        let emu = emulator(&path, &["--fail-submit-every", "10"]).await;
        let args = [
            "--delivery",
            delivery,
            "--workers",
            "2",
            "--batches",
            BATCHES,
        ];
        let (code, sent) = send(&path, &args).await;
        let got = emu.stop().await;
        assert_eq!(code, Some(1), "{delivery}: {sent}");
        assert_eq!(error_count(&sent, "Rejected"), 6, "{delivery}: {sent}");
        assert_eq!(sent["undelivered"], 6, "{delivery}: {sent}");
        assert_eq!(sent["acknowledged"], 54, "{delivery}: {sent}");
        assert_eq!(sent["responses"]["error"], 6, "{delivery}: {sent}");
        assert_eq!(got["frames"], 54, "{delivery}: {got}");
        assert_eq!(got["digest"], sent["digest"], "{delivery}: {got}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_frame_is_rejected_and_the_rest_delivered() {
    for delivery in [Delivery::Acknowledged, Delivery::FireAndForget] {
        let dir = TempDir::new();
        let path = dir.join("d.sock");
        // Normal batches: 10 × 650-byte transactions, about 6.5 KiB.
        let emu = emulator(&path, &["--max-frame-bytes", "20000"]).await;
        let mut config = SenderConfig::new(Endpoint::Unix(path.clone()), Duration::from_secs(15));
        config.delivery = delivery;
        config.workers = 1;
        let sender = Sender::start(config);
        let mut workload = Workload::new(5, 650);
        let big = workload.next_batch(40);
        assert!(big.payload.len() > 20_000);
        let mut want = txlane_peer::digest::Digest::new();
        sender.send(big).await.expect("queued");
        for _ in 0..10 {
            let batch = workload.next_batch(10);
            want.merge(batch.digest);
            sender.send(batch).await.expect("queued");
        }
        let sent = tokio::time::timeout(STEP, sender.close())
            .await
            .expect("closed in time");
        let got = emu.stop().await;
        let what = format!("{delivery:?}: {sent:?}");
        assert_eq!(sent.errors.get("Rejected"), Some(&1), "{what}");
        assert!(
            sent.errors.get("OutOfStep").is_some_and(|&n| n >= 1),
            "{what}"
        );
        assert_eq!(sent.acknowledged, 10, "{what}");
        assert_eq!(sent.delivered, 10, "{what}");
        assert_eq!(sent.digest, want, "{what}");
        assert_eq!(got["digest"], want.to_hex().as_str(), "{got}");
        assert_eq!(got["frames"], 10, "{got}");
        assert!(error_count(&got, "FrameTooLarge") >= 1, "{got}");
    }
}
