//! What a sync session or a bundle moved, and the devices found on the LAN.

use vigil_core as core;

/// What a sync session (or a bundle import) moved.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SyncSummary {
    /// The peer's fingerprint (empty for a bundle).
    pub peer: String,
    /// Changes sent.
    pub changes_sent: u64,
    /// Changes received and stored.
    pub changes_received: u64,
    /// Membership entries received.
    pub members_received: u64,
    /// Incidents that changed here.
    pub incidents_updated: u64,
    /// Items refused (bad signature, not a member, ...); the reasons are logged.
    pub refused: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Round trips.
    pub round_trips: u64,
    /// Milliseconds the session took.
    pub duration_ms: u64,
}

impl From<&core::SyncStats> for SyncSummary {
    fn from(s: &core::SyncStats) -> Self {
        Self {
            peer: String::new(),
            changes_sent: s.changes_sent,
            changes_received: s.changes_received,
            members_received: s.members_received,
            incidents_updated: s.incidents_updated,
            refused: s.refused,
            bytes_sent: s.bytes_sent,
            bytes_received: s.bytes_received,
            round_trips: s.round_trips,
            duration_ms: 0,
        }
    }
}

impl From<core::SyncReport> for SyncSummary {
    fn from(r: core::SyncReport) -> Self {
        Self {
            peer: r.peer,
            duration_ms: u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
            ..Self::from(&r.stats)
        }
    }
}

/// What a bundle export wrote.
#[derive(Debug, Clone, uniffi::Record)]
pub struct BundleSummary {
    /// Changes in the bundle.
    pub changes: u64,
    /// Devices that can open it.
    pub recipients: u64,
    /// Size of the file, in bytes.
    pub bytes: u64,
}

impl From<core::BundleOutcome> for BundleSummary {
    fn from(o: core::BundleOutcome) -> Self {
        Self {
            changes: o.changes,
            recipients: o.recipients,
            bytes: o.bytes,
        }
    }
}

/// A Vigil device that announced itself on the LAN.
#[derive(Debug, Clone, uniffi::Record)]
pub struct LanDevice {
    /// Where it listens (IP:PORT), each of its addresses.
    pub addresses: Vec<String>,
}

impl From<core::Discovered> for LanDevice {
    fn from(d: core::Discovered) -> Self {
        Self {
            addresses: d.addresses.iter().map(ToString::to_string).collect(),
        }
    }
}
