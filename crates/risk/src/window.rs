//! Bounded time-window buffers shared by the detectors.

use std::collections::VecDeque;

/// Something that happened at a time (ms since the epoch).
pub(crate) trait Timed {
    fn t(&self) -> i64;
}

/// Appends `item`, dropping entries older than `window_ms` before `now` and, if still full,
/// the oldest, so the buffer never holds more than `cap` entries.
pub(crate) fn push<T: Timed>(q: &mut VecDeque<T>, item: T, now: i64, window_ms: i64, cap: usize) {
    prune(q, now, window_ms);
    let cap = cap.max(1);
    while q.len() >= cap {
        q.pop_front();
    }
    q.push_back(item);
}

/// Drops entries older than `window_ms` before `now` (the buffer is in arrival order, which is
/// time order for an ordered stream).
pub(crate) fn prune<T: Timed>(q: &mut VecDeque<T>, now: i64, window_ms: i64) {
    while q
        .front()
        .is_some_and(|e| e.t() < now.saturating_sub(window_ms))
    {
        q.pop_front();
    }
}

/// Entries within `window_ms` of `now` (either side, so a slightly late event still sees its
/// neighbours).
pub(crate) fn within<T: Timed>(
    q: &VecDeque<T>,
    now: i64,
    window_ms: i64,
) -> impl Iterator<Item = &T> {
    q.iter()
        .filter(move |e| now.saturating_sub(e.t()).abs() <= window_ms)
}

/// Seconds to milliseconds, saturating.
pub(crate) fn ms(secs: i64) -> i64 {
    secs.saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Timed for i64 {
        fn t(&self) -> i64 {
            *self
        }
    }

    #[test]
    fn push_prunes_and_caps() {
        let mut q = VecDeque::new();
        for t in 0..100i64 {
            push(&mut q, t * 1000, t * 1000, 10_000, 5);
        }
        assert_eq!(q.len(), 5);
        assert_eq!(within(&q, 99_000, 2_000).count(), 3);
        push(&mut q, 500_000, 500_000, 10_000, 5);
        assert_eq!(q.len(), 1);
    }
}
