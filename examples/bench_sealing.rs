//! Benchmark of sealed personal data: prints figures, asserts nothing.
//!
//! On the incidents of generated campaigns (10 by default: 7,290 incidents, shaped
//! like the Kazakhstan 2021 report, with names and descriptions), measures beside
//! the layout before sealing (the personal part in the open, as an Automerge map):
//! the cost of sealing and of opening one incident's personal part for one to five
//! coordinators, what an observer pays to find that a part is not for it, the bytes
//! a first change gains, and the unlock time of a vault with the default and with
//! the calibrated Argon2id parameters.
//!
//! ```text
//! cargo run --release --example bench_sealing [-- --scale 10]
//! ```

use std::error::Error;
use std::time::{Duration, Instant};

use vigil_core::{Incident, KdfParams, Taxonomy, Vault, calibrated_kdf, record};
use vigil_crypto::DeviceKey;
use vigil_model::document::{IncidentDocument, PersonalPart};
use vigil_team::sealing;

fn per_item_us(total: Duration, n: usize) -> f64 {
    total.as_secs_f64() * 1e6 / n as f64
}

fn first_change_bytes(incident: &Incident, part: &PersonalPart) -> Result<usize, Box<dyn Error>> {
    let actor = [7u8; 32];
    let (_, change) = IncidentDocument::create(&actor, incident, part, 1_700_000_000, "created")?;
    Ok(change.bytes.len())
}

fn unlock_ms(kdf: KdfParams) -> Result<f64, Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("vault");
    drop(Vault::create(&path, b"benchmark passphrase", kdf)?);
    let t = Instant::now();
    drop(Vault::open(&path, b"benchmark passphrase")?);
    Ok(t.elapsed().as_secs_f64() * 1000.0)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let scale: usize = args
        .iter()
        .position(|a| a == "--scale")
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(10), |s| s.parse())?;
    let taxonomy = Taxonomy::default_taxonomy();
    let incidents = vigil_scenario::generate(2021, scale)
        .reports
        .iter()
        .filter_map(|r| r.as_object())
        .map(|o| record::to_incident(o, &taxonomy).map_err(|e| format!("{e:?}")))
        .collect::<Result<Vec<Incident>, _>>()?;
    let n = incidents.len();
    let named = incidents
        .iter()
        .filter(|i| !i.personal.persons.is_empty())
        .count();
    println!("Vigil sealing benchmark: {n} incidents ({named} with names), release build");
    println!();
    println!(
        "| coordinators | seal / incident | open / incident (a coordinator) | an observer finds it is not for it | first change, open layout | sealed | extra bytes / incident |"
    );
    println!("|---|---|---|---|---|---|---|");
    let observer = DeviceKey::generate();
    for count in [1, 2, 3, 5] {
        let coordinators: Vec<DeviceKey> = (0..count).map(|_| DeviceKey::generate()).collect();
        let recipients: Vec<_> = coordinators.iter().map(DeviceKey::public).collect();

        let t = Instant::now();
        let sealed = incidents
            .iter()
            .map(|i| sealing::seal(&recipients, &i.id, &i.personal))
            .collect::<Result<Vec<_>, _>>()?;
        let seal = t.elapsed();

        // The last coordinator's copy of the key is the last one tried: the worst case.
        let last = &coordinators[count - 1];
        let t = Instant::now();
        for (incident, bytes) in incidents.iter().zip(&sealed) {
            sealing::open(last, &incident.id, bytes)?;
        }
        let open = t.elapsed();

        let t = Instant::now();
        for (incident, bytes) in incidents.iter().zip(&sealed) {
            let refused = sealing::open(&observer, &incident.id, bytes);
            debug_assert!(refused.is_err());
        }
        let not_for_me = t.elapsed();

        let (mut open_layout, mut sealed_layout) = (0usize, 0usize);
        for (incident, bytes) in incidents.iter().zip(&sealed) {
            open_layout +=
                first_change_bytes(incident, &PersonalPart::Open(incident.personal.clone()))?;
            sealed_layout += first_change_bytes(incident, &PersonalPart::Sealed(bytes.clone()))?;
        }
        println!(
            "| {count} | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} B | {:.0} B | {:+.0} B |",
            per_item_us(seal, n),
            per_item_us(open, n),
            per_item_us(not_for_me, n),
            open_layout as f64 / n as f64,
            sealed_layout as f64 / n as f64,
            (sealed_layout as f64 - open_layout as f64) / n as f64,
        );
    }

    let default = KdfParams::DEFAULT;
    let calibrated = calibrated_kdf(KdfParams::DEFAULT.memory_kib, Duration::from_millis(500))?;
    println!();
    println!("| unlock | Argon2id | time |");
    println!("|---|---|---|");
    println!(
        "| default parameters | {} MiB, {} passes | {:.0} ms |",
        default.memory_kib / 1024,
        default.iterations,
        unlock_ms(default)?
    );
    println!(
        "| calibrated here for 0.5 s | {} MiB, {} passes | {:.0} ms |",
        calibrated.memory_kib / 1024,
        calibrated.iterations,
        unlock_ms(calibrated)?
    );
    Ok(())
}
