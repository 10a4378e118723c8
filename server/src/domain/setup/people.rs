//! People: list, change role, stores and language, deactivate and reactivate. Deactivating
//! someone takes effect at once: their sessions end, alerts and escalations skip them
//! (`alerts::Audience` leaves them out), their open cases go back to the store's queue with
//! an event, and history keeps their name.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::db::models::{CaseEvent, User};
use crate::db::queries::{cases, sessions, stores, users};
use crate::db::states::EventKind;
use crate::db::states::Role;
use crate::db::{Db, DbConnection};

use super::audit::{record, Actor};
use super::fields::{self, FieldError, Problem, SetupError};

/// A person as the people page and `user list` show them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub language: String,
    /// Store names.
    pub stores: Vec<String>,
    pub store_ids: Vec<String>,
    pub active: bool,
}

fn person(c: &mut DbConnection, u: User) -> diesel::QueryResult<Person> {
    let places = stores::for_user(c, &u.id)?;
    let active = users::deactivated_at(c, &u.id)?.is_none();
    Ok(Person {
        stores: places.iter().map(|s| s.name.clone()).collect(),
        store_ids: places.into_iter().map(|s| s.id).collect(),
        id: u.id,
        email: u.email,
        role: u.role,
        language: u.language,
        active,
    })
}

/// Everyone, by email; with `only_stores`, only people of those stores (a manager's view).
/// Three queries whatever the number of people.
pub fn list(
    c: &mut DbConnection,
    only_stores: Option<&[String]>,
) -> diesel::QueryResult<Vec<Person>> {
    let mut links: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for (user_id, location_id, name) in users::all_location_links(c)? {
        links.entry(user_id).or_default().push((location_id, name));
    }
    let deactivated: HashSet<String> = users::deactivated_ids(c)?.into_iter().collect();
    let mut out = Vec::new();
    for u in users::all(c)? {
        let places = links.remove(&u.id).unwrap_or_default();
        let p = Person {
            stores: places.iter().map(|(_, name)| name.clone()).collect(),
            store_ids: places.into_iter().map(|(id, _)| id).collect(),
            active: !deactivated.contains(&u.id),
            id: u.id,
            email: u.email,
            role: u.role,
            language: u.language,
        };
        let visible = match only_stores {
            None => true,
            Some(mine) => p.role != Role::Admin && p.store_ids.iter().any(|s| mine.contains(s)),
        };
        if visible {
            out.push(p);
        }
    }
    Ok(out)
}

pub fn find(c: &mut DbConnection, email: &str) -> Result<Person, SetupError> {
    let email = fields::email(email)?;
    let user = users::find_by_email(c, &email)?.ok_or(SetupError::NotFound("person"))?;
    Ok(person(c, user)?)
}

/// What to change about a person; None leaves it as it is.
#[derive(Debug, Clone, Default)]
pub struct PersonChange {
    pub role: Option<String>,
    /// Store references or names.
    pub stores: Option<Vec<String>>,
    pub language: Option<String>,
}

/// Store ids for names or references; every one must exist.
pub fn resolve_stores(c: &mut DbConnection, keys: &[String]) -> Result<Vec<String>, SetupError> {
    let mut ids = Vec::new();
    for key in keys.iter().map(|k| k.trim()).filter(|k| !k.is_empty()) {
        let store = stores::find_by_key(c, key)?
            .ok_or_else(|| FieldError::new("locations", Problem::UnknownStore, key))?;
        if !ids.contains(&store.id) {
            ids.push(store.id);
        }
    }
    Ok(ids)
}

/// Applies a change inside the caller's transaction, logged; `scope` limits which stores
/// a manager may hand out. Returns the person as they are now.
pub fn apply_change(
    c: &mut DbConnection,
    actor: &Actor,
    email: &str,
    change: &PersonChange,
    scope: Option<&[String]>,
) -> Result<Person, SetupError> {
    let before = find(c, email)?;
    let role = match &change.role {
        Some(r) => fields::role(r)?,
        None => before.role,
    };
    let language = match &change.language {
        Some(l) => fields::language(l)?.code().to_owned(),
        None => before.language.clone(),
    };
    let store_ids = match &change.stores {
        Some(keys) => resolve_stores(c, keys)?,
        None => before.store_ids.clone(),
    };
    if let Some(mine) = scope {
        if role != Role::Staff || store_ids.iter().any(|s| !mine.contains(s)) {
            return Err(FieldError::new("role", Problem::NotYours, role.as_str()).into());
        }
    }
    if role != Role::Admin && store_ids.is_empty() {
        return Err(FieldError::new("locations", Problem::NeedsStore, "").into());
    }
    users::set_role_and_language(c, &before.id, role.as_str(), &language)?;
    users::set_locations(c, &before.id, &store_ids)?;
    let after = find(c, email)?;
    if after != before {
        record(
            c,
            actor,
            "person.edit",
            &after.email,
            Some(&before),
            Some(&after),
        )?;
    }
    Ok(after)
}

pub fn edit(
    db: &Db,
    actor: &Actor,
    email: &str,
    change: &PersonChange,
) -> Result<Person, SetupError> {
    db.write(|c| apply_change(c, actor, email, change, None))
}

/// How a deactivation went.
#[derive(Debug, Clone, PartialEq)]
pub struct Deactivated {
    pub person: Person,
    pub sessions_ended: usize,
    /// References of the cases that went back to their store's queue.
    pub cases_returned: Vec<String>,
}

/// Locks someone out at once (see the module's doc). Doing it twice changes nothing more.
pub fn deactivate(
    db: &Db,
    actor: &Actor,
    email: &str,
    now: NaiveDateTime,
) -> Result<Deactivated, SetupError> {
    db.write(|c| {
        let before = find(c, email)?;
        if let Actor::User { id, .. } = actor {
            if *id == before.id {
                return Err(FieldError::new("email", Problem::NotYours, email).into());
            }
        }
        let mut returned = Vec::new();
        if before.active {
            users::set_deactivated(c, &before.id, Some(now))?;
            for case in cases::open_assigned_to(c, &before.id)? {
                cases::unassign(c, &case.id)?;
                cases::add_event(
                    c,
                    &CaseEvent::new(
                        &case.id,
                        match actor {
                            Actor::User { id, .. } => Some(id.as_str()),
                            Actor::CommandLine => None,
                        },
                        EventKind::ReturnedToQueue,
                        serde_json::json!({ "from": before.email, "reason": "deactivated" }),
                        now,
                    ),
                )?;
                returned.push(case.reference);
            }
        }
        let sessions_ended = sessions::end_all_of(c, &before.id, None, now)?;
        let person = find(c, email)?;
        if person != before {
            record(
                c,
                actor,
                "person.deactivate",
                &person.email,
                Some(&before),
                Some(&person),
            )?;
        }
        Ok(Deactivated {
            person,
            sessions_ended,
            cases_returned: returned,
        })
    })
}

pub fn reactivate(db: &Db, actor: &Actor, email: &str) -> Result<Person, SetupError> {
    db.write(|c| {
        let before = find(c, email)?;
        if !before.active {
            users::set_deactivated(c, &before.id, None)?;
        }
        let person = find(c, email)?;
        if person != before {
            record(
                c,
                actor,
                "person.reactivate",
                &person.email,
                Some(&before),
                Some(&person),
            )?;
        }
        Ok(person)
    })
}
