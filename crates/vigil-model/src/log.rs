//! The two logs every device keeps, as they are signed and stored: the changes of
//! incidents, each vouched for by a device, and the entries of the team's
//! membership. Plain data: the team's rules (`vigil-team`) make and check them, the
//! store (`vigil-store`) keeps them, the protocol (`vigil-sync`) carries them.

use crate::IncidentId;

/// A change as the log keeps it: the Automerge change and who vouches for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedChange {
    /// The incident the change belongs to.
    pub incident: IncidentId,
    /// Automerge's hash of the change.
    pub hash: [u8; 32],
    /// The change, in Automerge's binary form.
    pub bytes: Vec<u8>,
    /// The device that made (or imported) the change.
    pub author: [u8; 32],
    /// The author's ed25519 signature of the incident id and the hash.
    pub signature: [u8; 64],
    /// The change's timestamp, Unix seconds.
    pub time: i64,
}

/// A signed entry of the team's membership log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEntryRow {
    /// Hash of the entry's bytes.
    pub hash: [u8; 32],
    /// When it was made, Unix seconds.
    pub time: i64,
    /// The entry, as its signer encoded it.
    pub bytes: Vec<u8>,
    /// The signer's ed25519 signature.
    pub signature: [u8; 64],
}
