//! Events: which reports describe one thing that happened.
//!
//! Two observers at one polling station, three partners and a follow-up call all
//! report one detention. This crate finds such reports and groups them, in three
//! steps, each deterministic (the same reports and links give the same answer on
//! every device, in every order):
//!
//! 1. **Blocking.** Reports are compared only within one phase and category and one
//!    region (the gazetteer's, so `Oskemen` and `Усть-Каменогорск` block together,
//!    and a report without a region takes its city's), and only when they happened
//!    within a time window of each other: a sorted sweep, never all pairs.
//! 2. **Scoring** ([`score`]): integer weights for and against, each with a reason
//!    code: time apart, place and polling station, people counted, named people
//!    (folded keys, typos and dropped patronymics, rare names weighing more than
//!    common ones), legal article, context, role, description word stems.
//! 3. **Clustering** ([`plan`]): pairs at or above the automatic threshold are
//!    linked from the highest score down, merging two groups only when every pair
//!    across them scores at least the floor and none was decided "not the same"
//!    (so that A~B and B~C never drag in a C unlike A); pairs between the floor and
//!    the threshold, and the ones that would make a group inconsistent, go to a
//!    review queue.
//!
//! Events themselves come from the links coordinators made ([`events`]): the
//! connected groups of reports linked "same". A report in no link is an event of
//! its own.
//!
//! Must not: read `_event` or any other ground truth; decide anything from data
//! that is not in the reports; print a name.

mod features;
pub mod persons;
mod score;

use std::collections::{BTreeMap, HashMap, HashSet};

use features::{Features, count_alike_nearby, name_frequencies};
use vigil_model::links::LinkState;
use vigil_model::{Gazetteer, IncidentId, Link, Summary};

pub use score::Score;

/// The matcher's settings: every device with the same settings proposes the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// A pair scoring this or more is linked by `match --apply`.
    pub automatic: i64,
    /// A pair scoring this or more, and less than `automatic`, waits for review.
    pub floor: i64,
    /// Reports further apart in time than this, in minutes, are not compared.
    pub window_minutes: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            automatic: 600,
            floor: 250,
            window_minutes: 180,
        }
    }
}

/// The ranges settings may take.
pub const SCORE_RANGE: std::ops::RangeInclusive<i64> = -2000..=4000;
/// The time windows settings may take, in minutes (up to a week).
pub const WINDOW_RANGE: std::ops::RangeInclusive<i64> = 1..=7 * 24 * 60;

impl Settings {
    /// Whether the settings make sense: both thresholds in [`SCORE_RANGE`], the floor
    /// below the automatic threshold, the window in [`WINDOW_RANGE`].
    pub fn check(&self) -> Result<(), String> {
        if !SCORE_RANGE.contains(&self.automatic) || !SCORE_RANGE.contains(&self.floor) {
            return Err(format!(
                "thresholds must lie between {} and {}",
                SCORE_RANGE.start(),
                SCORE_RANGE.end()
            ));
        }
        if self.floor >= self.automatic {
            return Err("the review floor must be below the automatic threshold".into());
        }
        if !WINDOW_RANGE.contains(&self.window_minutes) {
            return Err(format!(
                "the time window must lie between {} and {} minutes",
                WINDOW_RANGE.start(),
                WINDOW_RANGE.end()
            ));
        }
        Ok(())
    }
}

/// A pair of reports that may be one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The smaller id.
    pub a: IncidentId,
    /// The larger id.
    pub b: IncidentId,
    /// The pair's score.
    pub score: i64,
    /// Why, one code per comparison.
    pub reasons: Vec<String>,
}

/// One event: the reports that describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event's id: the smallest id of its reports.
    pub id: IncidentId,
    /// Its reports, sorted by id.
    pub reports: Vec<IncidentId>,
}

/// What matching proposes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Pairs to link automatically, in the order they were merged.
    pub link: Vec<Candidate>,
    /// Pairs for a person to decide, best first: one per pair of groups.
    pub review: Vec<Candidate>,
    /// Pairs scored.
    pub compared: u64,
}

/// Groups of indices, merged by union; the root of a group is its smallest index.
struct Groups {
    parent: Vec<usize>,
    members: Vec<Vec<usize>>,
}

impl Groups {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
            members: (0..n).map(|i| vec![i]).collect(),
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) -> usize {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return ra;
        }
        let (root, child) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[child] = root;
        let moved = std::mem::take(&mut self.members[child]);
        self.members[root].extend(moved);
        root
    }
}

/// The latest decision per pair, where several rows name one pair (they do not in
/// a store, which keeps one per pair; they may in what a caller assembles).
fn decisions(links: &[Link]) -> BTreeMap<(&IncidentId, &IncidentId), LinkState> {
    let mut out = BTreeMap::new();
    for link in links {
        out.insert((&link.a, &link.b), link.decision.state);
    }
    out
}

/// The events of `reports` under `links`: reports linked "same" (directly or
/// through others) are one event; every other report is an event of its own.
/// Links naming a report not in `reports` are left out. Sorted by event id.
pub fn events(reports: &[IncidentId], links: &[Link]) -> Vec<Event> {
    let mut sorted: Vec<&IncidentId> = reports.iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let index: HashMap<&IncidentId, usize> =
        sorted.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut groups = Groups::new(sorted.len());
    for ((a, b), state) in decisions(links) {
        if state != LinkState::Same {
            continue;
        }
        if let (Some(&i), Some(&j)) = (index.get(a), index.get(b)) {
            groups.union(i, j);
        }
    }
    let mut out = Vec::new();
    for i in 0..sorted.len() {
        if groups.find(i) != i {
            continue;
        }
        let mut members: Vec<IncidentId> = groups.members[i]
            .iter()
            .map(|&m| sorted[m].clone())
            .collect();
        members.sort_unstable();
        out.push(Event {
            id: members[0].clone(),
            reports: members,
        });
    }
    out
}

/// The prepared reports of one matching run.
pub struct Matcher<'g> {
    reports: Vec<Features>,
    index: HashMap<IncidentId, usize>,
    gazetteer: &'g Gazetteer,
}

impl<'g> Matcher<'g> {
    /// Prepares `summaries` (sorted by id inside, so the input order does not
    /// matter) for matching with `gazetteer`.
    pub fn new(summaries: &[Summary], gazetteer: &'g Gazetteer) -> Self {
        let mut reports: Vec<Features> = summaries
            .iter()
            .map(|s| Features::of(s, gazetteer))
            .collect();
        reports.sort_by(|a, b| a.id.cmp(&b.id));
        reports.dedup_by(|a, b| a.id == b.id);
        count_alike_nearby(&mut reports);
        let index = reports
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        Self {
            reports,
            index,
            gazetteer,
        }
    }

    /// How many reports it holds.
    pub fn len(&self) -> usize {
        self.reports.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }

    /// The gazetteer it reads places with.
    pub fn gazetteer(&self) -> &Gazetteer {
        self.gazetteer
    }

    /// Scores one pair of its reports (`None` if either is unknown), whether or not
    /// blocking would compare them: what a reviewer sees.
    pub fn score(&self, a: &IncidentId, b: &IncidentId) -> Option<Score> {
        let (&i, &j) = (self.index.get(a)?, self.index.get(b)?);
        let frequency = name_frequencies(&self.reports);
        Some(score::score(&self.reports[i], &self.reports[j], &frequency))
    }

    /// Every pair blocking compares, with its score: `(i, j, score)`, `i < j`.
    fn compare(&self, settings: &Settings) -> (Vec<(usize, usize, Score)>, u64) {
        let frequency = name_frequencies(&self.reports);
        let mut blocks: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
        for (i, r) in self.reports.iter().enumerate() {
            if r.minute.is_some() {
                blocks.entry((&r.kind, &r.region)).or_default().push(i);
            }
        }
        let mut out = Vec::new();
        let mut compared = 0;
        for members in blocks.values_mut() {
            members.sort_by_key(|&i| (self.reports[i].minute, i));
            for (k, &i) in members.iter().enumerate() {
                let t = self.reports[i].minute.unwrap_or_default();
                for &j in &members[k + 1..] {
                    if self.reports[j].minute.unwrap_or_default() - t > settings.window_minutes {
                        break;
                    }
                    let (x, y) = (&self.reports[i], &self.reports[j]);
                    if score::same_city(&x.city, &y.city) == Some(false) {
                        continue;
                    }
                    compared += 1;
                    let s = score::score(x, y, &frequency);
                    if s.total >= settings.floor {
                        out.push((i.min(j), i.max(j), s));
                    }
                }
            }
        }
        (out, compared)
    }

    /// What matching proposes, given the decisions already made (`links`): pairs to
    /// link now, and pairs to ask about. A pair decided "not the same" is never
    /// proposed, nor is one whose reports are one event already.
    pub fn plan(&self, links: &[Link], settings: &Settings) -> Plan {
        let frequency = name_frequencies(&self.reports);
        let mut groups = Groups::new(self.reports.len());
        let mut not_same: HashSet<(usize, usize)> = HashSet::new();
        for ((a, b), state) in decisions(links) {
            let (Some(&i), Some(&j)) = (self.index.get(a), self.index.get(b)) else {
                continue;
            };
            match state {
                LinkState::Same => {
                    groups.union(i, j);
                }
                LinkState::NotSame => {
                    not_same.insert((i.min(j), i.max(j)));
                }
                LinkState::Unlinked => {}
            }
        }
        let (mut pairs, compared) = self.compare(settings);
        pairs.sort_by(|x, y| y.2.total.cmp(&x.2.total).then((x.0, x.1).cmp(&(y.0, y.1))));

        let mut scores: HashMap<(usize, usize), i64> =
            pairs.iter().map(|(i, j, s)| ((*i, *j), s.total)).collect();
        let mut link = Vec::new();
        let mut waiting = Vec::new();
        for (i, j, s) in pairs {
            if not_same.contains(&(i, j)) {
                continue;
            }
            let (ri, rj) = (groups.find(i), groups.find(j));
            if ri == rj {
                continue;
            }
            if s.total < settings.automatic {
                waiting.push((i, j, s));
                continue;
            }
            let consistent = groups.members[ri].iter().all(|&x| {
                groups.members[rj].iter().all(|&y| {
                    let key = (x.min(y), x.max(y));
                    if not_same.contains(&key) {
                        return false;
                    }
                    let total = *scores.entry(key).or_insert_with(|| {
                        score::score(&self.reports[x], &self.reports[y], &frequency).total
                    });
                    total >= settings.floor
                })
            });
            if consistent {
                groups.union(i, j);
                link.push(self.candidate(i, j, s));
            } else {
                waiting.push((i, j, s));
            }
        }

        // One question per pair of groups, the best pair's; none between groups a
        // person has already told apart.
        let mut asked: HashSet<(usize, usize)> = HashSet::new();
        let mut review = Vec::new();
        waiting.sort_by(|x, y| y.2.total.cmp(&x.2.total).then((x.0, x.1).cmp(&(y.0, y.1))));
        for (i, j, s) in waiting {
            let (ri, rj) = (groups.find(i), groups.find(j));
            if ri == rj || !asked.insert((ri.min(rj), ri.max(rj))) {
                continue;
            }
            let told_apart = groups.members[ri].iter().any(|&x| {
                groups.members[rj]
                    .iter()
                    .any(|&y| not_same.contains(&(x.min(y), x.max(y))))
            });
            if !told_apart {
                review.push(self.candidate(i, j, s));
            }
        }
        Plan {
            link,
            review,
            compared,
        }
    }

    fn candidate(&self, i: usize, j: usize, s: Score) -> Candidate {
        Candidate {
            a: self.reports[i].id.clone(),
            b: self.reports[j].id.clone(),
            score: s.total,
            reasons: s.reasons,
        }
    }
}

#[cfg(test)]
mod tests;
