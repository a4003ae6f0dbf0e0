//! A circuit breaker for a remote dependency (the OPA sidecar, the LLM endpoint): closed →
//! open after `threshold` consecutive failures → after `cooldown`, half-open with one probe
//! → closed on its success, open again on its failure. While open, nothing is sent: the
//! caller's fallback applies at once.
//!
//! A caller either uses [`Breaker::admit`] and [`Breaker::record`] around a call it always
//! completes, or a [`Ticket`], which also covers a call that is cancelled (its future
//! dropped): a probe that never reported frees the half-open slot for the next caller
//! instead of leaving the breaker rejecting everything for ever.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    /// The value of the `pipeline_*_breaker_state` gauges.
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

    /// Consecutive failures counted while closed (0 otherwise): a closed breaker with
    /// failures is a dependency that is degrading.
    pub fn failures(&self) -> u32 {
        match *self.lock() {
            Inner::Closed { failures } => failures,
            _ => 0,
        }
    }

    /// Whether [`Breaker::admit`] would reject at `now`, without taking the probe.
    pub fn rejects(&self, now: Instant) -> bool {
        match *self.lock() {
            Inner::Closed { .. } | Inner::HalfOpen { probing: false } => false,
            Inner::Open { until } => now < until,
            Inner::HalfOpen { probing: true } => true,
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

    /// A probe that ended without an outcome (cancelled, or refused before it was sent):
    /// the next caller probes instead.
    fn abandon(&self, admitted: Admit) {
        let mut inner = self.lock();
        if admitted == Admit::Probe && matches!(*inner, Inner::HalfOpen { probing: true }) {
            *inner = Inner::HalfOpen { probing: false };
        }
    }

    /// When an open breaker will let a probe through (`None` unless open).
    pub fn reopens_at(&self) -> Option<Instant> {
        match *self.lock() {
            Inner::Open { until } => Some(until),
            _ => None,
        }
    }

    /// Admission as a [`Ticket`]; `None` when the breaker rejects.
    pub fn ticket(&self, now: Instant) -> Option<Ticket<'_>> {
        match self.admit(now) {
            Admit::Reject => None,
            admitted => Some(Ticket {
                breaker: self,
                admitted,
                settled: false,
            }),
        }
    }
}

/// An admitted request. [`Ticket::settle`] records its outcome; dropped unsettled, it
/// counts as neither success nor failure (and a probe's slot is freed).
#[derive(Debug)]
pub struct Ticket<'a> {
    breaker: &'a Breaker,
    admitted: Admit,
    settled: bool,
}

impl Ticket<'_> {
    pub fn is_probe(&self) -> bool {
        self.admitted == Admit::Probe
    }

    /// Records the outcome; returns the breaker's state afterwards.
    pub fn settle(mut self, success: bool, now: Instant) -> BreakerState {
        self.settled = true;
        self.breaker.record(self.admitted, success, now)
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.breaker.abandon(self.admitted);
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
        assert_eq!(b.failures(), 2);
        assert_eq!(b.record(Admit::Call, false, t0), BreakerState::Open);
        assert!(b.rejects(t0 + Duration::from_secs(9)));
        assert_eq!(b.admit(t0 + Duration::from_secs(9)), Admit::Reject);
        let t1 = t0 + Duration::from_secs(10);
        assert!(!b.rejects(t1), "the cool-down is over: a probe may go");
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

    #[test]
    fn a_dropped_probe_ticket_frees_the_probe_for_the_next_caller() {
        let b = Breaker::new(1, Duration::from_secs(1));
        let t0 = Instant::now();
        let ticket = b.ticket(t0).expect("closed admits");
        assert!(!ticket.is_probe());
        assert_eq!(ticket.settle(false, t0), BreakerState::Open);
        assert!(b.ticket(t0).is_none(), "open rejects");
        let t1 = t0 + Duration::from_secs(1);
        let probe = b.ticket(t1).expect("probe after the cool-down");
        assert!(probe.is_probe());
        assert!(b.ticket(t1).is_none(), "one probe at a time");
        drop(probe);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let probe = b.ticket(t1).expect("the slot was freed");
        assert_eq!(probe.settle(true, t1), BreakerState::Closed);
        // An unsettled plain call changes nothing.
        drop(b.ticket(t1).expect("closed"));
        assert_eq!((b.state(), b.failures()), (BreakerState::Closed, 0));
    }
}
