//! Benchmark of the vault at campaign scale: prints figures, asserts nothing.
//!
//! Generates `--scale` campaigns (100 by default: 72,900 incidents), then measures,
//! each step in a child process of its own so that its peak memory is its own:
//! import rate, vault size per incident, unlock, open + list 10,000 from the
//! projections, the report from the projections, and beside it the naive baseline
//! that loads every Automerge document to compute the same report; then what
//! destroying the full vault costs (`vigil panic`, the duress passphrase) and the key
//! stretching calibrated for this machine.
//!
//! ```text
//! cargo run --release --example bench_vault [-- --scale 100]
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use vigil_store::StoreRead;

use vigil_core::{Format, ImportMode, KdfParams, ListFilter, Status, Vault};

const PASS: &[u8] = b"benchmark passphrase";
const DURESS: &[u8] = b"benchmark duress passphrase";
const COUNTED: &[Status] = &[Status::Submitted, Status::Verified];
/// How many incidents the `logged` step copies into a vault of their own.
const LOGGED: u64 = 10_000;

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

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// One measured step, run in this process; prints `key=value` lines for the driver.
fn step(name: &str, vault_path: &Path, file: &Path) -> Result<(), Box<dyn Error>> {
    match name {
        "import" => {
            let mut vault = Vault::create(vault_path, PASS, KdfParams::DEFAULT)?;
            let input = std::fs::File::open(file)?;
            let t = Instant::now();
            let outcome = vault.import(input, Format::Jsonl, ImportMode::AllOrNothing)?;
            println!("import_ms={}", ms(t.elapsed()));
            println!("imported={}", outcome.added);
        }
        "space" => {
            let envelope = vigil_crypto::KeyEnvelope::from_bytes(&std::fs::read(
                vault_path.join("vault.key"),
            )?)?;
            let key = envelope.open(PASS)?;
            let store = vigil_store::Store::open(&vault_path.join("vault.db"), key.expose())?;
            for (name, bytes) in store.space()? {
                println!("space {name}={bytes}");
            }
            // The change log's own bytes, by position in an incident's history.
            let ids = store.incident_ids()?;
            let mut by_position = [0usize; 3];
            for id in &ids {
                for (i, change) in store.changes_of(id)?.iter().enumerate() {
                    by_position[i.min(2)] += change.len();
                }
            }
            for (i, bytes) in by_position.iter().enumerate() {
                println!("change_bytes_{i}={}", bytes / ids.len().max(1));
            }
        }
        "logged" => {
            // The field path: each incident logged and submitted on this device, one
            // change each (an import adds a second, see `put_imported`). `file` names
            // the new vault here.
            let imported = Vault::open(vault_path, PASS)?;
            let mut logged = Vault::create(file, PASS, KdfParams::DEFAULT)?;
            let ids = imported.list(&ListFilter {
                limit: Some(LOGGED),
                ..ListFilter::default()
            })?;
            let t = Instant::now();
            for summary in &ids {
                logged.add(&imported.get(&summary.id)?)?;
            }
            println!("logged_ms={}", ms(t.elapsed()));
            println!("logged={}", ids.len());
        }
        "unlock" => {
            let bytes = std::fs::read(vault_path.join("vault.key"))?;
            let envelope = vigil_crypto::KeyEnvelope::from_bytes(&bytes)?;
            let t = Instant::now();
            let _key = envelope.open(PASS)?;
            println!("unlock_ms={}", ms(t.elapsed()));
        }
        "list" => {
            // The unlock alone, in this process, to tell it apart from the opening.
            let envelope = vigil_crypto::KeyEnvelope::from_bytes(&std::fs::read(
                vault_path.join("vault.key"),
            )?)?;
            let t = Instant::now();
            drop(envelope.open(PASS)?);
            println!("list_unlock_ms={}", ms(t.elapsed()));
            let t = Instant::now();
            let vault = Vault::open(vault_path, PASS)?;
            let opened = t.elapsed();
            let t = Instant::now();
            let page = vault.list(&ListFilter {
                limit: Some(10_000),
                ..ListFilter::default()
            })?;
            let listed = t.elapsed();
            // Once more with the pages decrypted and cached: what the rows themselves cost.
            let t = Instant::now();
            let again = vault.list(&ListFilter {
                limit: Some(10_000),
                ..ListFilter::default()
            })?;
            println!("open_ms={}", ms(opened));
            println!("list_ms={}", ms(listed));
            println!("list_again_ms={}", ms(t.elapsed()));
            println!("listed={}", page.len().min(again.len()));
        }
        "report" => {
            let vault = Vault::open(vault_path, PASS)?;
            let t = Instant::now();
            let report = vault.report(COUNTED)?;
            println!("report_ms={}", ms(t.elapsed()));
            println!("report_reports={}", report.reports);
        }
        "baseline" => {
            let vault = Vault::open(vault_path, PASS)?;
            let t = Instant::now();
            let report = vault.report_from_documents(COUNTED)?;
            println!("baseline_ms={}", ms(t.elapsed()));
            println!("baseline_reports={}", report.reports);
        }
        "panic" => {
            let t = Instant::now();
            vigil_core::wipe(vault_path)?;
            println!("panic_ms={}", ms(t.elapsed()));
        }
        "duress" => {
            // As a phone would have it: stretching calibrated to 0.5 s here.
            let calibrated = vigil_core::calibrated_kdf(
                KdfParams::DEFAULT.memory_kib,
                std::time::Duration::from_millis(500),
            )?;
            println!("duress_passes={}", calibrated.iterations);
            let vault = Vault::open(vault_path, PASS)?;
            vault.change_passphrase(PASS, PASS, Some(calibrated))?;
            vault.set_duress_passphrase(PASS, Some(DURESS))?;
            drop(vault);
            // Entering the duress passphrase: unlock, wipe, and open the empty vault.
            let t = Instant::now();
            let vault = Vault::open(vault_path, DURESS)?;
            println!("duress_ms={}", ms(t.elapsed()));
            println!("after_duress={}", vault.info()?.incidents);
        }
        "calibrate" => {
            let t = Instant::now();
            let params = vigil_core::calibrated_kdf(
                KdfParams::DEFAULT.memory_kib,
                std::time::Duration::from_millis(500),
            )?;
            println!("calibrate_ms={}", ms(t.elapsed()));
            println!("calibrated_passes={}", params.iterations);
            let envelope =
                vigil_crypto::KeyEnvelope::seal(&vigil_crypto::VaultKey::generate(), PASS, params)?;
            let t = Instant::now();
            envelope.open(PASS)?;
            println!("calibrated_unlock_ms={}", ms(t.elapsed()));
        }
        other => return Err(format!("unknown step {other}").into()),
    }
    println!("peak_mib={:.1}", peak_rss_mib());
    Ok(())
}

fn run_step(name: &str, vault: &Path, file: &Path) -> Result<Vec<(String, f64)>, Box<dyn Error>> {
    let out = Command::new(std::env::current_exe()?)
        .args(["--step", name])
        .arg(vault)
        .arg(file)
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "step {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter_map(|(k, v)| Some((k.to_owned(), v.parse().ok()?)))
        .collect())
}

fn get(figures: &[(String, f64)], key: &str) -> f64 {
    figures
        .iter()
        .find(|(k, _)| k == key)
        .map_or(f64::NAN, |(_, v)| *v)
}

/// Table rows: where a vault's bytes go, and its changes' own sizes.
fn print_space(space: &[(String, f64)], incidents: f64, how: &str) {
    let breakdown: Vec<String> = space
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("space ")?, v)))
        .filter(|(_, bytes)| **bytes / incidents >= 1.0)
        .map(|(name, bytes)| format!("{name} {:.0}", bytes / incidents))
        .collect();
    println!(
        "| where the bytes go, per {how} incident | {} | |",
        breakdown.join(", ")
    );
    println!(
        "| a {how} incident's changes, as stored | first {:.0} bytes, second {:.0}, later ones {:.0} (per incident) | |",
        get(space, "change_bytes_0"),
        get(space, "change_bytes_1"),
        get(space, "change_bytes_2"),
    );
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--step") {
        return step(&args[2], &PathBuf::from(&args[3]), &PathBuf::from(&args[4]));
    }
    let scale: usize = args
        .iter()
        .position(|a| a == "--scale")
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(100), |s| s.parse())?;

    let dir = tempfile::tempdir()?;
    let file = dir.path().join("partner.jsonl");
    let vault = dir.path().join("vault");
    let scenario = vigil_scenario::generate(2021, scale);
    std::fs::write(&file, scenario.to_jsonl())?;
    let n = scenario.reports.len() as f64;
    let file_bytes = std::fs::metadata(&file)?.len() as f64;
    drop(scenario);

    println!(
        "Vigil vault benchmark: {n} incidents ({scale} campaigns), export file {:.1} MiB",
        file_bytes / 1048576.0
    );
    let import = run_step("import", &vault, &file)?;
    let size = dir_size(&vault) as f64;
    let space = run_step("space", &vault, &file)?;
    let field = dir.path().join("field");
    let logged = run_step("logged", &vault, &field)?;
    let field_size = dir_size(&field) as f64;
    let field_space = run_step("space", &field, &file)?;
    let unlock = run_step("unlock", &vault, &file)?;
    let list = run_step("list", &vault, &file)?;
    let report = run_step("report", &vault, &file)?;
    let baseline = run_step("baseline", &vault, &file)?;
    let copy = dir.path().join("copy");
    std::fs::create_dir(&copy)?;
    for entry in std::fs::read_dir(&vault)? {
        let entry = entry?;
        std::fs::copy(entry.path(), copy.join(entry.file_name()))?;
    }
    let panic = run_step("panic", &vault, &file)?;
    let duress = run_step("duress", &copy, &file)?;
    let calibrate = run_step("calibrate", &vault, &file)?;

    let import_s = get(&import, "import_ms") / 1000.0;
    println!();
    println!("| measure | figure | goal |");
    println!("|---|---|---|");
    println!(
        "| import | {:.1} s, {:.0} incidents/s, peak {:.0} MiB | |",
        import_s,
        n / import_s,
        get(&import, "peak_mib")
    );
    println!(
        "| vault size, imported (two changes each) | {:.1} MiB, {:.0} bytes per incident | ≤ 1024 bytes |",
        size / 1048576.0,
        size / n
    );
    print_space(&space, n, "imported");
    let logged_n = get(&logged, "logged");
    println!(
        "| vault size, {:.0} incidents logged on the device (one change each) | {:.1} MiB, {:.0} bytes per incident; {:.0} incidents/s | ≤ 1024 bytes |",
        logged_n,
        field_size / 1048576.0,
        field_size / logged_n,
        logged_n / get(&logged, "logged_ms") * 1000.0
    );
    print_space(&field_space, logged_n, "logged");
    println!(
        "| unlock (Argon2id 64 MiB, 3 passes) | {:.0} ms | |",
        get(&unlock, "unlock_ms")
    );
    println!(
        "| open (incl. unlock) + list 10,000 | {:.0} ms + {:.1} ms; without the unlock: {:.0} ms; listing again (pages cached): {:.1} ms; peak {:.0} MiB | < 100 ms |",
        get(&list, "open_ms"),
        get(&list, "list_ms"),
        get(&list, "open_ms") - get(&list, "list_unlock_ms") + get(&list, "list_ms"),
        get(&list, "list_again_ms"),
        get(&list, "peak_mib")
    );
    println!(
        "| report from projections | {:.0} ms, peak {:.0} MiB | < 1 s |",
        get(&report, "report_ms"),
        get(&report, "peak_mib")
    );
    println!(
        "| baseline: report loading every document | {:.0} ms, peak {:.0} MiB | |",
        get(&baseline, "baseline_ms"),
        get(&baseline, "peak_mib")
    );
    println!(
        "| speed-up of projections over the baseline | {:.0}x | |",
        get(&baseline, "baseline_ms") / get(&report, "report_ms")
    );
    println!(
        "| `vigil panic` on the full vault ({:.1} MiB) | {:.1} ms | < 1 s |",
        size / 1048576.0,
        get(&panic, "panic_ms")
    );
    println!(
        "| duress passphrase at unlock (stretching calibrated: {} passes): unlock, wipe, open the empty vault | {:.0} ms ({} incidents after) | < 1 s |",
        get(&duress, "duress_passes"),
        get(&duress, "duress_ms"),
        get(&duress, "after_duress")
    );
    println!(
        "| calibrated key stretching (64 MiB, target 0.5 s here) | {:.0} passes, unlock {:.0} ms; calibrating took {:.0} ms | ≥ 0.5 s |",
        get(&calibrate, "calibrated_passes"),
        get(&calibrate, "calibrated_unlock_ms"),
        get(&calibrate, "calibrate_ms")
    );
    Ok(())
}
