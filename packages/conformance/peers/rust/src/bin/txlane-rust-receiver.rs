//! `txlane-rust-receiver [receive] --listen ENDPOINT [options]` — the
//! receiving peer of PEERS.md. Parses flags, binds, prints the ready line,
//! serves until SIGTERM/SIGINT or `--expect-transactions`, prints the report.

use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use txlane_peer::cli;
use txlane_peer::endpoint::Endpoint;
use txlane_peer::report::Role;
use txlane_peer::server::{self, PayloadMode, RespondMode, ServerConfig};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Respond {
    None,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Payload {
    Transactions,
    Raw,
}

/// txlane receiver peer (Rust). See packages/conformance/PEERS.md.
#[derive(Debug, Parser)]
#[command(name = "txlane-rust-receiver", version)]
struct Args {
    /// Where to listen: /abs/path.sock, unix:/abs/path.sock or tcp://HOST:PORT.
    #[arg(long, value_name = "ENDPOINT")]
    listen: Endpoint,
    /// json: one response frame per request frame; none: never write.
    #[arg(long, value_enum, default_value = "json")]
    respond: Respond,
    /// Size of the handler pool that submits batches.
    #[arg(long, default_value_t = server::DEFAULT_HANDLERS, value_parser = clap::value_parser!(usize))]
    handlers: usize,
    /// Frame payload limit in bytes.
    #[arg(long, default_value_t = txlane_peer::frame::DEFAULT_MAX_FRAME_BYTES)]
    max_frame_bytes: usize,
    /// Append every accepted payload to FILE as a length-prefixed frame.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Shut down gracefully once N transactions were submitted and answered.
    #[arg(long, value_name = "N")]
    expect_transactions: Option<u64>,
    /// Payload interpretation (extension): a Transactions envelope, or raw.
    #[arg(long, value_enum, default_value = "transactions")]
    payload: Payload,
    /// Close a connection stalled inside a frame this long, in ms, or
    /// `unbounded` (extension).
    #[arg(long, value_name = "MS|unbounded", default_value = "10000", value_parser = parse_frame_timeout)]
    frame_timeout_ms: FrameTimeout,
    /// Connections served at once (extension).
    #[arg(long, value_name = "N", default_value_t = server::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
}

/// `--frame-timeout-ms`: a positive number of milliseconds or `unbounded`
/// (never `0` meaning "no limit", per the project's style).
#[derive(Debug, Clone, Copy)]
struct FrameTimeout(Option<Duration>);

fn parse_frame_timeout(s: &str) -> Result<FrameTimeout, String> {
    if s == "unbounded" {
        return Ok(FrameTimeout(None));
    }
    match s.parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(FrameTimeout(Some(Duration::from_millis(ms)))),
        _ => Err("expected a positive number of milliseconds or `unbounded`".into()),
    }
}

fn main() -> ExitCode {
    let args = Args::parse_from(cli::args_without("receive"));
    if args.handlers == 0 || args.max_connections == 0 {
        eprintln!("error: --handlers and --max-connections must be at least 1");
        return ExitCode::from(2);
    }
    let config = ServerConfig {
        max_frame_bytes: args.max_frame_bytes,
        respond: match args.respond {
            Respond::None => RespondMode::None,
            Respond::Json => RespondMode::Json,
        },
        payload: match args.payload {
            Payload::Transactions => PayloadMode::Transactions,
            Payload::Raw => PayloadMode::Raw,
        },
        handlers: args.handlers,
        max_connections: args.max_connections,
        frame_timeout: args.frame_timeout_ms.0,
        record: args.record,
        expect_transactions: args.expect_transactions,
        ..ServerConfig::default()
    };
    cli::block_on("txlane-rust-receiver", async move {
        let (listener, endpoint) =
            match cli::bind("txlane-rust-receiver", &args.listen, config.socket_mode).await {
                Ok(bound) => bound,
                Err(code) => return code,
            };
        // Handlers first, ready line second: a SIGTERM right after the ready
        // line must drain and report, not kill (PEERS.md).
        let stop = txlane_peer::shutdown::signal();
        cli::print_ready(&endpoint.to_string());
        eprintln!("txlane-rust-receiver: listening on {endpoint}");
        let served = server::run(listener, config, stop).await;
        cli::finish("txlane-rust-receiver", served, |c| {
            c.report_line(Role::Receiver)
        })
    })
}
