//! `/manage/`: the locations the signed-in user manages; for admins, also the mail that
//! could not be delivered (a refused address must not go unnoticed).

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::models::{Location, OutboxMessage};
use crate::db::queries::{locations, outbox};
use crate::domain::role::Role;
use crate::jobs::outbox::mask;
use crate::web::session::{csrf_token, SignedIn};
use crate::web::{render, AppError, AppState};

#[derive(Template)]
#[template(path = "manage/locations.html")]
struct LocationsPage<'a> {
    lang: &'a str,
    email: &'a str,
    csrf: String,
    locations: Vec<Location>,
    is_admin: bool,
    /// Managers and admins change settings; staff do not.
    can_manage: bool,
    /// (when, kind, to, state, error) of undelivered mail; admins only.
    undelivered: Vec<(String, String, String, &'static str, String)>,
}

fn undelivered_row(m: OutboxMessage) -> (String, String, String, &'static str, String) {
    (
        m.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        m.kind,
        mask(&m.recipient),
        if m.failed_at.is_some() {
            "refused, not retried"
        } else {
            "retrying"
        },
        m.last_error.unwrap_or_default(),
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
    render::html(&LocationsPage {
        lang: "en",
        email: &who.user.email,
        csrf: csrf_token(&who.session)?,
        locations: list,
        is_admin: who.role == Role::Admin,
        can_manage: who.role != Role::Staff,
        undelivered: undelivered.into_iter().map(undelivered_row).collect(),
    })
}
