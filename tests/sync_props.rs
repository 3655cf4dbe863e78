//! Property: whatever the devices log and edit, whichever pairs meet, and wherever a
//! connection is cut, once everyone has synced with everyone all devices hold the same
//! incidents, field for field, and print the same report. Real vaults, real QUIC on
//! 127.0.0.1; a cut is a session dropped mid-flight after a random delay.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use vigil_core::{
    Incident, IncidentId, KdfParams, ListFilter, Node, Role, Status, Vault, VaultError, VaultHandle,
};

const FAST: KdfParams = KdfParams {
    memory_kib: 8 * 1024,
    iterations: 1,
    lanes: 1,
};
const DEVICES: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Log {
        device: usize,
        people: u64,
    },
    Edit {
        device: usize,
        pick: usize,
        people: u64,
    },
    Sync {
        from: usize,
        to: usize,
    },
    CutSync {
        from: usize,
        to: usize,
        after_micros: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let device = 0..DEVICES;
    prop_oneof![
        (device.clone(), 1..50u64).prop_map(|(device, people)| Op::Log { device, people }),
        (device.clone(), any::<usize>(), 1..50u64).prop_map(|(device, pick, people)| Op::Edit {
            device,
            pick,
            people
        }),
        (device.clone(), device.clone()).prop_map(|(from, to)| Op::Sync { from, to }),
        (device.clone(), device, 0..10_000u64).prop_map(|(from, to, after_micros)| Op::CutSync {
            from,
            to,
            after_micros
        }),
    ]
}

fn lock(node: &Node) -> vigil_core::VaultGuard<'_> {
    node.vault().lock().unwrap()
}

/// Everything a device shows: its incidents (the personal parts it can read) and its
/// report.
fn snapshot(node: &Node) -> (Vec<Incident>, String) {
    let vault = lock(node);
    let mut ids: Vec<IncidentId> = vault
        .list(&ListFilter::default())
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    ids.sort();
    let incidents = ids.iter().map(|id| vault.get(id).unwrap()).collect();
    let report = vault
        .report(&[Status::Submitted, Status::Verified])
        .unwrap()
        .to_json();
    (incidents, report)
}

async fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let mut nodes: Vec<Arc<Node>> = Vec::new();
    for i in 0..DEVICES {
        let vault = Vault::create(&dir.path().join(format!("d{i}")), b"pass", FAST).unwrap();
        let node =
            Arc::new(Node::bind(VaultHandle::new(vault), "127.0.0.1:0".parse().unwrap()).unwrap());
        let serving = Arc::clone(&node);
        tokio::spawn(async move { serving.serve(|_| {}).await });
        nodes.push(node);
    }
    lock(&nodes[0]).create_team("hq").unwrap();
    for (i, node) in nodes.iter().enumerate().skip(1) {
        let addr = nodes[0].local_addr().unwrap();
        // Device 1 is a second coordinator, the others observers.
        let role = if i == 1 {
            Role::Coordinator
        } else {
            Role::Observer
        };
        let invite = lock(&nodes[0]).invite(role, 600, vec![addr]).unwrap();
        node.join(&invite, "observer").await.unwrap();
    }
    // Everyone knows everyone before the random part.
    for node in &nodes[1..] {
        node.sync(nodes[0].local_addr().unwrap()).await.unwrap();
    }

    for op in ops {
        match op {
            Op::Log { device, people } => {
                let mut incident = Incident::example();
                incident.id = IncidentId::random();
                incident.affected.count = people;
                lock(&nodes[device]).add(&incident).unwrap();
            }
            Op::Edit {
                device,
                pick,
                people,
            } => {
                let vault = &mut *lock(&nodes[device]);
                let list = vault.list(&ListFilter::default()).unwrap();
                if !list.is_empty() {
                    let id = list[pick % list.len()].id.clone();
                    let edited =
                        vault.edit_fields(&id, &[("people_count".into(), people.to_string())]);
                    // Observers change only their own incidents.
                    match edited {
                        Err(VaultError::NotCoordinator) if vault.role() == Some(Role::Observer) => {
                        }
                        other => {
                            other.unwrap();
                        }
                    }
                }
            }
            Op::Sync { from, to } if from != to => {
                nodes[from]
                    .sync(nodes[to].local_addr().unwrap())
                    .await
                    .unwrap();
            }
            Op::CutSync {
                from,
                to,
                after_micros,
            } if from != to => {
                let addr = nodes[to].local_addr().unwrap();
                let _ = tokio::time::timeout(
                    Duration::from_micros(after_micros),
                    nodes[from].sync(addr),
                )
                .await;
            }
            Op::Sync { .. } | Op::CutSync { .. } => {}
        }
    }

    // Everyone meets everyone, twice around; then the first coordinator seals again
    // for both coordinators what was sealed before the second joined or was known,
    // and everyone meets once more.
    for round in 0..3 {
        if round == 2 {
            lock(&nodes[0]).reshare().unwrap();
        }
        for from in 0..DEVICES {
            for to in 0..DEVICES {
                if from != to {
                    nodes[from]
                        .sync(nodes[to].local_addr().unwrap())
                        .await
                        .unwrap();
                }
            }
        }
    }
    // The coordinators read everything alike; every device holds the same public
    // parts, and no observer reads a name.
    let first = snapshot(&nodes[0]);
    assert_eq!(snapshot(&nodes[1]), first);
    let public = |incidents: &[Incident]| -> Vec<Incident> {
        incidents
            .iter()
            .map(|i| Incident {
                personal: Default::default(),
                ..i.clone()
            })
            .collect()
    };
    for node in &nodes[2..] {
        let (incidents, _) = snapshot(node);
        assert_eq!(incidents, public(&first.0));
    }
    for node in &nodes {
        node.close();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn devices_converge_whatever_the_meetings_and_cuts(ops in proptest::collection::vec(op(), 1..25)) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(run(ops));
    }
}
