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

/// How to start the binary: the same config starts it again after a kill, on the same port with
/// the same master key (so the platform key it keeps in the database still opens).
#[derive(Clone)]
pub struct BinaryConfig {
    pub port: u16,
    pub database_url: String,
    pub redis_url: String,
    pub master_key: String,
    /// `LIQUIDATOR__…` variables (without the prefix) on top of the tests' defaults.
    pub settings: Vec<(String, String)>,
}

impl BinaryConfig {
    /// A free port, a new master key, the tests' defaults.
    pub fn new(database_url: &str, redis_url: &str) -> BinaryConfig {
        BinaryConfig {
            port: crate::free_port(),
            database_url: database_url.to_string(),
            redis_url: redis_url.to_string(),
            master_key: onboarding::platform_key::MasterKey::generate().to_base64(),
            settings: Vec::new(),
        }
    }

    pub fn with(mut self, name: &str, value: &str) -> BinaryConfig {
        self.settings.push((name.to_string(), value.to_string()));
        self
    }

    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl RunningBinary {
    /// `liquidator serve` (HTTP and workers), live once `/healthz` answers.
    pub async fn serve(config: &BinaryConfig) -> RunningBinary {
        let address = config.address();
        let mut command = Command::new(binary_path());
        command
            .arg("serve")
            .env_remove("LIQUIDATOR_CONFIG")
            .env("DATABASE_URL", &config.database_url)
            .env("REDIS_URL", &config.redis_url)
            .env("RUST_LOG", std::env::var("TEST_LOG").unwrap_or_else(|_| "error".into()))
            .env("LIQUIDATOR__SERVER__BIND", format!("127.0.0.1:{}", config.port))
            .env("LIQUIDATOR__SERVER__PUBLIC_URL", &address)
            .env("LIQUIDATOR__REDIS__KEY_PREFIX", format!("binary:{}:", config.port))
            .env("LIQUIDATOR__PLATFORM__MASTER_KEY", &config.master_key)
            .env("LIQUIDATOR__GATEWAY__ALLOW_PRIVATE_NOTIFY_URLS", "true")
            .env("LIQUIDATOR__PAYOUTS__SCHEDULE", "manual")
            .env("LIQUIDATOR__WORKERS__POLL_INTERVAL_MS", "50")
            .stdout(Stdio::null())
            // The fault tests make it log errors on purpose: shown only when asked for.
            .stderr(if std::env::var_os("TEST_LOG").is_some() { Stdio::inherit() } else { Stdio::null() });
        for (name, value) in &config.settings {
            command.env(format!("LIQUIDATOR__{name}"), value);
        }
        let child = command.spawn().expect("liquidator starts");
        let running = RunningBinary { child, port: config.port, address };
        running.wait_until_live(Duration::from_secs(30)).await;
        running
    }

    /// SIGKILL: no shutdown, nothing flushed.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits until `/healthz` answers 200.
    pub async fn wait_until_live(&self, within: Duration) {
        let started = Instant::now();
        let client = crate::new_client();
        while started.elapsed() < within {
            let answer = client.get(format!("{}/healthz", self.address)).send().await;
            if answer.is_ok_and(|response| response.status().is_success()) {
                return;
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
