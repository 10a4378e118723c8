//! Who may do what with a location.

use super::role::Role;

/// Managers manage their own locations; admins manage every location; staff manage none.
pub fn may_manage_location(role: Role, own_locations: &[String], location_id: &str) -> bool {
    match role {
        Role::Admin => true,
        Role::Manager => own_locations.iter().any(|l| l == location_id),
        Role::Staff => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_and_the_locations_own_managers_manage_it() {
        let mine = vec!["loc-a".to_owned()];
        assert!(may_manage_location(Role::Admin, &[], "loc-b"));
        assert!(may_manage_location(Role::Manager, &mine, "loc-a"));
        assert!(!may_manage_location(Role::Manager, &mine, "loc-b"));
        assert!(!may_manage_location(Role::Staff, &mine, "loc-a"));
    }
}
