//! API tokens, the stores they are limited to, and the answers kept for idempotency keys.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::{ApiToken, User};
use crate::db::schema::{api_idempotency, api_token_locations, api_tokens, users};
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, token: &ApiToken, stores: &[String]) -> QueryResult<()> {
    diesel::insert_into(api_tokens::table)
        .values(token)
        .execute(conn)?;
    for location_id in stores {
        diesel::insert_into(api_token_locations::table)
            .values((
                api_token_locations::token_id.eq(&token.id),
                api_token_locations::location_id.eq(location_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A token by its hash, with its person (a token's row goes with its person's: `ON DELETE
/// CASCADE`) and when the person was deactivated: one statement for what every API
/// request checks first.
pub fn find_by_hash(
    conn: &mut DbConnection,
    hash: &str,
) -> QueryResult<Option<(ApiToken, User, Option<NaiveDateTime>)>> {
    api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(hash))
        .select((
            ApiToken::as_select(),
            User::as_select(),
            users::deactivated_at,
        ))
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ApiToken>> {
    api_tokens::table
        .find(id)
        .select(ApiToken::as_select())
        .first(conn)
        .optional()
}

/// The stores a token is limited to; empty: all of its person's.
pub fn stores(conn: &mut DbConnection, token_id: &str) -> QueryResult<Vec<String>> {
    api_token_locations::table
        .filter(api_token_locations::token_id.eq(token_id))
        .select(api_token_locations::location_id)
        .order(api_token_locations::location_id.asc())
        .load(conn)
}

/// Every token with its person's email, newest first; `user_id` narrows to one person's.
pub fn list(
    conn: &mut DbConnection,
    user_id: Option<&str>,
) -> QueryResult<Vec<(ApiToken, String)>> {
    let mut q = api_tokens::table
        .inner_join(users::table)
        .select((ApiToken::as_select(), users::email))
        .order(api_tokens::created_at.desc())
        .into_boxed();
    if let Some(id) = user_id {
        q = q.filter(api_tokens::user_id.eq(id.to_owned()));
    }
    q.load(conn)
}

/// Revokes a token; false if there is no such token or it was revoked before.
pub fn revoke(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(api_tokens::table)
        .filter(api_tokens::id.eq(id))
        .filter(api_tokens::revoked_at.is_null())
        .set(api_tokens::revoked_at.eq(now))
        .execute(conn)
        .map(|n| n == 1)
}

/// Records a use, at most once a minute per token: a busy integration would otherwise
/// write the row on every request.
pub fn used(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<()> {
    let a_minute_ago = now - chrono::Duration::minutes(1);
    diesel::update(api_tokens::table)
        .filter(api_tokens::id.eq(id))
        .filter(
            api_tokens::last_used_at
                .is_null()
                .or(api_tokens::last_used_at.lt(a_minute_ago)),
        )
        .set(api_tokens::last_used_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

/// The answer kept for a token's idempotency key: (request hash, status, body).
pub fn kept_answer(
    conn: &mut DbConnection,
    token_id: &str,
    key: &str,
) -> QueryResult<Option<(String, i32, String)>> {
    api_idempotency::table
        .find((token_id, key))
        .select((
            api_idempotency::request_hash,
            api_idempotency::status,
            api_idempotency::body,
        ))
        .first(conn)
        .optional()
}

pub fn keep_answer(
    conn: &mut DbConnection,
    token_id: &str,
    key: &str,
    request_hash: &str,
    status: i32,
    body: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(api_idempotency::table)
        .values((
            api_idempotency::token_id.eq(token_id),
            api_idempotency::key.eq(key),
            api_idempotency::request_hash.eq(request_hash),
            api_idempotency::status.eq(status),
            api_idempotency::body.eq(body),
            api_idempotency::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Forgets idempotency keys older than `before` (a client retries within hours, not weeks).
pub fn forget_answers(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(api_idempotency::table.filter(api_idempotency::created_at.lt(before)))
        .execute(conn)
}
