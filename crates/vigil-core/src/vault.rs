//! The vault: a folder with the encrypted database (`vault.db`, plus SQLite's `-wal`
//! and `-shm`) and the key file (`vault.key`) that unlocks it with the passphrase.

use std::fs;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use vigil_crypto::{DeviceKey, DevicePublicKey, KdfParams, KeyEnvelope, Unlocked, VaultKey};
use vigil_exchange::{Format, LineError, csv_format, jsonl, record};
use vigil_model::document::{
    HistoryEntry, IMPORT_ACTOR_PREFIX, IncidentDocument, PersonalPart, hex, import_actor,
};
use vigil_model::{Incident, IncidentId, Person, Status, Summary, Taxonomy};
use vigil_report::Report;
use vigil_store::{ListFilter, Reader, Store, StoreError, StoreRead, Writer};
use vigil_team::sealing::Readable;
use vigil_team::{Roster, signing};

use crate::PersonalAccess;
use crate::clock::{now, now_rfc3339};
use crate::personal::{self, seen_summary};
use crate::policy::TeamPolicy;

use crate::VaultError;
use crate::error::NotAVault;

const DB_FILE: &str = "vault.db";
const KEY_FILE: &str = "vault.key";
const META_DEVICE: &str = "device_secret";
const META_TAXONOMY: &str = "taxonomy";
const META_CREATED: &str = "created_at";

/// How an import treats lines that cannot be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportMode {
    /// Any bad line and nothing is imported (the default): a file is taken whole.
    #[default]
    AllOrNothing,
    /// Bad lines are skipped and reported; the rest is imported, in one transaction.
    SkipInvalid,
}

impl ImportMode {
    /// [`ImportMode::SkipInvalid`] if `skip` (a shell's checkbox or flag), else the
    /// default.
    pub fn skipping_invalid(skip: bool) -> Self {
        if skip {
            Self::SkipInvalid
        } else {
            Self::AllOrNothing
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Incidents added.
    pub added: u64,
    /// Incidents already in the vault (same report id), left as they were.
    pub already_present: u64,
    /// Of those, incidents that a device logged under the report's id rather than
    /// imported from a partner's file. Re-importing a team's own export gives some;
    /// in a partner's file they may be ids a member claimed first, to keep the
    /// partner's report out: compare them by hand (`vigil history`).
    pub claimed: u64,
    /// Lines skipped, with the reasons (only with [`ImportMode::SkipInvalid`]).
    pub skipped: Vec<LineError>,
}

/// What an export wrote, and how much personal data is in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOutcome {
    /// Incidents written.
    pub incidents: u64,
    /// Names of people affected.
    pub named_people: u64,
    /// Free-text descriptions (they may name people).
    pub descriptions: u64,
    /// Observers' pseudonyms.
    pub reporters: u64,
    /// Values of taxonomy fields marked personal.
    pub personal_fields: u64,
    /// Incidents whose personal part is sealed to the coordinators: written without
    /// it, since this device cannot read it.
    pub sealed: u64,
}

impl ExportOutcome {
    /// Whether the file holds any personal data.
    pub fn has_personal_data(&self) -> bool {
        self.named_people + self.descriptions + self.reporters + self.personal_fields > 0
    }
}

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeOutcome {
    /// Incidents that received changes.
    pub incidents: u64,
    /// Changes copied in.
    pub changes: u64,
}

/// Facts about a vault, none of them secret.
#[derive(Debug, Clone)]
pub struct VaultInfo {
    /// The vault's folder.
    pub path: PathBuf,
    /// This device's key fingerprint.
    pub device: String,
    /// Incidents stored.
    pub incidents: u64,
    /// Changes in the log.
    pub changes: u64,
    /// Name of the taxonomy in use.
    pub taxonomy: String,
    /// Key stretching parameters of the passphrase.
    pub kdf: KdfParams,
    /// When the vault was created, RFC 3339.
    pub created_at: String,
    /// The team's fingerprint (its founder's device key), if in a team.
    pub team: Option<String>,
    /// This device's role in the team, if an active member.
    pub role: Option<vigil_team::Role>,
}

/// An open, unlocked vault.
pub struct Vault {
    dir: PathBuf,
    /// A read-only connection, opened with the store while the key is at hand, for
    /// the [`crate::VaultHandle`] that will share this vault to take. Declared before
    /// the store, so dropped first: the writer's connection must close last, which
    /// checkpoints the write-ahead log into the database and deletes it.
    pub(crate) reader: Option<Reader>,
    pub(crate) store: Store,
    pub(crate) device: DeviceKey,
    actor: Vec<u8>,
    pub(crate) taxonomy: Taxonomy,
    /// The team, once the vault founded or joined one.
    pub(crate) roster: Option<Roster>,
    pub(crate) policy: Arc<TeamPolicy>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("device", &self.device.public())
            .finish_non_exhaustive()
    }
}

/// Writes a file only its owner can read (key files and bundles hold secrets or
/// personal data), so that a crash leaves the old content or the new, never half.
/// The old content is then overwritten where it lay: a key file wrapped under an
/// old passphrase must not linger in a freed block (as far as the file system
/// writes in place; flash may still keep a copy, which the vault key's own
/// secrecy covers only while the old passphrase stays unknown).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // Held open across the rename, so that its blocks can be blanked after it.
    let old = fs::OpenOptions::new().write(true).open(path).ok();
    let tmp = path.with_extension("tmp");
    {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename is durable once the folder is.
        fs::File::open(dir)?.sync_all()?;
    }
    if let Some(mut old) = old {
        let len = old.metadata()?.len();
        old.write_all(&vec![0; usize::try_from(len).unwrap_or(0)])?;
        old.sync_all()?;
    }
    Ok(())
}

/// Destroys the vault in `dir` where it lies, in well under a second and without its
/// passphrase (`vigil panic`, the duress passphrase): the key file, the only copy of
/// the wrapped vault key, is overwritten in place with a blank one and flushed, then
/// the database files are deleted. Without the vault key nothing left of them, on
/// this disk or in a copy, can be decrypted. The folder then opens as an empty vault.
pub fn wipe(dir: &Path) -> Result<(), VaultError> {
    let path = dir.join(KEY_FILE);
    let old = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VaultError::NotAVault(NotAVault::NoKeyFile));
        }
        Err(e) => return Err(e.into()),
    };
    let params = KeyEnvelope::from_bytes(&old).map_or(KdfParams::DEFAULT, |e| e.params());
    let blank = KeyEnvelope::blank(params);
    {
        // In place, not by rename: the old bytes must not survive in a freed block.
        let mut file = fs::OpenOptions::new().write(true).open(&path)?;
        file.write_all(blank.to_bytes())?;
        file.set_len(blank.to_bytes().len() as u64)?;
        file.sync_all()?;
    }
    // Nothing logged: after a duress passphrase the log must read like any opening.
    remove_database(dir)?;
    Ok(())
}

fn remove_database(dir: &Path) -> Result<(), VaultError> {
    for file in [DB_FILE, "vault.db-wal", "vault.db-shm"] {
        match fs::remove_file(dir.join(file)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Key stretching for this device: `memory_kib` of Argon2id (64 MiB is
/// [`KdfParams::DEFAULT`]'s, and what a vault should use), with as many passes (at
/// least 3) as make one unlock take `target` here; finding them costs about two
/// unlocks. On a slower phone the same vault costs more, never less; the parameters
/// are stored in the key file.
pub fn calibrated_kdf(
    memory_kib: u32,
    target: std::time::Duration,
) -> Result<KdfParams, VaultError> {
    let base = KdfParams {
        memory_kib,
        ..KdfParams::DEFAULT
    };
    // The cost is a fixed part (allocating and filling the memory) plus one part per
    // pass: timing 1 and 3 passes tells both.
    let time = |iterations| -> Result<f64, VaultError> {
        let started = std::time::Instant::now();
        KdfParams { iterations, ..base }.probe()?;
        Ok(started.elapsed().as_secs_f64())
    };
    let target = target.as_secs_f64();
    let (one, three) = (time(1)?, time(3)?);
    let per_pass = ((three - one) / 2.0).max(1e-3);
    let fixed = (one - per_pass).max(0.0);
    let mut passes = ((target - fixed) / per_pass).ceil().clamp(3.0, 64.0) as u32;
    // Timings on a busy device are noisy: check the estimate once, and add passes if
    // it falls short (never fewer: the target is a floor).
    let took = time(passes)?;
    if took < target {
        passes = (f64::from(passes) * target / took).ceil().min(64.0) as u32;
    }
    Ok(KdfParams {
        iterations: passes,
        ..base
    })
}

impl Vault {
    /// Creates a new vault in the folder `dir` (new or empty), locked by `passphrase`.
    pub fn create(dir: &Path, passphrase: &[u8], kdf: KdfParams) -> Result<Self, VaultError> {
        let span = tracing::info_span!("vault.create");
        let _enter = span.enter();
        if dir.exists() && (!dir.is_dir() || fs::read_dir(dir)?.next().is_some()) {
            return Err(VaultError::AlreadyExists);
        }
        fs::create_dir_all(dir)?;
        let created = Self::create_in(dir, |key| KeyEnvelope::seal(key, passphrase, kdf));
        if created.is_ok() {
            // Here, not in `create_in`, which a duress opening also runs.
            tracing::info!("vault created");
        } else {
            // Leave no half-made vault behind: a retry must find the folder empty.
            for file in [KEY_FILE, DB_FILE, "vault.db-wal", "vault.db-shm"] {
                let _ = fs::remove_file(dir.join(file));
            }
        }
        created
    }

    /// Makes a new vault in `dir`, its key wrapped by `wrap`.
    fn create_in(
        dir: &Path,
        wrap: impl FnOnce(&VaultKey) -> Result<KeyEnvelope, vigil_crypto::CryptoError>,
    ) -> Result<Self, VaultError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
        let key = VaultKey::generate();
        let envelope = wrap(&key)?;
        write_atomically(&dir.join(KEY_FILE), envelope.to_bytes())?;
        let mut store = Store::create(&dir.join(DB_FILE), key.expose())?;
        let reader = Reader::open(&dir.join(DB_FILE), key.expose())?;
        let device = DeviceKey::generate();
        let taxonomy = Taxonomy::default_taxonomy();
        store.write(|w| {
            w.set_meta(META_DEVICE, device.to_secret_bytes().as_ref())?;
            w.set_meta(
                META_TAXONOMY,
                vigil_model::taxonomy::DEFAULT_TOML.as_bytes(),
            )?;
            w.set_meta(META_CREATED, now_rfc3339().as_bytes())
        })?;
        Ok(Self::assemble(dir, store, reader, device, taxonomy))
    }

    /// Opens the vault in `dir` with `passphrase`.
    pub fn open(dir: &Path, passphrase: &[u8]) -> Result<Self, VaultError> {
        let span = tracing::info_span!("vault.open");
        let _enter = span.enter();
        if !dir.exists() {
            return Err(VaultError::NotAVault(NotAVault::Nothing));
        }
        if !dir.is_dir() {
            return Err(VaultError::NotAVault(NotAVault::AFile));
        }
        let key_bytes = match fs::read(dir.join(KEY_FILE)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VaultError::NotAVault(NotAVault::NoKeyFile));
            }
            Err(e) => return Err(e.into()),
        };
        let envelope = KeyEnvelope::from_bytes(&key_bytes)?;
        if envelope.is_blank() {
            // A wiped vault opens empty, with whatever passphrase is entered.
            remove_database(dir)?;
            let kdf = envelope.params();
            return Self::create_in(dir, |key| KeyEnvelope::seal(key, passphrase, kdf));
        }
        let key = match envelope.unlock(passphrase)? {
            Unlocked::Key(key) => key,
            Unlocked::Duress(stretched) => {
                // Logged like any opening: the log must not tell what happened. The
                // empty vault is locked with the passphrase already stretched, so
                // that this takes one unlock, not two.
                wipe(dir)?;
                return Self::create_in(dir, |key| stretched.seal(key));
            }
        };
        let db = dir.join(DB_FILE);
        if !db.is_file() {
            return Err(VaultError::NotAVault(NotAVault::NoDatabase));
        }
        let store = Store::open(&db, key.expose()).map_err(|e| match e {
            StoreError::NotDecryptable => VaultError::NotAVault(NotAVault::KeyMismatch),
            StoreError::NotAVault => VaultError::NotAVault(NotAVault::NotAVaultDatabase),
            other => other.into(),
        })?;
        let reader = Reader::open(&db, key.expose())?;
        drop(key);
        let secret = zeroize::Zeroizing::new(
            store
                .meta(META_DEVICE)?
                .ok_or(VaultError::NotAVault(NotAVault::NoDeviceKey))?,
        );
        let device = DeviceKey::from_secret_bytes(&secret)?;
        let taxonomy = stored_taxonomy(&store)?;
        let mut vault = Self::assemble(dir, store, reader, device, taxonomy);
        vault.sign_unsigned_changes()?;
        vault.load_team()?;
        Ok(vault)
    }

    /// Sets `duress` as the duress passphrase (or, with `None`, removes it): entered
    /// at unlock, it destroys the vault's keys and data and opens an empty vault.
    /// `passphrase` is the vault's, to rewrap its key.
    pub fn set_duress_passphrase(
        &self,
        passphrase: &[u8],
        duress: Option<&[u8]>,
    ) -> Result<(), VaultError> {
        self.rewrap(passphrase, passphrase, duress, None)?;
        tracing::info!(set = duress.is_some(), "duress passphrase changed");
        Ok(())
    }

    /// Locks the vault with `new_passphrase`, stretched with `kdf` (or as before):
    /// how a passphrase is changed and key stretching raised. Only the key file is
    /// rewritten. A duress passphrase is removed; set it again after.
    pub fn change_passphrase(
        &self,
        passphrase: &[u8],
        new_passphrase: &[u8],
        kdf: Option<KdfParams>,
    ) -> Result<(), VaultError> {
        self.rewrap(passphrase, new_passphrase, None, kdf)?;
        tracing::info!("passphrase changed");
        Ok(())
    }

    /// Rewrites the key file: the vault key, unwrapped with `passphrase`, wrapped
    /// again under `new_passphrase` (and `duress`) with `kdf` or the old parameters.
    fn rewrap(
        &self,
        passphrase: &[u8],
        new_passphrase: &[u8],
        duress: Option<&[u8]>,
        kdf: Option<KdfParams>,
    ) -> Result<(), VaultError> {
        let path = self.dir.join(KEY_FILE);
        let envelope = KeyEnvelope::from_bytes(&fs::read(&path)?)?;
        let Unlocked::Key(key) = envelope.unlock(passphrase)? else {
            return Err(VaultError::WrongPassphrase);
        };
        let kdf = kdf.unwrap_or_else(|| envelope.params());
        let rewrapped = KeyEnvelope::seal_with_duress(&key, new_passphrase, duress, kdf)?;
        write_atomically(&path, rewrapped.to_bytes())?;
        Ok(())
    }

    /// Wipes this vault (see [`wipe`]) after closing its database, so that nothing of
    /// it is written again. The vault can do nothing more; opening the folder again
    /// gives an empty vault.
    pub fn wipe(self) -> Result<(), VaultError> {
        // A `serve` still running on this vault admits nobody from now on.
        self.policy.update(None);
        let dir = self.dir.clone();
        // Its connections are closed and its device key zeroized as it is dropped.
        drop(self);
        wipe(&dir)
    }

    /// Changes written before changes were signed (vault schema 1) are signed by this
    /// device, which has held and vouched for them since.
    fn sign_unsigned_changes(&mut self) -> Result<(), VaultError> {
        let unsigned = self.store.unsigned_changes()?;
        if unsigned.is_empty() {
            return Ok(());
        }
        let device = &self.device;
        self.store.write(|w| {
            for row in &unsigned {
                let change = IncidentDocument::decode_change(&row.bytes)?;
                let signed = signing::sign(device, &row.incident, change);
                w.sign_change(row.seq_no, &signed.author, &signed.signature, signed.time)?;
            }
            Ok::<_, VaultError>(())
        })?;
        tracing::info!(
            count = unsigned.len(),
            "signed changes written before signatures"
        );
        Ok(())
    }

    fn assemble(
        dir: &Path,
        store: Store,
        reader: Reader,
        device: DeviceKey,
        taxonomy: Taxonomy,
    ) -> Self {
        // The device's public key is its Automerge actor id: every change names its
        // device, and a device's changes are one sequence.
        let actor = device.public().to_bytes().to_vec();
        Self {
            dir: dir.to_path_buf(),
            store,
            device,
            actor,
            taxonomy,
            roster: None,
            policy: Arc::default(),
            reader: Some(reader),
        }
    }

    /// The vault's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Facts about the vault.
    pub fn info(&self) -> Result<VaultInfo, VaultError> {
        let (incidents, changes) = self.store.counts()?;
        let kdf = KeyEnvelope::from_bytes(&fs::read(self.dir.join(KEY_FILE))?)?.params();
        let created_at = self
            .store
            .meta(META_CREATED)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        Ok(VaultInfo {
            path: self.dir.clone(),
            device: self.device.public().fingerprint(),
            incidents,
            changes,
            taxonomy: self.taxonomy.name.clone(),
            kdf,
            created_at,
            team: self.team_fingerprint(),
            role: self.role(),
        })
    }

    /// Names an author of a change, by the actor id shown in a history.
    pub fn author_label(&self, actor_hex: &str) -> String {
        if actor_hex == hex(&self.actor) {
            return format!("this device ({})", self.device.public().fingerprint());
        }
        let bytes: Option<Vec<u8>> = (0..actor_hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(actor_hex.get(i..i + 2)?, 16).ok())
            .collect();
        if bytes
            .as_ref()
            .is_some_and(|b| b.starts_with(IMPORT_ACTOR_PREFIX))
        {
            return "partner import".to_owned();
        }
        bytes
            .and_then(|b| DevicePublicKey::from_bytes(&b).ok())
            .map_or_else(
                || format!("device {}", actor_hex.get(..16).unwrap_or(actor_hex)),
                |key| format!("device {}", key.fingerprint()),
            )
    }

    /// The taxonomy in use.
    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// Replaces the taxonomy with a team's own (TOML). Existing incidents are kept as
    /// they are.
    pub fn set_taxonomy(&mut self, toml: &str) -> Result<(), VaultError> {
        let taxonomy = Taxonomy::from_toml(toml)?;
        self.store
            .write(|w| w.set_meta(META_TAXONOMY, toml.as_bytes()))?;
        self.taxonomy = taxonomy;
        Ok(())
    }

    /// Logs a new incident, validated against the taxonomy first. A draft stays on
    /// this device, readable; any other status submits it: its personal part is
    /// sealed to the coordinators before it enters the change history.
    pub fn add(&mut self, incident: &Incident) -> Result<IncidentId, VaultError> {
        self.taxonomy.validate(incident)?;
        let recipients = self.sealing_recipients();
        let device = &self.device;
        self.store.write(|w| {
            if w.has_incident(&incident.id)? || w.draft(&incident.id)?.is_some() {
                return Err(VaultError::AlreadyExists);
            }
            if incident.status == Status::Draft {
                personal::put_draft(w, incident)
            } else {
                put_new(w, device, incident, &recipients, now(), "created")
            }
        })?;
        Ok(incident.id.clone())
    }

    /// One incident as this device reads it, and how much of its personal part.
    /// Where the personal part is sealed to others, the incident's is empty.
    pub fn read(&self, id: &IncidentId) -> Result<(Incident, PersonalAccess), VaultError> {
        if let Some(body) = self.store.draft(id)? {
            return Ok((personal::decode_draft(&body)?, PersonalAccess::Draft));
        }
        let readable = Readable::read(&self.document(id)?, &self.device)?;
        Ok((readable.incident, readable.access))
    }

    /// One incident as this device reads it: where its personal part is sealed to
    /// others, that part is empty (see [`Vault::read`]).
    pub fn get(&self, id: &IncidentId) -> Result<Incident, VaultError> {
        Ok(self.read(id)?.0)
    }

    pub(crate) fn document(&self, id: &IncidentId) -> Result<IncidentDocument, VaultError> {
        let changes = self.store.changes_of(id)?;
        if changes.is_empty() {
            return Err(VaultError::NotFound(id.clone()));
        }
        Ok(IncidentDocument::from_changes(
            changes.iter().map(Vec::as_slice),
        )?)
    }

    /// Edits an incident: `edit` changes it, the result is validated and stored as
    /// one change. Returns false if nothing changed. A draft whose status leaves
    /// `draft` is submitted: sealed, written to the history, its draft destroyed.
    /// Where the personal part is sealed to others, `edit` sees it empty and may
    /// not fill it ([`VaultError::Sealed`]).
    pub fn edit(
        &mut self,
        id: &IncidentId,
        edit: impl FnOnce(&mut Incident) -> Result<(), VaultError>,
    ) -> Result<bool, VaultError> {
        let recipients = self.sealing_recipients();
        let reviews = self.reviews();
        let actor = &self.actor;
        let device = &self.device;
        let taxonomy = &self.taxonomy;
        let (changed, submitted) = self.store.write(|w| {
            if let Some(body) = w.draft(id)? {
                let before = personal::decode_draft(&body)?;
                let mut incident = before.clone();
                edit(&mut incident)?;
                incident.id = id.clone();
                taxonomy.validate(&incident)?;
                if incident == before {
                    return Ok((false, false));
                }
                if incident.status == Status::Draft {
                    personal::put_draft(w, &incident)?;
                    return Ok((true, false));
                }
                w.delete_draft(id)?;
                put_new(w, device, &incident, &recipients, now(), "created")?;
                return Ok((true, true));
            }
            let changes = w.changes_of(id)?;
            if changes.is_empty() {
                return Err(VaultError::NotFound(id.clone()));
            }
            if !reviews && w.creator_of(id)? != Some(device.public().to_bytes()) {
                // The team would refuse it: an observer changes only the incidents
                // it created (`vigil_sync` authority, rule 4).
                return Err(VaultError::NotCoordinator);
            }
            let mut doc = IncidentDocument::from_changes(changes.iter().map(Vec::as_slice))?;
            let readable = Readable::read(&doc, device)?;
            let mut incident = readable.incident.clone();
            edit(&mut incident)?;
            incident.id = id.clone();
            taxonomy.validate(&incident)?;
            if incident.status != readable.incident.status && !reviews {
                return Err(VaultError::NotCoordinator);
            }
            let part = if incident.personal == readable.incident.personal {
                None
            } else if readable.can_read() {
                Some(personal::seal(&recipients, &incident)?)
            } else {
                return Err(VaultError::Sealed);
            };
            let Some(change) = doc.update(actor, &incident, part.as_ref(), now())? else {
                return Ok((false, false));
            };
            let summary = if part.is_some() {
                seen_summary(&incident, &recipients, device.public())
            } else {
                Summary {
                    sealed: !readable.can_read(),
                    ..incident.summary()
                }
            };
            w.record(
                &[signing::sign(device, id, change)],
                &Summary {
                    links: readable.links.clone(),
                    ..summary
                },
            )?;
            Ok((true, false))
        })?;
        if submitted {
            // The deleted draft's pages may still be in the write-ahead log.
            self.store.checkpoint()?;
        }
        Ok(changed)
    }

    /// Finds the incident whose id is, or starts with, `text` (at least 4 hex digits;
    /// hyphens optional), as users copy ids from listings.
    pub fn resolve(&self, text: &str) -> Result<IncidentId, VaultError> {
        if let Some(id) = IncidentId::parse(text) {
            return Ok(id);
        }
        let prefix: String = text.trim().chars().filter(|c| *c != '-').collect();
        if prefix.len() < 4 || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(VaultError::UnknownId(
                vigil_model::validate::quote(text)
                    .trim_matches('`')
                    .to_owned(),
            ));
        }
        let mut ids = self.store.ids_with_prefix(&prefix, 2)?;
        match ids.len() {
            0 => Err(VaultError::UnknownId(prefix)),
            1 => Ok(ids.remove(0)),
            _ => Err(VaultError::AmbiguousId(prefix)),
        }
    }

    /// Logs a new incident from fields named like CSV columns (`category`,
    /// `city`, `people_count`, `persons`, `held_hours`, `legal_article`, ...). It starts
    /// as a draft reported now, unless the fields say otherwise.
    pub fn add_fields(&mut self, cells: &[(String, String)]) -> Result<IncidentId, VaultError> {
        let mut obj = serde_json::Map::new();
        obj.insert("report_id".into(), IncidentId::random().as_str().into());
        obj.insert("status".into(), "draft".into());
        obj.insert("reported_at".into(), now_rfc3339().into());
        obj.insert("occurred_at".into(), now_rfc3339().into());
        vigil_model::forms::set_all(&mut obj, cells, &self.taxonomy).map_err(invalid)?;
        let incident = record::to_incident(&obj, &self.taxonomy).map_err(invalid)?;
        self.add(&incident)
    }

    /// Edits an incident by fields named like CSV columns; an empty value clears a
    /// field. Returns false if nothing changed.
    pub fn edit_fields(
        &mut self,
        id: &IncidentId,
        cells: &[(String, String)],
    ) -> Result<bool, VaultError> {
        let taxonomy = self.taxonomy.clone();
        self.edit(id, |incident| {
            let mut obj = record::from_incident(incident);
            vigil_model::forms::set_all(&mut obj, cells, &taxonomy).map_err(invalid)?;
            let mut edited = record::to_incident(&obj, &taxonomy).map_err(invalid)?;
            keep_person_ids(&incident.personal.persons, &mut edited.personal.persons);
            *incident = edited;
            Ok(())
        })
    }

    /// An incident's fields named like CSV columns, those with a value: what
    /// [`Vault::edit_fields`] takes back, so that a shell can fill in its form.
    pub fn fields(&self, id: &IncidentId) -> Result<Vec<(String, String)>, VaultError> {
        Ok(record::form_fields(&self.get(id)?, &self.taxonomy))
    }

    /// Incident summaries from the projections, newest first.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Summary>, VaultError> {
        Ok(self.store.list(filter)?)
    }

    /// Who changed what and when in one incident, oldest first.
    /// A draft has none: it has not left this device.
    pub fn history(&self, id: &IncidentId) -> Result<Vec<HistoryEntry>, VaultError> {
        if self.store.draft(id)?.is_some() {
            return Ok(Vec::new());
        }
        let signers: std::collections::HashMap<String, String> = self
            .store
            .signers_of(id)?
            .into_iter()
            .filter_map(|(hash, signer)| {
                let key = DevicePublicKey::from_bytes(&signer?).ok()?;
                Some((hex(&hash), key.fingerprint()))
            })
            .collect();
        let mut history = self.document(id)?.history()?;
        for entry in &mut history {
            entry.signer = signers.get(&entry.hash).cloned();
        }
        Ok(history)
    }

    /// Imports a file in one transaction: a crash leaves all of it or none of it.
    /// Incidents whose id is already here are left alone, so importing a file twice
    /// adds nothing the second time. A coordinator's (or a vault in no team) imports
    /// a partner's reports; an observer's imports are its own reports, made by it.
    pub fn import(
        &mut self,
        input: impl Read,
        format: Format,
        mode: ImportMode,
    ) -> Result<ImportOutcome, VaultError> {
        let span = tracing::info_span!("vault.import", ?format, ?mode);
        let _enter = span.enter();
        let taxonomy = &self.taxonomy;
        let recipients = self.sealing_recipients();
        let reviews = self.reviews();
        let device = &self.device;
        let items: Box<dyn Iterator<Item = Result<Incident, LineError>> + '_> = match format {
            Format::Jsonl => Box::new(jsonl::read(BufReader::new(input), taxonomy)),
            Format::Csv => Box::new(
                csv_format::read(input, taxonomy)
                    .map_err(|header| VaultError::ImportRejected(vec![header]))?,
            ),
        };
        let outcome = self.store.write(|w| {
            let mut outcome = ImportOutcome::default();
            let mut bad = Vec::new();
            for item in items {
                let incident = match item {
                    Ok(incident) => incident,
                    Err(e) => {
                        bad.push(e);
                        continue;
                    }
                };
                // Once a bad line dooms an all-or-nothing import, keep reading only
                // to report every bad line at once.
                if mode == ImportMode::AllOrNothing && !bad.is_empty() {
                    continue;
                }
                if !reviews && matches!(incident.status, Status::Verified | Status::Rejected) {
                    // The team would refuse the change: a review decision.
                    return Err(VaultError::NotCoordinator);
                }
                if w.draft(&incident.id)?.is_some() {
                    outcome.already_present += 1;
                    continue;
                }
                if let Some(first) = w.changes_of(&incident.id)?.first() {
                    outcome.already_present += 1;
                    let imported = IncidentDocument::decode_change(first)
                        .is_ok_and(|c| c.actor == import_actor(&incident.id));
                    outcome.claimed += u64::from(!imported);
                    continue;
                }
                if reviews {
                    put_imported(w, device, &incident, &recipients)?;
                } else {
                    // An observer's file holds its own reports: only a coordinator
                    // writes under a report's import actor; the team refuses it
                    // from anyone else.
                    let time = reported_time(&incident);
                    put_new(w, device, &incident, &recipients, time, "imported")?;
                }
                outcome.added += 1;
            }
            if mode == ImportMode::AllOrNothing && !bad.is_empty() {
                return Err(VaultError::ImportRejected(bad));
            }
            outcome.skipped = bad;
            Ok(outcome)
        })?;
        tracing::info!(
            added = outcome.added,
            already_present = outcome.already_present,
            claimed = outcome.claimed,
            skipped = outcome.skipped.len(),
            "import done"
        );
        Ok(outcome)
    }

    /// Writes the incidents with one of `statuses` (all, if empty) to `out`, oldest
    /// first. Returns what the file holds, personal data included.
    pub fn export(
        &self,
        out: impl Write,
        format: Format,
        statuses: &[Status],
    ) -> Result<ExportOutcome, VaultError> {
        let mut summaries = self.store.list(&ListFilter::default())?;
        summaries.reverse();
        let mut sealed = 0;
        let mut incidents = Vec::with_capacity(summaries.len());
        for s in summaries
            .iter()
            .filter(|s| statuses.is_empty() || statuses.contains(&s.status))
        {
            let (incident, access) = self.read(&s.id)?;
            sealed += u64::from(access == PersonalAccess::Sealed);
            incidents.push(incident);
        }
        match format {
            Format::Jsonl => jsonl::write(out, &incidents)?,
            Format::Csv => csv_format::write(out, &self.taxonomy, &incidents)?,
        }
        let mut outcome = ExportOutcome {
            incidents: incidents.len() as u64,
            sealed,
            ..ExportOutcome::default()
        };
        for i in &incidents {
            let p = &i.personal;
            outcome.named_people += p.persons.len() as u64;
            outcome.descriptions += u64::from(!p.description.trim().is_empty());
            outcome.reporters += u64::from(p.reported_by.is_some());
            outcome.personal_fields += p.details.len() as u64;
        }
        Ok(outcome)
    }

    /// [`Vault::export`] to a file that only its owner can read: it holds personal
    /// data in plaintext.
    pub fn export_to_file(
        &self,
        path: &Path,
        format: Format,
        statuses: &[Status],
    ) -> Result<ExportOutcome, VaultError> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut out = std::io::BufWriter::new(options.open(path)?);
        let outcome = self.export(&mut out, format, statuses)?;
        out.flush()?;
        Ok(outcome)
    }

    /// The report's figures, counted from the projections.
    pub fn report(&self, counted: &[Status]) -> Result<Report, VaultError> {
        let span = tracing::info_span!("vault.report");
        let _enter = span.enter();
        count(&self.store, counted)
    }

    /// The same figures, counted by loading every incident's document: the slow
    /// baseline that the projections exist to avoid, kept to check and measure them.
    pub fn report_from_documents(&self, counted: &[Status]) -> Result<Report, VaultError> {
        let summaries = self.summaries_from_documents()?;
        Ok(vigil_report::count(&summaries, counted))
    }

    fn summaries_from_documents(&self) -> Result<Vec<Summary>, VaultError> {
        let mut summaries = self
            .store
            .incident_ids()?
            .iter()
            .map(|id| Ok(Readable::read(&self.document(id)?, &self.device)?.summary()))
            .collect::<Result<Vec<_>, VaultError>>()?;
        for body in self.store.drafts()? {
            summaries.push(personal::decode_draft(&body)?.summary());
        }
        Ok(summaries)
    }

    /// Rewrites every projection from the change log.
    pub fn rebuild_projections(&mut self) -> Result<u64, VaultError> {
        let summaries = self.summaries_from_documents()?;
        self.store.write(|w| {
            for s in &summaries {
                w.record(&[], s)?;
            }
            Ok::<_, VaultError>(())
        })?;
        Ok(summaries.len() as u64)
    }

    /// Copies in every change `other` has and this vault lacks, and merges them into
    /// the incidents here, in one transaction. Both sides' edits survive. Personal
    /// parts that only `other` can open are sealed again (a change of this device)
    /// for the coordinators of both vaults.
    pub fn merge_from(&mut self, other: &Vault) -> Result<MergeOutcome, VaultError> {
        let span = tracing::info_span!("vault.merge");
        let _enter = span.enter();
        let mut incoming = Vec::new();
        for id in other.store.incident_ids()? {
            let mut missing = Vec::new();
            for bytes in other.store.changes_of(&id)? {
                let change = IncidentDocument::decode_change(&bytes)?;
                if !self.store.has_change(&change.hash)? {
                    missing.push(change.hash);
                }
            }
            if !missing.is_empty() {
                incoming.push((id, other.store.signed_changes(&missing)?));
            }
        }
        // Both vaults are unlocked here, so whoever merges may read both: personal
        // parts that only the other vault opens are sealed again for the owners of
        // both, which makes the merge read the same on either side.
        let mut recipients = self.sealing_recipients();
        for key in other.sealing_recipients() {
            if !recipients.contains(&key) {
                recipients.push(key);
            }
        }
        let actor = self.actor.clone();
        let device = &self.device;
        let outcome = self.store.write(|w| {
            let mut outcome = MergeOutcome::default();
            for (id, missing) in &incoming {
                let ours = w.changes_of(id)?;
                let mut doc = IncidentDocument::from_changes(
                    ours.iter()
                        .map(Vec::as_slice)
                        .chain(missing.iter().map(|c| c.bytes.as_slice())),
                )?;
                let mut readable = Readable::read(&doc, device)?;
                if &readable.incident.id != id {
                    return Err(VaultError::Document(vigil_model::DocumentError::Shape(
                        "a change belongs to another incident".into(),
                    )));
                }
                let mut resealed = None;
                if !readable.can_read() {
                    let theirs = Readable::read(&doc, &other.device)?;
                    if theirs.can_read() {
                        let part = personal::seal(&recipients, &theirs.incident)?;
                        if let Some(change) =
                            doc.update(&actor, &theirs.incident, Some(&part), now())?
                        {
                            resealed = Some(signing::sign(device, id, change));
                        }
                        readable = theirs;
                    }
                }
                let inserted = w.record(missing.iter().chain(&resealed), &readable.summary())?;
                outcome.incidents += 1;
                outcome.changes += inserted;
            }
            Ok::<_, VaultError>(outcome)
        })?;
        Ok(outcome)
    }
}

/// The report's figures from the projections of `store`, the writer's or a reader's.
pub(crate) fn count(store: &impl StoreRead, counted: &[Status]) -> Result<Report, VaultError> {
    let summaries = store.summaries_with_names(counted)?;
    Ok(vigil_report::count(&summaries, counted))
}

/// The taxonomy the vault holds, or the default one if it holds none.
pub(crate) fn stored_taxonomy(store: &impl StoreRead) -> Result<Taxonomy, VaultError> {
    Ok(match store.meta(META_TAXONOMY)? {
        Some(bytes) => Taxonomy::from_toml(&String::from_utf8_lossy(&bytes))?,
        None => Taxonomy::default_taxonomy(),
    })
}

fn invalid(errors: Vec<vigil_model::FieldError>) -> VaultError {
    VaultError::Invalid(vigil_model::ValidationErrors(errors))
}

/// A person record keeps its id across edits, so that concurrent edits of the same
/// person on two devices meet in one record.
fn keep_person_ids(before: &[Person], after: &mut [Person]) {
    let mut unused: Vec<&Person> = before.iter().collect();
    for person in after.iter_mut() {
        if let Some(i) = unused
            .iter()
            .position(|old| old.name == person.name && old.role == person.role)
        {
            person.id = unused.remove(i).id.clone();
        } else if before.iter().any(|old| old.id == person.id) {
            person.id = Person::new("", None).id;
        }
    }
}

/// A submitted incident's first change, made by this device, dated `time` and
/// noted `message`, its personal part sealed to `recipients`.
fn put_new(
    w: &Writer<'_>,
    device: &DeviceKey,
    incident: &Incident,
    recipients: &[DevicePublicKey],
    time: i64,
    message: &str,
) -> Result<(), VaultError> {
    let actor = device.public().to_bytes();
    let part = personal::seal(recipients, incident)?;
    let (_, change) = IncidentDocument::create(&actor, incident, &part, time, message)?;
    w.record(
        &[signing::sign(device, &incident.id, change)],
        &seen_summary(incident, recipients, device.public()),
    )?;
    Ok(())
}

/// When a report says it was reported, Unix seconds: what an import dates its
/// change by, so that it reconciles among the changes of that time.
fn reported_time(incident: &Incident) -> i64 {
    vigil_model::validate::parse_time(&incident.reported_at).map_or(0, |t| t.unix_timestamp())
}

/// An imported report's first change holds its public part, made by the report's
/// import actor and timed by the report (see [`import_actor`]); the second, this
/// device's, adds the sealed personal part. The importing device signs both.
fn put_imported(
    w: &Writer<'_>,
    device: &DeviceKey,
    incident: &Incident,
    recipients: &[DevicePublicKey],
) -> Result<(), VaultError> {
    let time = reported_time(incident);
    let part = personal::seal(recipients, incident)?;
    let (mut doc, first) = IncidentDocument::create(
        &import_actor(&incident.id),
        incident,
        &PersonalPart::Absent,
        time,
        "imported",
    )?;
    let mut changes = vec![signing::sign(device, &incident.id, first)];
    let actor = device.public().to_bytes();
    if let Some(sealed) = doc.update(&actor, incident, Some(&part), now())? {
        changes.push(signing::sign(device, &incident.id, sealed));
    }
    w.record(
        &changes,
        &seen_summary(incident, recipients, device.public()),
    )?;
    Ok(())
}
