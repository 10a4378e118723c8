//! Privacy by time (issue 10): a resolved case keeps the customer's email, device hash and
//! photo only for its store's retention period; then it is anonymized: the contact is
//! gone from the case, its survey and the mail sent to it, the photo leaves the photo store
//! unless a case still in its period shares it, and the case stays for the figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::db::states::MailKind;
use std::time::Duration as StdDuration;

use chrono::Duration;
use diesel::prelude::*;
use mend_server::db::models::{new_id, Case, OutboxMessage};
use mend_server::db::schema::{cases, outbox, surveys};
use mend_server::domain::alert::settings::{apply as set, AlertSettingsChange};
use mend_server::domain::demo::LOCATION_NAME;
use mend_server::domain::privacy::retention;
use mend_testing::{plain_case, spawn_demo, TestApp, TestDb};

/// Whether the photo store holds this photo (not erased).
fn stored(app: &TestApp, path: &str) -> bool {
    app.db
        .read(|c| mend_server::db::queries::photos::find(c, path))
        .unwrap()
        .is_some()
}

/// Puts photo rows straight into the photo store, as uploaded at `at`.
fn put_photo(app: &TestApp, hash: &str, at: chrono::NaiveDateTime) -> [String; 2] {
    let (main, thumb) = mend_server::domain::case::photo::relative_paths(hash);
    app.db
        .write(|c| -> Result<(), mend_server::db::DbError> {
            for p in [&main, &thumb] {
                mend_server::db::queries::photos::put(c, p, b"jpeg", false, at)?;
            }
            Ok(())
        })
        .unwrap();
    [main, thumb]
}

/// A resolved case, `days_ago` resolved, with an email, a device and a photo.
fn resolved_case(
    app: &TestApp,
    loc: &str,
    tp: &str,
    reference: &str,
    days_ago: i64,
    photo: &str,
) -> Case {
    let now = app.clock.now();
    let mut case = plain_case(loc, tp, reference, now - Duration::days(days_ago + 1));
    case.contact_email = Some(format!("{}@customer.example", reference.to_lowercase()));
    case.contact_consent = true;
    case.device_hash = Some("d".repeat(64));
    case.status = mend_server::db::states::CaseStatus::Resolved;
    case.acknowledged_at = Some(case.created_at + Duration::minutes(3));
    case.resolved_at = Some(now - Duration::days(days_ago));
    case.category = "cleanliness".into();
    let [main, thumb] = put_photo(app, photo, now);
    case.photo_path = Some(main);
    case.photo_thumb_path = Some(thumb);
    let survey = mend_server::domain::survey::survey_for_case(
        &case,
        mend_server::domain::survey::SurveyKind::Satisfaction,
        case.contact_email.clone(),
        None,
        b"0123456789abcdef0123456789abcdef",
        now,
    );
    let mail = OutboxMessage {
        id: new_id(),
        kind: MailKind::CustomerResolved,
        recipient: case.contact_email.clone().unwrap(),
        payload: "{}".into(),
        attempts: 1,
        next_attempt_at: case.resolved_at.unwrap(),
        claimed_until: None,
        sent_at: case.resolved_at,
        last_error: None,
        dedupe_key: format!("resolved:{reference}"),
        created_at: case.resolved_at.unwrap(),
        failed_at: None,
        case_id: Some(case.id.clone()),
    };
    app.db
        .write(|c| -> Result<(), mend_server::db::DbError> {
            diesel::insert_into(cases::table).values(&case).execute(c)?;
            diesel::insert_into(surveys::table)
                .values(&survey)
                .execute(c)?;
            diesel::insert_into(outbox::table)
                .values(&mail)
                .execute(c)?;
            Ok(())
        })
        .unwrap();
    case
}

fn reread(
    app: &TestApp,
    reference: &str,
) -> (Case, Option<NaiveDate>, Vec<Option<String>>, Vec<String>) {
    let case = app
        .db
        .read(|c| mend_server::db::queries::cases::find_by_reference(c, reference))
        .unwrap()
        .unwrap();
    let anonymized: Option<chrono::NaiveDateTime> = app
        .db
        .read(|c| {
            cases::table
                .find(&case.id)
                .select(cases::anonymized_at)
                .first(c)
        })
        .unwrap();
    let recipients = app
        .db
        .read(|c| {
            surveys::table
                .filter(surveys::case_id.eq(&case.id))
                .select(surveys::recipient)
                .load(c)
        })
        .unwrap();
    let mailed = app
        .db
        .read(|c| {
            outbox::table
                .filter(outbox::case_id.eq(&case.id))
                .select(outbox::recipient)
                .load(c)
        })
        .unwrap();
    (case, anonymized.map(|t| t.date()), recipients, mailed)
}

use chrono::NaiveDate;

#[tokio::test]
async fn contact_and_photos_are_erased_after_the_retention_period_and_the_case_stays() {
    retention_on(TestDb::sqlite()).await;
}

#[tokio::test]
async fn retention_works_on_postgresql_too() {
    if let Some(db) = TestDb::postgres() {
        retention_on(db).await;
    }
}

async fn retention_on(db: TestDb) {
    let (app, store) = spawn_demo(db, &[]).await;
    let code = &store.touchpoints[0].code;
    let loc = app.location_of(code);
    let tp = app.touchpoint_id_of(code);
    let shared = "a".repeat(64);
    let old = resolved_case(&app, &loc, &tp, "RET-OLD1", 181, &"b".repeat(64));
    let sharing_old = resolved_case(&app, &loc, &tp, "RET-OLD2", 200, &shared);
    let recent = resolved_case(&app, &loc, &tp, "RET-NEW1", 179, &shared);
    let photo = |c: &Case| stored(&app, c.photo_path.as_ref().unwrap());

    let done = retention::apply(&app.db, app.data_dir.path(), app.clock.now()).unwrap();
    assert_eq!(done.cases, 2);

    let (case, anonymized, recipients, mailed) = reread(&app, "RET-OLD1");
    assert_eq!(anonymized, Some(app.clock.now().date()));
    assert_eq!(case.contact_email, None);
    assert!(!case.contact_consent);
    assert_eq!(case.device_hash, None);
    assert_eq!((case.photo_path, case.photo_thumb_path), (None, None));
    assert_eq!(recipients, vec![None]);
    assert_eq!(mailed, vec![retention::ERASED.to_owned()]);
    // Kept for the figures.
    assert_eq!(case.category, "cleanliness");
    assert!(case.resolved_at.is_some());
    assert!(!photo(&old));
    // A photo shared with a case still within its period stays.
    assert!(photo(&sharing_old));
    let (case, anonymized, recipients, _) = reread(&app, "RET-NEW1");
    assert_eq!(anonymized, None);
    assert_eq!(case.contact_email, recent.contact_email);
    assert_eq!(recipients, vec![recent.contact_email.clone()]);
    assert!(photo(&recent));

    // Running again does nothing more.
    let again = retention::apply(&app.db, app.data_dir.path(), app.clock.now()).unwrap();
    assert_eq!(again.cases, 0);

    // A store with a shorter period (set like any setting), through the worker's hourly
    // pass: the recent case goes too, and with it the last holder of the shared photo.
    let shown = set(
        &app.db,
        LOCATION_NAME,
        &AlertSettingsChange {
            retention_days: Some(30),
            ..Default::default()
        },
    )
    .unwrap()
    .to_string();
    assert!(shown.contains("erased 30 days after resolution"), "{shown}");
    assert!(set(
        &app.db,
        LOCATION_NAME,
        &AlertSettingsChange {
            retention_days: Some(3),
            ..Default::default()
        },
    )
    .is_err());
    app.advance(StdDuration::from_secs(3600));
    let start = std::time::Instant::now();
    while reread(&app, "RET-NEW1").1.is_none() {
        assert!(
            start.elapsed() < StdDuration::from_secs(20),
            "the worker did not apply retention"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let start = std::time::Instant::now();
    while photo(&recent) {
        assert!(
            start.elapsed() < StdDuration::from_secs(5),
            "the shared photo stayed"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

/// A photo uploaded with a post that was refused and never sent again: no case holds
/// it, and the sweep deletes it once it is a day old. Photos a case holds stay, however
/// old; a fresh upload waits for its post.
#[tokio::test]
async fn photos_no_case_holds_are_deleted_after_a_day() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    let loc = app.location_of(code);
    let tp = app.touchpoint_id_of(code);
    let now = app.clock.now();
    let two_days_ago = now - Duration::days(2);
    let held = "c".repeat(64);
    let held_case = resolved_case(&app, &loc, &tp, "RET-HELD", 1, &held);
    // Uploaded two days ago, and its flag not set: the sweep asks the cases.
    put_photo(&app, &held, two_days_ago);
    let orphan = put_photo(&app, &"d".repeat(64), two_days_ago);
    let fresh = put_photo(&app, &"e".repeat(64), now);

    let deleted = retention::sweep_orphan_photos(&app.db, now).unwrap();
    assert_eq!(deleted, 2, "the orphan's photo and thumbnail");
    assert!(orphan.iter().all(|p| !stored(&app, p)));
    assert!(
        stored(&app, held_case.photo_path.as_ref().unwrap())
            && stored(&app, held_case.photo_thumb_path.as_ref().unwrap()),
        "a case holds it"
    );
    assert!(fresh.iter().all(|p| stored(&app, p)), "uploaded just now");
    // Found held once: not looked up again.
    assert_eq!(retention::sweep_orphan_photos(&app.db, now).unwrap(), 0);
}

/// The hourly sweep costs what expired, not what is stored: photos still in their grace
/// period are not looked up at all. Proven by taking the cases table away behind the
/// app's back: any lookup would fail, and the sweep of a thousand fresh photos succeeds.
#[tokio::test]
async fn the_sweep_looks_up_nothing_for_photos_still_in_their_grace_period() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let now = app.clock.now();
    for i in 0..1_000u32 {
        put_photo(&app, &format!("{i:064x}"), now);
    }
    app.test_db
        .execute_behind_the_back("ALTER TABLE cases RENAME TO cases_elsewhere");
    let deleted = retention::sweep_orphan_photos(&app.db, now).expect("no lookup was needed");
    assert_eq!(deleted, 0);
}
