//! The main job: a coordinator's day in one run.
//!
//! Creates an encrypted vault in a temporary folder, imports a generated partner
//! export (a campaign shaped like the Kazakhstan 2021 coalition report), logs and
//! verifies an incident by hand, prints the report, and checks its figures against
//! the ground truth the data was generated from. Needs nothing but this repository.
//!
//! ```text
//! cargo run --release --example demo [-- --seed N --scale N --lang ru]
//! ```

use std::error::Error;
use std::time::Instant;

use vigil_core::{Format, ImportMode, KdfParams, Status, Vault, render_markdown};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), Box<dyn Error>> {
    let seed: u64 = arg("--seed").map_or(Ok(2021), |s| s.parse())?;
    let scale: usize = arg("--scale").map_or(Ok(1), |s| s.parse())?;
    let lang = arg("--lang").unwrap_or_else(|| "en".into());

    let folder = tempfile::tempdir()?;
    let path = folder.path().join("coordinator.vigil");
    let passphrase = b"correct horse battery staple";

    let started = Instant::now();
    let mut vault = Vault::create(&path, passphrase, KdfParams::DEFAULT)?;
    eprintln!(
        "created vault {} (device {}) in {:.0?}",
        path.display(),
        vault.info()?.device,
        started.elapsed()
    );

    let scenario = vigil_scenario::generate(seed, scale);
    let started = Instant::now();
    let outcome = vault.import(
        scenario.to_jsonl().as_bytes(),
        Format::Jsonl,
        ImportMode::AllOrNothing,
    )?;
    eprintln!(
        "imported {} partner reports in {:.0?}",
        outcome.added,
        started.elapsed()
    );

    // An observer's report logged by hand, then verified by the coordinator.
    let cells = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let id = vault.add_fields(&cells(&[
        ("phase", "post_election"),
        ("category", "arbitrary_detention"),
        ("occurred_at", "2021-01-12T11:05:00+06:00"),
        ("region", "Almaty"),
        ("city", "Almaty"),
        ("people_count", "3"),
        ("affected_role", "activist"),
        ("persons", "Dana Omarova (activist)"),
        ("context", "protest"),
        ("held_hours", "5"),
        (
            "description",
            "Three activists held at the district police station.",
        ),
        ("status", "submitted"),
    ]))?;
    vault.edit_fields(&id, &cells(&[("status", "verified")]))?;
    drop(vault);

    // Everything survives closing and reopening the vault.
    let started = Instant::now();
    let vault = Vault::open(&path, passphrase)?;
    let opened = started.elapsed();
    let started = Instant::now();
    let report = vault.report(&[Status::Submitted, Status::Verified])?;
    let counted = started.elapsed();
    println!("{}", render_markdown(&report, vault.taxonomy(), &lang));

    // The generated figures are for the partner export alone.
    let partner_only = vault.report(&[Status::Submitted])?;
    let ours: serde_json::Value = serde_json::from_str(&partner_only.to_json())?;
    let matches = ours == scenario.expected_json();
    let info = vault.info()?;
    eprintln!(
        "vault: {} incidents, {} changes; unlocked and opened in {:.0?}; report counted in {:.1?}",
        info.incidents, info.changes, opened, counted
    );
    eprintln!(
        "figures of the partner export match the ground truth: {}",
        if matches { "yes" } else { "NO" }
    );
    eprintln!(
        "history of the hand-logged incident: {} changes",
        vault.history(&id)?.len()
    );
    if !matches {
        return Err("the report does not match the generated ground truth".into());
    }
    Ok(())
}
