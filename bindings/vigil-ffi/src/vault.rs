//! The vault as a shell sees it: one object, with `&self` methods only. Quick calls
//! (list, show, edit, report) run on the caller's thread; calls that stretch a key,
//! read or write files or talk to the network are async and run on the library's
//! runtime.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use vigil_core::{
    ChangeSource, ImportMode, Invite, Status, VaultGuard, VaultHandle, render_markdown,
};
use zeroize::Zeroizing;

use crate::listener::{VaultListener, subscriber};
use crate::records::{
    BundleSummary, ExportSummary, FileFormat, HistoryItem, ImportSummary, IncidentFilter,
    IncidentRecord, IncidentStatus, IncidentSummary, KeyStretching, LanDevice, ReportFigures,
    SyncSummary, TaxonomyForm, TeamMember, TeamRole, VaultInfo,
};
use crate::{VigilError, in_background, runtime};

/// An open, unlocked vault: the core's [`VaultHandle`], which owns its lock, its
/// events, its serving node and its wipe.
#[derive(uniffi::Object)]
pub struct Vault {
    handle: VaultHandle,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").finish_non_exhaustive()
    }
}

/// Creates a new vault in the folder `path` (new or empty), locked by `passphrase`.
/// `stretching` defaults to 64 MiB of Argon2id with as many passes (at least 3) as
/// make an unlock take half a second on this device.
#[uniffi::export(default(stretching = None))]
pub async fn create_vault(
    path: String,
    passphrase: String,
    stretching: Option<KeyStretching>,
) -> Result<Arc<Vault>, VigilError> {
    let passphrase = Zeroizing::new(passphrase);
    in_background(move || {
        let handle = VaultHandle::create(
            &PathBuf::from(path),
            passphrase.as_bytes(),
            stretching.map(Into::into),
        )?;
        Ok(Vault::new(handle))
    })
    .await
}

/// Destroys the vault in the folder `path` without its passphrase, in well under a
/// second: the shell's panic button when the vault is locked. What is left opens as
/// an empty vault. Use [`Vault::panic`] on a vault that is open.
#[uniffi::export]
pub fn wipe_vault(path: String) -> Result<(), VigilError> {
    Ok(vigil_core::wipe(&PathBuf::from(path))?)
}

/// The Vigil devices announcing themselves on the LAN, found by listening for
/// `seconds` (at most 60). They say only where to dial; who answers is proven by the
/// handshake of a sync. Browsing is visible to the network: call it when the user asks.
#[uniffi::export]
pub async fn discover_peers(seconds: u32) -> Result<Vec<LanDevice>, VigilError> {
    let listen = std::time::Duration::from_secs(u64::from(seconds.clamp(1, 60)));
    let found = runtime()?
        .spawn(vigil_core::browse_lan(listen))
        .await
        .map_err(crate::task_failed)??;
    Ok(found.into_iter().map(Into::into).collect())
}

/// Opens the vault in the folder `path` with `passphrase`. The duress passphrase
/// opens it too: empty, after destroying what it held.
#[uniffi::export]
pub async fn open_vault(path: String, passphrase: String) -> Result<Arc<Vault>, VigilError> {
    let passphrase = Zeroizing::new(passphrase);
    in_background(move || {
        let handle = VaultHandle::open(&PathBuf::from(path), passphrase.as_bytes())?;
        Ok(Vault::new(handle))
    })
    .await
}

fn counted(statuses: Vec<IncidentStatus>) -> Vec<Status> {
    statuses.into_iter().map(Into::into).collect()
}

/// Form fields in a stable order (a map from the shell has none).
fn cells(fields: HashMap<String, String>) -> Vec<(String, String)> {
    let mut cells: Vec<_> = fields.into_iter().collect();
    cells.sort();
    cells
}

fn address(text: &str) -> Result<SocketAddr, VigilError> {
    text.trim().parse().map_err(|_| {
        VigilError::invalid(
            "address",
            "an address is IP:PORT, e.g. 192.168.43.1:7447 or [fe80::1]:7447",
        )
    })
}

impl Vault {
    fn new(handle: VaultHandle) -> Arc<Self> {
        Arc::new(Self { handle })
    }

    fn vault(&self) -> Result<VaultGuard<'_>, VigilError> {
        Ok(self.handle.lock()?)
    }

    /// Runs `work` on the vault on a blocking thread of the runtime; what it stores
    /// is told to listeners as coming from `source`.
    async fn with_vault_in_background<T: Send + 'static>(
        &self,
        source: ChangeSource,
        work: impl FnOnce(&mut vigil_core::Vault) -> Result<T, VigilError> + Send + 'static,
    ) -> Result<T, VigilError> {
        let handle = self.handle.clone();
        in_background(move || work(&mut *handle.lock_for(source)?)).await
    }

    /// Runs one outgoing session on the serving node, or on a node of its own closed
    /// afterwards.
    async fn dial<F, Fut>(&self, peer: SocketAddr, session: F) -> Result<SyncSummary, VigilError>
    where
        F: FnOnce(Arc<vigil_core::Node>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<vigil_core::SyncReport, vigil_core::VaultError>> + Send,
    {
        let runtime = runtime()?;
        let (node, own) = {
            let _runtime = runtime.enter();
            self.handle.dialling_node(peer)?
        };
        let report = runtime
            .spawn(async move {
                let report = session(Arc::clone(&node)).await;
                if own {
                    node.close();
                }
                report
            })
            .await
            .map_err(crate::task_failed)??;
        Ok(SyncSummary::from(report))
    }
}

#[uniffi::export]
impl Vault {
    /// Facts about the vault: device fingerprint, counts, team and role.
    pub fn info(&self) -> Result<VaultInfo, VigilError> {
        Ok(self.vault()?.info()?.into())
    }

    /// The taxonomy as forms, with labels in `language` (`en`, `ru`, ...; English where
    /// a label lacks it).
    pub fn taxonomy(&self, language: String) -> Result<TaxonomyForm, VigilError> {
        Ok(TaxonomyForm::new(&self.handle.taxonomy()?, &language))
    }

    /// Tells `listener` of every change stored from now on.
    pub fn add_listener(&self, listener: Arc<dyn VaultListener>) {
        self.handle.subscribe(subscriber(listener));
    }

    /// Forgets every listener.
    pub fn remove_listeners(&self) {
        self.handle.unsubscribe_all();
    }

    /// Logs a new incident from form fields (see [`IncidentRecord`] for their
    /// names). It is a draft reported now unless the fields say otherwise. Returns its
    /// id.
    pub fn add_incident(&self, fields: HashMap<String, String>) -> Result<String, VigilError> {
        let id = self.vault()?.add_fields(&cells(fields))?;
        Ok(id.to_string())
    }

    /// Edits an incident (its id or the first digits of it) field by field; an empty
    /// value clears a field. Returns false if nothing changed.
    pub fn edit_incident(
        &self,
        id: String,
        fields: HashMap<String, String>,
    ) -> Result<bool, VigilError> {
        let mut vault = self.vault()?;
        let id = vault.resolve(&id)?;
        Ok(vault.edit_fields(&id, &cells(fields))?)
    }

    /// Sets an incident's review status: submit a draft, verify or reject a report.
    pub fn set_status(&self, id: String, status: IncidentStatus) -> Result<bool, VigilError> {
        let status = Status::from(status).as_str().to_owned();
        self.edit_incident(id, HashMap::from([("status".to_owned(), status)]))
    }

    /// Incidents, newest first.
    pub fn list_incidents(
        &self,
        filter: IncidentFilter,
    ) -> Result<Vec<IncidentSummary>, VigilError> {
        let summaries = self.handle.list(&filter.into())?;
        Ok(summaries.into_iter().map(Into::into).collect())
    }

    /// One incident in full (its id or the first digits of it).
    pub fn get_incident(&self, id: String) -> Result<IncidentRecord, VigilError> {
        let vault = self.vault()?;
        let id = vault.resolve(&id)?;
        let (incident, access) = vault.read(&id)?;
        Ok(IncidentRecord {
            id: id.to_string(),
            status: incident.status.into(),
            personal: access.into(),
            fields: vault.fields(&id)?.into_iter().collect(),
        })
    }

    /// Who changed what and when in one incident, oldest first.
    pub fn history(&self, id: String) -> Result<Vec<HistoryItem>, VigilError> {
        let vault = self.vault()?;
        let id = vault.resolve(&id)?;
        Ok(vault
            .history(&id)?
            .into_iter()
            .map(|mut entry| {
                entry.actor = vault.author_label(&entry.actor);
                entry.into()
            })
            .collect())
    }

    /// The report's figures, counting incidents with one of `counted` (submitted and
    /// verified if empty), with category labels in `language`.
    pub fn report(
        &self,
        counted: Vec<IncidentStatus>,
        language: String,
    ) -> Result<ReportFigures, VigilError> {
        let report = self.handle.report(&self::counted(counted))?;
        Ok(ReportFigures::new(
            &report,
            &self.handle.taxonomy()?,
            &language,
        ))
    }

    /// The report as Markdown, in `language`, ready to publish (figures, no names).
    pub fn report_markdown(
        &self,
        counted: Vec<IncidentStatus>,
        language: String,
    ) -> Result<String, VigilError> {
        let report = self.handle.report(&self::counted(counted))?;
        Ok(render_markdown(
            &report,
            &self.handle.taxonomy()?,
            &language,
        ))
    }

    /// The report's figures as JSON, as `vigil report --format json` prints them.
    pub fn report_json(&self, counted: Vec<IncidentStatus>) -> Result<String, VigilError> {
        Ok(self.handle.report(&self::counted(counted))?.to_json())
    }

    /// Founds a team with this device as its first coordinator; `label` is how the
    /// team will list this device (use a pseudonym). Returns the team's recovery
    /// code: show it once, for the founder to write down, and keep it nowhere.
    pub fn create_team(&self, label: String) -> Result<String, VigilError> {
        let code = self.vault()?.create_team(&label)?;
        Ok(code.as_str().to_owned())
    }

    /// Starts the team's coordinators over with its recovery code: every device
    /// that was ever a coordinator is revoked (its changes from `since_unix`,
    /// default now, refused) but those in `appoint` (fingerprints), which become
    /// the coordinators. Any member can do this. Returns the new coordinators.
    #[uniffi::method(default(since_unix = None))]
    pub fn recover_team(
        &self,
        code: String,
        appoint: Vec<String>,
        since_unix: Option<i64>,
    ) -> Result<Vec<TeamMember>, VigilError> {
        let code = zeroize::Zeroizing::new(code);
        let mut vault = self.vault()?;
        let own = vault.info()?.device;
        let recovery = vault.recover(&code, &appoint, since_unix)?;
        Ok(recovery
            .appointed
            .iter()
            .map(|m| TeamMember::new(m, &own))
            .collect())
    }

    /// Makes a one-time invitation for a device to join as `role`, valid for
    /// `valid_hours`, to reach this device at `addresses` (IP:PORT where it will
    /// serve). The text is secret: show it as a QR code, once.
    pub fn create_invite(
        &self,
        role: TeamRole,
        valid_hours: u32,
        addresses: Vec<String>,
    ) -> Result<String, VigilError> {
        let addresses = addresses
            .iter()
            .map(|a| address(a))
            .collect::<Result<Vec<_>, _>>()?;
        let invite = self
            .vault()?
            .invite(role.into(), i64::from(valid_hours) * 3600, addresses)?;
        Ok(invite.encode().to_string())
    }

    /// The team's devices.
    pub fn members(&self) -> Result<Vec<TeamMember>, VigilError> {
        let vault = self.vault()?;
        let own = vault.info()?.device;
        Ok(vault
            .members()?
            .iter()
            .map(|m| TeamMember::new(m, &own))
            .collect())
    }

    /// Seals the personal data this device reads again, for the coordinators of
    /// now (after a coordinator joined, so that it reads older incidents); returns
    /// how many incidents. Sync to hand it on.
    pub fn reshare(&self) -> Result<u64, VigilError> {
        Ok(self.vault()?.reshare()?)
    }

    /// Revokes a device (a coordinator only): once this reaches them, every member
    /// refuses it. Its changes dated before `since_unix` (default: now) still count.
    #[uniffi::method(default(since_unix = None))]
    pub fn revoke(
        &self,
        fingerprint: String,
        since_unix: Option<i64>,
    ) -> Result<TeamMember, VigilError> {
        let mut vault = self.vault()?;
        let own = vault.info()?.device;
        Ok(TeamMember::new(
            &vault.revoke(&fingerprint, since_unix)?,
            &own,
        ))
    }

    /// Destroys this vault now, without a passphrase, in well under a second: stops
    /// serving, closes the database, overwrites the key file and deletes the data.
    /// Every later call fails; opening the folder again gives an empty vault.
    pub fn panic(&self) -> Result<(), VigilError> {
        Ok(self.handle.wipe()?)
    }

    /// Whether the vault is serving its team (see [`Vault::start_serving`]).
    pub fn is_serving(&self) -> bool {
        self.handle.serving_node().is_some()
    }

    /// Announces on the LAN, anonymously (a random name, no key, team or label),
    /// that this vault serves, until it stops: devices nearby find it with
    /// [`discover_peers`]. Fails with a network error where the network carries no
    /// multicast; peers can still reach the address.
    pub fn announce_on_lan(&self) -> Result<(), VigilError> {
        Ok(self.handle.announce()?)
    }

    /// Stops serving; sessions under way end.
    pub fn stop_serving(&self) -> Result<(), VigilError> {
        self.handle.stop_serving();
        Ok(())
    }
}

#[uniffi::export]
impl Vault {
    /// Sets `duress` as the duress passphrase (or removes it, with `None`): entered
    /// at unlock instead of `passphrase`, it destroys the vault and opens an empty
    /// one. `passphrase` is the vault's own, checked again.
    pub async fn set_duress_passphrase(
        &self,
        passphrase: String,
        duress: Option<String>,
    ) -> Result<(), VigilError> {
        let passphrase = Zeroizing::new(passphrase);
        let duress = duress.map(Zeroizing::new);
        self.with_vault_in_background(ChangeSource::Local, move |vault| {
            Ok(vault.set_duress_passphrase(
                passphrase.as_bytes(),
                duress.as_ref().map(|d| d.as_bytes()),
            )?)
        })
        .await
    }

    /// Locks the vault with `new_passphrase` (checking `passphrase` first), stretched
    /// with `stretching`, or calibrated for this device as at creation: how a
    /// passphrase is changed and key stretching raised. A duress passphrase is
    /// removed; set it again after.
    #[uniffi::method(default(stretching = None))]
    pub async fn change_passphrase(
        &self,
        passphrase: String,
        new_passphrase: String,
        stretching: Option<KeyStretching>,
    ) -> Result<(), VigilError> {
        let passphrase = Zeroizing::new(passphrase);
        let new_passphrase = Zeroizing::new(new_passphrase);
        self.with_vault_in_background(ChangeSource::Local, move |vault| {
            let kdf = match stretching {
                Some(stretching) => stretching.into(),
                None => vigil_core::key_stretching(None, None)?,
            };
            Ok(vault.change_passphrase(
                passphrase.as_bytes(),
                new_passphrase.as_bytes(),
                Some(kdf),
            )?)
        })
        .await
    }

    /// Imports a partner export (`.jsonl`) or a CSV file in one transaction. With
    /// `skip_invalid` false, any bad line imports nothing and the error lists the bad
    /// lines; with true, the good lines are imported and the bad ones listed.
    pub async fn import_file(
        &self,
        path: String,
        skip_invalid: bool,
    ) -> Result<ImportSummary, VigilError> {
        let mode = ImportMode::skipping_invalid(skip_invalid);
        let outcome = self
            .with_vault_in_background(ChangeSource::File, move |vault| {
                let path = PathBuf::from(path);
                let format = vigil_core::Format::from_path(&path);
                let file = std::fs::File::open(&path).map_err(vigil_core::VaultError::from)?;
                Ok(vault.import(file, format, mode)?)
            })
            .await?;
        Ok(outcome.into())
    }

    /// Writes the incidents with one of `statuses` (all if empty) to a file only its
    /// owner can read. The summary says how much personal data the file holds.
    pub async fn export_file(
        &self,
        path: String,
        format: FileFormat,
        statuses: Vec<IncidentStatus>,
    ) -> Result<ExportSummary, VigilError> {
        let statuses: Vec<Status> = statuses.into_iter().map(Into::into).collect();
        self.with_vault_in_background(ChangeSource::Local, move |vault| {
            Ok(vault
                .export_to_file(&PathBuf::from(path), format.into(), &statuses)?
                .into())
        })
        .await
    }

    /// Writes the changes a device lacks (`for_device`, a fingerprint) or all of them
    /// to a sealed file that only the team's devices can open.
    #[uniffi::method(default(for_device = None))]
    pub async fn export_bundle(
        &self,
        path: String,
        for_device: Option<String>,
    ) -> Result<BundleSummary, VigilError> {
        self.with_vault_in_background(ChangeSource::Local, move |vault| {
            Ok(vault
                .export_bundle(&PathBuf::from(path), for_device.as_deref())?
                .into())
        })
        .await
    }

    /// Verifies and applies a bundle, exactly as a live sync would.
    pub async fn import_bundle(&self, path: String) -> Result<SyncSummary, VigilError> {
        self.with_vault_in_background(ChangeSource::File, move |vault| {
            Ok((&vault.import_bundle(&PathBuf::from(path))?).into())
        })
        .await
    }

    /// Joins the team of an invitation: reaches its coordinator, proves the
    /// invitation and runs the first sync. `label` is how the team will list this
    /// device (use a pseudonym).
    pub async fn join_team(
        &self,
        invite: String,
        label: String,
    ) -> Result<SyncSummary, VigilError> {
        let invite = Invite::decode(&Zeroizing::new(invite))?;
        let first = *invite
            .addresses
            .first()
            .ok_or_else(|| VigilError::invalid("invite", "the invitation names no address"))?;
        self.dial(first, move |node| async move {
            node.join(&invite, &label).await
        })
        .await
    }

    /// Listens on `address` (IP:PORT; port 0 picks one) and syncs with every team
    /// device that connects, until [`Vault::stop_serving`]. Returns the address it
    /// listens on.
    pub async fn start_serving(&self, address: String) -> Result<String, VigilError> {
        let addr = self::address(&address)?;
        let _runtime = runtime()?.enter();
        Ok(self.handle.start_serving(addr)?.to_string())
    }

    /// One sync session with the team device at `address` (IP:PORT).
    pub async fn sync_with(&self, address: String) -> Result<SyncSummary, VigilError> {
        let addr = self::address(&address)?;
        self.dial(addr, move |node| async move { node.sync(addr).await })
            .await
    }
}

impl Drop for Vault {
    fn drop(&mut self) {
        self.handle.stop_serving();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    #[test]
    fn a_call_that_panics_while_holding_the_vault_leaves_it_usable() {
        let dir = tempfile::tempdir().unwrap();
        let fast = vigil_core::KdfParams {
            memory_kib: 8 * 1024,
            iterations: 1,
            lanes: 1,
        };
        let created = vigil_core::Vault::create(dir.path(), b"ffi lock test", fast).unwrap();
        let vault = Vault::new(VaultHandle::new(created));
        let runtime = runtime().unwrap();

        let failed = runtime.block_on(
            vault.with_vault_in_background(ChangeSource::Local, |_| -> Result<(), VigilError> {
                panic!("a bug in a call")
            }),
        );
        assert!(matches!(failed, Err(VigilError::Internal { .. })));
        assert!(vault.handle.is_poisoned());

        assert_eq!(vault.info().unwrap().incidents, 0);
        runtime
            .block_on(vault.with_vault_in_background(ChangeSource::Local, |v| {
                Ok(v.add(&vigil_core::Incident::example())?)
            }))
            .unwrap();
        assert_eq!(vault.info().unwrap().incidents, 1);
        assert!(!vault.handle.is_poisoned());
    }
}
