//! A real SMTP server for the tests: `tests/support/smtp_sink.py` (aiosmtpd) in its own
//! process, writing what it accepts to a temp dir that the tests read and parse.
//! When `MEND_TEST_REQUIRE_SMTP` is set (CI sets it), a missing aiosmtpd fails the test
//! instead of skipping it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mail_parser::{MessageParser, MimeHeaders};

pub const SMTP_ENV: &str = "MEND_TEST_REQUIRE_SMTP";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");

pub fn aiosmtpd_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        if std::env::var_os(SMTP_ENV).is_some() {
            panic!("{SMTP_ENV} is set but python3 with aiosmtpd is missing (pip install aiosmtpd)");
        }
        crate::skips::skipped(
            crate::skips::Needs::Smtp,
            &format!("no python3 aiosmtpd; set {SMTP_ENV} to require it"),
        );
    }
    found
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct SmtpSink {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    /// Kinds of message (their `X-Mend-Kind`) this test does not count or list.
    ignored: Vec<&'static str>,
}

/// One message as the SMTP server accepted it.
#[derive(Debug, Clone)]
pub struct Received {
    pub rcpt_tos: Vec<String>,
    pub mail_from: String,
    /// Seconds since the epoch when DATA was accepted.
    pub accepted_at: f64,
    pub raw: Vec<u8>,
    pub subject: String,
    pub message_id: String,
    pub to: Vec<String>,
    pub text: String,
    pub html: String,
    /// Header names, as sent.
    pub header_names: Vec<String>,
    /// What Mend says the message is (`X-Mend-Kind`: alert, customer_receipt, ...).
    pub kind: String,
    /// (content id, content type, bytes) of inline parts.
    pub inline: Vec<(String, String, Vec<u8>)>,
}

impl Received {
    fn parse(raw: Vec<u8>, meta: &serde_json::Value) -> Received {
        let m = MessageParser::default()
            .parse(&raw)
            .expect("a parseable message");
        let to = m
            .to()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.address().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let inline = m
            .attachments()
            .map(|p| {
                let ct = p
                    .content_type()
                    .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or_default()))
                    .unwrap_or_default();
                (
                    p.content_id().unwrap_or_default().to_owned(),
                    ct,
                    p.contents().to_vec(),
                )
            })
            .collect();
        Received {
            rcpt_tos: meta["rcpt_tos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect(),
            mail_from: meta["mail_from"].as_str().unwrap_or_default().to_owned(),
            accepted_at: meta["accepted_at"].as_f64().unwrap(),
            subject: m.subject().unwrap_or_default().to_owned(),
            message_id: m.message_id().unwrap_or_default().to_owned(),
            to,
            text: m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
            html: m.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
            header_names: m.headers().iter().map(|h| h.name().to_owned()).collect(),
            kind: m
                .header_raw("X-Mend-Kind")
                .map(|v| v.trim().to_owned())
                .unwrap_or_default(),
            inline,
            raw,
        }
    }
}

impl SmtpSink {
    /// On a free port; None (the test skips) without aiosmtpd.
    pub fn start() -> Option<SmtpSink> {
        SmtpSink::start_on(free_port())
    }

    pub fn start_on(port: u16) -> Option<SmtpSink> {
        if !aiosmtpd_available() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut sink = SmtpSink {
            port,
            dir,
            child: None,
            ignored: Vec::new(),
        };
        sink.launch();
        Some(sink)
    }

    fn launch(&mut self) {
        let (port, dir) = (self.port.to_string(), self.dir.path().display().to_string());
        self.child = Some(crate::processes::start_python_peer(
            SCRIPT,
            &[&port, &dir],
            "the SMTP sink",
        ));
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Takes the server down (connections are refused) until [`SmtpSink::restart`].
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// While on, every message is answered 550.
    pub fn reject(&self, on: bool) {
        let flag = self.dir.path().join("reject");
        if on {
            std::fs::write(flag, b"").unwrap();
        } else {
            let _ = std::fs::remove_file(flag);
        }
    }

    /// The same sink, not counting or listing messages of `kind` (a test about staff
    /// alerts, say, where every customer also gets a receipt).
    pub fn without(mut self, kind: &'static str) -> SmtpSink {
        self.ignored.push(kind);
        self
    }

    pub fn messages(&self) -> Vec<Received> {
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|json| {
                let meta: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
                let raw = std::fs::read(json.with_extension("eml")).unwrap();
                Received::parse(raw, &meta)
            })
            .filter(|m| !self.ignored.contains(&m.kind.as_str()))
            .collect()
    }

    pub fn count(&self) -> usize {
        if !self.ignored.is_empty() {
            return self.messages().len();
        }
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count()
    }

    /// Waits until at least `n` messages arrived; panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let start = Instant::now();
        while self.count() < n {
            assert!(
                start.elapsed() < timeout,
                "expected {n} messages within {timeout:?}, got {}",
                self.count()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.messages()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}
