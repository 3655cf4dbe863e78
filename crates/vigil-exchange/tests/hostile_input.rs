//! Whatever bytes a file holds, reading it gives incidents or line errors, never a
//! panic. (A stand-in for a fuzz target, run with every test.)

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use vigil_exchange::{csv_format, jsonl};
use vigil_model::Taxonomy;

const LINE: &str = r#"{"report_id":"0d7e541a-e6d9-49c4-9b33-a9c69782277f","reported_at":"2020-12-09T17:25:00+06:00","phase":"campaign","category":"persecution","occurred_at":"2020-12-09T17:06:00+06:00","city":"Temirtau","region":"Karaganda Region","people_count":1,"count_is_lower_bound":false,"affected_role":"activist","persons":[{"name":"Timur Khamitov","role":"activist"}],"context":"campaigning","preventive":true,"legal":{"code":"CoAO","article":"488"},"description":"Warning visit."}"#;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let t = Taxonomy::default_taxonomy();
        let _ = jsonl::read(bytes.as_slice(), &t).count();
        if let Ok(rows) = csv_format::read(bytes.as_slice(), &t) {
            let _ = rows.count();
        }
    }

    #[test]
    fn mutated_reports_never_panic(cuts in prop::collection::vec((0usize..LINE.len(), any::<u8>()), 1..8)) {
        let t = Taxonomy::default_taxonomy();
        let mut bytes = LINE.as_bytes().to_vec();
        for (at, byte) in cuts {
            bytes[at] = byte;
        }
        for item in jsonl::read(bytes.as_slice(), &t) {
            if let Err(e) = item {
                prop_assert!(!e.to_string().contains("Khamitov"));
            }
        }
    }

    #[test]
    fn values_of_the_wrong_type_are_errors(key in prop::sample::select(vec![
        "people_count", "count_is_lower_bound", "persons", "preventive", "legal", "city", "context"
    ]), value in prop::sample::select(vec!["-1", "1.5", "\"x\"", "[]", "{}", "null", "true", "99999999999999999999"])) {
        let t = Taxonomy::default_taxonomy();
        let mut obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(LINE).unwrap();
        obj.insert(key.to_owned(), serde_json::from_str(value).unwrap_or(serde_json::Value::Null));
        let line = serde_json::Value::Object(obj).to_string();
        let _ = jsonl::read(line.as_bytes(), &t).next();
    }
}
