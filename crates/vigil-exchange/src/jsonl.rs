//! The partner export: one JSON object per line (`FORMAT.md`).

use std::io::{BufRead, Read, Write};

use serde_json::Value;
use vigil_model::{Incident, Taxonomy};

use crate::{LineError, field_error, record};

/// Longest line read, in bytes; a longer one is an error, not an allocation.
pub const MAX_LINE: usize = 1 << 20;

/// Reads JSON lines one at a time; each item is an incident or the reason a line is
/// not one. Blank lines are skipped. Memory stays bounded by the longest line.
pub struct JsonLines<'t, R> {
    input: R,
    taxonomy: &'t Taxonomy,
    line: u64,
    buf: Vec<u8>,
}

/// Reads a JSON lines file; see [`JsonLines`].
pub fn read<R: BufRead>(input: R, taxonomy: &Taxonomy) -> JsonLines<'_, R> {
    JsonLines {
        input,
        taxonomy,
        line: 0,
        buf: Vec::new(),
    }
}

impl<R: BufRead> JsonLines<'_, R> {
    /// Reads the next raw line into `buf`; false at the end of the input.
    fn next_line(&mut self) -> Result<bool, LineError> {
        self.buf.clear();
        let limit = MAX_LINE as u64 + 1;
        let n = self
            .input
            .by_ref()
            .take(limit)
            .read_until(b'\n', &mut self.buf)
            .map_err(|_| error(self.line + 1, "file", "could not be read"))?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        if self.buf.len() > MAX_LINE && !self.buf.ends_with(b"\n") {
            // Skip the rest of the over-long line, then report it.
            let mut rest = Vec::new();
            loop {
                rest.clear();
                let more = self
                    .input
                    .by_ref()
                    .take(MAX_LINE as u64)
                    .read_until(b'\n', &mut rest)
                    .map_err(|_| error(self.line, "file", "could not be read"))?;
                if more == 0 || rest.ends_with(b"\n") {
                    break;
                }
            }
            return Err(error(self.line, "line", "is longer than 1 MiB"));
        }
        Ok(true)
    }
}

impl<R: BufRead> Iterator for JsonLines<'_, R> {
    type Item = Result<Incident, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_line() {
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
                Ok(true) => {
                    if let Some(item) = parse_line(self.line, &self.buf, self.taxonomy) {
                        return Some(item);
                    }
                }
            }
        }
    }
}

fn parse_line(line: u64, bytes: &[u8], taxonomy: &Taxonomy) -> Option<Result<Incident, LineError>> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Some(Err(error(line, "line", "is not valid UTF-8 text")));
    };
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return None;
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return Some(Err(error(
                line,
                "line",
                format!(
                    "is not valid JSON ({} at column {})",
                    category(&e),
                    e.column()
                ),
            )));
        }
    };
    let Value::Object(obj) = value else {
        return Some(Err(error(line, "line", "is not a JSON object")));
    };
    Some(record::to_incident(&obj, taxonomy).map_err(|errors| LineError { line, errors }))
}

fn category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "unexpected end",
        serde_json::error::Category::Syntax => "syntax error",
        _ => "unreadable value",
    }
}

fn error(line: u64, field: &str, problem: impl Into<String>) -> LineError {
    LineError {
        line,
        errors: vec![field_error(field, problem)],
    }
}

/// Writes incidents as JSON lines.
pub fn write<'a>(
    mut out: impl Write,
    incidents: impl IntoIterator<Item = &'a Incident>,
) -> std::io::Result<()> {
    for incident in incidents {
        let line = serde_json::to_string(&record::from_incident(incident))?;
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
