//! Attacks on the record by a member of the team, over real QUIC on 127.0.0.1.
//!
//! The attacker joins with a genuine invitation and syncs as any observer does,
//! running Vigil's own protocol code with its own key and store; then it signs
//! whatever it likes: changes that start history again, take review decisions,
//! rewrite other members' incidents, forge the partner-import actor, number their
//! ops to win every conflict, or fork an incident. The coordinator must refuse each
//! one, say so, and keep the record as it was.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use automerge::ExpandedChange;
use vigil_core::{Format, ImportMode, Incident, IncidentId, Role, Status};
use vigil_crypto::{DeviceKey, DevicePublicKey};
use vigil_model::Taxonomy;
use vigil_model::document::{IncidentDocument, PersonalPart, import_actor};
use vigil_net::{Connection, Endpoint};
use vigil_store::{Store, StoreRead};
use vigil_sync::wire::{WireChange, WireEntry};
use vigil_sync::{Frame, Session};
use vigil_team::membership::{Action, Entry, SignedEntry};
use vigil_team::signing;
use vigil_team::{Roster, sealing};

mod common;
use common::{Anyone, Device, coordinator, founder, joined};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A member turned hostile: its own key, store and roster, and Vigil's protocol.
struct Rogue {
    key: DeviceKey,
    endpoint: Endpoint,
    store: Store,
    roster: Roster,
    _dir: tempfile::TempDir,
}

impl Rogue {
    /// Joins `hq`'s team as an observer with a genuine invitation, and syncs.
    async fn join(hq: &Device) -> Self {
        Self::join_as(hq, Role::Observer).await
    }

    /// Joins `hq`'s team with `role`, and syncs.
    async fn join_as(hq: &Device, role: Role) -> Self {
        let key = DeviceKey::generate();
        let endpoint = Endpoint::bind(
            "127.0.0.1:0".parse().unwrap(),
            &key,
            Arc::new(Anyone),
            vigil_sync::MAX_FRAME,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("rogue.db"), &[9; 32]).unwrap();
        let invite = hq.invite(role);
        let connection = endpoint.connect(hq.addr(), None).await.unwrap();
        let mut stream = connection.open_stream().await.unwrap();
        let join = Frame::Join {
            secret: *invite.secret,
            label: "rogue".into(),
        };
        stream.send(&join.encode()).await.unwrap();
        let Frame::Welcome { team } =
            Frame::decode(&stream.recv().await.unwrap().unwrap()).unwrap()
        else {
            panic!("not welcomed");
        };
        let roster = Roster::from_rows(team, &[]).0;
        let mut rogue = Self {
            key,
            endpoint,
            store,
            roster,
            _dir: dir,
        };
        rogue.session(stream).await;
        rogue
    }

    /// One whole session on `stream`, as the side that connected.
    async fn session(&mut self, mut stream: vigil_net::FrameStream) {
        let taxonomy = Taxonomy::default_taxonomy();
        let mut session = Session::initiate(&self.store, &self.key, &taxonomy).unwrap();
        for frame in session.drain(&self.store, &self.roster).unwrap() {
            stream.send(&frame).await.unwrap();
        }
        while !session.is_finished() {
            let Some(bytes) = stream.recv().await.unwrap() else {
                session.peer_closed();
                break;
            };
            let out = session
                .answer(&bytes, &mut self.store, &mut self.roster)
                .unwrap();
            for frame in out {
                stream.send(&frame).await.unwrap();
            }
        }
    }

    async fn connect(&self, hq: &Device) -> Connection {
        self.endpoint.connect(hq.addr(), None).await.unwrap()
    }

    /// Syncs again, to learn what the team wrote since.
    async fn sync(&mut self, hq: &Device) {
        let connection = self.connect(hq).await;
        let stream = connection.open_stream().await.unwrap();
        self.session(stream).await;
    }

    /// Sends `changes` in one frame; returns what `hq` says it stored and refused.
    async fn push(&self, hq: &Device, changes: Vec<WireChange>) -> (u64, u64) {
        self.push_frame(hq, Frame::Changes(changes)).await
    }

    /// Sends one frame, then ends the session; returns what the peer says it
    /// stored and refused.
    async fn push_frame(&self, hq: &Device, frame: Frame) -> (u64, u64) {
        let connection = self.connect(hq).await;
        let mut stream = connection.open_stream().await.unwrap();
        common::push(&mut stream, frame).await
    }

    fn actor(&self) -> [u8; 32] {
        self.key.public().to_bytes()
    }

    /// The incident as this device holds it.
    fn doc(&self, id: &IncidentId) -> IncidentDocument {
        let changes = self.store.changes_of(id).unwrap();
        assert!(!changes.is_empty(), "the rogue holds the incident");
        IncidentDocument::from_changes(changes.iter().map(Vec::as_slice)).unwrap()
    }

    /// A genuine change, made by Automerge on the incident as held here: `edit`
    /// changes the public part, `personal` replaces the personal part if given.
    fn edit(
        &self,
        id: &IncidentId,
        edit: impl FnOnce(&mut Incident),
        personal: Option<PersonalPart>,
    ) -> Vec<u8> {
        let mut doc = self.doc(id);
        let mut incident = doc.incident().unwrap();
        edit(&mut incident);
        doc.update(&self.actor(), &incident, personal.as_ref(), now())
            .unwrap()
            .expect("the edit changes something")
            .bytes
    }

    /// Signs the bytes of a change to `id` with the rogue's key.
    fn sign(&self, id: &IncidentId, bytes: Vec<u8>) -> WireChange {
        let change = IncidentDocument::decode_change(&bytes).unwrap();
        WireChange::from(signing::sign(&self.key, id, change))
    }

    /// Logs an incident of its own and hands it in to `hq`.
    async fn log(&mut self, hq: &Device) -> IncidentId {
        self.log_as(hq, IncidentId::random()).await
    }

    /// Logs an incident of its own under `id` and hands it in to `hq`.
    async fn log_as(&mut self, hq: &Device, id: IncidentId) -> IncidentId {
        let mut incident = Incident::example();
        incident.id = id;
        incident.status = Status::Submitted;
        let (_, change) = IncidentDocument::create(
            &self.actor(),
            &incident,
            &PersonalPart::Absent,
            now(),
            "created",
        )
        .unwrap();
        let wire = self.sign(&incident.id, change.bytes);
        assert_eq!(self.push(hq, vec![wire]).await, (1, 0));
        self.sync(hq).await;
        incident.id
    }
}

/// Rewrites a genuine change as an attacker's tool would: same kind of ops, any
/// dependencies, any op counter.
fn forge(bytes: &[u8], edit: impl FnOnce(&mut ExpandedChange)) -> Vec<u8> {
    let change = automerge::Change::from_bytes(bytes.to_vec()).unwrap();
    let mut expanded = ExpandedChange::from(&change);
    edit(&mut expanded);
    automerge::Change::from(expanded).bytes().into_owned()
}

fn status_of(hq: &Device, id: &IncidentId) -> Status {
    hq.vault().get(id).unwrap().status
}

/// An observer's incident, verified by the coordinator, and a rogue member that
/// holds it.
async fn reviewed_incident() -> (Device, Device, Rogue, IncidentId) {
    let hq = coordinator();
    let field = joined(&hq, Role::Observer, "field").await;
    let id = field.log("Almaty");
    field.node.sync(hq.addr()).await.unwrap();
    hq.vault()
        .edit(&id, |i| {
            i.status = Status::Verified;
            Ok(())
        })
        .unwrap();
    let rogue = Rogue::join(&hq).await;
    (hq, field, rogue, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_cannot_undo_a_review() {
    let (hq, _field, rogue, id) = reviewed_incident().await;
    let history = hq.vault().history(&id).unwrap().len();

    // The status put back to `submitted`, made as a first change (no dependencies)
    // whose op counter outruns every other write: Automerge would take it as
    // concurrent with everything, and let it win.
    let undo = rogue.edit(&id, |i| i.status = Status::Submitted, None);
    let restart = forge(&undo, |c| {
        c.deps.clear();
        c.start_op = std::num::NonZeroU64::new(1_000_000).unwrap();
    });
    // The same, written on top of the review, as a plain edit would be.
    let on_top = undo.clone();
    let pushed = rogue
        .push(&hq, vec![rogue.sign(&id, restart), rogue.sign(&id, on_top)])
        .await;
    assert_eq!(pushed, (0, 2), "both refused");
    assert_eq!(status_of(&hq, &id), Status::Verified);
    assert_eq!(hq.vault().history(&id).unwrap().len(), history);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_cannot_rewrite_another_members_incident() {
    let (hq, _field, rogue, id) = reviewed_incident().await;
    let before = hq.vault().get(&id).unwrap();
    let history = hq.vault().history(&id).unwrap().len();

    let city = rogue.edit(&id, |i| i.place.city = "Nowhere".into(), None);
    // Another seal, which the coordinator would open as intact: sealed boxes do
    // not say who sealed them.
    let hq_key = DevicePublicKey::from_bytes(
        &hq.vault()
            .members()
            .unwrap()
            .into_iter()
            .find(|m| m.role == Role::Coordinator)
            .unwrap()
            .device,
    )
    .unwrap();
    let mut fake = Incident::example().personal;
    fake.description = "made up".into();
    let seal = sealing::seal(&[hq_key], &id, &fake).unwrap();
    let reseal = rogue.edit(
        &id,
        |i| i.place.city = "Elsewhere".into(),
        Some(PersonalPart::Sealed(seal)),
    );
    let pushed = rogue
        .push(&hq, vec![rogue.sign(&id, city), rogue.sign(&id, reseal)])
        .await;
    assert_eq!(pushed, (0, 2));
    let after = hq.vault().get(&id).unwrap();
    assert_eq!(after, before, "nothing of it changed, names included");
    assert_eq!(hq.vault().history(&id).unwrap().len(), history);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_cannot_write_as_a_partner_import_or_past_the_taxonomy() {
    let hq = coordinator();
    let mut rogue = Rogue::join(&hq).await;
    let before = hq.ids().len();

    // A new incident whose history would say "partner import".
    let mut incident = Incident::example();
    incident.id = IncidentId::random();
    incident.status = Status::Submitted;
    let (_, imported) = IncidentDocument::create(
        &import_actor(&incident.id),
        &incident,
        &PersonalPart::Absent,
        now(),
        "imported",
    )
    .unwrap();
    let forged_import = rogue.sign(&incident.id, imported.bytes);
    assert_eq!(rogue.push(&hq, vec![forged_import]).await, (0, 1));
    assert_eq!(hq.ids().len(), before);

    // On its own incident: a count no taxonomy allows, a category that does not
    // exist, and ops numbered to win every conflict.
    let own = rogue.log(&hq).await;
    let huge = rogue.edit(&own, |i| i.affected.count = 1 << 62, None);
    let unknown = rogue.edit(&own, |i| i.category = "invented".into(), None);
    let honest = rogue.edit(&own, |i| i.place.city = "Shymkent".into(), None);
    let ahead = forge(&honest, |c| {
        c.start_op = std::num::NonZeroU64::new(c.start_op.get() + 1_000_000).unwrap();
    });
    let pushed = rogue
        .push(
            &hq,
            vec![
                rogue.sign(&own, huge),
                rogue.sign(&own, unknown),
                rogue.sign(&own, ahead),
            ],
        )
        .await;
    assert_eq!(pushed, (0, 3));
    // Its own incident, edited as Vigil edits: taken.
    assert_eq!(
        rogue.push(&hq, vec![rogue.sign(&own, honest)]).await,
        (1, 0)
    );
    let stored = hq.vault().get(&own).unwrap();
    assert_eq!(stored.place.city, "Shymkent");
    assert_eq!(stored.affected.count, Incident::example().affected.count);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_keeps_its_reviewed_incident_as_reviewed() {
    let hq = coordinator();
    let mut rogue = Rogue::join(&hq).await;
    let own = rogue.log(&hq).await;
    hq.vault()
        .edit(&own, |i| {
            i.status = Status::Rejected;
            Ok(())
        })
        .unwrap();
    rogue.sync(&hq).await;
    let unreject = rogue.edit(&own, |i| i.status = Status::Submitted, None);
    let hq_key = hq
        .vault()
        .members()
        .unwrap()
        .into_iter()
        .find(|m| m.role == Role::Coordinator)
        .unwrap()
        .device;
    let seal = sealing::seal(
        &[DevicePublicKey::from_bytes(&hq_key).unwrap()],
        &own,
        &Incident::example().personal,
    )
    .unwrap();
    let renamed = rogue.edit(&own, |_| {}, Some(PersonalPart::Sealed(seal)));
    let pushed = rogue
        .push(
            &hq,
            vec![rogue.sign(&own, unreject), rogue.sign(&own, renamed)],
        )
        .await;
    assert_eq!(pushed, (0, 2));
    assert_eq!(status_of(&hq, &own), Status::Rejected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forked_incident_is_caught_and_its_author_refused_after() {
    let hq = coordinator();
    let mut rogue = Rogue::join(&hq).await;
    let own = rogue.log(&hq).await;
    // Two different changes made on the same state: one actor, one sequence number.
    let one = rogue.edit(&own, |i| i.place.city = "Taraz".into(), None);
    let other = rogue.edit(&own, |i| i.place.city = "Aktau".into(), None);
    assert_eq!(
        rogue.push(&hq, vec![rogue.sign(&own, one.clone())]).await,
        (1, 0)
    );
    assert_eq!(rogue.push(&hq, vec![rogue.sign(&own, other)]).await, (0, 1));
    let caught = hq.vault().equivocations().unwrap();
    assert_eq!(caught.len(), 1, "{caught:?}");
    assert_eq!(caught[0].incident, own);
    assert_eq!(caught[0].label.as_deref(), Some("rogue"));
    assert_eq!(
        caught[0].device,
        DevicePublicKey::from_bytes(&rogue.actor())
            .unwrap()
            .fingerprint()
    );

    // Its later changes, even honest ones built on what was taken, are refused.
    let mut doc = IncidentDocument::from_changes(
        rogue
            .store
            .changes_of(&own)
            .unwrap()
            .iter()
            .map(Vec::as_slice)
            .chain([one.as_slice()]),
    )
    .unwrap();
    let mut incident = doc.incident().unwrap();
    incident.place.city = "Atyrau".into();
    let later = doc
        .update(&rogue.actor(), &incident, None, now())
        .unwrap()
        .unwrap();
    assert_eq!(
        rogue.push(&hq, vec![rogue.sign(&own, later.bytes)]).await,
        (0, 1)
    );
    assert_eq!(hq.vault().get(&own).unwrap().place.city, "Taraz");
    // What the coordinator is told is in the vault: another opening reads it.
    let reopened = vigil_core::Vault::open(&hq.path(), common::PASS).unwrap();
    assert_eq!(reopened.equivocations().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_report_id_claimed_first_by_a_member_is_pointed_out_at_import() {
    let hq = coordinator();
    let mut rogue = Rogue::join(&hq).await;
    let partner = Device::new();
    let report = partner.log("Karaganda");
    let other = partner.log("Pavlodar");
    let mut file = Vec::new();
    partner
        .vault()
        .export(&mut file, Format::Jsonl, &[])
        .unwrap();
    // The rogue saw the partner's file, and logs an incident of its own under one
    // of its report ids before the coordinator imports it.
    rogue.log_as(&hq, report.clone()).await;
    let import = || {
        hq.vault()
            .import(file.as_slice(), Format::Jsonl, ImportMode::AllOrNothing)
            .unwrap()
    };
    let first = import();
    assert_eq!(
        (first.added, first.already_present, first.claimed),
        (1, 1, 1)
    );
    // Imported twice, a report is only already present.
    let again = import();
    assert_eq!(
        (again.added, again.already_present, again.claimed),
        (0, 2, 1)
    );
    assert!(hq.ids().contains(&other));
    // A history says who vouched for each change: the import, by the coordinator
    // that imported it; the claimed id's first change, by the rogue.
    let imported = hq.vault().history(&other).unwrap();
    assert_eq!(
        imported[0].signer.as_deref(),
        Some(hq.fingerprint().as_str())
    );
    assert_eq!(
        hq.vault().author_label(&imported[0].actor),
        "partner import"
    );
    let claimed = hq.vault().history(&report).unwrap();
    let rogue_fp = DevicePublicKey::from_bytes(&rogue.actor())
        .unwrap()
        .fingerprint();
    assert_eq!(claimed[0].signer.as_deref(), Some(rogue_fp.as_str()));
}

/// An entry signed by `signer` naming only `deps`, whatever it had seen.
fn entry_from_the_past(
    team: [u8; 32],
    signer: &DeviceKey,
    deps: &[&SignedEntry],
    action: Action,
) -> WireEntry {
    let entry = Entry {
        team,
        signer: signer.public().to_bytes(),
        deps: deps.iter().map(|d| d.hash).collect(),
        clock: deps.iter().map(|d| d.entry.clock + 1).max().unwrap_or(0),
        time: now(),
        action,
    };
    let signed = SignedEntry::sign(entry, signer).unwrap();
    WireEntry {
        bytes: signed.bytes,
        signature: signed.signature.to_vec(),
    }
}

fn active_coordinators(device: &Device) -> Vec<String> {
    device
        .vault()
        .members()
        .unwrap()
        .into_iter()
        .filter(|m| !m.revoked && m.role == Role::Coordinator)
        .map(|m| m.fingerprint())
        .collect()
}

/// The takeover an adversarial review found, over QUIC: a seized coordinator phone,
/// revoked by the founder, revokes the founder naming only the founding entry (so
/// that its low clock reads first) and makes an accomplice coordinator; the
/// accomplice, a key nobody knows, dials the founder's `serve` with that as its
/// proof. Nothing of it is stored by the founder. The thief also hands the entries
/// to an observer that has not heard of the revocation yet: naming a past in which
/// the thief was no coordinator, they are refused even there; naming the entry that
/// made it one, they are taken (the observer cannot know better yet), and the
/// observer is cut off from the founder until the revocation or the recovery code
/// reaches it (the bundle test below goes on to both).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_coordinator_cannot_take_the_team_over() {
    let hq = coordinator();
    let thief = Rogue::join_as(&hq, Role::Coordinator).await;
    let field = joined(&hq, Role::Observer, "field").await;
    let thief_fp = DevicePublicKey::from_bytes(&thief.actor())
        .unwrap()
        .fingerprint();
    hq.vault().revoke(&thief_fp, None).unwrap();
    let entries_before = hq.vault().members().unwrap();

    let founding = thief
        .roster
        .entries()
        .into_iter()
        .find(|e| e.entry.deps.is_empty())
        .unwrap()
        .clone();
    let team = thief.roster.team();
    let accomplice = DeviceKey::generate();
    let hq_key = DevicePublicKey::from_bytes(&team).unwrap();
    // Naming the entry that made it coordinator, and not what came after (the
    // revocation): the lowest past in which the thief's key signs at all.
    let made_coordinator = thief
        .roster
        .entries()
        .into_iter()
        .find(|e| matches!(e.entry.action, Action::Add { device, .. } if device == thief.actor()))
        .unwrap()
        .clone();
    // Naming only the founding entry, where the key was no coordinator yet, is
    // refused even by a device that has not heard of the revocation (rule 2).
    let too_early = vec![entry_from_the_past(
        team,
        &thief.key,
        &[&founding],
        Action::Revoke {
            device: hq_key.to_bytes(),
            cutoff: now(),
        },
    )];
    let take_over = vec![
        entry_from_the_past(
            team,
            &thief.key,
            &[&made_coordinator],
            Action::Revoke {
                device: hq_key.to_bytes(),
                cutoff: now(),
            },
        ),
        entry_from_the_past(
            team,
            &thief.key,
            &[&made_coordinator],
            Action::Add {
                device: accomplice.public().to_bytes(),
                role: Role::Coordinator,
                label: "deputy".into(),
            },
        ),
    ];

    // The accomplice proves "membership" to the founder's serve.
    let endpoint = Endpoint::bind(
        "127.0.0.1:0".parse().unwrap(),
        &accomplice,
        Arc::new(Anyone),
        vigil_sync::MAX_FRAME,
    )
    .unwrap();
    let connection = endpoint.connect(hq.addr(), None).await.unwrap();
    let mut stream = connection.open_stream().await.unwrap();
    let opening = Frame::Done {
        accepted: 0,
        refused: 0,
        reply: true,
    };
    stream.send(&opening.encode()).await.unwrap();
    let asked = stream.recv().await.unwrap().unwrap();
    assert_eq!(Frame::decode(&asked).unwrap(), Frame::Prove);
    stream
        .send(&Frame::Members(take_over.clone()).encode())
        .await
        .unwrap();
    assert!(!matches!(stream.recv().await, Ok(Some(_))), "cut off");
    assert_eq!(hq.vault().members().unwrap(), entries_before);

    // The observer, which has not heard of the revocation, takes the entries from
    // the thief (a coordinator as far as it knows) and relays them.
    let field_device = field;
    let (taken, _) = thief
        .push_frame(&field_device, Frame::Members(too_early))
        .await;
    assert_eq!(taken, 0, "no coordinator in the past it names");
    let (taken, _) = thief
        .push_frame(&field_device, Frame::Members(take_over))
        .await;
    assert_eq!(taken, 2, "the observer did not know better yet");
    // Taking the thief's word, the observer holds the founder revoked and does not
    // dial it; the founder, which stored nothing, is refused by it too. That is the
    // denial rule 5 leaves, which the recovery code ends (next test).
    assert!(field_device.node.sync(hq.addr()).await.is_err());
    assert!(hq.node.sync(field_device.addr()).await.is_err());
    assert_eq!(
        hq.vault().members().unwrap(),
        entries_before,
        "nothing stored"
    );
    assert_eq!(active_coordinators(&hq), vec![hq.fingerprint()]);
}

/// The same on a file, with the vault's own commands: a coordinator's phone,
/// seized, revokes the founder (it has not heard of its own revocation, or says
/// so) and exports a bundle. The founder refuses the bundle whole. An observer that
/// imports it before hearing of the revocation takes the thief's word for a while;
/// once any member brings it the founder's revocation, the thief is a coordinator
/// nowhere. The two revocations break each other, so both stand (membership rule
/// 5): the founder loses the role too, on every device that holds both, and the
/// team is left without a coordinator until the recovery code appoints one (rule
/// 6), which the thief's revocations cannot touch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_coordinators_bundle_takes_nothing_over() {
    let (hq, code) = founder();
    let seized = joined(&hq, Role::Coordinator, "deputy").await;
    let field = joined(&hq, Role::Observer, "field").await;
    let relay = joined(&hq, Role::Observer, "relay").await;
    seized.node.sync(hq.addr()).await.unwrap();
    hq.vault().revoke(&seized.fingerprint(), None).unwrap();
    relay.node.sync(hq.addr()).await.unwrap();
    let before = hq.vault().members().unwrap();

    seized.vault().revoke(&hq.fingerprint(), None).unwrap();
    seized.log("Kokshetau");
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("takeover.vigil");
    seized.vault().export_bundle(&bundle, None).unwrap();

    // The seized vault no longer seals to the founder it revoked; a thief's own
    // tool sealing to it anyway meets the exporter check (`sync.rs`, bundles).
    assert!(hq.vault().import_bundle(&bundle).is_err());
    assert_eq!(hq.vault().members().unwrap(), before);

    field.vault().import_bundle(&bundle).unwrap();
    assert_eq!(active_coordinators(&field), vec![seized.fingerprint()]);
    // The founder is revoked as far as the observer knows: it will not dial it.
    assert!(field.node.sync(hq.addr()).await.is_err());
    // A member that knows better brings the founder's revocation of the thief.
    relay.node.sync(field.addr()).await.unwrap();
    for device in [&field, &relay] {
        let members = device.vault().members().unwrap();
        let thief = members
            .iter()
            .find(|m| m.fingerprint() == seized.fingerprint())
            .unwrap();
        assert!(thief.revoked, "the thief is a coordinator nowhere");
        assert_eq!(active_coordinators(device), Vec::<String>::new());
    }
    // Both hold everything, and now refuse the founder as revoked; the founder,
    // which took nothing from the thief, still reads itself the coordinator.
    assert!(relay.node.sync(hq.addr()).await.is_err());
    assert_eq!(active_coordinators(&hq), vec![hq.fingerprint()]);

    // The founder's holder, with the recovery code, appoints the relay's device.
    let appointee = relay.fingerprint();
    let recovery = relay
        .vault()
        .recover(code.as_str(), &[appointee], None)
        .unwrap();
    assert_eq!(recovery.revoked.len(), 2, "the founder and the thief");
    relay.node.sync(field.addr()).await.unwrap();
    for device in [&field, &relay] {
        assert_eq!(active_coordinators(device), vec![relay.fingerprint()]);
    }
    // The thief's bundle, brought again, changes nothing; what the field submits
    // now is sealed to the relay.
    field.vault().import_bundle(&bundle).ok();
    assert_eq!(active_coordinators(&field), vec![relay.fingerprint()]);
    assert_eq!(field.vault().sealing_recipients().len(), 1);
    let id = field.log("Pavlodar");
    field.node.sync(relay.addr()).await.unwrap();
    let (_, access) = relay.vault().read(&id).unwrap();
    assert_eq!(access, vigil_core::PersonalAccess::Readable);
}

/// An observer brings reports it kept in a file (logged offline, say): they are its
/// own, made by its device, and the coordinator takes them, where it refuses a
/// member's writes under the partner-import actor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observers_import_is_its_own_reports() {
    let hq = coordinator();
    let field = joined(&hq, Role::Observer, "field").await;
    let notebook = Device::new();
    let id = notebook.log("Turkestan");
    let mut file = Vec::new();
    notebook
        .vault()
        .export(&mut file, Format::Jsonl, &[])
        .unwrap();
    let outcome = field
        .vault()
        .import(file.as_slice(), Format::Jsonl, ImportMode::AllOrNothing)
        .unwrap();
    assert_eq!(outcome.added, 1);
    let report = field.node.sync(hq.addr()).await.unwrap();
    assert_eq!(report.stats.peer_refused, Some(0));
    assert!(hq.ids().contains(&id));
    let history = hq.vault().history(&id).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        history[0].signer.as_deref(),
        Some(field.fingerprint().as_str())
    );
    assert_ne!(hq.vault().author_label(&history[0].actor), "partner import");
}
