//! Bounds on a change from outside, read from its bytes before Automerge reads it.
//!
//! Automerge inflates a compressed change whole, and walks every operation a change
//! declares to verify it. A change's columns are run-length encoded, so a change of
//! a few dozen bytes can declare billions of operations ("set this key to null",
//! repeated), and a compressed one can inflate to gigabytes: either would hold the
//! device (and its vault) for good. This reads the chunk header, inflates at most
//! [`MAX_CHANGE_INFLATED`] bytes, and counts the operations from the run lengths of
//! the action column without walking them.
//!
//! The layout read here is Automerge's binary change format: a chunk header (magic,
//! checksum, type, length), then the change (dependencies, actor, sequence number,
//! first op counter, time, message, other actors, column specifications and
//! lengths, column data).

use std::io::Read;

use crate::document::DocumentError;

/// The most a change may take once inflated: a report with a very long description
/// takes about a megabyte; an incident's usual change, a few hundred bytes.
pub const MAX_CHANGE_INFLATED: usize = 4 * 1024 * 1024;

/// Operations a change may declare for each byte it takes inflated, beyond the
/// first 1,024: each operation of a Vigil change carries a key or a value, and runs
/// of operations that carry neither (deleting a list) compress to a few bytes for
/// any length, which the allowance covers.
const OPS_PER_BYTE: u64 = 4;
const OPS_ALLOWANCE: u64 = 1024;

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHANGE: u8 = 1;
const COMPRESSED_CHANGE: u8 = 2;
/// The action column: id 4, run-length encoded integers.
const ACTION_COLUMN: u64 = (4 << 4) | 2;

/// What a change takes once inflated, in bytes, if it is within the bounds; the
/// error names which bound it passes.
pub fn inflated_size(bytes: &[u8]) -> Result<usize, DocumentError> {
    let mut input = Input(bytes);
    if input.take(4)? != MAGIC {
        return Err(bad("it is not an Automerge chunk"));
    }
    input.take(4)?; // checksum, which Automerge checks
    let kind = input.byte()?;
    let len = input.length()?;
    let data = input.take(len)?;
    let inflated;
    let body = match kind {
        CHANGE => data,
        COMPRESSED_CHANGE => {
            inflated = inflate(data)?;
            &inflated[..]
        }
        _ => return Err(bad("it is not a change")),
    };
    let ops = declared_ops(body)?;
    if ops > OPS_ALLOWANCE + OPS_PER_BYTE * body.len() as u64 {
        return Err(bad("it declares more operations than its bytes can hold"));
    }
    Ok(body.len())
}

fn bad(why: &str) -> DocumentError {
    DocumentError::Automerge(format!("refused before reading: {why}"))
}

fn inflate(data: &[u8]) -> Result<Vec<u8>, DocumentError> {
    let mut inflated = Vec::new();
    flate2::read::DeflateDecoder::new(data)
        .take(MAX_CHANGE_INFLATED as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|_| bad("its compressed columns do not inflate"))?;
    if inflated.len() > MAX_CHANGE_INFLATED {
        return Err(bad("it inflates past the bound on a change"));
    }
    Ok(inflated)
}

/// How many operations the change declares: the values of its action column,
/// counted from the run lengths.
fn declared_ops(body: &[u8]) -> Result<u64, DocumentError> {
    let mut input = Input(body);
    let deps = input.length()?;
    input.take(deps.checked_mul(32).ok_or_else(truncated)?)?;
    input.prefixed()?; // actor
    input.uleb()?; // seq
    input.uleb()?; // start op
    input.uleb()?; // time (signed; its bytes are read the same way)
    input.prefixed()?; // message
    for _ in 0..input.uleb()? {
        input.prefixed()?; // other actors
    }
    let columns = input.uleb()?;
    let (mut offset, mut action) = (0usize, None);
    for _ in 0..columns {
        let (spec, len) = (input.uleb()?, input.length()?);
        if spec == ACTION_COLUMN {
            action = Some((offset, len));
        }
        offset = offset.checked_add(len).ok_or_else(truncated)?;
    }
    let data = input.take(offset)?;
    let Some((start, len)) = action else {
        return Ok(0);
    };
    let mut column = Input(&data[start..start + len]);
    let mut ops: u64 = 0;
    while !column.0.is_empty() {
        let count = column.sleb()?;
        let run = match count {
            // A run of one value.
            1.. => {
                column.uleb()?;
                count.unsigned_abs()
            }
            // Literal values, each written out.
            ..=-1 => {
                for _ in 0..count.unsigned_abs() {
                    column.uleb()?;
                }
                count.unsigned_abs()
            }
            // A run of nulls.
            0 => column.uleb()?,
        };
        ops = ops.saturating_add(run);
    }
    Ok(ops)
}

fn truncated() -> DocumentError {
    bad("it is truncated")
}

/// Bytes being read, front first.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DocumentError> {
        if n > self.0.len() {
            return Err(truncated());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, DocumentError> {
        Ok(self.take(1)?[0])
    }

    fn uleb(&mut self) -> Result<u64, DocumentError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(bad("a number is too long"))
    }

    fn sleb(&mut self) -> Result<i64, DocumentError> {
        let mut value: i64 = 0;
        let mut shift = 0;
        loop {
            let byte = self.byte()?;
            if shift >= 64 {
                return Err(bad("a number is too long"));
            }
            value |= i64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 {
                    value |= -1 << shift;
                }
                return Ok(value);
            }
        }
    }

    /// A length, which must fit what is left.
    fn length(&mut self) -> Result<usize, DocumentError> {
        let len = usize::try_from(self.uleb()?).map_err(|_| truncated())?;
        if len > self.0.len() {
            return Err(truncated());
        }
        Ok(len)
    }

    fn prefixed(&mut self) -> Result<&'a [u8], DocumentError> {
        let len = self.length()?;
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write;

    use super::*;
    use crate::document::{IncidentDocument, PersonalPart};
    use crate::{Incident, IncidentId};

    fn uleb(mut n: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn sleb(mut n: i64, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if (n == 0 && byte & 0x40 == 0) || (n == -1 && byte & 0x40 != 0) {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    /// A chunk of `kind` around `body` (the checksum is Automerge's business).
    fn chunk(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend([0; 4]);
        out.push(kind);
        uleb(body.len() as u64, &mut out);
        out.extend(body);
        out
    }

    /// A change whose only column is an action column of `runs` (count, value).
    fn declaring(runs: &[(i64, u64)]) -> Vec<u8> {
        let mut column = Vec::new();
        for &(count, value) in runs {
            sleb(count, &mut column);
            uleb(value, &mut column);
        }
        let mut body = vec![0, 32];
        body.extend([9; 32]);
        body.extend([1, 1, 0, 0, 0, 1]); // seq, start op, time, message, actors, columns
        uleb(ACTION_COLUMN, &mut body);
        uleb(column.len() as u64, &mut body);
        body.extend(column);
        chunk(CHANGE, &body)
    }

    #[test]
    fn vigil_changes_pass_even_with_a_long_description() {
        let mut incident = Incident::example();
        incident.id = IncidentId::random();
        let mut personal = incident.personal.clone();
        personal.description = (0..900_000u32)
            .map(|i| char::from(b'a' + (i.wrapping_mul(2_654_435_761) >> 27) as u8 % 26))
            .collect();
        for (i, part) in [PersonalPart::Absent, PersonalPart::Open(personal)]
            .into_iter()
            .enumerate()
        {
            let (mut doc, created) =
                IncidentDocument::create(&[5; 32], &incident, &part, 1_700_000_000, "created")
                    .unwrap();
            let size = inflated_size(&created.bytes).unwrap();
            assert!(size >= created.bytes.len() / 2, "{size}");
            incident.place.city = format!("Taraz {i}");
            let edited = doc.update(&[5; 32], &incident, None, 1).unwrap().unwrap();
            inflated_size(&edited.bytes).unwrap();
            IncidentDocument::decode_change(&edited.bytes).unwrap();
        }
    }

    /// Forty bytes declaring a trillion operations: refused before Automerge would
    /// walk them one by one, through the path every change from outside takes.
    #[test]
    fn a_change_declaring_more_operations_than_it_can_hold_is_refused() {
        let bomb = declaring(&[(1 << 40, 1)]);
        assert!(bomb.len() < 64);
        let started = std::time::Instant::now();
        let refused = IncidentDocument::decode_change(&bomb).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(refused.to_string().contains("more operations"), "{refused}");
        // A few runs of honest length are not refused for their count.
        assert!(inflated_size(&declaring(&[(100, 1), (200, 3)])).is_ok());
        // Nor is a literal run, or nulls, within the allowance.
        let mut column = Vec::new();
        column.extend([0x7e, 1, 2]); // two literals
        column.extend([0, 100]); // a hundred nulls
        let mut body = vec![0, 0, 1, 1, 0, 0, 0, 1];
        uleb(ACTION_COLUMN, &mut body);
        uleb(column.len() as u64, &mut body);
        body.extend(column);
        assert_eq!(declared_ops(&body[..]).unwrap(), 102);
    }

    /// A compressed change inflating past the bound (a deflate bomb) is refused
    /// having inflated no more than the bound.
    #[test]
    fn a_change_inflating_past_the_bound_is_refused() {
        let mut deflater =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        deflater.write_all(&vec![0; 64 * 1024 * 1024]).unwrap();
        let bomb = chunk(COMPRESSED_CHANGE, &deflater.finish().unwrap());
        assert!(bomb.len() < 100 * 1024, "{}", bomb.len());
        let refused = IncidentDocument::decode_change(&bomb).unwrap_err();
        assert!(refused.to_string().contains("inflates past"), "{refused}");
    }

    #[test]
    fn truncated_and_foreign_chunks_are_refused_without_panicking() {
        let good = declaring(&[(3, 1)]);
        for len in 0..good.len() {
            assert!(inflated_size(&good[..len]).is_err(), "{len}");
        }
        assert!(
            inflated_size(&chunk(0, &[])).is_err(),
            "a document is no change"
        );
        assert!(inflated_size(&[0xff; 64]).is_err());
    }
}
