//! Schema versions. The version lives in `PRAGMA user_version`; each step upgrades
//! from the version before it, inside the caller's transaction. A step, once
//! released, never changes: a fix is a new step.

use rusqlite::Transaction;

use crate::Result;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = STEPS.len() as i64;

/// Step `i` upgrades a vault from version `i` to version `i + 1`.
const STEPS: &[&str] = &[
    // 1: change log, metadata, incident projections.
    "CREATE TABLE meta (
         key   TEXT PRIMARY KEY,
         value BLOB NOT NULL
     ) WITHOUT ROWID;

     -- The source of truth: every Automerge change of every incident.
     CREATE TABLE changes (
         seq_no   INTEGER PRIMARY KEY,
         hash     BLOB NOT NULL UNIQUE,
         incident BLOB NOT NULL,
         bytes    BLOB NOT NULL
     );
     CREATE INDEX changes_by_incident ON changes (incident);

     -- Projections: one row per incident, rebuilt from the log on every change.
     CREATE TABLE incidents (
         id              BLOB PRIMARY KEY,
         phase           TEXT NOT NULL,
         category        TEXT NOT NULL,
         status          TEXT NOT NULL,
         occurred_at     TEXT NOT NULL,
         occurred_unix   INTEGER NOT NULL,
         reported_at     TEXT NOT NULL,
         region          TEXT NOT NULL,
         city            TEXT NOT NULL,
         polling_station TEXT,
         people          INTEGER NOT NULL,
         at_least        INTEGER NOT NULL,
         affected_role   TEXT NOT NULL,
         context         TEXT,
         preventive      INTEGER,
         article         TEXT,
         grounds         TEXT,
         impersonation   INTEGER,
         held_hours      INTEGER,
         perpetrator     TEXT
     );
     CREATE INDEX incidents_by_time ON incidents (occurred_unix);

     -- Normalised names of the people named in each incident (personal data).
     CREATE TABLE incident_names (
         incident BLOB NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
         name_key TEXT NOT NULL,
         PRIMARY KEY (incident, name_key)
     ) WITHOUT ROWID;",
    // 2: signed changes, team membership, invitations.
    "-- Who vouches for each change: the device that made it (or imported it) and
     -- its ed25519 signature. NULL only in rows written by version 1, which the
     -- vault's own device signs when it first opens them.
     ALTER TABLE changes ADD COLUMN author BLOB;
     ALTER TABLE changes ADD COLUMN signature BLOB;
     -- The change's own timestamp, Unix seconds: set reconciliation orders items by
     -- it, so that recent changes gather in few ranges.
     ALTER TABLE changes ADD COLUMN time INTEGER NOT NULL DEFAULT 0;
     -- What every sync session reads: a narrow scan instead of the whole log.
     CREATE INDEX changes_by_time ON changes (time, hash);

     -- The team's membership log: signed entries, synced like changes.
     CREATE TABLE members (
         seq_no    INTEGER PRIMARY KEY,
         hash      BLOB NOT NULL UNIQUE,
         time      INTEGER NOT NULL,
         bytes     BLOB NOT NULL,
         signature BLOB NOT NULL
     );

     -- Invitations this device made: only a hash of the secret is kept.
     CREATE TABLE invites (
         secret_hash BLOB PRIMARY KEY,
         role        TEXT NOT NULL,
         expires     INTEGER NOT NULL,
         used_by     BLOB
     ) WITHOUT ROWID;

     -- How far each peer is known to hold this device's change log: everything up
     -- to changes_seq, as of the last complete sync with it.
     CREATE TABLE peers (
         device      BLOB PRIMARY KEY,
         changes_seq INTEGER NOT NULL,
         synced_at   INTEGER NOT NULL
     ) WITHOUT ROWID;",
    // 3: names that may be published.
    "-- The name as written, when the person agreed to be named in public reports.
     ALTER TABLE incident_names ADD COLUMN published TEXT;",
    // 4: sealed personal data, drafts.
    "-- 1 when the incident's personal part is sealed to other devices: its names are
     -- unknown here, not absent.
     ALTER TABLE incidents ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;

     -- Incidents this device is still writing: readable, never synced, and deleted
     -- (its bytes overwritten: secure_delete) when submitted as a sealed document.
     CREATE TABLE drafts (
         id   BLOB PRIMARY KEY,
         body BLOB NOT NULL
     );",
    // 5: equivocation.
    "-- Devices caught signing two different changes under one actor and sequence
     -- number (a fork of an incident, handed to different peers): their later
     -- changes are refused, and coordinators are told.
     CREATE TABLE equivocations (
         author   BLOB PRIMARY KEY,
         incident BLOB NOT NULL,
         seq      INTEGER NOT NULL,
         seen_at  INTEGER NOT NULL
     ) WITHOUT ROWID;",
    // 6: events (links between reports) and what the matcher reads.
    "-- Link decisions between reports (vigil_model::links), as the document of the
     -- pair's smaller id holds them: one row per pair.
     CREATE TABLE incident_links (
         incident  BLOB NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
         other     BLOB NOT NULL,
         state     TEXT NOT NULL,
         automatic INTEGER NOT NULL,
         score     INTEGER,
         reasons   TEXT NOT NULL,
         decided_by BLOB NOT NULL,
         at        INTEGER NOT NULL,
         PRIMARY KEY (incident, other)
     ) WITHOUT ROWID;
     CREATE INDEX incident_links_by_other ON incident_links (other);

     -- What the matcher compares besides the summary: personal, so kept only where
     -- this device reads the incident's personal part.
     CREATE TABLE incident_texts (
         incident    BLOB PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
         observer    TEXT,
         source      TEXT,
         description TEXT NOT NULL
     ) WITHOUT ROWID;",
];

/// Upgrades the schema from `version` to [`SCHEMA_VERSION`].
pub(crate) fn upgrade_from(tx: &Transaction<'_>, version: i64) -> Result<()> {
    let start = usize::try_from(version).unwrap_or(0);
    for (i, step) in STEPS.iter().enumerate().skip(start) {
        if version > 0 {
            // Not when creating: a vault made by a duress opening must not stand out.
            tracing::info!(from = i, to = i + 1, "upgrading vault schema");
        }
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) fn upgrade_to(tx: &Transaction<'_>, target: usize) -> Result<()> {
    for step in &STEPS[..target] {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", target as i64)?;
    Ok(())
}
