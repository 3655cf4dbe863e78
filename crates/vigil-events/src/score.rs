//! The score of a pair of reports: evidence for and against their being one event,
//! as whole numbers, with a reason code for each piece.
//!
//! In the manner of Fellegi-Sunter (as Splink does it), each comparison adds a
//! weight: agreement on something rare adds much, agreement on something common
//! little, disagreement subtracts. The weights are integers so that every device
//! adds them to the same total; they were set on the project's generated
//! campaigns with drift (`vigil-scenario`), and the thresholds that turn a total
//! into a link or a question are settings ([`crate::Settings`]).

use std::collections::HashMap;

use crate::features::Features;
use crate::persons;

/// A pair's total and the reasons behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    /// The sum of the weights.
    pub total: i64,
    /// One code per comparison that weighed, in a fixed order.
    pub reasons: Vec<String>,
}

/// Weights of each comparison.
mod w {
    pub const TIME_15: i64 = 300;
    pub const TIME_60: i64 = 220;
    pub const TIME_120: i64 = 120;
    pub const TIME_FAR: i64 = -100;
    pub const SAME_STATION: i64 = 400;
    pub const OTHER_STATION: i64 = -600;
    pub const OTHER_CITY: i64 = -800;
    pub const SAME_COUNT: i64 = 120;
    pub const SAME_COUNT_OF_ONE: i64 = 20;
    pub const OTHER_COUNT: i64 = -250;
    pub const RARE_NAME: i64 = 450;
    pub const COMMON_NAME: i64 = 300;
    pub const CLOSE_NAME: i64 = 350;
    pub const MISSING_NAME: i64 = 220;
    pub const NAMES_MAX: i64 = 800;
    pub const UNNAMED_IN_BOTH: i64 = -120;
    pub const NO_NAME_SHARED: i64 = -700;
    pub const OTHERS_NAMED: i64 = -100;
    pub const FEW_ALIKE: i64 = 250;
    pub const SAME_ARTICLE: i64 = 80;
    pub const OTHER_ARTICLE: i64 = -400;
    pub const OTHER_CONTEXT: i64 = -250;
    pub const OTHER_ROLE: i64 = -250;
    pub const OTHER_PERPETRATOR: i64 = -120;
    pub const SAME_TEXT: i64 = 250;
    pub const LIKE_TEXT: i64 = 140;
    pub const SOME_TEXT: i64 = 60;
}

/// A name that this many reports or more carry is common: it tells less.
const COMMON_NAME_REPORTS: u32 = 5;

/// At most this many other reports of one kind in one city within
/// [`NEARBY_MINUTES`] make agreement on place and time telling.
const FEW_ALIKE_NEARBY: u32 = 2;

/// How near in time, in minutes, another report counts as nearby.
pub(crate) const NEARBY_MINUTES: i64 = 120;

/// Whether two cities are one: the same gazetteer key, or (for places it does not
/// know) spellings a typo apart. An unknown city is compatible with any.
pub(crate) fn same_city(a: &str, b: &str) -> Option<bool> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    Some(a == b || (a.len() >= 5 && strsim::jaro_winkler(a, b) >= 0.93))
}

/// Scores the pair `(a, b)`; `minutes_apart` is known from blocking.
pub(crate) fn score(a: &Features, b: &Features, frequency: &HashMap<&str, u32>) -> Score {
    let mut total = 0;
    let mut reasons = Vec::new();
    let mut add = |weight: i64, reason: String| {
        total += weight;
        reasons.push(reason);
    };

    match (a.minute, b.minute) {
        (Some(x), Some(y)) => {
            let d = (x - y).abs();
            let weight = match d {
                0..=15 => w::TIME_15,
                16..=60 => w::TIME_60,
                61..=120 => w::TIME_120,
                _ => w::TIME_FAR,
            };
            add(weight, format!("time {d} min"));
        }
        _ => add(0, "time unknown".into()),
    }

    if same_city(&a.city, &b.city) == Some(false) {
        add(w::OTHER_CITY, "other city".into());
    }
    match (&a.station, &b.station) {
        (Some(x), Some(y)) if x == y => add(w::SAME_STATION, "same station".into()),
        (Some(_), Some(_)) => add(w::OTHER_STATION, "other station".into()),
        _ => {}
    }

    if a.people == b.people {
        let weight = if a.people > 1 {
            w::SAME_COUNT
        } else {
            w::SAME_COUNT_OF_ONE
        };
        add(weight, format!("people {}", a.people));
    } else {
        let (low, high) = (a.people.min(b.people), a.people.max(b.people));
        // A second observer often counts fewer; a count twice the other, both
        // exact, is another event.
        let lower_bound = if a.people < b.people {
            a.at_least
        } else {
            b.at_least
        };
        if !lower_bound && high > low.saturating_mul(2).max(low + 2) {
            add(w::OTHER_COUNT, format!("people {low}/{high}"));
        } else {
            add(0, format!("people {low}/{high}"));
        }
    }

    if !a.sealed && !b.sealed {
        match (a.names.is_empty(), b.names.is_empty()) {
            (false, false) => {
                let (exact, close) = persons::shared(&a.names, &b.names);
                if exact + close == 0 {
                    // Two reports of a crowd may each name others of it; only more
                    // names than people tells two events apart.
                    let named = (a.names.len() + b.names.len()) as u64;
                    if named > a.people.max(b.people) {
                        add(w::NO_NAME_SHARED, "no name shared".into());
                    } else {
                        add(w::OTHERS_NAMED, "others named".into());
                    }
                } else {
                    let mut weight = 0;
                    let mut rare = 0;
                    for key in &a.name_keys {
                        if b.name_keys.contains(key) {
                            let seen = frequency.get(key.as_str()).copied().unwrap_or(0);
                            if seen < COMMON_NAME_REPORTS {
                                rare += 1;
                            }
                        }
                    }
                    let exact_i = exact as i64;
                    let rare_i = (rare as i64).min(exact_i);
                    weight += rare_i * w::RARE_NAME + (exact_i - rare_i) * w::COMMON_NAME;
                    weight += close as i64 * w::CLOSE_NAME;
                    let smaller = a.names.len().min(b.names.len());
                    let missing = smaller.saturating_sub(exact + close) as i64;
                    weight -= missing * w::MISSING_NAME;
                    add(
                        weight.min(w::NAMES_MAX),
                        format!("names {}/{smaller}", exact + close),
                    );
                }
            }
            (true, true) => add(w::UNNAMED_IN_BOTH, "no names".into()),
            _ => {}
        }
    }

    match (&a.article, &b.article) {
        (Some(x), Some(y)) if x == y => add(w::SAME_ARTICLE, "same article".into()),
        (Some(_), Some(_)) => add(w::OTHER_ARTICLE, "other article".into()),
        _ => {}
    }
    if let (Some(x), Some(y)) = (&a.context, &b.context)
        && x != y
    {
        add(w::OTHER_CONTEXT, "other context".into());
    }
    if !a.role.is_empty() && !b.role.is_empty() && a.role != b.role {
        add(w::OTHER_ROLE, "other role".into());
    }
    if let (Some(x), Some(y)) = (&a.perpetrator, &b.perpetrator)
        && x != y
        && x != "unknown"
        && y != "unknown"
    {
        add(w::OTHER_PERPETRATOR, "other perpetrator".into());
    }

    if !a.stems.is_empty() && !b.stems.is_empty() {
        let shared = sorted_overlap(&a.stems, &b.stems);
        let union = a.stems.len() + b.stems.len() - shared;
        // Per mille, in integers: the same on every device.
        let jaccard = (shared * 1000 / union.max(1)) as i64;
        let weight = match jaccard {
            700.. => w::SAME_TEXT,
            400..=699 => w::LIKE_TEXT,
            150..=399 => w::SOME_TEXT,
            _ => 0,
        };
        add(weight, format!("text {}%", jaccard / 10));
    }

    // Splink's u-probability of place and time: agreeing on them says more where
    // few reports of the kind were made there and then.
    if a.alike_nearby.max(b.alike_nearby) <= FEW_ALIKE_NEARBY {
        add(w::FEW_ALIKE, "few alike nearby".into());
    }

    if a.observer.is_some() && a.observer == b.observer {
        add(0, "same observer".into());
    }
    Score { total, reasons }
}

fn sorted_overlap(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}
