//! Devices syncing over real QUIC on 127.0.0.1, each with its own vault folder: a
//! coordinator and observers joining by invitation, relaying each other's incidents,
//! refusing strangers and revoked devices.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use vigil_core::{Format, ImportMode, Incident, IncidentId, ListFilter, Role, Status, VaultError};
use vigil_crypto::DeviceKey;
use vigil_model::document::{IncidentDocument, PersonalPart};
use vigil_net::Endpoint;
use vigil_sync::Frame;
use vigil_sync::wire::WireChange;
use vigil_team::signing;

mod common;
use common::{Anyone, Device, coordinator, joined};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observers_join_relay_and_converge_with_the_coordinator() {
    let hq = coordinator();
    hq.log("Almaty");
    let a = joined(&hq, Role::Observer, "observer a").await;
    assert_eq!(a.ids(), hq.ids(), "joining brings the team's incidents");
    assert_eq!(a.vault().role(), Some(Role::Observer));
    let b = joined(&hq, Role::Observer, "observer b").await;
    assert_eq!(b.vault().members().unwrap().len(), 3);

    // Observers log apart, meet each other, and only b reaches the coordinator.
    let mut of_a = Vec::new();
    for i in 0..5 {
        of_a.push(a.log(&format!("Astana {i}")));
        b.log(&format!("Shymkent {i}"));
    }
    // a joined before b and has not heard of it: a cannot dial b, but b (who knows a)
    // can dial a, proving its membership on the way in.
    let unknown = a.node.sync(b.addr()).await.unwrap_err();
    assert!(unknown.to_string().contains("not a member"), "{unknown}");
    let report = b.node.sync(a.addr()).await.unwrap();
    assert_eq!(
        (report.stats.changes_sent, report.stats.changes_received),
        (5, 5)
    );
    a.node.sync(b.addr()).await.unwrap();
    assert_eq!(a.ids(), b.ids());
    b.node.sync(hq.addr()).await.unwrap();
    assert_eq!(
        hq.ids(),
        a.ids(),
        "the coordinator has a's incidents through b"
    );
    assert_eq!(hq.ids().len(), 11);
    // Every device counts the same events; only the coordinator reads the names,
    // the observers' own included, which are sealed to it.
    let key = "election_day/arbitrary_detention";
    let figures =
        |d: &Device| serde_json::from_str::<serde_json::Value>(&d.report()).unwrap()[key].clone();
    let (on_hq, on_a, on_b) = (figures(&hq), figures(&a), figures(&b));
    assert_eq!(
        (&on_hq["events"], &on_hq["people"]),
        (&on_a["events"], &on_a["people"])
    );
    assert_eq!(on_hq["named_people"], 1);
    assert!(on_hq.get("sealed_events").is_none());
    for observer in [&on_a, &on_b] {
        assert_eq!(observer["sealed_events"], 11);
        assert_eq!(observer["named_people"], 0);
    }

    // An edit on one side and another edit on the other merge: the coordinator's
    // and the observer's, on the observer's own incident.
    let id = of_a[0].clone();
    hq.vault()
        .edit_fields(&id, &[("city".into(), "Taraz".into())])
        .unwrap();
    a.vault()
        .edit_fields(&id, &[("people_count".into(), "7".into())])
        .unwrap();
    a.node.sync(hq.addr()).await.unwrap();
    for d in [&a, &hq] {
        let incident = d.vault().get(&id).unwrap();
        assert_eq!(incident.place.city, "Taraz");
        assert_eq!(incident.affected.count, 7);
    }

    // Another device's incident is not the observer's to change.
    let others = hq.ids().into_iter().find(|i| !of_a.contains(i)).unwrap();
    let refused = a
        .vault()
        .edit_fields(&others, &[("people_count".into(), "9".into())]);
    assert!(
        matches!(refused, Err(VaultError::NotCoordinator)),
        "{refused:?}"
    );

    // Already in sync: one round trip, nothing moves.
    let report = a.node.sync(hq.addr()).await.unwrap();
    assert_eq!(report.stats.round_trips, 1);
    assert_eq!(report.stats.changes_sent + report.stats.changes_received, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_and_revoked_devices_are_refused_everywhere() {
    let hq = coordinator();
    let a = joined(&hq, Role::Observer, "a").await;
    let b = joined(&hq, Role::Observer, "b").await;
    hq.log("Almaty");
    let before = hq.ids();

    // A stranger that would talk to anyone gets through the handshake, is asked to
    // prove its membership on its first stream, cannot, and is cut off.
    let stranger = Endpoint::bind(
        "127.0.0.1:0".parse().unwrap(),
        &DeviceKey::generate(),
        Arc::new(Anyone),
        vigil_sync::MAX_FRAME,
    )
    .unwrap();
    let connection = stranger.connect(hq.addr(), None).await.unwrap();
    let mut stream = connection.open_stream().await.unwrap();
    stream
        .send(&Frame::Reconcile(Vec::new()).encode())
        .await
        .unwrap();
    let asked = stream.recv().await.unwrap().unwrap();
    assert_eq!(Frame::decode(&asked).unwrap(), Frame::Prove);
    stream.send(&Frame::Members(vec![]).encode()).await.unwrap();
    assert!(
        !matches!(stream.recv().await, Ok(Some(_))),
        "nothing more for a stranger"
    );
    // Nor does a made-up invitation get it in.
    let connection = stranger.connect(hq.addr(), None).await.unwrap();
    let mut stream = connection.open_stream().await.unwrap();
    let join = Frame::Join {
        secret: [7; 32],
        label: "me".into(),
    };
    stream.send(&join.encode()).await.unwrap();
    assert!(!matches!(stream.recv().await, Ok(Some(_))));
    assert_eq!(hq.ids(), before);
    assert_eq!(hq.vault().members().unwrap().len(), 3);

    // The coordinator revokes b; a learns of it by syncing with the coordinator.
    let fingerprint = b.fingerprint();
    hq.vault().revoke(&fingerprint[..9], None).unwrap();
    b.log("Seized phone");
    assert!(b.node.sync(hq.addr()).await.is_err());
    assert!(b.node.sync(a.addr()).await.is_ok(), "a has not heard yet");
    a.node.sync(hq.addr()).await.unwrap();
    assert!(b.node.sync(a.addr()).await.is_err(), "now a refuses b too");
    let members = a.vault().members().unwrap();
    assert!(members.iter().any(|m| m.revoked && m.label == "b"));
    // a's own dial to b fails too: b is no longer a member in a's eyes.
    assert!(a.node.sync(b.addr()).await.is_err());
    // The honest devices keep syncing.
    a.log("Almaty");
    a.node.sync(hq.addr()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_works_once() {
    let hq = coordinator();
    let invite = hq.invite(Role::Observer);
    let first = Device::new();
    first.node.join(&invite, "first").await.unwrap();
    let second = Device::new();
    let again = second.node.join(&invite, "second").await;
    assert!(again.is_err(), "{again:?}");
    assert!(second.vault().role().is_none());
    // A forged secret fails too.
    let mut forged = hq.invite(Role::Coordinator);
    forged.secret = zeroize::Zeroizing::new([0; 32]);
    let third = Device::new();
    assert!(third.node.join(&forged, "third").await.is_err());
    // An expired one is refused before anything is sent.
    let mut stale = hq.invite(Role::Observer);
    stale.expires -= 601;
    let fourth = Device::new();
    let err = fourth.node.join(&stale, "fourth").await.unwrap_err();
    assert!(
        matches!(&err, VaultError::BadInvite(why) if why.to_string().contains("expired")),
        "{err}"
    );
    assert_eq!(hq.vault().members().unwrap().len(), 2);
}

/// The whole kz-2021 partner export on one side, an empty device on the other: both
/// end with the same report, byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_campaign_syncs_to_an_empty_device() {
    let hq = coordinator();
    hq.import_campaign(1);
    // A second coordinator reads what was sealed before it joined once the first
    // shares it again.
    let a = joined(&hq, Role::Coordinator, "a").await;
    assert_eq!(a.ids().len(), hq.ids().len());
    assert_ne!(a.report(), hq.report(), "sealed to hq alone so far");
    let resealed = hq.vault().reshare().unwrap();
    assert_eq!(resealed, hq.ids().len() as u64);
    a.node.sync(hq.addr()).await.unwrap();
    assert_eq!(a.report(), hq.report());
    let shared = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|p| p.join("shared/scenarios/kz-2021.jsonl"))
        .find(|p| p.exists());
    if let Some(path) = shared {
        let hq2 = coordinator();
        hq2.vault()
            .import(
                std::fs::File::open(path).unwrap(),
                Format::Jsonl,
                ImportMode::AllOrNothing,
            )
            .unwrap();
        let b = joined(&hq2, Role::Coordinator, "b").await;
        hq2.vault().reshare().unwrap();
        b.node.sync(hq2.addr()).await.unwrap();
        assert_eq!(b.report(), hq2.report());
        assert_eq!(b.ids().len(), hq2.ids().len());
    }
}

/// A long first sync reports its progress batch by batch, as the CLI's spinner and a
/// shell's progress bar show it, ending at what the session received.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_sync_reports_progress_as_batches_arrive() {
    let hq = coordinator();
    hq.import_campaign(1);
    let newcomer = Device::new();
    let mut node = newcomer.another_node();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    node.on_progress(move |stats| log.lock().unwrap().push(stats.changes_received));

    let report = node
        .join(&hq.invite(Role::Coordinator), "newcomer")
        .await
        .unwrap();

    let seen = seen.lock().unwrap().clone();
    assert!(seen.is_sorted(), "progress never goes back: {seen:?}");
    assert_eq!(seen.last(), Some(&report.stats.changes_received));
    let midway = seen
        .iter()
        .filter(|&&n| n > 0 && n < report.stats.changes_received)
        .count();
    assert!(
        midway > 0,
        "{} changes arrived with no progress in between: {seen:?}",
        report.stats.changes_received
    );
    assert_eq!(newcomer.ids(), hq.ids());
}

/// A sync cut mid-flight keeps every batch that was stored before the cut, and the
/// next session sends only the rest: nothing that arrived travels twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_sync_resumes_without_resending_what_arrived() {
    let hq = coordinator();
    let deputy = joined(&hq, Role::Coordinator, "deputy").await;
    hq.import_campaign(3);
    let had = deputy.vault().info().unwrap().changes;
    let missing = hq.vault().info().unwrap().changes - had;

    // The deputy syncs, and hq goes away as soon as the first batch is stored.
    let mut node = deputy.another_node();
    let hq_node = Arc::clone(&hq.node);
    node.on_progress(move |stats| {
        if stats.changes_received > 0 {
            hq_node.close();
        }
    });
    assert!(node.sync(hq.addr()).await.is_err(), "the session was cut");
    let stored_before_cut = deputy.vault().info().unwrap().changes - had;
    assert!(
        stored_before_cut > 0 && stored_before_cut < missing,
        "{stored_before_cut} of {missing} changes stored before the cut"
    );

    // hq comes back on a new endpoint; the deputy syncs again.
    let hq_again = Arc::new(hq.another_node());
    let (sessions, mut ended) = tokio::sync::mpsc::unbounded_channel();
    let serving = Arc::clone(&hq_again);
    tokio::spawn(async move {
        serving
            .serve(move |report| {
                let _ = sessions.send(report.map(|r| r.stats.changes_sent));
            })
            .await;
    });
    let resumed = deputy
        .node
        .sync(hq_again.local_addr().unwrap())
        .await
        .unwrap();
    let sent = tokio::time::timeout(std::time::Duration::from_secs(10), ended.recv())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(sent, missing - stored_before_cut, "only the rest is sent");
    assert_eq!(resumed.stats.changes_received, sent);
    assert_eq!(resumed.stats.refused, 0);
    assert_eq!(
        resumed.stats.incomplete, 0,
        "every change found its history"
    );
    hq_again.close();
    assert_eq!(deputy.ids(), hq.ids());
    assert_eq!(deputy.report(), hq.report());
}

/// Sneakernet: an observer carries its new incidents to the coordinator on a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_carry_changes_only_team_devices_can_read() {
    let hq = coordinator();
    hq.log("Almaty");
    let a = joined(&hq, Role::Observer, "a").await;
    for i in 0..4 {
        a.log(&format!("Aktobe {i}"));
    }
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("to-hq.vigil");
    let for_hq = hq.fingerprint();
    let outcome = a.vault().export_bundle(&bundle, Some(&for_hq)).unwrap();
    assert_eq!(outcome.changes, 4, "only what hq lacks since the last sync");
    assert_eq!(outcome.recipients, 2);
    let raw = std::fs::read(&bundle).unwrap();
    assert!(!raw.windows(6).any(|w| w == b"Aktobe"));

    // A stranger cannot open it; a damaged copy is refused; nothing changes.
    let stranger = coordinator();
    let refused = stranger.vault().import_bundle(&bundle).unwrap_err();
    assert!(
        refused.to_string().contains("not sealed for this device"),
        "{refused}"
    );
    let before = hq.ids();
    let mut damaged = raw.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    let damaged_path = dir.path().join("damaged.vigil");
    std::fs::write(&damaged_path, &damaged).unwrap();
    assert!(hq.vault().import_bundle(&damaged_path).is_err());
    std::fs::write(&damaged_path, b"VIGILBN1 and then nonsense").unwrap();
    assert!(hq.vault().import_bundle(&damaged_path).is_err());
    assert_eq!(hq.ids(), before);

    let stats = hq.vault().import_bundle(&bundle).unwrap();
    assert_eq!(stats.changes_received, 4);
    assert_eq!(hq.ids(), a.ids());
    // Importing it again changes nothing.
    assert_eq!(
        hq.vault().import_bundle(&bundle).unwrap().changes_received,
        0
    );

    // Everything, for a device that joins later and was sealed for.
    let all = dir.path().join("all.vigil");
    let b = joined(&hq, Role::Observer, "b").await;
    a.node.sync(hq.addr()).await.unwrap();
    a.log("Oral");
    assert_eq!(a.vault().export_bundle(&all, None).unwrap().changes, 6);
    b.vault().import_bundle(&all).unwrap();
    assert_eq!(b.ids(), a.ids());

    // Once a is revoked, its bundles are refused.
    hq.vault().revoke(&a.fingerprint(), None).unwrap();
    let late = dir.path().join("late.vigil");
    a.log("Atyrau");
    a.vault().export_bundle(&late, None).unwrap();
    let refused = hq.vault().import_bundle(&late).unwrap_err();
    assert!(
        refused.to_string().contains("not an active member"),
        "{refused}"
    );
}

/// Review decisions are a coordinator's: an observer's device does not take one,
/// neither by an edit nor by importing reviewed reports (its peers would refuse the
/// change); the coordinator's decision reaches the observer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_coordinators_verify_or_reject() {
    let hq = coordinator();
    let field = joined(&hq, Role::Observer, "field").await;
    let id = field.log("Almaty");
    let verify = |i: &mut Incident| {
        i.status = Status::Verified;
        Ok(())
    };
    let refused = field.vault().edit(&id, verify);
    assert!(
        matches!(refused, Err(VaultError::NotCoordinator)),
        "{refused:?}"
    );
    field.node.sync(hq.addr()).await.unwrap();
    assert!(hq.vault().edit(&id, verify).unwrap());
    field.node.sync(hq.addr()).await.unwrap();
    let listed = field.vault().list(&ListFilter::default()).unwrap();
    assert_eq!(listed[0].status, Status::Verified);

    let mut reviewed = Vec::new();
    hq.vault()
        .export(&mut reviewed, Format::Jsonl, &[])
        .unwrap();
    let newcomer = joined(&hq, Role::Observer, "newcomer").await;
    let before = newcomer.ids().len();
    let imported =
        newcomer
            .vault()
            .import(reviewed.as_slice(), Format::Jsonl, ImportMode::AllOrNothing);
    assert!(
        matches!(imported, Err(VaultError::NotCoordinator)),
        "{imported:?}"
    );
    assert_eq!(newcomer.ids().len(), before);
}

/// A change to a new incident made under `actor`'s id and signed by `signer`.
fn change_by(actor: [u8; 32], signer: &DeviceKey, city: &str) -> WireChange {
    let mut incident = Incident::example();
    incident.id = IncidentId::random();
    incident.place.city = city.into();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (_, change) =
        IncidentDocument::create(&actor, &incident, &PersonalPart::Absent, now, "created").unwrap();
    WireChange::from(signing::sign(signer, &incident.id, change))
}

/// A member that turns hostile, over real QUIC: it joins with a genuine invitation,
/// then sends a change signed with its key under another member's name, an unsigned
/// change, a stranger's change and one honest change; then garbage. The coordinator
/// stores the honest change alone, says what it refused, and keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_member_is_refused_item_by_item_and_the_coordinator_keeps_serving() {
    let hq = coordinator();
    let a = joined(&hq, Role::Observer, "a").await;
    let a_key = hq
        .vault()
        .members()
        .unwrap()
        .into_iter()
        .find(|m| m.label == "a")
        .unwrap()
        .device;
    let before = hq.ids().len();
    let invite = hq.invite(Role::Observer);
    let rogue = DeviceKey::generate();
    let endpoint = Endpoint::bind(
        "127.0.0.1:0".parse().unwrap(),
        &rogue,
        Arc::new(Anyone),
        vigil_sync::MAX_FRAME,
    )
    .unwrap();
    let connection = endpoint.connect(hq.addr(), None).await.unwrap();
    let mut stream = connection.open_stream().await.unwrap();
    let join = Frame::Join {
        secret: *invite.secret,
        label: "rogue".into(),
    };
    stream.send(&join.encode()).await.unwrap();
    let welcome = Frame::decode(&stream.recv().await.unwrap().unwrap()).unwrap();
    assert!(matches!(welcome, Frame::Welcome { .. }), "{welcome:?}");

    let own = rogue.public().to_bytes();
    let mut impostor = change_by(a_key, &rogue, "Impostor");
    impostor.author = None; // claims a, the change's actor; signed by the rogue
    let mut unsigned = change_by(own, &rogue, "Unsigned");
    unsigned.signature.clear();
    let stranger = DeviceKey::generate();
    let by_stranger = change_by(stranger.public().to_bytes(), &stranger, "Stranger");
    let honest = change_by(own, &rogue, "Honest");
    let batch = Frame::Changes(vec![impostor, unsigned, by_stranger, honest]);
    stream.send(&batch.encode()).await.unwrap();
    let done = Frame::Done {
        accepted: 0,
        refused: 0,
        reply: true,
    };
    stream.send(&done.encode()).await.unwrap();
    let answer = loop {
        let frame = Frame::decode(&stream.recv().await.unwrap().unwrap()).unwrap();
        if let Frame::Done {
            accepted, refused, ..
        } = frame
        {
            break (accepted, refused);
        }
    };
    assert_eq!(
        answer,
        (1, 3),
        "the coordinator says what it took and refused"
    );
    assert_eq!(hq.ids().len(), before + 1);

    // Garbage, on a new connection of the now admitted rogue, ends that session and
    // only that session.
    let connection = endpoint.connect(hq.addr(), None).await.unwrap();
    let mut stream = connection.open_stream().await.unwrap();
    stream.send(b"\x01 not a frame at all").await.unwrap();
    assert!(!matches!(stream.recv().await, Ok(Some(_))));
    assert_eq!(hq.ids().len(), before + 1);
    a.log("Almaty");
    let report = a.node.sync(hq.addr()).await.unwrap();
    assert_eq!(report.stats.refused, 0);
    assert_eq!(hq.ids().len(), before + 2);
}

/// Two coordinators who each hold more the other lacks than a send queue and the
/// stream windows carry (`SEND_QUEUE` frames of half a MiB, 1 MiB windows) push at
/// once at every level of the reconciliation: each keeps reading while it waits to
/// send, so the sync completes in one session and both end with everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_that_owe_each_other_more_than_a_queue_holds_finish_in_one_session() {
    let hq = coordinator();
    let deputy = joined(&hq, Role::Coordinator, "deputy").await;
    // Sealed descriptions do not compress: about 24 MiB each side has to send.
    let mut noise = 0x9e37_79b9_7f4a_7c15_u64;
    let mut text = |len: usize| -> String {
        (0..len)
            .map(|_| {
                noise ^= noise << 13;
                noise ^= noise >> 7;
                noise ^= noise << 17;
                char::from(b'a' + (noise % 26) as u8)
            })
            .collect()
    };
    for i in 0..2 * 160 {
        let mut incident = Incident::example();
        incident.id = IncidentId::random();
        incident.personal.description = text(130_000);
        let device = if i % 2 == 0 { &hq } else { &deputy };
        device.vault().add(&incident).unwrap();
    }
    let owed = vigil_core::SEND_QUEUE as u64 * 512 * 1024 + 2 * 1024 * 1024;
    let started = std::time::Instant::now();
    let report = deputy.node.sync(hq.addr()).await.unwrap();
    println!(
        "{} MB out, {} MB in, {} round trips, {:?}",
        report.stream_bytes_sent / 1_000_000,
        report.stream_bytes_received / 1_000_000,
        report.stats.round_trips,
        started.elapsed()
    );
    assert!(report.stream_bytes_sent > owed, "{report:?}");
    assert!(report.stream_bytes_received > owed, "{report:?}");
    assert_eq!(
        (report.stats.changes_sent, report.stats.changes_received),
        (160, 160)
    );
    assert_eq!(hq.ids(), deputy.ids());
    assert_eq!(hq.ids().len(), 320);
}
