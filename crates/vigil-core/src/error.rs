//! The one public error of the core, [`VaultError`], and its parts. Messages name
//! the problem and what to do; they never carry names, free text or key material:
//! every variant is typed (a lower crate's error, or one of the enums here), none
//! carries a string made up where it was raised. Shells act on [`VaultError::kind`]
//! and show the message; they never match the variants of a lower crate.

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
    /// A duress passphrase equal to the passphrase.
    #[error("the duress passphrase must differ from the passphrase")]
    DuressIsPassphrase,
    /// The path is not a Vigil vault.
    #[error("not a Vigil vault: {0}")]
    NotAVault(NotAVault),
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
    Team(#[from] TeamError),
    /// A recovery code that cannot be used.
    #[error("recovery code refused: {0}")]
    BadRecoveryCode(&'static str),
    /// An invitation that cannot be used.
    #[error("invitation refused: {0}")]
    BadInvite(#[from] InviteError),
    /// A bundle that cannot be imported (nothing of it was stored).
    #[error("bundle refused: {0}")]
    BadBundle(BundleError),
    /// Nobody answered at an address.
    #[error(
        "no Vigil device answered at {addr} within {seconds} s; check the address and that `vigil serve` runs there"
    )]
    Unreachable {
        /// Where nobody answered.
        addr: std::net::SocketAddr,
        /// How long it waited.
        seconds: u64,
    },
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
            CryptoError::DuressIsPassphrase => VaultError::DuressIsPassphrase,
            CryptoError::NotAnEnvelope => VaultError::NotAVault(NotAVault::NotAKeyFile),
            other => VaultError::Key(other),
        }
    }
}

/// Why a folder is not a vault that opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotAVault {
    /// Nothing at the path.
    #[error("nothing at this path; `vigil init` creates a vault")]
    Nothing,
    /// A file, not a folder.
    #[error("this is a file; a vault is a folder made by `vigil init`")]
    AFile,
    /// No key file in the folder.
    #[error("the folder has no key file (vault.key)")]
    NoKeyFile,
    /// A key file that is not one.
    #[error("its key file is not a Vigil key file")]
    NotAKeyFile,
    /// No database in the folder.
    #[error("the folder has no database (vault.db)")]
    NoDatabase,
    /// A database the key does not open.
    #[error("the database does not match its key file")]
    KeyMismatch,
    /// A database that is not a vault's.
    #[error("the database is not a Vigil vault")]
    NotAVaultDatabase,
    /// No device key in the database.
    #[error("the vault has no device key")]
    NoDeviceKey,
    /// A team id that is not one.
    #[error("its team id is damaged")]
    DamagedTeamId,
}

/// Why a team action cannot be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeamError {
    /// Nobody to seal a submitted incident's personal part to.
    #[error("the team has no active coordinator to seal personal data to")]
    NoCoordinatorToSealTo,
    /// A peer that proved no membership.
    #[error("the peer is not a member of this team")]
    PeerNotMember,
    /// A peer this device does not admit (by its fingerprint, an id).
    #[error(
        "device {fingerprint} is not a member of the team as this device knows it; if it joined recently, let it sync with this device, or sync with a coordinator first"
    )]
    PeerUnknownHere {
        /// The peer's device fingerprint.
        fingerprint: String,
    },
    /// The peer was revoked while a session with it ran.
    #[error("the peer was revoked during the session; nothing more is {0} it")]
    PeerRevokedDuringSession(Direction),
    /// A recovery that appoints nobody.
    #[error("name at least one device to appoint coordinator")]
    NobodyAppointed,
    /// A revoked device named for appointment.
    #[error("a revoked device never comes back; appoint another, which then invites a new one")]
    RevokedNeverComesBack,
    /// An invitation's validity out of bounds.
    #[error("an invitation is valid for between a minute and 30 days")]
    InviteValidity,
    /// A device revoking itself.
    #[error("a device cannot revoke itself; another coordinator can")]
    SelfRevocation,
    /// A device revoked already.
    #[error("this device is already revoked")]
    AlreadyRevoked,
    /// A device label too long or on several lines.
    #[error("a device label is at most {max} characters, on one line")]
    Label {
        /// The longest label.
        max: usize,
    },
    /// Too few digits of a fingerprint.
    #[error("give at least 4 hex digits of the device's fingerprint")]
    ShortFingerprint,
    /// No member with this fingerprint.
    #[error("no member has this fingerprint")]
    UnknownFingerprint,
    /// Several members match.
    #[error("several members match; give more of the fingerprint")]
    AmbiguousFingerprint,
    /// A membership entry the team's rules refuse.
    #[error("{0}")]
    Refused(#[from] vigil_team::Refusal),
}

/// Which way a session's items go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the peer.
    TakenFrom,
    /// To the peer.
    SentTo,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::TakenFrom => "taken from",
            Direction::SentTo => "sent to",
        })
    }
}

/// Why an invitation cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    /// Not the whole text of one.
    #[error("it is not a whole Vigil invitation; copy all of it")]
    Incomplete,
    /// Past its time.
    #[error("it has expired; ask for a new one")]
    Expired,
    /// Its coordinator key is not a key.
    #[error("it names no valid coordinator key")]
    NoCoordinatorKey,
    /// It names nowhere to go.
    #[error("it names no address")]
    NoAddress,
    /// The coordinator's answer.
    #[error("{0}")]
    NotWelcome(#[from] vigil_sync::admission::NotWelcome),
    /// Presented by a revoked device.
    #[error("this device was revoked")]
    Revoked,
    /// Not an invitation of this coordinator's, or one already used or expired.
    #[error("it is unknown, used or expired")]
    UnknownOrUsed,
}

/// What a shell can do about an error: the few kinds it acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Ask for the passphrase again.
    WrongPassphrase,
    /// Input that cannot be used; [`VaultError::field`] names the field at fault.
    InvalidInput,
    /// No such incident, vault or member.
    NotFound,
    /// The team does not allow it (a role, a refused invitation, bundle or peer).
    NotAllowed,
    /// The network or the peer failed; trying again later may work.
    Network,
    /// The vault's files or the device's storage failed, or the vault was wiped.
    Storage,
}

impl VaultError {
    /// What a shell can do about it.
    pub fn kind(&self) -> ErrorKind {
        use vigil_net::NetError;
        match self {
            VaultError::WrongPassphrase => ErrorKind::WrongPassphrase,
            VaultError::Invalid(_)
            | VaultError::ImportRejected(_)
            | VaultError::DuressIsPassphrase
            | VaultError::AlreadyExists
            | VaultError::Taxonomy(_) => ErrorKind::InvalidInput,
            VaultError::NotFound(_) | VaultError::UnknownId(_) | VaultError::AmbiguousId(_) => {
                ErrorKind::NotFound
            }
            VaultError::NoTeam
            | VaultError::AlreadyInTeam
            | VaultError::NotCoordinator
            | VaultError::Team(_)
            | VaultError::BadInvite(_)
            | VaultError::BadRecoveryCode(_)
            | VaultError::BadBundle(_)
            | VaultError::Sealed
            | VaultError::AlreadyServing
            | VaultError::NotServing => ErrorKind::NotAllowed,
            // Not the network's fault: trying again will not help.
            VaultError::Network(
                NetError::RejectedByPeer
                | NetError::Refused { .. }
                | NetError::UnexpectedPeer { .. },
            ) => ErrorKind::NotAllowed,
            VaultError::Unreachable { .. } | VaultError::Network(_) | VaultError::Sync(_) => {
                ErrorKind::Network
            }
            VaultError::NotAVault(_)
            | VaultError::Document(_)
            | VaultError::Storage(_)
            | VaultError::Key(_)
            | VaultError::Tampered
            | VaultError::Wiped
            | VaultError::Io(_) => ErrorKind::Storage,
        }
    }

    /// The form field (or file line and field) at fault, for input errors.
    pub fn field(&self) -> Option<String> {
        match self {
            VaultError::Invalid(errors) => errors.0.first().map(|f| f.field.clone()),
            VaultError::ImportRejected(lines) => lines.first().map(|l| match l.errors.first() {
                Some(e) => format!("line {}: {}", l.line, e.field),
                None => format!("line {}", l.line),
            }),
            VaultError::DuressIsPassphrase => Some("passphrase".into()),
            _ => None,
        }
    }

    /// The message, with the first bad lines of a refused import spelled out: what a
    /// shell shows the user.
    pub fn explained(&self) -> String {
        match self {
            VaultError::ImportRejected(lines) => format!(
                "{self}: {}",
                lines
                    .iter()
                    .take(5)
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            other => other.to_string(),
        }
    }
}
