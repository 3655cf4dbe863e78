//! What the matcher compares of a report, computed once per report: times as
//! instants, places as gazetteer keys, names as folded words, the description as a
//! set of word stems.

use std::collections::HashMap;

use vigil_model::names::{key_words, transliterate};
use vigil_model::validate::parse_time;
use vigil_model::{Gazetteer, IncidentId, Summary};

use crate::score::NEARBY_MINUTES;

/// One report, as the matcher sees it.
#[derive(Debug, Clone)]
pub(crate) struct Features {
    pub id: IncidentId,
    /// `phase/category`: reports of different ones are never compared.
    pub kind: String,
    /// When it happened, Unix minutes; `None` when the time does not parse.
    pub minute: Option<i64>,
    /// The gazetteer's city id, or the folded spelling; empty when not given.
    pub city: String,
    /// The region the city lies in, or the folded region as written.
    pub region: String,
    /// The polling station, folded; `None` when not given.
    pub station: Option<String>,
    pub people: u64,
    pub at_least: bool,
    pub role: String,
    pub article: Option<String>,
    pub context: Option<String>,
    pub perpetrator: Option<String>,
    /// Each named person as folded words (sorted), for fuzzy comparison.
    pub names: Vec<Vec<String>>,
    /// Each named person's key (`name_key`), to look up how common a name is.
    pub name_keys: Vec<String>,
    pub observer: Option<String>,
    /// Stems of the description's words, sorted and deduplicated.
    pub stems: Vec<u64>,
    /// Whether the personal part is sealed to other devices: names unknown.
    pub sealed: bool,
    /// How many other reports of the same kind and city lie within
    /// [`crate::score::NEARBY_MINUTES`]: set over the whole set by [`alike_nearby`].
    pub alike_nearby: u32,
}

impl Features {
    pub fn of(s: &Summary, gazetteer: &Gazetteer) -> Self {
        let mut names: Vec<Vec<String>> = s
            .named
            .iter()
            .map(|key| {
                let mut words = key_words(key);
                words.sort_unstable();
                words
            })
            .filter(|w| !w.is_empty())
            .collect();
        names.sort_unstable();
        names.dedup();
        Self {
            id: s.id.clone(),
            kind: format!("{}/{}", s.phase, s.category),
            minute: parse_time(&s.occurred_at).map(|t| t.unix_timestamp().div_euclid(60)),
            city: if s.city.trim().is_empty() {
                String::new()
            } else {
                gazetteer.city_key(&s.city)
            },
            region: gazetteer.region_key(&s.city, &s.region),
            station: s
                .polling_station
                .as_deref()
                .map(fold_station)
                .filter(|st| !st.is_empty()),
            people: s.people,
            at_least: s.at_least,
            role: s.affected_role.clone(),
            article: s.article.clone().filter(|a| !a.trim().is_empty()),
            context: s.context.clone(),
            perpetrator: s.perpetrator.clone(),
            name_keys: s.named.clone(),
            names,
            observer: s.observer.as_deref().map(str::trim).map(str::to_lowercase),
            stems: stems(&s.description),
            sealed: s.sealed,
            alike_nearby: 0,
        }
    }
}

/// A polling station's number as written (`AST-012`, `ast 12`, `№12`): its letters
/// folded and its number without leading zeros.
fn fold_station(text: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    for c in transliterate(text).chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if c.is_alphanumeric() {
            if !digits.is_empty() {
                out.push_str(digits.trim_start_matches('0'));
                out.push(' ');
                digits.clear();
            }
            out.push(c);
        } else if !digits.is_empty() {
            out.push_str(digits.trim_start_matches('0'));
            out.push(' ');
            digits.clear();
        }
    }
    out.push_str(digits.trim_start_matches('0'));
    out.trim().to_owned()
}

/// Words of a description that carry meaning, folded to Latin and cut to their
/// first five letters (a crude stem that survives Russian and Kazakh endings), as
/// hashes. Numbers count; words of one or two letters do not.
fn stems(text: &str) -> Vec<u64> {
    let latin = transliterate(text);
    let mut out: Vec<u64> = latin
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3 || w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| !w.is_empty() && !STOPWORDS.contains(w))
        .map(|w| {
            let stem: String = w.chars().take(5).collect();
            fnv(&stem)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Words too common to tell two descriptions apart (English and Russian, folded).
const STOPWORDS: &[&str] = &[
    "the", "and", "was", "were", "for", "with", "from", "that", "this", "they", "their", "had",
    "has", "have", "near", "into", "after", "before", "who", "are", "not", "but", "his", "her",
    "them", "all", "one", "two", "eto", "kak", "chto", "ego", "ikh", "ona", "oni", "pri", "bez",
    "dlia", "dlya", "ili", "uzhe", "tak", "byl", "byla", "byli", "posle", "okolo",
];

/// FNV-1a: a stable hash, the same on every device and release (the standard
/// library's is neither).
fn fnv(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Counts, for each report, the other reports of its kind and city (its region's
/// when the city is not known) within [`NEARBY_MINUTES`]: a sweep over each place's
/// reports sorted by time.
pub(crate) fn count_alike_nearby(reports: &mut [Features]) {
    let mut places: HashMap<(&str, &str), Vec<(i64, usize)>> = HashMap::new();
    for (i, r) in reports.iter().enumerate() {
        if let Some(minute) = r.minute {
            let place = if r.city.is_empty() {
                &r.region
            } else {
                &r.city
            };
            places
                .entry((&r.kind, place))
                .or_default()
                .push((minute, i));
        }
    }
    let mut counts = vec![0u32; reports.len()];
    for mut times in places.into_values() {
        times.sort_unstable();
        let (mut low, mut high) = (0, 0);
        for k in 0..times.len() {
            let t = times[k].0;
            while times[low].0 < t - NEARBY_MINUTES {
                low += 1;
            }
            while high < times.len() && times[high].0 <= t + NEARBY_MINUTES {
                high += 1;
            }
            counts[times[k].1] = (high - low - 1) as u32;
        }
    }
    for (r, n) in reports.iter_mut().zip(counts) {
        r.alike_nearby = n;
    }
}

/// How many reports name each person key: a name many reports share tells less
/// (Splink's term-frequency adjustment).
pub(crate) fn name_frequencies(reports: &[Features]) -> HashMap<&str, u32> {
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for r in reports {
        for key in &r.name_keys {
            *counts.entry(key.as_str()).or_default() += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stations_fold_to_their_letters_and_number() {
        assert_eq!(fold_station("AST-012"), fold_station("ast 12"));
        assert_eq!(fold_station("АСТ-12"), fold_station("AST-012"));
        assert_ne!(fold_station("AST-012"), fold_station("AST-021"));
        assert_eq!(fold_station("№ 7"), fold_station("No. 007"));
    }

    #[test]
    fn descriptions_in_two_languages_share_their_numbers_and_names() {
        let en = stems("7 peaceful protesters detained near the akimat");
        let ru = stems("7 мирных протестующих задержаны у акимата");
        let shared = en.iter().filter(|s| ru.contains(s)).count();
        assert!(shared >= 2, "{shared}");
    }
}
