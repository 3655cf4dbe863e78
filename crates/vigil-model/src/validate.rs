//! Validation of an incident against a taxonomy. Every problem names its field.
//!
//! Messages never repeat free text or names back: they may end up in a terminal
//! scroll-back or a log, and names are personal data. Ids (categories, choices) are
//! not personal and are quoted to help the user fix the input.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::incident::{FieldValue, Incident};
use crate::taxonomy::{FieldKind, Taxonomy};

/// Longest name, place or short text accepted, in characters.
pub const MAX_SHORT_TEXT: usize = 200;
/// Longest free text accepted, in characters.
pub const MAX_LONG_TEXT: usize = 1_000_000;
/// Most people one incident can count; more is a typing error, not an event.
pub const MAX_PEOPLE: u64 = 1_000_000_000;
/// Most named people in one incident.
pub const MAX_PERSONS: usize = 10_000;

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as a path: `category`, `legal.article`, `persons[2].name`.
    pub field: String,
    /// What is wrong with it, and what is expected.
    pub problem: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// All problems found in one incident.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Quotes a value from input for an error message, but only if it looks like an id
/// (`alien_abduction`, `73-3`): a value that could be a name or a sentence is not
/// repeated, since errors reach terminals and logs.
pub fn quote(value: &str) -> String {
    let id_like = !value.is_empty()
        && value.len() <= 40
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c));
    if id_like {
        format!("`{value}`")
    } else {
        "(value not shown)".to_owned()
    }
}

/// Parses an RFC 3339 time, e.g. `2021-01-10T16:10:00+06:00`.
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &Rfc3339).ok()
}

/// Parses a calendar date, `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), format).ok()
}

struct Collector(Vec<FieldError>);

impl Collector {
    fn add(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            problem: problem.into(),
        });
    }

    fn short_text(&mut self, field: &str, value: &str, required: bool) {
        if required && value.trim().is_empty() {
            self.add(field, "is required");
        } else if value.chars().count() > MAX_SHORT_TEXT {
            self.add(field, format!("is longer than {MAX_SHORT_TEXT} characters"));
        }
    }

    fn time(&mut self, field: &str, value: &str) {
        if parse_time(value).is_none() {
            self.add(
                field,
                "is not a time in RFC 3339 form, e.g. 2021-01-10T16:10:00+06:00",
            );
        }
    }
}

impl Taxonomy {
    /// Checks an incident against this taxonomy; lists every problem found.
    pub fn validate(&self, incident: &Incident) -> Result<(), ValidationErrors> {
        let mut c = Collector(Vec::new());
        if self.phase(&incident.phase).is_none() {
            let known: Vec<_> = self.phases.iter().map(|t| t.id.as_str()).collect();
            c.add(
                "phase",
                format!(
                    "unknown phase {}; expected one of: {}",
                    quote(&incident.phase),
                    known.join(", ")
                ),
            );
        }
        let category = self.category(&incident.category);
        match category {
            None => c.add(
                "category",
                format!(
                    "unknown category {}; `vigil taxonomy` lists the categories",
                    quote(&incident.category)
                ),
            ),
            Some(cat) if self.phase(&incident.phase).is_some() => {
                if !cat.phases.contains(&incident.phase) {
                    c.add(
                        "phase",
                        format!(
                            "category `{}` does not occur in phase `{}`; it occurs in: {}",
                            cat.id,
                            incident.phase,
                            cat.phases.join(", ")
                        ),
                    );
                }
            }
            Some(_) => {}
        }
        c.time("occurred_at", &incident.occurred_at);
        c.time("reported_at", &incident.reported_at);
        let place = &incident.place;
        c.short_text("city", &place.city, true);
        c.short_text("region", &place.region, false);
        if let Some(station) = &place.polling_station {
            c.short_text("polling_station", station, true);
        }
        if let Some(xy) = place.coordinates
            && (!(-90.0..=90.0).contains(&xy.lat) || !(-180.0..=180.0).contains(&xy.lon))
        {
            c.add(
                "coordinates",
                "latitude must be within -90..90 and longitude within -180..180",
            );
        }
        self.check_role(&mut c, "affected_role", &incident.affected.role);
        let persons = &incident.personal.persons;
        if persons.len() > MAX_PERSONS {
            c.add("persons", format!("more than {MAX_PERSONS} named people"));
        }
        if incident.affected.count > MAX_PEOPLE {
            c.add("people_count", format!("is more than {MAX_PEOPLE}"));
        }
        if (persons.len() as u64) > incident.affected.count {
            c.add(
                "people_count",
                format!(
                    "is {} but {} people are named; the count includes everyone named",
                    incident.affected.count,
                    persons.len()
                ),
            );
        }
        for (i, person) in persons.iter().enumerate() {
            c.short_text(&format!("persons[{i}].name"), &person.name, true);
            // A person's role is written next to the name; even an id-like value is
            // not repeated.
            if let Some(role) = &person.role
                && self.role(role).is_none()
            {
                let known: Vec<_> = self.roles.iter().map(|t| t.id.as_str()).collect();
                c.add(
                    format!("persons[{i}].role"),
                    format!("unknown role; expected one of: {}", known.join(", ")),
                );
            }
        }
        if incident.personal.description.chars().count() > MAX_LONG_TEXT {
            c.add(
                "description",
                format!("is longer than {MAX_LONG_TEXT} characters"),
            );
        }
        if let Some(by) = &incident.personal.reported_by {
            c.short_text("reported_by", by, false);
        }
        if let Some(cat) = category {
            let allowed: Vec<_> = self.fields_of(cat).collect();
            let given = incident
                .details
                .iter()
                .map(|(k, v)| (k, v, false))
                .chain(incident.personal.details.iter().map(|(k, v)| (k, v, true)));
            for (id, value, in_personal) in given {
                match allowed.iter().find(|f| &f.id == id) {
                    None => c.add(
                        id.as_str(),
                        format!("is not a field of category `{}`", cat.id),
                    ),
                    Some(field) if field.personal != in_personal => c.add(
                        id.as_str(),
                        if field.personal {
                            "is personal data and belongs in the personal part"
                        } else {
                            "is not personal data and belongs in the public part"
                        },
                    ),
                    Some(_) => self.check_value(&mut c, id, value),
                }
            }
            for id in &cat.required {
                if incident.field(id).is_none() {
                    c.add(
                        id.as_str(),
                        format!("is required for category `{}`", cat.id),
                    );
                }
            }
        }
        if c.0.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(c.0))
        }
    }

    fn check_role(&self, c: &mut Collector, field: &str, role: &str) {
        if self.role(role).is_none() {
            let known: Vec<_> = self.roles.iter().map(|t| t.id.as_str()).collect();
            c.add(
                field,
                format!(
                    "unknown role {}; expected one of: {}",
                    quote(role),
                    known.join(", ")
                ),
            );
        }
    }

    fn check_value(&self, c: &mut Collector, id: &str, value: &FieldValue) {
        let Some(field) = self.field(id) else {
            return;
        };
        match (field.kind, value) {
            (FieldKind::Boolean, FieldValue::Bool(_)) => {}
            (FieldKind::Integer, FieldValue::Int(n)) => match (field.min, field.max) {
                (Some(min), _) if *n < min => c.add(id, format!("{n} is below {min}")),
                (_, Some(max)) if *n > max => c.add(id, format!("{n} is above {max}")),
                _ => {}
            },
            (FieldKind::Text, FieldValue::Text(t)) => c.short_text(id, t, true),
            (FieldKind::Date, FieldValue::Text(t)) => {
                if parse_date(t).is_none() {
                    c.add(id, "is not a date in the form YYYY-MM-DD");
                }
            }
            (FieldKind::Choice, FieldValue::Text(t)) => {
                if !field.choices.iter().any(|choice| &choice.id == t) {
                    let known: Vec<_> = field.choices.iter().map(|t| t.id.as_str()).collect();
                    c.add(
                        id,
                        format!(
                            "unknown value {}; expected one of: {}",
                            quote(t),
                            known.join(", ")
                        ),
                    );
                }
            }
            (FieldKind::Legal, FieldValue::Legal(legal)) => {
                if self.legal_code(&legal.code).is_none() {
                    let known: Vec<_> = self.legal_codes.iter().map(|t| t.id.as_str()).collect();
                    c.add(
                        format!("{id}.code"),
                        format!(
                            "unknown legal code {}; expected one of: {}",
                            quote(&legal.code),
                            known.join(", ")
                        ),
                    );
                }
                c.short_text(&format!("{id}.article"), &legal.article, true);
                if let Some(s) = &legal.sanction
                    && self.sanction(s).is_none()
                {
                    let known: Vec<_> = self.sanctions.iter().map(|t| t.id.as_str()).collect();
                    c.add(
                        format!("{id}.sanction"),
                        format!(
                            "unknown sanction {}; expected one of: {}",
                            quote(s),
                            known.join(", ")
                        ),
                    );
                }
            }
            (kind, _) => c.add(id, format!("expects a {}", kind_name(kind))),
        }
    }
}

fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Boolean => "yes/no value (true or false)",
        FieldKind::Integer => "whole number",
        FieldKind::Text => "text",
        FieldKind::Date => "date (YYYY-MM-DD)",
        FieldKind::Choice => "choice",
        FieldKind::Legal => "legal qualification (code, article, sanction)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::*;

    fn detention() -> Incident {
        Incident::example()
    }

    #[test]
    fn a_good_incident_passes() {
        Taxonomy::default_taxonomy().validate(&detention()).unwrap();
    }

    #[test]
    fn each_problem_names_its_field() {
        let t = Taxonomy::default_taxonomy();
        let mut i = detention();
        i.category = "teleportation".into();
        i.occurred_at = "yesterday".into();
        i.affected.role = "wizard".into();
        i.affected.count = 0;
        let errors = t.validate(&i).unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["category", "occurred_at", "affected_role", "people_count"]
        );
        assert!(
            errors
                .to_string()
                .contains("unknown category `teleportation`")
        );
    }

    #[test]
    fn fields_are_checked_against_their_kind_and_category() {
        let t = Taxonomy::default_taxonomy();
        let mut i = detention();
        i.details.insert("held_hours".into(), FieldValue::Int(-1));
        i.details
            .insert("context".into(), FieldValue::Text("picnic".into()));
        i.details
            .insert("impersonation".into(), FieldValue::Bool(true));
        i.details.insert("lawyer_denied".into(), FieldValue::Int(1));
        let text = t.validate(&i).unwrap_err().to_string();
        assert!(text.contains("held_hours: -1 is below 0"), "{text}");
        assert!(text.contains("context: unknown value `picnic`"), "{text}");
        assert!(
            text.contains("impersonation: is not a field of category"),
            "{text}"
        );
        assert!(text.contains("lawyer_denied: expects a yes/no"), "{text}");
    }

    #[test]
    fn messages_do_not_repeat_names() {
        let t = Taxonomy::default_taxonomy();
        let mut i = detention();
        i.personal.persons[0].name = "x".repeat(500);
        i.affected.count = 0;
        let text = t.validate(&i).unwrap_err().to_string();
        assert!(!text.contains("xxxx"), "{text}");
        assert!(text.contains("persons[0].name: is longer than"), "{text}");
    }
}
