//! The team's rules, below everything that stores or carries them: who is in the
//! team and with which role, who vouches for a change, who may write what in an
//! incident, and to whom personal data is sealed.
//!
//! - [`membership`]: the team as a log of signed entries, and the rule that makes
//!   every device read the same team from the same entries.
//! - [`signing`]: every change is signed by the device that made it, and checked
//!   against its author and the team.
//! - [`authority`]: what a member may write in an incident, judged from the change
//!   and the incident's history alone.
//! - [`sealing`]: the personal part of incidents, sealed to the coordinators, and
//!   [`PersonalAccess`], the one answer to "can this device read it".
//!
//! Pure rules over bytes and keys: no storage, no network, no clock (callers pass
//! times in). What breaks a rule is a [`Refusal`], which the sync inbox counts and
//! logs; the rules never decide what happens to a session.

pub mod authority;
pub mod membership;
pub mod sealing;
pub mod signing;

pub use membership::{Member, Role, Roster};
pub use sealing::{PersonalAccess, Readable};

/// Why one item (a change or a membership entry) from a peer was refused. The
/// session goes on; the item is counted and logged with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Bytes that do not decode as what they claim to be.
    #[error("malformed: {0}")]
    Malformed(String),
    /// No signature where one belongs.
    #[error("unsigned")]
    Unsigned,
    /// A signature that does not verify for the claimed author.
    #[error("bad signature")]
    BadSignature,
    /// Signed by a key the team has never admitted.
    #[error("author is not a member")]
    UnknownAuthor,
    /// Signed by a revoked device.
    #[error("author was revoked")]
    RevokedAuthor,
    /// A change signed by one device but made under another device's actor id.
    #[error("change was made by another device than the one that signed it")]
    ForeignActor,
    /// A membership entry signed by a device that is not a coordinator.
    #[error("signer is not a coordinator")]
    NotCoordinator,
    /// A membership entry of another team.
    #[error("entry belongs to another team")]
    OtherTeam,
    /// An item whose earlier history has not arrived.
    #[error("its history is missing")]
    MissingHistory,
    /// A change that does not apply to its incident.
    #[error("does not apply to its incident: {0}")]
    DoesNotApply(String),
    /// A change by an observer that takes a review decision (sets the status of an
    /// incident after its creation): a coordinator's call.
    #[error("only coordinators change the review status of incidents")]
    NotReviewer,
    /// A change by an observer that links reports into events or separates them:
    /// a coordinator's call.
    #[error("only coordinators link reports into events")]
    NotLinker,
    /// A change that writes personal data unsealed, which every device holding it
    /// could read.
    #[error("it carries personal data unsealed")]
    Unsealed,
    /// A change without dependencies for an incident that exists already.
    #[error("the incident exists already; only its first change has no history")]
    SecondCreation,
    /// A change under the partner-import actor that is not the first change of an
    /// incident signed by a coordinator.
    #[error("only a coordinator imports partner reports, as an incident's first change")]
    ImportActor,
    /// A change whose op counter does not follow the changes it names.
    #[error("its operations are not numbered after its history")]
    OpCounter,
    /// An observer's change to an incident another device created.
    #[error("observers change only the incidents they created")]
    NotCreator,
    /// An observer's change to the personal part of an incident already reviewed.
    #[error("the incident was reviewed; only coordinators change its personal part")]
    Reviewed,
    /// A change that makes the incident break the taxonomy.
    #[error("it makes the incident invalid: {0}")]
    Invalid(String),
    /// Two different changes signed under one actor and sequence number, or a
    /// change by a device caught doing so.
    #[error("its author signed two different changes under one sequence number")]
    Equivocation,
}
