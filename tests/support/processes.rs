//! Real processes for end-to-end tests: the `mend-server` and `mend-kiosk` binaries that
//! `cargo test --workspace` builds, each killed (SIGKILL, as a power cut would) when
//! dropped; and a TCP proxy between them that can hold or drop the server's answers.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A Python peer of the tests (`tests/support/*.py`), started and waited for until it
/// prints "ready".
pub fn start_python_peer(script: &str, args: &[&str], what: &str) -> Child {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new("python3")
        .arg(script)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "{what} did not start");
    child
}

/// A binary of this workspace, built beside the test.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join(name);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace` (or `cargo test --workspace`)",
        bin.display()
    );
    bin
}

/// A process of its own, with its output in a log file; SIGKILLed when dropped.
pub struct Process {
    child: Child,
    pub log: PathBuf,
}

impl Process {
    /// Starts `name` with `args` and only the `MEND_*` settings in `env` (none inherited).
    pub fn start(name: &str, args: &[&str], env: &[(&str, String)], log: &Path) -> Process {
        let mut cmd = Command::new(binary(name));
        cmd.args(args).env("RUST_LOG", "info");
        for (var, _) in std::env::vars() {
            if var.starts_with("MEND_") {
                cmd.env_remove(var);
            }
        }
        for (var, value) in env {
            cmd.env(var, value);
        }
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        cmd.stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out));
        Process {
            child: cmd.spawn().unwrap(),
            log: log.to_owned(),
        }
    }

    /// SIGKILL: no chance to flush or finish anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The end of its log, for a failing assertion's message.
    pub fn log_tail(&self) -> String {
        let bytes = std::fs::read(&self.log).unwrap_or_default();
        let start = bytes.len().saturating_sub(3000);
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command of `name` to its end and returns what it printed.
pub fn run(name: &str, args: &[&str], env: &[(&str, String)]) -> String {
    let mut cmd = Command::new(binary(name));
    cmd.args(args).env("RUST_LOG", "warn");
    for (var, _) in std::env::vars() {
        if var.starts_with("MEND_") {
            cmd.env_remove(var);
        }
    }
    for (var, value) in env {
        cmd.env(var, value);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{name} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Waits until `url` answers 200; panics after `wait`.
pub async fn wait_for_200(url: &str, wait: Duration) {
    let start = Instant::now();
    loop {
        if let Ok(res) = reqwest::get(url).await {
            if res.status() == 200 {
                return;
            }
        }
        assert!(start.elapsed() < wait, "{url} did not come up in {wait:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A TCP proxy in front of a server. Each answer (the first bytes back after a request)
/// can be dropped, with both connections cut, after the server has done the work:
/// exactly the case where a client must resend and the server must not count twice.
pub struct Proxy {
    pub port: u16,
    /// Answers dropped so far.
    pub dropped: Arc<AtomicU64>,
    /// Answers passed so far.
    pub passed: Arc<AtomicU64>,
    /// While true, answers are held back (the connection stays open, silent).
    pub hold: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Proxies to `upstream_port`, dropping `drop_percent` of answers (a fixed seed, so
    /// a run can be repeated).
    pub async fn start(upstream_port: u16, drop_percent: u64) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let dropped = Arc::new(AtomicU64::new(0));
        let passed = Arc::new(AtomicU64::new(0));
        let hold = Arc::new(AtomicBool::new(false));
        let seed = Arc::new(AtomicU64::new(0x9E37_79B9_7F4A_7C15));
        let (d, p, h) = (dropped.clone(), passed.clone(), hold.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (d, p, h, seed) = (d.clone(), p.clone(), h.clone(), seed.clone());
                tokio::spawn(async move {
                    if let Ok(server) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream_port)).await
                    {
                        relay(client, server, drop_percent, seed, d, p, h).await;
                    }
                });
            }
        });
        Proxy {
            port,
            dropped,
            passed,
            hold,
            task,
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// xorshift: a tiny deterministic random stream shared by the proxy's connections.
fn next_percent(seed: &AtomicU64) -> u64 {
    let mut x = seed.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    seed.store(x, Ordering::Relaxed);
    x % 100
}

async fn relay(
    client: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    drop_percent: u64,
    seed: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
    passed: Arc<AtomicU64>,
    hold: Arc<AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // Set when the client has sent bytes the server has not answered yet.
    let awaiting = Arc::new(AtomicBool::new(false));
    let waiting = awaiting.clone();
    let upstream = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    waiting.store(true, Ordering::SeqCst);
                    if server_write.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match server_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while hold.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The first bytes of an answer: drop it, or let the whole answer through.
        if awaiting.swap(false, Ordering::SeqCst) {
            if next_percent(&seed) < drop_percent {
                dropped.fetch_add(1, Ordering::SeqCst);
                break;
            }
            passed.fetch_add(1, Ordering::SeqCst);
        }
        if client_write.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    upstream.abort();
}

/// Opens a touchpoint's form as a phone would; its form stamp, if the page has one.
pub async fn form_stamp(
    client: &reqwest::Client,
    base: &str,
    code: &str,
) -> Result<Option<String>, reqwest::Error> {
    let page = client
        .get(format!("{base}/t/{code}"))
        .send()
        .await?
        .text()
        .await?;
    Ok(crate::input_value(&page, "stamp"))
}

/// Opens a touchpoint's form and posts a complaint, as a phone would. `Ok(Some(path))`:
/// the 303's status page path (`/c/REF?k=TOKEN`); `Ok(None)`: any other answer; `Err`:
/// the connection failed (a server that was killed, say).
pub async fn try_complain(
    client: &reqwest::Client,
    base: &str,
    code: &str,
    body: &str,
) -> Result<Option<String>, reqwest::Error> {
    try_complain_with(client, base, code, body, None).await
}

/// A small PNG of its own for each `n` (no two alike: the photo store keeps photos by
/// their content).
pub fn numbered_photo(n: u32) -> Vec<u8> {
    let [a, b, c, _] = n.to_le_bytes();
    let img = image::RgbImage::from_fn(32, 24, |x, y| image::Rgb([a ^ x as u8, b ^ y as u8, c]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// [`try_complain`], with a photo when one is given.
pub async fn try_complain_with(
    client: &reqwest::Client,
    base: &str,
    code: &str,
    body: &str,
    photo: Option<Vec<u8>>,
) -> Result<Option<String>, reqwest::Error> {
    let Some(stamp) = form_stamp(client, base, code).await? else {
        return Ok(None);
    };
    let mut form = reqwest::multipart::Form::new()
        .text("stamp", stamp)
        .text("category", "other")
        .text("body", body.to_owned());
    if let Some(photo) = photo {
        form = form.part(
            "photo",
            reqwest::multipart::Part::bytes(photo)
                .file_name("photo.png")
                .mime_str("image/png")?,
        );
    }
    let res = client
        .post(format!("{base}/t/{code}"))
        .multipart(form)
        .send()
        .await?;
    if res.status() != 303 {
        return Ok(None);
    }
    Ok(res
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned))
}
