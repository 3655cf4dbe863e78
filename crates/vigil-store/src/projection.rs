//! Projection tables: incident summaries for lists and reports.

use std::collections::HashMap;

use rusqlite::{Connection, Row, ToSql, params};
use vigil_model::links::{Link, LinkDecision, LinkState};
use vigil_model::name_key;
use vigil_model::validate::parse_time;
use vigil_model::{IncidentId, Status, Summary};

use crate::Result;

/// Which incidents a listing shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this phase.
    pub phase: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this city.
    pub city: Option<String>,
    /// Only this status.
    pub status: Option<Status>,
    /// At most this many.
    pub limit: Option<u64>,
    /// Skip this many first.
    pub offset: u64,
}

const COLUMNS: &str = "id, phase, category, status, occurred_at, reported_at, region, city, \
    polling_station, people, at_least, affected_role, context, preventive, article, grounds, \
    impersonation, held_hours, perpetrator, sealed";

pub(crate) fn put(conn: &Connection, s: &Summary) -> Result<()> {
    let id = s.id.to_bytes();
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO incidents ({COLUMNS}, occurred_unix) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"
    ))?;
    stmt.execute(params![
        id,
        s.phase,
        s.category,
        s.status.as_str(),
        s.occurred_at,
        s.reported_at,
        s.region,
        s.city,
        s.polling_station,
        i64::try_from(s.people).unwrap_or(i64::MAX),
        s.at_least,
        s.affected_role,
        s.context,
        s.preventive,
        s.article,
        s.grounds,
        s.impersonation,
        s.held_hours,
        s.perpetrator,
        s.sealed,
        // Listings sort by the instant, whatever offset each time was written with.
        parse_time(&s.occurred_at).map_or(0, |t| t.unix_timestamp()),
    ])?;
    // INSERT OR REPLACE deletes the old row first, so the cascade has already cleared
    // the old names.
    let mut names = conn.prepare_cached(
        "INSERT OR IGNORE INTO incident_names (incident, name_key, published) VALUES (?1, ?2, ?3)",
    )?;
    for key in &s.named {
        let published = s.published.iter().find(|name| name_key(name) == *key);
        names.execute(params![id, key, published])?;
    }
    let mut links = conn.prepare_cached(
        "INSERT OR REPLACE INTO incident_links
         (incident, other, state, automatic, score, reasons, decided_by, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for link in s.links.iter().filter(|link| link.a == s.id) {
        let d = &link.decision;
        links.execute(params![
            id,
            link.b.to_bytes(),
            d.state.as_str(),
            d.automatic,
            d.score,
            d.reasons.join("\u{1f}"),
            link.by,
            d.at,
        ])?;
    }
    if !s.sealed && (s.observer.is_some() || s.source.is_some() || !s.description.is_empty()) {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO incident_texts (incident, observer, source, description)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![id, s.observer, s.source, s.description])?;
    }
    Ok(())
}

/// Every link decision stored, in the order of the pairs.
pub(crate) fn links(conn: &Connection) -> Result<Vec<Link>> {
    let mut stmt = conn.prepare_cached(
        "SELECT incident, other, state, automatic, score, reasons, decided_by, at
         FROM incident_links ORDER BY incident, other",
    )?;
    let rows = stmt.query_map([], |row| {
        let state: String = row.get(2)?;
        let reasons: String = row.get(5)?;
        Ok(Link {
            a: IncidentId::from_bytes(row.get(0)?),
            b: IncidentId::from_bytes(row.get(1)?),
            decision: LinkDecision {
                state: LinkState::parse(&state).unwrap_or(LinkState::Unlinked),
                automatic: row.get(3)?,
                score: row.get(4)?,
                reasons: reasons
                    .split('\u{1f}')
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned)
                    .collect(),
                at: row.get(7)?,
            },
            by: row.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Fills in the observer, source and description of `summaries`, where stored.
pub(crate) fn add_texts(conn: &Connection, summaries: &mut [Summary]) -> Result<()> {
    let index: HashMap<[u8; 16], usize> = summaries
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.to_bytes(), i))
        .collect();
    let mut stmt =
        conn.prepare_cached("SELECT incident, observer, source, description FROM incident_texts")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let id: [u8; 16] = row.get(0)?;
        if let Some(&i) = index.get(&id) {
            let s = &mut summaries[i];
            s.observer = row.get(1)?;
            s.source = row.get(2)?;
            s.description = row.get(3)?;
        }
    }
    Ok(())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Summary> {
    let status: String = row.get(3)?;
    Ok(Summary {
        id: IncidentId::from_bytes(row.get(0)?),
        phase: row.get(1)?,
        category: row.get(2)?,
        status: Status::parse(&status).unwrap_or_default(),
        occurred_at: row.get(4)?,
        reported_at: row.get(5)?,
        region: row.get(6)?,
        city: row.get(7)?,
        polling_station: row.get(8)?,
        people: u64::try_from(row.get::<_, i64>(9)?).unwrap_or(0),
        at_least: row.get(10)?,
        affected_role: row.get(11)?,
        context: row.get(12)?,
        preventive: row.get(13)?,
        article: row.get(14)?,
        grounds: row.get(15)?,
        impersonation: row.get(16)?,
        held_hours: row.get(17)?,
        perpetrator: row.get(18)?,
        named: Vec::new(),
        published: Vec::new(),
        sealed: row.get(19)?,
        observer: None,
        source: None,
        description: String::new(),
        links: Vec::new(),
    })
}

pub(crate) fn list(conn: &Connection, filter: &ListFilter) -> Result<Vec<Summary>> {
    let mut clauses = Vec::new();
    let mut args: Vec<&dyn ToSql> = Vec::new();
    let status = filter.status.map(Status::as_str);
    for (column, value) in [
        ("phase", filter.phase.as_ref()),
        ("category", filter.category.as_ref()),
        ("city", filter.city.as_ref()),
    ] {
        if let Some(value) = value {
            clauses.push(format!("{column} = ?{}", args.len() + 1));
            args.push(value);
        }
    }
    if let Some(status) = &status {
        clauses.push(format!("status = ?{}", args.len() + 1));
        args.push(status);
    }
    let limit = filter
        .limit
        .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let offset = i64::try_from(filter.offset).unwrap_or(i64::MAX);
    let where_clause = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM incidents {where_clause} ORDER BY occurred_unix DESC, id LIMIT {limit} OFFSET {offset}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(args.as_slice(), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn summary(conn: &Connection, id: &IncidentId) -> Result<Option<Summary>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM incidents WHERE id = ?1"))?;
    let mut rows = stmt.query_map([id.to_bytes()], from_row)?;
    let Some(row) = rows.next() else {
        return Ok(None);
    };
    let mut summary = row?;
    let mut names = conn.prepare_cached(
        "SELECT name_key, published FROM incident_names WHERE incident = ?1 ORDER BY name_key",
    )?;
    let mut rows = names.query([id.to_bytes()])?;
    while let Some(row) = rows.next()? {
        add_name(&mut summary, row.get(0)?, row.get(1)?);
    }
    Ok(Some(summary))
}

pub(crate) fn summaries_with_names(conn: &Connection, statuses: &[Status]) -> Result<Vec<Summary>> {
    let wanted: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    let placeholders = (1..=wanted.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let args: Vec<&dyn ToSql> = wanted.iter().map(|s| s as &dyn ToSql).collect();
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM incidents WHERE status IN ({placeholders})"
    ))?;
    let mut summaries: Vec<Summary> = stmt
        .query_map(args.as_slice(), from_row)?
        .collect::<rusqlite::Result<_>>()?;
    let index: HashMap<[u8; 16], usize> = summaries
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.to_bytes(), i))
        .collect();
    let mut names = conn.prepare("SELECT incident, name_key, published FROM incident_names")?;
    let mut rows = names.query([])?;
    while let Some(row) = rows.next()? {
        let id: [u8; 16] = row.get(0)?;
        if let Some(&i) = index.get(&id) {
            add_name(&mut summaries[i], row.get(1)?, row.get(2)?);
        }
    }
    Ok(summaries)
}

fn add_name(summary: &mut Summary, key: String, published: Option<String>) {
    summary.named.push(key);
    summary.published.extend(published);
}
