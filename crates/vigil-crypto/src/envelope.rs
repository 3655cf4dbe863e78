//! The vault key and the envelope that keeps it under the passphrase.
//!
//! A vault is encrypted with a random 256-bit vault key. The passphrase does not
//! encrypt the data; it is stretched with Argon2id into a key-encryption key that
//! wraps the vault key. So the parameters can be raised, or the passphrase changed,
//! by rewriting a 110-byte file, and destroying that file destroys access at once.
//!
//! File layout (all integers little-endian):
//!
//! ```text
//! magic "VIGILKEY" | version u16 | memory KiB u32 | iterations u32 | lanes u32
//! | salt [16] | nonce [24] | XChaCha20-Poly1305(vault key) [32 + 16]
//! ```
//!
//! Everything before the ciphertext is authenticated as associated data.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use rand::rngs::OsRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::CryptoError;

const MAGIC: &[u8; 8] = b"VIGILKEY";
const VERSION: u16 = 1;
const HEADER_LEN: usize = 8 + 2 + 4 + 4 + 4 + 16 + 24;
const ENVELOPE_LEN: usize = HEADER_LEN + 32 + 16;

/// Argon2id cost parameters, stored in the envelope so they can be raised later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Parallel lanes.
    pub lanes: u32,
}

impl KdfParams {
    /// The default: 64 MiB, 3 passes, 1 lane (OWASP's Argon2id floor is 19 MiB, 2 passes).
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        lanes: 1,
    };

    fn argon2(&self) -> Result<Argon2<'static>, CryptoError> {
        let params = Params::new(self.memory_kib, self.iterations, self.lanes, Some(32))
            .map_err(|e| CryptoError::BadParams(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// The random key that encrypts a vault. Zeroized on drop; never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct VaultKey([u8; 32]);

impl VaultKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        Self(key)
    }

    /// The key bytes, for handing to the database cipher.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey(..)")
    }
}

/// A vault key wrapped under a passphrase: the content of a vault's key file.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyEnvelope {
    bytes: [u8; ENVELOPE_LEN],
}

impl std::fmt::Debug for KeyEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEnvelope")
            .field("params", &self.params())
            .finish_non_exhaustive()
    }
}

impl KeyEnvelope {
    /// Wraps `key` under `passphrase`, stretched with `params` and a fresh salt.
    pub fn seal(key: &VaultKey, passphrase: &[u8], params: KdfParams) -> Result<Self, CryptoError> {
        let mut bytes = [0u8; ENVELOPE_LEN];
        bytes[..8].copy_from_slice(MAGIC);
        bytes[8..10].copy_from_slice(&VERSION.to_le_bytes());
        bytes[10..14].copy_from_slice(&params.memory_kib.to_le_bytes());
        bytes[14..18].copy_from_slice(&params.iterations.to_le_bytes());
        bytes[18..22].copy_from_slice(&params.lanes.to_le_bytes());
        OsRng.fill_bytes(&mut bytes[22..HEADER_LEN]);
        let kek = stretch(passphrase, &bytes[22..38], params)?;
        let cipher = XChaCha20Poly1305::new(kek.as_ref().into());
        let nonce = XNonce::from_slice(&bytes[38..HEADER_LEN]).to_owned();
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: key.expose(),
                    aad: &bytes[..HEADER_LEN],
                },
            )
            .map_err(|_| CryptoError::MalformedKey)?;
        bytes[HEADER_LEN..].copy_from_slice(&sealed);
        Ok(Self { bytes })
    }

    /// Unwraps the vault key with `passphrase`.
    pub fn open(&self, passphrase: &[u8]) -> Result<VaultKey, CryptoError> {
        let params = self.params();
        let kek = stretch(passphrase, &self.bytes[22..38], params)?;
        let cipher = XChaCha20Poly1305::new(kek.as_ref().into());
        let nonce = XNonce::from_slice(&self.bytes[38..HEADER_LEN]);
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    nonce,
                    Payload {
                        msg: &self.bytes[HEADER_LEN..],
                        aad: &self.bytes[..HEADER_LEN],
                    },
                )
                .map_err(|_| CryptoError::WrongPassphrase)?,
        );
        let key: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::MalformedKey)?;
        Ok(VaultKey(key))
    }

    /// The stretching parameters this envelope was sealed with.
    pub fn params(&self) -> KdfParams {
        let u32_at = |i: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&self.bytes[i..i + 4]);
            u32::from_le_bytes(b)
        };
        KdfParams {
            memory_kib: u32_at(10),
            iterations: u32_at(14),
            lanes: u32_at(18),
        }
    }

    /// The envelope as the bytes of a key file.
    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Reads a key file's bytes.
    pub fn from_bytes(data: &[u8]) -> Result<Self, CryptoError> {
        if data.len() < 10 || &data[..8] != MAGIC {
            return Err(CryptoError::NotAnEnvelope);
        }
        let version = u16::from_le_bytes([data[8], data[9]]);
        if version != VERSION {
            return Err(CryptoError::UnknownVersion(version));
        }
        let bytes: [u8; ENVELOPE_LEN] = data.try_into().map_err(|_| CryptoError::NotAnEnvelope)?;
        let envelope = Self { bytes };
        // Refuse absurd costs before spending them: a damaged file must not make
        // unlocking take gigabytes or hours.
        let p = envelope.params();
        if !(8..=4 * 1024 * 1024).contains(&p.memory_kib)
            || !(1..=64).contains(&p.iterations)
            || !(1..=16).contains(&p.lanes)
        {
            return Err(CryptoError::BadParams(format!(
                "{} KiB, {} iterations, {} lanes",
                p.memory_kib, p.iterations, p.lanes
            )));
        }
        Ok(envelope)
    }
}

fn stretch(
    passphrase: &[u8],
    salt: &[u8],
    params: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let mut out = Zeroizing::new([0u8; 32]);
    params
        .argon2()?
        .hash_password_into(passphrase, salt, out.as_mut())
        .map_err(|e| CryptoError::BadParams(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        lanes: 1,
    };

    #[test]
    fn the_right_passphrase_opens_the_envelope() {
        let key = VaultKey::generate();
        let envelope = KeyEnvelope::seal(&key, b"correct horse", FAST).unwrap();
        let again = KeyEnvelope::from_bytes(envelope.to_bytes()).unwrap();
        assert_eq!(again.open(b"correct horse").unwrap().expose(), key.expose());
        assert_eq!(again.params(), FAST);
    }

    #[test]
    fn a_wrong_passphrase_is_a_clear_error() {
        let envelope = KeyEnvelope::seal(&VaultKey::generate(), b"right", FAST).unwrap();
        assert!(matches!(
            envelope.open(b"wrong"),
            Err(CryptoError::WrongPassphrase)
        ));
    }

    #[test]
    fn tampered_or_foreign_files_are_refused() {
        let envelope = KeyEnvelope::seal(&VaultKey::generate(), b"pw", FAST).unwrap();
        let mut bytes = envelope.to_bytes().to_vec();
        bytes[30] ^= 1; // the salt
        let tampered = KeyEnvelope::from_bytes(&bytes).unwrap();
        assert!(tampered.open(b"pw").is_err());
        assert!(matches!(
            KeyEnvelope::from_bytes(b"SQLite format 3\0"),
            Err(CryptoError::NotAnEnvelope)
        ));
        bytes[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            KeyEnvelope::from_bytes(&bytes),
            Err(CryptoError::BadParams(_))
        ));
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", VaultKey::generate()), "VaultKey(..)");
    }
}
