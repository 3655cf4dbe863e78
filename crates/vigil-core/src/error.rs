//! The one error type of the core. Messages name the problem and what to do; they
//! never carry names, free text or key material.

use vigil_crypto::CryptoError;
use vigil_exchange::LineError;
use vigil_model::{DocumentError, IncidentId, TaxonomyError, ValidationErrors};
use vigil_store::StoreError;
use vigil_sync::bundle::BundleError;

/// What can go wrong with a vault.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The passphrase does not unlock the vault.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// A passphrase that cannot be used as asked.
    #[error("{0}")]
    Passphrase(String),
    /// The path is not a Vigil vault.
    #[error("not a Vigil vault: {0}")]
    NotAVault(String),
    /// `create` found a vault, or other files, already there.
    #[error("a vault or other files already exist at this path; choose an empty or new folder")]
    AlreadyExists,
    /// An incident does not fit the taxonomy.
    #[error("invalid incident: {0}")]
    Invalid(#[from] ValidationErrors),
    /// No incident with this id.
    #[error("no incident with id {0}")]
    NotFound(IncidentId),
    /// No incident id starts with this.
    #[error("no incident id starts with `{0}`")]
    UnknownId(String),
    /// Several incident ids start with this.
    #[error("several incident ids start with `{0}`; give more of the id")]
    AmbiguousId(String),
    /// An import found bad lines and, importing all or nothing, imported nothing.
    #[error("{} line(s) cannot be imported; nothing was imported", .0.len())]
    ImportRejected(Vec<LineError>),
    /// A taxonomy file that cannot be used.
    #[error(transparent)]
    Taxonomy(#[from] TaxonomyError),
    /// A damaged or incompatible incident document.
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// The database.
    #[error(transparent)]
    Storage(#[from] StoreError),
    /// Keys.
    #[error("key file: {0}")]
    Key(CryptoError),
    /// The vault belongs to no team yet.
    #[error(
        "this vault is in no team; `vigil team create` founds one, `vigil team join` joins one"
    )]
    NoTeam,
    /// The vault already belongs to a team.
    #[error("this vault is already in a team")]
    AlreadyInTeam,
    /// Only coordinators may do this.
    #[error("only a coordinator of the team can do this")]
    NotCoordinator,
    /// A team operation that cannot be done, with why.
    #[error("{0}")]
    Team(String),
    /// A recovery code that cannot be used.
    #[error("recovery code refused: {0}")]
    BadRecoveryCode(&'static str),
    /// An invitation that cannot be used.
    #[error("invitation refused: {0}")]
    BadInvite(String),
    /// A bundle that cannot be imported (nothing of it was stored).
    #[error("bundle refused: {0}")]
    BadBundle(BundleError),
    /// Nobody answered at an address.
    #[error("{0}")]
    Unreachable(String),
    /// The network, or the peer, failed.
    #[error("network: {0}")]
    Network(#[from] vigil_net::NetError),
    /// The peer broke the sync protocol (the session ends; what arrived is kept).
    #[error("sync: {0}")]
    Sync(#[from] vigil_sync::SyncError),
    /// Personal data sealed to the coordinators, which this device cannot open.
    #[error(
        "the personal data of this incident is sealed to the team's coordinators; this device can neither read nor change it"
    )]
    Sealed,
    /// Sealed personal data that was altered.
    #[error("the sealed personal data of this incident was altered; it is refused")]
    Tampered,
    /// The vault was wiped (panic button); opening its folder again gives an empty one.
    #[error("this vault was wiped; open its folder again for an empty one")]
    Wiped,
    /// A vault serves once at a time.
    #[error("this vault is already serving; stop it first")]
    AlreadyServing,
    /// Asked of a serving vault, of one that does not serve.
    #[error("this vault is not serving; start serving first")]
    NotServing,
    /// Reading or writing a file.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<vigil_team::sealing::ReadError> for VaultError {
    fn from(e: vigil_team::sealing::ReadError) -> Self {
        match e {
            vigil_team::sealing::ReadError::Document(e) => VaultError::Document(e),
            vigil_team::sealing::ReadError::Tampered => VaultError::Tampered,
        }
    }
}

impl From<BundleError> for VaultError {
    fn from(e: BundleError) -> Self {
        match e {
            BundleError::Storage(e) => VaultError::Storage(e),
            BundleError::Seal(e) => e.into(),
            refused => VaultError::BadBundle(refused),
        }
    }
}

impl From<CryptoError> for VaultError {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::WrongPassphrase => VaultError::WrongPassphrase,
            CryptoError::DuressIsPassphrase => VaultError::Passphrase(e.to_string()),
            CryptoError::NotAnEnvelope => {
                VaultError::NotAVault("its key file is not a Vigil key file".into())
            }
            other => VaultError::Key(other),
        }
    }
}
