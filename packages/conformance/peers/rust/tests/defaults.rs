//! The shared defaults table, `packages/protocol/vectors/defaults.json`
//! (SPEC §11), against this crate's defaults: every row names the TypeScript
//! value, and the Rust value where it differs (null: no such setting).
//!
//! Like `tests/vectors.rs`, it reads outside the crate, so it is not shipped
//! in the crate package; it runs in the repository.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use txlane_peer::endpoint::Endpoint;
use txlane_peer::frame::DEFAULT_MAX_FRAME_BYTES;
use txlane_peer::sender::{self, SenderConfig};
use txlane_peer::server::{self, ServerConfig};

fn ms(d: Duration) -> f64 {
    d.as_millis() as f64
}

/// This crate's values of the shared defaults, by their name in the table:
/// the configurations' `Default`s where there is one, so that what is
/// checked is what a receiver or sender really starts with.
fn rust_defaults() -> BTreeMap<&'static str, f64> {
    let r = ServerConfig::default();
    let s = SenderConfig::new(Endpoint::Unix(PathBuf::from("/x.sock")), Duration::ZERO);
    let frame_timeout = r.frame_timeout.expect("a frame timeout by default");
    BTreeMap::from([
        ("maxFrameBytes", DEFAULT_MAX_FRAME_BYTES as f64),
        ("receiver.handlers", r.handlers as f64),
        ("receiver.frameTimeoutMs", ms(frame_timeout)),
        ("receiver.lingerMs", ms(server::DEFAULT_LINGER)),
        ("receiver.maxConnections", r.max_connections as f64),
        (
            "receiver.connectionQueueCapacity",
            r.pending_responses as f64,
        ),
        ("receiver.queueCapacity", r.queue_capacity as f64),
        ("receiver.socketMode", f64::from(r.socket_mode)),
        ("receiver.closeTimeoutMs", ms(r.drain_timeout)),
        ("sender.workers", s.workers as f64),
        ("sender.queueCapacity", s.queue as f64),
        ("sender.maxInFlight", s.ack_window as f64),
        ("sender.ackTimeoutMs", ms(s.ack_timeout)),
        (
            "sender.connectTimeoutMs",
            ms(sender::DEFAULT_CONNECT_TIMEOUT),
        ),
        ("sender.reconnectFirstDelayMs", ms(s.backoff_initial)),
        ("sender.reconnectMaxDelayMs", ms(s.backoff_max)),
        (
            "sender.maxResponseBytes",
            sender::DEFAULT_MAX_RESPONSE_BYTES as f64,
        ),
        (
            "sender.transientRetryFirstDelayMs",
            ms(s.transient_retry.initial),
        ),
        ("sender.transientRetryMaxDelayMs", ms(s.transient_retry.max)),
        (
            "sender.transientRetries",
            f64::from(s.transient_retry.retries),
        ),
        ("sender.autoSilenceMs", ms(sender::AUTO_SILENCE)),
        ("sender.drainAfterCloseMs", ms(sender::LINGER)),
        (
            "sender.fireAndForgetWindow",
            sender::FIRE_AND_FORGET_WINDOW as f64,
        ),
    ])
}

/// What the table says Rust has for `row`: `None` for no such setting.
fn expected(row: &Value) -> Option<f64> {
    let name = row["name"].as_str().unwrap_or("?");
    match row.get("differs").and_then(|d| d.get("rust")) {
        Some(v) => {
            assert!(
                row["differs"]["reason"].is_string(),
                "{name}: differs without a reason"
            );
            v.as_f64()
        }
        None => row["ts"].as_f64(),
    }
}

#[test]
fn every_shared_default_matches_the_table() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../protocol/vectors/defaults.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: the shared defaults table is required: {e}",
            path.display()
        )
    });
    let file: Value = serde_json::from_str(&text).expect("defaults.json is JSON");
    assert_eq!(file["kind"], "defaults");
    let rows = file["vectors"].as_array().expect("rows");
    assert!(!rows.is_empty(), "no rows");
    let ours = rust_defaults();
    let mut problems = Vec::new();
    for row in rows {
        let name = row["name"].as_str().expect("a name");
        match (expected(row), ours.get(name)) {
            (None, Some(got)) => {
                problems.push(format!("{name}: Rust has {got}; the table says none"))
            }
            (Some(want), None) => problems.push(format!(
                "{name}: the table says Rust has {want}; none is mapped"
            )),
            (Some(want), Some(got)) if *got != want => {
                problems.push(format!("{name}: Rust has {got}; the table says {want}"))
            }
            _ => {}
        }
    }
    for name in ours.keys() {
        if !rows.iter().any(|r| r["name"] == *name) {
            problems.push(format!("{name}: a Rust default without a row in the table"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
