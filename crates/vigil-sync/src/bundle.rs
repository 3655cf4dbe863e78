//! Sneakernet bundles: changes carried on a file when there is no network.
//!
//! A bundle is sealed to every active member of the team (see
//! `vigil_crypto::sealed`): whoever finds the file learns nothing but how many
//! devices can open it. Inside, signed by the exporting device: the team's whole
//! membership log and the changes. Importing runs them through the same inbox as a
//! live sync: each membership entry and each change is verified on its own, and
//! the changes are applied in batches, each in one transaction.
//!
//! File: `VIGILBN1`, then the sealed body (authenticated together with that magic).
//! The body (postcard): the exporter's key, its signature, and the signed content
//! (team, creation time, membership entries, changes).

use serde::{Deserialize, Serialize};
use vigil_crypto::sealed::{open_sealed, seal_for};
use vigil_crypto::{CryptoError, DeviceKey, DevicePublicKey};
use vigil_model::Taxonomy;
use vigil_store::{Store, StoreError, StoreRead};
use vigil_team::Roster;

use crate::frame::bounded;
use crate::wire::{WireChange, WireEntry};
use crate::{Inbox, SyncStats};

const MAGIC: &[u8; 8] = b"VIGILBN1";
const CONTEXT: &[u8] = b"vigil/bundle/v1\0";
/// Largest bundle read, in bytes. Anyone can seal a file to a device's public key,
/// so this bounds what a stranger's file costs before anything is checked.
pub const MAX_BUNDLE: u64 = 256 << 20;
/// Most membership entries and changes a bundle holds: decoded structs are a few
/// times larger than their smallest encoding, so the file size alone does not bound
/// memory.
const MAX_BUNDLE_ENTRIES: usize = 1 << 16;
const MAX_BUNDLE_CHANGES: usize = 1 << 20;
/// Changes read from the log per query while exporting, and applied per transaction
/// while importing.
const BATCH: usize = 2_000;
/// Bytes of changes applied per transaction while importing, at most (unless one
/// change is larger): a session's batch.
const BATCH_BYTES: usize = 512 * 1024;

#[derive(Serialize)]
struct Sealed<'a> {
    exporter: [u8; 32],
    signature: &'a [u8],
    content: &'a [u8],
}

/// [`Sealed`] as read: the content is not copied out of the opened body.
#[derive(Deserialize)]
struct SealedRef<'a> {
    exporter: [u8; 32],
    signature: &'a [u8],
    content: &'a [u8],
}

#[derive(Serialize, Deserialize)]
struct Content {
    team: [u8; 32],
    created: i64,
    #[serde(deserialize_with = "bounded::<_, MAX_BUNDLE_ENTRIES, _>")]
    members: Vec<WireEntry>,
    #[serde(deserialize_with = "bounded::<_, MAX_BUNDLE_CHANGES, _>")]
    changes: Vec<WireChange>,
}

/// Why a bundle was refused. Nothing of it was stored, but where the store failed
/// ([`BundleError::Storage`]: the batches before the failure stay, as in a live
/// sync) and where the bundle's membership entries, stored first, still do not make
/// its exporter a member ([`BundleError::NotAMember`] after them).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Over [`MAX_BUNDLE`].
    #[error("it is larger than any bundle Vigil writes")]
    TooLarge,
    /// No `VIGILBN1` magic.
    #[error("it is not a Vigil bundle")]
    NotABundle,
    /// Sealed to other devices.
    #[error("it was not sealed for this device (made before it joined, or for another team)")]
    NotForThisDevice,
    /// The seal does not open: bytes changed.
    #[error("it is damaged or was altered")]
    Damaged,
    /// The opened body is not a bundle's.
    #[error("its content is malformed")]
    Malformed,
    /// The exporter's key is not a key.
    #[error("it names no valid exporting device")]
    NoExporter,
    /// The exporter's signature does not verify.
    #[error("its signature does not verify")]
    BadSignature,
    /// Another team's bundle.
    #[error("it belongs to another team")]
    OtherTeam,
    /// The exporter is not an active member, even by the bundle's own membership log.
    #[error("its exporting device is not an active member of the team")]
    NotAMember,
    /// Encoding a bundle failed.
    #[error("it could not be encoded")]
    Encode,
    /// Sealing a bundle failed (no active member to seal it to, too many).
    #[error("it cannot be sealed: {0}")]
    Seal(CryptoError),
    /// The vault's storage.
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// A bundle written: its bytes, and what they hold.
#[derive(Debug)]
pub struct Exported {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Changes in it.
    pub changes: u64,
    /// Devices that can open it.
    pub recipients: u64,
}

/// Writes a bundle of `team`'s membership log and every change stored after log
/// position `after` (0: all of them), signed by `device`, sealed to the team's
/// active members, dated `created`.
pub fn export(
    store: &impl StoreRead,
    team: &Roster,
    device: &DeviceKey,
    after: i64,
    created: i64,
) -> Result<Exported, BundleError> {
    let mut changes = Vec::new();
    let mut position = after;
    loop {
        let (batch, last) = store.signed_changes_after(position, BATCH as u32)?;
        if batch.is_empty() {
            break;
        }
        changes.extend(batch.into_iter().map(WireChange::from));
        position = last;
    }
    let members = team.entries().into_iter().map(WireEntry::from).collect();
    let count = changes.len() as u64;
    let content = postcard::to_stdvec(&Content {
        team: team.team(),
        created,
        members,
        changes,
    })
    .map_err(|_| BundleError::Encode)?;
    let signature = device.sign(&[CONTEXT, &content].concat());
    let body = postcard::to_stdvec(&Sealed {
        exporter: device.public().to_bytes(),
        signature: &signature,
        content: &content,
    })
    .map_err(|_| BundleError::Encode)?;
    let recipients: Vec<DevicePublicKey> = team
        .members()
        .filter(|m| !m.revoked)
        .filter_map(|m| DevicePublicKey::from_bytes(&m.device).ok())
        .collect();
    let sealed = seal_for(&recipients, MAGIC, &body).map_err(BundleError::Seal)?;
    let mut bytes = Vec::with_capacity(MAGIC.len() + sealed.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&sealed);
    Ok(Exported {
        bytes,
        changes: count,
        recipients: recipients.len() as u64,
    })
}

/// A bundle opened by one of its recipients, its signature verified; nothing in it
/// is checked against the team yet (see [`apply`]).
pub struct Opened {
    exporter: [u8; 32],
    content: Content,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened").finish_non_exhaustive()
    }
}

/// Opens a bundle's bytes (at most [`MAX_BUNDLE`]) for `device` and checks its
/// exporter's signature.
pub fn open(device: &DeviceKey, file: &[u8]) -> Result<Opened, BundleError> {
    if file.len() as u64 > MAX_BUNDLE {
        return Err(BundleError::TooLarge);
    }
    let sealed = file
        .strip_prefix(MAGIC.as_slice())
        .ok_or(BundleError::NotABundle)?;
    let body = open_sealed(device, MAGIC, sealed).map_err(|e| match e {
        CryptoError::NotARecipient => BundleError::NotForThisDevice,
        _ => BundleError::Damaged,
    })?;
    let outer: SealedRef<'_> = postcard::from_bytes(&body).map_err(|_| BundleError::Malformed)?;
    let exporter =
        DevicePublicKey::from_bytes(&outer.exporter).map_err(|_| BundleError::NoExporter)?;
    exporter
        .verify(&[CONTEXT, outer.content].concat(), outer.signature)
        .map_err(|_| BundleError::BadSignature)?;
    let content: Content =
        postcard::from_bytes(outer.content).map_err(|_| BundleError::Malformed)?;
    Ok(Opened {
        exporter: outer.exporter,
        content,
    })
}

/// Applies an opened bundle as a live sync would: membership first (only if it
/// admits the exporter, checked on a copy of the team, so that a bundle from a
/// device the team does not admit leaves the vault as it was), then the changes in
/// batches as a session sends them, each in one transaction.
pub fn apply(
    opened: Opened,
    store: &mut Store,
    team: &mut Roster,
    device: &DeviceKey,
    taxonomy: &Taxonomy,
) -> Result<SyncStats, BundleError> {
    let Opened { exporter, content } = opened;
    if content.team != team.team() {
        return Err(BundleError::OtherTeam);
    }
    if !crate::admission::proof_admits(team, &content.members, &exporter) {
        return Err(BundleError::NotAMember);
    }
    let mut inbox = Inbox::new(device, taxonomy);
    inbox.accept_members(store, team, content.members)?;
    if team.role_of(&exporter).is_none() {
        return Err(BundleError::NotAMember);
    }
    // Batches by bytes as well as by count, so that an honest bundle stays within
    // what the inbox takes in one batch.
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    for change in content.changes {
        if !batch.is_empty()
            && (batch.len() == BATCH || batch_bytes + change.bytes.len() > BATCH_BYTES)
        {
            inbox.accept_changes(store, team, std::mem::take(&mut batch))?;
            batch_bytes = 0;
        }
        batch_bytes += change.bytes.len();
        batch.push(change);
    }
    if !batch.is_empty() {
        inbox.accept_changes(store, team, batch)?;
    }
    let incomplete = inbox.finish();
    let tally = inbox.tally;
    tracing::info!(
        changes = tally.changes,
        refused = tally.refused,
        "bundle imported"
    );
    Ok(SyncStats {
        changes_received: tally.changes,
        members_received: tally.members,
        incidents_updated: tally.incidents,
        refused: tally.refused,
        incomplete,
        ..SyncStats::default()
    })
}
