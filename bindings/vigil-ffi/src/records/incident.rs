//! Incidents as the shell sees them: status, listing filters and lines, the
//! record in full as form fields, how much of its personal part is readable, its
//! history.

use std::collections::HashMap;

use vigil_core::{self as core, Status};

/// Where an incident stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum IncidentStatus {
    /// Still being written by its observer; not counted.
    Draft,
    /// Handed in by its observer.
    Submitted,
    /// Checked by a coordinator.
    Verified,
    /// Found false or unusable; not counted.
    Rejected,
}

impl From<Status> for IncidentStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Draft => Self::Draft,
            Status::Submitted => Self::Submitted,
            Status::Verified => Self::Verified,
            Status::Rejected => Self::Rejected,
        }
    }
}

impl From<IncidentStatus> for Status {
    fn from(s: IncidentStatus) -> Self {
        match s {
            IncidentStatus::Draft => Self::Draft,
            IncidentStatus::Submitted => Self::Submitted,
            IncidentStatus::Verified => Self::Verified,
            IncidentStatus::Rejected => Self::Rejected,
        }
    }
}

/// Which incidents a listing shows; every field is optional.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct IncidentFilter {
    /// Only this phase (an id of the taxonomy).
    #[uniffi(default = None)]
    pub phase: Option<String>,
    /// Only this category.
    #[uniffi(default = None)]
    pub category: Option<String>,
    /// Only this city (any case).
    #[uniffi(default = None)]
    pub city: Option<String>,
    /// Only this status.
    #[uniffi(default = None)]
    pub status: Option<IncidentStatus>,
    /// At most this many.
    #[uniffi(default = None)]
    pub limit: Option<u64>,
    /// Skip this many first (for paging).
    #[uniffi(default = 0)]
    pub offset: u64,
}

impl From<IncidentFilter> for core::ListFilter {
    fn from(f: IncidentFilter) -> Self {
        core::ListFilter {
            phase: f.phase,
            category: f.category,
            city: f.city,
            status: f.status.map(Into::into),
            limit: f.limit,
            offset: f.offset,
        }
    }
}

/// One line of a listing: what lists and maps show, no names.
#[derive(Debug, Clone, uniffi::Record)]
pub struct IncidentSummary {
    /// The incident's id (a UUID).
    pub id: String,
    /// Phase id.
    pub phase: String,
    /// Category id.
    pub category: String,
    /// Review status.
    pub status: IncidentStatus,
    /// When it happened (RFC 3339).
    pub occurred_at: String,
    /// When it was reported (RFC 3339).
    pub reported_at: String,
    /// Region.
    pub region: String,
    /// City or town.
    pub city: String,
    /// Polling station, if any.
    pub polling_station: Option<String>,
    /// People affected.
    pub people: u64,
    /// Whether `people` is a lower bound ("at least").
    pub at_least: bool,
    /// Role of the people affected (a role id).
    pub affected_role: String,
    /// Its names and description are sealed to the coordinators: this device
    /// carries them and cannot read them.
    pub sealed: bool,
}

impl From<core::Summary> for IncidentSummary {
    fn from(s: core::Summary) -> Self {
        Self {
            id: s.id.to_string(),
            phase: s.phase,
            category: s.category,
            status: s.status.into(),
            occurred_at: s.occurred_at,
            reported_at: s.reported_at,
            region: s.region,
            city: s.city,
            polling_station: s.polling_station,
            people: s.people,
            at_least: s.at_least,
            affected_role: s.affected_role,
            sealed: s.sealed,
        }
    }
}

/// One incident in full, as form fields named like the CSV columns (`category`,
/// `city`, `people_count`, `persons`, `held_hours`, `legal_article`, ...). Only fields
/// with a value are present; `Vault.edit_incident` takes the same names back.
#[derive(Debug, Clone, uniffi::Record)]
pub struct IncidentRecord {
    /// The incident's id.
    pub id: String,
    /// Review status.
    pub status: IncidentStatus,
    /// How much of the personal part (names, description, reporter) this device
    /// reads; where `Sealed`, `fields` holds none of it.
    pub personal: PersonalData,
    /// Field values by column name. Named people are one value:
    /// `Name (role); Name`.
    pub fields: HashMap<String, String>,
}

/// How much of an incident's personal part this device reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PersonalData {
    /// A draft of this device: readable and editable until submitted; it has not
    /// left the device.
    Draft,
    /// Readable here (a coordinator's device, or a vault without a team).
    Readable,
    /// Sealed to the coordinators: shown without names; editing them is refused.
    Sealed,
}

impl From<core::PersonalAccess> for PersonalData {
    fn from(a: core::PersonalAccess) -> Self {
        match a {
            core::PersonalAccess::Draft => PersonalData::Draft,
            core::PersonalAccess::Readable => PersonalData::Readable,
            core::PersonalAccess::Sealed => PersonalData::Sealed,
        }
    }
}

/// One change in an incident's history.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HistoryItem {
    /// When, in Unix seconds.
    pub time: i64,
    /// Who: "this device (…)", "device …" or "partner import".
    pub author: String,
    /// Fingerprint of the device that signed the change (for a partner import, the
    /// coordinator that imported it), if known.
    pub signer: Option<String>,
    /// What the change says it did ("created", "imported", ...), if anything.
    pub message: Option<String>,
    /// Field by field.
    pub edits: Vec<FieldChange>,
}

/// A field's value before and after a change.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FieldChange {
    /// The field.
    pub field: String,
    /// The value before, if any.
    pub before: Option<String>,
    /// The value after, if any.
    pub after: Option<String>,
    /// Whether the field is personal data (a shell may hide its values).
    pub personal: bool,
}

impl From<core::HistoryEntry> for HistoryItem {
    fn from(h: core::HistoryEntry) -> Self {
        Self {
            time: h.time,
            author: h.actor,
            signer: h.signer,
            message: h.message,
            edits: h
                .edits
                .into_iter()
                .map(|e| FieldChange {
                    field: e.field,
                    before: e.before,
                    after: e.after,
                    personal: e.personal,
                })
                .collect(),
        }
    }
}
