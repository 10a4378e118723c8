//! Webhook subscriptions and their deliveries. A delivery row is written for each
//! subscription an event concerns, in the event's own transaction ([`fan_out`], called by
//! `cases::add_event`), and taken by the outbox worker ([`claim_due`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use crate::db::models::{new_id, CaseEvent, WebhookDelivery, WebhookSubscription};
use crate::db::schema::{
    cases, webhook_deliveries, webhook_subscription_events, webhook_subscriptions,
};
use crate::db::states::{WebhookEvent, WebhookStop};
use crate::db::DbConnection;

pub fn insert(
    conn: &mut DbConnection,
    sub: &WebhookSubscription,
    events: &[WebhookEvent],
) -> QueryResult<()> {
    diesel::insert_into(webhook_subscriptions::table)
        .values(sub)
        .execute(conn)?;
    for event in events {
        diesel::insert_into(webhook_subscription_events::table)
            .values((
                webhook_subscription_events::subscription_id.eq(&sub.id),
                webhook_subscription_events::event.eq(event.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<WebhookSubscription>> {
    webhook_subscriptions::table
        .find(id)
        .select(WebhookSubscription::as_select())
        .first(conn)
        .optional()
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<WebhookSubscription>> {
    webhook_subscriptions::table
        .order(webhook_subscriptions::created_at.asc())
        .select(WebhookSubscription::as_select())
        .load(conn)
}

pub fn events_of(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<String>> {
    webhook_subscription_events::table
        .filter(webhook_subscription_events::subscription_id.eq(id))
        .select(webhook_subscription_events::event)
        .order(webhook_subscription_events::event.asc())
        .load(conn)
}

/// Stops a subscription (its deliveries waiting are left, not sent); false if it was
/// already stopped.
pub fn disable(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
    reason: WebhookStop,
) -> QueryResult<bool> {
    diesel::update(webhook_subscriptions::table.find(id))
        .filter(webhook_subscriptions::disabled_at.is_null())
        .set((
            webhook_subscriptions::disabled_at.eq(now),
            webhook_subscriptions::disabled_reason.eq(reason),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Records whether the subscription's last delivery failed: the first failure starts
/// the clock, a success stops it.
pub fn set_failing(
    conn: &mut DbConnection,
    id: &str,
    since: Option<NaiveDateTime>,
) -> QueryResult<()> {
    let q = diesel::update(webhook_subscriptions::table.find(id));
    match since {
        Some(at) => q
            .filter(webhook_subscriptions::failing_since.is_null())
            .set(webhook_subscriptions::failing_since.eq(at))
            .execute(conn),
        None => q
            .set(webhook_subscriptions::failing_since.eq(None::<NaiveDateTime>))
            .execute(conn),
    }
    .map(|_| ())
}

/// Delivery rows for these events, one per active subscription that wants each: of the
/// event's store or of every store, and of its type. One query when nobody subscribes.
pub fn fan_out(conn: &mut DbConnection, events: &[CaseEvent]) -> QueryResult<()> {
    let typed: Vec<(&CaseEvent, WebhookEvent)> = events
        .iter()
        .filter_map(|e| WebhookEvent::of_case_event(e.kind).map(|w| (e, w)))
        .collect();
    if typed.is_empty() {
        return Ok(());
    }
    let wanted: Vec<&str> = typed.iter().map(|(_, w)| w.as_str()).collect();
    let subs: Vec<(String, Option<String>, String)> = webhook_subscriptions::table
        .inner_join(webhook_subscription_events::table)
        .filter(webhook_subscriptions::disabled_at.is_null())
        .filter(webhook_subscription_events::event.eq_any(&wanted))
        .select((
            webhook_subscriptions::id,
            webhook_subscriptions::location_id,
            webhook_subscription_events::event,
        ))
        .load(conn)?;
    if subs.is_empty() {
        return Ok(());
    }
    let case_ids: Vec<&str> = typed.iter().map(|(e, _)| e.case_id.as_str()).collect();
    let stores: std::collections::HashMap<String, String> = cases::table
        .filter(cases::id.eq_any(&case_ids))
        .select((cases::id, cases::location_id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut rows = Vec::new();
    for (event, kind) in typed {
        let Some(store) = stores.get(&event.case_id) else {
            continue;
        };
        for (sub, _, _) in subs.iter().filter(|(_, at, wants)| {
            wants == kind.as_str() && at.as_ref().is_none_or(|l| l == store)
        }) {
            rows.push(new_delivery(
                sub,
                kind,
                store,
                Some((&event.case_id, &event.id)),
                "{}",
                event.created_at,
            ));
        }
    }
    insert_all!(conn, webhook_deliveries::table, &rows)
}

/// Delivery rows for an event of a store that is not about a case (unhappy kiosk taps).
pub fn fan_out_store_event(
    conn: &mut DbConnection,
    location_id: &str,
    kind: WebhookEvent,
    detail: &serde_json::Value,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let subs: Vec<String> = webhook_subscriptions::table
        .inner_join(webhook_subscription_events::table)
        .filter(webhook_subscriptions::disabled_at.is_null())
        .filter(webhook_subscription_events::event.eq(kind.as_str()))
        .filter(
            webhook_subscriptions::location_id
                .is_null()
                .or(webhook_subscriptions::location_id.eq(location_id)),
        )
        .select(webhook_subscriptions::id)
        .load(conn)?;
    let detail = detail.to_string();
    let rows: Vec<WebhookDelivery> = subs
        .iter()
        .map(|sub| new_delivery(sub, kind, location_id, None, &detail, now))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    insert_all!(conn, webhook_deliveries::table, &rows)
}

fn new_delivery(
    subscription_id: &str,
    event: WebhookEvent,
    location_id: &str,
    case: Option<(&str, &str)>,
    detail: &str,
    at: NaiveDateTime,
) -> WebhookDelivery {
    WebhookDelivery {
        id: new_id(),
        subscription_id: subscription_id.to_owned(),
        event,
        location_id: location_id.to_owned(),
        case_id: case.map(|(c, _)| c.to_owned()),
        case_event_id: case.map(|(_, e)| e.to_owned()),
        detail: detail.to_owned(),
        created_at: at,
        next_attempt_at: at,
        attempts: 0,
        leased_until: None,
        delivered_at: None,
        failed_at: None,
        last_status: None,
        last_error: None,
    }
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Claims up to `limit` deliveries that are due, leasing them until `lease_until`: of
/// active subscriptions, and only the oldest waiting delivery of a case for a
/// subscription, so a receiver gets a case's events in order. Run inside a write
/// transaction; on PostgreSQL, rows another worker holds are skipped.
pub fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<WebhookDelivery>> {
    // Plain SQL: diesel's query builder has no correlated NOT EXISTS.
    let sql = |p: [&str; 4], lock: &str| {
        format!(
            "SELECT d.id FROM webhook_deliveries d
               JOIN webhook_subscriptions s ON s.id = d.subscription_id
              WHERE d.delivered_at IS NULL AND d.failed_at IS NULL
                AND d.next_attempt_at <= {0}
                AND (d.leased_until IS NULL OR d.leased_until < {1})
                AND s.disabled_at IS NULL
                AND (d.case_id IS NULL OR NOT EXISTS (
                      SELECT 1 FROM webhook_deliveries e
                       WHERE e.subscription_id = d.subscription_id
                         AND e.case_id = d.case_id
                         AND e.delivered_at IS NULL AND e.failed_at IS NULL
                         AND (e.created_at < d.created_at
                              OR (e.created_at = d.created_at AND e.id < d.id))))
              ORDER BY d.next_attempt_at, d.created_at, d.id
              LIMIT {2} {3}",
            p[0], p[1], p[2], lock
        )
    };
    let ids: Vec<Id> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(sql(["?", "?", "?", ""], ""))
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(c)?,
        DbConnection::Postgres(c) => {
            diesel::sql_query(sql(["$1", "$2", "$3", ""], "FOR UPDATE OF d SKIP LOCKED"))
                .bind::<Timestamp, _>(now)
                .bind::<Timestamp, _>(now)
                .bind::<BigInt, _>(limit)
                .load(c)?
        }
    };
    let ids: Vec<String> = ids.into_iter().map(|i| i.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
        .set((
            webhook_deliveries::leased_until.eq(lease_until),
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
        ))
        .execute(conn)?;
    webhook_deliveries::table
        .filter(webhook_deliveries::id.eq_any(&ids))
        .order((
            webhook_deliveries::created_at.asc(),
            webhook_deliveries::id.asc(),
        ))
        .select(WebhookDelivery::as_select())
        .load(conn)
}

pub fn mark_delivered(
    conn: &mut DbConnection,
    id: &str,
    status: i32,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::delivered_at.eq(now),
            webhook_deliveries::last_status.eq(status),
            webhook_deliveries::leased_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn mark_retry(
    conn: &mut DbConnection,
    id: &str,
    status: Option<i32>,
    error: &str,
    next: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::next_attempt_at.eq(next),
            webhook_deliveries::last_status.eq(status),
            webhook_deliveries::last_error.eq(error),
            webhook_deliveries::leased_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn mark_failed(
    conn: &mut DbConnection,
    id: &str,
    status: Option<i32>,
    error: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::failed_at.eq(now),
            webhook_deliveries::last_status.eq(status),
            webhook_deliveries::last_error.eq(error),
            webhook_deliveries::leased_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn delivery(conn: &mut DbConnection, id: &str) -> QueryResult<Option<WebhookDelivery>> {
    webhook_deliveries::table
        .find(id)
        .select(WebhookDelivery::as_select())
        .first(conn)
        .optional()
}

/// A subscription's latest deliveries, newest first.
pub fn log(
    conn: &mut DbConnection,
    subscription_id: &str,
    limit: i64,
) -> QueryResult<Vec<WebhookDelivery>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(subscription_id))
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(limit)
        .select(WebhookDelivery::as_select())
        .load(conn)
}

/// Sends a delivery again (the same id, so a receiver that has it can tell): due now,
/// its failure forgotten. False if it is waiting already.
pub fn send_again(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(webhook_deliveries::table.find(id))
        .filter(
            webhook_deliveries::delivered_at
                .is_not_null()
                .or(webhook_deliveries::failed_at.is_not_null()),
        )
        .set((
            webhook_deliveries::delivered_at.eq(None::<NaiveDateTime>),
            webhook_deliveries::failed_at.eq(None::<NaiveDateTime>),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::attempts.eq(0),
            webhook_deliveries::leased_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// How many deliveries wait to be sent (for tests and the metrics page).
pub fn waiting(conn: &mut DbConnection) -> QueryResult<i64> {
    webhook_deliveries::table
        .filter(webhook_deliveries::delivered_at.is_null())
        .filter(webhook_deliveries::failed_at.is_null())
        .count()
        .get_result(conn)
}

/// A new secret; the current one keeps signing beside it until `until`.
pub fn rotate(
    conn: &mut DbConnection,
    id: &str,
    new_secret: &str,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(webhook_subscriptions::table.find(id))
        .set((
            webhook_subscriptions::previous_secret.eq(webhook_subscriptions::secret.nullable()),
            webhook_subscriptions::previous_secret_until.eq(until),
            webhook_subscriptions::secret.eq(new_secret),
        ))
        .execute(conn)
        .map(|n| n == 1)
}
