//! What the commands print: tables for people, JSON for scripts.

use serde_json::json;
use vigil_core::taxonomy::{FieldKind, Taxonomy, label};
use vigil_core::{HistoryEntry, Incident, PersonalAccess, Summary, Vault, VaultInfo};

/// A progress bar on standard error, hidden when it is not a terminal.
pub fn progress_bar(bytes: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(bytes),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} importing [{bar:40}] {bytes}/{total_bytes} ({eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A counter of changes received during a long sync, on standard error.
pub fn sync_progress() -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} syncing: {pos} change(s) received")
    {
        bar.set_style(style);
    }
    bar
}

fn time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// `vigil info`
pub fn info(info: &VaultInfo, as_json: bool) {
    if as_json {
        let value = json!({
            "path": info.path,
            "device": info.device,
            "incidents": info.incidents,
            "changes": info.changes,
            "taxonomy": info.taxonomy,
            "created_at": info.created_at,
            "team": info.team,
            "role": info.role.map(|r| r.as_str()),
            "kdf": {"algorithm": "argon2id", "memory_kib": info.kdf.memory_kib,
                    "iterations": info.kdf.iterations, "lanes": info.kdf.lanes},
        });
        println!("{value:#}");
        return;
    }
    println!("Vault:        {}", info.path.display());
    println!("Device:       {}", info.device);
    println!("Created:      {}", info.created_at);
    println!(
        "Incidents:    {} ({} changes)",
        info.incidents, info.changes
    );
    println!("Taxonomy:     {}", info.taxonomy);
    match (&info.team, info.role) {
        (Some(team), Some(role)) => {
            println!("Team:         {team} (this device: {})", role.as_str())
        }
        (Some(team), None) => {
            println!("Team:         {team} (this device is not an active member)")
        }
        _ => println!("Team:         none (`vigil team create` or `vigil team join`)"),
    }
    println!(
        "Passphrase:   Argon2id, {} MiB, {} passes",
        info.kdf.memory_kib / 1024,
        info.kdf.iterations
    );
}

fn summary_json(s: &Summary) -> serde_json::Value {
    // Everything but the name keys, which are personal data.
    json!({
        "id": s.id, "phase": s.phase, "category": s.category, "status": s.status,
        "occurred_at": s.occurred_at, "reported_at": s.reported_at,
        "region": s.region, "city": s.city, "polling_station": s.polling_station,
        "people": s.people, "at_least": s.at_least, "affected_role": s.affected_role,
        "context": s.context, "preventive": s.preventive, "article": s.article,
        "grounds": s.grounds, "impersonation": s.impersonation,
        "held_hours": s.held_hours, "perpetrator": s.perpetrator, "sealed": s.sealed,
    })
}

/// `vigil incident list`
pub fn list(summaries: &[Summary], as_json: bool) {
    if as_json {
        let items: Vec<_> = summaries.iter().map(summary_json).collect();
        println!("{}", serde_json::Value::Array(items));
        return;
    }
    println!(
        "{:<36}  {:<16}  {:<40}  {:<14}  {:>7}  STATUS",
        "ID", "OCCURRED", "PHASE/CATEGORY", "CITY", "PEOPLE"
    );
    let mut sealed = 0;
    for s in summaries {
        let people = if s.at_least {
            format!("≥{}", s.people)
        } else {
            s.people.to_string()
        };
        println!(
            "{:<36}  {:<16}  {:<40}  {:<14}  {:>7}  {}",
            s.id,
            s.occurred_at
                .get(..16)
                .unwrap_or(&s.occurred_at)
                .replace('T', " "),
            format!("{}/{}", s.phase, s.category),
            s.city,
            people,
            s.status.as_str()
        );
        sealed += usize::from(s.sealed);
    }
    println!("{} incident(s)", summaries.len());
    if sealed > 0 {
        println!(
            "{sealed} of them with names and descriptions sealed to the coordinators: this device carries them and cannot read them"
        );
    }
}

/// `vigil incident show`
pub fn incident(
    incident: &Incident,
    access: PersonalAccess,
    taxonomy: &Taxonomy,
    lang: &str,
    as_json: bool,
) {
    let personal = match access {
        PersonalAccess::Draft => "draft",
        PersonalAccess::Readable => "readable",
        PersonalAccess::Sealed => "sealed",
    };
    if as_json {
        let mut record = vigil_core::record::from_incident(incident);
        record.insert("personal_data".into(), personal.into());
        println!("{:#}", serde_json::Value::Object(record));
        return;
    }
    let category = taxonomy
        .category(&incident.category)
        .map_or(incident.category.as_str(), |c| label(&c.label, lang, &c.id));
    let phase = taxonomy
        .phase(&incident.phase)
        .map_or(incident.phase.as_str(), |p| label(&p.label, lang, &p.id));
    println!("{category} ({phase})");
    println!("  id:           {}", incident.id);
    println!("  status:       {}", incident.status.as_str());
    println!("  occurred at:  {}", incident.occurred_at);
    println!("  reported at:  {}", incident.reported_at);
    let place = &incident.place;
    let mut where_ = format!("{}, {}", place.city, place.region);
    if let Some(station) = &place.polling_station {
        where_.push_str(&format!(", polling station {station}"));
    }
    if let Some(xy) = place.coordinates {
        where_.push_str(&format!(" ({:.5}, {:.5})", xy.lat, xy.lon));
    }
    println!("  place:        {where_}");
    let role = taxonomy
        .role(&incident.affected.role)
        .map_or(incident.affected.role.as_str(), |r| {
            label(&r.label, lang, &r.id)
        });
    println!(
        "  people:       {}{} ({role})",
        if incident.affected.at_least {
            "at least "
        } else {
            ""
        },
        incident.affected.count
    );
    for (id, value) in incident.details.iter().chain(&incident.personal.details) {
        let field = taxonomy.field(id);
        let name = field.map_or(id.as_str(), |f| label(&f.label, lang, &f.id));
        let shown = match (field, value.as_text()) {
            (Some(f), Some(text)) if f.kind == FieldKind::Choice => f
                .choices
                .iter()
                .find(|c| c.id == text)
                .map_or(text.to_owned(), |c| label(&c.label, lang, &c.id).to_owned()),
            _ => value.to_string(),
        };
        println!("  {:<13} {shown}", format!("{name}:"));
    }
    match access {
        PersonalAccess::Sealed => {
            println!(
                "  personal data: sealed to the coordinators (names, description, reporter); this device cannot read it"
            );
            return;
        }
        PersonalAccess::Draft => {
            println!(
                "  (a draft: it stays on this device until submitted, then only coordinators can read its personal data)"
            );
        }
        PersonalAccess::Readable => {}
    }
    println!("  named people ({}):", incident.personal.persons.len());
    for p in &incident.personal.persons {
        match &p.role {
            Some(role) => println!("    - {} ({role})", p.name),
            None => println!("    - {}", p.name),
        }
    }
    if let Some(by) = &incident.personal.reported_by {
        println!("  reported by:  {by}");
    }
    if !incident.personal.description.is_empty() {
        println!("  description:  {}", incident.personal.description);
    }
}

/// `vigil incident history`
pub fn history(vault: &Vault, entries: &[HistoryEntry], as_json: bool) {
    if as_json {
        let items: Vec<_> = entries
            .iter()
            .map(|e| {
                json!({
                    "hash": e.hash, "author": e.actor, "signer": e.signer, "time": e.time,
                    "message": e.message,
                    "edits": e.edits.iter().map(|f| json!({
                        "field": f.field, "before": f.before, "after": f.after, "personal": f.personal,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(items));
        return;
    }
    if entries.is_empty() {
        println!("No history: this is a draft, kept on this device until it is submitted.");
        return;
    }
    for e in entries {
        let what = e.message.as_deref().unwrap_or("changed");
        let author = vault.author_label(&e.actor);
        // An import's actor is the report's, not a device: say who vouched for it.
        let signed = match &e.signer {
            Some(signer) if author == "partner import" => {
                format!(" (signed by device {signer})")
            }
            _ => String::new(),
        };
        println!("{}  {author}{signed}  {what}", time(e.time));
        if what == "created" || what == "imported" {
            println!("    {} field(s) set", e.edits.len());
            continue;
        }
        for edit in &e.edits {
            if edit.personal {
                println!("    {} changed (personal data, not shown)", edit.field);
            } else {
                println!(
                    "    {}: {} → {}",
                    edit.field,
                    edit.before.as_deref().unwrap_or("(none)"),
                    edit.after.as_deref().unwrap_or("(none)")
                );
            }
        }
    }
}

/// `vigil taxonomy`
pub fn taxonomy(t: &Taxonomy, lang: &str) {
    println!(
        "Taxonomy `{}` (languages: {})",
        t.name,
        t.languages.join(", ")
    );
    println!("\nPhases:");
    for p in &t.phases {
        println!("  {:<24} {}", p.id, label(&p.label, lang, &p.id));
    }
    println!("\nRoles:");
    for r in &t.roles {
        println!("  {:<24} {}", r.id, label(&r.label, lang, &r.id));
    }
    println!(
        "\nCategories (fields beyond the core ones; all have: {}):",
        t.common_fields.join(", ")
    );
    for c in &t.categories {
        println!("  {:<24} {}", c.id, label(&c.label, lang, &c.id));
        println!("  {:<24}   phases: {}", "", c.phases.join(", "));
        if !c.fields.is_empty() {
            println!("  {:<24}   fields: {}", "", c.fields.join(", "));
        }
    }
    println!("\nFields (CSV columns and --set names):");
    for f in &t.fields {
        let kind = match f.kind {
            FieldKind::Boolean => "true/false".to_owned(),
            FieldKind::Integer => "whole number".to_owned(),
            FieldKind::Text => "text".to_owned(),
            FieldKind::Date => "date YYYY-MM-DD".to_owned(),
            FieldKind::Choice => f
                .choices
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
            FieldKind::Legal => format!(
                "{0}_code, {0}_article, {0}_sanction, {0}_days, {0}_amount",
                f.id
            ),
        };
        let personal = if f.personal { " [personal]" } else { "" };
        println!(
            "  {:<24} {}{personal}: {kind}",
            f.id,
            label(&f.label, lang, &f.id)
        );
    }
    println!("\nLegal codes:");
    for code in &t.legal_codes {
        println!("  {:<24} {}", code.id, label(&code.label, lang, &code.id));
        for a in &code.articles {
            println!(
                "  {:<24}   art. {}: {}",
                "",
                a.id,
                label(&a.label, lang, &a.id)
            );
        }
    }
    println!(
        "\nCore fields (every incident): report_id, status, reported_by, reported_at, phase, category, occurred_at, region, city, polling_station, latitude, longitude, people_count, count_is_lower_bound, affected_role, persons, description"
    );
}
