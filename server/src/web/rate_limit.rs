//! Complaints per minute per client (`MEND_FORM_RATE_LIMIT`; 0 = off), with governor's
//! keyed GCRA limiter: bursts up to the limit, then one more each 60/limit seconds.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct FormRateLimit(Option<DefaultKeyedRateLimiter<IpAddr>>);

impl FormRateLimit {
    pub fn per_minute(limit: u32) -> FormRateLimit {
        FormRateLimit(NonZeroU32::new(limit).map(|n| RateLimiter::keyed(Quota::per_minute(n))))
    }

    /// True when this client may post another complaint now.
    pub fn allow(&self, client: Option<IpAddr>) -> bool {
        match (&self.0, client) {
            (Some(limiter), Some(ip)) => {
                // Forget clients that have been quiet, so the table does not grow forever.
                if limiter.len() > 100_000 {
                    limiter.retain_recent();
                }
                limiter.check_key(&ip).is_ok()
            }
            _ => true,
        }
    }
}
