//! The gate for everything from outside: each item is verified on its own, refused
//! ones are counted and logged, and the rest is applied in one transaction.

use std::collections::BTreeMap;

use vigil_crypto::{DeviceKey, DevicePublicKey};
use vigil_model::IncidentId;
use vigil_model::document::{DocumentError, IncidentDocument};
use vigil_store::{SignedChange, Store, StoreError, Writer};

use crate::frame::WireEntry;
use crate::membership::SignedEntry;
use crate::sealing::{ReadError, Readable};
use crate::signing::{WireChange, verify};
use crate::{Refusal, Roster};

/// Changes waiting for their history are held at most up to this many bytes;
/// beyond, they are dropped (and come again at the next sync).
const MAX_PENDING_BYTES: usize = 64 * 1024 * 1024;

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

/// Takes in changes and membership entries from a peer or a bundle.
#[derive(Debug)]
pub struct Inbox {
    /// This device, which opens the personal parts sealed to it for its projections.
    reader: DeviceKey,
    /// Verified changes whose earlier changes have not arrived yet.
    pending: Vec<SignedChange>,
    /// Changes by authors not (yet) known here: the membership entry that admits
    /// them may come later in the session.
    unknown_authors: Vec<WireChange>,
    pending_bytes: usize,
    /// Totals so far.
    pub tally: Tally,
}

fn fingerprint(key: &[u8; 32]) -> String {
    DevicePublicKey::from_bytes(key).map_or_else(|_| "invalid key".into(), |k| k.fingerprint())
}

impl Inbox {
    /// An inbox for the vault of `device`.
    pub fn new(device: &DeviceKey) -> Self {
        Self {
            reader: device.clone(),
            pending: Vec::new(),
            unknown_authors: Vec::new(),
            pending_bytes: 0,
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
        for wire in entries {
            let result = <[u8; 64]>::try_from(wire.signature.as_slice())
                .map_err(|_| Refusal::Unsigned)
                .and_then(|signature| SignedEntry::decode(&wire.bytes, &signature))
                .and_then(|entry| Ok(roster.insert(entry.clone())?.then_some(entry)));
            match result {
                Ok(Some(entry)) => passed.push(entry),
                Ok(None) => self.tally.already_had += 1,
                Err(reason) => {
                    tracing::warn!(%reason, "membership entry refused");
                    self.tally.refused += 1;
                }
            }
        }
        if !passed.is_empty() {
            store.write(|w| {
                for entry in &passed {
                    w.insert_member_entry(&entry.to_row())?;
                }
                Ok::<_, StoreError>(())
            })?;
            self.tally.members += passed.len() as u64;
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
        for change in std::mem::take(&mut self.pending) {
            by_incident
                .entry(change.incident.clone())
                .or_default()
                .push(change);
        }
        self.pending_bytes = 0;
        let retried = std::mem::take(&mut self.unknown_authors);
        for wire in retried.into_iter().chain(changes) {
            match verify(&wire, roster) {
                Ok(change) => by_incident
                    .entry(change.incident.clone())
                    .or_default()
                    .push(change),
                Err((Refusal::UnknownAuthor, Some(_)))
                    if self.pending_bytes + wire.bytes.len() <= MAX_PENDING_BYTES =>
                {
                    self.pending_bytes += wire.bytes.len();
                    self.unknown_authors.push(wire);
                }
                Err((reason, author)) => self.refuse(&reason, author),
            }
        }
        if by_incident.is_empty() {
            return Ok(());
        }
        let mut waiting = Vec::new();
        let tally = store.write(|w| {
            let mut tally = Tally::default();
            for (incident, changes) in &by_incident {
                apply_incident(w, &self.reader, incident, changes, &mut tally, &mut waiting)?;
            }
            Ok::<_, StoreError>(tally)
        })?;
        self.tally.changes += tally.changes;
        self.tally.refused += tally.refused;
        self.tally.already_had += tally.already_had;
        self.tally.incidents += tally.incidents;
        for change in waiting {
            if self.pending_bytes + change.bytes.len() > MAX_PENDING_BYTES {
                self.tally.refused += 1;
                continue;
            }
            self.pending_bytes += change.bytes.len();
            self.pending.push(change);
        }
        Ok(())
    }

    fn refuse(&mut self, reason: &Refusal, author: Option<[u8; 32]>) {
        let author = author.map_or_else(|| "unknown".to_owned(), |a| fingerprint(&a));
        tracing::warn!(%author, %reason, "change refused");
        self.tally.refused += 1;
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
        for wire in std::mem::take(&mut self.unknown_authors) {
            let author = wire.author.or_else(|| {
                IncidentDocument::decode_change(&wire.bytes)
                    .ok()
                    .and_then(|c| c.actor.try_into().ok())
            });
            self.refuse(&Refusal::UnknownAuthor, author);
        }
        self.pending.clear();
        self.pending_bytes = 0;
        dropped
    }
}

/// Applies one incident's verified changes on top of what is stored: each change that
/// applies is kept, one that does not is refused, one whose history is missing waits.
fn apply_incident(
    w: &Writer<'_>,
    reader: &DeviceKey,
    incident: &IncidentId,
    changes: &[SignedChange],
    tally: &mut Tally,
    waiting: &mut Vec<SignedChange>,
) -> Result<(), StoreError> {
    let stored = w.changes_of(incident)?;
    let mut kept: Vec<&SignedChange> = Vec::new();
    let rebuild = |kept: &[&SignedChange]| {
        IncidentDocument::from_changes(
            stored
                .iter()
                .map(Vec::as_slice)
                .chain(kept.iter().map(|c| c.bytes.as_slice())),
        )
    };
    let Ok(mut doc) = rebuild(&kept) else {
        return Err(StoreError::Damaged(
            "a stored incident no longer loads".into(),
        ));
    };
    // Personal data written unsealed before sealing existed stays where it already
    // is; it spreads to no other device.
    let open_here = doc.has_open_personal();
    // A batch need not list a change after its history: a change whose history comes
    // later in the batch is tried again once a pass has applied something, so that
    // only what is really missing waits for the next batch.
    let mut queue: Vec<&SignedChange> = changes.iter().collect();
    loop {
        let kept_before = kept.len();
        let mut early = Vec::new();
        for change in queue {
            if w.has_change(&change.hash)? || kept.iter().any(|k| k.hash == change.hash) {
                tally.already_had += 1;
                continue;
            }
            match doc.apply([change.bytes.as_slice()]) {
                Ok(_) if !open_here && doc.has_open_personal() => {
                    tracing::warn!(reason = %Refusal::Unsealed, "change refused");
                    tally.refused += 1;
                }
                Ok(_) => {
                    kept.push(change);
                    continue;
                }
                // The document is untouched: no need to rebuild it.
                Err(DocumentError::MissingDependencies) => {
                    early.push(change);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(reason = %Refusal::DoesNotApply(e.to_string()), "change refused");
                    tally.refused += 1;
                }
            }
            // A failed apply leaves the document unusable: start again from what holds.
            doc = rebuild(&kept)
                .map_err(|_| StoreError::Damaged("an incident no longer loads".into()))?;
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
    let summary = match Readable::read(&doc, reader) {
        Ok(value) if &value.incident.id == incident => value.summary(),
        result => {
            let reason = match result {
                Err(ReadError::Tampered) => "its sealed personal data was altered",
                _ => "the changes do not make the incident they claim",
            };
            tracing::warn!(
                reason = %Refusal::DoesNotApply(reason.into()),
                count = kept.len(),
                "changes refused"
            );
            tally.refused += kept.len() as u64;
            return Ok(());
        }
    };
    for change in &kept {
        w.insert_change(change)?;
    }
    w.put_summary(&summary)?;
    tally.changes += kept.len() as u64;
    tally.incidents += 1;
    Ok(())
}
