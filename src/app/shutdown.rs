//! One shutdown deadline for the whole process. It is taken when the signal arrives and
//! shared by the drain of the batch in flight, the outbox relay and the lakehouse flush,
//! so the whole shutdown never outlasts `SHUTDOWN_TIMEOUT` (the kubelet's grace period is
//! sized on that bound; `scripts/check-deploy.sh` checks it).

use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The receiving side: every component that stops on shutdown holds a clone.
#[derive(Clone)]
pub struct Shutdown {
    flag: watch::Receiver<bool>,
    requested_at: Arc<OnceLock<Instant>>,
    timeout: Duration,
}

/// Requests a shutdown: what a signal handler (or a test) holds.
#[derive(Clone)]
pub struct ShutdownTrigger {
    flag: Arc<watch::Sender<bool>>,
    requested_at: Arc<OnceLock<Instant>>,
}

impl ShutdownTrigger {
    /// The first call fixes the deadline; later calls change nothing.
    pub fn request(&self) {
        let _ = self.requested_at.set(Instant::now());
        self.flag.send_replace(true);
    }
}

impl Shutdown {
    /// A shutdown that only `trigger.request()` starts: for tests and embedders.
    pub fn manual(timeout: Duration) -> (ShutdownTrigger, Self) {
        let (tx, rx) = watch::channel(false);
        let requested_at = Arc::new(OnceLock::new());
        (
            ShutdownTrigger {
                flag: Arc::new(tx),
                requested_at: requested_at.clone(),
            },
            Self {
                flag: rx,
                requested_at,
                timeout,
            },
        )
    }

    /// A shutdown started by SIGTERM or SIGINT.
    pub fn on_signals(timeout: Duration) -> Self {
        let (trigger, shutdown) = Self::manual(timeout);
        tokio::spawn(async move {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            let term = async {
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let term = std::future::pending::<()>();
            tokio::select! {
                _ = ctrl_c => tracing::info!(signal = "SIGINT", "shutdown requested: finishing the batch in flight"),
                _ = term => tracing::info!(signal = "SIGTERM", "shutdown requested: finishing the batch in flight"),
            }
            trigger.request();
        });
        shutdown
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn is_requested(&self) -> bool {
        *self.flag.borrow()
    }

    /// A receiver that flips to `true` on shutdown, for components that select on it.
    pub fn flag(&self) -> watch::Receiver<bool> {
        self.flag.clone()
    }

    /// Resolves when shutdown is requested.
    pub async fn requested(&self) {
        let mut flag = self.flag.clone();
        let _ = flag.wait_for(|v| *v).await;
    }

    /// The instant by which everything must have stopped, once shutdown was requested.
    pub fn deadline(&self) -> Option<Instant> {
        self.requested_at.get().map(|at| *at + self.timeout)
    }

    /// Resolves at the deadline: never before shutdown is requested.
    pub async fn expired(&self) {
        self.requested().await;
        match self.deadline() {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending::<()>().await,
        }
    }

    /// Time left until the deadline (the whole timeout before shutdown is requested).
    pub fn remaining(&self) -> Duration {
        self.deadline().map_or(self.timeout, |d| {
            d.saturating_duration_since(Instant::now())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_deadline_is_fixed_by_the_first_request() {
        let timeout = Duration::from_millis(50);
        let (trigger, shutdown) = Shutdown::manual(timeout);
        assert!(!shutdown.is_requested());
        assert_eq!(shutdown.deadline(), None);
        let before = Instant::now();
        trigger.request();
        assert!(shutdown.is_requested());
        let first = shutdown.deadline().expect("a deadline after the request");
        assert!(first >= before + timeout);
        tokio::time::sleep(Duration::from_millis(5)).await;
        trigger.request();
        assert_eq!(
            shutdown.deadline(),
            Some(first),
            "a second signal moves nothing"
        );
        shutdown.expired().await;
        assert!(Instant::now() >= first);
    }
}
