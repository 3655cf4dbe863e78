//! The team: roles and members.

use vigil_core as core;

/// A device's role in its team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TeamRole {
    /// Logs incidents.
    Observer,
    /// Invites and revokes devices, verifies incidents, reads everything.
    Coordinator,
}

impl From<core::Role> for TeamRole {
    fn from(r: core::Role) -> Self {
        match r {
            core::Role::Observer => Self::Observer,
            core::Role::Coordinator => Self::Coordinator,
        }
    }
}

impl From<TeamRole> for core::Role {
    fn from(r: TeamRole) -> Self {
        match r {
            TeamRole::Observer => Self::Observer,
            TeamRole::Coordinator => Self::Coordinator,
        }
    }
}

/// A device of the team.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TeamMember {
    /// Its fingerprint.
    pub fingerprint: String,
    /// Its role.
    pub role: TeamRole,
    /// How the team calls it (a pseudonym).
    pub label: String,
    /// Whether it has been revoked.
    pub revoked: bool,
    /// When it was added, Unix seconds.
    pub added_at: i64,
    /// Whether it is this device.
    pub this_device: bool,
}

impl TeamMember {
    pub(crate) fn new(m: &core::Member, own: &str) -> Self {
        let fingerprint = m.fingerprint();
        Self {
            this_device: fingerprint == own,
            fingerprint,
            role: m.role.into(),
            label: m.label.clone(),
            revoked: m.revoked,
            added_at: m.added_at,
        }
    }
}
