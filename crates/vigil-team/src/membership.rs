//! The team's membership: a log of signed entries that syncs like incidents.
//!
//! A team is founded by one coordinator device; the team's id is that device's key.
//! Every later entry adds a device (with a role) or revokes one, and is signed by a
//! coordinator. Each entry names the entries its signer had seen (`deps`) and carries
//! a Lamport clock one above theirs, so the log is a small causal graph.
//!
//! Membership is a function of the *set* of entries, never of the order they
//! arrived in, so every device that holds the same entries sees the same team. The
//! rules answer a thief who holds a seized coordinator's key, learns of its
//! revocation at any moment, and signs any entry with any deps, clock and time:
//!
//! 1. The founder is a coordinator. Like any coordinator it can be revoked by
//!    another one (a seized founder's phone must open nothing made afterwards); no
//!    device can revoke itself, so a team is never left without a coordinator by
//!    its last one. A team has one founding entry, the first of every device's log:
//!    a second one (a thief with the founder's key founding a rival team under the
//!    same id) is refused.
//! 2. Authority is causal: an entry counts only if its signer's latest `Add` in the
//!    entry's own causal past made it a coordinator, and that `Add` counts. Reading
//!    order (clock, then hash) decides nothing but which of two concurrent role
//!    changes is last, so a thief gains nothing by choosing a low clock.
//! 3. Revocation is final: a revoked device never becomes a member again, whatever
//!    adds it, before or after. A device that must come back joins with a new key.
//!    The revocation names a cutoff time: changes the device signed dated before it
//!    (its reports from before the phone was seized) still count, later ones do not
//!    (with several revocations, the earliest cutoff). A change's date is its
//!    author's claim, so a thief holding the key can backdate; the cutoff bounds what
//!    coordinators must review, it does not prove anything.
//! 4. A revocation of X *breaks* every entry whose chain of authority (the entry,
//!    the `Add` that authorised its signer, the one that authorised that signer, up
//!    to the founding entry) holds something X signed that the revocation had not
//!    seen. Broken entries are void: a seized coordinator phone cannot add devices,
//!    promote accomplices or revoke anyone by backdating, and keys it made are void
//!    with the entries that made them.
//! 5. A revocation broken by another one falls, unless it breaks that one too: two
//!    revocations that break each other (a thief revoking its revoker, directly or
//!    through a key it made) both stand, so both devices lose the role. Which stand
//!    is the grounded reading of "falls if a standing one breaks it one-way": a
//!    function of the set, which no signer can tip by its choice of deps or clock. A
//!    cycle left undecided stands: revoking too much is recoverable (the others add
//!    a new key), trusting a thief is not.
//!
//! 6. The founding entry binds a recovery key, generated when the team is founded,
//!    shown once to be printed, and kept on no device. Its entries are authorised
//!    by the founding entry itself, so no revocation breaks them: they revoke and
//!    appoint when every coordinator is seized or revoked. The recovery key is never
//!    a device: no entry may admit or revoke it. A team has the recovery key it was
//!    founded with, for good (a second founding entry is refused, rule 1); one whose
//!    paper is lost or taken is founded anew.
//!
//! What a thief cannot do, whatever it signs once its revocation is known: be an
//! active coordinator or a sealing recipient, or make one (tested as a property
//! against such a thief). What it can still do, and the recovery key answers: cost
//! its revoker the role, and, when the seized key is not the founder's, revoke a
//! coordinator in its revoker's chain of authority (the founder, say) naming
//! entries from before that coordinator's later `Add`s, which are then void with
//! it. Denial, not takeover: a team so attacked is left with fewer coordinators,
//! never with the thief's, until the recovery key appoints new ones.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vigil_crypto::{DeviceKey, DevicePublicKey};
use vigil_model::MemberEntryRow;

use crate::Refusal;

/// Signatures of membership entries start with this, so no other signature of a
/// device can pass for one.
const CONTEXT: &[u8] = b"vigil/member/v1\0";

/// At most this many causal predecessors per entry.
const MAX_DEPS: usize = 64;

/// Longest device label, in characters.
pub const MAX_LABEL: usize = 64;

/// What a member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Logs incidents and edits its own, relays everyone's changes.
    Observer,
    /// Also adds and revokes devices, and invites.
    Coordinator,
}

impl Role {
    /// The role's name, as the CLI prints and parses it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Observer => "observer",
            Role::Coordinator => "coordinator",
        }
    }

    /// Parses a role's name.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "observer" => Some(Role::Observer),
            "coordinator" => Some(Role::Coordinator),
            _ => None,
        }
    }
}

/// What an entry does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Admits a device with a role (or changes its role).
    Add {
        /// The device's key.
        device: [u8; 32],
        /// Its role.
        role: Role,
        /// A short label the team knows the device by (a pseudonym, never a name
        /// that identifies its holder to an outsider).
        label: String,
    },
    /// Revokes a device, for good.
    Revoke {
        /// The device's key.
        device: [u8; 32],
        /// Changes it signed dated before this (Unix seconds) still count: the
        /// reports a seized phone had made before it was seized. Later ones are
        /// refused.
        cutoff: i64,
    },
    /// Founds the team: the founder admits itself as coordinator and binds the
    /// team's recovery key (rule 6). Only ever the first entry of the log; teams
    /// founded before recovery keys existed were founded by an `Add` and have none.
    Found {
        /// How the team knows the founder's device.
        label: String,
        /// The public half of the recovery key, whose secret is kept on no device.
        recovery: [u8; 32],
    },
}

impl Action {
    /// The device this entry admits, its role and label, if it admits one.
    fn admits(&self, signer: &[u8; 32]) -> Option<([u8; 32], Role, &str)> {
        match self {
            Action::Add {
                device,
                role,
                label,
            } => Some((*device, *role, label)),
            Action::Found { label, .. } => Some((*signer, Role::Coordinator, label)),
            Action::Revoke { .. } => None,
        }
    }

    /// The device the entry is about.
    fn device<'a>(&'a self, signer: &'a [u8; 32]) -> &'a [u8; 32] {
        match self {
            Action::Add { device, .. } | Action::Revoke { device, .. } => device,
            Action::Found { .. } => signer,
        }
    }
}

/// The signed content of a membership entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The team: its founder's key.
    pub team: [u8; 32],
    /// The coordinator who signs the entry.
    pub signer: [u8; 32],
    /// Hashes of the entries the signer had seen that no other seen entry names.
    pub deps: Vec<[u8; 32]>,
    /// One more than the largest clock among `deps` (0 for the founding entry).
    pub clock: u64,
    /// When it was made, Unix seconds (informational).
    pub time: i64,
    /// What it does.
    pub action: Action,
}

/// An entry with its encoding, hash and signature, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedEntry {
    /// The content.
    pub entry: Entry,
    /// SHA-256 of `bytes`.
    pub hash: [u8; 32],
    /// The encoded content, as signed.
    pub bytes: Vec<u8>,
    /// The signer's signature of `bytes`.
    pub signature: [u8; 64],
}

impl SignedEntry {
    /// Signs any entry with `key`, checked only for its shape: what a device
    /// writes goes through [`Roster::make_entry`]; this is also what an attacker's
    /// tool does, and what tests of the rules sign with.
    pub fn sign(entry: Entry, key: &DeviceKey) -> Result<Self, Refusal> {
        let bytes = postcard::to_stdvec(&entry)
            .map_err(|_| Refusal::Malformed("membership entry does not encode".into()))?;
        let signature = key.sign(&[CONTEXT, &bytes].concat());
        Ok(Self {
            hash: Sha256::digest(&bytes).into(),
            entry,
            bytes,
            signature,
        })
    }

    /// Decodes and checks the signature of an entry as stored or received. Whether
    /// the signer may sign it is the roster's business.
    pub fn decode(bytes: &[u8], signature: &[u8; 64]) -> Result<Self, Refusal> {
        let entry: Entry = postcard::from_bytes(bytes)
            .map_err(|_| Refusal::Malformed("membership entry does not decode".into()))?;
        if postcard::to_stdvec(&entry).ok().as_deref() != Some(bytes) {
            return Err(Refusal::Malformed(
                "membership entry is not in canonical form".into(),
            ));
        }
        let signer = DevicePublicKey::from_bytes(&entry.signer)
            .map_err(|_| Refusal::Malformed("membership entry names no valid signer".into()))?;
        signer
            .verify(&[CONTEXT, bytes].concat(), signature)
            .map_err(|_| Refusal::BadSignature)?;
        if entry.deps.len() > MAX_DEPS {
            return Err(Refusal::Malformed(
                "membership entry has too many deps".into(),
            ));
        }
        if let Some((_, _, label)) = entry.action.admits(&entry.signer)
            && label.chars().count() > MAX_LABEL
        {
            return Err(Refusal::Malformed("device label is too long".into()));
        }
        Ok(Self {
            hash: Sha256::digest(bytes).into(),
            entry,
            bytes: bytes.to_vec(),
            signature: *signature,
        })
    }

    /// The entry as the store keeps it.
    pub fn to_row(&self) -> MemberEntryRow {
        MemberEntryRow {
            hash: self.hash,
            time: self.entry.time,
            bytes: self.bytes.clone(),
            signature: self.signature,
        }
    }
}

/// One device as the team sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its key.
    pub device: [u8; 32],
    /// Its role (the last one given).
    pub role: Role,
    /// Its label.
    pub label: String,
    /// Whether it has been revoked.
    pub revoked: bool,
    /// For a revoked device: its changes dated before this still count.
    pub cutoff: i64,
    /// When it was added, Unix seconds.
    pub added_at: i64,
}

impl Member {
    /// The device key's fingerprint.
    pub fn fingerprint(&self) -> String {
        DevicePublicKey::from_bytes(&self.device)
            .map(|k| k.fingerprint())
            .unwrap_or_default()
    }
}

/// The team as a set of membership entries says it is.
#[derive(Debug, Clone)]
pub struct Roster {
    team: [u8; 32],
    entries: HashMap<[u8; 32], SignedEntry>,
    members: BTreeMap<[u8; 32], Member>,
    /// For each device an entry of the log makes coordinator (counted or not), the
    /// hashes of those entries: what may authorise the device's own entries.
    coordinator_adds: HashMap<[u8; 32], Vec<[u8; 32]>>,
    /// The recovery key the founding entry binds, once that entry is here.
    recovery: Option<[u8; 32]>,
    /// The entries that count by the rules.
    counted: HashSet<[u8; 32]>,
}

impl Roster {
    /// An empty roster of the team founded by `team`.
    pub fn new(team: [u8; 32]) -> Self {
        let mut roster = Self {
            team,
            entries: HashMap::new(),
            members: BTreeMap::new(),
            coordinator_adds: HashMap::new(),
            recovery: None,
            counted: HashSet::new(),
        };
        roster.evaluate();
        roster
    }

    /// Founds a team: the founding entry, by which `founder` admits itself and binds
    /// the public half of the team's recovery key.
    pub fn found(
        founder: &DeviceKey,
        label: &str,
        recovery: &DevicePublicKey,
        time: i64,
    ) -> Result<(Self, SignedEntry), Refusal> {
        let team = founder.public().to_bytes();
        let mut roster = Self::new(team);
        let entry = roster.make_entry(
            founder,
            Action::Found {
                label: label.to_owned(),
                recovery: recovery.to_bytes(),
            },
            time,
        )?;
        roster.insert(entry.clone())?;
        Ok((roster, entry))
    }

    /// The roster from a stored log; entries that fail their checks are skipped and
    /// counted.
    pub fn from_rows(team: [u8; 32], rows: &[MemberEntryRow]) -> (Self, u64) {
        let mut roster = Self::new(team);
        let entries: Vec<SignedEntry> = rows
            .iter()
            .filter_map(|row| SignedEntry::decode(&row.bytes, &row.signature).ok())
            .collect();
        let skipped = (rows.len() - entries.len()) as u64;
        let skipped = skipped + roster.add_unread(entries);
        roster.evaluate();
        (roster, skipped)
    }

    /// Adds entries that pass their checks, in causal order, without reading the log
    /// again (the caller does, once); returns how many were left out.
    fn add_unread(&mut self, mut entries: Vec<SignedEntry>) -> u64 {
        entries.sort_by_key(|e| (e.entry.clock, e.hash));
        let mut skipped = 0;
        for entry in entries {
            if self.entries.contains_key(&entry.hash) {
                continue;
            }
            match self.check(&entry) {
                // Admitted entries are read below; the reading decides which count.
                Ok(()) => self.keep(entry),
                Err(_) => skipped += 1,
            }
        }
        skipped
    }

    /// Keeps a checked entry, with what later checks need to know of it: who may
    /// sign entries from now on.
    fn keep(&mut self, entry: SignedEntry) {
        match &entry.entry.action {
            Action::Add {
                device,
                role: Role::Coordinator,
                ..
            } => self
                .coordinator_adds
                .entry(*device)
                .or_default()
                .push(entry.hash),
            Action::Found { recovery, .. } => self.recovery = Some(*recovery),
            _ => {}
        }
        self.entries.insert(entry.hash, entry);
    }

    /// Whether `ancestor` is in the causal past of an entry naming `deps`.
    fn in_past(&self, deps: &[[u8; 32]], ancestor: &[u8; 32]) -> bool {
        let Some(target) = self.entries.get(ancestor) else {
            return false;
        };
        let floor = target.entry.clock;
        let mut stack: Vec<&[u8; 32]> = deps.iter().collect();
        let mut visited = HashSet::new();
        while let Some(hash) = stack.pop() {
            if hash == ancestor {
                return true;
            }
            if !visited.insert(hash) {
                continue;
            }
            // Clocks rise along deps: nothing below the ancestor's clock leads to it.
            if let Some(e) = self.entries.get(hash)
                && e.entry.clock > floor
            {
                stack.extend(e.entry.deps.iter());
            }
        }
        false
    }

    /// The public half of the team's recovery key, if its founding entry bound one.
    pub fn recovery_key(&self) -> Option<[u8; 32]> {
        self.recovery
    }

    /// Whether `signer` is the team's recovery key.
    pub fn is_recovery_key(&self, signer: &[u8; 32]) -> bool {
        self.recovery.as_ref() == Some(signer)
    }

    /// Every device an entry of the log ever made coordinator, counted or not,
    /// revoked or not (the founder included): whom a recovery that starts the
    /// coordinators over revokes.
    pub fn ever_coordinators(&self) -> impl Iterator<Item = &[u8; 32]> {
        let founder = (!self.entries.is_empty()).then_some(&self.team);
        founder
            .into_iter()
            .chain(self.coordinator_adds.keys().filter(|d| **d != self.team))
    }

    /// Whether `device` would be an active member once `proof` joins the log, read
    /// on a scratch copy: what a stranger sends to prove itself is stored only if it
    /// does admit it. Entries that do not decode or do not fit are left out; entries
    /// already known or repeated cost a SHA-256, not a signature check.
    /// The proof is each entry's bytes and its signature.
    pub fn would_admit<'a>(
        &self,
        proof: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        device: &[u8; 32],
    ) -> bool {
        let mut scratch = self.clone();
        let mut seen = HashSet::new();
        let entries = proof
            .into_iter()
            .filter(|(bytes, _)| {
                let hash: [u8; 32] = Sha256::digest(bytes).into();
                !self.contains(&hash) && seen.insert(hash)
            })
            .filter_map(|(bytes, signature)| {
                let signature = <[u8; 64]>::try_from(signature).ok()?;
                SignedEntry::decode(bytes, &signature).ok()
            })
            .collect();
        scratch.add_unread(entries);
        scratch.evaluate();
        scratch.role_of(device).is_some()
    }

    /// The team's id: its founder's key.
    pub fn team(&self) -> [u8; 32] {
        self.team
    }

    /// Whether `hash` is an entry of the log.
    pub fn contains(&self, hash: &[u8; 32]) -> bool {
        self.entries.contains_key(hash)
    }

    /// Adds an entry after checking it: right team, known causal predecessors, right
    /// clock, a signer that was ever admitted as coordinator. Returns false if it was
    /// already there.
    pub fn insert(&mut self, entry: SignedEntry) -> Result<bool, Refusal> {
        if self.entries.contains_key(&entry.hash) {
            return Ok(false);
        }
        self.check(&entry)?;
        let before = (
            self.members.clone(),
            self.coordinator_adds.clone(),
            self.recovery,
        );
        let (hash, signer) = (entry.hash, entry.entry.signer);
        self.keep(entry);
        self.evaluate();
        // An entry that arrives void from a revoked signer is not kept: a revoked
        // key cannot fill the log (read at every open) with entries that count for
        // nothing. Leaving it out changes no other entry's reading (a void entry
        // breaks and overrules nothing that stands), so the state before is restored.
        if !self.counted.contains(&hash) && self.is_revoked(&signer) {
            self.entries.remove(&hash);
            (self.members, self.coordinator_adds, self.recovery) = before;
            return Err(Refusal::RevokedAuthor);
        }
        Ok(true)
    }

    /// The checks `insert` makes before an entry joins the log.
    fn check(&self, entry: &SignedEntry) -> Result<(), Refusal> {
        let e = &entry.entry;
        if e.team != self.team {
            return Err(Refusal::OtherTeam);
        }
        let mut clock = None;
        for dep in &e.deps {
            let known = self.entries.get(dep).ok_or(Refusal::MissingHistory)?;
            clock = clock.max(Some(known.entry.clock + 1));
        }
        let founding = e.deps.is_empty()
            && e.signer == self.team
            && matches!(e.action.admits(&e.signer), Some((device, Role::Coordinator, _)) if device == self.team);
        if e.clock != clock.unwrap_or(0) || (clock.is_none() && !founding) {
            return Err(Refusal::Malformed(
                "membership entry is out of order".into(),
            ));
        }
        // The founding entry is the first entry of every device's log (everything
        // else descends from it), so a second one can only come from a thief holding
        // the founder's key, founding a rival team under the same id.
        if founding
            && self
                .entries
                .values()
                .any(|known| known.entry.deps.is_empty())
        {
            return Err(Refusal::Malformed("a team has one founding entry".into()));
        }
        if !founding && matches!(e.action, Action::Found { .. }) {
            return Err(Refusal::Malformed("only the founding entry founds".into()));
        }
        // The signer must have been made coordinator in the entry's own causal past
        // (rule 2), not merely somewhere in the log: whether an entry is kept then
        // depends on its past alone, so every device, whatever order entries reach
        // it in and however often it reopens its log, keeps the same ones.
        let authorised = founding
            || e.signer == self.team
            || self.recovery == Some(e.signer)
            || self
                .coordinator_adds
                .get(&e.signer)
                .is_some_and(|adds| adds.iter().rev().any(|add| self.in_past(&e.deps, add)));
        if !authorised {
            return Err(Refusal::NotCoordinator);
        }
        // The recovery key is kept on no device: it is never admitted, and no
        // coordinator can revoke it (a thief holding a seized coordinator's key must
        // not be able to take the team's last resort away).
        if self.recovery.as_ref() == Some(e.action.device(&e.signer)) {
            return Err(Refusal::Malformed("the recovery key is no device".into()));
        }
        Ok(())
    }

    /// A new entry by `signer` after every entry known here; not yet inserted.
    pub fn make_entry(
        &self,
        signer: &DeviceKey,
        action: Action,
        time: i64,
    ) -> Result<SignedEntry, Refusal> {
        let mut deps = self.heads();
        deps.truncate(MAX_DEPS);
        let clock = deps
            .iter()
            .filter_map(|d| self.entries.get(d))
            .map(|e| e.entry.clock + 1)
            .max()
            .unwrap_or(0);
        let entry = Entry {
            team: self.team,
            signer: signer.public().to_bytes(),
            deps,
            clock,
            time,
            action,
        };
        SignedEntry::sign(entry, signer)
    }

    /// The role of an active (admitted, not revoked) member.
    pub fn role_of(&self, device: &[u8; 32]) -> Option<Role> {
        self.members
            .get(device)
            .filter(|m| !m.revoked)
            .map(|m| m.role)
    }

    /// The role the team gave a device, revoked or not: what its changes are judged
    /// by.
    pub fn role_given(&self, device: &[u8; 32]) -> Option<Role> {
        self.members.get(device).map(|m| m.role)
    }

    /// Whether the device has been revoked.
    pub fn is_revoked(&self, device: &[u8; 32]) -> bool {
        self.members.get(device).is_some_and(|m| m.revoked)
    }

    /// Whether a change by `device` dated `time` counts: the device is an active
    /// member, or was revoked with a later cutoff.
    pub fn vouches_for(&self, device: &[u8; 32], time: i64) -> bool {
        self.members
            .get(device)
            .is_some_and(|m| !m.revoked || time < m.cutoff)
    }

    /// Every device the team has admitted, revoked ones included, by key.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// The log's entries in causal order.
    pub fn entries(&self) -> Vec<&SignedEntry> {
        let mut all: Vec<&SignedEntry> = self.entries.values().collect();
        all.sort_by_key(|e| (e.entry.clock, e.hash));
        all
    }

    fn heads(&self) -> Vec<[u8; 32]> {
        let named: HashSet<&[u8; 32]> = self
            .entries
            .values()
            .flat_map(|e| e.entry.deps.iter())
            .collect();
        let mut heads: Vec<[u8; 32]> = self
            .entries
            .keys()
            .filter(|h| !named.contains(h))
            .copied()
            .collect();
        heads.sort();
        heads
    }

    /// Reads the log by the rules in the module's documentation.
    ///
    /// Entries are indexed in causal order (clock, then hash: every dep comes before
    /// the entries naming it). Each entry's causal past is a bit set, and each entry
    /// points at the `Add` that made its signer a coordinator (its *authority*), so
    /// the chain of authority of any entry can be walked back to the founding entry.
    fn evaluate(&mut self) {
        let order = self.entries();
        let n = order.len();
        let index: HashMap<[u8; 32], usize> =
            order.iter().enumerate().map(|(i, e)| (e.hash, i)).collect();
        let words = n.div_ceil(64);
        // past[i]: entry i and everything it depends on, transitively.
        let mut past: Vec<Vec<u64>> = Vec::with_capacity(n);
        for (i, signed) in order.iter().enumerate() {
            let mut bits = vec![0u64; words];
            bits[i / 64] |= 1 << (i % 64);
            for dep in &signed.entry.deps {
                if let Some(&d) = index.get(dep) {
                    for (w, dw) in bits.iter_mut().zip(&past[d]) {
                        *w |= dw;
                    }
                }
            }
            past.push(bits);
        }
        let saw = |i: usize, j: usize| past[i][j / 64] & (1 << (j % 64)) != 0;

        // Rule 2: an entry's authority is the latest `Add` of its signer in its causal
        // past, which must give the coordinator role; the founder's is the founding
        // entry. An entry without one never counts.
        let mut adds_of: HashMap<[u8; 32], Vec<usize>> = HashMap::new();
        for (i, signed) in order.iter().enumerate() {
            if let Action::Add { device, .. } = &signed.entry.action {
                adds_of.entry(*device).or_default().push(i);
            }
        }
        let founding = order
            .iter()
            .position(|s| s.entry.deps.is_empty() && s.entry.signer == self.team);
        let mut authority: Vec<Option<usize>> = vec![None; n];
        let mut authorised = vec![false; n];
        for (i, signed) in order.iter().enumerate() {
            let e = &signed.entry;
            if Some(i) == founding {
                authorised[i] = true;
                continue;
            }
            // Rule 6: the recovery key's authority is the founding entry that binds
            // it, which no revocation breaks.
            let by_recovery = self.recovery == Some(e.signer);
            let from = if e.signer == self.team || by_recovery {
                founding.filter(|&f| saw(i, f))
            } else {
                adds_of.get(&e.signer).and_then(|adds| {
                    let seen = || adds.iter().rev().copied().filter(|&a| a != i && saw(i, a));
                    // Once the recovery key has appointed the signer, only `Add`s
                    // made after that appointment can replace it: a thief's `Add`
                    // of the signer with a higher clock, concurrent with the
                    // recovery, must not become its authority.
                    let appointed = seen().find(|&a| self.recovery == Some(order[a].entry.signer));
                    seen().find(|&a| appointed.is_none_or(|r| a == r || saw(a, r)))
                })
            };
            let Some(from) = from else { continue };
            let coordinator = e.signer == self.team
                || by_recovery
                || matches!(
                    order[from].entry.action,
                    Action::Add {
                        role: Role::Coordinator,
                        ..
                    }
                );
            if coordinator && authorised[from] {
                authority[i] = Some(from);
                authorised[i] = true;
            }
        }

        // Rule 4: a revocation of X *breaks* an entry if the entry's chain of
        // authority holds something X signed that the revocation had not seen.
        let breaks = |revocation: usize, target: &[u8; 32], entry: usize| {
            let mut at = Some(entry);
            while let Some(j) = at {
                if order[j].entry.signer == *target && !saw(revocation, j) {
                    return true;
                }
                at = authority[j];
            }
            false
        };
        let revocations: Vec<(usize, [u8; 32], i64)> = order
            .iter()
            .enumerate()
            .filter(|&(i, _)| authorised[i])
            .filter_map(|(i, s)| match s.entry.action {
                Action::Revoke { device, cutoff } if device != s.entry.signer => {
                    Some((i, device, cutoff))
                }
                _ => None,
            })
            .collect();

        // Rule 5: revocations that break each other both stand; otherwise one that
        // breaks another overrules it. Which stand is the grounded reading of that
        // relation: a revocation falls once a standing one overrules it, stands once
        // all that overrule it have fallen; one left undecided (a cycle) stands, since
        // revoking too much is recoverable and trusting a thief is not.
        let r = revocations.len();
        let mut overrules: Vec<Vec<usize>> = vec![Vec::new(); r];
        for (a, &(ia, ta, _)) in revocations.iter().enumerate() {
            for (b, &(ib, tb, _)) in revocations.iter().enumerate() {
                if a != b && breaks(ia, &ta, ib) && !breaks(ib, &tb, ia) {
                    overrules[b].push(a);
                }
            }
        }
        #[derive(Clone, Copy, PartialEq)]
        enum Label {
            Undecided,
            Stands,
            Falls,
        }
        let mut label = vec![Label::Undecided; r];
        loop {
            let mut changed = false;
            for b in 0..r {
                if label[b] != Label::Undecided {
                    continue;
                }
                if overrules[b].iter().any(|&a| label[a] == Label::Stands) {
                    label[b] = Label::Falls;
                    changed = true;
                } else if overrules[b].iter().all(|&a| label[a] == Label::Falls) {
                    label[b] = Label::Stands;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let standing: Vec<(usize, [u8; 32], i64)> = revocations
            .iter()
            .zip(&label)
            .filter(|&(_, l)| *l != Label::Falls)
            .map(|(r, _)| *r)
            .collect();
        let mut cutoffs: HashMap<[u8; 32], i64> = HashMap::new();
        for &(_, device, cutoff) in &standing {
            let c = cutoffs.entry(device).or_insert(cutoff);
            *c = (*c).min(cutoff);
        }

        // Rule 3 and the reading itself: the entries that count, in causal order.
        let mut members: BTreeMap<[u8; 32], Member> = BTreeMap::new();
        let mut counted = HashSet::new();
        for (i, signed) in order.iter().enumerate() {
            let e = &signed.entry;
            // A standing revocation counts even if the one it breaks breaks it too.
            let counts = match e.action {
                Action::Revoke { .. } => standing.iter().any(|&(ir, _, _)| ir == i),
                Action::Add { .. } | Action::Found { .. } => {
                    authorised[i] && !standing.iter().any(|&(ir, t, _)| breaks(ir, &t, i))
                }
            };
            if !counts {
                continue;
            }
            counted.insert(signed.hash);
            match (&e.action, e.action.admits(&e.signer)) {
                (_, Some((device, role, label))) => {
                    let (device, role) = (&device, &role);
                    // A revoked device is listed as it was first added, revoked, and
                    // judged by the least role it was ever given: its backdated
                    // changes get no more than that.
                    let cutoff = cutoffs.get(device).copied();
                    if cutoff.is_some()
                        && let Some(listed) = members.get_mut(device)
                    {
                        if *role == Role::Observer && *device != self.team {
                            listed.role = Role::Observer;
                        }
                        continue;
                    }
                    let added_at = members.get(device).map_or(e.time, |m| m.added_at);
                    let role = if *device == self.team {
                        Role::Coordinator
                    } else {
                        *role
                    };
                    members.insert(
                        *device,
                        Member {
                            device: *device,
                            role,
                            label: label.to_owned(),
                            revoked: cutoff.is_some(),
                            cutoff: cutoff.unwrap_or(i64::MAX),
                            added_at,
                        },
                    );
                }
                (Action::Revoke { device, .. }, None) => {
                    let Some(&cutoff) = cutoffs.get(device) else {
                        continue;
                    };
                    let member = members.entry(*device).or_insert_with(|| Member {
                        device: *device,
                        role: Role::Observer,
                        label: String::new(),
                        revoked: true,
                        cutoff,
                        added_at: e.time,
                    });
                    member.revoked = true;
                    member.cutoff = cutoff;
                }
                (_, None) => {}
            }
        }
        self.members = members;
        self.counted = counted;
    }
}

#[cfg(test)]
mod tests;
