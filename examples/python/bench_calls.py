#!/usr/bin/env python3
"""Times calls through the Python bindings, for `cargo run --release --example bench_ffi`:
a simple call (`is_serving`) and listing 10,000 incidents. Prints one JSON line."""

import asyncio
import json
import os
import sys
import time

import vigil

SIMPLE_CALLS = 200_000
LIST_ROUNDS = 7


def main():
    vault = asyncio.run(vigil.open_vault(sys.argv[1], os.environ["VIGIL_PASSPHRASE"]))
    start = time.perf_counter()
    for _ in range(SIMPLE_CALLS):
        vault.is_serving()
    simple_ns = (time.perf_counter() - start) * 1e9 / SIMPLE_CALLS

    best, listed = float("inf"), 0
    for _ in range(LIST_ROUNDS):
        start = time.perf_counter()
        listed = len(vault.list_incidents(vigil.IncidentFilter(limit=10_000)))
        best = min(best, time.perf_counter() - start)
    print(json.dumps({"simple_call_ns": simple_ns, "list_ms": best * 1000, "listed": listed}))


if __name__ == "__main__":
    main()
