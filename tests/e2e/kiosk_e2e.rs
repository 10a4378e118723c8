//! The kiosk and the server as real processes, with faults: taps while the server is
//! down, both sides killed with SIGKILL in the middle of a batch, and a proxy that drops
//! a fifth of the server's answers. Every tap must arrive exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mend_server::domain::demo::LOCATION_NAME;
use mend_testing::processes::{run, wait_for_200, Process, Proxy};
use mend_testing::smtp::free_port;
use mend_testing::TestDb;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

/// A store with a registered kiosk, the server's database and settings; nothing running.
struct Site {
    db: TestDb,
    dir: tempfile::TempDir,
    server_port: u16,
    token: String,
    touchpoint: String,
}

impl Site {
    fn new(db: TestDb) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let mut site = Site {
            db,
            dir,
            server_port: free_port(),
            token: String::new(),
            touchpoint: String::new(),
        };
        let seeded = run("mend-server", &["seed-demo"], &site.server_env());
        site.touchpoint = seeded
            .lines()
            .find_map(|l| l.strip_prefix("touchpoint "))
            .and_then(|l| l.split_whitespace().next())
            .unwrap()
            .to_owned();
        let added = run(
            "mend-server",
            &[
                "kiosk",
                "add",
                "--location",
                LOCATION_NAME,
                "--name",
                "Exit",
            ],
            &site.server_env(),
        );
        site.token = added.split_whitespace().nth(2).unwrap().to_owned();
        site
    }

    fn server_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server_port)
    }

    fn server_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("MEND_BIND", format!("127.0.0.1:{}", self.server_port)),
            ("MEND_BASE_URL", self.server_url()),
            ("MEND_DATABASE_URL", self.db.url()),
            ("MEND_DATA_DIR", self.path("server")),
            ("MEND_DEMO_PASSWORD", "demo-password-1".into()),
        ]
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    async fn start_server(&self) -> Process {
        let server = Process::start(
            "mend-server",
            &[],
            &self.server_env(),
            &PathBuf::from(self.path("server.log")),
        );
        wait_for_200(&format!("{}/healthz", self.server_url()), WAIT).await;
        server
    }

    /// Keys of the taps the server has stored, and how many rows hold them.
    fn stored(&self) -> (BTreeSet<String>, usize) {
        use diesel::prelude::*;
        use mend_server::db::schema::kiosk_ratings;
        let keys: Vec<String> = self
            .db
            .open()
            .read(|c| {
                kiosk_ratings::table
                    .select(kiosk_ratings::idempotency_key)
                    .load(c)
            })
            .unwrap();
        let rows = keys.len();
        (keys.into_iter().collect(), rows)
    }
}

struct Kiosk {
    port: u16,
    process: Option<Process>,
    client: reqwest::Client,
}

impl Kiosk {
    /// Starts the kiosk against `server_url`, with its outbox in the site's dir.
    async fn start(site: &Site, server_url: &str) -> Kiosk {
        let mut kiosk = Kiosk {
            port: free_port(),
            process: None,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        kiosk.launch(site, server_url).await;
        kiosk
    }

    async fn launch(&mut self, site: &Site, server_url: &str) {
        let env = vec![
            ("MEND_KIOSK_SERVER_URL", server_url.to_owned()),
            ("MEND_KIOSK_TOKEN", site.token.clone()),
            ("MEND_KIOSK_BIND", format!("127.0.0.1:{}", self.port)),
            ("MEND_KIOSK_DATA_DIR", site.path("kiosk")),
            // Every press counts: the test taps far faster than people do.
            ("MEND_KIOSK_REPEAT_SECONDS", "0".into()),
            ("MEND_KIOSK_RETRY_MAX_SECONDS", "0.5".into()),
            ("MEND_KIOSK_HEARTBEAT_SECONDS", "1".into()),
        ];
        self.process = Some(Process::start(
            "mend-kiosk",
            &[],
            &env,
            &PathBuf::from(site.path("kiosk.log")),
        ));
        wait_for_200(&format!("http://127.0.0.1:{}/status", self.port), WAIT).await;
    }

    fn kill(&mut self) {
        if let Some(p) = self.process.take() {
            p.kill();
        }
    }

    fn log(&self) -> String {
        self.process
            .as_ref()
            .map(Process::log_tail)
            .unwrap_or_default()
    }

    /// A customer taps a face; returns the tap's key (from where the thank-you is).
    async fn tap(&self, rating: u8) -> String {
        let res = self
            .client
            .post(format!("http://127.0.0.1:{}/tap", self.port))
            .form(&[("rating", rating.to_string())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let location = res.headers()["location"].to_str().unwrap();
        location
            .strip_prefix("/thanks/")
            .and_then(|l| l.split('?').next())
            .unwrap()
            .to_owned()
    }

    async fn status(&self) -> Value {
        self.client
            .get(format!("http://127.0.0.1:{}/status", self.port))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until the outbox is empty and the server holds `expected` taps.
    /// The status once `check` holds; panics after [`WAIT`].
    async fn status_until(&self, check: impl Fn(&Value) -> bool) -> Value {
        let start = std::time::Instant::now();
        loop {
            let status = self.status().await;
            if check(&status) {
                return status;
            }
            assert!(start.elapsed() < WAIT, "{status}\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_drained(&self, site: &Site, expected: usize) {
        let start = Instant::now();
        loop {
            let status = self.status().await;
            let (keys, _) = site.stored();
            if status["buffered"] == 0 && keys.len() >= expected {
                return;
            }
            assert!(
                start.elapsed() < WAIT,
                "not drained after {WAIT:?}: {status}, {} stored of {expected}\n{}",
                keys.len(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Every tap made is stored, once; nothing else is; nothing was refused.
async fn assert_exactly_once(site: &Site, kiosk: &Kiosk, made: &BTreeSet<String>) {
    let (stored, rows) = site.stored();
    assert_eq!(rows, stored.len(), "a tap was stored twice");
    assert_eq!(
        stored.len(),
        made.len(),
        "stored {} of {}",
        stored.len(),
        made.len()
    );
    assert!(stored == *made, "the stored keys differ from the taps made");
    let status = kiosk.status().await;
    assert_eq!(status["buffered"], 0, "{status}");
    assert_eq!(status["rejected"], 0, "{status}");
}

#[tokio::test]
async fn taps_made_while_the_server_is_down_arrive_exactly_once_when_it_is_back() {
    let site = Site::new(TestDb::sqlite());
    // Nothing listens on the server's port yet.
    let kiosk = Kiosk::start(&site, &site.server_url()).await;
    let mut made = BTreeSet::new();
    for i in 0..40 {
        made.insert(kiosk.tap(i % 4 + 1).await);
    }
    // Every tap is kept on the kiosk (the server is not there to take any).
    let status = kiosk.status_until(|s| s["buffered"] == 40).await;
    assert_eq!(status["buffered"], 40, "{status}");
    assert_eq!(site.stored().1, 0);
    // The failing heartbeat says why, on the status page and as a warning in the log.
    let failing = kiosk
        .status_until(|s| s["heartbeat_error"].is_string())
        .await;
    assert!(!failing["heartbeat_error"].as_str().unwrap().is_empty());
    assert!(kiosk.log().contains("WARN"), "{}", kiosk.log());

    let _server = site.start_server().await;
    kiosk.wait_drained(&site, made.len()).await;
    assert_exactly_once(&site, &kiosk, &made).await;
    kiosk.status_until(|s| s["heartbeat_error"].is_null()).await;
}

#[tokio::test]
async fn killing_the_kiosk_and_the_server_mid_batch_loses_and_doubles_nothing() {
    kill_mid_batch(TestDb::sqlite()).await;
}

#[tokio::test]
async fn killing_mid_batch_loses_and_doubles_nothing_on_postgresql_too() {
    if let Some(db) = TestDb::postgres() {
        kill_mid_batch(db).await;
    }
}

async fn kill_mid_batch(db: TestDb) {
    let site = Site::new(db);
    let server = site.start_server().await;
    // The proxy holds the server's answers: a batch is stored, its answer still on the
    // way, when the kiosk dies.
    let proxy = Proxy::start(site.server_port, 0).await;
    let proxied = format!("http://127.0.0.1:{}", proxy.port);
    let mut kiosk = Kiosk::start(&site, &proxied).await;
    // Hold answers only once the first heartbeat's is in: taps wait for the server's
    // clock, and a held heartbeat would keep every tap at the kiosk.
    kiosk
        .status_until(|s| s["clock_known"].as_bool() == Some(true))
        .await;
    proxy.hold.store(true, Ordering::SeqCst);
    let mut made = BTreeSet::new();
    for i in 0..120 {
        made.insert(kiosk.tap(i % 4 + 1).await);
    }
    // Wait until the server has stored taps whose answer the kiosk never got.
    let start = Instant::now();
    while site.stored().1 == 0 {
        assert!(start.elapsed() < WAIT, "nothing reached the server");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Mid-batch: the server has taps the kiosk still holds as unacknowledged.
    let status = kiosk.status().await;
    assert_eq!(status["buffered"], 120, "{status}");
    kiosk.kill();
    proxy.hold.store(false, Ordering::SeqCst);

    // The kiosk comes back (power restored) with its outbox as it was on disk, and
    // resends what was never acknowledged; the server counts those keys once.
    kiosk.launch(&site, &proxied).await;
    for i in 0..60 {
        made.insert(kiosk.tap(i % 4 + 1).await);
    }
    // Now the server dies in the middle of receiving, and comes back.
    proxy.hold.store(true, Ordering::SeqCst);
    for i in 0..60 {
        made.insert(kiosk.tap(i % 4 + 1).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();
    proxy.hold.store(false, Ordering::SeqCst);
    let _server = site.start_server().await;
    kiosk.wait_drained(&site, made.len()).await;
    assert_exactly_once(&site, &kiosk, &made).await;
}

#[tokio::test]
async fn a_proxy_dropping_a_fifth_of_the_answers_loses_and_doubles_nothing() {
    let site = Site::new(TestDb::sqlite());
    let _server = site.start_server().await;
    let proxy = Proxy::start(site.server_port, 20).await;
    let kiosk = Kiosk::start(&site, &format!("http://127.0.0.1:{}", proxy.port)).await;
    let mut made = BTreeSet::new();
    // Taps trickle in while the kiosk sends (many small batches, many answers to lose)
    // until twenty answers were lost.
    let start = Instant::now();
    let mut i: usize = 0;
    while proxy.dropped.load(Ordering::SeqCst) < 20 {
        assert!(start.elapsed() < WAIT, "the proxy dropped too little");
        made.insert(kiosk.tap((i % 4 + 1) as u8).await);
        i += 1;
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    kiosk.wait_drained(&site, made.len()).await;
    assert_exactly_once(&site, &kiosk, &made).await;
    let (dropped, passed) = (
        proxy.dropped.load(Ordering::SeqCst),
        proxy.passed.load(Ordering::SeqCst),
    );
    assert!(
        dropped >= 20 && passed > dropped,
        "{dropped} dropped, {passed} passed"
    );
}

#[tokio::test]
async fn a_revoked_kiosk_keeps_its_taps_and_says_so() {
    let site = Site::new(TestDb::sqlite());
    let _server = site.start_server().await;
    let kiosk = Kiosk::start(&site, &site.server_url()).await;
    let first = kiosk.tap(3).await;
    kiosk.wait_drained(&site, 1).await;
    let listed = run(
        "mend-server",
        &["kiosk", "list", "--location", LOCATION_NAME],
        &site.server_env(),
    );
    let id = listed.split_whitespace().nth(1).unwrap().to_owned();
    run(
        "mend-server",
        &["kiosk", "revoke", "--id", &id],
        &site.server_env(),
    );
    let second = kiosk.tap(1).await;
    let start = Instant::now();
    loop {
        let status = kiosk.status().await;
        if status["token_refused"] == true {
            assert_eq!(status["buffered"], 1, "{status}");
            break;
        }
        assert!(start.elapsed() < WAIT, "{status}\n{}", kiosk.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (stored, _) = site.stored();
    assert!(stored.contains(&first) && !stored.contains(&second));
}
