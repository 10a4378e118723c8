//! The first run: with no account in the database the server prints a signed, expiring
//! `setup <URL>`; the page behind it creates the first admin, the first store and its spots
//! in one transaction. The link stops working the moment any account exists.

use chrono::NaiveDateTime;

use crate::db::models::{new_id, now_utc, Spot, Store, User};
use crate::db::queries::users;
use crate::db::states::Role;
use crate::db::Db;
use crate::domain::account::password::hash_password;
use crate::domain::account::MIN_PASSWORD_CHARS;
use crate::domain::signed_link::{self, LinkError};

use super::audit::{record, Actor};
use super::fields::{self, FieldError, Problem, SetupError};
use super::spots;
use super::stores::{self, StoreInput};

/// How long a printed setup link works.
pub const SETUP_LINK_HOURS: i64 = 24;
const PURPOSE: &str = "first-run-setup";

pub fn needs_setup(db: &Db) -> Result<bool, crate::db::DbError> {
    db.read(|c| users::all(c).map(|u| u.is_empty()))
}

/// `/setup?e=..&s=..` on `base_url`, valid for [`SETUP_LINK_HOURS`].
pub fn link(base_url: &str, key: &[u8], now: NaiveDateTime) -> String {
    let expires = now.and_utc().timestamp() + SETUP_LINK_HOURS * 3600;
    let sig = signed_link::sign(key, PURPOSE, &[], expires);
    format!("{base_url}/setup?e={expires}&s={sig}")
}

pub fn verify(key: &[u8], expires: i64, sig: &str, now: NaiveDateTime) -> Result<(), LinkError> {
    signed_link::verify(key, PURPOSE, &[], expires, sig, now.and_utc().timestamp())
}

/// What the setup page asks for.
#[derive(Debug, Clone, Default)]
pub struct FirstRun {
    pub email: String,
    pub password: String,
    pub store: StoreInput,
    /// Spot labels; empty ones are skipped.
    pub spots: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SetUp {
    pub admin: User,
    pub store: Store,
    pub spots: Vec<Spot>,
}

/// Creates the first admin, store and spots, all or nothing; refused once anyone exists.
pub fn complete(db: &Db, input: &FirstRun) -> Result<SetUp, SetupError> {
    let email = fields::email(&input.email)?;
    if input.password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(FieldError::new("password", Problem::PasswordTooShort, "").into());
    }
    let store = input.store.parse()?;
    let labels: Vec<String> = input
        .spots
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| fields::name("touchpoint", s))
        .collect::<Result<_, _>>()?;
    // Hash outside the write transaction: argon2 is slow and the writer's turn is shared.
    let hash = hash_password(&input.password)?;
    db.write(|c| {
        if !users::all(c)?.is_empty() {
            return Err(FieldError::new("email", Problem::AlreadySetUp, "").into());
        }
        let admin = User {
            id: new_id(),
            email: email.clone(),
            password_hash: hash,
            role: Role::Admin,
            language: store.default_language.clone(),
            created_at: now_utc(),
        };
        users::insert(c, &admin)?;
        let actor = Actor::User {
            id: admin.id.clone(),
            email: admin.email.clone(),
        };
        record(
            c,
            &actor,
            "setup.first_admin",
            &admin.email,
            None::<&()>,
            Some(&admin.email),
        )?;
        stores::insert_checked(c, &actor, &store)?;
        users::grant_location(c, &admin.id, &store.id)?;
        let mut made = Vec::new();
        for label in &labels {
            made.push(spots::insert_checked(c, &actor, &store, label, None)?);
        }
        Ok(SetUp {
            admin,
            store: store.clone(),
            spots: made,
        })
    })
}
