"""Two and three vaults in one process, syncing over real QUIC on 127.0.0.1 through
the bindings: a coordinator founds a team, observers join with invitations, incidents
travel and relay, a revoked device is refused."""

import asyncio
import subprocess
import sys
import threading

import pytest

import vigil
from conftest import FAST, PASSPHRASE, detention


class Heard(vigil.VaultListener):
    def __init__(self):
        self.changes = []
        self.event = threading.Event()

    def vault_changed(self, change):
        self.changes.append(change)
        self.event.set()


async def device(tmp_path, name):
    return await vigil.create_vault(str(tmp_path / name), PASSPHRASE, FAST)


async def joined(coordinator, address, vault, label):
    invite = coordinator.create_invite(vigil.TeamRole.OBSERVER, 1, [address])
    await vault.join_team(invite, label)


def submitted(city):
    fields = detention(city=city)
    fields["status"] = "submitted"
    return fields


def test_observers_sync_with_the_coordinator_and_relay(tmp_path):
    async def scenario():
        hq = await device(tmp_path, "hq")
        hq.create_team("hq")
        heard = Heard()
        hq.add_listener(heard)
        address = await hq.start_serving("127.0.0.1:0")
        assert hq.is_serving()

        almaty = await device(tmp_path, "almaty")
        astana = await device(tmp_path, "astana")
        await joined(hq, address, almaty, "almaty-1")
        await joined(hq, address, astana, "astana-1")
        assert almaty.info().role == vigil.TeamRole.OBSERVER
        assert {m.label for m in almaty.members()} >= {"hq", "almaty-1"}

        mine = almaty.add_incident(submitted("Almaty"))
        sent = await almaty.sync_with(address)
        assert sent.changes_sent >= 1 and sent.refused == 0
        assert heard.event.wait(5), "the coordinator's shell hears of the incident"
        assert any(c.source == vigil.ChangeSource.PEER and c.incidents >= 1 for c in heard.changes)
        assert [s.id for s in hq.list_incidents(vigil.IncidentFilter())] == [mine]

        # Astana never met Almaty: the coordinator relays Almaty's incident.
        received = await astana.sync_with(address)
        assert received.changes_received >= 1
        relayed = astana.get_incident(mine)
        assert relayed.fields["city"] == "Almaty"

        # The names travel sealed to the coordinator: the observers, the author
        # included, carry them and read none; editing them there is refused.
        assert relayed.personal == vigil.PersonalData.SEALED
        assert "persons" not in relayed.fields
        assert almaty.get_incident(mine).personal == vigil.PersonalData.SEALED
        assert all(s.sealed for s in almaty.list_incidents(vigil.IncidentFilter()))
        on_hq = hq.get_incident(mine)
        assert on_hq.personal == vigil.PersonalData.READABLE
        assert on_hq.fields["persons"] == "Aibek Sadykov (protester); Aidar Omarov"
        with pytest.raises(vigil.VigilError.NotAllowed):
            almaty.edit_incident(mine, {"persons": "Someone Else"})

        # Every device counts the same events; only the coordinator counts names.
        def figures(vault):
            return [(r.category, r.events, r.people, r.named_people, r.sealed_events)
                    for r in vault.report([], "en").rows]
        assert figures(hq) == [("arbitrary_detention", 1, 12, 2, 0)]
        assert figures(astana) == figures(almaty) == [("arbitrary_detention", 1, 12, 0, 1)]

        # Already in sync: nothing moves.
        again = await astana.sync_with(address)
        assert (again.changes_sent, again.changes_received) == (0, 0)

        hq.stop_serving()
        assert not hq.is_serving()
        with pytest.raises(vigil.VigilError.Network):
            await astana.sync_with(address)

    asyncio.run(scenario())


def test_a_revoked_device_and_a_stranger_are_refused(tmp_path):
    async def scenario():
        hq = await device(tmp_path, "hq")
        hq.create_team("hq")
        address = await hq.start_serving("127.0.0.1:0")
        seized = await device(tmp_path, "seized")
        await joined(hq, address, seized, "seized-phone")

        fingerprint = seized.info().device
        revoked = hq.revoke(fingerprint)
        assert revoked.revoked and revoked.label == "seized-phone"
        seized.add_incident(submitted("Almaty"))
        # Not a network failure: trying again will not help.
        with pytest.raises(vigil.VigilError.NotAllowed):
            await seized.sync_with(address)
        assert hq.info().incidents == 0

        stranger = await device(tmp_path, "stranger")
        stranger.create_team("another team")
        with pytest.raises(vigil.VigilError.NotAllowed):
            await stranger.sync_with(address)

        with pytest.raises(vigil.VigilError.NotAllowed):
            await stranger.join_team("VIGIL1:NOTANINVITATION", "x")
        hq.stop_serving()

    asyncio.run(scenario())


def test_an_invitation_works_once(tmp_path):
    async def scenario():
        hq = await device(tmp_path, "hq")
        hq.create_team("hq")
        address = await hq.start_serving("127.0.0.1:0")
        invite = hq.create_invite(vigil.TeamRole.OBSERVER, 1, [address])
        first = await device(tmp_path, "first")
        await first.join_team(invite, "first")
        second = await device(tmp_path, "second")
        with pytest.raises(vigil.VigilError):
            await second.join_team(invite, "second")
        assert second.info().team is None
        hq.stop_serving()

    asyncio.run(scenario())


def test_bundles_carry_changes_without_a_network(tmp_path):
    async def scenario():
        hq = await device(tmp_path, "hq")
        hq.create_team("hq")
        address = await hq.start_serving("127.0.0.1:0")
        courier = await device(tmp_path, "courier")
        await joined(hq, address, courier, "courier")
        hq.stop_serving()

        courier.add_incident(submitted("Taraz"))
        path = str(tmp_path / "to-hq.vigil")
        written = await courier.export_bundle(path)
        assert written.changes >= 1 and written.recipients == 2
        applied = await hq.import_bundle(path)
        assert applied.changes_received >= 1
        assert hq.list_incidents(vigil.IncidentFilter())[0].city == "Taraz"

        with open(path, "r+b") as f:  # damage the sealed body
            f.seek(-40, 2)
            f.write(b"\x00" * 8)
        with pytest.raises(vigil.VigilError.NotAllowed):
            await hq.import_bundle(path)

    asyncio.run(scenario())


class Log(vigil.LogListener):
    def __init__(self):
        self.lines = []

    def log(self, level, target, message):
        self.lines.append((level, target, message))


def test_the_shell_reads_why_a_peer_was_refused_and_no_names(tmp_path):
    log = Log()
    vigil.set_log_listener(log, vigil.LogLevel.DEBUG)
    try:

        async def scenario():
            hq = await device(tmp_path, "hq")
            hq.create_team("hq")
            address = await hq.start_serving("127.0.0.1:0")
            field = await device(tmp_path, "field")
            await joined(hq, address, field, "field-1")
            field.add_incident(submitted("Almaty"))
            await field.sync_with(address)
            stranger = await device(tmp_path, "stranger")
            stranger.create_team("other")
            with pytest.raises(vigil.VigilError):
                await stranger.sync_with(address)
            hq.stop_serving()

        asyncio.run(scenario())
    finally:
        vigil.clear_log_listener()
    text = "\n".join(f"{level} {target} {message}" for level, target, message in log.lines)
    assert "refused at the handshake" in text, text
    assert "quinn" not in text, "only Vigil's own lines below warnings"
    for name in ["Aibek", "Sadykov", "Omarov", "akimat", PASSPHRASE]:
        assert name not in text, f"{name} reached the log"


# A program that serves, is synced with, and exits mid-session: the library's
# threads are still logging and telling listeners when the interpreter finalizes.
EXITING_WHILE_SERVING = '''
import asyncio, os, sys
import vigil

class Quiet(vigil.LogListener):
    def log(self, level, target, message):
        pass

class Heard(vigil.VaultListener):
    def vault_changed(self, change):
        pass

async def main(folder, seconds):
    fast = vigil.KeyStretching(memory_mib=8, iterations=1)
    vigil.set_log_listener(Quiet(), vigil.LogLevel.DEBUG)
    hq = await vigil.create_vault(os.path.join(folder, "hq"), "pass phrase", fast)
    hq.create_team("hq")
    hq.add_listener(Heard())
    address = await hq.start_serving("127.0.0.1:0")
    field = await vigil.create_vault(os.path.join(folder, "field"), "pass phrase", fast)
    await field.join_team(hq.create_invite(vigil.TeamRole.OBSERVER, 1, [address]), "f")

    async def keep_syncing():
        while True:
            field.add_incident(FIELDS)
            await field.sync_with(address)

    asyncio.ensure_future(keep_syncing())
    await asyncio.sleep(seconds)

FIELDS = %r
asyncio.run(main(sys.argv[1], float(sys.argv[2])))
'''


def test_a_program_exits_cleanly_while_serving_and_syncing(tmp_path):
    """Listeners are not called once Python has begun to exit: a call then would
    abort the process ("FATAL: exception not rethrown")."""
    script = tmp_path / "exiting.py"
    script.write_text(EXITING_WHILE_SERVING % submitted("Almaty"))
    for i, seconds in enumerate(["0.2", "0.5", "0.8", "1.1", "0.3", "0.7"]):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        done = subprocess.run(
            [sys.executable, str(script), str(folder), seconds],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "FATAL" not in done.stderr


def test_the_recovery_code_appoints_a_coordinator_when_all_are_seized(tmp_path):
    async def scenario():
        hq = await device(tmp_path, "hq")
        code = hq.create_team("hq")
        assert code.startswith("VIGILR1-")
        address = await hq.start_serving("127.0.0.1:0")
        field = await device(tmp_path, "field")
        await joined(hq, address, field, "almaty-1")
        hq.stop_serving()
        own = field.info().device

        with pytest.raises(vigil.VigilError.NotAllowed):
            field.recover_team("VIGILR1-AAAAA", [own])
        appointed = field.recover_team(code, [own])
        assert [m.fingerprint for m in appointed] == [own]
        members = {m.label: m for m in field.members()}
        assert members["hq"].revoked
        assert members["almaty-1"].role == vigil.TeamRole.COORDINATOR
        # The new coordinator invites.
        assert field.create_invite(vigil.TeamRole.OBSERVER, 1, ["127.0.0.1:7447"])

    asyncio.run(scenario())


def test_a_serving_vault_announces_itself_on_the_lan_and_others_browse(tmp_path):
    async def scenario():
        hq = await device(tmp_path, "hq")
        hq.create_team("hq")
        with pytest.raises(vigil.VigilError.NotAllowed):
            hq.announce_on_lan()  # not serving yet: nothing to announce
        await hq.start_serving("127.0.0.1:0")
        try:
            hq.announce_on_lan()
        except vigil.VigilError.Network:
            pass  # no multicast here (a sandbox, a container): a clear error, no crash
        found = await vigil.discover_peers(1)
        # This process's own announcement is left out; others on the LAN may show.
        assert all(device.addresses for device in found)
        hq.stop_serving()
        hq.panic()
        with pytest.raises(vigil.VigilError.Storage):
            hq.announce_on_lan()  # wiped: every call fails

    asyncio.run(scenario())
