//! Benchmark of the membership reading: prints figures, asserts nothing.
//!
//! A team's log is read in full at every open and once per inserted entry
//! (`vigil_team::membership`). This measures both for teams of growing size, each
//! beside a baseline of the same size without revocations (where the rules about
//! breaking and overruling have nothing to do), so the cost of those rules shows.
//!
//! ```text
//! cargo run --release --example bench_membership
//! ```

use std::error::Error;
use std::time::Instant;

use vigil_crypto::DeviceKey;
use vigil_model::MemberEntryRow;
use vigil_team::membership::{Action, Role, Roster, SignedEntry};

/// A team of `coordinators` coordinators (each added by the previous one, so
/// chains of authority are as deep as they get) and `observers` observers added
/// round-robin by them, then `revocations` coordinators revoked by the founder.
fn team(
    coordinators: usize,
    observers: usize,
    revocations: usize,
) -> Result<([u8; 32], Vec<MemberEntryRow>), Box<dyn Error>> {
    let founder = DeviceKey::generate();
    let (mut roster, _) = Roster::found(&founder, "founder", &DeviceKey::generate().public(), 1)?;
    let mut keys = vec![founder];
    let mut time = 2;
    for i in 0..coordinators {
        let key = DeviceKey::generate();
        let add = Action::Add {
            device: key.public().to_bytes(),
            role: Role::Coordinator,
            label: format!("c{i}"),
        };
        let entry = roster.make_entry(&keys[i], add, time)?;
        roster.insert(entry)?;
        keys.push(key);
        time += 1;
    }
    for i in 0..observers {
        let add = Action::Add {
            device: DeviceKey::generate().public().to_bytes(),
            role: Role::Observer,
            label: format!("o{i}"),
        };
        let entry = roster.make_entry(&keys[i % keys.len()], add, time)?;
        roster.insert(entry)?;
        time += 1;
    }
    for key in keys.iter().rev().take(revocations) {
        let revoke = Action::Revoke {
            device: key.public().to_bytes(),
            cutoff: time,
        };
        let entry = roster.make_entry(&keys[0], revoke, time)?;
        roster.insert(entry)?;
        time += 1;
    }
    let rows = roster.entries().iter().map(|e| e.to_row()).collect();
    Ok((roster.team(), rows))
}

/// Median of `runs` timings of `f`, in microseconds.
fn median_us(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn main() -> Result<(), Box<dyn Error>> {
    println!(
        "{:>8} {:>6} {:>6} | {:>12} {:>12} | {:>14}",
        "entries", "coord", "revoked", "open µs", "baseline µs", "one insert µs"
    );
    for (coordinators, observers, revocations) in
        [(3, 20, 1), (10, 100, 3), (30, 300, 10), (50, 1000, 20)]
    {
        let (team_id, rows) = team(coordinators, observers, revocations)?;
        let (base_id, baseline) = team(coordinators, observers + revocations, 0)?;
        let open = median_us(21, || drop(Roster::from_rows(team_id, &rows)));
        let base = median_us(21, || drop(Roster::from_rows(base_id, &baseline)));
        // One more entry on the full log: what sync pays per entry it receives.
        let (roster, _) = Roster::from_rows(team_id, &rows[..rows.len() - 1]);
        let last = rows.last().ok_or("empty log")?;
        let entry = SignedEntry::decode(&last.bytes, &last.signature)?;
        let insert = median_us(21, || {
            let mut copy = roster.clone();
            let _ = copy.insert(entry.clone());
        });
        println!(
            "{:>8} {:>6} {:>6} | {:>12.0} {:>12.0} | {:>14.0}",
            rows.len(),
            coordinators + 1,
            revocations,
            open,
            base,
            insert
        );
    }
    Ok(())
}
