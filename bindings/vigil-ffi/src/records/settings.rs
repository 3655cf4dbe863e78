//! The vault itself: its key stretching and the facts about it.

use vigil_core as core;

use super::TeamRole;

/// Argon2id cost of the passphrase. The default (64 MiB, 3 passes) suits phones;
/// tests use less.
#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct KeyStretching {
    /// Memory, in MiB.
    pub memory_mib: u32,
    /// Passes over the memory.
    pub iterations: u32,
}

impl From<KeyStretching> for core::KdfParams {
    fn from(k: KeyStretching) -> Self {
        core::KdfParams {
            memory_kib: k.memory_mib.saturating_mul(1024),
            iterations: k.iterations,
            lanes: 1,
        }
    }
}

/// Facts about a vault, none of them secret.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VaultInfo {
    /// This device's fingerprint, to compare by eye with a teammate's screen.
    pub device: String,
    /// Incidents stored.
    pub incidents: u64,
    /// Changes in the log.
    pub changes: u64,
    /// The taxonomy in use.
    pub taxonomy: String,
    /// When the vault was created (RFC 3339).
    pub created_at: String,
    /// The team's fingerprint, once in a team.
    pub team: Option<String>,
    /// This device's role, if an active member of a team.
    pub role: Option<TeamRole>,
    /// Argon2id memory, in MiB.
    pub key_stretching_mib: u32,
}

impl From<core::VaultInfo> for VaultInfo {
    fn from(i: core::VaultInfo) -> Self {
        Self {
            device: i.device,
            incidents: i.incidents,
            changes: i.changes,
            taxonomy: i.taxonomy,
            created_at: i.created_at,
            team: i.team,
            role: i.role.map(Into::into),
            key_stretching_mib: i.kdf.memory_kib / 1024,
        }
    }
}
