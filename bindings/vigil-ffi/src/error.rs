//! The one error a shell sees: a few kinds it can act on, each with a message for
//! the user. Messages come from the core's errors, which never carry names, free
//! text or key material.

use vigil_core::{ErrorKind, VaultError};

/// What went wrong, by what the shell can do about it.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum VigilError {
    /// The passphrase does not unlock the vault: ask again.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// Input that cannot be used; `field` names the form field (or file line) at
    /// fault, empty when the problem is not one field's.
    #[error("{reason}")]
    InvalidInput {
        /// The field, e.g. `held_hours` or `line 3: city`.
        field: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// No such incident, vault or member.
    #[error("{reason}")]
    NotFound {
        /// What was looked for.
        reason: String,
    },
    /// The team does not allow it: not a coordinator, no team yet, an invitation or
    /// a bundle refused, a peer that does not admit this device (revoked, or of
    /// another team) or is not the device expected.
    #[error("{reason}")]
    NotAllowed {
        /// Why.
        reason: String,
    },
    /// The network or the peer failed; trying again later may work.
    #[error("{reason}")]
    Network {
        /// What failed.
        reason: String,
    },
    /// The vault's files or the device's storage failed.
    #[error("{reason}")]
    Storage {
        /// What failed.
        reason: String,
    },
    /// A bug in Vigil (a panic inside a background task, a foreign callback that
    /// failed). The vault is unchanged by the failed call.
    #[error("{reason}")]
    Internal {
        /// What failed.
        reason: String,
    },
}

impl VigilError {
    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        VigilError::InvalidInput {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn internal(reason: impl Into<String>) -> Self {
        VigilError::Internal {
            reason: reason.into(),
        }
    }
}

/// The core's error by its kind, with its message (and for input, the field):
/// the only place a shell's error is made from the core's.
impl From<VaultError> for VigilError {
    fn from(e: VaultError) -> Self {
        let reason = e.explained();
        match e.kind() {
            ErrorKind::WrongPassphrase => VigilError::WrongPassphrase,
            ErrorKind::InvalidInput => VigilError::InvalidInput {
                field: e.field().unwrap_or_default(),
                reason,
            },
            ErrorKind::NotFound => VigilError::NotFound { reason },
            ErrorKind::NotAllowed => VigilError::NotAllowed { reason },
            ErrorKind::Network => VigilError::Network { reason },
            ErrorKind::Storage => VigilError::Storage { reason },
        }
    }
}

/// A listener that throws: the change it was told of stands, the error is logged.
impl From<uniffi::UnexpectedUniFFICallbackError> for VigilError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        VigilError::internal("a listener of the shell failed")
    }
}
