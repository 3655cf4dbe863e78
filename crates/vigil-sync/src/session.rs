//! One sync between two devices, as a state machine over frames.
//!
//! The initiator opens with a reconciliation message over the whole collection
//! (every change hash and membership entry hash; see [`crate::reconcile`]). Both
//! sides answer each other's messages the same way: a side that learns what the
//! other lacks sends it at once, and asks for what it lacks in the same flight.
//! Already in sync, that is one round trip; new changes on the responder, usually
//! two. Every batch received is applied in its own transaction, so a cut connection
//! keeps what arrived and the next sync does not send it again.
//!
//! Taking a frame in ([`Session::receive`]) and giving frames out
//! ([`Session::next_frame`]) are separate steps. An answer (every item a peer
//! lacks) is queued as hashes and read from the store one batch per frame as the
//! transport has room, so a session never holds more than a frame of it in memory,
//! and a transport that keeps reading while it waits to send never leaves two peers
//! that owe each other much waiting on each other.

use std::collections::{HashSet, VecDeque};

use vigil_crypto::DeviceKey;
use vigil_model::Taxonomy;
use vigil_store::{Store, StoreRead};

use crate::reconcile::Items;
use crate::wire::WireChange;
use crate::wire::WireEntry;
use vigil_team::Roster;

use crate::{Frame, Inbox, SyncError};

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

/// Items of a peer's that may be refused in one session before the session ends.
/// Each costs up to a signature check (and a change refused once applied, a copy
/// of its incident): the bound keeps a flood of cheap bad items at seconds of work,
/// far above what an honest relay carries (a seized phone's changes after its
/// revocation, refused and relayed again at each sync).
pub const MAX_SESSION_REFUSALS: u64 = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Initiator,
    Responder,
}

/// Where a session stands. It moves only forward, in [`Session::receive`] and
/// [`Session::peer_closed`]:
///
/// ```text
/// initiator:  Reconciling ─(ranges settle)─► Settled ─(asked items arrived: Done)─► AwaitingDone ─(peer's Done)─► Finished
///                                                    └─(nothing of ours to hear about: Done)──────────────────► Finished
/// responder:  Reconciling ─(peer's Done, answered if asked)─► Finished
/// ```
///
/// A `Done` from the peer, or a stream it closes after ours, finishes a session in
/// any phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Ranges are still being compared.
    Reconciling,
    /// The initiator: every range settled; waiting for the items it asked for.
    Settled,
    /// The initiator sent `Done` asking for the responder's, which has yet to come.
    AwaitingDone,
    /// Nothing more to wait for (what is queued is still sent).
    Finished,
}

/// What one frame from the peer stored here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Taken {
    /// Membership entries stored: the team changed, and whoever admits devices by
    /// it must read it again.
    pub members: u64,
    /// Changes stored.
    pub changes: u64,
}

/// How a session ended, for the caller to act on without reading counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOutcome {
    /// What it moved.
    pub stats: SyncStats,
    /// Whether it ran to its end: `Done` said, and the peer's `Done` heard where it
    /// was asked for. A session cut short keeps what arrived; the next one completes
    /// it.
    pub complete: bool,
    /// Whether the peer refused items of ours (it said so in its `Done`).
    pub refused_by_peer: bool,
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

/// What the session still has to send, in order.
enum Outgoing {
    /// A frame as it is.
    Frame(Frame),
    /// This device's whole membership log, which the peer asked for with `Prove`.
    Proof,
    /// Items the peer lacks: membership entries first (changes are judged by
    /// them), then changes in the order they were stored, read a batch at a time.
    Items {
        members: Vec<[u8; 32]>,
        changes: VecDeque<[u8; 32]>,
    },
}

/// One sync session with one peer.
pub struct Session {
    side: Side,
    items: Items,
    inbox: Inbox,
    stats: SyncStats,
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
    /// What is still to send; see [`Session::next_frame`].
    outgoing: VecDeque<Outgoing>,
    phase: Phase,
    /// Whether this side sent its membership proof (asked for once, at most).
    proof_sent: bool,
    /// The initiator sent items, so its `Done` asks for the responder's, with what
    /// the responder took in and refused.
    pushed: bool,
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
            reconciles: 0,
            sent: HashSet::new(),
            wanted: 0,
            awaiting: 0,
            outgoing: VecDeque::new(),
            phase: Phase::Reconciling,
            proof_sent: false,
            pushed: false,
        })
    }

    /// Starts a session as the side that connected, for the vault of `device` whose
    /// incidents follow `taxonomy`; its opening message waits in
    /// [`Session::next_frame`].
    pub fn initiate(
        store: &Store,
        device: &DeviceKey,
        taxonomy: &Taxonomy,
    ) -> Result<Self, SyncError> {
        let mut session = Self::new(Side::Initiator, store, device, taxonomy)?;
        let first = session.items.initial();
        session.queue(vec![Frame::Reconcile(first)]);
        Ok(session)
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
        self.phase == Phase::Finished && self.outgoing.is_empty()
    }

    /// How the session ended (or stands, if it has not).
    pub fn outcome(&self) -> SessionOutcome {
        // An initiator that sent items asked for the responder's `Done`, which says
        // what it took in: a stream closed without it may have lost them.
        let heard_back = !self.pushed || self.stats.peer_accepted.is_some();
        SessionOutcome {
            stats: self.stats.clone(),
            complete: self.is_finished() && heard_back,
            refused_by_peer: self.stats.peer_refused.unwrap_or(0) > 0,
        }
    }

    /// How far the peer now holds this device's change log, as a log position: after
    /// a complete session in which it refused nothing of ours, it holds what our log
    /// held when the session began (`start`) and what it sent us; if nothing else was
    /// written meanwhile (the log is at `end` now), that is our whole log. `None`
    /// after an incomplete session, or one in which the peer refused some of ours:
    /// it may lack anything. Bundles for the peer start from there.
    pub fn peer_holds_up_to(&self, start: i64, end: i64) -> Option<i64> {
        let outcome = self.outcome();
        if !outcome.complete || outcome.refused_by_peer {
            return None;
        }
        let only_from_peer = u64::try_from(end - start).ok() == Some(self.stats.changes_received);
        Some(if only_from_peer { end } else { start })
    }

    /// Whether frames wait to be sent.
    pub fn has_outgoing(&self) -> bool {
        !self.outgoing.is_empty()
    }

    /// What the session did so far.
    pub fn stats(&self) -> &SyncStats {
        &self.stats
    }

    /// Handles one frame from the peer; what it calls for waits in
    /// [`Session::next_frame`]. An error ends the session; everything applied before
    /// it stays.
    pub fn receive(
        &mut self,
        bytes: &[u8],
        store: &mut Store,
        roster: &mut Roster,
    ) -> Result<Taken, SyncError> {
        let (members, changes) = (self.stats.members_received, self.stats.changes_received);
        self.take_in(bytes, store, roster)?;
        Ok(Taken {
            members: self.stats.members_received - members,
            changes: self.stats.changes_received - changes,
        })
    }

    fn take_in(
        &mut self,
        bytes: &[u8],
        store: &mut Store,
        roster: &mut Roster,
    ) -> Result<(), SyncError> {
        self.stats.frames_received += 1;
        self.stats.bytes_received += bytes.len() as u64;
        if self.phase == Phase::Finished {
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
                self.settle();
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
                self.send_items(store, roster, &they_lack)?;
                for chunk in step.we_lack.chunks(WANT_CHUNK) {
                    self.awaiting += chunk.len();
                    out.push(Frame::Want(chunk.to_vec()));
                }
                if side == Side::Responder {
                    // Always answer, so that the initiator knows where things stand.
                    out.push(Frame::Reconcile(step.ranges));
                } else if step.ranges.is_empty() {
                    self.settle();
                } else {
                    out.push(Frame::Reconcile(step.ranges));
                }
            }
            (Frame::Want(prefixes), _) => {
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
                self.send_items(store, roster, &hashes)?;
            }
            (Frame::Prove, Side::Initiator) => {
                // The responder does not know this device yet and asks for the
                // membership log that admits it, before anything else; once.
                if std::mem::replace(&mut self.proof_sent, true) {
                    return Err(SyncError::Protocol("a second request for a proof".into()));
                }
                self.outgoing.push_front(Outgoing::Proof);
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
                self.phase = Phase::Finished;
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
        if self.inbox.tally.refused > MAX_SESSION_REFUSALS {
            return Err(SyncError::Protocol(
                "more refused items than a session allows".into(),
            ));
        }
        if self.phase == Phase::Settled && self.awaiting == 0 {
            self.end();
            out.push(self.done(self.pushed));
            // Nothing of ours to hear back about: finish without another round trip.
            self.phase = if self.pushed {
                Phase::AwaitingDone
            } else {
                Phase::Finished
            };
        }
        self.queue(out);
        Ok(())
    }

    /// Handles one frame and returns every frame it leads to, read whole: for
    /// tests and tools that hold both sides in memory.
    pub fn answer(
        &mut self,
        bytes: &[u8],
        store: &mut Store,
        roster: &mut Roster,
    ) -> Result<Vec<Vec<u8>>, SyncError> {
        self.receive(bytes, store, roster)?;
        self.drain(store, roster)
    }

    /// Every frame waiting to be sent; see [`Session::answer`].
    pub fn drain(&mut self, store: &Store, roster: &Roster) -> Result<Vec<Vec<u8>>, SyncError> {
        let mut frames = Vec::new();
        while let Some(frame) = self.next_frame(store, roster)? {
            frames.push(frame);
        }
        Ok(frames)
    }

    /// The next frame to send, if any: control frames as they were queued, items
    /// read from the store one batch (at most [`BATCH_BYTES`]) at a time.
    pub fn next_frame(
        &mut self,
        store: &Store,
        roster: &Roster,
    ) -> Result<Option<Vec<u8>>, SyncError> {
        let frame = loop {
            let Some(next) = self.outgoing.front_mut() else {
                return Ok(None);
            };
            match next {
                Outgoing::Frame(_) | Outgoing::Proof => match self.outgoing.pop_front() {
                    Some(Outgoing::Frame(frame)) => break frame,
                    _ => {
                        break Frame::Members(
                            roster.entries().into_iter().map(WireEntry::from).collect(),
                        );
                    }
                },
                Outgoing::Items { members, .. } => {
                    if !members.is_empty() {
                        // As many as a frame may carry; the rest in the next.
                        let take = members.len().min(crate::frame::MAX_ENTRIES);
                        let wanted: HashSet<[u8; 32]> = members.drain(..take).collect();
                        let entries: Vec<WireEntry> = roster
                            .entries()
                            .into_iter()
                            .filter(|e| wanted.contains(&e.hash))
                            .map(WireEntry::from)
                            .collect();
                        if !entries.is_empty() {
                            self.stats.members_sent += entries.len() as u64;
                            break Frame::Members(entries);
                        }
                        // None of these is held any more: the next ones, if any.
                        continue;
                    }
                    let batch = self.next_batch(store)?;
                    if !batch.is_empty() {
                        break Frame::Changes(batch);
                    }
                    self.outgoing.pop_front();
                }
            }
        };
        let bytes = frame.encode();
        self.stats.frames_sent += 1;
        self.stats.bytes_sent += bytes.len() as u64;
        Ok(Some(bytes))
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

    /// The initiator's ranges are settled: what it asked for is all it waits for.
    fn settle(&mut self) {
        if self.phase == Phase::Reconciling {
            self.phase = Phase::Settled;
        }
    }

    /// Takes in what the inbox still holds, before a `Done` goes out or comes in.
    fn end(&mut self) {
        self.stats.incomplete += self.inbox.finish();
        self.sync_tally();
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
        if self.phase != Phase::Finished {
            self.end();
        }
        if self.phase == Phase::AwaitingDone {
            self.phase = Phase::Finished;
        }
    }

    /// Queues the requested items that this device has (see [`Outgoing::Items`]).
    fn send_items(
        &mut self,
        store: &Store,
        roster: &Roster,
        hashes: &[[u8; 32]],
    ) -> Result<(), SyncError> {
        let (members, changes): (Vec<[u8; 32]>, Vec<[u8; 32]>) =
            hashes.iter().partition(|h| roster.contains(h));
        let changes = store.in_store_order(&changes)?;
        if members.is_empty() && changes.is_empty() {
            return Ok(());
        }
        self.pushed |= self.side == Side::Initiator;
        self.outgoing.push_back(Outgoing::Items {
            members,
            changes: changes.into(),
        });
        Ok(())
    }

    /// The next batch of changes of the first queued items, up to [`BATCH_BYTES`]
    /// (or one change larger than that).
    fn next_batch(&mut self, store: &Store) -> Result<Vec<WireChange>, SyncError> {
        let Some(Outgoing::Items { changes, .. }) = self.outgoing.front_mut() else {
            return Ok(Vec::new());
        };
        let mut batch = Vec::new();
        let mut batch_bytes = 0;
        while let Some(hash) = changes.pop_front() {
            // Gone since it was queued (a wiped vault): nothing to send.
            let Some(change) = store.signed_changes(&[hash])?.pop() else {
                continue;
            };
            if change.bytes.len() > BATCH_BYTES * 4 {
                // Cannot fit a frame; a change this big is not one Vigil makes.
                tracing::warn!(
                    bytes = change.bytes.len(),
                    "a change too large to send is skipped"
                );
                continue;
            }
            if !batch.is_empty()
                && (batch_bytes + change.bytes.len() > BATCH_BYTES
                    || batch.len() == crate::frame::MAX_CHANGES)
            {
                // Read again for the next frame: one row, cheaper than holding it.
                changes.push_front(hash);
                break;
            }
            batch_bytes += change.bytes.len();
            batch.push(WireChange::from(change));
        }
        self.stats.changes_sent += batch.len() as u64;
        Ok(batch)
    }

    /// Queues control frames; a flight of the initiator that the responder answers
    /// is a round trip.
    fn queue(&mut self, frames: Vec<Frame>) {
        let answered = frames.iter().any(|f| {
            matches!(
                f,
                Frame::Reconcile(_) | Frame::Want(_) | Frame::Done { reply: true, .. }
            )
        });
        if self.side == Side::Initiator && answered {
            self.stats.round_trips += 1;
        }
        self.outgoing
            .extend(frames.into_iter().map(Outgoing::Frame));
    }
}

#[cfg(test)]
mod tests;
