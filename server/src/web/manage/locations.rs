//! `/manage/`: the locations the signed-in user manages; for admins, also the mail that
//! could not be delivered (a refused address must not go unnoticed).

use actix_web::{web, HttpResponse};
use askama::Template;

use super::cases::{mail_kind_label, mail_state};
use crate::db::models::{Location, OutboxMessage};
use crate::db::queries::{locations, outbox};
use crate::db::states::Role;
use crate::domain::language::formats;
use crate::domain::language::Language;
use crate::domain::mail::mask;
use crate::web::session::{csrf_token, SignedIn};
use crate::web::{render, AppError, AppState};

#[derive(Template)]
#[template(path = "manage/locations.html")]
struct LocationsPage<'a> {
    l: Language,
    email: &'a str,
    csrf: String,
    locations: Vec<Location>,
    is_admin: bool,
    /// Managers and admins change settings; staff do not.
    can_manage: bool,
    /// (when, kind, to, state and error) of undelivered mail; admins only.
    undelivered: Vec<(String, String, String, String)>,
}

fn undelivered_row(lang: Language, m: &OutboxMessage) -> (String, String, String, String) {
    (
        formats::date_time(lang, "UTC", m.created_at),
        mail_kind_label(lang, m.kind),
        mask(&m.recipient),
        mail_state(lang, m),
    )
}

pub async fn redirect_to_index() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/manage/"))
        .finish()
}

pub async fn index(state: web::Data<AppState>, who: SignedIn) -> Result<HttpResponse, AppError> {
    let db = state.db.clone();
    let (role, user_id) = (who.role, who.user.id.clone());
    let (list, undelivered) = web::block(move || {
        db.read(|c| match role {
            Role::Admin => Ok((locations::all(c)?, outbox::undelivered(c, 50)?)),
            _ => Ok((locations::for_user(c, &user_id)?, Vec::new())),
        })
    })
    .await??;
    let lang = who.language();
    render::html(&LocationsPage {
        l: lang,
        email: &who.user.email,
        csrf: csrf_token(&who.session)?,
        locations: list,
        is_admin: who.role == Role::Admin,
        can_manage: who.role != Role::Staff,
        undelivered: undelivered
            .iter()
            .map(|m| undelivered_row(lang, m))
            .collect(),
    })
}
