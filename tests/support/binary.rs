//! The real `liquidator` binary as a child process, for the tests that cut what it talks to or
//! kill it. It is the one `cargo test --workspace` builds beside the test binary
//! (`target/debug/liquidator`).
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct RunningBinary {
    child: Child,
    pub port: u16,
    /// `http://127.0.0.1:PORT`
    pub address: String,
}

/// `target/debug/liquidator`, next to the directory of this test binary (`target/debug/deps`).
pub fn binary_path() -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let path = test_binary.parent().and_then(|deps| deps.parent()).expect("target/debug").join("liquidator");
    assert!(path.exists(), "{} is missing: build it with `cargo build -p server` (scripts/test does)", path.display());
    path
}

impl RunningBinary {
    /// `liquidator serve` (HTTP and workers) on a free port, against `database_url` and
    /// `redis_url`, with `settings` as `LIQUIDATOR__…` variables on top of the tests' defaults.
    pub async fn serve(database_url: &str, redis_url: &str, settings: &[(&str, &str)]) -> RunningBinary {
        let port = crate::free_port();
        let address = format!("http://127.0.0.1:{port}");
        let mut command = Command::new(binary_path());
        command
            .arg("serve")
            .env_remove("LIQUIDATOR_CONFIG")
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", std::env::var("TEST_LOG").unwrap_or_else(|_| "error".into()))
            .env("LIQUIDATOR__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("LIQUIDATOR__SERVER__PUBLIC_URL", &address)
            .env("REDIS_URL", redis_url)
            .env("LIQUIDATOR__REDIS__KEY_PREFIX", format!("binary:{port}:"))
            .env("LIQUIDATOR__PLATFORM__MASTER_KEY", onboarding::platform_key::MasterKey::generate().to_base64())
            .env("LIQUIDATOR__GATEWAY__ALLOW_PRIVATE_NOTIFY_URLS", "true")
            .env("LIQUIDATOR__PAYOUTS__SCHEDULE", "manual")
            .env("LIQUIDATOR__WORKERS__POLL_INTERVAL_MS", "50")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (name, value) in settings {
            command.env(format!("LIQUIDATOR__{name}"), value);
        }
        let child = command.spawn().expect("liquidator starts");
        let running = RunningBinary { child, port, address };
        running.wait_until_live(Duration::from_secs(30)).await;
        running
    }

    /// Waits until `/healthz` answers 200.
    pub async fn wait_until_live(&self, within: Duration) {
        let started = Instant::now();
        let client = crate::new_client();
        while started.elapsed() < within {
            if let Ok(response) = client.get(format!("{}/healthz", self.address)).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("liquidator did not answer /healthz within {within:?}");
    }
}

impl Drop for RunningBinary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
