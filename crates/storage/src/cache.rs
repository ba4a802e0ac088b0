//! Redis: rate limits, throttling counters, short caches. Everything kept here may be lost.
//!
//! The platform must keep working without Redis, so [`Cache`] never fails to construct: it
//! connects lazily, every command has a short timeout, and the connection manager reconnects by
//! itself. Callers treat an error as "cache unavailable" and fall back to the database.
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use redis::{
    AsyncCommands, Client,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

/// A command taking longer than this is treated as Redis being unavailable.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
const CONNECTION_TIMEOUT: Duration = Duration::from_millis(500);

/// A token bucket in one atomic step: refill by elapsed time, take one token if there is one.
const TOKEN_BUCKET: &str = r"
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate / 1000)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return allowed
";

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis is not configured correctly: {0}")]
    Config(String),
    #[error("redis is unavailable")]
    Unavailable(#[from] redis::RedisError),
}

#[derive(Clone)]
pub struct Cache {
    manager: Option<ConnectionManager>,
    /// Prepended to every key, so several deployments (or tests) can share one Redis.
    key_prefix: Arc<str>,
    up: Arc<AtomicBool>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("up", &self.is_up()).finish()
    }
}

impl Cache {
    /// Prepares a lazily connecting client. An unparsable url gives a cache that is always down
    /// (logged), so a typo degrades the platform rather than stopping it.
    pub fn new(redis_url: &str, key_prefix: &str) -> Cache {
        let manager = Client::open(redis_url)
            .and_then(|client| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECTION_TIMEOUT))
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(200));
                ConnectionManager::new_lazy_with_config(client, config)
            })
            .inspect_err(|error| tracing::error!(%error, "invalid redis configuration; running without redis"))
            .ok();
        Cache { manager, key_prefix: key_prefix.into(), up: Arc::new(AtomicBool::new(false)) }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.key_prefix)
    }

    /// Whether the last command (or ping) succeeded.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    fn manager(&self) -> Result<ConnectionManager, CacheError> {
        self.manager.clone().ok_or_else(|| CacheError::Config("invalid redis url".into()))
    }

    fn observe<T>(&self, result: redis::RedisResult<T>) -> Result<T, CacheError> {
        let was_up = self.up.swap(result.is_ok(), Ordering::Relaxed);
        match &result {
            Err(error) if was_up => {
                tracing::warn!(%error, "redis became unavailable; falling back to the database")
            }
            Ok(_) if !was_up => tracing::info!("redis is available"),
            _ => {}
        }
        Ok(result?)
    }

    pub async fn ping(&self) -> bool {
        let Ok(mut conn) = self.manager() else {
            return false;
        };
        let result: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
        self.observe(result).is_ok()
    }

    /// Increments a counter and (re)arms its expiry; returns the new value.
    pub async fn increment(&self, key: &str, ttl: Duration) -> Result<i64, CacheError> {
        let mut conn = self.manager()?;
        let ttl_seconds = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX).max(1);
        let key = self.key(key);
        let result: redis::RedisResult<(i64, bool)> =
            redis::pipe().atomic().incr(&key, 1).expire(&key, ttl_seconds).query_async(&mut conn).await;
        self.observe(result).map(|(value, _)| value)
    }

    pub async fn get_counter(&self, key: &str) -> Result<i64, CacheError> {
        let mut conn = self.manager()?;
        let result: redis::RedisResult<Option<i64>> = conn.get(self.key(key)).await;
        self.observe(result).map(|value| value.unwrap_or(0))
    }

    /// Takes one token from the bucket at `key` (capacity `burst`, refilled at `per_second`), using
    /// Redis's clock so every node agrees. Returns whether a token was available.
    pub async fn take_token(&self, key: &str, burst: u32, per_second: u32) -> Result<bool, CacheError> {
        static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
        let script = SCRIPT.get_or_init(|| redis::Script::new(TOKEN_BUCKET));
        let mut conn = self.manager()?;
        let result: redis::RedisResult<i64> =
            script.key(self.key(key)).arg(burst.max(1)).arg(per_second.max(1)).invoke_async(&mut conn).await;
        self.observe(result).map(|allowed| allowed == 1)
    }

    pub async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let mut conn = self.manager()?;
        let result: redis::RedisResult<()> = conn.del(self.key(key)).await;
        self.observe(result)
    }
}
