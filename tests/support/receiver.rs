//! A local HTTP receiver for notifications: records each form it is sent and answers with the
//! next scripted reply (the last one repeats), after a delay or never.
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

#[derive(Clone, Copy)]
pub struct Answer {
    status: u16,
    body: &'static str,
}

pub const fn answer(status: u16, body: &'static str) -> Answer {
    Answer { status, body }
}

#[derive(Debug, Clone)]
pub struct Received {
    pub content_type: String,
    pub form: Vec<(String, String)>,
}

impl Received {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    pub connections: Arc<AtomicUsize>,
}

impl Receiver {
    /// Answers `script` in turn, each after `delay`; `None` for a delay means never answer.
    pub async fn start(script: Vec<Answer>, delay: Option<Duration>) -> Receiver {
        Receiver::listen(move |stream, log| serve(stream, log, script.clone(), delay)).await
    }

    /// A receiver that records each request and then misbehaves as told.
    pub async fn misbehaving(how: Misbehaviour) -> Receiver {
        Receiver::listen(move |mut stream, log| async move {
            let Some(request) = read_request(&mut stream).await else { return };
            log.lock().expect("receiver log").push(request);
            misbehave(&mut stream, how).await;
        })
        .await
    }

    /// Listens on a free loopback port and hands each connection, with the log, to `handle`.
    async fn listen<F, Handled>(handle: F) -> Receiver
    where
        F: Fn(TcpStream, Arc<Mutex<Vec<Received>>>) -> Handled + Send + 'static,
        Handled: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("receiver binds");
        let url = format!("http://127.0.0.1:{}/notify", listener.local_addr().expect("address").port());
        let received = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (log, count) = (received.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(handle(stream, log.clone()));
            }
        });
        Receiver { url, received, connections }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("receiver log").clone()
    }

    pub fn count(&self) -> usize {
        self.received.lock().expect("receiver log").len()
    }

    /// The first request received, waiting up to `limit` for it.
    pub async fn first_within(&self, limit: Duration) -> Received {
        let started = std::time::Instant::now();
        loop {
            if let Some(first) = self.received().into_iter().next() {
                return first;
            }
            assert!(started.elapsed() < limit, "nothing received within {limit:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn serve(mut stream: TcpStream, log: Arc<Mutex<Vec<Received>>>, script: Vec<Answer>, delay: Option<Duration>) {
    let Some(received) = read_request(&mut stream).await else { return };
    let index = {
        let mut log = log.lock().expect("receiver log");
        log.push(received);
        log.len() - 1
    };
    let Some(delay) = delay else {
        // Holds the connection open without answering, as a hung server does.
        tokio::time::sleep(Duration::from_secs(60)).await;
        return;
    };
    tokio::time::sleep(delay).await;
    let Answer { status, body } = script[index.min(script.len() - 1)];
    // A redirect points back at the receiver: following it would show up as another request.
    let location = if (300..400).contains(&status) { "Location: /notify\r\n" } else { "" };
    let reply = format!(
        "HTTP/1.1 {status} Scripted\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{location}Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// One request's head and form body, read whole; `None` if the connection ends first.
async fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_end, content_length) = loop {
        let read = stream.read(&mut chunk).await.ok().filter(|read| *read > 0)?;
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..position]).to_ascii_lowercase();
            let length = header(&head, "content-length").and_then(|value| value.parse().ok()).unwrap_or(0);
            break (position + 4, length);
        }
    };
    while buffer.len() < head_end + content_length {
        let read = stream.read(&mut chunk).await.ok().filter(|read| *read > 0)?;
        buffer.extend_from_slice(&chunk[..read]);
    }
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    let body = &buffer[head_end..head_end + content_length];
    Some(Received {
        content_type: header(&head, "content-type").unwrap_or_default().to_string(),
        form: serde_urlencoded::from_bytes(body).expect("a form body"),
    })
}

/// How a misbehaving receiver answers once it has read the request.
#[derive(Clone, Copy, Debug)]
pub enum Misbehaviour {
    /// Never answers, holding the connection.
    Hangs,
    /// Answers 200 and then a byte of its body every 200 ms, never finishing.
    Trickles,
    /// Answers 200 with a body that never ends (chunked, 64 KiB at a time).
    Endless,
    /// Answers 200 with a 16 MiB body.
    Huge,
}

async fn misbehave(stream: &mut TcpStream, how: Misbehaviour) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    match how {
        Misbehaviour::Hangs => tokio::time::sleep_until(deadline).await,
        Misbehaviour::Trickles => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            while tokio::time::Instant::now() < deadline && stream.write_all(b"s").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Misbehaviour::Endless => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            let chunk = format!("10000\r\n{}\r\n", "success ".repeat(8192));
            while tokio::time::Instant::now() < deadline && stream.write_all(chunk.as_bytes()).await.is_ok() {}
        }
        Misbehaviour::Huge => {
            let size = 16 << 20;
            let head = format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {size}\r\n\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&vec![b's'; size]).await;
        }
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':')).map(str::trim)
}
