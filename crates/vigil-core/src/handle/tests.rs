#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;
use vigil_net::PeerPolicy;

use crate::{Incident, KdfParams};

const FAST: KdfParams = KdfParams {
    memory_kib: 8 * 1024,
    iterations: 1,
    lanes: 1,
};

#[test]
fn a_panic_while_the_vault_is_held_does_not_leave_it_unusable() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::create(dir.path(), b"lock test", FAST).unwrap();
    vault.create_team("team").unwrap();
    let team = vault.team_fingerprint();
    let vault = VaultHandle::new(vault);

    let held = vault.clone();
    let outcome = std::thread::spawn(move || {
        let mut v = held.lock().unwrap();
        // A write that panics halfway: its transaction is rolled back.
        let _ = v.store.write(|_| -> Result<(), VaultError> {
            panic!("a bug while writing");
        });
        unreachable!()
    })
    .join();
    assert!(outcome.is_err());
    assert!(vault.is_poisoned());

    // And one that leaves the team in memory out of step with the store.
    let held = vault.clone();
    let _ = std::thread::spawn(move || {
        let mut v = held.lock().unwrap();
        v.roster = None;
        panic!("a bug after changing the team in memory");
    })
    .join();

    let mut v = vault.lock().unwrap();
    assert!(!vault.is_poisoned(), "taken back once, not at every lock");
    assert_eq!(v.team_fingerprint(), team, "the team is read again");
    let id = v.add(&Incident::example()).unwrap();
    assert_eq!(v.info().unwrap().incidents, 1);
    assert!(v.get(&id).is_ok());
}

#[test]
fn a_wiped_handle_refuses_every_call_and_admits_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::create(dir.path(), b"wipe test", FAST).unwrap();
    vault.create_team("team").unwrap();
    let own = vault.device.public();
    let vault = VaultHandle::new(vault);
    let policy = Arc::clone(&vault.shared.policy);
    assert_eq!(policy.admit(&own), vigil_net::Admission::Member);
    let other = vault.clone();
    vault.wipe().unwrap();
    assert!(other.is_wiped(), "every clone is the same vault");
    assert!(matches!(other.lock(), Err(VaultError::Wiped)));
    assert!(matches!(other.report(&[]), Err(VaultError::Wiped)));
    assert_eq!(policy.admit(&own), vigil_net::Admission::Refused);
    // Wiping again, as a second press of the button would, is no error.
    vault.wipe().unwrap();
}
