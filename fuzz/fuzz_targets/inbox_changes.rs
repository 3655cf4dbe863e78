//! A team member's changes, as the fuzzer makes them, through the inbox into a real
//! (SQLCipher) store; then every read a vault makes of what was stored. Nothing may
//! panic, and what the inbox stores must read back whole: every stored incident
//! loads, reads, has a history, and gives back exactly the changes stored.
//!
//! The input is a list of chunks, each `[head, len_lo, len_hi, payload...]`. The two
//! low bits of `head` say what the payload is:
//!
//! - 0: the change's bytes as they are;
//! - 1: a genuine change (`payload[0]` picks it) with bytes set at positions the
//!   rest of the payload gives (`pos_lo, pos_hi, value` triples);
//! - 2: a genuine change decoded, its operations altered by the rest of the payload
//!   (`kind, index, arg` triples, see [`alter`]), then encoded again by Automerge:
//!   well formed, right hash, but inconsistent;
//! - 3: a genuine change as it is.
//!
//! The other bits of `head`: `0x04` signed by the coordinator instead of the
//! observer; `0x08` claimed for the other incident; `0x10` keep the checksum as it
//! is (else it is made right again, so that altered bytes get past it); `0x20` end
//! the batch here (one `accept_changes` each); `0x40` name the author explicitly;
//! `0x80` spoil the signature.
//!
//! Changes are signed with the member's key, so they pass the signature check and
//! reach Automerge. With `VIGIL_FUZZ_VERBOSE` set, each run prints every panic
//! (contained or not) and what the inbox took in: to see what an input does, run
//! the built target on it (`fuzz/target/*/release/inbox_changes FILE`).

#![no_main]

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use automerge::legacy::{ElementId, Key, ObjectId, OpId, OpType};
use automerge::{ActorId, Change, ChangeHash, ExpandedChange, ObjType, ScalarValue};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use vigil_crypto::DeviceKey;
use vigil_model::document::{IncidentDocument, PersonalPart, import_actor};
use vigil_model::{FieldValue, Incident, IncidentId, Status, Taxonomy};
use vigil_store::{ListFilter, Store, StoreError, StoreRead};
use vigil_team::membership::{Action, Role};
use vigil_team::sealing::Readable;
use vigil_sync::wire::WireChange;
use vigil_team::signing::sign;
use vigil_sync::Inbox;
use vigil_team::Roster;

/// What every run starts from: made once.
struct World {
    coordinator: DeviceKey,
    observer: DeviceKey,
    roster: Roster,
    taxonomy: Taxonomy,
    /// The two incidents changes are claimed for.
    incidents: [IncidentId; 2],
    /// Genuine changes (uncompressed bytes) and the incident of each.
    genuine: Vec<(usize, Vec<u8>)>,
    /// The actors operations may name.
    actors: Vec<ActorId>,
    /// `VIGIL_FUZZ_VERBOSE` set: each run prints what the inbox took in.
    verbose: bool,
    /// The coordinator's vault database before any input: it holds the team, and
    /// incident A as its observer first logged it. Each run starts on a copy.
    template: std::path::PathBuf,
    _template_dir: tempfile::TempDir,
}

const STORE_KEY: [u8; 32] = [7; 32];

fn key(seed: u8) -> DeviceKey {
    DeviceKey::from_secret_bytes(&[seed; 32]).expect("32 bytes make a key")
}

fn raw(bytes: &[u8]) -> Vec<u8> {
    Change::from_bytes(bytes.to_vec())
        .expect("a genuine change decodes")
        .raw_bytes()
        .to_vec()
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let coordinator = key(1);
        let observer = key(2);
        let (mut roster, _) =
            Roster::found(&coordinator, "hq", &key(3).public(), 1).expect("a team is founded");
        let add = roster
            .make_entry(
                &coordinator,
                Action::Add {
                    device: observer.public().to_bytes(),
                    role: Role::Observer,
                    label: "field".into(),
                },
                2,
            )
            .expect("an observer is added");
        roster.insert(add).expect("the entry is taken");

        let incidents = [
            IncidentId::from_bytes([0xa1; 16]),
            IncidentId::from_bytes([0xb2; 16]),
        ];
        let by_observer = observer.public().to_bytes();
        let by_coordinator = coordinator.public().to_bytes();
        let mut genuine = Vec::new();

        // Incident A: created by the observer, edited by it, verified by the
        // coordinator.
        let mut a = Incident {
            id: incidents[0].clone(),
            ..Incident::example()
        };
        a.status = Status::Submitted;
        let (mut doc, first) = IncidentDocument::create(
            &by_observer,
            &a,
            &PersonalPart::Absent,
            1_700_000_000,
            "created",
        )
        .expect("an incident is created");
        genuine.push((0, raw(&first.bytes)));
        a.place.city = "Astana".into();
        a.affected.count = 40;
        let edit = doc
            .update(&by_observer, &a, None, 1_700_000_100)
            .expect("an edit")
            .expect("a change");
        genuine.push((0, raw(&edit.bytes)));
        a.status = Status::Verified;
        let review = doc
            .update(&by_coordinator, &a, None, 1_700_000_200)
            .expect("a review")
            .expect("a change");
        genuine.push((0, raw(&review.bytes)));

        // Incident B: created by the observer with other details, then edited: one
        // edit writes the personal part in the open, one a sealed part that is not.
        let mut b = Incident {
            id: incidents[1].clone(),
            ..Incident::example()
        };
        b.status = Status::Submitted;
        b.details.insert("held_hours".into(), FieldValue::Int(2));
        let (mut doc, first) = IncidentDocument::create(
            &by_observer,
            &b,
            &PersonalPart::Absent,
            1_700_000_300,
            "created",
        )
        .expect("an incident is created");
        genuine.push((1, raw(&first.bytes)));
        b.place.city = "Shymkent".into();
        let sealed = doc
            .update(
                &by_observer,
                &b,
                Some(&PersonalPart::Sealed(vec![9; 80])),
                1_700_000_400,
            )
            .expect("an edit")
            .expect("a change");
        genuine.push((1, raw(&sealed.bytes)));
        let open = doc
            .update(
                &by_observer,
                &b,
                Some(&PersonalPart::Open(b.personal.clone())),
                1_700_000_500,
            )
            .expect("an edit")
            .expect("a change");
        genuine.push((1, raw(&open.bytes)));

        let actors = vec![
            ActorId::from(by_observer.as_slice()),
            ActorId::from(by_coordinator.as_slice()),
            ActorId::from(import_actor(&incidents[0])),
        ];

        // Panics inside the product that it contains (Automerge's, in the places
        // the document guards) are expected; libFuzzer's own hook would abort on
        // each. This one only notes the last panic, and the target aborts if one
        // escapes (see the end of this file), naming it.
        let verbose = std::env::var_os("VIGIL_FUZZ_VERBOSE").is_some();
        std::panic::set_hook(Box::new(move |info| {
            let text = info.to_string();
            if verbose {
                eprintln!("contained or not: {text}");
            }
            LAST_PANIC.with(|last| *last.borrow_mut() = Some(text));
        }));

        let template_dir = scratch_dir();
        let template = template_dir.path().join("vault.db");
        {
            let mut store = Store::create(&template, &STORE_KEY).expect("a store");
            store
                .write(|w| {
                    for entry in roster.entries() {
                        w.insert_member_entry(&entry.to_row())?;
                    }
                    Ok::<_, StoreError>(())
                })
                .expect("the team is stored");
            let first = WireChange::from(sign(
                &observer,
                &incidents[0],
                IncidentDocument::decode_change(&genuine[0].1).expect("genuine"),
            ));
            let mut inbox = Inbox::new(&coordinator, &Taxonomy::default_taxonomy());
            inbox
                .accept_changes(&mut store, &roster, vec![first])
                .expect("the first change is taken");
            assert_eq!(inbox.tally.changes, 1, "the first change is stored");
            store
                .checkpoint()
                .expect("the log is folded into the database");
        }

        World {
            template,
            _template_dir: template_dir,
            coordinator,
            observer,
            roster,
            taxonomy: Taxonomy::default_taxonomy(),
            incidents,
            genuine,
            actors,
            verbose,
        }
    })
}

/// Makes the checksum of a change chunk right again for its (altered) body.
fn fix_checksum(bytes: &mut [u8]) {
    const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
    if bytes.len() < 10 || bytes[..4] != MAGIC {
        return;
    }
    let mut len: u64 = 0;
    let mut at = 9;
    let mut shift = 0;
    loop {
        let Some(&byte) = bytes.get(at) else { return };
        at += 1;
        if shift > 56 {
            return;
        }
        len |= u64::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let Some(end) = usize::try_from(len).ok().and_then(|l| at.checked_add(l)) else {
        return;
    };
    let Some(body) = bytes.get(at..end) else {
        return;
    };
    let mut header = vec![bytes[8]];
    let mut rest = len;
    loop {
        let byte = (rest & 0x7f) as u8;
        rest >>= 7;
        if rest == 0 {
            header.push(byte);
            break;
        }
        header.push(byte | 0x80);
    }
    let hash = Sha256::new()
        .chain_update(&header)
        .chain_update(body)
        .finalize();
    bytes[4..8].copy_from_slice(&hash[..4]);
}

/// A genuine change with its operations altered by `program`: `(kind, index, arg)`
/// triples. Encoded again by Automerge, so that it is well formed.
fn alter(change: &[u8], program: &[u8], actors: &[ActorId]) -> Option<Vec<u8>> {
    let mut expanded: ExpandedChange = Change::from_bytes(change.to_vec()).ok()?.decode();
    let op_id = |n: u8, who: u8| {
        OpId(
            u64::from(n),
            actors[usize::from(who) % actors.len()].clone(),
        )
    };
    for step in program.chunks_exact(3) {
        let (kind, index, arg) = (step[0], step[1], step[2]);
        let ops = &mut expanded.operations;
        let i = if ops.is_empty() {
            None
        } else {
            Some(usize::from(index) % ops.len())
        };
        match (kind % 16, i) {
            (0, Some(i)) => ops[i].obj = ObjectId::Id(op_id(arg, index)),
            (1, Some(i)) => ops[i].pred = vec![op_id(arg, index)].into(),
            (2, Some(i)) => ops[i].pred = Vec::new().into(),
            (3, Some(i)) => {
                ops[i].key = Key::Seq(ElementId::Id(op_id(arg, index)));
                ops[i].insert = arg & 1 == 1;
            }
            (4, Some(i)) => {
                ops[i].key =
                    Key::Map(["status", "sealed", "personal", "", "x"][usize::from(arg) % 5].into())
            }
            (5, Some(i)) => {
                ops[i].action = match arg % 7 {
                    0 => OpType::Delete,
                    1 => OpType::Make(ObjType::Map),
                    2 => OpType::Make(ObjType::List),
                    3 => OpType::Make(ObjType::Text),
                    4 => OpType::Increment(i64::from(arg)),
                    5 => OpType::Put(ScalarValue::Str("Verified".into())),
                    _ => OpType::Put(ScalarValue::Bytes(vec![arg; 3])),
                }
            }
            (6, Some(i)) => ops[i].insert = !ops[i].insert,
            (7, Some(i)) => {
                let j = usize::from(arg) % ops.len();
                ops.swap(i, j);
            }
            (8, Some(i)) => {
                ops.remove(i);
            }
            (9, Some(i)) => {
                let op = ops[i].clone();
                ops.insert(usize::from(arg) % (ops.len() + 1), op);
            }
            (10, _) => {
                expanded.start_op = expanded.start_op.saturating_add(u64::from(arg));
            }
            (11, _) => {
                expanded.start_op = std::num::NonZeroU64::new(u64::from(arg).max(1))?;
            }
            (12, _) => expanded.seq = u64::from(arg),
            (13, _) => match arg % 3 {
                0 => {
                    expanded.deps.pop();
                }
                1 => expanded.deps.push(ChangeHash([arg; 32])),
                _ => {
                    if let Some(dep) = expanded.deps.first().copied() {
                        expanded.deps.push(dep);
                    }
                }
            },
            (14, _) => expanded.actor_id = actors[usize::from(arg) % actors.len()].clone(),
            (15, Some(i)) => ops[i].obj = ObjectId::Root,
            _ => {}
        }
    }
    expanded.hash = None;
    // Encoding is our harness, not the product: a change Automerge cannot encode
    // is simply not sent.
    let encoded = catch_unwind(AssertUnwindSafe(move || Change::from(expanded))).ok()?;
    Some(encoded.raw_bytes().to_vec())
}

fn scratch_dir() -> tempfile::TempDir {
    // A RAM disk where there is one: a store per run, synced at every commit.
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().expect("a scratch folder")
}

fn run(data: &[u8]) {
    let world = world();
    let dir = scratch_dir();
    let path = dir.path().join("vault.db");
    std::fs::copy(&world.template, &path).expect("a copy of the template");
    let mut store = Store::open(&path, &STORE_KEY).expect("a store");
    let mut inbox = Inbox::new(&world.coordinator, &world.taxonomy);

    let mut batch = Vec::new();
    let mut rest = data;
    while rest.len() >= 3 {
        let head = rest[0];
        let len = usize::from(u16::from_le_bytes([rest[1], rest[2]])).min(rest.len() - 3);
        let payload = &rest[3..3 + len];
        rest = &rest[3 + len..];

        let pick = |payload: &[u8]| {
            let (incident, bytes) = &world.genuine
                [usize::from(payload.first().copied().unwrap_or(0)) % world.genuine.len()];
            (*incident, bytes.clone())
        };
        let (mut incident, mut bytes) = match head & 0x03 {
            0 => (0, payload.to_vec()),
            1 => {
                let (incident, mut bytes) = pick(payload);
                for set in payload.get(1..).unwrap_or_default().chunks_exact(3) {
                    let at = usize::from(u16::from_le_bytes([set[0], set[1]])) % bytes.len();
                    bytes[at] = set[2];
                }
                (incident, bytes)
            }
            2 => {
                let (incident, bytes) = pick(payload);
                let program = payload.get(1..).unwrap_or_default();
                match alter(&bytes, program, &world.actors) {
                    Some(altered) => (incident, altered),
                    None => continue,
                }
            }
            _ => pick(payload),
        };
        if head & 0x10 == 0 {
            fix_checksum(&mut bytes);
        }
        if head & 0x08 != 0 {
            incident = 1 - incident;
        }
        let incident = &world.incidents[incident];
        let signer = if head & 0x04 != 0 {
            &world.coordinator
        } else {
            &world.observer
        };
        let mut wire = match IncidentDocument::decode_change(&bytes) {
            Ok(change) => WireChange::from(sign(signer, incident, change)),
            Err(_) => WireChange {
                incident: incident.to_bytes(),
                author: None,
                signature: vec![0; 64],
                bytes,
            },
        };
        if head & 0x40 != 0 {
            wire.author = Some(signer.public().to_bytes());
        }
        if head & 0x80 != 0
            && let Some(byte) = wire.signature.first_mut()
        {
            *byte ^= 1;
        }
        batch.push(wire);
        if head & 0x20 != 0 {
            inbox
                .accept_changes(&mut store, &world.roster, std::mem::take(&mut batch))
                .expect("the inbox takes a batch without a store error");
        }
    }
    inbox
        .accept_changes(&mut store, &world.roster, batch)
        .expect("the inbox takes a batch without a store error");
    inbox.finish();
    if world.verbose {
        eprintln!("{:?}", inbox.tally);
    }

    read_everything(world, &store);
}

/// Every read a vault makes of its incidents, and what must hold of them.
fn read_everything(world: &World, store: &Store) {
    for id in store.incident_ids().expect("ids") {
        let stored = store.changes_of(&id).expect("changes");
        let mut doc = IncidentDocument::from_changes(stored.iter().map(Vec::as_slice))
            .expect("a stored incident loads");
        let (mut incident, _) = doc.read().expect("a stored incident reads");
        for device in [&world.coordinator, &world.observer] {
            let _ = Readable::read(&doc, device);
        }
        let _ = doc.has_open_personal();
        let history = doc.history().expect("a stored incident has a history");
        assert_eq!(history.len(), stored.len(), "one history entry per change");
        let given: BTreeSet<[u8; 32]> = doc
            .changes()
            .expect("a stored incident gives its changes back")
            .into_iter()
            .map(|c| c.hash)
            .collect();
        let kept: BTreeSet<[u8; 32]> = stored
            .iter()
            .map(|bytes| IncidentDocument::decode_change(bytes).expect("stored").hash)
            .collect();
        assert_eq!(given, kept, "the changes given back are the ones stored");
        let _ = store.summary(&id).expect("a summary");
        // An edit on top, as the vault makes one, and its history.
        incident.place.city = "Elsewhere".into();
        let actor = world.coordinator.public().to_bytes();
        if doc.update(&actor, &incident, None, 1_800_000_000).is_ok() {
            let _ = doc.history();
            let _ = doc.changes();
        }
    }
    let _ = store.list(&ListFilter::default()).expect("the list");
    let _ = store.counts().expect("the counts");
    let _ = store.sync_items().expect("the sync items");
}

thread_local! {
    /// Where the last panic on this thread was raised, and its message.
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    if catch_unwind(|| run(data)).is_err() {
        let last = LAST_PANIC.with(|last| last.borrow_mut().take());
        eprintln!(
            "a panic escaped: {}",
            last.as_deref().unwrap_or("(no panic noted)")
        );
        std::process::abort();
    }
});
