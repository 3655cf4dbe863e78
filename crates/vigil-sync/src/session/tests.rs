use vigil_crypto::DeviceKey;
use vigil_model::SignedChange;
use vigil_model::document::{IncidentDocument, PersonalPart};
use vigil_model::{Incident, Status, Taxonomy};
use vigil_store::{Store, StoreRead};

use super::*;
use crate::{MAX_FRAME, PROTOCOL_VERSION};
use vigil_team::membership::{Action, Role};
use vigil_team::signing::sign;

struct Device {
    key: DeviceKey,
    store: Store,
    roster: Roster,
    _dir: tempfile::TempDir,
}

impl Device {
    fn new(key: DeviceKey, roster: &Roster) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(&dir.path().join("vault.db"), &[7; 32]).unwrap();
        store
            .write(|w| {
                for e in roster.entries() {
                    w.insert_member_entry(&e.to_row())?;
                }
                Ok::<_, vigil_store::StoreError>(())
            })
            .unwrap();
        Self {
            key,
            store,
            roster: roster.clone(),
            _dir: dir,
        }
    }

    fn log(&mut self, city: &str) -> SignedChange {
        let place = vigil_model::Place {
            city: city.into(),
            ..Incident::example().place
        };
        self.log_at(place)
    }

    fn log_at(&mut self, place: vigil_model::Place) -> SignedChange {
        let mut incident = Incident::example();
        incident.id = vigil_model::IncidentId::random();
        incident.place = place;
        let actor = self.key.public().to_bytes();
        let (_, change) = IncidentDocument::create(
            &actor,
            &incident,
            &PersonalPart::Absent,
            1_700_000_000,
            "created",
        )
        .unwrap();
        let signed = sign(&self.key, &incident.id, change);
        self.store
            .write(|w| w.record([&signed], &incident.summary()))
            .unwrap();
        signed
    }

    fn hashes(&self) -> Vec<[u8; 32]> {
        let mut items: Vec<[u8; 32]> = self
            .store
            .sync_items()
            .unwrap()
            .into_iter()
            .map(|(_, h)| h)
            .collect();
        items.sort();
        items
    }
}

/// A founder and an observer with a shared roster.
fn team() -> (Device, Device) {
    let founder = DeviceKey::generate();
    let observer = DeviceKey::generate();
    let (mut roster, _) =
        Roster::found(&founder, "hq", &DeviceKey::generate().public(), 1).unwrap();
    let add = roster
        .make_entry(
            &founder,
            Action::Add {
                device: observer.public().to_bytes(),
                role: Role::Observer,
                label: "field".into(),
            },
            2,
        )
        .unwrap();
    roster.insert(add).unwrap();
    (
        Device::new(founder, &roster),
        Device::new(observer, &roster),
    )
}

/// Runs a whole session between two devices, frames passed in memory; `cut_after`
/// drops the connection after that many frames reached the responder.
fn sync(a: &mut Device, b: &mut Device, cut_after: Option<usize>) -> (SyncStats, SyncStats) {
    let mut initiator = Session::initiate(&a.store, &a.key, &Taxonomy::default_taxonomy()).unwrap();
    let mut to_b = initiator.drain(&a.store, &a.roster).unwrap();
    let mut responder = Session::respond(&b.store, &b.key, &Taxonomy::default_taxonomy()).unwrap();
    let mut delivered = 0;
    while !(initiator.is_finished() && to_b.is_empty()) {
        let mut to_a = Vec::new();
        for frame in to_b.drain(..) {
            if cut_after.is_some_and(|n| delivered >= n) {
                responder.peer_closed();
                initiator.peer_closed();
                return (initiator.stats().clone(), responder.stats().clone());
            }
            delivered += 1;
            to_a.extend(
                responder
                    .answer(&frame, &mut b.store, &mut b.roster)
                    .unwrap(),
            );
        }
        if to_a.is_empty() && initiator.is_finished() {
            break;
        }
        assert!(!to_a.is_empty(), "the responder went silent");
        for frame in to_a {
            to_b.extend(
                initiator
                    .answer(&frame, &mut a.store, &mut a.roster)
                    .unwrap(),
            );
        }
    }
    (initiator.stats().clone(), responder.stats().clone())
}

#[test]
fn devices_in_sync_need_one_round_trip_and_few_bytes() {
    let (mut a, mut b) = team();
    for i in 0..200 {
        let c = a.log(&format!("city {i}"));
        b.store.write(|w| w.insert_change(&c)).unwrap();
    }
    let (stats, _) = sync(&mut a, &mut b, None);
    assert_eq!(stats.round_trips, 1);
    assert_eq!(stats.changes_sent + stats.changes_received, 0);
    assert!(stats.bytes_sent + stats.bytes_received < 1024, "{stats:?}");
}

#[test]
fn changes_flow_both_ways_and_both_sides_end_equal() {
    let (mut a, mut b) = team();
    for i in 0..30 {
        a.log(&format!("a {i}"));
        b.log(&format!("b {i}"));
    }
    let (stats, responder) = sync(&mut a, &mut b, None);
    assert_eq!(stats.changes_sent, 30);
    assert_eq!(stats.changes_received, 30);
    assert_eq!(responder.changes_received, 30);
    assert_eq!(stats.peer_accepted, Some(30));
    assert_eq!(a.hashes(), b.hashes());
    assert_eq!(a.store.counts().unwrap(), (60, 60));
    assert_eq!(b.store.counts().unwrap(), (60, 60));
    // And again: nothing moves.
    let (stats, _) = sync(&mut a, &mut b, None);
    assert_eq!(stats.changes_sent + stats.changes_received, 0);
}

#[test]
fn membership_entries_travel_with_the_changes() {
    let (mut a, mut b) = team();
    let newcomer = DeviceKey::generate();
    let add = a
        .roster
        .make_entry(
            &a.key,
            Action::Add {
                device: newcomer.public().to_bytes(),
                role: Role::Observer,
                label: "new".into(),
            },
            3,
        )
        .unwrap();
    a.roster.insert(add.clone()).unwrap();
    a.store
        .write(|w| w.insert_member_entry(&add.to_row()))
        .unwrap();
    let (stats, _) = sync(&mut b, &mut a, None);
    assert_eq!(stats.members_received, 1);
    assert_eq!(
        b.roster.role_of(&newcomer.public().to_bytes()),
        Some(Role::Observer)
    );
    assert_eq!(b.store.member_entries().unwrap().len(), 3);
}

#[test]
fn a_cut_session_keeps_what_arrived_and_the_next_one_sends_only_the_rest() {
    let (mut a, mut b) = team();
    // Incompressible text, so that the changes fill several frames; each field
    // within the taxonomy's bounds, which a peer's change must keep.
    let mut seed = 7u64;
    let mut noise = || -> String {
        (0..190)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                char::from(b'a' + (seed >> 59) as u8 % 26)
            })
            .collect()
    };
    for i in 0..3000 {
        let place = vigil_model::Place {
            region: noise(),
            city: format!("{i} {}", noise()),
            polling_station: Some(noise()),
            coordinates: None,
        };
        a.log_at(place);
    }
    // The responder receives the first reconcile message, then two frames of changes.
    let (_, first) = sync(&mut a, &mut b, Some(3));
    let got = first.changes_received;
    assert!(got > 0 && got < 3000, "{got}");
    let (second, _) = sync(&mut a, &mut b, None);
    assert_eq!(second.changes_sent, 3000 - got, "nothing is sent twice");
    assert_eq!(a.hashes(), b.hashes());
}

fn push(a: &mut Device, b: &mut Device, changes: Vec<WireChange>) -> SyncStats {
    let _ = a;
    push_frames(b, vec![changes])
}

/// `b` receives these frames of changes, then the peer's end of the session.
fn push_frames(b: &mut Device, frames: Vec<Vec<WireChange>>) -> SyncStats {
    let mut session = Session::respond(&b.store, &b.key, &Taxonomy::default_taxonomy()).unwrap();
    let done = Frame::Done {
        accepted: 0,
        refused: 0,
        reply: false,
    };
    for frame in frames.into_iter().map(Frame::Changes).chain([done]) {
        session
            .receive(&frame.encode(), &mut b.store, &mut b.roster)
            .unwrap();
    }
    session.stats().clone()
}

/// A change to an incident `device` has logged, made and signed by `device`.
fn edit(device: &Device, logged: &SignedChange, change: impl FnOnce(&mut Incident)) -> WireChange {
    let mut doc = IncidentDocument::from_changes([logged.bytes.as_slice()]).unwrap();
    let mut incident = doc.incident().unwrap();
    change(&mut incident);
    let actor = device.key.public().to_bytes();
    let encoded = doc
        .update(&actor, &incident, None, 1_700_000_100)
        .unwrap()
        .unwrap();
    WireChange::from(sign(&device.key, &logged.incident, encoded))
}

/// Reconciliation can bring an incident's later change in an earlier flight than its
/// first one (the ranges resolve in any order); whatever the order within and across
/// frames, both are applied in the session and none is left for the next sync.
#[test]
fn a_change_that_arrives_before_its_history_is_applied_with_it() {
    let (mut hq, mut field) = team();
    let logged = field.log("Almaty");
    let edited = edit(&field, &logged, |i| i.place.city = "Astana".into());
    let logged = WireChange::from(logged);

    // Within one frame.
    let stats = push(&mut field, &mut hq, vec![edited.clone(), logged.clone()]);
    assert_eq!((stats.changes_received, stats.incomplete), (2, 0));

    // In two frames, the later change first (another device of the same team).
    let mut other = Device::new(DeviceKey::generate(), &hq.roster);
    let stats = push_frames(&mut other, vec![vec![edited], vec![logged]]);
    assert_eq!((stats.changes_received, stats.incomplete), (2, 0));
    assert_eq!(other.hashes(), hq.hashes());
}

#[test]
fn observers_take_no_review_decisions_and_nobody_spreads_names_unsealed() {
    let (mut hq, mut field) = team();
    let logged = field.log("Almaty");
    let verified = edit(&field, &logged, |i| i.status = Status::Verified);
    let moved = edit(&field, &logged, |i| i.place.city = "Astana".into());
    // Names in the open, as devices wrote them before sealing existed.
    let unsealed = {
        let mut incident = Incident::example();
        incident.id = vigil_model::IncidentId::random();
        incident.personal.description = "names in the open".into();
        let (_, change) = IncidentDocument::create(
            &field.key.public().to_bytes(),
            &incident,
            &PersonalPart::Open(incident.personal.clone()),
            1_700_000_000,
            "created",
        )
        .unwrap();
        WireChange::from(sign(&field.key, &incident.id, change))
    };
    let before = hq.hashes();
    let stats = push(
        &mut field,
        &mut hq,
        vec![WireChange::from(logged.clone()), verified, moved, unsealed],
    );
    assert_eq!(stats.refused, 2, "{stats:?}");
    assert_eq!(stats.changes_received, 2, "the incident and the new city");
    assert_eq!(hq.hashes().len(), before.len() + 2);
    let summary = &hq.store.list(&Default::default()).unwrap()[0];
    assert_eq!(summary.status, Status::Submitted);
    assert_eq!(summary.city, "Astana");

    // The coordinator's own decision travels.
    let by_hq = edit(&hq, &logged, |i| i.status = Status::Verified);
    let stats = push(&mut hq, &mut field, vec![by_hq]);
    assert_eq!((stats.refused, stats.changes_received), (0, 1), "{stats:?}");
}

#[test]
fn forged_unsigned_and_foreign_changes_are_refused_and_the_rest_applies() {
    let (mut a, mut b) = team();
    let stranger = DeviceKey::generate();
    let good = a.log("Almaty");
    let before = b.hashes();

    let other = a.log("Astana");
    let mut forged = WireChange::from(other.clone());
    forged.author = Some(b.key.public().to_bytes()); // claims the observer, signed by the founder
    let mut unsigned = WireChange::from(a.log("Aktau"));
    unsigned.signature.clear();
    let mut short = WireChange::from(a.log("Atyrau"));
    short.signature.truncate(10);
    // A stranger's change, correctly signed by the stranger.
    let mut s = Device::new(stranger, &a.roster);
    let by_stranger = WireChange::from(s.log("Shymkent"));
    // A member signs a change made under another device's actor id.
    let foreign = {
        let mut incident = Incident::example();
        incident.id = vigil_model::IncidentId::random();
        let (_, change) = IncidentDocument::create(
            &s.key.public().to_bytes(),
            &incident,
            &PersonalPart::Absent,
            1,
            "created",
        )
        .unwrap();
        WireChange::from(sign(&a.key, &incident.id, change))
    };
    let mut garbage = WireChange::from(good.clone());
    garbage.bytes = b"not a change".to_vec();

    let stats = push(
        &mut a,
        &mut b,
        vec![
            forged,
            unsigned,
            short,
            by_stranger,
            foreign,
            garbage,
            WireChange::from(good.clone()),
        ],
    );
    assert_eq!(stats.refused, 6, "{stats:?}");
    assert_eq!(stats.changes_received, 1);
    let mut expected = before;
    expected.push(good.hash);
    expected.sort();
    assert_eq!(b.hashes(), expected);
}

#[test]
fn a_revoked_devices_changes_are_refused() {
    let (mut a, mut b) = team();
    let change = b.log("Taraz");
    let revoke = a
        .roster
        .make_entry(
            &a.key,
            Action::Revoke {
                device: b.key.public().to_bytes(),
                cutoff: 1_700_000_000,
            },
            5,
        )
        .unwrap();
    a.roster.insert(revoke).unwrap();
    let stats = push(&mut b, &mut a, vec![WireChange::from(change)]);
    assert_eq!((stats.refused, stats.changes_received), (1, 0));
}

#[test]
fn garbage_frames_end_the_session_without_touching_the_store() {
    let (mut a, mut b) = team();
    a.log("Almaty");
    let before = b.hashes();
    for bytes in [
        vec![],
        vec![1],
        vec![2, 0, 0],
        vec![1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f],
        vec![1; 100],
        vec![0; MAX_FRAME + 1],
    ] {
        let mut session =
            Session::respond(&b.store, &b.key, &Taxonomy::default_taxonomy()).unwrap();
        assert!(session.answer(&bytes, &mut b.store, &mut b.roster).is_err());
    }
    // A well-formed frame with a nonsense reconciliation message: an error or an
    // answer, never a panic.
    let mut session = Session::respond(&b.store, &b.key, &Taxonomy::default_taxonomy()).unwrap();
    let _ = session.answer(&[1, 0, 5, 0x61, 1, 2, 3, 4, 5], &mut b.store, &mut b.roster);
    assert_eq!(b.hashes(), before);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn random_frames_never_panic_or_change_the_store(frames in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), 1..6)) {
        let (mut a, mut b) = team();
        a.log("Almaty");
        let before = b.hashes();
        let mut session = Session::respond(&b.store, &b.key, &Taxonomy::default_taxonomy()).unwrap();
        for mut frame in frames {
            if let Some(first) = frame.first_mut() {
                *first = PROTOCOL_VERSION;
            }
            if session.answer(&frame, &mut b.store, &mut b.roster).is_err() {
                break;
            }
        }
        proptest::prop_assert_eq!(b.hashes(), before);
    }
}

/// Frames recorded from a session and played again (by anyone who saw them) change
/// nothing: every item is already there or refused on its own merits.
#[test]
fn a_replayed_session_changes_nothing() {
    let (mut a, mut b) = team();
    for i in 0..20 {
        a.log(&format!("city {i}"));
    }
    let mut initiator = Session::initiate(&a.store, &a.key, &Taxonomy::default_taxonomy()).unwrap();
    let mut flight = initiator.drain(&a.store, &a.roster).unwrap();
    let mut responder = Session::respond(&b.store, &b.key, &Taxonomy::default_taxonomy()).unwrap();
    let mut recorded = Vec::new();
    while !flight.is_empty() {
        let mut replies = Vec::new();
        for frame in flight.drain(..) {
            recorded.push(frame.clone());
            replies.extend(
                responder
                    .answer(&frame, &mut b.store, &mut b.roster)
                    .unwrap(),
            );
        }
        for frame in replies {
            flight.extend(
                initiator
                    .answer(&frame, &mut a.store, &mut a.roster)
                    .unwrap(),
            );
        }
    }
    assert_eq!(responder.stats().changes_received, 20);
    let before = b.hashes();
    let mut replay = Session::respond(&b.store, &b.key, &Taxonomy::default_taxonomy()).unwrap();
    for frame in &recorded {
        let _ = replay.receive(frame, &mut b.store, &mut b.roster);
    }
    assert_eq!(replay.stats().changes_received, 0);
    assert_eq!(b.hashes(), before);
}

/// A new member's changes may arrive before the entry that admits it (a batch of old
/// changes first, the membership after): they wait for it within the session.
#[test]
fn changes_wait_for_the_entry_that_admits_their_author() {
    let (mut a, mut b) = team();
    let newcomer = DeviceKey::generate();
    let add = a
        .roster
        .make_entry(
            &a.key,
            Action::Add {
                device: newcomer.public().to_bytes(),
                role: Role::Observer,
                label: "late".into(),
            },
            3,
        )
        .unwrap();
    a.roster.insert(add.clone()).unwrap();
    let mut n = Device::new(newcomer, &a.roster);
    let change = n.log("Kokshetau");
    let mut session = Session::respond(&b.store, &b.key, &Taxonomy::default_taxonomy()).unwrap();
    let frames = [
        Frame::Changes(vec![WireChange::from(change.clone())]),
        Frame::Members(vec![WireEntry {
            bytes: add.bytes.clone(),
            signature: add.signature.to_vec(),
        }]),
        Frame::Done {
            accepted: 0,
            refused: 0,
            reply: false,
        },
    ];
    for frame in frames {
        session
            .receive(&frame.encode(), &mut b.store, &mut b.roster)
            .unwrap();
    }
    assert_eq!(
        (session.stats().changes_received, session.stats().refused),
        (1, 0)
    );
    assert!(b.hashes().contains(&change.hash));
    // Without the entry, the same change is refused when the session ends.
    let (_, mut c) = team();
    let mut session = Session::respond(&c.store, &c.key, &Taxonomy::default_taxonomy()).unwrap();
    for frame in [
        Frame::Changes(vec![WireChange::from(change)]),
        Frame::Done {
            accepted: 0,
            refused: 0,
            reply: false,
        },
    ] {
        session
            .receive(&frame.encode(), &mut c.store, &mut c.roster)
            .unwrap();
    }
    assert_eq!(
        (session.stats().changes_received, session.stats().refused),
        (0, 1)
    );
}

/// Issue 12: a member repeats "I have nothing" (one range listing no item, up to
/// the end) in one session, 16 bytes a frame. Each item goes out once, and the
/// session ends after [`MAX_RECONCILE_FRAMES`] such frames.
#[test]
fn a_repeated_listing_of_everything_sends_each_item_once() {
    let (mut a, _) = team();
    for i in 0..20 {
        a.log(&format!("city {i}"));
    }
    let nothing = Frame::Reconcile(Items::new(Vec::new()).initial()).encode();
    assert!(nothing.len() <= 16, "{}", nothing.len());
    let mut session = Session::respond(&a.store, &a.key, &Taxonomy::default_taxonomy()).unwrap();
    let (mut answered, mut changes, mut bytes) = (0, 0, 0);
    for _ in 0..150 {
        let Ok(out) = session.answer(&nothing, &mut a.store, &mut a.roster) else {
            break;
        };
        answered += 1;
        for frame in out {
            bytes += frame.len();
            if let Frame::Changes(c) = Frame::decode(&frame).unwrap() {
                changes += c.len();
            }
        }
    }
    assert_eq!(answered, MAX_RECONCILE_FRAMES);
    assert_eq!(changes, 20, "each item once");
    let store_bytes: usize = a
        .store
        .signed_changes(&a.hashes())
        .unwrap()
        .iter()
        .map(|c| c.bytes.len() + 64 + 32)
        .sum();
    assert!(
        bytes < store_bytes + 64 * 1024,
        "{bytes} bytes out for a store of {store_bytes}"
    );
}

/// Issue 12, attack 4: changes built to be refused only once applied (an unknown
/// category), each on the incident's head so that each applies. Each is undone
/// from a copy of what holds, at most `MAX_UNDONE_PER_INCIDENT` of one author a
/// batch (its further ones are refused unread, others' still count); the incident
/// stays as it was, and an honest edit in the next batch applies.
#[test]
fn changes_refused_once_applied_are_undone_and_capped() {
    let (mut hq, mut field) = team();
    let logged = field.log("Almaty");
    push(&mut field, &mut hq, vec![WireChange::from(logged.clone())]);
    let broken: Vec<WireChange> = (0..40)
        .map(|i| edit(&field, &logged, |inc| inc.category = format!("no_such_{i}")))
        .collect();
    // An honest edit, and one broken on top of it.
    let valid = edit(&field, &logged, |inc| inc.place.city = "Taraz".into());
    let broken_after = {
        let mut doc =
            IncidentDocument::from_changes([logged.bytes.as_slice(), valid.bytes.as_slice()])
                .unwrap();
        let mut incident = doc.incident().unwrap();
        incident.category = "no_such_category".into();
        let actor = field.key.public().to_bytes();
        let encoded = doc
            .update(&actor, &incident, None, 1_700_000_200)
            .unwrap()
            .unwrap();
        WireChange::from(sign(&field.key, &logged.incident, encoded))
    };
    // The cap is the breaker's: a coordinator's decision after them still counts.
    let reviewed = edit(&hq, &logged, |inc| inc.status = Status::Verified);
    let stats = push(&mut field, &mut hq, [broken, vec![reviewed]].concat());
    assert_eq!(
        (stats.refused, stats.changes_received),
        (40, 1),
        "{stats:?}"
    );
    let summary = &hq.store.list(&Default::default()).unwrap()[0];
    assert_eq!(
        (summary.category.as_str(), summary.city.as_str()),
        ("arbitrary_detention", "Almaty")
    );
    assert_eq!(summary.status, Status::Verified);
    // The honest edit applies, and the broken one after it in the same batch is
    // undone back to it, not to before it.
    let stats = push(&mut field, &mut hq, vec![valid, broken_after]);
    assert_eq!((stats.refused, stats.changes_received), (1, 1), "{stats:?}");
    let summary = &hq.store.list(&Default::default()).unwrap()[0];
    assert_eq!(
        (summary.category.as_str(), summary.city.as_str()),
        ("arbitrary_detention", "Taraz")
    );
    assert!(hq.store.equivocations().unwrap().is_empty());
}

/// Changes whose author no entry admits (yet) wait, counted with the structures
/// that hold them; a change naming an author that is no key at all can never be
/// admitted and is refused at once, before any signature check, and never held.
#[test]
fn changes_of_unknown_authors_are_held_counted_whole_and_non_keys_refused_at_once() {
    let (hq, _) = team();
    let mut hq = hq;
    let mut stranger = Device::new(DeviceKey::generate(), &hq.roster);
    let changes: Vec<WireChange> = (0..20)
        .map(|i| WireChange::from(stranger.log(&format!("City {i}"))))
        .collect();
    let bytes: usize = changes.iter().map(|c| c.bytes.len()).sum();
    let mut inbox = Inbox::new(&hq.key, &Taxonomy::default_taxonomy());
    inbox
        .accept_changes(&mut hq.store, &hq.roster, changes.clone())
        .unwrap();
    assert_eq!(inbox.tally.refused, 0, "held, not refused");
    let held = inbox.held_bytes();
    assert!(
        held >= bytes + 20 * std::mem::size_of::<SignedChange>(),
        "{held}"
    );

    // Half of all 32-byte strings are no point of the curve.
    let no_key = (0u8..=255)
        .map(|b| [b; 32])
        .find(|k| vigil_crypto::DevicePublicKey::from_bytes(k).is_err())
        .unwrap();
    let forged: Vec<WireChange> = changes
        .iter()
        .map(|c| WireChange {
            author: Some(no_key),
            ..c.clone()
        })
        .collect();
    inbox
        .accept_changes(&mut hq.store, &hq.roster, forged)
        .unwrap();
    assert_eq!(inbox.tally.refused, 20);
    assert_eq!(inbox.held_bytes(), held, "nothing more held");
    // Nobody admitted the stranger: its changes are refused when the intake ends.
    assert_eq!(inbox.finish(), 0);
    assert_eq!((inbox.tally.refused, inbox.held_bytes()), (40, 0));
}

/// A batch of changes that inflate to more than `MAX_BATCH_INFLATED` (a megabyte
/// of one letter compresses to a kilobyte): those past the bound are refused before
/// Automerge inflates them; the rest are taken (here held, their author unknown).
#[test]
fn a_batch_inflating_past_its_bound_is_refused_past_it() {
    let (mut hq, _) = team();
    let stranger = DeviceKey::generate();
    let actor = stranger.public().to_bytes();
    let changes: Vec<WireChange> = (0..72)
        .map(|_| {
            let mut incident = Incident::example();
            incident.id = vigil_model::IncidentId::random();
            incident.personal.description = "a".repeat(1_000_000);
            let personal = PersonalPart::Open(incident.personal.clone());
            let (_, change) =
                IncidentDocument::create(&actor, &incident, &personal, 1_700_000_000, "created")
                    .unwrap();
            WireChange::from(sign(&stranger, &incident.id, change))
        })
        .collect();
    let sizes: Vec<usize> = changes
        .iter()
        .map(|c| {
            vigil_model::change_bounds::measure(&c.bytes)
                .unwrap()
                .inflated
        })
        .collect();
    assert!(changes.iter().all(|c| c.bytes.len() < 20_000));
    let within = sizes
        .iter()
        .scan(0, |total, size| {
            *total += size;
            Some(*total)
        })
        .take_while(|total| *total <= crate::MAX_BATCH_INFLATED)
        .count();
    assert!(within < changes.len(), "the batch passes the bound");
    let mut inbox = Inbox::new(&hq.key, &Taxonomy::default_taxonomy());
    inbox
        .accept_changes(&mut hq.store, &hq.roster, changes.clone())
        .unwrap();
    assert_eq!(inbox.tally.refused as usize, changes.len() - within);
}

/// A batch whose changes declare more operations in all than `MAX_BATCH_OPS`
/// (each within its own bound: an open list of thousands of people): those past
/// the bound are refused before they are read; the rest are taken (here held,
/// their author unknown).
#[test]
fn a_batch_declaring_more_operations_than_a_batch_may_is_refused_past_it() {
    let (mut hq, _) = team();
    let stranger = DeviceKey::generate();
    let actor = stranger.public().to_bytes();
    let mut incident = Incident::example();
    incident.personal.persons = (0..12_000)
        .map(|i| vigil_model::Person {
            id: format!("p{i}"),
            name: format!("N{i}"),
            role: None,
            consent: false,
        })
        .collect();
    let personal = PersonalPart::Open(incident.personal.clone());
    let (_, change) =
        IncidentDocument::create(&actor, &incident, &personal, 1_700_000_000, "created").unwrap();
    let ops = vigil_model::change_bounds::measure(&change.bytes)
        .unwrap()
        .ops;
    assert!(ops > 40_000, "{ops}");
    let signed = WireChange::from(sign(&stranger, &incident.id, change));
    let count = (crate::MAX_BATCH_OPS / ops) as usize + 3;
    let mut inbox = Inbox::new(&hq.key, &Taxonomy::default_taxonomy());
    inbox
        .accept_changes(&mut hq.store, &hq.roster, vec![signed; count])
        .unwrap();
    let within = (crate::MAX_BATCH_OPS / ops) as usize;
    // The ones past the bound are refused unread.
    assert_eq!(inbox.tally.refused as usize, count - within);
}

/// A flood of bad items ends the session once `MAX_SESSION_REFUSALS` of them were
/// refused, whatever the byte budget still allows: here changes naming an author
/// that is no key, the cheapest to send and to refuse.
#[test]
fn a_session_ends_after_too_many_refusals() {
    let (mut a, mut b) = team();
    let change = WireChange::from(a.log("Almaty"));
    let no_key = (0u8..=255)
        .map(|k| [k; 32])
        .find(|k| vigil_crypto::DevicePublicKey::from_bytes(k).is_err())
        .unwrap();
    let forged = WireChange {
        author: Some(no_key),
        ..change
    };
    // Half the changes a frame may carry: all of them would inflate past a frame.
    let per_frame = crate::frame::MAX_CHANGES / 2;
    let frame = Frame::Changes(vec![forged; per_frame]).encode();
    let mut session = Session::respond(&b.store, &b.key, &Taxonomy::default_taxonomy()).unwrap();
    let mut frames = 0;
    while session.answer(&frame, &mut b.store, &mut b.roster).is_ok() {
        frames += 1;
        assert!(frames < 100, "the session never ended");
    }
    let refused = session.stats().refused;
    assert_eq!(frames as u64, MAX_SESSION_REFUSALS / per_frame as u64);
    assert!(refused > MAX_SESSION_REFUSALS, "{refused}");
}

/// Runs a whole session, frames passed in memory, and returns both sessions for
/// what they say of how it ended; `cut_after` as in [`sync`].
fn sessions(a: &mut Device, b: &mut Device, cut_after: Option<usize>) -> (Session, Session) {
    let mut initiator = Session::initiate(&a.store, &a.key, &Taxonomy::default_taxonomy()).unwrap();
    let mut responder = Session::respond(&b.store, &b.key, &Taxonomy::default_taxonomy()).unwrap();
    let mut to_b = initiator.drain(&a.store, &a.roster).unwrap();
    let mut delivered = 0;
    while !to_b.is_empty() {
        let mut to_a = Vec::new();
        for frame in to_b.drain(..) {
            if cut_after.is_some_and(|n| delivered >= n) {
                responder.peer_closed();
                initiator.peer_closed();
                return (initiator, responder);
            }
            delivered += 1;
            to_a.extend(
                responder
                    .answer(&frame, &mut b.store, &mut b.roster)
                    .unwrap(),
            );
        }
        for frame in to_a {
            to_b.extend(
                initiator
                    .answer(&frame, &mut a.store, &mut a.roster)
                    .unwrap(),
            );
        }
    }
    (initiator, responder)
}

#[test]
fn a_session_that_ran_to_its_end_says_so_and_how_far_the_peer_holds_our_log() {
    let (mut a, mut b) = team();
    a.log("Almaty");
    b.log("Astana");
    let start = a.store.log_position().unwrap();
    let (initiator, responder) = sessions(&mut a, &mut b, None);
    let (ours, theirs) = (initiator.outcome(), responder.outcome());
    assert!(ours.complete && theirs.complete);
    assert!(!ours.refused_by_peer);
    assert_eq!(ours.stats.changes_received, 1);
    // Only the peer's change was written meanwhile: it holds our whole log.
    let end = a.store.log_position().unwrap();
    assert_eq!(initiator.peer_holds_up_to(start, end), Some(end));
    // Had another change been written meanwhile, only what was there at the start.
    assert_eq!(initiator.peer_holds_up_to(start, end + 1), Some(start));
}

#[test]
fn a_session_cut_short_is_incomplete_and_claims_nothing_about_the_peer() {
    let (mut a, mut b) = team();
    for city in ["Almaty", "Astana", "Shymkent"] {
        a.log(city);
    }
    let start = a.store.log_position().unwrap();
    let (initiator, responder) = sessions(&mut a, &mut b, Some(1));
    assert!(!initiator.outcome().complete);
    assert!(!responder.outcome().complete);
    assert_eq!(initiator.peer_holds_up_to(start, start), None);
    // A frame after the end is refused, in whatever phase the cut left it.
    let (mut c, mut d) = team();
    let (mut finished, _) = sessions(&mut c, &mut d, None);
    let late = Frame::Reconcile(Vec::new()).encode();
    assert!(
        finished
            .receive(&late, &mut c.store, &mut c.roster)
            .is_err()
    );
}

#[test]
fn a_frame_says_what_it_stored() {
    let (mut a, mut b) = team();
    let change = a.log("Almaty");
    let mut responder = Session::respond(&b.store, &b.key, &Taxonomy::default_taxonomy()).unwrap();
    let taken = responder
        .receive(
            &Frame::Changes(vec![WireChange::from(change)]).encode(),
            &mut b.store,
            &mut b.roster,
        )
        .unwrap();
    assert_eq!(
        taken,
        Taken {
            members: 0,
            changes: 1
        }
    );
}
