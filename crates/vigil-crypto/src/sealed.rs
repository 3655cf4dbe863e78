//! Sealing data for a set of devices: a file only they can open, such as a
//! sneakernet bundle found on a USB stick at a checkpoint.
//!
//! A random file key encrypts the data (XChaCha20-Poly1305); the file key is sealed
//! to each recipient with an anonymous `crypto_box` sealed box (X25519, XSalsa20-
//! Poly1305). A device's X25519 key is its ed25519 device key in Montgomery form, so
//! no new key has to be distributed. Nothing in the output names a recipient: a
//! device finds its copy of the file key by trying each.
//!
//! Layout: recipient count (u16, big-endian), one 80-byte sealed file key per
//! recipient, the 24-byte nonce, then the ciphertext with its 16-byte tag.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

use crate::{CryptoError, DeviceKey, DevicePublicKey};

/// Most recipients one sealed file can have.
pub const MAX_RECIPIENTS: usize = 4096;
const SEALED_KEY: usize = 32 + 32 + 16;
const NONCE: usize = 24;

/// Encrypts `plaintext` so that each of `recipients`, and nobody else, can open it.
/// `aad` is authenticated, not encrypted.
pub fn seal_for(
    recipients: &[DevicePublicKey],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
        return Err(CryptoError::BadParams(format!(
            "a sealed file has between 1 and {MAX_RECIPIENTS} recipients"
        )));
    }
    let mut file_key = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(file_key.as_mut());
    let mut nonce = [0u8; NONCE];
    OsRng.fill_bytes(&mut nonce);
    let mut out =
        Vec::with_capacity(2 + recipients.len() * SEALED_KEY + NONCE + plaintext.len() + 16);
    out.extend_from_slice(&(recipients.len() as u16).to_be_bytes());
    for recipient in recipients {
        let public = crypto_box::PublicKey::from(recipient.to_montgomery());
        let sealed = public
            .seal(&mut OsRng, file_key.as_ref())
            .map_err(|_| CryptoError::Sealing)?;
        out.extend_from_slice(&sealed);
    }
    out.extend_from_slice(&nonce);
    let cipher = XChaCha20Poly1305::new(file_key.as_ref().into());
    let body = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| CryptoError::Sealing)?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Opens data sealed by [`seal_for`] with this device's key. Fails if the device is
/// not a recipient, or if anything (data, `aad`) was altered.
pub fn open_sealed(
    device: &DeviceKey,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let count_bytes: [u8; 2] = sealed
        .get(..2)
        .and_then(|b| b.try_into().ok())
        .ok_or(CryptoError::NotSealed)?;
    let count = usize::from(u16::from_be_bytes(count_bytes));
    let keys_end = 2 + count * SEALED_KEY;
    if count == 0 || count > MAX_RECIPIENTS || sealed.len() < keys_end + NONCE + 16 {
        return Err(CryptoError::NotSealed);
    }
    let secret = crypto_box::SecretKey::from(*device.to_scalar_bytes());
    let file_key = sealed[2..keys_end]
        .chunks_exact(SEALED_KEY)
        .find_map(|entry| secret.unseal(entry).ok())
        .map(Zeroizing::new)
        .ok_or(CryptoError::NotARecipient)?;
    let key: [u8; 32] = file_key
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::NotSealed)?;
    let key = Zeroizing::new(key);
    let nonce = &sealed[keys_end..keys_end + NONCE];
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: &sealed[keys_end + NONCE..],
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Tampered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_recipient_and_nobody_else_opens_it() {
        let (a, b, c) = (
            DeviceKey::generate(),
            DeviceKey::generate(),
            DeviceKey::generate(),
        );
        let sealed = seal_for(&[a.public(), b.public()], b"aad", b"the names").unwrap();
        assert_eq!(
            open_sealed(&a, b"aad", &sealed).unwrap().as_slice(),
            b"the names"
        );
        assert_eq!(
            open_sealed(&b, b"aad", &sealed).unwrap().as_slice(),
            b"the names"
        );
        assert!(matches!(
            open_sealed(&c, b"aad", &sealed),
            Err(CryptoError::NotARecipient)
        ));
        assert!(!sealed.windows(9).any(|w| w == b"the names"));
    }

    #[test]
    fn any_alteration_is_detected() {
        let a = DeviceKey::generate();
        let sealed = seal_for(&[a.public()], b"aad", b"the names").unwrap();
        assert!(matches!(
            open_sealed(&a, b"other", &sealed),
            Err(CryptoError::Tampered)
        ));
        let altered = |i: usize| {
            let mut bad = sealed.clone();
            bad[i] ^= 0x20;
            open_sealed(&a, b"aad", &bad)
        };
        // The body (nonce, ciphertext, tag): tampering, told as such.
        for i in [2 + SEALED_KEY, sealed.len() - 30, sealed.len() - 1] {
            assert!(matches!(altered(i), Err(CryptoError::Tampered)), "byte {i}");
        }
        // The recipient's copy of the file key: indistinguishable from a copy for
        // someone else, by design (nothing names a recipient).
        assert!(matches!(altered(40), Err(CryptoError::NotARecipient)));
        // The count: the layout no longer holds.
        for i in [0, 1] {
            assert!(altered(i).is_err(), "byte {i}");
        }
        for len in [0, 1, 2, 50, sealed.len() - 1] {
            assert!(open_sealed(&a, b"aad", &sealed[..len]).is_err());
        }
        assert!(seal_for(&[], b"", b"x").is_err());
    }
}
