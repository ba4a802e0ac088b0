//! Roles and what each may do (SPEC §9): viewer reads; operator runs merchants and orders; finance
//! runs payouts and approvals; admin does everything.
use storage::operators::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// See the dashboard and the business pages.
    Read,
    /// Onboard and manage sub-merchants, act on orders.
    ManageMerchants,
    /// Run payouts, approve them, reconcile.
    ManagePayouts,
    /// Operators, roles, audit log, settings, revealing masked fields.
    Administer,
}

impl Permission {
    pub fn granted_to(self, role: Role) -> bool {
        match self {
            Permission::Read => true,
            Permission::ManageMerchants => matches!(role, Role::Operator | Role::Admin),
            Permission::ManagePayouts => matches!(role, Role::Finance | Role::Admin),
            Permission::Administer => role == Role::Admin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_table() {
        use Permission::*;
        let table = [
            (Role::Viewer, [true, false, false, false]),
            (Role::Operator, [true, true, false, false]),
            (Role::Finance, [true, false, true, false]),
            (Role::Admin, [true, true, true, true]),
        ];
        for (role, expected) in table {
            let actual = [Read, ManageMerchants, ManagePayouts, Administer].map(|p| p.granted_to(role));
            assert_eq!(actual, expected, "{role}");
        }
    }
}
