//! Each incident is one Automerge document. This module maps an [`Incident`] onto its
//! document and back, makes changes, merges changes from elsewhere, and reads the
//! history of who changed what and when.
//!
//! The document is the value of the incident, reconciled with `autosurgeon`: edits
//! write only what changed, so two devices editing different fields merge without
//! losing either. The personal part is one value, [`PersonalPart`]: sealed bytes that
//! only coordinators open (see `vigil_sync::sealing`); documents written before
//! sealing hold it in the open, as a map.

use std::collections::{BTreeMap, HashSet};

use automerge::{ActorId, AutoCommit, Change, ChangeHash, ReadDoc, transaction::CommitOptions};
use autosurgeon::bytes::ByteVec;
use autosurgeon::{Hydrate, MaybeMissing, Reconcile};
use serde_json::Value;

use crate::incident::{Affected, FieldValue, Incident, IncidentId, Personal, Place, Status};
use crate::links::{LINK_PREFIX, Link, LinkDecision, link_key};

/// The personal part of an incident as its document holds it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum PersonalPart {
    /// Not written yet: the first change of an imported report holds only the public
    /// part, so that two importers make the same change.
    #[default]
    Absent,
    /// Sealed to the team's coordinators: bytes that only they can open.
    Sealed(Vec<u8>),
    /// In the open: documents written before sealing existed, and tests.
    Open(Personal),
}

/// The document's shape: the incident's public fields, then its personal part,
/// under `sealed` (bytes) or, in documents written before sealing, `personal` (a map).
#[derive(Debug, Clone, Reconcile, Hydrate)]
struct Stored {
    #[autosurgeon(with = "id_text")]
    id: IncidentId,
    phase: String,
    category: String,
    occurred_at: String,
    reported_at: String,
    place: Place,
    affected: Affected,
    details: BTreeMap<String, FieldValue>,
    status: Status,
    sealed: MaybeMissing<Option<ByteVec>>,
    personal: MaybeMissing<Option<Personal>>,
}

impl Stored {
    fn new(incident: &Incident, personal: &PersonalPart) -> Self {
        let mut stored = Self {
            id: incident.id.clone(),
            phase: incident.phase.clone(),
            category: incident.category.clone(),
            occurred_at: incident.occurred_at.clone(),
            reported_at: incident.reported_at.clone(),
            place: incident.place.clone(),
            affected: incident.affected.clone(),
            details: incident.details.clone(),
            status: incident.status,
            sealed: MaybeMissing::Missing,
            personal: MaybeMissing::Missing,
        };
        stored.set_personal(personal);
        stored
    }

    /// Writes the personal part; a sealed part clears an open one (it stays in the
    /// history, which is why nothing new is ever written in the open).
    fn set_personal(&mut self, personal: &PersonalPart) {
        match personal {
            PersonalPart::Absent => {}
            PersonalPart::Sealed(bytes) => {
                self.sealed = MaybeMissing::Present(Some(ByteVec::from(bytes.clone())));
                if matches!(self.personal, MaybeMissing::Present(Some(_))) {
                    self.personal = MaybeMissing::Present(None);
                }
            }
            PersonalPart::Open(open) => self.personal = MaybeMissing::Present(Some(open.clone())),
        }
    }

    fn set_public(&mut self, incident: &Incident) {
        let personal = std::mem::take(&mut self.personal);
        let sealed = std::mem::take(&mut self.sealed);
        *self = Self {
            sealed,
            personal,
            ..Self::new(incident, &PersonalPart::Absent)
        };
    }

    fn personal_part(&self) -> PersonalPart {
        match (&self.sealed, &self.personal) {
            (MaybeMissing::Present(Some(bytes)), _) => PersonalPart::Sealed(bytes.to_vec()),
            (_, MaybeMissing::Present(Some(open))) => PersonalPart::Open(open.clone()),
            _ => PersonalPart::Absent,
        }
    }

    fn into_incident(self) -> (Incident, PersonalPart) {
        let part = self.personal_part();
        let personal = match &part {
            PersonalPart::Open(open) => open.clone(),
            _ => Personal::default(),
        };
        let incident = Incident {
            id: self.id,
            phase: self.phase,
            category: self.category,
            occurred_at: self.occurred_at,
            reported_at: self.reported_at,
            place: self.place,
            affected: self.affected,
            details: self.details,
            status: self.status,
            personal,
        };
        (incident, part)
    }
}

/// A change as the store keeps it: its hash and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedChange {
    /// SHA-256 hash of the change, Automerge's id for it.
    pub hash: [u8; 32],
    /// The change itself, in Automerge's binary form.
    pub bytes: Vec<u8>,
    /// The Automerge actor that made it: a device key, or an import's actor.
    pub actor: Vec<u8>,
    /// When it was made, Unix seconds, as its author's clock said.
    pub time: i64,
}

impl EncodedChange {
    fn from_change(mut change: Change) -> Self {
        Self {
            hash: change.hash().0,
            actor: change.actor_id().to_bytes().to_vec(),
            time: change.timestamp(),
            // Columns deflated where that pays (changes over 256 bytes); the hash is
            // of the uncompressed change, so it is the same either way.
            bytes: change.bytes().into_owned(),
        }
    }
}

/// What went wrong with a document.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// Bytes that are not an Automerge change, or a change that does not apply.
    #[error("incident document is damaged or incompatible: {0}")]
    Automerge(String),
    /// The document does not hold an incident of the expected shape. The detail is
    /// kept for debugging but not displayed: it could quote a stored value.
    #[error("incident document does not hold a readable incident")]
    Shape(String),
    /// A change of this device conflicts with one already there: two copies of one
    /// vault were used as if they were one device.
    #[error(
        "two different changes claim the same author and sequence number; was this vault copied and used on two devices?"
    )]
    DuplicateSequence,
    /// Changes whose earlier changes have not arrived yet.
    #[error("changes are missing some of their dependencies")]
    MissingDependencies,
}

impl From<automerge::AutomergeError> for DocumentError {
    fn from(e: automerge::AutomergeError) -> Self {
        match e {
            automerge::AutomergeError::DuplicateSeqNumber(..) => DocumentError::DuplicateSequence,
            other => DocumentError::Automerge(other.to_string()),
        }
    }
}

/// What a change writes at the top of an incident's document, read from the change
/// alone: what the inbox judges a peer's change by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeShape {
    /// The Automerge actor that made it.
    pub actor: Vec<u8>,
    /// Its sequence number among the actor's changes.
    pub seq: u64,
    /// The counter of its first operation.
    pub start_op: u64,
    /// The changes it was made on; none for the change that creates an incident.
    pub deps: Vec<[u8; 32]>,
    /// Each write of the status: the status put, or `None` for anything else (a
    /// deletion, a value that is not a status).
    pub statuses: Vec<Option<Status>>,
    /// Whether it writes the sealed personal part.
    pub writes_sealed: bool,
    /// Whether it writes a personal part in the open (the layout before sealing).
    pub writes_open_personal: bool,
    /// Whether it writes a link decision (`crate::links`): a coordinator's act.
    pub writes_links: bool,
}

/// One entry of an incident's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The change's hash, hex.
    pub hash: String,
    /// Author's actor id, hex.
    pub actor: String,
    /// Fingerprint of the device that signed the change, which vouches for it: the
    /// actor itself, or for a partner import the coordinator that imported it.
    /// Filled by the vault (a document does not hold signatures).
    pub signer: Option<String>,
    /// Seconds since the Unix epoch.
    pub time: i64,
    /// The author's note, e.g. `created` or `edited`.
    pub message: Option<String>,
    /// What the change did, field by field.
    pub edits: Vec<FieldEdit>,
}

/// One field changed by one change.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldEdit {
    /// Path of the field, e.g. `place.city` or `personal.persons`.
    pub field: String,
    /// The value before, if the field is public and had one.
    pub before: Option<String>,
    /// The value after, if the field is public and has one.
    pub after: Option<String>,
    /// True for personal fields: their values are not repeated in histories.
    pub personal: bool,
}

/// An incident's Automerge document. A clone copies the document in memory, much
/// faster than loading it again from its changes.
#[derive(Clone)]
pub struct IncidentDocument {
    doc: AutoCommit,
}

impl std::fmt::Debug for IncidentDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncidentDocument").finish_non_exhaustive()
    }
}

impl IncidentDocument {
    /// A new document holding the public part of `incident` and `personal` (the
    /// incident's own `personal` field is not written), made by `actor`; returns its
    /// first change, noted with `message` (`created`, `imported`).
    pub fn create(
        actor: &[u8],
        incident: &Incident,
        personal: &PersonalPart,
        time: i64,
        message: &str,
    ) -> Result<(Self, EncodedChange), DocumentError> {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(actor));
        autosurgeon::reconcile(&mut doc, Stored::new(incident, personal))
            .map_err(|e| DocumentError::Shape(e.to_string()))?;
        let mut this = Self { doc };
        let change = this
            .commit(message, time)?
            .ok_or_else(|| DocumentError::Shape("a new incident produced no change".to_owned()))?;
        Ok((this, change))
    }

    /// Rebuilds a document from its changes, in any order. Unlike
    /// [`IncidentDocument::apply`], it does not check that Automerge gives the
    /// changes back: it loads what is stored, and a stored incident must stay
    /// readable even if one of its changes went in before that check existed.
    pub fn from_changes<'a>(
        changes: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Self, DocumentError> {
        let mut this = Self {
            doc: AutoCommit::new(),
        };
        this.take(changes, false)?;
        let doc = &mut this.doc;
        contain_panics(move || {
            doc.update_diff_cursor();
            Ok(())
        })?;
        Ok(this)
    }

    /// Parses the bytes of one change, checking they are one.
    pub fn decode_change(bytes: &[u8]) -> Result<EncodedChange, DocumentError> {
        parse_change(bytes).map(EncodedChange::from_change)
    }

    fn stored(&self) -> Result<Stored, DocumentError> {
        contain_panics(|| {
            autosurgeon::hydrate(&self.doc).map_err(|e| DocumentError::Shape(e.to_string()))
        })
    }

    /// The incident the document holds now, and its personal part. The incident's
    /// `personal` field is filled only from an open part; a sealed one is for
    /// `vigil_sync::sealing` to open.
    pub fn read(&self) -> Result<(Incident, PersonalPart), DocumentError> {
        Ok(self.stored()?.into_incident())
    }

    /// Whether the document holds a personal part in the open (the layout from before
    /// sealing): names that every device holding the document can read.
    /// A document that Automerge cannot read is taken to hold one, so that a change
    /// after which this cannot be told is refused like one that writes names.
    pub fn has_open_personal(&self) -> bool {
        contain_panics(|| {
            Ok(matches!(
                self.doc.get(automerge::ROOT, "personal"),
                Ok(Some((automerge::Value::Object(_), _)))
            ))
        })
        .unwrap_or(true)
    }

    /// What a change writes, read from the change alone.
    pub fn shape(bytes: &[u8]) -> Result<ChangeShape, DocumentError> {
        let change = parse_change(bytes)?;
        let expanded = contain_panics(|| Ok(change.decode()))?;
        let mut shape = ChangeShape {
            actor: change.actor_id().to_bytes().to_vec(),
            seq: change.seq(),
            start_op: change.start_op().get(),
            deps: change.deps().iter().map(|d| d.0).collect(),
            statuses: Vec::new(),
            writes_sealed: false,
            writes_open_personal: false,
            writes_links: false,
        };
        for op in &expanded.operations {
            let automerge::legacy::Key::Map(key) = &op.key else {
                continue;
            };
            if op.obj != automerge::legacy::ObjectId::Root {
                continue;
            }
            match key.as_str() {
                "status" => shape.statuses.push(match &op.action {
                    // Stored under the variant's name (`Submitted`).
                    automerge::legacy::OpType::Put(automerge::ScalarValue::Str(text)) => {
                        Status::ALL
                            .into_iter()
                            .find(|status| text.eq_ignore_ascii_case(status.as_str()))
                    }
                    _ => None,
                }),
                "sealed" => shape.writes_sealed = true,
                "personal" => shape.writes_open_personal = true,
                key if key.starts_with(LINK_PREFIX) => shape.writes_links = true,
                _ => {}
            }
        }
        Ok(shape)
    }

    /// The largest op counter of a change the document holds: a change that
    /// follows it must start above it.
    pub fn max_op_of(&self, hash: &[u8; 32]) -> Option<u64> {
        contain_panics(|| {
            Ok(self
                .doc
                .get_change_by_hash(&ChangeHash(*hash))
                .map(|change| change.max_op()))
        })
        .ok()
        .flatten()
    }

    /// The incident's status as it was when the changes `heads` were the latest:
    /// what a change with these dependencies was made on.
    pub fn status_at(&mut self, heads: &[[u8; 32]]) -> Result<Status, DocumentError> {
        let heads: Vec<ChangeHash> = heads.iter().map(|h| ChangeHash(*h)).collect();
        let doc = &mut self.doc;
        let past = contain_panics(move || Ok(doc.fork_at(&heads)?))?;
        Ok(Self { doc: past }.stored()?.status)
    }

    /// The incident the document holds now; see [`IncidentDocument::read`].
    pub fn incident(&self) -> Result<Incident, DocumentError> {
        Ok(self.read()?.0)
    }

    /// Writes the public part of `incident` over the document as `actor`, and
    /// `personal` if given (`None` keeps the personal part as it is); returns the
    /// change, or `None` when nothing differs.
    pub fn update(
        &mut self,
        actor: &[u8],
        incident: &Incident,
        personal: Option<&PersonalPart>,
        time: i64,
    ) -> Result<Option<EncodedChange>, DocumentError> {
        let mut stored = self.stored()?;
        stored.set_public(incident);
        if let Some(personal) = personal {
            stored.set_personal(personal);
        }
        self.doc.set_actor(ActorId::from(actor));
        let doc = &mut self.doc;
        contain_panics(move || {
            autosurgeon::reconcile(doc, stored).map_err(|e| DocumentError::Shape(e.to_string()))
        })?;
        self.commit("edited", time)
    }

    /// The link decisions this document holds: about the pairs of this incident with
    /// incidents of larger id. A value that does not read as a decision (another
    /// device's bytes) is left out, as if never written.
    pub fn links(&self) -> Result<Vec<Link>, DocumentError> {
        let id = self.stored()?.id;
        contain_panics(|| {
            let mut links = Vec::new();
            let end = format!("{}~", LINK_PREFIX);
            for item in self
                .doc
                .map_range(automerge::ROOT, LINK_PREFIX.to_owned()..end)
            {
                let Some(other) = item
                    .key
                    .strip_prefix(LINK_PREFIX)
                    .and_then(IncidentId::parse)
                else {
                    continue;
                };
                let automerge::ObjId::Id(_, actor, _) = item.id() else {
                    continue;
                };
                let automerge::ValueRef::Scalar(automerge::ScalarValueRef::Str(text)) = item.value
                else {
                    continue;
                };
                let Ok(decision) = serde_json::from_str::<LinkDecision>(&text) else {
                    continue;
                };
                if other <= id {
                    continue;
                }
                links.push(Link {
                    a: id.clone(),
                    b: other,
                    decision,
                    by: actor.to_bytes().to_vec(),
                });
            }
            Ok(links)
        })
    }

    /// Writes a decision about this incident and `other` (whose id must be larger:
    /// see `crate::links::ordered`) as `actor`; returns the change.
    pub fn set_link(
        &mut self,
        actor: &[u8],
        other: &IncidentId,
        decision: &LinkDecision,
        time: i64,
    ) -> Result<Option<EncodedChange>, DocumentError> {
        let value =
            serde_json::to_string(decision).map_err(|e| DocumentError::Shape(e.to_string()))?;
        self.doc.set_actor(ActorId::from(actor));
        let doc = &mut self.doc;
        let key = link_key(other);
        contain_panics(move || {
            automerge::transaction::Transactable::put(doc, automerge::ROOT, key, value)?;
            Ok(())
        })?;
        self.commit(decision.state.as_str(), time)
    }

    /// Applies changes made elsewhere; returns how many were new here. Every change
    /// must arrive with its dependencies (in this call or before): a change whose
    /// history is missing is refused with [`DocumentError::MissingDependencies`],
    /// and the document is left as it was. After any other error, discard the
    /// document.
    ///
    /// Automerge must give back exactly the changes it took: one it takes but
    /// cannot return (it panics, or returns another change) is inconsistent, and
    /// would break every later [`IncidentDocument::history`] and
    /// [`IncidentDocument::changes`] of the incident; it is refused with
    /// [`DocumentError::Automerge`].
    pub fn apply<'a>(
        &mut self,
        changes: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<usize, DocumentError> {
        self.take(changes, true)
    }

    fn take<'a>(
        &mut self,
        changes: impl IntoIterator<Item = &'a [u8]>,
        check: bool,
    ) -> Result<usize, DocumentError> {
        let parsed = changes
            .into_iter()
            .map(parse_change)
            .collect::<Result<Vec<_>, _>>()?;
        let doc = &mut self.doc;
        contain_panics(move || {
            // Checked before Automerge sees them, so that the caller can keep the
            // document and try the change again once its history has come.
            let arriving: HashSet<ChangeHash> = parsed.iter().map(Change::hash).collect();
            let lacking = parsed
                .iter()
                .flat_map(Change::deps)
                .any(|dep| !arriving.contains(dep) && doc.get_change_by_hash(dep).is_none());
            if lacking {
                return Err(DocumentError::MissingDependencies);
            }
            let new: HashSet<ChangeHash> = arriving
                .into_iter()
                .filter(|hash| doc.get_change_by_hash(hash).is_none())
                .collect();
            let heads = doc.get_heads();
            doc.apply_changes(parsed)?;
            // Automerge queues a change whose dependencies it lacks, and some of its
            // readers panic on such a queue: refuse it here, before anything reads.
            if !doc.get_missing_deps(&[]).is_empty() {
                return Err(DocumentError::MissingDependencies);
            }
            if check {
                let given: HashSet<ChangeHash> =
                    doc.get_changes(&heads).iter().map(Change::hash).collect();
                if given != new {
                    return Err(inconsistent());
                }
            }
            Ok(new.len())
        })
    }

    /// Every change of the document, in causal order.
    pub fn changes(&mut self) -> Result<Vec<EncodedChange>, DocumentError> {
        let doc = &mut self.doc;
        contain_panics(move || {
            Ok(doc
                .get_changes(&[])
                .into_iter()
                .map(EncodedChange::from_change)
                .collect())
        })
    }

    /// Who changed what and when, oldest first.
    pub fn history(&mut self) -> Result<Vec<HistoryEntry>, DocumentError> {
        contain_panics(|| self.history_unguarded())
    }

    fn history_unguarded(&mut self) -> Result<Vec<HistoryEntry>, DocumentError> {
        let changes = self.doc.get_changes(&[]);
        let mut entries = Vec::with_capacity(changes.len());
        for change in &changes {
            let before = self.flat_at(change.deps())?;
            let after = self.flat_at(&[change.hash()])?;
            entries.push(HistoryEntry {
                hash: hex(&change.hash().0),
                actor: change.actor_id().to_hex_string(),
                signer: None,
                time: change.timestamp(),
                message: change.message().map(str::to_owned),
                edits: diff(&before, &after),
            });
        }
        Ok(entries)
    }

    fn flat_at(&mut self, heads: &[ChangeHash]) -> Result<BTreeMap<String, Value>, DocumentError> {
        if heads.is_empty() {
            return Ok(BTreeMap::new());
        }
        let doc = &mut self.doc;
        let past = Self {
            doc: contain_panics(move || Ok(doc.fork_at(heads)?))?,
        };
        let (incident, personal) = past.read()?;
        let value =
            serde_json::to_value(&incident).map_err(|e| DocumentError::Shape(e.to_string()))?;
        let mut flat = BTreeMap::new();
        flatten("", &value, &mut flat);
        for link in past.links()? {
            flat.insert(
                format!("links.{}", link.b),
                Value::from(link.decision.state.as_str()),
            );
        }
        if let PersonalPart::Sealed(bytes) = personal {
            // Compared to tell that the sealed part changed; a history never shows
            // personal values.
            flat.insert("personal.sealed".to_owned(), Value::from(hex(&bytes)));
        }
        Ok(flat)
    }

    fn commit(&mut self, message: &str, time: i64) -> Result<Option<EncodedChange>, DocumentError> {
        let options = CommitOptions::default()
            .with_message(message.to_owned())
            .with_time(time);
        let doc = &mut self.doc;
        contain_panics(move || {
            if doc.commit_with(options).is_none() {
                return Ok(None);
            }
            Ok(doc.get_last_local_change().map(EncodedChange::from_change))
        })
    }
}

/// Runs Automerge on bytes from outside, turning a panic into an error.
///
/// Automerge 0.12 still has `unwrap`s that well-formed but inconsistent changes can
/// reach (found by `tests/merge_props.rs` and `tests/inconsistent_changes.rs`;
/// `fuzz/` looks for more): in applying them, and in reading a document that holds
/// one (`get_changes`, `fork_at`, and so every history). Changes come from peers and files, and bad
/// input must never bring the process down, so every call into Automerge on a
/// document that may hold someone else's changes goes through here. After an
/// error the document may be half-changed: callers discard it (each read loads
/// the incident afresh from the store).
fn contain_panics<T>(f: impl FnOnce() -> Result<T, DocumentError>) -> Result<T, DocumentError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(inconsistent()))
}

fn inconsistent() -> DocumentError {
    DocumentError::Automerge("changes are inconsistent and cannot be applied".to_owned())
}

fn parse_change(bytes: &[u8]) -> Result<Change, DocumentError> {
    crate::change_bounds::measure(bytes)?;
    contain_panics(|| {
        Change::from_bytes(bytes.to_vec()).map_err(|e| DocumentError::Automerge(e.to_string()))
    })
}

/// The actor of an imported report's first change: derived from the report id, not
/// from the importing device. Two devices that import the same file make
/// byte-identical changes, which merge into one incident instead of two rival copies
/// whose edits would shadow each other.
pub fn import_actor(id: &crate::IncidentId) -> Vec<u8> {
    [IMPORT_ACTOR_PREFIX, id.to_bytes().as_slice()].concat()
}

/// What every import actor starts with.
pub const IMPORT_ACTOR_PREFIX: &[u8] = b"vigil-import:";

/// Lower-case hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}

// Histories are told field by field, as a user thinks of the incident; lists of
// people count as one field each person.
fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, v) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, v, out);
            }
        }
        Value::Array(items) if prefix == "personal.persons" => {
            for item in items {
                let id = item.get("id").and_then(Value::as_str).unwrap_or("?");
                out.insert(format!("{prefix}[{id}]"), item.clone());
            }
        }
        Value::Null => {}
        other => {
            out.insert(prefix.to_owned(), other.clone());
        }
    }
}

fn diff(before: &BTreeMap<String, Value>, after: &BTreeMap<String, Value>) -> Vec<FieldEdit> {
    let render = |v: Option<&Value>| {
        v.map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| {
            let personal = k.starts_with("personal.");
            FieldEdit {
                field: k.clone(),
                before: if personal {
                    None
                } else {
                    render(before.get(k))
                },
                after: if personal { None } else { render(after.get(k)) },
                personal,
            }
        })
        .collect()
}

mod id_text {
    use autosurgeon::{Hydrate, HydrateError, Prop, ReadDoc, Reconciler};

    use crate::IncidentId;

    pub(super) fn reconcile<R: Reconciler>(id: &IncidentId, mut r: R) -> Result<(), R::Error> {
        r.str(id.as_str())
    }

    pub(super) fn hydrate<D: ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
        prop: Prop<'_>,
    ) -> Result<IncidentId, HydrateError> {
        let text = String::hydrate(doc, obj, prop)?;
        IncidentId::parse(&text).ok_or_else(|| HydrateError::unexpected("a UUID", text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::*;

    fn open(incident: &Incident) -> PersonalPart {
        PersonalPart::Open(incident.personal.clone())
    }

    fn sample() -> Incident {
        Incident {
            affected: Affected {
                count: 3,
                at_least: false,
                role: "protester".into(),
            },
            ..Incident::example()
        }
    }

    #[test]
    fn an_incident_survives_its_document() {
        let incident = sample();
        let (doc, change) =
            IncidentDocument::create(b"device-a", &incident, &open(&incident), 1, "created")
                .unwrap();
        assert_eq!(doc.incident().unwrap(), incident);
        let rebuilt = IncidentDocument::from_changes([change.bytes.as_slice()]).unwrap();
        assert_eq!(rebuilt.incident().unwrap(), incident);
    }

    #[test]
    fn concurrent_edits_on_two_devices_both_survive() {
        let incident = sample();
        let (mut a, first) =
            IncidentDocument::create(b"device-a", &incident, &open(&incident), 1, "created")
                .unwrap();
        let mut b = IncidentDocument::from_changes([first.bytes.as_slice()]).unwrap();

        let mut on_a = a.incident().unwrap();
        on_a.place.city = "Astana".into();
        on_a.personal
            .persons
            .push(Person::new("Aidar Omarov", None));
        let change_a = a
            .update(b"device-a", &on_a, Some(&open(&on_a)), 2)
            .unwrap()
            .unwrap();

        let mut on_b = b.incident().unwrap();
        on_b.status = Status::Verified;
        on_b.personal
            .persons
            .push(Person::new("Serik Abenov", None));
        let change_b = b
            .update(b"device-b", &on_b, Some(&open(&on_b)), 3)
            .unwrap()
            .unwrap();

        a.apply([change_b.bytes.as_slice()]).unwrap();
        b.apply([change_a.bytes.as_slice()]).unwrap();
        let merged = a.incident().unwrap();
        assert_eq!(merged, b.incident().unwrap());
        assert_eq!(merged.place.city, "Astana");
        assert_eq!(merged.status, Status::Verified);
        assert_eq!(merged.personal.persons.len(), 3);
    }

    #[test]
    fn a_change_before_its_history_is_refused_and_leaves_the_document_usable() {
        let incident = sample();
        let (mut doc, first) =
            IncidentDocument::create(b"device-a", &incident, &open(&incident), 1, "created")
                .unwrap();
        let mut edited = incident.clone();
        edited.place.city = "Astana".into();
        let second = doc.update(b"device-a", &edited, None, 2).unwrap().unwrap();
        let mut later = edited.clone();
        later.affected.count = 9;
        let third = doc.update(b"device-a", &later, None, 3).unwrap().unwrap();

        let mut here = IncidentDocument::from_changes([first.bytes.as_slice()]).unwrap();
        assert!(matches!(
            here.apply([third.bytes.as_slice()]),
            Err(DocumentError::MissingDependencies)
        ));
        assert_eq!(here.incident().unwrap(), incident, "left as it was");
        // Together, in any order, they apply.
        assert_eq!(
            here.apply([third.bytes.as_slice(), second.bytes.as_slice()])
                .unwrap(),
            2
        );
        assert_eq!(here.incident().unwrap(), later);
    }

    #[test]
    fn a_change_says_what_it_writes() {
        let mut incident = sample();
        incident.status = Status::Submitted;
        let sealed = PersonalPart::Sealed(vec![1, 2, 3]);
        let (mut doc, first) =
            IncidentDocument::create(b"device-a", &incident, &sealed, 1, "created").unwrap();
        assert!(!doc.has_open_personal());
        let created = IncidentDocument::shape(&first.bytes).unwrap();
        assert_eq!(created.deps, Vec::<[u8; 32]>::new());
        assert_eq!(created.statuses, [Some(Status::Submitted)]);
        assert!(created.writes_sealed && !created.writes_open_personal);
        assert_eq!(
            (created.actor.as_slice(), created.seq),
            (b"device-a".as_slice(), 1)
        );
        assert_eq!(created.start_op, 1);

        incident.place.city = "Astana".into();
        let city = doc
            .update(b"device-b", &incident, None, 2)
            .unwrap()
            .unwrap();
        let edit = IncidentDocument::shape(&city.bytes).unwrap();
        assert_eq!(edit.deps, [first.hash]);
        assert!(edit.statuses.is_empty() && !edit.writes_sealed);
        // It starts right after the ops of what it was made on.
        assert_eq!(edit.start_op, doc.max_op_of(&first.hash).unwrap() + 1);

        incident.status = Status::Verified;
        let verified = doc
            .update(b"device-b", &incident, None, 3)
            .unwrap()
            .unwrap();
        let review = IncidentDocument::shape(&verified.bytes).unwrap();
        assert_eq!(review.statuses, [Some(Status::Verified)]);
        assert_eq!(doc.status_at(&[city.hash]).unwrap(), Status::Submitted);
        assert_eq!(doc.status_at(&[verified.hash]).unwrap(), Status::Verified);
        assert!(IncidentDocument::shape(b"garbage").is_err());
        let (open_doc, open_first) =
            IncidentDocument::create(b"device-a", &incident, &open(&incident), 1, "created")
                .unwrap();
        assert!(open_doc.has_open_personal());
        assert!(
            IncidentDocument::shape(&open_first.bytes)
                .unwrap()
                .writes_open_personal
        );
    }

    #[test]
    fn an_unchanged_incident_makes_no_change() {
        let incident = sample();
        let (mut doc, _) =
            IncidentDocument::create(b"device-a", &incident, &open(&incident), 1, "created")
                .unwrap();
        assert!(
            doc.update(b"device-a", &incident, Some(&open(&incident)), 2)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn history_tells_who_changed_what_without_personal_values() {
        let incident = sample();
        let (mut doc, _) =
            IncidentDocument::create(b"device-a", &incident, &open(&incident), 10, "created")
                .unwrap();
        let mut edited = incident.clone();
        edited.status = Status::Verified;
        edited.personal.description = "Held without water or food.".into();
        doc.update(b"device-b", &edited, Some(&open(&edited)), 20)
            .unwrap();
        let history = doc.history().unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].actor, hex(b"device-b"));
        assert_eq!(history[1].time, 20);
        let fields: Vec<_> = history[1].edits.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["personal.description", "status"]);
        assert_eq!(history[1].edits[1].after.as_deref(), Some("verified"));
        assert_eq!(history[1].edits[0].after, None);
    }

    #[test]
    fn a_sealed_part_replaces_an_open_one_and_keeps_through_public_edits() {
        let incident = sample();
        let (mut doc, _) =
            IncidentDocument::create(b"device-a", &incident, &open(&incident), 1, "created")
                .unwrap();
        let sealed = PersonalPart::Sealed(vec![7; 40]);
        doc.update(b"device-a", &incident, Some(&sealed), 2)
            .unwrap()
            .unwrap();
        let mut edited = incident.clone();
        edited.place.city = "Astana".into();
        edited.personal = Personal::default();
        doc.update(b"device-b", &edited, None, 3).unwrap().unwrap();
        let (now, part) = doc.read().unwrap();
        assert_eq!(part, sealed);
        assert_eq!(now.place.city, "Astana");
        assert_eq!(now.personal, Personal::default());
        let history = doc.history().unwrap();
        let fields: Vec<_> = history[1].edits.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"personal.sealed"), "{fields:?}");
        assert!(history[1].edits.iter().all(|e| e.after.is_none()));
    }

    #[test]
    fn a_public_first_change_takes_a_personal_part_later() {
        let incident = sample();
        let (mut doc, first) =
            IncidentDocument::create(b"import", &incident, &PersonalPart::Absent, 1, "imported")
                .unwrap();
        assert_eq!(doc.read().unwrap().1, PersonalPart::Absent);
        assert!(!String::from_utf8_lossy(&first.bytes).contains("Aibek"));
        let sealed = PersonalPart::Sealed(vec![1, 2, 3]);
        doc.update(b"device-a", &incident, Some(&sealed), 2)
            .unwrap()
            .unwrap();
        assert_eq!(doc.read().unwrap().1, sealed);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(IncidentDocument::from_changes([b"not a change".as_slice()]).is_err());
        assert!(IncidentDocument::decode_change(&[0x85, 0x6f, 0x4a, 0x83, 1, 2, 3]).is_err());
    }
}
