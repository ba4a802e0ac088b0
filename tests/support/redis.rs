//! A private `redis-server` on its own port (nothing kept on disk), for tests that stop Redis
//! under a running server and start it again.
use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

pub struct OwnRedis {
    child: Child,
    pub port: u16,
}

impl OwnRedis {
    /// Starts Redis on `port` and waits until it answers.
    pub async fn start(port: u16) -> OwnRedis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/test installs it)");
        let redis = OwnRedis { child, port };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return redis;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("redis-server did not listen on {port}");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// How many keys it holds (`DBSIZE`), read with `redis-cli`.
    pub fn key_count(&self) -> u64 {
        let output = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "DBSIZE"])
            .output()
            .expect("redis-cli is installed with redis-server");
        String::from_utf8_lossy(&output.stdout).trim().parse().unwrap_or(0)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
