//! A real S3-compatible server for the photo store's tests: `s3s-fs` (the s3s project's
//! S3 server over a local folder; `cargo install s3s-fs --features binary`), in its own
//! process, checking every request's SigV4 signature against its one access key. Found
//! as `MEND_TEST_S3S_FS` or `s3s-fs` on the PATH; when `MEND_TEST_REQUIRE_S3` is set (CI),
//! a missing server fails the test instead of skipping it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const S3_ENV: &str = "MEND_TEST_REQUIRE_S3";
pub const ACCESS_KEY: &str = "mend-test-access";
pub const SECRET_KEY: &str = "mend-test-secret-key-1234";
pub const BUCKET: &str = "mend-photos";

fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MEND_TEST_S3S_FS") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin")))
        .map(|dir| dir.join("s3s-fs"))
        .find(|p| p.is_file())
}

pub struct S3Server {
    pub port: u16,
    root: tempfile::TempDir,
    binary: PathBuf,
    child: Option<Child>,
}

impl S3Server {
    /// A server on a free port with the bucket made, or None (skipped) without s3s-fs.
    pub async fn start() -> Option<S3Server> {
        let Some(binary) = binary() else {
            if std::env::var_os(S3_ENV).is_some() {
                panic!("{S3_ENV} is set but s3s-fs is not installed (cargo install s3s-fs --features binary)");
            }
            crate::skips::skipped(
                crate::skips::Needs::S3,
                "no s3s-fs (an S3-compatible server)",
            );
            return None;
        };
        let root = tempfile::tempdir().unwrap();
        // s3s-fs's buckets are the folders of its root.
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let mut server = S3Server {
            port: crate::smtp::free_port(),
            root,
            binary,
            child: None,
        };
        server.launch().await;
        Some(server)
    }

    async fn launch(&mut self) {
        let child = Command::new(&self.binary)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--access-key",
                ACCESS_KEY,
                "--secret-key",
                SECRET_KEY,
            ])
            .arg(self.root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs starts");
        self.child = Some(child);
        let start = std::time::Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "s3s-fs did not listen"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Takes the server down (connections are refused) until [`S3Server::restart`].
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Back on the same port, with what it stored.
    pub async fn restart(&mut self) {
        self.stop();
        self.launch().await;
    }

    /// The settings that point Mend at this server (`prefix` inside the bucket).
    pub fn settings(&self, prefix: &str) -> Vec<(&'static str, String)> {
        vec![
            ("MEND_PHOTO_STORE", format!("s3://{BUCKET}/{prefix}")),
            (
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", self.port),
            ),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// The object's file, as s3s-fs keeps it.
    pub fn object(&self, key: &str) -> PathBuf {
        self.root.path().join(BUCKET).join(key)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
