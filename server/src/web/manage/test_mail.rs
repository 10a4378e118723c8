//! `/manage/locations/{id}/test/{sample}`: "send a test to me". GET shows the email in the
//! browser; POST sends it now to the manager asking (through the outbox, like any mail).
//! The samples and how they are made are in [`crate::domain::mail::test_mail`].

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::domain::mail::test_mail;
use crate::domain::mail::Sample;
use crate::web::session::{verify_csrf, CsrfForm, SignedIn};
use crate::web::{AppError, AppState};

use super::managed_location;

fn sample_of(key: &str) -> Result<Sample, AppError> {
    Sample::parse(key).ok_or(AppError::NotFound)
}

/// `GET`: the email's HTML part, as the recipient's mail program shows it.
pub async fn preview(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, key) = path.into_inner();
    let sample = sample_of(&key)?;
    let location = managed_location(&state, &who, id).await?;
    let ctx = crate::domain::alert::AlertContext::new(
        &state.settings,
        state.base_url.clone(),
        state.clock.clone(),
    );
    let (db, lang, to) = (state.db.clone(), who.language(), who.user.email.clone());
    let email = web::block(move || test_mail::compose(&db, &ctx, &location.id, sample, lang, &to))
        .await??
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(email.html))
}

/// `POST`: queues the test to the signed-in manager; back to the settings, which say so.
pub async fn send(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let (id, key) = path.into_inner();
    let sample = sample_of(&key)?;
    let location = managed_location(&state, &who, id).await?;
    let (db, store, user, now) = (
        state.db.clone(),
        location.id.clone(),
        who.user.clone(),
        state.clock.now(),
    );
    web::block(move || test_mail::enqueue_for(&db, &store, sample, &user, now)).await??;
    state.outbox_waker.wake();
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!(
                "/manage/locations/{}/settings?sent={}#test-mail",
                location.id,
                sample.key()
            ),
        ))
        .finish())
}
