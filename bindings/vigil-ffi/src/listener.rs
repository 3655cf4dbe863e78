//! How a shell hears that a vault changed: a listener it implements and registers,
//! e.g. to refresh a list when a peer's incidents arrive.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::shell::Foreign;
use crate::{SyncSummary, VigilError};

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ChangeSource {
    /// This device: an incident added or edited, a team action.
    Local,
    /// A file: an import, a merge or a bundle.
    File,
    /// A peer, in a sync session.
    Peer,
}

/// What changed in a vault. Counts only: the shell reloads what it shows.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VaultChange {
    /// Where it came from.
    pub source: ChangeSource,
    /// Incidents added or changed.
    pub incidents: u64,
    /// Membership entries received (the team changed).
    pub members: u64,
}

/// Implemented by the shell. Called on a background thread after a change is
/// stored; return quickly (post to the UI thread). An error it throws is logged and
/// changes nothing.
#[uniffi::export(with_foreign)]
pub trait VaultListener: Send + Sync {
    /// The vault changed.
    fn vault_changed(&self, change: VaultChange) -> Result<(), VigilError>;
}

/// The listeners of one vault.
#[derive(Default)]
pub(crate) struct Listeners(Mutex<Vec<Foreign<dyn VaultListener>>>);

impl Listeners {
    /// The list is valid whatever panicked while holding it: a poisoned lock is
    /// taken back, so that listeners are not silently dropped.
    fn all(&self) -> MutexGuard<'_, Vec<Foreign<dyn VaultListener>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn add(&self, listener: Arc<dyn VaultListener>) {
        self.all().push(Foreign::new(listener));
    }

    pub(crate) fn clear(&self) {
        self.all().clear();
    }

    /// Tells every listener what a sync session stored.
    pub(crate) fn heard_from_peer(&self, session: &SyncSummary) {
        self.notify(
            ChangeSource::Peer,
            session.incidents_updated,
            session.members_received,
        );
    }

    /// Tells every listener, unless nothing changed.
    pub(crate) fn notify(&self, source: ChangeSource, incidents: u64, members: u64) {
        if incidents == 0 && members == 0 {
            return;
        }
        // Copied out so that a listener may call back into the vault.
        let all = self.all().clone();
        for listener in all {
            let change = VaultChange {
                source,
                incidents,
                members,
            };
            let Some(listener) = listener.get() else {
                continue;
            };
            // The shell's own error text could quote anything: it is not logged.
            if let Some(Err(_)) = crate::shell::call(|| listener.vault_changed(change)) {
                tracing::warn!("a vault listener failed");
            }
        }
    }
}
