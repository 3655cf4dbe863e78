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

use std::io::Read;
use std::path::Path;
use vigil_store::StoreRead;

use serde::{Deserialize, Serialize};
use vigil_crypto::DevicePublicKey;
use vigil_crypto::sealed::{open_sealed, seal_for};
use vigil_sync::frame::bounded;
use vigil_sync::wire::{WireChange, WireEntry};
use vigil_sync::{Inbox, SyncStats};

use crate::vault::now;
use crate::{Vault, VaultError};

const MAGIC: &[u8; 8] = b"VIGILBN1";
const CONTEXT: &[u8] = b"vigil/bundle/v1\0";
/// Largest bundle read, in bytes. Anyone can seal a file to a device's public key,
/// so this bounds what a stranger's file costs before anything is checked.
const MAX_BUNDLE: u64 = 256 << 20;
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

/// What a bundle export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BundleOutcome {
    /// Changes in the bundle.
    pub changes: u64,
    /// Devices that can open it.
    pub recipients: u64,
    /// Size of the file, in bytes.
    pub bytes: u64,
}

fn bad(reason: &str) -> VaultError {
    VaultError::BadBundle(reason.to_owned())
}

impl Vault {
    /// Writes a bundle to `path`: every change, or with `for_device` (a fingerprint or
    /// its first digits) only those stored since the last complete sync with it.
    pub fn export_bundle(
        &self,
        path: &Path,
        for_device: Option<&str>,
    ) -> Result<BundleOutcome, VaultError> {
        let roster = self.roster.as_ref().ok_or(VaultError::NoTeam)?;
        let start = match for_device {
            Some(fingerprint) => self
                .store
                .peer_position(&self.member(fingerprint)?.device)?,
            None => 0,
        };
        let mut changes = Vec::new();
        let mut position = start;
        loop {
            let (batch, last) = self.store.signed_changes_after(position, BATCH as u32)?;
            if batch.is_empty() {
                break;
            }
            changes.extend(batch.into_iter().map(WireChange::from));
            position = last;
        }
        let members = roster
            .entries()
            .into_iter()
            .map(|e| WireEntry {
                bytes: e.bytes.clone(),
                signature: e.signature.to_vec(),
            })
            .collect();
        let count = changes.len() as u64;
        let content = postcard::to_stdvec(&Content {
            team: roster.team(),
            created: now(),
            members,
            changes,
        })
        .map_err(|_| bad("could not be encoded"))?;
        let signature = self.device.sign(&[CONTEXT, &content].concat());
        let body = postcard::to_stdvec(&Sealed {
            exporter: self.device.public().to_bytes(),
            signature: &signature,
            content: &content,
        })
        .map_err(|_| bad("could not be encoded"))?;
        let recipients: Vec<DevicePublicKey> = roster
            .members()
            .filter(|m| !m.revoked)
            .filter_map(|m| DevicePublicKey::from_bytes(&m.device).ok())
            .collect();
        let sealed = seal_for(&recipients, MAGIC, &body)?;
        let mut file = Vec::with_capacity(MAGIC.len() + sealed.len());
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(&sealed);
        crate::vault::write_atomically(path, &file)?;
        Ok(BundleOutcome {
            changes: count,
            recipients: recipients.len() as u64,
            bytes: file.len() as u64,
        })
    }

    /// Verifies a bundle and applies what passes, as a live sync would: membership
    /// first, then the changes in batches, each batch in one transaction.
    pub fn import_bundle(&mut self, path: &Path) -> Result<SyncStats, VaultError> {
        let opened = std::fs::File::open(path)?;
        // Refused by its size before a byte of it is read.
        if opened.metadata()?.len() > MAX_BUNDLE {
            return Err(bad("it is larger than any bundle Vigil writes"));
        }
        let mut file = Vec::new();
        opened.take(MAX_BUNDLE + 1).read_to_end(&mut file)?;
        if file.len() as u64 > MAX_BUNDLE {
            return Err(bad("it is larger than any bundle Vigil writes"));
        }
        let sealed = file
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| bad("it is not a Vigil bundle"))?;
        let body = open_sealed(&self.device, MAGIC, sealed).map_err(|e| match e {
            vigil_crypto::CryptoError::NotARecipient => bad(
                "it was not sealed for this device (made before it joined, or for another team)",
            ),
            _ => bad("it is damaged or was altered"),
        })?;
        drop(file);
        let outer: SealedRef<'_> =
            postcard::from_bytes(&body).map_err(|_| bad("its content is malformed"))?;
        let exporter = DevicePublicKey::from_bytes(&outer.exporter)
            .map_err(|_| bad("it names no valid exporting device"))?;
        exporter
            .verify(&[CONTEXT, outer.content].concat(), outer.signature)
            .map_err(|_| bad("its signature does not verify"))?;
        let content: Content =
            postcard::from_bytes(outer.content).map_err(|_| bad("its content is malformed"))?;
        let roster = self.roster.as_mut().ok_or(VaultError::NoTeam)?;
        if content.team != roster.team() {
            return Err(bad("it belongs to another team"));
        }
        // The exporter is checked on a scratch copy before anything is stored: a
        // bundle from a device the team does not admit leaves the vault as it was.
        if !roster.would_admit(
            content.members.iter().map(WireEntry::parts),
            &outer.exporter,
        ) {
            return Err(bad(
                "its exporting device is not an active member of the team",
            ));
        }
        let mut inbox = Inbox::new(&self.device, &self.taxonomy);
        inbox.accept_members(&mut self.store, roster, content.members)?;
        if roster.role_of(&outer.exporter).is_none() {
            return Err(bad(
                "its exporting device is not an active member of the team",
            ));
        }
        // Batches as a session sends them (by bytes, as well as by count), so that an
        // honest bundle stays within what the inbox takes in one batch.
        let mut batch = Vec::new();
        let mut batch_bytes = 0;
        for change in content.changes {
            if !batch.is_empty()
                && (batch.len() == BATCH || batch_bytes + change.bytes.len() > BATCH_BYTES)
            {
                inbox.accept_changes(&mut self.store, roster, std::mem::take(&mut batch))?;
                batch_bytes = 0;
            }
            batch_bytes += change.bytes.len();
            batch.push(change);
        }
        if !batch.is_empty() {
            inbox.accept_changes(&mut self.store, roster, batch)?;
        }
        let incomplete = inbox.finish();
        self.refresh_policy()?;
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

    /// The member whose fingerprint is, or starts with, `fingerprint`.
    pub(crate) fn member(&self, fingerprint: &str) -> Result<vigil_team::Member, VaultError> {
        let roster = self.roster.as_ref().ok_or(VaultError::NoTeam)?;
        let wanted: String = fingerprint
            .chars()
            .filter(char::is_ascii_hexdigit)
            .collect::<String>()
            .to_ascii_lowercase();
        if wanted.len() < 4 {
            return Err(VaultError::Team(
                "give at least 4 hex digits of the device's fingerprint".into(),
            ));
        }
        let matches: Vec<&vigil_team::Member> = roster
            .members()
            .filter(|m| m.fingerprint().replace('-', "").starts_with(&wanted))
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(VaultError::Team("no member has this fingerprint".into())),
            _ => Err(VaultError::Team(
                "several members match; give more of the fingerprint".into(),
            )),
        }
    }
}
