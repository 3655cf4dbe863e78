//! The team and sync commands: `vigil team ...`, `serve`, `sync`, `peers`, `bundle`.

use std::io::{IsTerminal, Read};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;
use vigil_core::{Invite, Node, Role, SyncReport, Vault, VaultError, VaultHandle};

use crate::args::{BundleCommand, TeamCommand};
use crate::{CliError, Result};

const DEFAULT_PORT: u16 = 7447;

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// `vigil team ...`
pub fn team(command: TeamCommand, path: &Path) -> Result {
    match command {
        TeamCommand::Create { label } => {
            let mut vault = crate::open(path)?;
            let code = vault.create_team(&label)?;
            let info = vault.info()?;
            println!("Founded a team; this device is its first coordinator.");
            println!("Team fingerprint:   {}", info.team.unwrap_or_default());
            println!();
            println!("Recovery code (shown this once; it is kept on no device):");
            println!();
            println!("    {}", code.as_str());
            println!();
            println!("Write it on paper and keep it away from every phone and laptop.");
            println!("If every coordinator's device is seized or lost, `vigil team recover`");
            println!("with this code, on any member's device, appoints new coordinators.");
            println!();
            println!("Next: `vigil team invite` for each device, then `vigil serve`.");
        }
        TeamCommand::Invite {
            role,
            valid_hours,
            addresses,
            no_qr,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                CliError::Message(format!(
                    "unknown role `{}`: use observer or coordinator",
                    role.trim()
                ))
            })?;
            let addresses = if addresses.is_empty() {
                vec![SocketAddr::new(lan_address()?, DEFAULT_PORT)]
            } else {
                addresses
            };
            let mut vault = crate::open(path)?;
            let invite = vault.invite(role, i64::from(valid_hours) * 3600, addresses)?;
            print_invite(&invite, !no_qr);
        }
        TeamCommand::Join { invite, label } => {
            let text = if invite == "-" {
                let mut text = zeroize::Zeroizing::new(String::new());
                std::io::stdin().read_to_string(&mut text)?;
                text
            } else {
                zeroize::Zeroizing::new(invite)
            };
            let invite = Invite::decode(&text)?;
            let vault = crate::open(path)?;
            let runtime = runtime()?;
            let report = runtime.block_on(async {
                // Dialled from the family of the first address the invitation names.
                let first = invite.addresses.first().copied();
                let from = first.map_or(([0, 0, 0, 0], 0).into(), vigil_core::ephemeral_address);
                let node = node(vault, from)?;
                Ok::<_, CliError>(node.join(&invite, &label).await?)
            })?;
            println!("Joined the team as {}.", invite.role.as_str());
            print_report(&report);
        }
        TeamCommand::Members { json } => {
            let vault = crate::open(path)?;
            let members = vault.members()?;
            let own = vault.info()?.device;
            let forked = vault.equivocations()?;
            let forks = |fingerprint: &str| forked.iter().any(|e| e.device == fingerprint);
            if json {
                let items: Vec<_> = members
                    .iter()
                    .map(|m| {
                        json!({"fingerprint": m.fingerprint(), "role": m.role.as_str(),
                               "label": m.label, "revoked": m.revoked, "added_at": m.added_at,
                               "equivocated": forks(&m.fingerprint())})
                    })
                    .collect();
                println!("{:#}", serde_json::Value::Array(items));
                return Ok(());
            }
            println!("{:<26} {:<12} {:<9} LABEL", "FINGERPRINT", "ROLE", "STATE");
            for m in &members {
                let fingerprint = m.fingerprint();
                let this = if fingerprint == own {
                    " (this device)"
                } else {
                    ""
                };
                let state = match (m.revoked, forks(&fingerprint)) {
                    (true, _) => "revoked",
                    (false, true) => "forked",
                    (false, false) => "active",
                };
                println!(
                    "{fingerprint:<26} {:<12} {state:<9} {}{this}",
                    m.role.as_str(),
                    m.label
                );
            }
            for e in &forked {
                eprintln!(
                    "warning: device {} signed two different versions of one change to incident {}; its later changes are refused here. Revoke it: vigil team revoke {}",
                    e.device, e.incident, e.device
                );
            }
        }
        TeamCommand::Revoke { fingerprint, since } => {
            let cutoff = since.map(|text| parse_since(&text)).transpose()?;
            let mut vault = crate::open(path)?;
            let member = vault.revoke(&fingerprint, cutoff)?;
            println!(
                "Revoked {} ({}). Devices refuse it once they sync with this one, and seal nothing more to it.",
                member.fingerprint(),
                member.label
            );
        }
        TeamCommand::Recover { appoint, since } => {
            let cutoff = since.map(|text| parse_since(&text)).transpose()?;
            let mut vault = crate::open(path)?;
            let own = vault.info()?.device;
            let appoint: Vec<String> = appoint
                .into_iter()
                .map(|fp| if fp.trim() == "self" { own.clone() } else { fp })
                .collect();
            let code = if std::io::stdin().is_terminal() {
                zeroize::Zeroizing::new(rpassword::prompt_password("Recovery code: ")?)
            } else {
                let mut text = zeroize::Zeroizing::new(String::new());
                std::io::stdin().read_to_string(&mut text)?;
                text
            };
            let recovery = vault.recover(&code, &appoint, cutoff)?;
            println!(
                "Recovered the team: {} device(s) that had been coordinators are revoked.",
                recovery.revoked.len()
            );
            for member in &recovery.appointed {
                println!(
                    "Coordinator now: {} ({})",
                    member.fingerprint(),
                    member.label
                );
            }
            println!("Sync with the team's devices to hand this on.");
        }
        TeamCommand::Reshare => {
            let mut vault = crate::open(path)?;
            let count = vault.reshare()?;
            let coordinators = vault.sealing_recipients().len();
            println!(
                "Sealed the personal data of {count} incident(s) again, for {coordinators} coordinator(s). Sync to hand it on."
            );
        }
    }
    Ok(())
}

fn node(vault: Vault, listen: SocketAddr) -> Result<Node> {
    let mut node = Node::bind(VaultHandle::new(vault), listen)?;
    if std::io::stderr().is_terminal() {
        let bar = crate::output::sync_progress();
        node.on_progress(move |stats| bar.set_position(stats.changes_received));
    }
    Ok(node)
}

/// This machine's address on its LAN: the one a datagram to a public address would
/// leave from (no packet is sent).
fn lan_address() -> Result<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0")?;
    socket
        .connect("192.0.2.1:9")
        .and_then(|()| socket.local_addr())
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified())
        .ok_or_else(|| {
            CliError::Message(
                "cannot tell this machine's LAN address; give it with --address IP:PORT".into(),
            )
        })
}

fn print_invite(invite: &Invite, qr: bool) {
    let text = invite.encode();
    if qr {
        match qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L) {
            Ok(code) => println!(
                "{}",
                code.render::<qrcode::render::unicode::Dense1x2>()
                    .quiet_zone(true)
                    .build()
            ),
            Err(_) => eprintln!("(the invitation is too long for a QR code)"),
        }
    }
    println!("{}", text.as_str());
    eprintln!(
        "One device can join with this invitation, as {}, for {} hour(s), at {}.",
        invite.role.as_str(),
        (invite.expires - time::OffsetDateTime::now_utc().unix_timestamp()).max(0) / 3600,
        invite
            .addresses
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    eprintln!("Keep it secret: anyone holding it can join. Run `vigil serve` so it can be used.");
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MB", bytes as f64 / 1_048_576.0),
    }
}

fn print_report(report: &SyncReport) {
    let s = &report.stats;
    println!(
        "Synced with {}: sent {} change(s), received {} change(s) in {} incident(s), {} membership entr{}.",
        report.peer,
        s.changes_sent,
        s.changes_received,
        s.incidents_updated,
        s.members_received,
        if s.members_received == 1 { "y" } else { "ies" }
    );
    if s.refused > 0 {
        println!(
            "Refused {} item(s) from the peer (see the log for why).",
            s.refused
        );
    }
    if s.peer_refused.unwrap_or(0) > 0 {
        println!("The peer refused {} of ours.", s.peer_refused.unwrap_or(0));
    }
    if s.incomplete > 0 {
        println!(
            "{} change(s) arrived without their history; the next sync completes them.",
            s.incomplete
        );
    }
    println!(
        "{} round trip(s), {} sent, {} received, {} ms.",
        s.round_trips,
        human_bytes(report.stream_bytes_sent),
        human_bytes(report.stream_bytes_received),
        report.duration.as_millis()
    );
}

/// `vigil sync ADDR`
pub fn sync(path: &Path, addr: SocketAddr) -> Result {
    let vault = crate::open(path)?;
    let runtime = runtime()?;
    let report = runtime.block_on(async {
        let node = node(vault, vigil_core::ephemeral_address(addr))?;
        Ok::<_, CliError>(node.sync(addr).await?)
    })?;
    print_report(&report);
    Ok(())
}

/// `vigil serve`
pub fn serve(path: &Path, listen: SocketAddr, discovery: bool, sessions: Option<u64>) -> Result {
    let vault = crate::open(path)?;
    if vault.role().is_none() {
        return Err(VaultError::NoTeam.into());
    }
    let runtime = runtime()?;
    runtime.block_on(async {
        let node = Arc::new(node(vault, listen)?);
        let addr = node.local_addr()?;
        println!("Listening on {addr}");
        if discovery {
            match node.announce() {
                Ok(()) => {
                    println!("Announced on the LAN (anonymously); --no-discovery to stay silent.");
                }
                Err(e) => {
                    eprintln!("LAN discovery is unavailable here ({e}); peers can still connect by address.");
                }
            }
        }
        // What sessions store, as they store it, for whoever follows the log.
        node.vault().subscribe(|event| {
            tracing::info!(
                source = ?event.source,
                incidents = event.incidents,
                members = event.members,
                "vault changed"
            );
        });
        let done = Arc::new(AtomicU64::new(0));
        let closer = Arc::clone(&node);
        let counter = Arc::clone(&done);
        let serving = Arc::clone(&node);
        let server = tokio::spawn(async move {
            serving
                .serve(move |result| {
                    match result {
                        Ok(report) => print_report(&report),
                        Err(e) => eprintln!("A session failed: {e}"),
                    }
                    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    if sessions.is_some_and(|limit| n >= limit) {
                        closer.close();
                    }
                })
                .await;
        });
        tokio::select! {
            _ = server => {}
            _ = tokio::signal::ctrl_c() => node.close(),
        }
        Ok::<_, CliError>(())
    })
}

/// `vigil peers`
pub fn peers(seconds: u64) -> Result {
    let runtime = runtime()?;
    let found = runtime.block_on(vigil_core::browse_lan(std::time::Duration::from_secs(
        seconds.clamp(1, 60),
    )));
    let found = found.map_err(|e| CliError::Message(format!("LAN discovery failed: {e}")))?;
    if found.is_empty() {
        println!("No Vigil device announced itself on the LAN.");
    }
    for device in found {
        let addresses: Vec<String> = device.addresses.iter().map(ToString::to_string).collect();
        println!("{}", addresses.join("  "));
    }
    Ok(())
}

/// `vigil bundle ...`
pub fn bundle(command: BundleCommand, path: &Path) -> Result {
    match command {
        BundleCommand::Export { out, for_device } => {
            let vault = crate::open(path)?;
            let outcome = vault.export_bundle(&out, for_device.as_deref())?;
            println!(
                "Wrote {} change(s) to {} ({}), sealed for the team's {} active device(s).",
                outcome.changes,
                out.display(),
                human_bytes(outcome.bytes),
                outcome.recipients
            );
        }
        BundleCommand::Import { file } => {
            let mut vault = crate::open(path)?;
            let stats = vault.import_bundle(&file)?;
            println!(
                "Applied {} change(s) in {} incident(s) and {} membership entr{}; {} refused.",
                stats.changes_received,
                stats.incidents_updated,
                stats.members_received,
                if stats.members_received == 1 {
                    "y"
                } else {
                    "ies"
                },
                stats.refused
            );
        }
    }
    Ok(())
}

/// Reads a `--since` time.
fn parse_since(text: &str) -> Result<i64> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| {
            CliError::Message("--since takes a time like 2024-03-17T14:00:00+05:00".into())
        })
}
