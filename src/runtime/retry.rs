//! The retry policy's arithmetic (docs/runtime.md, "Retry policy"): which outcomes are retried, the wait
//! before retry k, and `Retry-After` in seconds or as an HTTP-date. Pure functions.

use crate::model::{Backoff, RetryPolicy};

/// `Retry-After` values beyond this end retrying (the official SDKs' limit).
pub const RETRY_AFTER_CAP_MS: u64 = 180_000;

/// The un-jittered wait before retry `k` (1-based), capped at `max_delay_ms`.
pub fn backoff_wait_ms(policy: &RetryPolicy, k: u32) -> u64 {
    let initial = policy.initial_delay_ms as f64;
    let wait = match policy.backoff {
        Backoff::Constant => initial,
        Backoff::Linear => initial * f64::from(k),
        Backoff::Exponential => {
            initial
                * policy
                    .multiplier
                    .powi(i32::try_from(k.saturating_sub(1)).unwrap_or(i32::MAX))
        }
    };
    let capped = wait.min(policy.max_delay_ms as f64);
    if capped.is_finite() && capped > 0.0 {
        capped.round() as u64
    } else {
        0
    }
}

/// Whether a status is retried under the policy.
pub fn retries_status(policy: &RetryPolicy, status: u16) -> bool {
    policy.retry_on.contains(&status)
}

/// A `Retry-After` header in milliseconds: delta-seconds, or an HTTP-date read against the
/// response's own `Date` (else `now_ms`). `None` when absent or unreadable.
pub fn retry_after_ms(value: &str, response_date: Option<&str>, now_ms: u64) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds.saturating_mul(1000));
    }
    if let Ok(seconds) = value.parse::<f64>()
        && seconds.is_finite()
        && seconds >= 0.0
    {
        return Some((seconds * 1000.0).round() as u64);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let reference = match response_date.and_then(|d| httpdate::parse_http_date(d.trim()).ok()) {
        Some(date) => date,
        None => std::time::UNIX_EPOCH + std::time::Duration::from_millis(now_ms),
    };
    Some(
        at.duration_since(reference)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    )
}
