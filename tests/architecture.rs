//! The crate graph drawn in ARCHITECTURE.md, checked against every `Cargo.toml`: an
//! arrow that is not drawn there (a crate reaching up, or beside itself, or a shell
//! reaching past the core) fails here, before it becomes habit.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

/// Each crate and the Vigil crates it may use (its `[dependencies]`; tests and
/// benchmarks may use more).
const ALLOWED: &[(&str, &[&str])] = &[
    ("crates/vigil-model", &[]),
    ("crates/vigil-crypto", &[]),
    ("crates/vigil-scenario", &[]),
    ("crates/vigil-store", &["vigil-model"]),
    ("crates/vigil-team", &["vigil-model", "vigil-crypto"]),
    (
        "crates/vigil-sync",
        &["vigil-model", "vigil-crypto", "vigil-store", "vigil-team"],
    ),
    ("crates/vigil-net", &["vigil-crypto"]),
    ("crates/vigil-exchange", &["vigil-model"]),
    ("crates/vigil-events", &["vigil-model"]),
    ("crates/vigil-report", &["vigil-model", "vigil-events"]),
    (
        "crates/vigil-core",
        &[
            "vigil-model",
            "vigil-crypto",
            "vigil-store",
            "vigil-team",
            "vigil-sync",
            "vigil-net",
            "vigil-exchange",
            "vigil-report",
            "vigil-events",
        ],
    ),
    ("crates/vigil-cli", &["vigil-core"]),
    ("bindings/vigil-ffi", &["vigil-core"]),
];

/// The Vigil crates named in the `[dependencies]` table of a manifest.
fn vigil_dependencies(manifest: &str) -> BTreeSet<String> {
    let mut in_dependencies = false;
    let mut found = BTreeSet::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        if in_dependencies && line.starts_with("vigil-") {
            let name: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            found.insert(name);
        }
    }
    found
}

#[test]
fn every_crate_uses_only_the_crates_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (dir, allowed) in ALLOWED {
        let manifest = std::fs::read_to_string(root.join(dir).join("Cargo.toml")).unwrap();
        let allowed: BTreeSet<String> = allowed.iter().map(|s| (*s).to_owned()).collect();
        let used = vigil_dependencies(&manifest);
        let undrawn: Vec<_> = used.difference(&allowed).collect();
        assert!(
            undrawn.is_empty(),
            "{dir} uses {undrawn:?}, which ARCHITECTURE.md does not draw"
        );
    }
}

#[test]
fn every_crate_of_the_workspace_is_drawn() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut crates: BTreeSet<String> = BTreeSet::new();
    for folder in ["crates", "bindings"] {
        for entry in std::fs::read_dir(root.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.join("Cargo.toml").is_file() && path.join("src").is_dir() {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if name.starts_with("vigil-") {
                    crates.insert(format!("{folder}/{name}"));
                }
            }
        }
    }
    let drawn: BTreeSet<String> = ALLOWED.iter().map(|(d, _)| (*d).to_owned()).collect();
    assert_eq!(
        crates, drawn,
        "a crate is missing from the drawing, or gone"
    );
}

#[test]
fn the_manifest_reader_sees_dependencies_and_not_dev_dependencies() {
    let manifest = "[package]\nname = \"x\"\n\n[dependencies]\nvigil-core.workspace = true\n\
                    vigil-net = { workspace = true }\nserde.workspace = true\n\n\
                    [dev-dependencies]\nvigil-sync.workspace = true\n";
    let found: Vec<String> = vigil_dependencies(manifest).into_iter().collect();
    assert_eq!(found, ["vigil-core", "vigil-net"]);
}
