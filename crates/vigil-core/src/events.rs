//! Change events: how a shell hears that its vault changed, whatever changed it (a
//! form, an import, a peer), to refresh what it shows. Counts only: nothing of an
//! incident travels in an event, so a listener can log it without thought.

use vigil_store::Written;

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeSource {
    /// This device: an incident added or edited, a team action.
    Local,
    /// A file: an import, a merge or a bundle.
    File,
    /// A peer, in a sync session.
    Peer,
}

/// What changed in a vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VaultEvent {
    /// Where it came from.
    pub source: ChangeSource,
    /// Incidents added or changed.
    pub incidents: u64,
    /// Membership entries stored (the team changed).
    pub members: u64,
}

impl VaultEvent {
    /// The event for what committed writes stored, if they stored anything.
    pub(crate) fn of(source: ChangeSource, written: Written) -> Option<Self> {
        (!written.is_empty()).then_some(Self {
            source,
            incidents: written.incidents,
            members: written.members,
        })
    }
}

/// A shell's listener: called on the thread that made the change, after the vault
/// is unlocked again (so it may read the vault), once per locked call that stored
/// something. It must return quickly.
pub type Subscriber = std::sync::Arc<dyn Fn(&VaultEvent) + Send + Sync>;
