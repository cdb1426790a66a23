//! The two retry schedules of a worker: reconnecting (capped exponential
//! backoff with jitter) and retrying a batch the peer answered "not ready"
//! (capped doubling, bounded count), plus the classification of error
//! answers that decides between a retry and a verdict.

use super::SenderConfig;
use crate::workload::SplitMix64;
use std::time::Duration;

/// What a `"success":false` answer means for its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `Node not ready…`: the peer is starting or changing epoch; it did
    /// not judge the batch. Retry later.
    Transient,
    /// `Transaction too large…`: the deployed server did not consume the
    /// payload, so the rest of the stream is out of step. The batch is
    /// rejected and the connection must be replaced.
    OutOfStep,
    /// Any other error: the peer's verdict; resending would not help.
    Final,
}

/// Classify an error answer's text, as the TypeScript `classifyError` does.
pub fn classify(error: &str) -> ErrorKind {
    if error.starts_with("Node not ready") {
        ErrorKind::Transient
    } else if error.starts_with("Transaction too large") {
        ErrorKind::OutOfStep
    } else {
        ErrorKind::Final
    }
}

/// The not-ready retry schedule: `initial`, doubling, capped at `max`, at
/// most `retries` retries of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransientRetry {
    /// First delay. Default [`super::DEFAULT_TRANSIENT_RETRY`].
    pub initial: Duration,
    /// Largest delay. Default [`super::DEFAULT_TRANSIENT_RETRY_MAX`].
    pub max: Duration,
    /// Retries of one batch before the not-ready answer counts as a
    /// rejection. Default [`super::DEFAULT_TRANSIENT_RETRIES`].
    pub retries: u32,
}

impl TransientRetry {
    /// The delay before retry number `n` (0-based), or `None` when the
    /// budget is spent.
    pub fn delay(&self, n: u32) -> Option<Duration> {
        if n >= self.retries {
            return None;
        }
        let factor = 1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX);
        Some(self.initial.saturating_mul(factor).min(self.max))
    }
}

/// Capped exponential backoff with jitter (each delay uniform in
/// `[d/2, d]`), so workers reconnecting together do not retry in lockstep.
pub(super) struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
    rng: SplitMix64,
}

impl Backoff {
    pub(super) fn new(config: &SenderConfig, salt: u64) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Backoff {
            initial: config.backoff_initial,
            max: config.backoff_max,
            current: config.backoff_initial,
            rng: SplitMix64::new(nanos ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        }
    }

    pub(super) fn reset(&mut self) {
        self.current = self.initial;
    }

    pub(super) fn next_delay(&mut self) -> Duration {
        let d = self.current;
        self.current = (self.current * 2).min(self.max);
        let half = d / 2;
        let span = (d - half).as_nanos() as u64;
        let jitter = if span == 0 {
            0
        } else {
            self.rng.next_u64() % (span + 1)
        };
        half + Duration::from_nanos(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_table() {
        let cases = [
            (
                "Node not ready to accept transactions: x",
                ErrorKind::Transient,
            ),
            ("Node not ready: epoch transition", ErrorKind::Transient),
            (
                "Transaction too large: 9 bytes (max: 8)",
                ErrorKind::OutOfStep,
            ),
            ("Transaction submission failed: x", ErrorKind::Final),
            ("node not ready", ErrorKind::Final),
            ("", ErrorKind::Final),
        ];
        for (text, want) in cases {
            assert_eq!(classify(text), want, "classify({text:?})");
        }
    }

    #[test]
    fn transient_schedule_doubles_caps_and_ends() {
        let s = TransientRetry {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(4),
            retries: 30,
        };
        let ms: Vec<u128> = (0..7)
            .filter_map(|n| s.delay(n))
            .map(|d| d.as_millis())
            .collect();
        assert_eq!(ms, [100, 200, 400, 800, 1600, 3200, 4000]);
        assert_eq!(s.delay(29), Some(Duration::from_secs(4)));
        assert_eq!(s.delay(30), None);
    }
}
