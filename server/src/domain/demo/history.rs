//! `seed-demo --history DAYS`: a synthetic but plausible past for demo stores, so a
//! newcomer sees a living dashboard and benchmarks have data. Each store has its own
//! time zone, language, currency and a rush hour when complaints pile up and staff are
//! slower to answer; a few days have an incident (several times the usual volume), so the
//! control chart has something to flag. Comments come in en/ko/ja/pl.
//!
//! Deterministic for a given seed. Each store is written in one transaction: a store that
//! has cases is complete and is skipped when seeding again.

use std::collections::HashSet;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::models::{new_id, Case, Location, Survey, Touchpoint};
use crate::db::queries::{locations, touchpoints, users};
use crate::db::schema::{cases, surveys, touchpoint_scans};
use crate::db::states::CaseStatus;
use crate::db::{Db, DbConnection};
use crate::domain::case::complaint::DEFAULT_CATEGORIES;
use crate::domain::case::workflow::DEFAULT_ROOT_CAUSES;
use crate::domain::demo::DemoError;
use crate::domain::sticker::codes::{new_touchpoint_code, ALPHABET};
use crate::domain::survey::{survey_for_case, with_case_as_answered};

/// (city, time zone, language, currency, typical compensation in minor units, rush hour)
const CITIES: &[(&str, &str, &str, &str, i32, u32)] = &[
    ("Kraków", "Europe/Warsaw", "pl", "PLN", 3_000, 9),
    ("Seoul", "Asia/Seoul", "ko", "KRW", 1_000_000, 12),
    ("Tokyo", "Asia/Tokyo", "ja", "JPY", 100_000, 18),
    ("London", "Europe/London", "en", "GBP", 1_000, 17),
    ("Warsaw", "Europe/Warsaw", "pl", "PLN", 2_500, 8),
    ("Busan", "Asia/Seoul", "ko", "KRW", 800_000, 19),
    ("Osaka", "Asia/Tokyo", "ja", "JPY", 80_000, 13),
    ("Dublin", "Europe/Dublin", "en", "EUR", 1_000, 10),
];

const SPOTS: &[(&str, u32)] = &[("Till", 5), ("Restrooms", 2), ("Entrance", 3)];

/// What customers write, per category (in DEFAULT_CATEGORIES order) and language.
fn comment(category: usize, language: &str, variant: usize) -> &'static str {
    const EN: [[&str; 2]; 6] = [
        [
            "The restroom had no soap and the bin was overflowing.",
            "Tables were sticky and nobody wiped them.",
        ],
        [
            "Waited 20 minutes at the till with only one cashier open.",
            "The queue did not move for ages.",
        ],
        [
            "The cashier was rude when I asked for a receipt.",
            "Nobody greeted us and staff ignored my question.",
        ],
        [
            "My sandwich was stale and the coffee was cold.",
            "The milk in my latte was sour.",
        ],
        [
            "I was charged twice for the same item.",
            "The price on the shelf was lower than at the till.",
        ],
        [
            "The card reader did not work.",
            "The music was far too loud.",
        ],
    ];
    const KO: [[&str; 2]; 6] = [
        [
            "화장실에 비누가 없고 쓰레기통이 넘쳤어요.",
            "테이블이 끈적거렸어요.",
        ],
        [
            "계산대 한 곳만 열려 있어서 20분 기다렸어요.",
            "줄이 전혀 줄지 않았어요.",
        ],
        [
            "영수증을 달라고 하자 직원이 불친절했어요.",
            "직원이 질문을 무시했어요.",
        ],
        [
            "샌드위치가 오래됐고 커피가 식었어요.",
            "라떼의 우유가 상했어요.",
        ],
        [
            "같은 상품이 두 번 결제되었어요.",
            "진열대 가격과 계산 가격이 달라요.",
        ],
        [
            "카드 단말기가 작동하지 않았어요.",
            "음악이 너무 시끄러워요.",
        ],
    ];
    const JA: [[&str; 2]; 6] = [
        [
            "トイレに石鹸がなく、ゴミ箱があふれていました。",
            "テーブルがべたべたしていました。",
        ],
        [
            "レジが一つしか開いておらず20分待ちました。",
            "列が全く進みませんでした。",
        ],
        [
            "レシートを頼んだら店員の態度が悪かったです。",
            "質問を無視されました。",
        ],
        [
            "サンドイッチが古く、コーヒーが冷めていました。",
            "ラテの牛乳が傷んでいました。",
        ],
        [
            "同じ商品を二回請求されました。",
            "棚の価格とレジの価格が違いました。",
        ],
        ["カード端末が使えませんでした。", "音楽がうるさすぎます。"],
    ];
    const PL: [[&str; 2]; 6] = [
        [
            "W toalecie nie było mydła, a kosz był przepełniony.",
            "Stoliki były lepkie.",
        ],
        [
            "Czekałem 20 minut, otwarta była tylko jedna kasa.",
            "Kolejka w ogóle się nie ruszała.",
        ],
        [
            "Kasjer był niemiły, gdy poprosiłem o paragon.",
            "Obsługa zignorowała moje pytanie.",
        ],
        [
            "Kanapka była czerstwa, a kawa zimna.",
            "Mleko w latte było kwaśne.",
        ],
        [
            "Zapłaciłem dwa razy za ten sam produkt.",
            "Cena na półce była niższa niż przy kasie.",
        ],
        [
            "Terminal płatniczy nie działał.",
            "Muzyka była o wiele za głośna.",
        ],
    ];
    let table = match language {
        "ko" => &KO,
        "ja" => &JA,
        "pl" => &PL,
        _ => &EN,
    };
    table[category % 6][variant % 2]
}

/// Which root cause usually lies behind each category (in DEFAULT_CATEGORIES order).
const LIKELY_CAUSE: [&str; 6] = [
    "cleaning",
    "staffing",
    "training",
    "supplier",
    "process",
    "equipment",
];
const CATEGORY_WEIGHTS: [u32; 6] = [3, 6, 3, 4, 2, 1];

#[derive(Debug, Clone, Copy)]
pub struct HistoryPlan {
    pub days: u32,
    pub stores: u32,
    pub seed: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryReport {
    pub stores: Vec<String>,
    /// Stores left alone because they already have their history.
    pub already_there: Vec<String>,
    pub cases: u64,
    pub answers: u64,
}

pub fn store_name(i: u32) -> String {
    let city = CITIES[i as usize % CITIES.len()].0;
    match i as usize / CITIES.len() {
        0 => format!("Demo {city}"),
        n => format!("Demo {city} {}", n + 1),
    }
}

fn poisson(rng: &mut StdRng, mean: f64) -> u32 {
    // Knuth's method: fine for the small daily means used here.
    let limit = (-mean).exp();
    let (mut k, mut p) = (0u32, 1.0f64);
    loop {
        p *= rng.random::<f64>();
        if p <= limit {
            return k;
        }
        k += 1;
    }
}

fn log_normal(rng: &mut StdRng, median: f64, sigma: f64) -> f64 {
    let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
    let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    median * (sigma * normal).exp()
}

fn weighted(rng: &mut StdRng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut pick = rng.random_range(0..total.max(1));
    for (i, w) in weights.iter().enumerate() {
        if pick < *w {
            return i;
        }
        pick -= w;
    }
    0
}

fn reference(rng: &mut StdRng, taken: &mut HashSet<String>) -> String {
    loop {
        let mut pick = || char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]);
        let a: String = (0..3).map(|_| pick()).collect();
        let b: String = (0..3).map(|_| pick()).collect();
        let r = format!("{a}-{b}");
        if taken.insert(r.clone()) {
            return r;
        }
    }
}

fn id_at(at: NaiveDateTime, rng: &mut StdRng) -> String {
    let secs = u64::try_from(at.and_utc().timestamp()).unwrap_or(0);
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, secs, at.nanosecond());
    let mut id = *uuid::Uuid::new_v7(ts).as_bytes();
    // new_v7 draws its random bits from the OS; take ours so runs repeat exactly.
    rng.fill(&mut id[8..]);
    id[8] = (id[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(id).to_string()
}

struct Store {
    location: Location,
    spots: Vec<Touchpoint>,
    tz: chrono_tz::Tz,
    language: &'static str,
    currency: &'static str,
    compensation: i32,
    rush: u32,
    index: u32,
    /// Distinct customers who may come back (returning ones make repeat complaints).
    customers: u32,
    slug: String,
}

/// Seeds `plan.stores` demo stores with `plan.days` days of history up to `now`, all
/// visible to the demo manager. `progress(done, total)` is told after each store-day.
pub fn seed_history(
    db: &Db,
    plan: HistoryPlan,
    now: NaiveDateTime,
    manager_email: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<HistoryReport, DemoError> {
    let mut report = HistoryReport::default();
    let total = u64::from(plan.days) * u64::from(plan.stores);
    let mut done = 0u64;
    let mut taken: HashSet<String> = db
        .read(|c| cases::table.select(cases::reference).load(c))?
        .into_iter()
        .collect();
    for i in 0..plan.stores {
        let name = store_name(i);
        let mut rng = StdRng::seed_from_u64(plan.seed ^ (u64::from(i) << 32));
        let written = db.write(|c| -> Result<Option<(u64, u64)>, DemoError> {
            let Some(store) = open_store(c, i, &name, manager_email, plan.days)? else {
                return Ok(None);
            };
            let mut counts = (0, 0);
            for back in (0..plan.days).rev() {
                let day =
                    store.tz.from_utc_datetime(&now).date_naive() - Duration::days(i64::from(back));
                let (n, a) = seed_day(c, &store, day, now, &mut rng, &mut taken)?;
                counts.0 += n;
                counts.1 += a;
                done += 1;
                progress(done, total);
            }
            Ok(Some(counts))
        })?;
        match written {
            Some((n, a)) => {
                report.cases += n;
                report.answers += a;
                report.stores.push(name);
            }
            None => {
                done += u64::from(plan.days);
                progress(done, total);
                report.already_there.push(name);
            }
        }
    }
    Ok(report)
}

/// The store, created if missing; None if it already has cases (its history is there).
fn open_store(
    c: &mut DbConnection,
    i: u32,
    name: &str,
    manager_email: &str,
    days: u32,
) -> Result<Option<Store>, DemoError> {
    let (_, tz_name, language, currency, compensation, rush) = CITIES[i as usize % CITIES.len()];
    let location = match locations::find_by_name(c, name)? {
        Some(l) => {
            let has_cases: i64 = cases::table
                .filter(cases::location_id.eq(&l.id))
                .count()
                .get_result(c)?;
            if has_cases > 0 {
                return Ok(None);
            }
            l
        }
        None => {
            let l = Location {
                id: new_id(),
                name: name.to_owned(),
                time_zone: tz_name.to_owned(),
                default_language: language.to_owned(),
                sla_minutes: 15,
                created_at: crate::db::models::now_utc(),
            };
            locations::insert(c, &l)?;
            l
        }
    };
    let present = touchpoints::for_location(c, &location.id)?;
    for (label, _) in SPOTS {
        if !present.iter().any(|t| t.label == *label) {
            touchpoints::insert(
                c,
                &Touchpoint {
                    id: new_id(),
                    location_id: location.id.clone(),
                    label: (*label).to_owned(),
                    code: new_touchpoint_code(),
                    created_at: crate::db::models::now_utc(),
                },
            )?;
        }
    }
    let mut spots = touchpoints::for_location(c, &location.id)?;
    spots.retain(|t| SPOTS.iter().any(|(l, _)| *l == t.label));
    spots.sort_by_key(|t| SPOTS.iter().position(|(l, _)| *l == t.label));
    if let Some(manager) = users::find_by_email(c, manager_email)? {
        users::grant_location(c, &manager.id, &location.id)?;
    }
    Ok(Some(Store {
        location,
        spots,
        tz: tz_name.parse().unwrap_or(chrono_tz::UTC),
        language,
        currency,
        compensation,
        rush,
        index: i,
        customers: days.max(30) * 6,
        slug: format!("store{}", i + 1),
    }))
}

fn seed_day(
    c: &mut DbConnection,
    store: &Store,
    day: NaiveDate,
    now: NaiveDateTime,
    rng: &mut StdRng,
    taken: &mut HashSet<String>,
) -> Result<(u64, u64), DemoError> {
    let weekday = day.weekday().num_days_from_monday();
    let mut mean = 3.0
        * if weekday >= 5 {
            1.4
        } else if weekday == 4 {
            1.2
        } else {
            1.0
        };
    if rng.random_bool(0.02) {
        mean *= 3.5; // an incident: a broken machine, a missing delivery
    }
    let hours: Vec<u32> = (0..24)
        .map(|h| match h {
            h if h == store.rush => 8,
            h if h == store.rush + 1 => 4,
            7..=21 => 2,
            _ => 0,
        })
        .collect();
    let spot_weights: Vec<u32> = SPOTS.iter().map(|(_, w)| *w).collect();
    let mut new_cases = Vec::new();
    let mut new_surveys = Vec::new();
    let mut per_spot = vec![0u32; store.spots.len()];
    for _ in 0..poisson(rng, mean) {
        let hour = weighted(rng, &hours) as u32;
        let local = day.and_hms_opt(hour, rng.random_range(0..60), rng.random_range(0..60));
        let Some(created) = local
            .and_then(|l| store.tz.from_local_datetime(&l).earliest())
            .map(|t| t.naive_utc())
        else {
            continue;
        };
        if created >= now {
            continue;
        }
        let spot = weighted(rng, &spot_weights).min(store.spots.len().saturating_sub(1));
        let Some(touchpoint) = store.spots.get(spot) else {
            continue;
        };
        per_spot[spot] += 1;
        let category = weighted(rng, &CATEGORY_WEIGHTS);
        let language = if rng.random_bool(0.8) {
            store.language
        } else {
            "en"
        };
        // The rush hour is short-staffed: answers come slower.
        let slow = if hour == store.rush || hour == store.rush + 1 {
            2.2
        } else {
            1.0
        };
        let acknowledged = Some(created + minutes(log_normal(rng, 7.0 * slow, 0.7)))
            .filter(|a| *a < now && rng.random_bool(0.97));
        let resolved = acknowledged
            .map(|a| a + minutes(log_normal(rng, 80.0, 0.9)))
            .filter(|r| *r < now);
        // Customers come back: drawn from a pool per store sized so that about one
        // complaint in eight is from someone who complained in the last 90 days.
        let email = rng.random_bool(0.45).then(|| {
            let who = rng.random_range(0..store.customers * 4 / 3);
            format!("customer{who}@{}.example.test", store.slug)
        });
        let device = rng.random_bool(0.6).then(|| {
            let who = rng.random_range(0..store.customers);
            format!("{:032x}{:032x}", store.index, who)
        });
        let root_cause = resolved.map(|_| {
            if rng.random_bool(0.7) {
                LIKELY_CAUSE[category].to_owned()
            } else {
                DEFAULT_ROOT_CAUSES[rng.random_range(0..DEFAULT_ROOT_CAUSES.len())].to_owned()
            }
        });
        let compensated = resolved.is_some() && rng.random_bool(0.25);
        let amount = compensated
            .then(|| (f64::from(store.compensation) * rng.random_range(0.5..2.0)) as i32);
        let case = Case {
            id: id_at(created, rng),
            reference: reference(rng, taken),
            location_id: store.location.id.clone(),
            touchpoint_id: touchpoint.id.clone(),
            category: DEFAULT_CATEGORIES[category].to_owned(),
            body: comment(category, language, rng.random_range(0..2)).to_owned(),
            contact_consent: email.is_some(),
            contact_email: email.clone(),
            language: language.to_owned(),
            status: match (acknowledged, resolved) {
                (_, Some(_)) => CaseStatus::Resolved,
                (Some(_), None) => CaseStatus::Acknowledged,
                _ => CaseStatus::New,
            },
            created_at: created,
            acknowledged_at: acknowledged,
            resolved_at: resolved,
            status_token_hash: None,
            render_nonce: None,
            photo_path: None,
            photo_thumb_path: None,
            assignee_id: None,
            resolution: resolved.map(|_| "Apologised and put it right.".to_owned()),
            root_cause: root_cause.clone(),
            compensation_type: amount
                .map(|_| "voucher".to_owned())
                .or(resolved.map(|_| "apology".to_owned())),
            compensation_minor: amount,
            compensation_currency: amount.map(|_| store.currency.to_owned()),
            merged_into: None,
            device_hash: device,
            severe: Some(false),
            erased_at: None,
            flagged_at: None,
        };
        if let Some(survey) = resolved.and_then(|r| survey_for(&case, r, slow > 1.0, now, rng)) {
            new_surveys.push(survey);
        }
        new_cases.push(case);
    }
    let answered = new_surveys
        .iter()
        .filter(|s| s.answered_at.is_some())
        .count() as u64;
    let count = new_cases.len() as u64;
    // One row per statement: diesel's MultiConnection has no batch insert, and inside one
    // transaction with cached statements this is quick enough.
    for case in &new_cases {
        diesel::insert_into(cases::table).values(case).execute(c)?;
    }
    crate::domain::case::search::index_new(c, &new_cases)?;
    for survey in &new_surveys {
        diesel::insert_into(surveys::table)
            .values(survey)
            .execute(c)?;
    }
    for (t, n) in store.spots.iter().zip(&per_spot) {
        let scans = (*n * rng.random_range(6..14) + rng.random_range(5..40)) as i32;
        diesel::insert_into(touchpoint_scans::table)
            .values((
                touchpoint_scans::touchpoint_id.eq(t.id.clone()),
                touchpoint_scans::day.eq(day),
                touchpoint_scans::scans.eq(scans),
            ))
            .execute(c)?;
    }
    Ok((count, answered))
}

fn minutes(m: f64) -> Duration {
    Duration::seconds((m * 60.0).round() as i64)
}

fn survey_for(
    case: &Case,
    resolved: NaiveDateTime,
    slow: bool,
    now: NaiveDateTime,
    rng: &mut StdRng,
) -> Option<Survey> {
    if !rng.random_bool(0.7) {
        return None;
    }
    let due = resolved + Duration::minutes(60);
    let answered = Some(due + minutes(log_normal(rng, 180.0, 1.2)))
        .filter(|a| *a < now && rng.random_bool(0.55));
    let weights: &[u32] = match (slow, case.compensation_minor.is_some()) {
        (false, true) => &[1, 2, 6, 30, 61],
        (false, false) => &[3, 4, 12, 36, 45],
        (true, true) => &[6, 10, 20, 34, 30],
        (true, false) => &[14, 18, 26, 26, 16],
    };
    let csat = answered.map(|_| weighted(rng, weights) as i32 + 1);
    let fixed = csat.map(|r| {
        match r {
            5 | 4 => ["yes", "yes", "yes", "partly"][rng.random_range(0..4)],
            3 => ["yes", "partly", "partly", "no"][rng.random_range(0..4)],
            _ => ["partly", "no", "no", "no"][rng.random_range(0..4)],
        }
        .to_owned()
    });
    let mut hash = [0u8; 32];
    rng.fill(&mut hash);
    let blank = survey_for_case(
        case,
        crate::domain::survey::SurveyKind::Satisfaction,
        case.contact_email.clone(),
        Some(due),
        &[],
        resolved,
    );
    Some(with_case_as_answered(
        Survey {
            // Deterministic ids; no link is ever sent, so the token is just unique.
            id: id_at(due, rng),
            token_hash: hex::encode(hash),
            sent_at: Some(due),
            answered_at: answered,
            csat,
            fixed,
            return_likelihood: csat.map(|r| (r * 2).min(10) - rng.random_range(0..2)),
            comment: csat
                .filter(|r| *r <= 2 && rng.random_bool(0.5))
                .map(|_| "Still not happy with how this was handled.".to_owned()),
            // Marked reminded: the worker must never email these made-up customers.
            reminded_at: Some(due + Duration::days(3)),
            ..blank
        },
        case,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_names_go_round_the_cities_and_stay_unique() {
        let names: HashSet<String> = (0..20).map(store_name).collect();
        assert_eq!(names.len(), 20);
        assert_eq!(store_name(0), "Demo Kraków");
        assert_eq!(store_name(8), "Demo Kraków 2");
    }

    #[test]
    fn daily_counts_average_out_near_the_mean() {
        let mut rng = StdRng::seed_from_u64(7);
        let total: u32 = (0..10_000).map(|_| poisson(&mut rng, 3.0)).sum();
        let mean = f64::from(total) / 10_000.0;
        assert!((mean - 3.0).abs() < 0.1, "{mean}");
    }

    #[test]
    fn every_language_has_a_comment_for_every_category() {
        for lang in ["en", "ko", "ja", "pl"] {
            for cat in 0..DEFAULT_CATEGORIES.len() {
                assert!(!comment(cat, lang, 1).is_empty());
            }
        }
        assert_ne!(comment(0, "ko", 0), comment(0, "en", 0));
    }
}
