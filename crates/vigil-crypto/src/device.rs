//! Device keys: each vault has an ed25519 key that identifies its device. Its public
//! half is the device's Automerge actor id, so every change names its device.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand::rngs::OsRng;
use zeroize::Zeroizing;

use crate::CryptoError;

/// A device's secret signing key. Zeroized on drop; prints as `DeviceKey(..)`.
#[derive(Clone)]
pub struct DeviceKey(SigningKey);

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(..)")
    }
}

impl DeviceKey {
    /// A fresh random device key.
    pub fn generate() -> Self {
        Self(SigningKey::generate(&mut OsRng))
    }

    /// Restores a key from its 32 secret bytes.
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let secret: Zeroizing<[u8; 32]> =
            Zeroizing::new(bytes.try_into().map_err(|_| CryptoError::MalformedKey)?);
        Ok(Self(SigningKey::from_bytes(&secret)))
    }

    /// The 32 secret bytes, for storing in the encrypted vault only.
    pub fn to_secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public half.
    pub fn public(&self) -> DevicePublicKey {
        DevicePublicKey(self.0.verifying_key())
    }

    /// The X25519 secret that pairs with [`DevicePublicKey::to_montgomery`], for
    /// opening data sealed to this device.
    pub(crate) fn to_scalar_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_scalar_bytes())
    }

    /// Signs `message`. Callers prefix messages with a context string, so that a
    /// signature made for one purpose never verifies for another.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

/// A device's public key: its identity among peers.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DevicePublicKey(VerifyingKey);

impl DevicePublicKey {
    /// The 32 public bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// A public key from its bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::MalformedKey)?;
        VerifyingKey::from_bytes(&array)
            .map(Self)
            .map_err(|_| CryptoError::MalformedKey)
    }

    /// The key in Montgomery form: the X25519 public key data is sealed to.
    pub fn to_montgomery(&self) -> [u8; 32] {
        self.0.to_montgomery().to_bytes()
    }

    /// Checks a signature made by [`DeviceKey::sign`] (strict ed25519: no malleable
    /// or small-order forms).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        let signature = Signature::from_slice(signature).map_err(|_| CryptoError::BadSignature)?;
        self.0
            .verify_strict(message, &signature)
            .map_err(|_| CryptoError::BadSignature)
    }

    /// A short fingerprint two people can compare by eye: the first 10 bytes of the
    /// key in five groups of four hex digits.
    pub fn fingerprint(&self) -> String {
        let bytes = self.to_bytes();
        bytes[..10]
            .chunks(2)
            .map(hex::encode)
            .collect::<Vec<_>>()
            .join("-")
    }
}

impl std::fmt::Debug for DevicePublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DevicePublicKey({})", self.fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_key_round_trips_and_keeps_its_identity() {
        let key = DeviceKey::generate();
        let again = DeviceKey::from_secret_bytes(key.to_secret_bytes().as_ref()).unwrap();
        assert_eq!(key.public(), again.public());
        assert_eq!(key.public().fingerprint().len(), 24);
        assert_eq!(format!("{key:?}"), "DeviceKey(..)");
        assert!(DeviceKey::from_secret_bytes(&[1, 2, 3]).is_err());
    }

    #[test]
    fn a_signature_verifies_only_for_its_message_and_key() {
        let key = DeviceKey::generate();
        let signature = key.sign(b"vigil/test\0hello");
        key.public()
            .verify(b"vigil/test\0hello", &signature)
            .unwrap();
        assert!(
            key.public()
                .verify(b"vigil/test\0hellO", &signature)
                .is_err()
        );
        assert!(
            DeviceKey::generate()
                .public()
                .verify(b"vigil/test\0hello", &signature)
                .is_err()
        );
        assert!(
            key.public()
                .verify(b"vigil/test\0hello", &signature[..63])
                .is_err()
        );
    }
}
