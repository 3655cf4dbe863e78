//! The incident form, drawn from the taxonomy in one language.

use vigil_core::taxonomy::{FieldKind as CoreFieldKind, Labels, Term, label};
use vigil_core::{self as core, Taxonomy};

/// The kind of value a form field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
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
    /// A legal qualification, entered as five fields: `<id>_code` (one of the
    /// taxonomy's legal codes), `<id>_article`, `<id>_sanction` (one of its
    /// sanctions), `<id>_days`, `<id>_amount`.
    Legal,
}

impl From<CoreFieldKind> for FieldKind {
    fn from(k: CoreFieldKind) -> Self {
        match k {
            CoreFieldKind::Boolean => Self::Boolean,
            CoreFieldKind::Integer => Self::Integer,
            CoreFieldKind::Text => Self::Text,
            CoreFieldKind::Date => Self::Date,
            CoreFieldKind::Choice => Self::Choice,
            CoreFieldKind::Legal => Self::Legal,
        }
    }
}

/// A value to pick, with its label in the requested language.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Choice {
    /// The id stored.
    pub id: String,
    /// What the user sees.
    pub label: String,
}

/// A field of a category's form.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FormField {
    /// The field's id, the name `add_incident` and `edit_incident` take.
    pub id: String,
    /// What the user sees.
    pub label: String,
    /// What it holds.
    pub kind: FieldKind,
    /// For choices: the allowed values.
    pub choices: Vec<Choice>,
    /// For integers: the smallest allowed value.
    pub min: Option<i64>,
    /// For integers: the largest allowed value.
    pub max: Option<i64>,
    /// Whether the value identifies a person.
    pub personal: bool,
    /// Whether the category requires it.
    pub required: bool,
}

/// A category and the fields of its form (common fields included).
#[derive(Debug, Clone, uniffi::Record)]
pub struct CategoryForm {
    /// Category id.
    pub id: String,
    /// What the user sees.
    pub label: String,
    /// The phases it belongs to.
    pub phases: Vec<String>,
    /// Its fields, in the taxonomy's order, after the core fields every incident has.
    pub fields: Vec<FormField>,
}

/// A legal code and the articles the team tracks.
#[derive(Debug, Clone, uniffi::Record)]
pub struct LegalCodeChoice {
    /// Code id, e.g. `CoAO`.
    pub id: String,
    /// What the user sees.
    pub label: String,
    /// Known articles (others are accepted).
    pub articles: Vec<Choice>,
}

/// Everything a shell needs to draw the incident form, in one language.
///
/// Every incident has the core fields, in [`TaxonomyForm::core_fields`]: `phase`,
/// `category`, `occurred_at`, `region`, `city`, `polling_station`, `latitude`,
/// `longitude`, `people_count`, `count_is_lower_bound`, `affected_role`, `persons`,
/// `description`, `reported_by`, `reported_at`, `status`; their labels are the
/// shell's own strings. Categories add their fields.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TaxonomyForm {
    /// The taxonomy's name.
    pub name: String,
    /// The language of the labels (the requested one, or English where a label
    /// lacks it).
    pub language: String,
    /// Languages the taxonomy has labels in.
    pub languages: Vec<String>,
    /// The core fields every incident has (ids).
    pub core_fields: Vec<String>,
    /// Phases.
    pub phases: Vec<Choice>,
    /// Roles of the people affected (`affected_role`, and a person's role).
    pub roles: Vec<Choice>,
    /// Categories with their forms.
    pub categories: Vec<CategoryForm>,
    /// Legal codes for legal fields.
    pub legal_codes: Vec<LegalCodeChoice>,
    /// Sanctions for legal fields.
    pub sanctions: Vec<Choice>,
}

fn choices(terms: &[Term], lang: &str) -> Vec<Choice> {
    terms
        .iter()
        .map(|t| Choice {
            id: t.id.clone(),
            label: label(&t.label, lang, &t.id).to_owned(),
        })
        .collect()
}

fn text(labels: &Labels, lang: &str, id: &str) -> String {
    label(labels, lang, id).to_owned()
}

impl TaxonomyForm {
    pub(crate) fn new(taxonomy: &Taxonomy, lang: &str) -> Self {
        let categories = taxonomy
            .categories
            .iter()
            .map(|c| CategoryForm {
                id: c.id.clone(),
                label: text(&c.label, lang, &c.id),
                phases: c.phases.clone(),
                fields: taxonomy
                    .fields_of(c)
                    .map(|f| FormField {
                        id: f.id.clone(),
                        label: text(&f.label, lang, &f.id),
                        kind: f.kind.into(),
                        choices: choices(&f.choices, lang),
                        min: f.min,
                        max: f.max,
                        personal: f.personal,
                        required: c.required.contains(&f.id),
                    })
                    .collect(),
            })
            .collect();
        Self {
            name: taxonomy.name.clone(),
            language: lang.to_owned(),
            languages: taxonomy.languages.clone(),
            core_fields: core::forms::fillable_core_fields()
                .map(str::to_owned)
                .collect(),
            phases: choices(&taxonomy.phases, lang),
            roles: choices(&taxonomy.roles, lang),
            categories,
            legal_codes: taxonomy
                .legal_codes
                .iter()
                .map(|code| LegalCodeChoice {
                    id: code.id.clone(),
                    label: text(&code.label, lang, &code.id),
                    articles: choices(&code.articles, lang),
                })
                .collect(),
            sanctions: choices(&taxonomy.sanctions, lang),
        }
    }
}
