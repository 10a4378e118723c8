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

/// Sign-in attempts allowed per account per minute.
pub const LOGIN_PER_ACCOUNT: u32 = 5;
/// Sign-in attempts allowed per client per minute.
pub const LOGIN_PER_CLIENT: u32 = 20;

pub struct LoginRateLimit {
    per_client: KeyedLimit<IpAddr>,
    per_account: KeyedLimit<String>,
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
        // Both are counted, whichever refuses.
        let client_ok = self.per_client.allow(client.as_ref());
        let account_ok = self.per_account.allow(Some(&email.to_owned()));
        client_ok && account_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_limited_whatever_the_client_and_a_client_whatever_the_account() {
        let limit = LoginRateLimit::default();
        let ip = |n: u8| Some(IpAddr::from([10, 0, 0, n]));
        for n in 0..LOGIN_PER_ACCOUNT as u8 {
            assert!(limit.allow(ip(n), "a@shop.example"));
        }
        assert!(
            !limit.allow(ip(99), "a@shop.example"),
            "a new client, same account"
        );
        assert!(limit.allow(ip(99), "b@shop.example"));

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
    fn a_zero_limit_is_off() {
        let off = FormRateLimit::per_minute(0);
        assert!((0..1000).all(|_| off.allow(Some(&IpAddr::from([1, 2, 3, 4])))));
    }
}
