//! Benchmark of sync between two devices over QUIC on 127.0.0.1: prints figures,
//! asserts nothing.
//!
//! A coordinator imports `--incidents` incidents (10,000 by default, from the
//! generated kz-2021-style campaigns) into a vault with fast key stretching (the
//! benchmark is about sync, not unlocking), and an observer joins its team. Then, beside
//! Vigil's whole-collection sync (range-based set reconciliation over every change hash
//! and membership entry, with the missing signed changes in the same flights), the same incidents go through Automerge's
//! own per-document sync protocol (`automerge::sync::SyncDoc`, one fresh sync state
//! per document pair, messages encoded and decoded as on a wire, run in memory until
//! neither side has anything to say), for:
//!
//! 1. full sync to an empty device: the observer's join, which brings everything;
//!    Vigil's bytes against the bytes of the changes themselves, and the receiving
//!    device's peak memory;
//! 2. already in sync: both sides hold the same incidents;
//! 3. 100 incidents edited on the coordinator (the observer pulls them), and later
//!    100 of its own edited on the observer (it pushes them);
//! 4. 100 reports the observer logged "offline": imported with their own report times,
//!    scattered across the whole campaign among the coordinator's, instead of
//!    gathered at the end as fresh edits are (it pushes them);
//! 5. connection set-up on loopback (QUIC with mutual TLS 1.3 and the admission
//!    check): median and 95th percentile of 50 connections.
//!
//! Each step runs in a child process of its own: the coordinator serves from one
//! (restarted per scenario), the observer syncs from another, so that each side's peak
//! memory (VmHWM) is its own; the Automerge baseline runs in a third, loading one
//! document pair at a time from the two vaults' change logs.
//!
//! ```text
//! cargo run --release --example bench_sync [-- --incidents 10000]
//! ```
//!
//! `RUST_LOG=warn` shows the sessions' warnings (refused changes, say) on stderr.

use std::error::Error;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use automerge::Automerge;
use automerge::sync::{Message, State, SyncDoc};
use vigil_core::{
    Format, ImportMode, Invite, KdfParams, ListFilter, Node, Role, Vault, VaultHandle,
};
use vigil_store::{Store, StoreRead};

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const PASS: &[u8] = b"benchmark passphrase";
/// Fast key stretching: opening a vault must not dominate any step.
const FAST: KdfParams = KdfParams {
    memory_kib: 8 * 1024,
    iterations: 1,
    lanes: 1,
};
/// Incidents edited in the "changed" scenarios.
const EDITED: usize = 100;
/// Connections timed for the set-up figures.
const CONNECTS: usize = 50;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// The vault's database, opened directly (for the baseline and for change sizes).
fn open_store(vault: &Path) -> Result<Store> {
    let envelope = vigil_crypto::KeyEnvelope::from_bytes(&std::fs::read(vault.join("vault.key"))?)?;
    let key = envelope.open(PASS)?;
    Ok(Store::open(&vault.join("vault.db"), key.expose())?)
}

fn localhost() -> Result<SocketAddr> {
    Ok("127.0.0.1:0".parse()?)
}

/// Prints a session's figures as `key=value` lines, each key after `prefix`.
fn print_report(prefix: &str, r: &vigil_core::SyncReport, wall: Duration) {
    let s = &r.stats;
    for (key, value) in [
        ("round_trips", s.round_trips as f64),
        ("frames_sent", s.frames_sent as f64),
        ("frames_received", s.frames_received as f64),
        ("bytes_sent", s.bytes_sent as f64),
        ("bytes_received", s.bytes_received as f64),
        ("changes_sent", s.changes_sent as f64),
        ("changes_received", s.changes_received as f64),
        ("members_sent", s.members_sent as f64),
        ("members_received", s.members_received as f64),
        ("incidents_updated", s.incidents_updated as f64),
        ("refused", s.refused as f64),
        ("incomplete", s.incomplete as f64),
        ("stream_sent", r.stream_bytes_sent as f64),
        ("stream_received", r.stream_bytes_received as f64),
        ("duration_ms", ms(r.duration)),
        ("connect_ms", ms(r.connect_time)),
        ("wall_ms", ms(wall)),
    ] {
        println!("{prefix}{key}={value}");
    }
}

/// One measured step, run in this process; prints `key=value` lines for the driver.
fn step(name: &str, args: &[String]) -> Result<()> {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let arg = |i: usize| -> Result<&String> {
        args.get(i)
            .ok_or_else(|| format!("step {name} needs argument {i}").into())
    };
    match name {
        "setup" => {
            let (dir, file) = (PathBuf::from(arg(0)?), PathBuf::from(arg(1)?));
            let t = Instant::now();
            let mut hq = Vault::create(&dir.join("coordinator"), PASS, FAST)?;
            hq.create_team("hq")?;
            let outcome = hq.import(
                std::fs::File::open(file)?,
                Format::Jsonl,
                ImportMode::AllOrNothing,
            )?;
            println!("import_ms={}", ms(t.elapsed()));
            println!("imported={}", outcome.added);
            Vault::create(&dir.join("observer"), PASS, FAST)?;
        }
        "changes" => {
            // The bytes of every change, as the vault stores them (Automerge's own
            // encoding), and the count of items reconciled.
            let store = open_store(Path::new(arg(0)?))?;
            let (mut count, mut bytes) = (0u64, 0u64);
            for id in store.incident_ids()? {
                for change in store.changes_of(&id)? {
                    count += 1;
                    bytes += change.len() as u64;
                }
            }
            println!("change_count={count}");
            println!("change_bytes={bytes}");
            // What every session reads first, on both sides: cold (nothing of the
            // table in SQLite's page cache), then again.
            let store = open_store(Path::new(arg(0)?))?;
            let t = Instant::now();
            let items = store.sync_items()?.len();
            println!("sync_items_cold_ms={}", ms(t.elapsed()));
            let t = Instant::now();
            store.sync_items()?;
            println!("sync_items_again_ms={}", ms(t.elapsed()));
            println!("sync_items={items}");
        }
        "automerge" => automerge_baseline(Path::new(arg(0)?), arg(1)?)?,
        "edit" => {
            let vault_path = PathBuf::from(arg(0)?);
            let count: usize = arg(1)?.parse()?;
            let mut vault = Vault::open(&vault_path, PASS)?;
            let all = vault.list(&ListFilter::default())?;
            let stride = (all.len() / count.max(1)).max(1);
            // Spread across the campaign; an observer edits only the incidents it
            // created (the others it is refused, at once), so it looks further.
            let spread = all.iter().step_by(stride).chain(all.iter());
            let t = Instant::now();
            let mut edited = Vec::new();
            for summary in spread {
                if edited.len() == count {
                    break;
                }
                if edited.contains(&summary.id) {
                    continue;
                }
                let city = format!("{} edited {}", arg(2)?, edited.len());
                match vault.edit_fields(&summary.id, &[("city".into(), city)]) {
                    Ok(true) => edited.push(summary.id.clone()),
                    Ok(false) | Err(vigil_core::VaultError::NotCoordinator) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            println!("edit_ms={}", ms(t.elapsed()));
            println!("edited={}", edited.len());
            drop(vault);
            let store = open_store(&vault_path)?;
            let mut bytes = 0u64;
            for id in &edited {
                bytes += store.changes_of(id)?.last().map_or(0, Vec::len) as u64;
            }
            println!("edit_change_bytes={bytes}");
        }
        "offline" => {
            // Every k-th report of the campaign again, under a new id, as an observer
            // that was offline would bring it: its first change dated by the report,
            // among the coordinator's changes of that time.
            let vault_path = PathBuf::from(arg(0)?);
            let count: usize = arg(2)?.parse()?;
            let lines: Vec<String> = BufReader::new(std::fs::File::open(arg(1)?)?)
                .lines()
                .collect::<std::io::Result<_>>()?;
            let stride = (lines.len() / count.max(1)).max(1);
            let mut jsonl = String::new();
            let mut ids = std::collections::HashSet::new();
            for line in lines.iter().step_by(stride).take(count) {
                let mut report: serde_json::Value = serde_json::from_str(line)?;
                let id = vigil_core::IncidentId::random();
                report["report_id"] = id.to_string().into();
                ids.insert(id);
                report["status"] = "submitted".into();
                jsonl.push_str(&report.to_string());
                jsonl.push('\n');
            }
            let mut vault = Vault::open(&vault_path, PASS)?;
            let before = vault.info()?.changes;
            let outcome =
                vault.import(jsonl.as_bytes(), Format::Jsonl, ImportMode::AllOrNothing)?;
            println!("offline={}", outcome.added);
            println!("offline_changes={}", vault.info()?.changes - before);
            drop(vault);
            let store = open_store(&vault_path)?;
            let mut bytes = 0u64;
            for id in &ids {
                bytes += store.changes_of(id)?.iter().map(Vec::len).sum::<usize>() as u64;
            }
            println!("offline_change_bytes={bytes}");
        }
        "join" => {
            let invite = Invite::decode(arg(1)?)?;
            let vault = Vault::open(Path::new(arg(0)?), PASS)?;
            let rt = runtime()?;
            rt.block_on(async {
                let node = Node::bind(VaultHandle::new(vault), localhost()?)?;
                let t = Instant::now();
                let report = node.join(&invite, "observer").await?;
                print_report("", &report, t.elapsed());
                let info = node
                    .vault()
                    .lock()
                    .map_err(|_| "vault lock poisoned")?
                    .info()?;
                println!("incidents={}", info.incidents);
                node.close();
                Ok::<_, Box<dyn Error>>(())
            })?;
        }
        "sync" => {
            let vault = Vault::open(Path::new(arg(0)?), PASS)?;
            let addr: SocketAddr = arg(1)?.parse()?;
            let count: usize = arg(2)?.parse()?;
            let rt = runtime()?;
            rt.block_on(async {
                let node = Node::bind(VaultHandle::new(vault), localhost()?)?;
                let (mut connect, mut wall, mut session) = (Vec::new(), Vec::new(), Vec::new());
                for i in 0..count {
                    let t = Instant::now();
                    let report = node.sync(addr).await?;
                    let elapsed = t.elapsed();
                    if i < 2 {
                        print_report(&format!("r{i}_"), &report, elapsed);
                    }
                    connect.push(ms(report.connect_time));
                    wall.push(ms(elapsed));
                    session.push(ms(report.duration));
                }
                let join = |v: &[f64]| {
                    v.iter()
                        .map(|x| format!("{x:.3}"))
                        .collect::<Vec<_>>()
                        .join(",")
                };
                println!("connect_list={}", join(&connect));
                println!("wall_list={}", join(&wall));
                println!("session_list={}", join(&session));
                node.close();
                Ok::<_, Box<dyn Error>>(())
            })?;
        }
        other => return Err(format!("unknown step {other}").into()),
    }
    println!("peak_mib={:.1}", peak_rss_mib());
    Ok(())
}

/// Automerge's per-document sync between the documents of vault `a` and those of vault
/// `b` (or empty documents, if `b` is `-`), one pair at a time.
fn automerge_baseline(a: &Path, b: &str) -> Result<()> {
    let a = open_store(a)?;
    let b = if b == "-" {
        None
    } else {
        Some(open_store(Path::new(b))?)
    };
    let load = |changes: Vec<Vec<u8>>| -> Result<Automerge> {
        let mut doc = Automerge::new();
        for change in changes {
            doc.load_incremental(&change)?;
        }
        Ok(doc)
    };
    let (mut load_time, mut sync_time) = (Duration::ZERO, Duration::ZERO);
    let (mut messages, mut max_messages) = (0u64, 0u64);
    let (mut bytes_ab, mut bytes_ba) = (0u64, 0u64);
    let mut docs = 0u64;
    let mut docs_moved = 0u64;
    for id in a.incident_ids()? {
        let t = Instant::now();
        let mut doc_a = load(a.changes_of(&id)?)?;
        let mut doc_b = match &b {
            Some(b) => load(b.changes_of(&id)?)?,
            None => Automerge::new(),
        };
        load_time += t.elapsed();
        let heads_before = doc_b.get_heads();
        let t = Instant::now();
        let (mut state_a, mut state_b) = (State::new(), State::new());
        let mut these = 0u64;
        loop {
            let mut quiet = true;
            if let Some(message) = doc_a.generate_sync_message(&mut state_a) {
                let wire = message.encode();
                bytes_ab += wire.len() as u64;
                these += 1;
                doc_b.receive_sync_message(&mut state_b, Message::decode(&wire)?)?;
                quiet = false;
            }
            if let Some(message) = doc_b.generate_sync_message(&mut state_b) {
                let wire = message.encode();
                bytes_ba += wire.len() as u64;
                these += 1;
                doc_a.receive_sync_message(&mut state_a, Message::decode(&wire)?)?;
                quiet = false;
            }
            if quiet {
                break;
            }
        }
        sync_time += t.elapsed();
        if doc_a.get_heads() != doc_b.get_heads() {
            return Err(format!("automerge sync left incident {id} apart").into());
        }
        docs_moved += u64::from(doc_b.get_heads() != heads_before);
        messages += these;
        max_messages = max_messages.max(these);
        docs += 1;
    }
    println!("am_docs={docs}");
    println!("am_docs_moved={docs_moved}");
    println!("am_messages={messages}");
    println!("am_max_messages={max_messages}");
    println!("am_bytes_ab={bytes_ab}");
    println!("am_bytes_ba={bytes_ba}");
    println!("am_bytes={}", bytes_ab + bytes_ba);
    println!("am_load_ms={}", ms(load_time));
    println!("am_sync_ms={}", ms(sync_time));
    Ok(())
}

/// The coordinator, serving until its standard input closes. Prints its address (and
/// an invitation, if asked) and `ready`, then at the end its sessions and peak memory.
fn serve(vault: &Path, invite: bool) -> Result<()> {
    let vault = Vault::open(vault, PASS)?;
    let rt = runtime()?;
    rt.block_on(async {
        let node = Arc::new(Node::bind(VaultHandle::new(vault), localhost()?)?);
        let addr = node.local_addr()?;
        println!("addr={addr}");
        if invite {
            let invite = node
                .vault()
                .lock()
                .map_err(|_| "vault lock poisoned")?
                .invite(Role::Observer, 3600, vec![addr])?;
            println!("invite={}", invite.encode().as_str());
        }
        let sessions = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let serving = Arc::clone(&node);
        let (s, e) = (Arc::clone(&sessions), Arc::clone(&errors));
        let server = tokio::spawn(async move {
            serving
                .serve(move |result| {
                    s.fetch_add(1, Ordering::Relaxed);
                    if let Err(err) = result {
                        e.fetch_add(1, Ordering::Relaxed);
                        eprintln!("coordinator: session failed: {err}");
                    }
                })
                .await;
        });
        println!("ready");
        std::io::stdout().flush()?;
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            std::io::stdin().read_to_end(&mut sink)
        })
        .await??;
        // Let the last session's accounting finish.
        tokio::time::sleep(Duration::from_millis(200)).await;
        node.close();
        let _ = server.await;
        println!("sessions={}", sessions.load(Ordering::Relaxed));
        println!("session_errors={}", errors.load(Ordering::Relaxed));
        Ok::<_, Box<dyn Error>>(())
    })?;
    println!("peak_mib={:.1}", peak_rss_mib());
    Ok(())
}

/// What a child printed: `key=value` lines.
#[derive(Debug, Default)]
struct Figures(Vec<(String, String)>);

impl Figures {
    fn parse(text: &str) -> Self {
        Self(
            text.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    fn text(&self, key: &str) -> Result<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("no figure {key}").into())
    }

    fn num(&self, key: &str) -> f64 {
        self.text(key)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    }

    fn list(&self, key: &str) -> Vec<f64> {
        self.text(key)
            .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
            .unwrap_or_default()
    }
}

fn run_step(name: &str, args: &[&str]) -> Result<Figures> {
    let out = Command::new(std::env::current_exe()?)
        .args(["--step", name])
        .args(args)
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(format!("step {name} failed ({})", out.status).into());
    }
    Ok(Figures::parse(&String::from_utf8(out.stdout)?))
}

/// A coordinator serving from a child process of its own.
struct Server {
    child: Child,
    stdout: BufReader<ChildStdout>,
    ready: Figures,
}

impl Server {
    fn start(vault: &Path, invite: bool) -> Result<Self> {
        let mut command = Command::new(std::env::current_exe()?);
        command.arg("--serve").arg(vault);
        if invite {
            command.arg("--invite");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut text = String::new();
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line)? == 0 {
                return Err("the coordinator process ended before it was ready".into());
            }
            if line.trim() == "ready" {
                break;
            }
            text.push_str(&line);
        }
        Ok(Self {
            child,
            stdout,
            ready: Figures::parse(&text),
        })
    }

    fn addr(&self) -> Result<&str> {
        self.ready.text("addr")
    }

    fn stop(mut self) -> Result<Figures> {
        drop(self.child.stdin.take());
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest)?;
        let status = self.child.wait()?;
        if !status.success() {
            return Err(format!("the coordinator process failed ({status})").into());
        }
        Ok(Figures::parse(&rest))
    }
}

fn human(bytes: f64) -> String {
    if bytes.is_nan() {
        "?".into()
    } else if bytes < 1024.0 {
        format!("{bytes:.0} B")
    } else if bytes < 1024.0 * 1024.0 {
        format!("{:.1} KiB", bytes / 1024.0)
    } else {
        format!("{:.1} MiB", bytes / 1048576.0)
    }
}

fn time(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// A Vigil session as seen by the observer that initiated it, with `prefix`.
struct Session<'a> {
    f: &'a Figures,
    prefix: &'a str,
}

impl Session<'_> {
    fn get(&self, key: &str) -> f64 {
        self.f.num(&format!("{}{key}", self.prefix))
    }
    fn bytes(&self) -> f64 {
        self.get("bytes_sent") + self.get("bytes_received")
    }
    fn frames(&self) -> f64 {
        self.get("frames_sent") + self.get("frames_received")
    }
    fn changes(&self) -> f64 {
        self.get("changes_sent") + self.get("changes_received")
    }
    fn detail(&self) -> String {
        format!(
            "sent {} in {} frames, received {} in {} frames (on the stream: {} / {}); changes sent {}, received {}; membership entries sent {}, received {}; incidents updated {}, refused {}, left incomplete {}; connect {}, session {}, whole call {}",
            human(self.get("bytes_sent")),
            self.get("frames_sent"),
            human(self.get("bytes_received")),
            self.get("frames_received"),
            human(self.get("stream_sent")),
            human(self.get("stream_received")),
            self.get("changes_sent"),
            self.get("changes_received"),
            self.get("members_sent"),
            self.get("members_received"),
            self.get("incidents_updated"),
            self.get("refused"),
            self.get("incomplete"),
            time(self.get("connect_ms")),
            time(self.get("duration_ms")),
            time(self.get("wall_ms")),
        )
    }
}

/// The Automerge baseline of a scenario where one side's changes moved.
fn print_automerge_moved(am: &Figures, from: &str) {
    println!(
        "  automerge: {} messages ({} max per document), {} documents received changes, {} from the {from} and {} back",
        am.num("am_messages"),
        am.num("am_max_messages"),
        am.num("am_docs_moved"),
        human(am.num("am_bytes_ab")),
        human(am.num("am_bytes_ba")),
    );
}

fn row(label: &str, vigil: &Session<'_>, change_bytes: f64, am: &Figures) {
    let messages = format!("{:.0}", am.num("am_messages"));
    let bytes = human(am.num("am_bytes"));
    let sync = time(am.num("am_sync_ms"));
    println!(
        "{label:<28} | {:>10.0} | {:>6.0} | {:>10} | {:>9} | {:>12} | {:>15} | {:>10} | {:>9}",
        vigil.get("round_trips"),
        vigil.frames(),
        human(vigil.bytes()),
        time(vigil.get("wall_ms")),
        human(change_bytes),
        messages,
        bytes,
        sync,
    );
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--step") => {
            let name = args.get(2).ok_or("--step needs a name")?;
            return step(name, &args[3..]);
        }
        Some("--serve") => {
            let vault = args.get(2).ok_or("--serve needs a vault")?;
            return serve(
                Path::new(vault),
                args.get(3).is_some_and(|a| a == "--invite"),
            );
        }
        _ => {}
    }
    let n: usize = args
        .iter()
        .position(|a| a == "--incidents")
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(10_000), |s| s.parse())?;

    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("incidents.jsonl");
    let hq = dir.path().join("coordinator");
    let observer = dir.path().join("observer");
    let (hq_s, observer_s) = (hq.to_str().ok_or("path")?, observer.to_str().ok_or("path")?);
    let mut scenario = vigil_scenario::generate(2021, n.div_ceil(729).max(1));
    scenario.reports.truncate(n);
    std::fs::write(&file, scenario.to_jsonl())?;
    drop(scenario);

    println!("Vigil sync benchmark: {n} incidents, coordinator and observer on 127.0.0.1");
    let setup = run_step(
        "setup",
        &[
            dir.path().to_str().ok_or("path")?,
            file.to_str().ok_or("path")?,
        ],
    )?;
    let changes = run_step("changes", &[hq_s])?;
    println!(
        "set-up: import of {} incidents in {} ({} changes, {}; {} items to reconcile)",
        setup.num("imported"),
        time(setup.num("import_ms")),
        changes.num("change_count"),
        human(changes.num("change_bytes")),
        changes.num("sync_items"),
    );

    // Full sync to an empty device: the observer joins.
    let am_full = run_step("automerge", &[hq_s, "-"])?;
    let server = Server::start(&hq, true)?;
    let invite = server.ready.text("invite")?.to_owned();
    let join = run_step("join", &[observer_s, &invite])?;
    let join_server = server.stop()?;
    println!(
        "set-up: join (full sync) done; {} incidents on the observer; total set-up {}",
        join.num("incidents"),
        time(ms(started.elapsed()))
    );
    if join.num("incidents") < setup.num("imported") {
        println!(
            "WARNING: the join brought {} of {} incidents ({} changes refused, {} left incomplete); the next sync brings the rest (RUST_LOG=warn shows why)",
            join.num("incidents"),
            setup.num("imported"),
            join.num("refused"),
            join.num("incomplete")
        );
    }

    // Already in sync: one sync to settle, then one measured and more for the
    // connection times.
    let server = Server::start(&hq, false)?;
    let sync = run_step(
        "sync",
        &[observer_s, server.addr()?, &(CONNECTS + 1).to_string()],
    )?;
    let sync_server = server.stop()?;
    let am_same = run_step("automerge", &[hq_s, observer_s])?;

    // 100 incidents edited on the coordinator; the observer pulls them.
    let edit_hq = run_step("edit", &[hq_s, &EDITED.to_string(), "hq"])?;
    let am_edit = run_step("automerge", &[hq_s, observer_s])?;
    let server = Server::start(&hq, false)?;
    let pull = run_step("sync", &[observer_s, server.addr()?, "1"])?;
    let pull_server = server.stop()?;

    // 100 reports logged offline on the observer, dated across the campaign.
    let offline = run_step(
        "offline",
        &[
            observer_s,
            file.to_str().ok_or("path")?,
            &EDITED.to_string(),
        ],
    )?;
    let am_offline = run_step("automerge", &[observer_s, hq_s])?;
    let server = Server::start(&hq, false)?;
    let scattered = run_step("sync", &[observer_s, server.addr()?, "1"])?;
    let scattered_server = server.stop()?;

    // 100 of its own incidents edited on the observer (those it logged offline:
    // an observer edits only what it created); it pushes them.
    let edit_obs = run_step("edit", &[observer_s, &EDITED.to_string(), "observer"])?;
    let am_push = run_step("automerge", &[observer_s, hq_s])?;
    let server = Server::start(&hq, false)?;
    let push = run_step("sync", &[observer_s, server.addr()?, "1"])?;
    let push_server = server.stop()?;
    let after = run_step("changes", &[observer_s])?;
    let after_hq = run_step("changes", &[hq_s])?;

    let full = Session {
        f: &join,
        prefix: "",
    };
    let settle = Session {
        f: &sync,
        prefix: "r0_",
    };
    let same = Session {
        f: &sync,
        prefix: "r1_",
    };
    let pulled = Session {
        f: &pull,
        prefix: "r0_",
    };
    let pushed = Session {
        f: &push,
        prefix: "r0_",
    };
    let pushed_scattered = Session {
        f: &scattered,
        prefix: "r0_",
    };
    let k = |x: usize| {
        if x.is_multiple_of(1000) {
            format!("{}k", x / 1000)
        } else {
            x.to_string()
        }
    };

    println!();
    println!(
        "{:<28} | {:>10} | {:>6} | {:>10} | {:>9} | {:>12} | {:>15} | {:>10} | {:>9}",
        "scenario",
        "vigil: RTs",
        "frames",
        "bytes",
        "time",
        "change bytes",
        "automerge: msgs",
        "bytes",
        "cpu time"
    );
    println!("{}", "-".repeat(136));
    row(&format!("already in sync ({})", k(n)), &same, 0.0, &am_same);
    row(
        &format!("{EDITED} changed, pulled ({})", k(n)),
        &pulled,
        edit_hq.num("edit_change_bytes"),
        &am_edit,
    );
    row(
        &format!("{EDITED} changed, pushed ({})", k(n)),
        &pushed,
        edit_obs.num("edit_change_bytes"),
        &am_push,
    );
    row(
        &format!("{EDITED} offline, pushed ({})", k(n)),
        &pushed_scattered,
        offline.num("offline_change_bytes"),
        &am_offline,
    );
    row(
        &format!("full sync to empty ({})", k(n)),
        &full,
        changes.num("change_bytes"),
        &am_full,
    );
    println!();
    println!(
        "Vigil: bytes are the session's frames both ways (before QUIC/TLS framing); round trips are the initiator's waits; time is the whole Node::sync/join call (connect + session); change bytes are the Automerge changes that had to cross, as stored."
    );
    println!(
        "Automerge: one fresh sync state per document pair, all {} documents visited, messages encoded/decoded and applied in memory (no network: the time is CPU only; over a network each document costs its messages/2 round trips unless pipelined).",
        am_same.num("am_docs")
    );

    println!();
    println!("Details");
    println!(
        "- already in sync (goal: 1 round trip, < 1 KB): {}. Documents loaded: none (by construction: a session reads only (time, hash) rows, Store::sync_items, and loads a document only to apply changes it receives); here {} changes moved, {} incidents updated.",
        same.detail(),
        same.changes(),
        same.get("incidents_updated")
    );
    println!(
        "  (the settling sync right after the join: {} round trips, {}, {} changes moved)",
        settle.get("round_trips"),
        human(settle.bytes()),
        settle.changes()
    );
    println!(
        "  automerge: {} messages ({} max per document), {} from the full side and {} back; loading the {} document pairs took {} more",
        am_same.num("am_messages"),
        am_same.num("am_max_messages"),
        human(am_same.num("am_bytes_ab")),
        human(am_same.num("am_bytes_ba")),
        am_same.num("am_docs"),
        time(am_same.num("am_load_ms"))
    );
    let edit_bytes = edit_hq.num("edit_change_bytes");
    println!(
        "- {} incidents edited on the coordinator in {}: the changes themselves are {} ({:.0} B each). Pull (goal: 2 round trips, < 20 KB): {}. Session bytes / change bytes = {:.2}",
        edit_hq.num("edited"),
        time(edit_hq.num("edit_ms")),
        human(edit_bytes),
        edit_bytes / edit_hq.num("edited"),
        pulled.detail(),
        pulled.bytes() / edit_bytes
    );
    print_automerge_moved(&am_edit, "edited side");
    let push_bytes = edit_obs.num("edit_change_bytes");
    println!(
        "- {} incidents edited on the observer: changes {}. Push: {}. Session bytes / change bytes = {:.2}",
        edit_obs.num("edited"),
        human(push_bytes),
        pushed.detail(),
        pushed.bytes() / push_bytes
    );
    print_automerge_moved(&am_push, "edited side");
    let offline_bytes = offline.num("offline_change_bytes");
    println!(
        "- {} reports logged offline on the observer, dated across the campaign ({} changes: each report's own, and its sealed personal part dated now): {}. Push: {}. Session bytes / change bytes = {:.2}",
        offline.num("offline"),
        offline.num("offline_changes"),
        human(offline_bytes),
        pushed_scattered.detail(),
        pushed_scattered.bytes() / offline_bytes
    );
    print_automerge_moved(&am_offline, "observer");
    let change_bytes = changes.num("change_bytes");
    println!(
        "- full sync to an empty device (join): {}; {} incidents arrived. The changes themselves: {} ({} changes); Vigil session bytes / change bytes = {:.2} (goal ≤ 2). Automerge per-doc bytes / change bytes = {:.2} ({} messages, {} max per document, {} to the empty side, {} back, {} CPU)",
        full.detail(),
        join.num("incidents"),
        human(change_bytes),
        changes.num("change_count"),
        full.bytes() / change_bytes,
        am_full.num("am_bytes") / change_bytes,
        am_full.num("am_messages"),
        am_full.num("am_max_messages"),
        human(am_full.num("am_bytes_ab")),
        human(am_full.num("am_bytes_ba")),
        time(am_full.num("am_sync_ms")),
    );
    println!(
        "  sync rate: {:.0} changes/s into the empty vault",
        full.get("changes_received") / (full.get("duration_ms") / 1000.0)
    );
    println!(
        "- after both edits: coordinator {} changes, observer {} changes",
        after_hq.num("change_count"),
        after.num("change_count")
    );
    println!(
        "- reading the {} items to reconcile (Store::sync_items, which every session does on both sides): {} in a fresh process, {} again",
        after.num("sync_items"),
        time(after.num("sync_items_cold_ms")),
        time(after.num("sync_items_again_ms"))
    );

    println!();
    println!("Peak memory (VmHWM of each process)");
    println!(
        "- full sync: receiving observer {:.0} MiB, sending coordinator {:.0} MiB; Automerge baseline (one document pair at a time) {:.0} MiB",
        join.num("peak_mib"),
        join_server.num("peak_mib"),
        am_full.num("peak_mib")
    );
    println!(
        "- in sync ({} sessions): observer {:.0} MiB, coordinator {:.0} MiB",
        CONNECTS + 1,
        sync.num("peak_mib"),
        sync_server.num("peak_mib")
    );
    println!(
        "- {EDITED} changed: pull observer {:.0} MiB / coordinator {:.0} MiB; push observer {:.0} MiB / coordinator {:.0} MiB",
        pull.num("peak_mib"),
        pull_server.num("peak_mib"),
        push.num("peak_mib"),
        push_server.num("peak_mib")
    );
    let errors: f64 = [
        &join_server,
        &sync_server,
        &pull_server,
        &push_server,
        &scattered_server,
    ]
    .iter()
    .map(|f| f.num("session_errors"))
    .sum();
    println!("- coordinator session errors over the run: {errors}");

    // Connection set-up: sessions 2 to 51 (the first, in a fresh process, apart).
    let connect = sync.list("connect_list");
    let wall = sync.list("wall_list");
    let session = sync.list("session_list");
    let tail = |v: &[f64]| v.get(1..).map(<[f64]>::to_vec).unwrap_or_default();
    let (connect_t, wall_t, session_t) = (tail(&connect), tail(&wall), tail(&session));
    println!();
    println!(
        "Connection set-up on loopback (QUIC + mutual TLS 1.3 + admission), {} connections:",
        connect_t.len()
    );
    println!(
        "- connect: median {}, p95 {}, max {} (the first in a fresh process: {})",
        time(percentile(&connect_t, 0.5)),
        time(percentile(&connect_t, 0.95)),
        time(percentile(&connect_t, 1.0)),
        time(connect.first().copied().unwrap_or(f64::NAN))
    );
    println!(
        "- whole in-sync Node::sync: median {}, p95 {}; of which the session: median {}, p95 {}",
        time(percentile(&wall_t, 0.5)),
        time(percentile(&wall_t, 0.95)),
        time(percentile(&session_t, 0.5)),
        time(percentile(&session_t, 0.95)),
    );
    println!(
        "- the join's connect (to the coordinator, pinned key): {}",
        time(full.get("connect_ms"))
    );
    println!();
    println!("whole benchmark: {}", time(ms(started.elapsed())));
    Ok(())
}
