#!/usr/bin/env python3
"""Load a Vigil vault's incidents into Python, as a data analyst would.

    VIGIL_PASSPHRASE=... python3 examples/python/incidents_table.py VAULT [--csv OUT]

Each incident becomes one dict: the listing's columns (id, phase, category, status,
city, people, ...) and every field of the incident (named people, legal article,
hours held, ...), named like the columns of `vigil export --format csv`. With pandas
installed you get a DataFrame and a few breakdowns; without it, a plain table. The
vault is opened read-only in spirit: nothing is written to it.

Needs the `vigil` package (bindings/python; `bindings/build.sh` makes it).
"""

import argparse
import asyncio
import csv
import getpass
import os
import sys

import vigil


def incidents_as_dicts(vault):
    """Every incident, newest first, as one flat dict."""
    rows = []
    for summary in vault.list_incidents(vigil.IncidentFilter()):
        row = {
            "id": summary.id,
            "phase": summary.phase,
            "category": summary.category,
            "status": summary.status.name.lower(),
            "occurred_at": summary.occurred_at,
            "region": summary.region,
            "city": summary.city,
            "people": summary.people,
            "at_least": summary.at_least,
            # On an observer's phone the names are sealed to the coordinators.
            "personal_data": "sealed" if summary.sealed else "readable",
        }
        for field, value in vault.get_incident(summary.id).fields.items():
            row.setdefault(field, value)
        rows.append(row)
    return rows


def print_table(rows, columns):
    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vault", help="the vault's folder")
    parser.add_argument("--csv", help="also write every column of every incident to this CSV file")
    args = parser.parse_args()

    passphrase = os.environ.get("VIGIL_PASSPHRASE") or getpass.getpass("Passphrase: ")
    try:
        vault = await vigil.open_vault(args.vault, passphrase)
    except vigil.VigilError.WrongPassphrase:
        sys.exit("wrong passphrase")
    except vigil.VigilError as error:
        sys.exit(f"cannot open the vault: {error}")

    rows = incidents_as_dicts(vault)
    print(f"{len(rows)} incident(s) in {args.vault}")
    summary_columns = ["id", "status", "category", "city", "people"]

    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None and rows:
        frame = pd.DataFrame(rows)
        print(frame[summary_columns].to_string(index=False))
        print()
        print(frame.groupby(["phase", "category"])["people"].sum().to_string())
    else:
        print_table([{**r, "id": r["id"][:8]} for r in rows], summary_columns)
        by_category = {}
        for r in rows:
            by_category[r["category"]] = by_category.get(r["category"], 0) + r["people"]
        print()
        for category, people in sorted(by_category.items()):
            print(f"{category}: {people} people")

    if args.csv:
        columns = sorted({c for r in rows for c in r})
        # Personal data: readable by its owner only.
        fd = os.open(args.csv, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        sealed = sum(1 for r in rows if r["personal_data"] == "sealed")
        if sealed < len(rows):
            note = "it contains names: keep it safe"
        else:
            note = "no names: they are sealed to the coordinators"
        print(f"wrote {len(rows)} row(s) to {args.csv} ({note})")


if __name__ == "__main__":
    asyncio.run(main())
