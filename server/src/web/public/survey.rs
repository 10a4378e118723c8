//! `/s/{token}`: the survey page, in the customer's language, without JavaScript. A link
//! from the email (`?r=4`, `?w=no`) only chooses the answer; it is saved on POST.
//! `/u?e=&s=`: unsubscribe (GET asks, POST does it; mail programs POST one-click).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Duration;
use serde::Deserialize;

use crate::db::models::Survey;
use crate::db::queries::surveys;
use crate::domain::case::reference::token_hash;
use crate::domain::language::Language;
use crate::domain::survey::{answer, parse_answer, Answered, SurveyKind, VALID_DAYS};
use crate::web::{render, AppError, AppState};

struct Texts {
    title: String,
    heading: String,
    csat: String,
    csat_1: String,
    csat_5: String,
    fixed: String,
    return_: String,
    comment: String,
    still_working: String,
    yes: String,
    no: String,
    send: String,
}

#[derive(Template)]
#[template(path = "public/survey.html")]
struct SurveyPage {
    lang: &'static str,
    t: Texts,
    /// Which report the survey is about.
    about: String,
    action: String,
    follow_up: bool,
    error: Option<String>,
    chosen_r: i32,
    chosen_b: i32,
    chosen_f: String,
    chosen_w: String,
    comment: String,
    fixed_options: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "public/message.html")]
pub struct MessagePage {
    pub lang: &'static str,
    pub title: String,
    pub message: String,
    pub button: Option<(String, String)>,
}

fn customer_error(
    lang: Language,
    status: StatusCode,
    title_key: &'static str,
    message_key: &'static str,
) -> AppError {
    AppError::Customer {
        status,
        lang,
        title_key,
        message_key,
    }
}

/// The survey behind a token, if it exists and is still open; else a localized page.
async fn find(
    state: &AppState,
    req: &HttpRequest,
    token: &str,
) -> Result<(Survey, Language, String), AppError> {
    let accept = req
        .headers()
        .get("accept-language")
        .and_then(|v| v.to_str().ok());
    let browser = Language::negotiate(None, accept, "en");
    let valid = token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit());
    let invalid = || {
        customer_error(
            browser,
            StatusCode::NOT_FOUND,
            "survey.invalid_title",
            "survey.invalid",
        )
    };
    if !valid {
        return Err(invalid());
    }
    let (db, hash) = (state.db.clone(), token_hash(token));
    let (survey, report) = web::block(move || {
        db.read(|c| {
            let Some(survey) = surveys::find_by_token_hash(c, &hash)? else {
                return Ok(None);
            };
            let report = crate::domain::survey::Report::load(c, &survey.case_id)?;
            Ok(Some((survey, report)))
        })
    })
    .await??
    .ok_or_else(invalid)?;
    let lang = Language::or_default(&survey.language);
    if state.clock.now() > survey.created_at + Duration::days(VALID_DAYS) {
        return Err(customer_error(
            lang,
            StatusCode::GONE,
            "survey.expired_title",
            "survey.expired",
        ));
    }
    let about = report.map(|r| r.text(lang)).unwrap_or_default();
    Ok((survey, lang, about))
}

fn already(lang: Language) -> Result<HttpResponse, AppError> {
    render::html(&MessagePage {
        lang: lang.code(),
        title: lang.text("survey.already_title"),
        message: lang.text("survey.already"),
        button: None,
    })
}

#[derive(Deserialize, Default)]
pub struct Chosen {
    r: Option<i32>,
    w: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Posted {
    csat: Option<String>,
    fixed: Option<String>,
    return_likelihood: Option<String>,
    comment: Option<String>,
    still_working: Option<String>,
}

fn page(
    lang: Language,
    survey: &Survey,
    token: &str,
    posted: &Posted,
    error: Option<String>,
    about: String,
) -> SurveyPage {
    let t = Texts {
        title: lang.text("survey.title"),
        heading: if survey.kind == SurveyKind::FollowUp {
            lang.text("survey.follow_up_heading")
        } else {
            lang.text("survey.title")
        },
        csat: lang.text("survey.csat"),
        csat_1: lang.text("survey.csat_1"),
        csat_5: lang.text("survey.csat_5"),
        fixed: lang.text("survey.fixed"),
        return_: lang.text("survey.return"),
        comment: lang.text("survey.comment"),
        still_working: lang.text("survey.still_working"),
        yes: lang.text("survey.yes"),
        no: lang.text("survey.no"),
        send: lang.text("survey.send"),
    };
    let number = |s: &Option<String>| {
        s.as_deref()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1)
    };
    SurveyPage {
        lang: lang.code(),
        about,
        action: format!("/s/{token}"),
        follow_up: survey.kind == SurveyKind::FollowUp,
        error,
        chosen_r: number(&posted.csat),
        chosen_b: number(&posted.return_likelihood),
        chosen_f: posted.fixed.clone().unwrap_or_default(),
        chosen_w: posted.still_working.clone().unwrap_or_default(),
        comment: posted.comment.clone().unwrap_or_default(),
        fixed_options: vec![
            ("yes", lang.text("survey.fixed_yes")),
            ("partly", lang.text("survey.fixed_partly")),
            ("no", lang.text("survey.fixed_no")),
        ],
        t,
    }
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    chosen: web::Query<Chosen>,
) -> Result<HttpResponse, AppError> {
    let (survey, lang, about) = find(&state, &req, &token).await?;
    if survey.answered_at.is_some() {
        return already(lang);
    }
    let posted = Posted {
        csat: chosen
            .r
            .filter(|n| (1..=5).contains(n))
            .map(|n| n.to_string()),
        still_working: chosen.w.clone().filter(|w| w == "yes" || w == "no"),
        ..Default::default()
    };
    render::html(&page(lang, &survey, &token, &posted, None, about))
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<Posted>,
) -> Result<HttpResponse, AppError> {
    let (survey, lang, about) = find(&state, &req, &token).await?;
    if survey.answered_at.is_some() {
        return already(lang);
    }
    let posted = form.into_inner();
    let parsed = parse_answer(
        survey.kind,
        posted.csat.as_deref(),
        posted.fixed.as_deref(),
        posted.return_likelihood.as_deref(),
        posted.comment.as_deref(),
        posted.still_working.as_deref(),
    );
    let parsed = match parsed {
        Ok(a) => a,
        Err(key) => {
            let mut response = render::html(&page(
                lang,
                &survey,
                &token,
                &posted,
                Some(lang.text(key)),
                about,
            ))?;
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(response);
        }
    };
    let (db, now) = (state.db.clone(), state.clock.now());
    let outcome = web::block(move || db.write(|c| answer(c, &survey, &parsed, now))).await??;
    state.outbox_waker.wake();
    match outcome {
        Answered::Already => already(lang),
        Answered::Saved { unhappy } => render::html(&MessagePage {
            lang: lang.code(),
            title: lang.text("survey.thanks_title"),
            message: lang.text(if unhappy {
                "survey.thanks_unhappy"
            } else {
                "survey.thanks"
            }),
            button: None,
        }),
    }
}

#[derive(Deserialize)]
pub struct UnsubscribeQuery {
    e: Option<String>,
    s: Option<String>,
}

fn checked(
    state: &AppState,
    req: &HttpRequest,
    q: &UnsubscribeQuery,
) -> Result<(String, Language), AppError> {
    let accept = req
        .headers()
        .get("accept-language")
        .and_then(|v| v.to_str().ok());
    let lang = Language::negotiate(None, accept, "en");
    match (&q.e, &q.s) {
        (Some(e), Some(s))
            if crate::domain::mail::unsubscribe::verify(
                state.settings.secret.expose_bytes(),
                e,
                s,
            ) =>
        {
            Ok((e.clone(), lang))
        }
        _ => Err(customer_error(
            lang,
            StatusCode::NOT_FOUND,
            "survey.invalid_title",
            "survey.invalid",
        )),
    }
}

pub async fn unsubscribe_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<UnsubscribeQuery>,
) -> Result<HttpResponse, AppError> {
    let (email, lang) = checked(&state, &req, &query)?;
    render::html(&MessagePage {
        lang: lang.code(),
        title: lang.text("survey.unsubscribe_title"),
        message: String::new(),
        button: Some((
            format!("/u?{}", req.query_string()),
            lang.text_with("survey.unsubscribe_confirm", &[("email", &email)]),
        )),
    })
}

pub async fn unsubscribe(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<UnsubscribeQuery>,
) -> Result<HttpResponse, AppError> {
    let (email, lang) = checked(&state, &req, &query)?;
    let (db, now, who) = (state.db.clone(), state.clock.now(), email.clone());
    web::block(move || {
        db.write(|c| surveys::opt_out(c, &who, now).map_err(crate::db::DbError::from))
    })
    .await??;
    render::html(&MessagePage {
        lang: lang.code(),
        title: lang.text("survey.unsubscribed_title"),
        message: lang.text_with("survey.unsubscribed", &[("email", &email)]),
        button: None,
    })
}
