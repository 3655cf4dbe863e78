//! Synthetic partner exports, shaped like the Kazakhstan 2021 coalition report, with
//! the figures a correct count must give.
//!
//! The people, observers and stations are invented. Figures are computed from the
//! ground-truth events (people by identity, not by spelling), independently of
//! Vigil's counting, so that tests can check Vigil against them. Only `rand` and
//! `serde_json`; the same seed gives the same dataset.

mod reporting;

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

pub use reporting::Reporting;

const CITIES: &[(&str, &str)] = &[
    ("Almaty", "Almaty"),
    ("Astana", "Astana"),
    ("Shymkent", "Shymkent"),
    ("Karaganda", "Karaganda Region"),
    ("Aktobe", "Aktobe Region"),
    ("Taraz", "Jambyl Region"),
    ("Pavlodar", "Pavlodar Region"),
    ("Oskemen", "East Kazakhstan Region"),
    ("Semey", "Abai Region"),
    ("Atyrau", "Atyrau Region"),
    ("Kostanay", "Kostanay Region"),
    ("Kyzylorda", "Kyzylorda Region"),
    ("Oral", "West Kazakhstan Region"),
    ("Petropavl", "North Kazakhstan Region"),
    ("Aktau", "Mangystau Region"),
    ("Temirtau", "Karaganda Region"),
    ("Turkistan", "Turkistan Region"),
    ("Kokshetau", "Akmola Region"),
    ("Taldykorgan", "Jetisu Region"),
    ("Ekibastuz", "Pavlodar Region"),
    ("Zhezkazgan", "Ulytau Region"),
    ("Rudny", "Kostanay Region"),
    ("Zhanaozen", "Mangystau Region"),
    ("Kaskelen", "Almaty Region"),
    ("Konaev", "Almaty Region"),
    ("Stepnogorsk", "Akmola Region"),
    ("Balkhash", "Karaganda Region"),
    ("Satbayev", "Ulytau Region"),
];

/// Given names: Latin and Cyrillic spellings.
const GIVEN: &[(&str, &str)] = &[
    ("Aibek", "Айбек"),
    ("Aidar", "Айдар"),
    ("Askar", "Аскар"),
    ("Yerlan", "Ерлан"),
    ("Nurlan", "Нурлан"),
    ("Daniyar", "Данияр"),
    ("Bauyrzhan", "Бауыржан"),
    ("Timur", "Тимур"),
    ("Arman", "Арман"),
    ("Marat", "Марат"),
    ("Serik", "Серик"),
    ("Zhanibek", "Жанибек"),
    ("Kairat", "Кайрат"),
    ("Olzhas", "Олжас"),
    ("Ruslan", "Руслан"),
    ("Yerzhan", "Ержан"),
    ("Almas", "Алмас"),
    ("Berik", "Берик"),
    ("Dauren", "Даурен"),
    ("Galym", "Галым"),
    ("Ilyas", "Ильяс"),
    ("Kanat", "Канат"),
    ("Mukhtar", "Мухтар"),
    ("Rinat", "Ринат"),
];

const SURNAMES: &[(&str, &str)] = &[
    ("Abenov", "Абенов"),
    ("Bekturov", "Бектуров"),
    ("Dzhaksybekov", "Джаксыбеков"),
    ("Yesimov", "Есимов"),
    ("Zhakupov", "Жакупов"),
    ("Ismailov", "Исмаилов"),
    ("Kaliyev", "Калиев"),
    ("Mukanov", "Муканов"),
    ("Nurpeisov", "Нурпеисов"),
    ("Omarov", "Омаров"),
    ("Sadykov", "Садыков"),
    ("Tokayev", "Токаев"),
    ("Utepov", "Утепов"),
    ("Khamitov", "Хамитов"),
    ("Shaikenov", "Шайкенов"),
    ("Yerzhanov", "Ержанов"),
    ("Amanov", "Аманов"),
    ("Dosanov", "Досанов"),
    ("Zhumabayev", "Жумабаев"),
    ("Kenzhebekov", "Кенжебеков"),
    ("Rakhimov", "Рахимов"),
    ("Seitkali", "Сейткали"),
    ("Tulegenov", "Тулегенов"),
    ("Sarsenbayev", "Сарсенбаев"),
    ("Akhmetov", "Ахметов"),
    ("Beisenov", "Бейсенов"),
    ("Iskakov", "Искаков"),
    ("Zhunusov", "Жунусов"),
    ("Kassymov", "Касымов"),
    ("Sabitov", "Сабитов"),
    ("Syzdykov", "Сыздыков"),
    ("Issayev", "Исаев"),
    ("Ualiyev", "Уалиев"),
    ("Yergaliyev", "Ергалиев"),
];

/// A dataset: partner-format reports and the figures they must give.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// One JSON object per report, in the partner export format.
    pub reports: Vec<Value>,
    /// The figures per `"<phase>/<category>"`, with the keys of `*.expected.json`.
    pub expected: BTreeMap<String, Value>,
}

impl Scenario {
    /// The reports as JSON lines.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for r in &self.reports {
            out.push_str(&r.to_string());
            out.push('\n');
        }
        out
    }

    /// The expected figures as one JSON object.
    pub fn expected_json(&self) -> Value {
        Value::Object(self.expected.clone().into_iter().collect())
    }

    /// The ground truth of a duplicated scenario: each report's id and the index of
    /// the event it describes (its `_event`), for scoring only.
    pub fn truth(&self) -> Vec<(String, u64)> {
        self.reports
            .iter()
            .filter_map(|r| Some((r["report_id"].as_str()?.to_owned(), r["_event"].as_u64()?)))
            .collect()
    }

    /// The reports as JSON lines without `_event`, as a real export comes.
    pub fn to_jsonl_without_truth(&self) -> String {
        let mut out = String::new();
        for r in &self.reports {
            let mut r = r.clone();
            if let Value::Object(map) = &mut r {
                map.remove("_event");
            }
            out.push_str(&r.to_string());
            out.push('\n');
        }
        out
    }

    /// Every name written in the reports, for tests that look for them.
    pub fn names(&self) -> Vec<String> {
        self.reports
            .iter()
            .flat_map(|r| r["persons"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect()
    }
}

struct Event {
    fields: Map<String, Value>,
    city: usize,
    people: u64,
    at_least: bool,
    persons: Vec<usize>,
}

struct Builder {
    rng: StdRng,
    events: Vec<Event>,
    next_person: usize,
}

/// The name of person number `person`, spelled in one of three styles (Latin,
/// SURNAME first, Cyrillic).
fn name(person: usize, style: usize) -> String {
    let per_round = GIVEN.len() * SURNAMES.len();
    let (g, s) = (
        GIVEN[person % GIVEN.len()],
        SURNAMES[(person / GIVEN.len()) % SURNAMES.len()],
    );
    // Past the first round of combinations, a patronymic keeps people distinct.
    let round = person / per_round;
    let patronymic = (round > 0).then(|| GIVEN[(round - 1) % GIVEN.len()]);
    let extra = round / (GIVEN.len() + 1);
    let suffix = if extra > 0 {
        format!(" {}", roman(extra))
    } else {
        String::new()
    };
    match style % 3 {
        0 => match patronymic {
            Some(p) => format!("{} {}uly {}{suffix}", g.0, p.0, s.0),
            None => format!("{} {}{suffix}", g.0, s.0),
        },
        1 => match patronymic {
            Some(p) => format!("{} {} {}uly{suffix}", s.0.to_uppercase(), g.0, p.0),
            None => format!("{} {}{suffix}", s.0.to_uppercase(), g.0),
        },
        _ => match patronymic {
            Some(p) => format!("{} {} {}улы{suffix}", s.1, g.1, p.1),
            None => format!("{} {}{suffix}", s.1, g.1),
        },
    }
}

impl Builder {
    fn person(&mut self) -> usize {
        self.next_person += 1;
        self.next_person - 1
    }

    fn event(&mut self, fields: Value, city: usize, people: u64, at_least: bool, named: usize) {
        let persons = (0..named).map(|_| self.person()).collect();
        let Value::Object(fields) = fields else {
            return;
        };
        self.events.push(Event {
            fields,
            city,
            people,
            at_least,
            persons,
        });
    }

    fn split(&mut self, total: u64, parts: usize) -> Vec<u64> {
        let mut cuts: Vec<u64> = (1..total)
            .collect::<Vec<_>>()
            .choose_multiple(&mut self.rng, parts - 1)
            .copied()
            .collect();
        cuts.sort_unstable();
        let mut out = Vec::with_capacity(parts);
        let mut last = 0;
        for c in cuts.into_iter().chain([total]) {
            out.push(c - last);
            last = c;
        }
        out
    }
}

fn roman(n: usize) -> String {
    [
        "", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X",
    ]
    .get(n)
    .map_or_else(|| format!("N{n}"), |s| (*s).to_owned())
}

/// Generates `scale` campaigns with `seed`: 729 reports per campaign, one per event.
pub fn generate(seed: u64, scale: usize) -> Scenario {
    let mut b = Builder {
        rng: StdRng::seed_from_u64(seed),
        events: Vec::new(),
        next_person: 0,
    };
    for _ in 0..scale {
        campaign(&mut b);
    }
    let expected = figures(&b.events);
    let mut reports = Vec::with_capacity(b.events.len());
    for (i, ev) in b.events.iter().enumerate() {
        let names: Vec<String> = ev.persons.iter().map(|&p| name(p, i)).collect();
        reports.push(report(&mut b.rng, &names, ev, i));
    }
    reports.shuffle(&mut b.rng);
    Scenario { reports, expected }
}

/// Generates `scale` campaigns with `seed`, reported as `reporting` says: with
/// duplicates, each event one to three times; with drift, as messily as real
/// partner exports. The figures are those of the events, whatever the reports.
pub fn generate_reported(seed: u64, scale: usize, reporting: Reporting) -> Scenario {
    let mut b = Builder {
        rng: StdRng::seed_from_u64(seed),
        events: Vec::new(),
        next_person: 0,
    };
    for _ in 0..scale {
        campaign(&mut b);
    }
    let expected = figures(&b.events);
    let mut reports = reporting::reports(&mut b.rng, &b.events, reporting);
    reports.shuffle(&mut b.rng);
    Scenario { reports, expected }
}

fn report(rng: &mut StdRng, names: &[String], ev: &Event, index: usize) -> Value {
    let (city, region) = CITIES[ev.city];
    let day = ev.fields["_day"]
        .as_str()
        .unwrap_or("2021-01-10")
        .to_owned();
    let minute = rng.gen_range(8 * 60..21 * 60);
    let occurred = format!("{day}T{:02}:{:02}:00+06:00", minute / 60, minute % 60);
    let reported_minute = (minute + rng.gen_range(5..180)).min(23 * 60 + 59);
    let reported = format!(
        "{day}T{:02}:{:02}:00+06:00",
        reported_minute / 60,
        reported_minute % 60
    );
    let role = ev.fields["affected_role"].clone();
    let mut r = Map::new();
    r.insert("report_id".into(), uuid(rng).into());
    r.insert(
        "reported_by".into(),
        format!("obs-{:03}", rng.gen_range(1..=180)).into(),
    );
    r.insert("reported_at".into(), reported.into());
    r.insert("occurred_at".into(), occurred.into());
    r.insert("city".into(), city.into());
    r.insert("region".into(), region.into());
    r.insert("people_count".into(), ev.people.into());
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
        if !k.starts_with('_') {
            r.insert(k.clone(), v.clone());
        }
    }
    if r.get("polling_station").is_some_and(Value::is_null) {
        let station = format!("{}-{:03}", &city[..3].to_uppercase(), rng.gen_range(1..400));
        r.insert("polling_station".into(), station.into());
    }
    let description = format!(
        "Report {index}: {} in {city}.{}",
        ev.fields["category"]
            .as_str()
            .unwrap_or_default()
            .replace('_', " "),
        names
            .first()
            .map(|n| format!(" {n} was among them."))
            .unwrap_or_default()
    );
    r.insert("description".into(), description.into());
    Value::Object(r)
}

fn uuid(rng: &mut StdRng) -> String {
    let mut b: [u8; 16] = rng.r#gen();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn campaign_day(rng: &mut StdRng) -> String {
    // November and December 2020, and the first days of January 2021.
    let d = rng.gen_range(0..70);
    match d {
        0..=29 => format!("2020-11-{:02}", d + 1),
        30..=60 => format!("2020-12-{:02}", d - 29),
        _ => format!("2021-01-{:02}", d - 60),
    }
}

fn campaign(b: &mut Builder) {
    let mut cities: Vec<usize> = (0..CITIES.len()).collect();
    cities.shuffle(&mut b.rng);
    let ed = "2021-01-10";
    // Election day: arbitrary detentions, 356 people in 61 events, 109 named, 9 cities.
    let sizes = b.split(356, 61);
    let mut named = vec![0usize; sizes.len()];
    let mut left = 109;
    while left > 0 {
        let i = b.rng.gen_range(0..sizes.len());
        if (named[i] as u64) < sizes[i] {
            named[i] += 1;
            left -= 1;
        }
    }
    for (i, &n) in sizes.iter().enumerate() {
        let hours = match i {
            0 => 6,
            1 => 13,
            _ => b.rng.gen_range(6..=13),
        };
        let city = cities[i % 9];
        b.event(json!({"phase": "election_day", "category": "arbitrary_detention", "_day": ed,
            "affected_role": "protester", "context": "protest", "held_hours": hours, "perpetrator": "police"}),
            city, n, n >= 10, named[i]);
    }
    for i in 0..8 {
        let article = if i < 6 { "488" } else { "434" };
        let city = cities[b.rng.gen_range(0..9)];
        let days = [5, 10, 15][b.rng.gen_range(0..3)];
        b.event(
            json!({"phase": "election_day", "category": "administrative_arrest", "_day": ed,
            "affected_role": "protester", "context": "protest", "perpetrator": "court",
            "legal": {"code": "CoAO", "article": article, "sanction": "arrest", "days": days}}),
            city,
            1,
            false,
            1,
        );
    }
    for _ in 0..2 {
        let city = cities[b.rng.gen_range(0..9)];
        b.event(
            json!({"phase": "election_day", "category": "administrative_fine", "_day": ed,
            "affected_role": "protester", "context": "protest", "perpetrator": "court",
            "legal": {"code": "CoAO", "article": "488", "sanction": "fine", "amount_kzt": 83340}}),
            city,
            1,
            false,
            1,
        );
    }
    for n in b.split(49, 24) {
        let city = cities[b.rng.gen_range(0..cities.len())];
        b.event(
            json!({"phase": "election_day", "category": "observation_obstructed", "_day": ed,
            "affected_role": "observer", "context": "observation", "polling_station": null,
            "perpetrator": "election_commission"}),
            city,
            n,
            false,
            0,
        );
    }
    for _ in 0..7 {
        let city = cities[b.rng.gen_range(0..cities.len())];
        b.event(
            json!({"phase": "election_day", "category": "observation_obstructed", "_day": ed,
            "affected_role": "journalist", "context": "journalism", "polling_station": null,
            "perpetrator": "election_commission"}),
            city,
            1,
            false,
            1,
        );
    }
    for i in 0..11 {
        let city = cities[b.rng.gen_range(0..cities.len())];
        b.event(
            json!({"phase": "election_day", "category": "voter_denied", "_day": ed,
            "affected_role": "voter", "context": "voting", "polling_station": null,
            "impersonation": i == 0, "perpetrator": "election_commission"}),
            city,
            1,
            false,
            1,
        );
    }
    let city = cities[b.rng.gen_range(0..9)];
    b.event(
        json!({"phase": "election_day", "category": "attack_on_journalist", "_day": ed,
        "affected_role": "journalist", "context": "journalism", "perpetrator": "unknown"}),
        city,
        1,
        false,
        1,
    );
    for _ in 0..13 {
        let city = cities[b.rng.gen_range(0..cities.len())];
        b.event(json!({"phase": "election_day", "category": "surveillance", "_day": ed,
            "affected_role": "activist", "context": "observation", "perpetrator": "security_service"}), city, 1, false, 0);
    }
    let city = cities[b.rng.gen_range(0..cities.len())];
    b.event(json!({"phase": "election_day", "category": "criminal_summons", "_day": ed,
        "affected_role": "activist", "context": "observation", "charge": "extremism", "perpetrator": "police",
        "legal": {"code": "CC", "article": "405", "sanction": "summons_as_suspect"}}), city, 1, false, 1);

    // Campaign: 552 persecutions in 26 cities (33 campaigning, 464 observation, 512 preventive).
    let mut contexts: Vec<&str> = [
        vec!["campaigning"; 33],
        vec!["observation"; 464],
        vec!["protest"; 55],
    ]
    .concat();
    contexts.shuffle(&mut b.rng);
    let mut preventive: Vec<bool> = [vec![true; 512], vec![false; 40]].concat();
    preventive.shuffle(&mut b.rng);
    for i in 0..552 {
        let role = if contexts[i] == "observation" {
            "observer"
        } else {
            "activist"
        };
        let day = campaign_day(&mut b.rng);
        b.event(json!({"phase": "campaign", "category": "persecution", "_day": day, "affected_role": role,
            "context": contexts[i], "preventive": preventive[i], "perpetrator": "police"}), cities[i % 26], 1, false, 1);
    }
    for (category, n, extra) in [
        (
            "political_prisoner",
            6,
            json!({"context": "protest", "legal": {"code": "CC", "article": "405", "sanction": "imprisonment"}}),
        ),
        ("house_arrest", 3, json!({"context": "protest"})),
        (
            "psychiatric_placement",
            1,
            json!({"context": "campaigning", "status_from": "2020-12-22", "status_to": "2021-01-11"}),
        ),
    ] {
        for _ in 0..n {
            let day = campaign_day(&mut b.rng);
            let city = cities[b.rng.gen_range(0..26)];
            let mut fields = json!({"phase": "campaign", "category": category, "_day": day,
                "affected_role": "activist", "perpetrator": "court"});
            merge(&mut fields, &extra);
            b.event(fields, city, 1, false, 1);
        }
    }
    for (context, role, n) in [
        ("campaigning", "activist", 2),
        ("observation", "observer", 1),
    ] {
        for _ in 0..n {
            let day = campaign_day(&mut b.rng);
            let city = cities[b.rng.gen_range(0..26)];
            b.event(json!({"phase": "campaign", "category": "beating", "_day": day, "affected_role": role,
                "context": context, "investigated": false, "perpetrator": "unknown"}), city, 1, false, 1);
        }
    }
    for (grounds, article, n) in [
        ("rally_call", "488", 10),
        ("slander", "73-3", 4),
        ("other", "434", 12),
    ] {
        for _ in 0..n {
            let day = campaign_day(&mut b.rng);
            let city = cities[b.rng.gen_range(0..26)];
            b.event(json!({"phase": "campaign", "category": "administrative_arrest", "_day": day,
                "affected_role": "activist", "context": "campaigning", "preventive": true, "grounds": grounds,
                "perpetrator": "court", "legal": {"code": "CoAO", "article": article, "sanction": "arrest", "days": 10}}),
                city, 1, false, 1);
        }
    }
    for (article, n) in [("113", 7), ("118", 2)] {
        for _ in 0..n {
            let day = campaign_day(&mut b.rng);
            let city = cities[b.rng.gen_range(0..26)];
            b.event(json!({"phase": "campaign", "category": "administrative_fine", "_day": day,
                "affected_role": "activist", "context": "campaigning", "perpetrator": "court",
                "legal": {"code": "CoAO", "article": article, "sanction": "fine", "amount_kzt": 27780}}), city, 1, false, 1);
        }
    }
    // After election day: four activists detained in Astana.
    b.event(json!({"phase": "post_election", "category": "arbitrary_detention", "_day": "2021-01-11",
        "affected_role": "activist", "context": "protest", "held_hours": 8, "perpetrator": "police"}), 1, 4, false, 4);
}

fn merge(into: &mut Value, extra: &Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, extra) {
        for (k, v) in b {
            a.insert(k.clone(), v.clone());
        }
    }
}

/// The figures over the ground-truth events, by the counting rules of DOMAIN.md.
fn figures(events: &[Event]) -> BTreeMap<String, Value> {
    #[derive(Default)]
    struct F {
        events: u64,
        people: u64,
        lower: bool,
        cities: BTreeSet<usize>,
        named: BTreeSet<usize>,
        by: BTreeMap<&'static str, BTreeMap<String, u64>>,
        preventive: u64,
        impersonation: u64,
        hours: Option<(i64, i64)>,
    }
    let mut groups: BTreeMap<String, F> = BTreeMap::new();
    for ev in events {
        let text = |k: &str| ev.fields.get(k).and_then(Value::as_str).map(str::to_owned);
        let key = format!(
            "{}/{}",
            text("phase").unwrap_or_default(),
            text("category").unwrap_or_default()
        );
        let f = groups.entry(key).or_default();
        let n = ev.people;
        f.events += 1;
        f.people += n;
        f.lower |= ev.at_least;
        f.cities.insert(ev.city);
        f.named.extend(ev.persons.iter().copied());
        let article = ev
            .fields
            .get("legal")
            .and_then(|l| l["article"].as_str())
            .map(str::to_owned);
        for (name, value) in [
            ("by_article", article),
            ("by_context", text("context")),
            ("by_affected_role", text("affected_role")),
            ("by_grounds", text("grounds")),
        ] {
            if let Some(v) = value {
                *f.by.entry(name).or_default().entry(v).or_default() += n;
            }
        }
        if ev.fields.get("preventive") == Some(&Value::Bool(true)) {
            f.preventive += n;
        }
        if ev.fields.get("impersonation") == Some(&Value::Bool(true)) {
            f.impersonation += 1;
        }
        if let Some(h) = ev.fields.get("held_hours").and_then(Value::as_i64) {
            f.hours = Some(f.hours.map_or((h, h), |(lo, hi)| (lo.min(h), hi.max(h))));
        }
    }
    groups
        .into_iter()
        .map(|(key, f)| {
            let mut o = Map::new();
            o.insert("events".into(), f.events.into());
            o.insert("people".into(), f.people.into());
            if f.lower {
                o.insert("people_is_lower_bound".into(), true.into());
            }
            o.insert("cities".into(), f.cities.len().into());
            o.insert("named_people".into(), f.named.len().into());
            for name in ["by_article", "by_context", "by_affected_role", "by_grounds"] {
                if let Some(map) = f.by.get(name) {
                    o.insert(name.into(), json!(map));
                }
            }
            if f.preventive > 0 {
                o.insert("preventive".into(), f.preventive.into());
            }
            if f.impersonation > 0 {
                o.insert("impersonation".into(), f.impersonation.into());
            }
            if let Some((lo, hi)) = f.hours {
                o.insert("held_hours_min".into(), lo.into());
                o.insert("held_hours_max".into(), hi.into());
            }
            (key, Value::Object(o))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_campaign_has_the_published_shape() {
        let s = generate(1, 1);
        assert_eq!(s.reports.len(), 729);
        let det = &s.expected["election_day/arbitrary_detention"];
        assert_eq!(det["people"], 356);
        assert_eq!(det["named_people"], 109);
        assert_eq!(det["cities"], 9);
        assert_eq!(s.expected["campaign/persecution"]["preventive"], 512);
    }

    #[test]
    fn the_same_seed_gives_the_same_data() {
        assert_eq!(generate(7, 1).to_jsonl(), generate(7, 1).to_jsonl());
        assert_ne!(generate(7, 1).to_jsonl(), generate(8, 1).to_jsonl());
    }

    #[test]
    fn names_stay_distinct_at_scale() {
        let s = generate(1, 20);
        let names: BTreeSet<String> = s.names().into_iter().collect();
        assert_eq!(names.len(), s.names().len());
    }
}
