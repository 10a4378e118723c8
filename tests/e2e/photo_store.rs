//! Photos off the local disk (issue 26): every instance reaches every photo, whether the
//! photo store is the database (both backends) or an S3-compatible server (s3s-fs, a real
//! process checking signatures); an unreachable store costs no complaint and no photo;
//! wrong credentials stop the server with one line; photo files of an older Mend are
//! brought in by a step that can be stopped and run again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use mend_server::db::queries::photos::{self, Found};
use mend_server::domain::privacy::customer_data;
use mend_testing::processes::{binary, run};
use mend_testing::s3::S3Server;
use mend_testing::smtp::SmtpSink;
use mend_testing::{spawn_demo, Post, TestApp, TestDb};

const WAIT: Duration = Duration::from_secs(30);
const MANAGER: (&str, &str) = ("manager@demo.mend.example", "demo-password-1");

fn jpeg(width: u32, height: u32, shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, shade])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Settings as pairs of borrowed strings, for `spawn_demo` and `spawn_beside`.
fn pairs<'a>(owned: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    owned.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

/// A complaint with a photo and the customer's email; its reference and case.
async fn complain_with_photo(
    app: &TestApp,
    code: &str,
    shade: u8,
) -> mend_server::db::models::Case {
    let reference = app
        .complain(
            code,
            Post::valid()
                .with("email", "photo.guest@example.com")
                .photo(jpeg(800, 600, shade)),
        )
        .await;
    app.db
        .read(|c| mend_server::db::queries::cases::find_by_reference(c, &reference))
        .unwrap()
        .unwrap()
}

/// What staff signed in to `app` get for the case's photo: status and bytes.
async fn staff_photo(app: &TestApp, reference: &str, full: bool) -> (u16, Vec<u8>) {
    static SIGNED_IN: std::sync::Mutex<Vec<(String, reqwest::Client)>> =
        std::sync::Mutex::new(Vec::new());
    let known = SIGNED_IN
        .lock()
        .unwrap()
        .iter()
        .find(|(a, _)| *a == app.address)
        .map(|(_, c)| c.clone());
    // Signed in once per app: sign-ins are rate limited per client.
    let staff = match known {
        Some(c) => c,
        None => {
            let c = app.sign_in(MANAGER.0, MANAGER.1).await;
            SIGNED_IN
                .lock()
                .unwrap()
                .push((app.address.clone(), c.clone()));
            c
        }
    };
    let size = if full { "?size=full" } else { "" };
    let res = staff
        .get(app.url(&format!("/manage/cases/{reference}/photo{size}")))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
}

/// The alert email's inline pictures.
fn alert_pictures(sink: &SmtpSink) -> Vec<Vec<u8>> {
    sink.messages()
        .into_iter()
        .filter(|m| m.kind == "alert")
        .flat_map(|m| m.inline)
        .filter(|(_, kind, _)| kind.starts_with("image/jpeg"))
        .map(|(_, _, bytes)| bytes)
        .collect()
}

#[tokio::test]
async fn a_photo_taken_by_one_instance_is_shown_and_mailed_by_another() {
    two_instances(TestDb::sqlite()).await;
}

#[tokio::test]
async fn a_photo_taken_by_one_instance_is_shown_and_mailed_by_another_on_postgresql() {
    if let Some(db) = TestDb::postgres() {
        two_instances(db).await;
    }
}

/// Instance A takes the complaint and runs no worker; instance B, with a data dir of its
/// own, shows the photo to staff and its worker sends the alert with the photo in it.
async fn two_instances(db: TestDb) {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (a, store) = spawn_demo(db, &[("MEND_WORKER", "false")]).await;
    let smtp = sink.url();
    let b = TestApp::spawn_beside(
        &a,
        &[
            ("MEND_SMTP_URL", smtp.as_str()),
            ("MEND_FORM_MIN_SECONDS", "0"),
        ],
    )
    .await;
    let case = complain_with_photo(&a, &store.touchpoints[0].code, 90).await;
    let thumb = a
        .stored_photo(case.photo_thumb_path.as_ref().unwrap())
        .await
        .unwrap();

    b.drain_outbox().await;
    sink.wait_for(1, WAIT).await;
    assert_eq!(
        alert_pictures(&sink),
        vec![thumb.clone()],
        "the alert B sent carries the photo"
    );
    let (status, full) = staff_photo(&b, &case.reference, true).await;
    assert_eq!(status, 200);
    assert_eq!(image::load_from_memory(&full).unwrap().width(), 800);
    assert_eq!(staff_photo(&b, &case.reference, false).await.1, thumb);
    for app in [&a, &b] {
        assert!(
            !app.data_dir.path().join("photos").exists(),
            "no instance kept it on its disk"
        );
    }

    // Erased on B: gone from the store for both.
    customer_data::erase(
        &b.db,
        b.data_dir.path(),
        "photo.guest@example.com",
        b.clock.now(),
    )
    .unwrap();
    assert_eq!(staff_photo(&a, &case.reference, true).await.0, 404);
    assert!(a
        .stored_photo(case.photo_path.as_ref().unwrap())
        .await
        .is_none());
}

/// With an S3-compatible store: the photo is taken into the database first, moved out by
/// the worker, read back from the object store by another instance (and mailed by it),
/// and deleted there when the customer is erased.
#[tokio::test]
async fn photos_move_to_an_s3_store_and_are_served_and_erased_from_there() {
    let Some(s3) = S3Server::start().await else {
        return;
    };
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let s3_settings = s3.settings("chain-7");
    let mut a_settings = s3_settings.clone();
    a_settings.push(("MEND_WORKER", "false".into()));
    let (a, store) = spawn_demo(TestDb::sqlite(), &pairs(&a_settings)).await;
    let mut b_settings = s3_settings.clone();
    b_settings.push(("MEND_SMTP_URL", sink.url()));
    let b = TestApp::spawn_beside(&a, &pairs(&b_settings)).await;
    mend_server::startup::check_photo_store(&b.photo_store)
        .await
        .expect("the right credentials pass the start-up check");

    let case = complain_with_photo(&a, &store.touchpoints[0].code, 90).await;
    let (main, thumb) = (
        case.photo_path.clone().unwrap(),
        case.photo_thumb_path.clone().unwrap(),
    );
    let taken = a.stored_photo(&main).await.unwrap();
    let moved = b.photo_store.until_idle().await.unwrap();
    assert_eq!(moved.moved, 2, "the photo and its thumbnail");
    // Out of the database, into the bucket, under the prefix.
    assert_eq!(
        a.db.read(|c| photos::find(c, &main)).unwrap(),
        Some(Found::Remote)
    );
    assert_eq!(
        std::fs::read(s3.object(&format!("chain-7/{main}"))).unwrap(),
        taken
    );

    b.drain_outbox().await;
    sink.wait_for(1, WAIT).await;
    let thumb_bytes = std::fs::read(s3.object(&format!("chain-7/{thumb}"))).unwrap();
    assert_eq!(alert_pictures(&sink), vec![thumb_bytes]);
    let (status, full) = staff_photo(&a, &case.reference, true).await;
    assert_eq!(
        (status, full),
        (200, taken),
        "A reads it back from the bucket"
    );

    customer_data::erase(
        &a.db,
        a.data_dir.path(),
        "photo.guest@example.com",
        a.clock.now(),
    )
    .unwrap();
    assert_eq!(b.photo_store.until_idle().await.unwrap().deleted, 2);
    assert!(!s3.object(&format!("chain-7/{main}")).exists());
    assert!(!s3.object(&format!("chain-7/{thumb}")).exists());
    assert_eq!(a.db.read(photos::counts).unwrap(), (0, 0));
}

/// The object store down for a while: complaints with photos are still taken and their
/// photos shown (from the database); once it is back, the worker moves them out. A photo
/// that is only out there while the store is down: "try again", not a broken page.
#[tokio::test]
async fn an_unreachable_s3_store_costs_no_complaint_and_no_photo() {
    let Some(mut s3) = S3Server::start().await else {
        return;
    };
    let (app, store) = spawn_demo(TestDb::sqlite(), &pairs(&s3.settings(""))).await;
    s3.stop();

    let case = complain_with_photo(&app, &store.touchpoints[0].code, 90).await;
    let main = case.photo_path.clone().unwrap();
    let (status, taken) = staff_photo(&app, &case.reference, true).await;
    assert_eq!(status, 200, "shown from the database meanwhile");
    let err = app.photo_store.until_idle().await.unwrap_err();
    assert!(
        matches!(
            err,
            mend_server::jobs::photo_store::PhotoStoreError::Unreachable { .. }
        ),
        "{err}"
    );
    assert!(matches!(
        app.db.read(|c| photos::find(c, &main)).unwrap(),
        Some(Found::Here(_))
    ));

    s3.restart().await;
    assert_eq!(app.photo_store.until_idle().await.unwrap().moved, 2);
    assert_eq!(std::fs::read(s3.object(&main)).unwrap(), taken);
    assert_eq!(staff_photo(&app, &case.reference, true).await, (200, taken));

    s3.stop();
    let (status, page) = staff_photo(&app, &case.reference, true).await;
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&page));
}

/// Credentials the object store refuses: the server does not start, and says why in one
/// line naming the setting, with nothing else to go on.
#[tokio::test]
async fn refused_credentials_stop_the_server_with_one_clear_line() {
    let Some(s3) = S3Server::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(binary("mend-server"));
    cmd.env("RUST_LOG", "warn");
    for (var, _) in std::env::vars() {
        if var.starts_with("MEND_") || var.starts_with("AWS_") {
            cmd.env_remove(var);
        }
    }
    for (var, value) in s3.settings("") {
        cmd.env(var, value);
    }
    let child = cmd
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        .env("MEND_DATA_DIR", dir.path())
        .env("MEND_BIND", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // A server that started anyway would serve for ever: stopped, and the test fails.
    let guard = std::thread::spawn(move || {
        std::thread::sleep(WAIT);
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
    });
    let out = child.wait_with_output().unwrap();
    drop(guard);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    let line = said
        .lines()
        .find(|l| l.contains("MEND_PHOTO_STORE"))
        .unwrap_or_else(|| panic!("no line names the setting: {said}"));
    assert!(line.contains("refused Mend's credentials"), "{line}");
    assert!(
        !said.contains("not-the-secret"),
        "the secret is not printed"
    );
}

/// Photo files of an older Mend: brought into the store a few at a time (stopped, then
/// run again), read from wherever they are meanwhile, and nothing left on disk after.
#[tokio::test]
async fn photo_files_of_an_older_mend_are_brought_in_and_the_step_resumes() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    let mut references = Vec::new();
    // Cases from before the photo store: their photos are files under the data dir.
    for n in 0..3u8 {
        let case = complain_with_photo(&app, code, 40 * n).await;
        let main = case.photo_path.clone().unwrap();
        let thumb = case.photo_thumb_path.clone().unwrap();
        for path in [&main, &thumb] {
            let bytes = app.stored_photo(path).await.unwrap();
            let file = app.data_dir.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &bytes).unwrap();
        }
        app.db
            .write(|c| -> Result<usize, mend_server::db::DbError> {
                Ok(photos::forget(
                    c,
                    &[main.clone(), thumb.clone()],
                    app.clock.now(),
                )?)
            })
            .unwrap();
        references.push((case.reference, n));
    }
    let env = vec![
        ("MEND_DATABASE_URL", app.test_db.url()),
        ("MEND_DATA_DIR", app.data_dir.path().display().to_string()),
    ];

    // Stopped after two files (as an interrupted run would be).
    let said = run("mend-server", &["photos", "import", "--limit", "2"], &env);
    assert!(said.starts_with("photos moved 2 ("), "{said}");
    assert!(said.trim_end().ends_with("4 left"), "{said}");
    for (reference, _) in &references {
        assert_eq!(
            staff_photo(&app, reference, true).await.0,
            200,
            "{reference} is read from wherever it is"
        );
    }

    let said = run("mend-server", &["photos", "import"], &env);
    assert!(said.starts_with("photos moved 4 ("), "{said}");
    assert!(said.trim_end().ends_with("0 left"), "{said}");
    assert!(mend_server::jobs::photo_store::photo_files(app.data_dir.path()).is_empty());
    assert_eq!(app.db.read(photos::counts).unwrap().0, 6);
    for (reference, _) in &references {
        let (status, bytes) = staff_photo(&app, reference, true).await;
        assert_eq!(status, 200);
        image::load_from_memory(&bytes).unwrap();
    }
    // Run again: nothing to do.
    let said = run("mend-server", &["photos", "import"], &env);
    assert_eq!(said.trim_end(), "photos moved 0 (0 bytes), 0 left");
}
