//! Sneakernet bundles on the vault: what to put in one, where it is written, and
//! applying one as a live sync would. The file format, its seal and its checks are
//! the protocol's (`vigil_sync::bundle`).

use std::io::Read;
use std::path::Path;

use vigil_store::StoreRead;
use vigil_sync::SyncStats;
use vigil_sync::bundle::{self, BundleError, MAX_BUNDLE};

use crate::clock::now;
use crate::error::TeamError;
use crate::{Vault, VaultError};

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

impl Vault {
    /// Writes a bundle to `path`: every change, or with `for_device` (a fingerprint or
    /// its first digits) only those stored since the last complete sync with it.
    pub fn export_bundle(
        &self,
        path: &Path,
        for_device: Option<&str>,
    ) -> Result<BundleOutcome, VaultError> {
        let roster = self.roster.as_ref().ok_or(VaultError::NoTeam)?;
        let after = match for_device {
            Some(fingerprint) => self
                .store
                .peer_position(&self.member(fingerprint)?.device)?,
            None => 0,
        };
        let exported = bundle::export(&self.store, roster, &self.device, after, now())?;
        crate::vault::write_atomically(path, &exported.bytes)?;
        Ok(BundleOutcome {
            changes: exported.changes,
            recipients: exported.recipients,
            bytes: exported.bytes.len() as u64,
        })
    }

    /// Verifies a bundle and applies what passes, as a live sync would: membership
    /// first, then the changes in batches, each batch in one transaction.
    pub fn import_bundle(&mut self, path: &Path) -> Result<SyncStats, VaultError> {
        let opened = std::fs::File::open(path)?;
        // Refused by its size before a byte of it is read.
        if opened.metadata()?.len() > MAX_BUNDLE {
            return Err(BundleError::TooLarge.into());
        }
        let mut file = Vec::new();
        opened.take(MAX_BUNDLE + 1).read_to_end(&mut file)?;
        let bundle = bundle::open(&self.device, &file)?;
        drop(file);
        let roster = self.roster.as_mut().ok_or(VaultError::NoTeam)?;
        let stats = bundle::apply(
            bundle,
            &mut self.store,
            roster,
            &self.device,
            &self.taxonomy,
        )?;
        self.refresh_policy()?;
        Ok(stats)
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
            return Err(TeamError::ShortFingerprint.into());
        }
        let matches: Vec<&vigil_team::Member> = roster
            .members()
            .filter(|m| m.fingerprint().replace('-', "").starts_with(&wanted))
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(TeamError::UnknownFingerprint.into()),
            _ => Err(TeamError::AmbiguousFingerprint.into()),
        }
    }
}
