use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;

type Item = (u64, [u8; 32]);

fn hash(i: u64, salt: u64) -> [u8; 32] {
    Sha256::digest([i.to_le_bytes(), salt.to_le_bytes()].concat()).into()
}

/// Ten thousand items, one every 30 seconds.
fn base() -> Vec<(u64, [u8; 32])> {
    (0..10_000)
        .map(|i| (1_600_000_000 + i * 30, hash(i, 1)))
        .collect()
}

struct Outcome {
    round_trips: usize,
    bytes: usize,
    /// What each side ends up holding, if it takes what it learns it lacks.
    a: BTreeSet<[u8; 32]>,
    b: BTreeSet<[u8; 32]>,
}

fn size(ranges: &[Range]) -> usize {
    postcard::to_stdvec(ranges).unwrap().len()
}

/// Runs the protocol between an initiator holding `a` and a responder holding `b`.
fn run(a: &[(u64, [u8; 32])], b: &[(u64, [u8; 32])]) -> Outcome {
    let mut ia = Items::new(a.to_vec());
    let mut ib = Items::new(b.to_vec());
    let mut held_a: BTreeSet<[u8; 32]> = a.iter().map(|(_, h)| *h).collect();
    let mut held_b: BTreeSet<[u8; 32]> = b.iter().map(|(_, h)| *h).collect();
    let mut message = ia.initial();
    let mut out = Outcome {
        round_trips: 0,
        bytes: size(&message),
        a: BTreeSet::new(),
        b: BTreeSet::new(),
    };
    loop {
        out.round_trips += 1;
        assert!(out.round_trips < 20, "does not terminate");
        let step = ib.reply(&message).unwrap();
        held_a.extend(step.they_lack.iter().copied());
        held_b.extend(ia.resolve(&step.we_lack));
        out.bytes += size(&step.ranges);
        if step.ranges.is_empty() {
            break;
        }
        let step = ia.reply(&step.ranges).unwrap();
        held_b.extend(step.they_lack.iter().copied());
        held_a.extend(ib.resolve(&step.we_lack));
        if step.ranges.is_empty() {
            break;
        }
        out.bytes += size(&step.ranges);
        message = step.ranges;
    }
    out.a = held_a;
    out.b = held_b;
    out
}

#[test]
fn in_sync_costs_one_round_trip_and_few_bytes() {
    let items = base();
    let out = run(&items, &items);
    assert_eq!(out.round_trips, 1);
    assert!(out.bytes < 600, "{}", out.bytes);
}

#[test]
fn recent_changes_on_the_responder_take_two_round_trips() {
    let mut newer = base();
    newer.extend((0..100).map(|k| (1_700_000_000 + k, hash(k, 2))));
    let out = run(&base(), &newer);
    assert_eq!(out.a, out.b);
    // The second round trip carries the changes themselves.
    assert!(out.round_trips <= 2, "{}", out.round_trips);
    assert!(out.bytes < 6_000, "{}", out.bytes);
}

/// Twenty thousand items, two per incident as imports make them, and a hundred
/// edits spread over the incidents, all newer than anything else.
fn two_per_incident() -> (Vec<Item>, Vec<Item>) {
    let base: Vec<Item> = (0..20_000)
        .map(|i| (1_600_000_000 + i / 2 * 30, hash(i, 4)))
        .collect();
    let mut edited = base.clone();
    edited.extend((0..100).map(|k| (1_700_000_000 + k, hash(k, 5))));
    (base, edited)
}

#[test]
fn a_hundred_edits_either_way_take_two_round_trips() {
    let (base, edited) = two_per_incident();
    // Pulled: the second round trip carries the changes.
    let pull = run(&base, &edited);
    assert_eq!(pull.a, pull.b);
    assert!(pull.round_trips <= 2, "{}", pull.round_trips);
    // Pushed: the initiator learns what the responder lacks from the first answer
    // (the session's second round trip carries the changes and the last word).
    let push = run(&edited, &base);
    assert_eq!(push.a, push.b);
    assert_eq!(push.round_trips, 1);
    assert!(
        pull.bytes < 4_000 && push.bytes < 4_000,
        "{} {}",
        pull.bytes,
        push.bytes
    );
}

#[test]
fn an_empty_device_gets_everything_in_one_round_trip() {
    let out = run(&[], &base());
    assert_eq!(out.round_trips, 1);
    assert_eq!(out.a.len(), 10_000);
    let out = run(&base(), &[]);
    assert_eq!(out.b.len(), 10_000);
}

#[test]
fn malformed_messages_are_errors() {
    let items = Items::new(base());
    assert!(items.reply(&[]).is_err());
    let open_ended = Range {
        upper: Bound {
            time: 5,
            prefix: vec![],
        },
        mode: Mode::Skip,
    };
    assert!(items.reply(std::slice::from_ref(&open_ended)).is_err());
    let backwards = vec![
        Range {
            upper: Bound {
                time: 9,
                prefix: vec![],
            },
            mode: Mode::Skip,
        },
        open_ended,
        Range {
            upper: Bound::infinity(),
            mode: Mode::Skip,
        },
    ];
    assert!(items.reply(&backwards).is_err());
    let long = vec![Range {
        upper: Bound {
            time: u64::MAX,
            prefix: vec![0; 40],
        },
        mode: Mode::Skip,
    }];
    assert!(items.reply(&long).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn both_sides_learn_exactly_the_difference(
        shared in 0..400u64,
        only_a in proptest::collection::vec((0..50u64, any::<u64>()), 0..120),
        only_b in proptest::collection::vec((0..50u64, any::<u64>()), 0..120),
    ) {
        // Few distinct timestamps, so that bounds must split equal times by hash.
        let common: Vec<(u64, [u8; 32])> = (0..shared).map(|i| (i % 50, hash(i, 7))).collect();
        let mut a = common.clone();
        a.extend(only_a.iter().map(|(t, s)| (*t, hash(*s, 8))));
        let mut b = common;
        b.extend(only_b.iter().map(|(t, s)| (*t, hash(*s, 9))));
        let out = run(&a, &b);
        let union: BTreeSet<[u8; 32]> = a.iter().chain(&b).map(|(_, h)| *h).collect();
        prop_assert_eq!(&out.a, &union);
        prop_assert_eq!(&out.b, &union);
    }
}

#[test]
#[ignore = "prints figures"]
fn print_figures() {
    let mut newer = base();
    newer.extend((0..100).map(|k| (1_700_000_000 + k, hash(k, 2))));
    let mut spread = base();
    spread.extend((0..100).map(|k| (1_600_000_000 + k * 3000 + 7, hash(k, 3))));
    for (name, a, b) in [
        ("in sync", base(), base()),
        ("100 new on responder", base(), newer.clone()),
        ("100 new on initiator", newer, base()),
        ("100 spread on responder", base(), spread),
    ] {
        let out = run(&a, &b);
        println!(
            "{name}: {} round trips, {} bytes",
            out.round_trips, out.bytes
        );
    }
}

fn any_range() -> impl Strategy<Value = Range> {
    let bound = (any::<u64>(), proptest::collection::vec(any::<u8>(), 0..40))
        .prop_map(|(time, prefix)| Bound { time, prefix });
    let mode = prop_oneof![
        Just(Mode::Skip),
        (any::<u64>(), any::<[u8; 16]>())
            .prop_map(|(count, fingerprint)| Mode::Fingerprint { count, fingerprint }),
        proptest::collection::vec(any::<[u8; 16]>(), 0..5).prop_map(Mode::Ids),
    ];
    (bound, mode).prop_map(|(upper, mode)| Range { upper, mode })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn any_message_is_answered_or_refused_without_panic(
        mut ranges in proptest::collection::vec(any_range(), 0..20),
        close in any::<bool>(),
    ) {
        if close && let Some(last) = ranges.last_mut() {
            last.upper = Bound::infinity();
        }
        let items = Items::new((0..300).map(|i| (i / 7, hash(i, 1))).collect());
        let _ = items.reply(&ranges);
    }
}
