//! Accounts over HTTP with a real SMTP server: a forgotten password reset by an emailed
//! link that works once and expires, and an admin's invitation in the invitee's language.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::db::states::MailKind;
use std::time::Duration;

use mend_testing::smtp::SmtpSink;
use mend_testing::{csrf_in, input_value, spawn_demo, TestApp, TestDb};

const WAIT: Duration = Duration::from_secs(20);
const NEW_PASSWORD: &str = "a brand new passphrase";

/// The set-password link in a message's text, as a path.
fn link_in(app: &TestApp, text: &str) -> String {
    let url = text
        .split_whitespace()
        .find(|w| w.contains("/manage/password/set?"))
        .unwrap();
    url.trim_start_matches(&app.base_url).to_owned()
}

/// Opens the link and chooses a password with it.
async fn choose_password(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    password: &str,
) -> reqwest::Response {
    let page = app.page(client, path).await;
    let field = |name| input_value(&page, name).unwrap_or_default();
    client
        .post(app.url("/manage/password/set"))
        .form(&[
            ("csrf", csrf_in(&page).as_str()),
            ("u", &field("u")),
            ("exp", &field("exp")),
            ("sig", &field("sig")),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

fn url_query(q: &str) -> std::collections::HashMap<String, String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("%3A", ":")))
        .collect()
}

async fn ask_for_reset(app: &TestApp, email: &str) -> String {
    let client = app.browser();
    let page = app.page(&client, "/manage/password/forgot").await;
    let res = client
        .post(app.url("/manage/password/forgot"))
        .form(&[("csrf", csrf_in(&page).as_str()), ("email", email)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_an_emailed_link_that_works_once() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_SMTP_URL", &sink.url())]).await;

    // Unknown and known addresses get the same answer; only the known one gets mail.
    let unknown = ask_for_reset(&app, "nobody@shop.example").await;
    let known = ask_for_reset(&app, &store.manager_email.to_uppercase()).await;
    assert!(known.contains("If that address has a Mend account"));
    assert_eq!(unknown, known, "the same page either way");
    let mails = sink.wait_for(1, WAIT).await;
    app.drain_outbox().await;
    assert_eq!(sink.count(), 1);
    assert_eq!(mails[0].rcpt_tos, [store.manager_email.as_str()]);
    assert!(mails[0].subject.contains("Set a new Mend password"));
    let path = link_in(&app, &mails[0].text);

    let client = app.browser();
    let res = choose_password(&app, &client, &path, "short").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("at least 12 characters"));
    let res = choose_password(&app, &client, &path, NEW_PASSWORD).await;
    assert_eq!(res.status(), 303, "saved and signed in");
    assert!(app
        .page(&client, "/manage/")
        .await
        .contains("Your locations"));

    // The old password is gone, the new one works, and the link is spent.
    let res = app
        .submit_login(&app.browser(), &store.manager_email, "demo-password-1")
        .await;
    assert_eq!(res.status(), 401);
    app.sign_in(&store.manager_email, NEW_PASSWORD).await;
    let again = app.browser().get(app.url(&path)).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("was used already"));

    // A new link (one reset mail per account per five minutes), an hour and a minute
    // later, has expired.
    app.advance(Duration::from_secs(5 * 60));
    ask_for_reset(&app, &store.manager_email).await;
    let mails = sink.wait_for(2, WAIT).await;
    let path = link_in(&app, &mails[1].text);
    app.advance(Duration::from_secs(61 * 60));
    let expired = app.browser().get(app.url(&path)).send().await.unwrap();
    assert_eq!(expired.status(), 410);
    // Posting the form anyway is refused too.
    let client = app.browser();
    let page = app.page(&client, "/manage/password/forgot").await;
    let query: std::collections::HashMap<String, String> =
        url_query(path.split_once('?').unwrap().1);
    let res = client
        .post(app.url("/manage/password/set"))
        .form(&[
            ("csrf", csrf_in(&page).as_str()),
            ("u", &query["u"]),
            ("exp", &query["exp"]),
            ("sig", &query["sig"]),
            ("password", "yet another passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("This link has expired"));
    app.sign_in(&store.manager_email, NEW_PASSWORD).await;
}

#[tokio::test]
async fn an_admin_invites_someone_who_chooses_a_password_from_the_email_in_their_language() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_SMTP_URL", &sink.url())]).await;
    let location = app.location_of(&store.touchpoints[0].code);
    app.add_user("admin", "boss@shop.example", "admin password 1", &[]);
    let admin = app.sign_in("boss@shop.example", "admin password 1").await;
    let page = app.page(&admin, "/manage/users").await;
    assert!(page.contains(&store.manager_email));
    let csrf = csrf_in(&page);
    let invite = |fields: Vec<(&'static str, String)>| {
        let mut form = vec![("csrf", csrf.clone())];
        form.extend(fields);
        admin
            .post(app.url("/manage/users/invite"))
            .form(&form)
            .send()
    };
    let res = invite(vec![
        ("email", "mina@shop.example".into()),
        ("role", "staff".into()),
        ("language", "ko".into()),
        ("location", location.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(res.status(), 303);
    for (fields, message) in [
        (
            vec![
                ("email", "mina@shop.example"),
                ("role", "staff"),
                ("language", "ko"),
            ],
            "already has an account",
        ),
        (
            vec![
                ("email", "not-an-address"),
                ("role", "admin"),
                ("language", "en"),
            ],
            "is not an email address",
        ),
        (
            vec![
                ("email", "x@shop.example"),
                ("role", "staff"),
                ("language", "en"),
            ],
            "need at least one location",
        ),
    ] {
        let mut f: Vec<(&'static str, String)> =
            fields.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
        f.push((
            "location",
            if message.contains("location") {
                String::new()
            } else {
                location.clone()
            },
        ));
        f.retain(|(_, v)| !v.is_empty());
        let res = invite(f).await.unwrap();
        assert_eq!(res.status(), 400, "{message}");
        assert!(res.text().await.unwrap().contains(message), "{message}");
    }

    let mail = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(mail.rcpt_tos, ["mina@shop.example"]);
    assert!(
        mail.subject.contains("Mend에 초대되었습니다"),
        "{}",
        mail.subject
    );
    let client = app.browser();
    assert_eq!(
        choose_password(&app, &client, &link_in(&app, &mail.text), NEW_PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(
        client
            .get(app.url("/manage/cases"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Staff do not manage people.
    assert_eq!(
        client
            .get(app.url("/manage/users"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // Managers manage the staff of their own stores (tests/e2e/setup.rs has the details).
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    assert_eq!(
        manager
            .get(app.url("/manage/users"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

// ------------------------------------------------------------------------------------
// Sessions end on the server; strangers cannot lock anyone out

async fn status_with(app: &TestApp, cookie: &str, path: &str) -> u16 {
    mend_testing::raw_client()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_copied_cookie_dies_at_logout_on_every_device_and_at_a_password_reset() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_SMTP_URL", &sink.url())]).await;
    let email = store.manager_email.clone();
    let stolen = app.session_cookie(&email, "demo-password-1").await;
    let phone = app.sign_in(&email, "demo-password-1").await;
    assert_eq!(status_with(&app, &stolen, "/manage/cases").await, 200);

    // Signing out (here from the phone) ends every session of theirs, the copy included.
    let page = app.page(&phone, "/manage/").await;
    let res = phone
        .post(app.url("/manage/logout"))
        .form(&[("csrf", csrf_in(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(status_with(&app, &stolen, "/manage/cases").await, 303);
    assert_eq!(
        phone
            .get(app.url("/manage/cases"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );

    // A password reset ends them too.
    let stolen = app.session_cookie(&email, "demo-password-1").await;
    ask_for_reset(&app, &email).await;
    let mail = sink.wait_for(1, WAIT).await.remove(0);
    let res = choose_password(
        &app,
        &app.browser(),
        &link_in(&app, &mail.text),
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(status_with(&app, &stolen, "/manage/cases").await, 303);
}

#[tokio::test]
async fn a_form_token_from_before_sign_in_is_worthless_after_it() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let client = app.browser();
    let before = csrf_in(&app.page(&client, "/manage/login").await);
    let res = app
        .submit_login(&client, &store.manager_email, "demo-password-1")
        .await;
    assert_eq!(res.status(), 303);
    let res = client
        .post(app.url("/manage/logout"))
        .form(&[("csrf", before.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "the pre-sign-in token is refused");
    assert_eq!(
        client
            .get(app.url("/manage/cases"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "still signed in"
    );
}

#[tokio::test]
async fn strangers_asking_for_resets_neither_lock_the_owner_out_nor_flood_their_inbox() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_SMTP_URL", &sink.url())]).await;
    let email = store.manager_email.clone();
    for _ in 0..6 {
        let page = ask_for_reset(&app, &email).await;
        assert!(page.contains("If that address has a Mend account"));
    }
    // The owner, from their own browser, signs in at once.
    let res = app
        .submit_login(&app.browser(), &email, "demo-password-1")
        .await;
    assert_eq!(res.status(), 303);
    // One reset email, not six: the other five were refused before anything was queued.
    let resets = |rows: &[mend_server::db::models::OutboxMessage]| {
        rows.iter()
            .filter(|r| r.recipient == email && r.kind == MailKind::PasswordReset)
            .count()
    };
    let rows = app
        .wait_for_outbox("the reset mail", WAIT, |rows| resets(rows) >= 1)
        .await;
    assert_eq!(resets(&rows), 1);
    // A stranger who fails on purpose locks out only themselves.
    let stranger = app.browser();
    for _ in 0..mend_server::web::rate_limit::LOGIN_PER_ACCOUNT {
        app.submit_login(&stranger, &email, "wrong guess").await;
    }
    assert_eq!(
        app.submit_login(&stranger, &email, "wrong guess")
            .await
            .status(),
        429
    );
}

#[tokio::test]
async fn bogus_password_links_cost_no_hash_and_are_rate_limited() {
    let (app, _) = spawn_demo(TestDb::sqlite(), &[]).await;
    let client = app.browser();
    let page = app.page(&client, "/manage/password/forgot").await;
    let csrf = csrf_in(&page);
    let post = || {
        client
            .post(app.url("/manage/password/set"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("u", "nobody"),
                ("exp", "99999999999"),
                ("sig", "00"),
                ("password", "a long enough password"),
            ])
            .send()
    };
    for _ in 0..mend_server::web::rate_limit::PASSWORD_SETS_PER_CLIENT {
        assert_eq!(post().await.unwrap().status(), 400);
    }
    assert_eq!(post().await.unwrap().status(), 429);
}

/// A known address must not be told apart from an unknown one by how long the answer
/// takes: the answer is given before the account is looked up. Proven without a clock:
/// while the database's writer is held busy, the answer for a known address still comes,
/// and the reset mail is queued once the writer is free.
#[tokio::test]
async fn forgot_password_answers_before_looking_the_account_up() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let client = app.browser();
    let page = app.page(&client, "/manage/password/forgot").await;

    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let db = app.db.clone();
    let holder = std::thread::spawn(move || {
        db.write(|_| -> Result<(), mend_server::db::DbError> {
            held_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    held_rx.recv().unwrap();
    let answer = tokio::time::timeout(
        WAIT,
        client
            .post(app.url("/manage/password/forgot"))
            .form(&[
                ("csrf", csrf_in(&page).as_str()),
                ("email", store.manager_email.as_str()),
            ])
            .send(),
    )
    .await;
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let res = answer.expect("answered while the writer was busy").unwrap();
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("If that address has a Mend account"));

    let rows = app
        .wait_for_outbox("the reset mail", WAIT, |rows| {
            rows.iter().any(|m| m.recipient == store.manager_email)
        })
        .await;
    assert_eq!(
        rows.iter()
            .filter(|m| m.recipient == store.manager_email)
            .count(),
        1
    );
}
