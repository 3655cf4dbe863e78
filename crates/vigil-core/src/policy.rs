//! The team's admission policy as the transport holds it: who may connect, drawn
//! from the vault's roster and updated whenever it changes, so that a revocation
//! refuses the very next handshake.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::AtomicI64;

use vigil_crypto::DevicePublicKey;
use vigil_net::{Admission, PeerPolicy};
use vigil_team::{Role, Roster};

/// Who may connect, as the vault's roster says; shared with the transport and updated
/// whenever the roster changes, so a revocation refuses the very next handshake.
#[derive(Debug)]
pub struct TeamPolicy {
    state: RwLock<PolicyState>,
    /// The store's `data_version` when the team was last read from it
    /// ([`NEVER_READ`] before that): another process's commit moves it.
    pub(crate) read_at: AtomicI64,
}

pub(crate) const NEVER_READ: i64 = i64::MIN;

impl Default for TeamPolicy {
    fn default() -> Self {
        Self {
            state: RwLock::default(),
            read_at: AtomicI64::new(NEVER_READ),
        }
    }
}

#[derive(Debug, Default)]
struct PolicyState {
    members: HashMap<[u8; 32], Role>,
    revoked: Vec<[u8; 32]>,
    in_team: bool,
}

impl PeerPolicy for TeamPolicy {
    fn admit(&self, peer: &DevicePublicKey) -> Admission {
        let Ok(state) = self.state.read() else {
            return Admission::Refused;
        };
        let key = peer.to_bytes();
        if state.members.contains_key(&key) {
            Admission::Member
        } else if state.in_team && !state.revoked.contains(&key) {
            // A newcomer with an invitation, or a member added after this device last
            // synced: it must prove one or the other on its first stream.
            Admission::Newcomer
        } else {
            Admission::Refused
        }
    }
}

impl TeamPolicy {
    pub(crate) fn update(&self, roster: Option<&Roster>) {
        let mut members = HashMap::new();
        let mut revoked = Vec::new();
        for m in roster.into_iter().flat_map(Roster::members) {
            if m.revoked {
                revoked.push(m.device);
            } else {
                members.insert(m.device, m.role);
            }
        }
        if let Ok(mut state) = self.state.write() {
            *state = PolicyState {
                members,
                revoked,
                in_team: roster.is_some(),
            };
        }
    }
}
