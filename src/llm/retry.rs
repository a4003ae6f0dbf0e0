//! When and how long to wait before sending a request again: 429 (rate limit), 503
//! (Ollama's queue is full, a model loading), 500/502/504 and a connection that failed or
//! closed without answering are worth another attempt; anything else is final. Waits are
//! exponential with jitter, so that the calls of several workers that were refused together
//! do not come back together, and honour the server's `Retry-After`.

use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::{Duration, SystemTime};

/// HTTP attempts per asking, the first included.
pub(super) const MAX_ATTEMPTS: u32 = 4;
const BASE: Duration = Duration::from_millis(250);
const CAP: Duration = Duration::from_secs(4);

pub(super) fn retryable(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// The wait after the `failures`-th failed attempt (1 for the first): the server's
/// `Retry-After` plus up to a tenth of it, or else half of min(CAP, BASE·2^(failures−1))
/// plus a random part of the other half.
pub(super) fn delay(failures: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
    let unit = unit.clamp(0.0, 1.0);
    match retry_after {
        Some(after) => after + (after / 10).min(Duration::from_secs(1)).mul_f64(unit),
        None => {
            let exp = BASE.saturating_mul(1 << failures.saturating_sub(1).min(16));
            let d = exp.min(CAP);
            d / 2 + (d / 2).mul_f64(unit)
        }
    }
}

/// A uniform draw in [0, 1] for [`delay`].
pub(super) fn jitter() -> f64 {
    use rand::Rng;
    rand::thread_rng().gen_range(0.0..=1.0)
}

/// `Retry-After` as seconds (`120`) or an HTTP date; a date in the past is no wait.
pub(super) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(at.timestamp()).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_grows_jittered_and_capped() {
        assert_eq!(delay(1, None, 0.0), Duration::from_millis(125));
        assert_eq!(delay(1, None, 1.0), Duration::from_millis(250));
        assert_eq!(delay(3, None, 0.0), Duration::from_millis(500));
        assert_eq!(delay(30, None, 1.0), CAP, "capped");
        let after = Some(Duration::from_secs(2));
        assert_eq!(delay(1, after, 0.0), Duration::from_secs(2));
        assert_eq!(delay(1, after, 1.0), Duration::from_millis(2200));
        assert!((0..100).map(|_| jitter()).all(|u| (0.0..=1.0).contains(&u)));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, SystemTime::now()), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(
            retry_after(&h, SystemTime::now()),
            Some(Duration::from_secs(3))
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_767); // 1994-11-06 08:49:27
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(10)));
        let later = now + Duration::from_secs(60);
        assert_eq!(retry_after(&h, later), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
        assert!(retryable(503) && retryable(429) && !retryable(400) && !retryable(401));
    }
}
