//! What people may grant on their own, per store and role. A limit is a set of
//! compensation types and an amount per case in the store's currency; 0 means every
//! amount goes to a manager. Admins have no limit; a role without a row at a store has
//! no limit until a manager sets one.

use chrono::NaiveDateTime;

use crate::db::models::{RemedyLimitRow, User};
use crate::db::queries::recovery;
use crate::db::states::Role;
use crate::db::DbConnection;
use crate::domain::case::workflow::{Compensation, COMPENSATION_TYPES};
use crate::domain::language::Refusal;

/// The roles a store sets limits for (admins have none).
pub const LIMITED_ROLES: &[Role] = &[Role::Staff, Role::Manager];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// Compensation types they may give, from [`COMPENSATION_TYPES`].
    pub kinds: Vec<String>,
    /// Per case, in the store's currency's minor unit.
    pub max_minor: i64,
}

impl Limit {
    fn of_row(row: &RemedyLimitRow) -> Limit {
        Limit {
            kinds: row
                .kinds
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect(),
            max_minor: row.max_minor.max(0),
        }
    }

    /// Whether a remedy is within this limit. An amount in another currency than the
    /// store's cannot be compared, so it is not.
    pub fn allows(&self, remedy: &Compensation, store_currency: &str) -> bool {
        if !self.kinds.contains(&remedy.kind) {
            return false;
        }
        match &remedy.amount {
            None => true,
            Some((minor, currency)) => {
                currency.eq_ignore_ascii_case(store_currency) && i64::from(*minor) <= self.max_minor
            }
        }
    }
}

/// A role's limit at a store; None: no limit.
pub fn limit_for(
    c: &mut DbConnection,
    location_id: &str,
    role: Role,
) -> diesel::QueryResult<Option<Limit>> {
    if role == Role::Admin {
        return Ok(None);
    }
    // No row: no limit. A store that upgrades keeps working as before; its managers opt
    // in on the store's remedies page.
    Ok(recovery::limit_of(c, location_id, role)?.map(|row| Limit::of_row(&row)))
}

/// Whether `actor` may give `remedy` at this store without asking.
pub fn within(
    c: &mut DbConnection,
    actor: &User,
    location_id: &str,
    store_currency: &str,
    remedy: &Compensation,
) -> diesel::QueryResult<bool> {
    Ok(match limit_for(c, location_id, actor.role)? {
        None => true,
        Some(limit) => limit.allows(remedy, store_currency),
    })
}

/// A limit as typed on the store's page: ticked types and an amount in the store's
/// currency ("12.50", "5000"; empty is 0).
pub fn parse(kinds: &[String], amount: &str, currency: &str) -> Result<Limit, Refusal> {
    let mut chosen = Vec::new();
    for k in kinds {
        let k = k.trim();
        if !COMPENSATION_TYPES.contains(&k) {
            return Err(Refusal::new("workflow.not_compensation").with("kind", k));
        }
        if !chosen.iter().any(|c: &String| c == k) {
            chosen.push(k.to_owned());
        }
    }
    let amount = amount.trim();
    let max_minor = if amount.is_empty() {
        0
    } else {
        // The same rules as an amount given when resolving (minor unit of the currency).
        match crate::domain::case::workflow::parse_compensation("refund", amount, currency) {
            Ok(Some(Compensation {
                amount: Some((m, _)),
                ..
            })) => i64::from(m),
            Ok(_) => 0,
            Err(crate::domain::case::workflow::WorkflowError::Invalid(r)) => return Err(r),
            Err(crate::domain::case::workflow::WorkflowError::Db(_)) => {
                return Err(Refusal::new("workflow.give_value"))
            }
        }
    };
    Ok(Limit {
        kinds: chosen,
        max_minor,
    })
}

/// Stores a role's limit at a store and writes the change log, in the caller's
/// transaction.
pub fn set(
    c: &mut DbConnection,
    actor: &crate::domain::setup::audit::Actor,
    location_id: &str,
    role: Role,
    limit: &Limit,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    let before = limit_for(c, location_id, role)?;
    let json = |l: &Option<Limit>| {
        l.as_ref().map(
            |l| serde_json::json!({ "role": role, "kinds": l.kinds, "max_minor": l.max_minor }),
        )
    };
    crate::domain::setup::audit::record(
        c,
        actor,
        "remedy_limit.set",
        location_id,
        json(&before).as_ref(),
        json(&Some(limit.clone())).as_ref(),
    )?;
    recovery::set_limit(
        c,
        &RemedyLimitRow {
            location_id: location_id.to_owned(),
            role,
            kinds: limit.kinds.join(","),
            max_minor: limit.max_minor,
            updated_at: now,
        },
    )
}

/// Gives a role at a store no limit again (as before any was set), with the change log,
/// in the caller's transaction; false if it had none.
pub fn remove(
    c: &mut DbConnection,
    actor: &crate::domain::setup::audit::Actor,
    location_id: &str,
    role: Role,
) -> diesel::QueryResult<bool> {
    let Some(before) = limit_for(c, location_id, role)? else {
        return Ok(false);
    };
    crate::domain::setup::audit::record(
        c,
        actor,
        "remedy_limit.remove",
        location_id,
        Some(&serde_json::json!({
            "role": role, "kinds": before.kinds, "max_minor": before.max_minor
        })),
        None::<&serde_json::Value>,
    )?;
    recovery::remove_limit(c, location_id, role)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remedy(kind: &str, amount: Option<(i32, &str)>) -> Compensation {
        Compensation {
            kind: kind.into(),
            amount: amount.map(|(m, c)| (m, c.into())),
        }
    }

    #[test]
    fn a_limit_allows_its_types_up_to_its_amount_in_the_stores_currency() {
        let limit = Limit {
            kinds: vec!["voucher".into(), "apology".into()],
            max_minor: 5_000,
        };
        assert!(limit.allows(&remedy("apology", None), "KRW"));
        assert!(limit.allows(&remedy("voucher", Some((5_000, "KRW"))), "KRW"));
        assert!(!limit.allows(&remedy("voucher", Some((5_001, "KRW"))), "KRW"));
        assert!(!limit.allows(&remedy("refund", Some((1, "KRW"))), "KRW"));
        // Another currency cannot be compared: a manager decides.
        assert!(!limit.allows(&remedy("voucher", Some((100, "EUR"))), "KRW"));
        let zero = Limit {
            kinds: vec!["voucher".into()],
            max_minor: 0,
        };
        assert!(!zero.allows(&remedy("voucher", Some((1, "EUR"))), "EUR"));
    }

    #[test]
    fn a_limit_is_typed_in_the_stores_currency_and_its_minor_unit() {
        let kinds = |ks: &[&str]| ks.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse(&kinds(&["voucher", "voucher"]), "5000", "KRW").unwrap(),
            Limit {
                kinds: vec!["voucher".into()],
                max_minor: 5_000
            }
        );
        assert_eq!(
            parse(&kinds(&["refund"]), "12.50", "EUR")
                .unwrap()
                .max_minor,
            1_250
        );
        assert_eq!(parse(&kinds(&[]), "", "JPY").unwrap().max_minor, 0);
        assert!(
            parse(&kinds(&["refund"]), "12.50", "JPY").is_err(),
            "yen are whole"
        );
        assert!(parse(&kinds(&["bribe"]), "1", "EUR").is_err());
        assert!(parse(&kinds(&["refund"]), "-1", "EUR").is_err());
    }
}
