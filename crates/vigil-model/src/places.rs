//! Places: one city however it was written.
//!
//! Observers write `Oskemen`, `Ust-Kamenogorsk`, `Өскемен` or `ÖSKEMEN` for one
//! city, and partners leave the region out. A [`Gazetteer`] (data, `places/*.toml`,
//! one per country) knows each city's names in every script, its older names, its
//! region and its coordinates, so that `cities` counts a city once and the matcher
//! compares places, not spellings. A place the gazetteer does not know keeps its
//! folded spelling: it still counts, only without aliases.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::names::key_words;
use crate::taxonomy::Labels;

/// The built-in gazetteer of Kazakhstan, the default taxonomy's country.
pub const KZ_TOML: &str = include_str!("../places/kz.toml");

/// A city of the gazetteer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct City {
    /// Stable id, e.g. `oskemen`.
    pub id: String,
    /// Its current name by language (`en`, `ru`, `kk`).
    pub label: Labels,
    /// Other names: older ones, other alphabets, common misspellings.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The id of its region.
    pub region: String,
    /// Latitude of the centre, degrees north.
    pub lat: f64,
    /// Longitude of the centre, degrees east.
    pub lon: f64,
}

/// A region (oblast, or a city of republican significance).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Stable id, e.g. `east_kazakhstan`.
    pub id: String,
    /// Its names, in any script.
    pub names: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    country: String,
    regions: Vec<Region>,
    cities: Vec<City>,
}

/// The places of one country, looked up by any of their names.
#[derive(Debug, Clone)]
pub struct Gazetteer {
    /// ISO 3166 code of the country.
    pub country: String,
    cities: Vec<City>,
    regions: Vec<Region>,
    city_by_key: HashMap<String, usize>,
    region_by_key: HashMap<String, usize>,
}

/// What a place's spelling comes to: the city's id where the gazetteer knows it,
/// else the folded spelling. Two spellings of one city give one key.
pub fn place_key(text: &str) -> String {
    key_words(text)
        .into_iter()
        .filter(|w| !matches!(w.as_str(), "g" | "gorod" | "city" | "kalasy"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Gazetteer {
    /// Reads a gazetteer from its TOML.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        let file: File = toml::from_str(text)?;
        let mut city_by_key = HashMap::new();
        for (i, city) in file.cities.iter().enumerate() {
            let names = city
                .label
                .values()
                .chain(&city.aliases)
                .chain(std::iter::once(&city.id));
            for name in names {
                city_by_key.entry(place_key(name)).or_insert(i);
            }
        }
        let mut region_by_key = HashMap::new();
        for (i, region) in file.regions.iter().enumerate() {
            for name in region.names.iter().chain(std::iter::once(&region.id)) {
                region_by_key.entry(place_key(name)).or_insert(i);
            }
        }
        Ok(Self {
            country: file.country,
            cities: file.cities,
            regions: file.regions,
            city_by_key,
            region_by_key,
        })
    }

    /// A gazetteer that knows no place.
    pub fn empty() -> Gazetteer {
        Gazetteer {
            country: String::new(),
            cities: Vec::new(),
            regions: Vec::new(),
            city_by_key: HashMap::new(),
            region_by_key: HashMap::new(),
        }
    }

    /// The built-in gazetteer (Kazakhstan).
    pub fn builtin() -> &'static Gazetteer {
        static BUILTIN: OnceLock<Gazetteer> = OnceLock::new();
        // A test proves the shipped file parses; were it broken, places would still
        // fold by their written key alone rather than take the process down.
        BUILTIN.get_or_init(|| Gazetteer::from_toml(KZ_TOML).unwrap_or_else(|_| Gazetteer::empty()))
    }

    /// The city written `text`, if known.
    pub fn city(&self, text: &str) -> Option<&City> {
        self.city_by_key
            .get(&place_key(text))
            .map(|&i| &self.cities[i])
    }

    /// The region written `text`, if known.
    pub fn region(&self, text: &str) -> Option<&Region> {
        self.region_by_key
            .get(&place_key(text))
            .map(|&i| &self.regions[i])
    }

    /// Every city, in the file's order.
    pub fn cities(&self) -> &[City] {
        &self.cities
    }

    /// The key a city counts by: its id, or the folded spelling of an unknown one.
    pub fn city_key(&self, text: &str) -> String {
        match self.city(text) {
            Some(city) => city.id.clone(),
            None => place_key(text),
        }
    }

    /// The key a region counts by: the region of the city where the city is known
    /// (partners leave the region out, or write an old one), else the region's id,
    /// else its folded spelling.
    pub fn region_key(&self, city: &str, region: &str) -> String {
        if let Some(city) = self.city(city) {
            return city.region.clone();
        }
        match self.region(region) {
            Some(region) => region.id.clone(),
            None => place_key(region),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_gazetteer_parses() {
        assert!(Gazetteer::from_toml(KZ_TOML).is_ok());
    }

    #[test]
    fn one_city_however_it_is_written() {
        let g = Gazetteer::builtin();
        for text in [
            "Oskemen",
            "Ust-Kamenogorsk",
            "Усть-Каменогорск",
            "Өскемен",
            "ÖSKEMEN",
            "O\u{308}skemen",
            " oskemen ",
        ] {
            assert_eq!(g.city_key(text), "oskemen", "{text}");
        }
        assert_eq!(g.city_key("Алматы"), "almaty");
        assert_eq!(g.city_key("Alma-Ata"), "almaty");
        assert_eq!(g.city_key("г. Алматы"), "almaty");
        assert_eq!(g.city_key("Nur-Sultan"), "astana");
        assert_eq!(g.city_key("Kapchagay"), "konaev");
    }

    #[test]
    fn a_missing_region_comes_from_the_city() {
        let g = Gazetteer::builtin();
        assert_eq!(g.region_key("Oskemen", ""), "east_kazakhstan");
        assert_eq!(
            g.region_key("Somewhere", "Восточно-Казахстанская область"),
            "east_kazakhstan"
        );
        assert_eq!(
            g.region_key("Somewhere", "Nowhere Region"),
            "nowhere region"
        );
    }

    #[test]
    fn unknown_places_keep_their_spelling_and_stay_distinct() {
        let g = Gazetteer::builtin();
        assert_eq!(g.city_key("Tbilisi"), "tbilisi");
        assert_ne!(g.city_key("Tbilisi"), g.city_key("Batumi"));
        assert!(g.city("").is_none());
    }

    #[test]
    fn every_city_has_a_known_region_and_plausible_coordinates() {
        let g = Gazetteer::builtin();
        assert!(g.cities().len() >= 28);
        let mut ids = std::collections::BTreeSet::new();
        for city in g.cities() {
            assert!(ids.insert(&city.id), "{} twice", city.id);
            assert!(g.region(&city.region).is_some(), "{}", city.id);
            assert!((40.0..56.0).contains(&city.lat), "{}", city.id);
            assert!((46.0..88.0).contains(&city.lon), "{}", city.id);
            for lang in ["en", "ru", "kk"] {
                assert!(city.label.contains_key(lang), "{} {lang}", city.id);
            }
        }
    }

    #[test]
    fn no_two_cities_share_a_name() {
        let g = Gazetteer::builtin();
        let mut seen = HashMap::new();
        for city in g.cities() {
            for name in city.label.values().chain(&city.aliases) {
                if let Some(other) = seen.insert(place_key(name), &city.id) {
                    assert_eq!(other, &city.id, "{name}");
                }
            }
        }
    }
}
