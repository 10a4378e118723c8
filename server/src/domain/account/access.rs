//! Who may do what with a location.

use crate::db::states::Role;

/// Managers manage their own locations; admins manage every location; staff manage none.
pub fn may_manage_location(role: Role, own_locations: &[String], location_id: &str) -> bool {
    match role {
        Role::Admin => true,
        Role::Manager => own_locations.iter().any(|l| l == location_id),
        Role::Staff => false,
    }
}

/// Admins manage everyone; managers manage the staff who work only at their own stores
/// (invite, edit, deactivate); staff manage nobody.
pub fn may_manage_person(
    role: Role,
    own_locations: &[String],
    person_role: Role,
    person_locations: &[String],
) -> bool {
    match role {
        Role::Admin => true,
        Role::Manager => {
            person_role == Role::Staff
                && !person_locations.is_empty()
                && person_locations.iter().all(|l| own_locations.contains(l))
        }
        Role::Staff => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers_manage_only_staff_of_their_own_stores() {
        let mine = vec!["a".to_owned(), "b".to_owned()];
        let here = vec!["a".to_owned()];
        let also_elsewhere = vec!["a".to_owned(), "c".to_owned()];
        assert!(may_manage_person(Role::Manager, &mine, Role::Staff, &here));
        assert!(!may_manage_person(
            Role::Manager,
            &mine,
            Role::Staff,
            &also_elsewhere
        ));
        assert!(!may_manage_person(
            Role::Manager,
            &mine,
            Role::Manager,
            &here
        ));
        assert!(!may_manage_person(Role::Manager, &mine, Role::Admin, &[]));
        assert!(!may_manage_person(Role::Staff, &mine, Role::Staff, &here));
        assert!(may_manage_person(
            Role::Admin,
            &[],
            Role::Manager,
            &also_elsewhere
        ));
    }

    #[test]
    fn only_admins_and_the_locations_own_managers_manage_it() {
        let mine = vec!["loc-a".to_owned()];
        assert!(may_manage_location(Role::Admin, &[], "loc-b"));
        assert!(may_manage_location(Role::Manager, &mine, "loc-a"));
        assert!(!may_manage_location(Role::Manager, &mine, "loc-b"));
        assert!(!may_manage_location(Role::Staff, &mine, "loc-a"));
    }
}
