//! Frames: one version byte, then a postcard-encoded [`Frame`]. Every frame is at
//! most [`MAX_FRAME`] bytes, which the transport enforces before reading one.
//!
//! A large frame travels deflated, as a [`Frame::Deflated`] around the original:
//! changes of one author share their actor id and column layout, which is about a
//! fifth of a small change. Signatures, hashes and sealed personal parts do not
//! compress, and what compresses is written by members only, so the sizes an
//! onlooker sees say no more than before.

use std::io::Read;

use flate2::Compression;
use flate2::read::{DeflateDecoder, DeflateEncoder};
use serde::{Deserialize, Serialize};

use crate::SyncError;
use crate::reconcile::{IdPrefix, Range};
use crate::wire::WireChange;
use crate::wire::WireEntry;

/// The version this build speaks; a frame of another version ends the session.
pub const PROTOCOL_VERSION: u8 = 1;

/// The largest frame, in bytes, as sent and once inflated.
pub const MAX_FRAME: usize = 4 * 1024 * 1024;

/// Frames whose encoding is at least this long are deflated.
const DEFLATE_FROM: usize = 1024;

/// Most ranges in one `Reconcile` (a sender splits a range into at most 64).
pub const MAX_RANGES: usize = 4096;
/// Most hash prefixes in one `Want`.
pub const MAX_WANTED: usize = 16 * 1024;
/// Most membership entries in one frame: far more than a team writes, far fewer
/// than the 2 million empty entries four megabytes would otherwise decode into.
pub const MAX_ENTRIES: usize = 4096;
/// Most changes in one frame (a sender packs 512 KiB; a change is at least a
/// hundred bytes).
pub const MAX_CHANGES: usize = 16 * 1024;

/// What peers say to each other.
///
/// Lists are bounded as they decode, before anything is allocated for the element
/// past the bound: postcard turns a two-byte empty element into a struct of tens of
/// bytes, so the frame size alone does not bound memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frame {
    /// A step of set reconciliation; empty when every range is settled.
    Reconcile(#[serde(deserialize_with = "bounded::<_, MAX_RANGES, _>")] Vec<Range>),
    /// Please send the items with these hash prefixes.
    Want(#[serde(deserialize_with = "bounded::<_, MAX_WANTED, _>")] Vec<IdPrefix>),
    /// Membership entries, in causal order.
    Members(#[serde(deserialize_with = "bounded::<_, MAX_ENTRIES, _>")] Vec<WireEntry>),
    /// Changes, each after the changes it depends on.
    Changes(#[serde(deserialize_with = "bounded::<_, MAX_CHANGES, _>")] Vec<WireChange>),
    /// A newcomer's first frame: the invitation's secret, and the label it asks to be
    /// known by.
    Join {
        /// The invitation's secret.
        secret: [u8; 32],
        /// The label for the team's member list.
        label: String,
    },
    /// The coordinator's answer to a valid `Join`: the newcomer is admitted to this
    /// team, and a sync session follows on the same stream.
    Welcome {
        /// The team's id.
        team: [u8; 32],
    },
    /// The responder does not know the initiator's key yet: prove your membership
    /// (answered with `Members`: the initiator's whole membership log).
    Prove,
    /// The sender is finished; with what it took in and refused this session.
    Done {
        /// Items stored.
        accepted: u64,
        /// Items refused.
        refused: u64,
        /// Whether the sender waits for the receiver's own `Done`.
        reply: bool,
    },
    /// Another frame's encoding (without the version byte), deflated.
    Deflated(Vec<u8>),
}

impl Frame {
    /// The frame's bytes, deflated when that is worth it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![PROTOCOL_VERSION];
        // Encoding into a Vec cannot fail for these types.
        let body = postcard::to_stdvec(self).unwrap_or_default();
        if body.len() >= DEFLATE_FROM
            && !matches!(self, Frame::Deflated(_))
            && let Some(deflated) = deflate(&body)
            && let Ok(wrapped) = postcard::to_stdvec(&Frame::Deflated(deflated))
            && wrapped.len() < body.len()
        {
            out.extend(wrapped);
        } else {
            out.extend(body);
        }
        out
    }

    /// Reads a frame from a peer.
    pub fn decode(bytes: &[u8]) -> Result<Self, SyncError> {
        if bytes.len() > MAX_FRAME {
            return Err(SyncError::FrameTooLarge(bytes.len()));
        }
        let (&version, body) = bytes
            .split_first()
            .ok_or_else(|| SyncError::Protocol("empty frame".into()))?;
        if version != PROTOCOL_VERSION {
            return Err(SyncError::Version(version));
        }
        match Self::from_body(body)? {
            Frame::Deflated(deflated) => match Self::from_body(&inflate(&deflated)?)? {
                Frame::Deflated(_) => Err(SyncError::Protocol("a frame deflated twice".into())),
                frame => Ok(frame),
            },
            frame => Ok(frame),
        }
    }

    fn from_body(body: &[u8]) -> Result<Self, SyncError> {
        match postcard::take_from_bytes(body) {
            Ok((frame, [])) => Ok(frame),
            _ => Err(SyncError::Protocol("a frame does not decode".into())),
        }
    }
}

/// Decodes a list of at most `N` elements, refusing the element past the bound
/// before it is built: for `#[serde(deserialize_with = "bounded::<_, N, _>")]` on
/// any list read from outside (frames here, bundles in `vigil-core`).
pub fn bounded<'de, T, const N: usize, D>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    struct Bounded<T, const N: usize>(std::marker::PhantomData<T>);

    impl<'de, T: Deserialize<'de>, const N: usize> serde::de::Visitor<'de> for Bounded<T, N> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "a list of at most {N} elements")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let claimed = seq.size_hint().unwrap_or(0);
            if claimed > N {
                return Err(serde::de::Error::invalid_length(claimed, &self));
            }
            let mut out = Vec::with_capacity(claimed);
            while let Some(item) = seq.next_element()? {
                if out.len() == N {
                    return Err(serde::de::Error::invalid_length(N + 1, &self));
                }
                out.push(item);
            }
            Ok(out)
        }
    }

    deserializer.deserialize_seq(Bounded::<T, N>(std::marker::PhantomData))
}

fn deflate(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len() / 2);
    DeflateEncoder::new(body, Compression::default())
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// Inflates at most [`MAX_FRAME`] bytes: a small frame that would inflate beyond
/// that is refused, not expanded.
fn inflate(deflated: &[u8]) -> Result<Vec<u8>, SyncError> {
    let mut out = Vec::new();
    DeflateDecoder::new(deflated)
        .take(MAX_FRAME as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| SyncError::Protocol("a deflated frame does not inflate".into()))?;
    if out.len() > MAX_FRAME {
        return Err(SyncError::FrameTooLarge(out.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(n: usize) -> Frame {
        Frame::Changes(
            (0..n)
                .map(|i| WireChange {
                    incident: [i as u8; 16],
                    author: None,
                    signature: vec![7; 64],
                    bytes: b"the same column layout again and again".repeat(3),
                })
                .collect(),
        )
    }

    /// `count` empty membership entries (two bytes each), deflated.
    fn empty_entries(count: usize) -> Vec<u8> {
        let mut body = vec![2u8]; // Members
        let mut left = count;
        while left >= 0x80 {
            body.push((left as u8 & 0x7f) | 0x80);
            left >>= 7;
        }
        body.push(left as u8);
        body.extend(std::iter::repeat_n([0u8, 0u8], count).flatten());
        let mut bytes = vec![PROTOCOL_VERSION];
        bytes.extend(postcard::to_stdvec(&Frame::Deflated(deflate(&body).unwrap())).unwrap());
        bytes
    }

    /// Four megabytes of empty membership entries deflate into a few kilobytes; the
    /// list is refused as it passes its bound, not decoded into two million structs.
    #[test]
    fn a_small_frame_does_not_decode_into_millions_of_elements() {
        let flood = empty_entries(2_000_000);
        assert!(flood.len() < 8192, "{}", flood.len());
        assert!(Frame::decode(&flood).is_err());
        assert!(Frame::decode(&empty_entries(MAX_ENTRIES + 1)).is_err());
        let Frame::Members(at_bound) = Frame::decode(&empty_entries(MAX_ENTRIES)).unwrap() else {
            panic!("not entries");
        };
        assert_eq!(at_bound.len(), MAX_ENTRIES);
    }

    #[test]
    fn large_frames_travel_deflated_and_come_back_whole() {
        let frame = changes(50);
        let plain = postcard::to_stdvec(&frame).unwrap().len();
        let bytes = frame.encode();
        assert!(bytes.len() < plain / 2, "{} of {plain}", bytes.len());
        assert_eq!(Frame::decode(&bytes).unwrap(), frame);
        // Small ones are left alone.
        let small = Frame::Prove;
        assert_eq!(
            small.encode(),
            [
                &[PROTOCOL_VERSION][..],
                &postcard::to_stdvec(&small).unwrap()
            ]
            .concat()
        );
    }

    #[test]
    fn bad_deflated_frames_are_refused() {
        let wrap = |inner: Vec<u8>| {
            [
                &[PROTOCOL_VERSION][..],
                &postcard::to_stdvec(&Frame::Deflated(inner)).unwrap(),
            ]
            .concat()
        };
        // Not deflate at all.
        assert!(Frame::decode(&wrap(vec![0xff; 40])).is_err());
        // Deflated twice.
        let once = changes(50).encode();
        let twice = wrap(deflate(&once[1..]).unwrap());
        assert!(Frame::decode(&twice).is_err());
        // A bomb: 64 MiB of zeros in a few kilobytes.
        let bomb = deflate(&vec![0; 64 * 1024 * 1024]).unwrap();
        assert!(bomb.len() < MAX_FRAME);
        assert!(matches!(
            Frame::decode(&wrap(bomb)),
            Err(SyncError::FrameTooLarge(_))
        ));
        // Inflates to garbage.
        assert!(Frame::decode(&wrap(deflate(&[9; 3000]).unwrap())).is_err());
    }
}
