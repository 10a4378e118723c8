//! The weekly email to managers, through a real SMTP server: only where it is switched on,
//! only to the location's managers, in each one's language, once per week, with the key
//! figures and the day that broke the control limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{Duration as Days, NaiveDateTime, TimeZone};
use diesel::prelude::*;
use mend_server::db::models::Case;
use mend_server::db::schema::cases;
use mend_server::domain::alert::settings::{apply, AlertSettingsChange};
use mend_server::domain::demo::LOCATION_NAME;
use mend_server::domain::insight::digest::due_week;
use mend_testing::smtp::{Received, SmtpSink};
use mend_testing::{plain_case, spawn_demo, TestDb};

const WAIT: Duration = Duration::from_secs(20);

/// The weekly emails received, once there are `n` or `wait` has passed.
async fn digests(sink: &SmtpSink, n: usize, wait: Duration) -> Vec<Received> {
    let start = std::time::Instant::now();
    loop {
        let found: Vec<Received> = sink
            .messages()
            .into_iter()
            .filter(|m| m.html.contains("/manage/dashboard?"))
            .collect();
        if found.len() >= n || start.elapsed() > wait {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn managers_get_last_weeks_figures_once_in_their_language_with_the_unusual_day() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_SMTP_URL", &sink.url())]).await;
    let warsaw: chrono_tz::Tz = "Europe/Warsaw".parse().unwrap();
    if due_week(warsaw, app.clock.now()).is_none() {
        // Monday before 08:00 in the store: nothing is due until then.
        app.advance(Duration::from_secs(9 * 3600));
    }
    let week = due_week(warsaw, app.clock.now()).unwrap();
    let loc = app.location_of(&store.touchpoints[0].code);
    let tp = app
        .db
        .read(|c| {
            mend_server::db::queries::touchpoints::find_by_code(c, &store.touchpoints[0].code)
        })
        .unwrap()
        .unwrap()
        .id;
    // Four complaints on the Wednesday of last week at noon, store time; nothing else in
    // eight weeks, so that day is far above the control limit.
    let wednesday = week + Days::days(2);
    let noon: NaiveDateTime = warsaw
        .from_local_datetime(&wednesday.and_hms_opt(12, 0, 0).unwrap())
        .unwrap()
        .naive_utc();
    let rows: Vec<Case> = (0..4)
        .map(|i| {
            let mut c = plain_case(&loc, &tp, &format!("DIG-ES{i}"), noon + Days::minutes(i));
            c.category = "waiting_time".into();
            c.acknowledged_at = Some(c.created_at + Days::minutes(5));
            c
        })
        .collect();
    app.db
        .write(|c| -> Result<(), mend_server::db::DbError> {
            for row in &rows {
                diesel::insert_into(cases::table).values(row).execute(c)?;
            }
            Ok(())
        })
        .unwrap();
    app.add_user("manager", "kim@shop.example", "manager password 1", &[&loc]);
    app.db
        .write(|c| {
            diesel::update(mend_server::db::schema::users::table)
                .filter(mend_server::db::schema::users::email.eq("kim@shop.example"))
                .set(mend_server::db::schema::users::language.eq("ko"))
                .execute(c)
                .map_err(mend_server::db::DbError::from)
        })
        .unwrap();
    app.add_user("staff", "till@shop.example", "staff password 1", &[&loc]);

    // Off by default: a minute passes and nothing comes.
    app.advance(Duration::from_secs(61));
    assert!(digests(&sink, 1, Duration::from_secs(3)).await.is_empty());

    let change = AlertSettingsChange {
        weekly_digest: Some("on".into()),
        ..Default::default()
    };
    let shown = apply(&app.db, LOCATION_NAME, &change).unwrap();
    assert!(shown.to_string().contains("weekly email to managers: on"));
    app.advance(Duration::from_secs(61));
    let got = digests(&sink, 2, WAIT).await;
    assert_eq!(
        got.len(),
        2,
        "{:?}",
        got.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );

    let english = got
        .iter()
        .find(|m| m.rcpt_tos == [store.manager_email.clone()])
        .unwrap();
    assert_eq!(
        english.subject,
        format!(
            "{LOCATION_NAME}: 4 complaints in the week of {}",
            mend_server::domain::language::formats::date(
                mend_server::domain::language::Language::EN,
                week
            )
        )
    );
    let text = &english.text;
    assert!(text.contains("Complaints: 4"), "{text}");
    assert!(
        text.contains("Median minutes to acknowledge: 5.0"),
        "{text}"
    );
    assert!(text.contains("Acknowledged within SLA: 100.0%"), "{text}");
    assert!(text.contains("- Waiting time (4)"), "{text}");
    assert!(
        text.contains(&format!(
            "- {}: 4 complaints, above the control limit of the last 8 weeks",
            mend_server::domain::language::formats::date(
                mend_server::domain::language::Language::EN,
                wednesday
            )
        )),
        "{text}"
    );
    assert!(text.contains(&format!(
        "/manage/dashboard?from={week}&to={}&location={loc}",
        week + Days::days(6)
    )));

    let korean = got
        .iter()
        .find(|m| m.rcpt_tos == ["kim@shop.example"])
        .unwrap();
    assert!(
        korean.subject.contains("주간 불만 4건"),
        "{}",
        korean.subject
    );
    assert!(korean.text.contains("불만 건수: 4"), "{}", korean.text);

    // Another minute, and the week is not sent again; staff never get it.
    app.advance(Duration::from_secs(61));
    assert_eq!(digests(&sink, 3, Duration::from_secs(3)).await.len(), 2);
    assert!(!sink
        .messages()
        .iter()
        .any(|m| m.rcpt_tos == ["till@shop.example"]));

    // The settings page offers the switch, ticked.
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let page = app
        .page(&manager, &format!("/manage/locations/{loc}/settings"))
        .await;
    assert!(page.contains("name=\"weekly_digest\" value=\"on\" checked"));
}
