//! Personal data on this device: drafts, readable until they are submitted, and the
//! sealed personal part of every submitted incident (`vigil_team::sealing`).
//!
//! A draft lives in the `drafts` table, which never syncs; submitting it writes the
//! incident's first change with the personal part already sealed, and deletes the
//! draft in the same transaction (SQLite overwrites the deleted bytes:
//! `secure_delete`), then empties the write-ahead log. Plaintext personal data so
//! never enters the change history, which every device keeps forever.

use vigil_crypto::DevicePublicKey;
use vigil_model::document::PersonalPart;
use vigil_model::{Incident, IncidentId, Personal, Status, Summary};
use vigil_store::{ListFilter, StoreRead, Writer};
use vigil_team::sealing::{self, Readable};
use vigil_team::{PersonalAccess, Role};

use crate::error::TeamError;
use crate::{Vault, VaultError};

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

    /// One incident as this device reads it, and how much of its personal part.
    /// Where the personal part is sealed to others, the incident's is empty.
    pub fn read(&self, id: &IncidentId) -> Result<(Incident, PersonalAccess), VaultError> {
        if let Some(body) = self.store.draft(id)? {
            return Ok((decode_draft(&body)?, PersonalAccess::Draft));
        }
        let readable = Readable::read(&self.document(id)?, &self.device)?;
        Ok((readable.incident, readable.access))
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
                let part = seal(&recipients, &incident)?;
                if let Some(change) =
                    doc.update(&actor, &incident, Some(&part), crate::vault::now())?
                {
                    w.record(
                        &[vigil_team::signing::sign(device, &id, change)],
                        &seen_summary(&incident, &recipients, device.public()),
                    )?;
                }
            }
            Ok::<_, VaultError>(())
        })?;
        tracing::info!(count, "personal data sealed again for the coordinators");
        Ok(count)
    }
}

/// The incident's personal part sealed to `recipients`.
pub(crate) fn seal(
    recipients: &[DevicePublicKey],
    incident: &Incident,
) -> Result<PersonalPart, VaultError> {
    if recipients.is_empty() {
        return Err(TeamError::NoCoordinatorToSealTo.into());
    }
    Ok(PersonalPart::Sealed(sealing::seal(
        recipients,
        &incident.id,
        &incident.personal,
    )?))
}

/// The summary this device keeps of an incident it just sealed for `recipients`:
/// without names unless it is one of them.
pub(crate) fn seen_summary(
    incident: &Incident,
    recipients: &[DevicePublicKey],
    me: DevicePublicKey,
) -> Summary {
    if recipients.contains(&me) {
        return incident.summary();
    }
    Summary {
        sealed: true,
        ..Incident {
            personal: Personal::default(),
            ..incident.clone()
        }
        .summary()
    }
}

/// Stores a draft and its summary.
pub(crate) fn put_draft(w: &Writer<'_>, incident: &Incident) -> Result<(), VaultError> {
    let body = serde_json::to_vec(incident).map_err(|_| {
        VaultError::Document(vigil_model::DocumentError::Shape(
            "a draft could not be encoded".into(),
        ))
    })?;
    w.put_draft(&incident.id, &body)?;
    w.record(&[], &incident.summary())?;
    Ok(())
}

pub(crate) fn decode_draft(body: &[u8]) -> Result<Incident, VaultError> {
    serde_json::from_slice(body).map_err(|_| {
        VaultError::Document(vigil_model::DocumentError::Shape(
            "a stored draft is damaged".into(),
        ))
    })
}
