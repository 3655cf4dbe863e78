//! The gate for everything from outside: each item is verified on its own, refused
//! ones are counted and logged, and the rest is applied in one transaction.

use std::collections::{BTreeMap, HashMap, HashSet};

use sha2::{Digest, Sha256};
use vigil_crypto::{DeviceKey, DevicePublicKey};
use vigil_model::SignedChange;
use vigil_model::change_bounds::measure;
use vigil_model::document::{DocumentError, IncidentDocument};
use vigil_model::{IncidentId, Taxonomy};
use vigil_store::{Equivocation, Store, StoreError, StoreRead, Writer};

use crate::wire::WireChange;
use crate::wire::WireEntry;
use vigil_team::authority::{self, Verdict};
use vigil_team::membership::SignedEntry;
use vigil_team::sealing::{ReadError, Readable};
use vigil_team::signing::vouched;
use vigil_team::{Refusal, Roster};

/// Changes held in memory (waiting for their history, or for the entry that admits
/// their author) take at most this many bytes, counted with the structures that
/// hold them; beyond, they are dropped (and come again at the next sync).
pub const MAX_HELD_BYTES: usize = 64 * 1024 * 1024;

/// Bytes the changes of one batch may take once inflated, and operations (with
/// their predecessors) they may declare in all; each change also has its own
/// bounds (`vigil_model::change_bounds`). Several times an honest batch, which
/// carries half a MiB of compressed changes of tens of operations each; past them,
/// the batch's further changes are refused unread (and come again, in smaller
/// batches, from an honest peer).
pub const MAX_BATCH_INFLATED: usize = 64 * 1024 * 1024;
/// See [`MAX_BATCH_INFLATED`].
pub const MAX_BATCH_OPS: u64 = 1 << 20;

/// What holding `change` costs, in bytes.
fn held_cost(change: &SignedChange) -> usize {
    change.bytes.len() + std::mem::size_of::<SignedChange>()
}

/// Changes of one author to one incident in one batch that may be refused after
/// they were applied (each costs a copy of the incident's document to go back to);
/// that author's further changes to the incident in the batch are refused unread,
/// others' still count. An honest device makes none: such a change was built to
/// break the incident (an invalid field, names in the open).
pub const MAX_UNDONE_PER_INCIDENT: usize = 16;

/// What an inbox took in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Changes stored.
    pub changes: u64,
    /// Membership entries stored.
    pub members: u64,
    /// Items refused.
    pub refused: u64,
    /// Items already here.
    pub already_had: u64,
    /// Incidents that received changes.
    pub incidents: u64,
}

/// The refusals of one batch, logged as one line when the batch is done: a peer
/// that sends a million bad items costs a line, not a million.
#[derive(Debug, Default)]
struct Refusals {
    count: u64,
    /// The first few distinct reasons, with how often each came.
    reasons: Vec<(String, u64)>,
    authors: HashSet<[u8; 32]>,
}

/// Distinct reasons a summary line names; the rest are counted.
const REASONS_LOGGED: usize = 4;

impl Refusals {
    fn add(&mut self, reason: &Refusal, author: Option<[u8; 32]>) {
        self.count += 1;
        self.authors.extend(author);
        let text = reason.to_string();
        if let Some((_, n)) = self.reasons.iter_mut().find(|(r, _)| *r == text) {
            *n += 1;
        } else if self.reasons.len() < REASONS_LOGGED {
            self.reasons.push((text, 1));
        }
    }

    fn log(self, items: &'static str) {
        if self.count == 0 {
            return;
        }
        let mut reasons: Vec<String> = self
            .reasons
            .iter()
            .map(|(reason, n)| format!("{reason} (x{n})"))
            .collect();
        let named: u64 = self.reasons.iter().map(|(_, n)| n).sum();
        if named < self.count {
            reasons.push(format!("other reasons (x{})", self.count - named));
        }
        let authors: Vec<String> = self.authors.iter().take(3).map(fingerprint).collect();
        tracing::warn!(
            items,
            count = self.count,
            authors = %authors.join(", "),
            reasons = %reasons.join("; "),
            "refused"
        );
    }
}

/// Takes in changes and membership entries from a peer or a bundle.
#[derive(Debug)]
pub struct Inbox {
    /// This device, which opens the personal parts sealed to it for its projections.
    reader: DeviceKey,
    /// What every change must keep the incident's public part valid by.
    taxonomy: Taxonomy,
    /// Verified changes whose earlier changes have not arrived yet.
    pending: Vec<SignedChange>,
    /// Changes by authors not (yet) known here, their signatures checked: the
    /// membership entry that admits them may come later in the session.
    unknown_authors: Vec<SignedChange>,
    /// Whether membership changed since `unknown_authors` were last checked: only
    /// then can checking them again admit any.
    members_changed: bool,
    /// What `pending` and `unknown_authors` hold, by [`held_cost`].
    held_bytes: usize,
    /// Totals so far.
    pub tally: Tally,
}

fn fingerprint(key: &[u8; 32]) -> String {
    DevicePublicKey::from_bytes(key).map_or_else(|_| "invalid key".into(), |k| k.fingerprint())
}

impl Inbox {
    /// An inbox for the vault of `device`, whose incidents follow `taxonomy`.
    pub fn new(device: &DeviceKey, taxonomy: &Taxonomy) -> Self {
        Self {
            reader: device.clone(),
            taxonomy: taxonomy.clone(),
            pending: Vec::new(),
            unknown_authors: Vec::new(),
            members_changed: false,
            held_bytes: 0,
            tally: Tally::default(),
        }
    }

    /// Verifies membership entries and stores those that pass, in one transaction.
    /// The roster is updated as they are.
    pub fn accept_members(
        &mut self,
        store: &mut Store,
        roster: &mut Roster,
        entries: Vec<WireEntry>,
    ) -> Result<(), StoreError> {
        let mut passed = Vec::new();
        let mut refusals = Refusals::default();
        let mut seen = HashSet::new();
        for wire in entries {
            // Entries already known, or repeated in the frame, cost a hash, not a
            // signature check.
            let hash: [u8; 32] = Sha256::digest(&wire.bytes).into();
            if !seen.insert(hash) || roster.contains(&hash) {
                self.tally.already_had += 1;
                continue;
            }
            let result = <[u8; 64]>::try_from(wire.signature.as_slice())
                .map_err(|_| Refusal::Unsigned)
                .and_then(|signature| SignedEntry::decode(&wire.bytes, &signature))
                .and_then(|entry| Ok(roster.insert(entry.clone())?.then_some(entry)));
            match result {
                Ok(Some(entry)) => passed.push(entry),
                Ok(None) => self.tally.already_had += 1,
                Err(reason) => {
                    refusals.add(&reason, None);
                    self.tally.refused += 1;
                }
            }
        }
        refusals.log("membership entries");
        if !passed.is_empty() {
            store.write(|w| {
                for entry in &passed {
                    w.insert_member_entry(&entry.to_row())?;
                }
                Ok::<_, StoreError>(())
            })?;
            self.tally.members += passed.len() as u64;
            self.members_changed = true;
            if !self.unknown_authors.is_empty() {
                // The new entries may admit authors of changes that were waiting.
                self.accept_changes(store, roster, Vec::new())?;
            }
        }
        Ok(())
    }

    /// Verifies changes and applies those that pass, in one transaction. A change
    /// whose history has not arrived waits (in memory) for a later batch.
    pub fn accept_changes(
        &mut self,
        store: &mut Store,
        roster: &Roster,
        changes: Vec<WireChange>,
    ) -> Result<(), StoreError> {
        let mut by_incident: BTreeMap<IncidentId, Vec<SignedChange>> = BTreeMap::new();
        let mut refusals = Refusals::default();
        // Signatures first, once per change: what waits for its author's entry is
        // checked again against the team alone, and only when the team changed.
        let mut checked = Vec::with_capacity(changes.len());
        let (mut inflated, mut ops) = (0usize, 0u64);
        for wire in changes {
            // What Automerge will inflate and walk, bounded before it does: once the
            // batch has spent its budget, the rest is not even measured.
            let within = inflated <= MAX_BATCH_INFLATED && ops <= MAX_BATCH_OPS;
            let size = within.then(|| measure(&wire.bytes));
            if let Some(Ok(size)) = size {
                inflated = inflated.saturating_add(size.inflated);
                ops = ops.saturating_add(size.ops);
            }
            if inflated > MAX_BATCH_INFLATED || ops > MAX_BATCH_OPS {
                let reason = Refusal::Malformed("the batch is larger than a batch may be".into());
                refusals.add(&reason, wire.author);
                self.tally.refused += 1;
                continue;
            }
            // A change that passes no bound is refused below, when it is decoded.
            match wire.check() {
                Ok(change) => checked.push(change),
                Err((reason, author)) => {
                    refusals.add(&reason, author);
                    self.tally.refused += 1;
                }
            }
        }
        let retried = if std::mem::take(&mut self.members_changed) {
            std::mem::take(&mut self.unknown_authors)
        } else {
            Vec::new()
        };
        let still_held = self.unknown_authors.iter().chain(&self.pending);
        self.held_bytes = still_held.map(held_cost).sum();
        for change in retried.into_iter().chain(checked) {
            match vouched(&change, roster) {
                Ok(()) => by_incident
                    .entry(change.incident.clone())
                    .or_default()
                    .push(change),
                // Its author's entry may come later in the session.
                Err(Refusal::UnknownAuthor)
                    if self.held_bytes + held_cost(&change) <= MAX_HELD_BYTES =>
                {
                    self.held_bytes += held_cost(&change);
                    self.unknown_authors.push(change);
                }
                Err(reason) => {
                    refusals.add(&reason, Some(change.author));
                    self.tally.refused += 1;
                }
            }
        }
        // Changes waiting for their history are tried again only with new changes
        // of their own incident: nothing else can bring that history.
        for change in std::mem::take(&mut self.pending) {
            match by_incident.get_mut(&change.incident) {
                Some(batch) => {
                    self.held_bytes = self.held_bytes.saturating_sub(held_cost(&change));
                    batch.push(change);
                }
                None => self.pending.push(change),
            }
        }
        if by_incident.is_empty() {
            refusals.log("changes");
            return Ok(());
        }
        let mut waiting = Vec::new();
        let mut context = Context {
            reader: &self.reader,
            taxonomy: &self.taxonomy,
            roster,
            refusals,
            equivocators: store
                .equivocations()?
                .into_iter()
                .map(|e| e.author)
                .collect(),
        };
        let written = store.write(|w| {
            let mut tally = Tally::default();
            for (incident, changes) in &by_incident {
                context.apply_incident(w, incident, changes, &mut tally, &mut waiting)?;
            }
            Ok::<_, StoreError>(tally)
        });
        context.refusals.log("changes");
        let tally = written?;
        self.tally.changes += tally.changes;
        self.tally.refused += tally.refused;
        self.tally.already_had += tally.already_had;
        self.tally.incidents += tally.incidents;
        for change in waiting {
            if self.held_bytes + held_cost(&change) > MAX_HELD_BYTES {
                self.tally.refused += 1;
                continue;
            }
            self.held_bytes += held_cost(&change);
            self.pending.push(change);
        }
        Ok(())
    }

    /// What the changes held in memory cost, by the measure of [`MAX_HELD_BYTES`].
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Ends the intake: changes still waiting for their history are dropped and
    /// returned as a count (the next sync brings them with their history); changes
    /// whose authors no membership entry admitted are refused.
    pub fn finish(&mut self) -> u64 {
        let dropped = self.pending.len() as u64;
        if dropped > 0 {
            tracing::info!(
                dropped,
                "changes still waiting for their history are left for the next sync"
            );
        }
        let mut refusals = Refusals::default();
        for change in std::mem::take(&mut self.unknown_authors) {
            refusals.add(&Refusal::UnknownAuthor, Some(change.author));
            self.tally.refused += 1;
        }
        refusals.log("changes");
        self.pending.clear();
        self.held_bytes = 0;
        dropped
    }
}

/// What an incident's changes are judged by.
struct Context<'a> {
    reader: &'a DeviceKey,
    taxonomy: &'a Taxonomy,
    roster: &'a Roster,
    refusals: Refusals,
    /// Devices caught signing two changes under one sequence number.
    equivocators: HashSet<[u8; 32]>,
}

impl Context<'_> {
    /// Applies one incident's verified changes on top of what is stored: each change
    /// that its author may make (`authority`) and that applies is kept, others are
    /// refused, one whose history is missing waits.
    fn apply_incident(
        &mut self,
        w: &Writer<'_>,
        incident: &IncidentId,
        changes: &[SignedChange],
        tally: &mut Tally,
        waiting: &mut Vec<SignedChange>,
    ) -> Result<(), StoreError> {
        let stored = w.changes_of(incident)?;
        let mut creator = w.creator_of(incident)?;
        let mut kept: Vec<&SignedChange> = Vec::new();
        let damaged = |_| StoreError::Damaged("a stored incident no longer loads".into());
        let mut doc =
            IncidentDocument::from_changes(stored.iter().map(Vec::as_slice)).map_err(damaged)?;
        // What holds, to go back to when an applied change is refused: the document
        // as first loaded (copied only when a first refusal needs it, loaded again
        // from the store then), and the changes kept since.
        let mut holds: Option<(IncidentDocument, usize)> = None;
        let mut undone: HashMap<[u8; 32], usize> = HashMap::new();
        // Personal data written unsealed before sealing existed stays where it already
        // is; it spreads to no other device.
        let open_here = doc.has_open_personal();
        let mut problems = authority::public_problems(&doc, self.taxonomy).unwrap_or_default();
        // A batch need not list a change after its history: a change whose history
        // comes later in the batch is tried again once a pass has applied something,
        // so that only what is really missing waits for the next batch.
        let mut queue: Vec<&SignedChange> = changes.iter().collect();
        loop {
            let kept_before = kept.len();
            let mut early = Vec::new();
            for change in queue {
                if w.has_change(&change.hash)? || kept.iter().any(|k| k.hash == change.hash) {
                    tally.already_had += 1;
                    continue;
                }
                if self.equivocators.contains(&change.author) {
                    self.refuse(&Refusal::Equivocation, change, tally);
                    continue;
                }
                if undone.get(&change.author) >= Some(&MAX_UNDONE_PER_INCIDENT) {
                    let reason = Refusal::DoesNotApply(
                        "too many refused changes to this incident in one batch".into(),
                    );
                    self.refuse(&reason, change, tally);
                    continue;
                }
                let shape = match IncidentDocument::shape(&change.bytes) {
                    Ok(shape) => shape,
                    Err(e) => {
                        self.refuse(&Refusal::DoesNotApply(e.to_string()), change, tally);
                        continue;
                    }
                };
                let role = self.roster.role_given(&change.author);
                match authority::judge(&mut doc, incident, creator, &shape, &change.author, role) {
                    Ok(Verdict::Apply) => {}
                    Ok(Verdict::Wait) => {
                        early.push(change);
                        continue;
                    }
                    // Judged without touching the document.
                    Err(reason) => {
                        self.refuse(&reason, change, tally);
                        continue;
                    }
                }
                let reason = match doc.apply([change.bytes.as_slice()]) {
                    Ok(_) if !open_here && doc.has_open_personal() => Refusal::Unsealed,
                    Ok(_) => match authority::public_problems(&doc, self.taxonomy) {
                        None => Refusal::DoesNotApply("it leaves no readable incident".into()),
                        Some(after) if authority::adds_problems(&problems, &after) => {
                            let mut fields: Vec<&str> = after
                                .iter()
                                .filter(|p| !problems.contains(p))
                                .map(|p| p.field.as_str())
                                .collect();
                            fields.dedup();
                            Refusal::Invalid(fields.join(", "))
                        }
                        Some(after) => {
                            problems = after;
                            creator.get_or_insert(change.author);
                            kept.push(change);
                            continue;
                        }
                    },
                    // The document is untouched: no need to rebuild it.
                    Err(DocumentError::MissingDependencies) => {
                        early.push(change);
                        continue;
                    }
                    Err(DocumentError::DuplicateSequence) => {
                        self.caught_equivocating(w, incident, change, shape.seq)?;
                        Refusal::Equivocation
                    }
                    Err(e) => Refusal::DoesNotApply(e.to_string()),
                };
                self.refuse(&reason, change, tally);
                // A refused change may have left the document changed or unusable:
                // go back to what holds (a copy, not a reload of every change).
                *undone.entry(change.author).or_default() += 1;
                let (base, applied) = match holds.take() {
                    Some(held) => held,
                    None => (
                        IncidentDocument::from_changes(stored.iter().map(Vec::as_slice))
                            .map_err(damaged)?,
                        0,
                    ),
                };
                let mut back = base;
                back.apply(kept[applied..].iter().map(|c| c.bytes.as_slice()))
                    .map_err(damaged)?;
                doc = back.clone();
                holds = Some((back, kept.len()));
            }
            if early.is_empty() || kept.len() == kept_before {
                waiting.extend(early.into_iter().cloned());
                break;
            }
            queue = early;
        }
        if kept.is_empty() {
            return Ok(());
        }
        let summary = match Readable::read(&doc, self.reader) {
            Ok(value) if &value.incident.id == incident => value.summary(),
            result => {
                let reason = match result {
                    Err(ReadError::Tampered) => "its sealed personal data was altered",
                    _ => "the changes do not make the incident they claim",
                };
                for change in &kept {
                    self.refuse(&Refusal::DoesNotApply(reason.into()), change, tally);
                }
                return Ok(());
            }
        };
        w.record(kept.iter().copied(), &summary)?;
        tally.changes += kept.len() as u64;
        tally.incidents += 1;
        Ok(())
    }

    fn refuse(&mut self, reason: &Refusal, change: &SignedChange, tally: &mut Tally) {
        self.refusals.add(reason, Some(change.author));
        tally.refused += 1;
    }

    /// Records that `change`'s author signed another change under the same actor and
    /// sequence number: its later changes are refused, and coordinators are told.
    fn caught_equivocating(
        &mut self,
        w: &Writer<'_>,
        incident: &IncidentId,
        change: &SignedChange,
        seq: u64,
    ) -> Result<(), StoreError> {
        let record = Equivocation {
            author: change.author,
            incident: incident.clone(),
            seq,
            seen_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        };
        if w.record_equivocation(&record)? {
            tracing::warn!(
                author = %fingerprint(&change.author),
                "a device signed two different changes under one sequence number; its later changes are refused"
            );
        }
        self.equivocators.insert(change.author);
        Ok(())
    }
}
