//! How events become reports when several observers and partners report them:
//! duplicates, and the drift of real partner exports.
//!
//! Each ground-truth event is reported one to three times (as often as in
//! `kz-2021-dup.jsonl`: 56%, 32%, 12%), by different observers (now and then the
//! same one twice), minutes apart, the later ones often knowing fewer names or, for
//! crowds, counting fewer. With drift, reports also do what real exports do: the
//! same instant written in UTC or `+05:00`, a time noted half an hour late, the
//! description in Russian or in other words, the city in Cyrillic or by its old
//! name, no region, names in Kazakh's 2021 Latin alphabet, decomposed Unicode, a
//! typo. Every report carries `_event`, the truth that tests score against.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::{Map, Value, json};

use crate::{CITIES, Event, uuid};

/// How events are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reporting {
    /// One to three reports per event, instead of one.
    pub duplicates: bool,
    /// The drift of real partner exports (see the module).
    pub drift: bool,
}

/// Other ways partners write a city (old names, Cyrillic, the Kazakh form).
fn city_aliases(city: &str) -> &'static [&'static str] {
    match city {
        "Almaty" => &["Алматы", "Alma-Ata", "ALMATY"],
        "Astana" => &["Астана", "Nur-Sultan", "Нур-Султан"],
        "Shymkent" => &["Шымкент", "Chimkent"],
        "Karaganda" => &["Караганда", "Qaragandy", "Karagandy"],
        "Aktobe" => &["Актобе", "Aqtobe", "Aktyubinsk"],
        "Taraz" => &["Тараз", "Zhambyl"],
        "Pavlodar" => &["Павлодар"],
        "Oskemen" => &["Ust-Kamenogorsk", "Өскемен", "Усть-Каменогорск"],
        "Semey" => &["Семей", "Semipalatinsk"],
        "Atyrau" => &["Атырау"],
        "Kostanay" => &["Костанай", "Qostanai"],
        "Kyzylorda" => &["Кызылорда", "Qyzylorda"],
        "Oral" => &["Uralsk", "Уральск"],
        "Petropavl" => &["Petropavlovsk", "Петропавловск"],
        "Aktau" => &["Актау", "Aqtau"],
        "Konaev" => &["Kapchagay", "Қонаев", "Qonaev"],
        "Taldykorgan" => &["Талдыкорган", "Taldyqorgan"],
        "Kokshetau" => &["Кокшетау", "Kokchetav"],
        "Zhezkazgan" => &["Жезказган", "Jezqazgan"],
        _ => &[],
    }
}

/// A Cyrillic name in Kazakh's 2021 Latin alphabet.
fn kazakh_latin(cyrillic: &str) -> String {
    let mut out = String::new();
    for c in cyrillic.chars() {
        let upper = c.is_uppercase();
        let lower = c.to_lowercase().next().unwrap_or(c);
        let latin = match lower {
            'а' => "a",
            'ә' => "ä",
            'б' => "b",
            'в' => "v",
            'г' => "g",
            'ғ' => "ğ",
            'д' => "d",
            'е' | 'э' => "e",
            'ё' => "io",
            'ж' => "j",
            'з' => "z",
            'и' | 'й' | 'і' => "i",
            'к' => "k",
            'қ' => "q",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'ң' => "ñ",
            'о' => "o",
            'ө' => "ö",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' | 'ұ' => "u",
            'ү' => "ü",
            'ф' => "f",
            'х' | 'һ' => "h",
            'ц' => "ts",
            'ч' => "ç",
            'ш' | 'щ' => "ş",
            'ъ' | 'ь' => "",
            'ы' => "y",
            'ю' => "iu",
            'я' => "ia",
            other => {
                out.push(other);
                continue;
            }
        };
        let mut chars = latin.chars();
        if let Some(first) = chars.next() {
            if upper {
                out.extend(first.to_uppercase());
            } else {
                out.push(first);
            }
            out.extend(chars);
        }
    }
    out
}

/// The same text with `й`, `ё` and Latin diacritics decomposed, as some phones send.
fn decomposed(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            'й' => out.push_str("и\u{306}"),
            'Й' => out.push_str("И\u{306}"),
            'ё' => out.push_str("е\u{308}"),
            'ş' => out.push_str("s\u{327}"),
            'ç' => out.push_str("c\u{327}"),
            'ğ' => out.push_str("g\u{306}"),
            'ü' => out.push_str("u\u{308}"),
            'ö' => out.push_str("o\u{308}"),
            'ä' => out.push_str("a\u{308}"),
            other => out.push(other),
        }
    }
    out
}

/// One letter of the surname (the longest word) doubled or dropped: a slip.
fn typo(rng: &mut StdRng, name: &str) -> String {
    let words: Vec<&str> = name.split(' ').collect();
    let Some((longest, _)) = words
        .iter()
        .enumerate()
        .max_by_key(|(_, w)| w.chars().count())
    else {
        return name.to_owned();
    };
    let chars: Vec<char> = words[longest].chars().collect();
    if chars.len() < 6 {
        return name.to_owned();
    }
    let at = rng.gen_range(2..chars.len() - 2);
    let mut changed: String = chars[..at].iter().collect();
    // The letter doubled, or dropped.
    if rng.gen_bool(0.5) {
        changed.push(chars[at]);
        changed.push(chars[at]);
    }
    changed.extend(&chars[at + 1..]);
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i == longest {
                changed.clone()
            } else {
                (*w).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The name of `person` as one report writes it: one of the three usual styles,
/// or with drift sometimes Kazakh 2021 Latin, decomposed, or with a typo.
fn written_name(rng: &mut StdRng, person: usize, style: usize, drift: bool) -> String {
    let base = crate::name(person, style);
    if !drift {
        return base;
    }
    match rng.gen_range(0..10) {
        0 | 1 => {
            let cyrillic = crate::name(person, 2);
            let latin = kazakh_latin(&cyrillic);
            // Given name first, as Latin writers do.
            let mut words: Vec<&str> = latin.split(' ').collect();
            if words.len() >= 2 {
                words.swap(0, 1);
            }
            words.join(" ")
        }
        2 => decomposed(&crate::name(person, 2)),
        3 => typo(rng, &base),
        _ => base,
    }
}

/// Short descriptions by category: two English phrasings and a Russian one.
fn description(rng: &mut StdRng, ev: &Event, people: u64, drift: bool) -> String {
    let category = ev.fields["category"].as_str().unwrap_or_default();
    let article = ev
        .fields
        .get("legal")
        .and_then(|l| l["article"].as_str())
        .unwrap_or("");
    let variant = if drift { rng.gen_range(0..3) } else { 0 };
    let n = people;
    match (category, variant) {
        ("arbitrary_detention", 0) => {
            format!("{n} peaceful protesters detained near the akimat; held without a lawyer.")
        }
        ("arbitrary_detention", 1) => {
            format!("Police detained {n} people at the protest by the akimat, no lawyer allowed.")
        }
        ("arbitrary_detention", _) => {
            format!("{n} мирных протестующих задержаны у акимата; удерживались без адвоката.")
        }
        ("administrative_arrest", 0) => format!("Arrested under article {article} of the CoAO."),
        ("administrative_arrest", 1) => {
            format!("Court gave administrative arrest, article {article}.")
        }
        ("administrative_arrest", _) => format!("Административный арест по статье {article} КоАП."),
        ("administrative_fine", 0) => format!("Fined under article {article}."),
        ("administrative_fine", 1) => format!("Court fine, article {article} CoAO."),
        ("administrative_fine", _) => format!("Оштрафован по статье {article}."),
        ("observation_obstructed", 0) => {
            "Observer removed from the polling station before the count.".into()
        }
        ("observation_obstructed", 1) => {
            "Not allowed to watch the count; removed from the station.".into()
        }
        ("observation_obstructed", _) => "Наблюдателя удалили с участка до подсчёта.".into(),
        ("voter_denied", 0) => "Voter turned away: told someone had already voted.".into(),
        ("voter_denied", 1) => "Turned away at the station, name already ticked off.".into(),
        ("voter_denied", _) => "Избирателю отказали: за него уже проголосовали.".into(),
        ("surveillance", 0) => "Followed by plain-clothes officers all day.".into(),
        ("surveillance", 1) => "Plain-clothes men followed the activist around the city.".into(),
        ("surveillance", _) => "Весь день за активистом следили люди в штатском.".into(),
        ("persecution", 0) => "Warning visit by police; pressed to give up observing.".into(),
        ("persecution", 1) => "Police came to the home and warned against observing.".into(),
        ("persecution", _) => {
            "Полиция пришла домой с предупреждением; давили, чтобы отказался от наблюдения.".into()
        }
        (other, 2) => format!("Нарушение: {}.", other.replace('_', " ")),
        (other, _) => format!("Reported: {}.", other.replace('_', " ")),
    }
}

/// `day` and a minute of the day as RFC 3339 in Kazakhstan's `+06:00`, or with drift
/// sometimes the same instant in UTC or `+05:00`.
fn time(rng: &mut StdRng, day: &str, minute: i64, drift: bool) -> String {
    let minute = minute.clamp(0, 23 * 60 + 59);
    let (offset, shift) = if drift {
        match rng.gen_range(0..6) {
            0 => ("Z", 360),
            1 => ("+05:00", 60),
            _ => ("+06:00", 0),
        }
    } else {
        ("+06:00", 0)
    };
    // Election-day and campaign times lie between 08:00 and 23:59, so the shifted
    // instant stays on the same date.
    let m = minute - shift;
    format!("{day}T{:02}:{:02}:00{offset}", m / 60, m % 60)
}

/// The reports of every event.
pub(crate) fn reports(rng: &mut StdRng, events: &[Event], reporting: Reporting) -> Vec<Value> {
    let mut out = Vec::new();
    for (index, ev) in events.iter().enumerate() {
        let copies = if reporting.duplicates {
            match rng.gen_range(0..100) {
                0..=55 => 1,
                56..=87 => 2,
                _ => 3,
            }
        } else {
            1
        };
        let minute: i64 = rng.gen_range(8 * 60..21 * 60);
        let station = ev
            .fields
            .get("polling_station")
            .is_some_and(Value::is_null)
            .then(|| {
                let (city, _) = CITIES[ev.city];
                format!("{}-{:03}", &city[..3].to_uppercase(), rng.gen_range(1..400))
            });
        let first_observer = rng.gen_range(1..=180);
        for copy in 0..copies {
            // Now and then one observer reports an event twice.
            let observer = if copy == 0 || rng.gen_bool(0.05) {
                first_observer
            } else {
                rng.gen_range(1..=180)
            };
            let mut people = ev.people;
            let mut persons = ev.persons.clone();
            if copy > 0 {
                // A later observer knows fewer names, and of a crowd counts fewer
                // ("at least").
                if persons.len() > 1 && rng.gen_bool(0.5) {
                    let keep = rng.gen_range(1..persons.len());
                    persons.shuffle(rng);
                    persons.truncate(keep);
                }
                if ev.at_least && people > 3 && rng.gen_bool(0.3) {
                    people -= rng.gen_range(1..=people / 3);
                }
            }
            let style = (index + copy) % 3;
            let names: Vec<String> = persons
                .iter()
                .map(|&p| written_name(rng, p, style, reporting.drift))
                .collect();
            let jitter = if copy == 0 {
                0
            } else {
                rng.gen_range(-25..=25)
            };
            let late = if reporting.drift && rng.gen_bool(0.15) {
                30
            } else {
                0
            };
            let day = ev.fields["_day"].as_str().unwrap_or("2021-01-10");
            let occurred = time(rng, day, minute + jitter + late, reporting.drift);
            let delay = rng.gen_range(5..180);
            let reported = time(rng, day, minute + jitter + delay, reporting.drift);
            let (mut city, mut region) =
                (CITIES[ev.city].0.to_owned(), CITIES[ev.city].1.to_owned());
            if reporting.drift {
                let aliases = city_aliases(&city);
                if !aliases.is_empty() && rng.gen_bool(0.3) {
                    city = aliases[rng.gen_range(0..aliases.len())].to_owned();
                }
                if rng.gen_bool(0.15) {
                    region = String::new();
                }
            }
            let role = ev.fields["affected_role"].clone();
            let mut r = Map::new();
            r.insert("report_id".into(), uuid(rng).into());
            r.insert("reported_by".into(), format!("obs-{observer:03}").into());
            r.insert("reported_at".into(), reported.into());
            r.insert("occurred_at".into(), occurred.into());
            r.insert("city".into(), city.into());
            r.insert("region".into(), region.into());
            r.insert("people_count".into(), people.into());
            r.insert("count_is_lower_bound".into(), ev.at_least.into());
            r.insert(
                "persons".into(),
                names
                    .iter()
                    .map(|n| json!({"name": n, "role": role}))
                    .collect::<Vec<_>>()
                    .into(),
            );
            for (k, v) in &ev.fields {
                if !k.starts_with('_') && !v.is_null() {
                    r.insert(k.clone(), v.clone());
                }
            }
            if let Some(station) = &station {
                r.insert("polling_station".into(), station.clone().into());
            }
            r.insert(
                "description".into(),
                description(rng, ev, people, reporting.drift).into(),
            );
            r.insert("_event".into(), index.into());
            out.push(Value::Object(r));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kazakh_latin_writes_the_2021_letters() {
        assert_eq!(kazakh_latin("Жунусов Жанибек"), "Junusov Janibek");
        assert_eq!(kazakh_latin("Сейткали Қайрат"), "Seitkali Qairat");
    }

    #[test]
    fn decomposed_text_differs_in_bytes_only() {
        let nfd = decomposed("Айбек");
        assert_ne!(nfd, "Айбек");
        assert_eq!(nfd.chars().count(), 6);
    }
}
