//! The vault's team: founding it, inviting, admitting and revoking devices,
//! recovering it, and sealing personal data again for its coordinators of now. The
//! admission policy drawn from it is `policy`'s.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use sha2::{Digest, Sha256};
use vigil_crypto::{DeviceKey, DevicePublicKey};
use vigil_model::Status;
use vigil_store::{ListFilter, StoreRead};
use vigil_team::membership::{Action, SignedEntry};
use vigil_team::sealing::Readable;
use vigil_team::{Member, Role, Roster};
use zeroize::Zeroizing;

use crate::clock::now;
use crate::error::{InviteError, NotAVault, TeamError};
use crate::invite::Invite;
use crate::personal;
use crate::policy::{NEVER_READ, TeamPolicy};
use crate::recovery::RecoveryCode;
use crate::{Vault, VaultError};

/// The meta key of the team's id, once the vault founded or joined one.
const META_TEAM: &str = "team";

/// A device caught signing two different changes under one sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equivocation {
    /// Its fingerprint.
    pub device: String,
    /// The label the team knows it by, if it is a member.
    pub label: Option<String>,
    /// The incident it forked.
    pub incident: vigil_model::IncidentId,
    /// When this device noticed, Unix seconds.
    pub seen_at: i64,
}

pub(crate) fn secret_hash(secret: &[u8; 32]) -> [u8; 32] {
    Sha256::digest([b"vigil/invite/v1\0".as_slice(), secret].concat()).into()
}

impl Vault {
    /// Reads the team from the store and refreshes the admission policy.
    pub(crate) fn load_team(&mut self) -> Result<(), VaultError> {
        // Asked before reading: a commit by another process from here on moves it
        // again, and the next check reads once more.
        let version = self.store.data_version()?;
        self.roster = match self.store.meta(META_TEAM)? {
            Some(team) => {
                let team: [u8; 32] = team
                    .as_slice()
                    .try_into()
                    .map_err(|_| VaultError::NotAVault(NotAVault::DamagedTeamId))?;
                let (roster, skipped) = Roster::from_rows(team, &self.store.member_entries()?);
                if skipped > 0 {
                    tracing::warn!(
                        skipped,
                        "membership entries that fail their checks are ignored"
                    );
                }
                Some(roster)
            }
            None => None,
        };
        self.policy.read_at.store(version, Ordering::Release);
        self.refresh_policy()
    }

    /// Reads the team again if another connection to the vault committed since it
    /// was last read: another process, such as `vigil team revoke` beside a running
    /// `vigil serve`. Costs one `PRAGMA data_version` when nothing changed (this
    /// vault's own commits do not count: they reach the roster as they are made).
    /// Returns whether it read. If the team cannot be read, the admission policy
    /// admits nobody until it can.
    pub(crate) fn reload_team_if_changed(&mut self) -> Result<bool, VaultError> {
        let read = self
            .store
            .data_version()
            .map_err(VaultError::from)
            .and_then(|version| {
                if version == self.policy.read_at.load(Ordering::Acquire) {
                    Ok(false)
                } else {
                    self.load_team().map(|()| true)
                }
            });
        match &read {
            Ok(true) => tracing::debug!("team read again: another connection wrote to the vault"),
            Ok(false) => {}
            Err(_) => {
                // Read again at the next check, whatever the version says then.
                self.policy.read_at.store(NEVER_READ, Ordering::Release);
                self.policy.update(None);
            }
        }
        read
    }

    pub(crate) fn refresh_policy(&self) -> Result<(), VaultError> {
        self.policy.update(self.roster.as_ref());
        Ok(())
    }

    /// The admission policy, for the transport.
    pub(crate) fn policy(&self) -> Arc<TeamPolicy> {
        Arc::clone(&self.policy)
    }

    /// This device's role in its team, if it is an active member of one.
    pub fn role(&self) -> Option<Role> {
        self.roster
            .as_ref()?
            .role_of(&self.device.public().to_bytes())
    }

    /// Whether this device may take review decisions (verify, reject, or change an
    /// incident's status once created): a coordinator, or a vault in no team, whose
    /// owner is its own coordinator. Peers refuse such changes from anyone else.
    pub fn reviews(&self) -> bool {
        self.roster.is_none() || self.role() == Some(Role::Coordinator)
    }

    /// The team's id fingerprint, if the vault is in a team.
    pub fn team_fingerprint(&self) -> Option<String> {
        let team = self.roster.as_ref()?.team();
        DevicePublicKey::from_bytes(&team)
            .ok()
            .map(|k| k.fingerprint())
    }

    /// Founds a team with this device as its first coordinator, known as `label`,
    /// and returns the team's recovery code: the only copy of the recovery key,
    /// to be printed or written down and kept on no device (see [`Vault::recover`]).
    pub fn create_team(&mut self, label: &str) -> Result<RecoveryCode, VaultError> {
        if self.roster.is_some() {
            return Err(VaultError::AlreadyInTeam);
        }
        let label = checked_label(label)?;
        let recovery = DeviceKey::generate();
        let (roster, founding) = Roster::found(&self.device, &label, &recovery.public(), now())
            .map_err(TeamError::Refused)?;
        self.store.write(|w| {
            w.set_meta(META_TEAM, &roster.team())?;
            w.insert_member_entry(&founding.to_row())
        })?;
        self.roster = Some(roster);
        tracing::info!("team founded");
        self.refresh_policy()?;
        Ok(RecoveryCode::of(&recovery))
    }

    /// Starts the team's coordinators over with its recovery code, when they are
    /// seized or lost: every device that was ever a coordinator is revoked (its
    /// changes dated from `cutoff` on, default now, refused), except those named in
    /// `appoint`, which the recovery key makes coordinators. No revocation by a
    /// coordinator overrules the recovery key's, so a thief holding seized keys can
    /// undo none of it. Any member's device can do this; nothing of the code is
    /// kept.
    pub fn recover(
        &mut self,
        code: &str,
        appoint: &[String],
        cutoff: Option<i64>,
    ) -> Result<Recovery, VaultError> {
        let roster = self.roster.as_ref().ok_or(VaultError::NoTeam)?;
        let bound = roster.recovery_key().ok_or(VaultError::BadRecoveryCode(
            "this team was founded without a recovery key",
        ))?;
        let key = RecoveryCode::read(code)?;
        if key.public().to_bytes() != bound {
            return Err(VaultError::BadRecoveryCode("it is not this team's"));
        }
        if appoint.is_empty() {
            return Err(TeamError::NobodyAppointed.into());
        }
        let mut appointed = Vec::new();
        for fingerprint in appoint {
            let member = self.member(fingerprint)?;
            if member.revoked {
                return Err(TeamError::RevokedNeverComesBack.into());
            }
            if !appointed.iter().any(|m: &Member| m.device == member.device) {
                appointed.push(member);
            }
        }
        let cutoff = cutoff.unwrap_or_else(now);
        let mut revoke: Vec<[u8; 32]> = roster
            .ever_coordinators()
            .filter(|d| !appointed.iter().any(|m| &m.device == *d))
            .copied()
            .collect();
        revoke.sort();
        // Signed on a scratch roster, one after the other, stored at once.
        let mut scratch = roster.clone();
        let mut entries = Vec::new();
        let actions = revoke
            .iter()
            .map(|&device| Action::Revoke { device, cutoff })
            .chain(appointed.iter().map(|m| Action::Add {
                device: m.device,
                role: Role::Coordinator,
                label: m.label.clone(),
            }));
        for action in actions {
            let entry = scratch
                .make_entry(&key, action, now())
                .map_err(TeamError::Refused)?;
            scratch.insert(entry.clone()).map_err(TeamError::Refused)?;
            entries.push(entry);
        }
        self.store.write(|w| {
            for entry in &entries {
                w.insert_member_entry(&entry.to_row())?;
            }
            Ok::<_, VaultError>(())
        })?;
        self.roster = Some(scratch);
        self.refresh_policy()?;
        tracing::info!(
            revoked = revoke.len(),
            appointed = appointed.len(),
            "team recovered"
        );
        let now_of = |m: &Member| self.member(&m.fingerprint());
        Ok(Recovery {
            revoked: revoke
                .iter()
                .filter_map(|d| {
                    self.roster
                        .as_ref()?
                        .members()
                        .find(|m| &m.device == d)
                        .cloned()
                })
                .collect(),
            appointed: appointed.iter().map(now_of).collect::<Result<_, _>>()?,
        })
    }

    /// Every device the team has admitted, revoked ones included.
    pub fn members(&self) -> Result<Vec<Member>, VaultError> {
        let roster = self.roster.as_ref().ok_or(VaultError::NoTeam)?;
        let mut members: Vec<Member> = roster.members().cloned().collect();
        members.sort_by_key(|m| (m.revoked, m.added_at));
        Ok(members)
    }

    /// Devices caught signing two different changes under one sequence number (an
    /// incident forked, one version handed to each peer), oldest first. Their later
    /// changes are refused here; a coordinator should revoke them.
    pub fn equivocations(&self) -> Result<Vec<Equivocation>, VaultError> {
        let label = |device: &[u8; 32]| {
            self.roster
                .as_ref()
                .and_then(|r| r.members().find(|m| &m.device == device))
                .map(|m| m.label.clone())
        };
        Ok(self
            .store
            .equivocations()?
            .into_iter()
            .map(|e| Equivocation {
                device: DevicePublicKey::from_bytes(&e.author)
                    .map_or_else(|_| "invalid key".into(), |k| k.fingerprint()),
                label: label(&e.author),
                incident: e.incident,
                seen_at: e.seen_at,
            })
            .collect())
    }

    /// Makes an invitation for one device, valid for `valid_for` seconds, naming the
    /// addresses this coordinator listens on.
    pub fn invite(
        &mut self,
        role: Role,
        valid_for: i64,
        addresses: Vec<SocketAddr>,
    ) -> Result<Invite, VaultError> {
        let roster = self.roster.as_ref().ok_or(VaultError::NoTeam)?;
        if self.role() != Some(Role::Coordinator) {
            return Err(VaultError::NotCoordinator);
        }
        if !(60..=30 * 86_400).contains(&valid_for) {
            return Err(TeamError::InviteValidity.into());
        }
        let mut secret = Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, secret.as_mut());
        let invite = Invite {
            team: roster.team(),
            coordinator: self.device.public().to_bytes(),
            expires: now() + valid_for,
            secret,
            role,
            addresses,
        };
        let hash = secret_hash(&invite.secret);
        self.store
            .write(|w| w.insert_invite(&hash, role.as_str(), invite.expires))?;
        self.refresh_policy()?;
        Ok(invite)
    }

    /// Admits a newcomer that presented an invitation's secret: the invitation is
    /// spent and an entry adding the device is signed, in one transaction.
    pub(crate) fn admit(
        &mut self,
        device: &DevicePublicKey,
        secret: &[u8; 32],
        label: &str,
    ) -> Result<Role, VaultError> {
        if self.role() != Some(Role::Coordinator) {
            return Err(VaultError::NotCoordinator);
        }
        let label = checked_label(label)?;
        let key = device.to_bytes();
        let hash = secret_hash(secret);
        let roster = self.roster.as_ref().ok_or(VaultError::NoTeam)?;
        if roster.is_revoked(&key) {
            return Err(InviteError::Revoked.into());
        }
        let device_key = &self.device;
        let entry = self.store.write(|w| {
            let role = w
                .redeem_invite(&hash, &key, now())?
                .and_then(|r| Role::parse(&r))
                .ok_or(InviteError::UnknownOrUsed)?;
            let entry = roster
                .make_entry(
                    device_key,
                    Action::Add {
                        device: key,
                        role,
                        label,
                    },
                    now(),
                )
                .map_err(TeamError::Refused)?;
            w.insert_member_entry(&entry.to_row())?;
            Ok::<_, VaultError>(entry)
        })?;
        let role = self.insert_entry(entry)?;
        tracing::info!(device = %device.fingerprint(), "newcomer admitted");
        Ok(role)
    }

    fn insert_entry(&mut self, entry: SignedEntry) -> Result<Role, VaultError> {
        let role = match &entry.entry.action {
            Action::Add { role, .. } => *role,
            Action::Revoke { .. } | Action::Found { .. } => Role::Observer,
        };
        if let Some(roster) = self.roster.as_mut() {
            roster.insert(entry).map_err(TeamError::Refused)?;
        }
        self.refresh_policy()?;
        Ok(role)
    }

    /// Revokes the device whose fingerprint is, or starts with, `fingerprint`, and
    /// returns it as it now stands. Its connections are refused from now on here, and
    /// everywhere once this syncs; changes it signed dated from `cutoff` on (Unix
    /// seconds; default now) are refused, earlier ones (its reports from before the
    /// phone was lost) still count.
    pub fn revoke(&mut self, fingerprint: &str, cutoff: Option<i64>) -> Result<Member, VaultError> {
        if self.role() != Some(Role::Coordinator) {
            return Err(VaultError::NotCoordinator);
        }
        let member = self.member(fingerprint)?;
        let roster = self.roster.as_ref().ok_or(VaultError::NoTeam)?;
        if member.device == self.device.public().to_bytes() {
            return Err(TeamError::SelfRevocation.into());
        }
        if member.revoked {
            return Err(TeamError::AlreadyRevoked.into());
        }
        let entry = roster
            .make_entry(
                &self.device,
                Action::Revoke {
                    device: member.device,
                    cutoff: cutoff.unwrap_or_else(now),
                },
                now(),
            )
            .map_err(TeamError::Refused)?;
        self.store
            .write(|w| w.insert_member_entry(&entry.to_row()))?;
        self.insert_entry(entry)?;
        tracing::info!(device = %member.fingerprint(), "device revoked");
        // As it stands now: revoked.
        self.member(&member.fingerprint())
    }

    /// Joins the team of an invitation, before the first sync with its coordinator.
    pub(crate) fn enter_team(&mut self, team: [u8; 32]) -> Result<(), VaultError> {
        if self.roster.is_some() {
            return Err(VaultError::AlreadyInTeam);
        }
        self.store.write(|w| w.set_meta(META_TEAM, &team))?;
        self.roster = Some(Roster::new(team));
        self.refresh_policy()
    }
}

/// What a recovery did: the devices it revoked and those it made coordinators,
/// as they now stand.
#[derive(Debug, Clone)]
pub struct Recovery {
    /// Every device that had ever been a coordinator, now revoked.
    pub revoked: Vec<Member>,
    /// The team's coordinators from now on.
    pub appointed: Vec<Member>,
}

fn checked_label(label: &str) -> Result<String, VaultError> {
    let label = label.trim();
    if label.chars().count() > vigil_team::membership::MAX_LABEL
        || label.chars().any(char::is_control)
    {
        return Err(TeamError::Label {
            max: vigil_team::membership::MAX_LABEL,
        }
        .into());
    }
    Ok(label.to_owned())
}

impl Vault {
    /// Whom a personal part sealed now is for: the team's active coordinators, or
    /// this device in a vault without a team (its owner is its own coordinator).
    pub fn sealing_recipients(&self) -> Vec<DevicePublicKey> {
        let Some(roster) = &self.roster else {
            return vec![self.device.public()];
        };
        roster
            .members()
            .filter(|m| !m.revoked && m.role == Role::Coordinator)
            .filter_map(|m| DevicePublicKey::from_bytes(&m.device).ok())
            .collect()
    }

    /// Seals again, for the coordinators of now, every personal part this device
    /// opens whose recipients differ: a coordinator who joined later can then read
    /// older incidents, and one who left is not among the new seal's recipients.
    /// (What a device once could open, it keeps: old seals stay in the history.)
    /// Returns how many incidents were sealed again.
    pub fn reshare(&mut self) -> Result<u64, VaultError> {
        let recipients = self.sealing_recipients();
        let mut resealed = Vec::new();
        for summary in self.store.list(&ListFilter::default())? {
            // What the projection marks sealed, this device cannot open, so cannot
            // seal again: joining a team with many incidents loads none of them.
            let id = summary.id;
            // A draft (the only incidents with that status) is not in the history.
            if summary.sealed || summary.status == Status::Draft {
                continue;
            }
            let doc = self.document(&id)?;
            let readable = Readable::read(&doc, &self.device)?;
            if readable.needs_reshare(&recipients) {
                resealed.push((id, doc, readable.incident));
            }
        }
        let actor = self.device.public().to_bytes();
        let device = &self.device;
        let count = resealed.len() as u64;
        self.store.write(|w| {
            for (id, mut doc, incident) in resealed {
                let part = personal::seal(&recipients, &incident)?;
                if let Some(change) = doc.update(&actor, &incident, Some(&part), now())? {
                    w.record(
                        &[vigil_team::signing::sign(device, &id, change)],
                        &vigil_model::Summary {
                            links: doc.links()?,
                            ..personal::seen_summary(&incident, &recipients, device.public())
                        },
                    )?;
                }
            }
            Ok::<_, VaultError>(())
        })?;
        tracing::info!(count, "personal data sealed again for the coordinators");
        Ok(count)
    }
}
