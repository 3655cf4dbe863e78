//! Bounds on a change from outside, read from its bytes before Automerge reads it.
//!
//! Automerge inflates a compressed change whole, and walks every operation a change
//! declares to verify it, with each operation's list of predecessors. A change's
//! columns are run-length encoded, so a change of a few dozen bytes can declare
//! billions of operations ("set this key to null", repeated), or one operation with
//! billions of predecessors, and a compressed one can inflate to gigabytes: any of
//! these would hold the device (and its vault) for good, or exhaust its memory. This
//! reads the chunk header, inflates at most [`MAX_CHANGE_INFLATED`] bytes, and
//! counts operations and predecessors from the run lengths of their columns without
//! walking them.
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

/// Operations one change may declare, and predecessors in all: Vigil writes every
/// field as one value (texts included), so its changes carry tens of operations,
/// an import's first change a few hundred.
pub const MAX_CHANGE_OPS: u64 = 65_536;

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHANGE: u8 = 1;
const COMPRESSED_CHANGE: u8 = 2;
/// The action column: id 4, run-length encoded integers. One value per operation.
const ACTION_COLUMN: u64 = (4 << 4) | 2;
/// Columns of this type hold, per operation, how many entries a nested list has
/// (the predecessors' group column, id 7).
const GROUP_TYPE: u64 = 0;
const TYPE_MASK: u64 = 0b111;

/// What a change costs to read, from its bytes alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeSize {
    /// Bytes once inflated.
    pub inflated: usize,
    /// Operations it declares, and the entries of their nested lists
    /// (predecessors): what Automerge walks.
    pub ops: u64,
}

/// What reading a change would cost, if it is within the bounds; the error names
/// which bound it passes.
pub fn measure(bytes: &[u8]) -> Result<ChangeSize, DocumentError> {
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
    let (ops, nested) = declared(body)?;
    if ops > MAX_CHANGE_OPS || nested > MAX_CHANGE_OPS {
        return Err(bad("it declares more operations than a change may have"));
    }
    Ok(ChangeSize {
        inflated: body.len(),
        ops: ops + nested,
    })
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

/// How many operations the change declares (the values of its action column) and
/// how many entries their nested lists have (the sum of the values of its group
/// columns), counted from the run lengths, saturating.
fn declared(body: &[u8]) -> Result<(u64, u64), DocumentError> {
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
    let mut columns = Vec::new();
    let mut offset = 0usize;
    for _ in 0..input.uleb()? {
        let (spec, len) = (input.uleb()?, input.length()?);
        columns.push((spec, offset, len));
        offset = offset.checked_add(len).ok_or_else(truncated)?;
    }
    let data = input.take(offset)?;
    let (mut ops, mut nested) = (0u64, 0u64);
    for (spec, start, len) in columns {
        let column = &data[start..start + len];
        if spec == ACTION_COLUMN {
            ops = ops.saturating_add(runs(column, |_| 1)?);
        } else if spec & TYPE_MASK == GROUP_TYPE {
            nested = nested.saturating_add(runs(column, |value| value)?);
        }
    }
    Ok((ops, nested))
}

/// The sum of `weight(value)` over a run-length encoded column of unsigned values,
/// run by run: a run of `n` copies of one value, `n` literal values, or `n` nulls
/// (which weigh nothing).
fn runs(column: &[u8], weight: impl Fn(u64) -> u64) -> Result<u64, DocumentError> {
    let mut column = Input(column);
    let mut total: u64 = 0;
    while !column.0.is_empty() {
        let count = column.sleb()?;
        let run = match count {
            1.. => weight(column.uleb()?).saturating_mul(count.unsigned_abs()),
            ..=-1 => {
                let mut sum: u64 = 0;
                for _ in 0..count.unsigned_abs() {
                    sum = sum.saturating_add(weight(column.uleb()?));
                }
                sum
            }
            0 => {
                column.uleb()?;
                0
            }
        };
        total = total.saturating_add(run);
    }
    Ok(total)
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

    /// A run-length encoded column of `runs` (count, value).
    fn column(runs: &[(i64, u64)]) -> Vec<u8> {
        let mut column = Vec::new();
        for &(count, value) in runs {
            sleb(count, &mut column);
            uleb(value, &mut column);
        }
        column
    }

    /// The body of a change whose only columns are `columns` (spec, data).
    fn body(columns: &[(u64, Vec<u8>)]) -> Vec<u8> {
        let mut body = vec![0, 32];
        body.extend([9; 32]);
        body.extend([1, 1, 0, 0, 0]); // seq, start op, time, message, other actors
        uleb(columns.len() as u64, &mut body);
        for (spec, data) in columns {
            uleb(*spec, &mut body);
            uleb(data.len() as u64, &mut body);
        }
        for (_, data) in columns {
            body.extend(data);
        }
        body
    }

    /// A change whose only column is an action column of `runs`.
    fn declaring(runs: &[(i64, u64)]) -> Vec<u8> {
        chunk(CHANGE, &body(&[(ACTION_COLUMN, column(runs))]))
    }

    /// The predecessors' group column (id 7).
    const PRED_GROUP: u64 = 7 << 4;

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
            let size = measure(&created.bytes).unwrap();
            assert!(size.inflated >= created.bytes.len() / 2, "{size:?}");
            assert!(size.ops > 10 && size.ops < 1000, "{size:?}");
            incident.place.city = format!("Taraz {i}");
            let edited = doc.update(&[5; 32], &incident, None, 1).unwrap().unwrap();
            let size = measure(&edited.bytes).unwrap();
            // The new city, and the old one as its predecessor.
            assert_eq!(size.ops, 2, "{size:?}");
            IncidentDocument::decode_change(&edited.bytes).unwrap();
        }
    }

    /// Forty bytes declaring a trillion operations, or one operation with a
    /// trillion predecessors: refused before Automerge would walk them one by one
    /// (or allocate them), through the path every change from outside takes.
    #[test]
    fn a_change_declaring_more_operations_than_it_may_is_refused() {
        let many_ops = declaring(&[(1 << 40, 1)]);
        let many_preds = chunk(
            CHANGE,
            &body(&[
                (ACTION_COLUMN, column(&[(1, 1)])),
                (PRED_GROUP, column(&[(1, 1 << 40)])),
            ]),
        );
        for bomb in [many_ops, many_preds] {
            assert!(bomb.len() < 64);
            let started = std::time::Instant::now();
            let refused = IncidentDocument::decode_change(&bomb).unwrap_err();
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
            assert!(refused.to_string().contains("more operations"), "{refused}");
        }
        // Runs within the bound are counted, and their predecessors with them.
        let within = body(&[
            (ACTION_COLUMN, column(&[(100, 1), (200, 3)])),
            (PRED_GROUP, column(&[(300, 1)])),
        ]);
        assert_eq!(declared(&within).unwrap(), (300, 300));
        // Literal runs and nulls too.
        let mut literal = Vec::new();
        literal.extend([0x7e, 1, 2]); // two literals
        literal.extend([0, 100]); // a hundred nulls
        let mut literal_preds = Vec::new();
        literal_preds.extend([0x7d, 1, 2, 3]); // three literals: 1 + 2 + 3
        let literals = body(&[(ACTION_COLUMN, literal), (PRED_GROUP, literal_preds)]);
        assert_eq!(declared(&literals).unwrap(), (2, 6));
        let at_bound = declaring(&[(MAX_CHANGE_OPS as i64, 1)]);
        assert!(measure(&at_bound).is_ok());
        assert!(measure(&declaring(&[(MAX_CHANGE_OPS as i64 + 1, 1)])).is_err());
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
            assert!(measure(&good[..len]).is_err(), "{len}");
        }
        assert!(measure(&chunk(0, &[])).is_err(), "a document is no change");
        assert!(measure(&[0xff; 64]).is_err());
    }
}
