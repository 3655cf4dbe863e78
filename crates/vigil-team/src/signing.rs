//! Signed changes: every Automerge change is signed by the device that made it (or,
//! for a partner import, the device that imported it).

use vigil_crypto::{DeviceKey, DevicePublicKey};
use vigil_model::IncidentId;
use vigil_model::SignedChange;
use vigil_model::document::{EncodedChange, IncidentDocument, import_actor};

use crate::{Refusal, Roster};

/// Change signatures start with this, so no other signature of a device can pass for
/// one.
const CONTEXT: &[u8] = b"vigil/change/v1\0";

fn message(incident: &IncidentId, hash: &[u8; 32]) -> Vec<u8> {
    [CONTEXT, incident.to_bytes().as_slice(), hash].concat()
}

/// Signs a change this device made (or imported).
pub fn sign(device: &DeviceKey, incident: &IncidentId, change: EncodedChange) -> SignedChange {
    SignedChange {
        incident: incident.clone(),
        signature: device.sign(&message(incident, &change.hash)),
        author: device.public().to_bytes(),
        hash: change.hash,
        time: change.time,
        bytes: change.bytes,
    }
}

/// Checks a change from outside before anything applies it, first without the
/// team: it decodes, names a valid author key that signed it, and its Automerge
/// actor is that author (or its incident's import actor). A change that passes is
/// not checked again while it waits for the membership entry that admits its
/// author; [`vouched`] then says whether the team admits it. What the author may
/// write in the incident is judged next, against its history (`authority`). On
/// refusal, also says which device the change claimed as its author, for the log.
pub fn check_signature(
    incident: [u8; 16],
    author: Option<[u8; 32]>,
    signature: &[u8],
    bytes: &[u8],
) -> Result<SignedChange, (Refusal, Option<[u8; 32]>)> {
    let change = IncidentDocument::decode_change(bytes)
        .map_err(|_| (Refusal::Malformed("not an Automerge change".into()), author))?;
    let claimed = match author {
        Some(author) => author,
        None => <[u8; 32]>::try_from(change.actor.as_slice())
            .map_err(|_| (Refusal::UnknownAuthor, None))?,
    };
    let refuse = |reason| (reason, Some(claimed));
    if signature.is_empty() {
        return Err(refuse(Refusal::Unsigned));
    }
    let signature: [u8; 64] = signature
        .try_into()
        .map_err(|_| refuse(Refusal::Malformed("signature is not 64 bytes".into())))?;
    let incident = IncidentId::from_bytes(incident);
    // No membership entry can ever admit a key that is not one.
    let author = DevicePublicKey::from_bytes(&claimed)
        .map_err(|_| refuse(Refusal::Malformed("its author is no valid key".into())))?;
    author
        .verify(&message(&incident, &change.hash), &signature)
        .map_err(|_| refuse(Refusal::BadSignature))?;
    if change.actor != claimed && change.actor != import_actor(&incident) {
        return Err(refuse(Refusal::ForeignActor));
    }
    Ok(SignedChange {
        incident,
        hash: change.hash,
        bytes: change.bytes,
        author: claimed,
        signature,
        time: change.time,
    })
}

/// The check that depends on the team: the author of a change whose signature
/// verified is an active member, or a revoked one and the change is dated before
/// the revocation's cutoff.
pub fn vouched(change: &SignedChange, roster: &Roster) -> Result<(), Refusal> {
    if roster.vouches_for(&change.author, change.time) {
        Ok(())
    } else if roster.is_revoked(&change.author) {
        Err(Refusal::RevokedAuthor)
    } else {
        Err(Refusal::UnknownAuthor)
    }
}
