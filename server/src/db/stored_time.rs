//! Stored UTC times read fast: as text in one fixed format, parsed by hand. Reading tens
//! of thousands of rows, diesel's timestamp decoding on SQLite (chrono's format parser)
//! and SQLite's own `strftime` each cost ~0.4 us a value; this parse is a few ns.

use crate::db::DbConnection;

/// A timestamp column as text "YYYY-MM-DD HH:MM:SS...", written for the backend. Decoding
/// tens of thousands of timestamps through chrono's format parser (diesel's way on
/// SQLite), or SQLite's own strftime, was most of the dashboard's time; a fixed-format
/// parse ([`unix_seconds`]) is a few nanoseconds.
pub fn as_text(conn: &DbConnection, column: &str) -> String {
    match conn {
        DbConnection::Sqlite(_) => column.to_owned(),
        DbConnection::Postgres(_) => format!("to_char({column}, 'YYYY-MM-DD HH24:MI:SS')"),
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
    })
}

/// Unix seconds of a stored UTC time "YYYY-MM-DD HH:MM:SS" (a fraction is ignored).
pub fn unix_seconds(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, m, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (hh, mm, ss) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// A stored time with its fraction, parsed by hand: "YYYY-MM-DD HH:MM:SS[.fffffffff]".
pub fn parse(text: &str) -> Option<chrono::NaiveDateTime> {
    let seconds = unix_seconds(text)?;
    let nanos = match text.as_bytes().get(19) {
        None => 0,
        Some(b'.') => {
            let fraction = text.get(20..).filter(|f| (1..=9).contains(&f.len()))?;
            let n = u32::try_from(digits(fraction.as_bytes())?).ok()?;
            n * 10u32.pow(9 - u32::try_from(fraction.len()).ok()?)
        }
        Some(_) => return None,
    };
    chrono::DateTime::from_timestamp(seconds, nanos).map(|t| t.naive_utc())
}

/// A timestamp column that lists read many of: on SQLite parsed by [`parse`] (diesel goes
/// through chrono's format parser, ~0.4 us a value, three values a listed case), anything
/// Mend did not write in its own format the long way; on PostgreSQL as diesel reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, diesel::deserialize::FromSqlRow)]
pub struct StoredTime(pub chrono::NaiveDateTime);

impl diesel::deserialize::FromSql<diesel::sql_types::Timestamp, diesel::sqlite::Sqlite>
    for StoredTime
{
    fn from_sql(
        value: diesel::sqlite::SqliteValue<'_, '_, '_>,
    ) -> diesel::deserialize::Result<Self> {
        let text = <String as diesel::deserialize::FromSql<
            diesel::sql_types::Text,
            diesel::sqlite::Sqlite,
        >>::from_sql(value)?;
        parse(&text)
            .or_else(|| {
                ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                    .iter()
                    .find_map(|f| chrono::NaiveDateTime::parse_from_str(&text, f).ok())
            })
            .map(StoredTime)
            .ok_or_else(|| format!("not a stored time: {text:?}").into())
    }
}

impl
    diesel::deserialize::FromSql<
        diesel::sql_types::Timestamp,
        <DbConnection as diesel::Connection>::Backend,
    > for StoredTime
{
    fn from_sql(
        bytes: <<DbConnection as diesel::Connection>::Backend as diesel::backend::Backend>::RawValue<'_>,
    ) -> diesel::deserialize::Result<Self> {
        bytes.from_sql::<Self, diesel::sql_types::Timestamp>()
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Timestamp, diesel::pg::Pg> for StoredTime {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        <chrono::NaiveDateTime as diesel::deserialize::FromSql<
            diesel::sql_types::Timestamp,
            diesel::pg::Pg,
        >>::from_sql(value)
        .map(StoredTime)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// "YYYY-MM-DD HH:MM" of Unix seconds already shifted to local time (H. Hinnant's
/// civil_from_days): chrono's `format` was a good part of an export's time per row.
pub fn minute_text(local_unix: i64) -> String {
    let (days, secs) = (local_unix.div_euclid(86_400), local_unix.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    #[test]
    fn stored_times_with_fractions_read_as_chrono_reads_them() {
        for text in [
            "2026-12-07 23:59:59",
            "2026-12-07 23:59:59.5",
            "2024-02-29 00:00:00.123456",
            "1999-12-31 12:34:56.123456789",
        ] {
            let chrono = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap();
            assert_eq!(parse(text), Some(chrono), "{text}");
        }
        // The ISO "T" is the same moment (chrono's own text form).
        assert_eq!(
            parse("2026-12-07T23:59:59.25"),
            parse("2026-12-07 23:59:59.25")
        );
        for text in [
            "2026-12-07 23:59:59.",
            "2026-13-01 00:00:00",
            "2026-12-07 23:59:59.1234567890",
            "2026-12-07 23:59:59+01",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn stored_times_read_as_the_same_unix_seconds_chrono_gives() {
        for text in [
            "1970-01-01 00:00:00",
            "2000-02-29 23:59:59",
            "2026-11-23 19:48:42.502705",
            "2026-03-01 00:00:00",
            "2100-12-31 12:00:00",
            "1969-12-31 23:59:59",
        ] {
            let chrono = NaiveDateTime::parse_from_str(&text[..19], "%Y-%m-%d %H:%M:%S")
                .unwrap()
                .and_utc()
                .timestamp();
            assert_eq!(unix_seconds(text), Some(chrono), "{text}");
        }
        assert_eq!(
            minute_text(unix_seconds("2026-11-23 19:48:42").unwrap()),
            "2026-11-23 19:48"
        );
        assert_eq!(
            minute_text(unix_seconds("2000-02-29 00:05:00").unwrap()),
            "2000-02-29 00:05"
        );
        assert_eq!(
            minute_text(unix_seconds("1969-12-31 23:59:59").unwrap()),
            "1969-12-31 23:59"
        );
        for bad in [
            "",
            "2026-11-23",
            "2026-13-01 00:00:00",
            "2026-11-23 24:00:00",
            "20x6-11-23 00:00:00",
        ] {
            assert_eq!(unix_seconds(bad), None, "{bad}");
        }
    }
}
