//! Spots (touchpoints): add, rename, reorder, retire, and replace a lost sticker. A
//! replaced sticker's code keeps working until it is retired; a retired code shows a
//! polite page that points to the store's other spots.

use crate::db::models::{new_id, now_utc, Spot, Store};
use crate::db::queries::{spots, stores};
use crate::db::{Db, DbConnection};
use crate::domain::sticker::codes::new_touchpoint_code;

use super::audit::{record, Actor};
use super::fields::{self, SetupError};

/// What a sticker's code leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeUse {
    /// The form of a spot in use.
    Open,
    /// A retired spot, a retired old sticker, or a spot of an archived store.
    Retired,
}

/// Whether `code` (a spot's current or previous one) still opens the form.
pub fn code_use(spot: &Spot, store: &Store, code: &str) -> CodeUse {
    let old_sticker_retired =
        spot.previous_code.as_deref() == Some(code) && spot.previous_code_retired_at.is_some();
    if spot.retired_at.is_some() || store.archived_at.is_some() || old_sticker_retired {
        CodeUse::Retired
    } else {
        CodeUse::Open
    }
}

/// A store's spots in sticker order, retired ones left out.
pub fn in_use(c: &mut DbConnection, location_id: &str) -> diesel::QueryResult<Vec<Spot>> {
    Ok(spots::for_location(c, location_id)?
        .into_iter()
        .filter(|s| s.retired_at.is_none())
        .collect())
}

/// A new spot at the end of the store's list, inside the caller's transaction. A retired
/// spot of the same label comes back instead (labels are unique per store).
pub fn insert_checked(
    c: &mut DbConnection,
    actor: &Actor,
    store: &Store,
    label: &str,
    external_ref: Option<&str>,
) -> Result<Spot, SetupError> {
    let label = fields::name("touchpoint", label)?;
    let external_ref = fields::external_ref(external_ref)?;
    let all = spots::for_location(c, &store.id)?;
    // A reference names one spot of a store (the import matches on it).
    if let Some(r) = &external_ref {
        if all
            .iter()
            .any(|s| s.label != label && s.external_ref.as_ref() == Some(r))
        {
            return Err(fields::FieldError::new("ref", fields::Problem::DuplicateRef, r).into());
        }
    }
    if let Some(existing) = all.iter().find(|s| s.label == label) {
        let mut back = existing.clone();
        back.retired_at = None;
        if external_ref.is_some() {
            back.external_ref = external_ref;
        }
        if &back != existing {
            spots::update(c, &back)?;
            record(
                c,
                actor,
                "spot.restore",
                &subject(store, &back),
                Some(existing),
                Some(&back),
            )?;
        }
        return Ok(back);
    }
    let spot = Spot {
        id: new_id(),
        location_id: store.id.clone(),
        label,
        code: new_touchpoint_code(),
        position: all.iter().map(|s| s.position).max().map_or(0, |p| p + 1),
        retired_at: None,
        external_ref,
        previous_code: None,
        previous_code_retired_at: None,
        created_at: now_utc(),
    };
    spots::insert(c, &spot)?;
    record(
        c,
        actor,
        "spot.create",
        &subject(store, &spot),
        None::<&Spot>,
        Some(&spot),
    )?;
    Ok(spot)
}

fn subject(store: &Store, spot: &Spot) -> String {
    format!("{} / {}", store.name, spot.label)
}

pub fn add(db: &Db, actor: &Actor, location_id: &str, label: &str) -> Result<Spot, SetupError> {
    db.write(|c| {
        let store = stores::find(c, location_id)?.ok_or(SetupError::NotFound("store"))?;
        insert_checked(c, actor, &store, label, None)
    })
}

/// Changes one spot with `f` (inside one transaction, logged as `action`).
fn change(
    db: &Db,
    actor: &Actor,
    spot_id: &str,
    action: &str,
    f: impl FnOnce(&mut DbConnection, &mut Spot) -> Result<(), SetupError>,
) -> Result<Spot, SetupError> {
    db.write(|c| {
        let before = spots::find(c, spot_id)?.ok_or(SetupError::NotFound("spot"))?;
        let store = stores::find(c, &before.location_id)?.ok_or(SetupError::NotFound("store"))?;
        let mut after = before.clone();
        f(c, &mut after)?;
        if after != before {
            spots::update(c, &after)?;
            record(
                c,
                actor,
                action,
                &subject(&store, &after),
                Some(&before),
                Some(&after),
            )?;
        }
        Ok(after)
    })
}

pub fn rename(db: &Db, actor: &Actor, spot_id: &str, label: &str) -> Result<Spot, SetupError> {
    let label = fields::name("touchpoint", label)?;
    change(db, actor, spot_id, "spot.rename", |c, spot| {
        let taken = spots::for_location(c, &spot.location_id)?
            .into_iter()
            .any(|s| s.label == label && s.id != spot.id);
        if taken {
            return Err(fields::FieldError::new(
                "touchpoint",
                fields::Problem::DuplicateName,
                &label,
            )
            .into());
        }
        spot.label = label;
        Ok(())
    })
}

/// Moves a spot one place up (`-1`) or down (`1`) in its store's sticker order.
pub fn shift(db: &Db, actor: &Actor, spot_id: &str, by: i32) -> Result<(), SetupError> {
    db.write(|c| {
        let spot = spots::find(c, spot_id)?.ok_or(SetupError::NotFound("spot"))?;
        let mut all = spots::for_location(c, &spot.location_id)?;
        let Some(at) = all.iter().position(|s| s.id == spot.id) else {
            return Ok(());
        };
        let to = at as i64 + i64::from(by);
        if to < 0 || to >= all.len() as i64 {
            return Ok(());
        }
        all.swap(at, to as usize);
        let store = stores::find(c, &spot.location_id)?.ok_or(SetupError::NotFound("store"))?;
        for (i, s) in all.iter_mut().enumerate() {
            if s.position != i as i32 {
                s.position = i as i32;
                spots::update(c, s)?;
            }
        }
        let order: Vec<&str> = all.iter().map(|s| s.label.as_str()).collect();
        record(
            c,
            actor,
            "spot.reorder",
            &store.name,
            None::<&()>,
            Some(&order),
        )?;
        Ok(())
    })
}

/// Retires by code: a spot's current code retires the spot; the code of a sticker it
/// replaced retires only that old sticker.
pub fn retire_code(db: &Db, actor: &Actor, code: &str) -> Result<Spot, SetupError> {
    let code = code.trim().to_ascii_uppercase();
    let spot_id = db
        .read(|c| spots::find_by_any_code(c, &code))?
        .ok_or(SetupError::NotFound("touchpoint"))?
        .id;
    set_retired(db, actor, &spot_id, Some(&code), true)
}

/// Retires (or brings back) a spot; with `code` naming its old sticker, only that one.
pub fn set_retired(
    db: &Db,
    actor: &Actor,
    spot_id: &str,
    code: Option<&str>,
    retired: bool,
) -> Result<Spot, SetupError> {
    let action = if retired {
        "spot.retire"
    } else {
        "spot.restore"
    };
    change(db, actor, spot_id, action, |_, spot| {
        let now = retired.then(now_utc);
        if code.is_some() && spot.previous_code.as_deref() == code {
            spot.previous_code_retired_at = now.or(None);
        } else {
            spot.retired_at = if retired {
                spot.retired_at.or(now)
            } else {
                None
            };
        }
        Ok(())
    })
}

/// A new sticker for a spot (lost or vandalised): a new code; the old one keeps working
/// until it is retired. Replacing again forgets the oldest code.
pub fn replace(db: &Db, actor: &Actor, code: &str) -> Result<Spot, SetupError> {
    let code = code.trim().to_ascii_uppercase();
    let spot = db
        .read(|c| spots::find_by_any_code(c, &code))?
        .filter(|s| s.code == code && s.retired_at.is_none())
        .ok_or(SetupError::NotFound("touchpoint"))?;
    change(db, actor, &spot.id, "spot.replace_sticker", |_, spot| {
        spot.previous_code = Some(std::mem::replace(&mut spot.code, new_touchpoint_code()));
        spot.previous_code_retired_at = None;
        Ok(())
    })
}
