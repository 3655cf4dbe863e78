//! Writes the seed corpora of the fuzz targets (`fuzz/seeds/<target>/`) from real
//! frames, files and entries made by the crates themselves, so that the fuzzer
//! starts from every well-formed shape: `cargo run --example fuzz_seeds`.

use std::path::Path;

use vigil_core::{Format, Incident, IncidentId, KdfParams, Role, Vault};
use vigil_crypto::DeviceKey;
use vigil_model::document::{IncidentDocument, PersonalPart};
use vigil_sync::Frame;
use vigil_sync::reconcile::Items;
use vigil_sync::wire::{WireChange, WireEntry};
use vigil_team::Roster;
use vigil_team::membership::Action;

const FAST: KdfParams = KdfParams {
    memory_kib: 8 * 1024,
    iterations: 1,
    lanes: 1,
};

fn chunked(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        let bytes = frame.encode();
        out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(name), bytes)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");

    // Session frames: one of every variant, and a short session.
    let founder = DeviceKey::from_secret_bytes(&[1; 32])?;
    let observer = DeviceKey::from_secret_bytes(&[2; 32])?;
    let recovery = DeviceKey::from_secret_bytes(&[3; 32])?;
    let (mut roster, _) = Roster::found(&founder, "hq", &recovery.public(), 1)?;
    let add = roster.make_entry(
        &founder,
        Action::Add {
            device: observer.public().to_bytes(),
            role: Role::Observer,
            label: "field".into(),
        },
        2,
    )?;
    roster.insert(add)?;
    let entries: Vec<WireEntry> = roster
        .entries()
        .into_iter()
        .map(|e| WireEntry {
            bytes: e.bytes.clone(),
            signature: e.signature.to_vec(),
        })
        .collect();
    let incident = Incident {
        id: IncidentId::from_bytes([7; 16]),
        ..Incident::example()
    };
    let (_, change) = IncidentDocument::create(
        &observer.public().to_bytes(),
        &incident,
        &PersonalPart::Absent,
        1_700_000_000,
        "created",
    )?;
    let signed = vigil_team::signing::sign(&observer, &incident.id, change);
    let hash = signed.hash;
    let items = Items::new(vec![(1_700_000_000, hash)]);
    let frames = [
        (
            "reconcile-nothing",
            Frame::Reconcile(Items::new(Vec::new()).initial()),
        ),
        ("reconcile-one", Frame::Reconcile(items.initial())),
        ("want", Frame::Want(vec![[7; 16]])),
        ("members", Frame::Members(entries)),
        ("changes", Frame::Changes(vec![WireChange::from(signed)])),
        (
            "done",
            Frame::Done {
                accepted: 1,
                refused: 0,
                reply: true,
            },
        ),
        (
            "join",
            Frame::Join {
                secret: [5; 32],
                label: "field".into(),
            },
        ),
        (
            "welcome",
            Frame::Welcome {
                team: roster.team(),
            },
        ),
        ("prove", Frame::Prove),
    ];
    let dir = root.join("session_frames");
    for (name, frame) in &frames {
        write(&dir, name, &chunked(std::slice::from_ref(frame)))?;
    }
    let session: Vec<Frame> = frames.iter().map(|(_, f)| f.clone()).collect();
    write(&dir, "all-in-turn", &chunked(&session))?;

    // Parsers: the first byte picks the parser (see `fuzz/fuzz_targets/parsers.rs`).
    let dir = root.join("parsers");
    let folder = tempfile::tempdir()?;
    let mut vault = Vault::create(&folder.path().join("vault"), b"seeds", FAST)?;
    let code = vault.create_team("hq")?;
    let invite = vault.invite(Role::Observer, 3600, vec!["192.168.43.1:7447".parse()?])?;
    let mut observed = Incident::example();
    observed.id = IncidentId::random();
    vault.add(&observed)?;
    let mut jsonl = Vec::new();
    vault.export(&mut jsonl, Format::Jsonl, &[])?;
    let mut csv = Vec::new();
    vault.export(&mut csv, Format::Csv, &[])?;
    let bundle = folder.path().join("all.vigil");
    vault.export_bundle(&bundle, None)?;
    let key_file = std::fs::read(folder.path().join("vault/vault.key"))?;
    let entry = roster.entries()[1];
    let mut signed_entry = entry.signature.to_vec();
    signed_entry.extend_from_slice(&entry.bytes);
    let seeds: [(&str, u8, Vec<u8>); 7] = [
        ("invite", 0, invite.encode().as_bytes().to_vec()),
        ("recovery-code", 1, code.as_str().as_bytes().to_vec()),
        ("jsonl", 2, jsonl),
        ("csv", 3, csv),
        ("key-file", 4, key_file),
        ("membership-entry", 5, signed_entry),
        ("bundle", 6, std::fs::read(&bundle)?),
    ];
    for (name, which, bytes) in seeds {
        let mut input = vec![which];
        input.extend_from_slice(&bytes);
        write(&dir, name, &input)?;
    }
    println!("seeds written under {}", root.display());
    Ok(())
}
