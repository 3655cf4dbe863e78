//! The QUIC endpoint and its authenticated connections.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quinn::crypto::rustls::{HandshakeData, QuicClientConfig, QuicServerConfig};
use quinn::{IdleTimeout, ReadError, ReadExactError, TransportConfig, VarInt};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::sign::CertifiedKey;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};
use vigil_crypto::{DeviceKey, DevicePublicKey};

use crate::frame::FrameStream;
use crate::tls::{self, ClientRefusal};
use crate::{ALPN, Admission, NetError, PeerPolicy};

/// A connection unused for this long is dropped.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Keep-alive pings, well inside the idle timeout.
const KEEP_ALIVE: Duration = Duration::from_secs(10);
/// The longest an incoming handshake may take, welcome included; keep-alives would
/// otherwise let a stalling peer hold a handshake open forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);
/// Authenticated connections waiting for [`Endpoint::accept`].
const ACCEPT_QUEUE: usize = 16;
/// Incoming connections at once, handshakes included: a laptop serving on a
/// protest's hotspot is reachable by everyone on it.
pub const MAX_INCOMING: usize = 64;
/// Incoming connections at once from one address.
pub const MAX_INCOMING_PER_ADDRESS: usize = 8;
/// Of those, connections of devices this one does not know yet (newcomers, held
/// only until they prove themselves): the rest are kept for members.
pub const MAX_NEWCOMERS: usize = 16;
/// Handshakes in progress at once, of clients whose address is validated (every
/// client is asked to prove its address first, by QUIC Retry, so spoofed Initials
/// cost no signature and hold no place).
pub const MAX_HANDSHAKES: usize = 16;
/// Receive windows, per stream and per connection. A connection carries one stream,
/// so this bounds what a peer can make us buffer before we read; frames larger than
/// it still flow, credit coming back as they are read.
pub const RECEIVE_WINDOW: u32 = 1024 * 1024;

/// The byte the server sends on its welcome stream once it has admitted a client.
const WELCOME: u8 = 0x01;

/// Application close codes.
const CLOSE_NORMAL: u32 = 0;
const CLOSE_REFUSED: u32 = 1;
const CLOSE_PROTOCOL: u32 = 2;
const CLOSE_NEWCOMER_LIMIT: u32 = 3;

/// One QUIC endpoint on one UDP socket that both listens and dials.
pub struct Endpoint {
    inner: quinn::Endpoint,
    own: Arc<CertifiedKey>,
    provider: Arc<CryptoProvider>,
    policy: Arc<dyn PeerPolicy>,
    transport: Arc<TransportConfig>,
    incoming: tokio::sync::Mutex<mpsc::Receiver<Connection>>,
    closed: AtomicBool,
    max_frame: usize,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("local_addr", &self.inner.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Binds a UDP socket at `addr` and starts accepting handshakes, identified by
    /// `device` and admitting peers by `policy`; its streams carry frames of at most
    /// `max_frame` bytes (the protocol's limit, which this crate does not know). Must be
    /// called inside a tokio runtime.
    pub fn bind(
        addr: SocketAddr,
        device: &DeviceKey,
        policy: Arc<dyn PeerPolicy>,
        max_frame: usize,
    ) -> Result<Self, NetError> {
        let provider = tls::provider();
        let own = tls::certified_key(device)?;
        let transport = Arc::new(transport_config(0));
        let client_transport = Arc::new(transport_config(1));

        let server_tls = tls::server_config(provider.clone(), own.clone(), policy.clone())?;
        let server_quic = QuicServerConfig::try_from(server_tls)
            .map_err(|error| NetError::TlsConfig(error.to_string()))?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(server_quic));
        server.transport_config(transport.clone());

        let inner = quinn::Endpoint::server(server, addr)?;
        let (sender, receiver) = mpsc::channel(ACCEPT_QUEUE);
        tokio::spawn(accept_loop(inner.clone(), policy.clone(), sender));
        info!(
            addr = %inner.local_addr()?,
            device = %device.public().fingerprint(),
            "endpoint bound"
        );
        Ok(Self {
            inner,
            own,
            provider,
            policy,
            transport: client_transport,
            incoming: tokio::sync::Mutex::new(receiver),
            closed: AtomicBool::new(false),
            max_frame,
        })
    }

    /// The address the socket is bound to (with the real port when bound to port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, NetError> {
        Ok(self.inner.local_addr()?)
    }

    /// Dials the peer at `addr`. With `expected`, the peer must prove exactly that key (a
    /// key pinned by an invite), whatever the policy says; without, the policy must call
    /// it a [`Member`](Admission::Member).
    pub async fn connect(
        &self,
        addr: SocketAddr,
        expected: Option<DevicePublicKey>,
    ) -> Result<Connection, NetError> {
        refresh(&self.policy).await;
        let refusal = Arc::new(Mutex::new(None::<ClientRefusal>));
        let client_tls = tls::client_config(
            self.provider.clone(),
            self.own.clone(),
            self.policy.clone(),
            expected,
            refusal.clone(),
        )?;
        let client_quic = QuicClientConfig::try_from(client_tls)
            .map_err(|error| NetError::TlsConfig(error.to_string()))?;
        let mut client = quinn::ClientConfig::new(Arc::new(client_quic));
        client.transport_config(self.transport.clone());

        let connecting = self
            .inner
            .connect_with(client, addr, tls::SERVER_NAME)
            .map_err(|error| NetError::Connect(error.to_string()))?;
        let connection = match connecting.await {
            Ok(connection) => connection,
            Err(error) => {
                let ours = refusal
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                return Err(match (ours, &error) {
                    (Some(refusal), _) => refusal.into(),
                    (None, quinn::ConnectionError::ConnectionClosed(close))
                        if close.error_code == quinn::TransportErrorCode::CONNECTION_REFUSED =>
                    {
                        NetError::Busy
                    }
                    (None, _) => NetError::Connect(error.to_string()),
                });
            }
        };
        let peer = match authenticated_peer(&connection) {
            Ok(peer) => peer,
            Err(error) => {
                connection.close(VarInt::from_u32(CLOSE_PROTOCOL), b"");
                return Err(error);
            }
        };
        // The verifier already checked this; a second look costs nothing.
        if let Some(expected) = expected
            && expected != peer
        {
            connection.close(VarInt::from_u32(CLOSE_REFUSED), b"");
            return Err(ClientRefusal::Unexpected {
                expected,
                found: peer,
            }
            .into());
        }
        // In TLS 1.3 the client is done before the server has judged the client's
        // certificate, so wait for the server's word that we are in.
        let welcome = tokio::time::timeout(HANDSHAKE_TIMEOUT, await_welcome(&connection))
            .await
            .unwrap_or_else(|_| Err(NetError::Connect("no welcome from peer".into())));
        if let Err(error) = welcome {
            connection.close(VarInt::from_u32(CLOSE_PROTOCOL), b"");
            return Err(error);
        }
        debug!(peer = %peer.fingerprint(), %addr, "connected");
        let mut connection = Connection::new(connection, peer, Admission::Member);
        connection.max_frame = self.max_frame;
        Ok(connection)
    }

    /// The next authenticated incoming connection; `None` once the endpoint is closed.
    /// Handshakes that fail (refused keys, garbage, timeouts) are logged and skipped.
    pub async fn accept(&self) -> Option<Connection> {
        if self.closed.load(Ordering::Acquire) {
            return None;
        }
        let mut connection = self.incoming.lock().await.recv().await?;
        if self.closed.load(Ordering::Acquire) {
            return None;
        }
        connection.max_frame = self.max_frame;
        Some(connection)
    }

    /// Closes every connection and stops accepting; pending [`accept`](Self::accept)s
    /// return `None`.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.inner
            .close(VarInt::from_u32(CLOSE_NORMAL), b"endpoint closed");
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        // Nobody can accept any more: let the accept loop see it and stop.
        self.incoming.get_mut().close();
    }
}

/// Transport parameters; `uni_streams` is how many unidirectional streams the peer may
/// open: none towards a server, the one welcome stream towards a client.
fn transport_config(uni_streams: u32) -> TransportConfig {
    let mut transport = TransportConfig::default();
    // Both constants are far below QUIC's limit for idle timeouts.
    transport.max_idle_timeout(IdleTimeout::try_from(IDLE_TIMEOUT).ok());
    transport.keep_alive_interval(Some(KEEP_ALIVE));
    // Frames travel on bidirectional streams only, one per connection, opened by the
    // side that dialled: the server allows one from the start (a limit lowered after
    // the handshake comes too late, the transport parameters having advertised
    // more), the client none.
    transport.max_concurrent_uni_streams(VarInt::from_u32(uni_streams));
    let bidi = if uni_streams == 0 { 1 } else { 0 };
    transport.max_concurrent_bidi_streams(VarInt::from_u32(bidi));
    transport.stream_receive_window(VarInt::from_u32(RECEIVE_WINDOW));
    transport.receive_window(VarInt::from_u32(RECEIVE_WINDOW + 64 * 1024));
    transport
}

/// Incoming connections held now, in all and per address; a [`Slot`] gives its
/// place back when dropped.
#[derive(Debug, Default)]
struct Occupancy {
    held: Mutex<(usize, std::collections::HashMap<std::net::IpAddr, usize>)>,
    handshakes: std::sync::atomic::AtomicUsize,
    newcomers: std::sync::atomic::AtomicUsize,
}

/// One incoming connection's place in the [`Occupancy`].
#[derive(Debug)]
struct Slot {
    occupancy: Arc<Occupancy>,
    address: std::net::IpAddr,
    newcomer: bool,
}

impl Occupancy {
    fn take(self: &Arc<Self>, address: std::net::IpAddr) -> Option<Slot> {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let from_address = held.1.get(&address).copied().unwrap_or(0);
        if held.0 >= MAX_INCOMING || from_address >= MAX_INCOMING_PER_ADDRESS {
            return None;
        }
        held.0 += 1;
        held.1.insert(address, from_address + 1);
        Some(Slot {
            occupancy: Arc::clone(self),
            address,
            newcomer: false,
        })
    }
}

impl Slot {
    /// Counts the connection among newcomers; false if their share is full.
    fn as_newcomer(&mut self) -> bool {
        let newcomers = &self.occupancy.newcomers;
        if newcomers.fetch_add(1, Ordering::AcqRel) >= MAX_NEWCOMERS {
            newcomers.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        self.newcomer = true;
        true
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.newcomer {
            self.occupancy.newcomers.fetch_sub(1, Ordering::AcqRel);
        }
        let mut held = self
            .occupancy
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.0 = held.0.saturating_sub(1);
        if let Some(n) = held.1.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                held.1.remove(&self.address);
            }
        }
    }
}

/// Runs handshakes as they arrive, each on its own task, and queues the connections that
/// pass. Ends when the endpoint closes or the [`Endpoint`] is dropped.
async fn accept_loop(
    endpoint: quinn::Endpoint,
    policy: Arc<dyn PeerPolicy>,
    queue: mpsc::Sender<Connection>,
) {
    let occupancy = Arc::new(Occupancy::default());
    loop {
        let incoming = tokio::select! {
            incoming = endpoint.accept() => incoming,
            () = queue.closed() => None,
        };
        let Some(incoming) = incoming else { break };
        let remote = incoming.remote_address();
        // Before anything counts, a client shows it receives at the address it
        // claims (QUIC Retry, one round trip): spoofed packets then hold no
        // handshake and take no address's places.
        if !incoming.remote_address_validated() {
            if let Err(error) = incoming.retry() {
                error.into_incoming().ignore();
            }
            continue;
        }
        // Judged before any cryptography: a full server refuses at once.
        let Some(slot) = occupancy.take(remote.ip()) else {
            debug!(%remote, "incoming connection refused: too many connections");
            incoming.refuse();
            continue;
        };
        if occupancy.handshakes.load(Ordering::Acquire) >= MAX_HANDSHAKES {
            incoming.refuse();
            continue;
        }
        occupancy.handshakes.fetch_add(1, Ordering::AcqRel);
        let policy = policy.clone();
        let queue = queue.clone();
        let occupancy = Arc::clone(&occupancy);
        tokio::spawn(async move {
            let judged = async {
                refresh(&policy).await;
                handshake(incoming, policy.as_ref()).await
            };
            let outcome = tokio::time::timeout(HANDSHAKE_TIMEOUT, judged)
                .await
                .unwrap_or_else(|_| Err(NetError::Connect("handshake timed out".into())));
            occupancy.handshakes.fetch_sub(1, Ordering::AcqRel);
            match outcome {
                Ok(mut connection) => {
                    let mut slot = slot;
                    if connection.admission == Admission::Newcomer && !slot.as_newcomer() {
                        debug!(%remote, "newcomer refused: too many newcomers");
                        connection
                            .inner
                            .close(VarInt::from_u32(CLOSE_NEWCOMER_LIMIT), b"busy");
                        return;
                    }
                    // The place is given back when the last handle on the connection
                    // is dropped, which closes it.
                    connection.slot = Some(Arc::new(slot));
                    // If nobody accepts any more, dropping the connection closes it.
                    let _ = queue.send(connection).await;
                }
                // A stranger, a revoked device, or not Vigil at all: worth a line
                // in a coordinator's log, with the reason.
                Err(error) => {
                    tracing::warn!(%remote, %error, "incoming connection refused at the handshake")
                }
            }
        });
    }
    debug!("accept loop ended");
}

/// Lets the policy catch up before it judges a handshake, on a blocking thread: a
/// policy that waits for its storage holds up no other connection.
async fn refresh(policy: &Arc<dyn PeerPolicy>) {
    let policy = Arc::clone(policy);
    if tokio::task::spawn_blocking(move || policy.refresh())
        .await
        .is_err()
    {
        warn!("the admission policy failed to refresh; judging by it as it stands");
    }
}

async fn handshake(
    incoming: quinn::Incoming,
    policy: &dyn PeerPolicy,
) -> Result<Connection, NetError> {
    let connection = incoming
        .accept()
        .map_err(|error| NetError::Connect(error.to_string()))?
        .await
        .map_err(|error| NetError::Connect(error.to_string()))?;
    let peer = match authenticated_peer(&connection) {
        Ok(peer) => peer,
        Err(error) => {
            connection.close(VarInt::from_u32(CLOSE_PROTOCOL), b"");
            return Err(error);
        }
    };
    // The verifier admitted this key moments ago; ask again for the admission itself, so
    // a revocation in between still counts.
    let admission = policy.admit(&peer);
    if admission == Admission::Refused {
        info!(peer = %peer.fingerprint(), "refusing client");
        connection.close(VarInt::from_u32(CLOSE_REFUSED), b"");
        return Err(NetError::Refused {
            fingerprint: peer.fingerprint(),
        });
    }
    if admission == Admission::Newcomer {
        connection.set_max_concurrent_bi_streams(VarInt::from_u32(1));
    }
    send_welcome(&connection).await?;
    debug!(peer = %peer.fingerprint(), ?admission, remote = %connection.remote_address(), "accepted");
    Ok(Connection::new(connection, peer, admission))
}

/// Tells an admitted client it is in: one byte on a unidirectional stream.
async fn send_welcome(connection: &quinn::Connection) -> Result<(), NetError> {
    let mut welcome = connection.open_uni().await?;
    welcome
        .write_all(&[WELCOME])
        .await
        .map_err(|error| NetError::Connect(error.to_string()))?;
    welcome
        .finish()
        .map_err(|error| NetError::Connect(error.to_string()))
}

/// Waits for the server's welcome; a server that refuses our certificate closes the
/// connection instead. Bounded by the idle timeout.
async fn await_welcome(connection: &quinn::Connection) -> Result<(), NetError> {
    let mut welcome = connection.accept_uni().await.map_err(rejection)?;
    let mut byte = [0u8; 1];
    match welcome.read_exact(&mut byte).await {
        Ok(()) if byte[0] == WELCOME => Ok(()),
        Ok(()) => Err(NetError::Connect("unexpected welcome from peer".into())),
        Err(ReadExactError::ReadError(ReadError::ConnectionLost(lost))) => Err(rejection(lost)),
        Err(error) => Err(NetError::Connect(error.to_string())),
    }
}

/// Reads a connection that closed before the welcome: a TLS alert or our refusal code
/// means the server would not admit us.
fn rejection(error: quinn::ConnectionError) -> NetError {
    let rejected = match &error {
        quinn::ConnectionError::ConnectionClosed(close) => {
            (0x100..=0x1ff).contains(&u64::from(close.error_code))
        }
        quinn::ConnectionError::ApplicationClosed(close) => {
            close.error_code == VarInt::from_u32(CLOSE_REFUSED)
        }
        _ => false,
    };
    if rejected {
        NetError::RejectedByPeer
    } else {
        NetError::Connect(error.to_string())
    }
}

/// The device key the peer proved in the handshake, after checking the ALPN.
fn authenticated_peer(connection: &quinn::Connection) -> Result<DevicePublicKey, NetError> {
    let alpn_ok = connection
        .handshake_data()
        .and_then(|data| data.downcast::<HandshakeData>().ok())
        .is_some_and(|data| data.protocol.as_deref() == Some(ALPN));
    if !alpn_ok {
        return Err(NetError::Connect(
            "peer did not negotiate ALPN vigil/1".into(),
        ));
    }
    let certs = connection
        .peer_identity()
        .and_then(|identity| identity.downcast::<Vec<CertificateDer<'static>>>().ok())
        .ok_or_else(|| NetError::Connect("peer presented no certificate".into()))?;
    let cert = certs
        .first()
        .ok_or_else(|| NetError::Connect("peer presented no certificate".into()))?;
    tls::device_key_of(cert).map_err(|error| NetError::Connect(error.to_string()))
}

/// A QUIC connection to a peer whose device key was proven in the handshake.
#[derive(Debug, Clone)]
pub struct Connection {
    inner: quinn::Connection,
    peer: DevicePublicKey,
    admission: Admission,
    accepted_streams: Arc<AtomicU32>,
    /// An incoming connection's place among those the endpoint holds.
    slot: Option<Arc<Slot>>,
    /// The longest frame its streams carry; set by the endpoint that hands it out.
    max_frame: usize,
}

impl Connection {
    fn new(inner: quinn::Connection, peer: DevicePublicKey, admission: Admission) -> Self {
        Self {
            inner,
            peer,
            admission,
            accepted_streams: Arc::new(AtomicU32::new(0)),
            slot: None,
            max_frame: 0,
        }
    }

    /// The peer's device key, proven in the TLS handshake.
    pub fn peer(&self) -> DevicePublicKey {
        self.peer
    }

    /// What our policy said about the peer when it connected to us. Connections we dialled
    /// are always [`Member`](Admission::Member): we only dial members and pinned keys.
    pub fn admission(&self) -> Admission {
        self.admission
    }

    /// Opens a new bidirectional frame stream. The peer sees it once the first frame is sent.
    pub async fn open_stream(&self) -> Result<FrameStream, NetError> {
        let (send, recv) = self.inner.open_bi().await?;
        Ok(FrameStream::new(send, recv, self.max_frame))
    }

    /// Waits for the peer to open a frame stream. A newcomer gets one; a second one
    /// closes the connection with [`NetError::NewcomerStreamLimit`].
    pub async fn accept_stream(&self) -> Result<FrameStream, NetError> {
        let (send, recv) = self.inner.accept_bi().await?;
        if self.admission == Admission::Newcomer
            && self.accepted_streams.fetch_add(1, Ordering::AcqRel) >= 1
        {
            warn!(peer = %self.peer.fingerprint(), "newcomer opened a second stream");
            self.inner
                .close(VarInt::from_u32(CLOSE_NEWCOMER_LIMIT), b"one stream only");
            return Err(NetError::NewcomerStreamLimit);
        }
        Ok(FrameStream::new(send, recv, self.max_frame))
    }

    /// Closes the connection; `reason` is sent to the peer, so keep it free of secrets.
    pub fn close(&self, reason: &str) {
        self.inner
            .close(VarInt::from_u32(CLOSE_NORMAL), reason.as_bytes());
    }

    /// The peer's current address.
    pub fn remote_address(&self) -> SocketAddr {
        self.inner.remote_address()
    }

    /// Waits until the connection is closed, by either side, and says why.
    pub async fn closed(&self) -> NetError {
        NetError::ConnectionLost(self.inner.closed().await)
    }
}
