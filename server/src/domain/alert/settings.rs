//! Changing a location's alert settings (routing, opening hours, SLA, severity), as a
//! manager would: every value is checked before anything is saved, and a bad address or
//! malformed hours refuse the whole change with a message naming the culprit.

use std::collections::BTreeMap;

use crate::domain::language::Refusal;

use crate::db::models::LocationAlerting;
use crate::db::queries::{locations, routing};
use crate::db::{Db, DbError};
use crate::domain::alert::routing::{parse_address_list, OpeningHours, Routing};

/// What to change; `None` leaves a setting as it is. An empty list clears one.
#[derive(Debug, Clone, Default)]
pub struct AlertSettingsChange {
    pub fallback: Option<String>,
    /// `category=addresses`, one per category to change.
    pub categories: Vec<String>,
    pub after_hours: Option<String>,
    pub opening_hours: Option<String>,
    pub sla_minutes: Option<u32>,
    pub escalation_minutes: Option<u32>,
    pub severe_categories: Option<String>,
    pub severe_keywords: Option<String>,
    /// Comma-separated root causes offered when resolving ("" = the defaults).
    pub root_causes: Option<String>,
    /// Minutes after resolution before the survey is emailed (0 = at once).
    pub survey_delay_minutes: Option<u32>,
    /// Days after resolution before the follow-up check.
    pub follow_up_days: Option<u32>,
    /// "reopen" or "flag": what an unhappy survey answer does.
    pub unhappy: Option<String>,
    /// "on" or "off": the managers' weekly email.
    pub weekly_digest: Option<String>,
    /// Unhappy kiosk taps that alert the store (0 = never)...
    pub unhappy_taps: Option<u32>,
    /// ...when they come within this many minutes.
    pub unhappy_tap_minutes: Option<u32>,
    /// Days after resolution before a customer's contact and photo are erased.
    pub retention_days: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum AlertSettingsError {
    #[error("no location is named \"{0}\"")]
    NoSuchLocation(String),
    #[error("{0}")]
    Invalid(Refusal),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for AlertSettingsError {
    fn from(e: diesel::result::Error) -> Self {
        AlertSettingsError::Db(e.into())
    }
}

/// A location's alert settings, for people to read.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    pub routing: Routing,
    pub alerting: LocationAlerting,
}

impl std::fmt::Display for AlertSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[String]| {
            if v.is_empty() {
                "(none)".to_owned()
            } else {
                v.join(", ")
            }
        };
        let a = &self.alerting;
        writeln!(f, "fallback: {}", list(&self.routing.fallback))?;
        for (category, emails) in &self.routing.categories {
            writeln!(f, "category {category}: {}", list(emails))?;
        }
        writeln!(f, "after hours: {}", list(&self.routing.after_hours))?;
        writeln!(
            f,
            "opening hours: {}",
            a.opening_hours.as_deref().unwrap_or("(always open)")
        )?;
        writeln!(
            f,
            "sla: {} min, then admins after {} more min",
            a.sla_minutes, a.escalation_minutes
        )?;
        writeln!(
            f,
            "severe categories: {}",
            a.severe_categories.as_deref().unwrap_or("(none)")
        )?;
        writeln!(
            f,
            "severe keywords: {}",
            a.severe_keywords.as_deref().unwrap_or("(none)")
        )?;
        writeln!(
            f,
            "root causes: {}",
            a.root_causes.as_deref().unwrap_or("(the defaults)")
        )?;
        write!(
            f,
            "survey: {} min after resolution, follow-up after {} days, an unhappy answer {}",
            a.survey_delay_minutes,
            a.follow_up_days,
            if a.unhappy_reopens {
                "reopens the case"
            } else {
                "flags the case"
            }
        )?;
        write!(
            f,
            "\nweekly email to managers: {}",
            if a.weekly_digest { "on" } else { "off" }
        )?;
        write!(
            f,
            "\ncustomer contact and photos erased {} days after resolution",
            a.retention_days
        )?;
        if a.unhappy_taps == 0 {
            write!(f, "\nunhappy kiosk taps alert: off")
        } else {
            write!(
                f,
                "\nunhappy kiosk taps alert: {} within {} min",
                a.unhappy_taps, a.unhappy_tap_minutes
            )
        }
    }
}

fn minutes(field: &'static str, v: u32) -> Result<i32, AlertSettingsError> {
    if (1..=7 * 24 * 60).contains(&v) {
        Ok(v as i32)
    } else {
        Err(AlertSettingsError::Invalid(
            Refusal::new("settings_error.minutes_range").with_label("field", field),
        ))
    }
}

fn invalid(key: &'static str) -> AlertSettingsError {
    AlertSettingsError::Invalid(Refusal::new(key))
}

/// An address list that did not parse: which field, and the part that is not an address.
fn not_an_address(field: &'static str, part: String) -> AlertSettingsError {
    AlertSettingsError::Invalid(
        Refusal::new("settings_error.not_email")
            .with_label("field", field)
            .with("value", part),
    )
}

fn optional_text(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

pub fn show(db: &Db, location_name: &str) -> Result<AlertSettings, AlertSettingsError> {
    db.read(|c| {
        let Some(location) = locations::find_by_name(c, location_name)? else {
            return Ok(None);
        };
        let rows = routing::recipients(c, &location.id)?;
        Ok(
            routing::alerting(c, &location.id)?.map(|alerting| AlertSettings {
                routing: Routing::from_rows(&rows),
                alerting,
            }),
        )
    })?
    .ok_or_else(|| AlertSettingsError::NoSuchLocation(location_name.to_owned()))
}

/// Checks every value, then saves the change in one transaction.
/// [`apply_as`] from the command line.
pub fn apply(
    db: &Db,
    location_name: &str,
    change: &AlertSettingsChange,
) -> Result<AlertSettings, AlertSettingsError> {
    apply_as(
        db,
        &crate::domain::setup::Actor::CommandLine,
        location_name,
        change,
    )
}

/// Changes a store's alert settings, checked first, in one transaction that also writes
/// the change log (who, before and after).
pub fn apply_as(
    db: &Db,
    actor: &crate::domain::setup::Actor,
    location_name: &str,
    change: &AlertSettingsChange,
) -> Result<AlertSettings, AlertSettingsError> {
    let with = |key: &'static str, value: &str| {
        AlertSettingsError::Invalid(Refusal::new(key).with("value", value))
    };
    let fallback = change
        .fallback
        .as_deref()
        .map(|s| parse_address_list(s).map_err(|e| not_an_address("settings.fallback", e)))
        .transpose()?;
    let after_hours = change
        .after_hours
        .as_deref()
        .map(|s| parse_address_list(s).map_err(|e| not_an_address("settings.after_hours", e)))
        .transpose()?;
    let mut categories = BTreeMap::new();
    for spec in &change.categories {
        let (key, list) = spec
            .split_once('=')
            .ok_or_else(|| with("settings_error.category_line", spec))?;
        let key = key.trim();
        if key.is_empty() || key.len() > 40 || key.chars().any(|c| c.is_control() || c == ',') {
            return Err(with("settings_error.category_key", key));
        }
        let emails = parse_address_list(list).map_err(|e| {
            AlertSettingsError::Invalid(
                Refusal::new("settings_error.category_not_email")
                    .with("key", key)
                    .with("value", e),
            )
        })?;
        categories.insert(key.to_owned(), emails);
    }
    let opening_hours = change
        .opening_hours
        .as_deref()
        .map(|h| match optional_text(h) {
            None => Ok(None),
            Some(h) => match OpeningHours::parse(&h) {
                Ok(_) => Ok(Some(h)),
                Err(_) => Err(with("settings_error.hours", &h)),
            },
        })
        .transpose()?;
    let sla = change
        .sla_minutes
        .map(|m| minutes("settings.sla", m))
        .transpose()?;
    let escalation = change
        .escalation_minutes
        .map(|m| minutes("settings.escalation", m))
        .transpose()?;
    let survey_delay = match change.survey_delay_minutes {
        Some(m) if m > 7 * 24 * 60 => return Err(invalid("settings_error.survey_delay")),
        m => m.map(|m| m as i32),
    };
    let follow_up = match change.follow_up_days {
        Some(d) if !(1..=90).contains(&d) => return Err(invalid("settings_error.follow_up")),
        d => d.map(|d| d as i32),
    };
    let unhappy_reopens = match change.unhappy.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("reopen") => Some(true),
        Some("flag") => Some(false),
        Some(other) => return Err(with("settings_error.unhappy", other)),
    };
    let weekly_digest = match change.weekly_digest.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("on") => Some(true),
        Some("off") => Some(false),
        Some(other) => return Err(with("settings_error.weekly", other)),
    };
    let unhappy_taps = match change.unhappy_taps {
        Some(n) if n > 1000 => return Err(invalid("settings_error.taps")),
        n => n.map(|n| n as i32),
    };
    let unhappy_tap_minutes = change
        .unhappy_tap_minutes
        .map(|m| match m {
            1..=1440 => Ok(m as i32),
            _ => Err(invalid("settings_error.tap_minutes")),
        })
        .transpose()?;

    let retention_days = match change.retention_days {
        Some(d) if !(7..=3650).contains(&d) => return Err(invalid("settings_error.retention")),
        d => d.map(|d| d as i32),
    };

    db.write(|c| -> Result<(), AlertSettingsError> {
        let location = locations::find_by_name(c, location_name)?
            .ok_or_else(|| AlertSettingsError::NoSuchLocation(location_name.to_owned()))?;
        let rows_before = routing::recipients(c, &location.id)?;
        let alerting_before = routing::alerting(c, &location.id)?;
        let mut routes = Routing::from_rows(&rows_before);
        if let Some(f) = fallback {
            routes.fallback = f;
        }
        if let Some(a) = after_hours {
            routes.after_hours = a;
        }
        for (key, emails) in categories {
            if emails.is_empty() {
                routes.categories.remove(&key);
            } else {
                routes.categories.insert(key, emails);
            }
        }
        routing::replace(c, &location.id, &routes.to_rows(&location.id))?;
        let mut alerting = routing::alerting(c, &location.id)?
            .ok_or_else(|| AlertSettingsError::NoSuchLocation(location_name.to_owned()))?;
        if let Some(h) = opening_hours {
            alerting.opening_hours = h;
        }
        if let Some(m) = sla {
            alerting.sla_minutes = m;
        }
        if let Some(m) = escalation {
            alerting.escalation_minutes = m;
        }
        if let Some(s) = &change.severe_categories {
            alerting.severe_categories = optional_text(s);
        }
        if let Some(s) = &change.severe_keywords {
            alerting.severe_keywords = optional_text(s);
        }
        if let Some(s) = &change.root_causes {
            alerting.root_causes = optional_text(s);
        }
        if let Some(m) = survey_delay {
            alerting.survey_delay_minutes = m;
        }
        if let Some(d) = follow_up {
            alerting.follow_up_days = d;
        }
        if let Some(r) = unhappy_reopens {
            alerting.unhappy_reopens = r;
        }
        if let Some(w) = weekly_digest {
            alerting.weekly_digest = w;
        }
        if let Some(n) = unhappy_taps {
            alerting.unhappy_taps = n;
        }
        if let Some(m) = unhappy_tap_minutes {
            alerting.unhappy_tap_minutes = m;
        }
        if let Some(d) = retention_days {
            alerting.retention_days = d;
        }
        routing::set_alerting(c, &alerting)?;
        let rows_after = routing::recipients(c, &location.id)?;
        let described = |rows: &[crate::db::models::AlertRecipient]| -> Vec<String> {
            rows.iter()
                .map(|r| format!("{} {} {}", r.rule, r.category, r.email))
                .collect()
        };
        let before =
            serde_json::json!({ "routing": described(&rows_before), "settings": alerting_before });
        let after = serde_json::json!({ "routing": described(&rows_after), "settings": alerting });
        if before != after {
            crate::domain::setup::audit::record(
                c,
                actor,
                "settings.edit",
                &location.name,
                Some(&before),
                Some(&after),
            )?;
        }
        Ok(())
    })?;
    show(db, location_name)
}
