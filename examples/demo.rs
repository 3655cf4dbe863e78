//! The main job: election day for a team of five devices, in one run.
//!
//! A coordinator founds a team and invites four observers; each device has its own
//! encrypted vault in a temporary folder and its own QUIC endpoint on 127.0.0.1.
//! Over four rounds the observers log the reports of a generated campaign (shaped
//! like the Kazakhstan 2021 coalition report) and sync in a changing pattern:
//! observers meet each other before any of them reaches the coordinator, one has no
//! network at all and hands over a sealed file, and one phone is seized and revoked.
//! Every report's names are sealed to the coordinator as it is logged: observers
//! carry and relay them, and read none.
//! At the end the coordinator prints the report, checks it against the ground truth
//! the campaign was generated from, and prints the sync figures.
//!
//! ```text
//! cargo run --release --example demo [-- --seed N --scale N --lang ru]
//! ```

use std::error::Error;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vigil_core::{
    Incident, Invite, KdfParams, Node, Role, Status, SyncReport, Vault, VaultGuard, VaultHandle,
    record, render_markdown,
};

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

const COUNTED: &[Status] = &[Status::Submitted, Status::Verified];

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// One phone or laptop: a vault, and a node serving it on loopback.
struct Device {
    name: &'static str,
    node: Arc<Node>,
}

impl Device {
    fn start(name: &'static str, folder: &Path) -> Result<Self> {
        let passphrase = format!("{name} passphrase");
        // The shipped Argon2id setting (64 MiB): every device unlocks as a real one.
        let vault = Vault::create(
            &folder.join(name),
            passphrase.as_bytes(),
            KdfParams::DEFAULT,
        )?;
        let node = Arc::new(Node::bind(VaultHandle::new(vault), "127.0.0.1:0".parse()?)?);
        let serving = Arc::clone(&node);
        tokio::spawn(async move { serving.serve(|_| {}).await });
        Ok(Self { name, node })
    }

    fn vault(&self) -> Result<VaultGuard<'_>> {
        Ok(self.node.vault().lock()?)
    }

    fn addr(&self) -> Result<SocketAddr> {
        Ok(self.node.local_addr()?)
    }

    fn incidents(&self) -> Result<u64> {
        Ok(self.vault()?.info()?.incidents)
    }
}

/// Every session of the day, for the figures at the end.
#[derive(Default)]
struct Log {
    sessions: Vec<(String, SyncReport)>,
}

impl Log {
    async fn sync(&mut self, from: &Device, to: &Device) -> Result {
        let report = from.node.sync(to.addr()?).await?;
        let s = &report.stats;
        println!(
            "  {:>9} -> {:<11} sent {:>4}, received {:>4} changes; {} round trip(s), {:>6} bytes, {:>4} ms",
            from.name,
            to.name,
            s.changes_sent,
            s.changes_received,
            s.round_trips,
            report.stream_bytes_sent + report.stream_bytes_received,
            report.duration.as_millis()
        );
        self.sessions
            .push((format!("{} -> {}", from.name, to.name), report));
        Ok(())
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result {
    let seed: u64 = arg("--seed").map_or(Ok(2021), |s| s.parse())?;
    let scale: usize = arg("--scale").map_or(Ok(1), |s| s.parse())?;
    let lang = arg("--lang").unwrap_or_else(|| "en".into());
    let started = Instant::now();
    let folder = tempfile::tempdir()?;

    // The team: a coordinator and four observers who join by invitation.
    let hq = Device::start("hq", folder.path())?;
    hq.vault()?.create_team("hq")?;
    let mut observers = Vec::new();
    for name in ["almaty", "astana", "shymkent", "courier"] {
        let device = Device::start(name, folder.path())?;
        let invite = hq.vault()?.invite(Role::Observer, 3600, vec![hq.addr()?])?;
        // Passed on as text (or a QR code), as people would.
        let text = invite.encode();
        device.node.join(&Invite::decode(&text)?, name).await?;
        observers.push(device);
    }
    println!(
        "Team of {} devices; each has its own encrypted vault and QUIC endpoint.\n",
        hq.vault()?.members()?.len()
    );
    let [almaty, astana, shymkent, courier] = &observers[..] else {
        return Err("four observers".into());
    };

    // The campaign's reports, dealt to the observers who will log them.
    let scenario = vigil_scenario::generate(seed, scale);
    let taxonomy = hq.vault()?.taxonomy().clone();
    let mut shares: Vec<Vec<Incident>> = vec![Vec::new(); observers.len()];
    for (i, report) in scenario.reports.iter().enumerate() {
        let object = report.as_object().ok_or("a report is not an object")?;
        let incident = record::to_incident(object, &taxonomy)
            .map_err(|e| format!("generated report does not fit: {e:?}"))?;
        shares[i % observers.len()].push(incident);
    }
    let log_quarter = |round: usize| -> Result {
        for (device, share) in observers.iter().zip(&shares) {
            let quarter = share.len().div_ceil(4);
            for incident in share.iter().skip(round * quarter).take(quarter) {
                device.vault()?.add(incident)?;
            }
        }
        Ok(())
    };

    let mut log = Log::default();
    println!("Round 1: everyone logs; observers meet in pairs, nobody reaches hq.");
    log_quarter(0)?;
    log.sync(astana, almaty).await?;
    log.sync(courier, shymkent).await?;

    println!("Round 2: new pairs; almaty reaches hq with what it gathered.");
    log_quarter(1)?;
    log.sync(shymkent, astana).await?;
    log.sync(almaty, &hq).await?;

    println!("Round 3: the network is cut where the courier is; it carries a sealed file.");
    log_quarter(2)?;
    let bundle = folder.path().join("courier-to-hq.vigil");
    let hq_fingerprint = hq.vault()?.info()?.device;
    let carried = courier
        .vault()?
        .export_bundle(&bundle, Some(&hq_fingerprint))?;
    let applied = hq.vault()?.import_bundle(&bundle)?;
    println!(
        "  courier -> hq (file)   {} changes, {} bytes, sealed for {} devices; {} applied",
        carried.changes, carried.bytes, carried.recipients, applied.changes_received
    );
    log.sync(shymkent, &hq).await?;

    println!("Round 4: astana's phone is seized after its last sync; hq revokes it.");
    log_quarter(3)?;
    log.sync(astana, almaty).await?;
    let seized = astana.vault()?.info()?.device;
    // What astana made before the seizure still counts; the demo's whole day lasts
    // seconds, so the seizure is placed just after this second.
    let seized_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64
        + 1;
    hq.vault()?.revoke(&seized, Some(seized_at))?;
    let refused = astana.node.sync(hq.addr()?).await;
    println!(
        "  the seized phone tries hq: {}",
        match refused {
            Ok(_) => "ACCEPTED (wrong)".to_owned(),
            Err(e) => format!("refused ({e})"),
        }
    );
    for device in [almaty, shymkent, courier] {
        log.sync(device, &hq).await?;
    }
    // Everyone still trusted catches up with hq, the revocation included.
    for device in [almaty, shymkent, courier] {
        log.sync(device, &hq).await?;
    }

    let report = hq.vault()?.report(COUNTED)?;
    println!("\n{}", render_markdown(&report, &taxonomy, &lang));
    let matches =
        serde_json::from_str::<serde_json::Value>(&report.to_json())? == scenario.expected_json();

    let total: u64 = shares.iter().map(|s| s.len() as u64).sum();
    let hq_has = hq.incidents()?;
    let sessions = log.sessions.len();
    let bytes: u64 = log
        .sessions
        .iter()
        .map(|(_, r)| r.stream_bytes_sent + r.stream_bytes_received)
        .sum();
    let changes: u64 = log
        .sessions
        .iter()
        .map(|(_, r)| r.stats.changes_sent + r.stats.changes_received)
        .sum();
    let in_sync: Vec<&SyncReport> = log
        .sessions
        .iter()
        .map(|(_, r)| r)
        .filter(|r| r.stats.changes_sent + r.stats.changes_received == 0)
        .collect();
    let connect: Duration = log.sessions.iter().map(|(_, r)| r.connect_time).sum();
    eprintln!("Sync figures");
    eprintln!(
        "  sessions over QUIC:        {sessions} ({} already in sync)",
        in_sync.len()
    );
    eprintln!("  changes moved:             {changes}");
    eprintln!(
        "  bytes on the wire:         {bytes} ({} per change moved)",
        bytes / changes.max(1)
    );
    if let Some(r) = in_sync.first() {
        eprintln!(
            "  an in-sync session:        {} round trip, {} bytes",
            r.stats.round_trips,
            r.stream_bytes_sent + r.stream_bytes_received
        );
    }
    eprintln!(
        "  mean connection set-up:    {:.1} ms (QUIC + TLS 1.3, both keys pinned)",
        connect.as_secs_f64() * 1000.0 / sessions.max(1) as f64
    );
    eprintln!("  incidents logged:          {total}; at hq: {hq_has}");
    eprintln!(
        "  every device agrees:       {}",
        if observers
            .iter()
            .filter(|d| d.name != "astana")
            .all(|d| d.incidents().ok() == Some(hq_has))
        {
            "yes"
        } else {
            "NO"
        }
    );
    // Observers carry everyone's incidents, their own included, with the names
    // sealed to the coordinator: a seized phone shows none.
    let mut readable_in_field = 0;
    for device in observers {
        readable_in_field += device
            .vault()?
            .list(&Default::default())?
            .iter()
            .filter(|s| !s.sealed)
            .count();
    }
    eprintln!(
        "  incidents whose names an observer's phone can read (the seized one too): {readable_in_field}"
    );
    eprintln!(
        "  figures match the campaign's ground truth: {}",
        if matches { "yes" } else { "NO" }
    );
    eprintln!("  whole run: {:.1?}", started.elapsed());
    if !matches || hq_has != total || readable_in_field > 0 {
        return Err("the coordinator's report does not match the campaign".into());
    }
    Ok(())
}
