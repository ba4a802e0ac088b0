//! Sign-in throttling: failures are counted per username and per client address in Redis; when
//! Redis is unavailable the durable `login_attempts` rows in PostgreSQL are counted instead.
use chrono::Utc;
use storage::{Cache, Pool, database::run_blocking, login_attempts};

use crate::{ConsoleError, ThrottleSettings};

fn username_key(username: &str) -> String {
    format!("login_fail:user:{username}")
}

fn ip_key(client_ip: &str) -> String {
    format!("login_fail:ip:{client_ip}")
}

pub struct Throttle<'a> {
    pub pool: &'a Pool,
    pub cache: &'a Cache,
    pub settings: ThrottleSettings,
}

impl Throttle<'_> {
    /// True while either counter has reached its limit.
    pub async fn is_locked(&self, username: &str, client_ip: &str) -> Result<bool, ConsoleError> {
        let by_user = self.cache.get_counter(&username_key(username)).await;
        let by_ip = self.cache.get_counter(&ip_key(client_ip)).await;
        let (user_failures, ip_failures) = match (by_user, by_ip) {
            (Ok(user), Ok(ip)) => (user, ip),
            _ => self.failures_from_database(username, client_ip).await?,
        };
        Ok(user_failures >= self.settings.max_failures_per_username || ip_failures >= self.settings.max_failures_per_ip)
    }

    async fn failures_from_database(&self, username: &str, client_ip: &str) -> Result<(i64, i64), ConsoleError> {
        let window = chrono::Duration::from_std(self.settings.window).unwrap_or(chrono::Duration::minutes(15));
        let since = Utc::now() - window;
        let (username, client_ip) = (username.to_string(), client_ip.to_string());
        run_blocking(self.pool, move |conn| {
            let by_user = login_attempts::recent_failures(conn, &username, since)?;
            let by_ip = login_attempts::recent_failures_from(conn, &client_ip, since)?;
            Ok::<_, ConsoleError>((by_user, by_ip))
        })
        .await
    }

    /// Records the attempt durably and in the counters. Counter errors are ignored: the database
    /// row is what the fallback counts.
    pub async fn record(&self, username: &str, client_ip: &str, succeeded: bool) -> Result<(), ConsoleError> {
        let (user, ip) = (username.to_string(), client_ip.to_string());
        run_blocking(self.pool, move |conn| {
            login_attempts::record(conn, &user, &ip, succeeded)?;
            Ok::<_, ConsoleError>(())
        })
        .await?;
        if succeeded {
            let _ = self.cache.delete(&username_key(username)).await;
        } else {
            let _ = self.cache.increment(&username_key(username), self.settings.window).await;
            let _ = self.cache.increment(&ip_key(client_ip), self.settings.window).await;
        }
        Ok(())
    }
}
