//! The Rust reference peer of the txlane wire protocol: a receiver (the
//! seed's `UDSServer` with `max_handlers`) and a sender (the seed's
//! channel-based sender), both speaking `packages/protocol/SPEC.md` and
//! driven by the conformance harness through `packages/conformance/PEERS.md`.
//!
//! # Wire format
//!
//! ```text
//!  +--------+--------+--------+--------+=================================+
//!  |   length (u32, big-endian, bytes)  |  payload (length bytes)          |
//!  +--------+--------+--------+--------+=================================+
//!    byte 0   byte 1   byte 2   byte 3    byte 4 …
//! ```
//!
//! A request payload is a protobuf `Transactions { repeated Transaction
//! transactions = 1; }`; a response payload is a JSON object
//! `{"success":true,"count":N}` or `{"success":false,"error":"…"}`.
//!
//! # Layout
//!
//! One file per concept, as in mini-redis:
//!
//! - [`frame`]: the streaming frame decoder (limit checked before buffering)
//!   and encoder; errors [`frame::FrameError`].
//! - [`envelope`]: split a `Transactions` payload into transaction byte
//!   strings without parsing them; errors [`envelope::MalformedEnvelope`].
//! - [`response`]: JSON response encode/decode; errors
//!   [`response::MalformedResponse`].
//! - [`endpoint`]: `/path.sock`, `unix:/path.sock`, `tcp://HOST:PORT`.
//! - [`connection`]: frame reader/writer over one half of a stream.
//! - [`listener`]: binding, including the socket-file rules (SPEC §7).
//! - [`server`]: the receiver (accept loop, bounded handler pool, ordered
//!   responses, limits and bad-input behaviour of SPEC §6).
//! - [`shutdown`]: graceful drain on SIGTERM/SIGINT.
//! - [`sender`]: bounded queue + N workers with persistent connections.
//! - [`workload`], [`digest`]: the deterministic workload and the
//!   transaction digest of PEERS.md.
//! - [`report`]: counters and the report line.
//! - [`testee`]: the testee kit: PEERS.md's command line, workload,
//!   digest and report around a team's own client ([`testee::Dial`]) or
//!   receiver logic ([`server::Submit`]).
//! - [`deployed`]: an emulator of the deployed Rust transaction server
//!   (its wire behaviour, defects included), to test senders against.
//! - [`cli`]: the command-line plumbing the binaries and the testee kit
//!   share (leading word, runtime, ready line, report line, exit code).
//! - `src/bin/`: thin binaries that parse flags and call into the above.
//!
//! All decoding errors convert into [`std::io::Error`] of kind
//! [`std::io::ErrorKind::InvalidData`] with the typed error inside.

#![warn(missing_docs)]

pub mod cli;
pub mod connection;
pub mod deployed;
pub mod digest;
pub mod endpoint;
pub mod envelope;
pub mod frame;
pub mod listener;
pub mod report;
pub mod response;
pub mod sender;
pub mod server;
pub mod shutdown;
pub mod testee;
pub mod workload;
