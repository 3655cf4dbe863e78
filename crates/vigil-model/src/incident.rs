//! An incident: one observer's report of what happened, to whom, where and when.
//!
//! The document has two parts. The public part (everything but [`Personal`]) is what
//! counting, listing and reporting need. The personal part holds whatever identifies a
//! person: names, free text, the reporting observer, and taxonomy fields marked
//! `personal`. Documents hold the personal part sealed to the coordinators
//! (`document::PersonalPart`, `vigil_sync::sealing`), so that field devices cannot
//! read it back.

use std::collections::BTreeMap;
use std::fmt;

use autosurgeon::{Hydrate, HydrateError, Reconcile, Reconciler};
use serde::{Deserialize, Serialize};

/// The id of an incident: a UUID in its hyphenated lower-case form. Imported reports
/// keep the partner's `report_id`, so re-importing a file finds the same incidents.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentId(String);

impl IncidentId {
    /// A fresh random id.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// Parses an id; only UUIDs are ids.
    pub fn parse(text: &str) -> Option<Self> {
        uuid::Uuid::parse_str(text.trim())
            .ok()
            .map(|uuid| Self(uuid.hyphenated().to_string()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as 16 bytes, the form the store keeps.
    pub fn to_bytes(&self) -> [u8; 16] {
        uuid::Uuid::parse_str(&self.0).map_or([0; 16], |uuid| *uuid.as_bytes())
    }

    /// The id from the 16 bytes the store keeps.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Uuid::from_bytes(bytes).hyphenated().to_string())
    }
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an incident stands in review. Only submitted and verified incidents count in
/// a report; drafts are unfinished, rejected ones were found false.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, Reconcile, Hydrate,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Still being written by its observer.
    #[default]
    Draft,
    /// Handed in by its observer.
    Submitted,
    /// Checked by a coordinator.
    Verified,
    /// Found false or unusable by a coordinator.
    Rejected,
}

impl Status {
    /// All statuses, in review order.
    pub const ALL: [Status; 4] = [
        Status::Draft,
        Status::Submitted,
        Status::Verified,
        Status::Rejected,
    ];

    /// The status's id, as it appears in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Verified => "verified",
            Status::Rejected => "rejected",
        }
    }

    /// Parses a status id.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text.trim())
    }

    /// Whether incidents with this status count in reports.
    pub fn counts(self) -> bool {
        matches!(self, Status::Submitted | Status::Verified)
    }
}

/// Latitude and longitude in degrees (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Coordinates {
    /// Degrees north, -90 to 90.
    pub lat: f64,
    /// Degrees east, -180 to 180.
    pub lon: f64,
}

/// Where an incident happened.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Place {
    /// Region (oblast, province).
    pub region: String,
    /// City or town.
    pub city: String,
    /// Polling station, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polling_station: Option<String>,
    /// Exact position, where the observer recorded one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<Coordinates>,
}

/// Who was affected: how many people, and in which role.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Affected {
    /// People affected. With `at_least`, a lower bound.
    pub count: u64,
    /// True when `count` is "at least": the observer could not count everyone.
    pub at_least: bool,
    /// The role of the people affected (a taxonomy role id).
    pub role: String,
}

/// A legal qualification: code, article and sanction.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Legal {
    /// Legal code id from the taxonomy, e.g. `CoAO`.
    pub code: String,
    /// Article of the code, e.g. `488` or `73-3`.
    pub article: String,
    /// Sanction id from the taxonomy, e.g. `arrest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sanction: Option<String>,
    /// Days of arrest, where the sanction has a length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// Amount of a fine, in the currency's smallest common unit (tenge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<u64>,
}

/// The value of a taxonomy field. Which variant a field takes is the taxonomy's
/// business; choices and dates are text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// A yes/no field.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Text, a choice id or a date (`YYYY-MM-DD`).
    Text(String),
    /// A legal qualification.
    Legal(Legal),
}

impl FieldValue {
    /// The value as a boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            FieldValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The value as an integer, if it is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            FieldValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The value as text, if it is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The value as a legal qualification, if it is one.
    pub fn as_legal(&self) -> Option<&Legal> {
        match self {
            FieldValue::Legal(l) => Some(l),
            _ => None,
        }
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Bool(b) => write!(f, "{}", if *b { "yes" } else { "no" }),
            FieldValue::Int(i) => write!(f, "{i}"),
            FieldValue::Text(t) => f.write_str(t),
            FieldValue::Legal(l) => {
                write!(f, "{} {}", l.code, l.article)?;
                if let Some(s) = &l.sanction {
                    write!(f, ", {s}")?;
                }
                if let Some(d) = l.days {
                    write!(f, ", {d} days")?;
                }
                if let Some(a) = l.amount {
                    write!(f, ", amount {a}")?;
                }
                Ok(())
            }
        }
    }
}

// Field values are stored as plain Automerge scalars (and a map for legal), so the
// documents read naturally in any Automerge tool and concurrent edits of one field
// resolve like any other scalar.
impl Reconcile for FieldValue {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        match self {
            FieldValue::Bool(b) => reconciler.boolean(*b),
            FieldValue::Int(i) => reconciler.i64(*i),
            FieldValue::Text(t) => reconciler.str(t),
            FieldValue::Legal(l) => l.reconcile(reconciler),
        }
    }
}

impl Hydrate for FieldValue {
    fn hydrate_bool(b: bool) -> Result<Self, HydrateError> {
        Ok(FieldValue::Bool(b))
    }

    fn hydrate_int(i: i64) -> Result<Self, HydrateError> {
        Ok(FieldValue::Int(i))
    }

    fn hydrate_uint(u: u64) -> Result<Self, HydrateError> {
        i64::try_from(u)
            .map(FieldValue::Int)
            .map_err(|_| HydrateError::unexpected("an integer below 2^63", u.to_string()))
    }

    fn hydrate_string(s: &str) -> Result<Self, HydrateError> {
        Ok(FieldValue::Text(s.to_owned()))
    }

    fn hydrate_map<D: autosurgeon::ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
    ) -> Result<Self, HydrateError> {
        Legal::hydrate_map(doc, obj).map(FieldValue::Legal)
    }
}

/// A person identified by name. Each is a record of its own, with an id that stays
/// when the name is corrected, so two devices editing different people merge cleanly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Person {
    /// Stable id of this record within the incident.
    #[key]
    pub id: String,
    /// The name as the observer wrote it.
    pub name: String,
    /// The person's role (a taxonomy role id), where it differs from the incident's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The person agreed that their name be published: public reports may name them.
    /// Without it a report only counts them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[autosurgeon(missing = "Default::default")]
    pub consent: bool,
}

impl Person {
    /// A new person record with a fresh id.
    pub fn new(name: impl Into<String>, role: Option<String>) -> Self {
        Self {
            id: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
            name: name.into(),
            role,
            consent: false,
        }
    }
}

/// The personal part of an incident: everything that identifies a person.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Personal {
    /// People identified by name.
    #[serde(default)]
    pub persons: Vec<Person>,
    /// Free text: what happened, in the observer's words. May name people.
    #[serde(default)]
    pub description: String,
    /// The observer who reported it (a pseudonym in a partner's system).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_by: Option<String>,
    /// Where the report came from: the label its import was given (a partner's
    /// name). Two reports from one source and one observer do not corroborate each
    /// other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Taxonomy fields marked personal.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, FieldValue>,
}

/// One incident report. Its Automerge form is `document::Stored`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// The incident's id.
    pub id: IncidentId,
    /// Phase id from the taxonomy (campaign, election day, ...).
    pub phase: String,
    /// Category id from the taxonomy.
    pub category: String,
    /// When it happened: RFC 3339 with the local offset.
    pub occurred_at: String,
    /// When the observer reported it: RFC 3339 with offset.
    pub reported_at: String,
    /// Where it happened.
    pub place: Place,
    /// Who was affected.
    pub affected: Affected,
    /// Taxonomy fields of the category (context, legal, held_hours, ...).
    #[serde(default)]
    pub details: BTreeMap<String, FieldValue>,
    /// Review status.
    #[serde(default)]
    pub status: Status,
    /// The personal part; see the module documentation.
    #[serde(default)]
    pub personal: Personal,
}

impl Incident {
    /// A small valid incident of the default taxonomy: an election-day detention in
    /// Almaty with one person named. For documentation, examples and tests.
    pub fn example() -> Self {
        Incident {
            id: IncidentId::random(),
            phase: "election_day".into(),
            category: "arbitrary_detention".into(),
            occurred_at: "2021-01-10T12:00:00+06:00".into(),
            reported_at: "2021-01-10T13:00:00+06:00".into(),
            place: Place {
                region: "Almaty".into(),
                city: "Almaty".into(),
                ..Place::default()
            },
            affected: Affected {
                count: 12,
                at_least: true,
                role: "protester".into(),
            },
            details: [
                ("held_hours".to_owned(), FieldValue::Int(6)),
                ("context".to_owned(), FieldValue::Text("protest".into())),
            ]
            .into(),
            status: Status::Submitted,
            personal: Personal {
                persons: vec![Person::new("Aibek Sadykov", None)],
                description: "Detained near the akimat.".into(),
                ..Personal::default()
            },
        }
    }

    /// A taxonomy field's value, wherever it is kept (public or personal part).
    pub fn field(&self, id: &str) -> Option<&FieldValue> {
        self.details
            .get(id)
            .or_else(|| self.personal.details.get(id))
    }

    /// The context field, if set.
    pub fn context(&self) -> Option<&str> {
        self.field("context").and_then(FieldValue::as_text)
    }

    /// The legal qualification, if set.
    pub fn legal(&self) -> Option<&Legal> {
        self.field("legal").and_then(FieldValue::as_legal)
    }
}
