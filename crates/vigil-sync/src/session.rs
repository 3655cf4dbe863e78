//! One sync between two devices, as a state machine over frames.
//!
//! The initiator opens with a reconciliation message over the whole collection
//! (every change hash and membership entry hash; see [`crate::reconcile`]). Both
//! sides answer each other's messages the same way: a side that learns what the
//! other lacks sends it at once, and asks for what it lacks in the same flight.
//! Already in sync, that is one round trip; new changes on the responder, usually
//! two. Every batch received is applied in its own transaction, so a cut connection
//! keeps what arrived and the next sync does not send it again.

use std::collections::HashSet;

use vigil_crypto::DeviceKey;
use vigil_model::Taxonomy;
use vigil_store::Store;

use crate::frame::WireEntry;
use crate::reconcile::Items;
use crate::signing::WireChange;
use crate::{Frame, Inbox, Roster, SyncError};

/// Changes per frame, by bytes: large enough to amortise a transaction, small enough
/// to keep memory flat and to lose little to a cut.
const BATCH_BYTES: usize = 512 * 1024;

/// Hashes per `Want` frame.
const WANT_CHUNK: usize = 16 * 1024;

/// Reconciliation messages a peer may send in one session. An honest one sends one
/// per level of the range tree it descends, a handful where fingerprints settle most
/// ranges; two devices differing by hundreds of thousands of items may need more,
/// and then finish over several sessions (what arrived is kept). The bound caps
/// what repeating a listing of the whole space costs.
pub const MAX_RECONCILE_FRAMES: u64 = 64;

/// Bytes a peer may send in one session (frames as received, before inflation):
/// several times a whole campaign's store, far from a laptop's memory.
pub const MAX_SESSION_BYTES: u64 = 1 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Initiator,
    Responder,
}

/// What a session did, for the user and for benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Changes sent to the peer.
    pub changes_sent: u64,
    /// Membership entries sent.
    pub members_sent: u64,
    /// Changes received and stored.
    pub changes_received: u64,
    /// Membership entries received and stored.
    pub members_received: u64,
    /// Incidents that received changes.
    pub incidents_updated: u64,
    /// Items from the peer that were refused (see the log for why).
    pub refused: u64,
    /// Changes left for the next sync because their history did not arrive.
    pub incomplete: u64,
    /// What the peer said it accepted and refused of ours, if it said.
    pub peer_accepted: Option<u64>,
    /// See `peer_accepted`.
    pub peer_refused: Option<u64>,
    /// Frames and bytes (frames' own bytes, before transport framing).
    pub frames_sent: u64,
    /// See `frames_sent`.
    pub frames_received: u64,
    /// See `frames_sent`.
    pub bytes_sent: u64,
    /// See `frames_sent`.
    pub bytes_received: u64,
    /// Flights of the initiator that the responder answered.
    pub round_trips: u64,
}

/// One sync session with one peer.
pub struct Session {
    side: Side,
    items: Items,
    inbox: Inbox,
    stats: SyncStats,
    reconciled: bool,
    /// Reconciliation messages received.
    reconciles: u64,
    /// Items already sent in this session: listed again as lacking (a peer that
    /// repeats a listing of everything), they are not pushed again.
    sent: HashSet<[u8; 32]>,
    /// Items the peer asked for by `Want`: answered even if sent before (an honest
    /// peer reconciling against the items it held when the session began may ask
    /// for one it received since), up to twice what this device holds.
    wanted: u64,
    awaiting: usize,
    pushed: bool,
    done_sent: bool,
    finished: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("side", &self.side)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Session {
    fn new(
        side: Side,
        store: &Store,
        device: &DeviceKey,
        taxonomy: &Taxonomy,
    ) -> Result<Self, SyncError> {
        let items = store
            .sync_items()?
            .into_iter()
            .map(|(time, hash)| (u64::try_from(time).unwrap_or(0), hash))
            .collect();
        Ok(Self {
            side,
            items: Items::new(items),
            inbox: Inbox::new(device, taxonomy),
            stats: SyncStats::default(),
            reconciled: false,
            reconciles: 0,
            sent: HashSet::new(),
            wanted: 0,
            awaiting: 0,
            pushed: false,
            done_sent: false,
            finished: false,
        })
    }

    /// Starts a session as the side that connected, for the vault of `device` whose
    /// incidents follow `taxonomy`; returns the frames to send.
    pub fn initiate(
        store: &Store,
        device: &DeviceKey,
        taxonomy: &Taxonomy,
    ) -> Result<(Self, Vec<Vec<u8>>), SyncError> {
        let mut session = Self::new(Side::Initiator, store, device, taxonomy)?;
        let first = session.items.initial();
        let frames = session.encode(vec![Frame::Reconcile(first)]);
        Ok((session, frames))
    }

    /// Starts a session as the side that was connected to.
    pub fn respond(
        store: &Store,
        device: &DeviceKey,
        taxonomy: &Taxonomy,
    ) -> Result<Self, SyncError> {
        Self::new(Side::Responder, store, device, taxonomy)
    }

    /// Whether the session is over (nothing more to send or wait for).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// What the session did so far.
    pub fn stats(&self) -> &SyncStats {
        &self.stats
    }

    /// Handles one frame from the peer; returns the frames to send back. An error
    /// ends the session; everything applied before it stays.
    pub fn receive(
        &mut self,
        bytes: &[u8],
        store: &mut Store,
        roster: &mut Roster,
    ) -> Result<Vec<Vec<u8>>, SyncError> {
        self.stats.frames_received += 1;
        self.stats.bytes_received += bytes.len() as u64;
        if self.finished {
            return Err(SyncError::Protocol(
                "a frame after the session ended".into(),
            ));
        }
        if self.stats.bytes_received > MAX_SESSION_BYTES {
            return Err(SyncError::Protocol(
                "more bytes than a session may carry".into(),
            ));
        }
        let mut out = Vec::new();
        match (Frame::decode(bytes)?, self.side) {
            (Frame::Reconcile(ranges), side) if ranges.is_empty() => {
                // The peer has settled every range.
                if side == Side::Responder {
                    return Err(SyncError::Protocol("an empty opening message".into()));
                }
                self.reconciled = true;
            }
            (Frame::Reconcile(ranges), side) => {
                self.reconciles += 1;
                if self.reconciles > MAX_RECONCILE_FRAMES {
                    return Err(SyncError::Protocol(
                        "more reconciliation messages than a session needs".into(),
                    ));
                }
                let step = self.items.reply(&ranges)?;
                let they_lack: Vec<[u8; 32]> = step
                    .they_lack
                    .into_iter()
                    .filter(|h| self.sent.insert(*h))
                    .collect();
                let sent = self.items_frames(store, roster, &they_lack, &mut out)?;
                self.pushed |= sent > 0 && side == Side::Initiator;
                for chunk in step.we_lack.chunks(WANT_CHUNK) {
                    self.awaiting += chunk.len();
                    out.push(Frame::Want(chunk.to_vec()));
                }
                if side == Side::Responder {
                    // Always answer, so that the initiator knows where things stand.
                    out.push(Frame::Reconcile(step.ranges));
                } else if step.ranges.is_empty() {
                    self.reconciled = true;
                } else {
                    out.push(Frame::Reconcile(step.ranges));
                }
            }
            (Frame::Want(prefixes), side) => {
                if prefixes.len() > WANT_CHUNK {
                    return Err(SyncError::Protocol("a request for too many items".into()));
                }
                self.wanted += prefixes.len() as u64;
                if self.wanted > 2 * self.items.len() as u64 + WANT_CHUNK as u64 {
                    return Err(SyncError::Protocol(
                        "requests for more items than this device holds".into(),
                    ));
                }
                let hashes = self.items.resolve(&prefixes);
                self.sent.extend(hashes.iter().copied());
                let sent = self.items_frames(store, roster, &hashes, &mut out)?;
                self.pushed |= sent > 0 && side == Side::Initiator;
            }
            (Frame::Members(entries), _) => {
                let count = entries.len();
                self.inbox.accept_members(store, roster, entries)?;
                self.arrived(count);
            }
            (Frame::Changes(changes), _) => {
                let count = changes.len();
                self.inbox.accept_changes(store, roster, changes)?;
                self.arrived(count);
            }
            (
                Frame::Done {
                    accepted,
                    refused,
                    reply,
                },
                side,
            ) => {
                self.stats.peer_accepted = Some(accepted);
                self.stats.peer_refused = Some(refused);
                self.end();
                self.finished = true;
                if side == Side::Responder && reply {
                    out.push(self.done(false));
                }
            }
            (Frame::Join { .. } | Frame::Welcome { .. } | Frame::Prove, _) => {
                return Err(SyncError::Protocol("a join frame inside a session".into()));
            }
            // `Frame::decode` inflates these.
            (Frame::Deflated(_), _) => {
                return Err(SyncError::Protocol("a frame deflated twice".into()));
            }
        }
        if self.side == Side::Initiator && self.reconciled && self.awaiting == 0 && !self.done_sent
        {
            self.end();
            out.push(self.done(self.pushed));
            self.done_sent = true;
            // Nothing of ours to hear back about: finish without another round trip.
            self.finished = !self.pushed;
        }
        Ok(self.encode(out))
    }

    fn arrived(&mut self, count: usize) {
        self.awaiting = self.awaiting.saturating_sub(count);
        self.sync_tally();
    }

    fn sync_tally(&mut self) {
        let tally = self.inbox.tally;
        self.stats.changes_received = tally.changes;
        self.stats.members_received = tally.members;
        self.stats.refused = tally.refused;
        self.stats.incidents_updated = tally.incidents;
    }

    fn end(&mut self) {
        self.stats.incomplete += self.inbox.finish();
        self.sync_tally();
        if self.side == Side::Responder {
            self.finished = true;
        }
    }

    fn done(&self, reply: bool) -> Frame {
        Frame::Done {
            accepted: self.stats.changes_received + self.stats.members_received,
            refused: self.stats.refused,
            reply,
        }
    }

    /// Closes a session that the peer ended by finishing (or cutting) its stream.
    pub fn peer_closed(&mut self) {
        if !self.finished {
            self.stats.incomplete += self.inbox.finish();
            self.sync_tally();
        }
        if self.side == Side::Initiator && self.done_sent {
            self.finished = true;
        }
    }

    /// Frames carrying the requested items that this device has: membership entries
    /// first (changes are judged by them), then changes in the order they were stored.
    fn items_frames(
        &mut self,
        store: &Store,
        roster: &Roster,
        hashes: &[[u8; 32]],
        out: &mut Vec<Frame>,
    ) -> Result<u64, SyncError> {
        let (members, changes): (Vec<[u8; 32]>, Vec<[u8; 32]>) =
            hashes.iter().partition(|h| roster.contains(h));
        let mut sent = 0;
        if !members.is_empty() {
            let entries: Vec<WireEntry> = roster
                .entries()
                .into_iter()
                .filter(|e| members.contains(&e.hash))
                .map(|e| WireEntry {
                    bytes: e.bytes.clone(),
                    signature: e.signature.to_vec(),
                })
                .collect();
            self.stats.members_sent += entries.len() as u64;
            sent += entries.len() as u64;
            out.push(Frame::Members(entries));
        }
        let mut batch = Vec::new();
        let mut batch_bytes = 0;
        for change in store.signed_changes(&changes)? {
            if change.bytes.len() > BATCH_BYTES * 4 {
                // Cannot fit a frame; a change this big is not one Vigil makes.
                tracing::warn!(
                    bytes = change.bytes.len(),
                    "a change too large to send is skipped"
                );
                continue;
            }
            if batch_bytes + change.bytes.len() > BATCH_BYTES && !batch.is_empty() {
                out.push(Frame::Changes(std::mem::take(&mut batch)));
                batch_bytes = 0;
            }
            batch_bytes += change.bytes.len();
            batch.push(WireChange::from(change));
            self.stats.changes_sent += 1;
            sent += 1;
        }
        if !batch.is_empty() {
            out.push(Frame::Changes(batch));
        }
        Ok(sent)
    }

    fn encode(&mut self, frames: Vec<Frame>) -> Vec<Vec<u8>> {
        // A flight of the initiator that the responder answers is a round trip.
        let answered = frames.iter().any(|f| {
            matches!(
                f,
                Frame::Reconcile(_) | Frame::Want(_) | Frame::Done { reply: true, .. }
            )
        });
        if self.side == Side::Initiator && answered {
            self.stats.round_trips += 1;
        }
        let encoded: Vec<Vec<u8>> = frames.iter().map(Frame::encode).collect();
        self.stats.frames_sent += encoded.len() as u64;
        self.stats.bytes_sent += encoded.iter().map(|f| f.len() as u64).sum::<u64>();
        encoded
    }
}

#[cfg(test)]
mod tests;
