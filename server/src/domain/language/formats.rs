//! Dates, numbers, money and plurals as a reader of each language writes them, from CLDR
//! data through ICU4X (the Unicode project's own Rust libraries): "2026년 11월 28일 오후
//! 12:27", "28.11.2026, 12:27", "₩5,000", "12,50 zł", "1 skarga, 2 skargi, 5 skarg".
//! Formatters are built once per language and kept.

use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use fixed_decimal::Decimal;
use icu_calendar::{Date, Gregorian};
use icu_datetime::fieldsets::{MD, YMD, YMDT};
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_decimal::DecimalFormatter;
use icu_locale_core::Locale;
use icu_plurals::{PluralCategory, PluralRules};

use crate::domain::language::Language;

struct Formats {
    date_time: FixedCalendarDateTimeFormatter<Gregorian, YMDT>,
    date: FixedCalendarDateTimeFormatter<Gregorian, YMD>,
    month_day: FixedCalendarDateTimeFormatter<Gregorian, MD>,
    number: DecimalFormatter,
    plurals: PluralRules,
}

fn formats(lang: Language) -> &'static Formats {
    static ALL: OnceLock<Vec<Formats>> = OnceLock::new();
    let all = ALL.get_or_init(|| Language::all().map(build).collect());
    let lang = lang.formats_of();
    let i = Language::all().position(|l| l == lang).unwrap_or(0);
    &all[i]
}

fn build(lang: Language) -> Formats {
    // The compiled CLDR data has every language Mend speaks; a tag that failed to parse or
    // load would be a build mistake, caught by the tests below, so the root locale is a
    // safe fallback rather than a panic.
    let locale: Locale = lang
        .code()
        .parse()
        .unwrap_or(icu_locale_core::locale!("en"));
    // The pattern each language's readers use for a date in a list, from its catalog:
    // Korean writes the month and day with their words (long: 2026년 11월 28일, where
    // medium gives "2026. 11. 28."), Polish in digits (short: 28.11.2026, where medium
    // gives "28 lis 2026").
    let date_length = match lang.text("format.date_length").as_str() {
        "long" => YMD::long(),
        "short" => YMD::short(),
        _ => YMD::medium(),
    };
    #[allow(clippy::expect_used)]
    Formats {
        date_time: FixedCalendarDateTimeFormatter::try_new(
            (&locale).into(),
            date_length.with_time_hm(),
        )
        .expect("CLDR date-time data compiled in"),
        date: FixedCalendarDateTimeFormatter::try_new((&locale).into(), date_length)
            .expect("CLDR date data compiled in"),
        month_day: FixedCalendarDateTimeFormatter::try_new((&locale).into(), MD::medium())
            .expect("CLDR month-day data compiled in"),
        number: DecimalFormatter::try_new((&locale).into(), Default::default())
            .expect("CLDR number data compiled in"),
        plurals: PluralRules::try_new_cardinal((&locale).into())
            .expect("CLDR plural rules compiled in"),
    }
}

fn icu_date(d: NaiveDate) -> Option<Date<Gregorian>> {
    let month = u8::try_from(d.month()).ok()?;
    let day = u8::try_from(d.day()).ok()?;
    Date::try_new_gregorian(d.year(), month, day).ok()
}

/// A local date and time, as this language writes it, without a zone.
pub fn local_date_time(lang: Language, at: NaiveDateTime) -> String {
    lang.mark(unmarked_date_time(lang, at))
}

fn unmarked_date_time(lang: Language, at: NaiveDateTime) -> String {
    let (Some(date), Ok(time)) = (
        icu_date(at.date()),
        icu_time::Time::try_new(
            u8::try_from(at.hour()).unwrap_or(0),
            u8::try_from(at.minute()).unwrap_or(0),
            0,
            0,
        ),
    ) else {
        return at.format("%Y-%m-%d %H:%M").to_string();
    };
    formats(lang)
        .date_time
        .format(&icu_time::DateTime { date, time })
        .to_string()
}

/// A stored UTC time in the store's time zone, as this language writes it, with the zone's
/// abbreviation: "2026년 11월 28일 오후 12:27 KST". A time zone that does not parse shows UTC.
pub fn date_time(lang: Language, time_zone: &str, at: NaiveDateTime) -> String {
    match time_zone.parse::<chrono_tz::Tz>() {
        Ok(tz) => {
            let local = tz.from_utc_datetime(&at);
            lang.mark(format!(
                "{} {}",
                unmarked_date_time(lang, local.naive_local()),
                local.format("%Z")
            ))
        }
        Err(_) => lang.mark(format!("{} UTC", unmarked_date_time(lang, at))),
    }
}

/// The store's calendar day of a stored UTC time (UTC's when the zone does not parse).
pub fn local_day(time_zone: &str, at: NaiveDateTime) -> NaiveDate {
    time_zone
        .parse::<chrono_tz::Tz>()
        .map_or(at.date(), |tz| tz.from_utc_datetime(&at).date_naive())
}

/// A calendar date as this language writes it.
pub fn date(lang: Language, d: NaiveDate) -> String {
    match icu_date(d) {
        Some(date) => lang.mark(formats(lang).date.format(&date).to_string()),
        None => d.to_string(),
    }
}

/// A day of the year, short, for chart axes: "Nov 28", "11월 28일", "28 lis".
pub fn month_day(lang: Language, d: NaiveDate) -> String {
    match icu_date(d) {
        Some(date) => lang.mark(formats(lang).month_day.format(&date).to_string()),
        None => d.format("%m-%d").to_string(),
    }
}

/// A whole number with this language's grouping: 12,345 / 12 345.
pub fn number(lang: Language, n: i64) -> String {
    formats(lang).number.format(&Decimal::from(n)).to_string()
}

/// A number with `decimals` digits after the separator: 4.25 / 4,25.
pub fn decimal(lang: Language, value: f64, decimals: i16) -> String {
    let scaled = (value * 10f64.powi(i32::from(decimals))).round();
    // f64 → i64 saturates; amounts and averages are far inside the range.
    #[allow(clippy::cast_possible_truncation)]
    let mut d = Decimal::from(scaled as i64);
    d.multiply_pow10(-decimals);
    d.absolute.pad_end(-decimals);
    formats(lang).number.format(&d).to_string()
}

/// An amount in a currency's minor units, with the currency's real number of decimals
/// and its symbol where this language puts it: "₩5,000", "¥500", "€12.50", "12,50 zł".
pub fn money(lang: Language, minor: i64, currency: &str) -> String {
    use rusty_money::FormattableCurrency;
    let digits = rusty_money::iso::find(currency).map_or(2, |c| c.exponent());
    let mut d = Decimal::from(minor);
    let digits = i16::try_from(digits).unwrap_or(2);
    d.multiply_pow10(-digits);
    d.absolute.pad_end(-digits);
    let amount = formats(lang).number.format(&d).to_string();
    // Where the currency goes is the catalog's (Polish writes it after the amount, as
    // most of continental Europe does), and so is the symbol a reader of the language
    // knows; a currency without one is written with its code ("PLN 12.50" in English,
    // "12,50 USD" in Polish), since "$" or "zł" alone would be ambiguous to that reader.
    let reader = lang.formats_of();
    let symbol_key = format!("currency_symbol.{currency}");
    let symbol = reader.text(&symbol_key);
    let text = if symbol == symbol_key || symbol == currency {
        reader.text_with(
            "format.money_code",
            &[("code", currency), ("amount", &amount)],
        )
    } else {
        reader.text_with(
            "format.money_symbol",
            &[("symbol", &symbol), ("amount", &amount)],
        )
    };
    lang.mark(text)
}

/// The plural category of `n` in this language (Polish: one, few, many; Korean and
/// Japanese: other only).
pub fn plural_category(lang: Language, n: u64) -> &'static str {
    match formats(lang).plurals.category_for(n) {
        PluralCategory::Zero => "zero",
        PluralCategory::One => "one",
        PluralCategory::Two => "two",
        PluralCategory::Few => "few",
        PluralCategory::Many => "many",
        PluralCategory::Other => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(code: &str) -> Language {
        Language::parse(code).unwrap()
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn date_times_in_the_store_zone_as_each_language_writes_them() {
        let t = at("2026-11-28 03:27");
        assert_eq!(
            date_time(lang("ko"), "Asia/Seoul", t),
            "2026년 11월 28일 오후 12:27 KST"
        );
        assert_eq!(
            date_time(lang("pl"), "Europe/Warsaw", t),
            "28.11.2026, 04:27 CET"
        );
        assert_eq!(
            date_time(lang("ja"), "Asia/Tokyo", t),
            "2026/11/28 12:27 JST"
        );
        assert_eq!(
            date_time(lang("en"), "Europe/London", t),
            "Nov 28, 2026, 3:27\u{202f}AM GMT"
        );
        assert_eq!(
            date_time(lang("en"), "Nowhere/City", t),
            "Nov 28, 2026, 3:27\u{202f}AM UTC"
        );
        let d = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert_eq!(date(lang("ko"), d), "2026년 11월 28일");
        assert_eq!(date(lang("pl"), d), "28.11.2026");
        assert_eq!(month_day(lang("en"), d), "Nov 28");
        assert_eq!(month_day(lang("ko"), d), "11월 28일");
    }

    #[test]
    fn numbers_group_as_each_language_does() {
        assert_eq!(number(lang("en"), 1_234_567), "1,234,567");
        assert_eq!(number(lang("ko"), 12_345), "12,345");
        assert_eq!(number(lang("pl"), 12_345), "12\u{a0}345");
        assert_eq!(decimal(lang("en"), 4.256, 1), "4.3");
        assert_eq!(decimal(lang("pl"), 4.0, 2), "4,00");
    }

    #[test]
    fn money_has_the_currency_real_minor_units_and_symbol() {
        assert_eq!(money(lang("ko"), 5000, "KRW"), "₩5,000");
        assert_eq!(money(lang("ja"), 500, "JPY"), "¥500");
        assert_eq!(money(lang("pl"), 1250, "PLN"), "12,50\u{a0}zł");
        assert_eq!(money(lang("en"), 1250, "EUR"), "€12.50");
        assert_eq!(money(lang("en"), 5, "EUR"), "€0.05");
        assert_eq!(money(lang("pl"), 500_000, "KRW"), "500\u{a0}000\u{a0}KRW");
        assert_eq!(money(lang("en"), 1000, "PLN"), "PLN\u{a0}10.00");
        assert_eq!(money(lang("ko"), 1250, "USD"), "$12.50");
    }

    #[test]
    fn plural_categories_follow_cldr() {
        let pl: Vec<_> = [1, 2, 5, 22, 25]
            .map(|n| plural_category(lang("pl"), n))
            .into();
        assert_eq!(pl, ["one", "few", "many", "few", "many"]);
        assert_eq!(plural_category(lang("en"), 1), "one");
        assert_eq!(plural_category(lang("en"), 2), "other");
        assert_eq!(plural_category(lang("ko"), 1), "other");
        assert_eq!(plural_category(lang("ja"), 1), "other");
    }
}
