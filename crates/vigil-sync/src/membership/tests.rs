use super::*;

fn add(device: &DeviceKey, role: Role) -> Action {
    Action::Add {
        device: device.public().to_bytes(),
        role,
        label: "phone".into(),
    }
}

fn revoke(device: &DeviceKey) -> Action {
    Action::Revoke {
        device: device.public().to_bytes(),
        cutoff: 100,
    }
}

fn key(k: &DeviceKey) -> [u8; 32] {
    k.public().to_bytes()
}

#[test]
fn the_founder_admits_and_revokes() {
    let founder = DeviceKey::generate();
    let observer = DeviceKey::generate();
    let (mut roster, _) = Roster::found(&founder, "hq", 1).unwrap();
    assert_eq!(roster.role_of(&key(&founder)), Some(Role::Coordinator));
    let e = roster
        .make_entry(&founder, add(&observer, Role::Observer), 2)
        .unwrap();
    roster.insert(e).unwrap();
    assert_eq!(roster.role_of(&key(&observer)), Some(Role::Observer));
    let e = roster.make_entry(&founder, revoke(&observer), 3).unwrap();
    roster.insert(e).unwrap();
    assert_eq!(roster.role_of(&key(&observer)), None);
    assert!(roster.is_revoked(&key(&observer)));
    assert!(
        roster.vouches_for(&key(&observer), 99),
        "made before the cutoff"
    );
    assert!(!roster.vouches_for(&key(&observer), 100));
    assert!(!roster.vouches_for(&key(&DeviceKey::generate()), 0));
    // Revocation is final.
    let e = roster
        .make_entry(&founder, add(&observer, Role::Observer), 4)
        .unwrap();
    roster.insert(e).unwrap();
    assert_eq!(roster.role_of(&key(&observer)), None);
}

#[test]
fn observers_and_strangers_cannot_sign_entries() {
    let founder = DeviceKey::generate();
    let observer = DeviceKey::generate();
    let stranger = DeviceKey::generate();
    let (mut roster, _) = Roster::found(&founder, "hq", 1).unwrap();
    roster
        .insert(
            roster
                .make_entry(&founder, add(&observer, Role::Observer), 2)
                .unwrap(),
        )
        .unwrap();
    for signer in [&observer, &stranger] {
        let e = roster
            .make_entry(signer, add(&stranger, Role::Coordinator), 3)
            .unwrap();
        assert_eq!(roster.insert(e), Err(Refusal::NotCoordinator));
    }
    assert_eq!(roster.role_of(&key(&stranger)), None);
}

#[test]
fn a_tampered_or_foreign_entry_is_refused() {
    let founder = DeviceKey::generate();
    let (roster, founding) = Roster::found(&founder, "hq", 1).unwrap();
    let mut bytes = founding.bytes.clone();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(SignedEntry::decode(&bytes, &founding.signature).is_err());
    assert!(SignedEntry::decode(b"garbage", &founding.signature).is_err());
    let (_, other_founding) = Roster::found(&DeviceKey::generate(), "hq", 1).unwrap();
    let mut r = roster.clone();
    assert_eq!(r.insert(other_founding), Err(Refusal::OtherTeam));
}

#[test]
fn an_entry_without_its_history_waits() {
    let founder = DeviceKey::generate();
    let (mut full, founding) = Roster::found(&founder, "hq", 1).unwrap();
    let e = full
        .make_entry(&founder, add(&DeviceKey::generate(), Role::Observer), 2)
        .unwrap();
    full.insert(e.clone()).unwrap();
    let mut fresh = Roster::new(key(&founder));
    assert_eq!(fresh.insert(e.clone()), Err(Refusal::MissingHistory));
    fresh.insert(founding).unwrap();
    assert_eq!(fresh.insert(e), Ok(true));
}

/// Coordinator B adds a device while coordinator C, concurrently, revokes B: the
/// add is void, in whichever order a device learns of the two.
#[test]
fn concurrent_add_and_revoke_converge_with_revoke_winning() {
    let a = DeviceKey::generate();
    let b = DeviceKey::generate();
    let c = DeviceKey::generate();
    let newcomer = DeviceKey::generate();
    let (mut base, _) = Roster::found(&a, "a", 1).unwrap();
    for k in [&b, &c] {
        base.insert(base.make_entry(&a, add(k, Role::Coordinator), 2).unwrap())
            .unwrap();
    }
    let by_b = base
        .make_entry(&b, add(&newcomer, Role::Observer), 3)
        .unwrap();
    let by_c = base.make_entry(&c, revoke(&b), 3).unwrap();
    let mut one = base.clone();
    one.insert(by_b.clone()).unwrap();
    one.insert(by_c.clone()).unwrap();
    let mut two = base.clone();
    two.insert(by_c).unwrap();
    two.insert(by_b).unwrap();
    for r in [&one, &two] {
        assert_eq!(r.role_of(&key(&newcomer)), None);
        assert!(r.is_revoked(&key(&b)));
        assert_eq!(r.role_of(&key(&c)), Some(Role::Coordinator));
    }
    assert_eq!(
        one.members().cloned().collect::<Vec<_>>(),
        two.members().cloned().collect::<Vec<_>>()
    );
}

/// What a coordinator did before its revocation, and the revoker had seen, stands.
#[test]
fn a_revoked_coordinators_earlier_entries_stand() {
    let a = DeviceKey::generate();
    let b = DeviceKey::generate();
    let observer = DeviceKey::generate();
    let (mut r, _) = Roster::found(&a, "a", 1).unwrap();
    r.insert(r.make_entry(&a, add(&b, Role::Coordinator), 2).unwrap())
        .unwrap();
    r.insert(r.make_entry(&b, add(&observer, Role::Observer), 3).unwrap())
        .unwrap();
    r.insert(r.make_entry(&a, revoke(&b), 4).unwrap()).unwrap();
    assert_eq!(r.role_of(&key(&observer)), Some(Role::Observer));
    assert!(r.is_revoked(&key(&b)));
    // No device revokes itself.
    r.insert(r.make_entry(&a, revoke(&a), 5).unwrap()).unwrap();
    assert_eq!(r.role_of(&key(&a)), Some(Role::Coordinator));
}

/// A seized founder is revoked like any coordinator: what it signs afterwards, or
/// concurrently, is void; the team goes on under the other coordinator.
#[test]
fn the_founder_can_be_revoked_by_another_coordinator() {
    let a = DeviceKey::generate();
    let b = DeviceKey::generate();
    let (mut base, _) = Roster::found(&a, "a", 1).unwrap();
    base.insert(base.make_entry(&a, add(&b, Role::Coordinator), 2).unwrap())
        .unwrap();
    let thief = DeviceKey::generate();
    // Concurrently: the founder's phone, now a thief's, adds a device and revokes b;
    // b revokes the founder.
    let by_a = base
        .make_entry(&a, add(&thief, Role::Coordinator), 3)
        .unwrap();
    let by_b = base.make_entry(&b, revoke(&a), 3).unwrap();
    let mut one = base.clone();
    one.insert(by_a.clone()).unwrap();
    one.insert(by_b.clone()).unwrap();
    let mut two = base.clone();
    two.insert(by_b).unwrap();
    two.insert(by_a).unwrap();
    for r in [&one, &two] {
        assert!(r.is_revoked(&key(&a)));
        assert_eq!(r.role_of(&key(&thief)), None);
        assert_eq!(r.role_of(&key(&b)), Some(Role::Coordinator));
        assert_eq!(r.team(), key(&a), "the team keeps its id");
    }
}

#[test]
fn a_roster_reads_back_from_its_rows() {
    let a = DeviceKey::generate();
    let (mut r, _) = Roster::found(&a, "a", 1).unwrap();
    r.insert(
        r.make_entry(&a, add(&DeviceKey::generate(), Role::Observer), 2)
            .unwrap(),
    )
    .unwrap();
    let mut rows: Vec<MemberEntryRow> = r.entries().iter().map(|e| e.to_row()).collect();
    rows.reverse();
    rows.push(MemberEntryRow {
        hash: [0; 32],
        time: 0,
        bytes: b"junk".to_vec(),
        signature: [0; 64],
    });
    let (back, skipped) = Roster::from_rows(key(&a), &rows);
    assert_eq!(skipped, 1);
    assert_eq!(
        back.members().cloned().collect::<Vec<_>>(),
        r.members().cloned().collect::<Vec<_>>()
    );
}
