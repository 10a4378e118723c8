//! Attempts per minute per key, with governor's keyed GCRA limiter: bursts up to the limit,
//! then one more each 60/limit seconds. Complaints are limited per client
//! (`MEND_FORM_RATE_LIMIT`; 0 = off); sign-ins per client and per account, so neither one
//! machine nor a botnet can guess a password at speed.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct KeyedLimit<K: Hash + Eq + Clone>(Option<DefaultKeyedRateLimiter<K>>);

impl<K: Hash + Eq + Clone> KeyedLimit<K> {
    /// `limit` per minute; 0 turns the limit off.
    pub fn per_minute(limit: u32) -> KeyedLimit<K> {
        KeyedLimit(NonZeroU32::new(limit).map(|n| RateLimiter::keyed(Quota::per_minute(n))))
    }

    /// How long `key` must wait before it may try again; `None`: it may now (and this try
    /// is counted).
    pub fn wait(&self, key: &K) -> Option<std::time::Duration> {
        use governor::clock::{Clock, DefaultClock};
        let limiter = self.0.as_ref()?;
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter
            .check_key(key)
            .err()
            .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// True when `key` may try again now (and counts this try). No key, no limit.
    pub fn allow(&self, key: Option<&K>) -> bool {
        match (&self.0, key) {
            (Some(limiter), Some(key)) => {
                // Forget keys that have been quiet, so the table does not grow forever.
                if limiter.len() > 100_000 {
                    limiter.retain_recent();
                }
                limiter.check_key(key).is_ok()
            }
            _ => true,
        }
    }
}

pub type FormRateLimit = KeyedLimit<IpAddr>;

/// The key a client is counted under: its IPv4 address, or its IPv6 /64 (one phone or
/// home gets a whole /64 and can pick any address in it at will).
pub fn network_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
        }
    }
}

/// Sign-in attempts allowed per account from one client per minute.
pub const LOGIN_PER_ACCOUNT: u32 = 5;
/// Sign-in attempts allowed per client per minute.
pub const LOGIN_PER_CLIENT: u32 = 20;

/// Sign-ins: per client, and per account from each client, so neither one machine nor
/// many can guess a password at speed, yet nobody can lock the real person out of their
/// account by failing on purpose from elsewhere.
pub struct LoginRateLimit {
    per_client: KeyedLimit<IpAddr>,
    per_account: KeyedLimit<(String, Option<IpAddr>)>,
}

impl Default for LoginRateLimit {
    fn default() -> Self {
        LoginRateLimit {
            per_client: KeyedLimit::per_minute(LOGIN_PER_CLIENT),
            per_account: KeyedLimit::per_minute(LOGIN_PER_ACCOUNT),
        }
    }
}

impl LoginRateLimit {
    /// True when this client may try to sign in to this account now.
    pub fn allow(&self, client: Option<IpAddr>, email: &str) -> bool {
        let client = client.map(network_of);
        // Both are counted, whichever refuses.
        let client_ok = self.per_client.allow(client.as_ref());
        let account_ok = self.per_account.allow(Some(&(email.to_owned(), client)));
        client_ok && account_ok
    }
}

/// "Forgot password" requests allowed per client per minute.
pub const RESETS_PER_CLIENT: u32 = 10;
/// At most one reset email per account in this many seconds, whoever asks.
pub const RESET_MAIL_EVERY_SECONDS: u64 = 300;

/// "Forgot password", counted apart from sign-ins: strangers asking for someone's reset
/// neither lock them out nor fill their inbox.
pub struct ResetRateLimit {
    per_client: KeyedLimit<IpAddr>,
    /// When each account was last sent a reset, by the app's clock (the one its links
    /// expire by).
    last_mail: std::sync::Mutex<std::collections::HashMap<String, chrono::NaiveDateTime>>,
}

impl Default for ResetRateLimit {
    fn default() -> Self {
        ResetRateLimit {
            per_client: KeyedLimit::per_minute(RESETS_PER_CLIENT),
            last_mail: Default::default(),
        }
    }
}

impl ResetRateLimit {
    /// May this client ask at all now? (Over the limit: a 429, about the client only.)
    pub fn allow_request(&self, client: Option<IpAddr>) -> bool {
        self.per_client.allow(client.map(network_of).as_ref())
    }

    /// May one more reset email go to this account now? (The page answers the same
    /// either way.)
    pub fn allow_mail(&self, email: &str, now: chrono::NaiveDateTime) -> bool {
        let every = chrono::Duration::seconds(RESET_MAIL_EVERY_SECONDS as i64);
        let Ok(mut last) = self.last_mail.lock() else {
            return true;
        };
        if last.len() > 100_000 {
            last.retain(|_, at| now - *at < every);
        }
        match last.get(email) {
            Some(at) if now - *at < every => false,
            _ => {
                last.insert(email.to_owned(), now);
                true
            }
        }
    }
}

/// Attempts at `POST /manage/password/set` per client per minute: each good one costs a
/// password hash.
pub const PASSWORD_SETS_PER_CLIENT: u32 = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_limited_per_client_and_a_client_whatever_the_account() {
        let limit = LoginRateLimit::default();
        let ip = |n: u8| Some(IpAddr::from([10, 0, 0, n]));
        for _ in 0..LOGIN_PER_ACCOUNT {
            assert!(limit.allow(ip(1), "a@shop.example"));
        }
        assert!(
            !limit.allow(ip(1), "a@shop.example"),
            "same client, same account"
        );
        assert!(
            limit.allow(ip(2), "a@shop.example"),
            "the real person, elsewhere, is not locked out by a stranger's failures"
        );
        assert!(limit.allow(ip(1), "b@shop.example"));

        let limit = LoginRateLimit::default();
        for n in 0..LOGIN_PER_CLIENT {
            assert!(limit.allow(ip(1), &format!("u{n}@shop.example")));
        }
        assert!(
            !limit.allow(ip(1), "fresh@shop.example"),
            "same client, new account"
        );
    }

    #[test]
    fn an_ipv6_client_is_one_slash_64() {
        let limit = LoginRateLimit::default();
        let ip = |n: u16| Some(IpAddr::from([0x2001, 0xdb8, 1, 2, n, n, n, n]));
        for n in 0..LOGIN_PER_ACCOUNT as u16 {
            assert!(limit.allow(ip(n), "a@shop.example"));
        }
        assert!(
            !limit.allow(ip(999), "a@shop.example"),
            "another address, same /64"
        );
        assert_eq!(
            network_of(IpAddr::from([0x2001, 0xdb8, 1, 2, 3, 4, 5, 6])),
            IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 0, 0])
        );
    }

    #[test]
    fn resets_send_one_mail_per_account_per_few_minutes_and_never_touch_sign_in() {
        let resets = ResetRateLimit::default();
        let sign_in = LoginRateLimit::default();
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap_or_default()
            .naive_utc();
        assert!(resets.allow_mail("boss@shop.example", now));
        for _ in 0..5 {
            assert!(!resets.allow_mail("boss@shop.example", now));
        }
        assert!(resets.allow_mail("other@shop.example", now));
        let later = now + chrono::Duration::seconds(RESET_MAIL_EVERY_SECONDS as i64);
        assert!(resets.allow_mail("boss@shop.example", later));
        assert!(sign_in.allow(Some(IpAddr::from([10, 0, 0, 1])), "boss@shop.example"));
        let ip = Some(IpAddr::from([10, 0, 0, 9]));
        for _ in 0..RESETS_PER_CLIENT {
            assert!(resets.allow_request(ip));
        }
        assert!(!resets.allow_request(ip));
    }

    #[test]
    fn a_zero_limit_is_off() {
        let off = FormRateLimit::per_minute(0);
        assert!((0..1000).all(|_| off.allow(Some(&IpAddr::from([1, 2, 3, 4])))));
    }
}
