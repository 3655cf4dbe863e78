//! Every parser of bytes that come from outside a device, other than sync frames
//! (see `session_frames`): an invitation, a recovery code, a partner's JSON lines
//! and CSV, a key file, a membership entry, and a bundle file imported into a real
//! vault. The first byte picks the parser, the rest is its input. Nothing may
//! panic, and a refused bundle leaves the vault as it was.

#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use vigil_core::{Invite, KdfParams, RecoveryCode, Vault};
use vigil_crypto::{DeviceKey, KeyEnvelope};
use vigil_model::Taxonomy;
use vigil_team::Roster;
use vigil_team::membership::SignedEntry;

struct World {
    vault: Mutex<Vault>,
    roster: Roster,
    taxonomy: Taxonomy,
    dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let fast = KdfParams {
            memory_kib: 8 * 1024,
            iterations: 1,
            lanes: 1,
        };
        let mut vault = Vault::create(&dir.path().join("vault"), b"fuzz", fast).expect("a vault");
        vault.create_team("hq").expect("a team");
        let founder = DeviceKey::from_secret_bytes(&[1; 32]).expect("a key");
        let recovery = DeviceKey::from_secret_bytes(&[3; 32]).expect("a key");
        let (roster, _) = Roster::found(&founder, "hq", &recovery.public(), 1).expect("a team");
        World {
            vault: Mutex::new(vault),
            roster,
            taxonomy: Taxonomy::default_taxonomy(),
            dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, input)) = data.split_first() else {
        return;
    };
    let world = world();
    let text = String::from_utf8_lossy(input);
    match which % 7 {
        0 => {
            let _ = Invite::decode(&text);
        }
        1 => {
            let _ = RecoveryCode::read(&text);
        }
        2 => for _ in vigil_exchange::jsonl::read(input, &world.taxonomy).take(1000) {},
        3 => {
            if let Ok(rows) = vigil_exchange::csv_format::read(input, &world.taxonomy) {
                for _ in rows.take(1000) {}
            }
        }
        4 => {
            let _ = KeyEnvelope::from_bytes(input);
        }
        5 => {
            if input.len() >= 64 {
                let (signature, bytes) = input.split_at(64);
                let signature: [u8; 64] = signature.try_into().expect("64 bytes");
                if let Ok(entry) = SignedEntry::decode(bytes, &signature) {
                    let _ = world.roster.clone().insert(entry);
                }
            }
        }
        _ => {
            let path = world.dir.path().join("input.vigil");
            std::fs::write(&path, input).expect("the input is written");
            let mut vault = world.vault.lock().expect("the vault");
            let before = vault.members().expect("members").len();
            if vault.import_bundle(&path).is_err() {
                assert_eq!(vault.members().expect("members").len(), before);
            }
        }
    }
});
