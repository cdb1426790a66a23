//! `txlane-deployed-server [receive] --listen /abs/path.sock [options]` — an
//! emulator of the deployed Rust transaction server, started like a PEERS.md
//! receiver. Parses flags, binds, prints the ready line, serves until
//! SIGTERM/SIGINT or `--expect-transactions`, prints the report line.

use clap::{Parser, ValueEnum};
use std::num::NonZeroU64;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use txlane_peer::cli;
use txlane_peer::deployed::{self, DeployedConfig, DeployedListener};
use txlane_peer::endpoint::Endpoint;
use txlane_peer::report::{Role, Stats};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Respond {
    None,
    Json,
}

/// Emulator of the deployed Rust transaction server (Unix socket only).
/// See packages/conformance/peers/rust/README.md.
#[derive(Debug, Parser)]
#[command(name = "txlane-deployed-server", version)]
struct Args {
    /// Unix socket to listen on: /abs/path.sock or unix:/abs/path.sock.
    /// Whatever file is there is deleted first (the deployed behaviour).
    #[arg(long, value_name = "ENDPOINT")]
    listen: Endpoint,
    /// Frame payload limit in bytes; larger frames are answered without
    /// consuming their payload.
    #[arg(long, value_name = "N", default_value_t = txlane_peer::frame::DEFAULT_MAX_FRAME_BYTES)]
    max_frame_bytes: usize,
    /// Append every accepted payload to FILE as a length-prefixed frame.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Shut down gracefully once N transactions were accepted and answered.
    #[arg(long, value_name = "N")]
    expect_transactions: Option<u64>,
    /// The next N well-formed frames: "Node not ready to accept
    /// transactions: node is starting" (connection stays open).
    #[arg(long, value_name = "N", default_value_t = 0)]
    not_ready: u64,
    /// Then N frames: "Node not ready: epoch transition", connection closed.
    #[arg(long, value_name = "N", default_value_t = 0)]
    not_ready_close: u64,
    /// Then N frames accepted with the queued-for-next-epoch answer.
    #[arg(long, value_name = "N", default_value_t = 0)]
    queued: u64,
    /// In normal service, every K-th frame fails: "Transaction submission
    /// failed: emulated" (not accepted). Off when absent.
    #[arg(long, value_name = "K")]
    fail_submit_every: Option<NonZeroU64>,
    /// Delay of each emulated submission, in ms.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    submit_delay_ms: u64,
    /// PEERS.md compatibility: only `json` (the deployed server always answers).
    #[arg(long, value_enum, default_value = "json")]
    respond: Respond,
    /// PEERS.md compatibility: accepted and ignored (the deployed server has
    /// one task per connection, no handler pool).
    #[arg(long, value_name = "N")]
    handlers: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse_from(cli::args_without("receive"));
    let path = match &args.listen {
        Endpoint::Unix(path) => path.clone(),
        Endpoint::Tcp(_) => {
            eprintln!(
                "error: the deployed server listens on a Unix socket only; {} is not one",
                args.listen
            );
            return ExitCode::from(2);
        }
    };
    if matches!(args.respond, Respond::None) {
        eprintln!("error: --respond none: the deployed server always answers every frame");
        return ExitCode::from(2);
    }
    let config = DeployedConfig {
        max_frame_bytes: args.max_frame_bytes,
        not_ready: args.not_ready,
        not_ready_close: args.not_ready_close,
        queued: args.queued,
        fail_submit_every: args.fail_submit_every,
        submit_delay: Duration::from_millis(args.submit_delay_ms),
        record: args.record,
        expect_transactions: args.expect_transactions,
        ..DeployedConfig::default()
    };
    cli::block_on("txlane-deployed-server", async move {
        let listener = match DeployedListener::bind(&path) {
            Ok(l) => l,
            Err(e) => {
                eprintln!(
                    "txlane-deployed-server: cannot listen on {}: {e}",
                    path.display()
                );
                return ExitCode::from(1);
            }
        };
        // Handlers first, ready line second (PEERS.md).
        let stop = txlane_peer::shutdown::signal();
        cli::print_ready(&path.display().to_string());
        eprintln!("txlane-deployed-server: listening on {}", path.display());
        let served = deployed::run(listener, config, stop, Arc::new(Stats::new())).await;
        cli::finish("txlane-deployed-server", served, |c| {
            c.report_line_as(Role::Receiver, "deployed")
        })
    })
}
