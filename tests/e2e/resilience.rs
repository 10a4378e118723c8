//! The server as a real process under load, with faults (issue 10): killed with SIGKILL
//! while 16 clients post complaints, and backed up while it serves. Every complaint that
//! got its 303 must be there afterwards, whole (its event and its alert rows), and a
//! backup must be a consistent database a server can be restored from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::prelude::*;
use mend_server::config::DatabaseUrl;
use mend_server::db::schema::{case_events, cases, outbox};
use mend_server::db::Db;
use mend_testing::processes::{
    binary, form_stamp, numbered_photo, run, try_complain_with, wait_for_200, Process,
};
use mend_testing::smtp::{free_port, SmtpSink};
use mend_testing::TestDb;

const WAIT: Duration = Duration::from_secs(60);
const SECRET: &str = "resilience test secret, shared by restarts";

struct Server {
    port: u16,
    dir: tempfile::TempDir,
    database_url: String,
    /// Settings beyond the common ones (a shared data dir, SMTP).
    extra: Vec<(&'static str, String)>,
}

impl Server {
    fn new(database_url: String) -> Server {
        Server {
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            database_url,
            extra: Vec::new(),
        }
    }

    fn with(mut self, name: &'static str, value: String) -> Server {
        self.extra.push((name, value));
        self
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("MEND_BIND", format!("127.0.0.1:{}", self.port)),
            ("MEND_BASE_URL", self.base()),
            ("MEND_DATABASE_URL", self.database_url.clone()),
            ("MEND_DATA_DIR", self.dir.path().display().to_string()),
            ("MEND_SECRET", SECRET.into()),
            ("MEND_FORM_MIN_SECONDS", "0".into()),
            ("MEND_FORM_RATE_LIMIT", "0".into()),
            ("MEND_DEMO_PASSWORD", "demo-password-1".into()),
        ]
        .into_iter()
        .filter(|(name, _)| !self.extra.iter().any(|(n, _)| n == name))
        .chain(self.extra.iter().cloned())
        .collect()
    }

    /// Seeds the demo store; returns a touchpoint code.
    fn seed(&self) -> String {
        let out = run("mend-server", &["seed-demo"], &self.env());
        out.lines()
            .find_map(|l| l.strip_prefix("touchpoint "))
            .and_then(|l| l.split_whitespace().next())
            .unwrap()
            .to_owned()
    }

    async fn start(&self) -> Process {
        let p = Process::start(
            "mend-server",
            &[],
            &self.env(),
            &self.dir.path().join(format!("server-{}.log", self.port)),
        );
        wait_for_200(&format!("{}/healthz", self.base()), WAIT).await;
        p
    }
}

/// Clients posting complaints until told to stop; what each 303 said, in order.
struct Load {
    stop: Arc<AtomicBool>,
    accepted: Arc<Mutex<Vec<String>>>,
    tasks: tokio::task::JoinSet<(usize, usize)>,
}

impl Load {
    fn start(clients: usize, base: &str, code: &str) -> Load {
        Load::start_with(clients, base, code, false)
    }

    /// Clients posting complaints, each with a photo of its own when `photos`.
    fn start_with(clients: usize, base: &str, code: &str, photos: bool) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = tokio::task::JoinSet::new();
        for client_no in 0..clients {
            let (stop, accepted) = (stop.clone(), accepted.clone());
            let (base, code) = (base.to_owned(), code.to_owned());
            tasks.spawn(async move {
                let client = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                let (mut refused, mut failed, mut n) = (0, 0, 0);
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let body = format!("Client {client_no}, complaint {n}");
                    let photo = photos.then(|| numbered_photo((client_no as u32) << 16 | n));
                    match try_complain_with(&client, &base, &code, &body, photo).await {
                        Ok(Some(path)) => accepted.lock().unwrap().push(path),
                        Ok(None) => refused += 1,
                        Err(_) => {
                            failed += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                (refused, failed)
            });
        }
        Load {
            stop,
            accepted,
            tasks,
        }
    }

    fn accepted_now(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }

    async fn wait_for(&self, n: usize) {
        let start = std::time::Instant::now();
        while self.accepted_now() < n {
            assert!(
                start.elapsed() < WAIT,
                "only {} accepted",
                self.accepted_now()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the clients; returns the status paths of every 303 and (refused, failed).
    async fn finish(mut self) -> (Vec<String>, usize, usize) {
        self.stop.store(true, Ordering::SeqCst);
        let (mut refused, mut failed) = (0, 0);
        while let Some(r) = self.tasks.join_next().await {
            let (r, f) = r.unwrap();
            refused += r;
            failed += f;
        }
        let accepted = self.accepted.lock().unwrap().clone();
        (accepted, refused, failed)
    }
}

fn reference_of(status_path: &str) -> String {
    status_path
        .trim_start_matches("/c/")
        .split('?')
        .next()
        .unwrap()
        .to_owned()
}

/// Every case with its number of events and of outbox rows.
fn cases_with_parts(db: &Db) -> BTreeMap<String, (i64, i64)> {
    db.read(|c| {
        let ids: Vec<(String, String)> =
            cases::table.select((cases::id, cases::reference)).load(c)?;
        let events: Vec<String> = case_events::table.select(case_events::case_id).load(c)?;
        let mails: Vec<Option<String>> = outbox::table.select(outbox::case_id).load(c)?;
        let count = |list: &[String], id: &str| list.iter().filter(|x| *x == id).count() as i64;
        let mails: Vec<String> = mails.into_iter().flatten().collect();
        Ok(ids
            .into_iter()
            .map(|(id, reference)| (reference, (count(&events, &id), count(&mails, &id))))
            .collect())
    })
    .unwrap()
}

/// No half-written complaint: each case has its "received" event and its alert.
fn assert_whole(parts: &BTreeMap<String, (i64, i64)>) {
    let broken: Vec<_> = parts
        .iter()
        .filter(|(_, (events, mails))| *events < 1 || *mails < 1)
        .collect();
    assert!(broken.is_empty(), "half-written cases: {broken:?}");
}

#[tokio::test]
async fn a_server_killed_under_load_keeps_every_acknowledged_complaint() {
    kill_under_load(TestDb::sqlite()).await;
}

#[tokio::test]
async fn a_server_killed_under_load_keeps_every_acknowledged_complaint_on_postgresql() {
    if let Some(db) = TestDb::postgres() {
        kill_under_load(db).await;
    }
}

async fn kill_under_load(db: TestDb) {
    let server = Server::new(db.url());
    let code = server.seed();
    let process = server.start().await;
    let load = Load::start(16, &server.base(), &code);
    load.wait_for(100).await;
    // SIGKILL in the middle of the load: no chance to finish a batch or flush anything.
    process.kill();
    let at_kill = load.accepted_now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _restarted = server.start().await;
    load.wait_for(at_kill + 50).await;
    let (accepted, _refused, failed) = load.finish().await;
    assert!(failed > 0, "the kill did not interrupt any request");

    let stored = cases_with_parts(&db.open());
    let missing: Vec<String> = accepted
        .iter()
        .map(|p| reference_of(p))
        .filter(|r| !stored.contains_key(r))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged complaints are missing: {missing:?}",
        missing.len(),
        accepted.len()
    );
    assert_whole(&stored);
    // And each one's status page still opens with the link the customer was given.
    let client = reqwest::Client::new();
    for path in accepted.iter().step_by(accepted.len() / 20 + 1) {
        let res = client
            .get(format!("{}{path}", server.base()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[tokio::test]
async fn a_backup_taken_while_serving_is_consistent_and_restores() {
    let db = TestDb::sqlite();
    let server = Server::new(db.url());
    let code = server.seed();
    let _process = server.start().await;
    let load = Load::start(8, &server.base(), &code);
    load.wait_for(40).await;
    let before: BTreeSet<String> = load
        .accepted
        .lock()
        .unwrap()
        .iter()
        .map(|p| reference_of(p))
        .collect();
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("mend-backup.db");
    let file_text = file.display().to_string();
    let said = run("mend-server", &["backup", &file_text], &server.env());
    load.wait_for(before.len() + 40).await;
    let (accepted, _, _) = load.finish().await;
    assert!(said.starts_with(&format!("backup {file_text} (")), "{said}");
    assert!(said.contains("integrity ok"), "{said}");

    // The copy holds everything acknowledged before it started, each case whole.
    let copy = Db::open(&DatabaseUrl::parse(&sqlite_url(&file)).unwrap()).unwrap();
    let in_copy = cases_with_parts(&copy);
    assert!(before.iter().all(|r| in_copy.contains_key(r)));
    assert!(in_copy.len() <= accepted.len());
    assert_whole(&in_copy);
    drop(copy);

    // Restore: a server started on the copy serves the customers' status pages.
    let restored = Server::new(sqlite_url(&file));
    let _second = restored.start().await;
    let path = accepted
        .iter()
        .find(|p| before.contains(&reference_of(p)))
        .unwrap();
    let res = reqwest::get(format!("{}{path}", restored.base()))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // A backup never overwrites a file.
    let out = std::process::Command::new(binary("mend-server"))
        .args(["backup", &file_text])
        .envs(server.env())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
}

#[tokio::test]
async fn on_postgresql_backup_says_to_use_pg_dump() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let server = Server::new(db.url());
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("x.db");
    let out = std::process::Command::new(binary("mend-server"))
        .args(["backup", &file.display().to_string()])
        .envs(server.env())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
    assert!(!file.exists());
}

/// Scale-out on PostgreSQL: two server processes and a worker process share one database
/// and nothing on disk (each has a data dir of its own; photos are in the photo store).
/// One server is killed with SIGKILL in the middle of the load. Every complaint either took
/// is stored whole with its photo, a link or form stamp one issued works on the other, and
/// each alert (with its photo) is delivered exactly once although three workers run.
#[tokio::test]
async fn two_instances_on_one_postgresql_share_the_work_and_send_each_alert_once() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    // The one killed serves only (MEND_WORKER=false): a worker killed between the SMTP
    // server's "accepted" and writing that down sends that message again (same Message-ID),
    // which is at-least-once, not the exactly-once this test holds the others to.
    let first = Server::new(db.url())
        .with("MEND_SMTP_URL", sink.url())
        .with("MEND_WORKER", "false".into());
    let second = Server::new(db.url()).with("MEND_SMTP_URL", sink.url());
    let worker_dir = tempfile::tempdir().unwrap();
    let worker_env: Vec<(&str, String)> = first
        .env()
        .into_iter()
        .filter(|(n, _)| *n != "MEND_WORKER")
        .map(|(n, v)| match n {
            "MEND_DATA_DIR" => (n, worker_dir.path().display().to_string()),
            _ => (n, v),
        })
        .collect();
    let code = first.seed();
    let (a, _b) = (first.start().await, second.start().await);
    let _worker = Process::start(
        "mend-server",
        &["worker"],
        &worker_env,
        &worker_dir.path().join("worker.log"),
    );

    let (load_a, load_b) = (
        Load::start_with(8, &first.base(), &code, true),
        Load::start_with(8, &second.base(), &code, true),
    );
    load_a.wait_for(40).await;
    load_b.wait_for(40).await;
    // SIGKILL to the first server mid-load: its clients' requests fail from now on.
    a.kill();
    load_b.wait_for(load_b.accepted_now() + 40).await;
    let (from_a, _, failed_a) = load_a.finish().await;
    let (from_b, _, failed_b) = load_b.finish().await;
    assert_eq!(failed_b, 0, "no request to the second server failed");
    let (stored, without_photo): (i64, i64) = db
        .open()
        .read(|c| {
            Ok((
                cases::table.count().get_result(c)?,
                cases::table
                    .filter(cases::photo_path.is_null())
                    .count()
                    .get_result(c)?,
            ))
        })
        .unwrap();
    assert_eq!(without_photo, 0, "every stored complaint has its photo");
    // A request in flight when the first server died may have been stored without its
    // answer reaching the client: stored but never acknowledged, so at most one per failed
    // request more than were acknowledged (CI once saw 134 stored for 132 acknowledged).
    let acknowledged = (from_a.len() + from_b.len()) as i64;
    assert!(
        (acknowledged..=acknowledged + failed_a as i64).contains(&stored),
        "{stored} stored for {acknowledged} acknowledged and {failed_a} cut off"
    );
    for path in from_a.iter().chain(&from_b) {
        let case = db
            .open()
            .read(|c| mend_server::db::queries::cases::find_by_reference(c, &reference_of(path)))
            .unwrap()
            .expect("an acknowledged complaint is stored");
        for photo in [case.photo_path.unwrap(), case.photo_thumb_path.unwrap()] {
            assert!(
                db.open()
                    .read(|c| mend_server::db::queries::photos::find(c, &photo))
                    .unwrap()
                    .is_some(),
                "{photo} of {path} is in the photo store"
            );
        }
    }

    // Replaced: the first server back on its port. A form shown by one instance is
    // accepted by the other.
    let _a = first.start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let stamp = form_stamp(&client, &first.base(), &code)
        .await
        .unwrap()
        .unwrap();
    let res = client
        .post(format!("{}/t/{code}", second.base()))
        .multipart(
            reqwest::multipart::Form::new()
                .text("stamp", stamp)
                .text("category", "other")
                .text("body", "Shown by one server, sent to the other"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "a stamp from the other instance");

    let stored = cases_with_parts(&db.open());
    let accepted: Vec<&String> = from_a.iter().chain(&from_b).collect();
    assert!(
        accepted
            .iter()
            .all(|p| stored.contains_key(&reference_of(p))),
        "an acknowledged complaint is missing"
    );
    assert_whole(&stored);
    // A customer's link from the killed instance opens on the other.
    for (path, other) in [(&from_a[0], &second)] {
        let res = client
            .get(format!("{}{path}", other.base()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path} on the other instance");
    }

    // Both outbox workers claim from the same table: each alert goes out once.
    let rows: i64 = db
        .open()
        .read(|c| outbox::table.count().get_result(c))
        .unwrap();
    sink.wait_for(rows as usize, WAIT).await;
    // Drained: every row marked sent by one worker or the other (the workers are other
    // processes: the rows tell). A row claimed twice would have been sent twice by now.
    let start = std::time::Instant::now();
    loop {
        let unsent: i64 = db
            .open()
            .read(|c| {
                outbox::table
                    .filter(outbox::sent_at.is_null())
                    .count()
                    .get_result(c)
            })
            .unwrap();
        if unsent == 0 {
            break;
        }
        assert!(start.elapsed() < WAIT, "{unsent} unsent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let messages = sink.messages();
    let ids: BTreeSet<&str> = messages.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(
        (messages.len(), ids.len()),
        (rows as usize, rows as usize),
        "every outbox row delivered exactly once"
    );
}
