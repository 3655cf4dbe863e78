//! The flat summary of an incident that listing, searching and counting read.
//!
//! The store keeps one summary per incident in its projection tables, written in the
//! same transaction as each change, so that lists and reports never load a document.

use serde::{Deserialize, Serialize};

use crate::incident::{FieldValue, Incident, IncidentId, Status};
use crate::links::Link;
use crate::names::name_key;

/// What lists and reports need to know of an incident, without its documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The incident's id.
    pub id: IncidentId,
    /// Phase id.
    pub phase: String,
    /// Category id.
    pub category: String,
    /// Review status.
    pub status: Status,
    /// When it happened, RFC 3339.
    pub occurred_at: String,
    /// When it was reported, RFC 3339.
    pub reported_at: String,
    /// Region.
    pub region: String,
    /// City.
    pub city: String,
    /// Polling station, if any.
    pub polling_station: Option<String>,
    /// People affected.
    pub people: u64,
    /// Whether `people` is a lower bound.
    pub at_least: bool,
    /// Role of the people affected.
    pub affected_role: String,
    /// The `context` field.
    pub context: Option<String>,
    /// The `preventive` field.
    pub preventive: Option<bool>,
    /// The article of the `legal` field.
    pub article: Option<String>,
    /// The `grounds` field.
    pub grounds: Option<String>,
    /// The `impersonation` field.
    pub impersonation: Option<bool>,
    /// The `held_hours` field.
    pub held_hours: Option<i64>,
    /// The `perpetrator` field.
    pub perpetrator: Option<String>,
    /// Normalised keys of the people named ([`name_key`]); personal data.
    pub named: Vec<String>,
    /// Names, as written, of the people who agreed to be named in public reports.
    pub published: Vec<String>,
    /// The personal part is sealed to coordinators and this device cannot open it:
    /// `named` and `published` are unknown here, not empty.
    #[serde(default)]
    pub sealed: bool,
    /// The observer who reported it, as the partner named them; personal, and
    /// `None` where sealed. The matcher reads it: two reports by one observer are
    /// not independent sources.
    #[serde(default, skip)]
    pub observer: Option<String>,
    /// Where it came from: the label an import was given (`vigil import --source`).
    #[serde(default, skip)]
    pub source: Option<String>,
    /// The description; personal, and empty where sealed. Only the matcher reads it.
    #[serde(default, skip)]
    pub description: String,
    /// The link decisions the incident's document holds (`crate::links`).
    #[serde(default, skip)]
    pub links: Vec<Link>,
}

impl Incident {
    /// The incident's summary.
    pub fn summary(&self) -> Summary {
        let text = |id: &str| {
            self.field(id)
                .and_then(FieldValue::as_text)
                .map(str::to_owned)
        };
        let flag = |id: &str| self.field(id).and_then(FieldValue::as_bool);
        let mut named: Vec<String> = self
            .personal
            .persons
            .iter()
            .map(|p| name_key(&p.name))
            .filter(|k| !k.is_empty())
            .collect();
        named.sort_unstable();
        named.dedup();
        let mut published: Vec<String> = self
            .personal
            .persons
            .iter()
            .filter(|p| p.consent && !name_key(&p.name).is_empty())
            // One line, whatever was typed: the name goes into a published text.
            .map(|p| p.name.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        published.sort_unstable();
        published.dedup_by(|a, b| name_key(a) == name_key(b));
        Summary {
            id: self.id.clone(),
            phase: self.phase.clone(),
            category: self.category.clone(),
            status: self.status,
            occurred_at: self.occurred_at.clone(),
            reported_at: self.reported_at.clone(),
            region: self.place.region.clone(),
            city: self.place.city.clone(),
            polling_station: self.place.polling_station.clone(),
            people: self.affected.count,
            at_least: self.affected.at_least,
            affected_role: self.affected.role.clone(),
            context: text("context"),
            preventive: flag("preventive"),
            article: self.legal().map(|l| l.article.clone()),
            grounds: text("grounds"),
            impersonation: flag("impersonation"),
            held_hours: self.field("held_hours").and_then(FieldValue::as_int),
            perpetrator: text("perpetrator"),
            named,
            published,
            sealed: false,
            observer: self.personal.reported_by.clone(),
            source: self.personal.source.clone(),
            description: self.personal.description.clone(),
            links: Vec::new(),
        }
    }
}
