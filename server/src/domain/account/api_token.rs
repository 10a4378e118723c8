//! REST API tokens: made for one person, never able to do more than that person may.
//! A token has a scope (read, write, admin), may be limited to some of its person's
//! stores, may expire, and is revoked at once. Only its SHA-256 is stored: the token is
//! 32 random bytes, so a fast hash is enough (nothing to guess), and a look-up by hash
//! takes one index probe per request instead of a password hash's 50 ms.

use chrono::NaiveDateTime;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::models::{new_id, ApiToken, User};
use crate::db::queries::{api_tokens, stores, users};
use crate::db::states::{Role, TokenScope};
use crate::db::{Db, DbConnection};
use crate::domain::setup::audit::{record, Actor};
use crate::domain::setup::fields::{self, FieldError, Problem, SetupError};

/// Every token starts so: a secret scanner (and a person) knows one when they see it.
pub const TOKEN_PREFIX: &str = "mend_";
/// The longest a token lives (days); none is forever only when asked for.
pub const MAX_DAYS: i64 = 3 * 366;

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A token as asked for.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub email: String,
    pub name: String,
    pub scope: String,
    /// Store names or references; empty: all of the person's stores.
    pub stores: Vec<String>,
    /// Days until it expires; none: it does not.
    pub expires_in_days: Option<i64>,
}

/// The token (shown once) and its row.
pub struct Made {
    pub token: String,
    pub row: ApiToken,
}

pub fn parse_scope(raw: &str) -> Result<TokenScope, FieldError> {
    TokenScope::parse(raw.trim()).ok_or_else(|| FieldError::new("scope", Problem::NotOffered, raw))
}

/// Who makes, sees and revokes tokens.
#[derive(Debug, Clone, Copy)]
pub enum Maker<'a> {
    /// The command line or an admin: anyone's.
    Anyone,
    /// A manager: their own, and those of their stores' staff, reaching their stores
    /// only. Never another manager's or an admin's: a token acts as its person, and a
    /// manager who could hold one for a peer could act in the peer's name.
    Manager { id: &'a str, stores: &'a [String] },
}

impl Maker<'_> {
    /// Whether this maker may see and revoke the token.
    pub fn reaches(&self, token: &ApiToken) -> bool {
        match self {
            Maker::Anyone => true,
            Maker::Manager { id, .. } => {
                token.user_id == *id || token.created_by.as_deref() == Some(*id)
            }
        }
    }
}

/// Makes a token for the person `req.email`, logged.
pub fn make(
    db: &Db,
    actor: &Actor,
    maker: Maker,
    req: &TokenRequest,
    now: NaiveDateTime,
) -> Result<Made, SetupError> {
    let email = fields::email(&req.email)?;
    let name = fields::name("name", &req.name)?;
    let scope = parse_scope(&req.scope)?;
    let expires_at = match req.expires_in_days {
        Some(d) if !(1..=MAX_DAYS).contains(&d) => {
            return Err(FieldError::new("expires", Problem::OutOfRange, &d.to_string()).into())
        }
        Some(d) => Some(now + chrono::Duration::days(d)),
        None => None,
    };
    db.write(|c| {
        let person = users::find_by_email(c, &email)?.ok_or(SetupError::NotFound("person"))?;
        if users::deactivated_at(c, &person.id)?.is_some() {
            return Err(SetupError::NotFound("person"));
        }
        // Provisioning is an admin's work: an admin-scoped token needs an admin.
        if scope == TokenScope::Admin && person.role != Role::Admin {
            return Err(FieldError::new("scope", Problem::NotYours, scope.as_str()).into());
        }
        let theirs = users::location_ids(c, &person.id)?;
        let by_stores = match maker {
            Maker::Anyone => None,
            Maker::Manager { id, stores } => {
                let staff_here =
                    person.role == Role::Staff && theirs.iter().any(|s| stores.contains(s));
                if person.id != id && !staff_here {
                    return Err(FieldError::new("email", Problem::NotYours, &email).into());
                }
                Some(stores)
            }
        };
        let mut ids = Vec::new();
        for key in req
            .stores
            .iter()
            .map(|k| k.trim())
            .filter(|k| !k.is_empty())
        {
            let store = stores::find_by_key(c, key)?
                .ok_or_else(|| FieldError::new("locations", Problem::UnknownStore, key))?;
            let allowed = (person.role == Role::Admin || theirs.contains(&store.id))
                && by_stores.is_none_or(|mine| mine.contains(&store.id));
            if !allowed {
                return Err(FieldError::new("locations", Problem::NotYours, key).into());
            }
            if !ids.contains(&store.id) {
                ids.push(store.id);
            }
        }
        // A manager's token for someone else reaches the manager's stores only.
        if let Some(mine) = by_stores {
            if ids.is_empty() {
                ids = theirs.into_iter().filter(|s| mine.contains(s)).collect();
                if ids.is_empty() {
                    return Err(FieldError::new("locations", Problem::NeedsStore, &email).into());
                }
            }
        }
        let token = new_token();
        let row = ApiToken {
            id: new_id(),
            user_id: person.id.clone(),
            name: name.clone(),
            token_hash: token_hash(&token),
            scope,
            created_by: match actor {
                Actor::User { id, .. } => Some(id.clone()),
                Actor::CommandLine => None,
            },
            created_at: now,
            expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        api_tokens::insert(c, &row, &ids)?;
        record(
            c,
            actor,
            "api_token.create",
            &format!("{email} / {name}"),
            None::<&()>,
            Some(&serde_json::json!({
                "id": row.id, "scope": scope.as_str(), "stores": ids,
                "expires_at": expires_at,
            })),
        )?;
        Ok(Made { token, row })
    })
}

/// Revokes a token, logged; false if it was not active (or not the maker's to revoke).
pub fn revoke(
    db: &Db,
    actor: &Actor,
    maker: Maker,
    id: &str,
    now: NaiveDateTime,
) -> Result<bool, SetupError> {
    db.write(|c| {
        let Some(token) = api_tokens::find(c, id)?.filter(|t| maker.reaches(t)) else {
            return Ok(false);
        };
        if !api_tokens::revoke(c, id, now)? {
            return Ok(false);
        }
        record(
            c,
            actor,
            "api_token.revoke",
            &token.name,
            Some(&serde_json::json!({ "id": token.id })),
            None::<&()>,
        )?;
        Ok(true)
    })
}

/// Who is calling: a token's person, what the token lets them do, and where.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token_id: String,
    pub user: User,
    pub scope: TokenScope,
    /// The stores the caller may see; `None`: every store (an admin's unlimited token).
    pub stores: Option<Vec<String>>,
    /// The token names its stores (else it reaches all of its person's).
    pub limited: bool,
    /// The token's last use was long enough ago to be written down again.
    pub stale_use: bool,
}

impl Caller {
    /// The stores a query must keep to beyond its person's own: a limited token's (or
    /// none: the person's stores are the query's own rule).
    pub fn narrowed_to(&self) -> Option<Vec<String>> {
        self.stores.clone().filter(|_| self.limited)
    }

    pub fn may_see(&self, location_id: &str) -> bool {
        self.stores
            .as_ref()
            .is_none_or(|s| s.iter().any(|id| id == location_id))
    }
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Unknown,
    Revoked,
    Expired,
    /// Its person was deactivated: their tokens stop with their sessions.
    PersonGone,
}

/// The caller a bearer token stands for, read in the caller's transaction.
pub fn authenticate(
    c: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<Result<Caller, Refused>> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
        return Ok(Err(Refused::Unknown));
    }
    let Some((row, user, deactivated_at)) = api_tokens::find_by_hash(c, &token_hash(token))? else {
        return Ok(Err(Refused::Unknown));
    };
    if row.revoked_at.is_some() {
        return Ok(Err(Refused::Revoked));
    }
    if row.expires_at.is_some_and(|at| at <= now) {
        return Ok(Err(Refused::Expired));
    }
    if deactivated_at.is_some() {
        return Ok(Err(Refused::PersonGone));
    }
    let limited = api_tokens::stores(c, &row.id)?;
    let limited_is_empty = limited.is_empty();
    let stores = if user.role == Role::Admin {
        (!limited.is_empty()).then_some(limited)
    } else {
        // Never more than the person's stores today, whatever the token once named.
        let theirs = users::location_ids(c, &user.id)?;
        Some(if limited.is_empty() {
            theirs
        } else {
            limited.into_iter().filter(|s| theirs.contains(s)).collect()
        })
    };
    Ok(Ok(Caller {
        limited: !limited_is_empty,
        token_id: row.id,
        stale_use: row
            .last_used_at
            .is_none_or(|at| now - at >= chrono::Duration::minutes(1)),
        scope: row.scope,
        stores,
        user,
    }))
}

/// The tokens a maker may see, with their person's email, newest first.
pub fn list(c: &mut DbConnection, maker: Maker) -> diesel::QueryResult<Vec<(ApiToken, String)>> {
    Ok(api_tokens::list(c, None)?
        .into_iter()
        .filter(|(t, _)| maker.reaches(t))
        .collect())
}
