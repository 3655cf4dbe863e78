//! The flat record both formats share, and its mapping to and from an [`Incident`].

use serde_json::{Map, Number, Value};
use vigil_model::taxonomy::{Field, FieldKind};
use vigil_model::{
    Affected, Coordinates, FieldError, FieldValue, Incident, IncidentId, Legal, Person, Personal,
    Place, Status, Taxonomy,
};

use crate::field_error;

/// Keys of the core fields, in the order files list them (the form's core fields).
/// Every other key is a taxonomy field.
pub use vigil_model::forms::CORE_FIELDS as CORE_KEYS;

/// An incident's fields that have a value, as a form shows them (by name, in
/// order, as [`vigil_model::forms::set_all`] takes them back): what a shell fills
/// its form in with to edit an incident.
pub fn form_fields(incident: &Incident, taxonomy: &Taxonomy) -> Vec<(String, String)> {
    vigil_model::forms::filled(&from_incident(incident), taxonomy)
}

struct Reader<'a> {
    obj: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Reader<'_> {
    fn value(&self, key: &str) -> Option<&Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn string(&mut self, key: &str, required: bool) -> Option<String> {
        match self.value(key) {
            None if required => {
                self.errors.push(field_error(key, "is required"));
                None
            }
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.errors.push(field_error(key, "must be a text string"));
                None
            }
        }
    }

    fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.value(key) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.errors.push(field_error(key, "must be true or false"));
                None
            }
        }
    }

    fn number(&mut self, key: &str) -> Option<f64> {
        match self.value(key) {
            None => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(_) => {
                self.errors.push(field_error(key, "must be a number"));
                None
            }
        }
    }
}

fn whole_number(value: &Value) -> Result<i64, &'static str> {
    match value {
        Value::Number(n) => n.as_i64().ok_or("must be a whole number"),
        _ => Err("must be a whole number"),
    }
}

/// Reads a record into an incident and validates it against `taxonomy`.
pub fn to_incident(
    obj: &Map<String, Value>,
    taxonomy: &Taxonomy,
) -> Result<Incident, Vec<FieldError>> {
    let mut r = Reader {
        obj,
        errors: Vec::new(),
    };
    let id = r.string("report_id", true).and_then(|text| {
        let id = IncidentId::parse(&text);
        if id.is_none() {
            r.errors.push(field_error("report_id", "is not a UUID"));
        }
        id
    });
    let status = match r.string("status", false) {
        None => Status::Submitted,
        Some(text) => Status::parse(&text).unwrap_or_else(|| {
            r.errors.push(field_error(
                "status",
                "must be one of: draft, submitted, verified, rejected",
            ));
            Status::Submitted
        }),
    };
    let count = match r.value("people_count").map(whole_number) {
        None => {
            r.errors.push(field_error("people_count", "is required"));
            0
        }
        Some(Err(problem)) => {
            r.errors.push(field_error("people_count", problem));
            0
        }
        Some(Ok(n)) if n < 0 => {
            r.errors.push(field_error(
                "people_count",
                format!("is {n}; a count of people must be 0 or more"),
            ));
            0
        }
        Some(Ok(n)) => n.unsigned_abs(),
    };
    let coordinates = match (r.number("latitude"), r.number("longitude")) {
        (Some(lat), Some(lon)) => Some(Coordinates { lat, lon }),
        (None, None) => None,
        _ => {
            r.errors.push(field_error(
                "latitude",
                "latitude and longitude go together",
            ));
            None
        }
    };
    let persons = read_persons(&mut r);
    let mut incident = Incident {
        id: id.unwrap_or_else(IncidentId::random),
        phase: r.string("phase", true).unwrap_or_default(),
        category: r.string("category", true).unwrap_or_default(),
        occurred_at: r.string("occurred_at", true).unwrap_or_default(),
        reported_at: r.string("reported_at", true).unwrap_or_default(),
        place: Place {
            region: r.string("region", false).unwrap_or_default(),
            city: r.string("city", true).unwrap_or_default(),
            polling_station: r.string("polling_station", false),
            coordinates,
        },
        affected: Affected {
            count,
            at_least: r.boolean("count_is_lower_bound").unwrap_or(false),
            role: r.string("affected_role", true).unwrap_or_default(),
        },
        details: Default::default(),
        status,
        personal: Personal {
            persons,
            description: r.string("description", false).unwrap_or_default(),
            reported_by: r.string("reported_by", false),
            source: None,
            details: Default::default(),
        },
    };
    for (key, value) in obj {
        if CORE_KEYS.contains(&key.as_str()) || key.starts_with('_') || value.is_null() {
            continue;
        }
        let Some(field) = taxonomy.field(key) else {
            r.errors.push(field_error(
                vigil_model::validate::quote(key),
                "is neither a core field nor a field of the taxonomy",
            ));
            continue;
        };
        match field_value(field, value) {
            Ok(v) if field.personal => {
                incident.personal.details.insert(key.clone(), v);
            }
            Ok(v) => {
                incident.details.insert(key.clone(), v);
            }
            Err(e) => r.errors.push(e),
        }
    }
    let mut errors = r.errors;
    if errors.is_empty()
        && let Err(invalid) = taxonomy.validate(&incident)
    {
        errors = invalid.0;
    }
    if errors.is_empty() {
        Ok(incident)
    } else {
        Err(errors)
    }
}

fn read_persons(r: &mut Reader<'_>) -> Vec<Person> {
    let obj = r.obj;
    let Some(value) = obj.get("persons").filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let Value::Array(items) = value else {
        r.errors.push(field_error(
            "persons",
            "must be a list of {\"name\": ..., \"role\": ...}",
        ));
        return Vec::new();
    };
    let mut persons = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        // Person ids are positional on import, so importing one file on two devices
        // gives the same records.
        let id = format!("p{i}");
        match item {
            Value::String(name) => persons.push(Person {
                id,
                name: name.clone(),
                role: None,
                consent: false,
            }),
            Value::Object(p) => match (
                p.get("name"),
                p.get("role").filter(|v| !v.is_null()),
                p.get("consent").filter(|v| !v.is_null()),
            ) {
                (
                    Some(Value::String(name)),
                    None | Some(Value::String(_)),
                    None | Some(Value::Bool(_)),
                ) => persons.push(Person {
                    id,
                    name: name.clone(),
                    role: p.get("role").and_then(Value::as_str).map(str::to_owned),
                    consent: p.get("consent").and_then(Value::as_bool).unwrap_or(false),
                }),
                _ => r.errors.push(field_error(
                    format!("persons[{i}]"),
                    "needs a text `name` and, optionally, a text `role` and a true/false `consent`",
                )),
            },
            _ => r.errors.push(field_error(
                format!("persons[{i}]"),
                "must be an object with a `name`",
            )),
        }
    }
    persons
}

fn field_value(field: &Field, value: &Value) -> Result<FieldValue, FieldError> {
    let wrong = |what: &str| field_error(field.id.as_str(), format!("must be {what}"));
    match field.kind {
        FieldKind::Boolean => value
            .as_bool()
            .map(FieldValue::Bool)
            .ok_or_else(|| wrong("true or false")),
        FieldKind::Integer => whole_number(value)
            .map(FieldValue::Int)
            .map_err(|_| wrong("a whole number")),
        FieldKind::Text | FieldKind::Date | FieldKind::Choice => value
            .as_str()
            .map(|s| FieldValue::Text(s.to_owned()))
            .ok_or_else(|| wrong("a text string")),
        FieldKind::Legal => legal(field, value).map(FieldValue::Legal),
    }
}

fn legal(field: &Field, value: &Value) -> Result<Legal, FieldError> {
    let at = |sub: &str, problem: &str| field_error(format!("{}.{sub}", field.id), problem);
    let Value::Object(obj) = value else {
        return Err(field_error(
            field.id.as_str(),
            "must be an object with `code` and `article`",
        ));
    };
    let text = |key: &str| -> Result<Option<String>, FieldError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            // Articles are strings ("73-3"), but some tools write plain numbers.
            Some(Value::Number(n)) if key == "article" => Ok(Some(n.to_string())),
            Some(_) => Err(at(key, "must be a text string")),
        }
    };
    let count = |key: &str| -> Result<Option<u64>, FieldError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| at(key, "must be a whole number, 0 or more")),
        }
    };
    let days = count("days")?
        .map(u32::try_from)
        .transpose()
        .map_err(|_| at("days", "is too large"))?;
    Ok(Legal {
        code: text("code")?.ok_or_else(|| at("code", "is required"))?,
        article: text("article")?.ok_or_else(|| at("article", "is required"))?,
        sanction: text("sanction")?,
        days,
        amount: count("amount_kzt")?.or(count("amount")?),
    })
}

/// Writes an incident as a record, in the partner format's key order.
pub fn from_incident(incident: &Incident) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |key: &str, value: Value| {
        m.insert(key.to_owned(), value);
    };
    put("report_id", incident.id.as_str().into());
    put("status", incident.status.as_str().into());
    if let Some(by) = &incident.personal.reported_by {
        put("reported_by", by.as_str().into());
    }
    put("reported_at", incident.reported_at.as_str().into());
    put("phase", incident.phase.as_str().into());
    put("category", incident.category.as_str().into());
    put("occurred_at", incident.occurred_at.as_str().into());
    put("city", incident.place.city.as_str().into());
    put("region", incident.place.region.as_str().into());
    if let Some(station) = &incident.place.polling_station {
        put("polling_station", station.as_str().into());
    }
    if let Some(xy) = incident.place.coordinates {
        put(
            "latitude",
            Number::from_f64(xy.lat).map_or(Value::Null, Value::Number),
        );
        put(
            "longitude",
            Number::from_f64(xy.lon).map_or(Value::Null, Value::Number),
        );
    }
    put("people_count", incident.affected.count.into());
    put("count_is_lower_bound", incident.affected.at_least.into());
    put("affected_role", incident.affected.role.as_str().into());
    let persons = incident
        .personal
        .persons
        .iter()
        .map(|p| {
            let mut o = Map::new();
            o.insert("name".into(), p.name.as_str().into());
            if let Some(role) = &p.role {
                o.insert("role".into(), role.as_str().into());
            }
            if p.consent {
                o.insert("consent".into(), true.into());
            }
            Value::Object(o)
        })
        .collect();
    put("persons", Value::Array(persons));
    for (key, value) in incident.details.iter().chain(&incident.personal.details) {
        put(key, field_json(value));
    }
    put("description", incident.personal.description.as_str().into());
    m
}

fn field_json(value: &FieldValue) -> Value {
    match value {
        FieldValue::Bool(b) => Value::Bool(*b),
        FieldValue::Int(i) => Value::from(*i),
        FieldValue::Text(t) => Value::from(t.as_str()),
        FieldValue::Legal(l) => {
            let mut o = Map::new();
            o.insert("code".into(), l.code.as_str().into());
            o.insert("article".into(), l.article.as_str().into());
            if let Some(s) = &l.sanction {
                o.insert("sanction".into(), s.as_str().into());
            }
            if let Some(d) = l.days {
                o.insert("days".into(), d.into());
            }
            if let Some(a) = l.amount {
                o.insert("amount_kzt".into(), a.into());
            }
            Value::Object(o)
        }
    }
}
