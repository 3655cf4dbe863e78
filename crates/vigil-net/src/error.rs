//! Transport errors. Messages name peers by fingerprint only and never hold key material.

/// Everything that can go wrong in the transport.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// Our policy does not admit the peer.
    #[error("peer {fingerprint} is not admitted (an unknown or revoked device)")]
    Refused {
        /// The peer's key fingerprint.
        fingerprint: String,
    },
    /// The peer is not the device we were told to expect (the key pinned by an invite).
    #[error("expected device {expected} but the peer is {found}")]
    UnexpectedPeer {
        /// Fingerprint of the pinned key.
        expected: String,
        /// Fingerprint of the key the peer proved.
        found: String,
    },
    /// The peer does not admit this device: it refused our certificate during the
    /// handshake (unknown or revoked key).
    #[error("the peer does not admit this device")]
    RejectedByPeer,
    /// The connection could not be set up: bad address, failed or rejected handshake.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The peer is at its limit of connections or handshakes and refused this one
    /// at once (QUIC `CONNECTION_REFUSED`); trying again in a moment may work.
    #[error(
        "the peer refused the connection at once: it is busy (at its limit of connections) or no longer serving; try again in a moment"
    )]
    Busy,
    /// An established connection went away (closed by either side, timed out, reset).
    #[error("connection lost: {0}")]
    ConnectionLost(#[from] quinn::ConnectionError),
    /// A stream was reset or stopped, or used after it was finished.
    #[error("stream failed: {0}")]
    Stream(String),
    /// A frame is longer than the stream's limit (the endpoint's `max_frame`).
    #[error("frame of {len} bytes exceeds the stream's limit")]
    FrameTooLarge {
        /// The announced or attempted frame length.
        len: usize,
    },
    /// The stream ended in the middle of a frame.
    #[error("stream ended in the middle of a frame")]
    TruncatedFrame,
    /// A newcomer tried to open more than the one stream it is allowed.
    #[error("a newcomer may open only one stream")]
    NewcomerStreamLimit,
    /// Socket trouble.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The TLS or QUIC configuration could not be built.
    #[error("TLS configuration: {0}")]
    TlsConfig(String),
    /// LAN discovery failed: the mDNS daemon could not start, announce or browse
    /// (networks without multicast make it find nothing rather than fail).
    #[error("LAN discovery: {0}")]
    Discovery(String),
}
