//! Staff alerts end to end, against a real SMTP server process: routing, language,
//! content, the "I'm on it" link, escalation, and an outbox that neither loses nor
//! doubles a message when the mail server is down or refuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use diesel::prelude::*;
use mend_server::db::models::OutboxMessage;
use mend_server::db::queries::{cases, escalations};
use mend_server::domain::alert::settings::{apply, AlertSettingsChange};
use mend_server::domain::demo::{DemoStore, LOCATION_NAME};
use mend_testing::processes::{try_complain, wait_for_200, Process};
use mend_testing::smtp::{free_port, SmtpSink};
use mend_testing::{spawn_demo, Post, TestApp, TestDb};

const WAIT: Duration = Duration::from_secs(20);

async fn app_sending_to(url: &str, db: TestDb) -> (TestApp, DemoStore) {
    spawn_demo(db, &[("MEND_SMTP_URL", url)]).await
}

fn set_language(app: &TestApp, email: &str, language: &str) {
    use mend_server::db::schema::users;
    app.db
        .write(|c| -> Result<(), mend_server::db::DbError> {
            diesel::update(users::table.filter(users::email.eq(email)))
                .set(users::language.eq(language))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    image::DynamicImage::ImageRgb8(img)
        .write_to(
            &mut std::io::Cursor::new(&mut out),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    out
}

/// A complaint whose customer gives an email but no consent: staff are alerted, the
/// customer gets no receipt, so these tests see the staff's mail alone.
fn staff_only() -> Post {
    Post::valid().without("consent")
}

/// The reference a successful post redirects to.
async fn complain(app: &TestApp, code: &str, post: Post) -> String {
    app.complain(code, post).await
}

/// HTML as a reader sees it: the entities askama writes, turned back.
fn unescape(html: &str) -> String {
    html.replace("&#38;", "&")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
}

/// The "I'm on it" link in a message's text part.
fn ack_link(text: &str) -> String {
    let start = text.find("http://").unwrap();
    let link = text[start..]
        .lines()
        .find(|_| true)
        .unwrap()
        .trim()
        .to_owned();
    assert!(link.contains("/ack/"), "first link is the ack link: {link}");
    link
}

fn case_of(app: &TestApp, reference: &str) -> mend_server::db::models::Case {
    app.db
        .read(|c| cases::find_by_reference(c, reference))
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_complaint_alerts_the_routed_person_in_their_language_with_links_and_the_photo() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = app_sending_to(&sink.url(), TestDb::sqlite()).await;
    let code = &store.touchpoints[1].code;
    app.add_user("staff", "mina@shop.example", "pw-123456789", &[]);
    set_language(&app, "mina@shop.example", "ko");
    apply(
        &app.db,
        LOCATION_NAME,
        &AlertSettingsChange {
            categories: vec!["cleanliness=mina@shop.example".into()],
            fallback: Some("floor@shop.example".into()),
            severe_keywords: Some("blood".into()),
            ..Default::default()
        },
    )
    .unwrap();

    let started = std::time::SystemTime::now();
    let reference = complain(
        &app,
        code,
        staff_only()
            .with(
                "body",
                "The restroom has no soap and there is blood on the floor.",
            )
            .photo(jpeg(900, 600)),
    )
    .await;
    let mail = sink.wait_for(1, WAIT).await.remove(0);

    assert_eq!(mail.rcpt_tos, ["mina@shop.example"]);
    assert_eq!(mail.to, ["mina@shop.example"]);
    assert_eq!(mail.mail_from, "mend@localhost");
    // Subject: flags, store, category (in Korean), first words, reference.
    for part in [
        "[심각]",
        "Mend Demo Café",
        "청결",
        "The restroom has no soap",
        &reference,
    ] {
        assert!(mail.subject.contains(part), "{part} in {:?}", mail.subject);
    }
    // Text and HTML parts, in Korean, with everything needed to act.
    for part in [&mail.text, &unescape(&mail.html)] {
        for expected in [
            "새 불편 접수",
            "blood on the floor",
            "guest@example.com",
            // The address came without consent (this test's complaint): said, in Korean.
            "연락에 동의하지 않음",
            "Restrooms",
            "CET",
            "제가 처리할게요",
            &format!("/manage/cases/{reference}"),
            &format!("/ack/{reference}?to=mina%40shop.example&exp="),
        ] {
            assert!(part.contains(expected), "{expected} in {part}");
        }
    }
    assert!(mail.html.contains("src=\"cid:photo\""));
    // Kept for a look in a browser (target/screenshots/).
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    std::fs::write(shots.join("alert-email-ko.html"), &mail.html).unwrap();
    let (cid, content_type, bytes) = &mail.inline[0];
    assert_eq!(
        (cid.as_str(), content_type.as_str()),
        ("photo", "image/jpeg")
    );
    let thumb = image::load_from_memory(bytes).unwrap();
    assert!(
        thumb.width() <= 480 && thumb.width() > 0,
        "a thumbnail, not the photo"
    );
    assert!(
        mail.message_id.ends_with("@localhost"),
        "{}",
        mail.message_id
    );
    // The alert is sent within a second of the customer's answer.
    let waited = mail.accepted_at
        - started
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
    assert!(waited < WAIT.as_secs_f64());

    // Another category goes to the fallback list, in the store's language.
    let other = complain(&app, code, staff_only().with("category", "staff")).await;
    let mails = sink.wait_for(2, WAIT).await;
    assert_eq!(mails[1].rcpt_tos, ["floor@shop.example"]);
    assert!(mails[1].subject.contains(&other) && mails[1].subject.contains("Staff"));
    assert!(mails[1].text.contains("New complaint") && mails[1].text.contains("I'm on it"));
    assert!(!mails[1].subject.contains("SEVERE"));

    // Both rows are marked sent after one attempt, with the Message-ID derived from them.
    let rows = all_marked_sent(&app).await;
    assert!(rows.iter().all(|r| r.attempts == 1), "{rows:#?}");
    assert_eq!(mail.message_id, format!("{}@localhost", rows[0].id));
}

#[tokio::test]
async fn a_repeat_complainant_is_flagged_in_the_alert() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = app_sending_to(&sink.url(), TestDb::sqlite()).await;
    let code = &store.touchpoints[0].code;
    let first = complain(&app, code, staff_only()).await;
    let second = complain(&app, code, staff_only().with("email", "Guest@Example.com")).await;
    let mails = sink.wait_for(2, WAIT).await;
    let text_of = |reference: &str| {
        mails
            .iter()
            .find(|m| m.subject.contains(reference))
            .unwrap()
            .text
            .clone()
    };
    assert!(!text_of(&first).contains("Repeat complainant"));
    let second = text_of(&second);
    assert!(second.contains("Repeat complainant: 1 earlier"), "{second}");
}

#[tokio::test]
async fn customer_text_cannot_add_mail_headers_or_recipients() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = app_sending_to(&sink.url(), TestDb::sqlite()).await;
    let body = "Cold\r\nBcc: evil@attacker.example\r\nSubject: hijacked\r\n\r\n<script>x</script>";
    complain(
        &app,
        &store.touchpoints[0].code,
        staff_only().with("body", body),
    )
    .await;
    let mail = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(mail.rcpt_tos, [store.manager_email.as_str()]);
    assert!(!mail
        .header_names
        .iter()
        .any(|h| h.eq_ignore_ascii_case("bcc")));
    assert_eq!(
        mail.header_names
            .iter()
            .filter(|h| h.eq_ignore_ascii_case("subject"))
            .count(),
        1
    );
    assert!(mail
        .subject
        .contains("Cold Bcc: evil@attacker.example Subject: hijacked"));
    assert!(
        !mail.html.contains("<script>"),
        "customer text is escaped in HTML"
    );
    assert!(mail.html.contains("&#60;script&#62;"));
}

/// Two people alerted: the one who is second reads who took the case and when, not
/// "thank you, you're on it".
#[tokio::test]
async fn a_second_person_opening_their_link_reads_who_took_the_case_and_when() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = app_sending_to(&sink.url(), TestDb::sqlite()).await;
    let location = app.location_of(&store.touchpoints[0].code);
    app.add_user(
        "staff",
        "till@shop.example",
        "a long enough password",
        &[&location],
    );
    complain(&app, &store.touchpoints[0].code, staff_only()).await;
    let mails = sink.wait_for(2, WAIT).await;
    let link_for = |to: &str| {
        ack_link(
            &mails
                .iter()
                .find(|m| m.rcpt_tos == [to])
                .unwrap_or_else(|| panic!("an alert to {to}"))
                .text,
        )
    };
    let (manager_link, staff_link) = (
        link_for(&store.manager_email),
        link_for("till@shop.example"),
    );
    let done = app.client.post(&manager_link).send().await.unwrap();
    assert!(unescape(&done.text().await.unwrap()).contains("Thank you. You're on it."));
    for second in [
        app.client.get(&staff_link).send().await.unwrap(),
        app.client.post(&staff_link).send().await.unwrap(),
    ] {
        let html = unescape(&second.text().await.unwrap());
        assert!(
            html.contains("Someone already has this complaint"),
            "{html}"
        );
        assert!(
            html.contains(&format!("{} took it at", store.manager_email)),
            "{html}"
        );
        assert!(!html.contains("You're on it"));
        assert!(!html.contains("method=\"post\""), "nothing left to press");
    }
}

#[tokio::test]
async fn the_ack_link_asks_on_get_acknowledges_on_post_once_and_then_expires() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = app_sending_to(&sink.url(), TestDb::sqlite()).await;
    let reference = complain(&app, &store.touchpoints[0].code, staff_only()).await;
    let link = ack_link(&sink.wait_for(1, WAIT).await[0].text);
    let path = link.trim_start_matches(&app.base_url).to_owned();

    // A mail scanner opening the link changes nothing.
    let page = app.get(&path).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Take this complaint?") && html.contains("method=\"post\""));
    assert!(html.contains("The restroom has no soap."));
    assert!(case_of(&app, &reference).acknowledged_at.is_none());

    let done = app.client.post(&link).send().await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(unescape(&done.text().await.unwrap()).contains("Thank you. You're on it."));
    let case = case_of(&app, &reference);
    let acknowledged_at = case.acknowledged_at.expect("acknowledged");
    let events = app
        .db
        .read(|c| {
            cases::events_of_kind(
                c,
                &case.id,
                mend_server::db::states::EventKind::Acknowledged,
            )
        })
        .unwrap();
    assert_eq!(events.len(), 1);
    assert!(events[0].detail.contains(&store.manager_email));
    assert!(
        events[0].actor_user_id.is_some(),
        "the manager's account is the actor"
    );
    let chain = app.db.read(|c| escalations::for_case(c, &case.id)).unwrap();
    assert!(chain
        .iter()
        .all(|e| e.cancelled_at.is_some() && e.fired_at.is_none()));
    // The customer's status page shows it was seen.
    assert!(case_of(&app, &reference).acknowledged_at.is_some());

    // Pressing again changes nothing and says so.
    let again = app.client.post(&link).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert!(again.text().await.unwrap().contains("Already acknowledged"));
    assert_eq!(
        case_of(&app, &reference).acknowledged_at,
        Some(acknowledged_at)
    );

    // A link for another person, or altered in any way, is refused.
    let forged = link.replace("manager%40demo", "mallory%40demo");
    assert_eq!(app.client.post(&forged).send().await.unwrap().status(), 404);
    assert_eq!(app.get(&format!("/ack/{reference}")).await.status(), 404);

    // After three days the link has expired.
    app.advance(Duration::from_secs(73 * 3600));
    let expired = app.get(&path).await;
    assert_eq!(expired.status(), 410);
    assert!(expired
        .text()
        .await
        .unwrap()
        .contains("This link has expired"));
}

/// Presses "I'm on it" (the POST the confirm page sends).
async fn press(app: &TestApp, link: &str) {
    assert_eq!(app.client.post(link).send().await.unwrap().status(), 200);
}

/// Waits until the worker has recorded every send. The SMTP server has a mail before the
/// worker marks its row sent; a clock moved on in between would see the row's lease run
/// out and send it again (at least once is the outbox's promise, not exactly once).
async fn all_marked_sent(app: &TestApp) -> Vec<OutboxMessage> {
    app.wait_for_outbox("every mail marked sent", WAIT, |rows| {
        rows.iter().all(|r| r.sent_at.is_some())
    })
    .await
}

fn escalation_mails_for(sink: &SmtpSink, reference: &str) -> Vec<(Vec<String>, String)> {
    sink.messages()
        .into_iter()
        .filter(|m| m.subject.contains("[Not acknowledged]") && m.subject.contains(reference))
        .map(|m| (m.rcpt_tos, m.text))
        .collect()
}

#[tokio::test]
async fn an_unacknowledged_case_goes_to_the_managers_then_the_admins_and_acknowledging_stops_it() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = app_sending_to(&sink.url(), TestDb::sqlite()).await;
    app.add_user("admin", "boss@shop.example", "pw-123456789", &[]);
    let code = &store.touchpoints[0].code;
    let ignored = complain(&app, code, staff_only().with("body", "Nobody came.")).await;
    let acked_early = complain(&app, code, staff_only().with("body", "Sorted quickly.")).await;
    let acked_late = complain(&app, code, staff_only().with("body", "Sorted late.")).await;
    let alerts = sink.wait_for(3, WAIT).await;
    let link_of = |reference: &str| {
        ack_link(
            &alerts
                .iter()
                .find(|m| m.subject.contains(reference))
                .unwrap()
                .text,
        )
    };
    press(&app, &link_of(&acked_early)).await;

    // 16 minutes later (the demo store's SLA is 15): the manager hears of the other two.
    all_marked_sent(&app).await;
    app.advance(Duration::from_secs(16 * 60));
    sink.wait_for(5, WAIT).await;
    let to_manager = escalation_mails_for(&sink, &ignored);
    assert_eq!(to_manager.len(), 1);
    assert_eq!(to_manager[0].0, [store.manager_email.as_str()]);
    assert!(to_manager[0]
        .1
        .contains("Nobody has acknowledged this complaint for 16 minutes"));
    // It names who had the first alert, and when.
    assert!(
        to_manager[0].1.contains("First alert sent")
            && to_manager[0]
                .1
                .contains(&format!("to {}", store.manager_email)),
        "{}",
        to_manager[0].1
    );
    assert_eq!(escalation_mails_for(&sink, &acked_late).len(), 1);
    assert!(escalation_mails_for(&sink, &acked_early).is_empty());

    // One of them is acknowledged now; 16 more minutes: only the other reaches the admins.
    press(&app, &link_of(&acked_late)).await;
    all_marked_sent(&app).await;
    app.advance(Duration::from_secs(16 * 60));
    sink.wait_for(6, WAIT).await;
    let to_admin = escalation_mails_for(&sink, &ignored);
    assert_eq!(to_admin.len(), 2);
    assert_eq!(to_admin[1].0, ["boss@shop.example"]);
    assert!(to_admin[1].1.contains("32 minutes"));

    // The chain ends there, and nothing is sent twice.
    all_marked_sent(&app).await;
    app.advance(Duration::from_secs(60 * 60));
    app.drain_outbox().await;
    assert_eq!(
        sink.count(),
        6,
        "{:#?}",
        sink.messages()
            .iter()
            .map(|m| &m.subject)
            .collect::<Vec<_>>()
    );
    let late = case_of(&app, &acked_late);
    let chain = app.db.read(|c| escalations::for_case(c, &late.id)).unwrap();
    assert!(chain[0].fired_at.is_some());
    assert!(chain[1].cancelled_at.is_some() && chain[1].fired_at.is_none());
}

fn only_row(app: &TestApp) -> OutboxMessage {
    let rows = app.outbox_rows();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    rows.into_iter().next().unwrap()
}

#[tokio::test]
async fn while_smtp_is_down_complaints_are_taken_and_the_alert_arrives_once_it_is_back() {
    if !mend_testing::smtp::aiosmtpd_available() {
        return;
    }
    let port = free_port();
    let (app, store) = app_sending_to(&format!("smtp://127.0.0.1:{port}"), TestDb::sqlite()).await;
    let reference = complain(&app, &store.touchpoints[0].code, staff_only()).await;
    let failed = app
        .wait_for_outbox("a failed first attempt", WAIT, |rows| {
            rows.len() == 1 && rows[0].attempts >= 1 && rows[0].last_error.is_some()
        })
        .await;
    assert!(failed[0].sent_at.is_none() && failed[0].failed_at.is_none());
    assert!(
        failed[0].next_attempt_at > failed[0].created_at,
        "retried later, not at once"
    );

    let sink = SmtpSink::start_on(port).unwrap();
    // Past the first backoff (5 s ± 25%).
    app.advance(Duration::from_secs(10));
    let mails = sink.wait_for(1, WAIT).await;
    assert!(mails[0].subject.contains(&reference));
    app.wait_for_outbox("the row marked sent", WAIT, |rows| {
        rows[0].sent_at.is_some()
    })
    .await;

    // Nothing more is sent later (short of the SLA, when the escalation would be due).
    app.advance(Duration::from_secs(14 * 60));
    app.drain_outbox().await;
    assert_eq!(sink.count(), 1);
    assert!(only_row(&app).last_error.is_none());
}

#[tokio::test]
async fn a_550_is_recorded_not_retried_and_shown_to_admins() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    sink.reject(true);
    let (app, store) = app_sending_to(&sink.url(), TestDb::sqlite()).await;
    complain(&app, &store.touchpoints[0].code, staff_only()).await;
    let rows = app
        .wait_for_outbox("a permanent failure", WAIT, |rows| {
            rows.len() == 1 && rows[0].failed_at.is_some()
        })
        .await;
    assert_eq!(rows[0].attempts, 1);
    assert!(
        rows[0].last_error.as_deref().unwrap().contains("550"),
        "{rows:#?}"
    );

    // No retry storm: minutes later it is still one attempt, and nothing arrived.
    sink.reject(false);
    app.advance(Duration::from_secs(14 * 60));
    app.drain_outbox().await;
    assert_eq!(only_row(&app).attempts, 1);
    assert_eq!(sink.count(), 0);

    // The admins see the refused message and why.
    app.add_user("admin", "boss@shop.example", "pw-123456789", &[]);
    let admin = app.sign_in("boss@shop.example", "pw-123456789").await;
    let page = app.page(&admin, "/manage/").await;
    assert!(page.contains("Undelivered mail"), "{page}");
    assert!(
        page.contains("550") && page.contains("m***@demo.mend.example"),
        "{page}"
    );
    // Managers do not.
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let page = app.page(&manager, "/manage/").await;
    assert!(!page.contains("Undelivered mail"));
}

#[tokio::test]
async fn without_smtp_each_message_is_written_as_an_eml_file_in_the_data_dir() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let reference = complain(&app, &store.touchpoints[0].code, staff_only()).await;
    let rows = app
        .wait_for_outbox("the row marked sent", WAIT, |rows| {
            rows.len() == 1 && rows[0].sent_at.is_some()
        })
        .await;
    let file = app
        .data_dir
        .path()
        .join("mail")
        .join(format!("{}.eml", rows[0].id));
    let eml = std::fs::read_to_string(&file).unwrap();
    assert!(eml.contains(&reference) && eml.contains("To: manager@demo.mend.example"));
    assert!(eml.contains(&format!("Message-ID: <{}@localhost>", rows[0].id)));
}

/// Opens the form and posts a complaint, as a phone would; returns the reference.
async fn complain_over_http(client: &reqwest::Client, base: &str, code: &str, n: usize) -> String {
    let status = try_complain(client, base, code, &format!("Complaint number {n}"))
        .await
        .unwrap()
        .expect("a 303 to the status page");
    status
        .trim_start_matches("/c/")
        .split('?')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn two_servers_and_a_worker_on_one_postgresql_deliver_every_alert_exactly_once() {
    let Some(test_db) = TestDb::postgres() else {
        return;
    };
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let env = |i: usize| {
        vec![
            ("MEND_BIND", format!("127.0.0.1:{}", ports[i])),
            ("MEND_DATA_DIR", dirs[i].path().display().to_string()),
            ("MEND_DATABASE_URL", test_db.url()),
            ("MEND_SMTP_URL", sink.url()),
            (
                "MEND_SECRET",
                "one secret shared by every instance, 32+ chars".into(),
            ),
            ("MEND_FORM_MIN_SECONDS", "0".into()),
            ("MEND_FORM_RATE_LIMIT", "0".into()),
        ]
    };
    let bases: Vec<String> = ports[..2]
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    let log = |i: usize| dirs[i].path().join("server.log");
    let _servers = [
        Process::start("mend-server", &[], &env(0), &log(0)),
        Process::start("mend-server", &[], &env(1), &log(1)),
    ];
    for base in &bases {
        wait_for_200(&format!("{base}/healthz"), WAIT).await;
    }
    let _worker = Process::start("mend-server", &["worker"], &env(2), &log(2));
    let db = test_db.open();
    let code = mend_server::domain::demo::seed_demo(&db, &bases[0], "demo-password-1")
        .unwrap()
        .touchpoints[0]
        .code
        .clone();

    const COMPLAINTS: usize = 500;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(24));
    let mut posts = tokio::task::JoinSet::new();
    for n in 0..COMPLAINTS {
        let (client, base, code, gate) = (
            client.clone(),
            bases[n % 2].clone(),
            code.clone(),
            gate.clone(),
        );
        posts.spawn(async move {
            let _turn = gate.acquire().await.unwrap();
            complain_over_http(&client, &base, &code, n).await
        });
    }
    let mut references = std::collections::BTreeSet::new();
    while let Some(r) = posts.join_next().await {
        references.insert(r.unwrap());
    }
    assert_eq!(references.len(), COMPLAINTS);

    sink.wait_for(COMPLAINTS, Duration::from_secs(120)).await;
    // Drained: every row is marked sent (the workers are other processes, so the rows
    // tell); anything sent twice would have been sent before its row was marked.
    let start = std::time::Instant::now();
    loop {
        let unsent: i64 = db
            .read(|c| {
                use diesel::prelude::*;
                use mend_server::db::schema::outbox;
                outbox::table
                    .filter(outbox::sent_at.is_null())
                    .count()
                    .get_result(c)
            })
            .unwrap();
        if unsent == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{unsent} unsent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mails = sink.messages();
    assert_eq!(mails.len(), COMPLAINTS, "each alert exactly once");
    let ids: std::collections::BTreeSet<_> = mails.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(ids.len(), COMPLAINTS);
    let alerted: std::collections::BTreeSet<_> = mails
        .iter()
        .map(|m| {
            m.subject
                .rsplit('(')
                .next()
                .unwrap()
                .trim_end_matches(')')
                .to_owned()
        })
        .collect();
    assert_eq!(alerted, references, "every complaint's alert, none other");
    use mend_server::db::schema::outbox;
    let attempts: Vec<i32> = db
        .read(|c| outbox::table.select(outbox::attempts).load(c))
        .unwrap();
    assert_eq!(attempts.len(), COMPLAINTS);
    assert!(attempts.iter().all(|a| *a == 1), "no row was claimed twice");
}

#[tokio::test]
async fn the_case_page_is_for_the_stores_people_and_admins_only() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let reference = complain(
        &app,
        &store.touchpoints[0].code,
        staff_only()
            .with("body", "<b>Cold</b> coffee")
            .photo(jpeg(640, 480)),
    )
    .await;
    let page_path = format!("/manage/cases/{reference}");
    let photo_path = format!("{page_path}/photo");

    // Anonymous: to the sign-in, and back here afterwards.
    let res = app.get(&page_path).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/manage/login?next=%2Fmanage%2Fcases%2F{reference}").as_str()
    );
    assert_eq!(app.get(&photo_path).await.status(), 303);

    // Someone of another store: as if the case did not exist.
    let other = app.add_location("Elsewhere");
    app.add_user("staff", "else@shop.example", "pw-123456789", &[&other]);
    let stranger = app.sign_in("else@shop.example", "pw-123456789").await;
    for path in [&page_path, &photo_path] {
        let res = stranger.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }

    // Staff of this store see everything needed to act.
    let location = app.location_of(&store.touchpoints[0].code);
    app.add_user("staff", "till@shop.example", "pw-123456789", &[&location]);
    let staff = app.sign_in("till@shop.example", "pw-123456789").await;
    let html = app.page(&staff, &page_path).await;
    for expected in [
        "&#60;b&#62;Cold&#60;/b&#62; coffee",
        "Mend Demo Café",
        "Till 2",
        "guest@example.com",
        "New: not acknowledged yet",
        "Complaint received",
        "Alert sent to manager@demo.mend.example",
        "CET",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    let photo = staff.get(app.url(&photo_path)).send().await.unwrap();
    assert_eq!(photo.status(), 200);
    assert_eq!(photo.headers()["content-type"], "image/jpeg");
    assert!(photo.headers()["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("private"));
    image::load_from_memory(&photo.bytes().await.unwrap()).unwrap();

    // "I'm on it" here needs the form's CSRF token.
    let ack = app.url(&format!("{page_path}/acknowledge"));
    let forged = staff
        .post(&ack)
        .form(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert!(forged.status().is_client_error());
    assert!(case_of(&app, &reference).acknowledged_at.is_none());
    let csrf = mend_testing::csrf_in(&html);
    let done = staff
        .post(&ack)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert!(case_of(&app, &reference).acknowledged_at.is_some());
    let html = app.page(&staff, &page_path).await;
    assert!(html.contains("Acknowledged by till@shop.example"), "{html}");
    assert!(!html.contains("I&#39;m on it"));

    // Admins see every store's cases.
    app.add_user("admin", "boss@shop.example", "pw-123456789", &[]);
    let admin = app.sign_in("boss@shop.example", "pw-123456789").await;
    assert_eq!(
        admin
            .get(app.url(&page_path))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
