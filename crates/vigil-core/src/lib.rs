//! The Vigil core: the one entry point every shell (the CLI, the mobile and desktop
//! bindings) uses. A [`Vault`] is a folder holding an encrypted database and the key
//! file that unlocks it; through it a shell logs, edits, lists, imports, exports,
//! merges and counts incidents; through a [`Node`] it syncs with the devices of its
//! team over QUIC. Shells hold it as a [`VaultHandle`].
//!
//! Owns: the vault's lifecycle (the handle's lock, read-only listing, change events,
//! serving and wipe), the vault's operations, driving the protocol over QUIC streams
//! and files, the one public error ([`VaultError`] and its [`ErrorKind`]), and the
//! defaults every shell shares. Must not: define a frame or a team rule (those are
//! `vigil-sync`'s and `vigil-team`'s), or leave a policy to the shells to decide.

mod bundle;
mod clock;
mod defaults;
mod error;
mod events;
mod handle;
mod invite;
mod peer;
mod personal;
mod policy;
mod recovery;
mod team;
mod vault;

pub use bundle::BundleOutcome;
pub use defaults::{
    COUNTED_BY_DEFAULT, UNLOCK_TARGET, counted_or_default, ephemeral_address, is_weak_stretching,
    key_stretching,
};
pub use error::{Direction, ErrorKind, InviteError, NotAVault, TeamError, VaultError};
pub use events::{ChangeSource, VaultEvent};
pub use handle::{VaultGuard, VaultHandle};
pub use invite::Invite;
pub use peer::{
    FRAME_DEADLINE, NEWCOMER_DEADLINE, Node, SEND_QUEUE, SESSION_DEADLINE, SyncReport, browse_lan,
};
pub use recovery::RecoveryCode;
pub use team::{Equivocation, Recovery};
pub use vault::{
    ExportOutcome, ImportMode, ImportOutcome, MergeOutcome, Vault, VaultInfo, calibrated_kdf, wipe,
};
pub use vigil_net::discovery::Discovered;
pub use vigil_sync::SyncStats;
pub use vigil_sync::admission::NEWCOMER_FRAME;
pub use vigil_sync::bundle::BundleError;
pub use vigil_team::{Member, PersonalAccess, Role};

pub use vigil_crypto::KdfParams;
pub use vigil_exchange::{Format, LineError, record};
pub use vigil_model::document::{FieldEdit, HistoryEntry};
pub use vigil_model::{
    Affected, Coordinates, FieldValue, Incident, IncidentId, Legal, Person, Personal, Place,
    Status, Summary, Taxonomy,
};
pub use vigil_model::{forms, taxonomy};
pub use vigil_net::NetError;
pub use vigil_report::{Figures, Report, render_markdown};
pub use vigil_store::ListFilter;

/// Whether `text` is a time in RFC 3339 form, as incidents store them.
pub fn validate_time(text: &str) -> bool {
    vigil_model::validate::parse_time(text).is_some()
}

/// Whether `text` is a date in `YYYY-MM-DD` form.
pub fn validate_date(text: &str) -> bool {
    vigil_model::validate::parse_date(text).is_some()
}
