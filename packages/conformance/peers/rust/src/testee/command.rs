//! The testee's command line (PEERS.md flags, exit codes) and its
//! `receive` role; the `send` role is in [`super::send`].

use super::send::send;
use super::{Peer, Submit};
use crate::cli;
use crate::endpoint::Endpoint;
use crate::report::{Role, Stats};
use crate::server::{self, PayloadMode, RespondMode, ServerConfig};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(about = "txlane testee (PEERS.md)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Receive: listen, submit every accepted batch, report.
    Receive(ReceiveArgs),
    /// Send the deterministic workload, report.
    Send(SendArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Respond {
    None,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Delivery {
    FireAndForget,
    Acknowledged,
}

#[derive(Debug, clap::Args)]
struct ReceiveArgs {
    #[arg(long, value_name = "ENDPOINT")]
    listen: Endpoint,
    #[arg(long, value_enum, default_value = "json")]
    respond: Respond,
    #[arg(long, default_value_t = server::DEFAULT_HANDLERS)]
    handlers: usize,
    #[arg(long, default_value_t = crate::frame::DEFAULT_MAX_FRAME_BYTES)]
    max_frame_bytes: usize,
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    #[arg(long, value_name = "N")]
    expect_transactions: Option<u64>,
}

#[derive(Debug, clap::Args)]
pub(super) struct SendArgs {
    #[arg(long, value_name = "ENDPOINT")]
    pub(super) endpoint: Endpoint,
    #[arg(long, value_enum, default_value = "fire-and-forget")]
    pub(super) delivery: Delivery,
    #[arg(long, default_value_t = 4)]
    pub(super) workers: usize,
    #[arg(long, default_value_t = 1000)]
    pub(super) queue: usize,
    #[arg(long, default_value_t = 1000)]
    pub(super) batches: u64,
    #[arg(long, default_value_t = 50)]
    pub(super) tx_per_batch: usize,
    #[arg(long, default_value_t = 650)]
    pub(super) tx_size: usize,
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
    #[arg(long, default_value_t = 60_000)]
    pub(super) timeout_ms: u64,
    #[arg(long, default_value_t = crate::frame::DEFAULT_MAX_FRAME_BYTES)]
    pub(super) max_frame_bytes: usize,
    /// Accepted for compatibility; the kit's schedule starts at 100 ms.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    pub(super) transient_retry_ms: u64,
}

/// Run the testee on the process arguments; returns its exit code.
pub fn main(peer: Peer) -> ExitCode {
    run(peer, std::env::args_os())
}

/// Run the testee on `args` (the first is the program name): 0 success, 1
/// not everything delivered or a fatal error, 2 bad command line.
pub fn run<I, T>(peer: Peer, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Receive(a) => match peer.submit.clone() {
            Some(submit) if a.handlers > 0 => {
                cli::block_on(peer.name, receive(peer.name, submit, a))
            }
            Some(_) => usage(peer.name, "--handlers must be at least 1"),
            None => usage(
                peer.name,
                "this testee has no receiver (Peer::submit is None)",
            ),
        },
        Command::Send(a) => match peer.dial.clone() {
            Some(dial) if a.workers > 0 && a.queue > 0 => {
                cli::block_on(peer.name, send(peer.name, dial, a))
            }
            Some(_) => usage(peer.name, "--workers and --queue must be at least 1"),
            None => usage(peer.name, "this testee has no sender (Peer::dial is None)"),
        },
    }
}

fn usage(name: &str, message: &str) -> ExitCode {
    eprintln!("{name}: {message}");
    ExitCode::from(2)
}

async fn receive(name: &'static str, submit: Arc<dyn Submit>, a: ReceiveArgs) -> ExitCode {
    let config = ServerConfig {
        max_frame_bytes: a.max_frame_bytes,
        respond: match a.respond {
            Respond::None => RespondMode::None,
            Respond::Json => RespondMode::Json,
        },
        payload: PayloadMode::Transactions,
        handlers: a.handlers,
        record: a.record,
        expect_transactions: a.expect_transactions,
        ..ServerConfig::default()
    };
    let (listener, endpoint) = match cli::bind(name, &a.listen, config.socket_mode).await {
        Ok(bound) => bound,
        Err(code) => return code,
    };
    // Signal handlers before the ready line (PEERS.md).
    let stop = crate::shutdown::signal();
    cli::print_ready(&endpoint.to_string());
    let served =
        server::run_with_submit(listener, config, stop, Arc::new(Stats::new()), submit).await;
    cli::finish(name, served, |c| c.report_line_as(Role::Receiver, name))
}

#[cfg(test)]
mod tests {
    use super::super::{AcceptAll, FrameDial};
    use super::*;

    fn peer() -> Peer {
        Peer {
            name: "acme",
            dial: Some(Arc::new(FrameDial)),
            submit: Some(Arc::new(AcceptAll)),
        }
    }

    #[test]
    fn usage_errors_exit_2() {
        let cases: &[&[&str]] = &[
            &["acme"],
            &["acme", "serve"],
            &["acme", "send"],
            &["acme", "send", "--endpoint", "relative.sock"],
            &[
                "acme",
                "send",
                "--endpoint",
                "/tmp/x.sock",
                "--colour",
                "red",
            ],
            &[
                "acme",
                "receive",
                "--listen",
                "/tmp/x.sock",
                "--respond",
                "maybe",
            ],
            &[
                "acme",
                "send",
                "--endpoint",
                "/tmp/x.sock",
                "--workers",
                "0",
            ],
        ];
        for args in cases {
            assert_eq!(run(peer(), args.iter()), ExitCode::from(2), "{args:?}");
        }
        let no_sender = Peer {
            dial: None,
            ..peer()
        };
        let args = ["acme", "send", "--endpoint", "/tmp/x.sock"];
        assert_eq!(run(no_sender, args), ExitCode::from(2));
    }
}
