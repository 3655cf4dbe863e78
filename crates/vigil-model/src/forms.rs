//! Forms: an incident's fields as a person fills them in, one text per field.
//!
//! This module owns the field grammar every shell and file shares: the names
//! (`city`, `people_count`, the taxonomy's field ids, `legal_article` for a part of a
//! legal field), what each name's text means (a whole number, yes or no, a
//! coordinate, `Name (role) [consent]; Name` for the people named), and the order
//! fields are listed in. The CLI's interactive form and the bindings' form are drawn
//! from it; the CSV codec is this grammar plus a header and the spreadsheet's
//! formula guard, and JSON lines share the flat record it writes into.
//!
//! Texts are set into the flat record (a JSON object with the core keys and the
//! taxonomy's field ids, see `vigil_exchange::record`), which the record mapping
//! validates into an [`crate::Incident`]. A form's text is taken as typed, but for
//! the whitespace around it: nothing here strips a spreadsheet's apostrophe.

use serde_json::{Map, Number, Value};

use crate::taxonomy::FieldKind;
use crate::{FieldError, Taxonomy};

/// The core fields every incident has, in the order forms and files list them.
/// Every other field is a taxonomy field.
pub const CORE_FIELDS: &[&str] = &[
    "report_id",
    "status",
    "reported_by",
    "reported_at",
    "phase",
    "category",
    "occurred_at",
    "region",
    "city",
    "polling_station",
    "latitude",
    "longitude",
    "people_count",
    "count_is_lower_bound",
    "affected_role",
    "persons",
    "description",
];

/// The core fields a person fills in: all but the report's id, which the vault
/// gives.
pub fn fillable_core_fields() -> impl Iterator<Item = &'static str> {
    CORE_FIELDS.iter().copied().filter(|f| *f != "report_id")
}

/// The parts of a legal field, each a field of its own: `legal_code`,
/// `legal_article`, `legal_sanction`, `legal_days`, `legal_amount`.
pub const LEGAL_PARTS: [&str; 5] = ["code", "article", "sanction", "days", "amount"];

/// Marks a named person who agreed to be named in public reports:
/// `Saniya Toiken (journalist) [consent]`.
pub const CONSENT: &str = "[consent]";

/// What a field's name refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A core field.
    Core(&'static str),
    /// A taxonomy field (not a legal one), by id.
    Taxonomy(String, FieldKind),
    /// One part of a taxonomy's legal field: its id and the part.
    LegalPart(String, &'static str),
    /// A name starting with `_`, which files may carry and nothing reads.
    Ignored,
}

/// What `name` refers to under `taxonomy`, if anything.
pub fn field(name: &str, taxonomy: &Taxonomy) -> Option<Field> {
    if let Some(core) = CORE_FIELDS.iter().find(|k| **k == name) {
        return Some(Field::Core(core));
    }
    if name.starts_with('_') {
        return Some(Field::Ignored);
    }
    if let Some(field) = taxonomy.field(name) {
        return (field.kind != FieldKind::Legal)
            .then(|| Field::Taxonomy(field.id.clone(), field.kind));
    }
    let (id, part) = name.rsplit_once('_')?;
    let field = taxonomy.field(id).filter(|f| f.kind == FieldKind::Legal)?;
    let part = LEGAL_PARTS.iter().find(|p| **p == part)?;
    Some(Field::LegalPart(field.id.clone(), part))
}

/// Every field's name under `taxonomy`, in order: the core fields, then the
/// taxonomy's fields in its order, a legal field as its five parts.
pub fn names(taxonomy: &Taxonomy) -> Vec<String> {
    let mut names: Vec<String> = CORE_FIELDS.iter().map(|k| (*k).to_owned()).collect();
    for field in &taxonomy.fields {
        if field.kind == FieldKind::Legal {
            names.extend(LEGAL_PARTS.iter().map(|p| format!("{}_{p}", field.id)));
        } else {
            names.push(field.id.clone());
        }
    }
    names
}

fn error(field: impl Into<String>, problem: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        problem: problem.into(),
    }
}

/// Sets fields of a record by name and text; an empty text removes the value.
/// Every field is tried; the errors name each field at fault.
pub fn set_all(
    record: &mut Map<String, Value>,
    fields: &[(String, String)],
    taxonomy: &Taxonomy,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    for (name, text) in fields {
        match field(name.trim(), taxonomy) {
            Some(field) => {
                if let Err(e) = set(record, &field, text) {
                    errors.push(e);
                }
            }
            None => errors.push(error(
                crate::validate::quote(name.trim()),
                "is neither a core field nor a field of the taxonomy",
            )),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Sets one field of a record from its text (see [`set_all`]).
pub fn set(record: &mut Map<String, Value>, field: &Field, text: &str) -> Result<(), FieldError> {
    let text = text.trim();
    match field {
        Field::Ignored => {}
        Field::Core(key) => {
            if text.is_empty() {
                record.remove(*key);
                return Ok(());
            }
            let value = match *key {
                "people_count" => integer(text).ok_or("must be a whole number"),
                "count_is_lower_bound" => boolean(text).ok_or("must be true or false"),
                "latitude" | "longitude" => text
                    .parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
                    .ok_or("must be a number"),
                "persons" => Ok(persons(text)),
                _ => Ok(Value::String(text.to_owned())),
            };
            let value = value.map_err(|problem| error(*key, problem))?;
            record.insert((*key).to_owned(), value);
        }
        Field::Taxonomy(id, kind) => {
            if text.is_empty() {
                record.remove(id);
                return Ok(());
            }
            let value = match kind {
                FieldKind::Boolean => boolean(text).ok_or("must be true or false"),
                FieldKind::Integer => integer(text).ok_or("must be a whole number"),
                _ => Ok(Value::String(text.to_owned())),
            };
            let value = value.map_err(|problem| error(id.as_str(), problem))?;
            record.insert(id.clone(), value);
        }
        Field::LegalPart(id, part) => {
            let key = legal_key(part);
            if text.is_empty() {
                if let Some(Value::Object(legal)) = record.get_mut(id) {
                    legal.remove(key);
                    if legal.is_empty() {
                        record.remove(id);
                    }
                }
                return Ok(());
            }
            let value = match *part {
                "days" | "amount" => integer(text)
                    .ok_or_else(|| error(format!("{id}.{part}"), "must be a whole number"))?,
                _ => Value::String(text.to_owned()),
            };
            let entry = record
                .entry(id.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(legal) = entry {
                legal.insert(key.to_owned(), value);
            }
        }
    }
    Ok(())
}

/// The key of a legal part in the record: `amount` is `amount_kzt`.
fn legal_key(part: &str) -> &str {
    if part == "amount" { "amount_kzt" } else { part }
}

fn integer(text: &str) -> Option<Value> {
    text.parse::<i64>().ok().map(Value::from)
}

fn boolean(text: &str) -> Option<Value> {
    match text.to_lowercase().as_str() {
        "true" | "yes" | "1" => Some(Value::Bool(true)),
        "false" | "no" | "0" => Some(Value::Bool(false)),
        _ => None,
    }
}

/// `Name (role) [consent]; Name` to a list of person objects.
fn persons(text: &str) -> Value {
    let list = text
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut person = Map::new();
            let p = match p.strip_suffix(CONSENT) {
                Some(rest) => {
                    person.insert("consent".into(), true.into());
                    rest.trim_end()
                }
                None => p,
            };
            match p.strip_suffix(')').and_then(|rest| rest.rsplit_once(" (")) {
                Some((name, role)) => {
                    person.insert("name".into(), name.trim().into());
                    person.insert("role".into(), role.trim().into());
                }
                None => {
                    person.insert("name".into(), p.into());
                }
            }
            Value::Object(person)
        })
        .collect();
    Value::Array(list)
}

/// The text of one field of a record, as [`set`] reads it back (empty if none).
pub fn text(record: &Map<String, Value>, name: &str) -> String {
    let plain = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    if name == "persons" {
        let Some(Value::Array(list)) = record.get("persons") else {
            return String::new();
        };
        return list
            .iter()
            .map(|p| {
                let person_name = p.get("name").map(plain).unwrap_or_default();
                let person = match p.get("role") {
                    Some(role) => format!("{person_name} ({})", plain(role)),
                    None => person_name,
                };
                match p.get("consent") {
                    Some(Value::Bool(true)) => format!("{person} {CONSENT}"),
                    _ => person,
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    if let Some(v) = record.get(name) {
        return plain(v);
    }
    // A legal part: `legal_article` is `article` of the `legal` object.
    if let Some((id, part)) = name.rsplit_once('_')
        && let Some(Value::Object(legal)) = record.get(id)
    {
        return legal.get(legal_key(part)).map(plain).unwrap_or_default();
    }
    String::new()
}

/// A record's fields that have a value, by name, in [`names`] order: a form filled
/// in, which [`set_all`] takes back.
pub fn filled(record: &Map<String, Value>, taxonomy: &Taxonomy) -> Vec<(String, String)> {
    names(taxonomy)
        .into_iter()
        .filter_map(|name| {
            let value = text(record, &name);
            (!value.is_empty()).then_some((name, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn taxonomy() -> Taxonomy {
        Taxonomy::default_taxonomy()
    }

    #[test]
    fn names_list_core_fields_then_the_taxonomys_with_legal_parts() {
        let names = names(&taxonomy());
        assert_eq!(&names[..CORE_FIELDS.len()], CORE_FIELDS);
        assert!(names.iter().any(|n| n == "legal_article"));
        assert!(!fillable_core_fields().any(|f| f == "report_id"));
    }

    #[test]
    fn texts_set_read_back_as_typed() {
        let t = taxonomy();
        let mut record = Map::new();
        let fields = [
            ("city", "Astana"),
            ("people_count", " 12 "),
            ("count_is_lower_bound", "yes"),
            ("persons", "Aibek Sadykov (protester) [consent]; Dana"),
            ("legal_article", "488"),
            ("description", "'=quoted as typed"),
        ]
        .map(|(n, v)| (n.to_owned(), v.to_owned()));
        set_all(&mut record, &fields, &t).unwrap();
        assert_eq!(record["people_count"], Value::from(12));
        assert_eq!(record["count_is_lower_bound"], Value::Bool(true));
        assert_eq!(
            text(&record, "persons"),
            "Aibek Sadykov (protester) [consent]; Dana"
        );
        assert_eq!(text(&record, "legal_article"), "488");
        assert_eq!(text(&record, "description"), "'=quoted as typed");
        let back = filled(&record, &t);
        assert!(back.contains(&("city".to_owned(), "Astana".to_owned())));
        // An empty text clears a field, a legal part included.
        set_all(
            &mut record,
            &[
                ("city".to_owned(), String::new()),
                ("legal_article".to_owned(), String::new()),
            ],
            &t,
        )
        .unwrap();
        assert!(!record.contains_key("city"));
        assert!(!record.contains_key("legal"));
    }

    #[test]
    fn bad_texts_and_unknown_names_are_errors_at_their_field() {
        let t = taxonomy();
        let mut record = Map::new();
        let errors = set_all(
            &mut record,
            &[
                ("people_count".to_owned(), "many".to_owned()),
                ("no_such_field".to_owned(), "x".to_owned()),
                ("latitude".to_owned(), "north".to_owned()),
            ],
            &t,
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["people_count", "`no_such_field`", "latitude"]);
    }
}
