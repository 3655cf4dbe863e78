//! `vigil incident add` as a form: one question per field, drawn from the taxonomy.
//!
//! Questions go to standard error, answers come from standard input line by line,
//! so the form works on a terminal and from a script alike. A wrong answer is asked
//! again; the end of input stops the form and nothing is written.

use std::io::{self, BufRead, Write};

use vigil_core::taxonomy::{FieldKind, Taxonomy, Term, label};

use crate::CliError;

struct Form<'a> {
    lines: io::Lines<io::StdinLock<'a>>,
    lang: &'a str,
    cells: Vec<(String, String)>,
}

impl Form<'_> {
    fn ask(&mut self, question: &str) -> Result<String, CliError> {
        eprint!("{question} ");
        let _ = io::stderr().flush();
        match self.lines.next() {
            Some(line) => Ok(line?.trim().to_owned()),
            None => Err(CliError::Message(
                "input ended before the form was complete; nothing was saved".into(),
            )),
        }
    }

    fn ask_until<T>(
        &mut self,
        question: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, CliError> {
        loop {
            let answer = self.ask(question)?;
            match parse(&answer) {
                Ok(value) => return Ok(value),
                Err(problem) => eprintln!("  {problem}"),
            }
        }
    }

    fn choose(
        &mut self,
        question: &str,
        terms: &[&Term],
        optional: bool,
    ) -> Result<Option<String>, CliError> {
        eprintln!("{question}");
        for (i, t) in terms.iter().enumerate() {
            eprintln!("  {:>2}. {}", i + 1, label(&t.label, self.lang, &t.id));
        }
        let hint = if optional {
            "number, or empty to skip:"
        } else {
            "number:"
        };
        let count = terms.len();
        let index = self.ask_until(hint, |a| {
            if a.is_empty() && optional {
                return Ok(None);
            }
            match a.parse::<usize>() {
                Ok(n) if (1..=count).contains(&n) => Ok(Some(n - 1)),
                _ => Err(format!("answer a number from 1 to {count}")),
            }
        })?;
        Ok(index.map(|i| terms[i].id.clone()))
    }

    fn yes_no(&mut self, question: &str) -> Result<Option<bool>, CliError> {
        self.ask_until(&format!("{question} [y/n, empty to skip]:"), |a| {
            match a.to_lowercase().as_str() {
                "" => Ok(None),
                "y" | "yes" | "д" | "да" => Ok(Some(true)),
                "n" | "no" | "н" | "нет" => Ok(Some(false)),
                _ => Err("answer y or n".into()),
            }
        })
    }

    fn set(&mut self, key: &str, value: impl Into<String>) {
        self.cells.push((key.to_owned(), value.into()));
    }
}

/// Asks for every field of an incident; returns them as cells for `add_fields`.
pub fn form(taxonomy: &Taxonomy, lang: &str) -> Result<Vec<(String, String)>, CliError> {
    let stdin = io::stdin();
    let mut f = Form {
        lines: stdin.lock().lines(),
        lang,
        cells: Vec::new(),
    };
    let phases: Vec<&Term> = taxonomy.phases.iter().collect();
    let Some(phase) = f.choose("Phase:", &phases, false)? else {
        return Err(CliError::Message("a phase is required".into()));
    };
    let categories: Vec<_> = taxonomy
        .categories
        .iter()
        .filter(|c| c.phases.contains(&phase))
        .collect();
    let category_terms: Vec<Term> = categories
        .iter()
        .map(|c| Term {
            id: c.id.clone(),
            label: c.label.clone(),
        })
        .collect();
    let refs: Vec<&Term> = category_terms.iter().collect();
    let Some(category_id) = f.choose("Category:", &refs, false)? else {
        return Err(CliError::Message("a category is required".into()));
    };
    f.set("phase", phase);
    f.set("category", category_id.clone());

    let when = f.ask_until(
        "When did it happen? (RFC 3339, e.g. 2021-01-10T14:30:00+06:00; empty: now):",
        |a| {
            if a.is_empty() || vigil_core::validate_time(a) {
                Ok(a.to_owned())
            } else {
                Err("write the time like 2021-01-10T14:30:00+06:00".into())
            }
        },
    )?;
    if !when.is_empty() {
        f.set("occurred_at", when);
    }
    let region = f.ask("Region:")?;
    f.set("region", region);
    let city = f.ask_until("City or town:", |a| {
        if a.is_empty() {
            Err("a city is required".into())
        } else {
            Ok(a.to_owned())
        }
    })?;
    f.set("city", city);
    let station = f.ask("Polling station (empty if none):")?;
    if !station.is_empty() {
        f.set("polling_station", station);
    }
    let roles: Vec<&Term> = taxonomy.roles.iter().collect();
    if let Some(role) = f.choose("Role of the people affected:", &roles, false)? {
        f.set("affected_role", role);
    }
    eprintln!("People identified by name, one per line; an empty line ends the list:");
    let mut persons = Vec::new();
    loop {
        let name = f.ask(">")?;
        if name.is_empty() {
            break;
        }
        persons.push(name.replace(';', ","));
    }
    let named = persons.len() as u64;
    let count = f.ask_until(
        &format!(
            "How many people were affected? (at least {}):",
            named.max(1)
        ),
        |a| match a.parse::<u64>() {
            Ok(n) if n >= named => Ok(n),
            Ok(_) => Err(format!("the count includes the {named} people named")),
            Err(_) => Err("answer a whole number".into()),
        },
    )?;
    f.set("people_count", count.to_string());
    if f.yes_no("Is that a lower bound (\"at least\")?")? == Some(true) {
        f.set("count_is_lower_bound", "true");
    }
    if !persons.is_empty() {
        f.set("persons", persons.join("; "));
    }

    let Some(category) = taxonomy.category(&category_id) else {
        return Err(CliError::Message("unknown category".into()));
    };
    for field in taxonomy.fields_of(category) {
        let name = label(&field.label, lang, &field.id).to_owned();
        match field.kind {
            FieldKind::Boolean => {
                if let Some(b) = f.yes_no(&name)? {
                    f.set(&field.id, b.to_string());
                }
            }
            FieldKind::Integer => {
                let (min, max) = (field.min.unwrap_or(i64::MIN), field.max.unwrap_or(i64::MAX));
                let n = f.ask_until(&format!("{name} (empty to skip):"), |a| {
                    if a.is_empty() {
                        return Ok(None);
                    }
                    match a.parse::<i64>() {
                        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                        _ if max == i64::MAX => {
                            Err(format!("answer a whole number, {min} or more"))
                        }
                        _ => Err(format!("answer a whole number from {min} to {max}")),
                    }
                })?;
                if let Some(n) = n {
                    f.set(&field.id, n.to_string());
                }
            }
            FieldKind::Text => {
                let text = f.ask(&format!("{name} (empty to skip):"))?;
                if !text.is_empty() {
                    f.set(&field.id, text);
                }
            }
            FieldKind::Date => {
                let date = f.ask_until(&format!("{name} (YYYY-MM-DD, empty to skip):"), |a| {
                    if a.is_empty() || vigil_core::validate_date(a) {
                        Ok(a.to_owned())
                    } else {
                        Err("write the date like 2021-01-10".into())
                    }
                })?;
                if !date.is_empty() {
                    f.set(&field.id, date);
                }
            }
            FieldKind::Choice => {
                let choices: Vec<&Term> = field.choices.iter().collect();
                if let Some(choice) = f.choose(&format!("{name}:"), &choices, true)? {
                    f.set(&field.id, choice);
                }
            }
            FieldKind::Legal => {
                let codes: Vec<Term> = taxonomy
                    .legal_codes
                    .iter()
                    .map(|c| Term {
                        id: c.id.clone(),
                        label: c.label.clone(),
                    })
                    .collect();
                let refs: Vec<&Term> = codes.iter().collect();
                let Some(code) = f.choose(&format!("{name}: legal code"), &refs, true)? else {
                    continue;
                };
                let article = f.ask_until("Article (e.g. 488):", |a| {
                    if a.is_empty() {
                        Err("an article is required".into())
                    } else {
                        Ok(a.to_owned())
                    }
                })?;
                f.set(&format!("{}_code", field.id), code);
                f.set(&format!("{}_article", field.id), article);
                let sanctions: Vec<&Term> = taxonomy.sanctions.iter().collect();
                if let Some(s) = f.choose("Sanction:", &sanctions, true)? {
                    f.set(&format!("{}_sanction", field.id), s);
                }
                for (part, question) in [
                    ("days", "Days (empty to skip):"),
                    ("amount", "Fine amount (empty to skip):"),
                ] {
                    let n = f.ask_until(question, |a| {
                        if a.is_empty() {
                            Ok(None)
                        } else {
                            a.parse::<u64>()
                                .map(Some)
                                .map_err(|_| "answer a whole number".to_owned())
                        }
                    })?;
                    if let Some(n) = n {
                        f.set(&format!("{}_{part}", field.id), n.to_string());
                    }
                }
            }
        }
    }
    let description = f.ask("What happened? (one line; names may be included):")?;
    if !description.is_empty() {
        f.set("description", description);
    }
    if f.yes_no("Submit now? (otherwise it stays a draft)")? == Some(true) {
        f.set("status", "submitted");
    }
    Ok(f.cells)
}
