//! The harness every end-to-end test uses: a database of its own per test (a temp SQLite
//! file, or a fresh PostgreSQL schema dropped afterwards) and the real app on port 0.
//!
//! PostgreSQL: `MEND_TEST_POSTGRES_URL` names the server. When it is set, PostgreSQL tests
//! must run and fail loudly if the server cannot be reached (CI sets it). When it is not
//! set, the default local server is tried and, if absent, the test prints
//! "skipped: no PostgreSQL" and passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::connection::SimpleConnection;
use diesel::Connection;
use mend_server::config::{DatabaseUrl, RawConfig, Settings};
use mend_server::db::connection::ConnectionManager;
use mend_server::db::{Db, DbConnection};
use mend_server::startup::Application;

pub mod processes;
pub mod smtp;

pub const POSTGRES_ENV: &str = "MEND_TEST_POSTGRES_URL";
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Runs each named `fn(&TestDb)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[test] fn $name() { super::$name(&$crate::TestDb::sqlite()); } )*
        }
        mod on_postgres {
            $( #[test] fn $name() {
                if let Some(db) = $crate::TestDb::postgres() { super::$name(&db); }
            } )*
        }
    };
}

pub enum TestDb {
    Sqlite { dir: tempfile::TempDir },
    Postgres { server_url: String, schema: String },
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        TestDb::Sqlite {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A fresh schema on the test PostgreSQL server, or None (with a message) when there
    /// is no server and none was required.
    pub fn postgres() -> Option<TestDb> {
        let required = std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty());
        let server_url = required
            .clone()
            .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned());
        let mut admin = match diesel::PgConnection::establish(&with_param(
            &server_url,
            "connect_timeout=5",
        )) {
            Ok(c) => c,
            Err(e) if required.is_none() => {
                eprintln!("skipped: no PostgreSQL at {DEFAULT_POSTGRES_URL} ({e}); set {POSTGRES_ENV} to require it");
                return None;
            }
            Err(e) => panic!("{POSTGRES_ENV} is set but PostgreSQL cannot be reached: {e}"),
        };
        let schema = format!("mend_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        Some(TestDb::Postgres { server_url, schema })
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            TestDb::Sqlite { .. } => "sqlite",
            TestDb::Postgres { .. } => "postgres",
        }
    }

    /// The URL as `MEND_DATABASE_URL` would give it.
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite { dir } => format!("sqlite://{}", dir.path().join("mend.db").display()),
            TestDb::Postgres { server_url, schema } => {
                with_param(server_url, &format!("options=-csearch_path%3D{schema}"))
            }
        }
    }

    pub fn database_url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&self.url()).unwrap()
    }

    /// The pool, with migrations applied.
    pub fn open(&self) -> Db {
        let db = Db::open(&self.database_url()).unwrap();
        db.migrate().unwrap();
        db
    }

    /// One connection with nothing applied, for migration tests.
    pub fn raw_connection(&self) -> DbConnection {
        ConnectionManager::new(self.database_url())
            .establish()
            .unwrap()
    }

    /// Runs SQL behind the application's back (to break things on purpose).
    pub fn execute_behind_the_back(&self, sql: &str) {
        match self {
            TestDb::Postgres { server_url, .. } => diesel::PgConnection::establish(server_url)
                .unwrap()
                .batch_execute(sql)
                .unwrap(),
            TestDb::Sqlite { .. } => self.raw_connection().batch_execute(sql).unwrap(),
        }
    }

    pub fn schema(&self) -> Option<&str> {
        match self {
            TestDb::Postgres { schema, .. } => Some(schema),
            TestDb::Sqlite { .. } => None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { server_url, schema } = self {
            if let Ok(mut c) = diesel::PgConnection::establish(server_url) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

/// The real application, serving on a free port of 127.0.0.1, with its own database and
/// data dir. Dropping it stops the server.
/// Clients drop idle connections before the server's keep-alive (5 s) closes them: a
/// request sent on a connection the server is closing fails with IncompleteMessage (seen
/// in the printing test, whose requests are seconds apart on a busy machine).
const IDLE_BEFORE_THE_SERVER_CLOSES: std::time::Duration = std::time::Duration::from_secs(2);

pub struct TestApp {
    /// Where the test talks to the app (always 127.0.0.1).
    pub address: String,
    /// The public URL the app puts into links.
    pub base_url: String,
    pub db: Db,
    pub test_db: TestDb,
    pub data_dir: tempfile::TempDir,
    pub client: reqwest::Client,
    pub scans: std::sync::Arc<mend_server::jobs::scans::ScanCounter>,
    /// The app's clock: advance it to make escalations and links come due.
    pub clock: mend_server::domain::clock::Clock,
    pub outbox: mend_server::jobs::outbox::OutboxWaker,
    handle: actix_web::dev::ServerHandle,
}

impl TestApp {
    pub async fn spawn(test_db: TestDb) -> TestApp {
        TestApp::spawn_with(test_db, &[]).await
    }

    /// `extra` are more `MEND_*` settings, as the environment would give them.
    pub async fn spawn_with(test_db: TestDb, extra: &[(&str, &str)]) -> TestApp {
        mend_server::telemetry::init_for_tests();
        let data_dir = tempfile::tempdir().unwrap();
        let url = test_db.url();
        let dir = data_dir.path().to_str().unwrap().to_owned();
        let mut pairs = vec![
            ("MEND_BIND", "127.0.0.1:0"),
            ("MEND_DATA_DIR", dir.as_str()),
            ("MEND_DATABASE_URL", url.as_str()),
        ];
        pairs.extend_from_slice(extra);
        let settings = Settings::from_raw(RawConfig::from_pairs(pairs)).unwrap();
        let app = tokio::task::spawn_blocking(move || Application::build(settings))
            .await
            .unwrap()
            .unwrap();
        let base_url = app.base_url().to_owned();
        let address = format!("http://127.0.0.1:{}", app.port());
        let db = app.db().clone();
        let handle = app.handle();
        let scans = app.scan_counter();
        let clock = app.clock();
        let outbox = app.outbox_waker();
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(IDLE_BEFORE_THE_SERVER_CLOSES)
            .build()
            .unwrap();
        TestApp {
            address,
            base_url,
            db,
            test_db,
            data_dir,
            client,
            scans,
            clock,
            outbox,
            handle,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The stop command is sent at once; awaiting it would need the runtime.
        drop(self.handle.stop(false));
    }
}

/// An app with the abuse guards off (no minimum time, no rate limit), `extra` settings,
/// and the demo store.
pub async fn spawn_demo(
    test_db: TestDb,
    extra: &[(&str, &str)],
) -> (TestApp, mend_server::domain::demo::DemoStore) {
    let mut settings = vec![
        ("MEND_FORM_MIN_SECONDS", "0"),
        ("MEND_FORM_RATE_LIMIT", "0"),
    ];
    settings.extend_from_slice(extra);
    let app = TestApp::spawn_with(test_db, &settings).await;
    let store = seed_demo(&app);
    (app, store)
}

/// The demo store seeded into this app's database, with URLs on its public address.
pub fn seed_demo(app: &TestApp) -> mend_server::domain::demo::DemoStore {
    mend_server::domain::demo::seed_demo(&app.db, &app.base_url, "demo-password-1").unwrap()
}

/// Every QR code found in an image, decoded.
pub fn decode_qr_codes(img: &image::GrayImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare(img.clone());
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, content)| content))
        .collect()
}

impl TestApp {
    /// A staff account with the given role and locations.
    pub fn add_user(
        &self,
        role: &str,
        email: &str,
        password: &str,
        location_ids: &[&str],
    ) -> String {
        use mend_server::db::models::{new_id, now_utc, User};
        use mend_server::db::queries::users;
        let user = User {
            id: new_id(),
            email: email.to_lowercase(),
            password_hash: mend_server::domain::account::password::hash_password(password).unwrap(),
            role: mend_server::db::states::Role::parse(role)
                .expect("a role: staff, manager or admin"),
            language: "en".into(),
            created_at: now_utc(),
        };
        self.db
            .write(|c| -> Result<(), mend_server::db::DbError> {
                users::insert(c, &user)?;
                for l in location_ids {
                    users::grant_location(c, &user.id, l)?;
                }
                Ok(())
            })
            .unwrap();
        user.id
    }

    /// The text of a page, fetched with `client` (say, a signed-in one).
    pub async fn page(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Another location (no touchpoints), for tests of who may see what; returns its id.
    pub fn add_location(&self, name: &str) -> String {
        use mend_server::db::models::{new_id, now_utc, Location};
        let location = Location {
            id: new_id(),
            name: name.into(),
            time_zone: "UTC".into(),
            default_language: "en".into(),
            sla_minutes: 15,
            created_at: now_utc(),
        };
        self.db
            .write(|c| {
                mend_server::db::queries::locations::insert(c, &location)
                    .map_err(mend_server::db::DbError::from)
            })
            .unwrap();
        location.id
    }

    /// Posts an action from a case page (`acknowledge`, `resolve`, ...) with the page's CSRF
    /// token, as the page's form would.
    pub async fn case_action(
        &self,
        client: &reqwest::Client,
        reference: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let page = self
            .page(client, &format!("/manage/cases/{reference}"))
            .await;
        let csrf = csrf_in(&page);
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        client
            .post(self.url(&format!("/manage/cases/{reference}/{action}")))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// [`TestApp::case_action`], which must succeed (303 back to the case).
    pub async fn case_action_done(
        &self,
        client: &reqwest::Client,
        reference: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) {
        let res = self.case_action(client, reference, action, fields).await;
        let status = res.status();
        assert_eq!(status, 303, "{action}: {}", res.text().await.unwrap());
    }

    /// A client that keeps cookies and does not follow redirects, not signed in.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(IDLE_BEFORE_THE_SERVER_CLOSES)
            .build()
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Signs in through the real form and returns the client holding the session.
    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Client {
        let client = self.browser();
        let res = self.submit_login(&client, email, password).await;
        assert_eq!(
            res.status(),
            303,
            "sign-in failed: {}",
            res.text().await.unwrap()
        );
        client
    }

    pub async fn submit_login(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = client
            .get(self.url("/manage/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = csrf_in(&page);
        client
            .post(self.url("/manage/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", email),
                ("password", password),
                ("next", "/manage/"),
            ])
            .send()
            .await
            .unwrap()
    }

    /// The id of the location a touchpoint code belongs to.
    pub fn location_of(&self, code: &str) -> String {
        self.touchpoint(code).location_id
    }

    /// The id of the touchpoint a sticker code names.
    pub fn touchpoint_id_of(&self, code: &str) -> String {
        self.touchpoint(code).id
    }

    fn touchpoint(&self, code: &str) -> mend_server::db::models::Touchpoint {
        self.db
            .read(|c| mend_server::db::queries::touchpoints::find_by_code(c, code))
            .unwrap()
            .unwrap()
    }
}

/// The CSRF token of the first form in a page.
/// The cookies a response sets, as one Cookie header.
pub fn cookies_of(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A client without a cookie jar that does not follow redirects.
pub fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    /// Signs in without a cookie jar and returns the session cookie itself: what a thief
    /// would copy out of a browser, or what a raw socket sends.
    pub async fn session_cookie(&self, email: &str, password: &str) -> String {
        let raw = raw_client();
        let res = raw.get(self.url("/manage/login")).send().await.unwrap();
        let cookie = cookies_of(&res);
        let page = res.text().await.unwrap();
        let res = raw
            .post(self.url("/manage/login"))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf_in(&page).as_str()),
                ("email", email),
                ("password", password),
                ("next", "/manage/"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "signed in");
        cookies_of(&res)
    }
}

pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("no csrf field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub const BROWSER_ENV: &str = "MEND_TEST_REQUIRE_BROWSER";

/// Headless Chromium and poppler, when installed. When `MEND_TEST_REQUIRE_BROWSER` is set
/// (CI sets it), their absence fails the test instead of skipping it.
pub fn browser_tools() -> Option<BrowserTools> {
    let found = |cmd: &str| {
        // poppler's tools answer -v; chromium answers --version.
        let flag = if cmd.starts_with("pdf") {
            "-v"
        } else {
            "--version"
        };
        std::process::Command::new(cmd)
            .arg(flag)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| found(c));
    match (chromium, found("pdftoppm") && found("pdfinfo")) {
        (Some(c), true) => Some(BrowserTools {
            chromium: c.to_owned(),
        }),
        _ if std::env::var_os(BROWSER_ENV).is_some() => {
            panic!(
                "{BROWSER_ENV} is set but chromium or poppler-utils (pdftoppm, pdfinfo) is missing"
            )
        }
        _ => {
            eprintln!("skipped: no chromium or poppler-utils; set {BROWSER_ENV} to require them");
            None
        }
    }
}

pub struct BrowserTools {
    chromium: String,
}

impl BrowserTools {
    fn headless(&self, profile: &std::path::Path) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.chromium);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        cmd
    }

    /// Prints a page (URL or file:// URL) to PDF the way a manager's Chromium would.
    pub fn print_to_pdf(&self, url: &str, pdf: &std::path::Path) {
        let profile = tempfile::tempdir().unwrap();
        let status = self
            .headless(profile.path())
            .arg("--no-pdf-header-footer")
            .arg(format!("--print-to-pdf={}", pdf.display()))
            .arg(url)
            .status()
            .unwrap();
        assert!(
            status.success() && pdf.exists(),
            "chromium failed to print {url}"
        );
    }

    /// A screenshot of a page at a phone-like or laptop-like window size.
    pub fn screenshot(&self, url: &str, png: &std::path::Path, width: u32, height: u32) {
        let profile = tempfile::tempdir().unwrap();
        let status = self
            .headless(profile.path())
            .arg("--hide-scrollbars")
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--screenshot={}", png.display()))
            .arg(url)
            .status()
            .unwrap();
        assert!(
            status.success() && png.exists(),
            "chromium failed to screenshot {url}"
        );
    }

    /// Page count and size line (e.g. "594.96 x 841.92 pts (A4)") of a PDF.
    pub fn pdf_info(&self, pdf: &std::path::Path) -> (usize, String) {
        let out = std::process::Command::new("pdfinfo")
            .arg(pdf)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        (field("Pages:").parse().unwrap(), field("Page size:"))
    }

    /// Every page of a PDF as a grey-scale image at `dpi`.
    pub fn pdf_pages(&self, pdf: &std::path::Path, dpi: u32) -> Vec<image::GrayImage> {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("page");
        let status = std::process::Command::new("pdftoppm")
            .args(["-r", &dpi.to_string(), "-gray", "-png"])
            .arg(pdf)
            .arg(&prefix)
            .status()
            .unwrap();
        assert!(status.success());
        let mut files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| image::open(f).unwrap().to_luma8())
            .collect()
    }
}

/// A complaint post, field by field, as a browser would send it.
#[derive(Clone, Default)]
pub struct Post {
    pub fields: Vec<(&'static str, String)>,
    pub photo: Option<Vec<u8>>,
}

impl Post {
    /// A complete, valid complaint.
    pub fn valid() -> Post {
        Post::default()
            .with("category", "cleanliness")
            .with("body", "The restroom has no soap.")
            .with("email", "guest@example.com")
            .with("consent", "yes")
    }

    pub fn with(mut self, name: &'static str, value: &str) -> Post {
        self.fields.retain(|(n, _)| *n != name);
        self.fields.push((name, value.to_owned()));
        self
    }

    pub fn without(mut self, name: &str) -> Post {
        self.fields.retain(|(n, _)| *n != name);
        self
    }

    pub fn photo(mut self, bytes: Vec<u8>) -> Post {
        self.photo = Some(bytes);
        self
    }

    fn form(&self) -> reqwest::multipart::Form {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in &self.fields {
            form = form.text(*name, value.clone());
        }
        let photo = self.photo.clone().unwrap_or_default();
        form.part(
            "photo",
            reqwest::multipart::Part::bytes(photo).file_name("photo.jpg"),
        )
    }
}

/// The value of a hidden or text input in a page.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('"').next()?.to_owned())
}

impl TestApp {
    /// Opens a touchpoint's form (as a customer would) and returns the page.
    pub async fn open_form(&self, code: &str, query: &str) -> String {
        let res = self.get(&format!("/t/{code}{query}")).await;
        assert_eq!(res.status(), 200);
        res.text().await.unwrap()
    }

    /// [`TestApp::submit`], which must succeed: the new case's reference.
    pub async fn complain(&self, code: &str, post: Post) -> String {
        let res = self.submit(code, post).await;
        assert_eq!(res.status(), 303, "{:?}", res.text().await);
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        location
            .trim_start_matches("/c/")
            .split('?')
            .next()
            .unwrap()
            .to_owned()
    }

    /// Opens the form, then posts `post` with the page's stamp (unless the post has one).
    pub async fn submit(&self, code: &str, post: Post) -> reqwest::Response {
        let page = self.open_form(code, "").await;
        let post = if post.fields.iter().any(|(n, _)| *n == "stamp") {
            post
        } else {
            post.with("stamp", &input_value(&page, "stamp").unwrap())
        };
        self.post_raw(code, &post).await
    }

    pub async fn post_raw(&self, code: &str, post: &Post) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/t/{code}")))
            .multipart(post.form())
            .send()
            .await
            .unwrap()
    }

    pub fn case_count(&self) -> i64 {
        self.db
            .read(mend_server::db::queries::cases::count)
            .unwrap()
    }

    /// Lets the outbox worker finish everything due by the app's clock (escalations,
    /// surveys, every due message sent and recorded) and find nothing more: then "nothing
    /// more was sent" is a fact, not a hope after a sleep.
    pub async fn drain_outbox(&self) {
        tokio::time::timeout(std::time::Duration::from_secs(60), self.outbox.until_idle())
            .await
            .expect("the outbox worker went idle within a minute");
    }

    /// Moves the app's clock forward and wakes its outbox worker, as if that time passed.
    pub fn advance(&self, by: std::time::Duration) {
        self.clock.advance(by);
        self.outbox.wake();
    }

    /// Every outbox row, oldest first.
    pub fn outbox_rows(&self) -> Vec<mend_server::db::models::OutboxMessage> {
        use diesel::prelude::*;
        use mend_server::db::models::OutboxMessage;
        use mend_server::db::schema::outbox;
        self.db
            .read(|c| {
                outbox::table
                    .order((outbox::created_at.asc(), outbox::id.asc()))
                    .select(OutboxMessage::as_select())
                    .load(c)
            })
            .unwrap()
    }

    /// Waits until `check` holds for the outbox rows; panics after `timeout`.
    pub async fn wait_for_outbox(
        &self,
        what: &str,
        timeout: std::time::Duration,
        check: impl Fn(&[mend_server::db::models::OutboxMessage]) -> bool,
    ) -> Vec<mend_server::db::models::OutboxMessage> {
        let start = std::time::Instant::now();
        loop {
            let rows = self.outbox_rows();
            if check(&rows) {
                return rows;
            }
            assert!(
                start.elapsed() < timeout,
                "waited {timeout:?} for {what}: {rows:#?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// A WebDriver session on headless Chromium, through a chromedriver of its own.
pub struct Browser {
    pub client: fantoccini::Client,
    driver: std::process::Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Sets the page's viewport with Chromium's device emulation, as a phone.
    pub async fn viewport(&self, width: u32, height: u32) {
        self.emulate(width, height, true).await;
    }

    /// Sets the viewport as a laptop's (no mobile emulation).
    pub async fn laptop(&self, width: u32, height: u32) {
        self.emulate(width, height, false).await;
    }

    async fn emulate(&self, width: u32, height: u32, mobile: bool) {
        let params = serde_json::json!({
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile
        });
        self.cdp("Emulation.setDeviceMetricsOverride", params).await;
    }

    /// Runs a Chrome DevTools command through chromedriver; returns its result.
    async fn cdp(&self, cmd: &str, params: serde_json::Value) -> serde_json::Value {
        let res = reqwest::Client::new()
            .post(format!(
                "http://127.0.0.1:{}/session/{}/goog/cdp/execute",
                self.port, self.session
            ))
            .json(&serde_json::json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{cmd} failed");
        res.json::<serde_json::Value>().await.unwrap()["value"].clone()
    }

    /// A screenshot of the whole page, not only what fits the viewport.
    pub async fn full_page_screenshot_to(&self, path: &std::path::Path) {
        use base64::Engine;
        let metrics = self
            .cdp("Page.getLayoutMetrics", serde_json::json!({}))
            .await;
        let size = &metrics["cssContentSize"];
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                serde_json::json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": { "x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1 }
                }),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }

    /// A phone-sized browser; `javascript` false turns scripts off entirely.
    pub async fn phone(javascript: bool) -> Option<Browser> {
        browser_tools()?;
        let driver_found = std::process::Command::new("chromedriver")
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !driver_found {
            if std::env::var_os(BROWSER_ENV).is_some() {
                panic!("{BROWSER_ENV} is set but chromedriver (chromium-driver) is missing");
            }
            eprintln!("skipped: no chromedriver; set {BROWSER_ENV} to require it");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = std::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("chromium");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars",
                    "--window-size=390,844", format!("--user-data-dir={}", profile.path().display())
                ],
                "prefs": { "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 } }
            }),
        );
        let mut client = None;
        for _ in 0..50 {
            match fantoccini::ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => {
                    client = Some(c);
                    break;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
        let client = client.expect("chromedriver did not start");
        // Headless windows are at least 500 px wide; a phone is narrower. Chromium's own
        // device emulation sets the viewport exactly.
        let session = client.session_id().await.unwrap().unwrap().to_string();
        let browser = Browser {
            client,
            driver,
            port,
            session,
            _profile: profile,
        };
        browser.viewport(390, 844).await;
        Some(browser)
    }

    /// Types into the element with this id.
    pub async fn type_into(&self, id: &str, text: &str) {
        self.client
            .find(fantoccini::Locator::Id(id))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }

    /// Clicks the first element matching a CSS selector.
    pub async fn click(&self, css: &str) {
        self.client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    pub async fn screenshot_to(&self, path: &std::path::Path) {
        let png = self.client.screenshot().await.unwrap();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A decompression bomb: a PNG header claiming `side` x `side` grey pixels, followed by
/// `rows` rows of them. A few kilobytes on the wire; gigabytes if fully decoded.
pub fn png_bomb(side: u32, rows: u32) -> Vec<u8> {
    let mut bomb = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bomb, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        let mut writer = encoder.write_header().unwrap();
        let mut stream = writer.stream_writer().unwrap();
        let row = vec![0u8; side as usize];
        for _ in 0..rows {
            std::io::Write::write_all(&mut stream, &row).unwrap();
        }
        let _ = stream.finish();
    }
    bomb
}

/// A new case, with nothing but what every case has: category "other", English, status
/// "new"; tests fill in the rest with struct update syntax.
pub fn plain_case(
    location_id: &str,
    touchpoint_id: &str,
    reference: &str,
    created_at: chrono::NaiveDateTime,
) -> mend_server::db::models::Case {
    mend_server::db::models::Case {
        id: mend_server::db::models::new_id(),
        reference: reference.into(),
        location_id: location_id.into(),
        touchpoint_id: touchpoint_id.into(),
        category: "other".into(),
        body: "x".into(),
        contact_email: None,
        contact_consent: false,
        language: "en".into(),
        status: mend_server::db::states::CaseStatus::New,
        created_at,
        acknowledged_at: None,
        resolved_at: None,
        status_token_hash: None,
        render_nonce: None,
        photo_path: None,
        photo_thumb_path: None,
        assignee_id: None,
        resolution: None,
        root_cause: None,
        compensation_type: None,
        compensation_minor: None,
        compensation_currency: None,
        merged_into: None,
        device_hash: None,
        severe: None,
        erased_at: None,
        flagged_at: None,
    }
}
