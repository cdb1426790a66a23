//! The PEERS.md command-line plumbing shared by the binaries in `src/bin/`
//! and the [testee kit](crate::testee): the optional leading `receive` /
//! `send` word, the tokio runtime, binding with the ready line, and the
//! report line with its exit code. Each message keeps the program name as
//! its prefix, so every binary prints exactly what it printed on its own.

use crate::endpoint::Endpoint;
use crate::listener::Listener;
use crate::report::Counters;
use std::ffi::OsString;
use std::future::Future;
use std::io;
use std::process::ExitCode;

/// The process arguments without a leading `word` (`receive` or `send`), so
/// `PEER receive --listen …` works as well as `PEER --listen …`.
pub fn args_without(word: &str) -> Vec<OsString> {
    let mut args: Vec<_> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == word) {
        args.remove(1);
    }
    args
}

/// Run `program` on a new multi-threaded runtime; if none can be started,
/// log `NAME: cannot start runtime: …` and exit 1.
pub fn block_on(name: &str, program: impl Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(program),
        Err(e) => {
            eprintln!("{name}: cannot start runtime: {e}");
            ExitCode::from(1)
        }
    }
}

/// Bind `endpoint` and return the listener with its bound endpoint (the
/// port chosen for `tcp://…:0`); a failure is logged and is exit code 1.
pub async fn bind(
    name: &str,
    endpoint: &Endpoint,
    mode: u32,
) -> Result<(Listener, Endpoint), ExitCode> {
    let listener = match Listener::bind(endpoint, mode).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{name}: cannot listen on {endpoint}: {e}");
            return Err(ExitCode::from(1));
        }
    };
    match listener.local_endpoint() {
        Ok(bound) => Ok((listener, bound)),
        Err(e) => {
            eprintln!("{name}: cannot read bound address: {e}");
            Err(ExitCode::from(1))
        }
    }
}

/// Print PEERS.md's ready line. Written by hand to keep its field order
/// (`event` first). Install the signal handlers before calling this: a
/// SIGTERM right after the ready line must drain and report, not kill.
pub fn print_ready(endpoint: &str) {
    println!(
        "{{\"event\":\"listening\",\"endpoint\":{}}}",
        serde_json::Value::String(endpoint.to_string())
    );
}

/// End a receiver: print the report line made by `line` and exit 0, or log
/// the error and exit 1.
pub fn finish(
    name: &str,
    served: io::Result<Counters>,
    line: impl FnOnce(&Counters) -> String,
) -> ExitCode {
    match served {
        Ok(counters) => {
            println!("{}", line(&counters));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::from(1)
        }
    }
}
