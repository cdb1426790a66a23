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

/// Install the SIGTERM and SIGINT (Ctrl-C) handlers now and return a future
/// that completes when either signal arrives.
///
/// The handlers are installed before this returns — not when the future is
/// first polled — so a caller that announces readiness afterwards (PEERS.md's
/// ready line) can never be killed by the default action of a signal sent
/// right after the announcement. Must be called inside a tokio runtime. A
/// handler that cannot be installed is simply not awaited; if neither can,
/// the future never completes (the process can still be killed).
pub fn signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let term = async {
                match term {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let int = async {
                match int {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = term => {}
                _ = int => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await
            }
        }
    }
}
