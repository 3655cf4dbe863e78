//! CSV, for spreadsheets: a codec over the form's field grammar
//! ([`vigil_model::forms`]). The header is the form's field names: the core columns,
//! then one column per taxonomy field in the taxonomy's order; a legal field takes
//! five columns (`legal_code`, `legal_article`, `legal_sanction`, `legal_days`,
//! `legal_amount`). Named people share one cell: `Name (role); Name`, and
//! `Name (role) [consent]` for someone who agreed to be named in public reports. An
//! empty cell is no value. What CSV adds to the grammar: a text cell a spreadsheet
//! would run as a formula is written with a leading apostrophe, which import removes
//! again (and only import: a form's text is taken as typed). Import accepts the
//! columns in any order; export writes exactly [`header`].

use std::io::{Read, Write};

use serde_json::{Map, Value};
use vigil_model::forms::{self, Field};
use vigil_model::{FieldError, Incident, Taxonomy};

use crate::{LineError, field_error, record};

/// The CSV header for a taxonomy: every form field's name (see
/// [`vigil_model::forms::names`]).
pub fn header(taxonomy: &Taxonomy) -> Vec<String> {
    forms::names(taxonomy)
}

/// Reads a CSV file row by row. A header that cannot be used fails the whole file;
/// each row is an incident or the reason it is not.
pub fn read<'t, R: Read + 't>(
    input: R,
    taxonomy: &'t Taxonomy,
) -> Result<impl Iterator<Item = Result<Incident, LineError>> + 't, LineError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let header_error = |problem: String| LineError {
        line: 1,
        errors: vec![field_error("header", problem)],
    };
    let headers = reader
        .headers()
        .map_err(|e| header_error(format!("cannot be read ({})", csv_problem(&e))))?
        .clone();
    let mut columns = Vec::with_capacity(headers.len());
    for name in &headers {
        // Spreadsheets often start a UTF-8 file with a byte-order mark.
        let name = name.trim_start_matches('\u{feff}').trim();
        columns.push(forms::field(name, taxonomy).ok_or_else(|| {
            header_error(format!(
                "column {} is neither a core column nor a field of the taxonomy",
                vigil_model::validate::quote(name)
            ))
        })?);
    }
    for required in ["report_id", "phase", "category", "people_count"] {
        if !headers
            .iter()
            .any(|h| h.trim_start_matches('\u{feff}').trim() == required)
        {
            return Err(header_error(format!("column `{required}` is missing")));
        }
    }
    Ok(reader.into_records().enumerate().map(move |(i, row)| {
        let line = row
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(i as u64 + 2, |p| p.line());
        let row = row.map_err(|e| LineError {
            line,
            errors: vec![field_error("row", csv_problem(&e))],
        })?;
        row_to_record(&columns, &row)
            .and_then(|obj| record::to_incident(&obj, taxonomy))
            .map_err(|errors| LineError { line, errors })
    }))
}

fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("has {len} cells where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8 text".to_owned(),
        _ => "is not valid CSV".to_owned(),
    }
}

fn row_to_record(
    columns: &[Field],
    row: &csv::StringRecord,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut obj = Map::new();
    let mut errors = Vec::new();
    for (column, cell) in columns.iter().zip(row.iter()) {
        // Only a spreadsheet's cells carry the apostrophe that defuses a formula.
        if let Err(e) = forms::set(&mut obj, column, unprotect(cell.trim())) {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(obj)
    } else {
        Err(errors)
    }
}

/// Spreadsheets run a cell that starts with one of these as a formula.
const FORMULA_STARTS: &[char] = &['=', '+', '-', '@', '\t', '\r'];

/// Export side: a text cell that a spreadsheet would run as a formula gets a leading
/// apostrophe, the spreadsheet convention for "this is text".
fn protect(text: String) -> String {
    if text.starts_with(FORMULA_STARTS) {
        format!("'{text}")
    } else {
        text
    }
}

/// Import side: undoes [`protect`].
fn unprotect(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => text,
    }
}

/// Writes incidents as CSV with the header of `taxonomy`.
pub fn write<'a>(
    out: impl Write,
    taxonomy: &Taxonomy,
    incidents: impl IntoIterator<Item = &'a Incident>,
) -> std::io::Result<()> {
    let columns = header(taxonomy);
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(&columns)?;
    for incident in incidents {
        let obj = record::from_incident(incident);
        let row: Vec<String> = columns
            .iter()
            .map(|c| protect(forms::text(&obj, c)))
            .collect();
        writer.write_record(&row)?;
    }
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"report_id": "0d7e541a-e6d9-49c4-9b33-a9c69782277f", "reported_by": "obs-135", "reported_at": "2020-12-09T17:25:00+06:00", "phase": "campaign", "category": "administrative_arrest", "occurred_at": "2020-12-09T17:06:00+06:00", "city": "Temirtau", "region": "Karaganda Region", "people_count": 1, "count_is_lower_bound": false, "affected_role": "activist", "persons": [{"name": "Timur Khamitov", "role": "activist"}], "context": "campaigning", "preventive": true, "grounds": "slander", "legal": {"code": "CoAO", "article": "73-3", "sanction": "arrest", "days": 10}, "perpetrator": "court", "description": "Arrested; a name, a comma and \"quotes\"."}"#;

    fn sample(t: &Taxonomy) -> Incident {
        crate::jsonl::read(LINE.as_bytes(), t)
            .next()
            .unwrap()
            .unwrap()
    }

    #[test]
    fn json_and_csv_round_trip_to_the_same_incident() {
        let t = Taxonomy::default_taxonomy();
        let incident = sample(&t);
        let mut csv_bytes = Vec::new();
        write(&mut csv_bytes, &t, [&incident]).unwrap();
        let back = read(csv_bytes.as_slice(), &t)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(back, incident);
        let mut json_bytes = Vec::new();
        crate::jsonl::write(&mut json_bytes, [&incident]).unwrap();
        let again = crate::jsonl::read(json_bytes.as_slice(), &t)
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(again, incident);
    }

    #[test]
    fn consent_to_be_named_survives_csv_and_json() {
        let t = Taxonomy::default_taxonomy();
        let mut incident = sample(&t);
        incident.personal.persons.push(vigil_model::Person {
            id: "p1".into(),
            name: "Saniya Toiken".into(),
            role: Some("journalist".into()),
            consent: true,
        });
        incident.affected.count = 2;
        let cells = record::form_fields(&incident, &t);
        let persons = &cells.iter().find(|(c, _)| c == "persons").unwrap().1;
        assert_eq!(
            persons,
            "Timur Khamitov (activist); Saniya Toiken (journalist) [consent]"
        );
        let mut csv_bytes = Vec::new();
        write(&mut csv_bytes, &t, [&incident]).unwrap();
        let from_csv = read(csv_bytes.as_slice(), &t)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let mut json = Vec::new();
        crate::jsonl::write(&mut json, [&incident]).unwrap();
        let from_json = crate::jsonl::read(json.as_slice(), &t)
            .next()
            .unwrap()
            .unwrap();
        for back in [from_csv, from_json] {
            let consent: Vec<bool> = back.personal.persons.iter().map(|p| p.consent).collect();
            assert_eq!(consent, [false, true]);
        }
        let bad = LINE.replace(
            r#""role": "activist"}"#,
            r#""role": "activist", "consent": "yes"}"#,
        );
        let error = crate::jsonl::read(bad.as_bytes(), &t)
            .next()
            .unwrap()
            .unwrap_err();
        assert_eq!(error.errors[0].field, "persons[0]");
    }

    #[test]
    fn cells_set_back_give_the_same_incident() {
        let t = Taxonomy::default_taxonomy();
        let incident = sample(&t);
        let cells = record::form_fields(&incident, &t);
        assert!(cells.iter().all(|(_, v)| !v.is_empty()));
        assert!(cells.contains(&("legal_article".into(), "73-3".into())));
        let mut obj = Map::new();
        forms::set_all(&mut obj, &cells, &t).unwrap();
        let mut back = record::to_incident(&obj, &t).unwrap();
        for (person, original) in back
            .personal
            .persons
            .iter_mut()
            .zip(&incident.personal.persons)
        {
            person.id = original.id.clone();
        }
        assert_eq!(back, incident);
    }

    /// What a user types in a form is kept as typed: the apostrophe that defuses a
    /// formula belongs to spreadsheets, and a form edited twice must not lose one.
    #[test]
    fn a_form_keeps_a_leading_apostrophe_as_typed() {
        let t = Taxonomy::default_taxonomy();
        let incident = sample(&t);
        let mut obj = Map::new();
        forms::set_all(&mut obj, &record::form_fields(&incident, &t), &t).unwrap();
        let typed = [("city".to_owned(), "'=Almaty".to_owned())];
        forms::set_all(&mut obj, &typed, &t).unwrap();
        let back = record::to_incident(&obj, &t).unwrap();
        assert_eq!(back.place.city, "'=Almaty");
        let again = record::form_fields(&back, &t);
        assert!(again.contains(&("city".into(), "'=Almaty".into())));
    }

    #[test]
    fn formulas_are_defused_on_export_and_restored_on_import() {
        let t = Taxonomy::default_taxonomy();
        let mut incident = sample(&t);
        incident.personal.description = "=HYPERLINK(\"http://x\")".into();
        incident.personal.persons[0].name = "@Timur".into();
        let mut out = Vec::new();
        write(&mut out, &t, [&incident]).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(
            text.contains("\"'=HYPERLINK(") && text.contains("'@Timur"),
            "{text}"
        );
        let back = read(out.as_slice(), &t).unwrap().next().unwrap().unwrap();
        assert_eq!(back, incident);
    }

    #[test]
    fn bad_rows_name_their_line_and_field() {
        let t = Taxonomy::default_taxonomy();
        let text = "report_id,phase,category,people_count,city\n\
                    0d7e541a-e6d9-49c4-9b33-a9c69782277f,campaign,persecution,-2,Almaty\n\
                    not-a-uuid,campaign,persecution,x,Almaty\n\
                    0d7e541a-e6d9-49c4-9b33-a9c69782277f,campaign\n";
        let rows: Vec<_> = read(text.as_bytes(), &t).unwrap().collect();
        let errors: Vec<String> = rows
            .iter()
            .map(|r| r.as_ref().unwrap_err().to_string())
            .collect();
        assert!(
            errors[0]
                .starts_with("line 2: people_count: is -2; a count of people must be 0 or more"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("line 3: people_count: must be a whole number"),
            "{}",
            errors[1]
        );
        assert_eq!(errors[2], "line 4: row: has 2 cells where the header has 5");
    }

    #[test]
    fn files_starting_with_a_byte_order_mark_are_read() {
        let t = Taxonomy::default_taxonomy();
        let mut csv_bytes = "\u{feff}".as_bytes().to_vec();
        let incident = sample(&t);
        write(&mut csv_bytes, &t, [&incident]).unwrap();
        let back = read(csv_bytes.as_slice(), &t)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(back, incident);
        let jsonl = format!("\u{feff}{LINE}\r\n");
        assert!(
            crate::jsonl::read(jsonl.as_bytes(), &t)
                .next()
                .unwrap()
                .is_ok()
        );
    }

    #[test]
    fn an_unknown_column_fails_the_header() {
        let t = Taxonomy::default_taxonomy();
        let Err(err) = read(
            "report_id,phase,category,people_count,shoe_size\n".as_bytes(),
            &t,
        ) else {
            panic!("an unknown column is accepted");
        };
        assert_eq!(err.line, 1);
        assert!(err.to_string().contains("`shoe_size`"), "{err}");
    }

    #[test]
    fn malformed_json_lines_are_reported_by_number() {
        let t = Taxonomy::default_taxonomy();
        let text = format!(
            "{LINE}\n\n{{\"report_id\": \n[1,2]\n{}\n",
            LINE.replace("administrative_arrest", "alien_abduction")
        );
        let rows: Vec<_> = crate::jsonl::read(text.as_bytes(), &t).collect();
        assert!(rows[0].is_ok());
        let errors: Vec<String> = rows[1..]
            .iter()
            .map(|r| r.as_ref().unwrap_err().to_string())
            .collect();
        assert_eq!(
            errors[0],
            "line 3: line: is not valid JSON (unexpected end at column 13)"
        );
        assert_eq!(errors[1], "line 4: line: is not a JSON object");
        assert!(
            errors[2].starts_with("line 5: category: unknown category `alien_abduction`"),
            "{}",
            errors[2]
        );
        assert!(!errors.concat().contains("Khamitov"), "no names in errors");
    }
}
