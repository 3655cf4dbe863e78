//! A seized phone: the duress passphrase and `vigil panic` destroy the vault's keys
//! and data, and what is left opens as an empty vault.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Output;

use common::{PASSPHRASE, Vigil, s};

const DURESS: &str = "the words I give when forced";

fn with_data() -> Vigil {
    let v = Vigil::new();
    let scenario = vigil_scenario::generate(5, 1);
    let file = v.file("partner.jsonl", &scenario.to_jsonl());
    v.ok(&["import", s(&file)]);
    assert_eq!(v.count(), 729);
    v
}

/// Runs `vigil args` with one environment variable set (or replaced).
fn with_env(v: &Vigil, args: &[&str], var: &str, value: impl AsRef<std::ffi::OsStr>) -> Output {
    v.command(args).env(var, value).output().unwrap()
}

fn old_database(v: &Vigil) -> Vec<u8> {
    std::fs::read(v.vault.join("vault.db")).unwrap()
}

/// The old database, put back beside the key file left after a wipe (as someone who
/// copied the phone before would), opens with no passphrase.
fn old_data_stays_locked(v: &Vigil, copy: &[u8], passphrases: &[&str]) {
    let probe = v.root.join("probe");
    std::fs::create_dir(&probe).unwrap();
    std::fs::copy(v.vault.join("vault.key"), probe.join("vault.key")).unwrap();
    std::fs::write(probe.join("vault.db"), copy).unwrap();
    for passphrase in passphrases {
        let out = v
            .command(&["info", "--json"])
            .env("VIGIL_VAULT", &probe)
            .env("VIGIL_PASSPHRASE", passphrase)
            .output()
            .unwrap();
        let info: Option<serde_json::Value> = serde_json::from_slice(&out.stdout).ok();
        let incidents = info.as_ref().and_then(|i| i["incidents"].as_u64());
        assert_ne!(
            incidents,
            Some(729),
            "the old data opened with {passphrase:?}"
        );
    }
}

#[test]
fn the_duress_passphrase_destroys_the_vault_and_opens_an_empty_one() {
    let v = with_data();
    let out = with_env(&v, &["duress"], "VIGIL_DURESS_PASSPHRASE", DURESS);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The passphrase still opens the vault as it was.
    assert_eq!(v.count(), 729);
    let copy = old_database(&v);

    // What an opening logs, traced to the last detail, without times and values.
    let messages = |out: &Output| -> std::collections::BTreeSet<String> {
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter_map(|l| l.rsplit_once(": ").map(|(_, m)| m.to_owned()))
            .map(|m| {
                m.split(' ')
                    .take_while(|w| !w.contains('='))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    let traced = |passphrase: &str| {
        v.command(&["incident", "list", "--json"])
            .env("VIGIL_PASSPHRASE", passphrase)
            .env("VIGIL_LOG", "trace")
            .output()
            .unwrap()
    };
    let normal = traced(PASSPHRASE);
    assert!(normal.status.success());

    // Under duress: the vault opens, empty, as if that were all there is, and the
    // log says nothing that an ordinary opening does not.
    let forced = traced(DURESS);
    assert!(forced.status.success());
    assert_eq!(String::from_utf8_lossy(&forced.stdout).trim(), "[]");
    let (normal, forced) = (messages(&normal), messages(&forced));
    assert!(forced.is_subset(&normal), "{forced:?} against {normal:?}");
    let info = with_env(&v, &["info", "--json"], "VIGIL_PASSPHRASE", DURESS);
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["incidents"], 0);

    // The real passphrase opens nothing any more, and nothing opens the old data.
    assert!(v.fails(&["info"]).contains("wrong passphrase"));
    old_data_stays_locked(&v, &copy, &[PASSPHRASE, DURESS]);
}

#[test]
fn a_duress_passphrase_must_differ_and_can_be_removed() {
    let v = with_data();
    let out = with_env(&v, &["duress"], "VIGIL_DURESS_PASSPHRASE", PASSPHRASE);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must differ"));

    let set = with_env(&v, &["duress"], "VIGIL_DURESS_PASSPHRASE", DURESS);
    assert!(set.status.success());
    v.ok(&["duress", "--remove"]);
    let after = with_env(&v, &["info"], "VIGIL_PASSPHRASE", DURESS);
    assert!(String::from_utf8_lossy(&after.stderr).contains("wrong passphrase"));
    assert_eq!(v.count(), 729, "the vault is intact");
}

#[test]
fn panic_wipes_without_a_passphrase_and_the_folder_opens_empty() {
    let v = with_data();
    let copy = old_database(&v);
    let out = v
        .command(&["panic"])
        .env_remove("VIGIL_PASSPHRASE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("wiped in"));
    assert!(!v.vault.join("vault.db").exists());

    // Any passphrase now opens an empty vault; none opens the old data.
    assert_eq!(v.count(), 0);
    assert_eq!(v.count(), 0, "and it stays a vault after a restart");
    old_data_stays_locked(&v, &copy, &[PASSPHRASE]);

    // A folder that is not a vault is not wiped by mistake.
    let err = v
        .command(&["panic"])
        .env("VIGIL_VAULT", v.root.join("nothing"))
        .output()
        .unwrap();
    assert!(!err.status.success());
}

#[test]
fn the_passphrase_can_be_changed_and_stretching_raised() {
    let v = with_data();
    let out = with_env(
        &v,
        &[
            "passphrase",
            "--kdf-memory-mib",
            "16",
            "--kdf-iterations",
            "2",
        ],
        "VIGIL_NEW_PASSPHRASE",
        "a new passphrase",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("16 MiB, 2 passes"), "{said}");
    assert!(said.contains("set it again with `vigil duress`"), "{said}");
    // The warning below 64 MiB.
    assert!(String::from_utf8_lossy(&out.stderr).contains("less than 64 MiB"));
    assert!(v.fails(&["info"]).contains("wrong passphrase"));
    let info = with_env(
        &v,
        &["info", "--json"],
        "VIGIL_PASSPHRASE",
        "a new passphrase",
    );
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["incidents"], 729);
    assert_eq!(info["kdf"]["memory_kib"], 16 * 1024);
    assert_eq!(info["kdf"]["iterations"], 2);

    let wrong = v
        .command(&["passphrase"])
        .env("VIGIL_PASSPHRASE", "not it")
        .env("VIGIL_NEW_PASSPHRASE", "whatever")
        .output()
        .unwrap();
    assert!(!wrong.status.success());
}
