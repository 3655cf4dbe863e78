//! The vault behind a mutex, as the bindings and a serving [`crate::Node`] share it.

use std::sync::{Mutex, MutexGuard};

use crate::{Vault, VaultError};

/// Locks a vault shared between threads.
///
/// A panic while the lock is held (a bug, or a library that panics on some input)
/// poisons the mutex. Left poisoned, every later call would fail until the vault
/// was opened again, and a serving node would stop serving; instead the vault is
/// taken back, because what it holds is still consistent:
///
/// - the database: every write runs in one SQLite transaction (`Store::write`),
///   and a transaction dropped by the unwinding panic is rolled back, so the store
///   holds each write whole or not at all;
/// - the device key, its actor and the folder never change while the vault is
///   open; the taxonomy is replaced only after its new text is stored, in one
///   assignment;
/// - the team (the roster and the admission policy drawn from it) is kept in
///   memory beside the store and can be a step ahead of it (the inbox takes in
///   membership entries before their transaction commits), so it is read again
///   from the store here.
///
/// If the team cannot be read, the error is returned and the mutex stays poisoned:
/// the next lock tries again.
pub fn lock_vault(vault: &Mutex<Vault>) -> Result<MutexGuard<'_, Vault>, VaultError> {
    match vault.lock() {
        Ok(guard) => Ok(guard),
        Err(poisoned) => {
            let mut guard = poisoned.into_inner();
            guard.load_team()?;
            vault.clear_poison();
            tracing::warn!("a call failed while it held the vault; the vault is taken back");
            Ok(guard)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::sync::Arc;

    use super::*;
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
        let vault = Arc::new(Mutex::new(vault));

        let held = Arc::clone(&vault);
        let outcome = std::thread::spawn(move || {
            let mut v = lock_vault(&held).unwrap();
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
        let held = Arc::clone(&vault);
        let _ = std::thread::spawn(move || {
            let mut v = lock_vault(&held).unwrap();
            v.roster = None;
            panic!("a bug after changing the team in memory");
        })
        .join();

        let mut v = lock_vault(&vault).unwrap();
        assert!(!vault.is_poisoned(), "taken back once, not at every lock");
        assert_eq!(v.team_fingerprint(), team, "the team is read again");
        let id = v.add(&Incident::example()).unwrap();
        assert_eq!(v.info().unwrap().incidents, 1);
        assert!(v.get(&id).is_ok());
    }
}
