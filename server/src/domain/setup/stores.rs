//! Stores: create, edit, archive. A store is matched by its external reference, else its
//! name, wherever people or files name one.

use crate::db::models::{new_id, now_utc, Store};
use crate::db::queries::stores;
use crate::db::{Db, DbConnection};

use super::audit::{record, Actor};
use super::fields::{self, FieldError, Problem, SetupError};

/// A store as typed: every field raw, checked by [`StoreInput::parse`].
#[derive(Debug, Clone, Default)]
pub struct StoreInput {
    pub name: String,
    pub address: Option<String>,
    pub region: Option<String>,
    pub time_zone: String,
    pub language: String,
    /// None: the usual currency of the time zone's country.
    pub currency: Option<String>,
    /// None: 15 minutes.
    pub sla_minutes: Option<String>,
    pub external_ref: Option<String>,
}

/// What to change about a store; None leaves a field as it is, and an empty text clears
/// an optional one.
#[derive(Debug, Clone, Default)]
pub struct StoreChange {
    pub name: Option<String>,
    pub address: Option<String>,
    pub region: Option<String>,
    pub time_zone: Option<String>,
    pub language: Option<String>,
    pub currency: Option<String>,
    pub sla_minutes: Option<String>,
    pub external_ref: Option<String>,
}

pub const DEFAULT_SLA_MINUTES: i32 = 15;

impl StoreInput {
    /// The store this input describes (a new id), or the first field that is wrong.
    pub fn parse(&self) -> Result<Store, FieldError> {
        let time_zone = fields::time_zone(&self.time_zone)?;
        let currency = match self.currency.as_deref().map(str::trim) {
            Some(c) if !c.is_empty() => fields::currency(c)?,
            _ => fields::default_currency(&time_zone).to_owned(),
        };
        Ok(Store {
            id: new_id(),
            name: fields::name("name", &self.name)?,
            address: fields::optional("address", self.address.as_deref())?,
            region: fields::optional("region", self.region.as_deref())?,
            default_language: fields::language(&self.language)?.code().to_owned(),
            time_zone,
            currency,
            sla_minutes: match self.sla_minutes.as_deref().map(str::trim) {
                Some(s) if !s.is_empty() => fields::sla_minutes(s)?,
                _ => DEFAULT_SLA_MINUTES,
            },
            external_ref: fields::external_ref(self.external_ref.as_deref())?,
            archived_at: None,
            created_at: now_utc(),
        })
    }
}

impl StoreChange {
    /// `store` with this change applied, or the first field that is wrong.
    pub fn apply_to(&self, store: &Store) -> Result<Store, FieldError> {
        let mut s = store.clone();
        if let Some(v) = &self.name {
            s.name = fields::name("name", v)?;
        }
        if let Some(v) = &self.address {
            s.address = fields::optional("address", Some(v))?;
        }
        if let Some(v) = &self.region {
            s.region = fields::optional("region", Some(v))?;
        }
        if let Some(v) = &self.time_zone {
            s.time_zone = fields::time_zone(v)?;
        }
        if let Some(v) = &self.language {
            s.default_language = fields::language(v)?.code().to_owned();
        }
        if let Some(v) = &self.currency {
            s.currency = fields::currency(v)?;
        }
        if let Some(v) = &self.sla_minutes {
            s.sla_minutes = fields::sla_minutes(v)?;
        }
        if let Some(v) = &self.external_ref {
            s.external_ref = fields::external_ref(Some(v))?;
        }
        Ok(s)
    }
}

/// Refuses a name or reference another store already has.
pub fn check_unique(c: &mut DbConnection, store: &Store) -> Result<(), SetupError> {
    for other in [
        stores::find_by_key(c, &store.name)?,
        match &store.external_ref {
            Some(r) => stores::find_by_key(c, r)?,
            None => None,
        },
    ]
    .into_iter()
    .flatten()
    {
        if other.id == store.id {
            continue;
        }
        if other.name == store.name {
            return Err(FieldError::new("name", Problem::DuplicateName, &store.name).into());
        }
        if other.external_ref.is_some() && other.external_ref == store.external_ref {
            let r = store.external_ref.as_deref().unwrap_or_default();
            return Err(FieldError::new("ref", Problem::DuplicateRef, r).into());
        }
    }
    Ok(())
}

pub fn add(db: &Db, actor: &Actor, input: &StoreInput) -> Result<Store, SetupError> {
    let store = input.parse()?;
    db.write(|c| {
        insert_checked(c, actor, &store)?;
        Ok(store.clone())
    })
}

/// Inserts a parsed store inside the caller's transaction, logged.
pub fn insert_checked(
    c: &mut DbConnection,
    actor: &Actor,
    store: &Store,
) -> Result<(), SetupError> {
    check_unique(c, store)?;
    stores::insert(c, store)?;
    record(
        c,
        actor,
        "store.create",
        &store.name,
        None::<&Store>,
        Some(store),
    )?;
    Ok(())
}

pub fn edit(db: &Db, actor: &Actor, id: &str, change: &StoreChange) -> Result<Store, SetupError> {
    db.write(|c| {
        let before = stores::find(c, id)?.ok_or(SetupError::NotFound("store"))?;
        let after = change.apply_to(&before)?;
        update_checked(c, actor, &before, &after)?;
        Ok(after)
    })
}

/// Writes `after` over `before` inside the caller's transaction, logged; nothing when
/// they are equal.
pub fn update_checked(
    c: &mut DbConnection,
    actor: &Actor,
    before: &Store,
    after: &Store,
) -> Result<(), SetupError> {
    if before == after {
        return Ok(());
    }
    check_unique(c, after)?;
    stores::update(c, after)?;
    record(
        c,
        actor,
        "store.edit",
        &after.name,
        Some(before),
        Some(after),
    )?;
    Ok(())
}

/// Archives (or with `archived: false`, restores) a store: its history stays, its
/// stickers show a polite page instead of the form.
pub fn set_archived(db: &Db, actor: &Actor, id: &str, archived: bool) -> Result<Store, SetupError> {
    db.write(|c| {
        let before = stores::find(c, id)?.ok_or(SetupError::NotFound("store"))?;
        let mut after = before.clone();
        after.archived_at = if archived {
            before.archived_at.or_else(|| Some(now_utc()))
        } else {
            None
        };
        if after != before {
            stores::set_archived(c, id, after.archived_at)?;
            let action = if archived {
                "store.archive"
            } else {
                "store.restore"
            };
            record(c, actor, action, &after.name, Some(&before), Some(&after))?;
        }
        Ok(after)
    })
}

/// A store by external reference or name.
pub fn resolve(c: &mut DbConnection, key: &str) -> Result<Store, SetupError> {
    stores::find_by_key(c, key.trim())?
        .ok_or_else(|| FieldError::new("location", Problem::UnknownStore, key).into())
}

/// [`resolve`] on a connection of its own (for callers outside a transaction).
pub fn named(db: &Db, key: &str) -> Result<Store, SetupError> {
    db.read(|c| Ok(resolve(c, key)))?
}
