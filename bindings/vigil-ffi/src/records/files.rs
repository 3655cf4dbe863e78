//! Files in and out: formats, what an import did and what an export holds.

use vigil_core as core;

/// What an import did.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ImportSummary {
    /// Incidents added.
    pub added: u64,
    /// Incidents already in the vault (same report id), left as they were.
    pub already_present: u64,
    /// Of those, incidents a device logged under the report's id instead of
    /// importing it: ids a member may have claimed first; compare them by hand.
    pub claimed: u64,
    /// Lines skipped, each with its number and reason (only when skipping).
    pub skipped: Vec<String>,
}

impl From<core::ImportOutcome> for ImportSummary {
    fn from(o: core::ImportOutcome) -> Self {
        Self {
            added: o.added,
            already_present: o.already_present,
            claimed: o.claimed,
            skipped: o.skipped.iter().map(ToString::to_string).collect(),
        }
    }
}

/// What an export wrote, and how much personal data the file holds.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ExportSummary {
    /// Incidents written.
    pub incidents: u64,
    /// Names of people affected.
    pub named_people: u64,
    /// Free-text descriptions (they may name people).
    pub descriptions: u64,
    /// Observers' pseudonyms.
    pub reporters: u64,
    /// Values of fields marked personal.
    pub personal_fields: u64,
    /// Incidents whose personal part is sealed to the coordinators: written
    /// without it.
    pub sealed: u64,
}

impl From<core::ExportOutcome> for ExportSummary {
    fn from(o: core::ExportOutcome) -> Self {
        Self {
            incidents: o.incidents,
            named_people: o.named_people,
            descriptions: o.descriptions,
            reporters: o.reporters,
            personal_fields: o.personal_fields,
            sealed: o.sealed,
        }
    }
}

/// A file format for import and export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FileFormat {
    /// The partner export format: one JSON object per line.
    JsonLines,
    /// CSV with the taxonomy's header.
    Csv,
}

impl From<FileFormat> for core::Format {
    fn from(f: FileFormat) -> Self {
        match f {
            FileFormat::JsonLines => Self::Jsonl,
            FileFormat::Csv => Self::Csv,
        }
    }
}
