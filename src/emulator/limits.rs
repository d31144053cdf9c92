//! The emulator's traffic shaping, sans IO: the per-token rate limit over a sliding 60-second window
//! (`--rate-limit`, Genesys's 300 requests per minute per token), the seeded fault plan of each
//! request (`--drop-rate`, `--fail-rate`, `--slow-rate`), and the request counts of
//! `GET /_emulator/stats`. The caller passes the time.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::{Value, json};

use super::rng::SplitMix64;
use super::state::ApiError;

const WINDOW_MS: u64 = 60_000;

/// What the rate limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub allowed: bool,
    /// Requests in the window, this one included when allowed (`inin-ratelimit-count`).
    pub count: u32,
    /// `inin-ratelimit-allowed`.
    pub limit: u32,
    /// Seconds until the oldest request leaves the window (`inin-ratelimit-reset`, and the
    /// `Retry-After` of a 429: when a slot frees).
    pub reset_seconds: u64,
}

impl Admission {
    /// The `inin-ratelimit-*` headers.
    pub fn headers(&self) -> [(&'static str, String); 3] {
        [
            ("inin-ratelimit-count", self.count.to_string()),
            ("inin-ratelimit-allowed", self.limit.to_string()),
            ("inin-ratelimit-reset", self.reset_seconds.to_string()),
        ]
    }

    /// The 429 answer.
    pub fn error(&self) -> ApiError {
        let mut error = ApiError::new(
            429,
            "too.many.requests.retry.after",
            format!(
                "Rate limit exceeded the maximum of {} requests per minute. Retry the request in [{}] seconds.",
                self.limit, self.reset_seconds
            ),
        );
        error
            .message_params
            .insert("retryAfter".to_string(), Value::from(self.reset_seconds));
        error
    }
}

/// Requests per token over a sliding window; a refused request does not count.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    hits: HashMap<String, VecDeque<u64>>,
}

impl RateLimiter {
    /// `limit` requests per minute per token; 0 turns the limit off.
    pub fn new(limit: u32) -> RateLimiter {
        RateLimiter {
            limit,
            hits: HashMap::new(),
        }
    }

    /// Admits (and counts) a request of `token` at `now_ms`, or refuses it; `None` when there is
    /// no limit.
    pub fn admit(&mut self, token: &str, now_ms: u64) -> Option<Admission> {
        if self.limit == 0 {
            return None;
        }
        let window = self.hits.entry(token.to_string()).or_default();
        while window
            .front()
            .is_some_and(|t| t.saturating_add(WINDOW_MS) <= now_ms)
        {
            window.pop_front();
        }
        let allowed = window.len() < usize::try_from(self.limit).unwrap_or(usize::MAX);
        if allowed {
            window.push_back(now_ms);
        }
        let oldest = window.front().copied().unwrap_or(now_ms);
        let reset_ms = oldest.saturating_add(WINDOW_MS).saturating_sub(now_ms);
        Some(Admission {
            allowed,
            count: u32::try_from(window.len()).unwrap_or(u32::MAX),
            limit: self.limit,
            reset_seconds: reset_ms.div_ceil(1000).max(1),
        })
    }
}

/// How often each fault happens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultRates {
    pub drop_rate: f64,
    pub fail_rate: f64,
    pub fail_status: u16,
    pub slow_rate: f64,
    pub slow_ms: u64,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultPlan {
    /// Close the connection without an answer.
    pub drop: bool,
    /// Answer this status instead.
    pub fail: Option<u16>,
    /// Answer this much later.
    pub slow_ms: u64,
}

/// The seeded fault plans: every request draws three numbers, whatever happens to it, so the same
/// seed gives the same faults to the same sequence of requests.
#[derive(Debug)]
pub struct Faults {
    rates: FaultRates,
    rng: SplitMix64,
}

impl Faults {
    pub fn new(rates: FaultRates, seed: u64) -> Faults {
        Faults {
            rates,
            rng: SplitMix64::new(seed),
        }
    }

    pub fn draw(&mut self) -> FaultPlan {
        let drop = self.rng.next_f64() < self.rates.drop_rate;
        let fail = self.rng.next_f64() < self.rates.fail_rate;
        let slow = self.rng.next_f64() < self.rates.slow_rate;
        FaultPlan {
            drop,
            fail: (fail && !drop).then_some(self.rates.fail_status),
            slow_ms: if slow { self.rates.slow_ms } else { 0 },
        }
    }
}

/// The ErrorBody of an injected failure with that status.
pub fn injected_error(status: u16) -> ApiError {
    let code = match status {
        400 => "bad.request",
        401 => "authentication.required",
        404 => "not.found",
        408 | 504 => "request.timeout",
        409 => "conflict",
        413 => "request.entity.too.large",
        429 => "too.many.requests.retry.after",
        503 => "service.unavailable",
        _ => "internal.server.error",
    };
    ApiError::new(
        status,
        code,
        format!("Injected fault: the emulator answers {status} (--fail-rate)."),
    )
}

/// Request counts per route and outcome.
#[derive(Debug, Default)]
pub struct Stats {
    total: u64,
    routes: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Stats {
    /// Counts one request: `route` is `METHOD /path/{template}`, `outcome` the status or `dropped`.
    pub fn record(&mut self, route: String, outcome: String) {
        self.total += 1;
        *self
            .routes
            .entry(route)
            .or_default()
            .entry(outcome)
            .or_insert(0) += 1;
    }

    /// `{"total": n, "routes": {"GET /api/v2/integrations/actions": {"200": 3}}}`.
    pub fn to_json(&self) -> Value {
        json!({ "total": self.total, "routes": self.routes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_slides() {
        let mut limiter = RateLimiter::new(2);
        let first = limiter.admit("t", 0);
        assert_eq!(first.map(|a| (a.allowed, a.count)), Some((true, 1)));
        assert_eq!(limiter.admit("t", 10_000).map(|a| a.allowed), Some(true));
        let refused = limiter.admit("t", 20_000);
        assert_eq!(
            refused.map(|a| (a.allowed, a.reset_seconds)),
            Some((false, 40))
        );
        assert_eq!(
            limiter.admit("other", 20_000).map(|a| a.allowed),
            Some(true)
        );
        assert_eq!(limiter.admit("t", 60_000).map(|a| a.allowed), Some(true));
        assert!(RateLimiter::new(0).admit("t", 0).is_none());
    }

    #[test]
    fn faults_are_seeded() {
        let rates = FaultRates {
            drop_rate: 0.2,
            fail_rate: 0.3,
            fail_status: 503,
            slow_rate: 0.1,
            slow_ms: 5,
        };
        let mut a = Faults::new(rates, 9);
        let mut b = Faults::new(rates, 9);
        let plans: Vec<FaultPlan> = (0..50).map(|_| a.draw()).collect();
        assert_eq!(plans, (0..50).map(|_| b.draw()).collect::<Vec<_>>());
        assert!(plans.iter().any(|p| p.drop));
        assert!(plans.iter().any(|p| p.fail.is_some()));
    }
}
