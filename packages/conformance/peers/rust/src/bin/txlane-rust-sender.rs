//! `txlane-rust-sender [send] --endpoint ENDPOINT [options]` — the sending
//! peer of PEERS.md. Parses flags, sends the deterministic workload, prints
//! the report; exit code 1 when anything was left undelivered.

use clap::{Parser, ValueEnum};
use std::process::ExitCode;
use std::time::Duration;
use txlane_peer::cli;
use txlane_peer::endpoint::Endpoint;
use txlane_peer::report::Role;
use txlane_peer::sender::{self, Delivery, SenderConfig, WorkloadSpec};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DeliveryArg {
    FireAndForget,
    Acknowledged,
}

/// txlane sender peer (Rust). See packages/conformance/PEERS.md.
#[derive(Debug, Parser)]
#[command(name = "txlane-rust-sender", version)]
struct Args {
    /// Where to connect: /abs/path.sock, unix:/abs/path.sock or tcp://HOST:PORT.
    #[arg(long, value_name = "ENDPOINT")]
    endpoint: Endpoint,
    /// Pipelined without waiting (fire-and-forget), or one ack window per
    /// connection (acknowledged); either way a batch is done when answered
    /// with success (or written, to a silent peer).
    #[arg(long, value_enum, default_value = "fire-and-forget")]
    delivery: DeliveryArg,
    /// Workers; each owns one persistent connection.
    #[arg(long, default_value_t = sender::DEFAULT_WORKERS)]
    workers: usize,
    /// Capacity of the bounded batch queue.
    #[arg(long, default_value_t = sender::DEFAULT_QUEUE)]
    queue: usize,
    /// Number of batches (frames) to send.
    #[arg(long, default_value_t = 1000)]
    batches: u64,
    /// Transactions per batch.
    #[arg(long, default_value_t = 50)]
    tx_per_batch: usize,
    /// Target encoded size of each transaction, in bytes.
    #[arg(long, default_value_t = 650)]
    tx_size: usize,
    /// Workload seed (unsigned 64-bit).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Give up after this many milliseconds.
    #[arg(long, default_value_t = 60_000)]
    timeout_ms: u64,
    /// Largest payload this sender writes (extension).
    #[arg(long, default_value_t = txlane_peer::frame::DEFAULT_MAX_FRAME_BYTES)]
    max_frame_bytes: usize,
    /// First delay before resending a batch answered "Node not ready…", in
    /// ms; it doubles per retry of that batch, capped at 4000 ms, at most 30
    /// retries (extension).
    #[arg(long, value_name = "MS", default_value_t = 100)]
    transient_retry_ms: u64,
}

fn main() -> ExitCode {
    let args = Args::parse_from(cli::args_without("send"));
    if args.workers == 0 || args.queue == 0 {
        eprintln!("error: --workers and --queue must be at least 1");
        return ExitCode::from(2);
    }
    cli::block_on("txlane-rust-sender", async move {
        let mut config = SenderConfig::new(args.endpoint, Duration::from_millis(args.timeout_ms));
        config.delivery = match args.delivery {
            DeliveryArg::FireAndForget => Delivery::FireAndForget,
            DeliveryArg::Acknowledged => Delivery::Acknowledged,
        };
        config.workers = args.workers;
        config.queue = args.queue;
        config.max_frame_bytes = args.max_frame_bytes;
        config.transient_retry.initial = Duration::from_millis(args.transient_retry_ms);
        config.transient_retry.max = config
            .transient_retry
            .max
            .max(config.transient_retry.initial);
        let spec = WorkloadSpec {
            seed: args.seed,
            batches: args.batches,
            tx_per_batch: args.tx_per_batch,
            tx_size: args.tx_size,
        };
        let counters = sender::run(config, spec).await;
        println!("{}", counters.report_line(Role::Sender));
        if counters.undelivered == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    })
}
