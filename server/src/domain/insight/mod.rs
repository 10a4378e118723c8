//! What managers learn from the cases: the dashboard, its charts, the weekly digest and
//! the exports, over the figures computed here.
//!
//! The numbers behind the managers' dashboard: key figures, the hour x weekday heatmap,
//! Pareto lists, the daily c-chart and the CSAT trend. Plain functions over facts already
//! in store-local time, so every number can be checked by hand on a small data set.

pub mod charts;
pub mod dashboard;
pub mod digest;
pub mod export;

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};

use crate::domain::language::formats;
use crate::domain::language::Language;

/// One complaint as the dashboard counts it. Times are the store's local times.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFact {
    /// Shared: thousands of facts name a few locations.
    pub location_id: std::rc::Rc<str>,
    pub touchpoint_id: String,
    pub category: String,
    pub root_cause: Option<String>,
    pub received: NaiveDateTime,
    pub minutes_to_acknowledge: Option<f64>,
    pub minutes_to_resolve: Option<f64>,
    /// Some(true/false) once the case was acknowledged or its SLA ran out; None while the
    /// SLA is still running (neither a success nor a failure yet).
    pub acknowledged_within_sla: Option<bool>,
    /// The same customer (email or device) complained within the 90 days before.
    pub repeat: bool,
    /// Currency and amount in minor units (cents).
    pub compensation: Option<(String, i64)>,
}

/// One answered satisfaction survey.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerFact {
    pub location_id: String,
    pub answered_on: NaiveDate,
    pub csat: Option<i32>,
    pub fixed: Option<String>,
}

/// The headline numbers of a period.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Figures {
    pub complaints: usize,
    pub median_minutes_to_acknowledge: Option<f64>,
    pub median_minutes_to_resolve: Option<f64>,
    /// Share (0..=100) of the cases whose SLA is decided that were acknowledged in time.
    pub acknowledged_within_sla_pct: Option<f64>,
    /// Recovery CSAT: share of ratings that are 4 or 5.
    pub csat_pct: Option<f64>,
    pub csat_mean: Option<f64>,
    pub answers: usize,
    pub fixed_pct: Option<f64>,
    pub repeat_pct: Option<f64>,
    /// Compensation given, per currency, in minor units; sorted by currency.
    pub compensation: Vec<(String, i64)>,
}

/// A headline figure as shown: a label and a formatted value ("-" when there is none).
pub struct Shown {
    pub label: String,
    pub value: String,
}

impl Figures {
    /// The headline figures as the dashboard and the weekly digest show them, in the
    /// reader's language.
    pub fn shown(&self, lang: Language) -> Vec<Shown> {
        let f = self;
        let count = |n: usize| formats::number(lang, i64::try_from(n).unwrap_or(i64::MAX));
        [
            ("figure.complaints", count(f.complaints)),
            (
                "figure.median_ack",
                one_decimal(lang, f.median_minutes_to_acknowledge, ""),
            ),
            (
                "figure.median_resolve",
                one_decimal(lang, f.median_minutes_to_resolve, ""),
            ),
            (
                "figure.within_sla",
                one_decimal(lang, f.acknowledged_within_sla_pct, "%"),
            ),
            ("figure.csat", one_decimal(lang, f.csat_pct, "%")),
            (
                "figure.mean_rating",
                f.csat_mean.map_or_else(
                    || "-".to_owned(),
                    |m| {
                        lang.text_with(
                            "figure.of_five",
                            &[("value", &formats::decimal(lang, m, 2))],
                        )
                    },
                ),
            ),
            ("figure.answers", count(f.answers)),
            ("figure.fixed", one_decimal(lang, f.fixed_pct, "%")),
            ("figure.repeat", one_decimal(lang, f.repeat_pct, "%")),
            ("figure.compensation", f.compensation_text(lang)),
        ]
        .into_iter()
        .map(|(key, value)| Shown {
            label: lang.text(key),
            value,
        })
        .collect()
    }

    /// The compensation given, per currency, as the reader writes money: "₩5,000; €12.50".
    pub fn compensation_text(&self, lang: Language) -> String {
        if self.compensation.is_empty() {
            return "-".to_owned();
        }
        self.compensation
            .iter()
            .map(|(cur, minor)| crate::domain::language::formats::money(lang, *minor, cur))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A figure with one decimal as the reader writes it, and its unit, or "-" when there
/// is none: "12.5%", "12,5%".
pub fn one_decimal(lang: Language, v: Option<f64>, unit: &str) -> String {
    v.map_or_else(
        || "-".to_owned(),
        |v| {
            format!(
                "{}{unit}",
                crate::domain::language::formats::decimal(lang, v, 1)
            )
        },
    )
}

pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

fn pct(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

pub fn figures(cases: &[CaseFact], answers: &[AnswerFact]) -> Figures {
    let mut ack: Vec<f64> = cases
        .iter()
        .filter_map(|c| c.minutes_to_acknowledge)
        .collect();
    let mut resolve: Vec<f64> = cases.iter().filter_map(|c| c.minutes_to_resolve).collect();
    let decided: Vec<bool> = cases
        .iter()
        .filter_map(|c| c.acknowledged_within_sla)
        .collect();
    let ratings: Vec<i32> = answers.iter().filter_map(|a| a.csat).collect();
    let fixed: Vec<&str> = answers.iter().filter_map(|a| a.fixed.as_deref()).collect();
    let mut compensation: BTreeMap<String, i64> = BTreeMap::new();
    for (currency, minor) in cases.iter().filter_map(|c| c.compensation.as_ref()) {
        *compensation.entry(currency.clone()).or_default() += minor;
    }
    Figures {
        complaints: cases.len(),
        median_minutes_to_acknowledge: median(&mut ack),
        median_minutes_to_resolve: median(&mut resolve),
        acknowledged_within_sla_pct: pct(decided.iter().filter(|d| **d).count(), decided.len()),
        csat_pct: pct(ratings.iter().filter(|r| **r >= 4).count(), ratings.len()),
        csat_mean: (!ratings.is_empty())
            .then(|| ratings.iter().map(|r| f64::from(*r)).sum::<f64>() / ratings.len() as f64),
        answers: answers.len(),
        fixed_pct: pct(fixed.iter().filter(|f| **f == "yes").count(), fixed.len()),
        repeat_pct: pct(cases.iter().filter(|c| c.repeat).count(), cases.len()),
        compensation: compensation.into_iter().collect(),
    }
}

/// Complaints by weekday (Monday first) and hour of the store's day.
pub type Heatmap = [[u32; 24]; 7];

pub fn heatmap(cases: &[CaseFact]) -> Heatmap {
    let mut cells = [[0u32; 24]; 7];
    for c in cases {
        let day = c.received.weekday().num_days_from_monday() as usize;
        cells[day][c.received.hour() as usize] += 1;
    }
    cells
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParetoBar {
    pub label: String,
    pub count: usize,
    /// Share of the total up to and including this bar (0..=100).
    pub cumulative_pct: f64,
}

/// The causes most often behind the complaints first (ties by name, so the order is
/// stable), with the running share of the total: the "vital few".
pub fn pareto<'a>(labels: impl IntoIterator<Item = &'a str>) -> Vec<ParetoBar> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for l in labels {
        *counts.entry(l).or_default() += 1;
    }
    let total: usize = counts.values().sum();
    let mut bars: Vec<(&str, usize)> = counts.into_iter().collect();
    bars.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut running = 0;
    bars.into_iter()
        .map(|(label, count)| {
            running += count;
            ParetoBar {
                label: label.to_owned(),
                count,
                cumulative_pct: running as f64 * 100.0 / total as f64,
            }
        })
        .collect()
}

/// A c-chart of complaints per day: the count of events per equal opportunity (a day),
/// centre line c̄ and limits c̄ ± 3√c̄ (the lower one not below zero).
#[derive(Debug, Clone, PartialEq)]
pub struct ControlChart {
    pub days: Vec<(NaiveDate, u32)>,
    pub centre: f64,
    pub upper: f64,
    pub lower: f64,
    /// Days above the upper limit or below a lower limit above zero.
    pub out_of_control: Vec<(NaiveDate, u32)>,
}

pub fn control_chart(cases: &[CaseFact], from: NaiveDate, to: NaiveDate) -> ControlChart {
    let mut per_day: BTreeMap<NaiveDate, u32> = BTreeMap::new();
    let mut day = from;
    while day <= to {
        per_day.insert(day, 0);
        day += Duration::days(1);
    }
    for c in cases {
        if let Some(n) = per_day.get_mut(&c.received.date()) {
            *n += 1;
        }
    }
    let days: Vec<(NaiveDate, u32)> = per_day.into_iter().collect();
    let centre = if days.is_empty() {
        0.0
    } else {
        days.iter().map(|(_, n)| f64::from(*n)).sum::<f64>() / days.len() as f64
    };
    let spread = 3.0 * centre.sqrt();
    let (upper, lower) = (centre + spread, (centre - spread).max(0.0));
    let out_of_control = days
        .iter()
        .filter(|(_, n)| f64::from(*n) > upper || (lower > 0.0 && f64::from(*n) < lower))
        .copied()
        .collect();
    ControlChart {
        days,
        centre,
        upper,
        lower,
        out_of_control,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    /// The Monday that starts the week.
    pub week: NaiveDate,
    pub csat_mean: f64,
    pub answers: usize,
}

/// Mean rating per week (weeks without ratings are left out).
pub fn csat_trend(answers: &[AnswerFact]) -> Vec<TrendPoint> {
    let mut weeks: BTreeMap<NaiveDate, (i64, usize)> = BTreeMap::new();
    for a in answers {
        if let Some(csat) = a.csat {
            let monday = a.answered_on
                - Duration::days(i64::from(a.answered_on.weekday().num_days_from_monday()));
            let w = weeks.entry(monday).or_default();
            w.0 += i64::from(csat);
            w.1 += 1;
        }
    }
    weeks
        .into_iter()
        .map(|(week, (sum, n))| TrendPoint {
            week,
            csat_mean: sum as f64 / n as f64,
            answers: n,
        })
        .collect()
}

/// Scans and complaints of one touchpoint: how many of the people who scanned the
/// sticker went on to complain.
#[derive(Debug, Clone, PartialEq)]
pub struct TouchpointLine {
    pub touchpoint_id: String,
    pub scans: i64,
    pub complaints: usize,
    /// Complaints per 100 scans; None without scans.
    pub per_hundred_scans: Option<f64>,
}

pub fn touchpoint_lines(
    touchpoints: &[String],
    scans: &HashMap<String, i64>,
    cases: &[CaseFact],
) -> Vec<TouchpointLine> {
    let mut complaints: HashMap<&str, usize> = HashMap::new();
    for c in cases {
        *complaints.entry(c.touchpoint_id.as_str()).or_default() += 1;
    }
    touchpoints
        .iter()
        .map(|t| {
            let s = scans.get(t).copied().unwrap_or(0);
            let n = complaints.get(t.as_str()).copied().unwrap_or(0);
            TouchpointLine {
                touchpoint_id: t.clone(),
                scans: s,
                complaints: n,
                per_hundred_scans: (s > 0).then(|| n as f64 * 100.0 / s as f64),
            }
        })
        .collect()
}

/// When each returning customer complained (Unix seconds, sorted), by email and by
/// device, to tell repeat complainants. Emails are stored lower-cased.
#[derive(Debug, Default)]
pub struct CustomerHistory {
    emails: HashMap<String, Vec<i64>>,
    devices: HashMap<String, Vec<i64>>,
}

impl CustomerHistory {
    /// From (received, email, device) rows; rows with neither are ignored.
    pub fn new(rows: impl IntoIterator<Item = (i64, Option<String>, Option<String>)>) -> Self {
        let mut h = CustomerHistory::default();
        for (at, email, device) in rows {
            if let Some(e) = email {
                h.emails.entry(e).or_default().push(at);
            }
            if let Some(d) = device {
                h.devices.entry(d).or_default().push(at);
            }
        }
        for times in h.emails.values_mut().chain(h.devices.values_mut()) {
            times.sort_unstable();
        }
        h
    }

    /// Whether the customer of a complaint received at `at` (itself one of the rows)
    /// complained before, within `window` seconds of it.
    pub fn is_repeat(
        &self,
        at: i64,
        email: Option<&str>,
        device: Option<&str>,
        window: i64,
    ) -> bool {
        let within = |times: Option<&Vec<i64>>| {
            times.is_some_and(|t| {
                let from = t.partition_point(|x| *x < at - window);
                let to = t.partition_point(|x| *x <= at);
                to - from >= 2
            })
        };
        within(email.and_then(|e| self.emails.get(e)))
            || within(device.and_then(|d| self.devices.get(d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, day)
            .unwrap()
            .and_hms_opt(hour, 30, 0)
            .unwrap()
    }

    fn case(day: u32, hour: u32, category: &str, root: Option<&str>) -> CaseFact {
        CaseFact {
            location_id: "loc".into(),
            touchpoint_id: "tp".into(),
            category: category.into(),
            root_cause: root.map(Into::into),
            received: at(day, hour),
            minutes_to_acknowledge: None,
            minutes_to_resolve: None,
            acknowledged_within_sla: None,
            repeat: false,
            compensation: None,
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts_and_of_nothing() {
        assert_eq!(median(&mut [7.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 10.0]), Some(3.5));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn figures_match_a_hand_count() {
        let mut cases = vec![
            case(2, 9, "wait", None),
            case(2, 9, "wait", None),
            case(3, 14, "staff", None),
            case(4, 9, "clean", None),
        ];
        cases[0].minutes_to_acknowledge = Some(4.0);
        cases[0].acknowledged_within_sla = Some(true);
        cases[0].minutes_to_resolve = Some(30.0);
        cases[0].compensation = Some(("EUR".into(), 500));
        cases[1].minutes_to_acknowledge = Some(20.0);
        cases[1].acknowledged_within_sla = Some(false);
        cases[1].repeat = true;
        cases[1].compensation = Some(("EUR".into(), 250));
        cases[2].minutes_to_acknowledge = Some(10.0);
        cases[2].acknowledged_within_sla = Some(true);
        cases[2].minutes_to_resolve = Some(90.0);
        cases[2].compensation = Some(("PLN".into(), 1000));
        // cases[3]: not acknowledged, SLA still running: counted nowhere but the total.
        let answer = |csat: i32, fixed: &str| AnswerFact {
            location_id: "loc".into(),
            answered_on: at(5, 0).date(),
            csat: Some(csat),
            fixed: Some(fixed.into()),
        };
        let answers = vec![answer(5, "yes"), answer(4, "yes"), answer(2, "no")];
        let f = figures(&cases, &answers);
        assert_eq!(f.complaints, 4);
        assert_eq!(f.median_minutes_to_acknowledge, Some(10.0));
        assert_eq!(f.median_minutes_to_resolve, Some(60.0));
        let near = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-9;
        assert!(near(f.acknowledged_within_sla_pct, 200.0 / 3.0));
        assert!(near(f.csat_pct, 200.0 / 3.0));
        assert!(near(f.csat_mean, 11.0 / 3.0));
        assert!(near(f.fixed_pct, 200.0 / 3.0));
        assert!(near(f.repeat_pct, 25.0));
        assert_eq!(
            f.compensation,
            vec![("EUR".to_owned(), 750), ("PLN".to_owned(), 1000)]
        );
        assert_eq!(figures(&[], &[]).csat_pct, None);
    }

    #[test]
    fn heatmap_cells_count_by_weekday_and_local_hour() {
        // 2026-11-02 is a Monday, 2026-11-08 a Sunday.
        let cases = vec![
            case(2, 9, "a", None),
            case(2, 9, "a", None),
            case(9, 9, "a", None),
            case(8, 23, "a", None),
        ];
        let h = heatmap(&cases);
        assert_eq!(h[0][9], 3);
        assert_eq!(h[6][23], 1);
        assert_eq!(h.iter().flatten().sum::<u32>(), 4);
    }

    #[test]
    fn pareto_orders_by_count_then_name_with_running_share() {
        let bars = pareto(["wait", "clean", "wait", "staff", "wait", "clean", "bill"]);
        let got: Vec<(&str, usize, f64)> = bars
            .iter()
            .map(|b| {
                (
                    b.label.as_str(),
                    b.count,
                    (b.cumulative_pct * 10.0).round() / 10.0,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("wait", 3, 42.9),
                ("clean", 2, 71.4),
                ("bill", 1, 85.7),
                ("staff", 1, 100.0)
            ]
        );
        assert!(pareto([]).is_empty());
    }

    #[test]
    fn control_chart_limits_and_out_of_control_days_match_a_hand_computation() {
        // Ten days: nine with 4 complaints, one with 16: total 52, c̄ = 5.2,
        // UCL = 5.2 + 3·√5.2 = 12.041, LCL = max(0, 5.2 − 6.841) = 0.
        let mut cases = Vec::new();
        for day in 1..=10 {
            let n = if day == 6 { 16 } else { 4 };
            for _ in 0..n {
                cases.push(case(day, 12, "wait", None));
            }
        }
        let from = at(1, 0).date();
        let to = at(10, 0).date();
        let chart = control_chart(&cases, from, to);
        assert_eq!(chart.days.len(), 10);
        assert!((chart.centre - 5.2).abs() < 1e-9);
        assert!((chart.upper - 12.041).abs() < 1e-3);
        assert_eq!(chart.lower, 0.0);
        assert_eq!(chart.out_of_control, vec![(at(6, 0).date(), 16)]);

        // A steady 25 a day with one quiet day of 5: c̄ = 23, LCL = 23 − 3·√23 = 8.61.
        let mut steady = Vec::new();
        for day in 1..=10 {
            let n = if day == 3 { 5 } else { 25 };
            for _ in 0..n {
                steady.push(case(day, 12, "wait", None));
            }
        }
        let chart = control_chart(&steady, from, to);
        assert!((chart.lower - (23.0 - 3.0 * 23f64.sqrt())).abs() < 1e-9);
        assert_eq!(chart.out_of_control, vec![(at(3, 0).date(), 5)]);
    }

    #[test]
    fn days_without_complaints_count_as_zero_and_cases_outside_are_ignored() {
        let cases = vec![case(2, 9, "a", None), case(20, 9, "a", None)];
        let chart = control_chart(&cases, at(1, 0).date(), at(3, 0).date());
        assert_eq!(
            chart.days.iter().map(|d| d.1).collect::<Vec<_>>(),
            vec![0, 1, 0]
        );
    }

    #[test]
    fn csat_trend_is_the_weekly_mean_from_monday() {
        let answer = |day: u32, csat: i32| AnswerFact {
            location_id: "loc".into(),
            answered_on: at(day, 0).date(),
            csat: Some(csat),
            fixed: None,
        };
        let trend = csat_trend(&[answer(2, 5), answer(8, 2), answer(9, 4), answer(10, 3)]);
        assert_eq!(
            trend,
            vec![
                TrendPoint {
                    week: at(2, 0).date(),
                    csat_mean: 3.5,
                    answers: 2
                },
                TrendPoint {
                    week: at(9, 0).date(),
                    csat_mean: 3.5,
                    answers: 2
                },
            ]
        );
    }

    #[test]
    fn touchpoints_show_complaints_per_hundred_scans() {
        let scans = HashMap::from([("tp".to_owned(), 40), ("quiet".to_owned(), 0)]);
        let cases = vec![case(2, 9, "a", None), case(2, 10, "a", None)];
        let lines = touchpoint_lines(&["tp".into(), "quiet".into()], &scans, &cases);
        assert_eq!(lines[0].per_hundred_scans, Some(5.0));
        assert_eq!(lines[1].complaints, 0);
        assert_eq!(lines[1].per_hundred_scans, None);
    }

    #[test]
    fn a_customer_is_a_repeat_by_email_or_device_within_the_window() {
        let day = |d: i64| d * 86_400;
        let rows = vec![
            (day(1), Some("ann@x.test".to_owned()), None),
            (
                day(5),
                Some("ann@x.test".to_owned()),
                Some("dev1".to_owned()),
            ),
            (day(6), None, Some("dev1".to_owned())),
            (day(7), Some("zed@x.test".to_owned()), None),
        ];
        let h = CustomerHistory::new(rows);
        let window = day(90);
        assert!(
            !h.is_repeat(day(1), Some("ann@x.test"), None, window),
            "the first time"
        );
        assert!(h.is_repeat(day(5), Some("ann@x.test"), Some("dev1"), window));
        assert!(
            h.is_repeat(day(6), None, Some("dev1"), window),
            "same device"
        );
        assert!(!h.is_repeat(day(7), Some("zed@x.test"), None, window));
        assert!(
            !h.is_repeat(day(6), None, Some("dev1"), 3_600),
            "too long ago"
        );
        assert!(!h.is_repeat(day(6), None, None, window));
    }
}
