//! The Vigil incident model: incidents, named people, the taxonomy that says what a
//! valid incident is, validation against it, name normalisation, and the mapping of an
//! incident onto its Automerge document.
//!
//! Owns too: the form's field grammar ([`forms`]) and the signed log records every
//! crate above passes around ([`log`]).
//!
//! Pure: no IO, no clock, no randomness except where a caller asks for a new id.
//! Must not: depend on another Vigil crate.

pub mod change_bounds;
pub mod document;
pub mod forms;
pub mod incident;
pub mod links;
pub mod log;
pub mod names;
pub mod places;
pub mod summary;
pub mod taxonomy;
pub mod validate;

pub use document::{DocumentError, IncidentDocument, PersonalPart};
pub use incident::{
    Affected, Coordinates, FieldValue, Incident, IncidentId, Legal, Person, Personal, Place, Status,
};
pub use links::{Link, LinkDecision, LinkState};
pub use log::{MemberEntryRow, SignedChange};
pub use names::name_key;
pub use places::Gazetteer;
pub use summary::Summary;
pub use taxonomy::{Taxonomy, TaxonomyError};
pub use validate::{FieldError, ValidationErrors};
