//! The team's membership: a log of signed entries that syncs like incidents.
//!
//! A team is founded by one coordinator device; the team's id is that device's key.
//! Every later entry adds a device (with a role) or revokes one, and is signed by a
//! coordinator. Each entry names the entries its signer had seen (`deps`) and carries
//! a Lamport clock one above theirs, so the log is a small causal graph.
//!
//! Membership is a function of the *set* of entries, never of the order they
//! arrived in, so every device that holds the same entries sees the same team:
//!
//! 1. The founder is a coordinator. Like any coordinator it can be revoked by
//!    another one (a seized founder's phone must open nothing made afterwards); no
//!    device can revoke itself, so a team is never left without a coordinator by
//!    its last one.
//! 2. Entries are read in causal order (clock, then hash). An entry counts if its
//!    signer is an active coordinator at that point.
//! 3. Revocation is final: a revoked device never becomes a member again, whatever
//!    adds it, before or after. A device that must come back joins with a new key.
//!    The revocation names a cutoff time: changes the device signed dated before it
//!    (its reports from before the phone was seized) still count, later ones do not.
//!    A change's date is its author's claim, so a thief holding the key can backdate;
//!    the cutoff bounds what coordinators must review, it does not prove anything.
//! 4. A revoked coordinator's entries count only if the revoking coordinator had seen
//!    them (they are in the revocation's causal past). Entries it made concurrently
//!    with, or after, its revocation are void: a seized coordinator phone cannot add
//!    devices by backdating. So when one coordinator adds a device while another
//!    concurrently revokes the first, the add is void on every device.
//!
//! Rule 4 can void entries that an earlier pass counted, so the reading repeats
//! until nothing more is voided; teams have tens of entries, so this is cheap.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vigil_crypto::{DeviceKey, DevicePublicKey};
use vigil_store::MemberEntryRow;

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
    /// Logs and edits incidents, relays everyone's changes.
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
    fn sign(entry: Entry, key: &DeviceKey) -> Result<Self, Refusal> {
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
        if let Action::Add { label, .. } = &entry.action
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
    /// Every device ever admitted as coordinator by a counted entry.
    ever_coordinators: HashSet<[u8; 32]>,
}

impl Roster {
    /// An empty roster of the team founded by `team`.
    pub fn new(team: [u8; 32]) -> Self {
        let mut roster = Self {
            team,
            entries: HashMap::new(),
            members: BTreeMap::new(),
            ever_coordinators: HashSet::new(),
        };
        roster.evaluate();
        roster
    }

    /// Founds a team: the founding entry, by which `founder` admits itself.
    pub fn found(
        founder: &DeviceKey,
        label: &str,
        time: i64,
    ) -> Result<(Self, SignedEntry), Refusal> {
        let team = founder.public().to_bytes();
        let mut roster = Self::new(team);
        let entry = roster.make_entry(
            founder,
            Action::Add {
                device: team,
                role: Role::Coordinator,
                label: label.to_owned(),
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
        let mut entries: Vec<SignedEntry> = rows
            .iter()
            .filter_map(|row| SignedEntry::decode(&row.bytes, &row.signature).ok())
            .collect();
        let mut skipped = (rows.len() - entries.len()) as u64;
        entries.sort_by_key(|e| (e.entry.clock, e.hash));
        for entry in entries {
            if roster.insert(entry).is_err() {
                skipped += 1;
            }
        }
        (roster, skipped)
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
            && matches!(e.action, Action::Add { device, role: Role::Coordinator, .. } if device == self.team);
        if e.clock != clock.unwrap_or(0) || (clock.is_none() && !founding) {
            return Err(Refusal::Malformed(
                "membership entry is out of order".into(),
            ));
        }
        if !founding && !self.ever_coordinators.contains(&e.signer) {
            return Err(Refusal::NotCoordinator);
        }
        self.entries.insert(entry.hash, entry);
        self.evaluate();
        Ok(true)
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

    /// Every entry in the causal past of `hash`, itself included.
    fn past(&self, hash: &[u8; 32]) -> HashSet<[u8; 32]> {
        let mut seen = HashSet::new();
        let mut todo = vec![*hash];
        while let Some(h) = todo.pop() {
            if seen.insert(h)
                && let Some(e) = self.entries.get(&h)
            {
                todo.extend(e.entry.deps.iter().copied());
            }
        }
        seen
    }

    /// Reads the log by the rules in the module's documentation.
    fn evaluate(&mut self) {
        let order = self.entries();
        let mut void: HashSet<[u8; 32]> = HashSet::new();
        loop {
            let mut members: BTreeMap<[u8; 32], Member> = BTreeMap::new();
            let mut ever_coordinators = HashSet::from([self.team]);
            // The first counted revocation of each device.
            let mut revoked_by: HashMap<[u8; 32], [u8; 32]> = HashMap::new();
            for signed in &order {
                let e = &signed.entry;
                if void.contains(&signed.hash) {
                    continue;
                }
                let founding = e.signer == self.team && e.deps.is_empty();
                let signer_active = members
                    .get(&e.signer)
                    .is_some_and(|m| !m.revoked && m.role == Role::Coordinator);
                if !founding && !signer_active {
                    continue;
                }
                match &e.action {
                    Action::Add {
                        device,
                        role,
                        label,
                    } => {
                        if revoked_by.contains_key(device) {
                            continue;
                        }
                        if *role == Role::Coordinator {
                            ever_coordinators.insert(*device);
                        }
                        let added_at = members.get(device).map_or(e.time, |m| m.added_at);
                        members.insert(
                            *device,
                            Member {
                                device: *device,
                                role: if *device == self.team {
                                    Role::Coordinator
                                } else {
                                    *role
                                },
                                label: label.clone(),
                                revoked: false,
                                cutoff: i64::MAX,
                                added_at,
                            },
                        );
                    }
                    Action::Revoke { device, cutoff } => {
                        if *device == e.signer || revoked_by.contains_key(device) {
                            continue;
                        }
                        revoked_by.insert(*device, signed.hash);
                        let member = members.entry(*device).or_insert_with(|| Member {
                            device: *device,
                            role: Role::Observer,
                            label: String::new(),
                            revoked: true,
                            cutoff: i64::MIN,
                            added_at: e.time,
                        });
                        member.revoked = true;
                        member.cutoff = *cutoff;
                    }
                }
            }
            let mut newly_void = Vec::new();
            for (device, revocation) in &revoked_by {
                let past = self.past(revocation);
                newly_void.extend(
                    order
                        .iter()
                        .filter(|s| s.entry.signer == *device && !past.contains(&s.hash))
                        .map(|s| s.hash)
                        .filter(|h| !void.contains(h)),
                );
            }
            if newly_void.is_empty() {
                self.members = members;
                // Signers ever admitted as coordinator, even if later revoked: their
                // older entries stay valid to receive.
                self.ever_coordinators.extend(ever_coordinators);
                return;
            }
            void.extend(newly_void);
        }
    }
}

#[cfg(test)]
mod tests;
