//! A real HTTP receiver for webhook tests: `tests/support/webhook_receiver.py` in its own
//! process, verifying every signature with the `standardwebhooks` package from PyPI (an
//! implementation of the specification that is not Mend's). When
//! `MEND_TEST_REQUIRE_SMTP` is set (CI), a missing package fails the test instead of
//! skipping it, as the other Python peers do.

use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/support/webhook_receiver.py"
);

pub fn standardwebhooks_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import standardwebhooks"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        if std::env::var_os(crate::smtp::SMTP_ENV).is_some() {
            panic!("python3 with standardwebhooks is missing (pip install standardwebhooks)");
        }
        crate::skips::skipped(
            crate::skips::Needs::WebhookReceiver,
            "no python3 standardwebhooks (the webhook receiver)",
        );
    }
    found
}

pub struct Receiver {
    pub port: u16,
    child: Option<Child>,
}

impl Receiver {
    /// A receiver on a free port, or None (skipped) without the package.
    pub fn start() -> Option<Receiver> {
        if !standardwebhooks_available() {
            return None;
        }
        let mut r = Receiver {
            port: crate::smtp::free_port(),
            child: None,
        };
        r.launch();
        Some(r)
    }

    /// The receiver's address for a path.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn launch(&mut self) {
        let port = self.port.to_string();
        self.child = Some(crate::processes::start_python_peer(
            SCRIPT,
            &[&port],
            "the webhook receiver",
        ));
    }

    /// Takes the receiver down (connections are refused) until [`Receiver::restart`].
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Back on the same port, with nothing received and no secrets.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Which secrets verify signatures, and what status to answer.
    pub async fn configure(&self, secrets: &[&str], status: u16) {
        let res = reqwest::Client::new()
            .post(self.url("/_control"))
            .json(&json!({ "secrets": secrets, "status": status }))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }

    /// Every message received so far, in order.
    pub async fn received(&self) -> Vec<Value> {
        reqwest::Client::new()
            .get(self.url("/_control"))
            .send()
            .await
            .unwrap()
            .json::<Vec<Value>>()
            .await
            .unwrap()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}
