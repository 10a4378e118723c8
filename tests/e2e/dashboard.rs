//! The managers' dashboard on a small fixed data set, every number checked against a
//! hand count: key figures, heatmap cells, Pareto order, control limits, scans per spot;
//! store-local days; who may see which store; escaping; and the demo history.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDateTime;
use diesel::prelude::*;
use mend_server::db::models::{new_id, Case, Survey};
use mend_server::db::schema::{cases, surveys, touchpoint_scans};
use mend_server::db::states::SurveyKind;
use mend_testing::{plain_case, spawn_demo, TestApp, TestDb};

fn utc(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

fn minutes_after(at: NaiveDateTime, m: i64) -> Option<NaiveDateTime> {
    Some(at + chrono::Duration::minutes(m))
}

fn answered(case: &Case, at: &str, csat: i32, fixed: &str) -> Survey {
    Survey {
        id: new_id(),
        case_id: case.id.clone(),
        token_hash: new_id(),
        sent_at: Some(utc(at)),
        answered_at: Some(utc(at)),
        csat: Some(csat),
        fixed: Some(fixed.into()),
        return_likelihood: Some(7),
        comment: None,
        created_at: utc(at),
        kind: SurveyKind::Satisfaction,
        recipient: None,
        language: "en".into(),
        due_at: Some(utc(at)),
        reminded_at: None,
        still_working: None,
        location_id: Some(case.location_id.clone()),
        touchpoint_id: Some(case.touchpoint_id.clone()),
        category: Some(case.category.clone()),
        root_cause: case.root_cause.clone(),
        compensation_type: None,
        compensation_minor: None,
        compensation_currency: None,
    }
}

fn insert(app: &TestApp, new_cases: &[Case], answers: &[Survey], scans: &[(&str, &str, i32)]) {
    app.db
        .write(|c| -> Result<(), mend_server::db::DbError> {
            for case in new_cases {
                diesel::insert_into(cases::table).values(case).execute(c)?;
            }
            for s in answers {
                diesel::insert_into(surveys::table).values(s).execute(c)?;
            }
            for (tp, day, n) in scans {
                diesel::insert_into(touchpoint_scans::table)
                    .values((
                        touchpoint_scans::touchpoint_id.eq(*tp),
                        touchpoint_scans::day
                            .eq(chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap()),
                        touchpoint_scans::scans.eq(*n),
                    ))
                    .execute(c)?;
            }
            Ok(())
        })
        .unwrap();
}

/// The figure shown under a label on the dashboard.
fn figure(html: &str, label: &str) -> String {
    let at = html
        .find(&format!("<dt>{label}</dt>"))
        .unwrap_or_else(|| panic!("no figure {label}"));
    let dd = &html[at..];
    let start = dd.find("<dd").unwrap();
    let value_start = start + dd[start..].find('>').unwrap() + 1;
    let end = dd.find("</dd>").unwrap();
    dd[value_start..end].to_owned()
}

/// The cells of the rows of the table with this id.
fn table(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("<table id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no table {id}"));
    let body = &html[start..start + html[start..].find("</table>").unwrap()];
    body.split("<tr>")
        .skip(2)
        .map(|row| {
            row.split("<td>")
                .skip(1)
                .map(|cell| {
                    let text = cell.split("</td>").next().unwrap();
                    // A cell may hold a link: keep its text.
                    match text.find('>') {
                        Some(i) if text.starts_with("<a ") => {
                            text[i + 1..].trim_end_matches("</a>").to_owned()
                        }
                        _ => text.to_owned(),
                    }
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn dashboard_numbers_match_a_hand_count_of_a_fixed_week() {
    dashboard_numbers_match(TestDb::sqlite()).await;
}

#[tokio::test]
async fn dashboard_numbers_match_on_postgresql_too() {
    if let Some(db) = TestDb::postgres() {
        dashboard_numbers_match(db).await;
    }
}

async fn dashboard_numbers_match(db: TestDb) {
    let (app, store) = spawn_demo(db, &[]).await;
    let tp = app
        .db
        .read(|c| {
            mend_server::db::queries::touchpoints::find_by_code(c, &store.touchpoints[0].code)
        })
        .unwrap()
        .unwrap();
    let (loc, tp) = (tp.location_id.clone(), tp.id.clone());
    // The demo store is in Warsaw: UTC+1 in November.
    let case = |reference: &str, at: &str, category: &str| Case {
        category: category.into(),
        ..plain_case(&loc, &tp, reference, utc(at))
    };
    let c0 = case("AAA-AA0", "2026-11-01 23:30", "other"); // Monday 00:30 in the store
    let mut c1 = case("AAA-AA1", "2026-11-02 08:30", "waiting_time");
    c1.acknowledged_at = minutes_after(c1.created_at, 4);
    c1.resolved_at = minutes_after(c1.created_at, 30);
    c1.root_cause = Some("staffing".into());
    c1.compensation_minor = Some(500);
    c1.compensation_currency = Some("EUR".into());
    c1.device_hash = Some("device-1".into());
    let mut c2 = case("AAA-AA2", "2026-11-02 08:45", "waiting_time");
    c2.acknowledged_at = minutes_after(c2.created_at, 20); // SLA is 15 minutes
    c2.device_hash = Some("device-1".into()); // the same customer again
    let mut c3 = case("AAA-AA3", "2026-11-03 13:10", "staff");
    c3.acknowledged_at = minutes_after(c3.created_at, 10);
    c3.resolved_at = minutes_after(c3.created_at, 90);
    c3.root_cause = Some("training".into());
    c3.compensation_minor = Some(1000);
    c3.compensation_currency = Some("PLN".into());
    let c4 = case("AAA-AA4", "2026-11-08 22:30", "cleanliness"); // Sunday 23:30
    let c5 = case("AAA-AA5", "2026-11-08 23:30", "price"); // Monday 9th in the store
    let answers = [
        answered(&c1, "2026-11-04 10:00", 5, "yes"),
        answered(&c3, "2026-11-04 11:00", 4, "yes"),
        answered(&c2, "2026-11-05 12:00", 2, "no"),
        answered(&c0, "2026-11-20 12:00", 1, "no"), // after the period
    ];
    insert(
        &app,
        &[c0, c1, c2, c3, c4, c5],
        &answers,
        &[(&tp, "2026-11-02", 40), (&tp, "2026-11-10", 99)],
    );

    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let week = "/manage/dashboard?from=2026-11-02&to=2026-11-08";
    let res = manager.get(app.url(week)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();

    assert_eq!(figure(&html, "Complaints"), "5");
    assert_eq!(figure(&html, "Median minutes to acknowledge"), "10.0");
    assert_eq!(figure(&html, "Median minutes to resolve"), "60.0");
    assert_eq!(figure(&html, "Acknowledged within SLA"), "40.0%");
    assert_eq!(figure(&html, "Recovery CSAT (4-5 of 5)"), "66.7%");
    assert_eq!(figure(&html, "Mean rating"), "3.67 of 5");
    assert_eq!(figure(&html, "Survey answers"), "3");
    assert_eq!(figure(&html, "Fixed, say customers"), "66.7%");
    assert_eq!(figure(&html, "Repeat complainants"), "20.0%");
    assert_eq!(figure(&html, "Compensation given"), "€5.00; PLN\u{a0}10.00");

    // Heatmap cells, in store time: Monday 9-10 twice, and the late-night ones.
    assert!(
        html.contains("Busiest hours: Mon 09:00-10:00: 2; Mon 00:00-01:00: 1; Tue 14:00-15:00: 1."),
        "{html}"
    );
    let cats = table(&html, "categories");
    assert_eq!(
        cats,
        vec![
            vec!["1", "Waiting time", "2", "40.0%"],
            vec!["2", "Cleanliness", "1", "60.0%"],
            vec!["3", "Other", "1", "80.0%"],
            vec!["4", "Staff", "1", "100.0%"],
        ]
    );
    assert_eq!(
        table(&html, "root-causes"),
        vec![
            vec!["1", "Staffing", "1", "50.0%"],
            vec!["2", "Training", "1", "100.0%"]
        ]
    );
    // c-chart: 3, 1, 0, 0, 0, 0, 1 a day: c̄ = 5/7, UCL = c̄ + 3·√c̄ = 3.25.
    assert!(html.contains("Mean 0.71 a day; limits 0.00 to 3.25 (3 sigma)."));
    assert!(html.contains("No day out of the ordinary."));
    let spots = table(&html, "touchpoints");
    let till = spots
        .iter()
        .find(|r| r[1] == store.touchpoints[0].label)
        .unwrap();
    assert_eq!(till[2..], ["40", "5", "12.5"]);
    assert_eq!(html.matches("<svg role=\"img\"").count(), 5, "five charts");

    // Another store, its case unseen by this manager; an admin sees both.
    let other = app.add_location("Elsewhere <b>& Co</b>");
    let other_tp = mend_server::db::models::Touchpoint {
        id: new_id(),
        location_id: other.clone(),
        label: "Door".into(),
        code: mend_server::domain::sticker::codes::new_touchpoint_code(),
        created_at: utc("2026-11-01 00:00"),
    };
    app.db
        .write(|c| {
            mend_server::db::queries::touchpoints::insert(c, &other_tp)
                .map_err(mend_server::db::DbError::from)
        })
        .unwrap();
    let hostile = Case {
        category: "<img src=x onerror=alert(1)>".into(),
        ..plain_case(&other, &other_tp.id, "BBB-BB1", utc("2026-11-03 12:00"))
    };
    insert(&app, &[hostile], &[], &[]);
    let again = app.page(&manager, week).await;
    assert_eq!(figure(&again, "Complaints"), "5");
    let res = manager
        .get(app.url(&format!("{week}&location={other}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "a store the manager does not manage");

    app.add_user("admin", "boss@shop.example", "admin password 1", &[]);
    let admin = app.sign_in("boss@shop.example", "admin password 1").await;
    let all = app.page(&admin, week).await;
    assert_eq!(figure(&all, "Complaints"), "6");
    assert!(!all.contains("<img src=x"), "escaped in tables and charts");
    assert!(all.contains("&#60;img src=x onerror=alert(1)&#62;"));
    assert!(!all.contains("<b>& Co"));
    let per_store = table(&all, "by-location");
    assert_eq!(per_store.len(), 2);
    assert_eq!(per_store[0][0], "Elsewhere &#60;b&#62;&#38; Co&#60;/b&#62;");
    assert_eq!(per_store[0][1], "1");
    assert_eq!(per_store[1][1], "5");
    let one = app.page(&admin, &format!("{week}&location={loc}")).await;
    assert_eq!(figure(&one, "Complaints"), "5");
    assert!(!one.contains("id=\"by-location\""));
}

#[tokio::test]
async fn the_dashboard_is_for_managers_and_refuses_bad_periods_clearly() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let res = manager
        .get(app.url("/manage/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "four weeks up to today by default");
    let html = res.text().await.unwrap();
    assert!(html.contains("No survey answers in this period."));

    for (query, message) in [
        ("from=yesterday", "is not a date like 2026-11-23"),
        ("from=2026-11-10&to=2026-11-01", "ends before it starts"),
        ("from=2001-01-01&to=2026-11-01", "at most 731 days"),
    ] {
        let res = manager
            .get(app.url(&format!("/manage/dashboard?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{query}");
        assert!(res.text().await.unwrap().contains(message), "{query}");
    }

    let loc = app.location_of(&store.touchpoints[0].code);
    app.add_user("staff", "till@shop.example", "staff password 1", &[&loc]);
    let staff = app.sign_in("till@shop.example", "staff password 1").await;
    let res = staff
        .get(app.url("/manage/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app.get("/manage/dashboard").await;
    let to = res.headers()["location"].to_str().unwrap();
    assert!(to.starts_with("/manage/login"), "signed out: {to}");
}

#[tokio::test]
async fn demo_history_gives_a_living_dashboard_that_counts_every_seeded_complaint() {
    use mend_server::domain::demo::history::{seed_history, HistoryPlan};
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let now = mend_server::db::models::now_utc();
    let mut last = (0, 0);
    let plan = HistoryPlan {
        days: 40,
        stores: 2,
        seed: 1,
    };
    let report = seed_history(
        &app.db,
        plan,
        now,
        &store.manager_email,
        &mut |done, total| last = (done, total),
    )
    .unwrap();
    assert_eq!(last, (80, 80), "the progress reaches the end");
    assert_eq!(report.stores, ["Demo Kraków", "Demo Seoul"]);
    assert!(report.answers > 0);
    let in_db: i64 = app.db.read(|c| cases::table.count().get_result(c)).unwrap();
    assert_eq!(report.cases as i64, in_db);

    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let from = (now - chrono::Duration::days(45)).date();
    let to = (now + chrono::Duration::days(1)).date();
    let html = app
        .page(&manager, &format!("/manage/dashboard?from={from}&to={to}"))
        .await;
    assert_eq!(figure(&html, "Complaints"), in_db.to_string());
    assert_ne!(figure(&html, "Recovery CSAT (4-5 of 5)"), "-");
    let stores = table(&html, "by-location");
    assert_eq!(stores.len(), 3, "the demo café and two stores with history");
    assert!(html.contains("Demo Seoul"));

    // The made-up customers are never emailed: their surveys count as reminded.
    app.advance(std::time::Duration::from_secs(4 * 86_400));
    app.drain_outbox().await;
    assert!(
        app.outbox_rows().is_empty(),
        "no reminders to history customers"
    );

    // Seeding again adds nothing.
    let again = seed_history(&app.db, plan, now, &store.manager_email, &mut |_, _| {}).unwrap();
    assert_eq!(again.cases, 0);
    assert_eq!(again.already_there.len(), 2);
}
