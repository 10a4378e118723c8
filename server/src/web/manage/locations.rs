//! `/manage/`: the locations the signed-in user manages.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::models::Location;
use crate::db::queries::locations;
use crate::domain::role::Role;
use crate::web::session::{csrf_token, SignedIn};
use crate::web::{render, AppError, AppState};

#[derive(Template)]
#[template(path = "manage/locations.html")]
struct LocationsPage<'a> {
    lang: &'a str,
    email: &'a str,
    csrf: String,
    locations: Vec<Location>,
}

pub async fn redirect_to_index() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/manage/"))
        .finish()
}

pub async fn index(state: web::Data<AppState>, who: SignedIn) -> Result<HttpResponse, AppError> {
    let db = state.db.clone();
    let (role, user_id) = (who.role, who.user.id.clone());
    let list = web::block(move || {
        db.read(|c| match role {
            Role::Admin => locations::all(c),
            _ => locations::for_user(c, &user_id),
        })
    })
    .await??;
    render::html(&LocationsPage {
        lang: "en",
        email: &who.user.email,
        csrf: csrf_token(&who.session)?,
        locations: list,
    })
}
