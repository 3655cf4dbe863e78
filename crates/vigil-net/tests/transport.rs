//! The transport over real QUIC on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::timeout;
use vigil_net::{
    Admission, Connection, DeviceKey, DevicePublicKey, Endpoint, NetError, PeerPolicy,
};

/// A policy the test can change at any time; unknown keys are refused.
#[derive(Default)]
struct Roster(Mutex<HashMap<[u8; 32], Admission>>);

impl Roster {
    fn with(entries: &[(&DeviceKey, Admission)]) -> Arc<Self> {
        let roster = Arc::new(Self::default());
        for (key, admission) in entries {
            roster.set(key, *admission);
        }
        roster
    }

    fn set(&self, key: &DeviceKey, admission: Admission) {
        self.0
            .lock()
            .unwrap()
            .insert(key.public().to_bytes(), admission);
    }
}

impl PeerPolicy for Roster {
    fn admit(&self, peer: &DevicePublicKey) -> Admission {
        self.0
            .lock()
            .unwrap()
            .get(&peer.to_bytes())
            .copied()
            .unwrap_or(Admission::Refused)
    }
}

/// The streams' limit: the sync protocol's, which this crate does not know.
const MAX_FRAME: usize = 4 * 1024 * 1024;

const WAIT: Duration = Duration::from_secs(10);

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn bind(key: &DeviceKey, roster: &Arc<Roster>) -> Endpoint {
    Endpoint::bind(localhost(), key, roster.clone(), MAX_FRAME).unwrap()
}

async fn accept(endpoint: &Endpoint) -> Connection {
    timeout(WAIT, endpoint.accept())
        .await
        .expect("accept timed out")
        .expect("endpoint closed")
}

/// A dial the server turns down fails in `connect` itself.
async fn dial_is_refused(client: &Endpoint, server: SocketAddr, expected: Option<DevicePublicKey>) {
    let result = timeout(WAIT, client.connect(server, expected))
        .await
        .expect("refused dial hung");
    assert!(
        matches!(result, Err(NetError::RejectedByPeer)),
        "expected RejectedByPeer, got {result:?}"
    );
}

/// One frame there, one back, then a clean end in both directions.
async fn exchange(dialer: &Connection, listener: &Connection) {
    let mut out = dialer.open_stream().await.unwrap();
    out.send(b"hello").await.unwrap();
    out.send(b"").await.unwrap();
    let mut inc = timeout(WAIT, listener.accept_stream())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inc.recv().await.unwrap().unwrap(), b"hello");
    assert_eq!(inc.recv().await.unwrap().unwrap(), b"");
    inc.send(&[7u8; 100_000]).await.unwrap();
    inc.finish().await.unwrap();
    assert_eq!(out.recv().await.unwrap().unwrap(), vec![7u8; 100_000]);
    assert!(out.recv().await.unwrap().is_none(), "clean end of stream");
    out.finish().await.unwrap();
    assert!(inc.recv().await.unwrap().is_none(), "clean end of stream");
    assert_eq!(out.bytes_sent(), 4 + 5 + 4);
    assert_eq!(inc.bytes_received(), 4 + 5 + 4);
    assert_eq!(inc.bytes_sent(), 4 + 100_000);
    assert_eq!(out.bytes_received(), 4 + 100_000);
}

#[tokio::test]
async fn members_connect_both_ways_and_exchange_frames() {
    let (a, b) = (DeviceKey::generate(), DeviceKey::generate());
    let roster = Roster::with(&[(&a, Admission::Member), (&b, Admission::Member)]);
    let (ea, eb) = (bind(&a, &roster), bind(&b, &roster));

    let a_to_b = ea.connect(eb.local_addr().unwrap(), None).await.unwrap();
    let b_from_a = accept(&eb).await;
    assert_eq!(a_to_b.peer(), b.public());
    assert_eq!(b_from_a.peer(), a.public());
    assert_eq!(a_to_b.admission(), Admission::Member);
    assert_eq!(b_from_a.admission(), Admission::Member);
    assert_eq!(a_to_b.remote_address(), eb.local_addr().unwrap());
    exchange(&a_to_b, &b_from_a).await;

    let b_to_a = eb.connect(ea.local_addr().unwrap(), None).await.unwrap();
    let a_from_b = accept(&ea).await;
    assert_eq!(b_to_a.peer(), a.public());
    assert_eq!(a_from_b.peer(), b.public());
    exchange(&b_to_a, &a_from_b).await;

    // Only the side that dialled opens a stream: the dialler grants none.
    assert!(
        timeout(Duration::from_millis(300), b_from_a.open_stream())
            .await
            .is_err(),
        "no stream the other way"
    );

    a_to_b.close("done");
    assert!(matches!(
        timeout(WAIT, b_from_a.closed()).await.unwrap(),
        NetError::ConnectionLost(_)
    ));
    ea.close();
    eb.close();
    assert!(ea.accept().await.is_none());
}

#[tokio::test]
async fn an_unknown_device_is_refused_and_others_still_get_in() {
    let (server, member, stranger) = (
        DeviceKey::generate(),
        DeviceKey::generate(),
        DeviceKey::generate(),
    );
    let server_roster = Roster::with(&[(&member, Admission::Member)]);
    let client_roster = Roster::with(&[(&server, Admission::Member)]);
    let es = bind(&server, &server_roster);
    let addr = es.local_addr().unwrap();

    let est = bind(&stranger, &client_roster);
    dial_is_refused(&est, addr, None).await;
    dial_is_refused(&est, addr, Some(server.public())).await;

    let em = bind(&member, &client_roster);
    let dialed = em.connect(addr, None).await.unwrap();
    let accepted = accept(&es).await;
    assert_eq!(
        accepted.peer(),
        member.public(),
        "the stranger never surfaces"
    );
    exchange(&dialed, &accepted).await;
}

#[tokio::test]
async fn a_client_refuses_a_server_that_is_not_a_member() {
    let (server, client) = (DeviceKey::generate(), DeviceKey::generate());
    let es = bind(&server, &Roster::with(&[(&client, Admission::Member)]));
    let ec = bind(&client, &Roster::with(&[]));
    let error = ec
        .connect(es.local_addr().unwrap(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, NetError::Refused { fingerprint } if *fingerprint == server.public().fingerprint()),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_pinned_key_must_match() {
    let (server, client, other) = (
        DeviceKey::generate(),
        DeviceKey::generate(),
        DeviceKey::generate(),
    );
    let es = bind(&server, &Roster::with(&[(&client, Admission::Member)]));
    // The client knows nobody yet: only the pin from an invite speaks for the server.
    let ec = bind(&client, &Roster::with(&[]));
    let addr = es.local_addr().unwrap();

    let error = ec.connect(addr, Some(other.public())).await.unwrap_err();
    match &error {
        NetError::UnexpectedPeer { expected, found } => {
            assert_eq!(*expected, other.public().fingerprint());
            assert_eq!(*found, server.public().fingerprint());
        }
        other => panic!("expected UnexpectedPeer, got {other:?}"),
    }

    let dialed = ec.connect(addr, Some(server.public())).await.unwrap();
    assert_eq!(dialed.peer(), server.public());
    let accepted = accept(&es).await;
    exchange(&dialed, &accepted).await;
}

#[tokio::test]
async fn a_newcomer_gets_in_with_one_stream() {
    let (server, newcomer) = (DeviceKey::generate(), DeviceKey::generate());
    let es = bind(&server, &Roster::with(&[(&newcomer, Admission::Newcomer)]));
    let en = bind(&newcomer, &Roster::with(&[]));

    let dialed = en
        .connect(es.local_addr().unwrap(), Some(server.public()))
        .await
        .unwrap();
    let accepted = accept(&es).await;
    assert_eq!(accepted.admission(), Admission::Newcomer);
    assert_eq!(accepted.peer(), newcomer.public());
    exchange(&dialed, &accepted).await;

    // A second stream is one too many.
    let mut second = dialed.open_stream().await.unwrap();
    let _ = second.send(b"again").await;
    let error = timeout(WAIT, accepted.accept_stream())
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, NetError::NewcomerStreamLimit), "{error:?}");
}

#[tokio::test]
async fn a_revoked_member_is_refused_at_the_next_handshake() {
    let (server, member) = (DeviceKey::generate(), DeviceKey::generate());
    let server_roster = Roster::with(&[(&member, Admission::Member)]);
    let es = bind(&server, &server_roster);
    let em = bind(&member, &Roster::with(&[(&server, Admission::Member)]));
    let addr = es.local_addr().unwrap();

    let dialed = em.connect(addr, None).await.unwrap();
    let accepted = accept(&es).await;
    exchange(&dialed, &accepted).await;

    server_roster.set(&member, Admission::Refused);
    dial_is_refused(&em, addr, None).await;
    assert!(
        timeout(Duration::from_millis(300), es.accept())
            .await
            .is_err(),
        "a revoked member must not surface"
    );
}

#[tokio::test]
async fn garbage_datagrams_do_not_disturb_the_endpoint() {
    let (server, member) = (DeviceKey::generate(), DeviceKey::generate());
    let es = bind(&server, &Roster::with(&[(&member, Admission::Member)]));
    let addr = es.local_addr().unwrap();

    let socket = tokio::net::UdpSocket::bind(localhost()).await.unwrap();
    let mut state = 0x1234_5678_u32;
    for size in [0usize, 1, 5, 20, 64, 1200, 1500, 1200, 3000] {
        let mut datagram: Vec<u8> = (0..size)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        // Some look like QUIC long-header Initial packets of version 1.
        if size >= 1200 {
            datagram[0] = 0xc3;
            datagram[1..5].copy_from_slice(&1u32.to_be_bytes());
        }
        let _ = socket.send_to(&datagram, addr).await;
    }

    let em = bind(&member, &Roster::with(&[(&server, Admission::Member)]));
    let dialed = em.connect(addr, None).await.unwrap();
    let accepted = accept(&es).await;
    exchange(&dialed, &accepted).await;
}

/// A server at its limit refuses at once, and the dialler hears "busy", not a
/// generic failure: worth trying again in a moment, as `vigil sync` does.
#[tokio::test]
async fn a_server_at_its_limit_says_busy() {
    let (server_key, client_key) = (DeviceKey::generate(), DeviceKey::generate());
    let roster = Roster::with(&[
        (&server_key, Admission::Member),
        (&client_key, Admission::Member),
    ]);
    let server = bind(&server_key, &roster);
    let client = bind(&client_key, &roster);
    let addr = server.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..vigil_net::MAX_INCOMING_PER_ADDRESS {
        held.push(client.connect(addr, None).await.unwrap());
        held.push(accept(&server).await);
    }
    let refused = timeout(WAIT, client.connect(addr, None))
        .await
        .expect("a busy server answers at once");
    assert!(
        matches!(refused, Err(NetError::Busy)),
        "expected Busy, got {refused:?}"
    );
    // A place given back is taken again.
    held.truncate(held.len() - 2);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(client.connect(addr, None).await.is_ok());
}
