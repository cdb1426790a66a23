//! Graceful shutdown plumbing, as in mini-redis: one broadcast tells every
//! task to stop; tasks finish the work they already hold.

use tokio::sync::broadcast;

/// Listens for the server's shutdown signal.
///
/// Only one value is ever sent on the channel; once it (or the channel's
/// closure) is seen, [`is_shutdown`](Self::is_shutdown) stays true so a task
/// polling it in a loop does not wait a second time.
#[derive(Debug)]
pub struct Shutdown {
    is_shutdown: bool,
    notify: broadcast::Receiver<()>,
}

impl Shutdown {
    /// Wrap a receiver of the shutdown broadcast.
    pub fn new(notify: broadcast::Receiver<()>) -> Self {
        Shutdown {
            is_shutdown: false,
            notify,
        }
    }

    /// True once the signal was received.
    pub fn is_shutdown(&self) -> bool {
        self.is_shutdown
    }

    /// Wait for the signal (returns at once if it was already seen).
    /// Cancel safe.
    pub async fn recv(&mut self) {
        if self.is_shutdown {
            return;
        }
        // Lagged or closed both mean "stop": either way the single value was
        // sent or can never be.
        let _ = self.notify.recv().await;
        self.is_shutdown = true;
    }
}

/// Wait for SIGTERM or SIGINT (Ctrl-C).
///
/// If the SIGTERM handler cannot be installed, only SIGINT is awaited; if
/// neither can, this never returns (the process can still be killed).
pub async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    r = tokio::signal::ctrl_c() => {
                        if r.is_err() { std::future::pending::<()>().await }
                    }
                }
            }
            Err(_) => {
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await
        }
    }
}
