//! The storage suite: the same tests on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use mend_server::db::models::*;
use mend_server::db::queries::{locations as location_queries, touchpoints as touchpoint_queries};
use mend_server::db::schema::*;
use mend_server::db::{Db, DbError};
use mend_server::domain::demo;
use mend_testing::{on_both_backends, TestDb};

fn location(name: &str) -> Location {
    Location {
        id: new_id(),
        name: name.into(),
        time_zone: "Asia/Seoul".into(),
        default_language: "ko".into(),
        sla_minutes: 15,
        created_at: now_utc(),
    }
}

fn touchpoint(location_id: &str, label: &str) -> Touchpoint {
    Touchpoint {
        id: new_id(),
        location_id: location_id.into(),
        label: label.into(),
        code: mend_server::domain::codes::new_touchpoint_code(),
        created_at: now_utc(),
    }
}

fn insert<T>(db: &Db, f: impl FnOnce(&mut mend_server::db::DbConnection) -> QueryResult<T>) -> T {
    db.write(|c| -> Result<T, DbError> { Ok(f(c)?) }).unwrap()
}

/// Writes one row to every table and reads each back unchanged.
fn every_table_stores_and_returns_its_rows(t: &TestDb) {
    let db = t.open();
    let loc = location("서울역점 — Seoul Station");
    let tp = touchpoint(&loc.id, "Till 2");
    let user = User {
        id: new_id(),
        email: "staff@example.com".into(),
        password_hash: "$argon2id$placeholder".into(),
        role: "staff".into(),
        language: "ko".into(),
        created_at: now_utc(),
    };
    let case = Case {
        id: new_id(),
        reference: "MND-7K2Q".into(),
        location_id: loc.id.clone(),
        touchpoint_id: tp.id.clone(),
        category: "cleanliness".into(),
        body: "화장실이 더러워요 🙁 'quotes' \"and\" <tags>".into(),
        contact_email: Some("guest@example.com".into()),
        contact_consent: true,
        language: "ko".into(),
        status: "new".into(),
        created_at: now_utc(),
        acknowledged_at: None,
        resolved_at: Some(now_utc()),
        status_token_hash: Some("hash-of-token".into()),
        render_nonce: Some("nonce-1".into()),
        photo_path: Some("photos/ab/abcd.jpg".into()),
        photo_thumb_path: None,
    };
    let event = CaseEvent {
        id: new_id(),
        case_id: case.id.clone(),
        actor_user_id: Some(user.id.clone()),
        kind: "acknowledged".into(),
        detail: r#"{"note":"on it"}"#.into(),
        created_at: now_utc(),
    };
    let mail = OutboxMessage {
        id: new_id(),
        kind: "alert".into(),
        recipient: "staff@example.com".into(),
        payload: r#"{"case":"MND-7K2Q"}"#.into(),
        attempts: 0,
        next_attempt_at: now_utc(),
        claimed_until: None,
        sent_at: None,
        last_error: None,
        dedupe_key: format!("alert:{}", case.id),
        created_at: now_utc(),
    };
    let survey = Survey {
        id: new_id(),
        case_id: case.id.clone(),
        token_hash: "hash".into(),
        sent_at: Some(now_utc()),
        answered_at: None,
        csat: Some(4),
        fixed: Some("partly".into()),
        return_likelihood: Some(9),
        comment: Some("ok".into()),
        created_at: now_utc(),
    };
    let kiosk = KioskDevice {
        id: new_id(),
        location_id: loc.id.clone(),
        name: "Exit".into(),
        token_hash: "kiosk-hash".into(),
        created_at: now_utc(),
        last_seen_at: None,
        revoked_at: None,
    };
    let rating = KioskRating {
        id: new_id(),
        device_id: kiosk.id.clone(),
        location_id: loc.id.clone(),
        rating: 2,
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        tapped_at: now_utc(),
        received_at: now_utc(),
    };
    let link = UserLocation {
        user_id: user.id.clone(),
        location_id: loc.id.clone(),
    };
    insert(&db, |c| {
        diesel::insert_into(locations::table)
            .values(&loc)
            .execute(c)?;
        diesel::insert_into(touchpoints::table)
            .values(&tp)
            .execute(c)?;
        diesel::insert_into(users::table).values(&user).execute(c)?;
        diesel::insert_into(user_locations::table)
            .values(&link)
            .execute(c)?;
        diesel::insert_into(cases::table).values(&case).execute(c)?;
        diesel::insert_into(case_events::table)
            .values(&event)
            .execute(c)?;
        diesel::insert_into(outbox::table)
            .values(&mail)
            .execute(c)?;
        diesel::insert_into(surveys::table)
            .values(&survey)
            .execute(c)?;
        diesel::insert_into(kiosk_devices::table)
            .values(&kiosk)
            .execute(c)?;
        diesel::insert_into(kiosk_ratings::table)
            .values(&rating)
            .execute(c)
    });
    db.read(|c| {
        assert_eq!(
            locations::table.select(Location::as_select()).first(c)?,
            loc
        );
        assert_eq!(
            touchpoints::table
                .select(Touchpoint::as_select())
                .first(c)?,
            tp
        );
        assert!(users::table.select(User::as_select()).first(c)? == user);
        assert_eq!(
            user_locations::table
                .select(UserLocation::as_select())
                .first(c)?,
            link
        );
        assert_eq!(cases::table.select(Case::as_select()).first(c)?, case);
        assert_eq!(
            case_events::table.select(CaseEvent::as_select()).first(c)?,
            event
        );
        assert_eq!(
            outbox::table.select(OutboxMessage::as_select()).first(c)?,
            mail
        );
        assert_eq!(surveys::table.select(Survey::as_select()).first(c)?, survey);
        assert_eq!(
            kiosk_devices::table
                .select(KioskDevice::as_select())
                .first(c)?,
            kiosk
        );
        assert_eq!(
            kiosk_ratings::table
                .select(KioskRating::as_select())
                .first(c)?,
            rating
        );
        Ok(())
    })
    .unwrap();
}

fn foreign_keys_are_enforced(t: &TestDb) {
    let db = t.open();
    let orphan = touchpoint("no-such-location", "Till 1");
    let result = db.write(|c| -> Result<(), DbError> {
        touchpoint_queries::insert(c, &orphan)?;
        Ok(())
    });
    assert!(
        matches!(
            result,
            Err(DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _
            )))
        ),
        "{result:?}"
    );
}

fn unique_keys_refuse_a_second_row(t: &TestDb) {
    let db = t.open();
    let loc = location("Main St");
    insert(&db, |c| location_queries::insert(c, &loc));
    let first = touchpoint(&loc.id, "Till 1");
    insert(&db, |c| touchpoint_queries::insert(c, &first));
    let mut same_code = touchpoint(&loc.id, "Till 2");
    same_code.code = first.code.clone();
    let result =
        db.write(|c| -> Result<(), DbError> { Ok(touchpoint_queries::insert(c, &same_code)?) });
    assert!(
        matches!(
            result,
            Err(DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            )))
        ),
        "{result:?}"
    );
}

/// A write that fails part-way leaves nothing behind.
fn a_failed_write_leaves_nothing_half_written(t: &TestDb) {
    let db = t.open();
    let loc = location("Half");
    let result = db.write(|c| -> Result<(), DbError> {
        location_queries::insert(c, &loc)?;
        touchpoint_queries::insert(c, &touchpoint("no-such-location", "x"))?;
        Ok(())
    });
    assert!(result.is_err());
    assert_eq!(db.read(location_queries::count).unwrap(), 0);
}

/// Many threads writing at once all succeed: SQLite's single writer never shows as an error.
fn concurrent_writers_all_succeed(t: &TestDb) {
    let db = Arc::new(t.open());
    let loc = location("Busy");
    insert(&db, |c| location_queries::insert(c, &loc));
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let db = Arc::clone(&db);
            let location_id = loc.id.clone();
            std::thread::spawn(move || {
                for j in 0..10 {
                    let tp = touchpoint(&location_id, &format!("spot {i}-{j}"));
                    db.write(|c| -> Result<(), DbError> {
                        // Read first, then write: the pattern that deadlocks unserialised SQLite writers.
                        touchpoint_queries::for_location(c, &location_id)?;
                        Ok(touchpoint_queries::insert(c, &tp)?)
                    })
                    .unwrap();
                    db.read(|c| touchpoint_queries::find_by_code(c, &tp.code))
                        .unwrap()
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let all = db
        .read(|c| touchpoint_queries::for_location(c, &loc.id))
        .unwrap();
    assert_eq!(all.len(), 160);
}

fn times_keep_microseconds_and_stay_utc(t: &TestDb) {
    let db = t.open();
    let mut loc = location("Clock");
    loc.created_at =
        NaiveDateTime::parse_from_str("2026-03-29 01:59:59.123456", "%Y-%m-%d %H:%M:%S%.f")
            .unwrap();
    insert(&db, |c| location_queries::insert(c, &loc));
    let back = db
        .read(|c| location_queries::find_by_name(c, "Clock"))
        .unwrap()
        .unwrap();
    assert_eq!(back.created_at, loc.created_at);
}

fn seeding_the_demo_twice_adds_nothing(t: &TestDb) {
    let db = t.open();
    let first = demo::seed_demo(&db, "https://mend.example", "first-password").unwrap();
    assert!(first.touchpoints.len() >= 3);
    for tp in &first.touchpoints {
        assert_eq!(tp.url, format!("https://mend.example/t/{}", tp.code));
    }
    let second = demo::seed_demo(&db, "https://mend.example", "first-password").unwrap();
    assert_eq!(first.touchpoints, second.touchpoints);
    db.read(|c| {
        assert_eq!(location_queries::count(c)?, 1);
        assert_eq!(users::table.count().get_result::<i64>(c)?, 1);
        assert_eq!(user_locations::table.count().get_result::<i64>(c)?, 1);
        Ok(())
    })
    .unwrap();
}

fn seeding_with_a_new_password_changes_the_login(t: &TestDb) {
    use mend_server::db::queries::users as user_queries;
    use mend_server::domain::password::verify_password;
    let db = t.open();
    demo::seed_demo(&db, "http://x", "old-password").unwrap();
    demo::seed_demo(&db, "http://x", "new-password").unwrap();
    let manager = db
        .read(|c| user_queries::find_by_email(c, demo::MANAGER_EMAIL))
        .unwrap()
        .unwrap();
    assert!(verify_password(&manager.password_hash, "new-password"));
    assert!(!verify_password(&manager.password_hash, "old-password"));
    assert_eq!(manager.role, "manager");
    assert_eq!(
        db.read(|c| user_queries::location_ids(c, &manager.id))
            .unwrap()
            .len(),
        1
    );
}

fn scans_are_counted_per_touchpoint_per_day(t: &TestDb) {
    use mend_server::db::queries::scans;
    let db = t.open();
    let loc = location("Counted");
    let a = touchpoint(&loc.id, "A");
    let b = touchpoint(&loc.id, "B");
    insert(&db, |c| {
        location_queries::insert(c, &loc)?;
        touchpoint_queries::insert(c, &a)?;
        touchpoint_queries::insert(c, &b)
    });
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    for (tp, d) in [(&a, 1), (&a, 1), (&a, 1), (&a, 2), (&b, 1)] {
        insert(&db, |c| scans::record(c, &tp.id, day(d)));
    }
    let counted = db
        .read(|c| scans::per_day(c, &a.id, day(1), day(30)))
        .unwrap();
    assert_eq!(counted, vec![(day(1), 3), (day(2), 1)]);
    let counted = db
        .read(|c| scans::per_day(c, &b.id, day(1), day(30)))
        .unwrap();
    assert_eq!(counted, vec![(day(1), 1)]);
}

/// 200 complaints at once through the group-commit writer: every one stored once, with
/// its own reference; a repeated render gets the first case back.
fn concurrent_complaints_are_all_stored_once(t: &TestDb) {
    use mend_server::domain::complaint::{categories_of, validate, ComplaintForm};
    use mend_server::domain::intake::{IntakeQueue, Submission};
    use mend_server::domain::language::Language;
    let db = t.open();
    let loc = location("Rush");
    let tp = touchpoint(&loc.id, "Door");
    insert(&db, |c| {
        location_queries::insert(c, &loc)?;
        touchpoint_queries::insert(c, &tp)
    });
    let queue = IntakeQueue::start(db.clone());
    let key = b"k".repeat(32);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let receipts: Vec<_> = runtime.block_on(async {
        let submissions = (0..200).map(|i| {
            let (queue, key, loc, tp) = (queue.clone(), key.clone(), loc.clone(), tp.clone());
            async move {
                let form = ComplaintForm {
                    category: "other".into(),
                    body: format!("complaint {i}"),
                    ..Default::default()
                };
                let complaint = validate(&form, &categories_of(None)).unwrap();
                // Every tenth is a double tap of the one before.
                let nonce = format!("render-{}", if i % 10 == 9 { i - 1 } else { i });
                let s = Submission {
                    location: &loc,
                    touchpoint: &tp,
                    complaint,
                    language: Language::En,
                    render_nonce: nonce,
                    photo_hash: None,
                };
                queue.submit(&key, s).await.unwrap()
            }
        });
        let mut handles = Vec::new();
        for s in submissions {
            handles.push(tokio::spawn(s));
        }
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    });
    let distinct: std::collections::BTreeSet<_> =
        receipts.iter().map(|r| r.reference.clone()).collect();
    assert_eq!(distinct.len(), 180);
    assert_eq!(
        db.read(|c| cases::table.count().get_result::<i64>(c))
            .unwrap(),
        180
    );
    assert_eq!(
        db.read(|c| case_events::table.count().get_result::<i64>(c))
            .unwrap(),
        180
    );
    for i in (9..200).step_by(10) {
        assert_eq!(
            receipts[i].reference,
            receipts[i - 1].reference,
            "double tap {i}"
        );
        assert_eq!(receipts[i].token, receipts[i - 1].token);
    }
}

on_both_backends!(
    concurrent_complaints_are_all_stored_once,
    scans_are_counted_per_touchpoint_per_day,
    every_table_stores_and_returns_its_rows,
    foreign_keys_are_enforced,
    unique_keys_refuse_a_second_row,
    a_failed_write_leaves_nothing_half_written,
    concurrent_writers_all_succeed,
    times_keep_microseconds_and_stay_utc,
    seeding_the_demo_twice_adds_nothing,
    seeding_with_a_new_password_changes_the_login,
);
