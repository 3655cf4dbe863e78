//! Vigil's exchange formats: the partner export (JSON lines, `FORMAT.md`) and CSV.
//!
//! Both go through one flat record (a JSON object, [`record`]): a JSON line is one
//! already, a CSV row becomes one by its header. Core keys map to the incident's core
//! fields; every other key is a taxonomy field by its id, typed by the taxonomy, so a
//! team that adds a field to its taxonomy can import and export it without a new
//! release. Keys starting with `_` (such as `_event` in test exports) are ignored.
//!
//! Owns: the file codecs and the flat record's mapping to an incident. Must not:
//! store anything, know of teams, or define a field's grammar (that is
//! `vigil_model::forms`, which forms and files share).

pub mod csv_format;
pub mod jsonl;
pub mod record;

use std::fmt;

use vigil_model::FieldError;

/// A line of an input file that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file (for CSV, the header is line 1).
    pub line: u64,
    /// What is wrong, field by field.
    pub errors: Vec<FieldError>,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// The file format of an import or export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line, as partners export.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

impl Format {
    /// Guesses the format from a file name: `.csv` is CSV, anything else JSON lines.
    pub fn from_path(path: &std::path::Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => Format::Jsonl,
        }
    }
}

pub(crate) fn field_error(field: impl Into<String>, problem: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        problem: problem.into(),
    }
}
