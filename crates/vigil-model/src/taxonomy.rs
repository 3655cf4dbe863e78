//! The taxonomy: which phases, categories, fields, roles and legal codes a team uses.
//!
//! It is data, not code: the default (`taxonomy/default.toml`) is built in, and a team
//! replaces it with its own file without a new release. Nothing in Vigil names a
//! category; counting reads a few conventional field ids (`context`, `legal`,
//! `preventive`, `grounds`, `impersonation`, `held_hours`) where a category has them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The built-in default taxonomy, as TOML.
pub const DEFAULT_TOML: &str = include_str!("../taxonomy/default.toml");

/// Labels by language code (`en`, `ru`, ...).
pub type Labels = BTreeMap<String, String>;

/// Something with an id and labels: a phase, a role, a choice, a sanction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    /// Stable id, as stored in incidents and files.
    pub id: String,
    /// Human labels by language.
    pub label: Labels,
}

/// An incident category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Stable id, e.g. `arbitrary_detention`.
    pub id: String,
    /// Phases in which it can happen.
    pub phases: Vec<String>,
    /// Human labels by language.
    pub label: Labels,
    /// Fields of this category, beyond the core and common fields.
    #[serde(default)]
    pub fields: Vec<String>,
    /// Fields that must be filled in.
    #[serde(default)]
    pub required: Vec<String>,
}

/// The kind of value a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Yes or no.
    Boolean,
    /// A whole number within `min..=max`.
    Integer,
    /// Free text.
    Text,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// One of `choices`.
    Choice,
    /// A legal qualification: code, article, sanction, days, amount.
    Legal,
}

/// A field that categories can use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Stable id, e.g. `held_hours`.
    pub id: String,
    /// What it holds.
    pub kind: FieldKind,
    /// Human labels by language.
    pub label: Labels,
    /// For choices: the allowed values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Term>,
    /// For integers: the smallest allowed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// For integers: the largest allowed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// True if the value identifies a person: it is kept in the personal part.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub personal: bool,
}

/// A legal code and the articles the team tracks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalCode {
    /// Stable id, e.g. `CoAO`.
    pub id: String,
    /// Human labels by language.
    pub label: Labels,
    /// Known articles; others are accepted but have no label.
    #[serde(default)]
    pub articles: Vec<Term>,
}

/// A whole taxonomy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    /// Format version of the file; this build reads version 1.
    pub version: u32,
    /// The taxonomy's name, e.g. `default` or the team's.
    pub name: String,
    /// Languages every label is given in.
    pub languages: Vec<String>,
    /// Fields every category has.
    #[serde(default)]
    pub common_fields: Vec<String>,
    /// Phases of an election.
    pub phases: Vec<Term>,
    /// Roles of affected people.
    pub roles: Vec<Term>,
    /// Incident categories.
    pub categories: Vec<Category>,
    /// Field definitions.
    pub fields: Vec<Field>,
    /// Legal codes.
    #[serde(default)]
    pub legal_codes: Vec<LegalCode>,
    /// Sanctions.
    #[serde(default)]
    pub sanctions: Vec<Term>,
}

/// A taxonomy file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TaxonomyError {
    /// Not valid TOML, or not the shape of a taxonomy.
    #[error("taxonomy file is not valid: {0}")]
    Parse(String),
    /// Parsed, but inconsistent.
    #[error("taxonomy is inconsistent: {0}")]
    Inconsistent(String),
}

impl Taxonomy {
    /// The built-in default taxonomy.
    pub fn default_taxonomy() -> Self {
        // The built-in file is checked by a unit test; failing here is a build defect.
        #[allow(clippy::expect_used)]
        Self::from_toml(DEFAULT_TOML).expect("the built-in taxonomy is valid")
    }

    /// Parses and checks a taxonomy file.
    pub fn from_toml(text: &str) -> Result<Self, TaxonomyError> {
        let taxonomy: Taxonomy =
            toml::from_str(text).map_err(|e| TaxonomyError::Parse(e.to_string()))?;
        taxonomy.check()?;
        Ok(taxonomy)
    }

    /// The taxonomy as TOML, the form `vigil taxonomy` prints and a team edits.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    fn check(&self) -> Result<(), TaxonomyError> {
        let fail = |msg: String| Err(TaxonomyError::Inconsistent(msg));
        if self.version != 1 {
            return fail(format!(
                "version {} is not supported (expected 1)",
                self.version
            ));
        }
        if !self.languages.iter().any(|l| l == "en") {
            return fail("labels must at least be given in English (`en`)".into());
        }
        unique("phase", self.phases.iter().map(|t| &t.id))?;
        unique("role", self.roles.iter().map(|t| &t.id))?;
        unique("category", self.categories.iter().map(|c| &c.id))?;
        unique("field", self.fields.iter().map(|f| &f.id))?;
        unique("legal code", self.legal_codes.iter().map(|c| &c.id))?;
        unique("sanction", self.sanctions.iter().map(|t| &t.id))?;
        let labelled = self
            .phases
            .iter()
            .chain(&self.roles)
            .chain(&self.sanctions)
            .map(|t| (t.id.as_str(), &t.label))
            .chain(self.categories.iter().map(|c| (c.id.as_str(), &c.label)))
            .chain(self.fields.iter().map(|f| (f.id.as_str(), &f.label)));
        for (id, label) in labelled {
            if !label.contains_key("en") {
                return fail(format!("`{id}` has no English label"));
            }
        }
        for id in &self.common_fields {
            if self.field(id).is_none() {
                return fail(format!("common field `{id}` is not defined"));
            }
        }
        for category in &self.categories {
            for phase in &category.phases {
                if self.phase(phase).is_none() {
                    return fail(format!(
                        "category `{}` names unknown phase `{phase}`",
                        category.id
                    ));
                }
            }
            for id in category.fields.iter().chain(&category.required) {
                if self.field(id).is_none() {
                    return fail(format!(
                        "category `{}` names undefined field `{id}`",
                        category.id
                    ));
                }
            }
        }
        for field in &self.fields {
            if field.kind == FieldKind::Choice && field.choices.is_empty() {
                return fail(format!("choice field `{}` has no choices", field.id));
            }
            unique("choice", field.choices.iter().map(|t| &t.id))?;
        }
        Ok(())
    }

    /// A phase by id.
    pub fn phase(&self, id: &str) -> Option<&Term> {
        self.phases.iter().find(|t| t.id == id)
    }

    /// A role by id.
    pub fn role(&self, id: &str) -> Option<&Term> {
        self.roles.iter().find(|t| t.id == id)
    }

    /// A category by id.
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// A field by id.
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// A legal code by id.
    pub fn legal_code(&self, id: &str) -> Option<&LegalCode> {
        self.legal_codes.iter().find(|c| c.id == id)
    }

    /// A sanction by id.
    pub fn sanction(&self, id: &str) -> Option<&Term> {
        self.sanctions.iter().find(|t| t.id == id)
    }

    /// The fields a category uses: the common fields, then its own.
    pub fn fields_of<'a>(&'a self, category: &'a Category) -> impl Iterator<Item = &'a Field> {
        let mut seen = BTreeSet::new();
        self.common_fields
            .iter()
            .chain(&category.fields)
            .filter(move |id| seen.insert(id.as_str()))
            .filter_map(|id| self.field(id))
    }
}

/// A label in `lang`, falling back to English, then to the id.
pub fn label<'a>(labels: &'a Labels, lang: &str, id: &'a str) -> &'a str {
    labels
        .get(lang)
        .or_else(|| labels.get("en"))
        .map_or(id, String::as_str)
}

fn unique<'a>(what: &str, ids: impl Iterator<Item = &'a String>) -> Result<(), TaxonomyError> {
    let mut seen = BTreeSet::new();
    for id in ids {
        if id.trim().is_empty() {
            return Err(TaxonomyError::Inconsistent(format!(
                "a {what} has an empty id"
            )));
        }
        if !seen.insert(id) {
            return Err(TaxonomyError::Inconsistent(format!(
                "{what} `{id}` is defined twice"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_taxonomy_is_valid_and_bilingual() {
        let t = Taxonomy::from_toml(DEFAULT_TOML).unwrap();
        assert!(t.languages.contains(&"ru".to_string()));
        for c in &t.categories {
            assert!(c.label.contains_key("ru"), "{} lacks a Russian label", c.id);
        }
        let detention = t.category("arbitrary_detention").unwrap();
        let fields: Vec<_> = t.fields_of(detention).map(|f| f.id.as_str()).collect();
        assert!(fields.contains(&"held_hours") && fields.contains(&"context"));
    }

    #[test]
    fn round_trips_through_toml() {
        let t = Taxonomy::default_taxonomy();
        assert_eq!(Taxonomy::from_toml(&t.to_toml()).unwrap(), t);
    }

    #[test]
    fn inconsistent_files_are_refused_with_a_reason() {
        let broken = DEFAULT_TOML.replace("fields = [\"impersonation\"]", "fields = [\"nope\"]");
        let err = Taxonomy::from_toml(&broken).unwrap_err().to_string();
        assert!(err.contains("undefined field `nope`"), "{err}");
        let err = Taxonomy::from_toml("version = ").unwrap_err().to_string();
        assert!(err.contains("not valid"), "{err}");
    }
}
