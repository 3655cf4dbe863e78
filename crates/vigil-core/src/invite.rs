//! Invitations: what a newcomer needs to reach a coordinator once and prove it was
//! invited, as one line of text (and a QR code of it).
//!
//! The text is `VIGIL1:` and the base-32 form (RFC 4648, upper case, unpadded) of:
//! team id (32 bytes), the coordinator's device key (32), the secret (32), expiry in
//! Unix seconds (8, big-endian), the role (1), and the coordinator's addresses
//! (count, then 4 or 16 address bytes with a 4/6 tag, and a 2-byte port, each).
//! Upper-case base 32 fits a QR code's compact alphanumeric mode.

use std::net::{IpAddr, SocketAddr};

use vigil_team::Role;
use zeroize::Zeroizing;

use crate::VaultError;
use crate::error::InviteError;
use data_encoding::BASE32_NOPAD;

const PREFIX: &str = "VIGIL1:";
/// An invitation names at most this many addresses.
pub const MAX_ADDRESSES: usize = 8;

/// An invitation to join a team.
#[derive(Clone, PartialEq, Eq)]
pub struct Invite {
    /// The team's id (its founder's device key).
    pub team: [u8; 32],
    /// The inviting coordinator's device key: the newcomer pins it when it connects.
    pub coordinator: [u8; 32],
    /// The one-time secret that proves the invitation.
    pub secret: Zeroizing<[u8; 32]>,
    /// When it stops working, Unix seconds.
    pub expires: i64,
    /// The role the newcomer will have.
    pub role: Role,
    /// Where the coordinator listens.
    pub addresses: Vec<SocketAddr>,
}

impl std::fmt::Debug for Invite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invite")
            .field("role", &self.role)
            .field("expires", &self.expires)
            .field("addresses", &self.addresses)
            .finish_non_exhaustive()
    }
}

fn malformed() -> VaultError {
    InviteError::Incomplete.into()
}

impl Invite {
    /// The invitation as one line of text.
    pub fn encode(&self) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new(Vec::with_capacity(128));
        bytes.extend_from_slice(&self.team);
        bytes.extend_from_slice(&self.coordinator);
        bytes.extend_from_slice(self.secret.as_ref());
        bytes.extend_from_slice(&self.expires.to_be_bytes());
        bytes.push(match self.role {
            Role::Observer => 0,
            Role::Coordinator => 1,
        });
        let addresses = &self.addresses[..self.addresses.len().min(MAX_ADDRESSES)];
        bytes.push(addresses.len() as u8);
        for address in addresses {
            match address.ip() {
                IpAddr::V4(ip) => {
                    bytes.push(4);
                    bytes.extend_from_slice(&ip.octets());
                }
                IpAddr::V6(ip) => {
                    bytes.push(6);
                    bytes.extend_from_slice(&ip.octets());
                }
            }
            bytes.extend_from_slice(&address.port().to_be_bytes());
        }
        let mut text = Zeroizing::new(String::from(PREFIX));
        base32_encode(&bytes, &mut text);
        text
    }

    /// Reads an invitation from its text (spaces and line breaks ignored, any case).
    pub fn decode(text: &str) -> Result<Self, VaultError> {
        let compact: Zeroizing<String> = Zeroizing::new(
            text.chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_uppercase(),
        );
        let body = compact.strip_prefix(PREFIX).ok_or_else(malformed)?;
        let bytes = base32_decode(body).ok_or_else(malformed)?;
        let mut rest: &[u8] = &bytes;
        let mut take = |n: usize| -> Result<&[u8], VaultError> {
            if rest.len() < n {
                return Err(malformed());
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        let array = |s: &[u8]| <[u8; 32]>::try_from(s).map_err(|_| malformed());
        let team = array(take(32)?)?;
        let coordinator = array(take(32)?)?;
        let secret = Zeroizing::new(array(take(32)?)?);
        let expires = i64::from_be_bytes(take(8)?.try_into().map_err(|_| malformed())?);
        let role = match take(1)?[0] {
            0 => Role::Observer,
            1 => Role::Coordinator,
            _ => return Err(malformed()),
        };
        let count = usize::from(take(1)?[0]);
        if count > MAX_ADDRESSES {
            return Err(malformed());
        }
        let mut addresses = Vec::with_capacity(count);
        for _ in 0..count {
            let ip = match take(1)?[0] {
                4 => IpAddr::from(<[u8; 4]>::try_from(take(4)?).map_err(|_| malformed())?),
                6 => IpAddr::from(<[u8; 16]>::try_from(take(16)?).map_err(|_| malformed())?),
                _ => return Err(malformed()),
            };
            let port = u16::from_be_bytes(take(2)?.try_into().map_err(|_| malformed())?);
            addresses.push(SocketAddr::new(ip, port));
        }
        if !rest.is_empty() {
            return Err(malformed());
        }
        Ok(Self {
            team,
            coordinator,
            secret,
            expires,
            role,
            addresses,
        })
    }
}

/// Appends `bytes` as unpadded RFC 4648 base32 (`A`-`Z`, `2`-`7`): what a person
/// can read out and type on a phone's keyboard.
pub(crate) fn base32_encode(bytes: &[u8], out: &mut String) {
    BASE32_NOPAD.encode_append(bytes, out);
}

/// Reads [`base32_encode`]'s text into memory that is wiped when dropped (an
/// invitation's secret, a recovery key); `None` unless it is canonical base32, its
/// leftover bits zero.
pub(crate) fn base32_decode(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let len = BASE32_NOPAD.decode_len(text.len()).ok()?;
    let mut out = Zeroizing::new(vec![0; len]);
    let written = BASE32_NOPAD.decode_mut(text.as_bytes(), &mut out).ok()?;
    out.truncate(written);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Invite {
        Invite {
            team: [1; 32],
            coordinator: [2; 32],
            secret: Zeroizing::new([3; 32]),
            expires: 1_800_000_000,
            role: Role::Observer,
            addresses: vec![
                "192.168.43.1:7447".parse().unwrap(),
                "[fe80::1]:7447".parse().unwrap(),
            ],
        }
    }

    #[test]
    fn an_invite_round_trips_through_its_text() {
        let text = invite().encode();
        assert!(text.starts_with("VIGIL1:"));
        assert!(
            text.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == ':')
        );
        assert_eq!(Invite::decode(&text).unwrap(), invite());
        // As people paste it: wrapped, in lower case.
        let wrapped = format!("  {}\n{} ", &text[..40].to_lowercase(), &text[40..]);
        assert_eq!(Invite::decode(&wrapped).unwrap(), invite());
        assert!(!format!("{:?}", invite()).contains("3, 3"));
    }

    #[test]
    fn a_damaged_invite_is_refused_without_panic() {
        let text = invite().encode();
        for bad in [
            "",
            "VIGIL1:",
            "hello",
            &text[..text.len() - 3],
            &format!("{}A", text.as_str()),
            &text.replace('A', "1"),
            "VIGIL1:77777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777",
        ] {
            assert!(Invite::decode(bad).is_err(), "{bad}");
        }
    }
}
