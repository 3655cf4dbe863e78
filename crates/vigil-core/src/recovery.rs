//! The team's recovery key as a person keeps it: a code printed once, when the team
//! is founded, and typed back in only when every coordinator is seized or lost.
//!
//! The code is `VIGILR1-` and the base-32 form (RFC 4648 alphabet, as invitations)
//! of the key's 32 secret bytes and a 2-byte checksum, in groups of five letters so
//! that it can be copied by hand and read back over a phone line. The checksum
//! catches a mistyped group before anything is signed with a wrong key.

use sha2::{Digest, Sha256};
use vigil_crypto::DeviceKey;
use zeroize::Zeroizing;

use crate::VaultError;
use crate::invite::{base32_decode, base32_encode};

const PREFIX: &str = "VIGILR1";
const CHECKSUM_CONTEXT: &[u8] = b"vigil/recovery/v1\0";
const GROUP: usize = 5;

/// The code of a recovery key, to show once and never store.
pub struct RecoveryCode(Zeroizing<String>);

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

fn checksum(secret: &[u8]) -> [u8; 2] {
    let digest = Sha256::digest([CHECKSUM_CONTEXT, secret].concat());
    [digest[0], digest[1]]
}

impl RecoveryCode {
    /// The code of `key`.
    pub(crate) fn of(key: &DeviceKey) -> Self {
        let secret = key.to_secret_bytes();
        let mut bytes = Zeroizing::new(secret.to_vec());
        bytes.extend_from_slice(&checksum(secret.as_ref()));
        let mut body = Zeroizing::new(String::new());
        base32_encode(&bytes, &mut body);
        let mut text = Zeroizing::new(String::from(PREFIX));
        for (i, c) in body.chars().enumerate() {
            if i % GROUP == 0 {
                text.push('-');
            }
            text.push(c);
        }
        Self(text)
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key a typed code stands for (spaces, dashes and case ignored). Shells
    /// pass the code to [`crate::Vault::recover`]; this is for tests and fuzzing.
    pub fn read(text: &str) -> Result<DeviceKey, VaultError> {
        let compact = Zeroizing::new(
            text.chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .collect::<String>()
                .to_ascii_uppercase(),
        );
        let damaged =
            || VaultError::BadRecoveryCode("it is incomplete or mistyped; check each group");
        let body = compact.strip_prefix(PREFIX).ok_or_else(damaged)?;
        let bytes = base32_decode(body).ok_or_else(damaged)?;
        if bytes.len() != 34 || checksum(&bytes[..32]) != bytes[32..] {
            return Err(damaged());
        }
        DeviceKey::from_secret_bytes(&bytes[..32]).map_err(|_| damaged())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_back_as_its_key_however_it_is_typed() {
        let key = DeviceKey::generate();
        let code = RecoveryCode::of(&key);
        assert!(code.as_str().starts_with("VIGILR1-"));
        let back = RecoveryCode::read(code.as_str()).unwrap();
        assert_eq!(back.public(), key.public());
        let typed = code.as_str().to_lowercase().replace('-', " ");
        assert_eq!(RecoveryCode::read(&typed).unwrap().public(), key.public());
        assert_eq!(format!("{code:?}"), "RecoveryCode(..)");
    }

    #[test]
    fn a_mistyped_code_is_refused() {
        let code = RecoveryCode::of(&DeviceKey::generate());
        let text = code.as_str();
        // One letter changed in any place is caught by the checksum or the alphabet.
        for i in 8..text.len() {
            if text.as_bytes()[i] == b'-' {
                continue;
            }
            let mut typo = text.as_bytes().to_vec();
            typo[i] = if typo[i] == b'A' { b'B' } else { b'A' };
            let typo = String::from_utf8(typo).unwrap();
            assert!(RecoveryCode::read(&typo).is_err(), "{i}");
        }
        for bad in [
            "",
            "VIGILR1",
            "VIGILR1-AAAAA",
            &text[..text.len() - 1],
            "VIGIL1:AAAA",
        ] {
            assert!(RecoveryCode::read(bad).is_err(), "{bad}");
        }
    }
}
