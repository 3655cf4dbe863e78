//! Vigil's peer-to-peer transport: QUIC between devices that prove their ed25519 device
//! keys to each other in a mutual TLS 1.3 handshake.
//!
//! This crate knows nothing of Vigil's sync protocol. It offers an [`Endpoint`] that both
//! listens and dials, [`Connection`]s whose peer key was proven in the handshake, and
//! [`FrameStream`]s that carry length-prefixed frames.
//!
//! Each device's certificate is self-signed with its own device key and names nobody: its
//! subject is the constant `CN=vigil`, and the TLS server name is the constant `vigil`.
//! Who may connect is decided, live at every handshake, by a [`PeerPolicy`].
//!
//! The [`discovery`] module finds other devices on the local network over mDNS without
//! saying who they, or we, are.
//!
//! Must not: read a frame's bytes, know a frame limit of its own (the endpoint is
//! given the protocol's at bind), or touch a vault.

pub mod discovery;
mod endpoint;
mod error;
mod frame;
mod tls;

pub use discovery::{Announcement, Discovered, browse};
pub use endpoint::{
    Connection, Endpoint, MAX_HANDSHAKES, MAX_INCOMING, MAX_INCOMING_PER_ADDRESS, MAX_NEWCOMERS,
    RECEIVE_WINDOW,
};
pub use error::NetError;
pub use frame::{FrameReceiver, FrameSender, FrameStream};
pub use vigil_crypto::{DeviceKey, DevicePublicKey};

/// The ALPN protocol both sides must agree on.
pub const ALPN: &[u8] = b"vigil/1";

/// Decides, during the TLS handshake, whether a peer's device key may connect.
///
/// The policy is consulted at every handshake, so a key it stops admitting is refused
/// from the very next handshake on. It runs inside the handshake and must not block.
pub trait PeerPolicy: Send + Sync + 'static {
    /// What to make of a peer that proved it holds `peer`.
    fn admit(&self, peer: &DevicePublicKey) -> Admission;

    /// Brings the policy up to date before a handshake is judged: called before each
    /// incoming handshake starts and before each dial, on a blocking thread, never
    /// inside the handshake. A policy read from storage that something else may
    /// change rereads it here. The default does nothing.
    fn refresh(&self) {}
}

/// A [`PeerPolicy`]'s verdict on a device key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Admission {
    /// A known member of the team.
    Member,
    /// Unknown, but allowed in to present an invite: the connection may carry one
    /// incoming stream.
    Newcomer,
    /// Not allowed: the handshake fails.
    Refused,
}
