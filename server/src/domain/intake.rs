//! Taking in a complaint: one transaction writes the case and its first timeline event, so
//! a success answer always means both are stored. A second post of the same form render
//! (a double tap) finds the first case instead of making another.

use crate::db::models::{new_id, now_utc, Case, CaseEvent, Location, Touchpoint};
use crate::db::queries::cases;
use crate::db::{Db, DbError};
use crate::domain::complaint::Complaint;
use crate::domain::language::Language;
use crate::domain::photo;
use crate::domain::reference::{new_reference, status_token, token_hash};

pub struct Submission<'a> {
    pub location: &'a Location,
    pub touchpoint: &'a Touchpoint,
    pub complaint: Complaint,
    pub language: Language,
    pub render_nonce: String,
    /// A photo already stored under the data dir (see [`photo::store`]).
    pub photo_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub reference: String,
    /// The secret part of the customer's status link.
    pub token: String,
    /// True when this post repeated an earlier one.
    pub repeated: bool,
}

fn is_unique_violation(e: &DbError) -> bool {
    matches!(
        e,
        DbError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _
        ))
    )
}

pub fn submit(db: &Db, key: &[u8], s: Submission<'_>) -> Result<Receipt, DbError> {
    let token = status_token(key, &s.render_nonce);
    let earlier = |db: &Db| -> Result<Option<Receipt>, DbError> {
        Ok(db
            .read(|c| cases::find_by_render_nonce(c, &s.render_nonce))?
            .map(|case| Receipt {
                reference: case.reference,
                token: token.clone(),
                repeated: true,
            }))
    };
    if let Some(receipt) = earlier(db)? {
        return Ok(receipt);
    }
    let (photo_path, photo_thumb_path) = match &s.photo_hash {
        Some(h) => {
            let (main, thumb) = photo::relative_paths(h);
            (Some(main), Some(thumb))
        }
        None => (None, None),
    };
    // A reference collision is rare (1 in hundreds of millions) but possible: draw again.
    for _ in 0..8 {
        let now = now_utc();
        let case = Case {
            id: new_id(),
            reference: new_reference(),
            location_id: s.location.id.clone(),
            touchpoint_id: s.touchpoint.id.clone(),
            category: s.complaint.category.clone(),
            body: s.complaint.text.as_str().to_owned(),
            contact_email: s.complaint.contact.as_ref().map(|c| c.as_str().to_owned()),
            contact_consent: s.complaint.consent,
            language: s.language.code().to_owned(),
            status: "new".into(),
            created_at: now,
            acknowledged_at: None,
            resolved_at: None,
            status_token_hash: Some(token_hash(&token)),
            render_nonce: Some(s.render_nonce.clone()),
            photo_path: photo_path.clone(),
            photo_thumb_path: photo_thumb_path.clone(),
        };
        let written = db.write(|c| -> Result<bool, DbError> {
            if cases::reference_taken(c, &case.reference)? {
                return Ok(false);
            }
            cases::insert(c, &case)?;
            cases::add_event(
                c,
                &CaseEvent {
                    id: new_id(),
                    case_id: case.id.clone(),
                    actor_user_id: None,
                    kind: "received".into(),
                    detail: "{}".into(),
                    created_at: now,
                },
            )?;
            Ok(true)
        });
        match written {
            Ok(true) => {
                return Ok(Receipt {
                    reference: case.reference,
                    token,
                    repeated: false,
                })
            }
            Ok(false) => continue,
            // Two taps raced past the first check: the other one won.
            Err(e) if is_unique_violation(&e) => match earlier(db)? {
                Some(receipt) => return Ok(receipt),
                None => continue,
            },
            Err(e) => return Err(e),
        }
    }
    Err(DbError::Migration(
        "could not draw a free case reference".into(),
    ))
}
