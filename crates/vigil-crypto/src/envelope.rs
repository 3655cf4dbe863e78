//! The vault key and the envelope that keeps it under the passphrase.
//!
//! A vault is encrypted with a random 256-bit vault key. The passphrase does not
//! encrypt the data; it is stretched with Argon2id into a key-encryption key that
//! wraps the vault key. So the parameters can be raised, or the passphrase changed,
//! by rewriting a small file, and destroying that file destroys access at once.
//!
//! File layout (all integers little-endian):
//!
//! ```text
//! magic "VIGILKEY" | version u16 | memory KiB u32 | iterations u32 | lanes u32
//! | salt [16] | nonce [24] | XChaCha20-Poly1305(vault key) [32 + 16]
//! | duress tag [32]                                         (version 2 only)
//! ```
//!
//! Everything before the ciphertext is authenticated as associated data.
//!
//! **Duress.** The duress tag is a hash of the key that a duress passphrase stretches
//! to (same salt, same parameters), or random bytes when none is set, so the file
//! does not tell whether one is. Unlocking stretches the entered passphrase once and
//! checks both: the vault key opens, or the tag matches (duress), or neither.
//!
//! **Blank.** A wiped vault's key file is a blank envelope: its wrapped key is all
//! zeros (no ciphertext is), and the next unlock makes a new, empty vault.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use rand::rngs::OsRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::CryptoError;

const MAGIC: &[u8; 8] = b"VIGILKEY";
/// Version 1 had no duress tag; it is still read.
const VERSION: u16 = 2;
const HEADER_LEN: usize = 8 + 2 + 4 + 4 + 4 + 16 + 24;
const WRAPPED_END: usize = HEADER_LEN + 32 + 16;
const V1_LEN: usize = WRAPPED_END;
const ENVELOPE_LEN: usize = WRAPPED_END + 32;
const SALT: std::ops::Range<usize> = 22..38;
const DURESS_DOMAIN: &[u8] = b"vigil duress passphrase v2";

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

    /// Stretches a dummy passphrase once with these parameters, so that the caller
    /// can time what an unlock costs on this device (this crate reads no clock).
    pub fn probe(&self) -> Result<(), CryptoError> {
        stretch(b"probe", &[0u8; 16], *self).map(drop)
    }

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
    /// The file's bytes: [`ENVELOPE_LEN`] long, or [`V1_LEN`] for version 1.
    bytes: Vec<u8>,
}

impl std::fmt::Debug for KeyEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEnvelope")
            .field("params", &self.params())
            .finish_non_exhaustive()
    }
}

/// What a passphrase unlocks.
#[derive(Debug)]
pub enum Unlocked {
    /// The vault key: the passphrase is the vault's.
    Key(VaultKey),
    /// The passphrase is the duress passphrase: the vault is to be destroyed. The
    /// stretched passphrase comes along, to lock the empty vault that replaces it
    /// without stretching again.
    Duress(Stretched),
}

/// A passphrase stretched for a key file's salt and parameters. Zeroized on drop.
pub struct Stretched {
    kek: Zeroizing<[u8; 32]>,
    params: KdfParams,
    salt: [u8; 16],
}

impl std::fmt::Debug for Stretched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stretched(..)")
    }
}

impl Stretched {
    /// Wraps a new vault key under the same passphrase (same salt, new nonce).
    pub fn seal(&self, key: &VaultKey) -> Result<KeyEnvelope, CryptoError> {
        let mut header = fresh_header(self.params);
        header[SALT].copy_from_slice(&self.salt);
        wrap(header, &self.kek, key, None)
    }
}

/// A version-2 header with `params`, a fresh salt and a fresh nonce.
fn fresh_header(params: KdfParams) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(MAGIC);
    header[8..10].copy_from_slice(&VERSION.to_le_bytes());
    header[10..14].copy_from_slice(&params.memory_kib.to_le_bytes());
    header[14..18].copy_from_slice(&params.iterations.to_le_bytes());
    header[18..22].copy_from_slice(&params.lanes.to_le_bytes());
    OsRng.fill_bytes(&mut header[SALT.start..]);
    header
}

/// An envelope of `header` and `key` wrapped under `kek`, with the duress tag given
/// or random bytes in its place.
fn wrap(
    header: [u8; HEADER_LEN],
    kek: &[u8; 32],
    key: &VaultKey,
    duress_tag: Option<[u8; 32]>,
) -> Result<KeyEnvelope, CryptoError> {
    let wrapped = XChaCha20Poly1305::new(kek.into())
        .encrypt(
            XNonce::from_slice(&header[38..]),
            Payload {
                msg: key.expose(),
                aad: &header,
            },
        )
        .map_err(|_| CryptoError::MalformedKey)?;
    let mut bytes = Vec::with_capacity(ENVELOPE_LEN);
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&wrapped);
    match duress_tag {
        Some(tag) => bytes.extend_from_slice(&tag),
        None => {
            let mut random = [0u8; 32];
            OsRng.fill_bytes(&mut random);
            bytes.extend_from_slice(&random);
        }
    }
    Ok(KeyEnvelope { bytes })
}

fn duress_tag(kek: &[u8; 32]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::new()
        .chain_update(DURESS_DOMAIN)
        .chain_update(kek)
        .finalize()
        .into()
}

impl KeyEnvelope {
    /// Wraps `key` under `passphrase`, stretched with `params` and a fresh salt.
    pub fn seal(key: &VaultKey, passphrase: &[u8], params: KdfParams) -> Result<Self, CryptoError> {
        Self::seal_with_duress(key, passphrase, None, params)
    }

    /// Wraps `key` under `passphrase`, and sets `duress` (if any) as the duress
    /// passphrase: entered at unlock, it gives [`Unlocked::Duress`].
    pub fn seal_with_duress(
        key: &VaultKey,
        passphrase: &[u8],
        duress: Option<&[u8]>,
        params: KdfParams,
    ) -> Result<Self, CryptoError> {
        let header = fresh_header(params);
        let kek = stretch(passphrase, &header[SALT], params)?;
        let duress_tag = match duress {
            Some(duress) => {
                let duress_kek = stretch(duress, &header[SALT], params)?;
                if duress_kek == kek {
                    return Err(CryptoError::DuressIsPassphrase);
                }
                Some(duress_tag(&duress_kek))
            }
            None => None,
        };
        wrap(header, &kek, key, duress_tag)
    }

    /// The key file of a wiped vault, keeping the stretching parameters: the next
    /// unlock, with any passphrase, makes a new empty vault.
    pub fn blank(params: KdfParams) -> Self {
        let mut bytes = fresh_header(params).to_vec();
        bytes.resize(ENVELOPE_LEN, 0);
        OsRng.fill_bytes(&mut bytes[WRAPPED_END..]);
        Self { bytes }
    }

    /// Whether this is the key file of a wiped vault.
    pub fn is_blank(&self) -> bool {
        self.bytes[HEADER_LEN..WRAPPED_END].iter().all(|b| *b == 0)
    }

    /// Stretches `passphrase` once and says what it unlocks: the vault key, the
    /// duress action, or nothing ([`CryptoError::WrongPassphrase`]).
    pub fn unlock(&self, passphrase: &[u8]) -> Result<Unlocked, CryptoError> {
        let kek = stretch(passphrase, &self.bytes[SALT], self.params())?;
        let cipher = XChaCha20Poly1305::new(kek.as_ref().into());
        let nonce = XNonce::from_slice(&self.bytes[38..HEADER_LEN]);
        let opened = cipher.decrypt(
            nonce,
            Payload {
                msg: &self.bytes[HEADER_LEN..WRAPPED_END],
                aad: &self.bytes[..HEADER_LEN],
            },
        );
        match opened {
            Ok(plain) => {
                let plain = Zeroizing::new(plain);
                let key: [u8; 32] = plain
                    .as_slice()
                    .try_into()
                    .map_err(|_| CryptoError::MalformedKey)?;
                Ok(Unlocked::Key(VaultKey(key)))
            }
            Err(_) => {
                let tag = self.bytes.get(WRAPPED_END..).unwrap_or_default();
                if !self.is_blank() && tag == duress_tag(&kek) {
                    let mut salt = [0u8; 16];
                    salt.copy_from_slice(&self.bytes[SALT]);
                    Ok(Unlocked::Duress(Stretched {
                        kek,
                        params: self.params(),
                        salt,
                    }))
                } else {
                    Err(CryptoError::WrongPassphrase)
                }
            }
        }
    }

    /// The vault key, for tools that only read a vault (benchmarks, tests): the duress
    /// passphrase is refused like a wrong one here; only [`KeyEnvelope::unlock`] acts on it.
    pub fn open(&self, passphrase: &[u8]) -> Result<VaultKey, CryptoError> {
        match self.unlock(passphrase)? {
            Unlocked::Key(key) => Ok(key),
            Unlocked::Duress(_) => Err(CryptoError::WrongPassphrase),
        }
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
        let expected_len = match version {
            1 => V1_LEN,
            VERSION => ENVELOPE_LEN,
            other => return Err(CryptoError::UnknownVersion(other)),
        };
        if data.len() != expected_len {
            return Err(CryptoError::NotAnEnvelope);
        }
        let envelope = Self {
            bytes: data.to_vec(),
        };
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
        let Unlocked::Key(opened) = again.unlock(b"correct horse").unwrap() else {
            panic!("the passphrase should open the key");
        };
        assert_eq!(opened.expose(), key.expose());
        assert_eq!(again.params(), FAST);
    }

    #[test]
    fn a_wrong_passphrase_is_a_clear_error() {
        let envelope = KeyEnvelope::seal(&VaultKey::generate(), b"right", FAST).unwrap();
        assert!(matches!(
            envelope.unlock(b"wrong"),
            Err(CryptoError::WrongPassphrase)
        ));
    }

    #[test]
    fn tampered_or_foreign_files_are_refused() {
        let envelope = KeyEnvelope::seal(&VaultKey::generate(), b"pw", FAST).unwrap();
        let mut bytes = envelope.to_bytes().to_vec();
        bytes[30] ^= 1; // the salt
        let tampered = KeyEnvelope::from_bytes(&bytes).unwrap();
        assert!(tampered.unlock(b"pw").is_err());
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
    fn the_duress_passphrase_is_told_apart_from_the_passphrase_and_wrong_ones() {
        let key = VaultKey::generate();
        let envelope =
            KeyEnvelope::seal_with_duress(&key, b"right", Some(b"duress"), FAST).unwrap();
        let envelope = KeyEnvelope::from_bytes(envelope.to_bytes()).unwrap();
        assert!(matches!(envelope.unlock(b"right"), Ok(Unlocked::Key(_))));
        let Ok(Unlocked::Duress(stretched)) = envelope.unlock(b"duress") else {
            panic!("the duress passphrase should be recognised");
        };
        // The empty vault that replaces it opens with the duress passphrase.
        let fresh = VaultKey::generate();
        let replacement = stretched.seal(&fresh).unwrap();
        assert!(
            matches!(replacement.unlock(b"duress"), Ok(Unlocked::Key(k)) if k.expose() == fresh.expose())
        );
        assert!(replacement.unlock(b"right").is_err());
        assert!(matches!(
            envelope.unlock(b"other"),
            Err(CryptoError::WrongPassphrase)
        ));
        assert!(KeyEnvelope::seal_with_duress(&key, b"same", Some(b"same"), FAST).is_err());
        // Without a duress passphrase the file looks the same: a random tag.
        let plain = KeyEnvelope::seal(&key, b"right", FAST).unwrap();
        assert_eq!(plain.to_bytes().len(), envelope.to_bytes().len());
        assert!(matches!(
            plain.unlock(b"duress"),
            Err(CryptoError::WrongPassphrase)
        ));
    }

    #[test]
    fn a_blank_envelope_opens_nothing_and_says_so() {
        let blank = KeyEnvelope::from_bytes(KeyEnvelope::blank(FAST).to_bytes()).unwrap();
        assert!(blank.is_blank());
        assert_eq!(blank.params(), FAST);
        assert!(blank.unlock(b"anything").is_err());
        let sealed = KeyEnvelope::seal(&VaultKey::generate(), b"pw", FAST).unwrap();
        assert!(!sealed.is_blank());
    }

    #[test]
    fn version_1_files_still_open() {
        let key = VaultKey::generate();
        let v2 = KeyEnvelope::seal(&key, b"pw", FAST).unwrap();
        // A version-1 file, as Vigil wrote it before duress passphrases.
        let mut v1 = v2.to_bytes()[..V1_LEN].to_vec();
        v1[8..10].copy_from_slice(&1u16.to_le_bytes());
        let kek = stretch(b"pw", &v1[SALT], FAST).unwrap();
        let wrapped = XChaCha20Poly1305::new(kek.as_ref().into())
            .encrypt(
                XNonce::from_slice(&v1[38..HEADER_LEN]),
                Payload {
                    msg: key.expose(),
                    aad: &v1[..HEADER_LEN],
                },
            )
            .unwrap();
        v1[HEADER_LEN..].copy_from_slice(&wrapped);
        let envelope = KeyEnvelope::from_bytes(&v1).unwrap();
        assert!(
            matches!(envelope.unlock(b"pw"), Ok(Unlocked::Key(k)) if k.expose() == key.expose())
        );
        assert!(KeyEnvelope::from_bytes(&v1[..V1_LEN - 1]).is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", VaultKey::generate()), "VaultKey(..)");
    }
}
