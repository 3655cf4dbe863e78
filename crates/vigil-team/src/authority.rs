//! Who may write what in an incident, judged for every change from outside before
//! it applies.
//!
//! A signature says who made a change, the membership says whether that device is
//! in the team and with which role; these rules say what the change may do to the
//! incident it claims. They are judged from the change and the incident's history
//! alone (never from what else a device holds, or in which order it came), so
//! every device that holds the history decides alike. Each answers a member that
//! signs whatever it likes:
//!
//! 1. Only an incident's first change has no dependencies. Automerge would apply a
//!    second one as concurrent with everything, and with a large enough op counter
//!    it would win every field; so a change without dependencies is refused once
//!    the incident has any change.
//! 2. A change's op counter starts right after the ops of the changes it names
//!    (as Automerge makes them), so that no author can make its writes win every
//!    concurrent conflict by starting high.
//! 3. The partner-import actor makes only the first change of an imported report,
//!    signed by a coordinator: nobody else can make a history say "partner import".
//! 4. An observer writes only to incidents it created; it creates them submitted,
//!    and never writes their status afterwards (review is a coordinator's).
//! 5. An observer replaces the sealed personal part of its own incident only while
//!    the incident is still submitted, as of the change's dependencies: once a
//!    coordinator has reviewed it, the names it was reviewed on are the
//!    coordinators' to change.
//! 6. No change may add a problem to the incident's public part as the taxonomy
//!    judges it (an unknown category, a count out of bounds); what was already
//!    wrong, from an older taxonomy, does not block later changes.
//! 7. An observer never writes a link decision (`vigil_model::links`), not even in
//!    its own incident: which reports are one event is the coordinators' call.
//!
//! Coordinators are bound by 1 to 3 and 6. Two different changes signed under one
//! actor and sequence number (a fork of an incident, one handed to each peer) are
//! detected where they meet; the sync inbox records the signer and
//! refuses its later changes.

use vigil_model::document::{ChangeShape, IncidentDocument, import_actor};
use vigil_model::{FieldError, Incident, IncidentId, Personal, Status, Taxonomy};

use crate::{Refusal, Role};

/// What to do with a change that passed the rules.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Apply it.
    Apply,
    /// Some of the changes it names are not here yet: try again once they are.
    Wait,
}

/// Judges `change` (its bytes `bytes`, signed by `signer` whose role the team gives
/// as `role`) against `doc`, the incident `incident` as it stands, created by
/// `creator` (`None` while it has no change).
pub fn judge(
    doc: &mut IncidentDocument,
    incident: &IncidentId,
    creator: Option<[u8; 32]>,
    shape: &ChangeShape,
    signer: &[u8; 32],
    role: Option<Role>,
) -> Result<Verdict, Refusal> {
    let coordinator = role == Some(Role::Coordinator);
    let imported = shape.actor == import_actor(incident);
    if shape.deps.is_empty() {
        if creator.is_some() {
            return Err(Refusal::SecondCreation);
        }
        if imported && !coordinator {
            return Err(Refusal::ImportActor);
        }
        if shape.start_op != 1 {
            return Err(Refusal::OpCounter);
        }
        if !coordinator && shape.statuses.iter().any(|s| *s != Some(Status::Submitted)) {
            return Err(Refusal::NotReviewer);
        }
        if !coordinator && shape.writes_links {
            return Err(Refusal::NotLinker);
        }
        return Ok(Verdict::Apply);
    }
    if imported {
        return Err(Refusal::ImportActor);
    }
    let mut expected = 0;
    for dep in &shape.deps {
        match doc.max_op_of(dep) {
            Some(max_op) => expected = expected.max(max_op),
            None => return Ok(Verdict::Wait),
        }
    }
    if shape.start_op != expected + 1 {
        return Err(Refusal::OpCounter);
    }
    if coordinator {
        return Ok(Verdict::Apply);
    }
    if creator.as_ref() != Some(signer) {
        return Err(Refusal::NotCreator);
    }
    if !shape.statuses.is_empty() {
        return Err(Refusal::NotReviewer);
    }
    if shape.writes_links {
        return Err(Refusal::NotLinker);
    }
    if shape.writes_sealed
        && doc
            .status_at(&shape.deps)
            .map_err(|e| Refusal::DoesNotApply(e.to_string()))?
            != Status::Submitted
    {
        return Err(Refusal::Reviewed);
    }
    Ok(Verdict::Apply)
}

/// What the taxonomy finds wrong with the public part of what `doc` holds, as
/// every device sees it (the personal part left out: most devices cannot open it).
pub fn public_problems(doc: &IncidentDocument, taxonomy: &Taxonomy) -> Option<Vec<FieldError>> {
    let incident = doc.incident().ok()?;
    let public = Incident {
        personal: Personal::default(),
        ..incident
    };
    Some(match taxonomy.validate(&public) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.0,
    })
}

/// Rule 6: whether `after` holds a problem that `before` did not.
pub fn adds_problems(before: &[FieldError], after: &[FieldError]) -> bool {
    after.iter().any(|problem| !before.contains(problem))
}
