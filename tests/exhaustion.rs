//! What a stranger or a hostile member can make a serving device spend, over real
//! QUIC on 127.0.0.1: bounded, whatever it sends (ARCHITECTURE, "Budgets against
//! exhaustion").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use vigil_core::Role;
use vigil_crypto::DeviceKey;
use vigil_net::Endpoint;
use vigil_sync::Frame;
use vigil_sync::MAX_RECONCILE_FRAMES;
use vigil_sync::frame::MAX_ENTRIES;
use vigil_sync::reconcile::Items;
use vigil_sync::wire::WireEntry;

mod common;
use common::{Anyone, coordinator, push};

/// Every line the process logs, kept to count.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn install() -> Self {
        let lines = Self::default();
        let writer = lines.clone();
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        lines
    }

    fn containing(&self, needle: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }
}

/// A member that joins with an invitation through the protocol itself (as a hostile
/// tool would), and goes on in the same stream.
async fn join_by_hand(
    hq: &common::Device,
) -> (Endpoint, vigil_net::Connection, vigil_net::FrameStream) {
    let member = DeviceKey::generate();
    let endpoint = Endpoint::bind(
        "127.0.0.1:0".parse().unwrap(),
        &member,
        Arc::new(Anyone),
        vigil_sync::MAX_FRAME,
    )
    .unwrap();
    let invite = hq.invite(Role::Observer);
    let connection = endpoint.connect(hq.addr(), None).await.unwrap();
    let mut stream = connection.open_stream().await.unwrap();
    let join = Frame::Join {
        secret: *invite.secret,
        label: "member".into(),
    };
    stream.send(&join.encode()).await.unwrap();
    let welcome = Frame::decode(&stream.recv().await.unwrap().unwrap()).unwrap();
    assert!(matches!(welcome, Frame::Welcome { .. }), "{welcome:?}");
    (endpoint, connection, stream)
}

/// One test per process: it owns the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_of_bad_items_cost_a_log_line_and_no_signature_checks_twice() {
    let lines = Lines::install();
    let hq = coordinator();

    // A member turned hostile sends a frame of entries that each fail, then one
    // entry four thousand times over.
    let (endpoint, _connection, mut stream) = join_by_hand(&hq).await;
    let bad: Vec<WireEntry> = (0..MAX_ENTRIES)
        .map(|i| WireEntry {
            bytes: (i as u32).to_be_bytes().to_vec(),
            signature: vec![7; 64],
        })
        .collect();
    let before = lines.containing("refused");
    let (_, refused) = push(&mut stream, Frame::Members(bad)).await;
    assert_eq!(refused, MAX_ENTRIES as u64);
    assert_eq!(lines.containing("refused") - before, 1, "one line");

    let connection = endpoint.connect(hq.addr(), None).await.unwrap();
    let mut stream = connection.open_stream().await.unwrap();
    let same = vec![
        WireEntry {
            bytes: b"the same entry".to_vec(),
            signature: vec![7; 64],
        };
        MAX_ENTRIES
    ];
    let (_, refused) = push(&mut stream, Frame::Members(same)).await;
    assert_eq!(refused, 1, "checked once");

    // The device still serves its team.
    let honest = common::joined(&hq, Role::Observer, "honest").await;
    honest.log("Almaty");
    let report = honest.node.sync(hq.addr()).await.unwrap();
    assert_eq!(report.stats.changes_sent, 1);
}

/// Anyone can seal a file to a device's public key: a file over the bundle bound
/// is refused by its size, before it is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_bundle_is_refused_unread() {
    let hq = coordinator();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.vigil");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(300 << 20).unwrap(); // sparse: nothing written
    let started = std::time::Instant::now();
    let refused = hq.vault().import_bundle(&path).unwrap_err();
    assert!(refused.to_string().contains("larger than"), "{refused}");
    // Reading 300 MiB would take far longer than a stat; printed, not asserted.
    println!("refused in {:?}", started.elapsed());
}

/// Strangers dial a serving coordinator and prove nothing: from one address only a
/// few get a connection, from many no more than the newcomers' share, each is
/// closed within the newcomer deadline, and a member syncs meanwhile at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_are_bounded_and_shown_out_while_members_sync() {
    use vigil_net::{MAX_INCOMING_PER_ADDRESS, MAX_NEWCOMERS};

    let hq = coordinator();
    let member = common::joined(&hq, Role::Observer, "member").await;

    // Each stranger opens its one stream with a frame that is not an invitation,
    // is asked to prove its membership, and never answers.
    let dial = |address: String| {
        let key = DeviceKey::generate();
        let endpoint = Endpoint::bind(
            format!("{address}:0").parse().unwrap(),
            &key,
            Arc::new(Anyone),
            vigil_sync::MAX_FRAME,
        )
        .unwrap();
        let target = hq.addr();
        async move {
            let connection = endpoint.connect(target, None).await.ok()?;
            let mut stream = connection.open_stream().await.ok()?;
            let opening = Frame::Done {
                accepted: 0,
                refused: 0,
                reply: true,
            };
            stream.send(&opening.encode()).await.ok()?;
            // Asked to prove itself: the server holds the connection for it.
            let asked = stream.recv().await.ok()??;
            (Frame::decode(&asked).ok()? == Frame::Prove).then_some((endpoint, connection, stream))
        }
    };
    let started = std::time::Instant::now();
    let mut from_one = Vec::new();
    for _ in 0..3 * MAX_INCOMING_PER_ADDRESS {
        from_one.push(dial("127.0.0.2".into()).await);
    }
    let held_from_one = from_one.iter().filter(|c| c.is_some()).count();
    assert!(
        held_from_one <= MAX_INCOMING_PER_ADDRESS,
        "{held_from_one} from one address"
    );
    let mut from_many = Vec::new();
    for i in 0..3 * MAX_NEWCOMERS {
        from_many.push(dial(format!("127.0.1.{}", i + 1)).await);
    }
    let held = held_from_one + from_many.iter().filter(|c| c.is_some()).count();
    assert!(held <= MAX_NEWCOMERS, "{held} held");

    // The places kept for members are free.
    member.log("Almaty");
    let synced = member.node.sync(hq.addr()).await.unwrap();
    assert_eq!(synced.stats.changes_sent, 1);

    // Every stranger is shown out within the deadline (and a little slack).
    for (_, connection, _) in from_one.into_iter().chain(from_many).flatten() {
        let left = (vigil_core::NEWCOMER_DEADLINE + std::time::Duration::from_secs(3))
            .saturating_sub(started.elapsed());
        tokio::time::timeout(left, connection.closed())
            .await
            .expect("closed within the newcomer deadline");
    }
    println!(
        "held {held} stranger connections at once; all closed after {:?}",
        started.elapsed()
    );
}

/// Issue 12, attack 3: a member sends "I have nothing" (16 bytes) 150 times in one
/// session and reads nothing until it has sent them all. The server sends each item
/// once, ends the session after `MAX_RECONCILE_FRAMES`, and keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_repeating_a_full_listing_gets_each_item_once() {
    let hq = coordinator();
    for i in 0..30 {
        hq.log(&format!("city {i}"));
    }
    let (_endpoint, _connection, stream) = join_by_hand(&hq).await;

    let nothing = Frame::Reconcile(Items::new(Vec::new()).initial()).encode();
    let (mut sender, mut receiver) = stream.split();
    let flood = tokio::spawn(async move {
        let mut sent = 0;
        for _ in 0..150 {
            if sender.send(&nothing).await.is_err() {
                break;
            }
            sent += 1;
        }
        sent
    });
    let (mut changes, mut members, mut bytes) = (0, 0, 0u64);
    while let Ok(Some(frame)) = receiver.recv().await {
        bytes += frame.len() as u64;
        match Frame::decode(&frame).unwrap() {
            Frame::Changes(c) => changes += c.len(),
            Frame::Members(m) => members += m.len(),
            _ => {}
        }
    }
    let sent = flood.await.unwrap();
    assert!(sent >= MAX_RECONCILE_FRAMES, "{sent}");
    assert_eq!(changes, 30, "each change once");
    assert_eq!(members, 2, "each membership entry once");
    println!("150 x 16-byte frames in, {bytes} bytes out for 30 incidents");
    // The server still serves its team.
    let honest = common::joined(&hq, Role::Observer, "honest").await;
    honest.log("Almaty");
    let report = honest.node.sync(hq.addr()).await.unwrap();
    assert_eq!(report.stats.changes_sent, 1);
}
