//! A seized phone gives away no names. An observer's vault, after it has handed its
//! reports on, is read the way an attacker who forced the passphrase would read it:
//! every file, every SQLCipher page decrypted one by one, every change of the log
//! taken apart, every sealed part tried with the device's own key. Then a
//! coordinator revoked at a moment T is given every byte made after T, and a member
//! sends sealed data that was altered.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};
use vigil_core::{Incident, IncidentId, Person, PersonalAccess, Role, Status, VaultError};
use vigil_crypto::{DeviceKey, KeyEnvelope};
use vigil_model::document::{IncidentDocument, PersonalPart};
use vigil_store::{Store, StoreRead};
use vigil_team::sealing::Readable;

mod common;
use common::{Device, PASS, coordinator, joined};

/// The SQLCipher settings `vigil-store` uses: 8 KiB pages, each ending in a 16-byte
/// IV and a 32-byte HMAC-SHA256; the first 16 bytes of the file are the salt.
const PAGE: usize = 8192;
const RESERVE: usize = 48;

/// `i` in syllables: names are compared without digits or doubled letters.
fn letters(i: usize) -> String {
    const SYLLABLES: [&str; 10] = ["ba", "ce", "di", "fo", "gu", "ha", "je", "ki", "lo", "mu"];
    format!("{i:03}")
        .bytes()
        .map(|d| SYLLABLES[usize::from(d - b'0')])
        .collect()
}

/// A named incident whose name and text appear nowhere else.
fn named(i: usize, status: Status) -> Incident {
    let mut incident = Incident::example();
    incident.id = IncidentId::random();
    incident.status = status;
    incident.place.city = format!("Town{i:03}");
    incident.personal.persons = vec![Person::new(format!("Zhanar Qwerty{}", letters(i)), None)];
    incident.personal.description = format!("Dragged into van number {i:03} at dawn");
    incident.personal.reported_by = Some(format!("obs-pseudonym-{i:03}"));
    incident
}

fn secrets(i: usize) -> [String; 3] {
    [
        format!("Qwerty{}", letters(i)),
        format!("van number {i:03}"),
        format!("obs-pseudonym-{i:03}"),
    ]
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The vault key and the database of a vault folder, as its passphrase unlocks them.
fn unlock(dir: &Path) -> ([u8; 32], Store, DeviceKey) {
    let envelope = KeyEnvelope::from_bytes(&fs::read(dir.join("vault.key")).unwrap()).unwrap();
    let key = *envelope.open(PASS).unwrap().expose();
    let store = Store::open(&dir.join("vault.db"), &key).unwrap();
    let device =
        DeviceKey::from_secret_bytes(&store.meta("device_secret").unwrap().unwrap()).unwrap();
    (key, store, device)
}

/// One SQLCipher page decrypted (AES-256-CBC with the raw vault key).
fn decrypt_page(key: &[u8; 32], page: &[u8], first: bool) -> Vec<u8> {
    let start = if first { 16 } else { 0 };
    let iv = &page[PAGE - RESERVE..PAGE - RESERVE + 16];
    let mut data = page[start..PAGE - RESERVE].to_vec();
    cbc::Decryptor::<aes::Aes256>::new(key.into(), iv.into())
        .decrypt_padded_mut::<NoPadding>(&mut data)
        .unwrap();
    data
}

/// Every page of the database file and of its write-ahead log, free pages and old
/// frames included, decrypted.
fn every_page(dir: &Path, key: &[u8; 32]) -> Vec<Vec<u8>> {
    let mut pages = Vec::new();
    let db = fs::read(dir.join("vault.db")).unwrap();
    for (i, page) in db.chunks_exact(PAGE).enumerate() {
        pages.push(decrypt_page(key, page, i == 0));
    }
    if let Ok(wal) = fs::read(dir.join("vault.db-wal")) {
        // A 32-byte header, then frames: a 24-byte header (page number first), a page.
        for frame in wal.get(32..).unwrap_or_default().chunks_exact(24 + PAGE) {
            let number = u32::from_be_bytes(frame[..4].try_into().unwrap());
            pages.push(decrypt_page(key, &frame[24..], number == 1));
        }
    }
    pages
}

/// Copies a vault folder, as an attacker images a phone.
fn image(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seized_observer_phone_holds_no_names_and_the_coordinator_reads_them_all() {
    let hq = coordinator();
    let observer = joined(&hq, Role::Observer, "field").await;
    let mut ids = Vec::new();
    for i in 0..100 {
        // Half are written as drafts first, then submitted.
        let draft = i % 2 == 0;
        let incident = named(
            i,
            if draft {
                Status::Draft
            } else {
                Status::Submitted
            },
        );
        let id = observer.vault().add(&incident).unwrap();
        if draft {
            let (read, access) = observer.vault().read(&id).unwrap();
            assert_eq!(access, PersonalAccess::Draft);
            assert_eq!(read.personal, incident.personal, "a draft stays readable");
            assert!(observer.vault().history(&id).unwrap().is_empty());
            observer
                .vault()
                .edit(&id, |i| {
                    i.status = Status::Submitted;
                    Ok(())
                })
                .unwrap();
        }
        ids.push((id, incident));
    }
    let report = observer.node.sync(hq.addr()).await.unwrap();
    assert_eq!(report.stats.refused, 0);

    // The coordinator reads every name and text.
    for (id, sent) in &ids {
        let (got, access) = hq.vault().read(id).unwrap();
        assert_eq!(access, PersonalAccess::Readable);
        assert_eq!(got.personal, sent.personal);
    }
    let figures = hq.vault().report(&[Status::Submitted]).unwrap();
    assert_eq!(
        figures.figures["election_day/arbitrary_detention"].named_people,
        100
    );

    // The observer lists its incidents by category, place and time, and reads none
    // of their personal data; it cannot write any either.
    let listed = observer.vault().list(&Default::default()).unwrap();
    assert_eq!(listed.len(), 100);
    assert!(listed.iter().all(|s| s.sealed && s.named.is_empty()));
    for (id, sent) in &ids {
        let (got, access) = observer.vault().read(id).unwrap();
        assert_eq!(access, PersonalAccess::Sealed);
        assert_eq!(got.place.city, sent.place.city);
        assert_eq!(got.personal, Default::default());
    }
    let (first, _) = &ids[0];
    let refused = observer.vault().edit(first, |i| {
        i.personal.description = "overwritten".into();
        Ok(())
    });
    assert!(matches!(refused, Err(VaultError::Sealed)), "{refused:?}");

    // Seized: the phone's folder is imaged; the attacker forced the passphrase.
    let seized = tempfile::tempdir().unwrap();
    image(&observer.path(), seized.path());
    let raw: Vec<Vec<u8>> = fs::read_dir(seized.path())
        .unwrap()
        .map(|e| fs::read(e.unwrap().path()).unwrap())
        .collect();
    let (key, store, device) = unlock(seized.path());
    let pages = every_page(seized.path(), &key);
    // The pages really are decrypted: the schema and the public part read plainly.
    assert!(pages.iter().any(|p| contains(p, "CREATE TABLE drafts")));
    assert!(pages.iter().any(|p| contains(p, "Town042")));
    // Every change of the log, taken apart, and every sealed part it ever wrote
    // tried with the device's own key.
    let mut changes = String::new();
    let mut seals_tried = 0;
    for id in store.incident_ids().unwrap() {
        for bytes in store.changes_of(&id).unwrap() {
            let change = automerge::Change::from_bytes(bytes).unwrap();
            let decoded = change.decode();
            for op in &decoded.operations {
                if let automerge::legacy::OpType::Put(automerge::ScalarValue::Bytes(sealed)) =
                    &op.action
                {
                    seals_tried += 1;
                    assert!(
                        vigil_team::sealing::open(&device, &id, sealed).is_err(),
                        "a sealed part in the history opens"
                    );
                }
            }
            changes.push_str(&format!("{decoded:?}"));
        }
        let doc = IncidentDocument::from_changes(
            store.changes_of(&id).unwrap().iter().map(Vec::as_slice),
        )
        .unwrap();
        assert!(matches!(doc.read().unwrap().1, PersonalPart::Sealed(_)));
        assert_eq!(
            Readable::read(&doc, &device).unwrap().access,
            PersonalAccess::Sealed
        );
    }
    assert!(seals_tried >= 100, "{seals_tried}");
    assert!(contains(changes.as_bytes(), "Town042"));
    assert!(store.drafts().unwrap().is_empty());
    for i in 0..100 {
        // As written, and as the names index would keep them (lower case).
        for secret in secrets(i).into_iter().flat_map(|s| [s.to_lowercase(), s]) {
            assert!(
                !raw.iter().any(|f| contains(f, &secret)),
                "raw file: {secret}"
            );
            assert!(
                !pages.iter().any(|p| contains(p, &secret)),
                "page: {secret}"
            );
            assert!(!contains(changes.as_bytes(), &secret), "change: {secret}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_revoked_at_t_opens_nothing_made_after_t() {
    let hq = coordinator();
    let deputy = joined(&hq, Role::Coordinator, "deputy").await;
    let observer = joined(&hq, Role::Observer, "field").await;
    let before = observer.vault().add(&named(1, Status::Submitted)).unwrap();
    observer.node.sync(hq.addr()).await.unwrap();
    deputy.node.sync(hq.addr()).await.unwrap();
    assert_eq!(
        deputy.vault().read(&before).unwrap().1,
        PersonalAccess::Readable
    );

    // T: the deputy's phone is seized; hq revokes it, and the observer hears of it.
    let fingerprint = deputy.vault().info().unwrap().device;
    hq.vault().revoke(&fingerprint, None).unwrap();
    observer.node.sync(hq.addr()).await.unwrap();
    let from_observer = observer.vault().add(&named(2, Status::Submitted)).unwrap();
    let from_hq = hq.vault().add(&named(3, Status::Submitted)).unwrap();
    // An old incident's names corrected after T are sealed anew, without the deputy.
    hq.vault()
        .edit(&before, |i| {
            i.personal.description.push_str(", corrected");
            Ok(())
        })
        .unwrap();
    observer.node.sync(hq.addr()).await.unwrap();

    // The deputy's keys against every byte hq holds.
    let (_, hq_store, _) = unlock(&hq.path());
    let (_, _, deputy_key) = unlock(&deputy.path());
    let readable = |id: &IncidentId| {
        let doc = IncidentDocument::from_changes(
            hq_store.changes_of(id).unwrap().iter().map(Vec::as_slice),
        )
        .unwrap();
        Readable::read(&doc, &deputy_key).unwrap().access
    };
    assert_eq!(readable(&from_observer), PersonalAccess::Sealed);
    assert_eq!(readable(&from_hq), PersonalAccess::Sealed);
    assert_eq!(
        readable(&before),
        PersonalAccess::Sealed,
        "the corrected version"
    );
    // hq reads them all.
    for id in [&before, &from_observer, &from_hq] {
        assert_eq!(hq.vault().read(id).unwrap().1, PersonalAccess::Readable);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_sealed_data_from_a_member_is_refused() {
    let hq = coordinator();
    let observer = joined(&hq, Role::Observer, "field").await;
    let honest = observer.vault().add(&named(1, Status::Submitted)).unwrap();
    observer.node.sync(hq.addr()).await.unwrap();

    // A member's device writes changes whose sealed part was altered, or taken from
    // another incident, straight into its own database, and offers them.
    let (_, mut store, key) = unlock(&observer.path());
    let recipients = hq.vault().sealing_recipients();
    let mut forged = Vec::new();
    let flipped = named(2, Status::Submitted);
    let mut sealed =
        vigil_team::sealing::seal(&recipients, &flipped.id, &flipped.personal).unwrap();
    let last = sealed.len() - 3;
    sealed[last] ^= 1;
    forged.push((flipped, sealed));
    let moved = named(3, Status::Submitted);
    let other = vigil_team::sealing::seal(&recipients, &honest, &moved.personal).unwrap();
    forged.push((moved, other));
    let actor = key.public().to_bytes();
    store
        .write(|w| {
            for (incident, sealed) in &forged {
                let (_, change) = IncidentDocument::create(
                    &actor,
                    incident,
                    &PersonalPart::Sealed(sealed.clone()),
                    1_900_000_000,
                    "created",
                )
                .unwrap();
                w.insert_change(&vigil_team::signing::sign(&key, &incident.id, change))?;
            }
            Ok::<_, vigil_store::StoreError>(())
        })
        .unwrap();
    drop(store);

    let before = hq.vault().list(&Default::default()).unwrap();
    let report = observer.node.sync(hq.addr()).await.unwrap();
    assert_eq!(report.stats.peer_refused, Some(2), "{:?}", report.stats);
    assert_eq!(hq.vault().list(&Default::default()).unwrap(), before);
    assert_eq!(
        hq.vault().read(&honest).unwrap().1,
        PersonalAccess::Readable
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_was_submitted_before_joining_reaches_the_coordinator_readable() {
    let hq = coordinator();
    let early = Device::new();
    let id = early.vault().add(&named(5, Status::Submitted)).unwrap();
    // In no team, a vault seals to itself.
    assert_eq!(early.vault().read(&id).unwrap().1, PersonalAccess::Readable);
    early
        .node
        .join(&hq.invite(Role::Observer), "early")
        .await
        .unwrap();
    assert_eq!(early.vault().read(&id).unwrap().1, PersonalAccess::Sealed);
    early.node.sync(hq.addr()).await.unwrap();
    let (incident, access) = hq.vault().read(&id).unwrap();
    assert_eq!(access, PersonalAccess::Readable);
    assert_eq!(
        incident.personal.description,
        "Dragged into van number 005 at dawn"
    );
}

/// The founder's phone is seized: another coordinator revokes it like any other.
/// What observers submit afterwards opens for the remaining coordinator only, and
/// the founder's device is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seized_founder_is_revoked_by_the_other_coordinator() {
    let hq = coordinator();
    let deputy = joined(&hq, Role::Coordinator, "deputy").await;
    let observer = joined(&hq, Role::Observer, "field").await;
    let fingerprint = hq.vault().info().unwrap().device;
    let refused = hq.vault().revoke(&fingerprint, None);
    assert!(refused.is_err(), "a device does not revoke itself");
    // Members the founder added stand if the deputy had seen them by then.
    deputy.node.sync(hq.addr()).await.unwrap();
    deputy.vault().revoke(&fingerprint, None).unwrap();
    observer.node.sync(deputy.addr()).await.unwrap();
    let after = observer.vault().add(&named(4, Status::Submitted)).unwrap();
    let sent = observer.node.sync(deputy.addr()).await.unwrap();
    assert_eq!(sent.stats.changes_sent, 1, "{:?}", sent.stats);
    assert_eq!(
        deputy.vault().read(&after).unwrap().1,
        PersonalAccess::Readable
    );
    // The founder's key against every byte the deputy holds.
    let (_, deputy_store, _) = unlock(&deputy.path());
    let (_, _, founder_key) = unlock(&hq.path());
    let doc = IncidentDocument::from_changes(
        deputy_store
            .changes_of(&after)
            .unwrap()
            .iter()
            .map(Vec::as_slice),
    )
    .unwrap();
    assert_eq!(
        Readable::read(&doc, &founder_key).unwrap().access,
        PersonalAccess::Sealed
    );
    assert!(hq.node.sync(deputy.addr()).await.is_err());
}
