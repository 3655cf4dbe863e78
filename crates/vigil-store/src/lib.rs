//! The vault's storage: one SQLCipher database per vault.
//!
//! - The **change log** (`changes`) is the source of truth: every Automerge change of
//!   every incident, by hash.
//! - **Projections** (`incidents`, `incident_names`) answer list, search and report
//!   queries; they are written in the same transaction as the changes they reflect,
//!   and can be rebuilt from the log at any time.
//! - Everything is encrypted at rest by SQLCipher (AES-256, HMAC-SHA256 per page) with
//!   a raw 256-bit key: pages, indexes, the WAL and the journal alike. Temporary
//!   tables stay in memory, never in plaintext temp files.
//! - One writer: the [`Store`] owns a single connection in WAL mode, and every write
//!   goes through [`Store::write`], one transaction each; `synchronous = FULL` so a
//!   committed write survives power loss. A change enters the log with its
//!   incident's projection ([`Writer::record`]), and the store counts what commits
//!   ([`Written`]) for change events.
//! - One [`Reader`] beside it: a read-only connection that lists and counts from the
//!   last commit while a write runs. Every query is written once, in [`StoreRead`],
//!   which `Store`, `Writer` and `Reader` share.
//!
//! Must not: judge what it stores (the team's rules and the inbox do), or log a
//! value.

mod migrations;
mod projection;

use std::cell::Cell;
use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use vigil_model::log::{MemberEntryRow, SignedChange};
use vigil_model::{IncidentId, Status, Summary};
use zeroize::Zeroizing;

pub use migrations::SCHEMA_VERSION;
pub use projection::ListFilter;

/// A stored change's hash, and the device that signed it (`None` before changes
/// were signed).
pub type Signed = ([u8; 32], Option<[u8; 32]>);

/// A device caught signing two different changes under one Automerge actor and
/// sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equivocation {
    /// The device that signed both.
    pub author: [u8; 32],
    /// The incident it forked.
    pub incident: IncidentId,
    /// The sequence number it used twice.
    pub seq: u64,
    /// When this device noticed, Unix seconds.
    pub seen_at: i64,
}

/// A change written by version 1, before changes were signed.
#[derive(Debug, Clone)]
pub struct UnsignedChange {
    /// Its row in the log.
    pub seq_no: i64,
    /// The incident it belongs to.
    pub incident: IncidentId,
    /// The change's bytes.
    pub bytes: Vec<u8>,
}

/// Database page size. 8 KiB pages hold more whole change rows than 4 KiB ones and
/// pay SQLCipher's per-page IV and MAC (80 bytes) half as often.
const PAGE_SIZE: u32 = 8192;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The key does not decrypt the file, or the file is not an SQLCipher database.
    #[error("the vault database cannot be decrypted with this key, or it is not a vault")]
    NotDecryptable,
    /// A database that opens but is not a Vigil vault.
    #[error("the database is not a Vigil vault")]
    NotAVault,
    /// Written by a newer Vigil.
    #[error(
        "the vault has schema version {0}, newer than this Vigil knows ({SCHEMA_VERSION}); update Vigil"
    )]
    NewerSchema(i64),
    /// Stored data that does not read back as it was written.
    #[error("stored data is damaged: {0}")]
    Damaged(String),
    /// An SQLite error. Its messages carry SQL and column names, never stored values.
    #[error("storage error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An open vault database.
pub struct Store {
    conn: Connection,
    /// What committed writes stored since [`Store::take_written`] last took it.
    written: Written,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Creates a new vault database at `path`, encrypted with `key`.
    pub fn create(path: &Path, key: &[u8; 32]) -> Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        let mut store = Self::unlock(conn, key)?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing vault database, upgrading its schema if it is older.
    pub fn open(path: &Path, key: &[u8; 32]) -> Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        let mut store = Self::unlock(conn, key)?;
        if store.schema_version()? == 0 {
            return Err(StoreError::NotAVault);
        }
        store.migrate()?;
        Ok(store)
    }

    fn unlock(conn: Connection, key: &[u8; 32]) -> Result<Self> {
        decrypt(&conn, key)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA temp_store = MEMORY;
             PRAGMA foreign_keys = ON;
             PRAGMA secure_delete = ON;
             PRAGMA busy_timeout = 5000;
             PRAGMA cache_size = -16384;",
        )?;
        Ok(Self {
            conn,
            written: Written::default(),
        })
    }

    fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<()> {
        let version = self.schema_version()?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema(version));
        }
        if version < SCHEMA_VERSION {
            let tx = self.conn.transaction()?;
            migrations::upgrade_from(&tx, version)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Moves everything in the write-ahead log into the database and empties the log
    /// file, so that pages a deletion overwrote survive in neither.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Runs `f` in one write transaction: all of it is stored, or none.
    pub fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&Writer<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let span = tracing::debug_span!("store.write");
        let _enter = span.enter();
        let tx = self.conn.transaction().map_err(StoreError::from)?;
        let writer = Writer {
            tx,
            written: Cell::new(Written::default()),
        };
        let value = f(&writer)?;
        let written = writer.written.get();
        writer.tx.commit().map_err(StoreError::from)?;
        self.written.add(written);
        Ok(value)
    }

    /// What committed writes stored since the last call: how a vault tells its
    /// shells that something changed, whatever wrote it.
    pub fn take_written(&mut self) -> Written {
        std::mem::take(&mut self.written)
    }
}

/// What writes stored: incidents whose projection was written (an incident added,
/// edited, merged or synced) and membership entries that were new.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Incidents written (one per projection written, so an incident written twice
    /// in one transaction counts twice; writers write each one once).
    pub incidents: u64,
    /// Membership entries new to the log.
    pub members: u64,
}

impl Written {
    fn add(&mut self, other: Written) {
        self.incidents += other.incidents;
        self.members += other.members;
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        *self == Written::default()
    }
}

/// Writes within one transaction; see [`Store::write`].
pub struct Writer<'a> {
    tx: Transaction<'a>,
    /// Counted as it goes, added to the store's once the transaction commits.
    written: Cell<Written>,
}

impl Writer<'_> {
    /// Stores an incident's new changes and its projection, together: the one way a
    /// vault writes a change (adding, editing, importing, merging, resealing and the
    /// inbox all come here), so no change reaches the log without its incident's
    /// projection, and every write is counted for change events. `changes` may be
    /// empty: a draft's projection, or one rebuilt from the log. Returns how many of
    /// the changes were new.
    pub fn record<'c>(
        &self,
        changes: impl IntoIterator<Item = &'c SignedChange>,
        summary: &Summary,
    ) -> Result<u64> {
        let mut new = 0;
        for change in changes {
            new += u64::from(self.insert_change(change)?);
        }
        projection::put(&self.tx, summary)?;
        self.count(Written {
            incidents: 1,
            members: 0,
        });
        Ok(new)
    }

    /// Appends a change to the log alone, without its projection; returns false if it
    /// was already there. For tools and tests that build a log by hand: a vault
    /// writes through [`Writer::record`].
    pub fn insert_change(&self, change: &SignedChange) -> Result<bool> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO changes (hash, incident, bytes, author, signature, time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (hash) DO NOTHING",
        )?;
        Ok(stmt.execute(params![
            change.hash,
            change.incident.to_bytes(),
            change.bytes,
            change.author,
            change.signature,
            change.time
        ])? == 1)
    }

    /// Signs a change written by version 1.
    pub fn sign_change(
        &self,
        seq_no: i64,
        author: &[u8; 32],
        signature: &[u8; 64],
        time: i64,
    ) -> Result<()> {
        self.tx.execute(
            "UPDATE changes SET author = ?2, signature = ?3, time = ?4 WHERE seq_no = ?1",
            params![seq_no, author, signature, time],
        )?;
        Ok(())
    }

    /// Appends an entry to the membership log; returns false if it was already there.
    pub fn insert_member_entry(&self, entry: &MemberEntryRow) -> Result<bool> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO members (hash, time, bytes, signature) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (hash) DO NOTHING",
        )?;
        let new = stmt.execute(params![
            entry.hash,
            entry.time,
            entry.bytes,
            entry.signature
        ])? == 1;
        if new {
            self.count(Written {
                incidents: 0,
                members: 1,
            });
        }
        Ok(new)
    }

    fn count(&self, more: Written) {
        let mut written = self.written.get();
        written.add(more);
        self.written.set(written);
    }

    /// Records that `device` holds the change log up to `changes_seq` (never moves
    /// backwards).
    pub fn set_peer_position(&self, device: &[u8; 32], changes_seq: i64, now: i64) -> Result<()> {
        self.tx.execute(
            "INSERT INTO peers (device, changes_seq, synced_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (device) DO UPDATE SET
                 changes_seq = max(changes_seq, excluded.changes_seq), synced_at = excluded.synced_at",
            params![device, changes_seq, now],
        )?;
        Ok(())
    }

    /// Records an invitation by the hash of its secret.
    pub fn insert_invite(&self, secret_hash: &[u8; 32], role: &str, expires: i64) -> Result<()> {
        self.tx.execute(
            "INSERT INTO invites (secret_hash, role, expires) VALUES (?1, ?2, ?3)",
            params![secret_hash, role, expires],
        )?;
        Ok(())
    }

    /// Spends an invitation: if one with this secret exists, is unused and has not
    /// expired at `now`, marks it used by `device` and returns its role.
    pub fn redeem_invite(
        &self,
        secret_hash: &[u8; 32],
        device: &[u8; 32],
        now: i64,
    ) -> Result<Option<String>> {
        Ok(self
            .tx
            .query_row(
                "UPDATE invites SET used_by = ?2
                 WHERE secret_hash = ?1 AND used_by IS NULL AND expires > ?3
                 RETURNING role",
                params![secret_hash, device, now],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Stores a draft's body, over any earlier one.
    pub fn put_draft(&self, id: &IncidentId, body: &[u8]) -> Result<()> {
        self.tx.execute(
            "INSERT INTO drafts (id, body) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            params![id.to_bytes(), body],
        )?;
        Ok(())
    }

    /// Deletes a draft (its bytes are overwritten with zeros); false if there was none.
    pub fn delete_draft(&self, id: &IncidentId) -> Result<bool> {
        Ok(self
            .tx
            .execute("DELETE FROM drafts WHERE id = ?1", [id.to_bytes()])?
            > 0)
    }

    /// Sets a metadata value.
    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<()> {
        self.tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Records a device caught equivocating; false if it was already.
    pub fn record_equivocation(&self, e: &Equivocation) -> Result<bool> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO equivocations (author, incident, seq, seen_at)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        let seq = i64::try_from(e.seq).unwrap_or(i64::MAX);
        Ok(stmt.execute(params![e.author, e.incident.to_bytes(), seq, e.seen_at])? > 0)
    }
}

/// Every query of the vault's database, on whichever connection holds it: the
/// [`Store`] (the one writer's connection), a [`Writer`] (inside its transaction,
/// seeing what it wrote so far) or a [`Reader`] (a read-only connection for lists
/// and reports, which never waits behind a write). One definition each, so the
/// three cannot drift apart.
pub trait StoreRead: sealed::Connected {
    /// Bytes each table and index takes in the database file (whole pages, unused
    /// space included), largest first: where a vault's size goes.
    fn space(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.connection().prepare(
            "SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, bytes) = row?;
            out.push((name, u64::try_from(bytes).unwrap_or(0)));
        }
        Ok(out)
    }

    /// A draft's stored body.
    fn draft(&self, id: &IncidentId) -> Result<Option<Vec<u8>>> {
        draft(self.connection(), id)
    }

    /// Every draft's stored body.
    fn drafts(&self) -> Result<Vec<Vec<u8>>> {
        let mut stmt = self
            .connection()
            .prepare("SELECT body FROM drafts ORDER BY id")?;
        let rows = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// A value from the vault's metadata.
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        meta_get(self.connection(), key)
    }

    /// The bytes of every change of one incident.
    fn changes_of(&self, incident: &IncidentId) -> Result<Vec<Vec<u8>>> {
        changes_of(self.connection(), incident)
    }

    /// Every item that set reconciliation compares, changes and membership entries
    /// alike: (timestamp, hash). Membership entries count as time 0, so that they
    /// come first and travel before the changes they are needed to judge. Reads an
    /// index only: no change bytes, no document.
    fn sync_items(&self) -> Result<Vec<(i64, [u8; 32])>> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT time, hash FROM changes INDEXED BY changes_by_time
             UNION ALL SELECT 0, hash FROM members",
        )?;
        let items = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(items)
    }

    /// The stored changes among `hashes`, in the order they were stored (so every
    /// change comes after the changes it depends on); unknown hashes are skipped.
    fn signed_changes(&self, hashes: &[[u8; 32]]) -> Result<Vec<SignedChange>> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT seq_no, incident, hash, bytes, author, signature, time FROM changes
             WHERE hash = ?1 AND signature IS NOT NULL",
        )?;
        let mut found = Vec::with_capacity(hashes.len());
        for hash in hashes {
            let row = stmt.query_row([hash], signed_row).optional()?;
            found.extend(row);
        }
        found.sort_by_key(|(seq_no, _)| *seq_no);
        Ok(found.into_iter().map(|(_, change)| change).collect())
    }

    /// The hashes of the stored changes among `hashes`, in the order they were
    /// stored, without their bytes: what a sender reads batch by batch later with
    /// [`Self::signed_changes`]. Unknown hashes are skipped.
    fn in_store_order(&self, hashes: &[[u8; 32]]) -> Result<Vec<[u8; 32]>> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT seq_no FROM changes WHERE hash = ?1 AND signature IS NOT NULL",
        )?;
        let mut found = Vec::with_capacity(hashes.len());
        for hash in hashes {
            let seq_no: Option<i64> = stmt.query_row([hash], |r| r.get(0)).optional()?;
            found.extend(seq_no.map(|s| (s, *hash)));
        }
        found.sort_unstable_by_key(|(seq_no, _)| *seq_no);
        Ok(found.into_iter().map(|(_, hash)| hash).collect())
    }

    /// The newest row of the change log (0 when empty).
    fn log_position(&self) -> Result<i64> {
        Ok(self
            .connection()
            .query_row("SELECT ifnull(max(seq_no), 0) FROM changes", [], |r| {
                r.get(0)
            })?)
    }

    /// A number that changes when another connection to the file (another process,
    /// or another `Store` on it) commits; this store's own commits leave it as it is.
    /// One `PRAGMA data_version`, cheap enough to ask before every decision that must
    /// see what others wrote.
    fn data_version(&self) -> Result<i64> {
        Ok(self
            .connection()
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// How far `device` is known to hold the change log (0 if never synced).
    fn peer_position(&self, device: &[u8; 32]) -> Result<i64> {
        Ok(self
            .connection()
            .query_row(
                "SELECT changes_seq FROM peers WHERE device = ?1",
                [device],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// Signed changes stored after `position` in the log, oldest first, at most
    /// `limit`; with the position of the last one returned.
    fn signed_changes_after(&self, position: i64, limit: u32) -> Result<(Vec<SignedChange>, i64)> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT seq_no, incident, hash, bytes, author, signature, time FROM changes
             WHERE seq_no > ?1 AND signature IS NOT NULL ORDER BY seq_no LIMIT ?2",
        )?;
        let mut last = position;
        let rows = stmt
            .query_map(params![position, limit], signed_row)?
            .map(|row| {
                row.map(|(seq_no, change)| {
                    last = seq_no;
                    change
                })
            })
            .collect::<rusqlite::Result<_>>()?;
        Ok((rows, last))
    }

    /// Changes still unsigned, written by version 1.
    fn unsigned_changes(&self) -> Result<Vec<UnsignedChange>> {
        let mut stmt = self.connection().prepare(
            "SELECT seq_no, incident, bytes FROM changes WHERE signature IS NULL ORDER BY seq_no",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(UnsignedChange {
                    seq_no: r.get(0)?,
                    incident: IncidentId::from_bytes(r.get(1)?),
                    bytes: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The whole membership log, oldest first.
    fn member_entries(&self) -> Result<Vec<MemberEntryRow>> {
        let mut stmt = self
            .connection()
            .prepare_cached("SELECT hash, time, bytes, signature FROM members ORDER BY seq_no")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(MemberEntryRow {
                    hash: r.get(0)?,
                    time: r.get(1)?,
                    bytes: r.get(2)?,
                    signature: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Who signed each stored change of an incident: hash and signer (`None` for a
    /// change from before changes were signed).
    fn signers_of(&self, incident: &IncidentId) -> Result<Vec<Signed>> {
        let mut stmt = self
            .connection()
            .prepare_cached("SELECT hash, author FROM changes WHERE incident = ?1")?;
        let rows = stmt
            .query_map([incident.to_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Devices caught equivocating, oldest first.
    fn equivocations(&self) -> Result<Vec<Equivocation>> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT author, incident, seq, seen_at FROM equivocations ORDER BY seen_at, author",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Equivocation {
                    author: r.get(0)?,
                    incident: IncidentId::from_bytes(r.get(1)?),
                    seq: r.get::<_, i64>(2)?.max(0) as u64,
                    seen_at: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Whether a change is stored.
    fn has_change(&self, hash: &[u8; 32]) -> Result<bool> {
        let mut stmt = self
            .connection()
            .prepare_cached("SELECT 1 FROM changes WHERE hash = ?1")?;
        Ok(stmt.exists([hash])?)
    }

    /// Every incident id in the change log, whatever its projection says.
    fn incident_ids(&self) -> Result<Vec<IncidentId>> {
        let mut stmt = self
            .connection()
            .prepare("SELECT DISTINCT incident FROM changes ORDER BY incident")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, [u8; 16]>(0))?
            .map(|r| r.map(IncidentId::from_bytes))
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Ids of incidents whose id, as 32 hex digits, starts with `hex_prefix`.
    fn ids_with_prefix(&self, hex_prefix: &str, limit: u32) -> Result<Vec<IncidentId>> {
        let pattern = format!("{}%", hex_prefix.to_uppercase());
        let mut stmt = self
            .connection()
            .prepare_cached("SELECT id FROM incidents WHERE hex(id) LIKE ?1 LIMIT ?2")?;
        let ids = stmt
            .query_map(params![pattern, limit], |r| r.get::<_, [u8; 16]>(0))?
            .map(|r| r.map(IncidentId::from_bytes))
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Counts of stored things: (incidents, changes).
    fn counts(&self) -> Result<(u64, u64)> {
        Ok(self.connection().query_row(
            "SELECT (SELECT count(*) FROM incidents), (SELECT count(*) FROM changes)",
            [],
            |r| {
                let count = |i| r.get::<_, i64>(i).map(|n| u64::try_from(n).unwrap_or(0));
                Ok((count(0)?, count(1)?))
            },
        )?)
    }

    /// Incident summaries matching `filter`, newest first, from the projections.
    fn list(&self, filter: &ListFilter) -> Result<Vec<Summary>> {
        projection::list(self.connection(), filter)
    }

    /// The summary of one incident.
    fn summary(&self, id: &IncidentId) -> Result<Option<Summary>> {
        projection::summary(self.connection(), id)
    }

    /// Summaries of every incident with one of `statuses`, with their name keys, for
    /// counting.
    fn summaries_with_names(&self, statuses: &[Status]) -> Result<Vec<Summary>> {
        projection::summaries_with_names(self.connection(), statuses)
    }

    /// Summaries of every incident with one of `statuses`, with their name keys and
    /// what the matcher compares (observer, source, description), for matching.
    fn summaries_for_matching(&self, statuses: &[Status]) -> Result<Vec<Summary>> {
        let mut summaries = projection::summaries_with_names(self.connection(), statuses)?;
        projection::add_texts(self.connection(), &mut summaries)?;
        Ok(summaries)
    }

    /// Every link decision between reports, ordered by pair.
    fn links(&self) -> Result<Vec<vigil_model::Link>> {
        projection::links(self.connection())
    }
    /// The device that signed an incident's first stored change, its creation (a
    /// change is stored only after those it depends on), as this transaction sees
    /// it; `None` for an incident with no change.
    fn creator_of(&self, incident: &IncidentId) -> Result<Option<[u8; 32]>> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT author FROM changes WHERE incident = ?1 ORDER BY seq_no LIMIT 1",
        )?;
        Ok(stmt
            .query_row([incident.to_bytes()], |r| r.get::<_, Option<[u8; 32]>>(0))
            .optional()?
            .flatten())
    }

    /// Whether an incident has any change stored.
    fn has_incident(&self, incident: &IncidentId) -> Result<bool> {
        let mut stmt = self
            .connection()
            .prepare_cached("SELECT 1 FROM changes WHERE incident = ?1 LIMIT 1")?;
        Ok(stmt.exists([incident.to_bytes()])?)
    }
}

mod sealed {
    /// The connection a [`super::StoreRead`] runs on; sealed so that no other
    /// crate runs SQL of its own on a vault.
    pub trait Connected {
        fn connection(&self) -> &rusqlite::Connection;
    }
}

impl sealed::Connected for Store {
    fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl StoreRead for Store {}

impl sealed::Connected for Writer<'_> {
    fn connection(&self) -> &Connection {
        &self.tx
    }
}

impl StoreRead for Writer<'_> {}

/// Hands SQLCipher the raw key and checks that it decrypts the file.
fn decrypt(conn: &Connection, key: &[u8; 32]) -> Result<()> {
    // Allocated once at its size, so wiping it on drop leaves no copy behind.
    let hex = Zeroizing::new(hex::encode(key));
    // Page size and MAC are not in any plaintext header, so they are set on every
    // open. HMAC-SHA256 rather than SQLCipher's default SHA-512: SHA-256 has
    // hardware support on x86 (SHA-NI) and on phones (ARMv8 crypto extensions),
    // which halves the cost of reading a page.
    let pragma = Zeroizing::new(format!(
        "PRAGMA cipher_log_level = NONE; PRAGMA key = \"x'{}'\"; PRAGMA cipher_page_size = {PAGE_SIZE}; PRAGMA cipher_hmac_algorithm = HMAC_SHA256;",
        hex.as_str()
    ));
    conn.execute_batch(&pragma)?;
    // The first read decrypts page 1: a wrong key, or a file that is not an
    // SQLCipher database, fails here.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|_| StoreError::NotDecryptable)?;
    Ok(())
}

/// A read-only connection to a vault's database, beside its [`Store`]: lists,
/// searches and reports run on it and see the last committed state, so they never
/// wait behind a long write (an import, a sync batch) on the writer's connection.
pub struct Reader {
    conn: Connection,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").finish_non_exhaustive()
    }
}

impl Reader {
    /// Opens a read-only connection to the vault database at `path`, which a
    /// [`Store`] created or opened (and so migrated) first.
    pub fn open(path: &Path, key: &[u8; 32]) -> Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        decrypt(&conn, key)?;
        // Temporary tables of large sorts stay in memory, as on the writer's side;
        // the cache is smaller: lists read the projections, not the change log.
        conn.execute_batch(
            "PRAGMA temp_store = MEMORY;
             PRAGMA query_only = ON;
             PRAGMA busy_timeout = 5000;
             PRAGMA cache_size = -4096;",
        )?;
        Ok(Self { conn })
    }
}

impl sealed::Connected for Reader {
    fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl StoreRead for Reader {}

/// Reads `seq_no, incident, hash, bytes, author, signature, time`.
fn signed_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, SignedChange)> {
    Ok((
        r.get(0)?,
        SignedChange {
            incident: IncidentId::from_bytes(r.get(1)?),
            hash: r.get(2)?,
            bytes: r.get(3)?,
            author: r.get(4)?,
            signature: r.get(5)?,
            time: r.get(6)?,
        },
    ))
}

fn meta_get(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn draft(conn: &Connection, id: &IncidentId) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row(
            "SELECT body FROM drafts WHERE id = ?1",
            [id.to_bytes()],
            |r| r.get(0),
        )
        .optional()?)
}

fn changes_of(conn: &Connection, incident: &IncidentId) -> Result<Vec<Vec<u8>>> {
    let mut stmt =
        conn.prepare_cached("SELECT bytes FROM changes WHERE incident = ?1 ORDER BY seq_no")?;
    let rows = stmt
        .query_map([incident.to_bytes()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests;
