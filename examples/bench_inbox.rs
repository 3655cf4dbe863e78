//! Benchmark of the inbox on a long incident: prints figures, asserts nothing.
//!
//! Issue 12, attack 4: a member sends changes built to be refused only after they
//! are applied (here an unknown category, each built on the incident's head, so
//! each applies). Going back to what holds after each used to reload the incident
//! from all its stored changes; it now copies the document. The row beside it is
//! the baseline: as many honest edits of the same incident in one batch.
//!
//! ```text
//! cargo run --release --example bench_inbox
//! ```

use std::error::Error;
use std::time::{Duration, Instant};

use vigil_crypto::DeviceKey;
use vigil_model::document::{IncidentDocument, PersonalPart};
use vigil_model::{Incident, IncidentId, Taxonomy};
use vigil_store::{Store, StoreRead};
use vigil_sync::wire::WireChange;
use vigil_sync::{Inbox, MAX_UNDONE_PER_INCIDENT};
use vigil_team::membership::{Action, Role, Roster};
use vigil_team::signing::sign;

const HISTORY: usize = 3_000;
const BATCH: usize = 200;

fn main() -> Result<(), Box<dyn Error>> {
    let coordinator = DeviceKey::generate();
    let observer = DeviceKey::generate();
    let (mut roster, _) = Roster::found(&coordinator, "hq", &DeviceKey::generate().public(), 1)?;
    let add = Action::Add {
        device: observer.public().to_bytes(),
        role: Role::Observer,
        label: "field".into(),
    };
    let entry = roster.make_entry(&coordinator, add, 2)?;
    roster.insert(entry)?;

    let dir = tempfile::tempdir()?;
    let mut store = Store::create(&dir.path().join("vault.db"), &[7; 32])?;
    store.write(|w| {
        for e in roster.entries() {
            w.insert_member_entry(&e.to_row())?;
        }
        Ok::<_, vigil_store::StoreError>(())
    })?;
    let taxonomy = Taxonomy::default_taxonomy();
    let mut inbox = Inbox::new(&coordinator, &taxonomy);

    // The observer's incident and its long history of edits.
    let actor = observer.public().to_bytes();
    let mut incident = Incident::example();
    incident.id = IncidentId::random();
    let (mut doc, created) = IncidentDocument::create(
        &actor,
        &incident,
        &PersonalPart::Absent,
        1_700_000_000,
        "created",
    )?;
    let mut history = vec![WireChange::from(sign(&observer, &incident.id, created))];
    for i in 0..HISTORY {
        incident.place.city = format!("City {i}");
        let change = doc
            .update(&actor, &incident, None, 1_700_000_001 + i as i64)?
            .ok_or("no change")?;
        history.push(WireChange::from(sign(&observer, &incident.id, change)));
    }
    let started = Instant::now();
    for batch in history.chunks(500) {
        inbox.accept_changes(&mut store, &roster, batch.to_vec())?;
    }
    let loaded = started.elapsed();
    let reload = {
        let started = Instant::now();
        let _ = IncidentDocument::from_changes(
            store.changes_of(&incident.id)?.iter().map(Vec::as_slice),
        )?;
        started.elapsed()
    };

    // Honest edits, one after the other, and edits built to be refused, each on
    // the head, so that each applies before it is judged.
    let mut honest = Vec::new();
    let mut ahead = doc.clone();
    for i in 0..BATCH {
        incident.place.city = format!("Town {i}");
        let change = ahead
            .update(&actor, &incident, None, 1_700_100_000 + i as i64)?
            .ok_or("no change")?;
        honest.push(WireChange::from(sign(&observer, &incident.id, change)));
    }
    let mut hostile = Vec::new();
    for i in 0..BATCH {
        let mut broken = incident.clone();
        broken.category = format!("no_such_category_{i}");
        let change = doc
            .clone()
            .update(&actor, &broken, None, 1_700_200_000)?
            .ok_or("no change")?;
        hostile.push(WireChange::from(sign(&observer, &incident.id, change)));
    }

    let time = |inbox: &mut Inbox, store: &mut Store, batch: Vec<WireChange>| {
        let before = inbox.tally;
        let started = Instant::now();
        inbox.accept_changes(store, &roster, batch)?;
        let took = started.elapsed();
        let after = inbox.tally;
        Ok::<_, Box<dyn Error>>((
            took,
            after.changes - before.changes,
            after.refused - before.refused,
        ))
    };
    let (refused_time, _, refused) = time(&mut inbox, &mut store, hostile)?;
    let (honest_time, accepted, _) = time(&mut inbox, &mut store, honest)?;

    println!(
        "incident of {} changes, loaded in {loaded:.2?} by batches of 500",
        HISTORY + 1
    );
    println!("one reload of it from the store: {reload:.2?}");
    println!(
        "{BATCH} edits built to be refused: {} refused in {} (at most {MAX_UNDONE_PER_INCIDENT} applied and undone)",
        refused,
        ms(refused_time)
    );
    println!(
        "baseline, {BATCH} honest edits: {accepted} applied in {}",
        ms(honest_time)
    );
    println!(
        "before this change each refusal reloaded the incident: about {} for the {BATCH}",
        ms(reload * BATCH as u32)
    );
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
