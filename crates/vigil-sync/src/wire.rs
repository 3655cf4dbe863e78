//! What travels of the two logs, in frames and bundles alike: a change with what
//! the receiver cannot derive from its bytes, and a membership entry with its
//! signature. Built here, from what the store keeps, and nowhere else.

use serde::{Deserialize, Serialize};
use vigil_model::SignedChange;
use vigil_model::document::IncidentDocument;
use vigil_team::Refusal;
use vigil_team::membership::SignedEntry;

/// A change as it travels: what the receiver cannot derive from the bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WireChange {
    /// The incident it belongs to.
    pub incident: [u8; 16],
    /// The device that vouches for it, when that is not the change's own Automerge
    /// actor (imports); `None` for a device's own changes, which name it already.
    pub author: Option<[u8; 32]>,
    /// The author's signature (64 bytes; anything else is refused).
    pub signature: Vec<u8>,
    /// The Automerge change.
    pub bytes: Vec<u8>,
}

impl WireChange {
    /// A stored change, ready to travel.
    pub fn new(c: SignedChange, actor: &[u8]) -> Self {
        Self {
            incident: c.incident.to_bytes(),
            author: (actor != c.author).then_some(c.author),
            signature: c.signature.to_vec(),
            bytes: c.bytes,
        }
    }
}

impl From<SignedChange> for WireChange {
    fn from(c: SignedChange) -> Self {
        let actor = IncidentDocument::decode_change(&c.bytes)
            .map(|d| d.actor)
            .unwrap_or_default();
        Self::new(c, &actor)
    }
}

impl WireChange {
    /// Checks the change before anything applies it: see
    /// [`vigil_team::signing::check_signature`].
    pub fn check(&self) -> Result<SignedChange, (Refusal, Option<[u8; 32]>)> {
        vigil_team::signing::check_signature(
            self.incident,
            self.author,
            &self.signature,
            &self.bytes,
        )
    }
}

/// A membership entry as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireEntry {
    /// The encoded entry.
    pub bytes: Vec<u8>,
    /// Its signature (64 bytes).
    pub signature: Vec<u8>,
}

impl From<&SignedEntry> for WireEntry {
    fn from(entry: &SignedEntry) -> Self {
        Self {
            bytes: entry.bytes.clone(),
            signature: entry.signature.to_vec(),
        }
    }
}

impl WireEntry {
    /// The entry's bytes and signature, as [`vigil_team::Roster::would_admit`] reads
    /// a proof.
    pub fn parts(&self) -> (&[u8], &[u8]) {
        (&self.bytes, &self.signature)
    }
}
