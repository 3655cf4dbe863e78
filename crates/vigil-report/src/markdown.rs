//! The report as Markdown, in the spirit of a coalition's published statement:
//! per phase, one line per category with people ("at least" where it applies),
//! events, cities and people identified by name, then the breakdowns.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use vigil_model::taxonomy::{Taxonomy, label};

use crate::{Figures, Report};

/// The sentences of the report, in English or Russian. Labels of phases, categories
/// and values come from the taxonomy in any language it has.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Words {
    En,
    Ru,
}

impl Words {
    fn of(lang: &str) -> Self {
        if lang.starts_with("ru") {
            Words::Ru
        } else {
            Words::En
        }
    }

    fn title(self) -> &'static str {
        match self {
            Words::En => "Violations recorded",
            Words::Ru => "Зафиксированные нарушения",
        }
    }

    fn preamble(self, reports: u64, statuses: &str) -> String {
        match self {
            Words::En => format!(
                "{reports} reports counted (status: {statuses}). Each report counts as one event; \
                 people are summed over events, and a total is a lower bound where any count was."
            ),
            Words::Ru => format!(
                "Учтено сообщений: {reports} (статус: {statuses}). Каждое сообщение считается одним случаем; \
                 люди суммируются по случаям, итог — нижняя граница, если хоть одно число было нижней границей."
            ),
        }
    }

    fn nothing(self) -> &'static str {
        match self {
            Words::En => "Nothing to report yet.",
            Words::Ru => "Сообщать пока не о чем.",
        }
    }
}

/// `n` and the English noun that agrees with it.
fn en(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `n` and the Russian noun that agrees with it: forms for 1, 2-4 and 5 (1 человек,
/// 2 человека, 5 человек; 21 случай, 12 случаев).
fn ru(n: u64, [one, few, many]: [&str; 3]) -> String {
    let (last, last_two) = (n % 10, n % 100);
    let form = if last == 1 && last_two != 11 {
        one
    } else if (2..=4).contains(&last) && !(12..=14).contains(&last_two) {
        few
    } else {
        many
    };
    format!("{n} {form}")
}

/// Renders a report in `lang` (English or Russian; labels fall back to English).
pub fn render_markdown(report: &Report, taxonomy: &Taxonomy, lang: &str) -> String {
    let words = Words::of(lang);
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", words.title());
    let counted: Vec<&str> = report.counted.iter().map(|s| s.as_str()).collect();
    let _ = writeln!(
        out,
        "{}\n",
        words.preamble(report.reports, &counted.join(", "))
    );
    if report.figures.is_empty() {
        let _ = writeln!(out, "{}", words.nothing());
        return out;
    }

    // Phases and categories in the taxonomy's order; anything it no longer knows last.
    let mut phases: Vec<(String, String)> = taxonomy
        .phases
        .iter()
        .map(|p| (p.id.clone(), label(&p.label, lang, &p.id).to_owned()))
        .collect();
    for key in report.figures.keys() {
        let phase = key.split('/').next().unwrap_or_default();
        if !phases.iter().any(|(id, _)| id == phase) {
            phases.push((phase.to_owned(), phase.to_owned()));
        }
    }
    for (phase, phase_label) in phases {
        let mut rows: Vec<(usize, &str, &Figures)> = report
            .figures
            .iter()
            .filter_map(|(key, f)| {
                let (p, category) = key.split_once('/')?;
                (p == phase).then(|| {
                    let order = taxonomy
                        .categories
                        .iter()
                        .position(|c| c.id == category)
                        .unwrap_or(usize::MAX);
                    (order, category, f)
                })
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        rows.sort_by_key(|(order, category, _)| (*order, *category));
        let _ = writeln!(out, "## {phase_label}\n");
        for (_, category, f) in rows {
            let name = taxonomy
                .category(category)
                .map_or(category, |c| label(&c.label, lang, &c.id));
            let _ = writeln!(out, "- **{name}**: {}", line(f, taxonomy, lang));
        }
        out.push('\n');
    }
    out
}

fn line(f: &Figures, taxonomy: &Taxonomy, lang: &str) -> String {
    let w = Words::of(lang);
    let mut s = String::new();
    let cities = f.cities as u64;
    let _ = match w {
        Words::En => write!(
            s,
            "{}{} in {} in {} ({} identified by name)",
            if f.people_is_lower_bound {
                "at least "
            } else {
                ""
            },
            en(f.people, "person", "people"),
            en(f.events, "event", "events"),
            en(cities, "city", "cities"),
            f.named_people
        ),
        Words::Ru => write!(
            s,
            "{}{}, {} в {} (установлены по имени: {})",
            if f.people_is_lower_bound {
                "не менее "
            } else {
                ""
            },
            ru(f.people, ["человек", "человека", "человек"]),
            ru(f.events, ["случай", "случая", "случаев"]),
            ru(cities, ["городе", "городах", "городах"]),
            f.named_people
        ),
    };
    if let (Some(lo), Some(hi)) = (f.held_hours_min, f.held_hours_max) {
        let n = hi.unsigned_abs();
        let _ = match (w, lo == hi) {
            (Words::En, true) => write!(s, "; held {}", en(n, "hour", "hours")),
            (Words::En, false) => write!(s, "; held from {lo} to {}", en(n, "hour", "hours")),
            (Words::Ru, true) => write!(s, "; удерживались {}", ru(n, ["час", "часа", "часов"])),
            (Words::Ru, false) => {
                write!(
                    s,
                    "; удерживались от {lo} до {}",
                    ru(n, ["часа", "часов", "часов"])
                )
            }
        };
    }
    if f.preventive > 0 {
        let _ = match w {
            Words::En => write!(s, "; {} preventive", f.preventive),
            Words::Ru => write!(s, "; превентивно: {}", f.preventive),
        };
    }
    if f.impersonation > 0 {
        let _ = match w {
            Words::En => write!(
                s,
                "; {} where someone voted in the person's name",
                en(f.impersonation, "case", "cases")
            ),
            Words::Ru => write!(
                s,
                "; за избирателя проголосовал другой: {}",
                f.impersonation
            ),
        };
    }
    s.push('.');
    let field_label = |id: &str, fallback: &str| {
        taxonomy.field(id).map_or(fallback.to_owned(), |f| {
            label(&f.label, lang, &f.id).to_owned()
        })
    };
    let choice = |field: &str, value: &str| {
        taxonomy
            .field(field)
            .and_then(|f| f.choices.iter().find(|c| c.id == value))
            .map_or(value.to_owned(), |c| {
                label(&c.label, lang, &c.id).to_owned()
            })
    };
    let art = if w == Words::Ru { "ст." } else { "art." };
    let article = |value: &str| {
        let named = taxonomy
            .legal_codes
            .iter()
            .flat_map(|c| &c.articles)
            .find(|a| a.id == value);
        match named {
            Some(a) => format!("{} {value} «{}»", art, label(&a.label, lang, &a.id)),
            None => format!("{art} {value}"),
        }
    };
    let role = |value: &str| {
        taxonomy.role(value).map_or(value.to_owned(), |r| {
            label(&r.label, lang, &r.id).to_owned()
        })
    };
    let (by_article, by_role, named) = match w {
        Words::En => ("By article", "By affected role", "Named with their consent"),
        Words::Ru => (
            "По статьям",
            "По роли пострадавших",
            "Названы с их согласия",
        ),
    };
    if !f.named_with_consent.is_empty() {
        let _ = write!(s, " {named}: {}.", f.named_with_consent.join(", "));
    }
    if f.sealed_events > 0 {
        let _ = match w {
            Words::En => write!(
                s,
                " Names in {} are sealed to the coordinators and not counted here.",
                en(f.sealed_events, "event", "events")
            ),
            Words::Ru => write!(
                s,
                " Имена в {} зашифрованы для координаторов и здесь не учтены.",
                ru(f.sealed_events, ["случае", "случаях", "случаях"])
            ),
        };
    }
    breakdown(&mut s, by_article, &f.by_article, article);
    breakdown(
        &mut s,
        &field_label("context", "Context"),
        &f.by_context,
        |v| choice("context", v),
    );
    breakdown(&mut s, by_role, &f.by_affected_role, role);
    breakdown(
        &mut s,
        &field_label("grounds", "Grounds"),
        &f.by_grounds,
        |v| choice("grounds", v),
    );
    s
}

fn breakdown(
    out: &mut String,
    title: &str,
    counts: &BTreeMap<String, u64>,
    name: impl Fn(&str) -> String,
) {
    if counts.is_empty() {
        return;
    }
    let mut items: Vec<_> = counts.iter().collect();
    items.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let parts: Vec<String> = items
        .into_iter()
        .map(|(key, n)| format!("{} {n}", name(key)))
        .collect();
    let _ = write!(out, " {title}: {}.", parts.join(", "));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count;
    use vigil_model::{Incident, Status, Summary};

    #[test]
    fn a_line_reads_like_the_published_report() {
        let s = Summary {
            category: "administrative_arrest".into(),
            status: Status::Verified,
            people: 1,
            at_least: false,
            article: Some("488".into()),
            held_hours: None,
            named: vec!["aibek sadikov".into()],
            ..Incident::example().summary()
        };
        let report = count([&s], &[Status::Verified]);
        let text = render_markdown(&report, &Taxonomy::default_taxonomy(), "en");
        assert!(text.contains("## Election day"), "{text}");
        assert!(
            text.contains("- **Administrative arrest**: 1 person in 1 event in 1 city (1 identified by name). By article: art. 488 «violation of the law on peaceful assembly» 1."),
            "{text}"
        );
        assert!(
            !text.contains("consent"),
            "nobody is named without consent: {text}"
        );
        let ru = render_markdown(&report, &Taxonomy::default_taxonomy(), "ru");
        assert!(ru.contains("## День выборов"), "{ru}");
        assert!(
            ru.contains("- **Административный арест**: 1 человек, 1 случай в 1 городе (установлены по имени: 1). По статьям: ст. 488"),
            "{ru}"
        );
    }

    #[test]
    fn only_people_who_consented_are_named() {
        let mut attacked = Incident::example();
        attacked.category = "attack_on_journalist".into();
        attacked.details.clear();
        attacked.affected.count = 2;
        attacked.personal.persons = vec![
            vigil_model::Person {
                consent: true,
                ..vigil_model::Person::new("Saniya  TOIKEN", Some("journalist".into()))
            },
            vigil_model::Person::new("Someone Else", None),
        ];
        let again = Incident {
            id: vigil_model::IncidentId::random(),
            ..attacked.clone()
        };
        let (a, b) = (attacked.summary(), again.summary());
        let report = count([&a, &b], &[a.status]);
        let text = render_markdown(&report, &Taxonomy::default_taxonomy(), "en");
        assert!(
            text.contains("(2 identified by name). Named with their consent: Saniya TOIKEN."),
            "{text}"
        );
        assert!(!text.contains("Someone"), "{text}");
        let ru = render_markdown(&report, &Taxonomy::default_taxonomy(), "ru");
        assert!(ru.contains("Названы с их согласия: Saniya TOIKEN."), "{ru}");
        let json = report.to_json();
        assert!(
            json.contains("\"named_with_consent\": [\n      \"Saniya TOIKEN\""),
            "{json}"
        );
    }
}
