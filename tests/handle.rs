//! The vault as shells hold it, a `VaultHandle`: reads that do not wait behind a long
//! write, change events whatever made the change, and a wipe that does not wait for
//! a call under way.

#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vigil_core::{
    ChangeSource, Format, ImportMode, Incident, IncidentId, KdfParams, ListFilter, Status,
    VaultError, VaultEvent, VaultHandle,
};

const PASS: &[u8] = b"handle test";
const FAST: KdfParams = KdfParams {
    memory_kib: 8 * 1024,
    iterations: 1,
    lanes: 1,
};

/// A partner file that stops halfway: it hands out its first part, says so on
/// `reached`, and gives the rest only once `release` says so. An import reading it
/// holds the vault, inside its transaction, for as long as the test likes.
struct StallingFile {
    first: std::io::Cursor<Vec<u8>>,
    rest: std::io::Cursor<Vec<u8>>,
    reached: mpsc::Sender<()>,
    release: mpsc::Receiver<()>,
    stalled: bool,
}

impl Read for StallingFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.first.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        if !self.stalled {
            self.stalled = true;
            let _ = self.reached.send(());
            let _ = self.release.recv();
        }
        self.rest.read(buf)
    }
}

/// An import of `lines` on its own thread, stalled inside its transaction after the
/// first `cut` bytes until the returned sender says go; returns once it stalled.
fn stalled_import(
    vault: &VaultHandle,
    lines: &str,
    cut: usize,
) -> (
    std::thread::JoinHandle<Result<vigil_core::ImportOutcome, VaultError>>,
    mpsc::Sender<()>,
) {
    let (reached_tx, reached) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let file = StallingFile {
        first: std::io::Cursor::new(lines.as_bytes()[..cut].to_vec()),
        rest: std::io::Cursor::new(lines.as_bytes()[cut..].to_vec()),
        reached: reached_tx,
        release: release_rx,
        stalled: false,
    };
    let importer = vault.clone();
    let import = std::thread::spawn(move || {
        importer
            .lock_for(ChangeSource::File)?
            .import(file, Format::Jsonl, ImportMode::AllOrNothing)
    });
    reached.recv_timeout(Duration::from_secs(60)).unwrap();
    (import, release)
}

fn submitted() -> Incident {
    let mut incident = Incident::example();
    incident.id = IncidentId::random();
    incident.status = Status::Submitted;
    incident
}

#[test]
fn a_listing_answers_while_a_long_import_holds_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let vault = VaultHandle::create(&dir.path().join("vault"), PASS, Some(FAST)).unwrap();
    vault.lock().unwrap().add(&submitted()).unwrap();
    let before = vault.report(&[]).unwrap().to_json();

    let scenario = vigil_scenario::generate(7, 1);
    let lines = scenario.to_jsonl();
    let half = lines.len() / 2;
    let cut = half + lines[half..].find('\n').unwrap() + 1;
    let (import, release) = stalled_import(&vault, &lines, cut);

    // The import holds the vault and its open transaction, halfway through the file.
    let listed = vault.list(&ListFilter::default()).unwrap();
    assert_eq!(
        listed.len(),
        1,
        "what was committed, none of the half import"
    );
    assert_eq!(vault.report(&[]).unwrap().to_json(), before);

    release.send(()).unwrap();
    let outcome = import.join().unwrap().unwrap();
    assert_eq!(outcome.added as usize, scenario.reports.len());
    let listed = vault.list(&ListFilter::default()).unwrap();
    assert_eq!(listed.len(), 1 + scenario.reports.len());
}

#[test]
fn subscribers_hear_what_each_call_stored_and_where_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let vault = VaultHandle::create(&dir.path().join("vault"), PASS, Some(FAST)).unwrap();
    let heard: Arc<Mutex<Vec<VaultEvent>>> = Arc::default();
    let recorder = Arc::clone(&heard);
    let reader = vault.clone();
    vault.subscribe(move |event| {
        // Told after the vault is unlocked: a subscriber may read it.
        let listed = reader.lock().unwrap().list(&ListFilter::default()).unwrap();
        assert!(!listed.is_empty() || event.incidents == 0);
        recorder.lock().unwrap().push(*event);
    });

    let id = vault.lock().unwrap().add(&Incident::example()).unwrap();
    let unchanged = vault.lock().unwrap().edit(&id, |_| Ok(())).unwrap();
    assert!(!unchanged);
    vault.lock().unwrap().info().unwrap();
    let lines = vigil_scenario::generate(3, 1).to_jsonl();
    let outcome = vault
        .lock_for(ChangeSource::File)
        .unwrap()
        .import(lines.as_bytes(), Format::Jsonl, ImportMode::AllOrNothing)
        .unwrap();
    vault.lock().unwrap().create_team("hq").unwrap();

    let heard = heard.lock().unwrap().clone();
    assert_eq!(
        heard,
        vec![
            VaultEvent {
                source: ChangeSource::Local,
                incidents: 1,
                members: 0
            },
            VaultEvent {
                source: ChangeSource::File,
                incidents: outcome.added,
                members: 0
            },
            VaultEvent {
                source: ChangeSource::Local,
                incidents: 0,
                members: 1
            },
        ],
        "one event per call that stored something; reads and no-op edits are silent"
    );
}

#[test]
fn a_refused_import_tells_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let vault = VaultHandle::create(&dir.path().join("vault"), PASS, Some(FAST)).unwrap();
    let heard: Arc<Mutex<u32>> = Arc::default();
    let counter = Arc::clone(&heard);
    vault.subscribe(move |_| *counter.lock().unwrap() += 1);
    let mut lines = vigil_scenario::generate(3, 1).to_jsonl();
    lines.push_str("{\"not\": \"a report\"}\n");
    let refused = vault.lock_for(ChangeSource::File).unwrap().import(
        lines.as_bytes(),
        Format::Jsonl,
        ImportMode::AllOrNothing,
    );
    assert!(matches!(refused, Err(VaultError::ImportRejected(_))));
    assert_eq!(*heard.lock().unwrap(), 0);
    assert!(vault.list(&ListFilter::default()).unwrap().is_empty());
}

#[test]
fn a_wipe_while_a_long_import_holds_the_vault_does_not_wait_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault");
    let vault = VaultHandle::create(&path, PASS, Some(FAST)).unwrap();
    let mut marked = submitted();
    marked.personal.description = "MARKER-handle-wipe".into();
    vault.lock().unwrap().add(&marked).unwrap();

    let lines = vigil_scenario::generate(5, 1).to_jsonl();
    let cut = lines.find('\n').unwrap() + 1;
    let (import, release) = stalled_import(&vault, &lines, cut);

    vault.wipe().unwrap();
    assert!(vault.is_wiped());
    assert!(matches!(vault.lock(), Err(VaultError::Wiped)));
    assert!(matches!(
        vault.list(&ListFilter::default()),
        Err(VaultError::Wiped)
    ));
    release.send(()).unwrap();
    let _ = import.join().unwrap();
    assert!(matches!(vault.lock(), Err(VaultError::Wiped)));

    for entry in std::fs::read_dir(&path).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(10).any(|w| w == b"MARKER-han"),
            "nothing of the vault is left readable"
        );
    }
    let reopened = VaultHandle::open(&path, PASS).unwrap();
    assert!(reopened.list(&ListFilter::default()).unwrap().is_empty());
}

#[test]
fn a_wipe_does_not_wait_for_a_start_of_serving_stuck_behind_an_import() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault");
    let vault = VaultHandle::create(&path, PASS, Some(FAST)).unwrap();
    vault.lock().unwrap().create_team("hq").unwrap();
    let lines = vigil_scenario::generate(9, 1).to_jsonl();
    let cut = lines.find('\n').unwrap() + 1;
    let (import, release) = stalled_import(&vault, &lines, cut);

    // Serving binds a node, which reads the vault: it waits behind the import.
    let server = vault.clone();
    let serving = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let _inside = runtime.enter();
        server.start_serving("127.0.0.1:0".parse().unwrap())
    });
    std::thread::sleep(Duration::from_millis(200));

    // The panic button, pressed now, returns at once.
    let wiper = vault.clone();
    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || done_tx.send(wiper.wipe()).unwrap());
    done.recv_timeout(Duration::from_secs(10))
        .expect("the wipe waits for nobody")
        .unwrap();
    assert!(vault.is_wiped());

    release.send(()).unwrap();
    let _ = import.join().unwrap();
    assert!(
        serving.join().unwrap().is_err(),
        "a vault wiped meanwhile does not start serving"
    );
    assert!(vault.serving_node().is_none());
}

/// The writer's connection closes last, which checkpoints the write-ahead log into
/// the database and deletes it: a closed vault is its two files, however it was
/// held (a read-only connection that closed last could do neither).
#[test]
fn a_closed_vault_is_two_files_however_it_was_held() {
    fn files(path: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault");
    let lines = vigil_scenario::generate(11, 1).to_jsonl();
    {
        let vault = VaultHandle::create(&path, PASS, Some(FAST)).unwrap();
        vault
            .lock_for(ChangeSource::File)
            .unwrap()
            .import(lines.as_bytes(), Format::Jsonl, ImportMode::AllOrNothing)
            .unwrap();
        assert!(!vault.list(&ListFilter::default()).unwrap().is_empty());
    }
    assert_eq!(files(&path), ["vault.db", "vault.key"]);
    {
        let mut vault = vigil_core::Vault::open(&path, PASS).unwrap();
        vault.add(&submitted()).unwrap();
    }
    assert_eq!(files(&path), ["vault.db", "vault.key"]);
}
