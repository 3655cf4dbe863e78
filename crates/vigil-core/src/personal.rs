//! Personal data on this device: drafts, readable until they are submitted, and the
//! sealed personal part of every submitted incident (`vigil_team::sealing`). Plain
//! functions over a write transaction: the vault and the team call them.
//!
//! A draft lives in the `drafts` table, which never syncs; submitting it writes the
//! incident's first change with the personal part already sealed, and deletes the
//! draft in the same transaction (SQLite overwrites the deleted bytes:
//! `secure_delete`), then empties the write-ahead log. Plaintext personal data so
//! never enters the change history, which every device keeps forever.

use vigil_crypto::DevicePublicKey;
use vigil_model::document::PersonalPart;
use vigil_model::{Incident, Personal, Summary};
use vigil_store::Writer;
use vigil_team::sealing::{self};

use crate::VaultError;
use crate::error::TeamError;

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
