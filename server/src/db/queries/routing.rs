//! A location's alert settings: routing rules, opening hours, SLA and severity lists.

use diesel::prelude::*;

use crate::db::models::{AlertRecipient, LocationAlerting};
use crate::db::schema::{alert_recipients, locations};
use crate::db::DbConnection;

pub fn recipients(conn: &mut DbConnection, location_id: &str) -> QueryResult<Vec<AlertRecipient>> {
    alert_recipients::table
        .filter(alert_recipients::location_id.eq(location_id))
        .order((
            alert_recipients::rule.asc(),
            alert_recipients::category.asc(),
            alert_recipients::email.asc(),
        ))
        .select(AlertRecipient::as_select())
        .load(conn)
}

/// Replaces the location's routing with `rows`. Run inside a write transaction.
pub fn replace(
    conn: &mut DbConnection,
    location_id: &str,
    rows: &[AlertRecipient],
) -> QueryResult<()> {
    diesel::delete(alert_recipients::table.filter(alert_recipients::location_id.eq(location_id)))
        .execute(conn)?;
    for row in rows {
        diesel::insert_into(alert_recipients::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn alerting(
    conn: &mut DbConnection,
    location_id: &str,
) -> QueryResult<Option<LocationAlerting>> {
    locations::table
        .find(location_id)
        .select(LocationAlerting::as_select())
        .first(conn)
        .optional()
}

pub fn set_alerting(conn: &mut DbConnection, a: &LocationAlerting) -> QueryResult<()> {
    diesel::update(locations::table.find(&a.id))
        .set((
            locations::sla_minutes.eq(a.sla_minutes),
            locations::escalation_minutes.eq(a.escalation_minutes),
            locations::opening_hours.eq(&a.opening_hours),
            locations::severe_categories.eq(&a.severe_categories),
            locations::severe_keywords.eq(&a.severe_keywords),
            locations::root_causes.eq(&a.root_causes),
            locations::survey_delay_minutes.eq(a.survey_delay_minutes),
            locations::follow_up_days.eq(a.follow_up_days),
            locations::unhappy_reopens.eq(a.unhappy_reopens),
            locations::weekly_digest.eq(a.weekly_digest),
            locations::unhappy_taps.eq(a.unhappy_taps),
            locations::unhappy_tap_minutes.eq(a.unhappy_tap_minutes),
            locations::retention_days.eq(a.retention_days),
        ))
        .execute(conn)
        .map(|_| ())
}
