//! How a device the responder does not know gets in, before a session: with an
//! invitation (`Join`, answered by `Welcome`), or, as a member added since the
//! responder last synced, by proving it (`Prove`, answered with the whole membership
//! log, which the responder reads on a copy of its team before storing any of it).
//!
//! Sans IO like the session: these functions make and read the frames; the caller
//! moves them and applies the team's rules (`vigil-team`) to what they carry.

use vigil_team::Roster;

use crate::wire::WireEntry;
use crate::{Frame, SyncError};

/// The largest frame a device that has proved nothing may send: a `Join` is tens of
/// bytes, a proof (the membership log) a few hundred per entry.
pub const NEWCOMER_FRAME: usize = 512 * 1024;

/// What a device the responder does not know sent first.
pub enum Opening {
    /// An invitation's secret and the label the newcomer asks to be listed by.
    Join {
        /// The invitation's secret.
        secret: [u8; 32],
        /// The label for the team's member list.
        label: String,
    },
    /// Anything else: the first frame of a session, from a device that must prove
    /// its membership first (see [`prove`]); handled once it has.
    Session(Vec<u8>),
}

impl std::fmt::Debug for Opening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither the invitation's secret nor the label is printed.
        match self {
            Opening::Join { .. } => f.write_str("Opening::Join"),
            Opening::Session(bytes) => write!(f, "Opening::Session({} bytes)", bytes.len()),
        }
    }
}

/// Reads the first frame of a device the responder does not know.
pub fn opening(bytes: Vec<u8>) -> Result<Opening, SyncError> {
    match Frame::decode(&bytes)? {
        Frame::Join { secret, label } => Ok(Opening::Join { secret, label }),
        _ => Ok(Opening::Session(bytes)),
    }
}

/// The newcomer's first frame: the invitation's secret and its label.
pub fn join(secret: [u8; 32], label: &str) -> Vec<u8> {
    Frame::Join {
        secret,
        label: label.to_owned(),
    }
    .encode()
}

/// The coordinator's answer to a valid `Join`: admitted to `team`.
pub fn welcome(team: [u8; 32]) -> Vec<u8> {
    Frame::Welcome { team }.encode()
}

/// Why a newcomer was not admitted, as the newcomer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotWelcome {
    /// The coordinator closed the stream: the invitation is unknown, used or expired.
    #[error("the coordinator refused it (unknown, used or expired)")]
    Refused,
    /// Another answer, or a welcome to another team.
    #[error("the coordinator did not admit this device")]
    NotAdmitted,
}

/// Reads the coordinator's answer to `Join` (`None`: it closed the stream): the
/// newcomer is in only if it was welcomed to the invitation's `team`.
pub fn welcomed(answer: Option<&[u8]>, team: [u8; 32]) -> Result<(), NotWelcome> {
    match answer.map(Frame::decode) {
        None => Err(NotWelcome::Refused),
        Some(Ok(Frame::Welcome { team: welcomed })) if welcomed == team => Ok(()),
        Some(_) => Err(NotWelcome::NotAdmitted),
    }
}

/// The responder's request for a proof of membership.
pub fn prove() -> Vec<u8> {
    Frame::Prove.encode()
}

/// Reads the answer to [`prove`]: the initiator's membership log.
pub fn proof(bytes: &[u8]) -> Result<Vec<WireEntry>, SyncError> {
    match Frame::decode(bytes)? {
        Frame::Members(entries) => Ok(entries),
        _ => Err(SyncError::Protocol(
            "the answer to a request for proof is not a membership log".into(),
        )),
    }
}

/// Whether `entries` (a proof) would admit `device` to `team`, read on a copy: up to
/// a few thousand signature checks, none of which touches the store, so that a
/// stranger's proof is stored only if it admits the stranger.
pub fn proof_admits(team: &Roster, entries: &[WireEntry], device: &[u8; 32]) -> bool {
    team.would_admit(entries.iter().map(WireEntry::parts), device)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_join_reads_back_and_anything_else_opens_a_session() {
        match opening(join([7; 32], "field")).unwrap() {
            Opening::Join { secret, label } => {
                assert_eq!(secret, [7; 32]);
                assert_eq!(label, "field");
            }
            Opening::Session(_) => unreachable!("a join"),
        }
        let first = Frame::Reconcile(Vec::new()).encode();
        assert!(matches!(opening(first).unwrap(), Opening::Session(_)));
        assert!(opening(vec![0xff; 3]).is_err(), "not a frame at all");
    }

    #[test]
    fn only_a_welcome_to_the_invitations_team_admits() {
        assert_eq!(welcomed(Some(&welcome([1; 32])), [1; 32]), Ok(()));
        assert_eq!(
            welcomed(Some(&welcome([2; 32])), [1; 32]),
            Err(NotWelcome::NotAdmitted)
        );
        assert_eq!(
            welcomed(Some(&prove()), [1; 32]),
            Err(NotWelcome::NotAdmitted)
        );
        assert_eq!(
            welcomed(Some(b"junk"), [1; 32]),
            Err(NotWelcome::NotAdmitted)
        );
        assert_eq!(welcomed(None, [1; 32]), Err(NotWelcome::Refused));
    }

    #[test]
    fn a_proof_is_a_membership_log_and_nothing_else() {
        assert!(
            proof(&Frame::Members(Vec::new()).encode())
                .unwrap()
                .is_empty()
        );
        assert!(proof(&prove()).is_err());
        assert!(proof(b"").is_err());
    }
}
