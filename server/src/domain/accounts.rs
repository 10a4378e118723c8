//! Staff accounts: creating one with every input checked first (address, role, language,
//! locations), the password hashed before the write transaction takes the writer's turn.

use crate::db::models::{new_id, now_utc, User};
use crate::db::queries::{locations, users};
use crate::db::{Db, DbError};
use crate::domain::complaint::ContactEmail;
use crate::domain::language::Language;
use crate::domain::password::{hash_password, PasswordError};
use crate::domain::role::Role;

/// Shorter passwords are refused: OWASP's minimum for accounts without a second factor.
pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub role: String,
    /// Location names; staff and managers need at least one.
    pub locations: Vec<String>,
    pub language: String,
    pub password: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Password(#[from] PasswordError),
}

impl From<diesel::result::Error> for AccountError {
    fn from(e: diesel::result::Error) -> Self {
        AccountError::Db(e.into())
    }
}

pub fn check_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::Invalid(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

pub fn add_user(db: &Db, new: &NewUser) -> Result<User, AccountError> {
    let invalid = AccountError::Invalid;
    let email = ContactEmail::parse(&new.email)
        .map_err(|_| invalid(format!("\"{}\" is not an email address", new.email)))?;
    let role = Role::parse(new.role.trim()).ok_or_else(|| {
        invalid(format!(
            "\"{}\" is not a role: use staff, manager or admin",
            new.role
        ))
    })?;
    let language = Language::parse(&new.language).ok_or_else(|| {
        invalid(format!(
            "\"{}\" is not a language Mend speaks (en, ko, ja, pl)",
            new.language
        ))
    })?;
    if role != Role::Admin && new.locations.is_empty() {
        return Err(invalid(format!(
            "a {} needs at least one --location",
            role.as_str()
        )));
    }
    check_password(&new.password)?;
    let hash = hash_password(&new.password)?;
    db.write(|c| -> Result<User, AccountError> {
        if users::find_by_email(c, email.as_str())?.is_some() {
            return Err(invalid(format!(
                "{} already has an account",
                email.as_str()
            )));
        }
        let mut location_ids = Vec::new();
        for name in &new.locations {
            let location = locations::find_by_name(c, name)?
                .ok_or_else(|| invalid(format!("no location is named \"{name}\"")))?;
            location_ids.push(location.id);
        }
        let user = User {
            id: new_id(),
            email: email.as_str().to_owned(),
            password_hash: hash,
            role: role.as_str().to_owned(),
            language: language.code().to_owned(),
            created_at: now_utc(),
        };
        users::insert(c, &user)?;
        for id in &location_ids {
            users::grant_location(c, &user.id, id)?;
        }
        Ok(user)
    })
}
