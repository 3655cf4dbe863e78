//! How a shell hears that a vault changed: a listener it implements and registers,
//! e.g. to refresh a list when a peer's incidents arrive.

use std::sync::Arc;

use crate::VigilError;
use crate::shell::Foreign;

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

/// Implemented by the shell. Called after a change is stored, on the thread that
/// stored it (a background thread for syncs, imports and bundles); return quickly
/// (post to the UI thread). An error it throws is logged and changes nothing.
#[uniffi::export(with_foreign)]
pub trait VaultListener: Send + Sync {
    /// The vault changed.
    fn vault_changed(&self, change: VaultChange) -> Result<(), VigilError>;
}

/// The core's subscriber that calls `listener`. A listener that throws harms
/// nobody: the change it was told of stands, and its error (the shell's own text,
/// which could quote anything) is not logged.
pub(crate) fn subscriber(
    listener: Arc<dyn VaultListener>,
) -> impl Fn(&vigil_core::VaultEvent) + Send + Sync + 'static {
    let listener = Foreign::new(listener);
    move |event| {
        let Some(listener) = listener.get() else {
            return;
        };
        let change = VaultChange::from(event);
        if let Some(Err(_)) = crate::shell::call(|| listener.vault_changed(change)) {
            tracing::warn!("a vault listener failed");
        }
    }
}

impl From<&vigil_core::VaultEvent> for VaultChange {
    fn from(event: &vigil_core::VaultEvent) -> Self {
        Self {
            source: match event.source {
                vigil_core::ChangeSource::Local => ChangeSource::Local,
                vigil_core::ChangeSource::File => ChangeSource::File,
                vigil_core::ChangeSource::Peer => ChangeSource::Peer,
            },
            incidents: event.incidents,
            members: event.members,
        }
    }
}
