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
//!   committed write survives power loss.

mod migrations;
mod projection;

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use vigil_model::{IncidentId, Status, Summary};
use zeroize::Zeroizing;

pub use migrations::SCHEMA_VERSION;
pub use projection::ListFilter;

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
        let hex: Zeroizing<String> =
            Zeroizing::new(key.iter().map(|b| format!("{b:02x}")).collect());
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
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA temp_store = MEMORY;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;
             PRAGMA cache_size = -16384;",
        )?;
        Ok(Self { conn })
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

    /// Runs `f` in one write transaction: all of it is stored, or none.
    pub fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&Writer<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let span = tracing::debug_span!("store.write");
        let _enter = span.enter();
        let tx = self.conn.transaction().map_err(StoreError::from)?;
        let writer = Writer { tx };
        let value = f(&writer)?;
        writer.tx.commit().map_err(StoreError::from)?;
        Ok(value)
    }

    /// A value from the vault's metadata.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        meta_get(&self.conn, key)
    }

    /// The bytes of every change of one incident.
    pub fn changes_of(&self, incident: &IncidentId) -> Result<Vec<Vec<u8>>> {
        changes_of(&self.conn, incident)
    }

    /// Whether a change is stored.
    pub fn has_change(&self, hash: &[u8; 32]) -> Result<bool> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM changes WHERE hash = ?1")?;
        Ok(stmt.exists([hash])?)
    }

    /// Every incident id in the change log, whatever its projection says.
    pub fn incident_ids(&self) -> Result<Vec<IncidentId>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT incident FROM changes ORDER BY incident")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, [u8; 16]>(0))?
            .map(|r| r.map(IncidentId::from_bytes))
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Ids of incidents whose id, as 32 hex digits, starts with `hex_prefix`.
    pub fn ids_with_prefix(&self, hex_prefix: &str, limit: u32) -> Result<Vec<IncidentId>> {
        let pattern = format!("{}%", hex_prefix.to_uppercase());
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM incidents WHERE hex(id) LIKE ?1 LIMIT ?2")?;
        let ids = stmt
            .query_map(params![pattern, limit], |r| r.get::<_, [u8; 16]>(0))?
            .map(|r| r.map(IncidentId::from_bytes))
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Counts of stored things: (incidents, changes).
    pub fn counts(&self) -> Result<(u64, u64)> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM incidents), (SELECT count(*) FROM changes)",
            [],
            |r| {
                let count = |i| r.get::<_, i64>(i).map(|n| u64::try_from(n).unwrap_or(0));
                Ok((count(0)?, count(1)?))
            },
        )?)
    }

    /// Incident summaries matching `filter`, newest first, from the projections.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Summary>> {
        projection::list(&self.conn, filter)
    }

    /// The summary of one incident.
    pub fn summary(&self, id: &IncidentId) -> Result<Option<Summary>> {
        projection::summary(&self.conn, id)
    }

    /// Summaries of every incident with one of `statuses`, with their name keys, for
    /// counting.
    pub fn summaries_with_names(&self, statuses: &[Status]) -> Result<Vec<Summary>> {
        projection::summaries_with_names(&self.conn, statuses)
    }
}

/// Writes within one transaction; see [`Store::write`].
pub struct Writer<'a> {
    tx: Transaction<'a>,
}

impl Writer<'_> {
    /// Appends a change to the log; returns false if it was already there.
    pub fn insert_change(
        &self,
        hash: &[u8; 32],
        incident: &IncidentId,
        bytes: &[u8],
    ) -> Result<bool> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO changes (hash, incident, bytes) VALUES (?1, ?2, ?3) ON CONFLICT (hash) DO NOTHING",
        )?;
        Ok(stmt.execute(params![hash, incident.to_bytes(), bytes])? == 1)
    }

    /// Writes an incident's summary over its projection.
    pub fn put_summary(&self, summary: &Summary) -> Result<()> {
        projection::put(&self.tx, summary)
    }

    /// Sets a metadata value.
    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<()> {
        self.tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// The bytes of every change of one incident, as this transaction sees them.
    pub fn changes_of(&self, incident: &IncidentId) -> Result<Vec<Vec<u8>>> {
        changes_of(&self.tx, incident)
    }

    /// Whether an incident has any change stored, as this transaction sees it.
    pub fn has_incident(&self, incident: &IncidentId) -> Result<bool> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT 1 FROM changes WHERE incident = ?1 LIMIT 1")?;
        Ok(stmt.exists([incident.to_bytes()])?)
    }
}

fn meta_get(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
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
