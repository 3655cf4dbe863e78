//! Vigil's sync protocol, sans IO: it reads and writes frames and the vault's store,
//! never a socket, so QUIC streams, file bundles and tests drive it alike.
//!
//! - [`frame`]: the bounded, versioned frames peers exchange, and [`wire`], what
//!   travels of a change or a membership entry (in frames and bundles).
//! - [`Inbox`]: the one gate every change from outside passes (live sync, bundles):
//!   signature, author's membership and role, what the author may write in the
//!   incident (the rules of `vigil-team`), then applied in one transaction.
//! - [`reconcile`]: range-based set reconciliation over the whole collection's
//!   hashes (changes and membership entries) at once.
//! - [`Session`]: one sync between two devices: reconciliation, and exactly the
//!   missing items in the same flights; it ends with a typed [`SessionOutcome`].
//! - [`admission`]: how a device the responder does not know gets in first (an
//!   invitation, or a proof of membership).
//! - [`bundle`]: the same changes and membership on a sealed file, for when there
//!   is no network.
//!
//! This crate owns every frame: the crates above it move bytes and never match one.
//!
//! The team's rules themselves (membership, signatures, authority, sealing) live
//! in `vigil-team`, below this crate: the protocol applies them, never redefines
//! them.

pub mod admission;
pub mod bundle;
pub mod frame;
mod inbox;
pub mod reconcile;
mod session;
pub mod wire;

pub use frame::{Frame, MAX_FRAME, PROTOCOL_VERSION};
pub use inbox::{
    Inbox, MAX_BATCH_INFLATED, MAX_BATCH_OPS, MAX_HELD_BYTES, MAX_UNDONE_PER_INCIDENT,
};
pub use session::{
    MAX_RECONCILE_FRAMES, MAX_SESSION_BYTES, MAX_SESSION_REFUSALS, Session, SessionOutcome,
    SyncStats, Taken,
};

use vigil_store::StoreError;

/// What ends a session: the peer broke the protocol, or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A frame that is not one of ours, or one at the wrong time.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// A frame of another protocol version.
    #[error("the peer speaks sync protocol version {0}; this Vigil speaks {PROTOCOL_VERSION}")]
    Version(u8),
    /// A frame larger than the bound.
    #[error("frame of {0} bytes is over the {MAX_FRAME}-byte limit")]
    FrameTooLarge(usize),
    /// The vault's storage.
    #[error(transparent)]
    Storage(#[from] StoreError),
}
