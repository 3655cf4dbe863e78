//! The `vigil` command end to end: a real binary, real vault folders, real files.
//! Each call is a new process, so every test also shows that data survives a restart.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Stdio;

use common::*;
use serde_json::Value;

#[test]
fn log_list_show_edit_and_read_history() {
    let v = Vigil::new();
    let out = v.ok(&[
        "incident",
        "add",
        "--phase",
        "election_day",
        "--category",
        "arbitrary_detention",
        "--occurred-at",
        "2021-01-10T14:30:00+06:00",
        "--region",
        "Almaty",
        "--city",
        "Almaty",
        "--people",
        "12",
        "--at-least",
        "--role",
        "protester",
        "--person",
        "Aibek Sadykov",
        "--person",
        "Aidar Omarov (protester)",
        "--set",
        "held_hours=6",
        "--set",
        "context=protest",
        "--description",
        "Held at the akimat.",
    ]);
    assert!(out.contains("(draft)"), "{out}");
    let list = v.json(&["incident", "list", "--json"]);
    let item = &list[0];
    assert_eq!(item["people"], 12);
    assert_eq!(item["status"], "draft");
    assert!(item.get("named").is_none(), "listings carry no names");
    let id = item["id"].as_str().unwrap().to_owned();

    let shown = v.json(&["incident", "show", &id[..8], "--json"]);
    assert_eq!(shown["persons"][1]["name"], "Aidar Omarov");
    assert_eq!(shown["held_hours"], 6);

    // A draft has no history: it has not left the device.
    let text = v.ok(&["incident", "history", &id]);
    assert!(text.contains("draft"), "{text}");
    v.ok(&[
        "incident",
        "edit",
        &id,
        "--set",
        "held_hours=",
        "--status",
        "submitted",
    ]);
    v.ok(&[
        "incident",
        "edit",
        &id,
        "--set",
        "city=Astana",
        "--status",
        "verified",
    ]);
    let shown = v.json(&["incident", "show", &id, "--json"]);
    assert_eq!(shown["city"], "Astana");
    assert_eq!(shown["status"], "verified");
    assert_eq!(shown["personal_data"], "readable");
    assert!(shown.get("held_hours").is_none());

    let history = v.json(&["incident", "history", &id, "--json"]);
    assert_eq!(history.as_array().unwrap().len(), 2);
    let edits: Vec<&str> = history[1]["edits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(edits, ["place.city", "status"]);
    let text = v.ok(&["incident", "history", &id]);
    assert!(
        text.contains("this device") && text.contains("place.city: Almaty → Astana"),
        "{text}"
    );

    // Drafts do not count; verified incidents do.
    let report = v.json(&["report", "--format", "json"]);
    assert_eq!(report["election_day/arbitrary_detention"]["people"], 12);
    assert_eq!(
        report["election_day/arbitrary_detention"]["named_people"],
        2
    );
}

#[test]
fn the_interactive_form_asks_for_each_field() {
    let v = Vigil::new();
    // Phase 2 (election day), category 5 of that phase (voter denied), ...
    let answers = [
        "2",
        "5",
        "2021-01-10T10:00:00+06:00",
        "Ulytau Region",
        "Zhezkazgan",
        "ZHE-047",
        "4",
        "Dinara Myrzakhmetova",
        "",
        "zero",
        "1",
        "n",
        // fields of voter_denied: context (choice), perpetrator (choice), impersonation
        "5",
        "3",
        "maybe",
        "y",
        "Someone had voted in her name.",
        "y",
    ];
    let out = v.with_stdin(
        &["incident", "add", "--interactive"],
        &(answers.join("\n") + "\n"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("answer a whole number"),
        "re-asks a bad count: {stderr}"
    );
    assert!(
        stderr.contains("answer y or n"),
        "re-asks a bad yes/no: {stderr}"
    );
    let list = v.json(&["incident", "list", "--json"]);
    let id = list[0]["id"].as_str().unwrap();
    let shown = v.json(&["incident", "show", id, "--json"]);
    assert_eq!(shown["category"], "voter_denied");
    assert_eq!(shown["polling_station"], "ZHE-047");
    assert_eq!(shown["impersonation"], true);
    assert_eq!(shown["context"], "voting");
    assert_eq!(shown["perpetrator"], "election_commission");
    assert_eq!(shown["status"], "submitted");
    assert_eq!(shown["persons"][0]["name"], "Dinara Myrzakhmetova");

    // A form cut short writes nothing.
    let out = v
        .command(&["incident", "add", "--interactive"])
        .stdin(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was saved"));
    assert_eq!(v.count(), 1);
}

#[test]
fn import_gives_the_expected_figures_and_reimport_adds_nothing() {
    let v = Vigil::new();
    let scenario = vigil_scenario::generate(11, 1);
    let file = v.file("partner.jsonl", &scenario.to_jsonl());
    let out = v.ok(&["import", s(&file)]);
    assert!(out.contains("Imported 729 incident(s); 0 already"), "{out}");
    assert_eq!(
        v.json(&["report", "--format", "json"]),
        scenario.expected_json()
    );

    let out = v.ok(&["import", s(&file)]);
    assert!(out.contains("Imported 0 incident(s); 729 already"), "{out}");
    assert_eq!(v.count(), 729);

    // The raw vault files hold none of the names, descriptions or places.
    let raw = v.raw_vault_bytes();
    for name in scenario.names() {
        assert!(
            !contains(&raw, &name),
            "a name is readable in the vault files"
        );
    }
    for needle in [
        "Zhezkazgan",
        "was among them",
        "arbitrary_detention",
        "obs-0",
    ] {
        assert!(
            !contains(&raw, needle),
            "`{needle}` is readable in the vault files"
        );
    }
}

#[test]
fn csv_export_imports_back_to_the_same_report() {
    let v = Vigil::new();
    let scenario = vigil_scenario::generate(5, 1);
    let file = v.file("partner.jsonl", &scenario.to_jsonl());
    v.ok(&["import", s(&file)]);
    let csv = v.root.join("out.csv");
    let out = v.run(&["export", "--out", s(&csv)]);
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    let names = scenario.names().len();
    assert!(
        said.contains(&format!("contains personal data: {names} name(s) of people affected, 729 free-text description(s)")),
        "{said}"
    );
    let header = std::fs::read_to_string(&csv).unwrap();
    assert!(header.starts_with("report_id,status,reported_by,reported_at,phase,category,"));

    let other = Vigil::new();
    other.ok(&["import", s(&csv)]);
    assert_eq!(
        other.json(&["report", "--format", "json"]),
        scenario.expected_json()
    );
    let jsonl = other.ok(&["export", "--format", "jsonl"]);
    assert_eq!(jsonl.lines().count(), 729);
}

#[test]
fn bad_files_are_refused_whole_with_line_numbers() {
    let v = Vigil::new();
    let good = vigil_scenario::generate(3, 1).to_jsonl();
    let mut lines: Vec<String> = good.lines().take(5).map(str::to_owned).collect();
    lines[1] = "{\"report_id\": ".into();
    lines[3] = lines[3].replace("\"people_count\":", "\"people_count\":-");
    let bad = v.file("bad.jsonl", &(lines.join("\n") + "\n"));
    let err = v.fails(&["import", s(&bad)]);
    assert!(err.contains("line 2: line: is not valid JSON"), "{err}");
    assert!(err.contains("line 4: people_count: is -"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(v.count(), 0);

    // --skip-invalid imports the rest and lists what it skipped.
    let out = v.run(&["import", "--skip-invalid", s(&bad)]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipped line 2"));
    assert_eq!(v.count(), 3);

    let unknown = v.file(
        "unknown.jsonl",
        &good
            .lines()
            .next()
            .unwrap()
            .replacen("\"category\":\"", "\"category\":\"x_", 1),
    );
    let err = v.fails(&["import", s(&unknown)]);
    assert!(
        err.contains("line 1: category: unknown category `x_"),
        "{err}"
    );

    let csv = v.file("bad.csv", "report_id,phase,category\n1,2\n");
    let err = v.fails(&["import", s(&csv)]);
    assert!(err.contains("column `people_count` is missing"), "{err}");
    let csv = v.file(
        "worse.csv",
        "report_id,phase,category,people_count,colour\n",
    );
    let err = v.fails(&["import", s(&csv)]);
    assert!(err.contains("column `colour`"), "{err}");
    let binary = v.file("binary.jsonl", "\u{0}\u{1}garbage\n");
    let err = v.fails(&["import", s(&binary)]);
    assert!(err.contains("line 1"), "{err}");
    assert_eq!(v.count(), 3, "refused files wrote nothing");

    let err = v.fails(&[
        "incident",
        "add",
        "--category",
        "teleportation",
        "--phase",
        "campaign",
        "--city",
        "X",
        "--role",
        "voter",
    ]);
    assert!(
        err.contains("category: unknown category `teleportation`"),
        "{err}"
    );
    let err = v.fails(&[
        "incident",
        "add",
        "--category",
        "persecution",
        "--phase",
        "campaign",
        "--city",
        "X",
        "--role",
        "voter",
        "--set",
        "held_hours=3",
    ]);
    assert!(
        err.contains("held_hours: is not a field of category `persecution`"),
        "{err}"
    );
    assert_eq!(v.count(), 3);
}

#[test]
fn wrong_passphrases_and_foreign_files_are_clear_errors() {
    let v = Vigil::new();
    let out = v
        .command(&["incident", "list"])
        .env("VIGIL_PASSPHRASE", "not it")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: wrong passphrase"
    );

    let file = v.file("notes.txt", "a shopping list");
    let out = v
        .command(&["incident", "list"])
        .env("VIGIL_VAULT", &file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a Vigil vault: this is a file"));

    let folder = v.root.join("empty");
    std::fs::create_dir(&folder).unwrap();
    let out = v
        .command(&["report"])
        .env("VIGIL_VAULT", &folder)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no key file"));

    std::fs::write(folder.join("vault.key"), b"SQLite format 3\0 and more").unwrap();
    let out = v
        .command(&["report"])
        .env("VIGIL_VAULT", &folder)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("key file is not a Vigil key file"));

    // A database swapped in from another vault does not match the key file.
    let other = Vigil::new();
    std::fs::copy(v.vault.join("vault.key"), folder.join("vault.key")).unwrap();
    std::fs::copy(other.vault.join("vault.db"), folder.join("vault.db")).unwrap();
    let out = v
        .command(&["report"])
        .env("VIGIL_VAULT", &folder)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match its key file"));

    let err = v.fails(&["init"]);
    assert!(err.contains("already exist"), "{err}");
    let out = v
        .command(&["report"])
        .env_remove("VIGIL_PASSPHRASE")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("set VIGIL_PASSPHRASE"));
}

#[test]
fn killing_an_import_leaves_all_or_nothing() {
    let v = Vigil::new();
    let scenario = vigil_scenario::generate(9, 12);
    let total = scenario.reports.len();
    let file = v.file("big.jsonl", &scenario.to_jsonl());
    let wal = v.vault.join("vault.db-wal");
    let mut killed_mid_import = 0;
    for _ in 0..3 {
        let before = std::fs::metadata(&wal).map_or(0, |m| m.len());
        let mut child = v
            .command(&["import", s(&file)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the import is writing: its uncommitted pages spill into the WAL.
        let mut finished = false;
        while std::fs::metadata(&wal).map_or(0, |m| m.len()) < before + (1 << 20) {
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL: no destructor, no rollback, no goodbye
        child.wait().unwrap();
        let count = v.count();
        assert!(
            count == 0 || count == total,
            "after a kill: {count} of {total}"
        );
        if !finished && count == 0 {
            killed_mid_import += 1;
        }
    }
    assert!(
        killed_mid_import > 0,
        "no kill landed in the middle of an import"
    );
    // The vault is whole and the import can be run again to the end.
    v.ok(&["import", s(&file)]);
    assert_eq!(v.count(), total);
    assert_eq!(
        v.json(&["report", "--format", "json"]),
        scenario.expected_json()
    );
}

#[test]
fn two_vaults_edited_apart_merge_without_losing_edits() {
    let a = Vigil::new();
    let b = Vigil::new();
    a.ok(&[
        "incident",
        "add",
        "--phase",
        "campaign",
        "--category",
        "persecution",
        "--city",
        "Taraz",
        "--role",
        "activist",
        "--person",
        "Marat Abenov",
        "--set",
        "preventive=true",
        "--submit",
    ]);
    let merge = |into: &Vigil, from: &Vigil| {
        into.command(&["merge", s(&from.vault)])
            .env("VIGIL_OTHER_PASSPHRASE", PASSPHRASE)
            .output()
            .unwrap()
    };
    assert!(merge(&b, &a).status.success());
    let id = b.json(&["incident", "list", "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    a.ok(&["incident", "edit", &id, "--set", "city=Almaty"]);
    b.ok(&[
        "incident",
        "edit",
        &id,
        "--status",
        "verified",
        "--set",
        "persons=Marat Abenov; Kanat Omarov",
        "--set",
        "people_count=2",
    ]);
    assert!(merge(&a, &b).status.success());
    assert!(merge(&b, &a).status.success());
    let on_a = a.json(&["incident", "show", &id, "--json"]);
    assert_eq!(on_a, b.json(&["incident", "show", &id, "--json"]));
    assert_eq!(on_a["city"], "Almaty");
    assert_eq!(on_a["status"], "verified");
    assert_eq!(on_a["persons"].as_array().unwrap().len(), 2);
    let history = a.ok(&["incident", "history", &id]);
    assert!(
        history.contains("this device") && history.contains("device "),
        "{history}"
    );
    assert_eq!(
        a.json(&["report", "--format", "json"]),
        b.json(&["report", "--format", "json"])
    );
}

#[test]
fn a_team_can_replace_the_taxonomy() {
    let v = Vigil::new();
    let mut toml = v.ok(&["taxonomy", "--toml"]);
    toml = toml.replacen(
        "[[categories]]",
        "[[categories]]\nid = \"ballot_stuffing\"\nphases = [\"election_day\"]\nfields = []\nrequired = []\n\n[categories.label]\nen = \"Ballot stuffing\"\nru = \"Вброс бюллетеней\"\n\n[[categories]]",
        1,
    );
    let file = v.file("team.toml", &toml);
    v.ok(&["taxonomy", "--set", s(&file)]);
    let listing = v.ok(&["--lang", "ru", "taxonomy"]);
    assert!(listing.contains("Вброс бюллетеней"), "{listing}");
    v.ok(&[
        "incident",
        "add",
        "--phase",
        "election_day",
        "--category",
        "ballot_stuffing",
        "--city",
        "Oral",
        "--role",
        "voter",
        "--submit",
    ]);
    let report = v.ok(&["report"]);
    assert!(report.contains("**Ballot stuffing**: 1 person"), "{report}");

    let broken = v.file("broken.toml", "version = 2\n");
    let err = v.fails(&["taxonomy", "--set", s(&broken)]);
    assert!(err.contains("taxonomy file is not valid"), "{err}");
}

#[test]
fn logs_carry_no_names() {
    let v = Vigil::new();
    let scenario = vigil_scenario::generate(4, 1);
    let file = v.file("partner.jsonl", &scenario.to_jsonl());
    let out = v
        .command(&["import", s(&file)])
        .env("VIGIL_LOG", "trace")
        .output()
        .unwrap();
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("import done"), "the log is on: {log}");
    for name in scenario.names() {
        assert!(!log.contains(&name));
    }
}

#[test]
fn partner_exports_in_shared_give_their_expected_figures() {
    let Some(dir) = shared_scenarios() else {
        eprintln!("shared/scenarios not found; skipping the partner export check");
        return;
    };
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
            continue;
        }
        let expected_path = path.with_extension("expected.json");
        let Ok(text) = std::fs::read_to_string(&expected_path) else {
            continue;
        };
        let expected: Value = serde_json::from_str(&text).unwrap();
        if expected["duplicates"] == true {
            continue; // counting duplicates as one event comes with deduplication
        }
        let v = Vigil::new();
        v.ok(&["import", s(&path)]);
        assert_eq!(
            v.json(&["report", "--format", "json"]),
            expected["figures"],
            "{}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked > 0, "no partner export was checked");
}

#[test]
fn public_reports_name_only_people_who_consented() {
    let v = Vigil::new();
    v.ok(&[
        "incident",
        "add",
        "--phase",
        "election_day",
        "--category",
        "attack_on_journalist",
        "--occurred-at",
        "2021-01-10T12:00:00+06:00",
        "--region",
        "Almaty",
        "--city",
        "Almaty",
        "--people",
        "2",
        "--role",
        "journalist",
        "--person",
        "Saniya Toiken (journalist) [consent]",
        "--person",
        "Aidar Omarov",
        "--submit",
    ]);
    let report = v.ok(&["report"]);
    assert!(
        report.contains("(2 identified by name). Named with their consent: Saniya Toiken."),
        "{report}"
    );
    assert!(!report.contains("Omarov"), "{report}");
    let json = v.json(&["report", "--format", "json"]);
    assert_eq!(
        json["election_day/attack_on_journalist"]["named_with_consent"],
        serde_json::json!(["Saniya Toiken"])
    );
    let shown = v.json(&["export", "--format", "jsonl"]);
    assert_eq!(shown["persons"][0]["consent"], true);
    assert!(shown["persons"][1].get("consent").is_none());
}
