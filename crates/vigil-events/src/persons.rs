//! When two written names are one person.
//!
//! `name_key` already folds scripts, case, word order and transliteration. What is
//! left are an observer's slips: a typo (`Zhunusov`/`Zhunosov`), a patronymic one
//! report gives and another drops. Inside one event these are one person; across
//! events only the exact key counts, so that two different people never merge
//! because their names look alike.

/// How close two people's folded words are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Likeness {
    /// Different people.
    Different,
    /// The same words but for one small slip, or one name's words inside the
    /// other's: one person, written carelessly.
    Close,
    /// The same key.
    Same,
}

/// Compares two people by their sorted folded words.
pub fn likeness(a: &[String], b: &[String]) -> Likeness {
    if a == b {
        return Likeness::Same;
    }
    // A dropped patronymic: every word of the shorter name is in the longer one,
    // and at least two of them (given name and surname).
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.len() >= 2 && short.len() < long.len() && short.iter().all(|w| long.contains(w)) {
        return Likeness::Close;
    }
    // One typo: the same number of words, all equal but one, and that one a single
    // edit away in a word long enough for a slip to be told from another name.
    if a.len() == b.len() && a.len() >= 2 {
        let unmatched_a: Vec<&String> = a.iter().filter(|w| !b.contains(w)).collect();
        let unmatched_b: Vec<&String> = b.iter().filter(|w| !a.contains(w)).collect();
        if let ([x], [y]) = (unmatched_a.as_slice(), unmatched_b.as_slice())
            && is_slip(x, y)
        {
            return Likeness::Close;
        }
        // The typo may have moved the word in the sorted order: compare as sets.
        if unmatched_a.len() == 1 && unmatched_b.len() == 1 {
            return Likeness::Different;
        }
    }
    Likeness::Different
}

/// Whether two words are one written with a slip: one edit in a word of five
/// letters or more, or two in one of seven or more that begins the same (a letter
/// dropped from a double, `Жумабаев`/`Жумааев`, folds to two). Shorter words are
/// too often other names a letter apart.
fn is_slip(x: &str, y: &str) -> bool {
    let shorter = x.chars().count().min(y.chars().count());
    let distance = strsim::damerau_levenshtein(x, y);
    (shorter >= 5 && distance <= 1)
        || (shorter >= 6 && distance <= 2 && x.chars().next() == y.chars().next() && {
            let longer = x.chars().count().max(y.chars().count());
            longer >= 7
        })
}

/// How many of `a`'s people are among `b`'s (each matched once).
pub fn shared(a: &[Vec<String>], b: &[Vec<String>]) -> (usize, usize) {
    let mut used = vec![false; b.len()];
    let mut exact = 0;
    let mut close = 0;
    for person in a {
        let best = b
            .iter()
            .enumerate()
            .filter(|(j, _)| !used[*j])
            .map(|(j, other)| (likeness(person, other), j))
            .max_by_key(|(l, j)| (*l, std::cmp::Reverse(*j)));
        match best {
            Some((Likeness::Same, j)) => {
                used[j] = true;
                exact += 1;
            }
            Some((Likeness::Close, j)) => {
                used[j] = true;
                close += 1;
            }
            _ => {}
        }
    }
    (exact, close)
}

/// The distinct people among the names of one event's reports, each report's
/// names given as its keys: names that are the same person (a typo, a dropped
/// patronymic) count once, under the longest key of them (the one that says
/// most). Two names in one report are two people, however alike.
pub fn distinct_people(reports: &[&[String]]) -> Vec<String> {
    let mut order: Vec<&[String]> = reports.to_vec();
    // The report naming most people first: the others are matched against it.
    order.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    let mut people: Vec<(Vec<String>, String)> = Vec::new();
    for keys in order {
        let mut taken = vec![false; people.len()];
        let mut sorted: Vec<&String> = keys.iter().collect();
        sorted.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        sorted.dedup();
        for key in sorted {
            let mut words = vigil_model::names::key_words(key);
            words.sort_unstable();
            if words.is_empty() {
                continue;
            }
            let best = people
                .iter()
                .enumerate()
                .filter(|(i, _)| taken.get(*i) == Some(&false))
                .map(|(i, (known, _))| (likeness(known, &words), i))
                .filter(|(l, _)| *l != Likeness::Different)
                .max_by_key(|(l, i)| (*l, std::cmp::Reverse(*i)));
            match best {
                Some((_, i)) => {
                    taken[i] = true;
                    if key.len() > people[i].1.len() {
                        people[i] = (words, key.clone());
                    }
                }
                None => {
                    people.push((words, key.clone()));
                    taken.push(true);
                }
            }
        }
    }
    let mut out: Vec<String> = people.into_iter().map(|(_, key)| key).collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::name_key;

    fn words(name: &str) -> Vec<String> {
        let mut w = vigil_model::names::key_words(name);
        w.sort_unstable();
        w
    }

    #[test]
    fn a_typo_or_a_dropped_patronymic_is_close() {
        assert_eq!(
            likeness(&words("Zhanibek Zhunusov"), &words("Zhanibek Zhunosov")),
            Likeness::Close
        );
        assert_eq!(
            likeness(&words("Aibek Aidaruly Sadykov"), &words("Aibek Sadykov")),
            Likeness::Close
        );
        assert_eq!(
            likeness(&words("ZHUNUSOV Zhanibek"), &words("Жунусов Жанибек")),
            Likeness::Same
        );
    }

    #[test]
    fn different_people_stay_different() {
        for (a, b) in [
            ("Aibek Sadykov", "Aidar Sadykov"),
            ("Serik Zhunusov", "Zhanibek Zhunusov"),
            ("Rinat Omarov", "Marat Omarov"),
            ("Aibek", "Aibek Sadykov"),
        ] {
            assert_eq!(
                likeness(&words(a), &words(b)),
                Likeness::Different,
                "{a} / {b}"
            );
        }
    }

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| name_key(n)).collect()
    }

    #[test]
    fn one_event_counts_each_person_once() {
        let first = keys(&[
            "Zhanibek Zhunusov",
            "Aibek Aidaruly Sadykov",
            "Aidar Sadykov",
        ]);
        let second = keys(&["ZHUNUSOV Zhanibek", "Aibek Sadykov"]);
        let third = keys(&["Жунусов Жанибек", "Aidar Sadykov"]);
        let fourth = keys(&["Zhanibek Zhunosov"]);
        let fifth = keys(&["Janibek Junusov"]);
        let people = distinct_people(&[&first, &second, &third, &fourth, &fifth]);
        assert_eq!(people.len(), 3, "{people:?}");
        assert!(people.contains(&name_key("Aibek Aidaruly Sadykov")));
    }

    #[test]
    fn two_names_in_one_report_are_two_people() {
        let one = keys(&["Timur Omarov", "Timur Umarov"]);
        let other = keys(&["Timur Omarov"]);
        assert_eq!(distinct_people(&[&one, &other]).len(), 2);
    }
}
