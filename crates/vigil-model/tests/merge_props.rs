//! Property: however devices edit an incident and however their changes travel,
//! once every device has every change they all hold the same incident.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use vigil_model::document::IncidentDocument;
use vigil_model::*;

fn base() -> Incident {
    Incident {
        affected: Affected {
            count: 5,
            at_least: false,
            role: "protester".into(),
        },
        details: Default::default(),
        personal: Personal::default(),
        ..Incident::example()
    }
}

#[derive(Debug, Clone)]
enum Edit {
    City(u8),
    Count(u8),
    Status(u8),
    Hours(u8),
    AddPerson(u8),
    RemovePerson(u8),
    Describe(u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<u8>().prop_map(Edit::City),
        any::<u8>().prop_map(Edit::Count),
        any::<u8>().prop_map(Edit::Status),
        any::<u8>().prop_map(Edit::Hours),
        any::<u8>().prop_map(Edit::AddPerson),
        any::<u8>().prop_map(Edit::RemovePerson),
        any::<u8>().prop_map(Edit::Describe),
    ]
}

fn apply(incident: &mut Incident, edit: &Edit) {
    match *edit {
        Edit::City(n) => incident.place.city = format!("City {n}"),
        Edit::Count(n) => incident.affected.count = u64::from(n),
        Edit::Status(n) => incident.status = Status::ALL[usize::from(n) % 4],
        Edit::Hours(n) => {
            incident
                .details
                .insert("held_hours".into(), FieldValue::Int(i64::from(n)));
        }
        Edit::AddPerson(n) => incident
            .personal
            .persons
            .push(Person::new(format!("Person {n}"), None)),
        Edit::RemovePerson(n) => {
            if !incident.personal.persons.is_empty() {
                let i = usize::from(n) % incident.personal.persons.len();
                incident.personal.persons.remove(i);
            }
        }
        Edit::Describe(n) => incident.personal.description = format!("Account {n}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn replicas_converge(steps in prop::collection::vec((0usize..3, edit(), 0usize..3, 0usize..3), 1..40)) {
        let actors: [&[u8]; 3] = [b"device-0", b"device-1", b"device-2"];
        let (doc, first) = IncidentDocument::create(actors[0], &base(), &PersonalPart::Open(base().personal), 0, "created").unwrap();
        drop(doc);
        let mut replicas: Vec<IncidentDocument> = (0..3)
            .map(|_| IncidentDocument::from_changes([first.bytes.as_slice()]).unwrap())
            .collect();
        for (time, (who, edit, from, to)) in steps.iter().enumerate() {
            let mut incident = replicas[*who].incident().unwrap();
            apply(&mut incident, edit);
            replicas[*who].update(actors[*who], &incident, Some(&PersonalPart::Open(incident.personal.clone())), time as i64).unwrap();
            // Some pair meets and shares what one of them has.
            if from != to {
                let changes: Vec<Vec<u8>> = replicas[*from].changes().unwrap().into_iter().map(|c| c.bytes).collect();
                replicas[*to].apply(changes.iter().map(Vec::as_slice)).unwrap();
            }
        }
        let all: Vec<Vec<u8>> = replicas
            .iter_mut()
            .flat_map(|r| r.changes().unwrap().into_iter().map(|c| c.bytes))
            .collect();
        for r in &mut replicas {
            r.apply(all.iter().map(Vec::as_slice)).unwrap();
        }
        let first = replicas[0].incident().unwrap();
        for r in &replicas[1..] {
            prop_assert_eq!(&r.incident().unwrap(), &first);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Bytes from outside that claim to be changes give an error, never a panic.
    #[test]
    fn damaged_changes_are_errors(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let (_, change) = IncidentDocument::create(b"device-0", &base(), &PersonalPart::Absent, 0, "created").unwrap();
        let mut bytes = change.bytes.clone();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Ok(doc) = IncidentDocument::from_changes([bytes.as_slice()]) {
            let _ = doc.incident();
        }
        let _ = IncidentDocument::decode_change(&bytes);
    }
}
