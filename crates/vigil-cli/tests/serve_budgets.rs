//! What strangers and a hostile member can make a running `vigil serve` spend,
//! measured on the serving process itself (its resident memory, read from /proc)
//! over real QUIC on loopback: the budgets of ARCHITECTURE, "Budgets against
//! exhaustion", held by the binary a coordinator runs on a hotspot.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use vigil_net::{Admission, DeviceKey, DevicePublicKey, Endpoint, PeerPolicy};
use vigil_sync::Frame;
use vigil_sync::reconcile::Items;
use vigil_sync::wire::WireEntry;
use vigil_team::membership::{Action, Entry, Role, SignedEntry};

/// What an attack may add to the server's resident memory, above its idle size.
const CEILING_MIB: u64 = 64;

/// Strangers dial as a client would: the server decides.
struct Anyone;

impl PeerPolicy for Anyone {
    fn admit(&self, _peer: &DevicePublicKey) -> Admission {
        Admission::Member
    }
}

/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Samples a process's resident memory every 10 ms until dropped; keeps the peak.
struct Peak {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Peak {
    fn watch(pid: u32) -> Self {
        let (peak, stop) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let thread = {
            let (peak, stop) = (Arc::clone(&peak), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        Self {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    fn kib(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// A coordinator's vault with `incidents` reports, served by `vigil serve`, and an
/// observer who joined it and synced once (so the server's idle size counts a
/// session's worth of warm caches).
fn serving_team(incidents: usize) -> (Vigil, Vigil, Server, String) {
    let hq = Vigil::new();
    hq.ok(&["team", "create", "--label", "hq"]);
    for i in 0..incidents {
        log(&hq, &format!("City {i}"));
    }
    let addr = format!("127.0.0.1:{}", free_port());
    let invite = |hq: &Vigil| {
        hq.ok(&["team", "invite", "--address", &addr, "--no-qr"])
            .trim()
            .to_owned()
    };
    let (for_field, spare) = (invite(&hq), invite(&hq));
    let server = Server::start(&hq, &addr);
    let field = Vigil::new();
    field.ok(&["team", "join", &for_field, "--label", "field"]);
    field.ok(&["sync", &server.addr]);
    std::thread::sleep(Duration::from_millis(500));
    (hq, field, server, spare)
}

/// A proof as large as a newcomer may send (up to the entries a frame may carry), of
/// entries that decode and carry good signatures by a key nobody admitted: each
/// costs the server a signature check before it finds the proof admits nobody.
fn heavy_proof() -> (Vec<u8>, usize) {
    let key = DeviceKey::generate();
    let mut entries = Vec::new();
    let (mut frame, mut count) = (Frame::Members(Vec::new()).encode(), 0);
    while entries.len() < vigil_sync::frame::MAX_ENTRIES {
        let entry = Entry {
            team: [7; 32],
            signer: key.public().to_bytes(),
            deps: Vec::new(),
            clock: 0,
            time: 0,
            action: Action::Add {
                device: DeviceKey::generate().public().to_bytes(),
                role: Role::Coordinator,
                label: format!("d{}", entries.len()),
            },
        };
        let signed = SignedEntry::sign(entry, &key).unwrap();
        entries.push(WireEntry {
            bytes: signed.bytes,
            signature: signed.signature.to_vec(),
        });
        if entries.len() % 128 == 0 || entries.len() == vigil_sync::frame::MAX_ENTRIES {
            let next = Frame::Members(entries.clone()).encode();
            if next.len() > 500 * 1024 {
                break;
            }
            (frame, count) = (next, entries.len());
        }
    }
    (frame, count)
}

/// How one stranger misbehaves.
#[derive(Clone, Copy)]
enum Stranger {
    /// Opens its stream and sends nothing.
    Silent,
    /// Asks to be asked for a proof, then sends a heavy one that admits nobody.
    Prover,
    /// Sends a frame as large as a newcomer may, of noise.
    Noise,
}

/// One stranger from `source`: dials, misbehaves, and reports whether it got a
/// connection and how long the server let it keep it.
async fn stranger(
    source: SocketAddr,
    server: SocketAddr,
    kind: Stranger,
    proof: Arc<Vec<u8>>,
) -> Option<Duration> {
    let endpoint = Endpoint::bind(
        source,
        &DeviceKey::generate(),
        Arc::new(Anyone),
        vigil_sync::MAX_FRAME,
    )
    .unwrap();
    let started = Instant::now();
    let connection = tokio::time::timeout(Duration::from_secs(20), endpoint.connect(server, None))
        .await
        .ok()?
        .ok()?;
    // Held until the server closes the connection: a dropped stream would end
    // cleanly, and the server would see a stranger that said nothing and left.
    let mut stream = connection.open_stream().await.ok();
    if let Some(stream) = &mut stream {
        match kind {
            Stranger::Silent => {}
            Stranger::Prover => {
                let opening = Frame::Reconcile(Items::new(Vec::new()).initial()).encode();
                if stream.send(&opening).await.is_ok()
                    && matches!(stream.recv().await, Ok(Some(f)) if f == Frame::Prove.encode())
                {
                    let _ = stream.send(&proof).await;
                }
            }
            Stranger::Noise => {
                let noise: Vec<u8> = (0..512 * 1024u32).map(|i| (i * 7919) as u8).collect();
                let _ = stream.send(&noise).await;
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(30), connection.closed()).await;
    Some(started.elapsed())
}

/// Issue 12, attack 1 and 2: 200 strangers from 25 addresses dial a serving
/// coordinator at once: silent ones, ones that send a heavy proof (thousands of
/// signature checks), ones that send a newcomer's largest frame of noise. The
/// server stays under its memory ceiling, shows each out within the newcomer
/// deadline, and an observer syncs meanwhile.
#[test]
fn two_hundred_strangers_cost_a_serving_laptop_bounded_memory() {
    let (_hq, field, server, _) = serving_team(20);
    let pid = server.child.id();
    let idle = rss_kib(pid);
    let addr: SocketAddr = server.addr.parse().unwrap();
    let (proof, entries) = heavy_proof();
    let proof = Arc::new(proof);
    let peak = Peak::watch(pid);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let kinds = [Stranger::Silent, Stranger::Prover, Stranger::Noise];
    let attack = runtime.spawn(async move {
        let strangers: Vec<_> = (0..200u8)
            .map(|i| {
                let source = SocketAddr::from(([127, 0, 0, 2 + i / 8], 0));
                let kind = kinds[usize::from(i) % kinds.len()];
                tokio::spawn(stranger(source, addr, kind, Arc::clone(&proof)))
            })
            .collect();
        let mut held = Vec::new();
        for s in strangers {
            held.push(s.await.unwrap());
        }
        held
    });
    // An observer syncs in the middle of it.
    std::thread::sleep(Duration::from_secs(1));
    log(&field, "Taraz");
    let synced = Instant::now();
    let out = field.ok(&["sync", &server.addr]);
    let synced = synced.elapsed();
    let held = runtime.block_on(attack).unwrap();
    let peak = peak.kib();

    let admitted: Vec<Duration> = held.iter().flatten().copied().collect();
    for (i, kind) in ["silent", "prover", "noise"].iter().enumerate() {
        let of_kind: Vec<&Duration> = held.iter().skip(i).step_by(3).flatten().collect();
        println!(
            "{kind}: {} connected, held at most {:?}",
            of_kind.len(),
            of_kind.iter().max()
        );
    }
    let longest = admitted.iter().max().copied().unwrap_or_default();
    println!(
        "idle {} MiB, peak {} MiB; {} of 200 strangers got a connection, held at most {longest:?}; \
         proofs of {entries} entries; the observer's sync took {synced:?}",
        idle / 1024,
        peak / 1024,
        admitted.len()
    );
    assert!(out.contains("sent 1 change(s)"), "{out}");
    assert!(
        peak < idle + CEILING_MIB * 1024,
        "{} MiB above idle",
        (peak - idle) / 1024
    );
    assert!(!admitted.is_empty(), "the attack reached the server");
    assert!(admitted.len() < 200, "the caps turned some away");
    // The newcomer deadline (10 s) from the moment the stream opened, and the
    // handshake before it.
    assert!(longest < Duration::from_secs(14), "{longest:?}");
}

/// Issue 12, attack 3, against the binary: a member repeats "I have nothing"
/// (16 bytes) 150 times and reads nothing for a while. The vault holds more than
/// the memory ceiling (a hundred reports with long descriptions), so a server that
/// built its answer in memory would pass it; this one reads each frame from the
/// store as its send queue has room, sends each item at most once, ends the session
/// after `MAX_RECONCILE_FRAMES`, and goes on serving.
#[test]
fn a_member_repeating_a_full_listing_costs_the_server_a_send_queue() {
    let (hq, field, server, invite) = serving_team(0);
    let mut noise = 0x2545_f491_4f6c_dd1d_u64;
    let lines: Vec<String> = (0..100)
        .map(|i| {
            let description: String = (0..800_000)
                .map(|_| {
                    noise ^= noise << 13;
                    noise ^= noise >> 7;
                    noise ^= noise << 17;
                    char::from(b'a' + (noise % 26) as u8)
                })
                .collect();
            serde_json::json!({
                "report_id": format!("00000000-0000-4000-8000-{i:012}"),
                "reported_at": "2021-01-10T15:00:00+06:00", "affected_role": "protester",
                "phase": "election_day",
                "category": "arbitrary_detention", "occurred_at": "2021-01-10T14:30:00+06:00",
                "city": "Almaty", "region": "Almaty", "people_count": 1,
                "description": description,
            })
            .to_string()
        })
        .collect();
    let file = hq.file("long.jsonl", &lines.join("\n"));
    hq.ok(&["import", s(&file)]);
    let space = dir_size(&hq.vault);
    assert!(space > 2 * CEILING_MIB * 1024 * 1024, "{space}");
    std::thread::sleep(Duration::from_millis(500));

    let pid = server.child.id();
    let idle = rss_kib(pid);
    let addr: SocketAddr = server.addr.parse().unwrap();
    let invite = vigil_core::Invite::decode(&invite).unwrap();
    let peak = Peak::watch(pid);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (frames_in, bytes_out, changes, distinct) = runtime.block_on(async move {
        let member = DeviceKey::generate();
        let endpoint = Endpoint::bind(
            "127.0.0.1:0".parse().unwrap(),
            &member,
            Arc::new(Anyone),
            vigil_sync::MAX_FRAME,
        )
        .unwrap();
        let connection = endpoint.connect(addr, None).await.unwrap();
        let mut stream = connection.open_stream().await.unwrap();
        let join = Frame::Join {
            secret: *invite.secret,
            label: "member".into(),
        };
        stream.send(&join.encode()).await.unwrap();
        let welcome = Frame::decode(&stream.recv().await.unwrap().unwrap()).unwrap();
        assert!(matches!(welcome, Frame::Welcome { .. }), "{welcome:?}");
        let nothing = Frame::Reconcile(Items::new(Vec::new()).initial()).encode();
        assert!(nothing.len() <= 16);
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
        // Reads nothing for a while, then everything.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (mut bytes_out, mut changes, mut distinct) = (0, 0, std::collections::HashSet::new());
        while let Ok(Some(frame)) = receiver.recv().await {
            bytes_out += frame.len() as u64;
            if let Ok(Frame::Changes(c)) = Frame::decode(&frame) {
                changes += c.len();
                distinct.extend(c.into_iter().map(|c| c.bytes));
            }
        }
        (flood.await.unwrap(), bytes_out, changes, distinct.len())
    });
    let peak = peak.kib();
    let held = hq.json(&["info", "--json"])["changes"].as_u64().unwrap();
    println!(
        "{frames_in} x 16 B sent, {bytes_out} B out ({changes} of {held} changes); \
         vault {space} B; idle {} MiB, peak {} MiB",
        idle / 1024,
        peak / 1024
    );
    assert!(frames_in > vigil_sync::MAX_RECONCILE_FRAMES, "{frames_in}");
    assert_eq!(changes, distinct, "each item at most once");
    assert!(changes as u64 <= held && bytes_out < space);
    assert!(
        peak < idle + CEILING_MIB * 1024,
        "{} MiB above idle",
        (peak - idle) / 1024
    );
    // The server still serves its team.
    log(&field, "Taraz");
    assert!(
        field
            .ok(&["sync", &server.addr])
            .contains("sent 1 change(s)")
    );
}

/// Bytes under `path`, a file or a folder.
fn dir_size(path: &std::path::Path) -> u64 {
    match std::fs::read_dir(path) {
        Ok(entries) => entries.flatten().map(|e| dir_size(&e.path())).sum(),
        Err(_) => std::fs::metadata(path).map_or(0, |m| m.len()),
    }
}
