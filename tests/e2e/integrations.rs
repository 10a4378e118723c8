//! `/manage/integrations`: API tokens and webhooks made, listed, revoked and removed on a
//! page, with who may do what (an admin everything; a manager their own tokens, their
//! stores' staff's, and their stores' webhooks; staff nothing), a token and a secret shown
//! once and never cached, and a webhook's delivery log whose "send again" reaches a real
//! receiver a second time with the same message id.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::domain::account::api_token::{make, Maker, TokenRequest};
use mend_server::domain::setup::Actor;
use mend_testing::webhooks::Receiver;
use mend_testing::{csrf_in, spawn_demo, Post, TestApp, TestDb};

const PAGE: &str = "/manage/integrations";
const TOKENS: &str = "/manage/integrations/tokens";
const WEBHOOKS: &str = "/manage/integrations/webhooks";

/// The text of `<code id="{id}">…</code>` on a page.
fn code_in(html: &str, id: &str) -> String {
    let open = format!("<code id=\"{id}\">");
    let start = html.find(&open).unwrap_or_else(|| panic!("{id} in {html}")) + open.len();
    html[start..].split('<').next().unwrap().to_owned()
}

async fn post_form(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &impl serde::Serialize,
) -> (u16, String) {
    let res = client.post(app.url(path)).form(form).send().await.unwrap();
    let status = res.status().as_u16();
    if status == 200 || status == 422 {
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
    }
    (status, res.text().await.unwrap())
}

async fn api_status(app: &TestApp, token: &str) -> u16 {
    reqwest::Client::new()
        .get(app.url("/api/v1/cases"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_manager_makes_and_revokes_tokens_for_their_stores_only() {
    let (app, demo) = spawn_demo(TestDb::sqlite(), &[]).await;
    let loc = app.location_of(&demo.touchpoints[0].code);
    let other = app.add_location("Elsewhere");
    app.add_user("staff", "till@shop.example", "staff password 1", &[&loc]);
    app.add_user("manager", "peer@shop.example", "peer password 12", &[&loc]);
    app.add_user("manager", "far@shop.example", "far password 123", &[&other]);
    app.add_user("admin", "boss@shop.example", "boss password 12", &[]);
    let manager = app.sign_in(&demo.manager_email, "demo-password-1").await;

    let empty = app.page(&manager, PAGE).await;
    assert!(empty.contains("No API token yet."), "{empty}");
    assert!(
        !empty.contains("value=\"admin\""),
        "no admin scope offered to a manager"
    );
    let csrf = csrf_in(&empty);
    let make_for = |email: &'static str, scope: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "Till <sync>".to_owned()),
            ("email", email.to_owned()),
            ("scope", scope.to_owned()),
            ("stores", String::new()),
            ("expires_days", "30".to_owned()),
        ]
    };

    // Their own read token: shown once, escaped, usable at once.
    let form = make_for("manager@demo.mend.example", "read");
    let (status, shown) = post_form(&app, &manager, TOKENS, &form).await;
    assert_eq!(status, 200, "{shown}");
    let token = code_in(&shown, "new-token");
    assert!(token.starts_with("mend_"), "{token}");
    assert!(shown.contains("Till &#60;sync&#62;"), "escaped");
    assert_eq!(api_status(&app, &token).await, 200);
    let listed = app.page(&manager, PAGE).await;
    assert!(!listed.contains(&token), "shown once");
    assert!(listed.contains("<td>Read</td>"), "{listed}");
    assert!(listed.contains("Not yet") || listed.contains("Last used"));

    // A staff member of their store: yes. A peer manager, an admin, a stranger: no.
    let form = make_for("till@shop.example", "write");
    let (status, _) = post_form(&app, &manager, TOKENS, &form).await;
    assert_eq!(status, 200);
    for (email, scope, says) in [
        ("peer@shop.example", "read", "you may not do this"),
        ("boss@shop.example", "read", "you may not do this"),
        ("far@shop.example", "read", "you may not do this"),
        ("manager@demo.mend.example", "admin", "you may not do this"),
        ("nobody@shop.example", "read", "no active person"),
    ] {
        refused(&app, &manager, TOKENS, &make_for(email, scope), says).await;
    }
    let mut form = make_for("manager@demo.mend.example", "read");
    form[5].1 = "soon".into();
    refused(&app, &manager, TOKENS, &form, "is not a whole number").await;
    let mut form = make_for("manager@demo.mend.example", "read");
    form[4].1 = "Elsewhere".into();
    refused(&app, &manager, TOKENS, &form, "you may not do this").await;

    // An admin's token (made elsewhere) is not on the manager's page, nor theirs to revoke.
    let admins = make(
        &app.db,
        &Actor::CommandLine,
        Maker::Anyone,
        &TokenRequest {
            email: "boss@shop.example".into(),
            name: "HR".into(),
            scope: "admin".into(),
            ..TokenRequest::default()
        },
        app.clock.now(),
    )
    .unwrap();
    let listed = app.page(&manager, PAGE).await;
    assert!(!listed.contains(&admins.row.id));
    let (status, _) = post_form(
        &app,
        &manager,
        &format!("/manage/integrations/tokens/{}/revoke", admins.row.id),
        &[("csrf", csrf.as_str())],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(api_status(&app, &admins.token).await, 200);

    // Their own: revoked, and the API refuses it at once; a second click finds nothing.
    let own = app
        .db
        .read(|c| mend_server::db::queries::api_tokens::list(c, None))
        .unwrap()
        .into_iter()
        .find(|(t, e)| e == "manager@demo.mend.example" && t.name == "Till <sync>")
        .unwrap()
        .0;
    let revoke = format!("/manage/integrations/tokens/{}/revoke", own.id);
    let (status, _) = post_form(&app, &manager, &revoke, &[("csrf", "wrong")]).await;
    assert!((400..500).contains(&status), "CSRF");
    let (status, _) = post_form(&app, &manager, &revoke, &[("csrf", csrf.as_str())]).await;
    assert_eq!(status, 303);
    assert_eq!(api_status(&app, &token).await, 401);
    let (status, _) = post_form(&app, &manager, &revoke, &[("csrf", csrf.as_str())]).await;
    assert_eq!(status, 404);
    assert!(app.page(&manager, PAGE).await.contains("<td>Revoked</td>"));

    // The admin sees every token and is offered the admin scope; staff see no page.
    let admin = app.sign_in("boss@shop.example", "boss password 12").await;
    let all = app.page(&admin, PAGE).await;
    assert!(all.contains(&admins.row.id), "the admin's own, active");
    assert!(
        all.contains("Till &#60;sync&#62;"),
        "the manager's, revoked"
    );
    assert!(all.contains("value=\"admin\""));
    let staff = app.sign_in("till@shop.example", "staff password 1").await;
    assert_eq!(staff.get(app.url(PAGE)).send().await.unwrap().status(), 403);
}

/// Posts a form that must be refused on its page (422) with these words.
async fn refused(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &impl serde::Serialize,
    says: &str,
) {
    let (status, page) = post_form(app, client, path, form).await;
    assert_eq!(status, 422, "{says}: {page}");
    assert!(page.contains(says), "{says}: {page}");
    assert!(!page.contains("new-token") && !page.contains("new-secret"));
}

#[tokio::test]
async fn webhooks_are_added_logged_sent_again_rotated_and_removed_on_the_page() {
    let Some(receiver) = Receiver::start() else {
        return;
    };
    let (app, demo) = spawn_demo(TestDb::sqlite(), &[("MEND_WEBHOOK_ALLOW_PRIVATE", "1")]).await;
    let other = app.add_location("Elsewhere");
    let manager = app.sign_in(&demo.manager_email, "demo-password-1").await;
    let page = app.page(&manager, PAGE).await;
    assert!(page.contains("No webhook yet."));
    let csrf = csrf_in(&page);
    let url = receiver.url("/from-page");
    let add = |store: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("url", url.clone()),
            ("format", "standard".to_owned()),
            ("store", store.to_owned()),
            ("events", "case.created".to_owned()),
        ]
    };

    // A manager's webhook is for one of their stores.
    for (store, says) in [
        ("", "you may not do this"),
        ("Elsewhere", "you may not do this"),
        ("Nowhere", "there is no store"),
    ] {
        refused(&app, &manager, WEBHOOKS, &add(store), says).await;
    }
    let mut bad = add(mend_server::domain::demo::LOCATION_NAME);
    bad[1].1 = "ftp://example.com/x".into();
    refused(
        &app,
        &manager,
        WEBHOOKS,
        &bad,
        "is not an http or https address",
    )
    .await;

    let here = add(mend_server::domain::demo::LOCATION_NAME);
    let (status, shown) = post_form(&app, &manager, WEBHOOKS, &here).await;
    assert_eq!(status, 200, "{shown}");
    let secret = code_in(&shown, "new-secret");
    assert!(secret.starts_with("whsec_"));
    // A double click adds it once: the same address for the same store is refused.
    refused(&app, &manager, WEBHOOKS, &here, "is already taken").await;
    assert!(
        !app.page(&manager, PAGE).await.contains(&secret),
        "shown once"
    );
    assert!(
        shown.contains("A complaint arrives"),
        "events by their labels"
    );
    receiver.configure(&[&secret], 200).await;

    let sub = app
        .db
        .read(mend_server::db::queries::webhooks::all)
        .unwrap()
        .remove(0);
    let log_path = format!("/manage/integrations/webhooks/{}", sub.id);
    app.complain(&demo.touchpoints[0].code, Post::valid()).await;
    app.drain_outbox().await;
    let got = receiver.received().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["verified"], true);
    let log = app.page(&manager, &log_path).await;
    assert!(log.contains("Delivered"), "{log}");
    assert!(
        log.contains("<td>200</td>") || log.contains("<td>200 "),
        "{log}"
    );

    // Send again: the same message (same webhook-id), once more, however many clicks.
    let delivery = app
        .db
        .read(|c| mend_server::db::queries::webhooks::log(c, &sub.id, 1))
        .unwrap()
        .remove(0);
    let again = format!("{log_path}/again");
    let form = [("csrf", csrf.as_str()), ("delivery", delivery.id.as_str())];
    assert_eq!(post_form(&app, &manager, &again, &form).await.0, 303);
    assert_eq!(post_form(&app, &manager, &again, &form).await.0, 303);
    app.drain_outbox().await;
    let got = receiver.received().await;
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(
        got[0]["headers"]["webhook-id"], got[1]["headers"]["webhook-id"],
        "the same message, so the receiver can tell"
    );
    assert!(got.iter().all(|m| m["verified"] == true));

    // Rotate: the new secret shown once on the log page; the old one still signs beside it.
    let (status, rotated) = post_form(
        &app,
        &manager,
        &format!("{log_path}/rotate"),
        &[("csrf", csrf.as_str())],
    )
    .await;
    assert_eq!(status, 200);
    let new_secret = code_in(&rotated, "new-secret");
    assert_ne!(new_secret, secret);
    receiver.configure(&[&new_secret], 200).await;
    app.complain(&demo.touchpoints[0].code, Post::valid()).await;
    app.drain_outbox().await;
    let got = receiver.received().await;
    assert_eq!(got.len(), 3);
    assert_eq!(got[2]["verified"], true, "signed with the new secret too");

    // An admin's webhook for every store is not the manager's; another store's neither.
    let admin_hook = mend_server::domain::webhook::subscribe(
        &app.db,
        &Actor::CommandLine,
        mend_server::domain::webhook::Within::Everywhere,
        &mend_server::domain::webhook::SubscriptionRequest {
            url: receiver.url("/all"),
            location: Some(other),
            format: "standard".into(),
            ..Default::default()
        },
        app.clock.now(),
    )
    .unwrap();
    let theirs = format!("/manage/integrations/webhooks/{}", admin_hook.id);
    assert_eq!(
        manager.get(app.url(&theirs)).send().await.unwrap().status(),
        404
    );
    let (status, _) = post_form(
        &app,
        &manager,
        &format!("{theirs}/remove"),
        &[("csrf", csrf.as_str())],
    )
    .await;
    assert_eq!(status, 404);

    // Removed: nothing more is sent, and the page says so.
    let (status, _) = post_form(
        &app,
        &manager,
        &format!("{log_path}/remove"),
        &[("csrf", csrf.as_str())],
    )
    .await;
    assert_eq!(status, 303);
    assert!(app.page(&manager, &log_path).await.contains("Removed"));
    app.complain(&demo.touchpoints[0].code, Post::valid()).await;
    app.drain_outbox().await;
    assert_eq!(receiver.received().await.len(), 3);
}

#[tokio::test]
async fn a_private_address_is_refused_on_the_page_without_the_switch() {
    let (app, demo) = spawn_demo(TestDb::sqlite(), &[]).await;
    let manager = app.sign_in(&demo.manager_email, "demo-password-1").await;
    let csrf = csrf_in(&app.page(&manager, PAGE).await);
    for url in [
        "http://127.0.0.1:9/x",
        "http://169.254.169.254/latest/meta-data",
    ] {
        let form = [
            ("csrf", csrf.as_str()),
            ("url", url),
            ("format", "standard"),
            ("store", mend_server::domain::demo::LOCATION_NAME),
        ];
        refused(
            &app,
            &manager,
            WEBHOOKS,
            &form,
            "points inside a private network",
        )
        .await;
    }
    assert!(app
        .db
        .read(mend_server::db::queries::webhooks::all)
        .unwrap()
        .is_empty());
}
