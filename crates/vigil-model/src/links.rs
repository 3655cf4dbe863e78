//! Links between reports: a coordinator's decision that two reports describe the
//! same event, or do not.
//!
//! A decision about the pair `(a, b)`, `a < b`, is one value at the root of `a`'s
//! document, under the key `link:<b>`: a small JSON object with the state, whether
//! the matcher or a person made it, the score and reason codes. One key per pair
//! means that a link, an unlink and a "not the same" of one pair are writes of one
//! value: concurrent decisions resolve as any concurrent write does in Automerge
//! (the same winner on every device), and a later decision replaces an earlier one.
//! Who decided is the actor of the winning write, which is the device that signed
//! the change (`vigil_team::signing`), so a decision cannot claim another author.
//! A root key per pair, not a map of links, because two coordinators creating that
//! map at once would make two rival maps, and one's links would vanish.
//!
//! Nothing personal goes into a decision: reason codes say *that* names agreed,
//! never which names.

use serde::{Deserialize, Serialize};

use crate::incident::IncidentId;

/// Root keys of a document that hold link decisions start with this.
pub const LINK_PREFIX: &str = "link:";

/// What a decision says about a pair of reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// The two reports describe one event.
    Same,
    /// They describe different events: the matcher never proposes the pair again.
    NotSame,
    /// An earlier link was undone; the pair may be proposed again.
    Unlinked,
}

impl LinkState {
    /// The state's id, as printed and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Same => "same",
            LinkState::NotSame => "not_same",
            LinkState::Unlinked => "unlinked",
        }
    }

    /// Parses a state id.
    pub fn parse(text: &str) -> Option<Self> {
        [LinkState::Same, LinkState::NotSame, LinkState::Unlinked]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// One decision about a pair, as its document stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkDecision {
    /// Same, not the same, or undone.
    pub state: LinkState,
    /// Made by the matcher (`vigil events match --apply`), not by a person.
    #[serde(default)]
    pub automatic: bool,
    /// The matcher's score for the pair when it was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<i64>,
    /// Why: the matcher's reason codes (`time<10m`, `same_city`, `names 2/2`) or a
    /// person's word (`by hand`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// When it was decided, Unix seconds, by the deciding device's clock.
    pub at: i64,
}

/// A decision about the pair `(a, b)`, with who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The smaller id of the pair: the document that holds the decision.
    pub a: IncidentId,
    /// The larger id.
    pub b: IncidentId,
    /// What was decided.
    pub decision: LinkDecision,
    /// The device that decided (the Automerge actor of the write): its key.
    pub by: Vec<u8>,
}

/// The pair `(x, y)` in the order decisions are stored: the smaller id first.
/// `None` for a report paired with itself.
pub fn ordered(x: &IncidentId, y: &IncidentId) -> Option<(IncidentId, IncidentId)> {
    match x.cmp(y) {
        std::cmp::Ordering::Less => Some((x.clone(), y.clone())),
        std::cmp::Ordering::Greater => Some((y.clone(), x.clone())),
        std::cmp::Ordering::Equal => None,
    }
}

/// The root key under which `a`'s document holds the decision about `(a, b)`.
pub fn link_key(b: &IncidentId) -> String {
    format!("{LINK_PREFIX}{b}")
}
