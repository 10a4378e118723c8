//! People who sign in: their accounts (here), what each role may open (`access`; the
//! roles themselves are `db::states::Role`), passwords and the signed links that set them.
//!
//! Staff accounts: creating one with every input checked first (address, role, language,
//! locations), the password hashed before the write transaction takes the writer's turn.

pub mod access;
pub mod api_token;
pub mod password;
pub mod password_link;

use crate::db::models::{new_id, now_utc, User};
use crate::db::queries::{locations, users};
use crate::db::states::MailKind;
use crate::db::states::Role;
use crate::db::{Db, DbConnection, DbError};
use crate::domain::account::password::{hash_password, PasswordError};
use crate::domain::case::complaint::ContactEmail;
use crate::domain::language::Language;

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
    /// Refused, for a reason the person can act on: a catalog key (`account_error.*`).
    #[error("{0}")]
    Invalid(crate::domain::language::Refusal),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Password(#[from] PasswordError),
}

impl AccountError {
    /// What a person reads: the reason in their language.
    pub fn text(&self, lang: crate::domain::language::Language) -> String {
        match self {
            AccountError::Invalid(refusal) => refusal.text(lang),
            other => other.to_string(),
        }
    }
}

fn invalid(key: &'static str) -> AccountError {
    AccountError::Invalid(crate::domain::language::Refusal::new(key))
}

fn invalid_with(key: &'static str, name: &'static str, value: &str) -> AccountError {
    AccountError::Invalid(crate::domain::language::Refusal::new(key).with(name, value))
}

impl From<diesel::result::Error> for AccountError {
    fn from(e: diesel::result::Error) -> Self {
        AccountError::Db(e.into())
    }
}

pub fn check_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::Invalid(
            crate::domain::language::Refusal::new("account_error.too_short")
                .with("min", MIN_PASSWORD_CHARS.to_string()),
        ));
    }
    Ok(())
}

pub fn add_user(db: &Db, new: &NewUser) -> Result<User, AccountError> {
    let email = ContactEmail::parse(&new.email)
        .map_err(|_| invalid_with("account_error.not_email", "email", &new.email))?;
    let role = Role::parse(new.role.trim())
        .ok_or_else(|| invalid_with("account_error.not_role", "role", &new.role))?;
    let language = Language::parse(&new.language)
        .ok_or_else(|| invalid_with("account_error.not_language", "language", &new.language))?;
    if role != Role::Admin && new.locations.is_empty() {
        return Err(invalid("account_error.needs_location_flag"));
    }
    check_password(&new.password)?;
    let hash = hash_password(&new.password)?;
    db.write(|c| -> Result<User, AccountError> {
        if users::find_by_email(c, email.as_str())?.is_some() {
            return Err(invalid_with("account_error.taken", "email", email.as_str()));
        }
        let mut location_ids = Vec::new();
        for name in &new.locations {
            let location = locations::find_by_name(c, name)?
                .ok_or_else(|| invalid_with("account_error.no_location_named", "name", name))?;
            location_ids.push(location.id);
        }
        let user = User {
            id: new_id(),
            email: email.as_str().to_owned(),
            password_hash: hash,
            role,
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

/// What an admin fills in to invite someone.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub email: String,
    pub role: String,
    pub location_ids: Vec<String>,
    pub language: String,
}

/// An invitation checked, with the password hash nobody knows made before the write
/// transaction takes the writer's turn.
pub struct CheckedInvitation {
    email: String,
    role: Role,
    language: Language,
    location_ids: Vec<String>,
    hash: String,
}

pub fn check_invitation(invitation: &Invitation) -> Result<CheckedInvitation, AccountError> {
    let email = ContactEmail::parse(&invitation.email)
        .map_err(|_| invalid_with("account_error.not_email", "email", &invitation.email))?;
    let role =
        Role::parse(invitation.role.trim()).ok_or_else(|| invalid("account_error.choose_role"))?;
    let language = Language::parse(&invitation.language)
        .ok_or_else(|| invalid("account_error.choose_language"))?;
    if role != Role::Admin && invitation.location_ids.is_empty() {
        return Err(invalid("account_error.needs_location"));
    }
    // Nobody knows this password: the invitation's link is the way in.
    let mut unknown = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut unknown);
    Ok(CheckedInvitation {
        email: email.as_str().to_owned(),
        role,
        language,
        location_ids: invitation.location_ids.clone(),
        hash: hash_password(&hex::encode(unknown))?,
    })
}

/// Creates the account (with a password nobody knows) and queues the invitation with its
/// set-password link, in one transaction.
pub fn invite(
    db: &Db,
    invitation: &Invitation,
    now: chrono::NaiveDateTime,
) -> Result<User, AccountError> {
    let checked = check_invitation(invitation)?;
    db.write(|c| invite_in(c, &checked, now))
}

/// [`invite`] inside the caller's transaction.
pub fn invite_in(
    c: &mut DbConnection,
    checked: &CheckedInvitation,
    now: chrono::NaiveDateTime,
) -> Result<User, AccountError> {
    use crate::domain::mail::PasswordMail;
    if users::find_by_email(c, &checked.email)?.is_some() {
        return Err(invalid_with("account_error.taken", "email", &checked.email));
    }
    for id in &checked.location_ids {
        if locations::find(c, id)?.is_none() {
            return Err(invalid("account_error.no_location"));
        }
    }
    let user = User {
        id: new_id(),
        email: checked.email.clone(),
        password_hash: checked.hash.clone(),
        role: checked.role,
        language: checked.language.code().to_owned(),
        created_at: now,
    };
    users::insert(c, &user)?;
    for id in &checked.location_ids {
        users::grant_location(c, &user.id, id)?;
    }
    queue_password_mail(c, &user, PasswordMail::Invite, now)?;
    Ok(user)
}

/// Queues a set-password email (an invitation, or a reset) for `user`; its link expires
/// a week or an hour from `now`.
pub(crate) fn queue_password_mail(
    c: &mut crate::db::DbConnection,
    user: &User,
    mail: crate::domain::mail::PasswordMail,
    now: chrono::NaiveDateTime,
) -> Result<(), AccountError> {
    use crate::domain::account::password_link::{INVITE_VALID, RESET_VALID};
    use crate::domain::mail::PasswordMail;
    use crate::domain::mail::{enqueue, Enqueue, MailPayload};
    let (valid, dedupe) = match mail {
        PasswordMail::Invite => (INVITE_VALID, format!("invite:{}", user.id)),
        PasswordMail::Reset => (RESET_VALID, format!("reset:{}:{now}", user.id)),
    };
    enqueue(
        c,
        Enqueue {
            kind: mail.mail_kind(),
            recipient: &user.email,
            payload: &MailPayload::PasswordMail {
                user_id: user.id.clone(),
                mail,
                expires: (now + valid).and_utc().timestamp(),
            },
            dedupe_key: dedupe,
            case_id: None,
            now,
        },
    )?;
    Ok(())
}

/// Sends an invitation again (a new set-password link, valid a week) to an active account.
pub fn resend_invitation(
    db: &Db,
    user_id: &str,
    now: chrono::NaiveDateTime,
) -> Result<(), AccountError> {
    use crate::domain::account::password_link::INVITE_VALID;
    use crate::domain::mail::PasswordMail;
    use crate::domain::mail::{enqueue, Enqueue, MailPayload};
    db.write(|c| -> Result<(), AccountError> {
        let Some(user) = users::find(c, user_id)? else {
            return Err(invalid("account_error.no_account"));
        };
        if users::deactivated_at(c, &user.id)?.is_some() {
            return Err(invalid("account_error.deactivated"));
        }
        enqueue(
            c,
            Enqueue {
                kind: MailKind::Invitation,
                recipient: &user.email,
                payload: &MailPayload::PasswordMail {
                    user_id: user.id.clone(),
                    mail: PasswordMail::Invite,
                    expires: (now + INVITE_VALID).and_utc().timestamp(),
                },
                // One per resend (the first invitation's key is `invite:{id}`).
                dedupe_key: format!("invite:{}:{now}", user.id),
                case_id: None,
                now,
            },
        )?;
        Ok(())
    })
}

/// Queues a reset link for the account with this email, if there is one. The caller
/// answers the same either way, so nobody learns which addresses have accounts.
pub fn request_reset(db: &Db, email: &str, now: chrono::NaiveDateTime) -> Result<(), AccountError> {
    use crate::domain::mail::PasswordMail;
    let email = email.trim().to_lowercase();
    db.write(|c| -> Result<(), AccountError> {
        let Some(user) = users::find_by_email(c, &email)? else {
            return Ok(());
        };
        if users::deactivated_at(c, &user.id)?.is_some() {
            return Ok(());
        }
        queue_password_mail(c, &user, PasswordMail::Reset, now)?;
        Ok(())
    })
}

/// Sets a new password through a set-password link. The link is checked again inside the
/// transaction, against the hash as stored, so two uses racing each other cannot both win.
pub fn set_password_by_link(
    db: &Db,
    key: &[u8],
    user_id: &str,
    expires: i64,
    signature: &str,
    new_password: &str,
    now: chrono::NaiveDateTime,
) -> Result<User, AccountError> {
    check_password(new_password)?;
    // The link first: a bogus post costs a lookup, not a password hash (which is slow on
    // purpose, and would let anyone keep the server's CPU busy).
    let valid = |c: &mut DbConnection| -> Result<User, AccountError> {
        let user = users::find(c, user_id)?.ok_or_else(|| invalid("account_error.link_invalid"))?;
        crate::domain::account::password_link::verify(key, &user, expires, signature, now)
            .map_err(|e| {
                invalid(match e {
                    crate::domain::signed_link::LinkError::Expired => "account_error.link_expired",
                    crate::domain::signed_link::LinkError::Invalid => "account_error.link_used",
                })
            })?;
        if users::deactivated_at(c, &user.id)?.is_some() {
            return Err(invalid("account_error.deactivated_ask"));
        }
        Ok(user)
    };
    db.read(|c| Ok(valid(c)))??;
    let hash = hash_password(new_password)?;
    db.write(|c| -> Result<User, AccountError> {
        let user = valid(c)?;
        users::set_password_hash(c, &user.id, &hash)?;
        // A new password ends every session: a stolen cookie dies with the old password.
        crate::db::queries::sessions::end_all_of(c, &user.id, None, now)?;
        Ok(User {
            password_hash: hash,
            ..user
        })
    })
}
