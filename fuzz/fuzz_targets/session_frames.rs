//! Frames as a peer sends them: each decoded (inflation included), and the whole
//! sequence handled by a responding session on a real (SQLCipher) store that holds
//! a team and a few incidents. Nothing may panic; a frame that decodes encodes back
//! to a frame that decodes alike; whatever the session took in, the store reads
//! back whole.
//!
//! The input is a list of chunks, `[len_lo, len_hi, frame...]`. Seeds in
//! `fuzz/seeds/session_frames` hold one well-formed frame of every variant.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vigil_crypto::DeviceKey;
use vigil_model::document::{IncidentDocument, PersonalPart};
use vigil_model::{Incident, IncidentId, Taxonomy};
use vigil_store::{Store, StoreRead};
use vigil_team::membership::{Action, Role};
use vigil_sync::{Frame, Session};
use vigil_team::Roster;

struct World {
    device: DeviceKey,
    roster: Roster,
    taxonomy: Taxonomy,
    template: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

const STORE_KEY: [u8; 32] = [9; 32];

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let device = DeviceKey::from_secret_bytes(&[1; 32]).expect("a key");
        let observer = DeviceKey::from_secret_bytes(&[2; 32]).expect("a key");
        let recovery = DeviceKey::from_secret_bytes(&[3; 32]).expect("a key");
        let (mut roster, _) =
            Roster::found(&device, "hq", &recovery.public(), 1).expect("a team is founded");
        let add = roster
            .make_entry(
                &device,
                Action::Add {
                    device: observer.public().to_bytes(),
                    role: Role::Observer,
                    label: "field".into(),
                },
                2,
            )
            .expect("an entry");
        roster.insert(add).expect("taken");
        let dir = tempfile::tempdir().expect("a temporary folder");
        let template = dir.path().join("template.db");
        let mut store = Store::create(&template, &STORE_KEY).expect("a store");
        let actor = device.public().to_bytes();
        store
            .write(|w| {
                for entry in roster.entries() {
                    w.insert_member_entry(&entry.to_row())?;
                }
                for i in 0..3u8 {
                    let incident = Incident {
                        id: IncidentId::from_bytes([i; 16]),
                        ..Incident::example()
                    };
                    let (_, change) = IncidentDocument::create(
                        &actor,
                        &incident,
                        &PersonalPart::Absent,
                        1_700_000_000,
                        "created",
                    )
                    .expect("an incident");
                    let signed = vigil_team::signing::sign(&device, &incident.id, change);
                    w.record([&signed], &incident.summary())?;
                }
                Ok::<_, vigil_store::StoreError>(())
            })
            .expect("the template is written");
        drop(store);
        World {
            device,
            roster,
            taxonomy: Taxonomy::default_taxonomy(),
            template,
            _dir: dir,
        }
    })
}

fn chunks(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 && out.len() < 32 {
        let len = usize::from(u16::from_le_bytes([data[0], data[1]]));
        let end = (2 + len).min(data.len());
        out.push(&data[2..end]);
        data = &data[end..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let world = world();
    let frames = chunks(data);
    for bytes in &frames {
        if let Ok(frame) = Frame::decode(bytes) {
            let again = Frame::decode(&frame.encode()).expect("an encoded frame decodes");
            assert_eq!(again, frame, "a frame encodes back to itself");
        }
    }
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("vault.db");
    std::fs::copy(&world.template, &path).expect("the template is copied");
    let mut store = Store::open(&path, &STORE_KEY).expect("the copy opens");
    let mut roster = world.roster.clone();
    let mut session =
        Session::respond(&store, &world.device, &world.taxonomy).expect("a session starts");
    for bytes in frames {
        // Every answer is read out too: that is where items are read from the store.
        if session.answer(bytes, &mut store, &mut roster).is_err() {
            break;
        }
    }
    drop(session);
    // What the session stored reads back.
    let items = store.sync_items().expect("the store reads");
    let hashes: Vec<[u8; 32]> = items.iter().map(|(_, h)| *h).collect();
    store
        .signed_changes(&hashes)
        .expect("stored changes read back");
    drop(store);
    Store::open(&path, &STORE_KEY).expect("the store opens again");
});
