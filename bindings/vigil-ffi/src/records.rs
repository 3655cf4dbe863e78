//! The plain values that cross the boundary: records and enums in each language's
//! idiom (Kotlin data classes, Swift structs, Python dataclasses), converted from the
//! core's types, one file per concept.

mod files;
mod form;
mod incident;
mod report;
mod settings;
mod sync;
mod team;

pub use files::*;
pub use form::*;
pub use incident::*;
pub use report::*;
pub use settings::*;
pub use sync::*;
pub use team::*;
