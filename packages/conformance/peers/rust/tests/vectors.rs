//! Every vector of `packages/protocol/vectors/*.json` (SPEC §10, PEERS.md).

mod common;

use bytes::BytesMut;
use common::{hex, to_hex, RunningServer, TempDir};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use txlane_peer::digest::Digest;
use txlane_peer::endpoint::Endpoint;
use txlane_peer::envelope;
use txlane_peer::frame::{FrameDecoder, FrameError, DEFAULT_MAX_FRAME_BYTES};
use txlane_peer::response;
use txlane_peer::server::ServerConfig;
use txlane_peer::workload::{workload_digest, SplitMix64, Workload};

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../protocol/vectors")
}

/// Every vector file, parsed. Fails loudly when there are none: a missing
/// directory must never make the suite pass vacuously.
fn load_all() -> Vec<(String, Value)> {
    let dir = vectors_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read vector directory {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no vector files in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read vector file");
            let v: Value = serde_json::from_str(&text).expect("vector file is JSON");
            assert_eq!(
                v["format"],
                "txlane-vectors/1",
                "{}: unknown format",
                p.display()
            );
            (p.display().to_string(), v)
        })
        .collect()
}

/// The vectors of `kind`, across files. At least one file of each kind we
/// implement must exist.
fn vectors_of(kind: &str) -> Vec<Value> {
    let all = load_all();
    let mut out = Vec::new();
    for (_, file) in &all {
        if file["kind"] == kind {
            out.extend(file["vectors"].as_array().expect("vectors array").clone());
        }
    }
    assert!(!out.is_empty(), "no vectors of kind {kind:?}");
    out
}

#[test]
fn every_kind_is_known() {
    // "defaults" is checked by tests/defaults.rs.
    let known = [
        "frames", "envelope", "response", "receiver", "workload", "defaults",
    ];
    for (path, file) in load_all() {
        let kind = file["kind"].as_str().unwrap_or("");
        if !known.contains(&kind) {
            eprintln!("warning: {path}: skipping unknown kind {kind:?}");
        }
    }
}

fn name(v: &Value) -> &str {
    v["name"].as_str().unwrap_or("?")
}

fn max_of(v: &Value) -> usize {
    v["maxFrameBytes"]
        .as_u64()
        .map_or(DEFAULT_MAX_FRAME_BYTES, |m| m as usize)
}

/// Decode `chunks` as one stream; frames (hex) and the error as JSON.
fn decode_stream(chunks: &[&[u8]], max: usize) -> (Vec<String>, Value) {
    let mut d = FrameDecoder::new(max);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let as_json = |e: FrameError| match e {
        FrameError::FrameTooLarge { length, max } => {
            serde_json::json!({"kind": "FrameTooLarge", "length": length, "max": max})
        }
        FrameError::TruncatedFrame { expected, received } => {
            serde_json::json!({"kind": "TruncatedFrame", "expected": expected, "received": received})
        }
    };
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(f)) => frames.push(to_hex(&f)),
                Ok(None) => break,
                Err(e) => return (frames, as_json(e)),
            }
        }
    }
    loop {
        match d.decode_eof(&mut buf) {
            Ok(Some(f)) => frames.push(to_hex(&f)),
            Ok(None) => return (frames, Value::Null),
            Err(e) => return (frames, as_json(e)),
        }
    }
}

#[test]
fn frames() {
    let vectors = vectors_of("frames");
    for v in &vectors {
        let input = hex(v["input"].as_str().expect("input"));
        let max = max_of(v);
        let want_frames: Vec<String> = v["frames"]
            .as_array()
            .expect("frames")
            .iter()
            .map(|f| f.as_str().expect("hex").to_string())
            .collect();
        let want = (want_frames, v["error"].clone());
        assert_eq!(
            decode_stream(&[&input], max),
            want,
            "{} (one chunk)",
            name(v)
        );
        for split in 0..=input.len() {
            let got = decode_stream(&[&input[..split], &input[split..]], max);
            assert_eq!(got, want, "{} (split at {split})", name(v));
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(
            decode_stream(&bytes, max),
            want,
            "{} (byte by byte)",
            name(v)
        );
    }
    eprintln!("frames: {} vectors", vectors.len());
}

#[test]
fn envelope() {
    let vectors = vectors_of("envelope");
    for v in &vectors {
        let input = hex(v["input"].as_str().expect("input"));
        let got = envelope::decode_slice(&input);
        match (&v["transactions"], &v["error"]) {
            (Value::Array(want), Value::Null) => {
                let want: Vec<Vec<u8>> =
                    want.iter().map(|t| hex(t.as_str().expect("hex"))).collect();
                let got = got.unwrap_or_else(|e| panic!("{}: unexpected error {e}", name(v)));
                let got: Vec<Vec<u8>> = got.iter().map(|t| t.to_vec()).collect();
                assert_eq!(got, want, "{}", name(v));
                if v["canonical"] == true {
                    assert_eq!(
                        envelope::encode(&want).to_vec(),
                        input,
                        "{}: encode",
                        name(v)
                    );
                }
            }
            (Value::Null, err) => {
                assert_eq!(err["kind"], "MalformedEnvelope", "{}", name(v));
                let e = got
                    .err()
                    .unwrap_or_else(|| panic!("{}: decoded; want an error", name(v)));
                assert_eq!(
                    Some(e.offset as u64),
                    err["offset"].as_u64(),
                    "{}: offset ({e})",
                    name(v)
                );
            }
            other => panic!("{}: bad vector {other:?}", name(v)),
        }
    }
    eprintln!("envelope: {} vectors", vectors.len());
}

#[test]
fn response() {
    let vectors = vectors_of("response");
    for v in &vectors {
        let input = hex(v["input"].as_str().expect("input"));
        let got = response::decode(&input);
        match (&v["response"], &v["error"]) {
            (want @ Value::Object(_), Value::Null) => {
                let got = got.unwrap_or_else(|e| panic!("{}: {e}", name(v)));
                assert_eq!(&got.to_value(), want, "{}", name(v));
                // Our own encoding decodes back to the same object.
                let again = response::decode(&got.encode()).map(|r| r.to_value());
                assert_eq!(again.as_ref().ok(), Some(want), "{}: re-encode", name(v));
            }
            (Value::Null, err) => {
                assert_eq!(err["kind"], "MalformedResponse", "{}", name(v));
                assert!(got.is_err(), "{}: decoded {got:?}; want an error", name(v));
            }
            other => panic!("{}: bad vector {other:?}", name(v)),
        }
    }
    eprintln!("response: {} vectors", vectors.len());
}

fn seed_of(v: &Value) -> u64 {
    match &v["seed"] {
        Value::String(s) => s.parse().expect("seed"),
        Value::Number(n) => n.as_u64().expect("seed"),
        other => panic!("{}: bad seed {other:?}", name(v)),
    }
}

#[test]
fn workload() {
    let vectors = vectors_of("workload");
    let mut checked = 0;
    for v in &vectors {
        let kind = v["type"].as_str().unwrap_or_else(|| {
            // Untyped entries: infer from their fields (the format in the brief).
            if v.get("transaction").is_some() {
                "transaction"
            } else if v.get("digest").is_some() && v.get("batches").is_some() {
                "workload-digest"
            } else {
                ""
            }
        });
        match kind {
            "prng" => {
                let mut r = SplitMix64::new(seed_of(v));
                for want in v["outputs"].as_array().expect("outputs") {
                    assert_eq!(
                        format!("{:016x}", r.next_u64()),
                        want.as_str().expect("hex"),
                        "{}",
                        name(v)
                    );
                }
            }
            "digest" => {
                let mut d = Digest::new();
                for t in v["transactions"].as_array().expect("transactions") {
                    d.add(&hex(t.as_str().expect("hex")));
                }
                assert_eq!(
                    d.to_hex(),
                    v["digest"].as_str().expect("digest"),
                    "{}",
                    name(v)
                );
            }
            "transaction" => {
                let size = v["txSize"].as_u64().expect("txSize") as usize;
                let index = v["index"].as_u64().expect("index");
                let mut w = Workload::new(seed_of(v), size);
                let mut tx = w.next_transaction();
                for _ in 0..index {
                    tx = w.next_transaction();
                }
                if let Some(len) = v["length"].as_u64() {
                    assert_eq!(tx.len() as u64, len, "{}: length", name(v));
                }
                assert_eq!(
                    to_hex(&tx),
                    v["transaction"].as_str().expect("hex"),
                    "{}",
                    name(v)
                );
            }
            "workload-digest" => {
                let (digest, n) = workload_digest(
                    seed_of(v),
                    v["batches"].as_u64().expect("batches"),
                    v["txPerBatch"].as_u64().expect("txPerBatch"),
                    v["txSize"].as_u64().expect("txSize") as usize,
                );
                assert_eq!(
                    digest.to_hex(),
                    v["digest"].as_str().expect("digest"),
                    "{}",
                    name(v)
                );
                assert_eq!(Some(n), v["transactions"].as_u64(), "{}: count", name(v));
            }
            other => {
                eprintln!(
                    "warning: workload vector {}: unknown type {other:?}",
                    name(v)
                );
                continue;
            }
        }
        checked += 1;
    }
    assert!(checked > 0, "no workload vector was checked");
    eprintln!("workload: {checked} of {} vectors", vectors.len());
}

/// Does `got` match `want`, where a `want` string ending in `…` is a prefix?
fn matches(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::String(g), Value::String(w)) => match w.strip_suffix('…') {
            Some(prefix) => g.starts_with(prefix),
            None => g == w,
        },
        (Value::Object(g), Value::Object(w)) => {
            w.len() == g.len()
                && w.iter()
                    .all(|(k, wv)| g.get(k).is_some_and(|gv| matches(gv, wv)))
        }
        _ => got == want,
    }
}

/// Read every response frame until end of stream, or until nothing arrives
/// for `idle`. Returns the responses and whether the server closed.
async fn read_responses(
    reader: &mut tokio::net::unix::OwnedReadHalf,
    buf: &mut BytesMut,
    decoder: &mut FrameDecoder,
    out: &mut Vec<Value>,
    idle: Duration,
) -> bool {
    loop {
        while let Ok(Some(f)) = decoder.decode(buf) {
            out.push(serde_json::from_slice(&f).expect("response is JSON"));
        }
        match tokio::time::timeout(idle, reader.read_buf(buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

async fn run_receiver_vector(v: Value) {
    let dir = TempDir::new();
    let path = dir.join("r.sock");
    let config = ServerConfig {
        max_frame_bytes: max_of(&v),
        ..ServerConfig::default()
    };
    let server = RunningServer::start(&Endpoint::Unix(path.clone()), config).await;
    let stream = UnixStream::connect(&path).await.expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    let input = hex(v["input"].as_str().expect("input"));
    // Write from another task: a server that closes early may make our
    // write fail, which is fine.
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&input).await;
        wr
    });
    let mut buf = BytesMut::new();
    let mut decoder = FrameDecoder::new(1 << 20);
    let mut got = Vec::new();
    // Phase 1: without closing our side; a close now is the server's doing.
    let closed = read_responses(
        &mut rd,
        &mut buf,
        &mut decoder,
        &mut got,
        Duration::from_millis(300),
    )
    .await;
    let mut wr = common::within(writer).await.expect("writer task");
    if !closed {
        // Phase 2: end our stream; the server must answer what is left and close.
        let _ = wr.shutdown().await;
        let done = read_responses(&mut rd, &mut buf, &mut decoder, &mut got, common::STEP).await;
        assert!(
            done,
            "{}: server did not close after our end of stream",
            name(&v)
        );
    }
    let want = v["responses"].as_array().expect("responses");
    assert_eq!(
        got.len(),
        want.len(),
        "{}: responses {got:?}; want {want:?}",
        name(&v)
    );
    for (g, w) in got.iter().zip(want) {
        assert!(matches(g, w), "{}: response {g}; want {w}", name(&v));
    }
    assert_eq!(Some(closed), v["closes"].as_bool(), "{}: closes", name(&v));
    drop((rd, wr));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn receiver() {
    let vectors = vectors_of("receiver");
    let n = vectors.len();
    // Each vector gets its own server; run them side by side.
    let tasks: Vec<_> = vectors
        .into_iter()
        .map(|v| tokio::spawn(run_receiver_vector(v)))
        .collect();
    for t in tasks {
        if let Err(e) = t.await {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    eprintln!("receiver: {n} vectors");
}
