//! A dashboard for a period: reads what it needs in one go, turns stored UTC times into
//! each store's local time and hands the facts to [`super::insight`]. The period is a
//! range of store-local days, so "Monday 9-10" means 9-10 in the store, wherever it is.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};

use crate::db::queries::exports::Scope;
use crate::db::queries::insight::{self as q, LocationInfo};
use crate::db::{Db, DbError};
use crate::domain::alert::REPEAT_WINDOW_DAYS;
use crate::domain::insight::{
    control_chart, csat_trend, figures, heatmap, pareto, touchpoint_lines, AnswerFact, CaseFact,
    ControlChart, CustomerHistory, Figures, Heatmap, ParetoBar, TouchpointLine, TrendPoint,
};

/// Store-local days, both included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PeriodError {
    #[error("\"{0}\" is not a date like 2026-11-23.")]
    NotADate(String),
    #[error("The period ends before it starts.")]
    Backwards,
    #[error("Choose a period of at most {MAX_DAYS} days.")]
    TooLong,
}

impl PeriodError {
    /// The reason in the reader's words.
    pub fn text(&self, lang: crate::domain::language::Language) -> String {
        match self {
            PeriodError::NotADate(v) => lang.text_with("period_error.not_date", &[("value", v)]),
            PeriodError::Backwards => lang.text("period_error.backwards"),
            PeriodError::TooLong => {
                lang.text_with("period_error.too_long", &[("max", &MAX_DAYS.to_string())])
            }
        }
    }
}

/// Longest period shown at once (the c-chart has one point per day).
pub const MAX_DAYS: i64 = 731;

impl Period {
    /// From the query's `from`/`to`; missing ends default to the 28 days up to `today`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Period, PeriodError> {
        let day = |s: Option<&str>| -> Result<Option<NaiveDate>, PeriodError> {
            match s.map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| PeriodError::NotADate(v.chars().take(40).collect())),
            }
        };
        let to = day(to)?.unwrap_or(today);
        let from = day(from)?.unwrap_or(to - Duration::days(27));
        if to < from {
            return Err(PeriodError::Backwards);
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(Period { from, to })
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// A UTC window sure to hold every local day of the period, in any time zone.
    fn utc_window(&self) -> (NaiveDateTime, NaiveDateTime) {
        (
            (self.from - Duration::days(1)).and_time(chrono::NaiveTime::MIN),
            (self.to + Duration::days(2)).and_time(chrono::NaiveTime::MIN),
        )
    }
}

#[derive(Debug, Clone)]
pub struct TouchpointRow {
    pub location: String,
    pub label: String,
    pub line: TouchpointLine,
}

#[derive(Debug, Clone)]
pub struct LocationRow {
    pub id: String,
    pub name: String,
    pub figures: Figures,
}

#[derive(Debug, Clone)]
pub struct Dashboard {
    pub period: Period,
    /// The one location shown, or None for all the asker's locations.
    pub location: Option<LocationInfo>,
    pub figures: Figures,
    pub heatmap: Heatmap,
    pub categories: Vec<ParetoBar>,
    pub root_causes: Vec<ParetoBar>,
    pub control: ControlChart,
    pub trend: Vec<TrendPoint>,
    pub touchpoints: Vec<TouchpointRow>,
    /// Key figures per location (when several are shown).
    pub by_location: Vec<LocationRow>,
}

struct Zone(Option<chrono_tz::Tz>);

impl Zone {
    /// Unix seconds as the store's clock shows them.
    fn local(&self, unix: i64) -> NaiveDateTime {
        let at = chrono::DateTime::from_timestamp(unix, 0)
            .unwrap_or_default()
            .naive_utc();
        match self.0 {
            Some(tz) => tz.from_utc_datetime(&at).naive_local(),
            None => at,
        }
    }
}

fn minutes(from: i64, to: i64) -> f64 {
    (to - from) as f64 / 60.0
}

/// The dashboard of the asker's locations (or of one of them) for a period; None when
/// `location` is not one the asker may see.
pub fn build(
    db: &Db,
    scope: &Scope,
    location: Option<&str>,
    period: Period,
    now: NaiveDateTime,
) -> Result<Option<Dashboard>, DbError> {
    let (from, to) = period.utc_window();
    let repeat_from = from - Duration::days(REPEAT_WINDOW_DAYS);
    let locations = db.read(|c| q::locations_in_scope(c, scope, location))?;
    let ids: Vec<String> = locations.iter().map(|l| l.id.clone()).collect();
    // The cases are most of the reading: read them on a second connection meanwhile.
    let (cases, rest) = std::thread::scope(|s| {
        let cases = s.spawn(|| db.read(|c| q::cases_between(c, &ids, from, to)));
        let rest = db.read(|c| {
            Ok((
                q::customers_between(c, repeat_from, to)?,
                q::answers_between(c, &ids, from, to)?,
                q::touchpoints_of(c, &ids)?,
                q::scans_between(c, &ids, period.from, period.to)?,
            ))
        });
        let cases = cases
            .join()
            .unwrap_or_else(|_| Err(DbError::Stopped("the case reader")));
        (cases, rest)
    });
    let (cases, (customers, answers, touchpoints, scans)) = (cases?, rest?);
    if location.is_some() && locations.is_empty() {
        return Ok(None);
    }
    let zones: HashMap<&str, (Zone, i64)> = locations
        .iter()
        .map(|l| {
            (
                l.id.as_str(),
                (
                    Zone(l.time_zone.parse().ok()),
                    i64::from(l.sla_minutes.max(0)),
                ),
            )
        })
        .collect();
    let returning = CustomerHistory::new(customers);
    let window = REPEAT_WINDOW_DAYS * 86_400;
    let now = now.and_utc().timestamp();

    let location_of: HashMap<&str, std::rc::Rc<str>> = touchpoints
        .iter()
        .map(|(tp, loc, _)| (tp.as_str(), std::rc::Rc::from(loc.as_str())))
        .collect();
    let mut case_facts: Vec<CaseFact> = cases
        .into_iter()
        .filter_map(|c| {
            let location_id = location_of.get(c.touchpoint_id.as_str())?.clone();
            let (zone, sla) = zones.get(&*location_id)?;
            let received = zone.local(c.created_at);
            if !period.contains(received.date()) {
                return None;
            }
            let sla = *sla * 60;
            let within_sla = match c.acknowledged_at {
                Some(ack) => Some(ack - c.created_at <= sla),
                None if now - c.created_at > sla => Some(false),
                None => None,
            };
            Some(CaseFact {
                repeat: returning.is_repeat(
                    c.created_at,
                    c.contact_email.as_deref(),
                    c.device_hash.as_deref(),
                    window,
                ),
                minutes_to_acknowledge: c.acknowledged_at.map(|a| minutes(c.created_at, a)),
                minutes_to_resolve: c.resolved_at.map(|r| minutes(c.created_at, r)),
                acknowledged_within_sla: within_sla,
                compensation: match (c.compensation_currency, c.compensation_minor) {
                    (Some(cur), Some(minor)) if minor > 0 => Some((cur, i64::from(minor))),
                    _ => None,
                },
                location_id,
                touchpoint_id: c.touchpoint_id,
                category: c.category,
                root_cause: c.root_cause,
                received,
            })
        })
        .collect();
    let mut answer_facts: Vec<AnswerFact> = answers
        .into_iter()
        .filter_map(|a| {
            let location_id = a.location_id?;
            let (zone, _) = zones.get(location_id.as_str())?;
            let answered_on = zone.local(a.answered_at?).date();
            period.contains(answered_on).then_some(AnswerFact {
                location_id,
                answered_on,
                csat: a.csat,
                fixed: a.fixed,
            })
        })
        .collect();

    let scan_totals: HashMap<String, i64> = scans.into_iter().collect();
    let names: HashMap<&str, &str> = locations
        .iter()
        .map(|l| (l.id.as_str(), l.name.as_str()))
        .collect();
    let tp_ids: Vec<String> = touchpoints.iter().map(|t| t.0.clone()).collect();
    let lines = touchpoint_lines(&tp_ids, &scan_totals, &case_facts);
    let touchpoint_rows = touchpoints
        .iter()
        .zip(lines)
        .map(|((_, loc, label), line)| TouchpointRow {
            location: names.get(loc.as_str()).copied().unwrap_or("").to_owned(),
            label: label.clone(),
            line,
        })
        .collect();

    // Grouped by location by sorting, so each location's figures read a slice.
    case_facts.sort_by(|a, b| a.location_id.cmp(&b.location_id));
    answer_facts.sort_by(|a, b| a.location_id.cmp(&b.location_id));
    let by_location = if locations.len() > 1 {
        let cases_of: HashMap<&str, &[CaseFact]> = case_facts
            .chunk_by(|a, b| a.location_id == b.location_id)
            .map(|chunk| (&*chunk[0].location_id, chunk))
            .collect();
        let answers_of: HashMap<&str, &[AnswerFact]> = answer_facts
            .chunk_by(|a, b| a.location_id == b.location_id)
            .map(|chunk| (chunk[0].location_id.as_str(), chunk))
            .collect();
        locations
            .iter()
            .map(|l| LocationRow {
                id: l.id.clone(),
                name: l.name.clone(),
                figures: figures(
                    cases_of.get(l.id.as_str()).copied().unwrap_or_default(),
                    answers_of.get(l.id.as_str()).copied().unwrap_or_default(),
                ),
            })
            .collect()
    } else {
        Vec::new()
    };

    Ok(Some(Dashboard {
        period,
        location: location.and_then(|_| locations.first().cloned()),
        figures: figures(&case_facts, &answer_facts),
        heatmap: heatmap(&case_facts),
        categories: pareto(case_facts.iter().map(|c| c.category.as_str())),
        root_causes: pareto(case_facts.iter().filter_map(|c| c.root_cause.as_deref())),
        control: control_chart(&case_facts, period.from, period.to),
        trend: csat_trend(&answer_facts),
        touchpoints: touchpoint_rows,
        by_location,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_period_defaults_to_four_weeks_and_refuses_nonsense() {
        let today = d("2026-11-23");
        assert_eq!(
            Period::parse(None, None, today),
            Ok(Period {
                from: d("2026-10-27"),
                to: today
            })
        );
        assert_eq!(
            Period::parse(Some("2026-11-01"), Some(" "), today)
                .unwrap()
                .from,
            d("2026-11-01")
        );
        assert_eq!(
            Period::parse(Some("yesterday"), None, today),
            Err(PeriodError::NotADate("yesterday".into()))
        );
        assert_eq!(
            Period::parse(Some("2026-11-24"), Some("2026-11-23"), today),
            Err(PeriodError::Backwards)
        );
        assert_eq!(
            Period::parse(Some("2020-01-01"), None, today),
            Err(PeriodError::TooLong)
        );
    }
}
