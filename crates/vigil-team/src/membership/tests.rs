use proptest::prelude::*;

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
    let (mut roster, _) =
        Roster::found(&founder, "hq", &DeviceKey::generate().public(), 1).unwrap();
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
    let (mut roster, _) =
        Roster::found(&founder, "hq", &DeviceKey::generate().public(), 1).unwrap();
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
    let (roster, founding) =
        Roster::found(&founder, "hq", &DeviceKey::generate().public(), 1).unwrap();
    let mut bytes = founding.bytes.clone();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(SignedEntry::decode(&bytes, &founding.signature).is_err());
    assert!(SignedEntry::decode(b"garbage", &founding.signature).is_err());
    let (_, other_founding) = Roster::found(
        &DeviceKey::generate(),
        "hq",
        &DeviceKey::generate().public(),
        1,
    )
    .unwrap();
    let mut r = roster.clone();
    assert_eq!(r.insert(other_founding), Err(Refusal::OtherTeam));
}

#[test]
fn an_entry_without_its_history_waits() {
    let founder = DeviceKey::generate();
    let (mut full, founding) =
        Roster::found(&founder, "hq", &DeviceKey::generate().public(), 1).unwrap();
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
    let (mut base, _) = Roster::found(&a, "a", &DeviceKey::generate().public(), 1).unwrap();
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
    // Void on arrival from a revoked signer, so not kept.
    assert_eq!(two.insert(by_b), Err(Refusal::RevokedAuthor));
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
    let (mut r, _) = Roster::found(&a, "a", &DeviceKey::generate().public(), 1).unwrap();
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
    let (mut base, _) = Roster::found(&a, "a", &DeviceKey::generate().public(), 1).unwrap();
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
    assert_eq!(two.insert(by_a), Err(Refusal::RevokedAuthor));
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
    let (mut r, _) = Roster::found(&a, "a", &DeviceKey::generate().public(), 1).unwrap();
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

/// Every entry of `roster` as stored rows, in the order given.
fn rows_of(entries: &[&SignedEntry]) -> Vec<MemberEntryRow> {
    entries.iter().map(|e| e.to_row()).collect()
}

/// A team with a founder, a deputy and a third coordinator; the founder's phone is
/// seized and the deputy revokes it. Returns the keys and the roster after the
/// revocation, with the founding entry.
struct Seized {
    founder: DeviceKey,
    deputy: DeviceKey,
    third: DeviceKey,
    honest: Roster,
    founding: SignedEntry,
}

fn seized_founder() -> Seized {
    let founder = DeviceKey::generate();
    let deputy = DeviceKey::generate();
    let third = DeviceKey::generate();
    let (mut honest, founding) =
        Roster::found(&founder, "hq", &DeviceKey::generate().public(), 1).unwrap();
    for k in [&deputy, &third] {
        honest
            .insert(
                honest
                    .make_entry(&founder, add(k, Role::Coordinator), 2)
                    .unwrap(),
            )
            .unwrap();
    }
    honest
        .insert(honest.make_entry(&deputy, revoke(&founder), 3).unwrap())
        .unwrap();
    Seized {
        founder,
        deputy,
        third,
        honest,
        founding,
    }
}

/// An entry signed by `signer` naming exactly `deps`, whatever it had seen.
fn forged(
    roster: &Roster,
    signer: &DeviceKey,
    deps: &[&SignedEntry],
    action: Action,
) -> SignedEntry {
    let entry = Entry {
        team: roster.team(),
        signer: key(signer),
        deps: deps.iter().map(|d| d.hash).collect(),
        clock: deps.iter().map(|d| d.entry.clock + 1).max().unwrap_or(0),
        time: 5,
        action,
    };
    SignedEntry::sign(entry, signer).unwrap()
}

/// The takeover an adversarial review found: the seized founder revokes the deputy
/// naming only the founding entry, so that its low clock reads first. Revoking each
/// other, both lose the role; the thief gains nothing and the third coordinator,
/// whom it also tries to revoke, keeps it.
#[test]
fn a_thief_revoking_its_revoker_from_the_past_takes_nothing_over() {
    let s = seized_founder();
    let mut attacked = s.honest.clone();
    let founding = s.founding.clone();
    // Revoking the deputy, which revoked it, stands (rule 5) and is kept; revoking
    // the third coordinator is void and refused.
    attacked
        .insert(forged(
            &attacked,
            &s.founder,
            &[&founding],
            revoke(&s.deputy),
        ))
        .unwrap();
    assert_eq!(
        attacked.insert(forged(
            &attacked,
            &s.founder,
            &[&founding],
            revoke(&s.third)
        )),
        Err(Refusal::RevokedAuthor)
    );
    assert_eq!(attacked.role_of(&key(&s.deputy)), None);
    assert_eq!(attacked.role_of(&key(&s.founder)), None);
    assert_eq!(attacked.role_of(&key(&s.third)), Some(Role::Coordinator));
    let active: Vec<_> = attacked
        .members()
        .filter(|m| !m.revoked && m.role == Role::Coordinator)
        .map(|m| m.device)
        .collect();
    assert_eq!(active, vec![key(&s.third)]);
}

/// The thief founds a rival team under the same id, with the founder's key: a
/// second founding entry, and a device of its own admitted on it. Neither is taken,
/// nor does the rival proof admit a stranger.
#[test]
fn a_second_founding_entry_founds_nothing() {
    let s = seized_founder();
    let mut attacked = s.honest.clone();
    let rival = forged(
        &attacked,
        &s.founder,
        &[],
        Action::Add {
            device: key(&s.founder),
            role: Role::Coordinator,
            label: "rival".into(),
        },
    );
    let stranger = DeviceKey::generate();
    let admit = forged(
        &attacked,
        &s.founder,
        &[&rival],
        add(&stranger, Role::Coordinator),
    );
    let proof = [&rival, &admit].map(|e| (e.bytes.as_slice(), e.signature.as_slice()));
    assert!(!attacked.would_admit(proof, &key(&stranger)));
    assert!(matches!(
        attacked.insert(rival.clone()),
        Err(Refusal::Malformed(_))
    ));
    assert_eq!(attacked.insert(admit), Err(Refusal::MissingHistory));
    assert_eq!(attacked.entries().len(), s.honest.entries().len());
    assert_eq!(attacked.role_of(&key(&s.deputy)), Some(Role::Coordinator));
}

/// The thief makes itself an accomplice from the past (a coordinator it adds,
/// naming only the founding entry) and has the accomplice revoke the deputy: the
/// accomplice's authority is void with everything the thief signed unseen, and it
/// can revoke no coordinator but the one that revoked the thief.
#[test]
fn a_coordinator_made_by_a_revoked_key_revokes_no_one() {
    let s = seized_founder();
    let accomplice = DeviceKey::generate();
    let promote = forged(
        &s.honest,
        &s.founder,
        &[&s.founding],
        add(&accomplice, Role::Coordinator),
    );
    let mut entries: Vec<SignedEntry> = s.honest.entries().into_iter().cloned().collect();
    entries.push(promote.clone());
    for target in [&s.deputy, &s.third] {
        entries.push(forged(&s.honest, &accomplice, &[&promote], revoke(target)));
    }
    // A device that already holds the revocation refuses the promotion, and then the
    // accomplice's entries; one that stored them before reads them as void.
    let mut late = s.honest.clone();
    assert_eq!(late.insert(promote.clone()), Err(Refusal::RevokedAuthor));
    assert_eq!(
        late.insert(entries[entries.len() - 1].clone()),
        Err(Refusal::MissingHistory)
    );
    let (attacked, skipped) = Roster::from_rows(
        s.honest.team(),
        &rows_of(&entries.iter().collect::<Vec<_>>()),
    );
    assert_eq!(skipped, 0);
    assert_eq!(attacked.role_of(&key(&accomplice)), None);
    assert_eq!(attacked.role_of(&key(&s.founder)), None);
    // Like the thief's own counter-revocation, the accomplice's costs the deputy its
    // role (rule 5: revocations that break each other both stand); the coordinator
    // who did not revoke the thief keeps its.
    assert_eq!(attacked.role_of(&key(&s.deputy)), None);
    assert_eq!(attacked.role_of(&key(&s.third)), Some(Role::Coordinator));
}

/// What the thief signs: an action by one of its keys on one of the keys it
/// knows, naming a choice of the entries that exist.
#[derive(Debug, Clone)]
struct Move {
    signer: usize,
    deps: Vec<usize>,
    target: usize,
    revoke: bool,
    coordinator: bool,
}

fn moves(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Move>> {
    prop::collection::vec(
        (
            0usize..6,
            prop::collection::vec(0usize..64, 1..4),
            0usize..8,
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(signer, deps, target, revoke, coordinator)| Move {
                signer,
                deps,
                target,
                revoke,
                coordinator,
            }),
        len,
    )
}

fn play(
    roster: &mut Roster,
    known: &mut Vec<SignedEntry>,
    signed: &mut Vec<SignedEntry>,
    signers: &[&DeviceKey],
    targets: &[&DeviceKey],
    moves: &[Move],
) {
    for m in moves {
        let deps: Vec<&SignedEntry> = m.deps.iter().map(|d| &known[d % known.len()]).collect();
        let target = targets[m.target % targets.len()];
        let action = if m.revoke {
            revoke(target)
        } else {
            add(
                target,
                if m.coordinator {
                    Role::Coordinator
                } else {
                    Role::Observer
                },
            )
        };
        let entry = forged(roster, signers[m.signer % signers.len()], &deps, action);
        signed.push(entry.clone());
        if roster.insert(entry.clone()).is_ok() {
            known.push(entry);
        }
    }
}

mod adversary {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Once the deputy's revocation of the seized founder is known, nothing the
        /// thief signs, with whatever deps, makes it or a key it made an active
        /// coordinator, or costs the third coordinator its role; and every order of
        /// arrival reads the same team.
        #[test]
        fn a_revoked_key_holder_gains_nothing(moves in moves(1..12), seed in any::<u64>()) {
            let s = seized_founder();
            // Keys the thief signs with: the seized one and three it makes.
            let made: Vec<DeviceKey> = (0..3).map(|_| DeviceKey::generate()).collect();
            let signers: Vec<&DeviceKey> =
                std::iter::once(&s.founder).chain(made.iter()).collect();
            // Keys it acts on: the honest ones and its own.
            let targets: Vec<&DeviceKey> = [&s.deputy, &s.third, &s.founder]
                .into_iter()
                .chain(made.iter())
                .collect();
            let mut roster = s.honest.clone();
            // The thief never names the revocation of its key.
            let revocation = *roster.entries().last().unwrap();
            let revocation = revocation.clone();
            let mut known: Vec<SignedEntry> = roster
                .entries()
                .into_iter()
                .filter(|e| e.hash != revocation.hash)
                .cloned()
                .collect();
            let mut signed: Vec<SignedEntry> = Vec::new();
            play(&mut roster, &mut known, &mut signed, &signers, &targets, &moves);
            // A device that stored every entry the thief signed before the
            // revocation reached it reads the same team as one that refused the
            // void ones.
            let mut all = s.honest.entries();
            all.extend(signed.iter());
            let (early, _) = Roster::from_rows(roster.team(), &rows_of(&all));
            prop_assert_eq!(
                early.members().cloned().collect::<Vec<_>>(),
                roster.members().cloned().collect::<Vec<_>>()
            );
            for k in &signers {
                prop_assert_eq!(roster.role_of(&key(k)), None);
            }
            prop_assert_eq!(roster.role_of(&key(&s.third)), Some(Role::Coordinator));
            // Convergence: the same entries in any order read the same team.
            let mut rows = rows_of(&roster.entries());
            let mut state = seed;
            for i in (1..rows.len()).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                rows.swap(i, (state >> 33) as usize % (i + 1));
            }
            let (back, skipped) = Roster::from_rows(roster.team(), &rows);
            prop_assert_eq!(skipped, 0);
            prop_assert_eq!(
                back.members().cloned().collect::<Vec<_>>(),
                roster.members().cloned().collect::<Vec<_>>()
            );
        }
    }
}

/// A device made coordinator, then observer, then revoked: its changes dated
/// before the cutoff are judged by the least role it held, not the first.
#[test]
fn a_revoked_device_is_judged_by_its_least_role() {
    let founder = DeviceKey::generate();
    let deputy = DeviceKey::generate();
    let (mut r, _) = Roster::found(&founder, "hq", &DeviceKey::generate().public(), 1).unwrap();
    for (role, time) in [(Role::Coordinator, 2), (Role::Observer, 3)] {
        r.insert(r.make_entry(&founder, add(&deputy, role), time).unwrap())
            .unwrap();
    }
    r.insert(r.make_entry(&founder, revoke(&deputy), 4).unwrap())
        .unwrap();
    assert!(r.is_revoked(&key(&deputy)));
    assert_eq!(r.role_given(&key(&deputy)), Some(Role::Observer));
}

/// Every coordinator seized: the thief holds the founder's, the deputy's and the
/// third coordinator's keys. The recovery key, on an observer's phone, revokes
/// every device that was ever a coordinator and appoints a new one.
mod recovery {
    use proptest::prelude::*;

    use super::*;

    struct Team {
        founder: DeviceKey,
        deputy: DeviceKey,
        third: DeviceKey,
        recovery: DeviceKey,
        roster: Roster,
    }

    fn team() -> Team {
        let founder = DeviceKey::generate();
        let deputy = DeviceKey::generate();
        let third = DeviceKey::generate();
        let recovery = DeviceKey::generate();
        let (mut roster, _) = Roster::found(&founder, "hq", &recovery.public(), 1).unwrap();
        for k in [&deputy, &third] {
            let e = roster
                .make_entry(&founder, add(k, Role::Coordinator), 2)
                .unwrap();
            roster.insert(e).unwrap();
        }
        Team {
            founder,
            deputy,
            third,
            recovery,
            roster,
        }
    }

    /// What `vigil team recover` signs: a revocation of every device ever made
    /// coordinator, then the appointment of `appointee`.
    fn recover(roster: &mut Roster, recovery: &DeviceKey, appointee: &DeviceKey) {
        let mut ever: Vec<[u8; 32]> = roster.ever_coordinators().copied().collect();
        ever.sort();
        for device in ever {
            // Already revoked ones too: a revocation by another coordinator may
            // fall to a later one, the recovery key's never does.
            let e = roster
                .make_entry(recovery, Action::Revoke { device, cutoff: 50 }, 50)
                .unwrap();
            roster.insert(e).unwrap();
        }
        let e = roster
            .make_entry(recovery, add(appointee, Role::Coordinator), 51)
            .unwrap();
        roster.insert(e).unwrap();
    }

    fn active_coordinators(roster: &Roster) -> Vec<[u8; 32]> {
        roster
            .members()
            .filter(|m| !m.revoked && m.role == Role::Coordinator)
            .map(|m| m.device)
            .collect()
    }

    #[test]
    fn the_recovery_key_starts_the_coordinators_over() {
        let mut t = team();
        let observer = DeviceKey::generate();
        let e = t
            .roster
            .make_entry(&t.founder, add(&observer, Role::Observer), 3)
            .unwrap();
        t.roster.insert(e).unwrap();
        assert_eq!(t.roster.recovery_key(), Some(key(&t.recovery)));
        recover(&mut t.roster, &t.recovery, &observer);
        assert_eq!(active_coordinators(&t.roster), vec![key(&observer)]);
        assert!(t.roster.members().all(|m| m.device != key(&t.recovery)));
        // The appointed observer now signs entries that count.
        let newcomer = DeviceKey::generate();
        let e = t
            .roster
            .make_entry(&observer, add(&newcomer, Role::Observer), 60)
            .unwrap();
        t.roster.insert(e).unwrap();
        assert_eq!(t.roster.role_of(&key(&newcomer)), Some(Role::Observer));
        // The roster reads back alike from its rows, and binds the same key.
        let (back, skipped) = Roster::from_rows(t.roster.team(), &rows_of(&t.roster.entries()));
        assert_eq!(skipped, 0);
        assert_eq!(back.recovery_key(), Some(key(&t.recovery)));
        assert_eq!(active_coordinators(&back), vec![key(&observer)]);
    }

    #[test]
    fn no_coordinator_can_revoke_or_admit_the_recovery_key() {
        let t = team();
        for action in [
            revoke(&t.recovery),
            add(&t.recovery, Role::Coordinator),
            Action::Found {
                label: "again".into(),
                recovery: key(&DeviceKey::generate()),
            },
        ] {
            let e = t.roster.make_entry(&t.deputy, action, 3).unwrap();
            assert!(
                matches!(t.roster.clone().insert(e), Err(Refusal::Malformed(_))),
                "refused"
            );
        }
        // A key that is not the team's recovery key signs nothing.
        let other = DeviceKey::generate();
        let e = t.roster.make_entry(&other, revoke(&t.deputy), 3).unwrap();
        assert_eq!(t.roster.clone().insert(e), Err(Refusal::NotCoordinator));
    }

    /// The thief, before the recovery, raises its clock with a chain of entries and
    /// adds the future appointee as an observer, on the appointee's device only.
    /// After the recovery appoints it, what the appointee signs counts there: the
    /// thief's later-clocked `Add` is not its authority.
    #[test]
    fn a_thiefs_high_clock_add_does_not_undo_an_appointment() {
        let mut t = team();
        let appointee = DeviceKey::generate();
        let e = t
            .roster
            .make_entry(&t.founder, add(&appointee, Role::Observer), 3)
            .unwrap();
        t.roster.insert(e).unwrap();
        let mut on_appointee = t.roster.clone();
        for _ in 0..5 {
            let dummy = DeviceKey::generate();
            let e = on_appointee
                .make_entry(&t.founder, add(&dummy, Role::Observer), 4)
                .unwrap();
            on_appointee.insert(e).unwrap();
        }
        let demote = on_appointee
            .make_entry(&t.founder, add(&appointee, Role::Observer), 5)
            .unwrap();
        on_appointee.insert(demote).unwrap();
        // The recovery, on a device that never saw the thief's chain.
        let mut recovering = t.roster.clone();
        recover(&mut recovering, &t.recovery, &appointee);
        for e in recovering.entries() {
            let _ = on_appointee.insert(e.clone());
        }
        assert_eq!(active_coordinators(&on_appointee), vec![key(&appointee)]);
        let newcomer = DeviceKey::generate();
        let e = on_appointee
            .make_entry(&appointee, add(&newcomer, Role::Observer), 60)
            .unwrap();
        on_appointee.insert(e).unwrap();
        assert_eq!(on_appointee.role_of(&key(&newcomer)), Some(Role::Observer));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Invariant (d): whatever the thief holding every coordinator's key signs
        /// before the recovery and after it (knowing of it, naming any entries), once
        /// the recovery reaches a device no key of the thief's is an active
        /// coordinator there, the appointee is, and every arrival order agrees.
        #[test]
        fn a_team_with_every_coordinator_seized_recovers(
            before in moves(0..10),
            after in moves(1..10),
            seed in any::<u64>(),
        ) {
            let mut t = team();
            let made: Vec<DeviceKey> = (0..3).map(|_| DeviceKey::generate()).collect();
            let appointee = DeviceKey::generate();
            let signers: Vec<&DeviceKey> = [&t.founder, &t.deputy, &t.third]
                .into_iter()
                .chain(made.iter())
                .collect();
            let mut targets = signers.clone();
            let mut known: Vec<SignedEntry> =
                t.roster.entries().into_iter().cloned().collect();
            let mut signed = Vec::new();
            let mut roster = t.roster.clone();
            play(&mut roster, &mut known, &mut signed, &signers, &targets, &before);
            recover(&mut roster, &t.recovery, &appointee);
            known = roster.entries().into_iter().cloned().collect();
            targets.push(&appointee);
            play(&mut roster, &mut known, &mut signed, &signers, &targets, &after);
            t.roster = roster;

            prop_assert_eq!(active_coordinators(&t.roster), vec![key(&appointee)]);
            // A device that also stored what the thief signed and this one refused
            // reads the same team.
            let mut all = t.roster.entries();
            all.extend(signed.iter());
            let (early, _) = Roster::from_rows(t.roster.team(), &rows_of(&all));
            prop_assert_eq!(active_coordinators(&early), vec![key(&appointee)]);
            // Convergence: the same entries in any order read the same team.
            let mut rows = rows_of(&t.roster.entries());
            let mut state = seed;
            for i in (1..rows.len()).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                rows.swap(i, (state >> 33) as usize % (i + 1));
            }
            let (back, skipped) = Roster::from_rows(t.roster.team(), &rows);
            prop_assert_eq!(skipped, 0);
            prop_assert_eq!(
                back.members().cloned().collect::<Vec<_>>(),
                t.roster.members().cloned().collect::<Vec<_>>()
            );
        }
    }
}
