//! Links that let a person set their password: a reset asked for on the sign-in page, or
//! an invitation from an admin. The link names the account and a fingerprint of its
//! current password hash, so it works once: setting the password changes the hash and
//! every earlier link dies. It also expires (an hour for a reset, a week for an invite).

use chrono::{Duration, NaiveDateTime};
use sha2::{Digest, Sha256};

use crate::db::models::User;
use crate::domain::signed_link::{self, LinkError};

pub const PURPOSE: &str = "password";
pub const RESET_VALID: Duration = Duration::hours(1);
pub const INVITE_VALID: Duration = Duration::days(7);

fn fingerprint(password_hash: &str) -> String {
    hex::encode(&Sha256::digest(password_hash.as_bytes())[..12])
}

/// The query string of a set-password link for `user`, valid until `expires`.
pub fn link_query(key: &[u8], user: &User, expires: NaiveDateTime) -> String {
    let exp = expires.and_utc().timestamp();
    let fp = fingerprint(&user.password_hash);
    let sig = signed_link::sign(key, PURPOSE, &[&user.id, &fp], exp);
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("u", &user.id)
        .append_pair("exp", &exp.to_string())
        .append_pair("sig", &sig)
        .finish()
}

/// Checks a link against the account as it is now.
pub fn verify(
    key: &[u8],
    user: &User,
    expires: i64,
    signature: &str,
    now: NaiveDateTime,
) -> Result<(), LinkError> {
    let fp = fingerprint(&user.password_hash);
    signed_link::verify(
        key,
        PURPOSE,
        &[&user.id, &fp],
        expires,
        signature,
        now.and_utc().timestamp(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn user(hash: &str) -> User {
        User {
            id: "u1".into(),
            email: "a@b.example".into(),
            password_hash: hash.into(),
            role: crate::db::states::Role::Staff,
            language: "en".into(),
            created_at: crate::db::models::now_utc(),
        }
    }

    #[test]
    fn a_link_works_until_the_password_changes_or_it_expires() {
        let now = crate::db::models::now_utc();
        let before = user("$argon2id$old");
        let q = link_query(KEY, &before, now + RESET_VALID);
        let parsed: std::collections::HashMap<_, _> = url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect();
        let exp: i64 = parsed["exp"].parse().unwrap();
        assert_eq!(verify(KEY, &before, exp, &parsed["sig"], now), Ok(()));
        let after = user("$argon2id$new");
        assert_eq!(
            verify(KEY, &after, exp, &parsed["sig"], now),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            verify(KEY, &before, exp, &parsed["sig"], now + Duration::hours(2)),
            Err(LinkError::Expired)
        );
    }
}
