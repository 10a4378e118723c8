//! The real app on port 0 with its own database and data dir, and the requests a test
//! makes of it as a signed-in person.

use mend_server::config::{RawConfig, Settings};
use mend_server::db::Db;
use mend_server::startup::Application;

use crate::database::TestDb;
use crate::forms::csrf_in;

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
    /// Where the app keeps photos (drain its mover with `until_idle`).
    pub photo_store: mend_server::jobs::photo_store::PhotoStore,
    handle: actix_web::dev::ServerHandle,
}

impl TestApp {
    pub async fn spawn(test_db: TestDb) -> TestApp {
        TestApp::spawn_with(test_db, &[]).await
    }

    /// A second instance on `first`'s database, with a data dir of its own (nothing
    /// shared on disk), its own worker, and `extra` settings.
    pub async fn spawn_beside(first: &TestApp, extra: &[(&str, &str)]) -> TestApp {
        TestApp::spawn_with(
            TestDb::Shared {
                url: first.test_db.url(),
            },
            extra,
        )
        .await
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
        let photo_store = app.photo_store().clone();
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
            photo_store,
            handle,
        }
    }

    /// A photo's bytes as the app reads them (from the database or the object store).
    pub async fn stored_photo(&self, path: &str) -> Option<Vec<u8>> {
        self.photo_store.read(path).await.unwrap()
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
