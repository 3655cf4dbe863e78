//! The core's defaults, so that every shell makes the same choice where a user
//! made none: how long an unlock takes, which statuses a report counts, where a
//! device dials from.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use vigil_crypto::KdfParams;
use vigil_model::Status;

use crate::VaultError;

/// What an unlock costs on the device that creates a vault (at 64 MiB of key
/// stretching): a phone slower than it pays more.
pub const UNLOCK_TARGET: Duration = Duration::from_millis(500);

/// The statuses a report counts when the user names none.
pub const COUNTED_BY_DEFAULT: [Status; 2] = [Status::Submitted, Status::Verified];

/// `statuses`, or [`COUNTED_BY_DEFAULT`] if it names none.
pub fn counted_or_default(statuses: &[Status]) -> Vec<Status> {
    if statuses.is_empty() {
        COUNTED_BY_DEFAULT.to_vec()
    } else {
        statuses.to_vec()
    }
}

/// Key stretching of `memory_mib` MiB of Argon2id (64 if `None`) and `iterations`
/// passes, or, without them, as many passes (at least 3) as make an unlock take
/// [`UNLOCK_TARGET`] on this device. One lane: phones have few cores to spare.
pub fn key_stretching(
    memory_mib: Option<u32>,
    iterations: Option<u32>,
) -> Result<KdfParams, VaultError> {
    let memory_kib = memory_mib.map_or(KdfParams::DEFAULT.memory_kib, |mib| {
        mib.saturating_mul(1024)
    });
    match iterations {
        Some(iterations) => Ok(KdfParams {
            memory_kib,
            iterations,
            lanes: 1,
        }),
        None => crate::calibrated_kdf(memory_kib, UNLOCK_TARGET),
    }
}

/// Whether stretching makes a forced guess of the passphrase cheaper than the
/// default does (less memory): worth a warning to the user who asked for it.
pub fn is_weak_stretching(kdf: &KdfParams) -> bool {
    kdf.memory_kib < KdfParams::DEFAULT.memory_kib
}

/// Where a device that does not serve dials `peer` from: any address of its
/// family, on a port the system picks.
pub fn ephemeral_address(peer: SocketAddr) -> SocketAddr {
    if peer.is_ipv6() {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_report_counts_submitted_and_verified_unless_told() {
        assert_eq!(
            counted_or_default(&[]),
            vec![Status::Submitted, Status::Verified]
        );
        assert_eq!(counted_or_default(&[Status::Draft]), vec![Status::Draft]);
    }

    #[test]
    fn a_device_dials_from_its_peers_address_family() {
        let v4: SocketAddr = "192.168.43.1:7447".parse().unwrap();
        let v6: SocketAddr = "[fe80::1]:7447".parse().unwrap();
        assert!(ephemeral_address(v4).is_ipv4());
        assert!(ephemeral_address(v6).is_ipv6());
        assert_eq!(ephemeral_address(v6).port(), 0);
    }

    #[test]
    fn named_stretching_is_taken_as_it_is() {
        let kdf = key_stretching(Some(8), Some(2)).unwrap();
        assert_eq!((kdf.memory_kib, kdf.iterations, kdf.lanes), (8192, 2, 1));
        assert!(is_weak_stretching(&kdf));
    }
}
