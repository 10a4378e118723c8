//! What a staff account may do. Stored as text; parsed here so no other spelling gets in.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Works the cases of their locations.
    Staff,
    /// Everything of their locations: cases, routing, stickers, exports, settings.
    Manager,
    /// Everything, including users.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "staff" => Some(Role::Staff),
            "manager" => Some(Role::Manager),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_survives_a_round_trip_and_nothing_else_parses() {
        for role in [Role::Staff, Role::Manager, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Admin"), None);
        assert_eq!(Role::parse(""), None);
    }
}
