//! The emulator's traffic shaping, sans IO: the per-token rate limit over a sliding 60-second window
//! (`--rate-limit`, Genesys's 300 requests per minute per token), the seeded fault plan of each
//! request (`--drop-rate`, `--fail-rate`, `--slow-rate`), and the request counts of
//! `GET /_emulator/stats`; and the data-action execution limits of `/test` and `/execute`, in the
//! emulator and in `serve` (`ExecLimiter`: in-flight executions and executions per sliding minute
//! per org, `--exec-concurrency` and `--exec-rate-limit`, Genesys's `actions.concurrent.executions.max`
//! and `requests.volume.max`), and the JSON nesting limit of data-action payloads
//! (`nesting_exceeds`). The caller passes the time.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

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

/// Genesys's `actions.concurrent.executions.max`: data-action executions in flight per org. The
/// help page on data-action performance gives 50 as its example; the org's real value is on the
/// developer center's Limits page (docs/genesys-evidence.md, B.6).
pub const DEFAULT_EXEC_CONCURRENCY: u32 = 50;
/// Genesys's `requests.volume.max`: data-action executions per minute per org (value unverified,
/// docs/genesys-evidence.md, B.6).
pub const DEFAULT_EXEC_RATE_LIMIT: u32 = 900;
pub use crate::runtime::nesting::{MAX_JSON_DEPTH, nesting_exceeds};

/// The execution limits of an org; 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecLimits {
    /// Executions in flight at once.
    pub concurrency: u32,
    /// Executions started in any 60 s.
    pub per_minute: u32,
}

impl Default for ExecLimits {
    fn default() -> ExecLimits {
        ExecLimits {
            concurrency: DEFAULT_EXEC_CONCURRENCY,
            per_minute: DEFAULT_EXEC_RATE_LIMIT,
        }
    }
}

impl ExecLimits {
    /// No limit at all.
    pub fn off() -> ExecLimits {
        ExecLimits {
            concurrency: 0,
            per_minute: 0,
        }
    }
}

/// Why an execution was refused: the 429 and its `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecRefusal {
    /// `limit` executions are already in flight.
    Concurrency { limit: u32 },
    /// `limit` executions started in the last 60 s; a slot frees in `retry_after` seconds.
    Volume { limit: u32, retry_after: u64 },
}

impl ExecRefusal {
    /// Seconds to wait (`Retry-After`): when the oldest execution leaves the window, or 1 s for
    /// the concurrency limit (an execution in flight ends within its timeout, unknown here).
    pub fn retry_after_seconds(&self) -> u64 {
        match self {
            ExecRefusal::Concurrency { .. } => 1,
            ExecRefusal::Volume { retry_after, .. } => *retry_after,
        }
    }

    /// Genesys's normalized 429 (`too.many.requests.retry.after`, as the API rate limit's).
    pub fn error(&self) -> ApiError {
        let retry = self.retry_after_seconds();
        let (limit, message) = match self {
            ExecRefusal::Concurrency { limit } => (
                limit,
                format!(
                    "Rate limit exceeded the maximum of {limit} concurrent data action executions (actions.concurrent.executions.max). Retry the request in [{retry}] seconds."
                ),
            ),
            ExecRefusal::Volume { limit, .. } => (
                limit,
                format!(
                    "Rate limit exceeded the maximum of {limit} data action executions per minute (requests.volume.max). Retry the request in [{retry}] seconds."
                ),
            ),
        };
        let mut error = ApiError::new(429, "too.many.requests.retry.after", message);
        error
            .message_params
            .insert("retryAfter".to_string(), Value::from(retry));
        error
            .message_params
            .insert("limit".to_string(), Value::from(*limit));
        error
    }
}

/// The org's executions: how many are in flight, and when each of the last minute's started.
#[derive(Debug)]
pub struct ExecLimiter {
    limits: ExecLimits,
    in_flight: u32,
    starts: VecDeque<u64>,
}

impl ExecLimiter {
    pub fn new(limits: ExecLimits) -> ExecLimiter {
        ExecLimiter {
            limits,
            in_flight: 0,
            starts: VecDeque::new(),
        }
    }

    /// Starts an execution at `now_ms` (counted in flight until `finish`), or refuses it; a refused
    /// execution counts against neither limit.
    pub fn start(&mut self, now_ms: u64) -> Result<(), ExecRefusal> {
        let ExecLimits {
            concurrency,
            per_minute,
        } = self.limits;
        if concurrency > 0 && self.in_flight >= concurrency {
            return Err(ExecRefusal::Concurrency { limit: concurrency });
        }
        if per_minute > 0 {
            while self
                .starts
                .front()
                .is_some_and(|t| t.saturating_add(WINDOW_MS) <= now_ms)
            {
                self.starts.pop_front();
            }
            if self.starts.len() >= usize::try_from(per_minute).unwrap_or(usize::MAX) {
                let oldest = self.starts.front().copied().unwrap_or(now_ms);
                let reset_ms = oldest.saturating_add(WINDOW_MS).saturating_sub(now_ms);
                return Err(ExecRefusal::Volume {
                    limit: per_minute,
                    retry_after: reset_ms.div_ceil(1000).max(1),
                });
            }
            self.starts.push_back(now_ms);
        }
        self.in_flight = self.in_flight.saturating_add(1);
        Ok(())
    }

    /// An execution `start` admitted has ended.
    pub fn finish(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }
}

/// An `ExecLimiter` shared by a server's requests, handing out permits that end the execution
/// when dropped (also when the client goes away and the request's future is dropped).
#[derive(Debug, Clone)]
pub struct ExecGate {
    limiter: Arc<Mutex<ExecLimiter>>,
}

/// One admitted execution; dropping it ends the execution.
#[derive(Debug)]
pub struct ExecPermit {
    limiter: Arc<Mutex<ExecLimiter>>,
}

impl Drop for ExecPermit {
    fn drop(&mut self) {
        self.limiter
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .finish();
    }
}

impl ExecGate {
    pub fn new(limits: ExecLimits) -> ExecGate {
        ExecGate {
            limiter: Arc::new(Mutex::new(ExecLimiter::new(limits))),
        }
    }

    /// Admits an execution at `now_ms`, or says why not.
    pub fn enter(&self, now_ms: u64) -> Result<ExecPermit, ExecRefusal> {
        self.limiter
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .start(now_ms)?;
        Ok(ExecPermit {
            limiter: self.limiter.clone(),
        })
    }

    /// Executions in flight now.
    pub fn in_flight(&self) -> u32 {
        self.limiter
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .in_flight()
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

    #[test]
    fn executions_are_limited_in_flight_and_per_minute() {
        let mut limiter = ExecLimiter::new(ExecLimits {
            concurrency: 2,
            per_minute: 3,
        });
        assert_eq!(limiter.start(0), Ok(()));
        assert_eq!(limiter.start(1_000), Ok(()));
        assert_eq!(
            limiter.start(2_000),
            Err(ExecRefusal::Concurrency { limit: 2 })
        );
        limiter.finish();
        assert_eq!(limiter.start(3_000), Ok(()));
        limiter.finish();
        assert_eq!(
            limiter.start(20_000),
            Err(ExecRefusal::Volume {
                limit: 3,
                retry_after: 40
            })
        );
        assert_eq!(limiter.start(60_000), Ok(()));
        let refusal = ExecRefusal::Volume {
            limit: 3,
            retry_after: 40,
        };
        assert_eq!(refusal.error().status, 429);
        assert_eq!(refusal.error().code, "too.many.requests.retry.after");
        let mut off = ExecLimiter::new(ExecLimits::off());
        assert!((0..10_000).all(|_| off.start(0).is_ok()));
    }

    #[test]
    fn a_dropped_permit_ends_its_execution() {
        let gate = ExecGate::new(ExecLimits {
            concurrency: 1,
            per_minute: 0,
        });
        let permit = gate.enter(0);
        assert!(permit.is_ok());
        assert!(gate.enter(0).is_err());
        drop(permit);
        assert_eq!(gate.in_flight(), 0);
        assert!(gate.enter(0).is_ok());
    }
}
