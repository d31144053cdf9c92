//! The response cache of `[local].cache` (docs/runtime.md, "Cache"): successful outputs keyed by SHA-256
//! of the node's definition and the resolved request, kept `ttl_seconds`, at most `max_entries`
//! (least recently used evicted), safe under concurrency, and single-flight: concurrent identical
//! misses make one upstream call while the others wait for its result. The same structure keeps
//! the runtime's custom authentication responses (per integration, each with its own lifetime).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::CachePolicy;
use crate::transport::HttpRequest;

/// A cache key: SHA-256 of the node definition hash and the resolved request.
pub type CacheKey = [u8; 32];

/// The key of a resolved request of a node whose canonical definition hashes to `definition`.
pub fn key(definition: &[u8; 32], request: &HttpRequest) -> CacheKey {
    let mut hasher = Sha256::new();
    hasher.update(definition);
    hasher.update(request.method.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(request.url.as_bytes());
    hasher.update([0]);
    let mut headers: Vec<(String, &str)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_str()))
        .collect();
    headers.sort();
    for (name, value) in headers {
        hasher.update(name.as_bytes());
        hasher.update([b':']);
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    if let Some(body) = &request.body {
        hasher.update(body.as_bytes());
    }
    hasher.finalize().into()
}

/// What [`Cache::single_flight`] gave: the cached value, or the miss's own result.
pub enum Flight<T> {
    Hit(Value),
    Missed(T),
}

struct Entry {
    output: Value,
    expires_at_ms: u64,
    last_used: u64,
}

#[derive(Default)]
struct State {
    entries: HashMap<CacheKey, Entry>,
    in_flight: HashMap<CacheKey, Arc<tokio::sync::Mutex<()>>>,
    tick: u64,
}

/// One node's cache.
pub struct Cache {
    policy: CachePolicy,
    state: Mutex<State>,
}

impl Cache {
    pub fn new(policy: CachePolicy) -> Cache {
        Cache {
            policy,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-update of a cache; the map is
        // still structurally sound, so keep serving.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached output, if fresh at `now_ms`.
    pub fn get(&self, key: &CacheKey, now_ms: u64) -> Option<Value> {
        let mut state = self.lock();
        state.tick += 1;
        let tick = state.tick;
        match state.entries.get_mut(key) {
            Some(entry) if entry.expires_at_ms > now_ms => {
                entry.last_used = tick;
                Some(entry.output.clone())
            }
            Some(_) => {
                state.entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores a successful output, evicting the least recently used entry when full.
    pub fn put(&self, key: CacheKey, output: Value, now_ms: u64) {
        let ttl_ms = self.policy.ttl_seconds.saturating_mul(1000);
        self.put_for(key, output, now_ms, ttl_ms);
    }

    /// Forgets a key's entry (an authentication response the upstream refused).
    pub fn remove(&self, key: &CacheKey) {
        self.lock().entries.remove(key);
    }

    /// [`Cache::put`] with a lifetime of its own (`ttl_ms`) instead of the policy's: the
    /// authentication responses, each living as long as its `expires_in` says.
    pub fn put_for(&self, key: CacheKey, output: Value, now_ms: u64, ttl_ms: u64) {
        let mut state = self.lock();
        state.tick += 1;
        let tick = state.tick;
        let capacity = usize::try_from(self.policy.max_entries.max(1)).unwrap_or(usize::MAX);
        if !state.entries.contains_key(&key) && state.entries.len() >= capacity {
            state.entries.retain(|_, e| e.expires_at_ms > now_ms);
            if state.entries.len() >= capacity
                && let Some(oldest) = state
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.last_used)
                    .map(|(k, _)| *k)
            {
                state.entries.remove(&oldest);
            }
        }
        state.entries.insert(
            key,
            Entry {
                output,
                expires_at_ms: now_ms.saturating_add(ttl_ms),
                last_used: tick,
            },
        );
    }

    /// The fresh entry of `key`, or what `miss` gives, run once for all identical concurrent
    /// lookups: the others wait on the key's gate, then find in the cache what `miss` stored there
    /// (`miss` stores its own result, with the lifetime it chooses, or nothing for a failure).
    pub async fn single_flight<T>(
        &self,
        key: &CacheKey,
        now_ms: impl Fn() -> u64,
        miss: impl AsyncFnOnce() -> T,
    ) -> Flight<T> {
        if let Some(hit) = self.get(key, now_ms()) {
            return Flight::Hit(hit);
        }
        let gate = self.flight(key);
        let flown = {
            let _flight = gate.lock().await;
            match self.get(key, now_ms()) {
                Some(hit) => Flight::Hit(hit),
                None => Flight::Missed(miss().await),
            }
        };
        self.land(key, gate);
        flown
    }

    /// The single-flight gate of a key: hold its guard while computing a miss, so that identical
    /// concurrent misses wait and then find the result in the cache.
    fn flight(&self, key: &CacheKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut state = self.lock();
        state.in_flight.entry(*key).or_default().clone()
    }

    /// Forgets a key's gate once nobody else holds it.
    fn land(&self, key: &CacheKey, gate: Arc<tokio::sync::Mutex<()>>) {
        let mut state = self.lock();
        drop(gate);
        if state
            .in_flight
            .get(key)
            .is_some_and(|g| Arc::strong_count(g) == 1)
        {
            state.in_flight.remove(key);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
