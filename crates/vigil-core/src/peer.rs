//! Sync with peers over QUIC: a [`Node`] listens for the team's devices and dials
//! them, and runs the sans-IO sync session of `vigil-sync` over one stream per
//! connection. The vault is locked only while a frame is handled, never across a
//! network wait, so serving and syncing run side by side.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_store::StoreRead;

use tokio::sync::mpsc;
use vigil_crypto::DevicePublicKey;
use vigil_net::discovery::{Announcement, Discovered};
use vigil_net::{Admission, Connection, Endpoint, FrameReceiver, FrameStream, PeerPolicy};
use vigil_sync::admission::{self, NEWCOMER_FRAME, Opening};
use vigil_sync::{Session, SyncStats};

use crate::clock::now;
use crate::error::{Direction, InviteError, TeamError};
use crate::events::ChangeSource;
use crate::handle::{VaultGuard, WeakVaultHandle};
use crate::invite::Invite;
use crate::policy::TeamPolicy;
use crate::{VaultError, VaultHandle};

/// A session's outcome, for the user and for benchmarks.
#[derive(Debug, Clone, Default)]
pub struct SyncReport {
    /// The peer's device fingerprint.
    pub peer: String,
    /// What the session moved.
    pub stats: SyncStats,
    /// Bytes on the stream (frames with their length prefixes).
    pub stream_bytes_sent: u64,
    /// See `stream_bytes_sent`.
    pub stream_bytes_received: u64,
    /// From the first frame to the last.
    pub duration: Duration,
    /// Dialling and the handshake (zero on the accepting side).
    pub connect_time: Duration,
}

/// Called as batches arrive during a long sync.
type Progress = Arc<dyn Fn(&SyncStats) + Send + Sync>;

/// A device on the network: listens for its team's devices and dials them.
pub struct Node {
    vault: VaultHandle,
    endpoint: Endpoint,
    progress: Option<Progress>,
    /// The node's announcement on the LAN, while it makes one.
    announcement: std::sync::Mutex<Option<Announcement>>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").finish_non_exhaustive()
    }
}

/// Locks the vault for a session: what it stores is told to subscribers as coming
/// from a peer. A task that panicked while it held the vault does not stop the node:
/// see [`VaultHandle::lock_for`].
fn lock(vault: &VaultHandle) -> Result<VaultGuard<'_>, VaultError> {
    vault.lock_for(ChangeSource::Peer)
}

/// The team's admission policy as the transport holds it: before each handshake the
/// vault reads its team again if another process wrote to it meanwhile.
struct LivePolicy {
    vault: WeakVaultHandle,
    policy: Arc<TeamPolicy>,
}

impl PeerPolicy for LivePolicy {
    fn admit(&self, peer: &DevicePublicKey) -> Admission {
        self.policy.admit(peer)
    }

    fn refresh(&self) {
        let Some(vault) = self.vault.upgrade() else {
            return;
        };
        if let Err(e) = lock(&vault).and_then(|mut v| v.reload_team_if_changed()) {
            tracing::warn!(error = %e, "could not read the team again before a handshake");
        }
    }
}

impl Node {
    /// Binds a QUIC endpoint on `addr` (port 0 picks a free one) with the vault's
    /// device key. Must be called within a tokio runtime.
    pub fn bind(vault: VaultHandle, addr: SocketAddr) -> Result<Self, VaultError> {
        let (device, policy) = {
            let v = lock(&vault)?;
            (v.device.clone(), v.policy())
        };
        let policy = Arc::new(LivePolicy {
            vault: vault.downgrade(),
            policy,
        });
        let endpoint = Endpoint::bind(addr, &device, policy, vigil_sync::MAX_FRAME)?;
        Ok(Self {
            vault,
            endpoint,
            progress: None,
            announcement: std::sync::Mutex::default(),
        })
    }

    /// Announces on the LAN, anonymously, that a Vigil device listens on this node's
    /// port, until [`Node::close`] (see `vigil_net::discovery` for what it reveals).
    /// Fails where the network carries no multicast; peers can still dial the
    /// address.
    pub fn announce(&self) -> Result<(), VaultError> {
        let announcement = Announcement::start(self.local_addr()?.port())?;
        *self
            .announcement
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(announcement);
        Ok(())
    }

    /// Calls `progress` as batches arrive during long syncs.
    pub fn on_progress(&mut self, progress: impl Fn(&SyncStats) + Send + Sync + 'static) {
        self.progress = Some(Arc::new(progress));
    }

    /// The address the node listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, VaultError> {
        Ok(self.endpoint.local_addr()?)
    }

    /// The vault this node syncs.
    pub fn vault(&self) -> &VaultHandle {
        &self.vault
    }

    /// Serves devices that connect, each in its own task, until [`Node::close`];
    /// `on_session` hears of every session that ends.
    pub async fn serve(
        &self,
        on_session: impl Fn(Result<SyncReport, VaultError>) + Send + Sync + 'static,
    ) {
        let on_session = Arc::new(on_session);
        while let Some(connection) = self.endpoint.accept().await {
            let vault = self.vault.clone();
            let on_session = Arc::clone(&on_session);
            tokio::spawn(async move {
                let result = respond(&vault, &connection).await;
                if let Err(e) = &result {
                    tracing::warn!(peer = %connection.peer().fingerprint(), error = %e, "session ended with an error");
                }
                connection.close("done");
                on_session(result);
            });
        }
    }

    /// One sync session with the device at `addr`, which must be a team member.
    pub async fn sync(&self, addr: SocketAddr) -> Result<SyncReport, VaultError> {
        let started = Instant::now();
        let connected = dial(|| self.endpoint.connect(addr, None), addr).await?;
        let connection = connected.map_err(|e| match e {
            vigil_net::NetError::Refused { fingerprint } => {
                VaultError::Team(TeamError::PeerUnknownHere { fingerprint })
            }
            other => other.into(),
        })?;
        let connect_time = started.elapsed();
        let stream = connection.open_stream().await?;
        let mut report = initiate(
            &self.vault,
            &connection.peer(),
            stream,
            self.progress.clone(),
        )
        .await;
        connection.close("done");
        if let Ok(r) = &mut report {
            r.peer = connection.peer().fingerprint();
            r.connect_time = connect_time;
        }
        report
    }

    /// Joins the team of `invite`: reaches its coordinator (trying each address),
    /// proves the invitation, and runs the first sync, which brings the team's
    /// membership and incidents. `label` is how the team will know this device.
    pub async fn join(&self, invite: &Invite, label: &str) -> Result<SyncReport, VaultError> {
        if invite.expires <= now() {
            return Err(InviteError::Expired.into());
        }
        if lock(&self.vault)?.roster.is_some() {
            return Err(VaultError::AlreadyInTeam);
        }
        let coordinator = DevicePublicKey::from_bytes(&invite.coordinator)
            .map_err(|_| InviteError::NoCoordinatorKey)?;
        let mut last_error = VaultError::BadInvite(InviteError::NoAddress);
        for &addr in &invite.addresses {
            let started = Instant::now();
            let connection =
                match dial(|| self.endpoint.connect(addr, Some(coordinator)), addr).await {
                    Ok(Ok(c)) => c,
                    Ok(Err(e)) => {
                        last_error = e.into();
                        continue;
                    }
                    Err(e) => {
                        last_error = e;
                        continue;
                    }
                };
            let connect_time = started.elapsed();
            let mut stream = connection.open_stream().await?;
            stream.send(&admission::join(*invite.secret, label)).await?;
            let answer = stream.recv().await?;
            admission::welcomed(answer.as_deref(), invite.team).map_err(InviteError::NotWelcome)?;
            lock(&self.vault)?.enter_team(invite.team)?;
            let mut report =
                initiate(&self.vault, &coordinator, stream, self.progress.clone()).await?;
            connection.close("done");
            // What this device submitted before it had a team was sealed to itself:
            // seal it to the team's coordinators, for the next sync to carry.
            self.vault.lock()?.reshare()?;
            report.peer = connection.peer().fingerprint();
            report.connect_time = connect_time;
            return Ok(report);
        }
        Err(last_error)
    }

    /// Stops listening and announcing, and closes every connection.
    pub fn close(&self) {
        let announcement = self
            .announcement
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(Err(e)) = announcement.map(Announcement::stop) {
            tracing::debug!(error = %e, "the LAN announcement did not confirm its end");
        }
        self.endpoint.close();
    }
}

/// The Vigil devices that announce themselves on the LAN, found by listening for
/// `duration` (see `vigil_net::discovery`: browsing is visible to the network). They
/// say only where to dial; who answers is proven by the handshake.
pub async fn browse_lan(duration: Duration) -> Result<Vec<Discovered>, VaultError> {
    Ok(vigil_net::discovery::browse(duration).await?)
}

/// How long a sync waits before each new try when the peer is busy: 3.5 s in all.
const BUSY_RETRIES: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// How long to wait for a peer to answer at all. QUIC would wait for its idle
/// timeout (30 s); a user at a polling station should hear sooner that nobody is there.
const DIAL_TIMEOUT: Duration = Duration::from_secs(8);

/// Dials with [`DIAL_TIMEOUT`] a try. A peer flooded by strangers refuses at once
/// while its handshakes are full: a member (syncing or joining) tries again after
/// each of [`BUSY_RETRIES`], as a person would.
async fn dial<T, F: Future<Output = Result<T, vigil_net::NetError>>>(
    connect: impl Fn() -> F,
    addr: SocketAddr,
) -> Result<Result<T, vigil_net::NetError>, VaultError> {
    let unreachable = |_| VaultError::Unreachable {
        addr,
        seconds: DIAL_TIMEOUT.as_secs(),
    };
    let mut connected = tokio::time::timeout(DIAL_TIMEOUT, connect())
        .await
        .map_err(unreachable)?;
    for wait in BUSY_RETRIES {
        if !matches!(connected, Err(vigil_net::NetError::Busy)) {
            break;
        }
        tokio::time::sleep(wait).await;
        connected = tokio::time::timeout(DIAL_TIMEOUT, connect())
            .await
            .map_err(unreachable)?;
    }
    Ok(connected)
}

/// Frames waiting to be sent, at most: about 16 MiB of change batches. The session
/// reads its next frame from the store only when there is room, so what it owes a
/// peer that does not read waits as hashes, not as frames in memory.
pub const SEND_QUEUE: usize = 32;

/// Sends frames from a task of its own, so that receiving does not wait on each
/// send: two peers that both have much to send go on reading while their queues
/// have room.
fn spawn_sender(
    mut sender: vigil_net::FrameSender,
) -> (mpsc::Sender<Vec<u8>>, tokio::task::JoinHandle<u64>) {
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(SEND_QUEUE);
    let task = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            // A peer that reads nothing must not hold this task (and the session
            // waiting for it) for good.
            match tokio::time::timeout(FRAME_DEADLINE, sender.send(&frame)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "sending stopped");
                    break;
                }
                Err(_) => {
                    tracing::debug!("sending stopped: the peer reads nothing");
                    return sender.bytes_sent();
                }
            }
        }
        if sender.finish().await.is_ok() {
            // Closing the connection drops unacknowledged data: wait for the peer's
            // acknowledgement first (briefly: a vanished peer must not hold us).
            let _ = tokio::time::timeout(Duration::from_secs(5), sender.delivered()).await;
        }
        sender.bytes_sent()
    });
    (tx, task)
}

/// Queues frames, waiting while the queue is full, for at most [`FRAME_DEADLINE`]
/// a frame: a peer that stops reading gives its connection back.
async fn queue(tx: &mpsc::Sender<Vec<u8>>, frames: Vec<Vec<u8>>) -> Result<(), VaultError> {
    for frame in frames {
        match tokio::time::timeout(FRAME_DEADLINE, tx.send(frame)).await {
            // A closed queue means the sender task ended on a network error, which
            // the receiving side is about to see too.
            Ok(_) => {}
            Err(_) => return Err(late()),
        }
    }
    Ok(())
}

/// Runs a session as the side that connected.
async fn initiate(
    vault: &VaultHandle,
    peer: &DevicePublicKey,
    stream: FrameStream,
    progress: Option<Progress>,
) -> Result<SyncReport, VaultError> {
    let started = Instant::now();
    let (sender, mut receiver) = stream.split();
    let (tx, send_task) = spawn_sender(sender);
    let (mut session, position) = {
        let v = lock(vault)?;
        (
            Session::initiate(&v.store, &v.device, &v.taxonomy)?,
            v.store.log_position()?,
        )
    };
    let result = pump(
        vault,
        peer,
        &mut session,
        &mut receiver,
        &tx,
        progress.as_deref(),
    )
    .await;
    drop(tx);
    let sent = send_task.await.unwrap_or(0);
    result?;
    remember(vault, peer, position, &session)?;
    Ok(SyncReport {
        stats: session.stats().clone(),
        stream_bytes_sent: sent,
        stream_bytes_received: receiver.bytes_received(),
        duration: started.elapsed(),
        ..SyncReport::default()
    })
}

/// How long a connecting device has to open its stream and, if this device does
/// not know it, to present an invitation or a proof of membership.
pub const NEWCOMER_DEADLINE: Duration = Duration::from_secs(10);

/// How long a session waits for the peer's next frame (a 4 MiB frame at 50 KB/s,
/// a poor hotspot, takes 80 s), or for room to queue one of its own.
pub const FRAME_DEADLINE: Duration = Duration::from_secs(120);

/// How long a session may last in all: a whole campaign's store (tens of MB) over
/// a poor hotspot takes minutes; a peer that trickles frames to stay under the
/// frame deadline gives its connection back after this.
pub const SESSION_DEADLINE: Duration = Duration::from_secs(30 * 60);

fn late() -> VaultError {
    VaultError::Network(vigil_net::NetError::Stream(
        "the peer did not answer in time".into(),
    ))
}

/// Runs a session as the side that was connected to. A device this one does not know
/// first presents an invitation, or proves it was added since this device last synced.
async fn respond(vault: &VaultHandle, connection: &Connection) -> Result<SyncReport, VaultError> {
    let started = Instant::now();
    let stream = tokio::time::timeout(NEWCOMER_DEADLINE, connection.accept_stream())
        .await
        .map_err(|_| late())??;
    let (sender, mut receiver) = stream.split();
    let (tx, send_task) = spawn_sender(sender);
    let result = async {
        let first = if connection.admission() == Admission::Newcomer {
            // A device that proved nothing yet holds a connection for seconds, not
            // for as long as its keep-alives would.
            tokio::time::timeout(
                NEWCOMER_DEADLINE,
                introduce(vault, connection, &mut receiver, &tx),
            )
            .await
            .map_err(|_| late())??
        } else {
            None
        };
        let (mut session, position) = {
            let v = lock(vault)?;
            (
                Session::respond(&v.store, &v.device, &v.taxonomy)?,
                v.store.log_position()?,
            )
        };
        if let Some(frame) = first {
            handle(vault, &connection.peer(), &mut session, &frame)?;
        }
        pump(
            vault,
            &connection.peer(),
            &mut session,
            &mut receiver,
            &tx,
            None,
        )
        .await?;
        remember(vault, &connection.peer(), position, &session)?;
        Ok::<_, VaultError>(session)
    }
    .await;
    drop(tx);
    let sent = send_task.await.unwrap_or(0);
    let session = result?;
    Ok(SyncReport {
        peer: connection.peer().fingerprint(),
        stats: session.stats().clone(),
        stream_bytes_sent: sent,
        stream_bytes_received: receiver.bytes_received(),
        duration: started.elapsed(),
        connect_time: Duration::ZERO,
    })
}

/// Settles who an unknown device is, from its first frame: a `Join` with an
/// invitation's secret, or (asked with `Prove`) the membership log that adds it.
/// Returns the first frame of the session if it came before the proof.
async fn introduce(
    vault: &VaultHandle,
    connection: &Connection,
    receiver: &mut FrameReceiver,
    tx: &mpsc::Sender<Vec<u8>>,
) -> Result<Option<Vec<u8>>, VaultError> {
    let not_member = || VaultError::Team(TeamError::PeerNotMember);
    let bytes = receiver
        .recv_at_most(NEWCOMER_FRAME)
        .await?
        .ok_or_else(not_member)?;
    let first = match admission::opening(bytes)? {
        Opening::Join { secret, label } => {
            let team = {
                let mut v = lock(vault)?;
                v.reload_team_if_changed()?;
                v.admit(&connection.peer(), &secret, &label)?;
                v.roster
                    .as_ref()
                    .map(vigil_team::Roster::team)
                    .ok_or(VaultError::NoTeam)?
            };
            queue(tx, vec![admission::welcome(team)]).await?;
            return Ok(None);
        }
        Opening::Session(first) => first,
    };
    queue(tx, vec![admission::prove()]).await?;
    let proof = receiver
        .recv_at_most(NEWCOMER_FRAME)
        .await?
        .ok_or_else(not_member)?;
    let Ok(entries) = admission::proof(&proof) else {
        return Err(not_member());
    };
    // Read on a copy of the team first, without the vault (up to a few thousand
    // signature checks, on the blocking pool): a stranger's proof is stored only if
    // it admits the stranger (a thief's void entries never reach the log this way),
    // and nobody waits for the vault while a stranger's proof is read.
    let team = {
        let mut v = lock(vault)?;
        v.reload_team_if_changed()?;
        v.roster.clone().ok_or(VaultError::NoTeam)?
    };
    let peer = connection.peer().to_bytes();
    let (admits, entries) = tokio::task::spawn_blocking(move || {
        (admission::proof_admits(&team, &entries, &peer), entries)
    })
    .await
    .map_err(|_| not_member())?;
    if !admits {
        return Err(not_member());
    }
    let mut guard = lock(vault)?;
    let v = &mut *guard;
    v.reload_team_if_changed()?;
    let roster = v.roster.as_mut().ok_or(VaultError::NoTeam)?;
    vigil_sync::Inbox::new(&v.device, &v.taxonomy).accept_members(&mut v.store, roster, entries)?;
    v.refresh_policy()?;
    if v.roster
        .as_ref()
        .and_then(|r| r.role_of(&connection.peer().to_bytes()))
        .is_none()
    {
        return Err(not_member());
    }
    Ok(Some(first))
}

/// Notes how far the peer holds this device's log after the session (see
/// [`Session::peer_holds_up_to`]), where bundles for it will start.
fn remember(
    vault: &VaultHandle,
    peer: &DevicePublicKey,
    start: i64,
    session: &Session,
) -> Result<(), VaultError> {
    let mut v = lock(vault)?;
    let end = v.store.log_position()?;
    if let Some(position) = session.peer_holds_up_to(start, end) {
        v.store
            .write(|w| w.set_peer_position(&peer.to_bytes(), position, now()))?;
    }
    Ok(())
}

/// Handles one frame of a session with the vault locked.
fn handle(
    vault: &VaultHandle,
    peer: &DevicePublicKey,
    session: &mut Session,
    frame: &[u8],
) -> Result<(), VaultError> {
    let mut guard = lock(vault)?;
    let v = &mut *guard;
    // Each batch is judged by the team as stored now, whoever wrote it: a revocation
    // written by another process meanwhile counts from this frame on.
    v.reload_team_if_changed()?;
    let roster = v.roster.as_mut().ok_or(VaultError::NoTeam)?;
    if roster.is_revoked(&peer.to_bytes()) {
        return Err(TeamError::PeerRevokedDuringSession(Direction::TakenFrom).into());
    }
    match session.receive(frame, &mut v.store, roster) {
        Ok(taken) if taken.members == 0 => Ok(()),
        // The team changed: admit by it from the next handshake on.
        Ok(_) => v.refresh_policy(),
        Err(e) => {
            tracing::warn!(error = %e, "peer broke the protocol");
            // Entries stored before the frame failed still count.
            v.refresh_policy()?;
            Err(e.into())
        }
    }
}

/// The session's next frame to send, read with the vault locked for that frame
/// only; nothing more goes to a peer revoked meanwhile.
fn next_frame(
    vault: &VaultHandle,
    peer: &DevicePublicKey,
    session: &mut Session,
) -> Result<Option<Vec<u8>>, VaultError> {
    let mut guard = lock(vault)?;
    let v = &mut *guard;
    v.reload_team_if_changed()?;
    let roster = v.roster.as_ref().ok_or(VaultError::NoTeam)?;
    if roster.is_revoked(&peer.to_bytes()) {
        return Err(TeamError::PeerRevokedDuringSession(Direction::SentTo).into());
    }
    Ok(session.next_frame(&v.store, roster)?)
}

/// Feeds frames from the peer into the session and the session's frames to the
/// sender until it is over. Receiving never waits on sending: while the send queue
/// is full, frames from the peer are still taken in (their answers wait in the
/// session as hashes), so two peers that owe each other much never wait on each
/// other; the session's frames are read from the store only as the queue has room.
async fn pump(
    vault: &VaultHandle,
    peer: &DevicePublicKey,
    session: &mut Session,
    receiver: &mut FrameReceiver,
    tx: &mpsc::Sender<Vec<u8>>,
    progress: Option<&(dyn Fn(&SyncStats) + Send + Sync)>,
) -> Result<(), VaultError> {
    let ends = Instant::now() + SESSION_DEADLINE;
    while !session.is_finished() {
        // A peer that goes silent mid-session, or reads nothing, gives its connection
        // back: keep-alives alone would hold it open for good.
        let wait = FRAME_DEADLINE.min(ends.saturating_duration_since(Instant::now()));
        if wait.is_zero() {
            return Err(late());
        }
        tokio::select! {
            // Sending first keeps the pipe full; while the queue is full, the peer's
            // frames are taken in. `Sender::reserve` and `FrameReceiver::recv` are
            // both cancel-safe.
            biased;
            room = tx.reserve(), if session.has_outgoing() => {
                // A closed queue means the sender task ended on a network error or
                // a peer that reads nothing.
                let room = room.map_err(|_| late())?;
                if let Some(frame) = next_frame(vault, peer, session)? {
                    room.send(frame);
                }
            }
            next = receiver.recv() => {
                let Some(frame) = next? else {
                    session.peer_closed();
                    if session.is_finished() {
                        break;
                    }
                    // Whatever arrived is kept; the sync did not complete.
                    return Err(VaultError::Network(vigil_net::NetError::Stream(
                        "the peer ended the session before it was done (a peer that does not know this device yet refuses it)".into(),
                    )));
                };
                handle(vault, peer, session, &frame)?;
                if let Some(progress) = progress {
                    progress(session.stats());
                }
            }
            () = tokio::time::sleep(wait) => return Err(late()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{Incident, IncidentId, KdfParams, ListFilter, Role, Vault};

    const PASS: &[u8] = b"peer test";
    const FAST: KdfParams = KdfParams {
        memory_kib: 8 * 1024,
        iterations: 1,
        lanes: 1,
    };

    fn key(vault: &VaultHandle) -> DevicePublicKey {
        vault.lock().unwrap().device.public()
    }

    /// One session between two vaults, frame by frame as [`pump`] runs it, without a
    /// network; `meanwhile` runs once the responder has handled the first frame.
    fn session(
        initiator: &VaultHandle,
        responder: &VaultHandle,
        meanwhile: impl FnOnce(),
    ) -> Result<(), VaultError> {
        let (ini_key, resp_key) = (key(initiator), key(responder));
        let mut ini = {
            let v = initiator.lock().unwrap();
            Session::initiate(&v.store, &v.device, &v.taxonomy)?
        };
        let mut resp = {
            let v = responder.lock().unwrap();
            Session::respond(&v.store, &v.device, &v.taxonomy)?
        };
        let drain = |vault: &VaultHandle, peer, session: &mut Session| {
            let mut frames = Vec::new();
            while let Some(frame) = next_frame(vault, peer, session)? {
                frames.push(frame);
            }
            Ok::<_, VaultError>(frames)
        };
        let mut to_responder = drain(initiator, &resp_key, &mut ini)?;
        let mut meanwhile = Some(meanwhile);
        while !to_responder.is_empty() {
            let mut to_initiator = Vec::new();
            for frame in to_responder.drain(..) {
                handle(responder, &ini_key, &mut resp, &frame)?;
                to_initiator.extend(drain(responder, &ini_key, &mut resp)?);
                if let Some(f) = meanwhile.take() {
                    f();
                }
            }
            for frame in to_initiator {
                handle(initiator, &resp_key, &mut ini, &frame)?;
                to_responder.extend(drain(initiator, &resp_key, &mut ini)?);
            }
        }
        Ok(())
    }

    /// A wiped vault (panic button, duress) that is still serving admits nobody:
    /// its members' keys are not kept in the admission policy either.
    #[test]
    fn a_wiped_vault_admits_nobody() {
        let (dir_hq, dir_field) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut hq = Vault::create(&dir_hq.path().join("vault"), PASS, FAST).unwrap();
        let field =
            VaultHandle::new(Vault::create(&dir_field.path().join("vault"), PASS, FAST).unwrap());
        hq.create_team("hq").unwrap();
        let invite = hq.invite(Role::Observer, 600, Vec::new()).unwrap();
        hq.admit(&key(&field), &invite.secret, "field").unwrap();
        let policy = hq.policy();
        assert_eq!(policy.admit(&key(&field)), Admission::Member);
        hq.wipe().unwrap();
        assert_eq!(policy.admit(&key(&field)), Admission::Refused);
        let stranger = vigil_crypto::DeviceKey::generate().public();
        assert_eq!(policy.admit(&stranger), Admission::Refused);
    }

    /// Issue 11: the serving vault holds one connection; another (as another process
    /// would) revokes the device mid-session. The session takes nothing more from it.
    #[test]
    fn an_open_session_takes_nothing_from_a_device_revoked_by_another_connection() {
        let (dir_hq, dir_field) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let hq_path = dir_hq.path().join("vault");
        let hq = VaultHandle::new(Vault::create(&hq_path, PASS, FAST).unwrap());
        let field =
            VaultHandle::new(Vault::create(&dir_field.path().join("vault"), PASS, FAST).unwrap());
        let fingerprint = key(&field).fingerprint();
        {
            let mut v = hq.lock().unwrap();
            v.create_team("hq").unwrap();
            let invite = v.invite(Role::Observer, 600, Vec::new()).unwrap();
            v.admit(&key(&field), &invite.secret, "field").unwrap();
            field.lock().unwrap().enter_team(invite.team).unwrap();
        }
        session(&field, &hq, || {}).unwrap();
        assert_eq!(field.lock().unwrap().role(), Some(Role::Observer));

        let mut incident = Incident::example();
        incident.id = IncidentId::random();
        field.lock().unwrap().add(&incident).unwrap();
        let refused = session(&field, &hq, || {
            // The phone was lost an hour ago; what it signed since is refused.
            let mut other = Vault::open(&hq_path, PASS).unwrap();
            other.revoke(&fingerprint, Some(now() - 3600)).unwrap();
        });
        let v = hq.lock().unwrap();
        assert!(
            v.list(&ListFilter::default()).unwrap().is_empty(),
            "the revoked device's new report is not stored"
        );
        assert!(refused.is_err(), "the session with the revoked device ends");
        assert_eq!(v.policy.admit(&key(&field)), Admission::Refused);
        assert!(v.members().unwrap().iter().any(|m| m.revoked));
    }
}
