//! Devices for the end-to-end tests: each a vault in its own temporary folder,
//! serving on 127.0.0.1 over real QUIC.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use vigil_core::{
    Format, ImportMode, Incident, IncidentId, Invite, KdfParams, ListFilter, Node, Role, Status,
    Vault, VaultHandle,
};

pub const PASS: &[u8] = b"sync test";

/// An attacker's policy: talks to anyone.
pub struct Anyone;

impl vigil_net::PeerPolicy for Anyone {
    fn admit(&self, _peer: &vigil_net::DevicePublicKey) -> vigil_net::Admission {
        vigil_net::Admission::Member
    }
}

/// Sends `frame` on `stream`, then `Done`; returns what the peer says it stored
/// and refused.
pub async fn push(stream: &mut vigil_net::FrameStream, frame: vigil_sync::Frame) -> (u64, u64) {
    use vigil_sync::Frame;
    stream.send(&frame.encode()).await.unwrap();
    let done = Frame::Done {
        accepted: 0,
        refused: 0,
        reply: true,
    };
    stream.send(&done.encode()).await.unwrap();
    loop {
        let frame = Frame::decode(&stream.recv().await.unwrap().unwrap()).unwrap();
        if let Frame::Done {
            accepted, refused, ..
        } = frame
        {
            return (accepted, refused);
        }
    }
}
pub const FAST: KdfParams = KdfParams {
    memory_kib: 8 * 1024,
    iterations: 1,
    lanes: 1,
};

pub struct Device {
    pub node: Arc<Node>,
    dir: tempfile::TempDir,
}

impl Device {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::create(&dir.path().join("vault"), PASS, FAST).unwrap();
        let node = Node::bind(VaultHandle::new(vault), "127.0.0.1:0".parse().unwrap()).unwrap();
        let node = Arc::new(node);
        let serving = Arc::clone(&node);
        tokio::spawn(async move { serving.serve(|_| {}).await });
        Self { node, dir }
    }

    /// The vault's folder.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("vault")
    }

    pub fn vault(&self) -> vigil_core::VaultGuard<'_> {
        self.node.vault().lock().unwrap()
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.node.local_addr().unwrap()
    }

    pub fn invite(&self, role: Role) -> Invite {
        let addr = self.addr();
        self.vault().invite(role, 600, vec![addr]).unwrap()
    }

    pub fn log(&self, city: &str) -> IncidentId {
        let mut incident = Incident::example();
        incident.id = IncidentId::random();
        incident.place.city = city.into();
        self.vault().add(&incident).unwrap()
    }

    pub fn ids(&self) -> Vec<IncidentId> {
        let mut ids: Vec<IncidentId> = self
            .vault()
            .list(&ListFilter::default())
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        ids.sort();
        ids
    }

    pub fn report(&self) -> String {
        self.vault()
            .report(&[Status::Submitted, Status::Verified])
            .unwrap()
            .to_json()
    }

    pub fn fingerprint(&self) -> String {
        self.vault().info().unwrap().device
    }

    /// Imports `scale` generated kz-2021-style campaigns (729 incidents each).
    pub fn import_campaign(&self, scale: usize) {
        let scenario = vigil_scenario::generate(2021, scale);
        self.vault()
            .import(
                scenario.to_jsonl().as_bytes(),
                Format::Jsonl,
                ImportMode::AllOrNothing,
            )
            .unwrap();
    }

    /// Another node on this device's vault, on a port of its own and not serving: for
    /// a session watched through its own progress callback.
    pub fn another_node(&self) -> Node {
        Node::bind(self.node.vault().clone(), "127.0.0.1:0".parse().unwrap()).unwrap()
    }
}

pub fn coordinator() -> Device {
    founder().0
}

/// A team's founder, with the recovery code `team create` shows once.
pub fn founder() -> (Device, vigil_core::RecoveryCode) {
    let d = Device::new();
    let code = d.vault().create_team("hq").unwrap();
    (d, code)
}

pub async fn joined(coordinator: &Device, role: Role, label: &str) -> Device {
    let d = Device::new();
    let invite = coordinator.invite(role);
    d.node.join(&invite, label).await.unwrap();
    d
}
