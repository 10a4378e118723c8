//! The demo: a store to try Mend on (here) and a history of made-up cases (`history`).
//!
//! The demo store a newcomer gets: one location, its touchpoints and a manager.
//! Seeding is idempotent: running it again adds nothing and changes nothing, except that the
//! manager's password is set to the one asked for.

pub mod history;

use crate::db::models::{new_id, now_utc, Location, Touchpoint, User};
use crate::db::queries::{locations, touchpoints, users};
use crate::db::states::Role;
use crate::db::{Db, DbError};
use crate::domain::account::password::{hash_password, verify_password, PasswordError};
use crate::domain::sticker::codes::new_touchpoint_code;

pub const LOCATION_NAME: &str = "Mend Demo Café";
pub const LOCATION_TIME_ZONE: &str = "Europe/Warsaw";
pub const TOUCHPOINT_LABELS: &[&str] = &["Till 2", "Restrooms", "Drive-thru"];
pub const MANAGER_EMAIL: &str = "manager@demo.mend.example";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Password(#[from] PasswordError),
}

impl From<diesel::result::Error> for DemoError {
    fn from(e: diesel::result::Error) -> Self {
        DemoError::Db(DbError::Query(e))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoTouchpoint {
    pub label: String,
    pub code: String,
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct DemoStore {
    pub touchpoints: Vec<DemoTouchpoint>,
    pub manager_email: String,
}

pub fn seed_demo(db: &Db, base_url: &str, manager_password: &str) -> Result<DemoStore, DemoError> {
    // Hash outside the write transaction: argon2 is slow and the writer's turn is shared.
    let existing = db.read(|c| users::find_by_email(c, MANAGER_EMAIL))?;
    let new_hash = match &existing {
        Some(user) if verify_password(&user.password_hash, manager_password) => None,
        _ => Some(hash_password(manager_password)?),
    };

    let tps = db.write(|conn| -> Result<Vec<Touchpoint>, DemoError> {
        let location = match locations::find_by_name(conn, LOCATION_NAME)? {
            Some(l) => l,
            None => {
                let l = Location {
                    id: new_id(),
                    name: LOCATION_NAME.into(),
                    time_zone: LOCATION_TIME_ZONE.into(),
                    default_language: "en".into(),
                    sla_minutes: 15,
                    created_at: now_utc(),
                };
                locations::insert(conn, &l)?;
                l
            }
        };
        let present = touchpoints::for_location(conn, &location.id)?;
        for label in TOUCHPOINT_LABELS {
            if !present.iter().any(|t| t.label == *label) {
                touchpoints::insert(
                    conn,
                    &Touchpoint {
                        id: new_id(),
                        location_id: location.id.clone(),
                        label: (*label).into(),
                        code: new_touchpoint_code(),
                        created_at: now_utc(),
                    },
                )?;
            }
        }
        let manager_id = match (users::find_by_email(conn, MANAGER_EMAIL)?, &new_hash) {
            (Some(user), None) => user.id,
            (Some(user), Some(hash)) => {
                users::set_password_hash(conn, &user.id, hash)?;
                user.id
            }
            (None, hash) => {
                let hash = match hash {
                    Some(h) => h.clone(),
                    None => hash_password(manager_password)?,
                };
                let user = User {
                    id: new_id(),
                    email: MANAGER_EMAIL.into(),
                    password_hash: hash,
                    role: Role::Manager,
                    language: "en".into(),
                    created_at: now_utc(),
                };
                users::insert(conn, &user)?;
                user.id
            }
        };
        users::grant_location(conn, &manager_id, &location.id)?;
        Ok(touchpoints::for_location(conn, &location.id)?)
    })?;

    Ok(DemoStore {
        touchpoints: tps
            .into_iter()
            .map(|t| DemoTouchpoint {
                url: format!("{base_url}/t/{}", t.code),
                label: t.label,
                code: t.code,
            })
            .collect(),
        manager_email: MANAGER_EMAIL.into(),
    })
}
