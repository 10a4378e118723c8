//! `/manage/locations/{id}/kiosks`: a location's kiosks for its managers (and admins):
//! online or not, last seen, taps waiting, version; register one (its token is shown on
//! this page once) and revoke one.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::queries::kiosks;
use crate::domain::kiosk::{is_online, register_at, KioskAdminError};
use crate::domain::language::formats;
use crate::domain::language::Language;
use crate::web::manage::managed_location;
use crate::web::session::{csrf_token, verify_csrf, CsrfForm, SignedIn};
use crate::web::{render, AppError, AppState};

/// One row of the list: id, name, state, last seen, taps waiting, version.
pub struct Row {
    id: String,
    name: String,
    state: String,
    revoked: bool,
    last_seen: String,
    buffered: i32,
    version: String,
    /// The spot it stands at (its hand-off complaints are filed there).
    spot: Option<String>,
}

#[derive(Template)]
#[template(path = "manage/kiosks.html")]
struct KiosksPage {
    l: Language,
    csrf: String,
    id: String,
    location: String,
    rows: Vec<Row>,
    /// (name, token) of the kiosk just registered: shown once.
    new_token: Option<(String, String)>,
    error: Option<String>,
    /// What a kiosk's MEND_KIOSK_SERVER_URL must be: the server's public base URL.
    base_url: String,
    /// (id, label) of the store's spots in use.
    spots: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    spot: String,
}

async fn page(
    state: &web::Data<AppState>,
    who: &SignedIn,
    location_id: String,
    new_token: Option<(String, String)>,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let location = managed_location(state, who, location_id).await?;
    let (db, id) = (state.db.clone(), location.id.clone());
    let (devices, spots, chosen) = web::block(move || {
        db.read(|c| {
            let devices = kiosks::for_location(c, &id)?;
            let mut chosen = Vec::new();
            for d in &devices {
                chosen.push(kiosks::touchpoint_of(c, &d.id)?);
            }
            Ok((
                devices,
                crate::domain::setup::spots::in_use(c, &id)?,
                chosen,
            ))
        })
    })
    .await??;
    let now = state.clock.now();
    let lang = who.language();
    let rows = devices
        .into_iter()
        .zip(chosen)
        .map(|(d, spot)| Row {
            spot,
            state: lang.text(if d.revoked_at.is_some() {
                "kiosks.revoked"
            } else if is_online(&d, now) {
                "kiosks.online"
            } else {
                "kiosks.offline"
            }),
            revoked: d.revoked_at.is_some(),
            last_seen: d.last_seen_at.map_or_else(
                || lang.text("kiosks.never"),
                |t| formats::date_time(lang, &location.time_zone, t),
            ),
            buffered: d.buffered,
            version: d.version.clone().unwrap_or_default(),
            id: d.id,
            name: d.name,
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut res = render::html(&KiosksPage {
        l: lang,
        csrf: csrf_token(&who.session)?,
        id: location.id,
        location: location.name,
        rows,
        new_token,
        error,
        base_url: state.base_url.clone(),
        spots: spots.into_iter().map(|s| (s.id, s.label)).collect(),
    })?;
    *res.status_mut() = status;
    // The page may carry a token: never from a cache.
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

pub async fn list(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    page(&state, &who, path.into_inner(), None, None).await
}

pub async fn add(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<RegisterForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let location = managed_location(&state, &who, path.into_inner()).await?;
    let (db, id, name, spot, now) = (
        state.db.clone(),
        location.id.clone(),
        form.name.clone(),
        form.spot.clone(),
        state.clock.now(),
    );
    let registered = web::block(move || {
        let (device, token) = register_at(&db, &id, &name, now)?;
        place_at(&db, &id, &device.id, &spot)?;
        Ok::<_, KioskAdminError>((device, token))
    })
    .await?;
    match registered {
        Ok((device, token)) => {
            page(&state, &who, location.id, Some((device.name, token)), None).await
        }
        Err(KioskAdminError::BadName) => {
            let message = who.language().text("kiosks.bad_name");
            page(&state, &who, location.id, None, Some(message)).await
        }
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

pub async fn revoke(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let (location_id, kiosk_id) = path.into_inner();
    let location = managed_location(&state, &who, location_id).await?;
    let (db, loc, now) = (state.db.clone(), location.id.clone(), state.clock.now());
    let found = web::block(move || {
        db.write(|c| -> Result<bool, crate::db::DbError> {
            // Only a kiosk of this location: another store's id is simply not found.
            let mine = kiosks::for_location(c, &loc)?
                .iter()
                .any(|d| d.id == kiosk_id);
            Ok(mine && kiosks::revoke(c, &kiosk_id, now)?)
        })
    })
    .await??;
    if !found {
        return Err(AppError::NotFound);
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/manage/locations/{}/kiosks", location.id),
        ))
        .finish())
}

/// Puts a kiosk at one of its store's spots in use (an empty or unknown spot: none, and
/// the store's first spot is used). True when the kiosk is of this store.
fn place_at(
    db: &crate::db::Db,
    location_id: &str,
    kiosk_id: &str,
    spot: &str,
) -> Result<bool, crate::db::DbError> {
    db.write(|c| -> Result<bool, crate::db::DbError> {
        let mine = kiosks::for_location(c, location_id)?
            .iter()
            .any(|d| d.id == kiosk_id);
        if !mine {
            return Ok(false);
        }
        let spot = crate::domain::setup::spots::in_use(c, location_id)?
            .into_iter()
            .find(|s| s.id == spot)
            .map(|s| s.id);
        Ok(kiosks::set_touchpoint(c, kiosk_id, spot.as_deref())?)
    })
}

#[derive(Deserialize)]
pub struct SpotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    spot: String,
}

/// `POST /manage/locations/{id}/kiosks/{kiosk}/spot`: where the kiosk stands.
pub async fn choose_spot(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<SpotForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let (location_id, kiosk_id) = path.into_inner();
    let location = managed_location(&state, &who, location_id).await?;
    let (db, loc, spot) = (state.db.clone(), location.id.clone(), form.spot.clone());
    let found = web::block(move || place_at(&db, &loc, &kiosk_id, &spot)).await??;
    if !found {
        return Err(AppError::NotFound);
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/manage/locations/{}/kiosks", location.id),
        ))
        .finish())
}
