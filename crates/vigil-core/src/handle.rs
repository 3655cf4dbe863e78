//! The vault as every shell holds it: a [`VaultHandle`], cheap to clone, shared by
//! the shell's threads and the node that serves. It owns what a shell would
//! otherwise rebuild around a `Mutex<Vault>`: the lock (taken back after a panic),
//! the read-only connection that lists and reports use so they never wait behind a
//! long write, change events, the serving node, and the wipe that works at any time,
//! after which every call fails with [`VaultError::Wiped`].

use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError, Weak};

use vigil_crypto::KdfParams;
use vigil_model::{Status, Summary, Taxonomy};
use vigil_report::Report;
use vigil_store::{ListFilter, Reader, StoreRead};

use crate::events::{ChangeSource, Subscriber, VaultEvent};
use crate::policy::TeamPolicy;
use crate::{Node, Vault, VaultError};

/// A vault shared between threads; clones are the same vault. It closes when the
/// last clone is dropped, and a node that serves holds one (see
/// [`VaultHandle::start_serving`]).
#[derive(Clone)]
pub struct VaultHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for VaultHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultHandle").finish_non_exhaustive()
    }
}

/// A handle that does not keep the vault open (what the transport's admission
/// policy holds, which the node that holds the vault owns).
#[derive(Clone)]
pub(crate) struct WeakVaultHandle(Weak<Shared>);

impl WeakVaultHandle {
    pub(crate) fn upgrade(&self) -> Option<VaultHandle> {
        self.0.upgrade().map(|shared| VaultHandle { shared })
    }
}

struct Shared {
    dir: PathBuf,
    /// The read-only connection; `None` once wiped. Declared before the vault, so
    /// dropped first: the writer's connection closes last, which checkpoints the
    /// write-ahead log and deletes it (a read-only connection cannot).
    reader: Mutex<Option<Reader>>,
    vault: Mutex<Slot>,
    /// Set first thing by [`VaultHandle::wipe`]: every call fails from then on, even
    /// while a long call still holds the vault.
    wiped: AtomicBool,
    /// The admission policy, reachable without the vault: a wipe during a long call
    /// admits nobody from that moment.
    policy: Arc<TeamPolicy>,
    subscribers: Mutex<Vec<Subscriber>>,
    /// The node that serves, while it does.
    serving: Mutex<Option<Arc<Node>>>,
}

enum Slot {
    Open(Box<Vault>),
    Wiped,
}

/// Takes back a mutex whose holder panicked, for what it guards is valid whatever
/// the panic interrupted (a list of subscribers, a node or none, a connection that
/// only reads).
fn relock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl VaultHandle {
    /// Shares an open vault.
    pub fn new(mut vault: Vault) -> Self {
        // Whatever opening wrote is no news to anyone.
        vault.store.take_written();
        let reader = vault.reader.take();
        Self {
            shared: Arc::new(Shared {
                dir: vault.dir().to_path_buf(),
                policy: vault.policy(),
                vault: Mutex::new(Slot::Open(Box::new(vault))),
                reader: Mutex::new(reader),
                wiped: AtomicBool::new(false),
                subscribers: Mutex::default(),
                serving: Mutex::default(),
            }),
        }
    }

    /// Creates a vault in `dir` (see [`Vault::create`]), its key stretched with
    /// `stretching`, or calibrated for this device (see [`crate::key_stretching`]).
    pub fn create(
        dir: &Path,
        passphrase: &[u8],
        stretching: Option<KdfParams>,
    ) -> Result<Self, VaultError> {
        let kdf = match stretching {
            Some(kdf) => kdf,
            None => crate::key_stretching(None, None)?,
        };
        Vault::create(dir, passphrase, kdf).map(Self::new)
    }

    /// Opens the vault in `dir` (see [`Vault::open`]).
    pub fn open(dir: &Path, passphrase: &[u8]) -> Result<Self, VaultError> {
        Vault::open(dir, passphrase).map(Self::new)
    }

    /// The vault's folder.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    pub(crate) fn downgrade(&self) -> WeakVaultHandle {
        WeakVaultHandle(Arc::downgrade(&self.shared))
    }

    /// Locks the vault for a call from this device; what the call stores is told to
    /// subscribers as [`ChangeSource::Local`] once it unlocks.
    pub fn lock(&self) -> Result<VaultGuard<'_>, VaultError> {
        self.lock_for(ChangeSource::Local)
    }

    /// Locks the vault for a call whose changes come from `source`.
    ///
    /// A panic while the lock was held (a bug, or a library that panics on some
    /// input) poisoned it. Left poisoned, every later call would fail until the
    /// vault was opened again, and a serving node would stop serving; instead the
    /// vault is taken back, because what it holds is still consistent:
    ///
    /// - the database: every write runs in one SQLite transaction, and a transaction
    ///   dropped by the unwinding panic is rolled back, so the store holds each
    ///   write whole or not at all;
    /// - the device key, its actor and the folder never change while the vault is
    ///   open; the taxonomy is replaced only after its new text is stored, in one
    ///   assignment;
    /// - the team (the roster and the admission policy drawn from it) is kept in
    ///   memory beside the store and can be a step ahead of it (the inbox takes in
    ///   membership entries before their transaction commits), so it is read again
    ///   from the store here.
    ///
    /// If the team cannot be read, the error is returned and the lock stays
    /// poisoned: the next call tries again.
    pub fn lock_for(&self, source: ChangeSource) -> Result<VaultGuard<'_>, VaultError> {
        self.refuse_if_wiped()?;
        let mut guard = match self.shared.vault.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                if let Slot::Open(vault) = &mut *guard {
                    vault.load_team()?;
                }
                self.shared.vault.clear_poison();
                tracing::warn!("a call failed while it held the vault; the vault is taken back");
                guard
            }
        };
        // Wiped while this call waited for the lock.
        if self.is_wiped() {
            *guard = Slot::Wiped;
        }
        if let Slot::Wiped = &*guard {
            return Err(VaultError::Wiped);
        }
        Ok(VaultGuard {
            shared: &self.shared,
            guard: Some(guard),
            source,
        })
    }

    /// Whether a call panicked while it held the vault and no call took it back since.
    pub fn is_poisoned(&self) -> bool {
        self.shared.vault.is_poisoned()
    }

    fn refuse_if_wiped(&self) -> Result<(), VaultError> {
        if self.is_wiped() {
            Err(VaultError::Wiped)
        } else {
            Ok(())
        }
    }

    /// Whether [`VaultHandle::wipe`] destroyed this vault.
    pub fn is_wiped(&self) -> bool {
        self.shared.wiped.load(Ordering::Acquire)
    }

    /// Incident summaries, newest first, read on the read-only connection: this
    /// answers while an import or a sync batch holds the vault.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Summary>, VaultError> {
        self.read(|reader| Ok(reader.list(filter)?))
    }

    /// The report's figures, counting incidents with one of `counted` (see
    /// [`crate::counted_or_default`]), read like [`VaultHandle::list`].
    pub fn report(&self, counted: &[Status]) -> Result<Report, VaultError> {
        let counted = crate::counted_or_default(counted);
        self.read(|reader| crate::vault::count(reader, &counted))
    }

    /// The taxonomy, read like [`VaultHandle::list`]: labels for a report while an
    /// import runs.
    pub fn taxonomy(&self) -> Result<Taxonomy, VaultError> {
        self.read(crate::vault::stored_taxonomy)
    }

    fn read<T>(
        &self,
        query: impl FnOnce(&Reader) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        self.refuse_if_wiped()?;
        let mut reader = relock(&self.shared.reader);
        let answer = match &*reader {
            Some(connection) => query(connection),
            None => Err(VaultError::Wiped),
        };
        // Wiped while this read ran: close the connection now.
        if self.is_wiped() {
            reader.take();
            return Err(VaultError::Wiped);
        }
        answer
    }

    /// Calls `subscriber` after every call that stored something, on the thread that
    /// made it, once the vault is unlocked again.
    pub fn subscribe(&self, subscriber: impl Fn(&VaultEvent) + Send + Sync + 'static) {
        relock(&self.shared.subscribers).push(Arc::new(subscriber));
    }

    /// Forgets every subscriber.
    pub fn unsubscribe_all(&self) {
        relock(&self.shared.subscribers).clear();
    }

    /// Starts serving on `addr` (port 0 picks one): a node that syncs with every team
    /// device that connects until [`VaultHandle::stop_serving`] or
    /// [`VaultHandle::wipe`]. Returns the address it listens on. Must be called within
    /// a tokio runtime.
    ///
    /// The serving node holds the vault: it stays open, and serves, until one of
    /// those is called, even once the shell has dropped its own handles.
    pub fn start_serving(&self, addr: SocketAddr) -> Result<SocketAddr, VaultError> {
        self.refuse_if_wiped()?;
        if self.serving_node().is_some() {
            return Err(VaultError::AlreadyServing);
        }
        // Bound before the serving slot is taken: binding reads the vault, which a
        // long call may hold, and a wipe meanwhile must not wait for the slot.
        let node = Arc::new(Node::bind(self.clone(), addr)?);
        let mut serving = relock(&self.shared.serving);
        if serving.is_some() || self.is_wiped() {
            node.close();
            return Err(if self.is_wiped() {
                VaultError::Wiped
            } else {
                VaultError::AlreadyServing
            });
        }
        let bound = node.local_addr()?;
        let serve = Arc::clone(&node);
        // Sessions tell subscribers what they stored as they store it.
        tokio::spawn(async move { serve.serve(|_| {}).await });
        *serving = Some(node);
        tracing::info!(%bound, "serving");
        Ok(bound)
    }

    /// Announces on the LAN, anonymously, that this vault serves (see
    /// [`Node::announce`]), until it stops serving.
    pub fn announce(&self) -> Result<(), VaultError> {
        self.refuse_if_wiped()?;
        self.serving_node()
            .ok_or(VaultError::NotServing)?
            .announce()
    }

    /// The node that serves, if one does.
    pub fn serving_node(&self) -> Option<Arc<Node>> {
        relock(&self.shared.serving).clone()
    }

    /// Stops serving; sessions under way end.
    pub fn stop_serving(&self) {
        // Taken out first: closing (a LAN goodbye takes up to half a second) holds
        // nobody else up.
        let node = relock(&self.shared.serving).take();
        if let Some(node) = node {
            node.close();
        }
    }

    /// A node to reach `peer` from: the serving one, or one of its own on an
    /// ephemeral port of the address family of `peer`, which the caller closes
    /// after (the flag says which). Must be called within a tokio runtime.
    pub fn dialling_node(&self, peer: SocketAddr) -> Result<(Arc<Node>, bool), VaultError> {
        self.refuse_if_wiped()?;
        match self.serving_node() {
            Some(node) => Ok((node, false)),
            None => Ok((
                Arc::new(Node::bind(self.clone(), crate::ephemeral_address(peer))?),
                true,
            )),
        }
    }

    /// Destroys this vault now, without a passphrase and without waiting for a call
    /// under way: stops serving, admits nobody, closes the database, overwrites the
    /// key file and deletes the data (see [`crate::wipe`]). Every later call fails
    /// with [`VaultError::Wiped`]; opening the folder again gives an empty vault.
    pub fn wipe(&self) -> Result<(), VaultError> {
        self.shared.wiped.store(true, Ordering::Release);
        self.shared.policy.update(None);
        let wiped = self.wipe_files();
        // After the files, which matter most: the node's sessions fail from here on
        // anyway, and its LAN goodbye takes up to half a second.
        self.stop_serving();
        self.unsubscribe_all();
        wiped
    }

    /// Closes the reader and the vault if they are free and wipes the folder, waiting
    /// for nothing: a read or a call under way is left to finish on deleted files,
    /// and closes its connection as it ends.
    fn wipe_files(&self) -> Result<(), VaultError> {
        match self.shared.reader.try_lock() {
            Ok(mut reader) => drop(reader.take()),
            Err(TryLockError::Poisoned(poisoned)) => drop(poisoned.into_inner().take()),
            Err(TryLockError::WouldBlock) => {}
        }
        let slot = match self.shared.vault.try_lock() {
            Ok(mut guard) => std::mem::replace(&mut *guard, Slot::Wiped),
            Err(TryLockError::Poisoned(poisoned)) => {
                std::mem::replace(&mut *poisoned.into_inner(), Slot::Wiped)
            }
            // A long call (an import, a sync) holds the vault: do not wait for it.
            // Its database files are deleted under it and the key file blanked, so
            // whatever it still writes lands in unlinked files nothing can open; the
            // vault is closed when that call unlocks it.
            Err(TryLockError::WouldBlock) => return crate::wipe(&self.shared.dir),
        };
        match slot {
            Slot::Open(vault) => vault.wipe(),
            Slot::Wiped => crate::wipe(&self.shared.dir),
        }
    }
}

fn tell(shared: &Shared, event: &VaultEvent) {
    // Copied out, so that a subscriber may subscribe or call into the vault.
    let subscribers = relock(&shared.subscribers).clone();
    for subscriber in subscribers {
        subscriber(event);
    }
}

/// The vault, locked. Tells subscribers what it stored once it is unlocked.
pub struct VaultGuard<'a> {
    shared: &'a Shared,
    /// `Some` until dropped; always holds an open vault.
    guard: Option<MutexGuard<'a, Slot>>,
    source: ChangeSource,
}

impl Deref for VaultGuard<'_> {
    type Target = Vault;

    fn deref(&self) -> &Vault {
        match self.guard.as_deref() {
            Some(Slot::Open(vault)) => vault,
            // `lock_for` hands out guards of open vaults only, and a vault is wiped
            // only with its lock held or free.
            _ => unreachable!("a guard holds an open vault"),
        }
    }
}

impl DerefMut for VaultGuard<'_> {
    fn deref_mut(&mut self) -> &mut Vault {
        match self.guard.as_deref_mut() {
            Some(Slot::Open(vault)) => vault,
            _ => unreachable!("a guard holds an open vault"),
        }
    }
}

impl Drop for VaultGuard<'_> {
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        let event = match &mut *guard {
            Slot::Open(vault) => VaultEvent::of(self.source, vault.store.take_written()),
            Slot::Wiped => None,
        };
        // Wiped while this call held the vault: close it now, and undo whatever the
        // call put back into the admission policy since.
        if self.shared.wiped.load(Ordering::Acquire) {
            *guard = Slot::Wiped;
            self.shared.policy.update(None);
            return;
        }
        drop(guard);
        if let Some(event) = event {
            tell(self.shared, &event);
        }
    }
}

#[cfg(test)]
mod tests;
