//! Surveys end to end, through a real SMTP server and a movable clock: the survey after
//! resolution in the customer's language, a rating link that records nothing until
//! confirmed, an unhappy answer reopening the case and telling staff, the reminder and the
//! follow-up, one survey per address per 30 days, unsubscribing, and bad links.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::db::states::SurveyKind;
use std::time::Duration;

use mend_server::db::queries::{cases, surveys};
use mend_testing::smtp::{Received, SmtpSink};
use mend_testing::{input_value, spawn_demo, Post, TestApp, TestDb};

const WAIT: Duration = Duration::from_secs(20);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// A complaint in `lang` with an email and consent; returns (reference, status path).
async fn complain(app: &TestApp, code: &str, lang: &str, email: &str) -> (String, String) {
    let page = app.open_form(code, &format!("?lang={lang}")).await;
    let post = Post::valid()
        .with("stamp", &input_value(&page, "stamp").unwrap())
        .with("lang", lang)
        .with("email", email);
    let post = if email.is_empty() {
        post.without("consent")
    } else {
        post
    };
    let res = app.post_raw(code, &post).await;
    assert_eq!(res.status(), 303);
    let status = res.headers()["location"].to_str().unwrap().to_owned();
    let reference = status
        .trim_start_matches("/c/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    (reference, status)
}

async fn resolve(app: &TestApp, manager: &reqwest::Client, reference: &str) {
    let fields = [
        ("resolution", "Refilled the soap."),
        ("root_cause", "cleaning"),
        ("compensation_type", "voucher"),
        ("compensation_value", "5"),
        ("compensation_currency", "EUR"),
    ];
    app.case_action_done(manager, reference, "resolve", &fields)
        .await;
}

fn to(sink: &SmtpSink, who: &str, kind_in_subject: &str) -> Vec<Received> {
    sink.messages()
        .into_iter()
        .filter(|m| m.rcpt_tos == [who] && m.subject.contains(kind_in_subject))
        .collect()
}

/// Waits for a message to `who` whose subject has `needle`.
async fn mail_to(sink: &SmtpSink, who: &str, needle: &str) -> Received {
    let start = std::time::Instant::now();
    loop {
        if let Some(m) = to(sink, who, needle).into_iter().next() {
            return m;
        }
        assert!(
            start.elapsed() < WAIT,
            "no mail to {who} with {needle}: {:#?}",
            sink.messages()
                .iter()
                .map(|m| (&m.rcpt_tos, &m.subject))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn links(app: &TestApp, text: &str, needle: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| w.contains(needle))
        .map(|w| w.trim_start_matches(&app.base_url).to_owned())
        .collect()
}

fn case_status(app: &TestApp, reference: &str) -> (String, bool) {
    let case = app
        .db
        .read(|c| cases::find_by_reference(c, reference))
        .unwrap()
        .unwrap();
    (case.status.as_str().to_owned(), case.resolved_at.is_some())
}

fn survey_rows(app: &TestApp, reference: &str) -> Vec<mend_server::db::models::Survey> {
    let case = app
        .db
        .read(|c| cases::find_by_reference(c, reference))
        .unwrap()
        .unwrap();
    app.db.read(|c| surveys::for_case(c, &case.id)).unwrap()
}

#[tokio::test]
async fn the_survey_comes_in_the_customers_language_and_an_unhappy_answer_reopens_the_case() {
    unhappy_survey(TestDb::sqlite()).await;
}

#[tokio::test]
async fn surveys_work_on_postgresql_too() {
    if let Some(db) = TestDb::postgres() {
        unhappy_survey(db).await;
    }
}

async fn unhappy_survey(db: TestDb) {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = spawn_demo(db, &[("MEND_SMTP_URL", &sink.url())]).await;
    let code = &store.touchpoints[0].code;
    let (reference, _) = complain(&app, code, "ko", "kim@customer.example").await;
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    resolve(&app, &manager, &reference).await;

    // Not before the location's delay (an hour by default).
    app.drain_outbox().await;
    assert!(to(&sink, "kim@customer.example", "만족").is_empty());
    app.advance(HOUR + Duration::from_secs(60));
    let survey = mail_to(&sink, "kim@customer.example", "만족하셨나요").await;
    assert!(survey
        .header_names
        .iter()
        .any(|h| h.eq_ignore_ascii_case("List-Unsubscribe")));
    assert!(String::from_utf8_lossy(&survey.raw)
        .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    // It names the report it is about: reference, store and the customer's first words.
    for part in [
        &reference,
        "Mend Demo Café",
        "The restroom has no soap.",
        "보내신 접수",
    ] {
        assert!(survey.text.contains(part), "{part} in {}", survey.text);
    }
    let ratings = links(&app, &survey.text, "/s/");
    assert_eq!(ratings.len(), 5, "{}", survey.text);
    assert!(ratings[1].ends_with("?r=2"));

    // Opening a rating link (as a mail scanner would) records nothing.
    let page = app.get(&ratings[1]).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<html lang=\"ko\">"));
    assert!(html.contains(&reference) && html.contains("The restroom has no soap."));
    assert!(
        html.contains("id=\"r-2\" name=\"csat\" value=\"2\" checked"),
        "{html}"
    );
    assert!(html.len() <= 14 * 1024, "{} bytes", html.len());
    assert!(!html.contains("<script"));
    assert!(survey_rows(&app, &reference)[0].answered_at.is_none());

    // Confirming stores the answer with the case's facts, and reopens the case.
    let path = ratings[1].split('?').next().unwrap().to_owned();
    let res = app
        .client
        .post(app.url(&path))
        .form(&[
            ("csat", "2"),
            ("fixed", "no"),
            ("return_likelihood", "3"),
            ("comment", "Still no soap <b>today</b>."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("죄송합니다"));
    let answered = &survey_rows(&app, &reference)[0];
    assert_eq!(
        (
            answered.csat,
            answered.fixed.as_deref(),
            answered.return_likelihood
        ),
        (Some(2), Some("no"), Some(3))
    );
    assert_eq!(answered.root_cause.as_deref(), Some("cleaning"));
    assert_eq!(
        (
            answered.compensation_type.as_deref(),
            answered.compensation_minor
        ),
        (Some("voucher"), Some(500))
    );
    assert_eq!(answered.category.as_deref(), Some("cleanliness"));
    assert_eq!(case_status(&app, &reference), ("in_progress".into(), false));
    let alert = mail_to(&sink, &store.manager_email, "Customer not satisfied").await;
    assert!(alert
        .text
        .contains("The customer says the problem is not solved."));
    // The answer itself, in the manager's language: staff see what to put right.
    for expected in [
        "What the customer answered",
        "Rating: 2 of 5",
        "Fixed? No",
        "Would come back: 3 of 10",
        "Comment: “Still no soap <b>today</b>.”",
    ] {
        assert!(
            alert.text.contains(expected),
            "{expected} in {}",
            alert.text
        );
    }
    assert!(
        alert.html.contains("Still no soap &#60;b&#62;today"),
        "escaped in HTML"
    );
    // On the case page, at the top and in the timeline.
    let page = app
        .page(&manager, &format!("/manage/cases/{reference}"))
        .await;
    assert!(page.contains("class=\"answer\""), "{page}");
    assert!(page.contains("Survey answered: Rating: 2 of 5 · Fixed? No · Would come back: 3 of 10"));
    assert!(!page.contains("<b>today</b>"), "escaped on the page");
    assert!(page.contains("Reopened: the customer says it is not resolved"));

    // A second answer changes nothing.
    let again = app
        .client
        .post(app.url(&path))
        .form(&[("csat", "5")])
        .send()
        .await
        .unwrap();
    assert!(again.text().await.unwrap().contains("이미 답변"));
    assert_eq!(survey_rows(&app, &reference)[0].csat, Some(2));
}

#[tokio::test]
async fn a_reminder_after_three_days_a_follow_up_after_seven_and_one_survey_per_address_a_month() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_SMTP_URL", &sink.url())]).await;
    let code = &store.touchpoints[0].code;
    let (reference, _) = complain(&app, code, "en", "ann@customer.example").await;
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    resolve(&app, &manager, &reference).await;
    app.advance(HOUR + Duration::from_secs(60));
    mail_to(&sink, "ann@customer.example", "Are you satisfied").await;
    // The server has the mail once the sink does, but may not have written down that it
    // was sent: moving the clock past the send's lease before then sends it again.
    app.drain_outbox().await;

    app.advance(3 * DAY + HOUR);
    mail_to(&sink, "ann@customer.example", "A moment to tell").await;
    app.drain_outbox().await;
    app.advance(HOUR);
    app.drain_outbox().await;
    assert_eq!(
        to(&sink, "ann@customer.example", "A moment to tell").len(),
        1,
        "one reminder"
    );

    // A second complaint resolved within the month: no second survey to the same address.
    let (second, _) = complain(&app, code, "en", "ann@customer.example").await;
    // Days have passed: the manager signs in again.
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    resolve(&app, &manager, &second).await;
    let rows = survey_rows(&app, &second);
    assert!(
        rows.iter().all(|s| s.recipient.is_none()),
        "shown on the status page only: {rows:?}"
    );

    app.advance(4 * DAY);
    let follow_up = mail_to(&sink, "ann@customer.example", "still working").await;
    let answers = links(&app, &follow_up.text, "/s/");
    assert_eq!(answers.len(), 2);
    assert!(answers[1].ends_with("?w=no"));
    let path = answers[1].split('?').next().unwrap().to_owned();
    let res = app
        .client
        .post(app.url(&path))
        .form(&[("still_working", "no")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        case_status(&app, &reference),
        ("in_progress".into(), false),
        "no reopens"
    );
    let rows = survey_rows(&app, &reference);
    let follow = rows
        .iter()
        .find(|s| s.kind == SurveyKind::FollowUp)
        .unwrap();
    assert_eq!(follow.still_working, Some(false));
    assert_eq!(
        to(&sink, "ann@customer.example", "Are you satisfied").len(),
        1,
        "never twice"
    );
}

#[tokio::test]
async fn a_customer_without_email_answers_on_the_status_page_and_bad_links_get_clear_pages() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    let (reference, status_path) = complain(&app, code, "pl", "").await;
    let before = app.get(&status_path).await.text().await.unwrap();
    assert!(!before.contains("/s/"), "no survey before resolution");
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    resolve(&app, &manager, &reference).await;
    let status = app.get(&status_path).await.text().await.unwrap();
    assert!(status.contains("Jak nam poszło?"), "{status}");
    let path = links(&app, &status.replace('"', " "), "/s/").remove(0);
    let form = app.get(&path).await.text().await.unwrap();
    assert!(form.contains("<html lang=\"pl\">"));

    let res = app
        .client
        .post(app.url(&path))
        .form(&[("csat", "9")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Wybierz ocenę od 1 do 5."));
    let res = app
        .client
        .post(app.url(&path))
        .form(&[("csat", "5"), ("fixed", "yes")])
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains("Dziękujemy!"));
    assert_eq!(case_status(&app, &reference), ("resolved".into(), true));
    assert!(
        !app.get(&status_path)
            .await
            .text()
            .await
            .unwrap()
            .contains("/s/"),
        "answered: the link goes"
    );

    // Tampered, unknown and expired links.
    // The last character changed (to one it is not: "0" would be no change 1 time in 16).
    let last = if path.ends_with('0') { "1" } else { "0" };
    let tampered = format!("{}{last}", &path[..path.len() - 1]);
    let res = app
        .client
        .get(app.url(&tampered))
        .header("Accept-Language", "ja")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("このアンケートのリンクは無効です"));
    assert_eq!(app.get("/s/not-a-token").await.status(), 404);
    let (other, other_status) = complain(&app, code, "en", "").await;
    resolve(&app, &manager, &other).await;
    let other_path = links(
        &app,
        &app.get(&other_status)
            .await
            .text()
            .await
            .unwrap()
            .replace('"', " "),
        "/s/",
    )
    .remove(0);
    app.advance(31 * DAY);
    let res = app.get(&other_path).await;
    assert_eq!(res.status(), 410);
    assert!(res.text().await.unwrap().contains("This survey has closed"));
}

#[tokio::test]
async fn an_unsubscribed_customer_gets_no_more_mail() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_SMTP_URL", &sink.url())]).await;
    let code = &store.touchpoints[0].code;
    let (reference, _) = complain(&app, code, "en", "bo@customer.example").await;
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    resolve(&app, &manager, &reference).await;
    let resolved = mail_to(&sink, "bo@customer.example", "resolved").await;
    let unsubscribe = links(&app, &resolved.text, "/u?").remove(0);
    let page = app.get(&unsubscribe).await;
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Stop emails to bo@customer.example"));
    assert!(
        !app.db
            .read(|c| surveys::opted_out(c, "bo@customer.example"))
            .unwrap(),
        "GET changes nothing"
    );
    // The mail program's one-click POST.
    let res = app
        .client
        .post(app.url(&unsubscribe))
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(app
        .db
        .read(|c| surveys::opted_out(c, "bo@customer.example"))
        .unwrap());
    let forged = unsubscribe.replace("bo%40customer", "al%40customer");
    assert_eq!(
        app.client
            .post(app.url(&forged))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // The survey due in an hour is not sent, nor updates on a new case.
    app.advance(HOUR + Duration::from_secs(60));
    let (second, _) = complain(&app, code, "en", "bo@customer.example").await;
    app.case_action_done(&manager, &second, "update", &[("text", "On it")])
        .await;
    app.drain_outbox().await;
    let to_bo: Vec<_> = sink
        .messages()
        .into_iter()
        .filter(|m| m.rcpt_tos == ["bo@customer.example"])
        .collect();
    assert_eq!(
        to_bo.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>(),
        ["customer_receipt", "customer_resolved"],
        "only the receipt and the resolution notice before unsubscribing: {:?}",
        to_bo.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert!(
        to_bo.iter().all(|m| !m.subject.contains(&second)),
        "no receipt after it"
    );
}

/// With the store's "flag" setting, an unhappy answer keeps the resolved case in the
/// inbox, marked at the top, until someone marks the answer handled.
#[tokio::test]
async fn a_flagged_case_stays_in_the_inbox_until_someone_handles_the_answer() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    app.db
        .write(|c| {
            use diesel::prelude::*;
            use mend_server::db::schema::locations;
            diesel::update(locations::table)
                .set(locations::unhappy_reopens.eq(false))
                .execute(c)
                .map_err(mend_server::db::DbError::from)
        })
        .unwrap();
    let (reference, status) = complain(&app, code, "en", "").await;
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    resolve(&app, &manager, &reference).await;
    assert!(!app
        .page(&manager, "/manage/cases")
        .await
        .contains(&reference));

    let page = app.get(&status).await.text().await.unwrap();
    let start = page.find("/s/").expect("the survey on the status page");
    let survey = page[start..].split(['"', '?']).next().unwrap().to_owned();
    let res = app
        .client
        .post(app.url(&survey))
        .form(&[("csat", "1"), ("fixed", "no")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(case_status(&app, &reference), ("resolved".into(), true));

    let inbox = app.page(&manager, "/manage/cases").await;
    assert!(inbox.contains(&reference), "a flagged case is in the inbox");
    assert!(inbox.contains("<span class=\"flag\">Customer not satisfied</span>"));
    let case_page = app
        .page(&manager, &format!("/manage/cases/{reference}"))
        .await;
    assert!(case_page.contains("Flagged: the customer"), "{case_page}");
    app.case_action_done(&manager, &reference, "handled", &[])
        .await;
    assert!(!app
        .page(&manager, "/manage/cases")
        .await
        .contains(&reference));
    let case_page = app
        .page(&manager, &format!("/manage/cases/{reference}"))
        .await;
    assert!(case_page.contains("Unhappy answer handled"));
    assert!(!case_page.contains("/handled\""), "nothing left to handle");
    let again = app.case_action(&manager, &reference, "handled", &[]).await;
    assert_eq!(again.status(), 400);
}
