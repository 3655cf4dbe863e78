"""Shared fixtures: vaults in pytest's temporary folders, with cheap key stretching."""

import asyncio
import os
import pathlib

import pytest

import vigil

# Argon2id at 8 MiB and one pass: tests open many vaults; the default is 64 MiB x 3.
FAST = vigil.KeyStretching(memory_mib=8, iterations=1)
PASSPHRASE = "correct horse battery staple"

REPO = pathlib.Path(__file__).resolve().parents[3]


def run(coroutine):
    """Runs one coroutine to the end, as a shell's event loop would."""
    return asyncio.run(coroutine)


@pytest.fixture
def vault_path(tmp_path):
    return str(tmp_path / "vault")


@pytest.fixture
def vault(vault_path):
    return run(vigil.create_vault(vault_path, PASSPHRASE, FAST))


def detention(city="Almaty", people="12", persons="Aibek Sadykov (protester); Aidar Omarov"):
    """Form fields of an arbitrary detention, as a shell's form would send them."""
    return {
        "phase": "election_day",
        "category": "arbitrary_detention",
        "occurred_at": "2021-01-10T14:30:00+06:00",
        "region": "Almaty",
        "city": city,
        "people_count": people,
        "count_is_lower_bound": "true",
        "affected_role": "protester",
        "persons": persons,
        "held_hours": "6",
        "context": "protest",
        "description": "Held at the akimat without a lawyer.",
    }


def vigil_cli():
    """The `vigil` command built beside the library (the Rust side of the same vault)."""
    profile = os.environ.get("VIGIL_PROFILE", "debug")
    path = REPO / "target" / profile / "vigil"
    if not path.exists():
        pytest.fail(f"{path} is missing: build it with `cargo build -p vigil-cli`")
    return str(path)
