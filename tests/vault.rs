//! End-to-end tests of the core across crates: real vault folders, real SQLCipher
//! files, generated partner exports with their ground-truth figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use vigil_core::{Format, ImportMode, KdfParams, Status, Vault};

const PASS: &[u8] = b"end to end";
const FAST: KdfParams = KdfParams {
    memory_kib: 8 * 1024,
    iterations: 1,
    lanes: 1,
};
const COUNTED: &[Status] = &[Status::Submitted, Status::Verified];

fn json(report: &vigil_core::Report) -> serde_json::Value {
    serde_json::from_str(&report.to_json()).unwrap()
}

fn filled(dir: &Path, seed: u64, scale: usize) -> (Vault, vigil_scenario::Scenario) {
    let mut vault = Vault::create(&dir.join("vault"), PASS, FAST).unwrap();
    let scenario = vigil_scenario::generate(seed, scale);
    vault
        .import(
            scenario.to_jsonl().as_bytes(),
            Format::Jsonl,
            ImportMode::AllOrNothing,
        )
        .unwrap();
    (vault, scenario)
}

#[test]
fn generated_campaigns_give_their_ground_truth_figures() {
    for (seed, scale) in [(1, 1), (2, 1), (3, 3)] {
        let dir = tempfile::tempdir().unwrap();
        let (vault, scenario) = filled(dir.path(), seed, scale);
        assert_eq!(
            json(&vault.report(COUNTED).unwrap()),
            scenario.expected_json(),
            "seed {seed}, scale {scale}"
        );
    }
}

#[test]
fn projections_agree_with_the_documents_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, _) = filled(dir.path(), 21, 1);
    let fast = vault.report(COUNTED).unwrap();
    drop(vault);
    let mut vault = Vault::open(&dir.path().join("vault"), PASS).unwrap();
    assert_eq!(vault.report(COUNTED).unwrap(), fast);
    assert_eq!(vault.report_from_documents(COUNTED).unwrap(), fast);
    assert_eq!(vault.rebuild_projections().unwrap(), 729);
    assert_eq!(vault.report(COUNTED).unwrap(), fast);
}

#[test]
fn two_replicas_edited_apart_converge_when_merged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, _) = filled(dir.path(), 8, 1);
    let mut b = Vault::create(&dir.path().join("b"), PASS, FAST).unwrap();
    b.merge_from(&a).unwrap();
    assert_eq!(b.report(COUNTED).unwrap(), a.report(COUNTED).unwrap());
    // b sealed a's personal parts again for both; a takes that back.
    assert_eq!(a.merge_from(&b).unwrap().changes, 729);

    let ids: Vec<_> = a
        .list(&Default::default())
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .take(20)
        .collect();
    let set = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
    for (i, id) in ids.iter().enumerate() {
        a.edit_fields(id, &set("city", &format!("City-{i}")))
            .unwrap();
        b.edit_fields(id, &set("status", "verified")).unwrap();
        if i % 2 == 0 {
            // The same field on both sides: one value wins, the same one everywhere.
            a.edit_fields(id, &set("region", "A")).unwrap();
            b.edit_fields(id, &set("region", "B")).unwrap();
        }
    }
    let into_a = a.merge_from(&b).unwrap();
    let into_b = b.merge_from(&a).unwrap();
    assert_eq!(into_a.incidents, 20);
    assert_eq!(into_b.incidents, 20);
    for (i, id) in ids.iter().enumerate() {
        let (on_a, on_b) = (a.get(id).unwrap(), b.get(id).unwrap());
        assert_eq!(on_a, on_b);
        assert_eq!(on_a.place.city, format!("City-{i}"));
        assert_eq!(on_a.status, Status::Verified);
    }
    assert_eq!(a.report(COUNTED).unwrap(), b.report(COUNTED).unwrap());
    // Merging again changes nothing.
    assert_eq!(a.merge_from(&b).unwrap().changes, 0);
}

#[test]
fn one_file_imported_on_two_devices_is_one_incident_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, scenario) = filled(dir.path(), 17, 1);
    let mut b = Vault::create(&dir.path().join("b"), PASS, FAST).unwrap();
    b.import(
        scenario.to_jsonl().as_bytes(),
        Format::Jsonl,
        ImportMode::AllOrNothing,
    )
    .unwrap();
    // Both imports made the same first changes: the merge brings only a's sealed
    // personal parts, and no incident twice.
    let merged = b.merge_from(&a).unwrap();
    assert_eq!(merged.incidents, 729);
    assert!(merged.changes >= 729, "{merged:?}");
    assert_eq!(b.list(&Default::default()).unwrap().len(), 729);

    let id = a.list(&Default::default()).unwrap()[0].id.clone();
    let set = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
    a.edit_fields(&id, &set("city", "Oral")).unwrap();
    b.edit_fields(&id, &set("region", "West Kazakhstan Region"))
        .unwrap();
    a.merge_from(&b).unwrap();
    b.merge_from(&a).unwrap();
    let merged = a.get(&id).unwrap();
    assert_eq!(merged, b.get(&id).unwrap());
    assert_eq!(merged.place.city, "Oral");
    assert_eq!(merged.place.region, "West Kazakhstan Region");
    assert!(!merged.personal.persons.is_empty() || !merged.personal.description.is_empty());
    assert_eq!(a.info().unwrap().changes, b.info().unwrap().changes);
    assert_eq!(a.report(COUNTED).unwrap(), b.report(COUNTED).unwrap());
    let history = a.history(&id).unwrap();
    assert_eq!(a.author_label(&history[0].actor), "partner import");
}

#[test]
fn raw_vault_files_hold_no_names_or_text() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, scenario) = filled(dir.path(), 13, 1);
    let mut raw = Vec::new();
    // Read while the vault is open: the WAL and shared memory files are there too.
    for entry in std::fs::read_dir(dir.path().join("vault")).unwrap() {
        raw.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let mut needles = scenario.names();
    needles.extend(["was among them", "Kostanay", "persecution", "obs-1"].map(String::from));
    for needle in needles {
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "found readable text in the vault files"
        );
    }
    drop(vault);
}

/// A passphrase change rewrites the key file by rename (a crash leaves the old or
/// the new), then blanks the old file where it lay: the key wrapped under the old
/// passphrase does not linger in a freed block. A hard link made before the change
/// still points at those blocks.
#[test]
fn the_key_file_under_an_old_passphrase_is_blanked_where_it_lay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault");
    let vault = Vault::create(&path, PASS, FAST).unwrap();
    let old_blocks = dir.path().join("old-key-file");
    std::fs::hard_link(path.join("vault.key"), &old_blocks).unwrap();
    let before = std::fs::read(&old_blocks).unwrap();
    assert!(before.iter().any(|&b| b != 0));
    vault
        .change_passphrase(PASS, b"a new passphrase", None)
        .unwrap();
    let after = std::fs::read(&old_blocks).unwrap();
    assert_eq!(after.len(), before.len());
    assert!(
        after.iter().all(|&b| b == 0),
        "the old wrapped key is still there"
    );
    drop(vault);
    assert!(Vault::open(&path, b"a new passphrase").is_ok());
    assert!(Vault::open(&path, PASS).is_err());
}

/// Calibration keeps the memory it is given and picks between 3 and 64 passes;
/// a longer target never gets fewer.
#[test]
fn calibration_keeps_the_memory_asked_for() {
    use std::time::Duration;
    let short = vigil_core::calibrated_kdf(8 * 1024, Duration::from_millis(1)).unwrap();
    assert_eq!(short.memory_kib, 8 * 1024);
    assert_eq!(short.iterations, 3, "never fewer than 3 passes");
    let long = vigil_core::calibrated_kdf(8 * 1024, Duration::from_millis(300)).unwrap();
    assert_eq!(long.memory_kib, 8 * 1024);
    assert!((3..=64).contains(&long.iterations));
    assert!(long.iterations >= short.iterations);
}
