//! serve's `/metrics` in the Prometheus text format (0.0.4): requests by node and outcome, cache
//! hits and misses and upstream attempts by node, and a latency histogram of `/simulate` and the
//! Genesys-compatible endpoints. Labels hold node names and fixed outcome words only — never an
//! input, an output or a credential.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The label of requests for a node that does not exist (never the requested name: unbounded).
pub const UNKNOWN_NODE: &str = "(unknown)";

#[derive(Default)]
struct Counters {
    requests: BTreeMap<(String, &'static str), u64>,
    cache_hits: BTreeMap<String, u64>,
    cache_misses: BTreeMap<String, u64>,
    attempts: BTreeMap<String, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

/// The server's counters.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
}

/// What one execution contributes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Observation {
    /// `Some(true)` a cache hit, `Some(false)` a miss, `None` no cache involved.
    pub cache: Option<bool>,
    pub attempts: u64,
}

impl Metrics {
    /// Records one request for `node` with its outcome and duration.
    pub fn record(
        &self,
        node: &str,
        outcome: &'static str,
        observation: Observation,
        elapsed: Duration,
    ) {
        let mut c = self
            .counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *c.requests.entry((node.to_string(), outcome)).or_default() += 1;
        match observation.cache {
            Some(true) => *c.cache_hits.entry(node.to_string()).or_default() += 1,
            Some(false) => *c.cache_misses.entry(node.to_string()).or_default() += 1,
            None => {}
        }
        if observation.attempts > 0 {
            *c.attempts.entry(node.to_string()).or_default() += observation.attempts;
        }
        let seconds = elapsed.as_secs_f64();
        for (bucket, bound) in c.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        c.count += 1;
        c.sum_seconds += seconds;
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let c = self
            .counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut out = String::new();
        out.push_str("# HELP nodectl_serve_requests_total Node executions requested, by node and outcome.\n# TYPE nodectl_serve_requests_total counter\n");
        for ((node, outcome), n) in &c.requests {
            let _ = writeln!(
                out,
                "nodectl_serve_requests_total{{node=\"{}\",outcome=\"{outcome}\"}} {n}",
                escape(node)
            );
        }
        for (name, help, map) in [
            (
                "nodectl_serve_cache_hits_total",
                "Executions answered from the cache, by node.",
                &c.cache_hits,
            ),
            (
                "nodectl_serve_cache_misses_total",
                "Executions of cached nodes that had to call the upstream, by node.",
                &c.cache_misses,
            ),
            (
                "nodectl_serve_upstream_attempts_total",
                "HTTP attempts made to upstreams (retries included), by node.",
                &c.attempts,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (node, n) in map {
                let _ = writeln!(out, "{name}{{node=\"{}\"}} {n}", escape(node));
            }
        }
        out.push_str("# HELP nodectl_serve_request_duration_seconds Time to answer an execution request.\n# TYPE nodectl_serve_request_duration_seconds histogram\n");
        for (bound, n) in BUCKETS.iter().zip(c.buckets) {
            let _ = writeln!(
                out,
                "nodectl_serve_request_duration_seconds_bucket{{le=\"{bound}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "nodectl_serve_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\nnodectl_serve_request_duration_seconds_sum {}\nnodectl_serve_request_duration_seconds_count {}",
            c.count, c.sum_seconds, c.count
        );
        out
    }
}

/// A label value: `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets() {
        let metrics = Metrics::default();
        let hit = Observation {
            cache: Some(true),
            attempts: 0,
        };
        let miss = Observation {
            cache: Some(false),
            attempts: 2,
        };
        metrics.record("Lookup \"x\"", "success", hit, Duration::from_micros(300));
        metrics.record("Lookup \"x\"", "success", miss, Duration::from_millis(20));
        let text = metrics.render();
        assert!(text.contains(
            "nodectl_serve_requests_total{node=\"Lookup \\\"x\\\"\",outcome=\"success\"} 2"
        ));
        assert!(text.contains("nodectl_serve_cache_hits_total{node=\"Lookup \\\"x\\\"\"} 1"));
        assert!(
            text.contains("nodectl_serve_upstream_attempts_total{node=\"Lookup \\\"x\\\"\"} 2")
        );
        assert!(text.contains("nodectl_serve_request_duration_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("nodectl_serve_request_duration_seconds_bucket{le=\"0.025\"} 2"));
        assert!(text.contains("nodectl_serve_request_duration_seconds_count 2"));
    }
}
