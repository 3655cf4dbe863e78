//! The personal part of an incident, sealed to the team's coordinators.
//!
//! A device that submits an incident seals its personal part (names, free text, the
//! reporting observer, personal taxonomy fields) to the coordinators that the
//! membership names at that moment, with [`vigil_crypto::sealed`]: each coordinator's
//! device key, in X25519 form, is a recipient. The submitting device is not one
//! unless it is a coordinator itself, so a field phone keeps only what it cannot
//! read back. A vault without a team seals to its own device: its owner is its
//! coordinator.
//!
//! Inside the seal, before the personal part, is the list of recipients: a
//! coordinator who opens it learns whom it was sealed to, and so whether a newer
//! coordinator lacks it ([re-share](Readable::needs_reshare)) or a revoked one
//! still holds it. The incident id is the associated data, so a sealed part moved
//! into another incident does not open. The plaintext is padded to a multiple of
//! [`PAD`] bytes, so the size of the seal tells little about the length of names.
//!
//! Plaintext layout: version (1), recipient count (u16, big-endian), 32 bytes per
//! recipient, personal part length (u32, big-endian), the personal part as JSON, zeros.

use vigil_crypto::sealed::{open_sealed, seal_for};
use vigil_crypto::{CryptoError, DeviceKey, DevicePublicKey};
use vigil_model::document::{DocumentError, IncidentDocument, PersonalPart};
use vigil_model::{Incident, IncidentId, Personal, Summary};
use zeroize::Zeroizing;

const VERSION: u8 = 1;
const CONTEXT: &[u8] = b"vigil personal part v1:";
/// Sealed plaintext is padded to a multiple of this many bytes.
pub const PAD: usize = 64;
/// Most coordinators a personal part is sealed to. Each reader tries every
/// recipient slot of a seal, so a seal naming thousands would cost every device
/// that reads it thousands of attempts, each time.
pub const MAX_SEAL_RECIPIENTS: usize = 64;

fn aad(id: &IncidentId) -> Vec<u8> {
    [CONTEXT, id.to_bytes().as_slice()].concat()
}

/// Seals `personal` of incident `id` to `recipients`.
pub fn seal(
    recipients: &[DevicePublicKey],
    id: &IncidentId,
    personal: &Personal,
) -> Result<Vec<u8>, CryptoError> {
    if recipients.len() > MAX_SEAL_RECIPIENTS {
        return Err(CryptoError::Sealing);
    }
    let json = Zeroizing::new(serde_json::to_vec(personal).map_err(|_| CryptoError::Sealing)?);
    let count = u16::try_from(recipients.len()).map_err(|_| CryptoError::Sealing)?;
    let length = u32::try_from(json.len()).map_err(|_| CryptoError::Sealing)?;
    let mut plain = Zeroizing::new(Vec::with_capacity(
        7 + 32 * recipients.len() + json.len() + PAD,
    ));
    plain.push(VERSION);
    plain.extend_from_slice(&count.to_be_bytes());
    for recipient in recipients {
        plain.extend_from_slice(&recipient.to_bytes());
    }
    plain.extend_from_slice(&length.to_be_bytes());
    plain.extend_from_slice(&json);
    let padded = plain.len().div_ceil(PAD) * PAD;
    plain.resize(padded, 0);
    seal_for(recipients, &aad(id), &plain)
}

/// A personal part opened by one of its recipients.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    /// The personal part.
    pub personal: Personal,
    /// The devices it was sealed to.
    pub recipients: Vec<[u8; 32]>,
}

/// Opens the sealed personal part of incident `id` with this device's key.
/// [`CryptoError::NotARecipient`] when it was not sealed to this device;
/// [`CryptoError::Tampered`] when it was, and was altered (or belongs to another
/// incident).
pub fn open(device: &DeviceKey, id: &IncidentId, sealed: &[u8]) -> Result<Opened, CryptoError> {
    // The seal begins with its recipient count (`vigil_crypto::sealed`): one over
    // the bound is refused before any attempt to open it.
    let slots = sealed
        .get(..2)
        .and_then(|n| <[u8; 2]>::try_from(n).ok())
        .map_or(0, |n| usize::from(u16::from_be_bytes(n)));
    if slots > MAX_SEAL_RECIPIENTS {
        return Err(CryptoError::Tampered);
    }
    let plain = open_sealed(device, &aad(id), sealed)?;
    // Authenticated, so a malformed inside was sealed that way by a member: as
    // unusable as an altered seal.
    let malformed = || CryptoError::Tampered;
    if plain.first() != Some(&VERSION) {
        return Err(malformed());
    }
    let count = usize::from(u16::from_be_bytes(
        plain
            .get(1..3)
            .ok_or_else(malformed)?
            .try_into()
            .map_err(|_| malformed())?,
    ));
    let keys_end = 3 + 32 * count;
    let recipients = plain
        .get(3..keys_end)
        .ok_or_else(malformed)?
        .chunks_exact(32)
        .map(|k| k.try_into().map_err(|_| malformed()))
        .collect::<Result<Vec<[u8; 32]>, _>>()?;
    let length = u32::from_be_bytes(
        plain
            .get(keys_end..keys_end + 4)
            .ok_or_else(malformed)?
            .try_into()
            .map_err(|_| malformed())?,
    );
    let json_start = keys_end + 4;
    let json_end = usize::try_from(length)
        .ok()
        .and_then(|n| json_start.checked_add(n))
        .ok_or_else(malformed)?;
    let json = plain.get(json_start..json_end).ok_or_else(malformed)?;
    let personal = serde_json::from_slice(json).map_err(|_| malformed())?;
    Ok(Opened {
        personal,
        recipients,
    })
}

/// How much of an incident's personal part this device reads: the one answer the
/// core, the shells and the rules share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalAccess {
    /// A draft of this device: readable until submitted; it has not left the device.
    Draft,
    /// Sealed to this device (a coordinator), written in the open, or not written
    /// yet: readable.
    Readable,
    /// Sealed to other devices: this one carries it and cannot read it.
    Sealed,
}

/// An incident as one device can read it.
#[derive(Debug, Clone)]
pub struct Readable {
    /// The incident; its personal part is empty unless [`Readable::can_read`].
    pub incident: Incident,
    /// How much of the personal part this device reads ([`PersonalAccess::Draft`]
    /// never: a draft is not a document).
    pub access: PersonalAccess,
    /// The devices the personal part is sealed to, where this device opened it.
    pub sealed_to: Option<Vec<[u8; 32]>>,
    /// Whether the personal part was written in the open (documents from before
    /// sealing existed): the first re-share seals it.
    pub in_the_open: bool,
    /// The link decisions the document holds.
    pub links: Vec<vigil_model::Link>,
}

impl Readable {
    /// Reads a document as `device` can: a personal part sealed to it is opened, one
    /// sealed to others is left empty. A sealed part that was altered is an error.
    pub fn read(doc: &IncidentDocument, device: &DeviceKey) -> Result<Self, ReadError> {
        let (mut incident, part) = doc.read()?;
        let (access, sealed_to, in_the_open) = match part {
            PersonalPart::Absent => (PersonalAccess::Readable, None, false),
            PersonalPart::Open(_) => (PersonalAccess::Readable, None, true),
            PersonalPart::Sealed(bytes) => match open(device, &incident.id, &bytes) {
                Ok(opened) => {
                    incident.personal = opened.personal;
                    (PersonalAccess::Readable, Some(opened.recipients), false)
                }
                Err(CryptoError::NotARecipient) => (PersonalAccess::Sealed, None, false),
                Err(_) => return Err(ReadError::Tampered),
            },
        };
        Ok(Self {
            incident,
            access,
            sealed_to,
            in_the_open,
            links: doc.links()?,
        })
    }

    /// Whether this device reads the personal part.
    pub fn can_read(&self) -> bool {
        self.access != PersonalAccess::Sealed
    }

    /// The summary that projections keep: without names where they are sealed.
    pub fn summary(&self) -> Summary {
        Summary {
            sealed: !self.can_read(),
            links: self.links.clone(),
            ..self.incident.summary()
        }
    }

    /// Whether a personal part read here should be sealed again for `coordinators`:
    /// it was written in the open, or one of them lacks it, or a device no longer
    /// among them holds it. What this device cannot open, it cannot seal again.
    pub fn needs_reshare(&self, coordinators: &[DevicePublicKey]) -> bool {
        match &self.sealed_to {
            Some(recipients) => {
                let mut now: Vec<[u8; 32]> = coordinators.iter().map(|k| k.to_bytes()).collect();
                let mut then = recipients.clone();
                now.sort_unstable();
                then.sort_unstable();
                now != then
            }
            None => self.in_the_open,
        }
    }
}

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The document itself.
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// The sealed personal part was sealed to this device and altered since.
    #[error("the sealed personal data of an incident was altered; it is refused")]
    Tampered,
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::Person;

    fn personal() -> Personal {
        Personal {
            persons: vec![Person::new("Aigerim Bekova", None)],
            description: "Taken from the square".into(),
            ..Personal::default()
        }
    }

    #[test]
    fn a_seal_naming_too_many_recipients_is_neither_made_nor_tried() {
        let id = IncidentId::random();
        let many: Vec<DeviceKey> = (0..=MAX_SEAL_RECIPIENTS)
            .map(|_| DeviceKey::generate())
            .collect();
        let keys: Vec<DevicePublicKey> = many.iter().map(DeviceKey::public).collect();
        assert!(seal(&keys, &id, &Personal::default()).is_err());
        // Made by a member's own tool, as vigil_crypto allows: refused unopened.
        let crafted = seal_for(&keys, &aad(&id), b"anything").unwrap();
        assert!(matches!(
            open(&many[0], &id, &crafted),
            Err(CryptoError::Tampered)
        ));
        assert!(seal(&keys[..MAX_SEAL_RECIPIENTS], &id, &Personal::default()).is_ok());
    }

    #[test]
    fn coordinators_open_it_and_others_cannot() {
        let (a, b, observer) = (
            DeviceKey::generate(),
            DeviceKey::generate(),
            DeviceKey::generate(),
        );
        let id = IncidentId::random();
        let personal = personal();
        let sealed = seal(&[a.public(), b.public()], &id, &personal).unwrap();
        for coordinator in [&a, &b] {
            let opened = open(coordinator, &id, &sealed).unwrap();
            assert_eq!(opened.personal, personal);
            assert_eq!(
                opened.recipients,
                [a.public().to_bytes(), b.public().to_bytes()]
            );
        }
        assert!(matches!(
            open(&observer, &id, &sealed),
            Err(CryptoError::NotARecipient)
        ));
        assert!(!sealed.windows(7).any(|w| w == b"Aigerim"));
    }

    #[test]
    fn a_seal_moved_to_another_incident_or_altered_is_refused() {
        let a = DeviceKey::generate();
        let id = IncidentId::random();
        let sealed = seal(&[a.public()], &id, &personal()).unwrap();
        assert!(matches!(
            open(&a, &IncidentId::random(), &sealed),
            Err(CryptoError::Tampered)
        ));
        let mut altered = sealed.clone();
        let last = altered.len() - 5;
        altered[last] ^= 1;
        assert!(matches!(
            open(&a, &id, &altered),
            Err(CryptoError::Tampered)
        ));
    }

    #[test]
    fn garbage_in_place_of_a_seal_is_refused_even_by_a_non_recipient() {
        let device = DeviceKey::generate();
        let mut incident = vigil_model::Incident::example();
        for garbage in [vec![], vec![0; 3], vec![0xff; 200]] {
            assert!(open(&device, &incident.id, &garbage).is_err());
            let (doc, _) = IncidentDocument::create(
                b"device-a",
                &incident,
                &PersonalPart::Sealed(garbage),
                1,
                "created",
            )
            .unwrap();
            assert!(matches!(
                Readable::read(&doc, &device),
                Err(ReadError::Tampered)
            ));
        }
        // A seal for others is carried, unread.
        let other = DeviceKey::generate();
        incident.id = IncidentId::random();
        let sealed = seal(&[other.public()], &incident.id, &incident.personal).unwrap();
        let (doc, _) = IncidentDocument::create(
            b"device-a",
            &incident,
            &PersonalPart::Sealed(sealed),
            1,
            "created",
        )
        .unwrap();
        let read = Readable::read(&doc, &device).unwrap();
        assert_eq!(read.access, PersonalAccess::Sealed);
        assert!(read.summary().sealed && read.summary().named.is_empty());
        assert_eq!(
            Readable::read(&doc, &other).unwrap().incident.personal,
            incident.personal
        );
    }

    #[test]
    fn padding_hides_the_length_of_short_names() {
        let a = DeviceKey::generate();
        let id = IncidentId::random();
        let sealed_len = |name: &str| {
            let personal = Personal {
                persons: vec![Person::new(name, None)],
                ..Personal::default()
            };
            seal(&[a.public()], &id, &personal).unwrap().len()
        };
        assert_eq!(sealed_len("Li"), sealed_len("Li Wei"));
    }

    #[test]
    fn reshare_is_needed_when_the_coordinators_changed() {
        let (a, b) = (DeviceKey::generate(), DeviceKey::generate());
        let read = |access, sealed_to, in_the_open| Readable {
            incident: Incident::example(),
            access,
            sealed_to,
            in_the_open,
            links: Vec::new(),
        };
        let opened = read(
            PersonalAccess::Readable,
            Some(vec![a.public().to_bytes()]),
            false,
        );
        assert!(!opened.needs_reshare(&[a.public()]));
        assert!(opened.needs_reshare(&[a.public(), b.public()]));
        assert!(opened.needs_reshare(&[b.public()]));
        assert!(!read(PersonalAccess::Sealed, None, false).needs_reshare(&[b.public()]));
        assert!(read(PersonalAccess::Readable, None, true).needs_reshare(&[b.public()]));
        assert!(!read(PersonalAccess::Readable, None, false).needs_reshare(&[b.public()]));
    }
}
