//! A circuit breaker for the remote OPA: closed → open after `threshold` consecutive
//! failures → after `cooldown`, half-open with one probe → closed on its success, open
//! again on its failure. While open, no request is sent: the failure mode applies at once.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    /// The value of `pipeline_opa_breaker_state`.
    pub fn gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
        }
    }
}

/// Whether a request may go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Call,
    /// The one request of a half-open breaker; its outcome decides the state.
    Probe,
    Reject,
}

#[derive(Debug)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

#[derive(Debug)]
pub struct Breaker {
    inner: Mutex<Inner>,
    threshold: u32,
    cooldown: Duration,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            inner: Mutex::new(Inner::Closed { failures: 0 }),
            threshold: threshold.max(1),
            cooldown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves a consistent enum: keep using it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { .. } => BreakerState::Open,
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    pub fn admit(&self, now: Instant) -> Admit {
        let mut inner = self.lock();
        match *inner {
            Inner::Closed { .. } => Admit::Call,
            Inner::Open { until } if now < until => Admit::Reject,
            Inner::Open { .. } | Inner::HalfOpen { probing: false } => {
                *inner = Inner::HalfOpen { probing: true };
                Admit::Probe
            }
            Inner::HalfOpen { probing: true } => Admit::Reject,
        }
    }

    /// Records the outcome of an admitted request. Returns the state afterwards.
    pub fn record(&self, admitted: Admit, success: bool, now: Instant) -> BreakerState {
        let mut inner = self.lock();
        let next = match (&*inner, admitted, success) {
            (_, Admit::Probe, true) => Inner::Closed { failures: 0 },
            (_, Admit::Probe, false) => Inner::Open {
                until: now + self.cooldown,
            },
            (Inner::Closed { .. }, _, true) => Inner::Closed { failures: 0 },
            (Inner::Closed { failures }, _, false) if failures + 1 >= self.threshold => {
                Inner::Open {
                    until: now + self.cooldown,
                }
            }
            (Inner::Closed { failures }, _, false) => Inner::Closed {
                failures: failures + 1,
            },
            // A late answer of a request sent before the breaker opened changes nothing.
            (Inner::Open { until }, _, _) => Inner::Open { until: *until },
            (Inner::HalfOpen { probing }, _, _) => Inner::HalfOpen { probing: *probing },
        };
        *inner = next;
        drop(inner);
        self.state()
    }

    /// When an open breaker will let a probe through (`None` unless open).
    pub fn reopens_at(&self) -> Option<Instant> {
        match *self.lock() {
            Inner::Open { until } => Some(until),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_probes_once_and_closes_on_success() {
        let b = Breaker::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(b.admit(t0), Admit::Call);
        b.record(Admit::Call, false, t0);
        b.record(Admit::Call, true, t0);
        b.record(Admit::Call, false, t0);
        b.record(Admit::Call, false, t0);
        assert_eq!(
            b.state(),
            BreakerState::Closed,
            "a success resets the count"
        );
        assert_eq!(b.record(Admit::Call, false, t0), BreakerState::Open);
        assert_eq!(b.admit(t0 + Duration::from_secs(9)), Admit::Reject);
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(b.admit(t1), Admit::Probe);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.admit(t1), Admit::Reject, "one probe at a time");
        assert_eq!(b.record(Admit::Probe, false, t1), BreakerState::Open);
        assert_eq!(b.admit(t1 + Duration::from_secs(5)), Admit::Reject);
        let t2 = t1 + Duration::from_secs(10);
        assert_eq!(b.admit(t2), Admit::Probe);
        assert_eq!(b.record(Admit::Probe, true, t2), BreakerState::Closed);
        assert_eq!(b.admit(t2), Admit::Call);
    }
}
