//! The plain values that cross the boundary: records and enums in each language's
//! idiom (Kotlin data classes, Swift structs, Python dataclasses), converted from the
//! core's types in one place.

use std::collections::HashMap;

use vigil_core::taxonomy::{FieldKind as CoreFieldKind, Labels, Term, label};
use vigil_core::{self as core, Status, Taxonomy};

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

/// A device's role in its team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TeamRole {
    /// Logs incidents.
    Observer,
    /// Invites and revokes devices, verifies incidents, reads everything.
    Coordinator,
}

impl From<core::Role> for TeamRole {
    fn from(r: core::Role) -> Self {
        match r {
            core::Role::Observer => Self::Observer,
            core::Role::Coordinator => Self::Coordinator,
        }
    }
}

impl From<TeamRole> for core::Role {
    fn from(r: TeamRole) -> Self {
        match r {
            TeamRole::Observer => Self::Observer,
            TeamRole::Coordinator => Self::Coordinator,
        }
    }
}

/// Argon2id cost of the passphrase. The default (64 MiB, 3 passes) suits phones;
/// tests use less.
#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct KeyStretching {
    /// Memory, in MiB.
    pub memory_mib: u32,
    /// Passes over the memory.
    pub iterations: u32,
}

impl From<KeyStretching> for core::KdfParams {
    fn from(k: KeyStretching) -> Self {
        core::KdfParams {
            memory_kib: k.memory_mib.saturating_mul(1024),
            iterations: k.iterations,
            lanes: 1,
        }
    }
}

/// Facts about a vault, none of them secret.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VaultInfo {
    /// This device's fingerprint, to compare by eye with a teammate's screen.
    pub device: String,
    /// Incidents stored.
    pub incidents: u64,
    /// Changes in the log.
    pub changes: u64,
    /// The taxonomy in use.
    pub taxonomy: String,
    /// When the vault was created (RFC 3339).
    pub created_at: String,
    /// The team's fingerprint, once in a team.
    pub team: Option<String>,
    /// This device's role, if an active member of a team.
    pub role: Option<TeamRole>,
    /// Argon2id memory, in MiB.
    pub key_stretching_mib: u32,
}

impl From<core::VaultInfo> for VaultInfo {
    fn from(i: core::VaultInfo) -> Self {
        Self {
            device: i.device,
            incidents: i.incidents,
            changes: i.changes,
            taxonomy: i.taxonomy,
            created_at: i.created_at,
            team: i.team,
            role: i.role.map(Into::into),
            key_stretching_mib: i.kdf.memory_kib / 1024,
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

/// The figures of a report: one row per phase and category that has incidents.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ReportFigures {
    /// The statuses counted.
    pub counted: Vec<IncidentStatus>,
    /// Reports counted.
    pub reports: u64,
    /// By phase and category, in the taxonomy's order.
    pub rows: Vec<CategoryFigures>,
}

/// The figures of one category in one phase.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CategoryFigures {
    /// Phase id.
    pub phase: String,
    /// Category id.
    pub category: String,
    /// The category's label in the requested language.
    pub label: String,
    /// Events (each report is one event for now).
    pub events: u64,
    /// People affected, summed over events.
    pub people: u64,
    /// Whether `people` is a lower bound ("at least").
    pub people_is_lower_bound: bool,
    /// Distinct cities.
    pub cities: u64,
    /// Distinct people identified by name.
    pub named_people: u64,
    /// Events whose names are sealed to the coordinators, which this device cannot
    /// read: `named_people` does not count them.
    pub sealed_events: u64,
    /// People affected by preventive persecution.
    pub preventive: u64,
    /// People in whose name someone else voted.
    pub impersonation: u64,
    /// Shortest detention, in hours, if known.
    pub held_hours_min: Option<i64>,
    /// Longest detention, in hours, if known.
    pub held_hours_max: Option<i64>,
    /// People by legal article (`CoAO 488`).
    pub by_article: HashMap<String, u64>,
    /// People by context (campaigning, observation, protest).
    pub by_context: HashMap<String, u64>,
    /// People by their role.
    pub by_affected_role: HashMap<String, u64>,
    /// People by grounds.
    pub by_grounds: HashMap<String, u64>,
}

impl ReportFigures {
    pub(crate) fn new(report: &core::Report, taxonomy: &Taxonomy, lang: &str) -> Self {
        let mut rows = Vec::new();
        for phase in &taxonomy.phases {
            for category in &taxonomy.categories {
                let Some(f) = report.get(&phase.id, &category.id) else {
                    continue;
                };
                rows.push(CategoryFigures {
                    phase: phase.id.clone(),
                    category: category.id.clone(),
                    label: label(&category.label, lang, &category.id).to_owned(),
                    events: f.events,
                    people: f.people,
                    people_is_lower_bound: f.people_is_lower_bound,
                    cities: f.cities as u64,
                    named_people: f.named_people as u64,
                    sealed_events: f.sealed_events,
                    preventive: f.preventive,
                    impersonation: f.impersonation,
                    held_hours_min: f.held_hours_min,
                    held_hours_max: f.held_hours_max,
                    by_article: f.by_article.clone().into_iter().collect(),
                    by_context: f.by_context.clone().into_iter().collect(),
                    by_affected_role: f.by_affected_role.clone().into_iter().collect(),
                    by_grounds: f.by_grounds.clone().into_iter().collect(),
                });
            }
        }
        Self {
            counted: report.counted.iter().map(|s| (*s).into()).collect(),
            reports: report.reports,
            rows,
        }
    }
}

/// The kind of value a form field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FieldKind {
    /// Yes or no.
    Boolean,
    /// A whole number within `min..=max`.
    Integer,
    /// Free text.
    Text,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// One of `choices`.
    Choice,
    /// A legal qualification, entered as five fields: `<id>_code` (one of the
    /// taxonomy's legal codes), `<id>_article`, `<id>_sanction` (one of its
    /// sanctions), `<id>_days`, `<id>_amount`.
    Legal,
}

impl From<CoreFieldKind> for FieldKind {
    fn from(k: CoreFieldKind) -> Self {
        match k {
            CoreFieldKind::Boolean => Self::Boolean,
            CoreFieldKind::Integer => Self::Integer,
            CoreFieldKind::Text => Self::Text,
            CoreFieldKind::Date => Self::Date,
            CoreFieldKind::Choice => Self::Choice,
            CoreFieldKind::Legal => Self::Legal,
        }
    }
}

/// A value to pick, with its label in the requested language.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Choice {
    /// The id stored.
    pub id: String,
    /// What the user sees.
    pub label: String,
}

/// A field of a category's form.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FormField {
    /// The field's id, the name `add_incident` and `edit_incident` take.
    pub id: String,
    /// What the user sees.
    pub label: String,
    /// What it holds.
    pub kind: FieldKind,
    /// For choices: the allowed values.
    pub choices: Vec<Choice>,
    /// For integers: the smallest allowed value.
    pub min: Option<i64>,
    /// For integers: the largest allowed value.
    pub max: Option<i64>,
    /// Whether the value identifies a person.
    pub personal: bool,
    /// Whether the category requires it.
    pub required: bool,
}

/// A category and the fields of its form (common fields included).
#[derive(Debug, Clone, uniffi::Record)]
pub struct CategoryForm {
    /// Category id.
    pub id: String,
    /// What the user sees.
    pub label: String,
    /// The phases it belongs to.
    pub phases: Vec<String>,
    /// Its fields, in the taxonomy's order, after the core fields every incident has.
    pub fields: Vec<FormField>,
}

/// A legal code and the articles the team tracks.
#[derive(Debug, Clone, uniffi::Record)]
pub struct LegalCodeChoice {
    /// Code id, e.g. `CoAO`.
    pub id: String,
    /// What the user sees.
    pub label: String,
    /// Known articles (others are accepted).
    pub articles: Vec<Choice>,
}

/// Everything a shell needs to draw the incident form, in one language.
///
/// Every incident has the core fields, in [`TaxonomyForm::core_fields`]: `phase`,
/// `category`, `occurred_at`, `region`, `city`, `polling_station`, `latitude`,
/// `longitude`, `people_count`, `count_is_lower_bound`, `affected_role`, `persons`,
/// `description`, `reported_by`, `reported_at`, `status`; their labels are the
/// shell's own strings. Categories add their fields.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TaxonomyForm {
    /// The taxonomy's name.
    pub name: String,
    /// The language of the labels (the requested one, or English where a label
    /// lacks it).
    pub language: String,
    /// Languages the taxonomy has labels in.
    pub languages: Vec<String>,
    /// The core fields every incident has (ids).
    pub core_fields: Vec<String>,
    /// Phases.
    pub phases: Vec<Choice>,
    /// Roles of the people affected (`affected_role`, and a person's role).
    pub roles: Vec<Choice>,
    /// Categories with their forms.
    pub categories: Vec<CategoryForm>,
    /// Legal codes for legal fields.
    pub legal_codes: Vec<LegalCodeChoice>,
    /// Sanctions for legal fields.
    pub sanctions: Vec<Choice>,
}

fn choices(terms: &[Term], lang: &str) -> Vec<Choice> {
    terms
        .iter()
        .map(|t| Choice {
            id: t.id.clone(),
            label: label(&t.label, lang, &t.id).to_owned(),
        })
        .collect()
}

fn text(labels: &Labels, lang: &str, id: &str) -> String {
    label(labels, lang, id).to_owned()
}

impl TaxonomyForm {
    pub(crate) fn new(taxonomy: &Taxonomy, lang: &str) -> Self {
        let categories = taxonomy
            .categories
            .iter()
            .map(|c| CategoryForm {
                id: c.id.clone(),
                label: text(&c.label, lang, &c.id),
                phases: c.phases.clone(),
                fields: taxonomy
                    .fields_of(c)
                    .map(|f| FormField {
                        id: f.id.clone(),
                        label: text(&f.label, lang, &f.id),
                        kind: f.kind.into(),
                        choices: choices(&f.choices, lang),
                        min: f.min,
                        max: f.max,
                        personal: f.personal,
                        required: c.required.contains(&f.id),
                    })
                    .collect(),
            })
            .collect();
        Self {
            name: taxonomy.name.clone(),
            language: lang.to_owned(),
            languages: taxonomy.languages.clone(),
            core_fields: core::record::CORE_KEYS
                .iter()
                .filter(|k| **k != "report_id")
                .map(|k| (*k).to_owned())
                .collect(),
            phases: choices(&taxonomy.phases, lang),
            roles: choices(&taxonomy.roles, lang),
            categories,
            legal_codes: taxonomy
                .legal_codes
                .iter()
                .map(|code| LegalCodeChoice {
                    id: code.id.clone(),
                    label: text(&code.label, lang, &code.id),
                    articles: choices(&code.articles, lang),
                })
                .collect(),
            sanctions: choices(&taxonomy.sanctions, lang),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ImportSummary {
    /// Incidents added.
    pub added: u64,
    /// Incidents already in the vault (same report id), left as they were.
    pub already_present: u64,
    /// Of those, incidents a device logged under the report's id instead of
    /// importing it: ids a member may have claimed first; compare them by hand.
    pub claimed: u64,
    /// Lines skipped, each with its number and reason (only when skipping).
    pub skipped: Vec<String>,
}

impl From<core::ImportOutcome> for ImportSummary {
    fn from(o: core::ImportOutcome) -> Self {
        Self {
            added: o.added,
            already_present: o.already_present,
            claimed: o.claimed,
            skipped: o.skipped.iter().map(ToString::to_string).collect(),
        }
    }
}

/// What an export wrote, and how much personal data the file holds.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ExportSummary {
    /// Incidents written.
    pub incidents: u64,
    /// Names of people affected.
    pub named_people: u64,
    /// Free-text descriptions (they may name people).
    pub descriptions: u64,
    /// Observers' pseudonyms.
    pub reporters: u64,
    /// Values of fields marked personal.
    pub personal_fields: u64,
    /// Incidents whose personal part is sealed to the coordinators: written
    /// without it.
    pub sealed: u64,
}

impl From<core::ExportOutcome> for ExportSummary {
    fn from(o: core::ExportOutcome) -> Self {
        Self {
            incidents: o.incidents,
            named_people: o.named_people,
            descriptions: o.descriptions,
            reporters: o.reporters,
            personal_fields: o.personal_fields,
            sealed: o.sealed,
        }
    }
}

/// A file format for import and export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FileFormat {
    /// The partner export format: one JSON object per line.
    JsonLines,
    /// CSV with the taxonomy's header.
    Csv,
}

impl From<FileFormat> for core::Format {
    fn from(f: FileFormat) -> Self {
        match f {
            FileFormat::JsonLines => Self::Jsonl,
            FileFormat::Csv => Self::Csv,
        }
    }
}

/// A device of the team.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TeamMember {
    /// Its fingerprint.
    pub fingerprint: String,
    /// Its role.
    pub role: TeamRole,
    /// How the team calls it (a pseudonym).
    pub label: String,
    /// Whether it has been revoked.
    pub revoked: bool,
    /// When it was added, Unix seconds.
    pub added_at: i64,
    /// Whether it is this device.
    pub this_device: bool,
}

impl TeamMember {
    pub(crate) fn new(m: &core::Member, own: &str) -> Self {
        let fingerprint = m.fingerprint();
        Self {
            this_device: fingerprint == own,
            fingerprint,
            role: m.role.into(),
            label: m.label.clone(),
            revoked: m.revoked,
            added_at: m.added_at,
        }
    }
}

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
