//! The storage suite: the same tests on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::db::states::{EventKind, MailKind, SurveyKind};
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
        code: mend_server::domain::sticker::codes::new_touchpoint_code(),
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
        role: mend_server::db::states::Role::Staff,
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
        status: mend_server::db::states::CaseStatus::New,
        created_at: now_utc(),
        acknowledged_at: None,
        resolved_at: Some(now_utc()),
        status_token_hash: Some("hash-of-token".into()),
        render_nonce: Some("nonce-1".into()),
        photo_path: Some("photos/ab/abcd.jpg".into()),
        photo_thumb_path: None,
        assignee_id: None,
        resolution: None,
        root_cause: None,
        compensation_type: None,
        compensation_minor: None,
        compensation_currency: None,
        merged_into: None,
        device_hash: None,
        severe: None,
        erased_at: None,
        flagged_at: None,
    };
    let event = CaseEvent {
        id: new_id(),
        case_id: case.id.clone(),
        actor_user_id: Some(user.id.clone()),
        kind: EventKind::Acknowledged,
        detail: r#"{"note":"on it"}"#.into(),
        created_at: now_utc(),
    };
    let mail = OutboxMessage {
        id: new_id(),
        kind: MailKind::Alert,
        recipient: "staff@example.com".into(),
        payload: r#"{"case":"MND-7K2Q"}"#.into(),
        attempts: 0,
        next_attempt_at: now_utc(),
        claimed_until: None,
        sent_at: None,
        last_error: None,
        dedupe_key: format!("alert:{}", case.id),
        created_at: now_utc(),
        failed_at: Some(now_utc()),
        case_id: Some(case.id.clone()),
    };
    let route = AlertRecipient {
        location_id: loc.id.clone(),
        rule: "category".into(),
        category: "cleanliness".into(),
        email: "staff@example.com".into(),
    };
    let escalation = Escalation {
        case_id: case.id.clone(),
        level: 1,
        due_at: now_utc(),
        fired_at: Some(now_utc()),
        cancelled_at: None,
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
        kind: SurveyKind::Satisfaction,
        recipient: Some("guest@example.com".into()),
        language: "ko".into(),
        due_at: Some(now_utc()),
        reminded_at: None,
        still_working: Some(true),
        location_id: Some(loc.id.clone()),
        touchpoint_id: Some(tp.id.clone()),
        category: Some("cleanliness".into()),
        root_cause: Some("cleaning".into()),
        compensation_type: Some("voucher".into()),
        compensation_minor: Some(500),
        compensation_currency: Some("EUR".into()),
    };
    let kiosk = KioskDevice {
        id: new_id(),
        location_id: loc.id.clone(),
        name: "Exit".into(),
        token_hash: "kiosk-hash".into(),
        created_at: now_utc(),
        last_seen_at: None,
        revoked_at: None,
        buffered: 0,
        version: None,
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
        diesel::insert_into(alert_recipients::table)
            .values(&route)
            .execute(c)?;
        diesel::insert_into(escalations::table)
            .values(&escalation)
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
            alert_recipients::table
                .select(AlertRecipient::as_select())
                .first(c)?,
            route
        );
        assert_eq!(
            escalations::table
                .select(Escalation::as_select())
                .first(c)?,
            escalation
        );
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
    use mend_server::domain::account::password::verify_password;
    let db = t.open();
    demo::seed_demo(&db, "http://x", "old-password").unwrap();
    demo::seed_demo(&db, "http://x", "new-password").unwrap();
    let manager = db
        .read(|c| user_queries::find_by_email(c, demo::MANAGER_EMAIL))
        .unwrap()
        .unwrap();
    assert!(verify_password(&manager.password_hash, "new-password"));
    assert!(!verify_password(&manager.password_hash, "old-password"));
    assert_eq!(manager.role.as_str(), "manager");
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

/// Submits every (store, spot, render nonce) at once through the group-commit writer, so
/// that they are committed in a few large batches, and returns their receipts in order.
fn submit_all(
    db: &Db,
    posts: Vec<(Location, Touchpoint, String)>,
) -> Vec<mend_server::domain::case::intake::Receipt> {
    use mend_server::domain::case::complaint::{categories_of, validate, ComplaintForm};
    use mend_server::domain::case::intake::Submission;
    use mend_server::domain::language::Language;
    use mend_server::jobs::intake::IntakeQueue;
    let ctx = mend_server::domain::alert::AlertContext {
        base_url: "http://mend.test".into(),
        key: mend_server::config::SigningKey::parse(&"k".repeat(32)).unwrap(),
        clock: mend_server::domain::clock::Clock::system(),
        ack_link_ttl: chrono::Duration::hours(1),
    };
    let times = mend_server::jobs::intake::IntakeTimes::new().unwrap();
    let queue = IntakeQueue::start(db.clone(), ctx, Default::default(), times.clone());
    let key = b"k".repeat(32);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let handles: Vec<_> = posts
            .into_iter()
            .enumerate()
            .map(|(i, (loc, tp, nonce))| {
                let (queue, key) = (queue.clone(), key.clone());
                tokio::spawn(async move {
                    let form = ComplaintForm {
                        category: "other".into(),
                        body: format!("complaint {i}"),
                        ..Default::default()
                    };
                    let complaint = validate(&form, &categories_of(None)).unwrap();
                    let s = Submission {
                        location: &loc,
                        touchpoint: &tp,
                        complaint,
                        language: Language::EN,
                        render_nonce: nonce,
                        photo_hash: None,
                        device_hash: None,
                        kiosk_tap: None,
                        severe: false,
                    };
                    queue.submit(&key, s).await.unwrap()
                })
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        // Every complaint's wait was timed, and the writer committed them in fewer
        // transactions than complaints (group commit), each batch timed.
        let n = out.len() as u64;
        assert_eq!(times.waited.get_sample_count(), n);
        assert_eq!(times.batch_size.get_sample_sum() as u64, n);
        let batches = times.batch_size.get_sample_count();
        assert!(batches < n, "{batches} batches for {n} complaints");
        assert_eq!(times.stored.get_sample_count(), batches);
        out
    })
}

/// 200 complaints at once through the group-commit writer: every one stored once, with
/// its own reference; a repeated render gets the first case back.
fn concurrent_complaints_are_all_stored_once(t: &TestDb) {
    let db = t.open();
    let loc = location("Rush");
    let tp = touchpoint(&loc.id, "Door");
    insert(&db, |c| {
        location_queries::insert(c, &loc)?;
        touchpoint_queries::insert(c, &tp)
    });
    // Every tenth is a double tap of the one before.
    let posts = (0..200)
        .map(|i| {
            let nonce = format!("render-{}", if i % 10 == 9 { i - 1 } else { i });
            (loc.clone(), tp.clone(), nonce)
        })
        .collect();
    let receipts = submit_all(&db, posts);
    let distinct: std::collections::BTreeSet<_> =
        receipts.iter().map(|r| r.reference.clone()).collect();
    assert_eq!(distinct.len(), 180);
    assert_eq!(
        db.read(|c| cases::table.count().get_result::<i64>(c))
            .unwrap(),
        180
    );
    assert_eq!(
        db.read(|c| case_events::table
            .filter(case_events::kind.eq("received"))
            .count()
            .get_result::<i64>(c))
            .unwrap(),
        180
    );
    // Each new case starts its escalation clock in the same transaction.
    assert_eq!(
        db.read(|c| escalations::table.count().get_result::<i64>(c))
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

/// A rush over two stores with no repeats takes the quick path (each table written with
/// one multi-row insert per batch): every case has its received and alerted events, one
/// alert per recipient of its own store, and its escalation due after its store's SLA.
fn a_rush_over_two_stores_stores_every_row_of_every_complaint(t: &TestDb) {
    use mend_server::db::queries::routing;
    let db = t.open();
    let stores: Vec<(Location, Touchpoint, &str)> = [
        ("North", 10, "north@example.com"),
        ("South", 25, "south@example.com"),
    ]
    .into_iter()
    .map(|(name, sla, email)| {
        let loc = Location {
            sla_minutes: sla,
            ..location(name)
        };
        let tp = touchpoint(&loc.id, "Till");
        insert(&db, |c| {
            location_queries::insert(c, &loc)?;
            touchpoint_queries::insert(c, &tp)?;
            routing::replace(
                c,
                &loc.id,
                &[AlertRecipient {
                    location_id: loc.id.clone(),
                    rule: "fallback".into(),
                    category: String::new(),
                    email: email.into(),
                }],
            )
        });
        (loc, tp, email)
    })
    .collect();
    let posts = (0..300)
        .map(|i| {
            let (loc, tp, _) = &stores[i % 2];
            (loc.clone(), tp.clone(), format!("render-{i}"))
        })
        .collect();
    let receipts = submit_all(&db, posts);
    assert!(receipts.iter().all(|r| !r.repeated));
    let all: Vec<Case> = db
        .read(|c| cases::table.select(Case::as_select()).load(c))
        .unwrap();
    assert_eq!(all.len(), 300);
    for case in &all {
        let (loc, _, email) = stores
            .iter()
            .find(|(loc, _, _)| loc.id == case.location_id)
            .unwrap();
        let kinds: Vec<String> = db
            .read(|c| {
                case_events::table
                    .filter(case_events::case_id.eq(&case.id))
                    .order(case_events::id)
                    .select(case_events::kind)
                    .load(c)
            })
            .unwrap();
        assert_eq!(kinds, ["received", "alerted"], "{}", case.reference);
        let mails: Vec<OutboxMessage> = db
            .read(|c| {
                outbox::table
                    .filter(outbox::case_id.eq(&case.id))
                    .select(OutboxMessage::as_select())
                    .load(c)
            })
            .unwrap();
        assert_eq!(mails.len(), 1, "{}", case.reference);
        assert_eq!(mails[0].recipient, *email);
        assert_eq!(mails[0].dedupe_key, format!("alert:{}:{email}", case.id));
        let due: Vec<NaiveDateTime> = db
            .read(|c| {
                escalations::table
                    .filter(escalations::case_id.eq(&case.id))
                    .select(escalations::due_at)
                    .load(c)
            })
            .unwrap();
        assert_eq!(
            due,
            [case.created_at + chrono::Duration::minutes(i64::from(loc.sla_minutes))]
        );
    }
}

/// A new case at `tp`, with nothing but what every case has.
fn new_case(loc: &Location, tp: &Touchpoint, reference: &str, created_at: NaiveDateTime) -> Case {
    mend_testing::plain_case(&loc.id, &tp.id, reference, created_at)
}

fn outbox_message(key: &str) -> OutboxMessage {
    let now = now_utc();
    OutboxMessage {
        id: new_id(),
        kind: MailKind::Alert,
        recipient: "a@shop.example".into(),
        payload: "{}".into(),
        attempts: 0,
        next_attempt_at: now,
        claimed_until: None,
        sent_at: None,
        last_error: None,
        dedupe_key: key.into(),
        created_at: now,
        failed_at: None,
        case_id: None,
    }
}

fn claim(db: &Db, at: NaiveDateTime, limit: i64) -> Vec<OutboxMessage> {
    use mend_server::db::queries::outbox;
    let lease = at + chrono::Duration::minutes(2);
    db.write(|c| -> Result<_, DbError> { Ok(outbox::claim_due(c, at, lease, limit)?) })
        .unwrap()
}

/// A claimed row is nobody else's until its lease ends; sent and refused rows never come
/// back; a retry comes back when due; a dedupe key enqueues once.
fn outbox_rows_are_claimed_once_and_come_back_only_after_their_lease(t: &TestDb) {
    use mend_server::db::queries::outbox;
    let db = t.open();
    let rows: Vec<_> = (0..3).map(|i| outbox_message(&format!("k{i}"))).collect();
    let fresh = insert(&db, |c| {
        let mut fresh = Vec::new();
        for r in &rows {
            fresh.push(outbox::enqueue(c, r)?);
        }
        fresh.push(outbox::enqueue(c, &outbox_message("k0"))?);
        Ok(fresh)
    });
    assert_eq!(
        fresh,
        [true, true, true, false],
        "the repeated key is not enqueued"
    );
    let now = now_utc();
    let first = claim(&db, now, 10);
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|r| r.attempts == 1));
    assert!(claim(&db, now + chrono::Duration::seconds(60), 10).is_empty());

    // The worker died: after the lease the rows come back, each once more.
    let later = now + chrono::Duration::minutes(3);
    let again = claim(&db, later, 10);
    assert_eq!(again.len(), 3);
    assert!(again.iter().all(|r| r.attempts == 2));
    insert(&db, |c| {
        outbox::mark_sent(c, &again[0].id, later)?;
        outbox::mark_failed(c, &again[1].id, later, "550 no such user")?;
        outbox::mark_retry(
            c,
            &again[2].id,
            later + chrono::Duration::minutes(10),
            "421 busy",
        )
    });
    assert!(claim(&db, later + chrono::Duration::minutes(5), 10).is_empty());
    let retried = claim(&db, later + chrono::Duration::minutes(11), 10);
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].id, again[2].id);
    assert_eq!(retried[0].last_error.as_deref(), Some("421 busy"));
    insert(&db, |c| outbox::mark_sent(c, &retried[0].id, later));
    assert!(claim(&db, later + chrono::Duration::days(30), 10).is_empty());
}

/// Eight workers claiming from one outbox at once never get the same row.
fn concurrent_claimers_never_share_a_row(t: &TestDb) {
    use mend_server::db::queries::outbox;
    let db = t.open();
    insert(&db, |c| {
        for i in 0..300 {
            outbox::enqueue(c, &outbox_message(&format!("k{i}")))?;
        }
        Ok(())
    });
    let at = now_utc() + chrono::Duration::seconds(1);
    let claimed: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let db = db.clone();
                s.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let got = claim(&db, at, 7);
                        if got.is_empty() {
                            return mine;
                        }
                        mine.extend(got.into_iter().map(|r| r.id));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let distinct: std::collections::BTreeSet<_> = claimed.iter().collect();
    assert_eq!(claimed.len(), 300, "every row claimed");
    assert_eq!(distinct.len(), 300, "no row claimed twice");
}

/// The intake's batch lookup: which references are taken, and which renders already
/// have a case (on PostgreSQL sent unprepared; see `cases::holding_references_or_renders`).
fn the_intake_finds_taken_references_and_stored_renders(t: &TestDb) {
    use mend_server::db::queries::cases as q;
    let db = t.open();
    let loc = location("Chain");
    let tp = touchpoint(&loc.id, "Door");
    let mut first = new_case(&loc, &tp, "AAA-BBB", now_utc());
    first.render_nonce = Some("render-1".into());
    let mut second = new_case(&loc, &tp, "CCC-DDD", now_utc());
    second.render_nonce = Some("render-2".into());
    insert(&db, |c| {
        location_queries::insert(c, &loc)?;
        touchpoint_queries::insert(c, &tp)?;
        q::insert(c, &first)?;
        q::insert(c, &second)
    });
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // More than five runs: PostgreSQL's plan choice for a statement changes after five.
    for _ in 0..7 {
        let mut held = db
            .read(|c| {
                q::holding_references_or_renders(
                    c,
                    &strings(&["ZZZ-ZZZ", "AAA-BBB", "'; --"]),
                    &strings(&["render-9", "render-2"]),
                )
            })
            .unwrap();
        held.sort();
        assert_eq!(
            held,
            [
                (Some("render-1".to_string()), "AAA-BBB".to_string()),
                (Some("render-2".to_string()), "CCC-DDD".to_string())
            ]
        );
    }
    assert!(db
        .read(|c| q::holding_references_or_renders(c, &[], &[]))
        .unwrap()
        .is_empty());
}

/// An escalation level fires once; cancelling touches only what is pending.
fn an_escalation_fires_once_and_cancelling_leaves_fired_ones_alone(t: &TestDb) {
    use mend_server::db::queries::escalations as q;
    let db = t.open();
    let loc = location("Chain");
    let tp = touchpoint(&loc.id, "Door");
    let now = now_utc();
    let case = new_case(&loc, &tp, "AAA-BBB", now);
    let level = |level: i32| Escalation {
        case_id: case.id.clone(),
        level,
        due_at: now,
        fired_at: None,
        cancelled_at: None,
    };
    insert(&db, |c| {
        location_queries::insert(c, &loc)?;
        touchpoint_queries::insert(c, &tp)?;
        mend_server::db::queries::cases::insert(c, &case)?;
        q::schedule(c, &level(1))?;
        q::schedule(c, &level(1))
    });
    assert_eq!(
        db.read(|c| q::due(c, now, 10)).unwrap().len(),
        1,
        "scheduling twice keeps one"
    );
    assert!(insert(&db, |c| q::fire(c, &case.id, 1, now)));
    assert!(!insert(&db, |c| q::fire(c, &case.id, 1, now)), "fires once");
    insert(&db, |c| q::schedule(c, &level(2)));
    assert_eq!(insert(&db, |c| q::cancel_pending(c, &case.id, now)), 1);
    let chain = db.read(|c| q::for_case(c, &case.id)).unwrap();
    assert!(chain[0].fired_at.is_some() && chain[0].cancelled_at.is_none());
    assert!(chain[1].fired_at.is_none() && chain[1].cancelled_at.is_some());
    assert!(db.read(|c| q::due(c, now, 10)).unwrap().is_empty());
}

/// Case access is decided in the query: the people of a location see its cases, admins
/// all, anyone else none; the inbox orders unacknowledged first, then oldest.
fn cases_are_visible_only_to_their_locations_people(t: &TestDb) {
    use mend_server::db::queries::cases as q;
    let db = t.open();
    let (a, b) = (location("A"), location("B"));
    let (ta, tb) = (touchpoint(&a.id, "Door"), touchpoint(&b.id, "Door"));
    let user = |email: &str, role: &str| User {
        id: new_id(),
        email: email.into(),
        password_hash: "x".into(),
        role: mend_server::db::states::Role::parse(role).unwrap(),
        language: "en".into(),
        created_at: now_utc(),
    };
    let (staff_a, admin) = (
        user("a@x.example", "staff"),
        user("boss@x.example", "admin"),
    );
    let case = |loc: &Location, tp: &Touchpoint, reference: &str, minutes_ago: i64, acked: bool| {
        let created = now_utc() - chrono::Duration::minutes(minutes_ago);
        Case {
            acknowledged_at: acked.then_some(created),
            ..new_case(loc, tp, reference, created)
        }
    };
    insert(&db, |c| {
        location_queries::insert(c, &a)?;
        location_queries::insert(c, &b)?;
        touchpoint_queries::insert(c, &ta)?;
        touchpoint_queries::insert(c, &tb)?;
        mend_server::db::queries::users::insert(c, &staff_a)?;
        mend_server::db::queries::users::insert(c, &admin)?;
        mend_server::db::queries::users::grant_location(c, &staff_a.id, &a.id)?;
        q::insert(c, &case(&a, &ta, "AAA-AAA", 30, true))?;
        q::insert(c, &case(&a, &ta, "AAA-BBB", 20, false))?;
        q::insert(c, &case(&a, &ta, "AAA-CCC", 10, false))?;
        q::insert(c, &case(&b, &tb, "BBB-BBB", 40, false))
    });
    let visible = |who: &User, r: &str| {
        db.read(|c| q::find_visible(c, r, &who.id, who.role.as_str() == "admin"))
            .unwrap()
            .is_some()
    };
    assert!(visible(&staff_a, "AAA-AAA"));
    assert!(!visible(&staff_a, "BBB-BBB"));
    assert!(visible(&admin, "BBB-BBB"));
    let inbox = |who: &User, filter: q::InboxFilter| -> Vec<String> {
        db.read(|c| q::inbox(c, &who.id, who.role.as_str() == "admin", &filter, 100))
            .unwrap()
            .into_iter()
            .map(|(case, _)| case.reference)
            .collect()
    };
    assert_eq!(
        inbox(&staff_a, Default::default()),
        ["AAA-BBB", "AAA-CCC", "AAA-AAA"]
    );
    assert_eq!(
        inbox(&admin, Default::default()),
        ["BBB-BBB", "AAA-BBB", "AAA-CCC", "AAA-AAA"]
    );
    let only_b = q::InboxFilter {
        location_id: Some(b.id.clone()),
        ..Default::default()
    };
    assert!(inbox(&staff_a, only_b.clone()).is_empty());
    assert_eq!(inbox(&admin, only_b), ["BBB-BBB"]);
}

on_both_backends!(
    the_intake_finds_taken_references_and_stored_renders,
    cases_are_visible_only_to_their_locations_people,
    outbox_rows_are_claimed_once_and_come_back_only_after_their_lease,
    concurrent_claimers_never_share_a_row,
    an_escalation_fires_once_and_cancelling_leaves_fired_ones_alone,
    concurrent_complaints_are_all_stored_once,
    a_rush_over_two_stores_stores_every_row_of_every_complaint,
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
