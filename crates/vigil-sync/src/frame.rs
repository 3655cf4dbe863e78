//! Frames: one version byte, then a postcard-encoded [`Frame`]. Every frame is at
//! most [`MAX_FRAME`] bytes, which the transport enforces before reading one.

use serde::{Deserialize, Serialize};

use crate::SyncError;
use crate::reconcile::{IdPrefix, Range};
use crate::signing::WireChange;

/// The version this build speaks; a frame of another version ends the session.
pub const PROTOCOL_VERSION: u8 = 1;

/// The largest frame, in bytes.
pub const MAX_FRAME: usize = 4 * 1024 * 1024;

/// A membership entry as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireEntry {
    /// The encoded entry.
    pub bytes: Vec<u8>,
    /// Its signature (64 bytes).
    pub signature: Vec<u8>,
}

/// What peers say to each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frame {
    /// A step of set reconciliation; empty when every range is settled.
    Reconcile(Vec<Range>),
    /// Please send the items with these hash prefixes.
    Want(Vec<IdPrefix>),
    /// Membership entries, in causal order.
    Members(Vec<WireEntry>),
    /// Changes, each after the changes it depends on.
    Changes(Vec<WireChange>),
    /// A newcomer's first frame: the invitation's secret, and the label it asks to be
    /// known by.
    Join {
        /// The invitation's secret.
        secret: [u8; 32],
        /// The label for the team's member list.
        label: String,
    },
    /// The coordinator's answer to a valid `Join`: the newcomer is admitted to this
    /// team, and a sync session follows on the same stream.
    Welcome {
        /// The team's id.
        team: [u8; 32],
    },
    /// The responder does not know the initiator's key yet: prove your membership
    /// (answered with `Members`: the initiator's whole membership log).
    Prove,
    /// The sender is finished; with what it took in and refused this session.
    Done {
        /// Items stored.
        accepted: u64,
        /// Items refused.
        refused: u64,
        /// Whether the sender waits for the receiver's own `Done`.
        reply: bool,
    },
}

impl Frame {
    /// The frame's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![PROTOCOL_VERSION];
        // Encoding into a Vec cannot fail for these types.
        if let Ok(body) = postcard::to_stdvec(self) {
            out.extend(body);
        }
        out
    }

    /// Reads a frame from a peer.
    pub fn decode(bytes: &[u8]) -> Result<Self, SyncError> {
        if bytes.len() > MAX_FRAME {
            return Err(SyncError::FrameTooLarge(bytes.len()));
        }
        let (&version, body) = bytes
            .split_first()
            .ok_or_else(|| SyncError::Protocol("empty frame".into()))?;
        if version != PROTOCOL_VERSION {
            return Err(SyncError::Version(version));
        }
        match postcard::take_from_bytes(body) {
            Ok((frame, [])) => Ok(frame),
            _ => Err(SyncError::Protocol("a frame does not decode".into())),
        }
    }
}
