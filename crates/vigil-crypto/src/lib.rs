//! Vigil's cryptography: the vault key and its passphrase envelope, and device keys.
//!
//! Only audited primitives: Argon2id (`argon2`) stretches the passphrase,
//! XChaCha20-Poly1305 (`chacha20poly1305`) wraps the vault key, ed25519
//! (`ed25519-dalek`) identifies devices, `crypto_box` seals files to devices. Secret
//! material is zeroized on drop and never printed: its `Debug` says only what it is.
//!
//! Must not: know what a vault, a team or an incident is, or write our own
//! primitive.

mod device;
mod envelope;
pub mod sealed;

pub use device::{DeviceKey, DevicePublicKey};
pub use envelope::{KdfParams, KeyEnvelope, Stretched, Unlocked, VaultKey};

/// What can go wrong with keys.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The passphrase does not open the vault.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// A duress passphrase equal to the passphrase.
    #[error("the duress passphrase must differ from the passphrase")]
    DuressIsPassphrase,
    /// The key file is not one Vigil wrote, or was damaged.
    #[error("the key file is not a Vigil key file, or it is damaged")]
    NotAnEnvelope,
    /// The key file was written by a newer Vigil.
    #[error("the key file has format version {0}, which this Vigil does not know; update Vigil")]
    UnknownVersion(u16),
    /// Key-stretching parameters out of range.
    #[error("key stretching parameters are out of range: {0}")]
    BadParams(String),
    /// Stored key bytes of the wrong form.
    #[error("stored key material is malformed")]
    MalformedKey,
    /// Data that is not sealed data, or is cut short.
    #[error("the data is not sealed for devices, or it is cut short")]
    NotSealed,
    /// This device is not among the recipients.
    #[error("this device is not among the recipients")]
    NotARecipient,
    /// Sealed data was altered.
    #[error("the sealed data was altered or damaged")]
    Tampered,
    /// Sealing failed.
    #[error("sealing failed")]
    Sealing,
    /// A signature that does not verify.
    #[error("the signature does not verify")]
    BadSignature,
}
