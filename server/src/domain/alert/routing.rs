//! Who is alerted about a new case: the category's recipients, else the location's
//! fallback list; outside opening hours, the after-hours list when there is one (nobody
//! is in the store to act). Plain functions on the stored rules.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDateTime, Timelike, Weekday};

use crate::db::models::AlertRecipient;
use crate::domain::case::complaint::ContactEmail;

pub const RULE_CATEGORY: &str = "category";
pub const RULE_FALLBACK: &str = "fallback";
pub const RULE_AFTER_HOURS: &str = "after_hours";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Routing {
    pub categories: BTreeMap<String, Vec<String>>,
    pub fallback: Vec<String>,
    pub after_hours: Vec<String>,
}

impl Routing {
    /// Drops these addresses from every rule (rules left empty are dropped too).
    pub fn remove(&mut self, emails: &[String]) {
        for list in self.categories.values_mut() {
            list.retain(|e| !emails.contains(e));
        }
        self.categories.retain(|_, list| !list.is_empty());
        self.fallback.retain(|e| !emails.contains(e));
        self.after_hours.retain(|e| !emails.contains(e));
    }

    pub fn from_rows(rows: &[AlertRecipient]) -> Routing {
        let mut routing = Routing::default();
        for row in rows {
            let list = match row.rule.as_str() {
                RULE_CATEGORY => routing.categories.entry(row.category.clone()).or_default(),
                RULE_FALLBACK => &mut routing.fallback,
                RULE_AFTER_HOURS => &mut routing.after_hours,
                _ => continue,
            };
            list.push(row.email.clone());
        }
        routing
    }

    pub fn to_rows(&self, location_id: &str) -> Vec<AlertRecipient> {
        let row = |rule: &str, category: &str, email: &String| AlertRecipient {
            location_id: location_id.to_owned(),
            rule: rule.to_owned(),
            category: category.to_owned(),
            email: email.clone(),
        };
        let mut rows = Vec::new();
        for (category, emails) in &self.categories {
            rows.extend(emails.iter().map(|e| row(RULE_CATEGORY, category, e)));
        }
        rows.extend(self.fallback.iter().map(|e| row(RULE_FALLBACK, "", e)));
        rows.extend(
            self.after_hours
                .iter()
                .map(|e| row(RULE_AFTER_HOURS, "", e)),
        );
        rows
    }

    pub fn is_empty(&self) -> bool {
        self.categories.values().all(Vec::is_empty)
            && self.fallback.is_empty()
            && self.after_hours.is_empty()
    }

    /// The addresses to alert about a case in `category`, with the store open or not.
    pub fn recipients(&self, category: &str, open: bool) -> Vec<String> {
        if !open && !self.after_hours.is_empty() {
            return self.after_hours.clone();
        }
        match self.categories.get(category) {
            Some(list) if !list.is_empty() => list.clone(),
            _ => self.fallback.clone(),
        }
    }
}

/// "a@example.com, b@example.com" into addresses, each checked; the error names the one
/// that is wrong. Repeats are dropped.
/// Addresses separated by commas, semicolons, spaces or lines; the error is the part that
/// is not an address.
pub fn parse_address_list(s: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for part in s.split([',', ';', ' ', '\n']).map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let address = ContactEmail::parse(part).map_err(|_| part.to_owned())?;
        if !out.iter().any(|a| a == address.as_str()) {
            out.push(address.as_str().to_owned());
        }
    }
    Ok(out)
}

/// Opening hours, in the store's local time: "mon-fri 08:00-20:00; sat 09:00-14:00".
/// A range ending at or before its start runs past midnight ("fri 18:00-02:00").
#[derive(Debug, Clone, PartialEq)]
pub struct OpeningHours {
    spans: Vec<Span>,
}

#[derive(Debug, Clone, PartialEq)]
struct Span {
    days: Vec<Weekday>,
    /// Minutes after midnight.
    open: u32,
    close: u32,
}

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

fn day(s: &str) -> Option<Weekday> {
    let s = s.trim().to_ascii_lowercase();
    DAYS.iter()
        .find(|(name, _)| s.starts_with(name))
        .map(|(_, d)| *d)
}

fn minutes(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

impl OpeningHours {
    pub fn parse(s: &str) -> Result<OpeningHours, String> {
        let mut spans = Vec::new();
        for entry in s
            .split([';', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let bad = || {
                format!("\"{entry}\" is not like \"mon-fri 08:00-20:00\" (days, then HH:MM-HH:MM)")
            };
            let (days_part, times) = entry.split_once(char::is_whitespace).ok_or_else(bad)?;
            let days = match days_part.split_once('-') {
                Some((from, to)) => {
                    let (from, to) = (day(from).ok_or_else(bad)?, day(to).ok_or_else(bad)?);
                    let mut days = vec![from];
                    let mut d = from;
                    while d != to {
                        d = d.succ();
                        days.push(d);
                    }
                    days
                }
                None => days_part
                    .split(',')
                    .map(|d| day(d).ok_or_else(bad))
                    .collect::<Result<_, _>>()?,
            };
            let times = times.trim();
            if times.eq_ignore_ascii_case("closed") {
                continue;
            }
            let (open, close) = times.split_once('-').ok_or_else(bad)?;
            let (open, close) = (
                minutes(open).ok_or_else(bad)?,
                minutes(close).ok_or_else(bad)?,
            );
            spans.push(Span { days, open, close });
        }
        Ok(OpeningHours { spans })
    }

    pub fn is_open(&self, local: NaiveDateTime) -> bool {
        let today = local.weekday();
        let minute = local.hour() * 60 + local.minute();
        self.spans.iter().any(|s| {
            if s.open < s.close {
                s.days.contains(&today) && (s.open..s.close).contains(&minute)
            } else {
                // Past midnight: the evening of a listed day, or the small hours after it.
                (s.days.contains(&today) && minute >= s.open)
                    || (s.days.contains(&today.pred()) && minute < s.close)
            }
        })
    }
}

/// Severe: a category the location marks so, or a keyword of its list in the text.
/// Keywords match words, not any substring: in languages written with spaces (English,
/// Polish, Korean) a keyword must start a word, so "피" (blood) matches "피가" but not
/// "커피" (coffee), and "rat" matches "rats" but not "separate". Japanese and Chinese have
/// no spaces between words, so a keyword in their scripts matches anywhere in the text.
pub fn is_severe(
    category: &str,
    text: &str,
    severe_categories: Option<&str>,
    severe_keywords: Option<&str>,
) -> bool {
    let list = |s: Option<&str>| -> Vec<String> {
        s.unwrap_or_default()
            .split(',')
            .map(|w| w.trim().to_lowercase())
            .filter(|w| !w.is_empty())
            .collect()
    };
    if list(severe_categories).iter().any(|c| c == category) {
        return true;
    }
    let text = text.to_lowercase();
    list(severe_keywords).iter().any(|k| keyword_in(&text, k))
}

/// Han ideographs, hiragana and katakana: scripts written without spaces between words.
fn unspaced_script(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'   // hiragana, katakana
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
        | '\u{F900}'..='\u{FAFF}' // CJK compatibility ideographs
        | '\u{FF66}'..='\u{FF9F}' // half-width katakana
    )
}

/// `keyword` (lower-case) in `text` (lower-case) as [`is_severe`] defines it.
fn keyword_in(text: &str, keyword: &str) -> bool {
    if keyword.chars().any(unspaced_script) {
        return text.contains(keyword);
    }
    text.match_indices(keyword).any(|(at, _)| {
        text[..at]
            .chars()
            .next_back()
            .is_none_or(|before| !before.is_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severe_keywords_match_words_not_any_substring() {
        let severe = |text: &str, keywords: &str| is_severe("other", text, None, Some(keywords));
        assert!(severe("손가락에서 피가 나요", "피"));
        assert!(
            !severe("커피가 너무 식었어요", "피"),
            "blood is not in coffee"
        );
        assert!(severe("I saw RATS in the kitchen", "rat"));
        assert!(!severe("Please separate the bags", "rat"));
        assert!(severe("Znalazłem krew na podłodze", "krew"));
        assert!(severe("food poisoning after lunch", "food poisoning"));
        // Japanese has no spaces: a keyword matches inside the text.
        assert!(severe("指から血が出ました", "血"));
        assert!(severe("店員さんが怪我をしていました", "怪我"));
        assert!(!severe("", "血"));
        assert!(is_severe("safety", "x", Some("safety"), None));
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn routing() -> Routing {
        let rows = [
            ("category", "cleanliness", "clean@shop.example"),
            ("fallback", "", "floor@shop.example"),
            ("fallback", "", "lead@shop.example"),
            ("after_hours", "", "night@shop.example"),
        ];
        Routing::from_rows(
            &rows
                .iter()
                .map(|(rule, category, email)| AlertRecipient {
                    location_id: "L".into(),
                    rule: (*rule).into(),
                    category: (*category).into(),
                    email: (*email).into(),
                })
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn a_category_with_recipients_goes_to_them_and_others_to_the_fallback() {
        let r = routing();
        assert_eq!(r.recipients("cleanliness", true), ["clean@shop.example"]);
        assert_eq!(
            r.recipients("staff", true),
            ["floor@shop.example", "lead@shop.example"]
        );
    }

    #[test]
    fn after_hours_the_after_hours_list_takes_over_when_there_is_one() {
        let mut r = routing();
        assert_eq!(r.recipients("cleanliness", false), ["night@shop.example"]);
        r.after_hours.clear();
        assert_eq!(r.recipients("cleanliness", false), ["clean@shop.example"]);
    }

    #[test]
    fn routing_survives_a_round_trip_through_rows() {
        let r = routing();
        assert_eq!(Routing::from_rows(&r.to_rows("L")), r);
    }

    #[test]
    fn address_lists_are_checked_lowercased_and_deduplicated() {
        assert_eq!(
            parse_address_list("A@Shop.example, b@shop.example;a@shop.example").unwrap(),
            ["a@shop.example", "b@shop.example"]
        );
        let err = parse_address_list("a@shop.example, not-an-address").unwrap_err();
        assert!(err.contains("not-an-address"), "{err}");
        assert!(parse_address_list("x@shop.example\r\nBcc: y@z.example").is_err());
    }

    #[test]
    fn opening_hours_cover_day_ranges_lists_and_nights() {
        let h = OpeningHours::parse("mon-fri 08:00-20:00; sat,sun 10:00-14:00").unwrap();
        // 2026-11-23 is a Monday.
        assert!(h.is_open(at("2026-11-23 08:00")));
        assert!(h.is_open(at("2026-11-23 19:59")));
        assert!(!h.is_open(at("2026-11-23 20:00")));
        assert!(!h.is_open(at("2026-11-23 07:59")));
        assert!(h.is_open(at("2026-11-29 11:00")));
        assert!(!h.is_open(at("2026-11-29 15:00")));

        let night = OpeningHours::parse("fri 18:00-02:00").unwrap();
        assert!(night.is_open(at("2026-11-27 23:00")));
        assert!(night.is_open(at("2026-11-28 01:30")));
        assert!(!night.is_open(at("2026-11-28 02:00")));
        assert!(!night.is_open(at("2026-11-26 23:00")));

        let weekend_wrap = OpeningHours::parse("sat-mon 09:00-17:00").unwrap();
        assert!(weekend_wrap.is_open(at("2026-11-29 10:00")));
        assert!(weekend_wrap.is_open(at("2026-11-23 10:00")));
        assert!(!weekend_wrap.is_open(at("2026-11-24 10:00")));
    }

    #[test]
    fn malformed_opening_hours_are_refused_with_the_entry_named() {
        for bad in [
            "mon 8-20",
            "funday 08:00-20:00",
            "mon-fri 08:00-25:00",
            "08:00-20:00",
        ] {
            let err = OpeningHours::parse(bad).unwrap_err();
            assert!(err.contains("HH:MM"), "{bad}: {err}");
        }
        assert!(OpeningHours::parse("sun closed").is_ok());
    }

    #[test]
    fn severity_comes_from_the_category_or_a_keyword() {
        let cats = Some("safety, staff");
        let words = Some("Blood, food poisoning");
        assert!(is_severe("safety", "x", cats, words));
        assert!(is_severe("other", "I got FOOD POISONING here", cats, words));
        assert!(!is_severe("other", "slow queue", cats, words));
        assert!(!is_severe("other", "anything", None, None));
    }
}
