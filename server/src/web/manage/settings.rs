//! `/manage/locations/{id}/settings`: a location's alert routing, opening hours, SLA,
//! severity rules and root causes, for its managers (and admins). The same checks as
//! `mend-server alerts set`: a bad address or malformed hours change nothing.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::domain::alert::settings::{apply_as, show, AlertSettingsChange, AlertSettingsError};
use crate::domain::language::{Language, Refusal};
use crate::web::manage::managed_location;
use crate::web::session::{csrf_token, verify_csrf, SignedIn};
use crate::web::{render, AppError, AppState};

#[derive(Template)]
#[template(path = "manage/settings.html")]
struct SettingsPage {
    l: Language,
    csrf: String,
    id: String,
    name: String,
    f: SettingsForm,
    error: Option<String>,
    saved: bool,
    /// "Send a test to me": (key, label) of each email a manager can try.
    samples: Vec<(&'static str, String)>,
    /// The test just queued, said in words.
    sent: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    fallback: String,
    categories: String,
    after_hours: String,
    hours: String,
    sla_minutes: String,
    escalation_minutes: String,
    severe_categories: String,
    severe_keywords: String,
    root_causes: String,
    #[serde(default)]
    survey_delay_minutes: String,
    #[serde(default)]
    follow_up_days: String,
    #[serde(default)]
    unhappy: String,
    /// A checkbox: present ("on") when ticked.
    #[serde(default)]
    weekly_digest: String,
    #[serde(default)]
    unhappy_taps: String,
    #[serde(default)]
    unhappy_tap_minutes: String,
    #[serde(default)]
    retention_days: String,
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
    sent: Option<String>,
}

pub async fn form(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, AppError> {
    let location = managed_location(&state, &who, path.into_inner()).await?;
    let (db, name) = (state.db.clone(), location.name.clone());
    let current = web::block(move || show(&db, &name))
        .await?
        .map_err(|e| AppError::Internal(e.into()))?;
    let (r, a) = (&current.routing, &current.alerting);
    render::html(&SettingsPage {
        l: who.language(),
        csrf: csrf_token(&who.session)?,
        id: location.id,
        name: location.name,
        f: SettingsForm {
            csrf: String::new(),
            fallback: r.fallback.join(", "),
            categories: r
                .categories
                .iter()
                .map(|(k, v)| format!("{k}={}", v.join(", ")))
                .collect::<Vec<_>>()
                .join("\n"),
            after_hours: r.after_hours.join(", "),
            hours: a.opening_hours.clone().unwrap_or_default(),
            sla_minutes: a.sla_minutes.to_string(),
            escalation_minutes: a.escalation_minutes.to_string(),
            severe_categories: a.severe_categories.clone().unwrap_or_default(),
            severe_keywords: a.severe_keywords.clone().unwrap_or_default(),
            root_causes: a.root_causes.clone().unwrap_or_default(),
            survey_delay_minutes: a.survey_delay_minutes.to_string(),
            follow_up_days: a.follow_up_days.to_string(),
            unhappy: if a.unhappy_reopens { "reopen" } else { "flag" }.into(),
            weekly_digest: if a.weekly_digest { "on" } else { "" }.into(),
            unhappy_taps: a.unhappy_taps.to_string(),
            unhappy_tap_minutes: a.unhappy_tap_minutes.to_string(),
            retention_days: a.retention_days.to_string(),
        },
        error: None,
        saved: query.saved.is_some(),
        samples: samples(who.language()),
        sent: query
            .sent
            .as_deref()
            .and_then(crate::domain::mail::Sample::parse)
            .map(|s| {
                who.language().text_with(
                    "test_mail.sent",
                    &[
                        ("what", &s.label(who.language())),
                        ("email", &who.user.email),
                    ],
                )
            }),
    })
}

fn samples(lang: Language) -> Vec<(&'static str, String)> {
    crate::domain::mail::Sample::ALL
        .into_iter()
        .map(|s| (s.key(), s.label(lang)))
        .collect()
}

fn minutes(field: &'static str, s: &str) -> Result<u32, AlertSettingsError> {
    count_of(field, s, "settings_error.not_minutes")
}

/// A whole number typed into a field; the error names the field and its unit (a catalog
/// key: "is not a number of minutes" or "of days").
fn count_of(field: &'static str, s: &str, unit: &'static str) -> Result<u32, AlertSettingsError> {
    s.trim().parse().map_err(|_| {
        AlertSettingsError::Invalid(
            Refusal::new(unit)
                .with_label("field", field)
                .with("value", s),
        )
    })
}

pub async fn save(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let location = managed_location(&state, &who, path.into_inner()).await?;
    let form = form.into_inner();
    let (db, name) = (state.db.clone(), location.name.clone());
    let lines: Vec<String> = form
        .categories
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let (sla, escalation) = (form.sla_minutes.clone(), form.escalation_minutes.clone());
    let change = AlertSettingsChange {
        fallback: Some(form.fallback.clone()),
        categories: lines,
        after_hours: Some(form.after_hours.clone()),
        opening_hours: Some(form.hours.clone()),
        sla_minutes: None,
        escalation_minutes: None,
        severe_categories: Some(form.severe_categories.clone()),
        severe_keywords: Some(form.severe_keywords.clone()),
        root_causes: Some(form.root_causes.clone()),
        survey_delay_minutes: None,
        follow_up_days: None,
        unhappy: Some(form.unhappy.clone()),
        weekly_digest: Some(
            if form.weekly_digest == "on" {
                "on"
            } else {
                "off"
            }
            .into(),
        ),
        unhappy_taps: None,
        unhappy_tap_minutes: None,
        retention_days: None,
    };
    let (delay, follow_up) = (
        form.survey_delay_minutes.clone(),
        form.follow_up_days.clone(),
    );
    let (taps, tap_minutes) = (form.unhappy_taps.clone(), form.unhappy_tap_minutes.clone());
    let retention = form.retention_days.clone();
    let actor = crate::domain::setup::Actor::User {
        id: who.user.id.clone(),
        email: who.user.email.clone(),
    };
    let result = web::block(move || -> Result<(), AlertSettingsError> {
        let mut change = change;
        change.sla_minutes = Some(minutes("settings.sla", &sla)?);
        change.escalation_minutes = Some(minutes("settings.escalation", &escalation)?);
        if !delay.trim().is_empty() {
            change.survey_delay_minutes = Some(minutes("settings.survey_delay", &delay)?);
        }
        if !follow_up.trim().is_empty() {
            change.follow_up_days = Some(count_of(
                "settings.follow_up",
                &follow_up,
                "settings_error.not_days",
            )?);
        }
        if !taps.trim().is_empty() {
            change.unhappy_taps = Some(count_of(
                "settings.taps",
                &taps,
                "settings_error.not_number",
            )?);
        }
        if !retention.trim().is_empty() {
            change.retention_days = Some(count_of(
                "settings.retention_short",
                &retention,
                "settings_error.not_days",
            )?);
        }
        if !tap_minutes.trim().is_empty() {
            change.unhappy_tap_minutes = Some(minutes("settings.tap_minutes", &tap_minutes)?);
        }
        // Category rules left out of the box are removed.
        let current = show(&db, &name)?;
        for key in current.routing.categories.keys() {
            if !change
                .categories
                .iter()
                .any(|l| l.split('=').next().map(str::trim) == Some(key))
            {
                change.categories.push(format!("{key}="));
            }
        }
        apply_as(&db, &actor, &name, &change).map(|_| ())
    })
    .await?;
    match result {
        Ok(()) => Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/manage/locations/{}/settings?saved=1", location.id),
            ))
            .finish()),
        Err(AlertSettingsError::Invalid(refusal)) => {
            let message = refusal.text(who.language());
            let mut response = render::html(&SettingsPage {
                l: who.language(),
                csrf: csrf_token(&who.session)?,
                id: location.id,
                name: location.name,
                f: form,
                error: Some(message),
                saved: false,
                samples: samples(who.language()),
                sent: None,
            })?;
            *response.status_mut() = StatusCode::BAD_REQUEST;
            Ok(response)
        }
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_in_days_says_days() {
        let e = |r: Result<u32, AlertSettingsError>| match r {
            Err(AlertSettingsError::Invalid(m)) => m.text(Language::EN),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            e(count_of(
                "settings.follow_up",
                "soon",
                "settings_error.not_days"
            )),
            "Follow-up check after (days): \"soon\" is not a number of days."
        );
        assert!(e(minutes("settings.sla", "x")).ends_with("not a number of minutes."));
        assert_eq!(
            count_of("settings.follow_up", " 7 ", "settings_error.not_days").ok(),
            Some(7)
        );
    }
}
