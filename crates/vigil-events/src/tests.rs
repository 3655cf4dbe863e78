#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};

use vigil_model::links::{LinkDecision, LinkState, ordered};
use vigil_model::{Taxonomy, name_key};
use vigil_scenario::{Reporting, Scenario, generate_reported};

use super::*;

fn summaries(scenario: &Scenario) -> Vec<Summary> {
    let taxonomy = Taxonomy::default_taxonomy();
    let text = scenario.to_jsonl_without_truth();
    vigil_exchange::jsonl::read(text.as_bytes(), &taxonomy)
        .map(|r| r.unwrap().summary())
        .collect()
}

fn link(a: &IncidentId, b: &IncidentId, state: LinkState) -> Link {
    let (a, b) = ordered(a, b).unwrap();
    Link {
        a,
        b,
        decision: LinkDecision {
            state,
            automatic: false,
            score: None,
            reasons: Vec::new(),
            at: 0,
        },
        by: vec![1; 32],
    }
}

fn links_of(candidates: &[Candidate]) -> Vec<Link> {
    candidates
        .iter()
        .map(|c| link(&c.a, &c.b, LinkState::Same))
        .collect()
}

/// Pairwise precision and recall of `found` against the scenario's truth.
fn pairwise(scenario: &Scenario, found: &[Event]) -> (f64, f64) {
    let truth: HashMap<IncidentId, u64> = scenario
        .truth()
        .into_iter()
        .map(|(id, e)| (IncidentId::parse(&id).unwrap(), e))
        .collect();
    let mut true_pairs = HashSet::new();
    let mut by_event: HashMap<u64, Vec<&IncidentId>> = HashMap::new();
    for (id, e) in &truth {
        by_event.entry(*e).or_default().push(id);
    }
    for ids in by_event.values() {
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                true_pairs.insert(ordered(a, b).unwrap());
            }
        }
    }
    let mut found_pairs = HashSet::new();
    for event in found {
        for (i, a) in event.reports.iter().enumerate() {
            for b in &event.reports[i + 1..] {
                found_pairs.insert(ordered(a, b).unwrap());
            }
        }
    }
    let hits = found_pairs.intersection(&true_pairs).count() as f64;
    (
        hits / found_pairs.len().max(1) as f64,
        hits / true_pairs.len().max(1) as f64,
    )
}

fn matched(scenario: &Scenario) -> (Vec<Event>, Plan) {
    let summaries = summaries(scenario);
    let matcher = Matcher::new(&summaries, Gazetteer::builtin());
    let plan = matcher.plan(&[], &Settings::default());
    let ids: Vec<IncidentId> = summaries.iter().map(|s| s.id.clone()).collect();
    let found = events(&ids, &links_of(&plan.link));
    if std::env::var_os("VIGIL_DEBUG_MATCH").is_some() {
        let truth: HashMap<IncidentId, u64> = scenario
            .truth()
            .into_iter()
            .map(|(id, e)| (IncidentId::parse(&id).unwrap(), e))
            .collect();
        let event_of: HashMap<&IncidentId, &IncidentId> = found
            .iter()
            .flat_map(|e| e.reports.iter().map(move |r| (r, &e.id)))
            .collect();
        let by_id: HashMap<&IncidentId, &Summary> = summaries.iter().map(|s| (&s.id, s)).collect();
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                let same = truth[a] == truth[b];
                let linked = event_of[a] == event_of[b];
                if same != linked {
                    let s = matcher.score(a, b).unwrap();
                    let (x, y) = (by_id[a], by_id[b]);
                    eprintln!(
                        "{} {} {:?} | {} {} {} {} {:?} | {} {} {} {} {:?}",
                        if same { "MISSED" } else { "WRONG" },
                        s.total,
                        s.reasons,
                        x.occurred_at,
                        x.city,
                        x.region,
                        x.category,
                        x.named,
                        y.occurred_at,
                        y.city,
                        y.region,
                        y.people,
                        y.named
                    );
                }
            }
        }
    }
    (found, plan)
}

#[test]
fn duplicated_reports_are_found_with_high_precision_and_recall() {
    for seed in [1, 2] {
        let scenario = generate_reported(
            seed,
            1,
            Reporting {
                duplicates: true,
                drift: false,
            },
        );
        let (found, plan) = matched(&scenario);
        let (precision, recall) = pairwise(&scenario, &found);
        eprintln!(
            "seed {seed}: precision {precision:.3} recall {recall:.3}, {} linked, {} to review",
            plan.link.len(),
            plan.review.len()
        );
        assert!(precision >= 0.98 && recall >= 0.95, "{precision} {recall}");
    }
}

#[test]
fn drifting_exports_are_matched_too() {
    for seed in [3, 4] {
        let scenario = generate_reported(
            seed,
            1,
            Reporting {
                duplicates: true,
                drift: true,
            },
        );
        let (found, plan) = matched(&scenario);
        let (precision, recall) = pairwise(&scenario, &found);
        eprintln!(
            "drift seed {seed}: precision {precision:.3} recall {recall:.3}, {} linked, {} to review",
            plan.link.len(),
            plan.review.len()
        );
        assert!(precision >= 0.98 && recall >= 0.95, "{precision} {recall}");
    }
}

#[test]
fn the_same_reports_in_any_order_give_the_same_plan() {
    let scenario = generate_reported(
        5,
        1,
        Reporting {
            duplicates: true,
            drift: true,
        },
    );
    let mut list = summaries(&scenario);
    let first = Matcher::new(&list, Gazetteer::builtin()).plan(&[], &Settings::default());
    list.reverse();
    let second = Matcher::new(&list, Gazetteer::builtin()).plan(&[], &Settings::default());
    assert_eq!(first, second);
}

#[test]
fn a_pair_told_apart_is_never_proposed_again() {
    let scenario = generate_reported(
        6,
        1,
        Reporting {
            duplicates: true,
            drift: true,
        },
    );
    let list = summaries(&scenario);
    let matcher = Matcher::new(&list, Gazetteer::builtin());
    let plan = matcher.plan(&[], &Settings::default());
    let told_apart: Vec<Link> = plan
        .link
        .iter()
        .chain(&plan.review)
        .map(|c| link(&c.a, &c.b, LinkState::NotSame))
        .collect();
    let again = matcher.plan(&told_apart, &Settings::default());
    for c in again.link.iter().chain(&again.review) {
        assert!(
            !told_apart.iter().any(|l| l.a == c.a && l.b == c.b),
            "{c:?} proposed again"
        );
    }
}

#[test]
fn linked_reports_are_not_proposed_and_make_one_event() {
    let scenario = generate_reported(
        7,
        1,
        Reporting {
            duplicates: true,
            drift: false,
        },
    );
    let list = summaries(&scenario);
    let matcher = Matcher::new(&list, Gazetteer::builtin());
    let plan = matcher.plan(&[], &Settings::default());
    let links = links_of(&plan.link);
    let again = matcher.plan(&links, &Settings::default());
    assert!(again.link.is_empty(), "{:?}", again.link.first());
    let ids: Vec<IncidentId> = list.iter().map(|s| s.id.clone()).collect();
    let found = events(&ids, &links);
    assert_eq!(found.len(), ids.len() - plan.link.len());
}

#[test]
fn a_chain_of_links_is_one_event_and_an_unlinked_pair_is_two() {
    let ids: Vec<IncidentId> = (0..4).map(|_| IncidentId::random()).collect();
    let links = [
        link(&ids[0], &ids[1], LinkState::Same),
        link(&ids[1], &ids[2], LinkState::Same),
        link(&ids[2], &ids[3], LinkState::Unlinked),
    ];
    let found = events(&ids, &links);
    assert_eq!(found.len(), 2);
    let big = found.iter().find(|e| e.reports.len() == 3).unwrap();
    assert_eq!(big.id, *big.reports.iter().min().unwrap());
}

#[test]
fn scores_say_why_without_naming_anyone() {
    let scenario = generate_reported(
        8,
        1,
        Reporting {
            duplicates: true,
            drift: true,
        },
    );
    let list = summaries(&scenario);
    let names: Vec<String> = scenario.names().iter().map(|n| name_key(n)).collect();
    let plan = Matcher::new(&list, Gazetteer::builtin()).plan(&[], &Settings::default());
    for c in plan.link.iter().chain(&plan.review) {
        for reason in &c.reasons {
            let folded = name_key(reason);
            assert!(
                !names
                    .iter()
                    .any(|n| n.len() > 4 && folded.contains(n.as_str())),
                "{reason}"
            );
        }
    }
}

#[test]
fn settings_out_of_range_are_refused() {
    let bad = [
        Settings {
            automatic: 100,
            floor: 200,
            window_minutes: 60,
        },
        Settings {
            automatic: 100_000,
            ..Settings::default()
        },
        Settings {
            window_minutes: 0,
            ..Settings::default()
        },
    ];
    for settings in bad {
        assert!(settings.check().is_err(), "{settings:?}");
    }
    assert!(Settings::default().check().is_ok());
}
