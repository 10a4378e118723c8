//! `GET /t/{code}`: the complaint form of one touchpoint. `POST /t/{code}`: take it in.
//! Handlers only translate between HTTP and `domain`: parsing, photo processing, the stamp
//! and intake are plain functions.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::models::{Location, Touchpoint};
use crate::db::queries::touchpoints;
use crate::domain::case::complaint::{validate, ComplaintForm, Field};
use crate::domain::case::intake::Submission;
use crate::domain::case::photo;
use crate::domain::case::render_stamp::{self, StampError};
use crate::domain::kiosk::handoff;
use crate::domain::language::Language;
use crate::domain::signed_link::LinkError;
use crate::web::client::client_ip;
use crate::web::public::qr::normalize_code;
use crate::web::{AppError, AppState};

#[derive(Template)]
#[template(path = "public/form.html")]
struct FormPage {
    lang: &'static str,
    languages: Vec<(&'static str, &'static str, bool)>,
    code: String,
    title: String,
    place: String,
    notice: Option<String>,
    stamp: String,
    photo_ref: Option<String>,
    handoff: Option<String>,
    category_label: String,
    categories: Vec<(String, String, bool)>,
    body_label: String,
    body_hint: String,
    body: String,
    photo_label: String,
    photo_kept: String,
    email_label: String,
    email_hint: String,
    email: String,
    consent_label: String,
    consent: bool,
    send: String,
    err_category: Option<String>,
    err_body: Option<String>,
    err_photo: Option<String>,
    err_email: Option<String>,
    /// "You said, we did": the store's latest change, as one short line.
    change_line: Option<(String, String, String, String)>,
}

/// What the customer typed, kept across a refused post.
#[derive(Default)]
struct Typed {
    form: ComplaintForm,
    photo_ref: Option<String>,
    /// A kiosk handoff (`h`) this form came through, carried to the post.
    handoff: Option<String>,
}

pub struct Place {
    touchpoint: Touchpoint,
    location: Location,
    /// The store's categories in use, with their labels.
    categories: Vec<crate::domain::setup::categories::Category>,
    severe_categories: Option<String>,
    severe_keywords: Option<String>,
    /// The store's latest "you said, we did" change, if one took effect lately.
    latest_change: Option<crate::domain::process_changes::Texts>,
}

/// How long a looked-up touchpoint is reused: a form view should not cost a database
/// round trip, and a renamed spot or changed category list shows within seconds.
const PLACE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Recently looked-up touchpoints, by code.
pub struct PlaceCache(
    quick_cache::sync::Cache<String, (std::time::Instant, std::sync::Arc<Place>)>,
);

impl PlaceCache {
    pub fn new(entries: usize) -> PlaceCache {
        PlaceCache(quick_cache::sync::Cache::new(entries))
    }

    fn get(&self, code: &str) -> Option<std::sync::Arc<Place>> {
        self.0
            .get(code)
            .filter(|(at, _)| at.elapsed() < PLACE_TTL)
            .map(|(_, place)| place)
    }

    fn put(&self, code: String, place: std::sync::Arc<Place>) {
        self.0.insert(code, (std::time::Instant::now(), place));
    }

    /// Drops a code at once (a spot retired or replaced, a store archived or edited on this
    /// instance); other instances see the change within [`PLACE_TTL`].
    pub fn forget(&self, code: &str) {
        self.0.remove(code);
    }
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn find_place(
    state: &web::Data<AppState>,
    code: &str,
    lang: Language,
) -> Result<std::sync::Arc<Place>, AppError> {
    let not_found = AppError::Customer {
        status: StatusCode::NOT_FOUND,
        lang,
        title_key: "error.not_found_title",
        message_key: "error.not_found",
    };
    let Some(code) = normalize_code(code) else {
        return Err(not_found);
    };
    if let Some(place) = state.places.get(&code) {
        return Ok(place);
    }
    let db = state.db.clone();
    let lookup = code.clone();
    let now = state.clock.now();
    let (found, categories, latest_change) = web::block(move || {
        db.read(|c| {
            let found = sticker_lookup(c, &lookup)?;
            let (categories, latest) = match &found {
                Sticker::Open(f) => {
                    let today =
                        crate::domain::language::formats::local_day(&f.location.time_zone, now);
                    (
                        crate::domain::setup::categories::in_use(c, &f.location.id)?,
                        crate::domain::process_changes::shown_at(c, &f.location.id, today, 1)?
                            .pop()
                            .map(|ch| crate::domain::process_changes::Texts::parse(&ch.texts)),
                    )
                }
                _ => (Vec::new(), None),
            };
            Ok((found, categories, latest))
        })
    })
    .await??;
    let found = match found {
        Sticker::Unknown => return Err(not_found),
        Sticker::Retired { archived, others } => {
            return Err(AppError::RetiredSticker {
                lang,
                archived,
                others,
            })
        }
        Sticker::Open(found) => found,
    };
    let found = *found;
    let place = std::sync::Arc::new(Place {
        categories,
        latest_change,
        touchpoint: found.touchpoint,
        location: found.location,
        severe_categories: found.severe_categories,
        severe_keywords: found.severe_keywords,
    });
    state.places.put(code, place.clone());
    Ok(place)
}

/// What a sticker's code leads to.
enum Sticker {
    Unknown,
    Open(Box<touchpoints::FormPlace>),
    /// A retired spot or old sticker, or any sticker of an archived store: the store's
    /// spots still in use (code, label) to point the customer to.
    Retired {
        archived: bool,
        others: Vec<(String, String)>,
    },
}

/// One query for a sticker in use (the common case); more only for replaced and retired
/// ones.
fn sticker_lookup(c: &mut crate::db::DbConnection, code: &str) -> diesel::QueryResult<Sticker> {
    use crate::db::queries::spots;
    let open = |found: touchpoints::FormPlace| {
        if found.retired_at.is_none() && found.archived_at.is_none() {
            Sticker::Open(Box::new(found))
        } else {
            Sticker::Retired {
                archived: found.archived_at.is_some(),
                others: Vec::new(),
            }
        }
    };
    let mut answer = match touchpoints::find_with_location(c, code)? {
        Some(found) => open(found),
        None => match spots::find_by_any_code(c, code)? {
            Some(spot) if spot.previous_code_retired_at.is_none() => {
                match touchpoints::find_with_location(c, &spot.code)? {
                    Some(found) => open(found),
                    None => Sticker::Unknown,
                }
            }
            Some(_) => Sticker::Retired {
                archived: false,
                others: Vec::new(),
            },
            None => Sticker::Unknown,
        },
    };
    if let Sticker::Retired {
        archived: false,
        others,
    } = &mut answer
    {
        if let Some(spot) = spots::find_by_any_code(c, code)? {
            *others = crate::domain::setup::spots::in_use(c, &spot.location_id)?
                .into_iter()
                .filter(|s| s.code != code)
                .map(|s| (s.code, s.label))
                .collect();
        }
    }
    Ok(answer)
}

fn accept_language(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("accept-language")
        .and_then(|v| v.to_str().ok())
}

fn render(
    state: &AppState,
    place: &Place,
    lang: Language,
    typed: &Typed,
    errors: &[(Field, &'static str)],
    notice: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let err = |field: Field| {
        errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, key)| lang.text(key))
    };
    let notice = notice
        .map(|k| lang.text(k))
        .or_else(|| (!errors.is_empty()).then(|| lang.text("form.errors_above")));
    let page = FormPage {
        lang: lang.code(),
        languages: lang.switch_choices(),
        code: place.touchpoint.code.clone(),
        title: lang.text("form.title"),
        place: lang.text_with(
            "form.where",
            &[
                ("store", &place.location.name),
                ("spot", &place.touchpoint.label),
            ],
        ),
        notice,
        stamp: render_stamp::issue(
            state.settings.secret.expose_bytes(),
            &place.touchpoint.code,
            now_unix(),
        ),
        photo_ref: typed.photo_ref.clone(),
        handoff: typed.handoff.clone(),
        category_label: lang.text("form.category"),
        categories: place
            .categories
            .iter()
            .map(|k| {
                let label = k.label(lang, &place.location.default_language);
                (k.key.clone(), label, typed.form.category == k.key)
            })
            .collect(),
        body_label: lang.text("form.body"),
        body_hint: lang.text("form.body_hint"),
        body: typed.form.body.clone(),
        photo_label: lang.text("form.photo"),
        photo_kept: lang.text("form.photo_kept"),
        email_label: lang.text("form.email"),
        email_hint: lang.text("form.email_hint"),
        email: typed.form.email.clone(),
        consent_label: lang.text("form.consent"),
        consent: typed.form.consent,
        send: lang.text("form.send"),
        err_category: err(Field::Category),
        err_body: err(Field::Body),
        err_photo: err(Field::Photo),
        err_email: err(Field::Email),
        change_line: place.latest_change.as_ref().map(|texts| {
            let text = texts.pick(lang, &place.location.default_language);
            (
                lang.text("changes.form_line"),
                crate::domain::mail::one_line(text, 140),
                format!("/s/{}/changes?lang={}", place.location.id, lang.code()),
                lang.text("changes.more"),
            )
        }),
    };
    let mut response = super::super::render::html(&page)?;
    *response.status_mut() = status;
    Ok(response)
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
    /// A kiosk's one-time handoff (see `domain::kiosk::handoff`).
    h: Option<String>,
}

/// The handoff a form opened through, if it can still tag a complaint. A forged one is
/// refused; an expired or used one just opens the plain form.
async fn usable_handoff(
    state: &AppState,
    code: &str,
    h: Option<&str>,
    lang: Language,
) -> Result<Option<String>, AppError> {
    let Some(h) = h else { return Ok(None) };
    let tap_key = match handoff::verify(state.settings.secret.expose_bytes(), code, h, now_unix()) {
        Ok(k) => k,
        Err(LinkError::Expired) => return Ok(None),
        Err(LinkError::Invalid) => {
            return Err(AppError::Customer {
                status: StatusCode::BAD_REQUEST,
                lang,
                title_key: "form.title",
                message_key: "error.rejected",
            })
        }
    };
    let db = state.db.clone();
    let used =
        web::block(move || db.read(|c| crate::db::queries::kiosks::handoff_used(c, &tap_key)))
            .await??;
    Ok((!used).then(|| h.trim().to_owned()))
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
    query: web::Query<LangQuery>,
) -> Result<HttpResponse, AppError> {
    let guess = Language::negotiate(query.lang.as_deref(), accept_language(&req), "en");
    let place = find_place(&state, &code, guess).await?;
    let lang = Language::negotiate(
        query.lang.as_deref(),
        accept_language(&req),
        &place.location.default_language,
    );
    let handoff = usable_handoff(&state, &place.touchpoint.code, query.h.as_deref(), lang).await?;
    // The visitor: their device cookie, else their network (a script without cookies is
    // one visitor however often it asks).
    let visitor = device_hash(&req).unwrap_or_else(|| {
        client_ip(&req, &state.settings.trusted_proxies)
            .map(crate::web::rate_limit::network_of)
            .map(|ip| ip.to_string())
            .unwrap_or_default()
    });
    state.scans.record(
        &place.touchpoint.id,
        local_day(&place.location.time_zone),
        &visitor,
    );
    let typed = Typed {
        handoff,
        ..Typed::default()
    };
    let mut response = render(&state, &place, lang, &typed, &[], None, StatusCode::OK)?;
    if device_hash(&req).is_none() {
        let cookie = device_cookie(state.base_url.starts_with("https://"));
        response
            .add_cookie(&cookie)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("device cookie: {e}")))?;
    }
    Ok(response)
}

/// A random id for this browser, kept a year, sent only back to the forms: the same phone
/// complaining again within 90 days is flagged as a repeat complainant, with or without
/// an email. Only its hash is stored with a case.
const DEVICE_COOKIE: &str = "mend_device";

fn device_cookie(secure: bool) -> actix_web::cookie::Cookie<'static> {
    use rand::RngCore;
    let mut id = [0u8; 16];
    rand::rng().fill_bytes(&mut id);
    actix_web::cookie::Cookie::build(DEVICE_COOKIE, hex::encode(id))
        .path("/t/")
        .http_only(true)
        .secure(secure)
        .same_site(actix_web::cookie::SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish()
}

/// The hash of the browser's device cookie, if it sent a well-formed one.
fn device_hash(req: &HttpRequest) -> Option<String> {
    let cookie = req.cookie(DEVICE_COOKIE)?;
    let id = cookie.value();
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| crate::domain::case::reference::token_hash(id))
}

/// Today in the store's time zone: counts by the store's day, not the server's.
fn local_day(time_zone: &str) -> chrono::NaiveDate {
    let now = chrono::Utc::now();
    match time_zone.parse::<chrono_tz::Tz>() {
        Ok(tz) => now.with_timezone(&tz).date_naive(),
        Err(_) => now.date_naive(),
    }
}

/// The photo a corrected post refers to, if it is still stored.
async fn kept_photo(
    state: &AppState,
    photo_ref: Option<String>,
) -> Result<Option<String>, AppError> {
    let Some(hash) = photo_ref.filter(|h| photo::is_photo_hash(h)) else {
        return Ok(None);
    };
    let db = state.db.clone();
    let kept = web::block(move || {
        db.read(|c| photo::stored_exists(c, &hash))
            .map(|k| (k, hash))
    })
    .await??;
    Ok(kept.0.then_some(kept.1))
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, AppError> {
    let posted = match super::form_post::read(payload, state.settings.photo_max_bytes).await {
        Ok(p) => p,
        // Beyond even a photo over the limit, or not a form post at all: a polite page,
        // not the framework's plain text.
        Err(e) => {
            let too_large = e == super::form_post::PostError::TooLarge;
            return Err(AppError::Customer {
                status: if too_large {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::BAD_REQUEST
                },
                lang: Language::negotiate(None, accept_language(&req), "en"),
                title_key: "form.title",
                message_key: if too_large {
                    "error.photo_too_large"
                } else {
                    "error.rejected"
                },
            });
        }
    };
    let chosen = posted.lang.clone();
    let guess = Language::negotiate(chosen.as_deref(), accept_language(&req), "en");
    let place = find_place(&state, &code, guess).await?;
    let lang = Language::negotiate(
        chosen.as_deref(),
        accept_language(&req),
        &place.location.default_language,
    );
    let customer_error = |status, title_key, message_key| AppError::Customer {
        status,
        lang,
        title_key,
        message_key,
    };

    if !state
        .form_rate_limit
        .allow(client_ip(&req, &state.settings.trusted_proxies).as_ref())
    {
        return Err(customer_error(
            StatusCode::TOO_MANY_REQUESTS,
            "error.rate_limited_title",
            "error.rate_limited",
        ));
    }
    // Humans never see the honeypot field; whatever fills it is a bot.
    if posted
        .website
        .as_ref()
        .is_some_and(|w| !w.trim().is_empty())
    {
        return Err(customer_error(
            StatusCode::BAD_REQUEST,
            "form.title",
            "error.rejected",
        ));
    }

    let mut typed = Typed {
        form: ComplaintForm {
            category: posted.category.unwrap_or_default(),
            body: posted.body.unwrap_or_default(),
            email: posted.email.unwrap_or_default(),
            consent: posted.consent.is_some(),
        },
        photo_ref: kept_photo(&state, posted.photo_ref).await?,
        handoff: posted
            .handoff
            .filter(|h| !h.trim().is_empty() && h.len() <= 200),
    };

    let stamp = posted.stamp.unwrap_or_default();
    let key = state.settings.secret.expose_bytes();
    let stamp = match render_stamp::verify(
        key,
        &place.touchpoint.code,
        &stamp,
        now_unix(),
        state.settings.form_min_seconds,
    ) {
        Ok(stamp) => stamp,
        Err(e) => {
            let notice = match e {
                StampError::TooFast => "error.too_fast",
                StampError::Expired => "error.expired",
                StampError::Invalid => "error.rejected",
            };
            return render(
                &state,
                &place,
                lang,
                &typed,
                &[],
                Some(notice),
                StatusCode::BAD_REQUEST,
            );
        }
    };

    // Only now, for a post from our own form, is the photo read: a new photo replaces a
    // kept one, and is stored at once so a refused post does not ask for it again.
    let mut errors = Vec::new();
    if posted.photo_too_large {
        errors.push((Field::Photo, "error.photo_too_large"));
    }
    if let Some(upload) = posted.photo {
        let stored = state
            .photos
            .process_and_store(upload.into(), state.clock.now())
            .await?;
        match stored {
            Ok(hash) => typed.photo_ref = Some(hash),
            Err(e) => errors.push((Field::Photo, e.message_key())),
        }
    }

    let keys: Vec<String> = place.categories.iter().map(|k| k.key.clone()).collect();
    let complaint = match validate(&typed.form, &keys) {
        Ok(c) if errors.is_empty() => c,
        outcome => {
            if let Err(more) = outcome {
                errors.extend(more);
            }
            // A photo over the limit: its own status, the form and all else kept.
            let status = if posted.photo_too_large {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            return render(&state, &place, lang, &typed, &errors, None, status);
        }
    };

    let severe = place
        .categories
        .iter()
        .any(|k| k.key == complaint.category && k.severe)
        || crate::domain::alert::routing::is_severe(
            &complaint.category,
            complaint.text.as_str(),
            place.severe_categories.as_deref(),
            place.severe_keywords.as_deref(),
        );
    let receipt = state
        .intake
        .submit(
            state.settings.secret.expose_bytes(),
            Submission {
                location: &place.location,
                touchpoint: &place.touchpoint,
                complaint,
                language: lang,
                render_nonce: stamp.nonce,
                photo_hash: typed.photo_ref,
                device_hash: device_hash(&req),
                // Judged as of when the form was shown: typing may outlast the link.
                kiosk_tap: typed.handoff.as_deref().and_then(|h| {
                    handoff::verify(key, &place.touchpoint.code, h, stamp.issued_at).ok()
                }),
                severe,
            },
        )
        .await?;
    // Sent only now: the case is committed.
    Ok(HttpResponse::SeeOther()
        .insert_header((
            "Location",
            format!("/c/{}?k={}", receipt.reference, receipt.token),
        ))
        .finish())
}
