//! Counting and reporting: the figures of a report, per phase and category, and their
//! Markdown and JSON renderings.
//!
//! The unit is one act against one person (DOMAIN.md): `people` sums the people
//! affected per event, "at least" as soon as one count is a lower bound; `named_people`
//! counts distinct people by their normalised name; breakdowns count people. For now
//! each report counts as one event; recognising duplicates comes later.
//!
//! Counting reads [`Summary`] values, whatever their source: the store's projections
//! (the fast path) or summaries of fully loaded documents (the baseline).
//!
//! Must not: read the store itself, or print a name whose person did not consent.

mod markdown;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use vigil_model::{Status, Summary};

pub use markdown::render_markdown;

/// The figures of one phase and category, with the keys of `*.expected.json`.
///
/// Keys whose value is zero, false or empty are left out, as in the expected files
/// (`events`, `people` and `named_people` are always there).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Figures {
    /// Distinct events.
    pub events: u64,
    /// People affected, summed over events.
    pub people: u64,
    /// True when any count was "at least".
    #[serde(skip_serializing_if = "is_false")]
    pub people_is_lower_bound: bool,
    /// Distinct cities.
    #[serde(skip_serializing_if = "is_zero_usize")]
    pub cities: usize,
    /// Distinct people identified by name.
    pub named_people: usize,
    /// Events whose names are sealed to the coordinators, which this device cannot
    /// read: `named_people` does not count them.
    #[serde(skip_serializing_if = "is_zero")]
    pub sealed_events: u64,
    /// People per legal article.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_article: BTreeMap<String, u64>,
    /// People per context.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_context: BTreeMap<String, u64>,
    /// People per affected role.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_affected_role: BTreeMap<String, u64>,
    /// People per stated grounds.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_grounds: BTreeMap<String, u64>,
    /// People persecuted preventively.
    #[serde(skip_serializing_if = "is_zero")]
    pub preventive: u64,
    /// Events where someone voted in the voter's name.
    #[serde(skip_serializing_if = "is_zero")]
    pub impersonation: u64,
    /// Shortest time held, in hours.
    #[serde(skip_serializing_if = "is_none_or_zero")]
    pub held_hours_min: Option<i64>,
    /// Longest time held, in hours.
    #[serde(skip_serializing_if = "is_none_or_zero")]
    pub held_hours_max: Option<i64>,
    /// Names of the people who agreed to be named in public reports, one per person.
    /// Everyone else is only counted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub named_with_consent: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !b
}
fn is_zero(n: &u64) -> bool {
    *n == 0
}
fn is_zero_usize(n: &usize) -> bool {
    *n == 0
}
// The expected files drop a zero like any other empty value.
fn is_none_or_zero(n: &Option<i64>) -> bool {
    matches!(n, None | Some(0))
}

/// A whole report: figures per `"<phase>/<category>"`, and what was counted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Figures per `"<phase>/<category>"`, sorted by key.
    pub figures: BTreeMap<String, Figures>,
    /// Statuses that were counted.
    pub counted: Vec<Status>,
    /// Reports counted.
    pub reports: u64,
}

impl Report {
    /// The report as JSON: an object with one entry per `"<phase>/<category>"`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.figures).unwrap_or_default()
    }

    /// Figures of one phase and category.
    pub fn get(&self, phase: &str, category: &str) -> Option<&Figures> {
        self.figures.get(&format!("{phase}/{category}"))
    }
}

#[derive(Default)]
struct Accumulator {
    figures: Figures,
    cities: BTreeSet<String>,
    named: BTreeSet<String>,
    /// Consenting people by name key: one spelling each.
    published: BTreeMap<String, String>,
}

/// Counts summaries into a report. Only summaries whose status is in `counted` count.
pub fn count<'a>(summaries: impl IntoIterator<Item = &'a Summary>, counted: &[Status]) -> Report {
    let mut groups: BTreeMap<String, Accumulator> = BTreeMap::new();
    let mut reports = 0;
    for s in summaries {
        if !counted.contains(&s.status) {
            continue;
        }
        reports += 1;
        let acc = groups
            .entry(format!("{}/{}", s.phase, s.category))
            .or_default();
        let f = &mut acc.figures;
        let n = s.people;
        f.events += 1;
        f.people = f.people.saturating_add(n);
        f.people_is_lower_bound |= s.at_least;
        acc.cities.insert(s.city.trim().to_lowercase());
        acc.named.extend(s.named.iter().cloned());
        f.sealed_events += u64::from(s.sealed);
        for name in &s.published {
            acc.published
                .entry(vigil_model::name_key(name))
                .or_insert_with(|| name.clone());
        }
        for (map, key) in [
            (&mut f.by_article, s.article.as_ref()),
            (&mut f.by_context, s.context.as_ref()),
            (&mut f.by_affected_role, Some(&s.affected_role)),
            (&mut f.by_grounds, s.grounds.as_ref()),
        ] {
            if let Some(key) = key {
                let total = map.entry(key.clone()).or_default();
                *total = total.saturating_add(n);
            }
        }
        if s.preventive == Some(true) {
            f.preventive = f.preventive.saturating_add(n);
        }
        if s.impersonation == Some(true) {
            f.impersonation += 1;
        }
        if let Some(h) = s.held_hours {
            f.held_hours_min = Some(f.held_hours_min.map_or(h, |m| m.min(h)));
            f.held_hours_max = Some(f.held_hours_max.map_or(h, |m| m.max(h)));
        }
    }
    let figures = groups
        .into_iter()
        .map(|(key, mut acc)| {
            acc.figures.cities = acc.cities.len();
            acc.figures.named_people = acc.named.len();
            acc.figures.named_with_consent = acc.published.into_values().collect();
            (key, acc.figures)
        })
        .collect();
    Report {
        figures,
        counted: counted.to_vec(),
        reports,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::{Incident, name_key};

    fn event(city: &str, people: u64, at_least: bool, names: &[&str]) -> Summary {
        Summary {
            city: city.into(),
            people,
            at_least,
            held_hours: Some(people as i64),
            named: names.iter().map(|n| name_key(n)).collect(),
            ..Incident::example().summary()
        }
    }

    #[test]
    fn people_sum_cities_and_names_are_distinct() {
        let events = [
            event("Almaty", 10, true, &["Aibek Sadykov", "Aidar Omarov"]),
            event("almaty ", 3, false, &["SADYKOV Aibek"]),
            event("Astana", 6, false, &[]),
        ];
        let report = count(&events, &[Status::Submitted]);
        let f = report.get("election_day", "arbitrary_detention").unwrap();
        assert_eq!(
            (f.events, f.people, f.cities, f.named_people),
            (3, 19, 2, 2)
        );
        assert!(f.people_is_lower_bound);
        assert_eq!((f.held_hours_min, f.held_hours_max), (Some(3), Some(10)));
        assert_eq!(f.by_context["protest"], 19);
    }

    #[test]
    fn drafts_and_rejected_reports_do_not_count() {
        let mut draft = event("Almaty", 1, false, &[]);
        draft.status = Status::Draft;
        let mut rejected = event("Almaty", 1, false, &[]);
        rejected.status = Status::Rejected;
        let report = count(&[draft, rejected], &[Status::Submitted, Status::Verified]);
        assert!(report.figures.is_empty());
        assert_eq!(report.reports, 0);
    }

    #[test]
    fn json_leaves_out_empty_values_like_the_expected_files() {
        let report = count(&[event("Almaty", 2, false, &[])], &[Status::Submitted]);
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        let f = &json["election_day/arbitrary_detention"];
        assert_eq!(f["people"], 2);
        assert!(f.get("people_is_lower_bound").is_none());
        assert!(f.get("by_article").is_none());
        assert!(f.get("preventive").is_none());
        assert_eq!(f["named_people"], 0);
    }
}
