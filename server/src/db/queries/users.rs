use diesel::prelude::*;

use crate::db::models::{User, UserLocation};
use crate::db::schema::{user_locations, users};
use crate::db::states::Role;
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, user: &User) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)
        .map(|_| ())
}

/// Emails are stored lower-cased; callers pass the normalised form.
pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn set_password_hash(conn: &mut DbConnection, user_id: &str, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
        .map(|_| ())
}

/// Gives a user a location; giving it again changes nothing.
pub fn grant_location(
    conn: &mut DbConnection,
    user_id: &str,
    location_id: &str,
) -> QueryResult<()> {
    let already = user_locations::table
        .find((user_id, location_id))
        .select(UserLocation::as_select())
        .first(conn)
        .optional()?;
    if already.is_none() {
        diesel::insert_into(user_locations::table)
            .values(UserLocation {
                user_id: user_id.to_owned(),
                location_id: location_id.to_owned(),
            })
            .execute(conn)?;
    }
    Ok(())
}

pub fn location_ids(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<String>> {
    user_locations::table
        .filter(user_locations::user_id.eq(user_id))
        .select(user_locations::location_id)
        .order(user_locations::location_id.asc())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// Active users of a role who work at a location, by email.
pub fn with_role_at(
    conn: &mut DbConnection,
    location_id: &str,
    roles: &[Role],
) -> QueryResult<Vec<User>> {
    users::table
        .inner_join(user_locations::table)
        .filter(user_locations::location_id.eq(location_id))
        .filter(users::role.eq_any(roles))
        .filter(users::deactivated_at.is_null())
        .order(users::email.asc())
        .select(User::as_select())
        .load(conn)
}

/// Active users of a role, wherever they work, by email.
pub fn with_role(conn: &mut DbConnection, role: Role) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::role.eq(role))
        .filter(users::deactivated_at.is_null())
        .order(users::email.asc())
        .select(User::as_select())
        .load(conn)
}

/// (email, language) of the users among `emails`.
pub fn languages_of(
    conn: &mut DbConnection,
    emails: &[String],
) -> QueryResult<Vec<(String, String)>> {
    users::table
        .filter(users::email.eq_any(emails))
        .select((users::email, users::language))
        .load(conn)
}

/// Every account, by email.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<User>> {
    users::table
        .order(users::email.asc())
        .select(User::as_select())
        .load(conn)
}

/// Deactivates (`Some(now)`) or reactivates (`None`) an account; false when none has the id.
pub fn set_deactivated(
    conn: &mut DbConnection,
    user_id: &str,
    at: Option<chrono::NaiveDateTime>,
) -> QueryResult<bool> {
    diesel::update(users::table.find(user_id))
        .set(users::deactivated_at.eq(at))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn deactivated_at(
    conn: &mut DbConnection,
    user_id: &str,
) -> QueryResult<Option<chrono::NaiveDateTime>> {
    users::table
        .find(user_id)
        .select(users::deactivated_at)
        .first(conn)
        .optional()
        .map(Option::flatten)
}

/// The deactivated accounts among these addresses.
pub fn deactivated_among(conn: &mut DbConnection, emails: &[String]) -> QueryResult<Vec<String>> {
    users::table
        .filter(users::email.eq_any(emails))
        .filter(users::deactivated_at.is_not_null())
        .select(users::email)
        .load(conn)
}

pub fn set_role_and_language(
    conn: &mut DbConnection,
    user_id: &str,
    role: &str,
    language: &str,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((users::role.eq(role), users::language.eq(language)))
        .execute(conn)
        .map(|_| ())
}

/// Gives a user exactly these locations.
pub fn set_locations(
    conn: &mut DbConnection,
    user_id: &str,
    location_ids: &[String],
) -> QueryResult<()> {
    diesel::delete(user_locations::table.filter(user_locations::user_id.eq(user_id)))
        .execute(conn)?;
    for id in location_ids {
        grant_location(conn, user_id, id)?;
    }
    Ok(())
}

/// (user id, location id, location name) of every user's locations, by location name:
/// the people page and a people import read them once, not once per person.
pub fn all_location_links(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, String)>> {
    use crate::db::schema::locations;
    user_locations::table
        .inner_join(locations::table)
        .order(locations::name.asc())
        .select((
            user_locations::user_id,
            user_locations::location_id,
            locations::name,
        ))
        .load(conn)
}

/// The ids of every deactivated account.
pub fn deactivated_ids(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    users::table
        .filter(users::deactivated_at.is_not_null())
        .select(users::id)
        .load(conn)
}

pub fn set_language(conn: &mut DbConnection, user_id: &str, language: &str) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::language.eq(language))
        .execute(conn)?;
    Ok(())
}

/// (id, email) of these people.
pub fn emails(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::email))
        .load(conn)
}
