"""The whole flow of a shell, through the generated Python bindings and the real
library: vaults on disk, incidents, reports, files, errors, listeners."""

import asyncio
import gc
import json
import os
import subprocess
import threading
import uuid

import pytest

import vigil
from conftest import FAST, PASSPHRASE, detention, run, vigil_cli


def test_a_vault_keeps_its_incidents_across_a_restart(vault_path):
    vault = run(vigil.create_vault(vault_path, PASSPHRASE, FAST))
    first = vault.add_incident(detention())
    second = vault.add_incident(detention(city="Astana", people="3", persons="Serik Zhunusov"))
    assert vault.set_status(first, vigil.IncidentStatus.SUBMITTED)
    assert vault.set_status(second, vigil.IncidentStatus.VERIFIED)
    device = vault.info().device
    del vault
    gc.collect()

    reopened = run(vigil.open_vault(vault_path, PASSPHRASE))
    info = reopened.info()
    assert info.device == device
    assert info.incidents == 2
    listed = reopened.list_incidents(vigil.IncidentFilter())
    assert {s.id for s in listed} == {first, second}
    only_astana = reopened.list_incidents(vigil.IncidentFilter(city="Astana"))
    assert [s.id for s in only_astana] == [second]
    assert only_astana[0].status == vigil.IncidentStatus.VERIFIED

    shown = reopened.get_incident(first[:8])
    assert shown.id == first
    assert shown.fields["city"] == "Almaty"
    assert shown.fields["persons"] == "Aibek Sadykov (protester); Aidar Omarov"
    assert shown.fields["held_hours"] == "6"


def test_edits_and_their_history(vault):
    # A draft stays on the device, readable, with no history yet.
    draft = vault.add_incident(detention())
    assert vault.get_incident(draft).personal == vigil.PersonalData.DRAFT
    assert vault.history(draft) == []

    submitted = detention()
    submitted["status"] = "submitted"
    incident = vault.add_incident(submitted)
    # A vault in no team seals to itself: its owner reads it.
    assert vault.get_incident(incident).personal == vigil.PersonalData.READABLE
    assert vault.edit_incident(incident, {"city": "Astana", "held_hours": "12"})
    assert not vault.edit_incident(incident, {"city": "Astana"}), "nothing changed"
    assert vault.edit_incident(incident, {"held_hours": ""}), "an empty value clears"
    fields = vault.get_incident(incident).fields
    assert fields["city"] == "Astana"
    assert "held_hours" not in fields

    history = vault.history(incident)
    assert len(history) == 3
    assert history[0].author.startswith("this device")
    edited = {e.field: (e.before, e.after) for e in history[1].edits}
    assert edited["place.city"] == ("Almaty", "Astana")


def test_report_figures_count_submitted_incidents(vault):
    for city, people, persons in [
        ("Almaty", "12", "Aibek Sadykov; Aidar Omarov"),
        ("Astana", "3", "SADYKOV Aibek"),  # the same person, written another way
        ("Shymkent", "5", ""),
    ]:
        fields = detention(city=city, people=people, persons=persons)
        fields["status"] = "submitted"
        vault.add_incident(fields)
    vault.add_incident(detention(city="Aktau"))  # a draft: not counted

    report = vault.report([], "en")
    assert report.reports == 3
    (row,) = report.rows
    assert (row.phase, row.category) == ("election_day", "arbitrary_detention")
    assert row.label == "Arbitrary detention"
    assert row.events == 3
    assert row.people == 20 and row.people_is_lower_bound
    assert row.cities == 3
    assert row.named_people == 2
    assert vault.report([], "ru").rows[0].label == "Произвольное задержание"

    as_json = json.loads(vault.report_json([]))
    assert as_json["election_day/arbitrary_detention"]["people"] == 20
    markdown = vault.report_markdown([], "en")
    assert "Aibek" not in markdown and "Sadykov" not in markdown, "a public report names nobody"

    with_drafts = vault.report([vigil.IncidentStatus.DRAFT, vigil.IncidentStatus.SUBMITTED], "en")
    assert with_drafts.rows[0].events == 4

    consenting = detention(city="Taraz", people="1", persons="Yeldos Kyrykbayev [consent]")
    consenting["status"] = "submitted"
    vault.add_incident(consenting)
    assert "Named with their consent: Yeldos Kyrykbayev." in vault.report_markdown([], "en")


def test_the_taxonomy_draws_the_form_in_the_device_language(vault):
    form = vault.taxonomy("ru")
    assert form.language == "ru"
    assert "city" in form.core_fields and "persons" in form.core_fields
    detention_form = next(c for c in form.categories if c.id == "arbitrary_detention")
    assert detention_form.label == "Произвольное задержание"
    held = next(f for f in detention_form.fields if f.id == "held_hours")
    assert held.kind == vigil.FieldKind.INTEGER
    arrest = next(c for c in form.categories if c.id == "administrative_arrest")
    legal = next(f for f in arrest.fields if f.kind == vigil.FieldKind.LEGAL)
    assert legal.id == "legal"
    assert any(code.id == "CoAO" for code in form.legal_codes)


def test_bad_input_names_the_field_and_stores_nothing(vault):
    fields = detention()
    fields["held_hours"] = "six"
    with pytest.raises(vigil.VigilError.InvalidInput) as error:
        vault.add_incident(fields)
    assert error.value.field == "held_hours"

    fields = detention()
    fields["favourite_colour"] = "blue"
    with pytest.raises(vigil.VigilError.InvalidInput):
        vault.add_incident(fields)

    fields = detention(persons="Aibek Sadykov")
    fields["category"] = "no_such_category"
    with pytest.raises(vigil.VigilError.InvalidInput) as error:
        vault.add_incident(fields)
    assert "Sadykov" not in str(error.value), "errors never repeat names"

    assert vault.info().incidents == 0
    with pytest.raises(vigil.VigilError.NotFound):
        vault.get_incident("0123abcd")
    with pytest.raises(vigil.VigilError.NotFound):
        vault.edit_incident("not-an-id", {"city": "Astana"})
    with pytest.raises(vigil.VigilError.InvalidInput) as error:
        run(vault.sync_with("somewhere"))
    assert error.value.field == "address"


def test_wrong_passphrase_and_missing_vaults_are_told_apart(vault_path, tmp_path):
    run(vigil.create_vault(vault_path, PASSPHRASE, FAST))
    with pytest.raises(vigil.VigilError.WrongPassphrase):
        run(vigil.open_vault(vault_path, "not the passphrase"))
    with pytest.raises(vigil.VigilError.Storage):
        run(vigil.open_vault(str(tmp_path / "nothing-here"), PASSPHRASE))
    with pytest.raises(vigil.VigilError.InvalidInput):
        run(vigil.create_vault(vault_path, PASSPHRASE, FAST))
    # Still opens with the right passphrase.
    assert run(vigil.open_vault(vault_path, PASSPHRASE)).info().incidents == 0


PARTNER_LINES = [
    {
        "report_id": "0d7e541a-e6d9-49c4-9b33-a9c69782277f",
        "reported_by": "obs-135",
        "reported_at": "2021-01-10T17:25:00+06:00",
        "phase": "election_day",
        "category": "observation_obstructed",
        "occurred_at": "2021-01-10T09:06:00+06:00",
        "city": "Temirtau",
        "region": "Karaganda Region",
        "polling_station": "PS-412",
        "people_count": 2,
        "count_is_lower_bound": False,
        "affected_role": "observer",
        "persons": [{"name": "Timur Khamitov", "role": "observer"}],
        "description": "Not let in.",
        "status": "submitted",
    },
    {
        "report_id": "5b0c8a53-8f3e-4a61-9d52-0c3b2f8e6a11",
        "reported_at": "2021-01-10T18:00:00+06:00",
        "phase": "election_day",
        "category": "voter_denied",
        "occurred_at": "2021-01-10T11:00:00+06:00",
        "city": "Almaty",
        "region": "Almaty",
        "people_count": 1,
        "count_is_lower_bound": False,
        "affected_role": "voter",
        "status": "submitted",
    },
]


def write_lines(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_files_in_and_out(vault, tmp_path):
    partner = tmp_path / "partner.jsonl"
    write_lines(partner, PARTNER_LINES)
    imported = run(vault.import_file(str(partner), False))
    assert (imported.added, imported.already_present) == (2, 0)
    again = run(vault.import_file(str(partner), False))
    assert (again.added, again.already_present) == (0, 2)

    out = tmp_path / "out.csv"
    exported = run(vault.export_file(str(out), vigil.FileFormat.CSV, []))
    assert exported.incidents == 2
    assert exported.named_people == 1 and exported.reporters == 1
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
    header, *rows = out.read_text(encoding="utf-8").splitlines()
    assert header.startswith("report_id,status,")
    assert len(rows) == 2


def test_a_bad_file_imports_nothing_and_says_which_line(vault, tmp_path):
    bad = dict(PARTNER_LINES[1], people_count="many")
    partner = tmp_path / "partner.jsonl"
    write_lines(partner, [PARTNER_LINES[0], bad])
    with pytest.raises(vigil.VigilError.InvalidInput) as error:
        run(vault.import_file(str(partner), False))
    assert error.value.field == "line 2: people_count"
    assert vault.info().incidents == 0

    partial = run(vault.import_file(str(partner), True))
    assert partial.added == 1
    assert len(partial.skipped) == 1 and partial.skipped[0].startswith("line 2")

    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b"\x00\xff not json at all\n")
    with pytest.raises(vigil.VigilError.InvalidInput):
        run(vault.import_file(str(garbage), False))
    with pytest.raises(vigil.VigilError.Storage):
        run(vault.import_file(str(tmp_path / "missing.jsonl"), False))
    assert vault.info().incidents == 1


class Recorder(vigil.VaultListener):
    """A shell's listener: remembers what it heard, from whichever thread."""

    def __init__(self):
        self.changes = []
        self.heard = threading.Event()

    def vault_changed(self, change):
        self.changes.append(change)
        self.heard.set()


class Broken(vigil.VaultListener):
    def vault_changed(self, change):
        raise RuntimeError("a bug in the shell")


def test_listeners_hear_of_changes(vault, tmp_path):
    recorder = Recorder()
    vault.add_listener(Broken())  # a listener that throws harms nobody
    vault.add_listener(recorder)
    incident = vault.add_incident(detention())
    vault.edit_incident(incident, {"city": "Astana"})
    partner = tmp_path / "partner.jsonl"
    write_lines(partner, PARTNER_LINES)
    run(vault.import_file(str(partner), False))
    sources = [(c.source, c.incidents) for c in recorder.changes]
    assert sources == [
        (vigil.ChangeSource.LOCAL, 1),
        (vigil.ChangeSource.LOCAL, 1),
        (vigil.ChangeSource.FILE, 2),
    ]
    vault.remove_listeners()
    vault.add_incident(detention())
    assert len(recorder.changes) == 3


def test_a_panic_in_rust_is_an_error_not_a_crash():
    with pytest.raises(vigil.InternalError):
        vigil.debug_panic()
    with pytest.raises(vigil.VigilError.Internal):
        run(vigil.debug_panic_in_background())
    assert vigil.vigil_version()  # the library still answers


def test_the_rust_cli_reads_a_vault_made_in_python(vault_path):
    vault = run(vigil.create_vault(vault_path, PASSPHRASE, FAST))
    fields = detention()
    fields["status"] = "submitted"
    incident = vault.add_incident(fields)
    del vault
    gc.collect()
    env = dict(os.environ, VIGIL_PASSPHRASE=PASSPHRASE, VIGIL_VAULT=vault_path)
    listed = subprocess.run(
        [vigil_cli(), "incident", "list", "--json"], env=env, capture_output=True, check=True
    )
    assert [i["id"] for i in json.loads(listed.stdout)] == [incident]
    report = subprocess.run(
        [vigil_cli(), "report", "--format", "json"], env=env, capture_output=True, check=True
    )
    assert json.loads(report.stdout)["election_day/arbitrary_detention"]["events"] == 1


DURESS = "the words I give when forced"


def test_the_duress_passphrase_opens_an_empty_vault_and_destroys_the_old(vault_path):
    vault = run(vigil.create_vault(vault_path, PASSPHRASE, FAST))
    vault.add_incident(detention())
    run(vault.set_duress_passphrase(PASSPHRASE, DURESS))
    with pytest.raises(vigil.VigilError.InvalidInput) as error:
        run(vault.set_duress_passphrase(PASSPHRASE, PASSPHRASE))
    assert error.value.field == "passphrase"
    with pytest.raises(vigil.VigilError.WrongPassphrase):
        run(vault.set_duress_passphrase("not the passphrase", DURESS))
    del vault
    gc.collect()

    forced = run(vigil.open_vault(vault_path, DURESS))
    assert forced.info().incidents == 0
    del forced
    gc.collect()
    with pytest.raises(vigil.VigilError.WrongPassphrase):
        run(vigil.open_vault(vault_path, PASSPHRASE))


def test_the_passphrase_can_be_changed_and_stretching_raised(vault):
    vault.add_incident(detention())
    stronger = vigil.KeyStretching(memory_mib=16, iterations=2)
    run(vault.change_passphrase(PASSPHRASE, "a new passphrase", stronger))
    assert vault.info().key_stretching_mib == 16
    with pytest.raises(vigil.VigilError.WrongPassphrase):
        run(vault.change_passphrase(PASSPHRASE, "again", stronger))


def test_panic_does_not_wait_for_a_long_call(vault_path, tmp_path):
    vault = run(vigil.create_vault(vault_path, PASSPHRASE, FAST))
    big = tmp_path / "big.jsonl"
    write_lines(big, [dict(PARTNER_LINES[0], report_id=str(uuid.uuid4())) for _ in range(1000)])

    async def import_then_panic():
        importing = asyncio.ensure_future(vault.import_file(str(big), False))
        await asyncio.sleep(0.1)
        assert not importing.done(), "the import should still hold the vault"
        vault.panic()
        # Returned while the import still runs: it did not wait for the vault.
        still_running = not importing.done()
        try:
            await importing
        except vigil.VigilError:
            pass
        return still_running

    assert run(import_then_panic())
    del vault
    gc.collect()
    assert run(vigil.open_vault(vault_path, "anything at all")).info().incidents == 0


def test_panic_wipes_an_open_vault_and_a_locked_one(vault_path, tmp_path):
    vault = run(vigil.create_vault(vault_path, PASSPHRASE, FAST))
    vault.add_incident(detention())
    vault.panic()
    with pytest.raises(vigil.VigilError.Storage):
        vault.list_incidents(vigil.IncidentFilter())
    with pytest.raises(vigil.VigilError.Storage):
        run(vault.import_file(str(tmp_path / "x.jsonl"), False))
    del vault
    gc.collect()
    again = run(vigil.open_vault(vault_path, PASSPHRASE))
    assert again.info().incidents == 0

    locked = str(tmp_path / "locked")
    run(vigil.create_vault(locked, PASSPHRASE, FAST)).add_incident(detention())
    gc.collect()
    vigil.wipe_vault(locked)
    assert run(vigil.open_vault(locked, "anything at all")).info().incidents == 0
    with pytest.raises(vigil.VigilError.Storage):
        vigil.wipe_vault(str(tmp_path / "not-a-vault"))
