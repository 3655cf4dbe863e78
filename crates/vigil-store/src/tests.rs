use std::path::Path;

use rusqlite::Connection;
use vigil_model::{Incident, Status, Summary};

use super::*;

const KEY: [u8; 32] = [7; 32];

fn summary(city: &str, names: &[&str]) -> Summary {
    Summary {
        city: city.into(),
        named: names.iter().map(|n| vigil_model::name_key(n)).collect(),
        ..Incident::example().summary()
    }
}

fn change(hash: u8, incident: &IncidentId, bytes: &[u8]) -> SignedChange {
    SignedChange {
        incident: incident.clone(),
        hash: [hash; 32],
        bytes: bytes.to_vec(),
        author: [9; 32],
        signature: [8; 64],
        time: 1_700_000_000,
    }
}

fn schema(conn: &Connection) -> Vec<(String, String)> {
    let mut stmt = conn
        .prepare("SELECT name, ifnull(sql, '') FROM sqlite_master ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn raw_files(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        all.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    all
}

#[test]
fn a_written_summary_reads_back_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let s = summary("Almaty", &["Aibek Sadykov"]);
    {
        let mut store = Store::create(&path, &KEY).unwrap();
        store
            .write(|w| {
                w.insert_change(&change(1, &s.id, b"change"))?;
                w.record(&[], &s)
            })
            .unwrap();
    }
    let store = Store::open(&path, &KEY).unwrap();
    // A listing's summary leaves the texts out; matching reads them back.
    let listed = Summary {
        description: String::new(),
        ..s.clone()
    };
    assert_eq!(store.summary(&s.id).unwrap().unwrap(), listed);
    let matched = store.summaries_for_matching(&[Status::Submitted]).unwrap();
    assert_eq!(matched, vec![s.clone()]);
    assert_eq!(store.changes_of(&s.id).unwrap(), vec![b"change".to_vec()]);
    assert_eq!(store.counts().unwrap(), (1, 1));
}

#[test]
fn a_failed_write_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(&dir.path().join("vault.db"), &KEY).unwrap();
    let s = summary("Almaty", &[]);
    let result: Result<()> = store.write(|w| {
        w.record(&[], &s)?;
        Err(StoreError::Damaged("stop".into()))
    });
    assert!(result.is_err());
    assert_eq!(store.counts().unwrap(), (0, 0));
}

#[test]
fn rewriting_a_summary_replaces_its_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(&dir.path().join("vault.db"), &KEY).unwrap();
    let mut s = summary("Almaty", &["Aibek Sadykov", "Aidar Omarov"]);
    store.write(|w| w.record(&[], &s)).unwrap();
    s.named = vec![vigil_model::name_key("Serik Abenov")];
    store.write(|w| w.record(&[], &s)).unwrap();
    let all = store.summaries_with_names(&[Status::Submitted]).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].named, s.named);
}

#[test]
fn listing_filters_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(&dir.path().join("vault.db"), &KEY).unwrap();
    store
        .write(|w| {
            for i in 0..10 {
                w.record(
                    &[],
                    &summary(if i % 2 == 0 { "Almaty" } else { "Astana" }, &[]),
                )?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let filter = ListFilter {
        city: Some("Astana".into()),
        limit: Some(3),
        ..ListFilter::default()
    };
    let page = store.list(&filter).unwrap();
    assert_eq!(page.len(), 3);
    assert!(page.iter().all(|s| s.city == "Astana"));
    assert_eq!(
        store
            .list(&ListFilter {
                status: Some(Status::Draft),
                ..ListFilter::default()
            })
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn a_wrong_key_or_a_foreign_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    drop(Store::create(&path, &KEY).unwrap());
    assert!(matches!(
        Store::open(&path, &[8; 32]),
        Err(StoreError::NotDecryptable)
    ));

    let plain = dir.path().join("plain.db");
    Connection::open(&plain)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    assert!(matches!(
        Store::open(&plain, &KEY),
        Err(StoreError::NotDecryptable)
    ));

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is a shopping list, not a vault").unwrap();
    assert!(matches!(
        Store::open(&junk, &KEY),
        Err(StoreError::NotDecryptable)
    ));
    assert_eq!(
        std::fs::read(&junk).unwrap(),
        b"this is a shopping list, not a vault",
        "a refused file is left as it was"
    );
}

#[test]
fn every_migration_path_gives_the_fresh_schema() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = Store::create(&dir.path().join("fresh.db"), &KEY).unwrap();
    let expected = schema(&fresh.conn);
    for old_version in 1..SCHEMA_VERSION as usize {
        let path = dir.path().join(format!("v{old_version}.db"));
        {
            let mut old = Store::create(&path, &KEY).unwrap();
            // Build the old file by hand: drop everything, replay only the old steps.
            let tx = old.conn.transaction().unwrap();
            for (name, _) in schema(&tx) {
                let _ = tx.execute_batch(&format!("DROP TABLE IF EXISTS \"{name}\""));
            }
            migrations::upgrade_to(&tx, old_version).unwrap();
            tx.commit().unwrap();
        }
        let upgraded = Store::open(&path, &KEY).unwrap();
        assert_eq!(
            schema(&upgraded.conn),
            expected,
            "upgrade from v{old_version}"
        );
    }
    // An empty encrypted database (version 0) is not a vault.
    let path = dir.path().join("v0.db");
    {
        let conn = Connection::open(&path).unwrap();
        Store::unlock(conn, &KEY).unwrap();
    }
    assert!(matches!(
        Store::open(&path, &KEY),
        Err(StoreError::NotAVault)
    ));
}

#[test]
fn a_newer_vault_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    {
        let store = Store::create(&path, &KEY).unwrap();
        store.conn.pragma_update(None, "user_version", 99).unwrap();
    }
    assert!(matches!(
        Store::open(&path, &KEY),
        Err(StoreError::NewerSchema(99))
    ));
}

#[test]
fn raw_files_hold_no_stored_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let mut store = Store::create(&path, &KEY).unwrap();
    let s = summary("Zhezkazgan", &["Dinara Myrzakhmetova"]);
    store
        .write(|w| {
            w.insert_change(&change(2, &s.id, b"Detained near the akimat"))?;
            w.record(&[], &s)
        })
        .unwrap();
    // Still open: the WAL holds the recent pages.
    let raw = raw_files(dir.path());
    for needle in [
        &b"Zhezkazgan"[..],
        b"myrzakhmetova",
        b"akimat",
        b"arbitrary_detention",
    ] {
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle),
            "found {:?} in the raw files",
            String::from_utf8_lossy(needle)
        );
    }
}

#[test]
fn changes_written_by_version_1_survive_the_upgrade_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let id = Incident::example().id;
    {
        let mut old = Store::create(&path, &KEY).unwrap();
        let tx = old.conn.transaction().unwrap();
        for (name, _) in schema(&tx) {
            let _ = tx.execute_batch(&format!("DROP TABLE IF EXISTS \"{name}\""));
        }
        migrations::upgrade_to(&tx, 1).unwrap();
        tx.execute(
            "INSERT INTO changes (hash, incident, bytes) VALUES (?1, ?2, ?3)",
            params![[3u8; 32], id.to_bytes(), b"old change"],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let mut store = Store::open(&path, &KEY).unwrap();
    let unsigned = store.unsigned_changes().unwrap();
    assert_eq!(unsigned.len(), 1);
    assert_eq!(unsigned[0].bytes, b"old change");
    assert!(store.signed_changes(&[[3; 32]]).unwrap().is_empty());
    store
        .write(|w| w.sign_change(unsigned[0].seq_no, &[9; 32], &[8; 64], 1_700_000_000))
        .unwrap();
    assert!(store.unsigned_changes().unwrap().is_empty());
    let signed = store.signed_changes(&[[3; 32], [4; 32]]).unwrap();
    assert_eq!(
        signed,
        vec![SignedChange {
            hash: [3; 32],
            ..change(3, &id, b"old change")
        }]
    );
    assert_eq!(store.sync_items().unwrap(), vec![(1_700_000_000, [3; 32])]);
}

#[test]
fn an_invitation_works_once_and_not_after_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(&dir.path().join("vault.db"), &KEY).unwrap();
    store
        .write(|w| {
            w.insert_invite(&[1; 32], "observer", 2_000)?;
            w.insert_invite(&[2; 32], "observer", 1_000)
        })
        .unwrap();
    let redeem = |store: &mut Store, secret: u8, now: i64| {
        store
            .write(|w| w.redeem_invite(&[secret; 32], &[5; 32], now))
            .unwrap()
    };
    assert_eq!(redeem(&mut store, 2, 1_500), None, "expired");
    assert_eq!(redeem(&mut store, 7, 1_500), None, "unknown");
    assert_eq!(redeem(&mut store, 1, 1_500).as_deref(), Some("observer"));
    assert_eq!(redeem(&mut store, 1, 1_500), None, "used");
}

#[test]
fn data_version_moves_for_commits_by_other_connections_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let mut serving = Store::create(&path, &KEY).unwrap();
    let mut other = Store::open(&path, &KEY).unwrap();
    let seen = serving.data_version().unwrap();
    assert_eq!(serving.data_version().unwrap(), seen, "nothing was written");
    serving.write(|w| w.set_meta("mine", b"1")).unwrap();
    assert_eq!(serving.data_version().unwrap(), seen, "its own commit");
    other.write(|w| w.set_meta("theirs", b"1")).unwrap();
    let moved = serving.data_version().unwrap();
    assert_ne!(moved, seen, "another connection's commit");
    assert_eq!(serving.data_version().unwrap(), moved, "asked again");
}

#[test]
fn the_reader_answers_while_a_write_is_open_and_sees_it_once_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let mut store = Store::create(&path, &KEY).unwrap();
    let first = summary("Almaty", &[]);
    store.write(|w| w.record(&[], &first)).unwrap();
    let reader = Reader::open(&path, &KEY).unwrap();
    let second = summary("Astana", &[]);
    store
        .write(|w| {
            w.record(&[], &second)?;
            // Mid-transaction, from the reader: no wait, and only what was committed.
            let listed = reader.list(&ListFilter::default())?;
            assert_eq!(listed.len(), 1);
            assert_eq!(listed[0].city, "Almaty");
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(reader.list(&ListFilter::default()).unwrap().len(), 2);
}

#[test]
fn the_reader_writes_nothing_and_needs_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    drop(Store::create(&path, &KEY).unwrap());
    assert!(Reader::open(&path, &[1; 32]).is_err());
    let reader = Reader::open(&path, &KEY).unwrap();
    let refused = sealed::Connected::connection(&reader)
        .execute("DELETE FROM incidents", [])
        .is_err();
    assert!(refused, "a read-only connection");
}

#[test]
fn committed_writes_are_counted_and_rolled_back_ones_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(&dir.path().join("vault.db"), &KEY).unwrap();
    let s = summary("Almaty", &[]);
    store.write(|w| w.record(&[], &s)).unwrap();
    let failed: std::result::Result<(), StoreError> = store.write(|w| {
        w.record(&[], &summary("Astana", &[]))?;
        Err(StoreError::NotAVault)
    });
    assert!(failed.is_err());
    assert_eq!(
        store.take_written(),
        Written {
            incidents: 1,
            members: 0
        }
    );
    assert!(store.take_written().is_empty(), "taken once");
}
